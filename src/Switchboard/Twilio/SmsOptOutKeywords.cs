namespace Switchboard.Twilio;

/// <summary>What an inbound SMS asks of its sender's number: nothing, to opt out, or to opt back in.</summary>
internal enum SmsOptOutRequest
{
    None,
    OptOut,
    OptIn,
}

/// <summary>
/// Twilio's default opt-out handling (Twilio docs, "Twilio support for opt-out keywords (SMS STOP filtering)"): a message
/// whose whole body, trimmed and case-insensitive, is <c>STOP</c>, <c>STOPALL</c>, <c>UNSUBSCRIBE</c>, <c>CANCEL</c>,
/// <c>END</c>, <c>QUIT</c>, <c>REVOKE</c> or <c>OPTOUT</c> (the last two added by Twilio in 2025 for the FCC's revocation
/// rules; Twilio docs, "Customize users' opt-in and opt-out experience with Advanced Opt-Out") opts the sender out of the number's messages (Twilio then refuses sends to them, error 21610);
/// <c>START</c>, <c>UNSTOP</c> or <c>YES</c> opts them back in. With Advanced Opt-Out (Messaging Services) Twilio also sends
/// <c>OptOutType</c> = <c>STOP</c>, <c>START</c> or <c>HELP</c> for the service's own keywords, which then decides.
/// Twilio sends the confirmation reply itself.
/// <para>
/// Switchboard reads a little more than Twilio's exact words, on the side of the sender's wish: the keyword may end in
/// punctuation (<c>STOP.</c>, <c>Stop!</c>: the FCC's 2024 revocation order, effective April 2025, has any reasonable means
/// of revoking consent honoured), and <c>ARRET</c> / <c>ARRÊT</c>, the French STOP that the CWTA's Canadian Common Short Code
/// Application Guidelines require of every program (Québec staff phones among them). Such a sender is listed and not texted
/// again even where Twilio's own filter would still deliver to them.
/// </para>
/// </summary>
internal static class SmsOptOutKeywords
{
    private static readonly HashSet<string> OptOut = new(StringComparer.OrdinalIgnoreCase) { "STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "ARRET" };
    private static readonly HashSet<string> OptIn = new(StringComparer.OrdinalIgnoreCase) { "START", "UNSTOP", "YES" };

    /// <summary>The request of an inbound SMS with <paramref name="body"/> and Twilio's <paramref name="optOutType"/> (may be null).</summary>
    public static SmsOptOutRequest Classify(string? body, string? optOutType)
    {
        if (optOutType is { Length: > 0 })
        {
            return optOutType.Trim().ToUpperInvariant() switch
            {
                "STOP" => SmsOptOutRequest.OptOut,
                "START" => SmsOptOutRequest.OptIn,
                _ => SmsOptOutRequest.None,
            };
        }
        var word = Keyword(body);
        return word is null or { Length: 0 } ? SmsOptOutRequest.None
            : OptOut.Contains(word) ? SmsOptOutRequest.OptOut
            : OptIn.Contains(word) ? SmsOptOutRequest.OptIn
            : SmsOptOutRequest.None;
    }

    /// <summary>The body as one keyword: trimmed, its trailing punctuation dropped, its accents removed (ARRÊT → ARRET).</summary>
    private static string? Keyword(string? body)
    {
        var word = body?.Trim();
        if (string.IsNullOrEmpty(word))
        {
            return word;
        }
        var end = word.Length;
        while (end > 0 && (char.IsPunctuation(word[end - 1]) || char.IsWhiteSpace(word[end - 1])))
        {
            end--;
        }
        var bare = new System.Text.StringBuilder(end);
        foreach (var ch in word[..end].Normalize(System.Text.NormalizationForm.FormD))
        {
            if (System.Globalization.CharUnicodeInfo.GetUnicodeCategory(ch) != System.Globalization.UnicodeCategory.NonSpacingMark)
            {
                bare.Append(ch);
            }
        }
        return bare.ToString();
    }
}
