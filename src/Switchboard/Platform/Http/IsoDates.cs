using System.Collections.Concurrent;
using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Mvc;

namespace Switchboard.Platform.Http;

/// <summary>
/// The one reading of a date or a time in an <c>/api/v1</c> query string: ISO 8601 (RFC 3339 profile) only, so
/// <c>01/12/2026</c> is refused rather than read as January 12 (.NET's invariant culture is US month/day, and ASP.NET
/// Core binds <see cref="DateTimeOffset"/> and <see cref="DateOnly"/> query parameters with it). A date is
/// <c>yyyy-MM-dd</c>; an instant is a date (midnight UTC) or a timestamp <c>yyyy-MM-ddTHH:mm[:ss[.fffffff]]</c> with
/// <c>Z</c> or an offset <c>±hh:mm</c> (none: UTC). <see cref="StorableTextGuardMiddleware"/> applies it, before the
/// endpoint runs, to every query parameter an endpoint binds as <see cref="DateTimeOffset"/>, <see cref="DateTime"/> or
/// <see cref="DateOnly"/> (directly or through <c>[AsParameters]</c>): another spelling is a 400 <c>BAD_REQUEST</c> naming
/// the parameter, as a value that does not parse at all already was. Endpoints that read a date from a string use
/// <see cref="TryParseInstant"/> or <see cref="TryParseDate"/> themselves.
/// </summary>
internal static partial class IsoDates
{
    /// <summary>What <c>details</c> says of a query parameter that takes an instant.</summary>
    public const string InstantProblem = "must be ISO 8601: yyyy-MM-dd or a timestamp such as 2026-11-01T00:00:00Z";

    /// <summary>What <c>details</c> says of a query parameter that takes a date.</summary>
    public const string DateProblem = "must be an ISO 8601 date: yyyy-MM-dd";

    private static readonly ConcurrentDictionary<MethodInfo, Dictionary<string, bool>> Parameters = new();

    /// <summary>An ISO 8601 date, <c>yyyy-MM-dd</c> (nothing else: no time, no other order or separator).</summary>
    public static bool TryParseDate(string? value, out DateOnly date) =>
        DateOnly.TryParseExact(value, "yyyy'-'MM'-'dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out date);

    /// <summary>
    /// An ISO 8601 instant (see <see cref="IsoDates"/>), in UTC: <c>2026-12-01</c> is 2026-12-01T00:00:00Z, a timestamp
    /// without an offset is UTC. False for any other spelling or an impossible date or time.
    /// </summary>
    public static bool TryParseInstant(string? value, out DateTimeOffset at)
    {
        at = default;
        if (value is null || !Instant().IsMatch(value)
            || !DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out at))
        {
            return false;
        }
        at = at.ToUniversalTime();
        return true;
    }

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}([Tt]\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?([Zz]|[+-]\d{2}:\d{2})?)?$")]
    private static partial Regex Instant();

    /// <summary>
    /// The first query parameter of the request's endpoint that takes a date or an instant and is not spelt in ISO 8601, as
    /// (name as sent, value, problem); null when there is none (or the endpoint binds no such parameter).
    /// </summary>
    public static (string Name, string Value, string Problem)? QueryProblem(HttpContext http)
    {
        if (http.GetEndpoint()?.Metadata.GetMetadata<MethodInfo>() is not { } method)
        {
            return null;
        }
        var dates = Parameters.GetOrAdd(method, DateParameters);
        if (dates.Count == 0)
        {
            return null;
        }
        foreach (var (name, values) in http.Request.Query)
        {
            if (!dates.TryGetValue(name, out var isDate))
            {
                continue;
            }
            foreach (var value in values)
            {
                if (string.IsNullOrEmpty(value))
                {
                    continue; // an empty value binds as null, as before
                }
                var ok = isDate ? TryParseDate(value, out _) : TryParseInstant(value, out _);
                if (!ok)
                {
                    return (name, value.Length > 100 ? TolerantJson.Cap(value, 100) + "…" : value, isDate ? DateProblem : InstantProblem);
                }
            }
        }
        return null;
    }

    /// <summary>The query names (case-insensitive, as binding reads them) of a handler's date (true) and instant (false) parameters.</summary>
    private static Dictionary<string, bool> DateParameters(MethodInfo method)
    {
        var found = new Dictionary<string, bool>(StringComparer.OrdinalIgnoreCase);
        foreach (var p in method.GetParameters())
        {
            if (p.GetCustomAttribute<AsParametersAttribute>() is not null)
            {
                // [AsParameters]: the record's constructor parameters are the query parameters.
                foreach (var inner in p.ParameterType.GetConstructors().OrderByDescending(c => c.GetParameters().Length).FirstOrDefault()?.GetParameters() ?? [])
                {
                    Add(found, inner);
                }
            }
            else
            {
                Add(found, p);
            }
        }
        return found;

        static void Add(Dictionary<string, bool> found, ParameterInfo p)
        {
            var type = Nullable.GetUnderlyingType(p.ParameterType) ?? p.ParameterType;
            if (type != typeof(DateOnly) && type != typeof(DateTimeOffset) && type != typeof(DateTime))
            {
                return;
            }
            if (p.GetCustomAttribute<FromRouteAttribute>() is not null || p.GetCustomAttribute<FromBodyAttribute>() is not null || p.GetCustomAttribute<FromHeaderAttribute>() is not null)
            {
                return;
            }
            var name = p.GetCustomAttribute<FromQueryAttribute>()?.Name ?? p.Name;
            if (name is not null)
            {
                found[name] = type == typeof(DateOnly);
            }
        }
    }
}
