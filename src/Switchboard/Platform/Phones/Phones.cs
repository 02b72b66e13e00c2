using PhoneNumbers;

namespace Switchboard.Platform.Phones;

/// <summary>
/// Phone numbers through libphonenumber (Google's metadata): a number written as people write it ("(514) 555-0199",
/// "514.555.0199", "+1 514 555 0199") is read in the tenant's region and stored in E.164 (<c>+15145550199</c>), and a
/// stored number is searched for in the forms it takes in free text (national, international, digits only).
/// </summary>
internal static class Phones
{
    /// <summary>Region assumed when a tenant's locale names none (Switchboard's tenants are North American first).</summary>
    public const string DefaultRegion = "CA";

    private static readonly PhoneNumberUtil Util = PhoneNumberUtil.GetInstance();

    /// <summary>The regions libphonenumber knows, read once (its <c>GetSupportedRegions</c> copies the set on every call).</summary>
    private static readonly HashSet<string> SupportedRegions = Util.GetSupportedRegions();

    /// <summary>The ISO 3166 region of a locale such as <c>fr-CA</c> (<c>CA</c>), else <see cref="DefaultRegion"/>.</summary>
    public static string RegionOf(string? locale)
    {
        var dash = locale?.LastIndexOf('-') ?? -1;
        var region = dash > 0 ? locale![(dash + 1)..].ToUpperInvariant() : null;
        return region is { Length: 2 } && SupportedRegions.Contains(region) ? region : DefaultRegion;
    }

    /// <summary>
    /// The E.164 form of <paramref name="text"/> read in <paramref name="region"/> (a leading <c>+</c> or international
    /// prefix overrides the region), or null when it is not a valid number there (too short, unassigned range, letters).
    /// </summary>
    public static string? ToE164(string? text, string region)
    {
        if (string.IsNullOrWhiteSpace(text) || text.Length > 64)
        {
            return null;
        }
        try
        {
            var number = Util.Parse(text, region);
            return Util.IsValidNumber(number) ? Util.Format(number, PhoneNumberFormat.E164) : null;
        }
        catch (NumberParseException)
        {
            return null;
        }
    }

    /// <summary>
    /// A number a tenant typed in settings (alert recipients, business numbers, forwarding), read in the tenant's
    /// <paramref name="region"/> and returned in E.164, or null when it cannot be a phone number there.
    /// </summary>
    /// <remarks>
    /// The rule is libphonenumber's <c>IsPossibleNumber</c> (the right number of digits for the country's numbering
    /// plan), not <c>IsValidNumber</c> (the digits fall in a range the metadata lists as assigned). Range metadata lags
    /// real allocations (new area codes and overlays reach a deployed binary only with its next libphonenumber update),
    /// so a validity check would refuse a real customer's new number; a length check catches what tenants actually get
    /// wrong (a digit missing or extra, letters, a number of another country typed without its prefix). Numbers in an
    /// unassigned range pass here and are refused by Twilio when first dialled or texted. It also keeps North American
    /// test and demo numbers (+1 456…, unassigned) usable. Captured numbers from calls keep the stricter
    /// <see cref="ToE164"/>, where a mis-heard number must not look like a real one.
    /// </remarks>
    public static string? SettingsNumberToE164(string? text, string region)
    {
        if (string.IsNullOrWhiteSpace(text) || text.Length > 64)
        {
            return null;
        }
        try
        {
            var number = Util.Parse(text, region);
            return Util.IsPossibleNumberWithReason(number) == PhoneNumberUtil.ValidationResult.IS_POSSIBLE && FitsNumberingPlan(number)
                && Util.Format(number, PhoneNumberFormat.E164) is { } e164 && IsE164Shape(e164) ? e164 : null;
        }
        catch (NumberParseException)
        {
            return null;
        }
    }

    /// <summary>
    /// The national significant number (no trunk prefix, no calling code) of a whole number read in <paramref name="region"/>
    /// ("06 12 34 56 78" in FR → <c>612345678</c>; "+1 514 555 0199" → <c>5145550199</c>), or null when the text is not a
    /// whole possible number there (a partial number is searched by its digits instead).
    /// </summary>
    public static string? NationalDigits(string? text, string region)
    {
        if (SettingsNumberToE164(text, region) is not { } e164)
        {
            return null;
        }
        try
        {
            return Util.GetNationalSignificantNumber(Util.Parse(e164, region));
        }
        catch (NumberParseException)
        {
            return null;
        }
    }

    /// <summary>
    /// <see cref="SettingsNumberToE164"/> over a list: the E.164 forms (duplicates dropped, order kept), or the first entry
    /// that is not a number in <paramref name="region"/> as <paramref name="invalid"/>.
    /// </summary>
    public static List<string> SettingsNumbersToE164(IEnumerable<string?> texts, string region, out string? invalid)
    {
        invalid = null;
        var result = new List<string>();
        foreach (var text in texts)
        {
            if (SettingsNumberToE164(text, region) is not { } e164)
            {
                invalid = text ?? "";
                return result;
            }
            if (!result.Contains(e164, StringComparer.Ordinal))
            {
                result.Add(e164);
            }
        }
        return result;
    }

    /// <summary>
    /// True when the national number fits the general pattern of its country's numbering plan (libphonenumber's
    /// <c>generalDesc</c> for any region of the calling code), which is broader than the assigned ranges: a North American
    /// number needs an area code starting 2–9 (so "06 12 34 56 78" typed on a Québec tenant is refused), a new overlay
    /// still passes.
    /// </summary>
    private static bool FitsNumberingPlan(PhoneNumber number)
    {
        var national = Util.GetNationalSignificantNumber(number);
        foreach (var region in Util.GetRegionCodesForCountryCode(number.CountryCode))
        {
            var pattern = Util.GetMetadataForRegion(region)?.GeneralDesc?.NationalNumberPattern;
            if (string.IsNullOrEmpty(pattern)
                || System.Text.RegularExpressions.Regex.IsMatch(national, $"^(?:{pattern})$", System.Text.RegularExpressions.RegexOptions.None, TimeSpan.FromMilliseconds(100)))
            {
                return true;
            }
        }
        return false;
    }

    private static bool IsE164Shape(string e164) => e164.Length is >= 9 and <= 16 && e164[0] == '+' && e164[1] != '0';

    /// <summary>A captured number in E.164 when it reads as one in <paramref name="region"/>; otherwise as given (trimmed), so nothing the caller said is lost.</summary>
    public static string? Normalize(string? text, string region) => ToE164(text, region) ?? text?.Trim();

    /// <summary>
    /// True when <paramref name="value"/> is already written in E.164 (a plus, the calling code, the national number, no
    /// separators) and has a possible length for its country (<see cref="SettingsNumberToE164"/>'s rule).
    /// </summary>
    public static bool IsE164(string? value) => value is { Length: > 1 } && value[0] == '+' && SettingsNumberToE164(value, DefaultRegion) == value;

    /// <summary>True when <paramref name="e164"/> is already E.164 and a valid number (libphonenumber's metadata).</summary>
    public static bool IsValidE164(string? e164) => e164 is { Length: > 1 } && e164[0] == '+' && ToE164(e164, DefaultRegion) == e164;

    /// <summary>
    /// The first valid phone number written in free text (a chat message, a form field), read in <paramref name="region"/>
    /// (libphonenumber's <c>FindNumbers</c> at leniency <c>VALID</c>: "(514) 555-0142" in Québec, "06 12 34 56 78" in
    /// France, "+44 20 7946 0958" anywhere), in E.164; null when the text holds none.
    /// </summary>
    public static string? FindInText(string? text, string region)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }
        // Free text is bounded by its callers; 2,000 characters is far more than any sentence giving a callback number.
        var scanned = text.Length > 2000 ? text[..2000] : text;
        foreach (var match in Util.FindNumbers(scanned, region, PhoneNumberUtil.Leniency.VALID, 10))
        {
            return Util.Format(match.Number, PhoneNumberFormat.E164);
        }
        return null;
    }

    /// <summary>
    /// <paramref name="e164"/> written for a person reading a reply in <paramref name="language"/> (an ISO 639-1 code): a North
    /// American number in its national form, "(514) 555-0142", which Québec French writes without the parentheses,
    /// "514 555-0142", as the Office québécois de la langue française writes its own; any other number in libphonenumber's
    /// international form ("+33 6 12 34 56 78"). Text that is not a valid number comes back as it is; null stays null.
    /// </summary>
    public static string? ForReading(string? e164, string language)
    {
        if (string.IsNullOrWhiteSpace(e164) || e164.Length > 64)
        {
            return e164;
        }
        try
        {
            var number = Util.Parse(e164, DefaultRegion);
            if (!Util.IsValidNumber(number))
            {
                return e164;
            }
            if (number.CountryCode != 1)
            {
                return Util.Format(number, PhoneNumberFormat.INTERNATIONAL);
            }
            var national = Util.Format(number, PhoneNumberFormat.NATIONAL); // (514) 555-0142
            return language == "fr" ? national.Replace("(", "", StringComparison.Ordinal).Replace(") ", " ", StringComparison.Ordinal) : national;
        }
        catch (NumberParseException)
        {
            return e164;
        }
    }

    /// <summary>
    /// The ISO 3166 region a number belongs to (<c>+33612345678</c> → <c>FR</c>; <c>+15145550199</c> → <c>CA</c>, by its
    /// area code), or null when it is not a number or its calling code is shared by non-geographic services.
    /// </summary>
    public static string? RegionOfNumber(string? e164)
    {
        if (string.IsNullOrWhiteSpace(e164) || e164.Length > 64)
        {
            return null;
        }
        try
        {
            var region = Util.GetRegionCodeForNumber(Util.Parse(e164, DefaultRegion));
            return region is null or "ZZ" or "001" ? null : region;
        }
        catch (NumberParseException)
        {
            return null;
        }
    }

    /// <summary>The country calling code of an E.164 number (<c>+33…</c> → 33), or null when it is not a number.</summary>
    public static int? CallingCodeOf(string? e164)
    {
        if (string.IsNullOrWhiteSpace(e164) || e164.Length > 64)
        {
            return null;
        }
        try
        {
            return Util.Parse(e164, DefaultRegion).CountryCode;
        }
        catch (NumberParseException)
        {
            return null;
        }
    }

    /// <summary>
    /// The strings under which <paramref name="e164"/> appears in stored text: E.164, its digits, the national number,
    /// the national and international formats, and the number's groups joined with dashes, spaces or dots, both as the
    /// national format groups them and as the international one does (<c>+15145550199</c>, <c>15145550199</c>,
    /// <c>5145550199</c>, <c>(514) 555-0199</c>, <c>+1 514-555-0199</c>, <c>514-555-0199</c>, <c>514 555 0199</c>,
    /// <c>514.555.0199</c>; for <c>+33612345678</c>: <c>0612345678</c>, <c>06 12 34 56 78</c>, <c>6 12 34 56 78</c>
    /// (inside "+33 6 12 34 56 78" and "+33 (0)6 12 34 56 78"), <c>06.12.34.56.78</c>…). Erasure searches stored text
    /// for each as a substring, so a longer written form ("+1 514 555 0199") is found through a shorter one.
    /// Not a number: just the text and its digits.
    /// </summary>
    public static IReadOnlyList<string> Forms(string e164)
    {
        var digits = new string(e164.Where(char.IsAsciiDigit).ToArray());
        var forms = new List<string> { e164 };
        if (digits.Length > 0)
        {
            forms.Add(digits);
        }
        PhoneNumber number;
        try
        {
            number = Util.Parse(e164, DefaultRegion);
        }
        catch (NumberParseException)
        {
            return forms.Distinct(StringComparer.Ordinal).ToList();
        }
        forms.Add(Util.GetNationalSignificantNumber(number));
        var national = Util.Format(number, PhoneNumberFormat.NATIONAL);
        forms.Add(national);
        var international = Util.Format(number, PhoneNumberFormat.INTERNATIONAL);
        forms.Add(international);
        // The groups of each format, joined as people also write them: the national ones keep a trunk prefix ("06 …"),
        // the international ones drop it and the calling code ("6 12 34 56 78" inside "+33 6 12 34 56 78").
        var callingCode = "+" + number.CountryCode;
        var internationalGroups = international.StartsWith(callingCode, StringComparison.Ordinal) ? international[callingCode.Length..] : international;
        foreach (var written in new[] { national, internationalGroups })
        {
            var groups = written.Split([' ', '-', '(', ')', '.'], StringSplitOptions.RemoveEmptyEntries);
            if (groups.Length > 1)
            {
                forms.Add(string.Concat(groups));
                forms.Add(string.Join('-', groups));
                forms.Add(string.Join(' ', groups));
                forms.Add(string.Join('.', groups));
            }
        }
        return forms.Where(f => f.Length >= 6).Distinct(StringComparer.Ordinal).ToList();
    }
}
