using System.Globalization;
using System.Text;
using Switchboard.Tenancy;

namespace Switchboard.Calls;

/// <summary>Lead urgency levels, most urgent first.</summary>
internal static class Urgency
{
    public const string Emergency = "emergency";
    public const string Soon = "soon";
    public const string Routine = "routine";

    public static int Rank(string? u) => u switch { Emergency => 2, Soon => 1, _ => 0 };

    public static string Max(string a, string b) => Rank(a) >= Rank(b) ? a : b;

    /// <summary>Maps a provider's or model's wording (<c>high</c>, <c>urgent</c>, <c>true</c>…) to a level; null when unknown.</summary>
    public static string? Normalize(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        "emergency" or "urgent" or "urgence" or "critical" or "high" or "true" or "yes" or "oui" => Emergency,
        "soon" or "medium" or "today" or "bientot" or "bientôt" or "moyenne" => Soon,
        "routine" or "low" or "normal" or "false" or "no" or "non" or "faible" => Routine,
        _ => null,
    };
}

/// <summary>Reads a caller's words against the tenant's <see cref="UrgencyRules"/>.</summary>
internal static class UrgencyClassifier
{
    /// <summary>
    /// Words that cancel a cue within the three words before it: negations ("pas d'inondation", Québec "pu" for "plus"), and
    /// prevention or risk ("at risk of flooding", "pour éviter un refoulement"): a question about a backwater valve is not a flood.
    /// </summary>
    private static readonly HashSet<string> Negations =
        ["no", "not", "isnt", "wasnt", "dont", "doesnt", "never", "without", "pas", "aucun", "aucune", "sans", "jamais", "ni", "plus", "pu",
         "risk", "risque", "risques", "prevent", "preventing", "prevenir", "eviter", "avoid", "avoiding"];

    /// <summary>
    /// Cues that only name urgency itself ("emergency", "urgence", "urgent"). They say nothing of the caller's own situation when
    /// the caller asks what an emergency visit costs: "How much do you charge for an emergency visit on a weekend?" texted the
    /// on-call plumber on a Saturday evening (an outside probe). Such a cue does not count after a price word (within the six
    /// words before it) or when a fee word follows it ("emergency rates", "frais d'urgence"); a cue about the situation itself
    /// (a flood, a burst pipe) still counts in a price question.
    /// </summary>
    private static readonly HashSet<string> UrgencyWords =
        ["emergency", "emergencies", "urgence", "urgences", "urgent", "urgente", "urgentes", "urgents", "urgently", "urgemment"];

    /// <summary>Words of a question about price: English and French (Québec "soumission" for a quote).</summary>
    private static readonly HashSet<string> PriceWords =
        ["much", "price", "prices", "pricing", "cost", "costs", "charge", "charges", "fee", "fees", "rate", "rates", "quote", "estimate", "extra",
         "combien", "prix", "cout", "couts", "coute", "coutent", "couterait", "tarif", "tarifs", "frais", "soumission", "estimation", "cher", "chers"];

    private static bool AskedAsAPrice(List<string> text, int start, int length)
    {
        for (var k = Math.Max(0, start - 6); k < start; k++)
        {
            if (PriceWords.Contains(text[k]))
            {
                return true;
            }
        }
        return start + length < text.Count && PriceWords.Contains(text[start + length]);
    }

    /// <summary>Phrases that say the need can wait: they keep a "soon" cue from counting (an emergency cue still counts).</summary>
    private static readonly List<string>[] NoRush =
        [.. new[] { "no rush", "not urgent", "no hurry", "whenever", "next year", "pas presse", "pas pressee", "pas urgent", "rien d'urgent", "l'an prochain", "quand vous pourrez" }
            .Select(Tokenize)];

    /// <summary>Returns the highest urgency whose cue occurs un-negated in <paramref name="text"/>, and the cue.</summary>
    public static (string Urgency, string? Cue) Classify(string? text, UrgencyRules rules)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return (Urgency.Routine, null);
        }
        var tokens = Tokenize(text);
        var emergencyTokens = MaskLongerCues(tokens, rules);
        var cues = CompiledCues.GetValue(rules, Compile);
        foreach (var cue in cues.Emergency)
        {
            if (Occurs(emergencyTokens, cue))
            {
                return (Urgency.Emergency, cue.Text);
            }
        }
        foreach (var phrase in NoRush)
        {
            if (OccursAtAll(tokens, phrase))
            {
                return (Urgency.Routine, null);
            }
        }
        foreach (var cue in cues.Soon)
        {
            if (Occurs(tokens, cue))
            {
                return (Urgency.Soon, cue.Text);
            }
        }
        return (Urgency.Routine, null);
    }

    /// <summary>
    /// One cue as written (<see cref="Text"/>) and tokenized: a plain cue's words are <c>Parts[0]</c>; a cue with
    /// <see cref="Gap"/>s (<see cref="HasGap"/>) has one part per run of words between them, empty runs left out.
    /// </summary>
    private sealed record Cue(string Text, bool HasGap, List<List<string>> Parts);

    /// <summary>A rules object's cues in their order, tokenized.</summary>
    private sealed record Cues(Cue[] Emergency, Cue[] Soon);

    /// <summary>
    /// Cues tokenized once per rules object (a tenant's cached configuration), as <see cref="CoveringCues"/> are: tokenizing
    /// every cue on every classification allocated about 5 % of all a Vapi message's memory in the ingestion bench (issue 13).
    /// </summary>
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<UrgencyRules, Cues> CompiledCues = new();

    private static Cues Compile(UrgencyRules rules)
    {
        static Cue[] Of(List<string> cues) => [.. cues.Select(cue => cue.Contains(Gap, StringComparison.Ordinal)
            ? new Cue(cue, true, [.. cue.Split(Gap).Select(Tokenize).Where(p => p.Count > 0)])
            : new Cue(cue, false, [Tokenize(cue)]))];
        return new Cues(Of(rules.Emergency), Of(rules.Soon));
    }

    /// <summary>Stands in for the words of a cue that a longer, less urgent cue covers (<see cref="MaskLongerCues"/>).</summary>
    private const string Masked = "\u0000";

    /// <summary>
    /// The longest cue wins: where a "soon" cue occurs that contains an emergency cue ("pas d'eau chaude" contains "pas d'eau"),
    /// its words are masked before the emergency cues are read, so "je n'ai pas d'eau chaude" is the water heater ("soon"), not a
    /// house without water (an outside probe: a Drain Fortin caller without hot water texted the on-call plumber, at any hour).
    /// Returns <paramref name="tokens"/> itself when nothing is masked.
    /// </summary>
    private static List<string> MaskLongerCues(List<string> tokens, UrgencyRules rules)
    {
        List<string>? masked = null;
        foreach (var longer in CoveringCues.GetValue(rules, CoveringCuesOf))
        {
            foreach (var at in Matches(tokens, longer, 0, tokens.Count).ToList())
            {
                masked ??= [.. tokens];
                for (var j = at; j < at + longer.Count; j++)
                {
                    masked[j] = Masked;
                }
            }
        }
        return masked ?? tokens;
    }

    /// <summary>
    /// The "soon" cues of a set of rules that contain one of its emergency cues, tokenized: worked out once per rules object (a
    /// tenant's cached configuration), not per classification, which tokenized every pair of cues each time (0.9 ms of server
    /// CPU more per capture_lead tool call in bench ingest's per-kind figures).
    /// </summary>
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<UrgencyRules, List<List<string>>> CoveringCues = new();

    private static List<List<string>> CoveringCuesOf(UrgencyRules rules)
    {
        var emergency = rules.Emergency.Where(e => !e.Contains(Gap, StringComparison.Ordinal)).Select(Tokenize).ToList();
        return rules.Soon.Where(soon => !soon.Contains(Gap, StringComparison.Ordinal)).Select(Tokenize)
            .Where(longer => longer.Count >= 2 && emergency.Any(e => Within(e, longer))).ToList();
    }

    /// <summary>True when <paramref name="shorter"/> occurs in <paramref name="longer"/> as a strictly shorter run of words.</summary>
    private static bool Within(List<string> shorter, List<string> longer) =>
        shorter.Count > 0 && shorter.Count < longer.Count && Matches(longer, shorter, 0, longer.Count).Any();

    private static bool OccursAtAll(List<string> text, List<string> phrase)
    {
        for (var i = 0; i + phrase.Count <= text.Count; i++)
        {
            var match = true;
            for (var j = 0; j < phrase.Count && match; j++)
            {
                match = SameWord(text[i + j], phrase[j]);
            }
            if (match)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// The most words a <see cref="Gap"/> in a cue stands for: "smell ... gas" matches "smell of gas", "smells strongly of gas",
    /// "knocked ... tooth" matches "knocked out her front tooth".
    /// </summary>
    private const int MaxGapWords = 3;

    /// <summary>Written between words of a cue, up to <see cref="MaxGapWords"/> words of the text may stand there.</summary>
    internal const string Gap = "...";

    /// <summary>True when <paramref name="cue"/> occurs in the text, un-negated (a cue with <see cref="Gap"/>s: its parts in order, each within <see cref="MaxGapWords"/> words of the one before).</summary>
    private static bool Occurs(List<string> text, Cue cue)
    {
        if (!cue.HasGap)
        {
            return Occurs(text, cue.Parts[0]);
        }
        var parts = cue.Parts;
        if (parts.Count == 0)
        {
            return false;
        }
        foreach (var start in Matches(text, parts[0], 0, text.Count))
        {
            if (Negated(text, start) || !Follows(text, parts, 1, start + parts[0].Count))
            {
                continue;
            }
            return true;
        }
        return false;
    }

    /// <summary>True when parts[<paramref name="index"/>..] follow in order from <paramref name="from"/>, each within <see cref="MaxGapWords"/> words.</summary>
    private static bool Follows(List<string> text, List<List<string>> parts, int index, int from)
    {
        if (index == parts.Count)
        {
            return true;
        }
        foreach (var at in Matches(text, parts[index], from, Math.Min(text.Count, from + MaxGapWords + parts[index].Count)))
        {
            if (Follows(text, parts, index + 1, at + parts[index].Count))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>The positions in [from, end) where <paramref name="phrase"/> starts and ends before <paramref name="end"/>.</summary>
    private static IEnumerable<int> Matches(List<string> text, List<string> phrase, int from, int end)
    {
        for (var i = from; i + phrase.Count <= end; i++)
        {
            var match = true;
            for (var j = 0; j < phrase.Count && match; j++)
            {
                match = SameWord(text[i + j], phrase[j]);
            }
            if (match)
            {
                yield return i;
            }
        }
    }

    /// <summary>A negation within the three words before position <paramref name="i"/>.</summary>
    private static bool Negated(List<string> text, int i)
    {
        for (var k = Math.Max(0, i - 3); k < i; k++)
        {
            if (Negations.Contains(text[k]))
            {
                return true;
            }
        }
        return false;
    }

    private static bool Occurs(List<string> text, List<string> cue)
    {
        if (cue.Count == 0)
        {
            return false;
        }
        for (var i = 0; i + cue.Count <= text.Count; i++)
        {
            var match = true;
            for (var j = 0; j < cue.Count && match; j++)
            {
                match = SameWord(text[i + j], cue[j]);
            }
            if (!match)
            {
                continue;
            }
            // A negation within the three words before the cue cancels it, unless the cue itself is a
            // negative phrase ("pas d'eau", "no water"), whose first word is then part of the cue.
            var negated = false;
            for (var k = Math.Max(0, i - 3); k < i; k++)
            {
                negated |= Negations.Contains(text[k]);
            }
            if (!negated && !(cue.Count == 1 && UrgencyWords.Contains(cue[0]) && AskedAsAPrice(text, i, cue.Count)))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Equal, or the text word is the cue word with a French gender/number or English plural ending (bouché → bouchée, pipe → pipes).</summary>
    private static bool SameWord(string word, string cue) =>
        word == cue || (word.Length - cue.Length is 1 or 2 && word.StartsWith(cue, StringComparison.Ordinal) && word[cue.Length..] is "e" or "s" or "es");

    /// <summary>Lower-case, accent-free words; apostrophes (' ’) split words, so "d'égout" is ["d","egout"].</summary>
    internal static List<string> Tokenize(string text)
    {
        var normalized = text.Normalize(NormalizationForm.FormD);
        var words = new List<string>();
        var current = new StringBuilder();
        foreach (var ch in normalized)
        {
            var category = CharUnicodeInfo.GetUnicodeCategory(ch);
            if (category == UnicodeCategory.NonSpacingMark)
            {
                continue;
            }
            if (char.IsLetterOrDigit(ch))
            {
                current.Append(char.ToLowerInvariant(ch));
            }
            else if ((ch == '\'' || ch == '’') && current.Length > 0 && current.ToString() is "isn" or "wasn" or "don" or "doesn")
            {
                // English contractions keep their negation as one word: "isn't" -> "isnt".
                continue;
            }
            else if (current.Length > 0)
            {
                words.Add(current.ToString());
                current.Clear();
            }
        }
        if (current.Length > 0)
        {
            words.Add(current.ToString());
        }
        return words;
    }
}
