using Switchboard.Calls;

namespace Switchboard.Realtime.Bridge;

/// <summary>
/// What a <see cref="MediaBridge"/> records about its call, in the database in the product (<see cref="VoiceCallStore"/>);
/// nowhere for the start-up warm-up's synthetic call (<see cref="BridgeWarmup"/>).
/// </summary>
internal interface IVoiceCallRecorder
{
    /// <summary>The stream started (the call is in progress; its recording is queued when enabled).</summary>
    Task MarkStartedAsync(VoiceCallSetup setup, DateTimeOffset startedAt, CancellationToken ct);

    /// <summary>Runs a model's tool call; returns its JSON output (an error object on failure, never throws for the tool's own errors).</summary>
    Task<string> InvokeToolAsync(VoiceCallSetup setup, string name, string arguments, CancellationToken ct);

    /// <summary>The provider could not be reached: the call is marked and staff are alerted.</summary>
    Task MarkProviderUnreachableAsync(VoiceCallSetup setup, CancellationToken ct);

    /// <summary>The call is over: status, ended reason, greeting latency in ms, the lead captured, then the post-call work.</summary>
    Task FinishAsync(VoiceCallSetup setup, string reason, DateTimeOffset? startedAt, double? greetingMs, LeadDraft? captured, CancellationToken ct);
}

/// <summary>Where a bridge's transcript turns go while the call runs (<see cref="TranscriptSink"/> in the product).</summary>
internal interface ITranscriptWriter
{
    /// <summary>Queues a turn; never waits.</summary>
    void Add(TranscriptTurn turn);

    /// <summary>Completes once every turn queued before it is stored.</summary>
    Task FlushAsync();
}

/// <summary>Records nothing: the warm-up's synthetic call leaves no trace in the database.</summary>
internal sealed class DiscardingCallRecorder : IVoiceCallRecorder, ITranscriptWriter
{
    public static readonly DiscardingCallRecorder Instance = new();

    public Task MarkStartedAsync(VoiceCallSetup setup, DateTimeOffset startedAt, CancellationToken ct) => Task.CompletedTask;

    public Task<string> InvokeToolAsync(VoiceCallSetup setup, string name, string arguments, CancellationToken ct) => Task.FromResult("{}");

    public Task MarkProviderUnreachableAsync(VoiceCallSetup setup, CancellationToken ct) => Task.CompletedTask;

    public Task FinishAsync(VoiceCallSetup setup, string reason, DateTimeOffset? startedAt, double? greetingMs, LeadDraft? captured, CancellationToken ct) =>
        Task.CompletedTask;

    public void Add(TranscriptTurn turn)
    {
    }

    public Task FlushAsync() => Task.CompletedTask;
}
