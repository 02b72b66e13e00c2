using System.Text;

namespace Switchboard.Realtime.Bridge;

/// <summary>
/// The conversation a call has had so far, kept to replay it into a replacement provider session (a session that
/// reached its time limit or dropped): user and assistant messages, function calls and their outputs, at most
/// <see cref="MaxItems"/> (the oldest go first). Also the assistant's words being generated for the item in progress
/// (<c>response.output_audio_transcript.delta</c>), so an interrupted item keeps what was said, marked with an ellipsis.
/// Not thread-safe: the bridge calls it under its lock. The stored transcript turns are the call's transcript; this is
/// only the replay copy.
/// </summary>
internal sealed class Conversation
{
    /// <summary>Items kept for replay.</summary>
    public const int MaxItems = 200;

    private readonly List<HistoryItem> items = [];
    private readonly StringBuilder assistantText = new();
    private string? assistantTextItem;

    public int Count => items.Count;

    public void Add(HistoryItem item)
    {
        items.Add(item);
        if (items.Count > MaxItems)
        {
            items.RemoveAt(0);
        }
    }

    /// <summary>
    /// The frames that rebuild the conversation in a new provider session (openai-realtime.md
    /// <c>conversation.item.create</c>: messages, <c>function_call</c>, <c>function_call_output</c>), oldest first.
    /// Each frame's buffer is rented: the caller queues or returns it.
    /// </summary>
    public List<OutFrame> ReplayFrames() =>
        items.Select(item => item.Kind switch
        {
            "function_call" => RealtimeProtocol.FunctionCall(item.Name!, item.CallId!, item.Text ?? "{}"),
            "function_call_output" => RealtimeProtocol.FunctionOutput(item.CallId!, item.Text ?? ""),
            _ => RealtimeProtocol.Message(item.Kind, item.Text ?? ""),
        }).ToList();

    /// <summary>
    /// Adds a transcript delta of assistant item <paramref name="item"/>. When it belongs to another item than the
    /// previous deltas, that item was cut short: its words come back in <paramref name="unfinished"/> (true returned).
    /// </summary>
    public bool AppendAssistantText(string item, string delta, out string unfinished, out string? unfinishedItem)
    {
        var cut = false;
        unfinished = "";
        unfinishedItem = null;
        if (assistantTextItem != item)
        {
            cut = TakeUnfinished(out unfinished, out unfinishedItem);
            assistantTextItem = item;
        }
        assistantText.Append(delta);
        return cut;
    }

    /// <summary>The complete transcript of <paramref name="item"/> arrived: its deltas are no longer needed.</summary>
    public void CompleteAssistantText(string? item)
    {
        if (assistantTextItem == item)
        {
            assistantText.Clear();
            assistantTextItem = null;
        }
    }

    /// <summary>
    /// Takes the words generated for an item that did not finish (barge-in, end of response or of call), followed by
    /// " …"; false when there are none.
    /// </summary>
    public bool TakeUnfinished(out string text, out string? item)
    {
        text = "";
        item = assistantTextItem;
        if (assistantText.Length == 0)
        {
            return false;
        }
        var words = assistantText.ToString().Trim();
        assistantText.Clear();
        assistantTextItem = null;
        if (words.Length == 0)
        {
            return false;
        }
        text = words + " …";
        return true;
    }
}
