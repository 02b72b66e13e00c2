using System.Globalization;
using Switchboard.Tenancy;

namespace Switchboard.Brain;

/// <summary>
/// What the <see cref="OfflineReceptionist"/> says, in one of the widget's six languages (en, fr, es, de, ar, he:
/// widget/src/i18n.ts): greeting, opening hours, the questions for the problem, callback number, name and address, the
/// emergency wording and what happens next. French is Québec French; Arabic and Hebrew numbers are isolated (U+2066/U+2069)
/// so they read left to right inside right-to-left text. <c>Number</c> arguments are E.164 or null when the visitor gave none.
/// </summary>
internal sealed record ReceptionistLanguage(
    string Code,
    string Culture,
    Func<string, bool, string> Intro,
    Func<string, string> OpenNow,
    string ClosedNow,
    string HoursLabel,
    Func<string, string, string> Quote,
    string AnythingElse,
    string EmergencyAlerted,
    string StillAlerting,
    string EmergencyPending,
    string AskProblem,
    string AskPhone,
    string AskPhoneAgain,
    string AskName,
    string AskAddress,
    Func<string?, string> NextEmergency,
    Func<string, string?, string> NextOpen,
    Func<string?, string?, string> NextClosed,
    string NextOpeningFormat,
    IReadOnlyList<string> EmergencyCues)
{
    /// <summary>
    /// An emergency when nobody can be texted (no on-call number set): it is flagged, and nobody is said to be on the way.
    /// Used in place of <see cref="EmergencyAlerted"/>, <see cref="StillAlerting"/> and <see cref="EmergencyPending"/>.
    /// </summary>
    public string EmergencyFlagged => Code switch
    {
        "fr" => "C'est noté comme une urgence : l'équipe vous rappelle en priorité. ",
        "es" => "Queda anotado como una emergencia: el equipo le devolverá la llamada con prioridad. ",
        "de" => "Das ist als Notfall vermerkt: Das Team ruft Sie vorrangig zurück. ",
        "ar" => "تم تسجيل طلبك كحالة طارئة: سيعاود الفريق الاتصال بك على سبيل الأولوية. ",
        "he" => "זה נרשם כמקרה חירום: הצוות יחזור אליכם בעדיפות. ",
        _ => "This is noted as an emergency: the team will call you back first. ",
    };

    /// <summary>What happens next after an emergency when nobody can be texted: a priority callback, no promise of minutes.</summary>
    public string NextEmergencyFlagged(string? number) => Code switch
    {
        "fr" => $"Merci. Nous vous rappelons en priorité au {number ?? "numéro indiqué"}.",
        "es" => $"Gracias. Le llamaremos con prioridad al {number ?? "número que nos dio"}.",
        "de" => $"Danke. Wir rufen Sie vorrangig {(number is null ? "unter der angegebenen Nummer" : $"unter {number}")} zurück.",
        "ar" => $"شكرًا. سنعاود الاتصال بك على سبيل الأولوية {(number is null ? "على الرقم الذي زودتنا به" : $"على الرقم {Isolate(number)}")}.",
        "he" => $"תודה. נחזור אליכם בעדיפות {(number is null ? "למספר שמסרתם" : $"למספר {Isolate(number)}")}.",
        _ => $"Thank you. We will call you back first at {number ?? "the number you gave"}.",
    };

    /// <summary>
    /// Advice added to <see cref="NextEmergency"/> when the emergency is about water (<see cref="WaterCues"/>: a flood, a burst
    /// pipe, a leak), whatever the trade: shut off the main water valve.
    /// </summary>
    public string ShutOffWater => Code switch
    {
        "fr" => "En attendant, fermez l'entrée d'eau principale si vous le pouvez.",
        "es" => "Mientras tanto, cierre la llave de paso principal del agua si puede.",
        "de" => "Drehen Sie bis dahin, wenn möglich, den Hauptwasserhahn zu.",
        "ar" => "وفي الأثناء، أغلق محبس المياه الرئيسي إن استطعت.",
        "he" => "בינתיים, אם אפשר, סגרו את ברז המים הראשי.",
        _ => "Meanwhile, shut off the main water valve if you can.",
    };

    /// <summary>
    /// Words of a water problem in the six languages (matched like urgency cues: case, accents and word boundaries
    /// ignored), so that only such an emergency gets <see cref="ShutOffWater"/>: a locksmith's or a clinic's does not.
    /// </summary>
    public static readonly UrgencyRules WaterCues = new()
    {
        Emergency =
        [
            // Not the bare word "water": a dental patient who "put the tooth in water" was told to shut off the main valve.
            "water everywhere", "water damage", "flood", "flooded", "flooding", "burst pipe", "pipe burst", "pipe", "pipes", "leak", "leaking", "sewer backup",
            "eau partout", "pleine d'eau", "plein d'eau", "inondation", "inonde", "inondee", "tuyau", "tuyaux", "fuite", "refoulement", "degat d'eau",
            "agua por todas partes", "inundacion", "inundado", "inundada", "se inundo", "tuberia", "tubo", "fuga de agua",
            "unter wasser", "wasserschaden", "rohrbruch", "rohr", "uberschwemmung", "uberschwemmt", "uberflutet", "uberflutung",
            "المياه في كل مكان", "الماء في كل مكان", "غارق", "غارقة", "فيضان", "الفيضان", "ماسورة", "تسرب مياه", "تسرب الماء", "غمرت", "مغمور", "مغمورة",
            "מים בכל מקום", "הצפה", "בהצפה", "מוצף", "מוצפת", "הוצף", "הוצפה", "שיטפון", "צינור", "נזילה",
        ],
    };

    /// <summary>The languages by two-letter code.</summary>
    public static readonly IReadOnlyDictionary<string, ReceptionistLanguage> All = new Dictionary<string, ReceptionistLanguage>
    {
        ["en"] = new("en", "en-US",
            (name, open) => $"You are chatting with {name}'s automated assistant ({(open ? "we are open" : "we are closed right now")}). ",
            today => $"We are open now (today: {today}).", "We are closed right now.", "Our hours",
            (title, quote) => $"From \"{title}\": {quote} ", "Can I help with anything else?",
            "This is an emergency: the on-call technician is being texted right now. ", "The on-call technician is being texted right now. ",
            "This is an emergency: the on-call technician will be texted as soon as I have your number. ",
            "How can I help? Please describe the problem.", "What number can we call you back on?",
            "I did not recognise a number. What is your phone number (10 digits)?", "May I have your name?", "What is the address of the job?",
            n => $"Thank you. The on-call technician will call you at {n ?? "the number you gave"} within minutes.",
            (name, n) => $"Thank you, that's noted. Someone from {name} will call you at {n ?? "the number you gave"} today.",
            (n, when) => $"Thank you, that's noted. We are closed now; we will call you at {n ?? "the number you gave"} when we open{(when is null ? "" : $" ({when})")}.",
            "dddd 'at' h:mm tt", []),
        ["fr"] = new("fr", "fr-CA",
            (name, open) => $"Vous écrivez à l'assistant automatique de {name} ({(open ? "nous sommes ouverts" : "nous sommes fermés en ce moment")}). ",
            today => $"Nous sommes ouverts en ce moment (aujourd'hui : {today}).", "Nous sommes fermés en ce moment.", "Nos heures",
            (title, quote) => $"D'après « {title} » : {quote} ", "Puis-je faire autre chose pour vous ?",
            "C'est une urgence : le technicien de garde est prévenu par texto immédiatement. ", "Le technicien de garde est prévenu par texto immédiatement. ",
            "C'est une urgence : le technicien de garde sera prévenu par texto dès que j'aurai votre numéro. ",
            "Comment puis-je vous aider ? Décrivez-moi votre problème.", "À quel numéro pouvons-nous vous rappeler ?",
            "Je n'ai pas reconnu de numéro. Quel est votre numéro de téléphone (10 chiffres) ?", "Quel est votre nom ?", "Quelle est l'adresse des travaux ?",
            n => $"Merci. Le technicien de garde vous rappelle au {n ?? "numéro indiqué"} dans les prochaines minutes.",
            (name, n) => $"Merci, c'est noté. Un membre de l'équipe de {name} vous rappelle au {n ?? "numéro indiqué"} aujourd'hui.",
            (n, when) => $"Merci, c'est noté. Nous sommes fermés ; nous vous rappelons au {n ?? "numéro indiqué"} dès l'ouverture{(when is null ? "" : $" ({when})")}.",
            "dddd 'à' HH'h'mm", []),
        ["es"] = new("es", "es-MX",
            (name, open) => $"Está escribiendo al asistente automático de {name} ({(open ? "estamos abiertos" : "ahora mismo estamos cerrados")}). ",
            today => $"Ahora estamos abiertos (hoy: {today}).", "Ahora mismo estamos cerrados.", "Nuestro horario",
            (title, quote) => $"Según «{title}»: {quote} ", "¿Puedo ayudarle en algo más?",
            "Es una emergencia: estamos avisando por SMS al técnico de guardia ahora mismo. ", "Estamos avisando por SMS al técnico de guardia ahora mismo. ",
            "Es una emergencia: avisaremos por SMS al técnico de guardia en cuanto tenga su número. ",
            "¿En qué podemos ayudarle? Cuénteme el problema.", "¿A qué número podemos devolverle la llamada?",
            "No reconocí ningún número. ¿Cuál es su número de teléfono (10 dígitos)?", "¿Cuál es su nombre?", "¿En qué dirección hay que hacer el trabajo?",
            n => $"Gracias. El técnico de guardia le llamará al {n ?? "número que nos dio"} en los próximos minutos.",
            (name, n) => $"Gracias, queda anotado. Alguien de {name} le llamará hoy al {n ?? "número que nos dio"}.",
            (n, when) => $"Gracias, queda anotado. Ahora estamos cerrados; le llamaremos al {n ?? "número que nos dio"} en cuanto abramos{(when is null ? "" : $" ({when})")}.",
            "dddd 'a las' HH:mm",
            ["inundacion", "inundado", "inundada", "se inundo", "tuberia rota", "tubo roto", "tuberia reventada", "se reventó", "revento", "fuga grande",
             "aguas negras", "sin agua", "no tengo agua", "no hay agua", "emergencia", "urgencia", "agua por todas partes"]),
        ["de"] = new("de", "de-DE",
            (name, open) => $"Sie schreiben mit dem automatischen Assistenten von {name} ({(open ? "wir haben geöffnet" : "wir haben gerade geschlossen")}). ",
            today => $"Wir haben jetzt geöffnet (heute: {today}).", "Wir haben gerade geschlossen.", "Unsere Öffnungszeiten",
            (title, quote) => $"Laut „{title}“: {quote} ", "Kann ich sonst noch helfen?",
            "Das ist ein Notfall: Der Techniker im Bereitschaftsdienst wird sofort per SMS benachrichtigt. ",
            "Der Techniker im Bereitschaftsdienst wird sofort per SMS benachrichtigt. ",
            "Das ist ein Notfall: Der Techniker im Bereitschaftsdienst wird per SMS benachrichtigt, sobald ich Ihre Nummer habe. ",
            "Wie können wir helfen? Bitte beschreiben Sie das Problem.", "Unter welcher Nummer können wir Sie zurückrufen?",
            "Ich habe keine Nummer erkannt. Wie lautet Ihre Telefonnummer (10 Ziffern)?", "Wie ist Ihr Name?", "An welcher Adresse sollen wir arbeiten?",
            n => $"Danke. Der Techniker im Bereitschaftsdienst ruft Sie in den nächsten Minuten {(n is null ? "unter der angegebenen Nummer" : $"unter {n}")} an.",
            (name, n) => $"Danke, ist notiert. Jemand von {name} ruft Sie heute {(n is null ? "unter der angegebenen Nummer" : $"unter {n}")} zurück.",
            (n, when) => $"Danke, ist notiert. Wir haben gerade geschlossen; wir rufen Sie {(n is null ? "unter der angegebenen Nummer" : $"unter {n}")} zurück, sobald wir öffnen{(when is null ? "" : $" ({when})")}.",
            "dddd 'um' HH:mm 'Uhr'",
            ["uberschwemmung", "uberschwemmt", "uberflutet", "uberflutung", "hochwasser", "wasserschaden", "rohrbruch", "rohr geplatzt", "geplatzt",
             "unter wasser", "kein wasser", "notfall", "dringend"]),
        ["ar"] = new("ar", "ar-EG",
            (name, open) => $"أنت تراسل المساعد الآلي لشركة {name} ({(open ? "نحن مفتوحون الآن" : "نحن مغلقون حاليًا")}). ",
            today => $"نحن مفتوحون الآن (اليوم: {today}).", "نحن مغلقون حاليًا.", "ساعات العمل",
            (title, quote) => $"بحسب «{title}»: {quote} ", "هل يمكنني مساعدتك في شيء آخر؟",
            "هذه حالة طارئة: يتم الآن إبلاغ الفني المناوب برسالة نصية. ", "يتم الآن إبلاغ الفني المناوب برسالة نصية. ",
            "هذه حالة طارئة: سيتم إبلاغ الفني المناوب برسالة نصية فور حصولي على رقمك. ",
            "كيف يمكننا مساعدتك؟ يرجى وصف المشكلة.", "على أي رقم يمكننا معاودة الاتصال بك؟",
            "لم أتعرف على أي رقم. ما رقم هاتفك (10 أرقام)؟", "ما اسمك؟", "ما عنوان مكان العمل؟",
            n => $"شكرًا. سيتصل بك الفني المناوب {(n is null ? "على الرقم الذي زودتنا به" : $"على الرقم {Isolate(n)}")} خلال دقائق.",
            (name, n) => $"شكرًا، تم تسجيل طلبك. سيتصل بك أحد أفراد فريق {name} اليوم {(n is null ? "على الرقم الذي زودتنا به" : $"على الرقم {Isolate(n)}")}.",
            (n, when) => $"شكرًا، تم تسجيل طلبك. نحن مغلقون الآن؛ سنتصل بك {(n is null ? "على الرقم الذي زودتنا به" : $"على الرقم {Isolate(n)}")} فور افتتاحنا{(when is null ? "" : $" ({when})")}.",
            "dddd 'الساعة' HH:mm",
            ["فيضان", "الفيضان", "فيضانات", "غرق", "غارق", "غارقة", "غمرت", "غمرته", "مغمور", "مغمورة", "انفجار", "انفجر", "انفجرت", "ماسورة مكسورة",
             "تسرب كبير", "طوارئ", "الطوارئ", "طارئ", "طارئة", "عاجل", "لا يوجد ماء", "المياه في كل مكان", "الماء في كل مكان"]),
        ["he"] = new("he", "he-IL",
            (name, open) => $"אתם מתכתבים עם העוזר האוטומטי של {name} ({(open ? "אנחנו פתוחים עכשיו" : "אנחנו סגורים כרגע")}). ",
            today => $"אנחנו פתוחים עכשיו (היום: {today}).", "אנחנו סגורים כרגע.", "שעות הפעילות שלנו",
            (title, quote) => $"לפי \"{title}\": {quote} ", "אפשר לעזור במשהו נוסף?",
            "זה מקרה חירום: הטכנאי התורן מקבל הודעת SMS ממש עכשיו. ", "הטכנאי התורן מקבל הודעת SMS ממש עכשיו. ",
            "זה מקרה חירום: הטכנאי התורן יקבל הודעת SMS ברגע שיהיה לי המספר שלכם. ",
            "איך נוכל לעזור? תארו בבקשה את הבעיה.", "לאיזה מספר נוכל לחזור אליכם?",
            "לא זיהיתי מספר. מה מספר הטלפון שלכם (10 ספרות)?", "מה השם שלכם?", "מה הכתובת של העבודה?",
            n => $"תודה. הטכנאי התורן יתקשר אליכם {(n is null ? "למספר שמסרתם" : $"למספר {Isolate(n)}")} בדקות הקרובות.",
            (name, n) => $"תודה, רשמנו. מישהו מצוות {name} יחזור אליכם היום {(n is null ? "למספר שמסרתם" : $"למספר {Isolate(n)}")}.",
            (n, when) => $"תודה, רשמנו. אנחנו סגורים כרגע; נחזור אליכם {(n is null ? "למספר שמסרתם" : $"למספר {Isolate(n)}")} ברגע שנפתח{(when is null ? "" : $" ({when})")}.",
            "dddd 'בשעה' HH:mm",
            ["הצפה", "בהצפה", "מוצף", "מוצפת", "הוצף", "הוצפה", "שיטפון", "צינור התפוצץ", "פיצוץ צינור", "התפוצץ", "נזילה גדולה", "חירום", "דחוף",
             "מים בכל מקום", "אין מים"]),
    };

    /// <summary>
    /// Industries (the onboarding's template trades, <c>assistant-templates.json</c>) whose staff go to the customer: the
    /// receptionist speaks of "the on-call technician" and "the address of the job". A business that recorded no industry
    /// keeps that wording only when its urgency rules are a plumber's (<see cref="BusinessWording.For"/>: Drain Fortin, made
    /// by the demo seeder); any other (a business signed up but not onboarded, made by an operator) is spoken of neutrally.
    /// </summary>
    public static readonly IReadOnlySet<string> FieldTrades = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        "plumbing", "hvac", "electrician", "locksmith", "roofing",
    };

    /// <summary>
    /// This language's wording for a business of <paramref name="industry"/> (<c>TenantAccount.Industry</c>) that classifies
    /// urgency with <paramref name="rules"/> (<c>Tenant.UrgencyRules</c>): as it is for a field trade (<see cref="FieldTrades"/>),
    /// or an unrecorded industry whose rules are a plumber's; for any other business (a dental clinic, a hair salon, a
    /// notary, a trade this list does not know, no industry and other rules) trade-neutral: "the person on call", "what you
    /// need", "your address". The industry is resolved as the model's prompt resolves it (<see cref="BusinessWording.For"/>),
    /// so a chat never names a trade the model would not.
    /// </summary>
    public ReceptionistLanguage ForIndustry(string? industry, UrgencyRules rules) =>
        FieldTrades.Contains(BusinessWording.For(industry, rules).Key) ? this : Neutral[Code](this);

    /// <summary>The trade-neutral wording per language: who is texted in an emergency, the first question, the address.</summary>
    private static readonly Dictionary<string, Func<ReceptionistLanguage, ReceptionistLanguage>> Neutral = new()
    {
        ["en"] = l => l with
        {
            EmergencyAlerted = "This is an emergency: the person on call is being texted right now. ",
            StillAlerting = "The person on call is being texted right now. ",
            EmergencyPending = "This is an emergency: the person on call will be texted as soon as I have your number. ",
            AskProblem = "How can I help? Tell me briefly what you need.",
            AskAddress = "What is your address?",
            NextEmergency = n => $"Thank you. The person on call will call you at {n ?? "the number you gave"} within minutes.",
        },
        ["fr"] = l => l with
        {
            EmergencyAlerted = "C'est une urgence : la personne de garde est prévenue par texto immédiatement. ",
            StillAlerting = "La personne de garde est prévenue par texto immédiatement. ",
            EmergencyPending = "C'est une urgence : la personne de garde sera prévenue par texto dès que j'aurai votre numéro. ",
            AskProblem = "Comment puis-je vous aider ? Dites-moi en quelques mots ce dont vous avez besoin.",
            AskAddress = "Quelle est votre adresse ?",
            NextEmergency = n => $"Merci. La personne de garde vous rappelle au {n ?? "numéro indiqué"} dans les prochaines minutes.",
        },
        ["es"] = l => l with
        {
            EmergencyAlerted = "Es una emergencia: estamos avisando por SMS a la persona de guardia ahora mismo. ",
            StillAlerting = "Estamos avisando por SMS a la persona de guardia ahora mismo. ",
            EmergencyPending = "Es una emergencia: avisaremos por SMS a la persona de guardia en cuanto tenga su número. ",
            AskProblem = "¿En qué podemos ayudarle? Cuénteme brevemente qué necesita.",
            AskAddress = "¿Cuál es su dirección?",
            NextEmergency = n => $"Gracias. La persona de guardia le llamará al {n ?? "número que nos dio"} en los próximos minutos.",
        },
        ["de"] = l => l with
        {
            EmergencyAlerted = "Das ist ein Notfall: Unser Bereitschaftsdienst wird sofort per SMS benachrichtigt. ",
            StillAlerting = "Unser Bereitschaftsdienst wird sofort per SMS benachrichtigt. ",
            EmergencyPending = "Das ist ein Notfall: Unser Bereitschaftsdienst wird per SMS benachrichtigt, sobald ich Ihre Nummer habe. ",
            AskProblem = "Wie können wir helfen? Sagen Sie mir kurz, worum es geht.",
            AskAddress = "Wie lautet Ihre Adresse?",
            NextEmergency = n => $"Danke. Unser Bereitschaftsdienst ruft Sie in den nächsten Minuten {(n is null ? "unter der angegebenen Nummer" : $"unter {n}")} an.",
        },
        ["ar"] = l => l with
        {
            EmergencyAlerted = "هذه حالة طارئة: يتم الآن إبلاغ فريق المناوبة برسالة نصية. ",
            StillAlerting = "يتم الآن إبلاغ فريق المناوبة برسالة نصية. ",
            EmergencyPending = "هذه حالة طارئة: سيتم إبلاغ فريق المناوبة برسالة نصية فور حصولي على رقمك. ",
            AskProblem = "كيف يمكننا مساعدتك؟ أخبرني باختصار بما تحتاج إليه.",
            AskAddress = "ما عنوانك؟",
            NextEmergency = n => $"شكرًا. سيتصل بك فريق المناوبة {(n is null ? "على الرقم الذي زودتنا به" : $"على الرقم {Isolate(n)}")} خلال دقائق.",
        },
        ["he"] = l => l with
        {
            EmergencyAlerted = "זה מקרה חירום: הצוות התורן מקבל הודעת SMS ממש עכשיו. ",
            StillAlerting = "הצוות התורן מקבל הודעת SMS ממש עכשיו. ",
            EmergencyPending = "זה מקרה חירום: הצוות התורן יקבל הודעת SMS ברגע שיהיה לי המספר שלכם. ",
            AskProblem = "איך נוכל לעזור? ספרו לי בקצרה מה אתם צריכים.",
            AskAddress = "מה הכתובת שלכם?",
            NextEmergency = n => $"תודה. הצוות התורן יחזור אליכם {(n is null ? "למספר שמסרתם" : $"למספר {Isolate(n)}")} בדקות הקרובות.",
        },
    };

    /// <summary>Emergency cues of the languages whose words a tenant's rules (written in French and English) do not hold.</summary>
    public static readonly UrgencyRules BuiltInEmergency = new() { Emergency = [.. All.Values.SelectMany(l => l.EmergencyCues), .. UrgencyRules.SafetyCues] };

    /// <summary>The language for <paramref name="code"/> (<c>es</c>, <c>es-MX</c>…), English when not one of the six.</summary>
    public static ReceptionistLanguage For(string? code) =>
        All.TryGetValue((code ?? "en").Split('-', '_')[0].ToLowerInvariant(), out var l) ? l : All["en"];

    public CultureInfo CultureInfo => CultureInfo.GetCultureInfo(Culture);

    /// <summary>True for Arabic and Hebrew.</summary>
    public bool RightToLeft => Code is "ar" or "he";

    /// <summary>A phone number isolated left to right (FSI … PDI is not used: an LRI keeps "+" before the digits).</summary>
    private static string Isolate(string number) => "\u2066" + number + "\u2069";
}
