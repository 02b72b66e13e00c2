using System.Diagnostics;
using System.Text;

namespace Switchboard.Realtime.Bridge;

/// <summary>
/// Per-turn latency of one call, stored on the assistant's transcript turns: provider latency = the caller's end of
/// speech (<c>input_audio_buffer.speech_stopped</c> <c>audio_end_ms</c>, openai-realtime.md) → the first audio delta of
/// the answer; bridge latency = that delta's arrival → its first frame handed to the caller's socket. The greeting
/// latency is the stream's <c>start</c> → the greeting's first frame sent. Timestamps are <see cref="Stopwatch"/> ticks;
/// figures are milliseconds. Not thread-safe: the bridge calls it under its lock.
/// </summary>
internal sealed class TurnLatency
{
    private bool awaitingFirstAudio;
    private long endOfSpeechTimestamp;
    private long firstAudioTimestamp;
    private double? providerMs;
    private double? bridgeMs;
    private bool bridgePending;
    private string? itemId;

    /// <summary>Stream start → first greeting frame sent, in ms, once measured.</summary>
    public double? GreetingMs { get; private set; }

    /// <summary>The caller stopped speaking at <paramref name="at"/>: the next item's first audio answers them.</summary>
    public void SpeechStopped(long at)
    {
        endOfSpeechTimestamp = at;
        awaitingFirstAudio = true;
    }

    /// <summary>
    /// The first delta of a new item arrived at <paramref name="received"/>; returns the provider latency in ticks when
    /// the item answers the caller (null for an unprompted item such as the greeting or a re-prompt).
    /// </summary>
    public long? FirstAudio(ReadOnlySpan<byte> item, long received)
    {
        long? ticks = null;
        if (awaitingFirstAudio)
        {
            awaitingFirstAudio = false;
            providerMs = Stopwatch.GetElapsedTime(endOfSpeechTimestamp, received).TotalMilliseconds;
            ticks = received - endOfSpeechTimestamp;
        }
        else
        {
            providerMs = null;
        }
        itemId = Encoding.UTF8.GetString(item);
        bridgeMs = null;
        bridgePending = true;
        firstAudioTimestamp = received;
        return ticks;
    }

    /// <summary>The first frame of an item was handed to the caller's socket at <paramref name="sent"/>.</summary>
    public void FirstFrameSent(long providerTimestamp, long sent)
    {
        if (bridgePending && providerTimestamp == firstAudioTimestamp)
        {
            bridgeMs = Stopwatch.GetElapsedTime(firstAudioTimestamp, sent).TotalMilliseconds;
            bridgePending = false;
        }
    }

    /// <summary>Records the greeting latency once (stream start at <paramref name="start"/>); the ticks when it did.</summary>
    public bool TryRecordGreeting(long start, long sent, out long ticks)
    {
        ticks = 0;
        if (GreetingMs is not null)
        {
            return false;
        }
        ticks = sent - start;
        GreetingMs = Stopwatch.GetElapsedTime(start, sent).TotalMilliseconds;
        return true;
    }

    /// <summary>The latencies of <paramref name="item"/> when it is the turn being measured (once), else nulls.</summary>
    public (double? ProviderMs, double? BridgeMs) Take(string? item)
    {
        if (item is null || item != itemId)
        {
            return (null, null);
        }
        itemId = null;
        return (providerMs, bridgeMs);
    }
}
