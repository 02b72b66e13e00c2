namespace Switchboard.Billing;

/// <summary>
/// A Stripe webhook event, stored once by its id (<c>evt_…</c>) in the same transaction as its effect, so a redelivery
/// finds it and changes nothing. <see cref="Outcome"/> says what was done (<c>applied</c>, <c>stale</c>, <c>ignored: …</c>).
/// </summary>
internal sealed class StripeEventRecord
{
    public required string Id { get; set; }
    public required string Type { get; set; }

    /// <summary>The event's <c>created</c> (Unix seconds at Stripe), as a time.</summary>
    public DateTimeOffset Created { get; set; }

    public Guid? TenantId { get; set; }

    /// <summary>The object the event is about (<c>sub_…</c>, <c>in_…</c>, <c>cs_…</c>).</summary>
    public string? ObjectId { get; set; }

    public required string Outcome { get; set; }
    public DateTimeOffset ReceivedAt { get; set; }
}

/// <summary>
/// One mapping of the Stripe catalog written by <c>switchboard stripe-setup</c>: key (<c>product:pro</c>,
/// <c>price:pro:base</c>, <c>price:pro:minutes</c>, <c>price:pro:messages</c>, <c>meter:voice_seconds</c>,
/// <c>meter:chat_messages</c>, <c>webhook_endpoint</c>, <c>webhook_secret</c> (protected)) → Stripe id.
/// </summary>
internal sealed class BillingCatalogEntry
{
    public required string Key { get; set; }
    public required string StripeId { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>
/// A reconciliation finding: for one tenant, period and kind, the usage Switchboard recorded (<see cref="Local"/>,
/// in meter units: billable seconds or messages) differs from what Stripe's meter event summaries hold (<see cref="Reported"/>).
/// </summary>
internal sealed class BillingDrift
{
    public Guid Id { get; set; }
    public Guid TenantId { get; set; }
    public required string Period { get; set; }
    public required string Kind { get; set; }
    public double Local { get; set; }
    public double Reported { get; set; }
    public DateTimeOffset CheckedAt { get; set; }
}
