using System.Text;
using Switchboard.Twilio;

namespace Switchboard.Realtime.Bridge;

/// <summary>What <see cref="CallPolicy.Idle"/> asks the bridge to do.</summary>
internal enum IdleAction
{
    None,

    /// <summary>Ask the model to re-prompt the silent caller.</summary>
    Reprompt,

    /// <summary>Too many re-prompts: say goodbye and hang up (<c>idle-timeout</c>).</summary>
    Goodbye,
}

/// <summary>
/// The rules that end or nudge a call, as pure decisions on the times given: idle re-prompts
/// (<see cref="VoiceOptions.IdleRepromptSeconds"/>, at most <see cref="VoiceOptions.IdleMaxReprompts"/>, then a goodbye),
/// DTMF digits grouped into one message (sent on <c>#</c> or 700 ms after the last digit), the call's maximum length
/// (once), and the hang-up deadline (<see cref="VoiceOptions.HangupGraceSeconds"/> after a hang-up is requested, the
/// call is closed even if the goodbye has not finished). Times are from the injected <see cref="TimeProvider"/>.
/// Not thread-safe: the bridge calls it under its lock.
/// </summary>
internal sealed class CallPolicy(VoiceOptions voice, int maxCallSeconds)
{
    /// <summary>
    /// The protocol token that starts a message of phone keys (the model's instructions name it,
    /// <see cref="RealtimeProtocol.Instructions"/>). The message is the token and the keys only, <c>[DTMF] 1 2 #</c>, with no
    /// words: it is also the transcript turn the business reads, whatever the call's language, and the caller's words that
    /// leads are read from skip it (<see cref="IsDtmf"/>).
    /// </summary>
    public const string DtmfMarker = "[DTMF]";

    /// <summary>True for a message of phone keys (<see cref="DtmfMarker"/>).</summary>
    public static bool IsDtmf(string text) => text.StartsWith(DtmfMarker, StringComparison.Ordinal);

    /// <summary>
    /// The phone number the caller keyed, from the call's user turns (<paramref name="userTexts"/>, in order): the digits of the
    /// latest DTMF message (<see cref="DtmfMarker"/>, e.g. <c>[DTMF] 5 1 4 5 5 5 0 7 7 7 #</c>; <c>#</c> and <c>*</c> left out) that
    /// make a valid number read in <paramref name="region"/> (the tenant's, <see cref="Platform.Phones.Phones.RegionOf"/>; an
    /// international prefix such as <c>011</c> overrides it), in E.164 as <see cref="Platform.Phones.Phones.ToE164"/> reads a captured
    /// number. Null when no message is one: a menu choice ("1"), an extension or a PIN is not a phone number.
    /// </summary>
    public static string? KeyedPhoneNumber(IEnumerable<string> userTexts, string region)
    {
        string? keyed = null;
        foreach (var text in userTexts)
        {
            if (!IsDtmf(text))
            {
                continue;
            }
            var digits = new string([.. text.AsSpan(DtmfMarker.Length).ToArray().Where(char.IsAsciiDigit)]);
            // E.164 numbers have at most 15 digits, and a national number at least 7 (ITU-T E.164 §6); 011 + 15 for an international one.
            if (digits.Length is >= 7 and <= 18 && Platform.Phones.Phones.ToE164(digits, region) is { } e164)
            {
                keyed = e164;
            }
        }
        return keyed;
    }

    /// <summary>Digits typed within this long of each other go to the model as one message.</summary>
    public static readonly TimeSpan DigitGroupWindow = TimeSpan.FromMilliseconds(700);

    private readonly StringBuilder digits = new();
    private DateTimeOffset lastDigitAt;
    private DateTimeOffset lastActivity;
    private int reprompts;
    private bool maxDurationHandled;
    private DateTimeOffset hangupDeadline;

    /// <summary>A hang-up has been requested: the call closes once the goodbye has played, or at the deadline.</summary>
    public bool HangupRequested { get; private set; }

    /// <summary>Something happened on the call (audio finished playing, a tool returned): the idle timer restarts.</summary>
    public void Activity(DateTimeOffset now) => lastActivity = now;

    /// <summary>The caller spoke or typed: the idle timer restarts and the re-prompt count is reset.</summary>
    public void CallerActivity(DateTimeOffset now)
    {
        lastActivity = now;
        reprompts = 0;
    }

    /// <summary>Adds one DTMF digit (one or two bytes); returns the grouped message (<c>[DTMF] 4 2 #</c>) when it is <c>#</c>, else null.</summary>
    public string? AddDigit(ReadOnlySpan<byte> digit, DateTimeOffset now)
    {
        digits.Append(Encoding.ASCII.GetString(digit));
        lastDigitAt = now;
        CallerActivity(now);
        return digit[0] == (byte)'#' ? TakeDigits() : null;
    }

    /// <summary>The grouped digits once <see cref="DigitGroupWindow"/> has passed since the last one, else null.</summary>
    public string? TakeDigitsIfDue(DateTimeOffset now) =>
        digits.Length > 0 && now - lastDigitAt >= DigitGroupWindow ? TakeDigits() : null;

    private string? TakeDigits()
    {
        if (digits.Length == 0)
        {
            return null;
        }
        var text = DtmfMarker + " " + string.Join(' ', digits.ToString().ToCharArray());
        digits.Clear();
        return text;
    }

    /// <summary>True once, when the call has lasted its maximum length since <paramref name="startedAt"/>.</summary>
    public bool MaxDurationReached(DateTimeOffset now, DateTimeOffset startedAt)
    {
        if (maxDurationHandled || now - startedAt < TimeSpan.FromSeconds(maxCallSeconds))
        {
            return false;
        }
        maxDurationHandled = true;
        return true;
    }

    /// <summary>Requests a hang-up; true the first time (the caller records the ended reason then).</summary>
    public bool RequestHangup(DateTimeOffset now)
    {
        if (HangupRequested)
        {
            return false;
        }
        HangupRequested = true;
        hangupDeadline = now.AddSeconds(voice.HangupGraceSeconds);
        return true;
    }

    /// <summary>The hang-up grace is over: close the call now.</summary>
    public bool HangupOverdue(DateTimeOffset now) => HangupRequested && now >= hangupDeadline;

    /// <summary>
    /// The idle rule, for a call that is <paramref name="quiet"/> (nobody speaking, nothing playing or pending, no tool
    /// running): after <see cref="VoiceOptions.IdleRepromptSeconds"/> of quiet a re-prompt, and after
    /// <see cref="VoiceOptions.IdleMaxReprompts"/> of them a goodbye.
    /// </summary>
    public IdleAction Idle(DateTimeOffset now, bool quiet)
    {
        if (!quiet || now - lastActivity < TimeSpan.FromSeconds(voice.IdleRepromptSeconds))
        {
            return IdleAction.None;
        }
        lastActivity = now;
        return ++reprompts > voice.IdleMaxReprompts ? IdleAction.Goodbye : IdleAction.Reprompt;
    }
}
