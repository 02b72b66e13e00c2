using System.ComponentModel.DataAnnotations;

namespace Switchboard.Billing;

/// <summary>
/// Configuration section <c>Switchboard:Stripe</c>. Without <see cref="SecretKey"/> Stripe billing is off and plans work as
/// before (the operator sets them; owners change them if <see cref="BillingOptions.OwnersMayChangePlan"/>). With it, paid
/// plans go through Stripe Checkout and the Customer Portal, usage is reported as meter events and webhooks drive the plan.
/// </summary>
internal sealed class StripeOptions
{
    public const string Section = "Switchboard:Stripe";

    /// <summary>Stripe secret key (<c>sk_live_…</c>, <c>sk_test_…</c>); from the environment (<c>Switchboard__Stripe__SecretKey</c>), never from a file in the repository.</summary>
    public string? SecretKey { get; set; }

    /// <summary>Webhook endpoint secret (<c>whsec_…</c>); when empty, the one <c>stripe-setup</c> stored (encrypted) is used.</summary>
    public string? WebhookSecret { get; set; }

    /// <summary>
    /// Signing secret (<c>whsec_…</c>) of an event destination that sends thin events (the meter error reports) to the same
    /// URL; Stripe gives each destination its own secret. Optional: a signature valid for either secret is accepted.
    /// </summary>
    public string? EventDestinationSecret { get; set; }

    /// <summary>API base URL; empty for Stripe itself (<c>https://api.stripe.com</c>). Tests and <c>simulate</c> point it at <c>StripeSimulator</c>.</summary>
    public string? ApiBase { get; set; }

    /// <summary>Stripe.net's own retries per request (connection errors, 409, 5xx); the outbox retries beyond them.</summary>
    [Range(0, 5)]
    public int MaxNetworkRetries { get; set; } = 2;

    /// <summary>Lower-case ISO currency of the prices <c>stripe-setup</c> creates.</summary>
    [RegularExpression("^[a-z]{3}$")]
    public string Currency { get; set; } = "usd";

    /// <summary>Price of one metered call minute, in cents (may be fractional), for every paid plan.</summary>
    [Range(0, 10_000)]
    public decimal MinuteCents { get; set; } = 5m;

    /// <summary>Price of one chat message, in cents (may be fractional), for every paid plan.</summary>
    [Range(0, 10_000)]
    public decimal MessageCents { get; set; } = 0.5m;

    /// <summary>Days a past-due tenant keeps its plan's features; the owner is alerted by SMS and email when it starts.</summary>
    [Range(0, 90)]
    public int GraceDays { get; set; } = 7;

    /// <summary>Trial days on Checkout (<c>subscription_data[trial_period_days]</c>); 0 for none.</summary>
    [Range(0, 730)]
    public int TrialDays { get; set; }

    /// <summary>Starter credit granted (Stripe credit grant, <c>category=promotional</c>, metered prices) when a tenant's Stripe customer is created, in cents; 0 for none.</summary>
    [Range(0, 1_000_000)]
    public long TrialCreditCents { get; set; }

    /// <summary>Signature tolerance in seconds (Stripe's default: 300).</summary>
    [Range(1, 3600)]
    public int WebhookToleranceSeconds { get; set; } = 300;

    /// <summary>Meter events older than this are refused by Stripe (35 days): the outbox dead-letters them instead of retrying.</summary>
    [Range(1, 35)]
    public int MeterEventMaxAgeDays { get; set; } = 35;

    /// <summary>Run the usage sweep (ended calls → usage records → meter events) and the nightly reconciliation on this node.</summary>
    public bool WorkersEnabled { get; set; } = true;

    /// <summary>UTC hour of the nightly reconciliation of usage against Stripe's meter event summaries.</summary>
    [Range(0, 23)]
    public int ReconciliationHourUtc { get; set; } = 3;

    public bool Enabled => !string.IsNullOrWhiteSpace(SecretKey);
}

/// <summary>Stripe billing names shared by <c>stripe-setup</c>, the meter handler and the reconciliation.</summary>
internal static class StripeNames
{
    /// <summary>Billing meter of billable call seconds (aggregation <c>sum</c>).</summary>
    public const string VoiceMeter = "voice_seconds";

    /// <summary>Billing meter of chat messages (aggregation <c>sum</c> of 1s).</summary>
    public const string ChatMeter = "chat_messages";

    public static string MeterFor(string usageKind) => usageKind == UsageKinds.CallSeconds ? VoiceMeter : ChatMeter;

    public static string ProductId(string planId) => "switchboard_" + planId;

    public static string LookupKey(string planId, string component) => $"switchboard_{planId}_{component}";

    /// <summary>Events the webhook endpoint subscribes to (stripe-billing.md §6.3).</summary>
    public static readonly string[] WebhookEvents =
    [
        "checkout.session.completed", "customer.subscription.created", "customer.subscription.updated", "customer.subscription.deleted",
        "customer.subscription.trial_will_end", "invoice.paid", "invoice.payment_failed", "billing.credit_grant.created",
    ];
}
