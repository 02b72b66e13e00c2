using System.Diagnostics;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Switchboard.Platform.Http;

/// <summary>
/// The error envelope used by every endpoint, webhooks included (DESIGN.md "Public contracts"):
/// <c>{"error":{"code":"INVALID_SIGNATURE","message":"…","details":…,"traceId":"…"}}</c>.
/// </summary>
/// <param name="Error">The error body.</param>
public sealed record ErrorEnvelope([property: JsonPropertyName("error")] ErrorBody Error);

/// <summary>The body of an <see cref="ErrorEnvelope"/>. <paramref name="Code"/> is UPPER_SNAKE.</summary>
public sealed record ErrorBody(
    string Code,
    string Message,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] object? Details,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? TraceId);

/// <summary>Builds error results in the envelope.</summary>
internal static class ApiError
{
    public static JsonHttpResult<ErrorEnvelope> Create(int status, string code, string message, object? details = null) =>
        TypedResults.Json(new ErrorEnvelope(new ErrorBody(code, message, details, Activity.Current?.TraceId.ToString())), statusCode: status);

    public static JsonHttpResult<ErrorEnvelope> BadRequest(string code, string message, object? details = null) => Create(400, code, message, details);
    public static JsonHttpResult<ErrorEnvelope> Unauthorized(string code, string message) => Create(401, code, message);
    public static JsonHttpResult<ErrorEnvelope> Forbidden(string code, string message) => Create(403, code, message);
    public static JsonHttpResult<ErrorEnvelope> NotFound(string code, string message) => Create(404, code, message);
    public static JsonHttpResult<ErrorEnvelope> Conflict(string code, string message) => Create(409, code, message);
    public static JsonHttpResult<ErrorEnvelope> TooLarge(string message) => Create(413, "PAYLOAD_TOO_LARGE", message);
    public static JsonHttpResult<ErrorEnvelope> Unprocessable(string code, string message, object? details = null) => Create(422, code, message, details);

    /// <summary>Writes the envelope directly (middleware, auth handlers, rate limiter).</summary>
    public static Task WriteAsync(HttpContext http, int status, string code, string message, object? details = null)
    {
        http.Response.StatusCode = status;
        var traceId = Activity.Current?.TraceId.ToString() ?? http.TraceIdentifier;
        return http.Response.WriteAsJsonAsync(new ErrorEnvelope(new ErrorBody(code, message, details, traceId)), http.RequestAborted);
    }
}
