using Switchboard.Platform.Observability;

namespace Switchboard.Outbox;

/// <summary>
/// A side effect to perform (send an SMS, deliver a webhook, sync a provider), written in the same
/// transaction as the state change that caused it and delivered at least once by <see cref="OutboxWorker"/>.
/// </summary>
internal sealed class OutboxMessage
{
    public Guid Id { get; set; }
    public Guid TenantId { get; set; }

    /// <summary>Handler key, e.g. <c>sms.send</c>.</summary>
    public required string Kind { get; set; }

    /// <summary>Unique with <see cref="Kind"/>: enqueuing the same effect twice is a no-op.</summary>
    public required string DedupeKey { get; set; }

    public required string PayloadJson { get; set; }

    /// <summary><c>pending</c>, <c>done</c> or <c>dead</c> (dead letter: retries exhausted or permanent failure).</summary>
    public string Status { get; set; } = OutboxStatus.Pending;

    public int Attempts { get; set; }
    public DateTimeOffset NextAttemptAt { get; set; }

    /// <summary>Lease: the row belongs to <see cref="LockedBy"/> until this time.</summary>
    public DateTimeOffset? LockedUntil { get; set; }

    public string? LockedBy { get; set; }
    public string? LastError { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? CompletedAt { get; set; }

    /// <summary>
    /// W3C <c>traceparent</c> of the span current when the row was created (the webhook, media stream or handler that
    /// caused it), or null when none was; the handler's span continues this trace (see <see cref="SwitchboardTracing"/>).
    /// </summary>
    public string? TraceParent { get; set; } = SwitchboardTracing.CurrentTraceParent();
}

internal static class OutboxStatus
{
    public const string Pending = "pending";
    public const string Done = "done";
    public const string Dead = "dead";
}
