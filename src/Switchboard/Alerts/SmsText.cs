using Switchboard.Calls;
using Switchboard.Platform.Phones;

namespace Switchboard.Alerts;

/// <summary>
/// Staff-facing SMS text in the language of the alert policy, else the tenant's locale: each language the receptionist
/// speaks (<see cref="Brain.ReceptionistLanguage.All"/>: en, fr, es, de, ar, he; English for any other), with the same
/// facts: a head (urgency and business), the caller's name and number, the address, the problem, and what to do. The
/// encoding follows the whole text (<see cref="SmsSegments"/>: GSM-7 when every character fits it, else UCS-2, as Hebrew
/// and Arabic always are), and the text is kept within <see cref="EmergencySegments"/> segments for an emergency
/// (<see cref="LeadSegments"/> otherwise) by trimming the problem, never the facts (number, address, urgency). One fact
/// per line. A trimmed problem ends with "..." (GSM-7, unlike "…"). In Hebrew and Arabic the number follows a
/// left-to-right mark (U+200E), so that a right-to-left line shows "+972…" and not "972…+".
/// </summary>
internal static class SmsText
{
    public const int EmergencySegments = 2;
    public const int LeadSegments = 3;
    private const string Separator = "\n"; // one fact per line: LF is 1 GSM-7 septet, where "|" (extension table) is 2
    private const string Ellipsis = "...";
    private const string LeftToRightMark = "\u200E";

    /// <summary>
    /// The fixed words of one language. Spanish and German avoid letters outside GSM-7 (ó, ú…) where a common word exists
    /// ("Domicilio", "teléfono"), so that their texts stay GSM-7 (160 septets a segment) unless the caller's words are not.
    /// </summary>
    private sealed record Words(
        string Emergency, string NewLead, string Caller, string HiddenNumber, string Address, string Problem,
        string CallBackNow, string CallBackSoon, string NewCallbackNumber, bool RightToLeft = false);

    /// <summary>The words by two-letter code: every language of <see cref="Brain.ReceptionistLanguage.All"/>.</summary>
    private static readonly Dictionary<string, Words> Languages = new()
    {
        ["en"] = new("EMERGENCY", "New lead", "Caller", " (caller id hidden, no callback number)", "Address: ", "Problem: ",
            "Call back now.", "Please call back.", "New callback number: "),
        ["fr"] = new("URGENCE", "Nouveau client", "Client", " (numéro masqué, aucun numéro de rappel)", "Adresse : ", "Problème : ",
            "Rappeler immédiatement.", "Rappeler dès que possible.", "Nouveau numéro de rappel : "),
        ["es"] = new("URGENCIA", "Nuevo cliente", "Cliente", " (identificador oculto, sin teléfono de contacto)", "Domicilio: ", "Problema: ",
            "Llamar de inmediato.", "Llamar lo antes posible.", "Nuevo teléfono de contacto: "),
        ["de"] = new("NOTFALL", "Neue Anfrage", "Anrufer", " (Rufnummer unterdrückt, keine Rückrufnummer)", "Adresse: ", "Problem: ",
            "Sofort zurückrufen.", "Bitte zurückrufen.", "Neue Rückrufnummer: "),
        ["ar"] = new("طوارئ", "عميل جديد", "المتصل", " (الرقم محجوب، لا يوجد رقم للاتصال)", "العنوان: ", "المشكلة: ",
            "اتصل فورًا.", "يرجى الاتصال في أقرب وقت.", "رقم جديد للاتصال: ", RightToLeft: true),
        ["he"] = new("חירום", "פנייה חדשה", "לקוח", " (מספר חסוי, אין מספר לחזרה)", "כתובת: ", "הבעיה: ",
            "לחזור מיד.", "לחזור בהקדם.", "מספר חדש לחזרה: ", RightToLeft: true),
    };

    /// <summary>The two-letter codes of the languages the texts are written in.</summary>
    public static IReadOnlyCollection<string> LanguageCodes => Languages.Keys;

    /// <summary>The words for a BCP 47 tag (<c>he-IL</c>, <c>es</c>…), as the receptionist picks its language; English when none.</summary>
    private static Words For(string language) => Languages[Brain.ReceptionistLanguage.For(language).Code];

    /// <summary>The number as it is shown on a line: after a left-to-right mark in a right-to-left language.</summary>
    private static string Number(Words w, string? phone) => w.RightToLeft ? LeftToRightMark + phone : phone ?? "";

    /// <summary>
    /// True when <paramref name="tag"/> is a BCP 47 tag (<see cref="Platform.Http.Validation.IsLocale"/>) of one of
    /// <see cref="LanguageCodes"/>: <c>fr</c>, <c>fr-CA</c>, <c>he-IL</c>…
    /// </summary>
    public static bool IsWrittenIn(string? tag) =>
        Platform.Http.Validation.IsLocale(tag) && Languages.ContainsKey(tag!.Split('-')[0].ToLowerInvariant());

    /// <summary>
    /// The follow-up to an emergency alert already sent for the call: the callback number it lacked or that changed, e.g.
    /// "URGENCE Drain Fortin\nNouveau numéro de rappel : Marie Tremblay +15145550777\nRappeler immédiatement." One segment
    /// for a name of ordinary length (GSM-7 in en, fr, es, de; UCS-2 in ar, he); the lead's phone must be E.164.
    /// </summary>
    public static string NewCallbackNumber(string business, Lead lead, string language)
    {
        var w = For(language);
        return string.Join(Separator,
            $"{w.Emergency} {business}",
            w.NewCallbackNumber + (lead.Name is null ? "" : lead.Name + " ") + Number(w, lead.Phone),
            w.CallBackNow);
    }

    /// <summary>
    /// The alert for a lead in <paramref name="language"/> (a BCP 47 tag), at most <see cref="EmergencySegments"/> segments
    /// for an emergency and <see cref="LeadSegments"/> otherwise, unless the facts alone are longer.
    /// </summary>
    public static string ForLead(string business, Lead lead, bool emergency, string language)
    {
        var w = For(language);
        var callable = Phones.IsE164(lead.Phone);
        var before = new List<string>
        {
            $"{(emergency ? w.Emergency : w.NewLead)} {business}",
            (lead.Name ?? w.Caller) + (callable || lead.Phone?.Any(char.IsAsciiDigit) == true ? " " + Number(w, lead.Phone) : w.HiddenNumber),
        };
        if (lead.Address is not null)
        {
            before.Add(w.Address + lead.Address);
        }
        var after = emergency ? w.CallBackNow : w.CallBackSoon;
        var problemLabel = w.Problem;
        var max = emergency ? EmergencySegments : LeadSegments;

        string Compose(string? problem) =>
            string.Join(Separator, problem is null ? [.. before, after] : (IEnumerable<string>)[.. before, problemLabel + problem, after]);

        var problem = lead.Problem?.Trim();
        if (string.IsNullOrEmpty(problem))
        {
            return Compose(null);
        }
        var full = Compose(problem);
        if (SmsSegments.Count(full).Segments <= max)
        {
            return full;
        }
        // The longest prefix of the problem that fits: fitting is monotonic in the prefix length (a longer prefix has
        // as many units or more, and can only move GSM-7 to UCS-2), so a binary search finds it.
        int low = 0, high = problem.Length - 1;
        while (low < high)
        {
            var mid = (low + high + 1) / 2;
            if (SmsSegments.Count(Compose(Trimmed(problem, mid))).Segments <= max)
            {
                low = mid;
            }
            else
            {
                high = mid - 1;
            }
        }
        return low == 0 || SmsSegments.Count(Compose(Trimmed(problem, low))).Segments > max
            ? Compose(null) // not even a word of the problem fits beside the facts: the facts go alone
            : Compose(Trimmed(problem, low));
    }

    /// <summary>The first <paramref name="length"/> characters, back to a word boundary when one is near, never splitting a surrogate pair, plus "...".</summary>
    private static string Trimmed(string problem, int length)
    {
        if (length > 0 && char.IsHighSurrogate(problem[length - 1]))
        {
            length--;
        }
        var cut = problem[..length];
        var space = cut.LastIndexOf(' ');
        if (space > length * 2 / 3 && length < problem.Length && problem[length] != ' ')
        {
            cut = cut[..space];
        }
        return cut.TrimEnd(' ', ',', ';', ':', '.', '-') + Ellipsis;
    }
}
