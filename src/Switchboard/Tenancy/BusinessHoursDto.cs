using System.Globalization;

namespace Switchboard.Tenancy;

/// <summary>
/// Opening hours as the API shows them: weekday (<c>monday</c>…<c>sunday</c>) → <c>HH:mm-HH:mm</c> ranges in the
/// tenant's time zone (a missing day is closed; <c>24:00</c> is a valid end), and closed dates (<c>yyyy-MM-dd</c>).
/// </summary>
public sealed record BusinessHoursDto(Dictionary<string, List<string>>? Weekly, List<string>? Holidays)
{
    internal static BusinessHoursDto From(BusinessHours hours) =>
        new(hours.Weekly.OrderBy(p => ((int)p.Key + 6) % 7).ToDictionary(p => p.Key.ToString().ToLowerInvariant(), p => p.Value), hours.Holidays);

    /// <summary>
    /// Converts, collecting problems (unknown weekday, bad range, bad date) into <paramref name="problems"/>. A JSON <c>null</c>
    /// where a range or a date belongs is a problem like any other bad value (the lists are not null-checked by the binder).
    /// </summary>
    internal BusinessHours ToModel(List<string> problems)
    {
        var found = new List<BusinessHoursProblem>();
        var model = ToModel(found);
        problems.AddRange(found.Select(p => p.Message));
        return model;
    }

    /// <summary>
    /// <see cref="ToModel(List{string})"/> with each problem's kind and values, for a dashboard to word it in its reader's
    /// language (onboarding's <c>BUSINESS_HOURS_INVALID</c> warning).
    /// </summary>
    internal BusinessHours ToModel(List<BusinessHoursProblem> problems)
    {
        var weekly = new Dictionary<DayOfWeek, List<string>>();
        foreach (var (day, ranges) in Weekly ?? [])
        {
            if (!TryParseWeekday(day, out var dow))
            {
                problems.Add(new(BusinessHoursProblem.Weekday, $"unknown weekday '{day}'", day, day));
                continue;
            }
            foreach (var r in ranges ?? [])
            {
                if (!BusinessHoursCalculator.TryParseRange(r, out _))
                {
                    problems.Add(new(BusinessHoursProblem.Range, r is null ? $"{day}: null is not an HH:mm-HH:mm range" : $"{day}: '{r}' is not an HH:mm-HH:mm range", day, r ?? "null"));
                }
            }
            weekly[dow] = (ranges ?? []).Where(r => BusinessHoursCalculator.TryParseRange(r, out _)).ToList();
        }
        var holidays = new List<string>();
        foreach (var h in Holidays ?? [])
        {
            if (DateOnly.TryParseExact(h, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _))
            {
                holidays.Add(h);
            }
            else
            {
                problems.Add(new(BusinessHoursProblem.Holiday, $"holiday '{h}' is not yyyy-MM-dd", null, h ?? "null"));
            }
        }
        return new BusinessHours { Weekly = weekly, Holidays = holidays };
    }

    /// <summary>
    /// One weekday's English name (<c>monday</c>…<c>sunday</c>, any case), nothing else. <see cref="Enum.TryParse{TEnum}(string?, bool, out TEnum)"/>
    /// alone also takes numbers, surrounding spaces and comma lists, which it ORs: <c>"monday, tuesday"</c> was stored as
    /// Wednesday's hours, and <c>"friday,saturday"</c> as day 7, which exists nowhere.
    /// </summary>
    private static bool TryParseWeekday(string day, out DayOfWeek dow)
    {
        dow = default;
        return day.Length is >= 6 and <= 9 && day.All(char.IsAsciiLetter) && Enum.TryParse(day, ignoreCase: true, out dow) && Enum.IsDefined(dow);
    }
}

/// <summary>
/// A value of <see cref="BusinessHoursDto"/> that was not understood: its <paramref name="Kind"/> (<c>weekday</c>: not a
/// weekday name; <c>range</c>: not <c>HH:mm-HH:mm</c>; <c>holiday</c>: not <c>yyyy-MM-dd</c>), the English
/// <paramref name="Message"/>, the <paramref name="Day"/> it is under (null for a holiday) and the <paramref name="Value"/> as sent.
/// </summary>
internal sealed record BusinessHoursProblem(string Kind, string Message, string? Day, string Value)
{
    public const string Weekday = "weekday";
    public const string Range = "range";
    public const string Holiday = "holiday";
}
