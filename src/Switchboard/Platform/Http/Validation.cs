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

    public JsonHttpResult<ErrorEnvelope> Result(string message = "Some fields are invalid.") =>
        ApiError.Unprocessable("VALIDATION_FAILED", message, errors);

    public static bool IsEmail(string? value) => value is { Length: > 3 and <= 254 } && EmailPattern().IsMatch(value);

    /// <summary>An IANA zone id known to this system (e.g. <c>America/Toronto</c>); Windows ids are refused.</summary>
    public static bool IsIanaTimeZone(string? value) =>
        value is { Length: > 0 and <= 64 } && (value == "UTC" || value.Contains('/'))
        && TimeZoneInfo.TryFindSystemTimeZoneById(value, out var zone) && zone.HasIanaId;

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

    [GeneratedRegex(@"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
    private static partial Regex EmailPattern();

    [GeneratedRegex(@"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$")]
    private static partial Regex LocalePattern();
}
