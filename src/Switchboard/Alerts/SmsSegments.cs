namespace Switchboard.Alerts;

/// <summary>How a text travels as SMS: its encoding, its length in that encoding's units, and its segment count.</summary>
/// <param name="Encoding"><c>GSM-7</c> or <c>UCS-2</c>.</param>
/// <param name="Units">GSM-7 septets (an extension character counts 2) or UCS-2 code units (a character outside the BMP counts 2).</param>
/// <param name="Segments">1 when it fits a single message (160 septets / 70 units), else ⌈units / 153⌉ or ⌈units / 67⌉.</param>
internal readonly record struct SmsCount(string Encoding, int Units, int Segments);

/// <summary>
/// SMS encoding and segment counting (3GPP TS 23.038 §6.2.1 GSM 7-bit default alphabet and its extension table;
/// TS 23.040 concatenation with a 6-byte UDH, as Twilio's "What the heck is a segment?" describes): GSM-7 when every
/// character is in the default alphabet or its extension table (extension characters <c>^{}\[~]|€</c> and form feed
/// take an escape plus the character: 2 septets), else UCS-2. A single message carries 160 septets or 70 units; a
/// concatenated one 153 septets or 67 units per segment. French's é è à ù É are in the default alphabet; â ê î ô û ç ë
/// ï À are not.
/// </summary>
internal static class SmsSegments
{
    public const string Gsm7 = "GSM-7";
    public const string Ucs2 = "UCS-2";

    // The default alphabet (TS 23.038 §6.2.1), in table order, with LF and CR.
    private const string Basic =
        "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\u001BÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
        "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

    private const string Extension = "\f^{}\\[~]|€";

    private static readonly HashSet<char> BasicSet = [.. Basic.Where(c => c != '\u001B')];
    private static readonly HashSet<char> ExtensionSet = [.. Extension];

    /// <summary>True when every character of <paramref name="text"/> has a GSM-7 encoding.</summary>
    public static bool IsGsm7(string text) => text.All(c => BasicSet.Contains(c) || ExtensionSet.Contains(c));

    /// <summary>The encoding, units and segments of <paramref name="text"/>.</summary>
    public static SmsCount Count(string text)
    {
        if (IsGsm7(text))
        {
            var septets = text.Sum(c => ExtensionSet.Contains(c) ? 2 : 1);
            return new SmsCount(Gsm7, septets, septets <= 160 ? 1 : (septets + 152) / 153);
        }
        var units = text.Length; // UTF-16 code units are UCS-2 units (a surrogate pair counts 2)
        return new SmsCount(Ucs2, units, units <= 70 ? 1 : (units + 66) / 67);
    }
}
