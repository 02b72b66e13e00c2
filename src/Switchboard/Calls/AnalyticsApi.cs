using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Switchboard.Platform;
using Switchboard.Platform.Database;
using Switchboard.Platform.Http;
using Switchboard.Tenancy;

namespace Switchboard.Calls;

/// <summary>
/// One local day of activity. <c>Answered</c> = calls − <c>Missed</c>; a call is missed when Twilio ended it busy,
/// no-answer, failed or canceled, or when it ended with no duration. <c>AfterHours</c>: created outside the tenant's
/// business hours. <c>Urgent</c> is the middle urgency level (stored as <c>soon</c>). <c>Leads</c>: calls with a lead.
/// <c>SmsSent</c>: outbound SMS sent, delivered or simulated.
/// </summary>
public sealed record AnalyticsDay(string Date, int Calls, int Answered, int Missed, int AfterHours, int Emergency, int Urgent, int Routine, int Leads, int SmsSent);

/// <summary>
/// The period's totals. Durations in seconds (average over calls with a duration, exact; p95 nearest-rank over fixed
/// bins: ± 0.5 s below 2 minutes, ± 2.5 s to 10 minutes, ± 15 s to an hour, see <c>AnalyticsBins</c>). Latency: native
/// assistant turns, ms from the caller's end of speech to the first audio frame sent to Twilio (p50/p95 nearest-rank
/// over fixed bins: ± 2.5 ms below 1 s, ± 5 ms to 3 s, ± 25 ms to 10 s). <c>CostTotal</c> in USD over calls whose cost
/// is known (null when none is). <c>LeadsBooked</c>: calls of the period whose lead is booked (the conversion is
/// <c>LeadsBooked / Leads</c>).
/// </summary>
public sealed record AnalyticsTotals(int Calls, int Answered, int Missed, int AfterHours, int Leads, int? LeadsBooked, int SmsSent,
    double? AverageDurationSeconds, double? P95DurationSeconds, double? LatencyP50Ms, double? LatencyP95Ms, decimal? CostTotal);

/// <summary>Calls per lead urgency in the period.</summary>
public sealed record UrgencyMix(int Emergency, int Urgent, int Routine);

/// <summary>How many calls ended for one reason.</summary>
public sealed record EndedReasonCount(string Reason, int Count);

/// <summary><c>GET /api/v1/analytics</c>: local days <c>From</c>..<c>To</c> (inclusive, <c>YYYY-MM-DD</c>) in <c>TimeZone</c> (IANA).</summary>
public sealed record AnalyticsDto(string From, string To, string TimeZone, IReadOnlyList<AnalyticsDay> Days, AnalyticsTotals Totals,
    UrgencyMix UrgencyMix, IReadOnlyList<EndedReasonCount> EndedReasons);

/// <summary>
/// <c>/api/v1/analytics</c>: the overview page's aggregates, computed in the database from the rollup that triggers
/// maintain on write (migration 0019, <see cref="AnalyticsQuery.FromRollupAsync"/>): no call rows are loaded.
/// </summary>
internal static class AnalyticsApi
{
    /// <summary>Longest period, in days.</summary>
    public const int MaxDays = 366;

    /// <summary>
    /// Earliest and latest local dates accepted: a day's bounds in UTC (zones run from −12:00 to +14:00) and the
    /// quarter-hour buckets around them must be representable as a <see cref="DateTimeOffset"/>.
    /// </summary>
    public static readonly DateOnly MinDate = new(1, 1, 2), MaxDate = new(9999, 12, 30);

    public static RouteGroupBuilder MapAnalytics(this RouteGroupBuilder api)
    {
        api.MapGet("/analytics", GetAsync).WithTags("Analytics").WithName("getAnalytics")
            .WithSummary("Calls, outcomes, urgency, leads, SMS, duration and latency per local day")
            .WithDescription("from and to are local dates (YYYY-MM-DD, inclusive; default: the last 30 days), tz an IANA time zone " +
                             $"(default: the tenant's). At most {MaxDays} days, from {MinDate:yyyy-MM-dd} to {MaxDate:yyyy-MM-dd}. Days follow the zone's DST changes (23- or 25-hour days).")
            .ProducesErrors(422);
        return api;
    }

    private static async Task<Results<Ok<AnalyticsDto>, JsonHttpResult<ErrorEnvelope>>> GetAsync(
        SwitchboardDbContext db, TimeProvider clock, DateOnly? from, DateOnly? to, string? tz, CancellationToken ct)
    {
        var tenantId = db.TenantFilter;
        var tenant = await db.Tenants.AsNoTracking().Where(t => t.Id == tenantId).Select(t => new { t.TimeZone, t.BusinessHours }).FirstOrDefaultAsync(ct);
        if (tenant is null)
        {
            return ApiError.NotFound("TENANT_NOT_FOUND", "No tenant.");
        }
        // A given tz follows the sign-up's rule (IanaTimeZones): a link is read as its zone, the right/, posix/ and SystemV/
        // trees and Windows ids are refused like an unknown name.
        var zoneId = string.IsNullOrWhiteSpace(tz) ? tenant.TimeZone : IanaTimeZones.Canonicalize(tz.Trim());
        if (zoneId is null || zoneId.Length > 64 || !TimeZoneInfo.TryFindSystemTimeZoneById(zoneId, out var zone))
        {
            return ApiError.Unprocessable("INVALID_TIME_ZONE", "tz must be an IANA time zone such as America/Toronto.",
                new Dictionary<string, string> { ["tz"] = "unknown time zone" });
        }
        var today = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(clock.GetUtcNow(), zone).DateTime);
        if (from < MinDate || from > MaxDate || to < MinDate || to > MaxDate)
        {
            return ApiError.Unprocessable("INVALID_RANGE", $"from and to must be dates from {MinDate:yyyy-MM-dd} to {MaxDate:yyyy-MM-dd}.");
        }
        var last = to ?? today;
        var first = from ?? DateOnly.FromDayNumber(Math.Max(MinDate.DayNumber, last.DayNumber - 29));
        if (first > last)
        {
            return ApiError.Unprocessable("INVALID_RANGE", "'from' must not be after 'to'.");
        }
        if (last.DayNumber - first.DayNumber + 1 > MaxDays)
        {
            return ApiError.Unprocessable("INVALID_RANGE", $"The period is limited to {MaxDays} days.");
        }

        var days = AnalyticsQuery.Days(first, last, zone, tenant.BusinessHours);
        var result = await new AnalyticsQuery(db).FromRollupAsync(tenantId, days, 20, ct);
        var (calls, sms, reasons) = (result.Days, result.Sms, result.EndedReasons);
        var durationCount = calls.Values.Sum(d => d.DurationCount);
        var dayDtos = days.Select((d, i) =>
        {
            var c = calls.GetValueOrDefault(i) ?? new AnalyticsQuery.DayRow(i, 0, 0, 0, 0, 0, 0, 0, 0, 0, null);
            return new AnalyticsDay(d.Date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), c.Calls, c.Calls - c.Missed, c.Missed, c.AfterHours,
                c.Emergency, c.Soon, c.Routine, c.Leads, sms.GetValueOrDefault(i));
        }).ToList();
        var costs = calls.Values.Where(c => c.Cost is not null).Select(c => c.Cost!.Value).ToList();
        var totals = new AnalyticsTotals(
            dayDtos.Sum(d => d.Calls), dayDtos.Sum(d => d.Answered), dayDtos.Sum(d => d.Missed), dayDtos.Sum(d => d.AfterHours),
            dayDtos.Sum(d => d.Leads), calls.Values.Sum(c => c.LeadsBooked), dayDtos.Sum(d => d.SmsSent),
            durationCount == 0 ? null : Math.Round(calls.Values.Sum(c => c.DurationSum) / durationCount, 2), result.DurationP95,
            result.LatencyP50 is { } p50 ? Math.Round(p50, 2) : null, result.LatencyP95 is { } p95 ? Math.Round(p95, 2) : null,
            costs.Count == 0 ? null : Math.Round(costs.Sum(), 4));
        return TypedResults.Ok(new AnalyticsDto(first.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), last.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            zone.Id, dayDtos, totals, new UrgencyMix(dayDtos.Sum(d => d.Emergency), dayDtos.Sum(d => d.Urgent), dayDtos.Sum(d => d.Routine)),
            reasons.Select(r => new EndedReasonCount(r.Reason, r.Count)).ToList()));
    }
}
