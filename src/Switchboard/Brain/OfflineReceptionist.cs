using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Switchboard.Calls;
using Switchboard.Platform.Phones;
using Switchboard.Tenancy;

namespace Switchboard.Brain;

/// <summary>
/// The offline receptionist's memory of one conversation, stored as JSON on the web conversation: the stage of the slot
/// filling (<c>problem</c> → <c>name</c> → <c>phone</c> → <c>address</c> → <c>done</c>) and the slots filled so far.
/// </summary>
internal sealed class ReceptionistState
{
    public string Stage { get; set; } = "problem";
    public string? Name { get; set; }
    public string? Phone { get; set; }
    public string? Address { get; set; }
    public string? Problem { get; set; }
    public string Urgency { get; set; } = Calls.Urgency.Routine;
    public bool Introduced { get; set; }
    public bool LeadCaptured { get; set; }
    public int PhoneAsks { get; set; }
    public int NameAsks { get; set; }

    /// <summary>
    /// The language (two-letter code) of the visitor's last message whose language could be told: a reply that is only a
    /// number or a name keeps the conversation in it (an outside probe: an English visitor to a Hebrew business who sent only
    /// his number was answered in Hebrew).
    /// </summary>
    public string? Language { get; set; }

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    public static ReceptionistState Read(string? json)
    {
        try
        {
            return json is null ? new() : JsonSerializer.Deserialize<ReceptionistState>(json, Json) ?? new();
        }
        catch (JsonException)
        {
            return new();
        }
    }

    public string Write() => JsonSerializer.Serialize(this, Json);
}

/// <summary>The offline receptionist's answer: its text and, when a lead was captured, the capture_lead arguments.</summary>
internal sealed record ReceptionistReply(string Text, JsonElement? CaptureArguments);

/// <summary>
/// A deterministic receptionist for when no chat model is configured or the model fails
/// (brain-and-knowledge-base.md §3): it says what it is, answers opening hours from the tenant's business hours and
/// questions from the knowledge base (quoting the passage and naming its source), otherwise fills the lead's slots
/// (problem, name, callback number, address), flags an emergency with the tenant's <see cref="UrgencyRules"/> (the lead
/// is then captured at once so the on-call staff is texted; cues in Spanish, German, Arabic and Hebrew are built in:
/// <see cref="ReceptionistLanguage.BuiltInEmergency"/>), and closes with what happens next. It answers in the language of
/// each message (<see cref="DetectLanguage"/>: en, fr, es, de, ar, he), else the conversation's language; wording in
/// <see cref="ReceptionistLanguage"/>.
/// </summary>
internal static partial class OfflineReceptionist
{
    /// <summary>Most characters of a knowledge passage quoted back.</summary>
    public const int QuoteLength = 300;

    /// <summary>
    /// Answers <paramref name="text"/>, updating <paramref name="state"/>. The caller runs <c>capture_lead</c> with
    /// <see cref="ReceptionistReply.CaptureArguments"/> when set. <paramref name="onCallReachable"/>: false when the alert policy
    /// has no on-call number, so an emergency is flagged for a priority callback and nobody is said to be texted.
    /// <paramref name="industry"/>: the business's recorded industry (<c>TenantAccount.Industry</c>, a template trade such as
    /// <c>dental-clinic</c>), which with the tenant's urgency rules chooses trade or trade-neutral wording
    /// (<see cref="ReceptionistLanguage.ForIndustry"/>: no industry is neutral unless the rules are a plumber's).
    /// </summary>
    public static ReceptionistReply Answer(
        Tenant tenant, ReceptionistState state, string text, string conversationLanguage, DateTimeOffset now, KnowledgePassage? knowledge,
        bool onCallReachable = true, string? industry = null)
    {
        state.Language = DetectLanguage(text) ?? state.Language;
        var l = ReceptionistLanguage.For(state.Language ?? conversationLanguage).ForIndustry(industry, tenant.UrgencyRules);
        var say = new StringBuilder();
        if (!state.Introduced)
        {
            state.Introduced = true;
            say.Append(l.Intro(tenant.Name, BusinessHoursCalculator.IsOpen(tenant.BusinessHours, tenant.TimeZone, now)));
        }

        var phone = FindPhone(text, Phones.RegionOf(tenant.Locale));
        var urgency = Calls.Urgency.Max(UrgencyClassifier.Classify(text, tenant.UrgencyRules).Urgency,
            UrgencyClassifier.Classify(text, ReceptionistLanguage.BuiltInEmergency).Urgency);
        var wasEmergency = state.Urgency == Calls.Urgency.Emergency;
        state.Urgency = Calls.Urgency.Max(state.Urgency, urgency);
        var name = CallerDetails.StatedName(text); // "je m'appelle Marie Tremblay", "Hi, this is John Smith": the same cues as a call's transcript

        // A question about hours or from the knowledge base is answered, then the slot filling resumes where it was.
        var asksHours = AsksHours(text) && urgency != Calls.Urgency.Emergency;
        if (asksHours)
        {
            say.Append(Hours(tenant, now, l)).Append(' ');
        }
        else if (knowledge is not null && state.Problem is null && urgency == Calls.Urgency.Routine && LooksLikeQuestion(text))
        {
            var quote = Switchboard.Knowledge.KnowledgeExcerpt.For(knowledge.Text, text, QuoteLength); // the sentences that answer
            say.Append(l.Quote(knowledge.Title, quote));
            if (!AsksForService(text))
            {
                return new(say.Append(l.AnythingElse).ToString().Trim(), null);
            }
            // A quote or a visit asked as a question ("une soumission pour une inspection par caméra?") is the visitor's need:
            // answered from the knowledge base, then the lead is taken (it was lost, and the name asked in a loop).
            state.Problem = Clean(text, 1000);
            state.Stage = "name";
            state.NameAsks++;
            return new(say.Append(l.AskName).ToString().Trim(), null);
        }

        // Slots from this message, by stage.
        // An answer out of turn goes where it belongs: an address given for the name is the address (the name is asked
        // again, once), a bare name given for the address is the name, and so is a capitalised one given for the number.
        switch (state.Stage)
        {
            case "name" when name is null && phone is not null && LooksLikeName(WithoutPhoneNumber(text)):
                name = Clean(WithoutPhoneNumber(text), 100); // "Marco Rossi, 647 555 0100": the name and the number
                break;
            case "name" when name is null && phone is null && !asksHours && LooksLikeAddress(text):
                state.Address ??= Clean(text, 300);
                break;
            case "name" when name is null && phone is null && !asksHours && !IsPleasantry(text) && !IsRefusal(text) && text.Any(char.IsLetter):
                name = Clean(text, 100);
                break;
            case "phone" when phone is null && name is null && state.Name is null && !asksHours && LooksLikeName(text) && Capitalised(text):
                name = Clean(text, 100); // "Marie Tremblay" when the number was asked: the name (the number is asked again)
                break;
            case "address" when !asksHours && phone is null && state.Name is null && name is null && LooksLikeName(text):
                name = Clean(text, 100);
                break;
            case "address" when !asksHours && phone is null:
                state.Address = IsRefusal(text) || IsPleasantry(text) ? state.Address : Clean(text, 300);
                break;
        }
        // An address said in a sentence, whatever was asked ("…mon sous-sol est inondé, j'habite au 123 rue Principale à Laval"):
        // a visitor who gave everything in one message was asked for the address again.
        if (state.Address is null && CallerDetails.StatedAddress(text) is { } stated)
        {
            state.Address = stated;
        }
        var phoneBefore = state.Phone;
        if (phone is not null)
        {
            state.Phone = phone;
        }
        if (name is not null)
        {
            state.Name = name;
        }
        if (state.Problem is null && !asksHours && (urgency != Calls.Urgency.Routine || state.Stage == "problem") && !IsGreeting(text)
            && !IsOnlyIntroduction(text, name))
        {
            state.Problem = Clean(text, 1000);
        }
        else if (state.Problem is not null && urgency == Calls.Urgency.Emergency && !wasEmergency)
        {
            state.Problem = Clean(state.Problem + " / " + text, 1000);
        }

        JsonElement? capture = null;
        var emergency = state.Urgency == Calls.Urgency.Emergency;
        var capturedBefore = state.LeadCaptured;
        // An emergency is captured at once (the on-call SMS goes out), with the callback number when the visitor gave it or
        // after one ask; a routine lead once the problem and the number are known (a visitor who gives the number and leaves
        // before the name is asked is still called back: the lead had no number when it waited for the name).
        var complete = state.Problem is not null && state.Phone is not null;
        if (state.Problem is not null && ((emergency && (state.Phone is not null || state.PhoneAsks > 0)) || complete || state.LeadCaptured))
        {
            capture = Arguments(state);
            state.LeadCaptured = true;
        }
        // The on-call staff is texted once the visitor's number is known (a web visitor has no caller id: AlertService), so
        // "being texted" is said then, and "as soon as I have your number" before.
        if (emergency && !onCallReachable)
        {
            say.Append(wasEmergency ? "" : l.EmergencyFlagged);
        }
        else if (emergency && !wasEmergency)
        {
            say.Append(capture is not null && state.Phone is not null ? l.EmergencyAlerted : l.EmergencyPending);
        }
        else if (emergency && capture is not null && state.Phone is not null && (phoneBefore is null || !capturedBefore))
        {
            say.Append(l.StillAlerting);
        }

        // The next question, or what happens next.
        if (state.Problem is null)
        {
            state.Stage = "problem";
            say.Append(l.AskProblem);
        }
        else if (state.Phone is null && (emergency || state.Name is not null) && state.PhoneAsks < 2)
        {
            state.Stage = "phone";
            state.PhoneAsks++;
            say.Append(state.PhoneAsks > 1 && phone is null ? l.AskPhoneAgain : l.AskPhone);
        }
        else if (state.Name is null && state.NameAsks < 2 && (state.Stage != "name" || state.Address is not null || asksHours))
        {
            state.Stage = "name";
            state.NameAsks++;
            say.Append(l.AskName);
        }
        else if (state.Address is null && state.Stage != "address" && state.Stage != "done")
        {
            state.Stage = "address";
            say.Append(l.AskAddress);
        }
        else
        {
            state.Stage = "done";
            say.Append(Next(tenant, state, now, l, onCallReachable));
        }
        return new(say.ToString().Trim(), capture);
    }

    private static string Next(Tenant tenant, ReceptionistState state, DateTimeOffset now, ReceptionistLanguage l, bool onCallReachable)
    {
        // The callback number as the visitor would write it ("514 555-0142" in French), not as it is stored (+15145550142).
        var phone = Platform.Phones.Phones.ForReading(state.Phone, l.Code);
        if (state.Urgency == Calls.Urgency.Emergency)
        {
            var callback = onCallReachable ? l.NextEmergency(phone) : l.NextEmergencyFlagged(phone);
            return UrgencyClassifier.Classify(state.Problem, ReceptionistLanguage.WaterCues).Urgency == Calls.Urgency.Emergency
                ? $"{callback} {l.ShutOffWater}" : callback;
        }
        if (BusinessHoursCalculator.IsOpen(tenant.BusinessHours, tenant.TimeZone, now))
        {
            return l.NextOpen(tenant.Name, phone);
        }
        var next = BusinessHoursCalculator.NextOpening(tenant.BusinessHours, tenant.TimeZone, now);
        var when = next is { } n ? TimeZoneInfo.ConvertTime(n, BusinessHoursCalculator.Zone(tenant.TimeZone)).ToString(l.NextOpeningFormat, l.CultureInfo) : null;
        return l.NextClosed(phone, when);
    }

    private static string Hours(Tenant tenant, DateTimeOffset now, ReceptionistLanguage l)
    {
        var open = BusinessHoursCalculator.IsOpen(tenant.BusinessHours, tenant.TimeZone, now);
        var today = BusinessHoursCalculator.TodayRanges(tenant.BusinessHours, tenant.TimeZone, now);
        var culture = l.CultureInfo;
        var week = string.Join(l.Code == "ar" ? "، " : ", ", Enumerable.Range(1, 7).Select(i => (DayOfWeek)(i % 7))
            .Where(d => tenant.BusinessHours.Weekly.TryGetValue(d, out var r) && r.Count > 0)
            .Select(d => $"{culture.DateTimeFormat.GetDayName(d)} {string.Join(" / ", tenant.BusinessHours.Weekly[d])}"));
        var status = open ? l.OpenNow(string.Join(", ", today)) : l.ClosedNow;
        return $"{status} {l.HoursLabel}{(l.Code == "fr" ? " :" : ":")} {week}.";
    }

    private static JsonElement Arguments(ReceptionistState state) => JsonSerializer.SerializeToElement(new Dictionary<string, string?>
    {
        ["problem"] = state.Problem,
        ["name"] = state.Name,
        ["phone"] = state.Phone,
        ["address"] = state.Address,
        ["urgency"] = state.Urgency,
    }.Where(p => p.Value is not null).ToDictionary());

    /// <summary>True for French, false for English, null when the message does not tell between the two.</summary>
    internal static bool? IsFrench(string text)
    {
        var words = Words(text);
        var fr = words.Count(w => StopWords["fr"].Contains(w)) + (text.Any(c => "éèêàùçôîâœ".Contains(char.ToLowerInvariant(c))) ? 2 : 0);
        var en = words.Count(w => StopWords["en"].Contains(w));
        return fr == en ? null : fr > en;
    }

    /// <summary>
    /// The language a message is written in, among the six the receptionist speaks: Arabic or Hebrew by their script,
    /// else by common words (and French accents, Spanish ñ ¿ ¡, German umlauts and ß); null when the message does not tell.
    /// </summary>
    internal static string? DetectLanguage(string text)
    {
        int arabic = 0, hebrew = 0, latin = 0;
        foreach (var c in text)
        {
            if (c is >= '\u0600' and <= '\u06FF') { arabic++; }
            else if (c is >= '\u0590' and <= '\u05FF') { hebrew++; }
            else if (char.IsAsciiLetter(c)) { latin++; }
        }
        if (arabic > latin && arabic >= hebrew)
        {
            return "ar";
        }
        if (hebrew > latin)
        {
            return "he";
        }
        var words = Words(text);
        var lower = text.ToLowerInvariant();
        var scores = StopWords.ToDictionary(p => p.Key, p => words.Count(w => p.Value.Contains(w)));
        scores["fr"] += lower.Any(c => "èêàùçôîâœ".Contains(c)) ? 2 : 0;
        scores["es"] += lower.Any(c => "ñ¿¡".Contains(c)) ? 2 : 0;
        scores["de"] += lower.Any(c => "äöüß".Contains(c)) ? 2 : 0;
        var best = scores.OrderByDescending(p => p.Value).ToList();
        return best[0].Value > 0 && best[0].Value > best[1].Value ? best[0].Key : null;
    }

    private static string[] Words(string text) =>
        Fold(text).Split([' ', ',', '.', '!', '?', '¿', '¡', '\'', '’', ';', ':', '\n'], StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Common words per language, accent-folded (words shared by two languages count for both).</summary>
    private static readonly Dictionary<string, HashSet<string>> StopWords = new()
    {
        ["fr"] = ["le", "la", "les", "un", "une", "des", "est", "et", "je", "mon", "ma", "mes", "nous", "vous", "il", "y", "a", "de", "du", "au", "pour",
                  "bonjour", "merci", "oui", "non", "quel", "quelle", "quand", "comment", "ouvert", "ouverts", "heures", "sous-sol", "eau", "avec", "pas"],
        ["en"] = ["the", "a", "an", "is", "and", "i", "my", "we", "you", "it", "there", "of", "to", "for", "hello", "hi", "thanks", "yes", "no", "what",
                  "when", "how", "open", "hours", "basement", "water", "with", "not", "have", "has", "please", "call", "me"],
        ["es"] = ["el", "los", "las", "una", "es", "esta", "y", "yo", "mi", "mis", "nosotros", "usted", "hay", "en", "por", "para", "con", "que", "hola",
                  "gracias", "si", "sotano", "agua", "cuando", "como", "abierto", "abiertos", "horario", "llamame", "tengo", "todo", "todas", "partes", "buenos", "dias"],
        ["de"] = ["der", "die", "das", "ein", "eine", "ist", "und", "ich", "mein", "meine", "wir", "sie", "es", "gibt", "im", "mit", "fur", "nicht", "hallo",
                  "danke", "ja", "nein", "keller", "wasser", "wann", "wie", "geoffnet", "offnungszeiten", "bitte", "rufen", "steht", "unter", "haben", "guten", "tag"],
    };

    /// <summary>
    /// The first valid phone number in the text, read in <paramref name="region"/> (the tenant's, <see cref="Phones.RegionOf"/>)
    /// and normalised to E.164 through libphonenumber (<see cref="Phones.FindInText"/>); null when none.
    /// </summary>
    internal static string? FindPhone(string text, string region = Phones.DefaultRegion) => Phones.FindInText(text, region);

    private static bool LooksLikeQuestion(string text) => text.Contains('?') || text.Contains('؟') || QuestionPattern().IsMatch(Fold(text));

    private static bool AsksHours(string text) => HoursPattern().IsMatch(Fold(text));

    private static bool IsGreeting(string text) => GreetingPattern().IsMatch(Fold(text).Trim());

    /// <summary>
    /// A street address: a number with a street word ("12 rue Principale", "45B Elm St"), a street number then a place after a
    /// comma ("12 Maple, Laval"), or a Canadian postal code. "2 toilettes bouchées" is not one.
    /// </summary>
    internal static bool LooksLikeAddress(string text)
    {
        var folded = Fold(text).Trim();
        return folded.Any(char.IsAsciiDigit)
               && (CallerDetails.HasStreetWord(folded) || (LeadingNumberPattern().IsMatch(folded) && folded.Contains(',')) || PostalCodePattern().IsMatch(folded));
    }

    /// <summary>
    /// A greeting and a name and nothing else ("Bonjour, je m'appelle Luc Roy", "Hi, this is John Smith."): the visitor
    /// introduced themselves and has not said what they need yet, so it is not the problem (an outside probe: the lead's
    /// problem read "Je m'appelle Luc Roy" and the problem was never asked).
    /// </summary>
    internal static bool IsOnlyIntroduction(string text, string? name)
    {
        if (name is null || text.IndexOf(name, StringComparison.Ordinal) is var at && at < 0)
        {
            return false;
        }
        return IntroductionPattern().IsMatch(Fold(text.Remove(at, name.Length)).Trim());
    }

    /// <summary>A bare name: one to four words of letters (hyphens and apostrophes allowed), no digit, not a question or refusal.</summary>
    internal static bool LooksLikeName(string text) =>
        BareNamePattern().IsMatch(text.Trim()) && !IsRefusal(text) && !LooksLikeQuestion(text) && !IsGreeting(text);

    /// <summary>Every word starts with a capital, or is in a script without case (Arabic, Hebrew): "Marie Tremblay", not "pas de cell".</summary>
    private static bool Capitalised(string text) =>
        text.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).All(w => !char.IsLower(w[0]));

    /// <summary>Thanks, okay, goodbye ("Merci beaucoup!", "ok thanks, bye"): an answer to nothing, never a name or an address.</summary>
    internal static bool IsPleasantry(string text) => PleasantryPattern().IsMatch(Fold(text).Trim());

    /// <summary>A need for a job (a quote, a price, a visit, an install), as opposed to a question for information.</summary>
    private static bool AsksForService(string text) => ServicePattern().IsMatch(Fold(text));

    private static bool IsRefusal(string text) => Fold(text).Trim() is "non" or "no" or "pas maintenant" or "skip" or "-" or "nein" or "لا" or "לא";

    /// <summary>The text without its phone number (a run of seven digits or more with spaces, dots, dashes or brackets) and the punctuation around it.</summary>
    internal static string WithoutPhoneNumber(string text) => PhoneRunPattern().Replace(text, " ").Trim(' ', ',', ';', ':', '-', '.', '/');

    [GeneratedRegex(@"\+?\(?\d[\d\s().-]{5,}\d")]
    private static partial Regex PhoneRunPattern();

    private static string Clean(string text, int max)
    {
        var t = Regex.Replace(text.Trim(), @"\s+", " ");
        return t.Length > max ? t[..max] : t;
    }

    internal static string Fold(string text)
    {
        var d = text.ToLowerInvariant().Normalize(NormalizationForm.FormD);
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

    [GeneratedRegex(@"\b(heures?|horaires?|ouverts?|ouverte|fermes?|hours|open|opening|closed|horarios?|abiertos?|abren|cerrados?|offnungszeiten|geoffnet|offen|geschlossen)\b|ساعات|مفتوح|تفتحون|مغلق|دوام|שעות|פתוח|סגור")]
    private static partial Regex HoursPattern();

    [GeneratedRegex(@"^(quel|quelle|quels|quelles|comment|combien|est-ce|pourquoi|ou|what|how|which|do you|does|can you|are you|why|where|que|como|cuanto|cuanta|cuando|donde|cual|hacen|tienen|was|wie|wann|wo|welche|warum|kostet|konnen|bieten|كم|ما|ماذا|هل|كيف|متى|اين|כמה|מה|האם|איך|מתי|איפה)(?!\w)")]
    private static partial Regex QuestionPattern();

    [GeneratedRegex(@"^(bonjour|allo|salut|bonsoir|hello|hi|hey|good (morning|afternoon|evening)|hola|buenos dias|buenas tardes|buenas noches|buenas|hallo|guten (tag|morgen|abend)|servus|moin|مرحبا|اهلا|السلام عليكم|שלום|היי)[ !.,]*$")]
    private static partial Regex GreetingPattern();

    [GeneratedRegex(@"^(?:[\s,.!;:-]|bonjour|bonsoir|allo|salut|hi|hello|hey|good (?:morning|afternoon|evening)|hola|buenos dias|hallo|guten tag|oui|yes|je m'appelle|mon nom est|mon nom c'est|my name is|my name's|this is|i'm|i am|je suis|ici|moi c'est|c'est|it's|me llamo|mi nombre es|soy|ich heisse|ich heiße|mein name ist|ich bin|اسمي|انا|أنا|مرحبا|שמי|קוראים לי|אני|שלום)*$", RegexOptions.NonBacktracking)]
    private static partial Regex IntroductionPattern();

    [GeneratedRegex(@"^(?:(?:ok|okay|d'accord|parfait|super|merci|merci beaucoup|thanks|thank you|thanks a lot|thx|bye|goodbye|au revoir|bonne journee|bonne soiree|have a nice day|gracias|danke|cool|great|perfect)[\s,.!]*)+$", RegexOptions.NonBacktracking)]
    private static partial Regex PleasantryPattern();

    [GeneratedRegex(@"\b(soumission|soumissions|devis|estimation|estime|prix|cout|couts|combien|tarif|tarifs|rendez-vous|installer|installation|remplacer|remplacement|inspection|quote|quotes|estimate|price|prices|cost|how much|appointment|book|install|replace|replacement|inspect|presupuesto|cotizacion|precio|angebot|kostenvoranschlag|preis|termin)\b")]
    private static partial Regex ServicePattern();

    [GeneratedRegex(@"^\d{1,6}[a-z]?(?:-\d{1,6})?,?\s+\p{L}")]
    private static partial Regex LeadingNumberPattern();

    [GeneratedRegex(@"\b[a-z]\d[a-z] ?\d[a-z]\d\b")]
    private static partial Regex PostalCodePattern();

    [GeneratedRegex(@"^[\p{L}][\p{L}'’.-]*(?:\s+[\p{L}][\p{L}'’.-]*){0,3}$")]
    private static partial Regex BareNamePattern();
}
