using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Switchboard.Assistants;
using Switchboard.Calls;
using Switchboard.Outbox;
using Switchboard.Platform.Database;
using Switchboard.Tenancy;

namespace Switchboard.Alerts;

/// <summary>
/// Applies a tenant's alert policy to a lead: emergencies text the on-call numbers at any hour; other leads
/// text the office (or on-call) numbers during business hours and are held until the next opening otherwise.
/// One SMS per call, purpose and recipient (idempotency key <c>{callId}:{purpose}:{to}</c>), and none for a
/// non-urgent lead once an emergency alert exists. Rows are added to the caller's unit of work: the SMS and
/// its outbox message commit with the state change that caused them.
/// </summary>
internal sealed class AlertService(SwitchboardDbContext db, TimeProvider clock)
{
    public const string EmergencyPurpose = "emergency-alert";
    public const string LeadPurpose = "lead-alert";

    /// <summary>Queues the SMS the policy calls for; returns how many were added.</summary>
    public async Task<int> QueueLeadAlertsAsync(Tenant tenant, Assistant? assistant, Call call, Lead lead, CancellationToken ct)
    {
        var policy = assistant?.AlertPolicy ?? tenant.AlertPolicy;
        var now = clock.GetUtcNow();
        var emergency = lead.Urgency == Urgency.Emergency;
        var purpose = emergency ? EmergencyPurpose : LeadPurpose;

        // A call added in this unit of work has no stored SMS: no query then.
        var existing = db.Entry(call).State == EntityState.Added ? []
            : await db.SmsMessages.Where(s => s.CallId == call.Id && s.Direction == "outbound")
                .Select(s => new SentKey(s.IdempotencyKey, s.Purpose)).ToListAsync(ct);
        var pending = db.ChangeTracker.Entries<SmsMessage>().Where(e => e.State == EntityState.Added && e.Entity.CallId == call.Id)
            .Select(e => new SentKey(e.Entity.IdempotencyKey, e.Entity.Purpose)).ToList();
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
            if (keys.Any(k => k.IdempotencyKey == key))
            {
                continue;
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
                Body = body,
                Status = sendAt > now ? "scheduled" : "queued",
                IdempotencyKey = key,
                SendAfter = sendAt > now ? sendAt : null,
                CreatedAt = now,
            };
            db.SmsMessages.Add(sms);
            db.Outbox.Add(new OutboxMessage
            {
                Id = Guid.CreateVersion7(),
                TenantId = tenant.Id,
                Kind = SmsSendHandler.Kind,
                DedupeKey = $"{tenant.Id:N}:{key}",
                PayloadJson = JsonSerializer.Serialize(new SmsSendHandler.Payload(sms.Id)),
                NextAttemptAt = sendAt,
                CreatedAt = now,
            });
            added++;
        }
        return added;
    }

    private sealed record SentKey(string IdempotencyKey, string Purpose);
}

/// <summary>Staff-facing SMS text, in French or English. Plain GSM-friendly text, at most 3 segments.</summary>
internal static class SmsText
{
    public static string ForLead(string business, Lead lead, bool emergency, string language)
    {
        var fr = language.StartsWith("fr", StringComparison.OrdinalIgnoreCase);
        var head = (emergency, fr) switch
        {
            (true, true) => $"URGENCE {business}",
            (true, false) => $"EMERGENCY {business}",
            (false, true) => $"Nouveau client {business}",
            (false, false) => $"New lead {business}",
        };
        var parts = new List<string> { head };
        parts.Add((lead.Name ?? (fr ? "Client" : "Caller")) + (lead.Phone is null ? "" : " " + lead.Phone));
        if (lead.Address is not null)
        {
            parts.Add((fr ? "Adresse: " : "Address: ") + lead.Address);
        }
        if (lead.Problem is not null)
        {
            parts.Add((fr ? "Probleme: " : "Problem: ") + lead.Problem);
        }
        parts.Add(emergency ? (fr ? "Rappeler immediatement." : "Call back now.") : (fr ? "A rappeler." : "Please call back."));
        var text = string.Join(" | ", parts);
        return text.Length <= 459 ? text : text[..458] + "…";
    }
}
