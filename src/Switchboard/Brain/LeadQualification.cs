using System.Text.Json;
using System.Text.Json.Nodes;
using Switchboard.Calls;

namespace Switchboard.Brain;

/// <summary>
/// BANT lead qualification: <c>budget</c>, <c>authority</c> (the visitor decides), <c>need</c> and <c>timeline</c>, as the
/// model passes them to <c>capture_lead</c>. Each known answer is worth up to 25 points (need and timeline weigh by
/// urgency words), so the score is 0–100; an emergency lead scores at least 75.
/// </summary>
internal static class LeadQualification
{
    public static readonly string[] Fields = ["budget", "authority", "need", "timeline"];

    /// <summary>Stores the answers found in <paramref name="arguments"/> on <paramref name="lead"/> and recomputes its score.</summary>
    public static void Apply(Lead lead, JsonElement arguments)
    {
        if (arguments.ValueKind != JsonValueKind.Object)
        {
            return;
        }
        var answers = (lead.QualificationJson is { } json ? JsonNode.Parse(json) as JsonObject : null) ?? [];
        var changed = false;
        foreach (var field in Fields)
        {
            if (arguments.TryGetProperty(field, out var v) && v.ValueKind is JsonValueKind.String or JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False)
            {
                var text = v.ValueKind == JsonValueKind.String ? v.GetString()!.Trim() : v.GetRawText();
                if (text.Length > 0)
                {
                    answers[field] = text.Length > 200 ? text[..200] : text;
                    changed = true;
                }
            }
        }
        if (changed || lead.Urgency == Urgency.Emergency)
        {
            lead.QualificationJson = answers.Count > 0 ? answers.ToJsonString() : lead.QualificationJson;
            lead.Score = Score(answers, lead.Urgency);
        }
    }

    /// <summary>The 0–100 score of a set of answers.</summary>
    public static int Score(JsonObject answers, string urgency)
    {
        static string? Text(JsonObject o, string k) => o[k]?.GetValue<string>()?.ToLowerInvariant();
        var score = 0;
        if (Text(answers, "budget") is { Length: > 0 } budget && !IsNo(budget))
        {
            score += 25;
        }
        if (Text(answers, "authority") is { Length: > 0 } authority)
        {
            score += IsNo(authority) ? 5 : 25;
        }
        if (Text(answers, "need") is { Length: > 0 })
        {
            score += 25;
        }
        if (Text(answers, "timeline") is { Length: > 0 } timeline)
        {
            score += timeline.Contains("now") || timeline.Contains("today") || timeline.Contains("asap") || timeline.Contains("urgent")
                || timeline.Contains("maintenant") || timeline.Contains("aujourd") || timeline.Contains("vite") ? 25 : 15;
        }
        return urgency == Urgency.Emergency ? Math.Max(score, 75) : score;
    }

    private static bool IsNo(string text) => text is "no" or "non" or "false" or "none" or "aucun" or "unknown" or "inconnu";
}
