using System.ComponentModel.DataAnnotations;

namespace Switchboard.Twilio;

/// <summary>Configuration section <c>Switchboard:Voice</c>: native calls over Twilio Media Streams.</summary>
internal sealed class VoiceOptions
{
    public const string Section = "Switchboard:Voice";

    /// <summary>How long the media-stream token in the TwiML stays valid, in seconds (consent notice + connect time).</summary>
    [Range(10, 3600)]
    public int StreamTokenSeconds { get; set; } = 120;

    /// <summary>
    /// When true, the WebSocket upgrade must carry a valid <c>X-Twilio-Signature</c> over the <c>wss://</c> URL. Twilio's
    /// documentation is ambiguous about signing Media Streams upgrades (twilio-media-streams.md §8), so by default a
    /// signature is checked when present and the signed, short-lived token in the path is what authenticates the stream.
    /// </summary>
    public bool RequireStreamSignature { get; set; }

    /// <summary>Longest message a caller can leave (<c>&lt;Record maxLength&gt;</c>), in seconds.</summary>
    [Range(10, 600)]
    public int MessageMaxSeconds { get; set; } = 120;

    /// <summary>Silence (neither side speaking) before the assistant checks on the caller, in seconds.</summary>
    [Range(2, 120)]
    public int IdleRepromptSeconds { get; set; } = 8;

    /// <summary>Re-prompts before the assistant says goodbye and hangs up.</summary>
    [Range(0, 10)]
    public int IdleMaxReprompts { get; set; } = 2;

    /// <summary>A tool slower than this (ms) gets a spoken filler ("one moment…").</summary>
    [Range(1, 10000)]
    public int ToolFillerMs { get; set; } = 1000;

    /// <summary>After the assistant decides to hang up, the longest wait for its goodbye to play, in seconds.</summary>
    [Range(1, 60)]
    public int HangupGraceSeconds { get; set; } = 15;

    /// <summary>Largest text frame accepted from Twilio or the provider, in bytes; a bigger one ends that call.</summary>
    [Range(4096, 16 * 1024 * 1024)]
    public int MaxFrameBytes { get; set; } = 1024 * 1024;

    /// <summary>Malformed frames tolerated on one Twilio socket before the call is closed (code 1007).</summary>
    [Range(0, 1000)]
    public int MaxBadFrames { get; set; } = 20;

    /// <summary>
    /// Seconds without a complete frame from Twilio before the call is ended and its provider session closed
    /// (<c>endedReason</c> <c>stream-timeout</c>). Twilio sends a media frame every 20 ms for the whole call
    /// (twilio-media-streams.md), so a longer silence is a dead or stalled socket (e.g. half a frame, then nothing).
    /// Real (monotonic) time, not the injected clock.
    /// </summary>
    [Range(1, 3600)]
    public int ReceiveIdleSeconds { get; set; } = 20;

    /// <summary>
    /// Seconds with marks outstanding and none echoed before they are dropped: Twilio echoes each mark once the audio
    /// before it has played (every <see cref="MarkEveryMs"/> of audio), so longer means they will never come back, and
    /// they must not keep the call from counting as quiet (idle reprompts, hang-up). Real time.
    /// </summary>
    [Range(1, 600)]
    public int MarkEchoTimeoutSeconds { get; set; } = 10;

    /// <summary>Frames queued towards one socket before the call is considered stuck and closed.</summary>
    [Range(64, 100000)]
    public int SendQueueFrames { get; set; } = 4096;

    /// <summary>
    /// Twilio frames (20 ms each) sent to the provider in one <c>input_audio_buffer.append</c>. 5 (100 ms) sends a fifth of
    /// the messages (10 a second per call instead of 50: a send, a frame header and a provider-side parse each) for at most
    /// 80 ms more on the caller's side of the turn; the provider's server VAD then waits its 500 ms of silence anyway, and
    /// barge-in is detected at most 80 ms later (issue 16). 1 forwards every frame as it comes.
    /// </summary>
    [Range(1, 10)]
    public int InputBatchFrames { get; set; } = 5;

    /// <summary>Assistant audio between two Twilio marks, in ms; barge-in interpolates between marks in real time.</summary>
    [Range(20, 2000)]
    public int MarkEveryMs { get; set; } = 200;

    /// <summary>At shutdown, how long calls in progress may go on before they are ended, in seconds (within the host's shutdown timeout).</summary>
    [Range(0, 3600)]
    public int DrainSeconds { get; set; } = 25;

    /// <summary>
    /// Whether <see cref="NativeCallCloser"/> runs once a minute, ending native calls whose stream's end and final status callback
    /// never came (tests turn it off and drive the closer directly).
    /// </summary>
    public bool StaleCallCloserEnabled { get; set; } = true;

    /// <summary>
    /// Minutes without a write to a native call, beyond the tenant's longest call (<c>VoiceMaxCallSeconds</c>), before
    /// <see cref="NativeCallCloser"/> ends it.
    /// </summary>
    [Range(5, 1440)]
    public int StaleCallMinutes { get; set; } = 15;

    /// <summary>Lets <c>GET /metrics/voice?collect=true</c> force a full garbage collection first (benchmarks measuring live memory).</summary>
    public bool MetricsMayCollect { get; set; }

    /// <summary>Caller audio kept (ms) while the provider session is being re-established.</summary>
    [Range(0, 60000)]
    public int ReconnectBufferMs { get; set; } = 10000;

    /// <summary>
    /// At start-up, before <c>/readyz</c> says ready, run two synthetic calls through the media bridge against an
    /// in-process provider on 127.0.0.1 (μ-law pass-through, then transcoding) so the first real call does not pay for
    /// just-in-time compilation (Switchboard.Realtime.Bridge.BridgeWarmup). Once per process.
    /// </summary>
    public bool WarmUpOnStart { get; set; } = true;
}
