namespace Switchboard.Calls;

/// <summary>One conversation (phone call or web chat), keyed by the provider's call id.</summary>
internal sealed class Call
{
    public Guid Id { get; set; }
    public Guid TenantId { get; set; }

    /// <summary><c>voice</c> or <c>web</c>.</summary>
    public required string Channel { get; set; }

    /// <summary><c>vapi</c>, <c>twilio</c> or <c>widget</c> (web chat).</summary>
    public required string Provider { get; set; }

    /// <summary>The provider's id of the call (Vapi <c>call.id</c>, or the Twilio CallSid for native calls).</summary>
    public required string ProviderCallId { get; set; }

    /// <summary>Twilio CallSid of the phone leg, when known (Vapi <c>call.phoneCallProviderId</c>).</summary>
    public string? CallSid { get; set; }

    /// <summary>Vapi call type (<c>inboundPhoneCall</c>, <c>outboundPhoneCall</c>, <c>webCall</c>…).</summary>
    public string? Type { get; set; }

    /// <summary><c>queued</c>, <c>ringing</c>, <c>in-progress</c>, <c>forwarding</c> or <c>ended</c>; never moves backwards.</summary>
    public string Status { get; set; } = "queued";

    public string? CustomerNumber { get; set; }
    public string? BusinessNumber { get; set; }
    public DateTimeOffset? StartedAt { get; set; }
    public DateTimeOffset? EndedAt { get; set; }

    /// <summary>Call length in seconds.</summary>
    public double? DurationSeconds { get; set; }

    /// <summary>Vapi <c>endedReason</c>, kept as a free string (627+ values).</summary>
    public string? EndedReason { get; set; }

    /// <summary>Provider cost in USD.</summary>
    public decimal? Cost { get; set; }

    public string? RecordingUrl { get; set; }
    public string? StereoRecordingUrl { get; set; }
    public string? Summary { get; set; }

    /// <summary>Vapi <c>analysis.structuredData</c> as JSON text.</summary>
    public string? StructuredDataJson { get; set; }

    /// <summary>Vapi <c>analysis.successEvaluation</c> (a string whatever the rubric).</summary>
    public string? SuccessEvaluation { get; set; }

    /// <summary>The whole transcript as text, for search.</summary>
    public string? TranscriptText { get; set; }

    /// <summary>True once the end-of-call report's transcript replaced the live turns.</summary>
    public bool TranscriptFinal { get; set; }

    /// <summary>True once the post-call pipeline (lead, alerts) ran.</summary>
    public bool Analyzed { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>
    /// When a save last changed the call. Transcript turns do not move it: a native call's turns are batched inserts of
    /// <c>transcript_turns</c> (<see cref="Realtime.Bridge.TranscriptSink"/>), and an UPDATE of the call per batch would put a
    /// write of the hot <c>calls</c> row (a new row version on PostgreSQL, the live-events interceptor's change) on every
    /// spoken turn. Readers needing a native call's last sign of life take the later of this and its last turn's
    /// <see cref="TranscriptTurn.At"/> (<see cref="Twilio.NativeCallCloser"/> ends a closed call there); its stale test needs
    /// neither, since the bridge hangs up after the tenant's <c>VoiceMaxCallSeconds</c> from the stream's start, which writes the
    /// call. The Live page bounds a native call by its <see cref="CreatedAt"/>.
    /// </summary>
    public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>The assistant that took a native call.</summary>
    public Guid? AssistantId { get; set; }

    /// <summary>BCP 47 language the native call was answered in (consent notice and assistant), e.g. <c>fr-CA</c>.</summary>
    public string? Language { get; set; }

    /// <summary>
    /// The lead's urgency (<c>emergency</c>, <c>soon</c>, <c>routine</c>) or null: written only by database triggers on
    /// <c>leads</c> (migration 0007) so the list can filter on one index; never set it from code.
    /// </summary>
    public string? Urgency { get; private set; }

    /// <summary>
    /// True when the call's lead is <c>booked</c>, else null: like <see cref="Urgency"/>, written only by the database
    /// triggers on <c>leads</c> (migration 0019) so the analytics rollup counts booked leads; never set it from code.
    /// </summary>
    public bool? LeadBooked { get; private set; }

    /// <summary>Native calls: ms from the media stream's <c>start</c> to the first greeting frame sent to Twilio.</summary>
    public double? GreetingLatencyMs { get; set; }

    /// <summary><c>inbound</c> (the default) or <c>outbound</c> (placed by Switchboard: the API, a callback, a campaign).</summary>
    public string Direction { get; set; } = "inbound";

    /// <summary>Outbound calls: the context variables the call was placed with, a JSON object of strings (why it calls, names…).</summary>
    public string? OutboundContextJson { get; set; }

    /// <summary>Outbound native calls: Twilio's <c>AnsweredBy</c> (<c>human</c>, <c>machine_end_beep</c>, <c>machine_end_silence</c>, <c>machine_end_other</c>, <c>fax</c>, <c>unknown</c>).</summary>
    public string? AnsweredBy { get; set; }

    /// <summary>
    /// Outbound native calls: when Switchboard last began asking Twilio to create the call (status <c>dialing</c>), saved
    /// before the request so a retry after a crash or a lost response can find the call at Twilio instead of placing it again.
    /// </summary>
    public DateTimeOffset? DialingAt { get; set; }

    /// <summary>
    /// How many saves changed this call (0 when created): bumped by every <c>SaveChanges</c> that modifies it
    /// (<see cref="Switchboard.Platform.Database.SwitchboardDbContext"/>). A Vapi message prepared outside SQLite's single
    /// writer compares the version it read with the stored one inside it (issue 13).
    /// </summary>
    public long Version { get; set; }
}

/// <summary>One turn of a conversation's transcript.</summary>
internal sealed class TranscriptTurn
{
    public Guid Id { get; set; }
    public Guid TenantId { get; set; }
    public Guid CallId { get; set; }

    /// <summary>0-based order within the call.</summary>
    public int Seq { get; set; }

    /// <summary><c>assistant</c>, <c>user</c>, <c>tool_call</c> or <c>tool_result</c>.</summary>
    public required string Role { get; set; }

    public required string Text { get; set; }

    /// <summary>Seconds from the start of the call.</summary>
    public double? SecondsFromStart { get; set; }

    public DateTimeOffset? At { get; set; }

    /// <summary>Native assistant turns: ms from the caller's end of speech to the provider's first audio.</summary>
    public double? ProviderLatencyMs { get; set; }

    /// <summary>Native assistant turns: ms from the provider's first audio to the first frame sent to Twilio.</summary>
    public double? BridgeLatencyMs { get; set; }
}

/// <summary>A provider message as received, raw, for audit and replay.</summary>
internal sealed class CallEvent
{
    public Guid Id { get; set; }
    public Guid TenantId { get; set; }
    public Guid? CallId { get; set; }
    public required string Provider { get; set; }
    public required string Type { get; set; }

    /// <summary>Unique per tenant: the SHA-256 of the raw body for Vapi, so a redelivery is recognised.</summary>
    public required string IdempotencyKey { get; set; }

    public required string PayloadJson { get; set; }
    public DateTimeOffset? ProviderTimestamp { get; set; }
    public DateTimeOffset ReceivedAt { get; set; }

    /// <summary>
    /// JSON array of the JSON paths (<c>$.message.cost</c>…) of fields the message carried but that could not be used
    /// (see <c>VapiFieldRules</c> and <c>TolerantJson</c>); null when every field was usable.
    /// </summary>
    public string? UnusableFields { get; set; }
}

/// <summary>What the caller needs, derived from the call.</summary>
internal sealed class Lead
{
    public Guid Id { get; set; }
    public Guid TenantId { get; set; }
    public Guid CallId { get; set; }
    public string? Name { get; set; }
    public string? Phone { get; set; }
    public string? Address { get; set; }
    public string? Problem { get; set; }

    /// <summary><c>emergency</c>, <c>soon</c> or <c>routine</c>.</summary>
    public required string Urgency { get; set; }

    /// <summary>Where the lead came from: <c>structured-data</c>, <c>tool</c> or <c>transcript</c>.</summary>
    public required string Source { get; set; }

    /// <summary>Workflow state, <see cref="LeadStatus"/>: <c>new</c> → <c>contacted</c> → <c>booked</c> or <c>lost</c> (reopen to <c>new</c>).</summary>
    public string Status { get; set; } = LeadStatus.New;

    /// <summary>The team's notes (≤ 4000 characters); personal data, erased with the caller.</summary>
    public string? Notes { get; set; }

    /// <summary>The member of the tenant who follows the lead up, if any.</summary>
    public Guid? AssigneeUserId { get; set; }

    /// <summary>Qualification 0–100 from budget, authority, need and timeline (<see cref="Brain.LeadQualification"/>); null when none was given.</summary>
    public int? Score { get; set; }

    /// <summary>The qualification answers as JSON <c>{"budget":…,"authority":…,"need":…,"timeline":…}</c>.</summary>
    public string? QualificationJson { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}
