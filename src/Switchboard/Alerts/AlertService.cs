using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Switchboard.Assistants;
using Switchboard.Calls;
using Switchboard.Outbox;
using Switchboard.Platform.Database;
using Switchboard.Platform.Phones;
using Switchboard.Tenancy;

namespace Switchboard.Alerts;

/// <summary>
/// Applies a tenant's alert policy to a lead: emergencies text the on-call numbers at any hour; other leads
/// text the office (or on-call) numbers during business hours and are held until the next opening otherwise.
/// One SMS per call, purpose and recipient (idempotency key <c>{callId}:{purpose}:{to}</c>), and none for a
/// non-urgent lead once an emergency alert exists. An emergency whose callback number arrives or changes after its alert
/// went (the caller id was hidden, or the caller said "call me back on my cell at…") gets one more text per recipient and
/// number (<c>{callId}:emergency-alert:{to}:{number}</c>) giving the number: the on-call phone is never left with a number
/// nobody answers. Rows are added to the caller's unit of work: the SMS and
/// its outbox message commit with the state change that caused them.
/// </summary>
internal sealed class AlertService(SwitchboardDbContext db, TimeProvider clock)
{
    public const string EmergencyPurpose = "emergency-alert";
    public const string LeadPurpose = "lead-alert";

    /// <summary>
    /// The outbound SMS stored for a call (idempotency key and purpose), compiled once: every lead a call captures asks
    /// (issue 13: as a LINQ query EF walked and hashed its expression tree per lead). The tenant filter still applies.
    /// </summary>
    private static readonly Func<SwitchboardDbContext, Guid, IAsyncEnumerable<SentKey>> SentKeysOfCall = EF.CompileAsyncQuery(
        (SwitchboardDbContext db, Guid callId) => db.SmsMessages.Where(s => s.CallId == callId && s.Direction == "outbound")
            .Select(s => new SentKey(s.IdempotencyKey, s.Purpose, s.Body)));

    private async Task<List<SentKey>> SentKeysAsync(Guid callId, CancellationToken ct)
    {
        var keys = new List<SentKey>();
        await foreach (var key in SentKeysOfCall(db, callId).WithCancellation(ct))
        {
            keys.Add(key);
        }
        return keys;
    }

    /// <summary>Queues the SMS the policy calls for; returns how many were added.</summary>
    public async Task<int> QueueLeadAlertsAsync(Tenant tenant, Assistant? assistant, Call call, Lead lead, CancellationToken ct)
    {
        // A web conversation has no caller id: without a number the visitor gave, nobody can call back, and a public widget
        // must not be able to text the staff (an outside probe: ten one-line chats left idle texted the on-call phone ten
        // times, "Client, Problème : frozen pipes"). The alert goes once the visitor gives a number, as one text.
        if (call.Channel == CallChannels.Web && !Phones.IsE164(lead.Phone))
        {
            return 0;
        }
        var policy = AlertPolicy.For(tenant, assistant);
        var now = clock.GetUtcNow();
        var emergency = lead.Urgency == Urgency.Emergency;
        var purpose = emergency ? EmergencyPurpose : LeadPurpose;

        // A call added in this unit of work has no stored SMS: no query then.
        var existing = db.Entry(call).State == EntityState.Added ? []
            : await SentKeysAsync(call.Id, ct);
        var pending = db.ChangeTracker.Entries<SmsMessage>().Where(e => e.State == EntityState.Added && e.Entity.CallId == call.Id)
            .Select(e => new SentKey(e.Entity.IdempotencyKey, e.Entity.Purpose, e.Entity.Body)).ToList();
        var keys = existing.Concat(pending).ToList();
        if (!emergency && keys.Any(k => k.Purpose == EmergencyPurpose))
        {
            return 0;
        }

        List<string> recipients;
        DateTimeOffset sendAt;
        if (emergency)
        {
            recipients = policy.OnCallNumbers;
            sendAt = now;
        }
        else
        {
            if (policy.NonUrgentDelivery == "none")
            {
                return 0;
            }
            recipients = policy.OfficeNumbers.Count > 0 ? policy.OfficeNumbers : policy.OnCallNumbers;
            sendAt = BusinessHoursCalculator.NextOpening(tenant.BusinessHours, tenant.TimeZone, now) ?? now;
        }

        var language = policy.Language ?? tenant.Locale;
        var body = SmsText.ForLead(tenant.Name, lead, emergency, language);
        var added = 0;
        foreach (var to in recipients.Distinct())
        {
            var key = $"{call.Id:N}:{purpose}:{to}";
            var text = body;
            if (keys.FirstOrDefault(k => k.IdempotencyKey == key) is { } sent)
            {
                // Texted already. A callback number the first text did not give (hidden caller id, or a number the caller stated
                // afterwards) goes as a short follow-up, once per number.
                if (!emergency || !Phones.IsE164(lead.Phone) || sent.Body.Contains(lead.Phone!, StringComparison.Ordinal))
                {
                    continue;
                }
                key = $"{key}:{lead.Phone}";
                if (keys.Any(k => k.IdempotencyKey == key))
                {
                    continue;
                }
                text = SmsText.NewCallbackNumber(tenant.Name, lead, language);
            }
            var sms = new SmsMessage
            {
                Id = Guid.CreateVersion7(),
                TenantId = tenant.Id,
                CallId = call.Id,
                LeadId = lead.Id,
                Direction = "outbound",
                Purpose = purpose,
                To = to,
                Body = text,
                Status = sendAt > now ? "scheduled" : "queued",
                IdempotencyKey = key,
                SendAfter = sendAt > now ? sendAt : null,
                CreatedAt = now,
            };
            SmsSendHandler.Queue(db, sms, sendAt);
            added++;
        }
        return added;
    }

    private sealed record SentKey(string IdempotencyKey, string Purpose, string Body);
}
