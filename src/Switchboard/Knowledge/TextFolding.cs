using System.Globalization;
using System.Text;

namespace Switchboard.Knowledge;

/// <summary>
/// The one tokenizer of the knowledge base, run in C# on both the stored chunks and the queries, so SQLite and
/// PostgreSQL see exactly the same terms (brain-and-knowledge-base.md §4.3–§4.4). A term is a run of letters and
/// digits, lower-cased, accents folded (<c>inondé</c> → <c>inonde</c>, <c>œ</c> → <c>oe</c>), then lightly stemmed for
/// French and English (plural <c>s</c>/<c>x</c>, <c>-ation(s)</c>, <c>-ement(s)</c>, <c>-é(e)(s)</c>, <c>-ing</c>, <c>-ed</c>),
/// because FTS5 has no French stemmer and PostgreSQL's <c>french</c> and <c>english</c> configurations each mangle the
/// other language. Terms are only <c>[a-z0-9]</c>, so no user text can ever reach an FTS query as syntax
/// (<c>sous-sol</c>, <c>l'eau</c>, quotes, <c>NEAR</c>, <c>*</c>, <c>:</c>, <c>^</c> all become plain terms or vanish).
/// </summary>
internal static class TextFolding
{
    /// <summary>Most terms taken from one query.</summary>
    public const int MaxQueryTerms = 16;

    // Function words of French and English: dropped from queries (kept in the index, where they cost little).
    private static readonly HashSet<string> StopWords = new(StringComparer.Ordinal)
    {
        "le", "la", "les", "un", "une", "des", "du", "de", "au", "aux", "et", "ou", "en", "est", "sont", "ce", "cet", "cette", "ces",
        "que", "qui", "quoi", "dans", "par", "pour", "sur", "avec", "sans", "pas", "ne", "plus", "mon", "ma", "mes", "ton", "ta", "tes",
        "son", "sa", "ses", "notre", "nos", "votre", "vos", "leur", "leurs", "je", "tu", "il", "elle", "on", "nous", "vous", "ils", "elles",
        "me", "te", "se", "lui", "y", "a", "ai", "as", "avez", "avons", "ont", "etes", "suis", "es", "etre", "avoir", "fait", "faire",
        "quel", "quelle", "quels", "quelles", "comment", "combien", "quand", "ou", "est-ce", "si", "mais", "donc", "car", "ni", "tout",
        "tous", "toute", "toutes", "bonjour", "allo", "merci", "svp", "oui", "non",
        "the", "an", "and", "or", "of", "to", "in", "on", "at", "for", "with", "without", "is", "are", "was", "were", "be", "been", "do",
        "does", "did", "have", "has", "had", "i", "you", "he", "she", "it", "we", "they", "my", "your", "our", "their", "this", "that",
        "these", "those", "what", "which", "who", "when", "where", "how", "much", "many", "can", "could", "would", "should", "will",
        "not", "no", "yes", "if", "but", "so", "by", "from", "as", "about", "me", "us", "them", "please", "hello", "hi", "thanks",
    };

    private static readonly HashSet<string> FrenchMarkers = new(StringComparer.Ordinal)
    {
        "le", "la", "les", "des", "du", "de", "et", "est", "une", "pour", "dans", "avec", "sur", "nous", "vous", "que", "qui", "pas", "au", "aux",
    };

    private static readonly HashSet<string> EnglishMarkers = new(StringComparer.Ordinal)
    {
        "the", "and", "is", "are", "for", "with", "you", "we", "our", "your", "of", "to", "in", "on", "at", "from", "this", "that",
    };

    // Longest first: the first suffix that leaves a stem of at least 3 characters is removed, once.
    private static readonly string[] Suffixes =
    [
        "ements", "ations", "ement", "ation", "ments", "ment", "ings", "ing", "ees", "ies", "ed", "es", "ee", "s", "x", "e",
    ];

    /// <summary>Unicode NFC, control characters (except newline and tab) removed, CRLF → LF.</summary>
    public static string Normalize(string text)
    {
        var s = text.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n').Normalize(NormalizationForm.FormC);
        var sb = new StringBuilder(s.Length);
        foreach (var c in s)
        {
            if (c is '\n' or '\t' || !char.IsControl(c))
            {
                sb.Append(c == '\u00A0' ? ' ' : c);
            }
        }
        return sb.ToString();
    }

    /// <summary>The terms of <paramref name="text"/> in order (duplicates kept): what is indexed.</summary>
    public static List<string> Terms(string text)
    {
        return Words(Fold(text)).Select(Stem).ToList();
    }

    /// <summary>
    /// The distinct query terms of <paramref name="query"/>: stop words and one-letter terms dropped (<c>l'eau</c> → <c>eau</c>),
    /// at most <see cref="MaxQueryTerms"/>. Empty when nothing searchable is left.
    /// </summary>
    public static List<string> QueryTerms(string? query)
    {
        if (string.IsNullOrWhiteSpace(query))
        {
            return [];
        }
        var raw = Fold(query.Length > 2000 ? query[..2000] : query);
        var result = new List<string>();
        foreach (var word in Words(raw))
        {
            if (word.Length < 2 || StopWords.Contains(word))
            {
                continue;
            }
            var term = Stem(word);
            if (!result.Contains(term))
            {
                result.Add(term);
            }
            if (result.Count == MaxQueryTerms)
            {
                break;
            }
        }
        return result;
    }

    /// <summary>The indexed form of a chunk: its tenant's term first (see <see cref="TenantTerm"/>), then its terms.</summary>
    public static string SearchText(Guid tenantId, string? heading, string body)
    {
        var sb = new StringBuilder(body.Length + 64);
        sb.Append(TenantTerm(tenantId));
        foreach (var term in Terms((heading ?? "") + "\n" + body))
        {
            sb.Append(' ').Append(term);
        }
        return sb.ToString();
    }

    /// <summary>
    /// A term only the tenant's chunks carry (<c>kbt</c> + the id's hex digits spelled as letters a–p, so both
    /// engines' parsers keep it whole). Every query requires it: the index itself narrows to the tenant before
    /// ranking, and the SQL also filters on <c>TenantId</c>.
    /// </summary>
    public static string TenantTerm(Guid tenantId)
    {
        Span<char> hex = stackalloc char[32];
        tenantId.TryFormat(hex, out _, "N");
        var sb = new StringBuilder("kbt", 35);
        foreach (var c in hex)
        {
            sb.Append((char)('a' + (c <= '9' ? c - '0' : c - 'a' + 10)));
        }
        return sb.ToString();
    }

    /// <summary><c>fr</c> or <c>en</c> by function words; null when neither is evident.</summary>
    public static string? DetectLanguage(string text)
    {
        int fr = 0, en = 0;
        foreach (var word in Words(Fold(text.Length > 4000 ? text[..4000] : text)))
        {
            fr += FrenchMarkers.Contains(word) ? 1 : 0;
            en += EnglishMarkers.Contains(word) ? 1 : 0;
        }
        return fr == en ? null : fr > en ? "fr" : "en";
    }

    /// <summary>The runs of ASCII letters and digits of already folded text.</summary>
    private static IEnumerable<string> Words(string folded)
    {
        var start = -1;
        for (var i = 0; i <= folded.Length; i++)
        {
            var word = i < folded.Length && char.IsAsciiLetterOrDigit(folded[i]);
            if (word && start < 0)
            {
                start = i;
            }
            else if (!word && start >= 0)
            {
                yield return folded[start..i];
                start = -1;
            }
        }
    }

    /// <summary>Lower-case, accents removed, ligatures expanded; the result is ASCII letters/digits plus separators.</summary>
    public static string Fold(string text)
    {
        var decomposed = text.Normalize(NormalizationForm.FormD);
        var sb = new StringBuilder(decomposed.Length);
        foreach (var c in decomposed)
        {
            switch (CharUnicodeInfo.GetUnicodeCategory(c))
            {
                case UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark:
                    continue;
            }
            switch (c)
            {
                case 'œ' or 'Œ': sb.Append("oe"); break;
                case 'æ' or 'Æ': sb.Append("ae"); break;
                case 'ß': sb.Append("ss"); break;
                case '’' or '\'': sb.Append(' '); break;
                default: sb.Append(char.IsAsciiLetterOrDigit(c) ? char.ToLowerInvariant(c) : c < 128 ? ' ' : char.IsLetterOrDigit(c) ? char.ToLowerInvariant(c) : ' '); break;
            }
        }
        return sb.ToString();
    }

    /// <summary>Removes one inflection suffix, keeping a stem of at least 3 characters. Digits are left alone.</summary>
    public static string Stem(string word)
    {
        if (word.Length < 4 || char.IsAsciiDigit(word[0]))
        {
            return word;
        }
        foreach (var suffix in Suffixes)
        {
            if (word.Length - suffix.Length >= 3 && word.EndsWith(suffix, StringComparison.Ordinal))
            {
                return word[..^suffix.Length];
            }
        }
        return word;
    }
}
