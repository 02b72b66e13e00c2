using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Switchboard.Calls;
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
/// is then captured at once so the on-call staff is texted), and closes with what happens next. French or English,
/// per message (accents and stop words), else the conversation's language.
/// </summary>
internal static partial class OfflineReceptionist
{
    /// <summary>Most characters of a knowledge passage quoted back.</summary>
    public const int QuoteLength = 300;

    /// <summary>
    /// Answers <paramref name="text"/>, updating <paramref name="state"/>. The caller runs <c>capture_lead</c> with
    /// <see cref="ReceptionistReply.CaptureArguments"/> when set.
    /// </summary>
    public static ReceptionistReply Answer(
        Tenant tenant, ReceptionistState state, string text, string conversationLanguage, DateTimeOffset now, KnowledgePassage? knowledge)
    {
        var fr = IsFrench(text) ?? conversationLanguage.StartsWith("fr", StringComparison.OrdinalIgnoreCase);
        var say = new StringBuilder();
        if (!state.Introduced)
        {
            state.Introduced = true;
            var open = BusinessHoursCalculator.IsOpen(tenant.BusinessHours, tenant.TimeZone, now);
            say.Append(fr
                ? $"Vous écrivez à l'assistant automatique de {tenant.Name} ({(open ? "nous sommes ouverts" : "nous sommes fermés en ce moment")}). "
                : $"You are chatting with {tenant.Name}'s automated assistant ({(open ? "we are open" : "we are closed right now")}). ");
        }

        var phone = FindPhone(text);
        var urgency = UrgencyClassifier.Classify(text, tenant.UrgencyRules).Urgency;
        var wasEmergency = state.Urgency == Calls.Urgency.Emergency;
        state.Urgency = Calls.Urgency.Max(state.Urgency, urgency);
        var name = NamePattern().Match(text) is { Success: true } m ? Clean(m.Groups["name"].Value, 100) : null;

        // A question about hours or from the knowledge base is answered, then the slot filling resumes where it was.
        var asksHours = HoursPattern().IsMatch(Fold(text)) && urgency != Calls.Urgency.Emergency;
        if (asksHours)
        {
            say.Append(Hours(tenant, now, fr)).Append(' ');
        }
        else if (knowledge is not null && state.Problem is null && urgency == Calls.Urgency.Routine && LooksLikeQuestion(text))
        {
            var quote = knowledge.Text.Length > QuoteLength ? knowledge.Text[..QuoteLength].TrimEnd() + "…" : knowledge.Text;
            say.Append(fr ? $"D'après « {knowledge.Title} » : {quote} " : $"From \"{knowledge.Title}\": {quote} ");
            return new(say.Append(fr ? "Puis-je faire autre chose pour vous ?" : "Can I help with anything else?").ToString().Trim(), null);
        }

        // Slots from this message, by stage.
        switch (state.Stage)
        {
            case "name" when name is null && phone is null && !asksHours:
                name = Clean(text, 100);
                break;
            case "address" when !asksHours && phone is null:
                state.Address = IsRefusal(text) ? state.Address : Clean(text, 300);
                break;
        }
        if (phone is not null)
        {
            state.Phone = phone;
        }
        if (name is not null)
        {
            state.Name = name;
        }
        if (state.Problem is null && !asksHours && (urgency != Calls.Urgency.Routine || state.Stage == "problem") && !IsGreeting(text))
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
        // after one ask; a routine lead once the problem, name and number are known.
        var complete = state.Problem is not null && state.Name is not null && state.Phone is not null;
        if (state.Problem is not null && ((emergency && (state.Phone is not null || state.PhoneAsks > 0)) || complete || state.LeadCaptured))
        {
            capture = Arguments(state);
            state.LeadCaptured = true;
        }
        if (emergency && (!wasEmergency || (capture is not null && !capturedBefore)))
        {
            say.Append((capture is not null, fr) switch
            {
                (true, true) => wasEmergency ? "Le plombier de garde est prévenu par texto immédiatement. " : "C'est une urgence : le plombier de garde est prévenu par texto immédiatement. ",
                (true, false) => wasEmergency ? "The on-call technician is being texted right now. " : "This is an emergency: the on-call technician is being texted right now. ",
                (false, true) => "C'est une urgence : le plombier de garde sera prévenu par texto dès que j'aurai votre numéro. ",
                (false, false) => "This is an emergency: the on-call technician will be texted as soon as I have your number. ",
            });
        }

        // The next question, or what happens next.
        if (state.Problem is null)
        {
            state.Stage = "problem";
            say.Append(fr ? "Comment puis-je vous aider ? Décrivez-moi votre problème." : "How can I help? Please describe the problem.");
        }
        else if (state.Phone is null && (emergency || state.Name is not null) && state.PhoneAsks < 2)
        {
            state.Stage = "phone";
            state.PhoneAsks++;
            say.Append(state.PhoneAsks > 1 && phone is null
                ? (fr ? "Je n'ai pas reconnu de numéro. Quel est votre numéro de téléphone (10 chiffres) ?" : "I did not recognise a number. What is your phone number (10 digits)?")
                : (fr ? "À quel numéro pouvons-nous vous rappeler ?" : "What number can we call you back on?"));
        }
        else if (state.Name is null && state.Stage != "name")
        {
            state.Stage = "name";
            say.Append(fr ? "Quel est votre nom ?" : "May I have your name?");
        }
        else if (state.Address is null && state.Stage != "address" && state.Stage != "done")
        {
            state.Stage = "address";
            say.Append(fr ? "Quelle est l'adresse des travaux ?" : "What is the address of the job?");
        }
        else
        {
            state.Stage = "done";
            say.Append(Next(tenant, state, now, fr));
        }
        return new(say.ToString().Trim(), capture);
    }

    private static string Next(Tenant tenant, ReceptionistState state, DateTimeOffset now, bool fr)
    {
        var number = state.Phone ?? (fr ? "le numéro indiqué" : "the number you gave");
        if (state.Urgency == Calls.Urgency.Emergency)
        {
            return fr ? $"Merci. Le plombier de garde vous rappelle au {number} dans les prochaines minutes. En attendant, fermez l'entrée d'eau principale si vous le pouvez."
                      : $"Thank you. The on-call technician will call you at {number} within minutes. Meanwhile, shut off the main water valve if you can.";
        }
        if (BusinessHoursCalculator.IsOpen(tenant.BusinessHours, tenant.TimeZone, now))
        {
            return fr ? $"Merci, c'est noté. Un membre de l'équipe de {tenant.Name} vous rappelle au {number} aujourd'hui."
                      : $"Thank you, that's noted. Someone from {tenant.Name} will call you at {number} today.";
        }
        var next = BusinessHoursCalculator.NextOpening(tenant.BusinessHours, tenant.TimeZone, now);
        var when = next is { } n ? TimeZoneInfo.ConvertTime(n, BusinessHoursCalculator.Zone(tenant.TimeZone))
            .ToString(fr ? "dddd 'à' HH'h'mm" : "dddd 'at' h:mm tt", CultureInfo.GetCultureInfo(fr ? "fr-CA" : "en-US")) : null;
        return fr ? $"Merci, c'est noté. Nous sommes fermés ; nous vous rappelons au {number} dès l'ouverture{(when is null ? "" : $" ({when})")}."
                  : $"Thank you, that's noted. We are closed now; we will call you at {number} when we open{(when is null ? "" : $" ({when})")}.";
    }

    private static string Hours(Tenant tenant, DateTimeOffset now, bool fr)
    {
        var open = BusinessHoursCalculator.IsOpen(tenant.BusinessHours, tenant.TimeZone, now);
        var today = BusinessHoursCalculator.TodayRanges(tenant.BusinessHours, tenant.TimeZone, now);
        var culture = CultureInfo.GetCultureInfo(fr ? "fr-CA" : "en-US");
        var week = string.Join(", ", Enumerable.Range(1, 7).Select(i => (DayOfWeek)(i % 7))
            .Where(d => tenant.BusinessHours.Weekly.TryGetValue(d, out var r) && r.Count > 0)
            .Select(d => $"{culture.DateTimeFormat.GetDayName(d)} {string.Join(" / ", tenant.BusinessHours.Weekly[d])}"));
        var status = open
            ? (fr ? $"Nous sommes ouverts en ce moment (aujourd'hui : {string.Join(", ", today)})." : $"We are open now (today: {string.Join(", ", today)}).")
            : (fr ? "Nous sommes fermés en ce moment." : "We are closed right now.");
        return $"{status} {(fr ? "Nos heures" : "Our hours")} : {week}.".Replace(" :", fr ? " :" : ":");
    }

    private static JsonElement Arguments(ReceptionistState state) => JsonSerializer.SerializeToElement(new Dictionary<string, string?>
    {
        ["problem"] = state.Problem,
        ["name"] = state.Name,
        ["phone"] = state.Phone,
        ["address"] = state.Address,
        ["urgency"] = state.Urgency,
    }.Where(p => p.Value is not null).ToDictionary());

    /// <summary>True for French, false for English, null when the message does not tell.</summary>
    internal static bool? IsFrench(string text)
    {
        var words = Fold(text).Split([' ', ',', '.', '!', '?', '\'', '’', ';', ':', '\n'], StringSplitOptions.RemoveEmptyEntries);
        var fr = words.Count(w => FrenchWords.Contains(w)) + (text.Any(c => "éèêàùçôîâœ".Contains(char.ToLowerInvariant(c))) ? 2 : 0);
        var en = words.Count(w => EnglishWords.Contains(w));
        return fr == en ? null : fr > en;
    }

    private static readonly HashSet<string> FrenchWords =
        ["le", "la", "les", "un", "une", "des", "est", "et", "je", "mon", "ma", "mes", "nous", "vous", "il", "y", "a", "de", "du", "au", "pour",
         "bonjour", "merci", "oui", "non", "quel", "quelle", "quand", "comment", "ouvert", "ouverts", "heures", "sous-sol", "eau", "avec", "pas"];

    private static readonly HashSet<string> EnglishWords =
        ["the", "a", "an", "is", "and", "i", "my", "we", "you", "it", "there", "of", "to", "for", "hello", "hi", "thanks", "yes", "no", "what",
         "when", "how", "open", "hours", "basement", "water", "with", "not", "have", "has", "please", "call", "me"];

    /// <summary>A North American or E.164 number in the text, normalised to E.164; null when none.</summary>
    internal static string? FindPhone(string text)
    {
        foreach (Match m in PhonePattern().Matches(text))
        {
            var digits = new string(m.Value.Where(char.IsAsciiDigit).ToArray());
            if (m.Value.TrimStart().StartsWith('+') && digits.Length is >= 8 and <= 15)
            {
                return "+" + digits;
            }
            if (digits.Length == 10 && digits[0] is >= '2' and <= '9')
            {
                return "+1" + digits;
            }
            if (digits.Length == 11 && digits[0] == '1')
            {
                return "+" + digits;
            }
        }
        return null;
    }

    private static bool LooksLikeQuestion(string text) => text.Contains('?') || QuestionPattern().IsMatch(Fold(text));

    private static bool IsGreeting(string text) => GreetingPattern().IsMatch(Fold(text).Trim());

    private static bool IsRefusal(string text) => Fold(text).Trim() is "non" or "no" or "pas maintenant" or "skip" or "-";

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

    [GeneratedRegex(@"(?:\+\d[\d\s().-]{7,18}\d)|(?:\(?\b\d{3}\)?[\s.-]*\d{3}[\s.-]*\d{4}\b)|(?:\b1[\s.-]*\d{3}[\s.-]*\d{3}[\s.-]*\d{4}\b)")]
    private static partial Regex PhonePattern();

    [GeneratedRegex(@"\b(heures?|horaires?|ouverts?|ouverte|fermes?|hours|open|opening|closed)\b")]
    private static partial Regex HoursPattern();

    [GeneratedRegex(@"^(quel|quelle|quels|quelles|comment|combien|est-ce|pourquoi|ou|what|how|which|do you|does|can you|are you|why|where)\b")]
    private static partial Regex QuestionPattern();

    [GeneratedRegex(@"^(bonjour|allo|salut|bonsoir|hello|hi|hey|good (morning|afternoon|evening))[ !.,]*$")]
    private static partial Regex GreetingPattern();

    [GeneratedRegex(@"(?:je m'appelle|je m’appelle|mon nom est|my name is)\s+(?<name>[\p{L}][\p{L}' .-]{1,60}?)(?=$|[,.!?]|\s+(?:et|and|au|at|mon|my)\b)", RegexOptions.IgnoreCase)]
    private static partial Regex NamePattern();
}
