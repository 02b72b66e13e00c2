namespace Switchboard.Billing;

/// <summary>
/// One metered unit of use: a finished call's seconds (<c>call_seconds</c>, source = call id) or one chat message
/// (<c>chat_messages</c>, source = message id). Unique per tenant, kind and source, so metering is idempotent.
/// </summary>
internal sealed class UsageRecord
{
    public Guid Id { get; set; }
    public Guid TenantId { get; set; }

    /// <summary><see cref="UsageKinds.CallSeconds"/> or <see cref="UsageKinds.ChatMessages"/>.</summary>
    public required string Kind { get; set; }

    /// <summary>Seconds for calls, messages for chat.</summary>
    public double Quantity { get; set; }

    /// <summary>What was metered (call or message id).</summary>
    public required string SourceId { get; set; }

    /// <summary>Billing month in UTC, <c>yyyy-MM</c>.</summary>
    public required string Period { get; set; }

    public DateTimeOffset OccurredAt { get; set; }

    /// <summary>When Stripe accepted this record's meter event (Stripe billing only); null until then.</summary>
    public DateTimeOffset? ReportedAt { get; set; }
}

internal static class UsageKinds
{
    public const string CallSeconds = "call_seconds";
    public const string ChatMessages = "chat_messages";
}
