using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Switchboard.Platform.Http;

/// <summary>Collects field errors and turns them into one 422 <c>VALIDATION_FAILED</c> envelope (<c>details</c>: field → message).</summary>
internal sealed partial class Validation
{
    private readonly Dictionary<string, string> errors = new(StringComparer.Ordinal);

    public bool IsValid => errors.Count == 0;
    public IReadOnlyDictionary<string, string> Errors => errors;

    public Validation Add(string field, string message)
    {
        errors.TryAdd(field, message);
        return this;
    }

    public Validation Require(string field, string? value, int max = 200)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            Add(field, "is required");
        }
        else if (value.Length > max)
        {
            Add(field, $"must be at most {max} characters");
        }
        return this;
    }

    public Validation Max(string field, string? value, int max)
    {
        if (value is { Length: var n } && n > max)
        {
            Add(field, $"must be at most {max} characters");
        }
        return this;
    }

    /// <summary>What is said of a name holding a character <see cref="Name"/> refuses.</summary>
    public const string NameProblem = "must not contain control characters or bidirectional overrides (U+202A–U+202E, U+2066–U+2069)";

    /// <summary>
    /// The one rule for names shown to other people (assistant, organisation, visitor and full names): at most
    /// <paramref name="max"/> characters, and no control character (C0 except tab and newline, DEL, C1) or bidirectional
    /// embedding, override or isolate (U+202A–U+202E, U+2066–U+2069), which can make a name display as another text
    /// ("\u202eniatroF niarD" shows as "Drain Fortin"). Refused (422) rather than stripped: nothing is changed silently.
    /// Null is left to <see cref="Require"/>.
    /// </summary>
    public Validation Name(string field, string? value, int max = 200)
    {
        Max(field, value, max);
        if (value is not null && HasUnsafeNameCharacter(value))
        {
            Add(field, NameProblem);
        }
        return this;
    }

    /// <summary>Whether <paramref name="value"/> holds a character <see cref="Name"/> refuses.</summary>
    public static bool HasUnsafeNameCharacter(string value)
    {
        foreach (var c in value)
        {
            if ((char.IsControl(c) && c is not ('\t' or '\n')) || IsBidiOverride(c))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>What is said of multi-line text holding a character <see cref="Text"/> refuses.</summary>
    public const string TextProblem = "must not contain control characters other than tab and line breaks, or bidirectional overrides (U+202A–U+202E, U+2066–U+2069)";

    /// <summary>
    /// The rule for multi-line free text that staff read (lead notes, the persona's description and guidelines, notes on
    /// the do-not-call list): at most <paramref name="max"/> characters, line breaks (<c>\r</c>, <c>\n</c>) and tabs allowed,
    /// and, as for <see cref="Name"/>, no other control character (C0, DEL, C1) and no bidirectional embedding, override
    /// or isolate (U+202A–U+202E, U+2066–U+2069): "Trojan Source" (CVE-2021-42574) text that displays in another order
    /// than it reads. The marks U+200E/U+200F (LRM/RLM) and U+061C (ALM) stay allowed: they only nudge neutral characters
    /// and are ordinary in Arabic and Hebrew text. Refused (422), never stripped. Null is left to <see cref="Require"/>.
    /// </summary>
    public Validation Text(string field, string? value, int max)
    {
        Max(field, value, max);
        if (value is not null && HasUnsafeTextCharacter(value))
        {
            Add(field, TextProblem);
        }
        return this;
    }

    /// <summary>Whether <paramref name="value"/> holds a character <see cref="Text"/> refuses.</summary>
    public static bool HasUnsafeTextCharacter(string value)
    {
        foreach (var c in value)
        {
            if ((char.IsControl(c) && c is not ('\t' or '\n' or '\r')) || IsBidiOverride(c))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>An explicit bidirectional embedding, override or pop (U+202A–U+202E) or isolate (U+2066–U+2069), Unicode UAX #9 §2.</summary>
    private static bool IsBidiOverride(char c) => c is >= '\u202A' and <= '\u202E' or >= '\u2066' and <= '\u2069';

    public JsonHttpResult<ErrorEnvelope> Result(string message = "Some fields are invalid.") =>
        ApiError.Unprocessable("VALIDATION_FAILED", message, errors);

    public static bool IsEmail(string? value) => value is { Length: > 3 and <= 254 } && EmailPattern().IsMatch(value);

    /// <summary>
    /// An IANA zone id a business can pick (e.g. <c>America/Toronto</c>, or a link such as <c>US/Eastern</c>): see
    /// <see cref="IanaTimeZones.Canonicalize(string?)"/>, whose result is what is stored. Windows ids and the <c>right/</c>,
    /// <c>posix/</c> and <c>SystemV/</c> trees are refused.
    /// </summary>
    public static bool IsIanaTimeZone(string? value) => IanaTimeZones.Canonicalize(value) is not null;

    /// <summary>A BCP 47 tag of a culture this system knows (e.g. <c>fr-CA</c>).</summary>
    public static bool IsLocale(string? value)
    {
        if (value is null || !LocalePattern().IsMatch(value))
        {
            return false;
        }
        try
        {
            return CultureInfo.GetCultureInfo(value, predefinedOnly: true) is not null;
        }
        catch (CultureNotFoundException)
        {
            return false;
        }
    }

    // RFC 5322 §3.2.3 dot-atom on both sides (letters of any script allowed, RFC 6531), so no quoting, angle brackets,
    // comments or spaces: "<script>@x.com" is refused. The one rule for sign-up, invitations and password resets.
    [GeneratedRegex(@"^[\p{L}\p{N}!#$%&'*+/=?^_`{|}~-]+(\.[\p{L}\p{N}!#$%&'*+/=?^_`{|}~-]+)*@[\p{L}\p{N}]([\p{L}\p{N}-]*[\p{L}\p{N}])?(\.[\p{L}\p{N}]([\p{L}\p{N}-]*[\p{L}\p{N}])?)+$")]
    private static partial Regex EmailPattern();

    [GeneratedRegex(@"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$")]
    private static partial Regex LocalePattern();
}
