using System.Net;
using System.Text.Json;
using Stripe;
using Switchboard.Outbox;

namespace Switchboard.Billing;

/// <summary>
/// Outbox kind <c>stripe.cancel_duplicate</c>: cancels a second live subscription of a tenant that already has one (two
/// Checkout Sessions completed, say in two tabs: Stripe makes a subscription for each, and both would be charged). The
/// subscription the tenant had first is kept; this one is cancelled at once with <c>prorate=true</c> (Stripe credits the unused
/// time to the customer's balance, which the kept subscription's next invoices draw on: stripe.com/docs/api/subscriptions/cancel).
/// Staged by <see cref="StripeEventApplier"/> in the same transaction as the event that revealed it. Idempotent: a subscription
/// already cancelled or gone is done; 429, 5xx and network errors are retried; any other refusal is a dead letter with
/// Stripe's message (the operator then cancels it in Stripe's dashboard).
/// </summary>
internal sealed class DuplicateSubscriptionHandler(StripeGateway stripe, ILogger<DuplicateSubscriptionHandler> logger) : IOutboxHandler
{
    public const string Kind = "stripe.cancel_duplicate";

    /// <summary>Outbox payload: the subscription to cancel and the one kept.</summary>
    public sealed record Payload(string SubscriptionId, string KeptSubscriptionId);

    string IOutboxHandler.Kind => Kind;

    /// <summary>The outbox row that cancels <paramref name="subscriptionId"/> (dedupe key: the subscription id).</summary>
    internal static OutboxMessage NewMessage(Guid tenantId, string subscriptionId, string keptSubscriptionId, DateTimeOffset now) => new()
    {
        Id = Guid.CreateVersion7(),
        TenantId = tenantId,
        Kind = Kind,
        DedupeKey = subscriptionId,
        PayloadJson = JsonSerializer.Serialize(new Payload(subscriptionId, keptSubscriptionId)),
        NextAttemptAt = now,
        CreatedAt = now,
    };

    public async Task<OutboxResult> HandleAsync(OutboxMessage message, CancellationToken ct)
    {
        if (JsonSerializer.Deserialize<Payload>(message.PayloadJson) is not { SubscriptionId.Length: > 0 } payload)
        {
            return OutboxResult.Dead("Payload without a subscription id.");
        }
        if (!stripe.Enabled)
        {
            return OutboxResult.Dead("Stripe billing is not configured.");
        }
        var service = new SubscriptionService(stripe.Client);
        try
        {
            var subscription = await service.GetAsync(payload.SubscriptionId, cancellationToken: ct);
            if (subscription.Status is "canceled" or "incomplete_expired")
            {
                return OutboxResult.Done;
            }
            await service.CancelAsync(payload.SubscriptionId, new SubscriptionCancelOptions { Prorate = true },
                new RequestOptions { IdempotencyKey = "cancel-duplicate:" + payload.SubscriptionId }, ct);
            logger.LogWarning("Duplicate Stripe subscription {SubscriptionId} of tenant {TenantId} cancelled; {Kept} kept",
                payload.SubscriptionId, message.TenantId, payload.KeptSubscriptionId);
            return OutboxResult.Done;
        }
        catch (StripeException e) when (e.StripeError?.Code == "resource_missing")
        {
            return OutboxResult.Done; // gone already
        }
        catch (StripeException e) when (e.HttpStatusCode is >= HttpStatusCode.BadRequest and < HttpStatusCode.InternalServerError
                                        && e.HttpStatusCode != HttpStatusCode.TooManyRequests && e.HttpStatusCode != HttpStatusCode.Conflict)
        {
            return OutboxResult.Dead($"Stripe refused to cancel {payload.SubscriptionId} ({(int)e.HttpStatusCode} {e.StripeError?.Code}): {e.StripeError?.Message ?? e.Message}");
        }
        catch (StripeException e)
        {
            return OutboxResult.Retry($"Stripe {(int)e.HttpStatusCode}: {e.StripeError?.Message ?? e.Message}"); // network errors reach the outbox as exceptions: retried too
        }
    }
}
