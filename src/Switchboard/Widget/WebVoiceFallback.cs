namespace Switchboard.Widget;

/// <summary>
/// What a widget voice visitor is told when the speech provider cannot be reached (the phone's fallback, "leave a message"
/// after the tone, makes no sense in a browser): voice is unavailable, write in the chat instead. Sent by the media bridge
/// as the socket's last <c>transcript</c> event and stored as the call's last assistant turn, in the conversation's language
/// (the widget's six: en, fr, es, de, ar, he; English otherwise).
/// </summary>
internal static class WebVoiceFallback
{
    private static readonly Dictionary<string, string> Unavailable = new()
    {
        ["en"] = "Sorry, our voice assistant is unavailable right now. Please write your message in the chat below: we will answer you there.",
        ["fr"] = "Désolé, notre assistant vocal n'est pas disponible pour l'instant. Écrivez-nous votre message dans le clavardage ci-dessous : on vous répond là.",
        ["es"] = "Lo sentimos, nuestro asistente de voz no está disponible en este momento. Escríbanos su mensaje en el chat de abajo: le responderemos ahí.",
        ["de"] = "Leider ist unser Sprachassistent gerade nicht erreichbar. Schreiben Sie uns Ihre Nachricht unten im Chat: Wir antworten Ihnen dort.",
        ["ar"] = "عذرًا، مساعدنا الصوتي غير متاح حاليًا. اكتب رسالتك في المحادثة أدناه وسنرد عليك هناك.",
        ["he"] = "מצטערים, העוזר הקולי שלנו אינו זמין כרגע. כתבו לנו את ההודעה בצ'אט למטה ונענה לכם שם.",
    };

    /// <summary>The message for <paramref name="language"/> (<c>fr</c>, <c>fr-CA</c>…).</summary>
    public static string For(string? language) =>
        Unavailable.TryGetValue((language ?? "en").Split('-', '_')[0].ToLowerInvariant(), out var text) ? text : Unavailable["en"];
}
