using System.Text;

namespace Switchboard.Calls;

/// <summary>
/// Turns the user's search text into full-text queries that cannot be a syntax error: the text is cut into words of
/// letters and digits only (so <c>sous-sol</c> is <c>sous</c> + <c>sol</c>, <c>l'eau</c> is <c>eau</c>, and quotes,
/// <c>AND</c>/<c>NEAR</c>/<c>*</c> operators and unbalanced quotes are plain text) and every word must occur as a whole
/// word (a prefix on the last word made frequent prefixes expand over many terms on every query). Accents and case are folded by the index on both sides
/// (SQLite FTS5 <c>unicode61 remove_diacritics 2</c>; PostgreSQL <c>sb_fold</c> + the <c>simple</c> configuration).
/// A caller's number fragment is not a word: it is a substring of the number's digits (SQLite FTS5 trigram table
/// <c>calls_number</c>, PostgreSQL pg_trgm on <c>calls."CustomerDigits"</c>; migration 0016).
/// </summary>
internal static class SearchText
{
    private const int MaxWordLength = 64;

    /// <summary>The words of <paramref name="text"/>, lower-cased, at most <paramref name="max"/>; one-letter words are dropped when others exist.</summary>
    public static IReadOnlyList<string> Words(string? text, int max)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return [];
        }
        var words = new List<string>();
        var current = new StringBuilder();
        foreach (var c in text.Normalize(NormalizationForm.FormC))
        {
            if (char.IsLetterOrDigit(c))
            {
                current.Append(char.ToLowerInvariant(c));
                continue;
            }
            if (char.GetUnicodeCategory(c) is System.Globalization.UnicodeCategory.NonSpacingMark && current.Length > 0)
            {
                continue; // a combining accent left after composition: the index folds accents anyway
            }
            Flush();
        }
        Flush();
        if (words.Count > 1)
        {
            words.RemoveAll(w => w.Length == 1);
        }
        return words.Distinct().Take(max).ToList();

        void Flush()
        {
            if (current.Length > 0)
            {
                words.Add(current.Length > MaxWordLength ? current.ToString(0, MaxWordLength) : current.ToString());
                current.Clear();
            }
        }
    }

    /// <summary>An FTS5 MATCH expression for <c>calls_search</c>: every word quoted (<c>"word"</c>, whole words as on PostgreSQL); null without words.</summary>
    public static string? Fts5(IReadOnlyList<string> words) =>
        words.Count == 0 ? null : string.Join(' ', words.Select(w => $"\"{w}\""));

    /// <summary>An FTS5 MATCH expression for the trigram table <c>calls_number</c>: the digits as one quoted substring; null without digits.</summary>
    public static string? Fts5Trigram(string? digits) => digits is null ? null : $"\"{digits}\"";

    /// <summary>
    /// A PostgreSQL <c>to_tsquery('simple', …)</c> text: quoted whole words joined by <c>&amp;</c> (no prefix: a prefix
    /// defeats the planner's per-word statistics, and a rare word would then walk the whole list); null without words.
    /// </summary>
    public static string? TsQuery(IReadOnlyList<string> words) =>
        words.Count == 0 ? null : string.Join(" & ", words.Select(w => $"'{w}'"));
}
