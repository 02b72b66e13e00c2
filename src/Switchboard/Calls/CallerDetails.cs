using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Switchboard.Platform.Http;

namespace Switchboard.Calls;

/// <summary>
/// What a caller says about themselves, read from their own words: a self-introduced name ("je m'appelle Marie Tremblay",
/// "this is John Smith calling") and a street address ("1234 rue Principale à Laval", "55 King Street West"). Shared by
/// the end-of-call lead (<see cref="LeadExtractor"/>, from the transcript) and the web chat's offline receptionist (from
/// each message), so both read the same cues the same way.
/// </summary>
/// <remarks>
/// Conservative by design: a wrong name on a lead is worse than none, so a weak cue ("I'm", "this is", "ici", "c'est")
/// needs a capitalised name and common words are never names ("c'est urgent", "I'm calling", "this is an emergency",
/// "I'm at home"). Every quantifier is bounded, so one match attempt does bounded work and a scan is linear in the
/// text's length (the end-of-call report is on the ingestion hot path; a transcript can be 100 KB).
/// </remarks>
internal static partial class CallerDetails
{
    /// <summary>Most characters of a name kept.</summary>
    public const int MaxNameLength = 100;

    /// <summary>Most characters of an address kept.</summary>
    public const int MaxAddressLength = 300;

    /// <summary>Street types written before the street's name (French, Spanish): "rue Principale", "boul. Saint-Laurent", "calle Mayor".</summary>
    private const string TypeFirstStreetWords =
        @"rue|avenue|av|boulevard|boul|bd|blvd|chemin|ch|rang|mont[ée]e|place|croissant|c[ôo]te|route|rte|all[ée]e|impasse|terrasse|promenade|calle|avenida|carrera";

    /// <summary>Street types written after the street's name (English): "King Street", "Elm St", "Sherbrooke Ave".</summary>
    private const string TypeLastStreetWords =
        @"street|st|avenue|ave|av|road|rd|boulevard|blvd|drive|dr|lane|ln|court|ct|crescent|cres|way|place|pl|terrace|parkway|pkwy|circle|trail|highway|hwy";

    /// <summary>Street words of the other languages the web chat speaks (German, Arabic, Hebrew).</summary>
    private const string OtherStreetWords = @"strasse|straße|str|weg|platz|allee|gasse";

    /// <summary>Capitalised words that start a sentence rather than continue a street's name ("1234 rue Principale Mon sous-sol…").</summary>
    private const string NotStreetName = @"(?!(?:Mon|Ma|Mes|My|I|Je|J['’]|Il|Elle|On|C['’]|It|The|We|Nous|Pis|Et|And|But|Mais)\b)";

    /// <summary>
    /// The name the caller gave for themselves in <paramref name="text"/> (one or more turns, one per line), or null. Strong cues
    /// anywhere ("my name is", "je m'appelle", "mon nom est", and their Spanish, German, Arabic and Hebrew forms) take the name as
    /// written, lower case included; weak ones ("this is", "I'm", "I am", "je suis", "ici") need capitalised words, and "c'est",
    /// "moi c'est", "it's" count only at the start of the first turn (after a greeting). At most five words, 100 characters.
    /// </summary>
    public static string? StatedName(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }
        if (OpeningCue().Match(text) is { Success: true } opening && Accept(opening.Groups["name"].Value, strong: false) is { } first)
        {
            return first;
        }
        for (var m = NameCue().Match(text); m.Success; m = m.NextMatch())
        {
            if (Accept(m.Groups["name"].Value, strong: m.Groups["strong"].Success) is { } name)
            {
                return name;
            }
        }
        return null;
    }

    /// <summary>
    /// The first street address stated in <paramref name="text"/>, as said, or null: a civic number (with its unit, "4-1234",
    /// or letter, "45B") then a street type and name ("1234, rue de la Montagne", "12 chemin du Lac") or a capitalised name
    /// and type ("55 King Street West", "300 5th Ave"), then the city when said after "à"/"in" ("à Laval", "in Toronto").
    /// "2 toilettes bouchées", "3 hours on the road" are not addresses. At most 300 characters.
    /// </summary>
    public static string? StatedAddress(string? text)
    {
        if (string.IsNullOrWhiteSpace(text) || AddressPattern().Match(text) is not { Success: true } m)
        {
            return null;
        }
        var address = m.Value.TrimEnd('.', ',', ' ');
        return TolerantJson.Cap(address, MaxAddressLength);
    }

    /// <summary>
    /// True when accent-folded, lower-case <paramref name="folded"/> has a street word of any language the receptionist speaks
    /// ("rue", "st", "chemin", "strasse", "شارع"): with a digit, the web chat takes such a message as an address.
    /// </summary>
    internal static bool HasStreetWord(string folded) => StreetWord().IsMatch(folded);

    /// <summary>Keeps the name's words up to the first that cannot be part of it; null when none is left or it is a common word.</summary>
    private static string? Accept(string raw, bool strong)
    {
        var words = new List<string>(5);
        var firstCapitalised = false;
        foreach (var token in raw.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries))
        {
            var word = token.TrimEnd('.', '-', '\'', '’');
            if (word.Length == 0 || IsContraction(word) || NotAName.Contains(Fold(word)))
            {
                break;
            }
            var capitalised = !char.IsLower(word[0]); // Arabic and Hebrew have no case: their words count as capitalised
            if (words.Count == 0)
            {
                if (!capitalised && !strong)
                {
                    return null;
                }
                firstCapitalised = capitalised;
            }
            else if (!capitalised && firstCapitalised)
            {
                break; // "Marie Tremblay pis mon sous-sol": the name ends where the capitals do
            }
            var initial = word.Length == 1 && token.EndsWith('.'); // "Mark J. Wilson": an initial keeps its dot and the name goes on
            words.Add(initial ? token : word);
            if (token.EndsWith('.') && !initial)
            {
                break; // "I'm John. My basement…": the sentence ended
            }
        }
        if (words.Count == 0)
        {
            return null;
        }
        var name = string.Join(' ', words);
        return TolerantJson.Cap(name, MaxNameLength);
    }

    /// <summary>"j'habite", "l'eau", "qu'il": a French elided article or pronoun, never the start of a name ("O'Brien", "D'Amours" are).</summary>
    private static bool IsContraction(string word) =>
        word.Length > 2 && ((word[1] is '\'' or '’' && char.IsLower(word[0])) || word.StartsWith("qu'", StringComparison.OrdinalIgnoreCase) || word.StartsWith("qu’", StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Words (accent-folded, lower case) that are never a name or part of one: what follows "I'm", "this is", "c'est" when no
    /// name does ("urgent", "calling", "an emergency", "at home", "désolé"), and the words that end a name said in lower case
    /// ("je m'appelle marie et mon sous-sol…").
    /// </summary>
    private static readonly HashSet<string> NotAName = new(StringComparer.Ordinal)
    {
        // English
        "a", "an", "the", "and", "or", "but", "so", "i", "i'm", "im", "my", "me", "you", "your", "we", "our", "he", "she", "it", "it's", "its",
        "they", "this", "that", "there", "here", "what", "who", "at", "in", "on", "from", "with", "for", "to", "of", "by", "about", "is", "am",
        "are", "was", "calling", "call", "called", "speaking", "phoning", "ringing", "emergency", "urgent", "sorry", "home", "back", "just",
        "very", "really", "not", "no", "yes", "yeah", "okay", "ok", "fine", "good", "great", "well", "sure", "going", "looking", "having",
        "trying", "hoping", "worried", "afraid", "scared", "stuck", "done", "ready", "still", "also", "only", "new", "available", "away",
        "out", "outside", "inside", "upstairs", "downstairs", "flooded", "flooding", "leaking", "please", "thanks", "thank", "hi", "hello",
        "hey", "owner", "tenant", "landlord", "customer", "client", "homeowner", "plumber", "one", "someone", "somebody", "nobody", "again",
        "regarding", "concerning", "because", "since", "now", "today", "tonight", "currently", "actually", "basically", "wondering",
        "interested", "glad", "happy", "confused", "unsure", "getting", "being", "dealing", "experiencing", "kind", "bit", "totally",
        "canadian", "french", "english", "quebecois", "quebecoise", "francophone", "anglophone", "bilingual", "bilingue",
        // French
        "et", "ou", "mais", "donc", "alors", "pis", "puis", "je", "moi", "mon", "ma", "mes", "tu", "vous", "votre", "nous", "notre", "il",
        "elle", "on", "ca", "cela", "ceci", "ce", "cet", "cette", "le", "la", "les", "un", "une", "des", "du", "de", "au", "aux", "a", "en",
        "dans", "chez", "pour", "par", "avec", "sur", "sous", "est", "suis", "sont", "ici", "la-bas", "urgence", "urgente", "pressant",
        "pressante", "presse", "pressee", "desole", "desolee", "inquiet", "inquiete", "oui", "non", "bien", "correct", "parfait", "super",
        "allo", "bonjour", "bonsoir", "salut", "merci", "encore", "toujours", "aussi", "pas", "jamais", "vraiment", "tres", "juste",
        "seulement", "proprietaire", "locataire", "plombier", "quelqu'un", "personne", "inonde", "inondee", "pris", "prise", "rendu",
        "rendue", "certain", "certaine", "sur", "sure", "content", "contente", "disponible", "dehors", "maison", "parce", "comme", "quoi",
        "quand", "qui", "que", "pareil", "grave", "important", "simple", "rapide", "vite", "possible", "normal", "appelle", "appel",
        // Spanish, German (the web chat's other languages)
        "y", "mi", "yo", "el", "es", "und", "ich", "mein", "meine", "bin", "ist",
    };

    private static string Fold(string word)
    {
        var d = word.ToLowerInvariant().Normalize(NormalizationForm.FormD);
        var sb = new StringBuilder(d.Length);
        foreach (var c in d)
        {
            if (CharUnicodeInfo.GetUnicodeCategory(c) != UnicodeCategory.NonSpacingMark)
            {
                sb.Append(c == '’' ? '\'' : c);
            }
        }
        return sb.ToString();
    }

    /// <summary>Up to five words of letters (apostrophes, hyphens, dots inside), on one line.</summary>
    private const string NameWords = @"(?<name>[\p{L}][\p{L}\p{M}'’.-]{0,40}(?:[ \t]+[\p{L}][\p{L}\p{M}'’.-]{0,40}){0,4})";

    [GeneratedRegex(@"(?<![\p{L}'’])(?:(?<strong>my name is|my name's|my name’s|je m['’]appelle|mon nom est|mon nom c['’]est|me llamo|mi nombre es|ich hei(?:ß|ss)e|mein name ist|اسمي|קוראים לי|שמי|השם שלי)|this is|i['’]m|i am|je suis|ici c['’]est|moi c['’]est|ici)[ \t]*[,:]?[ \t]+" + NameWords,
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex NameCue();

    [GeneratedRegex(@"\A[ \t]*(?:(?:bonjour|bonsoir|allô|allo|oui|salut|hi|hello|hey|yes|yeah|good (?:morning|afternoon|evening)|euh|um|uh)[ \t]*[,.!]*[ \t]+)*(?:c['’]est|moi c['’]est|it['’]s)[ \t]+" + NameWords,
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex OpeningCue();

    [GeneratedRegex(
        @"(?<![\p{L}\p{N}-])\d{1,6}[A-Za-z]?(?:-\d{1,6}[A-Za-z]?)?,?[ \t]+" +
        @"(?:" +
        // "1234 rue Principale", "1234, boul. Saint-Laurent Est", "12 chemin du Lac", "1234 Route 132"
        @"(?i:" + TypeFirstStreetWords + @")\.?[ \t]+(?:(?i:de la|de l['’]|des|du|de|d['’]|l['’])[ \t]*)?(?!(?i:à|a|au|et|en|pour|avec|le|la|les|un|une)\b)[\p{L}\p{N}][\p{L}\p{M}\p{N}'’.-]{0,40}(?:[ \t]+" + NotStreetName + @"(?:\p{Lu}|\d)[\p{L}\p{M}\p{N}'’.-]{0,40}){0,4}" +
        @"|" +
        // "55 King Street West", "300 5th Ave", "45B Elm St."
        @"(?:\p{Lu}[\p{L}\p{M}'’.-]{0,40}|\d{1,3}(?i:st|nd|rd|th|e))(?:[ \t]+" + NotStreetName + @"\p{Lu}[\p{L}\p{M}'’.-]{0,40}){0,3}[ \t]+(?i:" + TypeLastStreetWords + @")\b\.?(?:[ \t]+(?:North|South|East|West|Est|Ouest|Nord|Sud|N|S|E|W|O)\b\.?)?" +
        @")" +
        // "à Laval", "in Toronto", "à Saint-Jean-sur-Richelieu", "in North York"
        @"(?:,?[ \t]+(?:à|a|in)[ \t]+(?!(?:Apt|Apartment|Appartement|App|Unit|Suite|The|My|Mon|Ma|Mes)\b)\p{Lu}[\p{L}\p{M}'’-]{0,40}(?:[ \t]+\p{Lu}[\p{L}\p{M}'’-]{0,40}){0,2})?",
        RegexOptions.CultureInvariant)]
    private static partial Regex AddressPattern();

    [GeneratedRegex(@"\b(?:" + TypeFirstStreetWords + "|" + TypeLastStreetWords + "|" + OtherStreetWords + @")\b|شارع|רחוב|שדרות", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex StreetWord();
}
