using System.Xml.Linq;
using Switchboard.Twilio;

namespace Switchboard.Outbound;

/// <summary>
/// TwiML of live transfers (shared/protocols/outbound-and-transfer.md §3), built with LINQ to XML so names are escaped:
/// a cold <c>&lt;Dial&gt;&lt;Number&gt;</c>, the caller's hold in a <c>&lt;Conference&gt;</c>, the agent's whisper, and the
/// caller's return to the assistant (<c>&lt;Connect&gt;&lt;Stream&gt;</c>).
/// </summary>
internal static class TransferTwiML
{
    /// <summary>
    /// <c>&lt;Say&gt;</c> then <c>&lt;Dial action method="POST" answerOnBridge="true" timeout callerId?&gt;&lt;Number&gt;</c>: the
    /// caller hears ringback until the destination answers (Twilio <c>&lt;Dial&gt;</c>: timeout in seconds, default 30). When
    /// the dialled leg ends, Twilio requests <paramref name="action"/> (an absolute URL) with <c>DialCallStatus</c> and runs
    /// the TwiML it answers (twilio.com/docs/voice/twiml/dial#action): without it a busy or unanswered destination ended the
    /// caller's call in silence.
    /// </summary>
    public static string ColdDial(string notice, SayVoice voice, string number, string? callerId, int timeoutSeconds, string action)
    {
        var dial = new XElement("Dial", new XAttribute("action", action), new XAttribute("method", "POST"),
            new XAttribute("answerOnBridge", "true"), new XAttribute("timeout", timeoutSeconds));
        if (callerId is not null)
        {
            dial.Add(new XAttribute("callerId", callerId));
        }
        dial.Add(new XElement("Number", number));
        return Write(new XElement("Response", Say(notice, voice), dial));
    }

    /// <summary>
    /// <c>&lt;Say&gt;</c> then <c>&lt;Dial&gt;&lt;Conference startConferenceOnEnter="false" endConferenceOnExit="true" waitUrl&gt;</c>:
    /// the caller waits on hold music until the agent (who starts the conference) is joined; the conference ends with the caller.
    /// </summary>
    public static string HoldInConference(string notice, SayVoice voice, string conference, string waitUrl) =>
        Write(new XElement("Response", Say(notice, voice),
            new XElement("Dial", new XElement("Conference",
                new XAttribute("startConferenceOnEnter", "false"),
                new XAttribute("endConferenceOnExit", "true"),
                new XAttribute("beep", "false"),
                new XAttribute("waitUrl", waitUrl),
                new XAttribute("waitMethod", "GET"),
                conference))));

    /// <summary><c>&lt;Say&gt;</c> then <c>&lt;Hangup/&gt;</c>; only <c>&lt;Hangup/&gt;</c> when <paramref name="text"/> is null.</summary>
    public static string SayThenHangUp(string? text, SayVoice voice) =>
        Write(new XElement("Response", text is null ? null : Say(text, voice), new XElement("Hangup")));

    /// <summary>The whisper played to the agent only (a participant's <c>AnnounceUrl</c>).</summary>
    public static string Whisper(string text, SayVoice voice) => Write(new XElement("Response", Say(text, voice)));

    private static XElement Say(string text, SayVoice voice) => TwiML.Say(text, voice);

    private static string Write(XElement response) =>
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>" + response.ToString(SaveOptions.DisableFormatting);
}
