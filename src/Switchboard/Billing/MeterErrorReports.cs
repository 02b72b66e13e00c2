using Microsoft.EntityFrameworkCore;
using Switchboard.Outbox;
using Switchboard.Platform.Database;
using Switchboard.Platform.Observability;

namespace Switchboard.Billing;

/// <summary>
/// Consumes Stripe's meter error reports (stripe-billing.md §2.2): a meter event answered 200 may be rejected later, and
/// Stripe says so with the thin events <c>v1.billing.meter.error_report_triggered</c> and
/// <c>v1.billing.meter.no_meter_found</c>. A thin event carries no data, so the full event is fetched with Stripe.net
/// (<c>GET /v2/core/events/{id}</c>); for each <c>reason.error_types[]</c> (<c>code</c>, e.g. <c>meter_event_customer_not_found</c>,
/// <c>timestamp_too_far_in_past</c>) and each sampled request identifier (= <see cref="UsageRecord.SourceId"/>), the
/// usage record's <c>stripe.meter_event</c> outbox message becomes a dead letter with the reason (counted in
/// <c>switchboard.outbox.dead_letters</c>) and the tenant's audit log gets <c>billing.meter_error</c>; every report is
/// logged as a warning with its counts. The record keeps its <c>ReportedAt</c> (Stripe did take the request), so the
/// nightly reconciliation shows the missing usage as drift; errors beyond Stripe's samples show up there only.
/// </summary>
internal sealed class MeterErrorReports(SwitchboardDbContext db, StripeGateway stripe, SwitchboardMetrics metrics, TimeProvider clock, ILogger<MeterErrorReports> logger)
{
    /// <summary>The thin event types consumed.</summary>
    public static bool Handles(string type) => type is "v1.billing.meter.error_report_triggered" or "v1.billing.meter.no_meter_found";

    /// <summary>Audit action written on the tenant's log for each rejected usage record.</summary>
    public const string AuditAction = "billing.meter_error";

    /// <summary>
    /// Fetches the full event <paramref name="eventId"/> and stages the dead letters on the scope's context (the caller saves).
    /// Returns the outcome and, per affected tenant, the audit entries to append. Throws <see cref="Stripe.StripeException"/>
    /// when Stripe cannot be read (the webhook then answers 503 and Stripe delivers the event again).
    /// </summary>
    public async Task<(string Outcome, List<(Guid TenantId, string Action, object Details)> Audit)> ApplyAsync(string eventId, string type, CancellationToken ct)
    {
        var client = stripe.Client as Stripe.StripeClient ?? throw new InvalidOperationException("Stripe.net client expected.");
        var full = await client.V2.Core.Events.GetAsync(eventId, null, null, ct);
        var (reason, summary, meterId) = full switch
        {
            Stripe.Events.V1BillingMeterErrorReportTriggeredEvent e => (
                e.Data?.Reason?.ErrorTypes?.Select(t => (t.Code, t.ErrorCount, Samples: t.SampleErrors?.Select(s => (s.Request?.Identifier, s.ErrorMessage)).ToList() ?? [])).ToList(),
                e.Data?.DeveloperMessageSummary, e.RelatedObject?.Id),
            Stripe.Events.V1BillingMeterNoMeterFoundEvent e => (
                e.Data?.Reason?.ErrorTypes?.Select(t => (t.Code, t.ErrorCount, Samples: t.SampleErrors?.Select(s => (s.Request?.Identifier, s.ErrorMessage)).ToList() ?? [])).ToList(),
                e.Data?.DeveloperMessageSummary, (string?)null),
            _ => (null, null, null),
        };
        if (reason is null)
        {
            logger.LogWarning("Stripe meter error report {EventId} ({Type}) has no reason to read", eventId, type);
            return ("ignored: no reason", []);
        }
        var audit = new List<(Guid, string, object)>();
        var now = clock.GetUtcNow();
        var matched = 0;
        foreach (var (code, count, samples) in reason)
        {
            logger.LogWarning("Stripe rejected {Count} meter events ({Code}) on meter {Meter}: {Summary}", count, code, meterId, summary);
            foreach (var (identifier, message) in samples)
            {
                if (identifier is null)
                {
                    continue;
                }
                var record = await db.UsageRecords.IgnoreQueryFilters().FirstOrDefaultAsync(u => u.SourceId == identifier, ct);
                if (record is null)
                {
                    logger.LogWarning("Stripe meter error {Code} names identifier {Identifier}, which is no usage record of this installation", code, identifier);
                    continue;
                }
                var dedupe = "meter:" + record.Id.ToString("N");
                var message0 = await db.Outbox.IgnoreQueryFilters().FirstOrDefaultAsync(m => m.Kind == MeterEventHandler.Kind && m.DedupeKey == dedupe, ct);
                var error = $"{code}: {message} (Stripe meter error report {eventId})";
                if (message0 is not null && message0.Status != OutboxStatus.Dead)
                {
                    message0.Status = OutboxStatus.Dead;
                    message0.LastError = error.Length <= 2000 ? error : error[..2000];
                    message0.CompletedAt ??= now;
                    metrics.DeadLettered(MeterEventHandler.Kind);
                }
                matched++;
                logger.LogWarning("Meter event {Identifier} of tenant {TenantId} ({Kind}, {Quantity}) was rejected by Stripe: {Error}",
                    identifier, record.TenantId, record.Kind, record.Quantity, error);
                audit.Add((record.TenantId, AuditAction, new { identifier, kind = record.Kind, quantity = record.Quantity, period = record.Period, code, message, stripeEvent = eventId }));
            }
        }
        return ($"applied: {matched} usage records dead-lettered", audit);
    }
}
