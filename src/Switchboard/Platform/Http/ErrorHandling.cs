using Microsoft.AspNetCore.Diagnostics;

namespace Switchboard.Platform.Http;

/// <summary>
/// Turns what escapes an endpoint into the error envelope: a malformed or oversized request
/// (<see cref="BadHttpRequestException"/>) is the client's fault (400/413), a lost unique-key race is a 409
/// <c>CONFLICT</c> (logged as a warning), a saturated database (<see cref="Database.DatabaseBusy"/>) is a 503
/// <c>DATABASE_BUSY</c> with <c>Retry-After: 1</c> (logged once per <see cref="BusyLogInterval"/>, without a stack trace),
/// anything else is a 500 with no internals revealed.
/// </summary>
internal sealed class EnvelopeExceptionHandler(ILogger<EnvelopeExceptionHandler> logger) : IExceptionHandler
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
            case BadHttpRequestException bad:
                await ApiError.WriteAsync(http, bad.StatusCode, bad.StatusCode == 400 ? "BAD_REQUEST" : "HTTP_" + bad.StatusCode, bad.Message);
                return true;
            case OperationCanceledException or IOException when http.RequestAborted.IsCancellationRequested:
                // The client went away (disconnect, reset mid-body): nobody is left to answer, and nothing is wrong here.
                logger.LogDebug(exception, "Client disconnected during {Method} {Path}", http.Request.Method, http.Request.Path);
                return true;
            case Exception when Database.UniqueViolation.Is(exception):
                // Lost a race with a concurrent request on a unique key (after any transparent retry): the client may retry.
                logger.LogWarning(exception, "Conflict on {Method} {Path}", http.Request.Method, http.Request.Path);
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
