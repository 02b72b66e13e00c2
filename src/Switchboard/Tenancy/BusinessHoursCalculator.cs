using System.Globalization;

namespace Switchboard.Tenancy;

/// <summary>Answers "is the business open?" and "when does it next open?" in the tenant's IANA time zone.</summary>
internal static class BusinessHoursCalculator
{
    /// <summary>Resolves an IANA zone id; falls back to UTC for an unknown id rather than failing a call.</summary>
    public static TimeZoneInfo Zone(string ianaId) =>
        TimeZoneInfo.TryFindSystemTimeZoneById(ianaId, out var zone) ? zone : TimeZoneInfo.Utc;

    public static bool IsOpen(BusinessHours hours, string timeZone, DateTimeOffset utcNow)
    {
        var local = TimeZoneInfo.ConvertTime(utcNow, Zone(timeZone));
        return RangesFor(hours, DateOnly.FromDateTime(local.DateTime))
            .Any(r => local.TimeOfDay >= r.Start && local.TimeOfDay < r.End);
    }

    /// <summary>The next instant (UTC) at which the business is open, scanning 14 days; null if never.</summary>
    public static DateTimeOffset? NextOpening(BusinessHours hours, string timeZone, DateTimeOffset utcNow)
    {
        var zone = Zone(timeZone);
        if (IsOpen(hours, timeZone, utcNow))
        {
            return utcNow;
        }
        var local = TimeZoneInfo.ConvertTime(utcNow, zone);
        for (var d = 0; d <= 14; d++)
        {
            var date = DateOnly.FromDateTime(local.DateTime).AddDays(d);
            foreach (var range in RangesFor(hours, date).OrderBy(r => r.Start))
            {
                var startLocal = date.ToDateTime(TimeOnly.FromTimeSpan(range.Start));
                var startUtc = new DateTimeOffset(startLocal, zone.GetUtcOffset(startLocal)).ToUniversalTime();
                if (startUtc > utcNow)
                {
                    return startUtc;
                }
            }
        }
        return null;
    }

    /// <summary>Today's ranges as text (e.g. <c>["08:00-17:00"]</c>); empty when closed.</summary>
    public static IReadOnlyList<string> TodayRanges(BusinessHours hours, string timeZone, DateTimeOffset utcNow)
    {
        var local = TimeZoneInfo.ConvertTime(utcNow, Zone(timeZone));
        var date = DateOnly.FromDateTime(local.DateTime);
        return IsHoliday(hours, date) ? [] : hours.Weekly.GetValueOrDefault(date.DayOfWeek) ?? [];
    }

    private static bool IsHoliday(BusinessHours hours, DateOnly date) =>
        hours.Holidays.Contains(date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));

    /// <summary>The opening ranges (local time of day) of <paramref name="date"/>; none on a holiday or a closed day.</summary>
    internal static IEnumerable<(TimeSpan Start, TimeSpan End)> RangesFor(BusinessHours hours, DateOnly date)
    {
        if (IsHoliday(hours, date) || !hours.Weekly.TryGetValue(date.DayOfWeek, out var ranges))
        {
            yield break;
        }
        foreach (var r in ranges)
        {
            if (TryParseRange(r, out var range))
            {
                yield return range;
            }
        }
    }

    /// <summary>Parses <c>HH:mm-HH:mm</c>; <c>24:00</c> is accepted as an end. False for null (a JSON <c>null</c> in a day's list).</summary>
    public static bool TryParseRange(string? text, out (TimeSpan Start, TimeSpan End) range)
    {
        range = default;
        var parts = text?.Split('-', 2, StringSplitOptions.TrimEntries);
        if (parts is not { Length: 2 } || !TryParseTime(parts[0], out var start) || !TryParseTime(parts[1], out var end) || end <= start)
        {
            return false;
        }
        range = (start, end);
        return true;
    }

    private static bool TryParseTime(string s, out TimeSpan t)
    {
        if (s == "24:00")
        {
            t = TimeSpan.FromHours(24);
            return true;
        }
        var ok = TimeOnly.TryParseExact(s, "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out var time);
        t = time.ToTimeSpan();
        return ok;
    }
}
