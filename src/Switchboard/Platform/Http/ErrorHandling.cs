using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Diagnostics;

namespace Switchboard.Platform.Http;

/// <summary>
/// Turns what escapes an endpoint into the error envelope: a malformed or oversized request
/// (<see cref="BadHttpRequestException"/>) is the client's fault (400/413), a lost unique-key race is a 409
/// <c>CONFLICT</c> (logged as a warning), and so is an update of a row another request deleted or changed since it was read
/// (<see cref="Microsoft.EntityFrameworkCore.DbUpdateConcurrencyException"/>, outside the provider webhooks), a saturated database (<see cref="Database.DatabaseBusy"/>) is a 503
/// <c>DATABASE_BUSY</c> with <c>Retry-After: 1</c> (logged once per <see cref="BusyLogInterval"/>, without a stack trace),
/// a client that went away (cancelled, or reset the connection mid-body) is a 499 logged at Debug with nothing written,
/// anything else is a 500 with no internals revealed.
/// </summary>
internal sealed partial class EnvelopeExceptionHandler(ILogger<EnvelopeExceptionHandler> logger) : IExceptionHandler
{
    /// <summary>At most one "database busy" warning per interval; the ones in between are counted into the next.</summary>
    internal static readonly TimeSpan BusyLogInterval = TimeSpan.FromSeconds(10);

    private long busySince = long.MinValue;
    private long busySuppressed;

    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken ct)
    {
        if (http.Response.HasStarted)
        {
            return false;
        }
        switch (exception)
        {
            case BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge }:
                await ApiError.WriteAsync(http, 413, "PAYLOAD_TOO_LARGE", "The request body is too large.");
                return true;
            case BadHttpRequestException { InnerException: System.Text.Json.JsonException json } when MissingRequired(json) is { } missing:
                // A body without a [JsonRequired] property: a field error like any other, not a malformed body.
                await ApiError.WriteAsync(http, 422, "VALIDATION_FAILED", "Some fields are invalid.", missing);
                return true;
            case BadHttpRequestException bad:
                var (message, details) = Describe(bad, UnknownFields.RequestTypeOf(http, http.Features.Get<IExceptionHandlerFeature>()?.Endpoint ?? http.GetEndpoint()));
                await ApiError.WriteAsync(http, bad.StatusCode, bad.StatusCode == 400 ? "BAD_REQUEST" : "HTTP_" + bad.StatusCode, message, details);
                return true;
            case Microsoft.AspNetCore.Connections.ConnectionResetException:
            case OperationCanceledException or IOException when http.RequestAborted.IsCancellationRequested:
                // The client went away (disconnect, reset mid-body): nobody is left to answer, and nothing is wrong here. Kestrel's
                // ConnectionResetException (a TCP RST read from the socket) can reach the body reader before the request is marked
                // aborted, so it is the client's doing whatever RequestAborted says yet. 499 (nginx's "client closed request") is
                // what the request metrics record, not a 500.
                http.Response.StatusCode = StatusCodes.Status499ClientClosedRequest;
                logger.LogDebug(exception, "Client disconnected during {Method} {Path}", http.Request.Method, http.Request.Path);
                return true;
            case Exception when Database.UniqueViolation.Is(exception):
                // Lost a race with a concurrent request on a unique key (after any transparent retry): the client may retry.
                logger.LogWarning(exception, "Conflict on {Method} {Path}", http.Request.Method, http.Request.Path);
                await ApiError.WriteAsync(http, 409, "CONFLICT", "A concurrent request changed the same resource; retry the request.");
                return true;
            case Microsoft.EntityFrameworkCore.DbUpdateConcurrencyException when !http.Request.Path.StartsWithSegments("/webhooks"):
                // A row this request read was deleted (or changed under a concurrency check) before its save: a PATCH or a
                // secret rotation racing the DELETE of the same webhook endpoint. A retry reads what is there now (404, or the
                // new row). Provider webhooks keep the 500: Vapi and Twilio retry a 5xx, which replays the whole message.
                logger.LogWarning(exception, "Concurrent change on {Method} {Path}", http.Request.Method, http.Request.Path);
                await ApiError.WriteAsync(http, 409, "CONFLICT", "A concurrent request changed the same resource; retry the request.");
                return true;
            case Exception when Database.DatabaseBusy.Is(exception):
                LogBusy(http, exception);
                http.Response.Headers.RetryAfter = "1";
                await ApiError.WriteAsync(http, 503, "DATABASE_BUSY", "The database is saturated; retry the request shortly.");
                return true;
            default:
                logger.LogError(exception, "Unhandled error on {Method} {Path}", http.Request.Method, http.Request.Path);
                await ApiError.WriteAsync(http, 500, "INTERNAL_ERROR", "An unexpected error occurred.");
                return true;
        }
    }

    /// <summary>What is said in <c>details</c> of a property a body names twice (<see cref="RequestJson"/>).</summary>
    internal const string DuplicateProblem = "appears more than once (RFC 7493 §2.3: names must be unique)";

    /// <summary>
    /// The client's words for what ASP.NET Core's parameter binding refused, without its type names
    /// (<c>Failed to bind parameter "Nullable&lt;DateTimeOffset&gt; From" from "2024-13-45".</c>): a query or route value that does not
    /// parse names the parameter and echoes the value (at most 100 characters), a missing one is named as required, and a body
    /// that is not the JSON the endpoint takes names the JSON path of the first bad value (<see cref="System.Text.Json.JsonException.Path"/>)
    /// and, for a value of the wrong JSON type, what the field takes (<see cref="RequestJson.WrongType"/>, looked up in
    /// <paramref name="body"/>, the endpoint's request type), or the property it names twice (<see cref="RequestJson"/>).
    /// <c>details</c> maps the parameter or path to the problem. Other messages pass through as they are.
    /// </summary>
    internal static (string Message, Dictionary<string, string>? Details) Describe(BadHttpRequestException bad, System.Text.Json.Serialization.Metadata.JsonTypeInfo? body = null)
    {
        if (bad.InnerException is System.Text.Json.JsonException json)
        {
            if (RequestJson.DuplicateProperty(json) is { } duplicate)
            {
                return ($"The request body names '{duplicate}' more than once.", new() { [duplicate] = DuplicateProblem });
            }
            if (RequestJson.WrongType(json, body) is (var field, { } expected))
            {
                // details keep the sentence the dashboard translates (web/src/lib/field-errors.ts); the message names the type.
                return ($"The request body is not valid: '{field}' must be {expected}.", new() { [field] = "malformed or of the wrong type" });
            }
            var path = json.Path is { Length: > 2 } p && p.StartsWith("$.", StringComparison.Ordinal) ? p[2..] : null;
            return path is null
                ? ("The request body is not valid JSON.", null)
                : ($"The request body is not valid: '{path}' is malformed or of the wrong type.", new() { [path] = "malformed or of the wrong type" });
        }
        if (BindFailed().Match(bad.Message) is { Success: true } failed)
        {
            var name = ParameterName(failed.Groups["name"].Value);
            var value = failed.Groups["value"].Value;
            value = value.Length > 100 ? TolerantJson.Cap(value, 100) + "…" : value;
            return ($"The parameter '{name}' has an invalid value: '{value}'.", new() { [name] = "invalid value" });
        }
        if (RequiredMissing().Match(bad.Message) is { Success: true } missing)
        {
            var name = ParameterName(missing.Groups["name"].Value);
            return ($"The parameter '{name}' is required.", new() { [name] = "is required" });
        }
        return (bad.Message, null);
    }

    /// <summary>
    /// The properties System.Text.Json found missing in a body (<c>[JsonRequired]</c>), as <c>details</c> (field → "is required"),
    /// or null when <paramref name="json"/> is about something else. The names are the JSON names (camelCase).
    /// </summary>
    internal static Dictionary<string, string>? MissingRequired(System.Text.Json.JsonException json)
    {
        if (MissingProperties().Match(json.Message) is not { Success: true } m)
        {
            return null;
        }
        var names = QuotedName().Matches(m.Groups["names"].Value).Select(n => n.Groups[1].Value).ToList();
        return names.Count == 0 ? null : names.Distinct(StringComparer.Ordinal).ToDictionary(n => n, _ => "is required", StringComparer.Ordinal);
    }

    [GeneratedRegex("missing required properties[^:]*:(?<names>.*)$", RegexOptions.Singleline)]
    private static partial Regex MissingProperties();

    [GeneratedRegex("'([^']{1,100})'")]
    private static partial Regex QuotedName();

    /// <summary>A C# parameter or property name as the client wrote it (camelCase: <c>From</c> → <c>from</c>).</summary>
    private static string ParameterName(string name) => name.Length == 0 ? name : char.ToLowerInvariant(name[0]) + name[1..];

    [GeneratedRegex("^Failed to bind parameter \"(?<type>.+) (?<name>[A-Za-z_][A-Za-z0-9_]*)\" from \"(?<value>.*)\"\\.?$", RegexOptions.Singleline)]
    private static partial Regex BindFailed();

    [GeneratedRegex("^Required parameter \"(?<type>.+) (?<name>[A-Za-z_][A-Za-z0-9_]*)\" was not provided")]
    private static partial Regex RequiredMissing();

    private void LogBusy(HttpContext http, Exception exception)
    {
        var now = Environment.TickCount64;
        var since = Interlocked.Read(ref busySince);
        if (since != long.MinValue && now - since < (long)BusyLogInterval.TotalMilliseconds || Interlocked.CompareExchange(ref busySince, now, since) != since)
        {
            Interlocked.Increment(ref busySuppressed);
            return;
        }
        var suppressed = Interlocked.Exchange(ref busySuppressed, 0);
        // The innermost message names the limit (pool size and timeout, or SQLite's lock); the stack says nothing more.
        var cause = exception;
        while (cause.InnerException is { } inner && cause is not Npgsql.NpgsqlException and not Microsoft.Data.Sqlite.SqliteException)
        {
            cause = inner;
        }
        logger.LogWarning("Database busy on {Method} {Path}, answered 503 (and {Suppressed} more since the last warning): {Cause}",
            http.Request.Method, http.Request.Path, suppressed, cause.Message);
    }
}

internal static class ErrorHandlingExtensions
{
    /// <summary>Exception handler plus envelope bodies for bare status codes (unknown routes, wrong methods).</summary>
    public static WebApplication UseErrorEnvelope(this WebApplication app)
    {
        app.UseExceptionHandler(new ExceptionHandlerOptions { ExceptionHandler = _ => Task.CompletedTask });
        app.UseStatusCodePages(async ctx =>
        {
            var http = ctx.HttpContext;
            if (http.Response.HasStarted || http.Response.ContentLength > 0 || http.Response.ContentType is not null)
            {
                return;
            }
            var (code, message) = http.Response.StatusCode switch
            {
                400 => ("BAD_REQUEST", "The request is malformed."),
                404 => ("NOT_FOUND", "No such resource."),
                405 => ("METHOD_NOT_ALLOWED", "This method is not allowed here."),
                401 => ("UNAUTHENTICATED", "Authentication is required."),
                403 => ("FORBIDDEN", "Not allowed."),
                415 => ("UNSUPPORTED_MEDIA_TYPE", "Unsupported content type."),
                _ => ("HTTP_" + http.Response.StatusCode, "The request failed."),
            };
            await ApiError.WriteAsync(http, http.Response.StatusCode, code, message);
        });
        return app;
    }
}
