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
}
