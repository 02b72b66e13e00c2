using System.ComponentModel.DataAnnotations;

namespace Switchboard.Realtime;

/// <summary>
/// Configuration section <c>Switchboard:Realtime</c>: the realtime speech provider speaking the OpenAI Realtime GA
/// WebSocket protocol (shared/protocols/openai-realtime.md), served by OpenAI, Azure OpenAI, xAI and others.
/// A tenant may override <see cref="BaseUrl"/> and the key (<c>Tenant.RealtimeBaseUrl</c>, <c>RealtimeApiKeyProtected</c>).
/// </summary>
internal sealed class RealtimeOptions
{
    public const string Section = "Switchboard:Realtime";

    /// <summary>The well-known local port of the realtime simulator that <c>switchboard simulate-call</c> starts.</summary>
    public const int SimulatorPort = 8091;

    /// <summary>The simulator's URL on that port; the demo tenant is configured with it.</summary>
    public static readonly string SimulatorUrl = $"ws://127.0.0.1:{SimulatorPort}/v1/realtime";

    /// <summary>WebSocket URL without query string; <c>?model=</c> is appended.</summary>
    [Required]
    public string BaseUrl { get; set; } = "wss://api.openai.com/v1/realtime";

    /// <summary>API key; sent as <c>Authorization: Bearer</c> or, when <see cref="ApiKeyHeader"/> is <c>api-key</c> (Azure), as that header.</summary>
    public string? ApiKey { get; set; }

    public string ApiKeyHeader { get; set; } = "Authorization";

    [Required]
    public string Model { get; set; } = "gpt-realtime";

    [Required]
    public string Voice { get; set; } = "marin";

    /// <summary><c>auto</c> (μ-law pass-through, transcoding if the provider refuses it), <c>pcmu</c> or <c>pcm16</c> (always transcode to 24 kHz PCM).</summary>
    [RegularExpression("^(auto|pcmu|pcm16)$")]
    public string AudioFormat { get; set; } = "auto";

    /// <summary>Transcription model for the caller's side of the transcript; none when empty.</summary>
    public string? TranscriptionModel { get; set; } = "gpt-4o-mini-transcribe";

    /// <summary>
    /// Reaching the provider, in ms: the TCP (and TLS) connection, the part that tells an unreachable provider from a busy
    /// one (the HTTP handler's connect timeout; a refused connection or a 5xx upgrade fails at once). Beyond it the call
    /// gets the tenant's fallback.
    /// </summary>
    [Range(100, 30000)]
    public int ConnectTimeoutMs { get; set; } = 3000;

    /// <summary>
    /// From the call's connect turn to a configured session (WebSocket upgrade, then <c>session.update</c> answered by
    /// <c>session.updated</c>), in ms, counted only while the node keeps up with its own work
    /// (<see cref="Bridge.ConnectDeadlines"/>): on an idle node this is wall time; under a burst of calls the node's own
    /// backlog does not count, up to <see cref="ConnectTimeoutCapMs"/>. At least <see cref="ConnectTimeoutMs"/> in effect.
    /// Beyond it the call gets the tenant's fallback (issue 16: a 3 s wall-clock bound lost calls to a provider that had
    /// accepted the connection but answered late under a burst).
    /// </summary>
    [Range(100, 60000)]
    public int HandshakeTimeoutMs { get; set; } = 10000;

    /// <summary>
    /// Wall-clock bound on connect + handshake, in ms, however busy the node is (issue 16): no call waits longer for its
    /// provider session, counted from its connect turn.
    /// </summary>
    [Range(100, 120000)]
    public int ConnectTimeoutCapMs { get; set; } = 20000;

    /// <summary>
    /// Provider sessions the node connects at once (a bounded connect queue): under a burst of calls the rest wait their
    /// turn, and <see cref="ConnectTimeoutMs"/> runs from when a call's turn comes, so a busy node does not mistake its own
    /// queue for an unreachable provider (issue 16).
    /// </summary>
    [Range(1, 10000)]
    public int MaxConcurrentConnects { get; set; } = 32;

    /// <summary>Longest wait for a connect turn, in ms; beyond it the call gets the tenant's fallback.</summary>
    [Range(0, 60000)]
    public int ConnectQueueMs { get; set; } = 15000;

    /// <summary>Reconnections allowed per call (provider session limit, transient drops).</summary>
    [Range(0, 100)]
    public int MaxReconnects { get; set; } = 5;

    /// <summary>Server VAD activation threshold (0–1).</summary>
    [Range(0.0, 1.0)]
    public double VadThreshold { get; set; } = 0.5;

    [Range(0, 2000)]
    public int VadPrefixPaddingMs { get; set; } = 300;

    [Range(100, 5000)]
    public int VadSilenceDurationMs { get; set; } = 500;
}
