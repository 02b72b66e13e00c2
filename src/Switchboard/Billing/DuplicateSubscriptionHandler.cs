using System.Net;
using System.Text.Json;
using Stripe;
using Switchboard.Compliance;
using Switchboard.Outbox;

namespace Switchboard.Billing;

/// <summary>
/// Outbox kind <c>stripe.cancel_duplicate</c>: cancels a second live subscription of a tenant that already has one (two
/// Checkout Sessions completed, say in two tabs: Stripe makes a subscription for each, and both are charged) and refunds what
/// it was paid. The subscription the tenant had first is kept; this one is cancelled at once without proration (a proration
/// credit beside the refund would pay the customer back twice: stripe.com/docs/api/subscriptions/cancel), then each payment of
/// its paid invoices is refunded in full with <c>reason=duplicate</c> (the 2025+ API: <c>GET /v1/invoices?subscription=&amp;status=paid</c>,
/// <c>GET /v1/invoice_payments?invoice=</c>, <c>POST /v1/refunds</c> with the payment intent; stripe.com/docs/api/refunds/create).
/// Audited <c>billing.duplicate_refunded</c> with the refunds. Staged by <see cref="StripeEventApplier"/> in the same
/// transaction as the event that revealed it. Idempotent: a subscription already cancelled is not cancelled again, each refund
/// carries the idempotency key <c>refund-duplicate:{payment intent}</c>, and a payment refunded already
/// (<c>charge_already_refunded</c>) is done; 429, 5xx and network errors are retried; any other refusal is a dead letter with
/// Stripe's message (the operator then finishes in Stripe's dashboard).
/// </summary>
internal sealed class DuplicateSubscriptionHandler(StripeGateway stripe, AuditLog audit, ILogger<DuplicateSubscriptionHandler> logger) : IOutboxHandler
{
    public const string Kind = "stripe.cancel_duplicate";

    /// <summary>Outbox payload: the subscription to cancel and the one kept.</summary>
    public sealed record Payload(string SubscriptionId, string KeptSubscriptionId);

    /// <summary>One refund made: Stripe's refund id, the payment intent refunded, the amount (smallest currency unit) and currency.</summary>
    public sealed record RefundMade(string RefundId, string PaymentIntentId, long Amount, string Currency);

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
            Subscription subscription;
            try
            {
                subscription = await service.GetAsync(payload.SubscriptionId, cancellationToken: ct);
            }
            catch (StripeException e) when (e.StripeError?.Code == "resource_missing")
            {
                return OutboxResult.Done; // gone: nothing to cancel, and its payments are not ours to find
            }
            if (subscription.Status is not ("canceled" or "incomplete_expired"))
            {
                await service.CancelAsync(payload.SubscriptionId, new SubscriptionCancelOptions { Prorate = false },
                    new RequestOptions { IdempotencyKey = "cancel-duplicate:" + payload.SubscriptionId }, ct);
            }
            var refunds = await RefundPaymentsAsync(payload.SubscriptionId, message.TenantId, ct);
            logger.LogWarning("Duplicate Stripe subscription {SubscriptionId} of tenant {TenantId} cancelled and {Refunds} payment(s) refunded; {Kept} kept",
                payload.SubscriptionId, message.TenantId, refunds.Count, payload.KeptSubscriptionId);
            await audit.AppendAsync(message.TenantId, AuditActor.System, "billing.duplicate_refunded", "subscription:" + payload.SubscriptionId,
                new { kept = payload.KeptSubscriptionId, refunds }, ct);
            return OutboxResult.Done;
        }
        catch (StripeException e) when (e.HttpStatusCode is >= HttpStatusCode.BadRequest and < HttpStatusCode.InternalServerError
                                        && e.HttpStatusCode != HttpStatusCode.TooManyRequests && e.HttpStatusCode != HttpStatusCode.Conflict)
        {
            return OutboxResult.Dead($"Stripe refused to cancel or refund {payload.SubscriptionId} ({(int)e.HttpStatusCode} {e.StripeError?.Code}): {e.StripeError?.Message ?? e.Message}");
        }
        catch (StripeException e)
        {
            return OutboxResult.Retry($"Stripe {(int)e.HttpStatusCode}: {e.StripeError?.Message ?? e.Message}"); // network errors reach the outbox as exceptions: retried too
        }
    }

    /// <summary>
    /// Refunds, in full, every paid payment of <paramref name="subscriptionId"/>'s paid invoices (card payments: payment
    /// intents; other payment types are left to the operator and logged). Returns the refunds made by this call; a payment
    /// refunded already (an earlier attempt, or by hand) is skipped.
    /// </summary>
    private async Task<List<RefundMade>> RefundPaymentsAsync(string subscriptionId, Guid? tenantId, CancellationToken ct)
    {
        var made = new List<RefundMade>();
        var invoices = new InvoiceService(stripe.Client);
        var payments = new InvoicePaymentService(stripe.Client);
        var refunds = new RefundService(stripe.Client);
        await foreach (var invoice in invoices.ListAutoPagingAsync(new InvoiceListOptions { Subscription = subscriptionId, Status = "paid", Limit = 100 }, cancellationToken: ct))
        {
            if (invoice.AmountPaid <= 0)
            {
                continue;
            }
            await foreach (var payment in payments.ListAutoPagingAsync(new InvoicePaymentListOptions { Invoice = invoice.Id, Status = "paid", Limit = 100 }, cancellationToken: ct))
            {
                if (payment.Payment?.PaymentIntentId is not { Length: > 0 } intent)
                {
                    logger.LogWarning("Invoice {InvoiceId} of duplicate subscription {SubscriptionId} was paid by {Type}, not a payment intent: refund it in Stripe's dashboard",
                        invoice.Id, subscriptionId, payment.Payment?.Type);
                    continue;
                }
                try
                {
                    var refund = await refunds.CreateAsync(new RefundCreateOptions
                    {
                        PaymentIntent = intent,
                        Reason = "duplicate",
                        Metadata = new Dictionary<string, string> { ["subscription"] = subscriptionId, ["tenant_id"] = tenantId?.ToString() ?? "" },
                    }, new RequestOptions { IdempotencyKey = "refund-duplicate:" + intent }, ct);
                    made.Add(new RefundMade(refund.Id, intent, refund.Amount, refund.Currency));
                }
                catch (StripeException e) when (e.StripeError?.Code == "charge_already_refunded")
                {
                    // Refunded before: an earlier attempt whose answer was lost, or the operator.
                }
            }
        }
        return made;
    }
}
