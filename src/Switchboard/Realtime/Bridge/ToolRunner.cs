using System.Text.Json;
using Switchboard.Calls;

namespace Switchboard.Realtime.Bridge;

/// <summary>
/// Runs one call's tool calls (<c>response.function_call_arguments.done</c>, openai-realtime.md) one at a time, off the
/// provider's receive loop, and says when one is slow enough to deserve a spoken filler
/// (<see cref="Twilio.VoiceOptions.ToolFillerMs"/>). The tool itself is <paramref name="invoke"/>
/// (<see cref="VoiceCallStore.InvokeToolAsync"/> in the product: name, JSON arguments → JSON output).
/// </summary>
internal sealed class ToolRunner(Func<string, string, CancellationToken, Task<string>> invoke, int fillerMs) : IDisposable
{
    private readonly SemaphoreSlim serial = new(1, 1);

    /// <summary>
    /// Runs tool <paramref name="name"/> after any earlier one of the call; <paramref name="onSlow"/> is called once when
    /// the output is not there after the filler delay. Throws <see cref="OperationCanceledException"/> when the call ends.
    /// </summary>
    public async Task<string> RunAsync(string name, string arguments, Action onSlow, CancellationToken ct)
    {
        // On its own thread: a blocked database must not delay the filler.
        var work = Task.Run(() => InvokeSerialAsync(name, arguments, ct), CancellationToken.None);
        var filler = Task.Delay(fillerMs, ct);
        if (await Task.WhenAny(work, filler) != work)
        {
            onSlow();
        }
        return await work;
    }

    private async Task<string> InvokeSerialAsync(string name, string arguments, CancellationToken ct)
    {
        await serial.WaitAsync(ct);
        try
        {
            return await invoke(name, arguments, ct);
        }
        finally
        {
            serial.Release();
        }
    }

    /// <summary>
    /// What a <c>capture_lead</c> call adds to what the call captured before: fields given now win, earlier ones are kept,
    /// the higher urgency stays; the problem described is read against the tenant's <paramref name="rules"/> (a plumber's
    /// "flooded basement" is an emergency even when the model did not say so). Malformed arguments change nothing.
    /// </summary>
    public static LeadDraft? MergeCapturedLead(LeadDraft? captured, string arguments, Tenancy.UrgencyRules rules)
    {
        try
        {
            using var doc = JsonDocument.Parse(arguments);
            var draft = LeadExtractor.FromFields(doc.RootElement, "tool", rules);
            return draft is null ? captured : new LeadDraft(draft.Name ?? captured?.Name, draft.Phone ?? captured?.Phone,
                draft.Address ?? captured?.Address, draft.Problem ?? captured?.Problem, Urgency.Max(draft.Urgency, captured?.Urgency ?? Urgency.Routine), "tool");
        }
        catch (JsonException)
        {
            return captured;
        }
    }

    public void Dispose() => serial.Dispose();
}
