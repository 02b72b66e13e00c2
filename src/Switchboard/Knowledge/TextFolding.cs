using System.Globalization;
using System.Text;

namespace Switchboard.Knowledge;

/// <summary>
/// The one tokenizer of the knowledge base, run in C# on both the stored chunks and the queries, so SQLite and
/// PostgreSQL see exactly the same terms (brain-and-knowledge-base.md §4.3–§4.4). A term is a run of letters and
/// digits of any script, lower-cased, with every combining mark removed (Latin accents <c>inondé</c> → <c>inonde</c>, Hebrew
/// niqqud, Arabic harakat), <c>œ</c> → <c>oe</c>, non-ASCII decimal digits → <c>0–9</c>, then lightly stemmed: French and English
/// suffixes (plural <c>s</c>/<c>x</c>, <c>-ation(s)</c>, <c>-ement(s)</c>, <c>-é(e)(s)</c>, <c>-ing</c>, <c>-ed</c>), because FTS5 has no
/// French stemmer and PostgreSQL's <c>french</c> and <c>english</c> configurations each mangle the other language; Hebrew
/// and Arabic attached prefixes (<see cref="Stem"/>). Terms hold only letters and digits, so no user text can ever reach an
/// FTS query as syntax (<c>sous-sol</c>, <c>l'eau</c>, quotes, <c>NEAR</c>, <c>*</c>, <c>:</c>, <c>^</c> all become plain terms or vanish;
/// both engines' operators are ASCII punctuation). Marks are removed in every script because FTS5's <c>unicode61</c> tokenizer
/// splits words at them (its token characters are <c>L* N* Co</c>): a term must reach FTS5 as one token.
/// </summary>
internal static class TextFolding
{
    /// <summary>
    /// The tokenizer's version: 1 kept ASCII letters and digits only (before 27a8dab), 2 keeps letters of every script. A change
    /// that gives a stored text other terms bumps it, with a <see cref="KnowledgeTermsRefresh"/> pass that finds what the older
    /// version indexed: that pass runs until it completes once for this version.
    /// </summary>
    public const int Version = 2;

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

    // Hebrew and Arabic question and function words, dropped from queries like the French and English ones (folded as queries are).
    private static readonly HashSet<string> RtlStopWords = new(
        new[]
        {
            "מה", "כמה", "יש", "אין", "האם", "של", "את", "על", "עם", "זה", "זו", "זאת", "אני", "אתה", "אתם", "אתן", "אנחנו", "הוא", "היא",
            "הם", "לי", "לך", "לכם", "לנו", "אם", "או", "גם", "לא", "כן", "מי", "איך", "מתי", "איפה", "למה", "אפשר", "בבקשה", "שלום", "תודה",
            "הי", "היי", "אצלכם",
            "هل", "ما", "ماذا", "من", "في", "على", "عن", "مع", "هذا", "هذه", "أنا", "أنت", "أنتم", "نحن", "هو", "هي", "لي", "لك", "لكم",
            "كم", "عندكم", "لديكم", "أو", "لا", "نعم", "كيف", "متى", "أين", "لماذا", "إلى", "أن", "إن", "مرحبا", "شكرا", "السلام", "عليكم",
        }.Select(w => Fold(w).Trim()),
        StringComparer.Ordinal);

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
            if (word.Length < 2 || StopWords.Contains(word) || RtlStopWords.Contains(word))
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

    /// <summary>The runs of letters and digits (any script) of already folded text.</summary>
    private static IEnumerable<string> Words(string folded)
    {
        var start = -1;
        for (var i = 0; i <= folded.Length; i++)
        {
            var word = i < folded.Length && char.IsLetterOrDigit(folded[i]);
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

    /// <summary>
    /// Lower-case, combining marks removed (accents, Hebrew niqqud, Arabic harakat), ligatures expanded, decimal digits of any
    /// script made ASCII, Arabic tatweel removed and <c>ى</c> → <c>ي</c>, <c>ة</c> → <c>ه</c>, Greek letter variants made the
    /// letter FTS5's case folding gives (<c>ς</c> → <c>σ</c>, <c>µ</c> → <c>μ</c>), a geresh or gershayim (or <c>'</c>, <c>"</c>)
    /// inside a Hebrew word dropped (<c>בע״מ</c> → <c>בעמ</c>); the result is letters and digits plus spaces.
    /// </summary>
    public static string Fold(string text)
    {
        var decomposed = text.Normalize(NormalizationForm.FormD);
        var sb = new StringBuilder(decomposed.Length);
        for (var i = 0; i < decomposed.Length; i++)
        {
            var c = decomposed[i];
            switch (CharUnicodeInfo.GetUnicodeCategory(c))
            {
                case UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark:
                    continue;
            }
            switch (c)
            {
                case '\'' or '’' or '"' or '\u05F3' or '\u05F4' when sb.Length > 0 && IsHebrewLetter(sb[^1]) && IsHebrewLetter(NextBase(decomposed, i + 1)):
                    break; // צ'יפס, בע"מ: one word
                case 'œ' or 'Œ': sb.Append("oe"); break;
                case 'æ' or 'Æ': sb.Append("ae"); break;
                case 'ß': sb.Append("ss"); break;
                case '’' or '\'': sb.Append(' '); break;
                case '\u0640': break; // Arabic tatweel only stretches a word
                case 'ى': sb.Append('ي'); break;
                case 'ة': sb.Append('ه'); break;
                case 'ς': sb.Append('σ'); break;
                case 'µ': sb.Append('μ'); break;
                case 'ſ': sb.Append('s'); break;
                case 'ϐ': sb.Append('β'); break;
                case 'ϑ': sb.Append('θ'); break;
                case 'ϕ': sb.Append('φ'); break;
                case 'ϖ': sb.Append('π'); break;
                case 'ϰ': sb.Append('κ'); break;
                case 'ϱ': sb.Append('ρ'); break;
                case 'ϵ': sb.Append('ε'); break;
                default:
                    sb.Append(char.IsAsciiLetterOrDigit(c) ? char.ToLowerInvariant(c)
                        : c < 128 ? ' '
                        : char.IsDigit(c) ? (char)('0' + (int)char.GetNumericValue(c))
                        : char.IsLetter(c) ? char.ToLowerInvariant(c) : ' ');
                    break;
            }
        }
        return sb.ToString();
    }

    /// <summary>The first character at or after <paramref name="index"/> that is not a combining mark; <c>\0</c> at the end.</summary>
    private static char NextBase(string s, int index)
    {
        for (; index < s.Length; index++)
        {
            if (CharUnicodeInfo.GetUnicodeCategory(s[index]) is not (UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark))
            {
                return s[index];
            }
        }
        return '\0';
    }

    private static bool IsHebrewLetter(char c) => c is >= 'א' and <= 'ת';

    private static bool IsArabicLetter(char c) => c is >= '\u0620' and <= '\u064A' or >= '\u0671' and <= '\u06D3';

    // Hebrew one-letter prefixes in the order they attach: ו, then one of ש כש מ ל ב כ, then ה (וכשהטכנאי → טכנאי).
    private static readonly string[] HebrewPrefixes = ["כש", "ש", "מ", "ל", "ב", "כ"];

    // Arabic definite articles, alone or after و ف ب ك, and لل (ل + ال): Larkey, Ballesteros & Connell's light10 prefixes.
    private static readonly string[] ArabicArticles = ["وال", "فال", "بال", "كال", "ال", "لل"];

    /// <summary>
    /// Removes one inflection suffix, keeping a stem of at least 3 characters. Digits are left alone. A Hebrew word loses its
    /// attached prefixes (ו, then ש/כש/מ/ל/ב/כ, then ה, each only while 3 letters remain: <c>והטכנאי</c> → <c>טכנאי</c>,
    /// <c>בשבת</c> → <c>שבת</c>, <c>מים</c> kept); an Arabic word its و (3 letters left) and then its article
    /// (ال، وال، بال، كال، فال، لل; 2 letters left), the prefix rules of Larkey, Ballesteros &amp; Connell's light10 stemmer
    /// ("Improving stemming for Arabic information retrieval", SIGIR 2002). Both sides are stemmed alike, so a word whose own
    /// first letter looks like a prefix (<c>ביקור</c> → <c>יקור</c>) still matches itself.
    /// </summary>
    public static string Stem(string word)
    {
        if (word.Length > 0 && IsHebrewLetter(word[0]))
        {
            return StripHebrewPrefixes(word);
        }
        if (word.Length > 0 && IsArabicLetter(word[0]))
        {
            return StripArabicPrefixes(word);
        }
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

    private static string StripHebrewPrefixes(string word)
    {
        var start = 0;
        if (word.Length - start - 1 >= 3 && word[start] == 'ו')
        {
            start++;
        }
        foreach (var prefix in HebrewPrefixes)
        {
            if (word.Length - start - prefix.Length >= 3 && word.AsSpan(start).StartsWith(prefix, StringComparison.Ordinal))
            {
                start += prefix.Length;
                break;
            }
        }
        if (word.Length - start - 1 >= 3 && word[start] == 'ה')
        {
            start++;
        }
        return word[start..];
    }

    private static string StripArabicPrefixes(string word)
    {
        if (word.Length - 1 >= 3 && word[0] == 'و')
        {
            word = word[1..];
        }
        foreach (var article in ArabicArticles)
        {
            if (word.Length - article.Length >= 2 && word.StartsWith(article, StringComparison.Ordinal))
            {
                return word[article.Length..];
            }
        }
        return word;
    }
}
