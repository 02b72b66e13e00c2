using System.Collections.Frozen;

namespace Switchboard.Twilio;

/// <summary>The <c>&lt;Say&gt;</c> settings for one language: Twilio's <c>language</c> and <c>voice</c> attributes.</summary>
internal sealed record SayVoice(string Language, string? Voice);

/// <summary>A sentence said with <c>&lt;Say&gt;</c> in one language and voice.</summary>
internal sealed record VoiceNotice(string Text, SayVoice Voice);

/// <summary>
/// What Switchboard itself says on a native call before (or instead of) the assistant: the recording-consent notice,
/// the after-hours and over-limit notices, the message-taking prompt and the fallback when the speech provider is
/// down, in French, English, Spanish, Arabic and Hebrew, and the choice of language for a caller.
/// </summary>
internal static class VoicePrompts
{
    /// <summary>Languages with built-in texts (two-letter ISO 639-1).</summary>
    public static readonly string[] Supported = ["fr", "en", "es", "ar", "he"];

    // The main language of each country (ISO 3166 alpha-2) whose callers we can greet in one of Supported. Canada is not
    // here: its callers' language depends on the province (Choose).
    private static readonly (string Language, string Countries)[] CountriesByLanguage =
    [
        ("fr", "FR BE LU MC SN CI HT CH"),
        ("en", "US GB IE AU NZ"),
        ("es", "ES MX AR CO CL PE VE EC GT CU BO PY UY SV HN NI CR PA DO PR"),
        ("ar", "SA AE EG MA DZ TN LY JO LB SY IQ KW QA BH OM YE SD PS"),
        ("he", "IL"),
    ];

    private static readonly FrozenDictionary<string, string> CountryLanguage = CountriesByLanguage
        .SelectMany(row => row.Countries.Split(' ').Select(country => KeyValuePair.Create(country, row.Language)))
        .ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// The language (a BCP 47 tag among the tenant's) to greet a caller in: the main language of the caller's country
    /// (Twilio's <c>FromCountry</c>, else the E.164 prefix of <c>From</c>; Canada: French from Québec and New Brunswick,
    /// English elsewhere) when the tenant speaks it, else the tenant's default (the assistant's first language, else the
    /// tenant's locale).
    /// </summary>
    /// <param name="tenantLanguages">The assistant's languages then the tenant's locale, e.g. <c>["fr-CA","en-US","fr-CA"]</c>.</param>
    /// <param name="fromNumber">Twilio's <c>From</c> (E.164).</param>
    /// <param name="fromCountry">Twilio's <c>FromCountry</c> (ISO 3166 alpha-2), when given.</param>
    /// <param name="fromState">Twilio's <c>FromState</c> (e.g. <c>QC</c>), when given.</param>
    public static string Choose(IReadOnlyList<string> tenantLanguages, string? fromNumber, string? fromCountry, string? fromState)
    {
        var fallback = tenantLanguages.FirstOrDefault(l => !string.IsNullOrWhiteSpace(l)) ?? "en-US";
        var country = string.IsNullOrWhiteSpace(fromCountry) ? CountryOf(fromNumber) : fromCountry.Trim().ToUpperInvariant();
        string? wanted = country switch
        {
            null => null,
            "CA" => fromState?.Trim().ToUpperInvariant() is "QC" or "NB" ? "fr" : string.IsNullOrWhiteSpace(fromState) ? null : "en",
            _ => CountryLanguage.GetValueOrDefault(country),
        };
        if (wanted is null)
        {
            return fallback;
        }
        return tenantLanguages.FirstOrDefault(l => PrimaryOf(l) == wanted) ?? fallback;
    }

    /// <summary>
    /// The country of an E.164 number (libphonenumber, <see cref="Platform.Phones.Phones.RegionOfNumber"/>), or null for
    /// calling code +1: without Twilio's <c>FromCountry</c>/<c>FromState</c> a North American number does not say which
    /// language its caller speaks (Québec and New Brunswick area codes are also dialled by English speakers).
    /// </summary>
    public static string? CountryOf(string? e164) =>
        e164 is null || !e164.StartsWith('+') || Platform.Phones.Phones.CallingCodeOf(e164) is null or 1 ? null : Platform.Phones.Phones.RegionOfNumber(e164);

    /// <summary>Two-letter primary language of a tag, lower case (<c>fr-CA</c> → <c>fr</c>).</summary>
    public static string PrimaryOf(string tag)
    {
        var dash = tag.IndexOfAny(['-', '_']);
        return (dash < 0 ? tag : tag[..dash]).Trim().ToLowerInvariant();
    }

    /// <summary>Twilio <c>&lt;Say&gt;</c> language and voice for a tag (Amazon Polly voices; Google for Hebrew, which Polly lacks).</summary>
    public static SayVoice SayFor(string tag) => (PrimaryOf(tag), tag.ToLowerInvariant()) switch
    {
        ("fr", "fr-ca") => new SayVoice("fr-CA", "Polly.Chantal"),
        ("fr", _) => new SayVoice("fr-FR", "Polly.Celine"),
        ("en", "en-gb") => new SayVoice("en-GB", "Polly.Amy"),
        ("en", "en-au") => new SayVoice("en-AU", "Polly.Nicole"),
        ("en", _) => new SayVoice("en-US", "Polly.Joanna"),
        ("es", "es-es") => new SayVoice("es-ES", "Polly.Conchita"),
        ("es", _) => new SayVoice("es-MX", "Polly.Mia"),
        ("ar", _) => new SayVoice("arb", "Polly.Zeina"),
        ("he", _) => new SayVoice("he-IL", "Google.he-IL-Standard-A"),
        _ => new SayVoice(tag, null),
    };

    /// <summary>The recording-consent notice, said before the stream connects when the tenant records calls.</summary>
    public static string Consent(string tag, string business) => PrimaryOf(tag) switch
    {
        "fr" => $"Bonjour, vous avez joint {business}. Cet appel est enregistré et traité par un assistant virtuel, pour la qualité du service et le suivi de votre demande.",
        "es" => $"Hola, se ha comunicado con {business}. Esta llamada es grabada y atendida por un asistente virtual, para la calidad del servicio y el seguimiento de su solicitud.",
        "ar" => $"مرحبًا، لقد اتصلت بـ {business}. يتم تسجيل هذه المكالمة ويتولاها مساعد افتراضي، لضمان جودة الخدمة ومتابعة طلبك.",
        "he" => $"שלום, הגעתם אל {business}. השיחה מוקלטת ומטופלת על ידי עוזר וירטואלי, לשם איכות השירות והמעקב אחר פנייתכם.",
        _ => $"Hello, you have reached {business}. This call is recorded and handled by a virtual assistant, for quality and to follow up on your request.",
    };

    /// <summary>
    /// The consent notice a caller hears in <paramref name="language"/> (the caller's, <see cref="Choose"/>): in French then
    /// in English, each short and in its own voice, when the assistant speaks both and the caller's language is one of them,
    /// as Québec businesses greet (the caller's province says little of the caller's language: an English speaker calling a
    /// Québec business heard French only); else <see cref="Consent"/> alone.
    /// </summary>
    /// <param name="assistantLanguages">The assistant's BCP 47 tags, e.g. <c>["fr-CA","en-US"]</c>.</param>
    /// <param name="language">The tag chosen for the caller.</param>
    /// <param name="business">The business's name, said once.</param>
    public static IReadOnlyList<VoiceNotice> ConsentNotices(IReadOnlyList<string> assistantLanguages, string language, string business)
    {
        var fr = assistantLanguages.FirstOrDefault(l => PrimaryOf(l) == "fr");
        var en = assistantLanguages.FirstOrDefault(l => PrimaryOf(l) == "en");
        if (fr is null || en is null || PrimaryOf(language) is not ("fr" or "en"))
        {
            return [new VoiceNotice(Consent(language, business), SayFor(language))];
        }
        return
        [
            new VoiceNotice($"Bonjour, vous avez joint {business}. Cet appel est enregistré et traité par un assistant virtuel.", SayFor(fr)),
            new VoiceNotice("Hello, this call is recorded and handled by a virtual assistant.", SayFor(en)),
        ];
    }

    /// <summary>
    /// What the callee of an outbound call hears before the assistant, instead of <see cref="Consent"/> (which tells a caller
    /// they "have reached" the business): that this is an automated call from the business's virtual assistant and, when
    /// calls are recorded, that it is recorded. Automated calls must identify the caller at the start (CRTC Unsolicited
    /// Telecommunications Rules, ADAD rules; 47 CFR § 64.1200(b)); outbound-and-transfer.md §6. The purpose is the
    /// assistant's first sentence (its instructions carry it).
    /// </summary>
    public static string OutboundNotice(string tag, string business, bool recorded) => (PrimaryOf(tag), recorded) switch
    {
        ("fr", true) => $"Bonjour, ceci est un appel automatisé de l'assistant virtuel de {business}. Cet appel est enregistré.",
        ("fr", false) => $"Bonjour, ceci est un appel automatisé de l'assistant virtuel de {business}.",
        ("es", true) => $"Hola, esta es una llamada automatizada del asistente virtual de {business}. Esta llamada es grabada.",
        ("es", false) => $"Hola, esta es una llamada automatizada del asistente virtual de {business}.",
        ("ar", true) => $"مرحبًا، هذه مكالمة آلية من المساعد الافتراضي لـ {business}. يتم تسجيل هذه المكالمة.",
        ("ar", false) => $"مرحبًا، هذه مكالمة آلية من المساعد الافتراضي لـ {business}.",
        ("he", true) => $"שלום, זוהי שיחה אוטומטית מהעוזר הווירטואלי של {business}. השיחה מוקלטת.",
        ("he", false) => $"שלום, זוהי שיחה אוטומטית מהעוזר הווירטואלי של {business}.",
        (_, true) => $"Hello, this is an automated call from the virtual assistant of {business}. This call is recorded.",
        _ => $"Hello, this is an automated call from the virtual assistant of {business}.",
    };

    /// <summary>
    /// The voicemail an outbound call leaves on an answering machine when the assistant has none (outbound-and-transfer.md
    /// §1): who calls, that it is automated, and the number to call back, in each language the voice prompts speak
    /// (<see cref="Supported"/>; English otherwise), as it is said with that language's voice (<see cref="SayFor"/>).
    /// </summary>
    public static string DefaultVoicemail(string language, string business, string? callbackNumber) => PrimaryOf(language) switch
    {
        "fr" => $"Bonjour, ici l'assistant virtuel de {business}. Nous vous rappelons au sujet de votre demande."
            + (callbackNumber is null ? "" : $" Vous pouvez nous joindre au {callbackNumber}.") + " Merci et bonne journée.",
        "es" => $"Hola, le habla el asistente virtual de {business}. Le llamamos en relación con su solicitud."
            + (callbackNumber is null ? "" : $" Puede contactarnos al {callbackNumber}.") + " Gracias, hasta luego.",
        "ar" => $"مرحبًا، معك المساعد الافتراضي لـ {business}. نتصل بك بخصوص طلبك."
            + (callbackNumber is null ? "" : $" يمكنك التواصل معنا على الرقم {callbackNumber}.") + " شكرًا، مع السلامة.",
        "he" => $"שלום, כאן העוזר הווירטואלי של {business}. אנחנו חוזרים אליכם בנוגע לפנייתכם."
            + (callbackNumber is null ? "" : $" אפשר להשיג אותנו במספר {callbackNumber}.") + " תודה, להתראות.",
        _ => $"Hello, this is the automated assistant of {business}, calling about your request."
            + (callbackNumber is null ? "" : $" You can reach us at {callbackNumber}.") + " Thank you, goodbye.",
    };

    /// <summary>Before a recorded message: closed, busy, or the assistant unavailable.</summary>
    public static string TakeMessage(string tag, string business, VoiceNoticeReason reason) => (PrimaryOf(tag), reason) switch
    {
        ("fr", VoiceNoticeReason.AfterHours) => $"Merci d'avoir appelé {business}. Nous sommes présentement fermés. Laissez votre nom, votre numéro et votre message après le bip, nous vous rappellerons.",
        ("fr", VoiceNoticeReason.Busy) => $"Merci d'avoir appelé {business}. Toutes nos lignes sont occupées. Laissez votre nom, votre numéro et votre message après le bip, nous vous rappellerons.",
        ("fr", _) => $"Merci d'avoir appelé {business}. Notre assistant n'est pas disponible pour le moment. Laissez votre nom, votre numéro et votre message après le bip, nous vous rappellerons.",
        ("es", VoiceNoticeReason.AfterHours) => $"Gracias por llamar a {business}. En este momento estamos cerrados. Deje su nombre, su número y su mensaje después del tono y le devolveremos la llamada.",
        ("es", VoiceNoticeReason.Busy) => $"Gracias por llamar a {business}. Todas nuestras líneas están ocupadas. Deje su nombre, su número y su mensaje después del tono y le devolveremos la llamada.",
        ("es", _) => $"Gracias por llamar a {business}. Nuestro asistente no está disponible en este momento. Deje su nombre, su número y su mensaje después del tono y le devolveremos la llamada.",
        ("ar", VoiceNoticeReason.AfterHours) => $"شكرًا لاتصالك بـ {business}. نحن مغلقون حاليًا. اترك اسمك ورقمك ورسالتك بعد الصافرة وسنعاود الاتصال بك.",
        ("ar", VoiceNoticeReason.Busy) => $"شكرًا لاتصالك بـ {business}. جميع خطوطنا مشغولة. اترك اسمك ورقمك ورسالتك بعد الصافرة وسنعاود الاتصال بك.",
        ("ar", _) => $"شكرًا لاتصالك بـ {business}. مساعدنا غير متاح حاليًا. اترك اسمك ورقمك ورسالتك بعد الصافرة وسنعاود الاتصال بك.",
        ("he", VoiceNoticeReason.AfterHours) => $"תודה שהתקשרתם אל {business}. כרגע אנחנו סגורים. השאירו שם, מספר טלפון והודעה אחרי הצפצוף ונחזור אליכם.",
        ("he", VoiceNoticeReason.Busy) => $"תודה שהתקשרתם אל {business}. כל הקווים תפוסים. השאירו שם, מספר טלפון והודעה אחרי הצפצוף ונחזור אליכם.",
        ("he", _) => $"תודה שהתקשרתם אל {business}. העוזר שלנו אינו זמין כרגע. השאירו שם, מספר טלפון והודעה אחרי הצפצוף ונחזור אליכם.",
        (_, VoiceNoticeReason.AfterHours) => $"Thank you for calling {business}. We are closed right now. Please leave your name, number and message after the beep and we will call you back.",
        (_, VoiceNoticeReason.Busy) => $"Thank you for calling {business}. All our lines are busy. Please leave your name, number and message after the beep and we will call you back.",
        _ => $"Thank you for calling {business}. Our assistant is not available right now. Please leave your name, number and message after the beep and we will call you back.",
    };

    /// <summary>A polite notice before hanging up: closed, busy, or no assistant.</summary>
    public static string Polite(string tag, string business, VoiceNoticeReason reason) => (PrimaryOf(tag), reason) switch
    {
        ("fr", VoiceNoticeReason.AfterHours) => $"Merci d'avoir appelé {business}. Nous sommes présentement fermés. Merci de rappeler pendant nos heures d'ouverture. Au revoir.",
        ("fr", _) => $"Merci d'avoir appelé {business}. Nous ne pouvons pas prendre votre appel pour le moment. Merci de rappeler un peu plus tard. Au revoir.",
        ("es", VoiceNoticeReason.AfterHours) => $"Gracias por llamar a {business}. En este momento estamos cerrados. Por favor llame durante nuestro horario de atención. Adiós.",
        ("es", _) => $"Gracias por llamar a {business}. No podemos atender su llamada en este momento. Por favor vuelva a llamar más tarde. Adiós.",
        ("ar", VoiceNoticeReason.AfterHours) => $"شكرًا لاتصالك بـ {business}. نحن مغلقون حاليًا. يرجى الاتصال خلال ساعات العمل. مع السلامة.",
        ("ar", _) => $"شكرًا لاتصالك بـ {business}. لا يمكننا الرد على مكالمتك الآن. يرجى المحاولة لاحقًا. مع السلامة.",
        ("he", VoiceNoticeReason.AfterHours) => $"תודה שהתקשרתם אל {business}. כרגע אנחנו סגורים. אנא התקשרו שוב בשעות הפעילות. להתראות.",
        ("he", _) => $"תודה שהתקשרתם אל {business}. איננו יכולים לענות לשיחה כרגע. אנא התקשרו שוב מאוחר יותר. להתראות.",
        (_, VoiceNoticeReason.AfterHours) => $"Thank you for calling {business}. We are closed right now. Please call back during business hours. Goodbye.",
        _ => $"Thank you for calling {business}. We cannot take your call right now. Please call back a little later. Goodbye.",
    };

    /// <summary>Said to the caller before a cold transfer's <c>&lt;Dial&gt;</c> to <paramref name="destination"/> (a name from the assistant's configuration).</summary>
    public static string Transferring(string tag, string destination) => PrimaryOf(tag) switch
    {
        "fr" => $"Je vous transfère à {destination}. Un instant.",
        "es" => $"Le transfiero con {destination}. Un momento.",
        "ar" => $"سأحوّلك إلى {destination}. لحظة من فضلك.",
        "he" => $"אני מעביר אתכם אל {destination}. רגע אחד.",
        _ => $"I'm transferring you to {destination}. One moment.",
    };

    /// <summary>
    /// Said to the caller when a cold transfer's <c>&lt;Dial&gt;</c> ended without reaching anyone (Twilio's
    /// <c>DialCallStatus</c> busy, no-answer, failed; twilio.com/docs/voice/twiml/dial#action), before hanging up: nobody could
    /// take the call, and the business will call back.
    /// </summary>
    public static string TransferUnanswered(string tag, string business) => PrimaryOf(tag) switch
    {
        "fr" => $"Désolé, personne n'a pu prendre votre appel. {business} vous rappellera dès que possible. Au revoir.",
        "es" => $"Lo sentimos, nadie pudo atender su llamada. {business} le devolverá la llamada lo antes posible. Adiós.",
        "ar" => $"عذرًا، لم يتمكن أحد من الرد على مكالمتك. سيعاود {business} الاتصال بك في أقرب وقت ممكن. مع السلامة.",
        "he" => $"מצטערים, אף אחד לא היה זמין לענות לשיחה. {business} יחזרו אליכם בהקדם האפשרי. להתראות.",
        _ => $"Sorry, nobody could take your call. {business} will call you back as soon as possible. Goodbye.",
    };

    /// <summary>Said to the caller put on hold while a warm transfer reaches <paramref name="destination"/>.</summary>
    public static string TransferHold(string tag, string destination) => PrimaryOf(tag) switch
    {
        "fr" => $"Je vous mets en attente quelques instants, je joins {destination}.",
        "es" => $"Le pongo en espera unos instantes mientras contacto con {destination}.",
        "ar" => $"سأضعك على الانتظار لحظات ريثما أتصل بـ {destination}.",
        "he" => $"אני מעביר אתכם להמתנה לכמה רגעים, בזמן שאני משיג את {destination}.",
        _ => $"Please hold while I reach {destination}.",
    };

    /// <summary>
    /// Whispered to the agent of a warm transfer before the caller is joined (the participant's <c>AnnounceUrl</c>,
    /// outbound-and-transfer.md §3.2), in the call's language: who transfers, why, the caller's name and number when known
    /// (<paramref name="spokenNumber"/> digit by digit, e.g. <c>1 5 1 4 …</c>).
    /// </summary>
    public static string TransferWhisper(string tag, string who, string? about, string? callerName, string? spokenNumber)
    {
        var (transferred, caller, number) = PrimaryOf(tag) switch
        {
            "fr" => ($"Appel transféré par {who}.", "Appelant : {0}.", "Numéro : {0}."),
            "es" => ($"Llamada transferida por {who}.", "Cliente: {0}.", "Número: {0}."),
            "ar" => ($"مكالمة محوّلة من {who}.", "المتصل: {0}.", "الرقم: {0}."),
            "he" => ($"שיחה מועברת מאת {who}.", "המתקשר: {0}.", "מספר: {0}."),
            _ => ($"Call transferred by {who}.", "Caller: {0}.", "Number: {0}."),
        };
        string?[] parts =
        [
            transferred,
            string.IsNullOrWhiteSpace(about) ? null : about.TrimEnd('.', ' ') + ".",
            callerName is null ? null : string.Format(System.Globalization.CultureInfo.InvariantCulture, caller, callerName),
            spokenNumber is null ? null : string.Format(System.Globalization.CultureInfo.InvariantCulture, number, spokenNumber),
        ];
        return string.Join(' ', parts.Where(p => p is not null));
    }

    /// <summary>Why a transfer asked of the assistant is not made, said to the caller, who is offered a message instead.</summary>
    public static string TransferRefused(string tag, TransferRefusal why, string? destination = null) => (PrimaryOf(tag), why) switch
    {
        ("fr", TransferRefusal.Off) => "Le transfert n'est pas disponible. Je peux prendre un message.",
        ("fr", TransferRefusal.NoDestination) => "Je ne peux pas transférer cet appel. Je peux prendre un message.",
        ("fr", _) => $"{destination} n'est pas disponible à cette heure-ci. Je peux prendre un message.",
        ("es", TransferRefusal.Off) => "La transferencia no está disponible. Puedo tomar un mensaje.",
        ("es", TransferRefusal.NoDestination) => "No puedo transferir esta llamada. Puedo tomar un mensaje.",
        ("es", _) => $"{destination} no está disponible a esta hora. Puedo tomar un mensaje.",
        ("ar", TransferRefusal.Off) => "التحويل غير متاح. يمكنني أخذ رسالة.",
        ("ar", TransferRefusal.NoDestination) => "لا يمكنني تحويل هذه المكالمة. يمكنني أخذ رسالة.",
        ("ar", _) => $"{destination} غير متاح في هذه الساعة. يمكنني أخذ رسالة.",
        ("he", TransferRefusal.Off) => "העברת שיחה אינה זמינה. אפשר להשאיר לי הודעה.",
        ("he", TransferRefusal.NoDestination) => "איני יכול להעביר את השיחה הזו. אפשר להשאיר לי הודעה.",
        ("he", _) => $"{destination} אינו זמין בשעה זו. אפשר להשאיר לי הודעה.",
        (_, TransferRefusal.Off) => "Live transfer is not available. I can take a message.",
        (_, TransferRefusal.NoDestination) => "I cannot transfer this call. I can take a message.",
        _ => $"{destination} is not available at this hour. I can take a message.",
    };

    /// <summary>After a recorded message.</summary>
    public static string Thanks(string tag) => PrimaryOf(tag) switch
    {
        "fr" => "Merci, votre message a été enregistré. Au revoir.",
        "es" => "Gracias, su mensaje ha sido grabado. Adiós.",
        "ar" => "شكرًا، تم تسجيل رسالتك. مع السلامة.",
        "he" => "תודה, ההודעה שלכם נקלטה. להתראות.",
        _ => "Thank you, your message has been recorded. Goodbye.",
    };
}

/// <summary>Why a transfer is not made (<see cref="VoicePrompts.TransferRefused"/>).</summary>
internal enum TransferRefusal
{
    /// <summary>The assistant does not offer live transfer.</summary>
    Off,

    /// <summary>No configured destination matches the one asked for.</summary>
    NoDestination,

    /// <summary>The destination does not take calls at this hour.</summary>
    Closed,
}

/// <summary>Why the assistant is not answering a native call.</summary>
internal enum VoiceNoticeReason
{
    AfterHours,
    Busy,
    Unavailable,
}
