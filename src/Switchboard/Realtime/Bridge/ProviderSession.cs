using System.Net.WebSockets;
using Switchboard.Realtime.Audio;

namespace Switchboard.Realtime.Bridge;

/// <summary>
/// One WebSocket session to the realtime provider (openai-realtime.md §1) within a call: its socket, its one send loop,
/// its receive loop, and the per-session audio state. A call has one at a time; a dropped session is replaced
/// (<see cref="Number"/> counts them) and the conversation replayed into the new one.
/// </summary>
internal sealed class ProviderSession(ClientWebSocket socket, SocketSender output, int number)
{
    public ClientWebSocket Socket { get; } = socket;

    public SocketSender Out { get; } = output;

    /// <summary>1 for the call's first session, then one more per reconnection.</summary>
    public int Number { get; } = number;

    public Task SendTask { get; set; } = Task.CompletedTask;

    public Task ReceiveTask { get; set; } = Task.CompletedTask;

    /// <summary>Completed by <c>session.updated</c>; faulted when the session closes before it.</summary>
    public TaskCompletionSource Handshake { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary><see cref="System.Diagnostics.Stopwatch"/> timestamp of the first caller audio appended (the origin of <c>audio_end_ms</c>).</summary>
    public long InputStartTimestamp { get; set; }

    /// <summary>The session was configured for 24 kHz PCM16 (<c>audio/pcm</c>) rather than μ-law.</summary>
    public bool AskedPcm { get; set; }

    /// <summary>Transcoding state towards the provider (8 → 24 kHz), when transcoding.</summary>
    public Resampler8kTo24k? Up { get; set; }

    /// <summary>Transcoding state towards the caller (24 → 8 kHz), when transcoding.</summary>
    public Resampler24kTo8k? Down { get; set; }

    public void Abort()
    {
        try
        {
            Socket.Abort();
        }
        catch (ObjectDisposedException)
        {
        }
    }
}
