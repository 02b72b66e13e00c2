using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Stripe;
using Switchboard.Outbox;
using Switchboard.Platform.Database;
using Switchboard.Tenancy;

namespace Switchboard.Billing;

/// <summary>
/// Outbox kind <c>stripe.meter_event</c>: reports one <see cref="UsageRecord"/> to Stripe as a billing meter event
/// (stripe-billing.md §2.2–§2.3): <c>event_name</c> <c>voice_seconds</c> (the call's seconds rounded up to the plan's
/// <see cref="Plan.BillingIncrementSeconds"/>) or <c>chat_messages</c> (1), <c>identifier</c> = the call or message id,
/// <c>timestamp</c> = when it happened, <c>Idempotency-Key</c> <c>meter:{record id}</c>. Exactly once in effect: a retry
/// after a lost answer or a crash replays the same key (Stripe returns the saved answer), and an identifier Stripe
/// already holds (<c>resource_already_exists</c>) counts as reported. A record older than Stripe accepts (35 days) or
/// refused by Stripe with a 4xx other than 429 becomes a dead letter with the reason; 429, 5xx and network errors are retried.
/// A record more than 5 minutes ahead of this host's clock (Stripe's <c>timestamp_in_future</c>) waits until it is not.
/// Stripe may still reject an accepted event later: <see cref="MeterErrorReports"/> dead-letters it then.
/// A tenant without a Stripe customer has nothing to bill: the message completes without a report.
/// </summary>
internal sealed class MeterEventHandler(SwitchboardDbContext db, StripeGateway stripe, TenantAccountCache accounts, TimeProvider clock, ILogger<MeterEventHandler> logger)
    : IOutboxHandler
{
    public const string Kind = "stripe.meter_event";

    /// <summary>Outbox payload: the usage record to report.</summary>
    public sealed record Payload(Guid UsageRecordId);

    string IOutboxHandler.Kind => Kind;

    public async Task<OutboxResult> HandleAsync(OutboxMessage message, CancellationToken ct)
    {
        var payload = JsonSerializer.Deserialize<Payload>(message.PayloadJson, JsonSerializerOptions.Web);
        var record = payload is null ? null : await db.UsageRecords.FirstOrDefaultAsync(u => u.Id == payload.UsageRecordId, ct);
        if (record is null)
        {
            return OutboxResult.Dead("Usage record not found.");
        }
        if (record.ReportedAt is not null)
        {
            return OutboxResult.Done;
        }
        if (!stripe.Enabled)
        {
            return OutboxResult.Dead("Stripe billing is not configured.");
        }
        var customer = await db.TenantAccounts.AsNoTracking().Where(a => a.TenantId == record.TenantId).Select(a => a.StripeCustomerId).FirstOrDefaultAsync(ct);
        if (customer is null)
        {
            return OutboxResult.Done; // not a Stripe customer: nothing to bill
        }
        var now = clock.GetUtcNow();
        if (record.OccurredAt < now.AddDays(-stripe.Options.MeterEventMaxAgeDays))
        {
            return OutboxResult.Dead($"timestamp_too_far_in_past: usage of {record.OccurredAt:O} is older than the {stripe.Options.MeterEventMaxAgeDays} days Stripe accepts.");
        }
        if (record.OccurredAt > now.AddMinutes(5))
        {
            // Stripe refuses timestamps more than 5 minutes ahead (timestamp_in_future); the usage becomes sendable with time, so wait instead of dead-lettering.
            return OutboxResult.Retry($"timestamp_in_future: usage of {record.OccurredAt:O} is more than 5 minutes ahead; sent when it is not.", record.OccurredAt - now - TimeSpan.FromMinutes(4));
        }
        var plan = (await accounts.GetAsync(record.TenantId, ct)).Plan;
        var value = record.Kind == UsageKinds.CallSeconds ? plan.BillableSeconds(record.Quantity) : (long)Math.Round(record.Quantity);
        if (value <= 0)
        {
            record.ReportedAt = now;
            return OutboxResult.Done; // a zero-second call: nothing to report
        }
        try
        {
            await new Stripe.Billing.MeterEventService(stripe.Client).CreateAsync(new Stripe.Billing.MeterEventCreateOptions
            {
                EventName = StripeNames.MeterFor(record.Kind),
                Identifier = record.SourceId,
                Timestamp = record.OccurredAt.UtcDateTime,
                Payload = new Dictionary<string, string>
                {
                    ["stripe_customer_id"] = customer,
                    ["value"] = value.ToString(CultureInfo.InvariantCulture),
                },
            }, new RequestOptions { IdempotencyKey = "meter:" + record.Id.ToString("N") }, ct);
        }
        catch (StripeException e) when (e.StripeError?.Code == "resource_already_exists")
        {
            logger.LogInformation("Meter event {Identifier} was already at Stripe; counted as reported", record.SourceId);
        }
        catch (StripeException e) when (e.HttpStatusCode is >= HttpStatusCode.BadRequest and < HttpStatusCode.InternalServerError
                                        && e.HttpStatusCode != HttpStatusCode.TooManyRequests && e.HttpStatusCode != HttpStatusCode.Conflict)
        {
            return OutboxResult.Dead($"{e.StripeError?.Code ?? ((int)e.HttpStatusCode).ToString(CultureInfo.InvariantCulture)}: {e.StripeError?.Message ?? e.Message}");
        }
        catch (StripeException e)
        {
            return OutboxResult.Retry($"{(int)e.HttpStatusCode} {e.StripeError?.Message ?? e.Message}");
        }
        record.ReportedAt = clock.GetUtcNow();
        return OutboxResult.Done;
    }
}
