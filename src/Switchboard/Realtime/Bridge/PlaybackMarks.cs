using System.Diagnostics;
using System.Text;

namespace Switchboard.Realtime.Bridge;

/// <summary>
/// The assistant's audio as it plays on the caller's leg, and how much of it the caller has heard: the part of a
/// <see cref="MediaBridge"/> that answers "where would a barge-in cut the item?".
/// <list type="bullet">
/// <item>Every <c>markEveryBytes</c> of audio sent (and at the end of an item) a Twilio <c>mark</c> named by a
/// sequence number follows the audio; Twilio echoes it once everything before it has played
/// (twilio-media-streams.md §5, "mark").</item>
/// <item>Heard = the audio position of the last echoed mark of the current item, plus real time since that echo at the
/// leg's bytes per millisecond; clamped to what was sent. The truncation is sent in milliseconds
/// (openai-realtime.md, <c>conversation.item.truncate</c> <c>audio_end_ms</c>).</item>
/// <item>At most <see cref="Ring"/> marks are outstanding; beyond that, audio goes unmarked until echoes come back.</item>
/// </list>
/// Not thread-safe: the bridge calls it under its lock. Timestamps are <see cref="Stopwatch"/> ticks. Allocation-free
/// except <see cref="TryInterrupt"/> (the item id as a string, once per barge-in).
/// </summary>
internal sealed class PlaybackMarks(int markEveryBytes)
{
    /// <summary>Marks outstanding at most.</summary>
    public const int Ring = 64;

    private readonly byte[] itemId = new byte[128];
    private int itemIdLength;
    private readonly byte[] droppedItemId = new byte[128];
    private int droppedItemIdLength;
    private int generation;
    private long itemBytes;
    private long bytesSinceMark;
    private readonly long[] markSeq = new long[Ring];
    private readonly long[] markBytes = new long[Ring];
    private readonly int[] markGeneration = new int[Ring];
    private int head;
    private int count;
    private long counter;
    private long anchorBytes;
    private long anchorTimestamp;
    private long progressTimestamp; // the last echo, or when the first outstanding mark was queued

    /// <summary>Marks sent and not yet echoed: while any is, audio may still be playing.</summary>
    public int Outstanding => count;

    /// <summary>An item is playing (its audio has been sent, and it was not interrupted).</summary>
    public bool Playing => itemIdLength > 0;

    /// <summary>Audio bytes of the current item sent so far.</summary>
    public long ItemBytes => itemBytes;

    /// <summary>True for the rest of an item the caller interrupted: its late deltas are dropped.</summary>
    public bool IsDropped(ReadOnlySpan<byte> item) =>
        droppedItemIdLength > 0 && item.SequenceEqual(droppedItemId.AsSpan(0, droppedItemIdLength));

    /// <summary>True when <paramref name="item"/> is the item playing now.</summary>
    public bool IsCurrent(ReadOnlySpan<byte> item) => itemIdLength > 0 && item.SequenceEqual(itemId.AsSpan(0, itemIdLength));

    /// <summary>
    /// A new item starts (its first delta, received at <paramref name="received"/>). Call <see cref="TryNextMark"/> first
    /// so the previous item's unmarked tail gets its mark.
    /// </summary>
    public void BeginItem(ReadOnlySpan<byte> item, long received)
    {
        var length = Math.Min(item.Length, itemId.Length);
        item[..length].CopyTo(itemId);
        itemIdLength = length;
        generation++;
        itemBytes = 0;
        bytesSinceMark = 0;
        anchorBytes = 0;
        anchorTimestamp = received;
    }

    /// <summary>Counts audio sent for the current item; true when a mark is due.</summary>
    public bool AddAudio(long audioBytes)
    {
        itemBytes += audioBytes;
        bytesSinceMark += audioBytes;
        return bytesSinceMark >= markEveryBytes;
    }

    /// <summary>Audio has been sent since the last mark.</summary>
    public bool HasUnmarkedAudio => bytesSinceMark > 0;

    /// <summary>
    /// Records a mark after the audio sent so far; false (nothing to send) when there is no unmarked audio, no item,
    /// or <see cref="Ring"/> marks are outstanding. <paramref name="now"/> starts the echo timeout of a first mark.
    /// </summary>
    public bool TryNextMark(long now, out long seq)
    {
        seq = 0;
        if (bytesSinceMark == 0 || count == Ring || itemIdLength == 0)
        {
            return false;
        }
        seq = ++counter;
        markSeq[head] = seq;
        markBytes[head] = itemBytes;
        markGeneration[head] = generation;
        head = (head + 1) % Ring;
        if (count++ == 0)
        {
            progressTimestamp = now;
        }
        bytesSinceMark = 0;
        return true;
    }

    /// <summary>Twilio echoed mark <paramref name="seq"/> at <paramref name="now"/>: it and every earlier mark have played.</summary>
    public void OnEchoed(long seq, long now)
    {
        while (count > 0)
        {
            var i = (head - count + Ring) % Ring;
            if (markSeq[i] > seq)
            {
                break;
            }
            // An earlier item's mark means that item finished: the current one starts playing now.
            anchorBytes = markGeneration[i] == generation ? markBytes[i] : 0;
            anchorTimestamp = now;
            progressTimestamp = now;
            count--;
        }
    }

    /// <summary>Forgets outstanding marks when none has been echoed for <paramref name="timeout"/>; true when it did.</summary>
    public bool DropIfStalled(long now, TimeSpan timeout)
    {
        if (count > 0 && Stopwatch.GetElapsedTime(progressTimestamp, now) >= timeout)
        {
            count = 0;
            return true;
        }
        return false;
    }

    /// <summary>What the caller has heard of the current item at <paramref name="now"/>, in audio bytes.</summary>
    public long Heard(long now, int bytesPerMs)
    {
        var playingCurrent = (count > 0 && markGeneration[(head - count + Ring) % Ring] == generation) || anchorBytes > 0;
        var heard = playingCurrent ? anchorBytes + ((now - anchorTimestamp) * 1000 * bytesPerMs / Stopwatch.Frequency) : 0;
        return Math.Clamp(heard, 0, itemBytes);
    }

    /// <summary>
    /// Barge-in: when audio is playing, stops the current item (its later deltas are dropped, its marks forgotten) and
    /// gives its id and how much of it was heard, in milliseconds; false when nothing is playing.
    /// </summary>
    public bool TryInterrupt(long now, int bytesPerMs, out string item, out long heardMs)
    {
        item = "";
        heardMs = 0;
        if (count == 0 || itemIdLength == 0)
        {
            return false;
        }
        heardMs = Heard(now, bytesPerMs) / bytesPerMs;
        item = Encoding.UTF8.GetString(itemId, 0, itemIdLength);
        itemId.AsSpan(0, itemIdLength).CopyTo(droppedItemId);
        droppedItemIdLength = itemIdLength;
        itemIdLength = 0;
        count = 0;
        return true;
    }
}
