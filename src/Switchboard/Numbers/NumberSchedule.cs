using Microsoft.EntityFrameworkCore;
using Switchboard.Platform.Database;
using Switchboard.Tenancy;

namespace Switchboard.Numbers;

/// <summary>Whether a called number is open now (its own hours, else the tenant's, in the tenant's time zone) and what to do when it is not.</summary>
public sealed record NumberScheduleDecision(bool Open, AfterHoursPolicy AfterHours, DateTimeOffset? NextOpening);

/// <summary>
/// For call flows (Twilio voice webhook, Vapi assistant-request): resolves the called number's business hours and
/// after-hours behaviour. Unknown numbers fall back to the tenant's hours with the default behaviour (answer with
/// the assistant and take a message); so do numbers the tenant attached but that are not <c>active</c> (not verified on its
/// Twilio account, <see cref="NumberClaims"/>).
/// </summary>
internal static class NumberSchedule
{
    public static async Task<NumberScheduleDecision> DecideAsync(SwitchboardDbContext db, Tenant tenant, string? calledNumber, DateTimeOffset now, CancellationToken ct)
    {
        var number = calledNumber is null ? null
            // The tenant's own active numbers only: an unverified claim (NumberClaims) carries no settings for calls.
            : await db.PhoneNumbers.IgnoreQueryFilters().AsNoTracking()
                .Where(n => n.TenantId == tenant.Id && n.Number == calledNumber && n.Status == NumberClaims.Active).Select(n => new { n.BusinessHours, n.AfterHours }).FirstOrDefaultAsync(ct);
        var hours = number?.BusinessHours ?? tenant.BusinessHours;
        return new NumberScheduleDecision(
            BusinessHoursCalculator.IsOpen(hours, tenant.TimeZone, now),
            number?.AfterHours ?? new AfterHoursPolicy(),
            BusinessHoursCalculator.NextOpening(hours, tenant.TimeZone, now));
    }
}
