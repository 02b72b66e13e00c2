using System.Text.Json;

namespace Switchboard.Vapi;

/// <summary>
/// The one rule for numbers and times in Vapi server messages (shared/protocols/vapi-server-messages.md): a value is used
/// only when it is a finite number (a JSON number or a numeric string) inside its field's range below. Anything else —
/// <c>NaN</c>, <c>Infinity</c>, <c>1e400</c> (which overflows a double), a negative duration, a cost beyond what the
/// <c>numeric(12,4)</c> column holds, a time outside [1970, 2200) — is not clamped but treated as absent: the field keeps
/// its previous value (usually null), and its JSON path is recorded in the event's <c>UnusableFields</c>. The raw message
/// is stored and acknowledged either way.
/// </summary>
internal static class VapiFieldRules
{
    /// <summary>Costs in USD: [0, 1,000,000].</summary>
    public const double MaxCost = 1_000_000;

    /// <summary>Durations and offsets in seconds: [0, 30 days].</summary>
    public const double MaxSeconds = 30 * 24 * 3600;

    /// <summary>Earliest usable time (epoch).</summary>
    public static readonly DateTimeOffset EarliestTime = DateTimeOffset.UnixEpoch;

    /// <summary>Latest usable time (exclusive bound 2200-01-01 UTC).</summary>
    public static readonly DateTimeOffset LatestTime = new(2200, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>The message's cost (<c>cost</c>, else <c>costBreakdown.total</c>) in USD, when usable.</summary>
    public static double? Cost(JsonElement m) => m.Prop("cost").Num(0, MaxCost) ?? m.Path("costBreakdown", "total").Num(0, MaxCost);

    /// <summary>The call length in seconds: <c>durationSeconds</c>, else <c>durationMs</c> / 1000, when usable.</summary>
    public static double? DurationSeconds(JsonElement m) =>
        m.Prop("durationSeconds").Num(0, MaxSeconds) ?? (m.Prop("durationMs").Num(0, MaxSeconds * 1000) / 1000.0);

    /// <summary>A transcript message's <c>secondsFromStart</c>, when usable.</summary>
    public static double? SecondsFromStart(JsonElement msg) => msg.Prop("secondsFromStart").Num(0, MaxSeconds);

    /// <summary>
    /// JSON paths (relative to the body, <c>$.message…</c>) of the numbers and times this message carries but that the
    /// rule above refuses. Strings are checked separately (<see cref="Platform.Http.TolerantJson"/>).
    /// </summary>
    public static List<string> UnusableFields(JsonElement m)
    {
        var found = new List<string>();
        void Number(JsonElement? e, string path, double max)
        {
            if (e.IsUnusableNumber(0, max))
            {
                found.Add(path);
            }
        }
        void Time(JsonElement? e, string path)
        {
            if (e.IsUnusableTime())
            {
                found.Add(path);
            }
        }

        Number(m.Prop("cost"), "$.message.cost", MaxCost);
        if (m.Prop("costBreakdown") is { ValueKind: JsonValueKind.Object } breakdown)
        {
            foreach (var p in breakdown.EnumerateObject())
            {
                if (p.Value.ValueKind is JsonValueKind.Number or JsonValueKind.String)
                {
                    Number(p.Value, $"$.message.costBreakdown.{Short(p.Name)}", MaxCost);
                }
            }
        }
        if (m.Prop("costs") is { ValueKind: JsonValueKind.Array } costs)
        {
            var i = 0;
            foreach (var c in costs.EnumerateArray())
            {
                Number(c.Prop("cost"), $"$.message.costs[{i++}].cost", MaxCost);
            }
        }
        Number(m.Prop("durationSeconds"), "$.message.durationSeconds", MaxSeconds);
        Number(m.Prop("durationMs"), "$.message.durationMs", MaxSeconds * 1000);
        Number(m.Prop("durationMinutes"), "$.message.durationMinutes", MaxSeconds / 60);
        Time(m.Prop("timestamp"), "$.message.timestamp");
        Time(m.Prop("startedAt"), "$.message.startedAt");
        Time(m.Prop("endedAt"), "$.message.endedAt");
        foreach (var name in (string[])["createdAt", "updatedAt", "startedAt", "endedAt"])
        {
            Time(m.Path("call", name), $"$.message.call.{name}");
        }
        Messages(m.Prop("messages"), "$.message.messages");
        Messages(m.Path("artifact", "messages"), "$.message.artifact.messages");
        return found;

        void Messages(JsonElement? list, string path)
        {
            if (list is not { ValueKind: JsonValueKind.Array } array)
            {
                return;
            }
            var i = 0;
            foreach (var msg in array.EnumerateArray())
            {
                if (found.Count >= Platform.Http.TolerantJson.MaxReportedPaths)
                {
                    return;
                }
                Number(msg.Prop("secondsFromStart"), $"{path}[{i}].secondsFromStart", MaxSeconds);
                Number(msg.Prop("duration"), $"{path}[{i}].duration", MaxSeconds * 1000);
                Time(msg.Prop("time"), $"{path}[{i}].time");
                Time(msg.Prop("endTime"), $"{path}[{i}].endTime");
                i++;
            }
        }
    }

    private static string Short(string name) => Platform.Http.TolerantJson.Cap(name, 100)!;
}
