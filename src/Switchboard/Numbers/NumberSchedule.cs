using Microsoft.EntityFrameworkCore;
using Switchboard.Platform.Database;
using Switchboard.Tenancy;

namespace Switchboard.Numbers;

/// <summary>Whether a called number is open now (its own hours, else the tenant's, in the tenant's time zone) and what to do when it is not.</summary>
public sealed record NumberScheduleDecision(bool Open, AfterHoursPolicy AfterHours, DateTimeOffset? NextOpening);

/// <summary>
/// For call flows (Twilio voice webhook, Vapi assistant-request): resolves the called number's business hours and
/// after-hours behaviour. Unknown numbers fall back to the tenant's hours with the default behaviour (answer with
/// the assistant and take a message).
/// </summary>
internal static class NumberSchedule
{
    public static async Task<NumberScheduleDecision> DecideAsync(SwitchboardDbContext db, Tenant tenant, string? calledNumber, DateTimeOffset now, CancellationToken ct)
    {
        var number = calledNumber is null ? null
            : await db.PhoneNumbers.AsNoTracking().Where(n => n.Number == calledNumber).Select(n => new { n.BusinessHours, n.AfterHours }).FirstOrDefaultAsync(ct);
        var hours = number?.BusinessHours ?? tenant.BusinessHours;
        return new NumberScheduleDecision(
            BusinessHoursCalculator.IsOpen(hours, tenant.TimeZone, now),
            number?.AfterHours ?? new AfterHoursPolicy(),
            BusinessHoursCalculator.NextOpening(hours, tenant.TimeZone, now));
    }
}
