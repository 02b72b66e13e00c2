using System.Globalization;
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
/// <remarks>
/// The other texts staff get are here too, in the same languages and chosen the same way (the alert policy's language, else
/// the tenant's locale; English for any other): the voice assistant that could not reach its provider
/// (<see cref="VoiceFailure"/>), the webhook endpoint disabled after days of failures (<see cref="WebhookDisabled"/>) and
/// the failed subscription payment (<see cref="PaymentFailed"/>). Each is one sentence or two under a "Switchboard
/// {business}" head, one GSM-7 segment (160 septets) in English, French and German with a business name and host of
/// ordinary length; Spanish keeps to one where its spelling allows (<c>días</c> makes the webhook text UCS-2, two segments
/// of 67 units), and Hebrew and Arabic (UCS-2) to two. In Hebrew and Arabic they open with a word of the language (a text
/// that opens with a Latin word is laid out left to right by phones, which take the first strong letter as the direction)
/// and every left-to-right run (the brand, a number, a time, a date, a host) follows a left-to-right mark.
/// </remarks>
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
        string CallBackNow, string CallBackSoon, string NewCallbackNumber, bool RightToLeft = false)
    {
        /// <summary>How a date is written: ISO 8601 in English (one reading for a US and a UK reader) and Québec French, else the country's.</summary>
        public required string DateFormat { get; init; }

        /// <summary>(business, local time <c>HH:mm</c>) → a phone line's voice assistant could not reach its provider; callers leave a message.</summary>
        public required Func<string, string, string> PhoneVoiceDown { get; init; }

        /// <summary>(business, local time <c>HH:mm</c>) → the website widget's voice could not reach its provider; visitors write in the chat.</summary>
        public required Func<string, string, string> WebVoiceDown { get; init; }

        /// <summary>(business, host, days) → a webhook endpoint was disabled after days of failed deliveries.</summary>
        public required Func<string, string, string, string> WebhookDisabled { get; init; }

        /// <summary>(business, date) → the subscription payment failed; the card must be updated before the date.</summary>
        public required Func<string, string, string> PaymentFailed { get; init; }
    }

    /// <summary>The words by two-letter code: every language of <see cref="Brain.ReceptionistLanguage.All"/>.</summary>
    private static readonly Dictionary<string, Words> Languages = new()
    {
        ["en"] = new("EMERGENCY", "New lead", "Caller", " (caller id hidden, no callback number)", "Address: ", "Problem: ",
            "Call back now.", "Please call back.", "New callback number: ")
        {
            DateFormat = "yyyy-MM-dd",
            PhoneVoiceDown = (business, time) =>
                $"Switchboard {business}: the voice assistant could not reach its speech provider ({time}). Callers are asked to leave a message.",
            WebVoiceDown = (business, time) =>
                $"Switchboard {business}: the website widget's voice could not reach its speech provider ({time}). Visitors are asked to write in the chat instead.",
            WebhookDisabled = (business, host, days) =>
                $"Switchboard {business}: webhook {host} was disabled after {days} days of failed deliveries. Re-enable it in Switchboard once it is fixed.",
            PaymentFailed = (business, date) =>
                $"Switchboard {business}: your subscription payment failed. Update your card before {date} to keep your plan.",
        },
        ["fr"] = new("URGENCE", "Nouveau client", "Client", " (numéro masqué, aucun numéro de rappel)", "Adresse : ", "Problème : ",
            "Rappeler immédiatement.", "Rappeler dès que possible.", "Nouveau numéro de rappel : ")
        {
            DateFormat = "yyyy-MM-dd",
            PhoneVoiceDown = (business, time) =>
                $"Switchboard {business}: l'assistant vocal n'a pas pu joindre son fournisseur ({time}). Les appelants laissent un message.",
            WebVoiceDown = (business, time) =>
                $"Switchboard {business}: la voix du widget n'a pas pu joindre son fournisseur ({time}). Les visiteurs du site sont invités à écrire dans le clavardage.",
            WebhookDisabled = (business, host, days) =>
                $"Switchboard {business}: le webhook {host} est désactivé après {days} jours d'échecs. Réactivez-le dans Switchboard une fois le problème réglé.",
            PaymentFailed = (business, date) =>
                $"Switchboard {business}: le paiement de votre abonnement a échoué. Mettez à jour votre carte avant le {date} pour garder votre forfait.",
        },
        ["es"] = new("URGENCIA", "Nuevo cliente", "Cliente", " (identificador oculto, sin teléfono de contacto)", "Domicilio: ", "Problema: ",
            "Llamar de inmediato.", "Llamar lo antes posible.", "Nuevo teléfono de contacto: ")
        {
            DateFormat = "dd/MM/yyyy",
            PhoneVoiceDown = (business, time) =>
                $"Switchboard {business}: el asistente de voz no pudo conectarse a su proveedor ({time}). Se pide a quien llama que deje un mensaje.",
            WebVoiceDown = (business, time) =>
                $"Switchboard {business}: la voz del widget del sitio web no pudo conectarse a su proveedor ({time}). Se pide a los visitantes que escriban en el chat.",
            WebhookDisabled = (business, host, days) =>
                $"Switchboard {business}: webhook {host} desactivado tras {days} días de fallos. Reactívelo en Switchboard una vez resuelto.",
            PaymentFailed = (business, date) =>
                $"Switchboard {business}: el cobro de su plan fue rechazado. Actualice su tarjeta antes del {date} para no perder el servicio.",
        },
        ["de"] = new("NOTFALL", "Neue Anfrage", "Anrufer", " (Rufnummer unterdrückt, keine Rückrufnummer)", "Adresse: ", "Problem: ",
            "Sofort zurückrufen.", "Bitte zurückrufen.", "Neue Rückrufnummer: ")
        {
            DateFormat = "dd.MM.yyyy",
            PhoneVoiceDown = (business, time) =>
                $"Switchboard {business}: Der Sprachassistent konnte seinen Anbieter nicht erreichen ({time}). Anrufer werden gebeten, eine Nachricht zu hinterlassen.",
            WebVoiceDown = (business, time) =>
                $"Switchboard {business}: Die Sprachfunktion des Website-Widgets konnte ihren Anbieter nicht erreichen ({time}). Besucher werden gebeten, im Chat zu schreiben.",
            WebhookDisabled = (business, host, days) =>
                $"Switchboard {business}: Webhook {host} wurde nach {days} Tagen mit Fehlern deaktiviert. Bitte nach der Behebung in Switchboard wieder aktivieren.",
            PaymentFailed = (business, date) =>
                $"Switchboard {business}: Die Zahlung für Ihr Abo ist fehlgeschlagen. Bitte aktualisieren Sie Ihre Karte vor dem {date}, um Ihren Tarif zu behalten.",
        },
        ["ar"] = new("طوارئ", "عميل جديد", "المتصل", " (الرقم محجوب، لا يوجد رقم للاتصال)", "العنوان: ", "المشكلة: ",
            "اتصل فورًا.", "يرجى الاتصال في أقرب وقت.", "رقم جديد للاتصال: ", RightToLeft: true)
        {
            DateFormat = "dd/MM/yyyy",
            PhoneVoiceDown = (business, time) =>
                $"تنبيه {LeftToRightMark}Switchboard – {business}: تعذر على المساعد الصوتي الاتصال بمزود الخدمة الساعة {time}. يُطلب من المتصلين ترك رسالة.",
            WebVoiceDown = (business, time) =>
                $"تنبيه {LeftToRightMark}Switchboard – {business}: تعذر على المساعد الصوتي للموقع الاتصال بمزود الخدمة الساعة {time}. يُطلب من الزوار استخدام الدردشة.",
            WebhookDisabled = (business, host, days) =>
                $"تنبيه {LeftToRightMark}Switchboard – {business}: تم تعطيل {LeftToRightMark}webhook {host} بعد {days} أيام من فشل الإرسال. أعد تفعيله بعد إصلاح المشكلة.",
            PaymentFailed = (business, date) =>
                $"تنبيه {LeftToRightMark}Switchboard – {business}: فشل دفع اشتراكك. يرجى تحديث بطاقتك قبل {date} للاحتفاظ بباقتك.",
        },
        ["he"] = new("חירום", "פנייה חדשה", "לקוח", " (מספר חסוי, אין מספר לחזרה)", "כתובת: ", "הבעיה: ",
            "לחזור מיד.", "לחזור בהקדם.", "מספר חדש לחזרה: ", RightToLeft: true)
        {
            DateFormat = "dd/MM/yyyy",
            PhoneVoiceDown = (business, time) =>
                $"התראת {LeftToRightMark}Switchboard – {business}: העוזר הקולי לא הצליח להתחבר לספק שלו בשעה {time}. המתקשרים מתבקשים להשאיר הודעה.",
            WebVoiceDown = (business, time) =>
                $"התראת {LeftToRightMark}Switchboard – {business}: העוזר הקולי באתר לא הצליח להתחבר לספק שלו בשעה {time}. מבקרי האתר מתבקשים לכתוב בצ'אט.",
            WebhookDisabled = (business, host, days) =>
                $"התראת {LeftToRightMark}Switchboard – {business}: ה-{LeftToRightMark}webhook {host} הושבת אחרי {days} ימים של כשלים. יש להפעיל אותו מחדש לאחר התיקון.",
            PaymentFailed = (business, date) =>
                $"התראת {LeftToRightMark}Switchboard – {business}: התשלום על המנוי נכשל. יש לעדכן את כרטיס האשראי לפני {date} כדי לשמור על החבילה.",
        },
    };

    /// <summary>The two-letter codes of the languages the texts are written in.</summary>
    public static IReadOnlyCollection<string> LanguageCodes => Languages.Keys;

    /// <summary>The words for a BCP 47 tag (<c>he-IL</c>, <c>es</c>…), as the receptionist picks its language; English when none.</summary>
    private static Words For(string language) => Languages[Brain.ReceptionistLanguage.For(language).Code];

    /// <summary>The number as it is shown on a line: after a left-to-right mark in a right-to-left language.</summary>
    private static string Number(Words w, string? phone) => LeftToRight(w, phone ?? "");

    /// <summary>A left-to-right run (a number, a time, a date, a host) as it is shown: after a left-to-right mark in a right-to-left language.</summary>
    private static string LeftToRight(Words w, string run) => w.RightToLeft ? LeftToRightMark + run : run;

    /// <summary>
    /// True when <paramref name="tag"/> is a BCP 47 tag (<see cref="Platform.Http.Validation.IsLocale"/>) of one of
    /// <see cref="LanguageCodes"/>: <c>fr</c>, <c>fr-CA</c>, <c>he-IL</c>…
    /// </summary>
    public static bool IsWrittenIn(string? tag) =>
        Platform.Http.Validation.IsLocale(tag) && Languages.ContainsKey(tag!.Split('-')[0].ToLowerInvariant());

    /// <summary>
    /// The text to the on-call (else office) numbers when a native call's or a web voice session's realtime model could not
    /// be reached at <paramref name="at"/> (the business's local time, shown <c>HH:mm</c>): a phone caller is asked to leave
    /// a message (<paramref name="web"/> false), a website visitor to write in the chat (true). E.g. "Switchboard Drain Fortin:
    /// l'assistant vocal n'a pas pu joindre son fournisseur (14:05). Les appelants laissent un message."
    /// </summary>
    public static string VoiceFailure(string business, TimeOnly at, bool web, string language)
    {
        var w = For(language);
        var time = LeftToRight(w, at.ToString("HH:mm", CultureInfo.InvariantCulture));
        return web ? w.WebVoiceDown(business, time) : w.PhoneVoiceDown(business, time);
    }

    /// <summary>
    /// The text to the on-call and office numbers when a webhook endpoint at <paramref name="host"/> was disabled after
    /// <paramref name="days"/> days of failed deliveries (shown to one decimal in the language's number format, e.g. "5",
    /// "2,5"). E.g. "Switchboard Drain Fortin: webhook hooks.example.com was disabled after 5 days of failed deliveries.
    /// Re-enable it in Switchboard once it is fixed."
    /// </summary>
    public static string WebhookDisabled(string business, string host, double days, string language)
    {
        var w = For(language);
        var culture = Brain.ReceptionistLanguage.For(language).CultureInfo;
        return w.WebhookDisabled(business, LeftToRight(w, host), LeftToRight(w, days.ToString("0.#", culture)));
    }

    /// <summary>
    /// The text to the office (else on-call) numbers when the subscription payment failed: the card must be updated before
    /// <paramref name="graceEnds"/> (the last day of the grace, in the business's time zone, written the language's way, e.g.
    /// "12.05.2026" in German).
    /// </summary>
    public static string PaymentFailed(string business, DateOnly graceEnds, string language)
    {
        var w = For(language);
        return w.PaymentFailed(business, LeftToRight(w, graceEnds.ToString(w.DateFormat, CultureInfo.InvariantCulture)));
    }

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
