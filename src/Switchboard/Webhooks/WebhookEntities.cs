namespace Switchboard.Webhooks;

/// <summary>
/// A tenant's webhook receiver: where events are POSTed, which event types it wants, and the Standard Webhooks
/// secret(s) that sign them (shared/protocols/standard-webhooks.md §1). During a rotation the previous secret
/// keeps signing alongside the new one until <see cref="PreviousSecretExpiresAt"/>.
/// </summary>
internal sealed class WebhookEndpoint
{
    public Guid Id { get; set; }
    public Guid TenantId { get; set; }

    /// <summary>Absolute http(s) URL, checked against SSRF rules when saved and again at each connection.</summary>
    public required string Url { get; set; }

    public string? Description { get; set; }

    /// <summary>Subscribed event types (<see cref="WebhookEventTypes"/>); empty means every type.</summary>
    public List<string> EventTypes { get; set; } = [];

    public bool Enabled { get; set; } = true;

    /// <summary>Why the endpoint was disabled: <c>manual</c>, <c>gone</c> (the receiver answered 410) or <c>failing</c> (5 days of failures).</summary>
    public string? DisabledReason { get; set; }

    public DateTimeOffset? DisabledAt { get; set; }

    /// <summary>Custom request headers as a JSON object, encrypted with Data Protection (they often carry credentials).</summary>
    public string? HeadersProtected { get; set; }

    /// <summary>The current <c>whsec_…</c> secret, encrypted with Data Protection.</summary>
    public required string SecretProtected { get; set; }

    /// <summary>The secret before the last rotation, still signing until <see cref="PreviousSecretExpiresAt"/>.</summary>
    public string? PreviousSecretProtected { get; set; }

    public DateTimeOffset? PreviousSecretExpiresAt { get; set; }

    /// <summary>Time of the first failed attempt since the last success; null while the endpoint is healthy.</summary>
    public DateTimeOffset? FailingSince { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>
/// One event (a fact) for a tenant, with the exact body every endpoint receives. <see cref="MessageId"/> is the
/// <c>webhook-id</c>, derived from the fact, so the same fact never makes two events.
/// </summary>
internal sealed class WebhookEvent
{
    public Guid Id { get; set; }
    public Guid TenantId { get; set; }

    /// <summary><c>msg_</c> + 32 hex characters; the <c>webhook-id</c> header, stable across retries and replays.</summary>
    public required string MessageId { get; set; }

    /// <summary>Event type, e.g. <c>call.ended</c>.</summary>
    public required string Type { get; set; }

    /// <summary>The body, <c>{"type","timestamp","data"}</c>, sent byte for byte (UTF-8) on every attempt.</summary>
    public required string PayloadJson { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>The call the event is about (call, recording, lead and SMS events), for the call detail; null otherwise.</summary>
    public Guid? CallId { get; set; }
}

/// <summary>One event on its way to one endpoint: its status and the last attempt's outcome.</summary>
internal sealed class WebhookDelivery
{
    public Guid Id { get; set; }
    public Guid TenantId { get; set; }
    public Guid EndpointId { get; set; }
    public Guid EventId { get; set; }

    public required string EventType { get; set; }

    /// <summary><see cref="WebhookDeliveryStatus"/>: <c>pending</c>, <c>succeeded</c> or <c>failed</c>.</summary>
    public string Status { get; set; } = WebhookDeliveryStatus.Pending;

    /// <summary>Attempts made, replays included.</summary>
    public int Attempts { get; set; }

    /// <summary>Attempts in the current run of the retry schedule (reset by a replay).</summary>
    public int ScheduleAttempts { get; set; }

    /// <summary>Replays requested; part of each replay's outbox dedupe key.</summary>
    public int Replays { get; set; }

    /// <summary>A test-send: delivered even to a disabled endpoint and whatever its event types.</summary>
    public bool IsTest { get; set; }

    public int? LastStatusCode { get; set; }

    /// <summary>Latency of the last attempt in milliseconds.</summary>
    public int? LastLatencyMs { get; set; }

    public string? LastError { get; set; }
    public DateTimeOffset? LastAttemptAt { get; set; }
    public DateTimeOffset? NextAttemptAt { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? CompletedAt { get; set; }
}

/// <summary>One HTTP attempt of a delivery, for the delivery log.</summary>
internal sealed class WebhookAttempt
{
    public Guid Id { get; set; }
    public Guid TenantId { get; set; }
    public Guid EndpointId { get; set; }
    public Guid DeliveryId { get; set; }

    /// <summary>1-based attempt number within the delivery.</summary>
    public int Number { get; set; }

    public DateTimeOffset At { get; set; }

    /// <summary>HTTP status code; null when no response came (timeout, refused, blocked address).</summary>
    public int? StatusCode { get; set; }

    /// <summary>Milliseconds from sending the request to reading the response excerpt.</summary>
    public int LatencyMs { get; set; }

    public bool Succeeded { get; set; }
    public string? Error { get; set; }

    /// <summary>The first bytes of the response body (at most <see cref="WebhookOptions.ResponseExcerptBytes"/>), UTF-8.</summary>
    public string? ResponseExcerpt { get; set; }
}

internal static class WebhookDeliveryStatus
{
    public const string Pending = "pending";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
}
