using System.Text.Json;
using System.Text.Json.Serialization;

namespace Switchboard.Webhooks;

/// <summary>
/// The body of every tenant webhook, per Standard Webhooks §"Payload" (shared/protocols/standard-webhooks.md §2):
/// <c>{"type":"call.ended","timestamp":"2026-11-18T15:00:00+00:00","data":{…}}</c>. <c>timestamp</c> is when the
/// event was created (ISO-8601, UTC); it stays the same on every retry, unlike the <c>webhook-timestamp</c> header.
/// </summary>
/// <typeparam name="TData">The event type's data record.</typeparam>
public sealed record WebhookEventEnvelope<TData>(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("timestamp")] DateTimeOffset Timestamp,
    [property: JsonPropertyName("data")] TData Data);

/// <summary><c>call.started</c>: a call was answered (first seen in progress, or first seen at all if it had already ended).</summary>
public sealed record CallStartedData(
    Guid CallId, string Channel, string Provider, string ProviderCallId, string? CallSid,
    string? CustomerNumber, string? BusinessNumber, DateTimeOffset? StartedAt);

/// <summary><c>call.ended</c>: the call is over. <c>DurationSeconds</c> in seconds; <c>Cost</c> in USD; <c>EndedReason</c> is Vapi's <c>endedReason</c>.</summary>
public sealed record CallEndedData(
    Guid CallId, string Channel, string Provider, string ProviderCallId, string? CallSid,
    string? CustomerNumber, string? BusinessNumber, DateTimeOffset? StartedAt, DateTimeOffset? EndedAt,
    double? DurationSeconds, string? EndedReason, decimal? Cost);

/// <summary>
/// <c>call.analyzed</c>: the summary, analysis and lead are ready. <c>StructuredData</c> is the assistant's
/// structured-data object as sent by the provider (null when none). <c>Urgency</c>: emergency, soon or routine.
/// </summary>
public sealed record CallAnalyzedData(
    Guid CallId, string? Summary, string? SuccessEvaluation, JsonElement? StructuredData, Guid? LeadId, string? Urgency);

/// <summary><c>recording.ready</c>: links to the call's recording (a link, never the audio: thin payloads, spec §"Payload").</summary>
public sealed record RecordingReadyData(Guid CallId, string RecordingUrl, string? StereoRecordingUrl, double? DurationSeconds);

/// <summary>
/// <c>lead.created</c> (a call's lead was first recorded) and <c>lead.urgent</c> (the lead is an emergency).
/// <c>Urgency</c>: emergency, soon or routine. <c>Source</c>: structured-data, tool, transcript or transfer (a cold transfer nobody answered).
/// </summary>
public sealed record LeadEventData(
    Guid LeadId, Guid CallId, string? Name, string? Phone, string? Address, string? Problem,
    string Urgency, string Source, DateTimeOffset CreatedAt);

/// <summary>
/// <c>lead.updated</c>: someone changed a lead's workflow (status, notes, assignee) from the dashboard or the API, or the
/// receptionist completed its details after <c>lead.created</c> (the name, number, address or problem the caller gave later,
/// a higher urgency). <c>Status</c>: new, contacted, booked or lost; <c>PreviousStatus</c> the status before this change.
/// </summary>
public sealed record LeadUpdatedData(
    Guid LeadId, Guid CallId, string? Name, string? Phone, string Urgency, string Status, string PreviousStatus, string? Notes,
    Guid? AssigneeUserId, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, string? Address = null, string? Problem = null);

/// <summary>
/// <c>sms.sent</c> (accepted by Twilio, or <c>simulated</c> when the tenant has no Twilio account) and
/// <c>sms.failed</c> (rejected, retries exhausted, or, after Twilio accepted it, a status callback saying <c>undelivered</c>,
/// <c>failed</c> or <c>canceled</c>, with Twilio's <c>ErrorCode</c> such as 30006). <c>Purpose</c>: emergency-alert,
/// lead-alert, webhook-disabled.
/// </summary>
public sealed record SmsEventData(
    Guid SmsId, Guid? CallId, Guid? LeadId, string Purpose, string To, string? From, string Status,
    string? MessageSid, string? ErrorCode, string? ErrorMessage);

/// <summary><c>assistant.updated</c>: an assistant's configuration changed.</summary>
public sealed record AssistantUpdatedData(
    Guid AssistantId, string Name, string Provider, IReadOnlyList<string> Languages, string? VapiAssistantId, bool IsDefault);

/// <summary>
/// <c>billing.plan_changed</c>: the tenant's plan (<c>planId</c>, before: <c>previousPlanId</c>) or the suspension of its
/// features changed, after a Stripe subscription event with <c>subscriptionStatus</c> at <c>at</c>. The end of a past-due
/// grace period is this event too, once: <c>featuresSuspended: true</c>, <c>planId</c> the signup plan whose features now
/// apply, <c>previousPlanId</c> the subscribed plan, <c>at</c> when the grace ended; the payment that ends it sends
/// <c>featuresSuspended: false</c> with the subscribed plan as <c>planId</c>.
/// </summary>
public sealed record BillingPlanChangedData(string PlanId, string PreviousPlanId, string SubscriptionStatus, bool FeaturesSuspended, DateTimeOffset At);

/// <summary>
/// <c>billing.payment_failed</c>: a subscription invoice (<c>invoiceId</c>, <c>amountDue</c> in the currency's minor unit)
/// could not be paid (attempt <c>attemptCount</c>); Stripe retries at <c>nextPaymentAttempt</c>; features stay on until <c>graceEndsAt</c>.
/// </summary>
public sealed record BillingPaymentFailedData(
    string InvoiceId, long AmountDue, string Currency, int AttemptCount, DateTimeOffset? NextPaymentAttempt, string? HostedInvoiceUrl, DateTimeOffset? GraceEndsAt);

/// <summary>
/// <c>call.transferred</c> (the caller was handed to a person: cold <c>&lt;Dial&gt;</c> made, or warm agent joined) and
/// <c>call.transfer_failed</c> (busy, no-answer or failed; the caller went back to the assistant). <c>Provider</c>: twilio or
/// vapi; <c>Mode</c>: cold or warm; <c>Outcome</c>: transferred, no-answer, busy, failed; <c>Number</c> in E.164.
/// </summary>
public sealed record CallTransferData(
    Guid CallId, Guid TransferId, string Provider, string Mode, string? Destination, string Number, string Outcome, string? Reason, string? Error,
    DateTimeOffset CreatedAt, DateTimeOffset? EndedAt);

/// <summary><c>webhook.test</c>: sent by the test-send endpoint.</summary>
public sealed record WebhookTestData(Guid EndpointId, string Message);

/// <summary>An event type in the catalogue (<c>GET /api/v1/webhooks/event-types</c>).</summary>
public sealed record WebhookEventTypeDto(string Type, string Description);

/// <summary>
/// The event catalogue: type names (dot-delimited, <c>[a-zA-Z0-9_]</c> segments, spec §"Payload"), their data
/// records, and an example each for test-sends.
/// </summary>
internal static class WebhookEventTypes
{
    public const string CallStarted = "call.started";
    public const string CallEnded = "call.ended";
    public const string CallAnalyzed = "call.analyzed";
    public const string LeadCreated = "lead.created";
    public const string LeadUrgent = "lead.urgent";
    public const string LeadUpdated = "lead.updated";
    public const string SmsSent = "sms.sent";
    public const string SmsFailed = "sms.failed";
    public const string RecordingReady = "recording.ready";
    public const string AssistantUpdated = "assistant.updated";
    public const string BillingPlanChanged = "billing.plan_changed";
    public const string BillingPaymentFailed = "billing.payment_failed";

    /// <summary>The billing events: delivered whatever the plan (a plan without webhooks still hears of its suspension and its end).</summary>
    public static readonly IReadOnlyList<string> Billing = [BillingPlanChanged, BillingPaymentFailed];
    public const string CallTransferred = "call.transferred";
    public const string CallTransferFailed = "call.transfer_failed";

    /// <summary>Only sent by test-send; not subscribable.</summary>
    public const string Test = "webhook.test";

    public sealed record Definition(string Type, Type DataType, string Description, Func<object> Example);

    private static readonly Guid ExampleCall = Guid.Parse("019a9a1e-0000-7000-8000-000000000001");
    private static readonly Guid ExampleLead = Guid.Parse("019a9a1e-0000-7000-8000-000000000002");
    private static readonly DateTimeOffset ExampleStart = new(2026, 11, 18, 15, 0, 0, TimeSpan.Zero);

    public static readonly IReadOnlyList<Definition> All =
    [
        new(CallStarted, typeof(CallStartedData), "A call was answered.",
            () => new CallStartedData(ExampleCall, "voice", "vapi", "example-call", "CA00000000000000000000000000000000", "+15145550123", "+15145550100", ExampleStart)),
        new(CallEnded, typeof(CallEndedData), "A call ended.",
            () => new CallEndedData(ExampleCall, "voice", "vapi", "example-call", "CA00000000000000000000000000000000", "+15145550123", "+15145550100",
                ExampleStart, ExampleStart.AddSeconds(94), 94, "customer-ended-call", 0.12m)),
        new(CallAnalyzed, typeof(CallAnalyzedData), "A call's summary, analysis and lead are ready.",
            () => new CallAnalyzedData(ExampleCall, "The caller's basement is flooding.", "true", null, ExampleLead, "emergency")),
        new(LeadCreated, typeof(LeadEventData), "A call produced a lead.",
            () => ExampleLeadData()),
        new(LeadUrgent, typeof(LeadEventData), "A lead is an emergency.",
            () => ExampleLeadData()),
        new(LeadUpdated, typeof(LeadUpdatedData), "A lead's status, notes or assignee changed, or its details were completed.",
            () => new LeadUpdatedData(ExampleLead, ExampleCall, "Marie Tremblay", "+15145550123", "emergency", "contacted", "new", "Rappelée à 10 h 05.",
                null, ExampleStart.AddSeconds(40), ExampleStart.AddMinutes(12), "12 rue Principale, Laval", "Sous-sol inondé")),
        new(SmsSent, typeof(SmsEventData), "An SMS alert was sent.",
            () => new SmsEventData(Guid.Parse("019a9a1e-0000-7000-8000-000000000003"), ExampleCall, ExampleLead, "emergency-alert", "+15145550111", "+15145550199",
                "sent", "SM00000000000000000000000000000000", null, null)),
        new(SmsFailed, typeof(SmsEventData), "An SMS alert could not be sent.",
            () => new SmsEventData(Guid.Parse("019a9a1e-0000-7000-8000-000000000003"), ExampleCall, ExampleLead, "emergency-alert", "+15145550111", "+15145550199",
                "failed", null, "21211", "The 'To' number is not a valid phone number.")),
        new(RecordingReady, typeof(RecordingReadyData), "A call's recording is available.",
            () => new RecordingReadyData(ExampleCall, "https://storage.example.com/recordings/example.wav", null, 94)),
        new(AssistantUpdated, typeof(AssistantUpdatedData), "An assistant's configuration changed.",
            () => new AssistantUpdatedData(Guid.Parse("019a9a1e-0000-7000-8000-000000000004"), "Paul", "vapi", ["fr-CA", "en-US"], null, true)),
        new(BillingPlanChanged, typeof(BillingPlanChangedData), "The plan or its features changed after a Stripe subscription event (upgrade, cancellation, suspension, restoration).",
            () => new BillingPlanChangedData("pro", "free", "active", false, ExampleStart)),
        new(BillingPaymentFailed, typeof(BillingPaymentFailedData), "A subscription payment failed; the plan's features stay on until the grace period ends.",
            () => new BillingPaymentFailedData("in_example", 14900, "usd", 1, ExampleStart.AddDays(3), "https://invoice.stripe.com/i/example", ExampleStart.AddDays(7))),
        new(CallTransferred, typeof(CallTransferData), "A call was transferred live to a person (cold, or warm once the person joined).",
            () => new CallTransferData(ExampleCall, Guid.Parse("019a9a1e-0000-7000-8000-000000000005"), "twilio", "warm", "Plombier de garde", "+15145550111",
                "transferred", "Sous-sol inondé, client veut parler à un plombier", null, ExampleStart.AddSeconds(50), ExampleStart.AddSeconds(70))),
        new(CallTransferFailed, typeof(CallTransferData), "A live transfer did not go through (busy, no answer, failed); the assistant took the call back.",
            () => new CallTransferData(ExampleCall, Guid.Parse("019a9a1e-0000-7000-8000-000000000005"), "twilio", "warm", "Plombier de garde", "+15145550111",
                "no-answer", "Sous-sol inondé, client veut parler à un plombier", "agent leg no-answer", ExampleStart.AddSeconds(50), ExampleStart.AddSeconds(75))),
    ];

    private static readonly Dictionary<string, Definition> ByType = All.ToDictionary(d => d.Type, StringComparer.Ordinal);

    public static bool IsKnown(string type) => ByType.ContainsKey(type);

    public static Definition? Find(string type) => ByType.GetValueOrDefault(type);

    private static LeadEventData ExampleLeadData() =>
        new(ExampleLead, ExampleCall, "Marie Tremblay", "+15145550123", "12 rue des Érables, Laval", "Le sous-sol est inondé", "emergency", "tool", ExampleStart.AddSeconds(40));
}
