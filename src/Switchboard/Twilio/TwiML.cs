using System.Text;
using System.Xml;
using System.Xml.Linq;

namespace Switchboard.Twilio;

/// <summary>
/// TwiML documents for native calls (shared/protocols/twilio-voice-sms.md §6, twilio-media-streams.md §1), built
/// with LINQ to XML so tenant names and texts are always escaped. Served as <c>text/xml</c>.
/// </summary>
internal static class TwiML
{
    public const string ContentType = "text/xml; charset=utf-8";

    /// <summary>
    /// The consent notice (when given), then <c>&lt;Connect action&gt;&lt;Stream url&gt;</c> with <c>&lt;Parameter&gt;</c>s.
    /// <c>&lt;Connect&gt;</c> blocks until the server closes the socket; Twilio then requests <paramref name="connectAction"/>,
    /// whose answer is a hang-up or, when the provider failed, the message-taking fallback.
    /// </summary>
    public static string Connect(string? consent, SayVoice voice, string streamUrl, IReadOnlyList<KeyValuePair<string, string>> parameters, string connectAction) =>
        Connect(consent is null ? [] : [new VoiceNotice(consent, voice)], streamUrl, parameters, connectAction);

    /// <summary>
    /// The notices in order, each a <c>&lt;Say&gt;</c> in its own language and voice (a bilingual consent: French, then
    /// English), then <c>&lt;Connect&gt;&lt;Stream&gt;</c> as <see cref="Connect(string?, SayVoice, string, IReadOnlyList{KeyValuePair{string, string}}, string)"/>.
    /// </summary>
    public static string Connect(IReadOnlyList<VoiceNotice> notices, string streamUrl, IReadOnlyList<KeyValuePair<string, string>> parameters, string connectAction)
    {
        var response = new XElement("Response");
        foreach (var notice in notices)
        {
            response.Add(Say(notice.Text, notice.Voice));
        }
        var stream = new XElement("Stream", new XAttribute("url", streamUrl));
        foreach (var (name, value) in parameters)
        {
            stream.Add(new XElement("Parameter", new XAttribute("name", name), new XAttribute("value", value)));
        }
        response.Add(new XElement("Connect", new XAttribute("action", connectAction), new XAttribute("method", "POST"), stream));
        return Write(response);
    }

    /// <summary>A notice, then <c>&lt;Record&gt;</c> (its action answers with thanks and a hang-up), never silence.</summary>
    public static string TakeMessage(string notice, SayVoice voice, string recordAction, string recordingCallback, int maxLengthSeconds, string thanks) =>
        Write(new XElement("Response",
            Say(notice, voice),
            new XElement("Record",
                new XAttribute("action", recordAction),
                new XAttribute("method", "POST"),
                new XAttribute("maxLength", maxLengthSeconds),
                new XAttribute("playBeep", "true"),
                new XAttribute("timeout", 5),
                new XAttribute("recordingStatusCallback", recordingCallback),
                new XAttribute("recordingStatusCallbackMethod", "POST"),
                new XAttribute("recordingStatusCallbackEvent", "completed absent")),
            Say(thanks, voice),
            new XElement("Hangup")));

    /// <summary>A polite notice, then <c>&lt;Hangup/&gt;</c>.</summary>
    public static string SayAndHangup(string text, SayVoice voice) => Write(new XElement("Response", Say(text, voice), new XElement("Hangup")));

    public static string Hangup() => Write(new XElement("Response", new XElement("Hangup")));

    /// <summary>An empty response (inbound SMS: no auto-reply).</summary>
    public static string Empty() => Write(new XElement("Response"));

    /// <summary>
    /// <c>&lt;Say language voice?&gt;text&lt;/Say&gt;</c>, for every TwiML document. A character XML 1.0 cannot carry (a control
    /// character such as U+000B, the line break Word's Shift+Enter pastes into a business name, or a lone surrogate) is
    /// spoken as a space: LINQ to XML refuses to write it, and the caller would hear Twilio's application error instead.
    /// </summary>
    internal static XElement Say(string text, SayVoice voice)
    {
        var say = new XElement("Say", new XAttribute("language", voice.Language), Speakable(text));
        if (voice.Voice is not null)
        {
            say.Add(new XAttribute("voice", voice.Voice));
        }
        return say;
    }

    private static string Speakable(string text)
    {
        StringBuilder? fixedText = null;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (XmlConvert.IsXmlChar(c))
            {
                fixedText?.Append(c);
            }
            else if (char.IsHighSurrogate(c) && i + 1 < text.Length && XmlConvert.IsXmlSurrogatePair(text[i + 1], c))
            {
                fixedText?.Append(c).Append(text[i + 1]);
                i++;
            }
            else
            {
                fixedText ??= new StringBuilder(text.Length).Append(text, 0, i);
                fixedText.Append(' ');
            }
        }
        return fixedText?.ToString() ?? text;
    }

    private static string Write(XElement response) =>
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>" + response.ToString(SaveOptions.DisableFormatting);
}
