using Switchboard.Tenancy;

namespace Switchboard.Assistants;

/// <summary>A tenant's AI receptionist (e.g. Drain Fortin's "Paul").</summary>
internal sealed class Assistant
{
    public Guid Id { get; set; }
    public Guid TenantId { get; set; }
    public required string Name { get; set; }

    /// <summary>BCP 47 languages the assistant speaks, first is the default, e.g. <c>["fr-CA","en-US"]</c>.</summary>
    public List<string> Languages { get; set; } = [];

    /// <summary><c>vapi</c> (managed voice) or <c>realtime</c> (native Twilio bridge).</summary>
    public required string Provider { get; set; }

    /// <summary>The assistant's id at Vapi when it is managed there.</summary>
    public string? VapiAssistantId { get; set; }

    public string? FirstMessage { get; set; }
    public string? Instructions { get; set; }

    /// <summary>Overrides the tenant's alert policy when set.</summary>
    public AlertPolicy? AlertPolicy { get; set; }

    public bool IsDefault { get; set; }
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>Realtime model for native calls (e.g. <c>gpt-realtime</c>); the platform default when null.</summary>
    public string? RealtimeModel { get; set; }

    /// <summary>Realtime voice (e.g. <c>marin</c>, <c>alloy</c>); the platform default when null.</summary>
    public string? RealtimeVoice { get; set; }

    /// <summary>Voice, e.g. <c>{"provider":"11labs","voiceId":"sarah"}</c>; the provider's default when null.</summary>
    public AssistantVoice? Voice { get; set; }

    /// <summary>Language model, e.g. <c>{"provider":"openai","model":"gpt-4o"}</c>; <c>openai/gpt-4o</c> when null.</summary>
    public AssistantModel? Model { get; set; }

    /// <summary>Enabled tools (<c>capture_lead</c>, <c>check_business_hours</c>, <c>end_call</c>); all built-in tools when null.</summary>
    public List<string>? Tools { get; set; }

    /// <summary>Whether calls are recorded (Vapi <c>artifactPlan.recordingEnabled</c>).</summary>
    public bool RecordingEnabled { get; set; } = true;

    /// <summary>Outbound calls answered by a machine: the message left after the beep (≤ 1000 characters); a default naming the business when null.</summary>
    public string? VoicemailMessage { get; set; }

    /// <summary>
    /// Call back callers who hung up without leaving details (a short call, no lead) after this many minutes, inside
    /// business hours and the legal window, at most once per number per day; null (the default) = never.
    /// </summary>
    public int? AutoCallbackMinutes { get; set; }

    /// <summary>Bumped on every change; the Vapi sync outbox job pushes only the latest version.</summary>
    public int Version { get; set; }

    /// <summary><c>pending</c>, <c>synced</c>, <c>retrying</c>, <c>failed</c>, <c>waiting-for-credentials</c> or <c>local</c> (not managed by Vapi).</summary>
    public string? SyncStatus { get; set; }

    public string? SyncError { get; set; }
    public DateTimeOffset? SyncedAt { get; set; }
    public DateTimeOffset? UpdatedAt { get; set; }

    /// <summary>Live transfer is offered (<c>transfer_call</c> on native calls, Vapi's <c>transfer-destination-request</c>); off by default.</summary>
    public bool TransferEnabled { get; set; }

    /// <summary>Where calls can be transferred (name, E.164 number, hours); null or empty: nowhere.</summary>
    public List<Outbound.TransferDestination>? TransferDestinations { get; set; }

    /// <summary>Whether the assistant can transfer at all: enabled and with at least one destination.</summary>
    public bool OffersTransfer => TransferEnabled && TransferDestinations is { Count: > 0 };
}

/// <summary>An assistant's voice (Vapi <c>voice</c>: <c>provider</c> and <c>voiceId</c>, optional <c>model</c>; <c>speed</c> as a multiplier).</summary>
public sealed record AssistantVoice(string Provider, string VoiceId, string? Model = null, double? Speed = null);

/// <summary>An assistant's language model (Vapi <c>model</c>: <c>provider</c>, <c>model</c>; <c>temperature</c> 0–2).</summary>
public sealed record AssistantModel(string Provider, string Model, double? Temperature = null);
