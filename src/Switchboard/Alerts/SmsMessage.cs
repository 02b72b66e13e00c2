namespace Switchboard.Alerts;

/// <summary>An SMS sent to staff (or received on a tenant number), with its delivery status.</summary>
internal sealed class SmsMessage
{
    public Guid Id { get; set; }
    public Guid TenantId { get; set; }
    public Guid? CallId { get; set; }
    public Guid? LeadId { get; set; }

    /// <summary><c>outbound</c> or <c>inbound</c>.</summary>
    public required string Direction { get; set; }

    /// <summary><c>emergency-alert</c>, <c>lead-alert</c> or <c>inbound</c>.</summary>
    public required string Purpose { get; set; }

    public required string To { get; set; }

    /// <summary>
    /// The sender: an E.164 number, or a Messaging Service SID (<c>MG…</c>). Null until the first send attempt pins the
    /// sender <see cref="SmsSenderResolver"/> chose, so every retry looks for, and sends from, the same one.
    /// </summary>
    public string? From { get; set; }
    public required string Body { get; set; }

    /// <summary>
    /// <c>scheduled</c>, <c>queued</c>, <c>sending</c>, <c>sent</c> (accepted by Twilio), <c>delivered</c> or <c>undelivered</c>
    /// (Twilio's status callback: the carrier confirmed delivery, or could not deliver), <c>failed</c> (rejected, retries exhausted,
    /// or Twilio's callback), <c>canceled</c>, <c>simulated</c> or <c>received</c>. Callbacks only move it forward
    /// (<see cref="SmsDeliveryStatus"/>).
    /// </summary>
    public required string Status { get; set; }

    /// <summary>Twilio Message SID (<c>SM…</c>).</summary>
    public string? MessageSid { get; set; }

    /// <summary>
    /// Why the SMS did not go, as a stable code the dashboard words in the reader's language: Twilio's error code when Twilio
    /// gave one (e.g. <c>21211</c> when rejected, <c>30006</c> from an <c>undelivered</c> callback; twilio.com/docs/api/errors),
    /// else Switchboard's own (<see cref="SmsSendHandler.NoSenderCode"/>, <see cref="SmsSendHandler.RetriesExhaustedCode"/>,
    /// <see cref="SmsSendHandler.LeadHandledCode"/>, and <see cref="SmsSendHandler.RetryPendingCode"/> while a retry is due after
    /// a send Twilio gave no code for). Null when it went, or before its first attempt.
    /// </summary>
    public string? ErrorCode { get; set; }

    /// <summary>
    /// Twilio's error message, or the code's name (<see cref="SmsDeliveryStatus.DescribeError"/>) when a callback carried none, or
    /// Switchboard's sentence (English, for logs and API readers) beside <see cref="ErrorCode"/>.
    /// </summary>
    public string? ErrorMessage { get; set; }
    public int Attempts { get; set; }

    /// <summary>Unique per tenant; one alert per call, purpose and recipient.</summary>
    public required string IdempotencyKey { get; set; }

    /// <summary>Earliest send time (held non-urgent alerts).</summary>
    public DateTimeOffset? SendAfter { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>
    /// When the first POST to Twilio was about to be made. A message Twilio created for this row is at or after it, so
    /// the duplicate lookup after a crash or a lost response reads Twilio's list back to here and no further.
    /// </summary>
    public DateTimeOffset? FirstAttemptAt { get; set; }

    public DateTimeOffset? SentAt { get; set; }
}
