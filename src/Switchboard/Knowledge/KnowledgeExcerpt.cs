using System.Text;
using System.Text.RegularExpressions;

namespace Switchboard.Knowledge;

/// <summary>
/// The part of a knowledge passage worth quoting for a question, when the whole passage is too long to quote: the offline
/// receptionist quotes at most a few hundred characters (brain-and-knowledge-base.md §3, point 4), and the first ones are
/// often about something else (an FAQ chunk holds several answers).
/// </summary>
internal static partial class KnowledgeExcerpt
{
    /// <summary>Least room (characters) worth filling with the start of the next sentence, cut at a word and ended by "…".</summary>
    private const int MinTail = 30;

    /// <summary>
    /// The excerpt of <paramref name="passage"/> that answers <paramref name="query"/>, at most <paramref name="maxLength"/>
    /// characters ("…" included), with the passage's line breaks and runs of spaces shown as one space. The passage is split
    /// into lines, and lines into sentences (after <c>. ! ? … ؟ ۔</c> and a space); the sentence holding the most distinct
    /// query terms (folded and stemmed by <see cref="TextFolding"/>, the terms the search matched; the first on ties, the first
    /// sentence when none matches) is taken whole, then the sentences after it while they fit whole (an FAQ's answer follows
    /// its question), then the sentences before it on the same line (never an earlier line: it is another answer), then the
    /// start of the next sentence cut at a word if at least 30 characters are left. A sentence longer than
    /// <paramref name="maxLength"/> is cut at words around its first query term. Never cuts inside a word (unless one word
    /// alone is longer than <paramref name="maxLength"/>); "…" marks text left out inside a sentence. Empty for a blank passage.
    /// </summary>
    /// <param name="passage">The chunk's text (any language, line breaks allowed).</param>
    /// <param name="query">The visitor's message; null or without searchable terms: the excerpt starts at the passage's start.</param>
    /// <param name="maxLength">Most characters returned (at least 2).</param>
    public static string For(string passage, string? query, int maxLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 2);
        var units = Sentences(passage);
        if (units.Count == 0)
        {
            return "";
        }
        var whole = string.Join(' ', units.Select(u => u.Text));
        if (whole.Length <= maxLength)
        {
            return whole;
        }

        var terms = TextFolding.QueryTerms(query).ToHashSet(StringComparer.Ordinal);
        var best = 0;
        var bestScore = 0;
        for (var i = 0; i < units.Count && terms.Count > 0; i++)
        {
            var score = TextFolding.Terms(units[i].Text).Distinct().Count(terms.Contains);
            if (score > bestScore)
            {
                (best, bestScore) = (i, score);
            }
        }
        if (units[best].Text.Length > maxLength)
        {
            return Window(units[best].Text, terms, maxLength);
        }

        int from = best, to = best, length = units[best].Text.Length;
        while (to + 1 < units.Count && length + 1 + units[to + 1].Text.Length <= maxLength)
        {
            length += 1 + units[++to].Text.Length;
        }
        while (from > 0 && units[from - 1].Line == units[best].Line && length + 1 + units[from - 1].Text.Length <= maxLength)
        {
            length += 1 + units[--from].Text.Length;
        }
        var excerpt = new StringBuilder(string.Join(' ', units.Skip(from).Take(to - from + 1).Select(u => u.Text)));
        var room = maxLength - excerpt.Length - 1;
        if (to + 1 < units.Count && room >= MinTail)
        {
            var next = units[to + 1].Text;
            var (start, end) = CutAtWord(next, 0, room - 1);
            if (end > start)
            {
                excerpt.Append(' ').Append(next.AsSpan(start, end - start)).Append('…');
            }
        }
        return excerpt.ToString();
    }

    /// <summary>The sentences of <paramref name="passage"/> with the index of their line, spaces collapsed, blanks dropped.</summary>
    private static List<(string Text, int Line)> Sentences(string passage)
    {
        var result = new List<(string, int)>();
        var lines = passage.Split('\n');
        for (var line = 0; line < lines.Length; line++)
        {
            foreach (var sentence in SentenceEnd().Split(Spaces().Replace(lines[line], " ").Trim()))
            {
                if (sentence.Length > 0)
                {
                    result.Add((sentence, line));
                }
            }
        }
        return result;
    }

    /// <summary>At most <paramref name="maxLength"/> characters of one long sentence, from a word shortly before its first query term.</summary>
    private static string Window(string sentence, HashSet<string> terms, int maxLength)
    {
        var hit = 0;
        foreach (Match word in Word().Matches(sentence))
        {
            if (TextFolding.Terms(word.Value).Any(terms.Contains))
            {
                hit = word.Index + word.Length <= maxLength - 1 ? 0 : word.Index;
                break;
            }
        }
        var start = 0;
        if (hit > 0)
        {
            // A little context before the term, from the start of a word.
            start = Math.Max(0, hit - maxLength / 4);
            while (start > 0 && start < hit && !char.IsWhiteSpace(sentence[start - 1]))
            {
                start++;
            }
        }
        var budget = maxLength - (start > 0 ? 1 : 0) - 1;
        var (from, end) = CutAtWord(sentence, start, budget);
        var text = sentence[from..end];
        return (start > 0 ? "…" : "") + text + (end < sentence.Length ? "…" : "");
    }

    /// <summary>
    /// The range of <paramref name="text"/> from <paramref name="start"/> of at most <paramref name="budget"/> characters that ends
    /// at a word's end (the whole rest when it fits), trailing spaces and separators (<c>, ; : -</c>) excluded.
    /// </summary>
    private static (int Start, int End) CutAtWord(string text, int start, int budget)
    {
        if (text.Length - start <= budget)
        {
            return (start, text.Length);
        }
        var end = start + budget;
        var cut = end;
        while (cut > start && !char.IsWhiteSpace(text[cut]))
        {
            cut--;
        }
        if (cut == start)
        {
            cut = char.IsLowSurrogate(text[end]) ? end - 1 : end; // one word longer than the budget
        }
        while (cut > start && (char.IsWhiteSpace(text[cut - 1]) || text[cut - 1] is ',' or ';' or ':' or '-' or '–' or '—' or '،'))
        {
            cut--;
        }
        return (start, cut);
    }

    [GeneratedRegex(@"(?<=[.!?…؟۔])\s+")]
    private static partial Regex SentenceEnd();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Spaces();

    [GeneratedRegex(@"[\p{L}\p{M}\p{Nd}]+")]
    private static partial Regex Word();
}
