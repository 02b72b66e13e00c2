using PhoneNumbers;
using Switchboard.Tenancy;

namespace Switchboard.Outbound;

/// <summary>
/// The answer to "may we call this number now, and if not, when next?": <see cref="Allowed"/>, the
/// <see cref="Reason"/> when not (<see cref="OutboundRefusalReasons"/>), <see cref="NextAllowedAt"/> (UTC; null when no
/// opening within 14 days), the callee's IANA <see cref="TimeZone"/> and the legal <see cref="Rule"/> applied.
/// </summary>
internal sealed record CallingDecision(bool Allowed, string? Reason, string? Detail, DateTimeOffset? NextAllowedAt, string TimeZone, string Rule);

/// <summary>
/// Legal calling windows in the callee's local time, narrowed by the tenant's business hours (the stricter of both):
/// <list type="bullet">
/// <item><c>crtc</c> (Canadian numbers): weekdays 9:00–21:30, weekends 10:00–18:00 — CRTC "Key Unsolicited
/// Telecommunications Rules" (shared/protocols/outbound-and-transfer.md §6.1).</item>
/// <item><c>tcpa</c> (United States numbers): every day 8:00–21:00 — 47 CFR § 64.1200(c)(1), 16 CFR 310.4(c) (§6.2).</item>
/// <item>Any other country: the CRTC window, the stricter of the two (no rule of that country is modelled).</item>
/// </list>
/// The callee's zone comes from the number (libphonenumber's <see cref="PhoneNumberToTimeZonesMapper"/>, by NANP area
/// code); when the number maps to several zones or none, the tenant's zone is used (decision recorded in the report).
/// </summary>
internal static class CallingWindows
{
    private static readonly PhoneNumberUtil Util = PhoneNumberUtil.GetInstance();

    /// <summary>How far ahead <see cref="CallingDecision.NextAllowedAt"/> is searched, in days.</summary>
    public const int SearchDays = 14;

    /// <summary>The legal rule that applies to a number's country: <c>crtc</c>, <c>tcpa</c> or <c>default</c>.</summary>
    public static string RuleFor(string e164)
    {
        var region = Region(e164);
        return region switch { "CA" => "crtc", "US" => "tcpa", _ => "default" };
    }

    /// <summary>The callee's IANA zone from the number, or <paramref name="fallbackZone"/> when it is ambiguous or unknown.</summary>
    public static string ZoneFor(string e164, string fallbackZone)
    {
        try
        {
            var number = Util.Parse(e164, "CA");
            var mapper = PhoneNumberToTimeZonesMapper.GetInstance();
            var unknown = mapper.GetUnknownTimeZone();
            var zones = mapper.GetTimeZonesForNumber(number)
                .Where(z => z != unknown && TimeZoneInfo.TryFindSystemTimeZoneById(z, out _))
                .Distinct().ToList();
            return zones.Count == 1 ? zones[0] : fallbackZone;
        }
        catch (NumberParseException)
        {
            return fallbackZone;
        }
    }

    /// <summary>
    /// Whether <paramref name="e164"/> may be called at <paramref name="utcNow"/> under the law of its country and, when
    /// <paramref name="businessHours"/> is given, inside the tenant's opening hours (in <paramref name="tenantZone"/>).
    /// </summary>
    public static CallingDecision Check(string e164, string tenantZone, BusinessHours? businessHours, DateTimeOffset utcNow)
    {
        var rule = RuleFor(e164);
        var zoneId = ZoneFor(e164, tenantZone);
        var zone = BusinessHoursCalculator.Zone(zoneId);
        if (Allowed(rule, zone, businessHours, tenantZone, utcNow))
        {
            return new CallingDecision(true, null, null, utcNow, zoneId, rule);
        }
        // The intersection of two sets of intervals opens at the start of one of them: try every start, in order.
        var candidates = Starts(LawRanges(rule), zone, utcNow)
            .Concat(businessHours is null ? [] : Starts(d => BusinessHoursCalculator.RangesFor(businessHours, d), BusinessHoursCalculator.Zone(tenantZone), utcNow))
            .Where(t => t > utcNow).Order();
        var next = candidates.Cast<DateTimeOffset?>().FirstOrDefault(t => Allowed(rule, zone, businessHours, tenantZone, t!.Value));
        var local = TimeZoneInfo.ConvertTime(utcNow, zone);
        var lawOk = InLaw(rule, zone, utcNow);
        var detail = lawOk
            ? $"Outside the business hours of the tenant (callee's local time {local:yyyy-MM-dd HH:mm} {zoneId})."
            : $"Outside the legal calling window ({Describe(rule)}); callee's local time {local:yyyy-MM-dd HH:mm} {zoneId}.";
        return new CallingDecision(false, OutboundRefusalReasons.OutsideWindow, detail, next, zoneId, rule);
    }

    /// <summary>The rule's window in words, for refusals.</summary>
    public static string Describe(string rule) => rule switch
    {
        "tcpa" => "US TCPA: 8:00–21:00 callee's local time",
        _ => "CRTC: weekdays 9:00–21:30, weekends 10:00–18:00 callee's local time",
    };

    private static bool Allowed(string rule, TimeZoneInfo zone, BusinessHours? hours, string tenantZone, DateTimeOffset utc) =>
        InLaw(rule, zone, utc) && (hours is null || BusinessHoursCalculator.IsOpen(hours, tenantZone, utc));

    private static bool InLaw(string rule, TimeZoneInfo zone, DateTimeOffset utc)
    {
        var local = TimeZoneInfo.ConvertTime(utc, zone);
        return LawRanges(rule)(DateOnly.FromDateTime(local.DateTime)).Any(r => local.TimeOfDay >= r.Start && local.TimeOfDay < r.End);
    }

    private static Func<DateOnly, IEnumerable<(TimeSpan Start, TimeSpan End)>> LawRanges(string rule) => date =>
    {
        var weekend = date.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday;
        return rule == "tcpa"
            ? [(TimeSpan.FromHours(8), TimeSpan.FromHours(21))]
            : weekend ? [(TimeSpan.FromHours(10), TimeSpan.FromHours(18))] : [(TimeSpan.FromHours(9), new TimeSpan(21, 30, 0))];
    };

    private static IEnumerable<DateTimeOffset> Starts(Func<DateOnly, IEnumerable<(TimeSpan Start, TimeSpan End)>> ranges, TimeZoneInfo zone, DateTimeOffset utcNow)
    {
        var today = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(utcNow, zone).DateTime);
        for (var d = 0; d <= SearchDays; d++)
        {
            var date = today.AddDays(d);
            foreach (var (start, _) in ranges(date))
            {
                var local = date.ToDateTime(TimeOnly.FromTimeSpan(start));
                yield return new DateTimeOffset(local, zone.GetUtcOffset(local)).ToUniversalTime();
            }
        }
    }

    private static string? Region(string e164)
    {
        try
        {
            return Util.GetRegionCodeForNumber(Util.Parse(e164, "CA"));
        }
        catch (NumberParseException)
        {
            return null;
        }
    }
}
