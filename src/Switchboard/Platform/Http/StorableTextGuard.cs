using System.Text.Json;

namespace Switchboard.Platform.Http;

/// <summary>
/// The rule for text a client sends: U+0000 (PostgreSQL <c>text</c> rejects it, so a write or a filter holding it
/// failed as a 500), a lone UTF-16 surrogate escape and invalid UTF-8 (<c>JsonElement.GetString</c> throws on both)
/// cannot be stored, and are refused with a 422 <c>VALIDATION_FAILED</c> whose <c>details</c> name each field
/// (<c>status</c>, <c>persona.name</c>, <c>origins[0]</c>). The webhooks keep their own edge rule (such text is
/// replaced, <see cref="TolerantJson"/>): a provider's message must not be lost for one unusable string.
/// </summary>
internal static class StorableText
{
    /// <summary>The envelope's message.</summary>
    public const string Message = "Some fields hold text that cannot be stored.";

    /// <summary>What is said of each field.</summary>
    public const string Problem = "must be text without U+0000, lone surrogates or invalid UTF-8";

    /// <summary>
    /// The fields of a JSON body holding text that cannot be stored (<c>body</c> for a bare string), or null when there
    /// is none or the body is not well-formed JSON (its reader answers that).
    /// </summary>
    public static Dictionary<string, string>? JsonProblems(ReadOnlySpan<byte> json)
    {
        List<string> paths;
        try
        {
            TolerantJson.Sanitize(json, 64, out paths);
        }
        catch (JsonException)
        {
            return null;
        }
        return paths.Count == 0 ? null
            : paths.Distinct(StringComparer.Ordinal).ToDictionary(p => p == "$" ? "body" : p.TrimStart('$').TrimStart('.'), _ => Problem, StringComparer.Ordinal);
    }
}

/// <summary>
/// Applies <see cref="StorableText"/> to every <c>/api/v1</c> request before its endpoint runs, so nothing is changed:
/// query-string values holding U+0000, and JSON bodies (read once into memory, within the endpoint's body limit
/// (<see cref="RequestBodyLimitMiddleware"/>), and left there as the request body for what reads it next; the fast path is a
/// scan for invalid UTF-8 and <c>\u</c> escapes of a surrogate or U+0000). The same buffered body is then checked for a top-level
/// field its route does not take (<see cref="UnknownFields"/>, 400 <c>UNKNOWN_FIELD</c>). It runs after authentication and
/// authorization (a role without the route's permission gets its 403 first) and answers a plan without the route's feature
/// (<see cref="Billing.FeatureGate"/>, 403 <c>FEATURE_NOT_IN_PLAN</c>) before it reads anything: a caller without the right
/// is refused whatever the request holds. A date or time query parameter not spelt in ISO 8601 is then a 400
/// <c>BAD_REQUEST</c> (<see cref="IsoDates"/>). Before all that, a query parameter named more than once (<c>?pageSize=1&amp;pageSize=2</c>)
/// is a 400 <c>REPEATED_PARAMETER</c>: no parameter of the API is a list, and ASP.NET Core binds a repeated one as its values joined
/// by commas, which a number parses as another value (<c>"1,2"</c> is 12 for a <c>double</c>, thousands separator allowed).
/// </summary>
internal sealed class StorableTextGuardMiddleware(RequestDelegate next)
{
    /// <summary>The envelope's code for a query parameter given more than once (400).</summary>
    public const string RepeatedParameterCode = "REPEATED_PARAMETER";

    /// <summary>What <c>details</c> says of it.</summary>
    public const string RepeatedParameterProblem = "must be given once: no parameter of this API takes a list";

    /// <summary>Other paths go straight on, without a state machine (issue 13: every Vapi message passed through here).</summary>
    public Task InvokeAsync(HttpContext http) => http.Request.Path.StartsWithSegments("/api/v1") ? GuardAsync(http) : next(http);

    private async Task GuardAsync(HttpContext http)
    {
        // A plan without the route's feature is refused before anything the caller sent is looked at (a role without the
        // route's permission already was, by authorization): 403 whatever the query or the body holds.
        if (await Billing.FeatureGate.RefusalAsync(http) is { } refused)
        {
            await refused.ExecuteAsync(http);
            return;
        }
        if (IsoDates.QueryProblem(http) is var (dateName, dateValue, dateProblem))
        {
            // A date spelt other than ISO 8601 (01/12/2026) would bind as US month/day: refused like a value that does not parse.
            await ApiError.WriteAsync(http, 400, "BAD_REQUEST", $"The parameter '{dateName}' has an invalid value: '{dateValue}'.",
                new Dictionary<string, string> { [dateName] = dateProblem });
            return;
        }
        if (http.Request.Query.FirstOrDefault(p => p.Value.Count > 1) is { Key: { } key })
        {
            var repeated = TolerantJson.Cap(key, 100)!;
            // No /api/v1 parameter is a list, and a repeated one binds as its values joined by a comma: minDuration=1&minDuration=2
            // reads as "1,2", which a double parses as 12 (thousands separator), so the caller's filter was silently another one.
            await ApiError.WriteAsync(http, 400, RepeatedParameterCode, $"The parameter '{repeated}' is given more than once.",
                new Dictionary<string, string> { [repeated] = RepeatedParameterProblem });
            return;
        }
        Dictionary<string, string>? details = null;
        foreach (var (name, values) in http.Request.Query)
        {
            if (name.Contains('\0') || values.Any(v => v is not null && v.Contains('\0')))
            {
                (details ??= new(StringComparer.Ordinal))[name.Replace('\0', '\uFFFD')] = StorableText.Problem;
            }
        }
        if (details is null && http.Request.HasJsonContentType() && http.Request.ContentLength != 0)
        {
            // Read once, within the endpoint's limit (RequestBodyLimitMiddleware), and kept in memory for whatever reads it
            // next: the Idempotency-Key hash and the endpoint read this copy, not the connection again.
            var body = new MemoryStream();
            http.Response.RegisterForDispose(body);
            await http.Request.Body.CopyToAsync(body, http.RequestAborted);
            body.Position = 0;
            http.Request.Body = body;
            var json = body.GetBuffer().AsSpan(0, (int)body.Length);
            details = StorableText.JsonProblems(json);
            if (details is null && UnknownFields.RequestTypeOf(http) is { } type && UnknownFields.Find(json, type) is { } unknown)
            {
                await UnknownFields.WriteAsync(http, unknown, type);
                return;
            }
        }
        if (details is not null)
        {
            await ApiError.WriteAsync(http, 422, "VALIDATION_FAILED", StorableText.Message, details);
            return;
        }
        await next(http);
    }
}
