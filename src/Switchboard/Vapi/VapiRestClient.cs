using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;

namespace Switchboard.Vapi;

/// <summary>What a Vapi REST call came to.</summary>
internal enum VapiOutcome
{
    /// <summary>2xx.</summary>
    Ok,

    /// <summary>404: the resource is gone at Vapi.</summary>
    NotFound,

    /// <summary>401/403: the private key is wrong.</summary>
    Unauthorized,

    /// <summary>Other 4xx (400 validation, 409 conflict): retrying the same request cannot succeed.</summary>
    Rejected,

    /// <summary>408, 429, 5xx or a network failure: retry later.</summary>
    Transient,
}

/// <summary>A Vapi REST answer: outcome, HTTP status, the JSON body, and Vapi's error message.</summary>
internal sealed record VapiResult(VapiOutcome Outcome, int Status, JsonNode? Body, string? Error);

/// <summary>
/// A minimal client for Vapi's REST API (shared/protocols/vapi-rest.md; SPEC <c>fern/apis/api/openapi.json</c>):
/// base <see cref="VapiOptions.ApiBaseUrl"/>, <c>Authorization: Bearer &lt;private key&gt;</c>, JSON bodies. Assistants:
/// <c>POST /assistant</c> (201), <c>PATCH|DELETE /assistant/{id}</c> (200), <c>GET /assistant</c> (array). Phone numbers:
/// <c>POST /phone-number</c> (201), <c>DELETE /phone-number/{id}</c>. Errors are NestJS-shaped
/// <c>{"message": string | string[], "error", "statusCode"}</c>. The official SDK (Vapi.Net) is not installable here.
/// The private key and request bodies are never logged.
/// </summary>
internal sealed class VapiRestClient(HttpClient http, IOptions<VapiOptions> options)
{
    public Task<VapiResult> CreateAssistantAsync(string apiKey, JsonObject body, CancellationToken ct) => SendAsync(HttpMethod.Post, "/assistant", apiKey, body, ct);

    public Task<VapiResult> UpdateAssistantAsync(string apiKey, string id, JsonObject body, CancellationToken ct) =>
        SendAsync(HttpMethod.Patch, "/assistant/" + Uri.EscapeDataString(id), apiKey, body, ct);

    public Task<VapiResult> DeleteAssistantAsync(string apiKey, string id, CancellationToken ct) =>
        SendAsync(HttpMethod.Delete, "/assistant/" + Uri.EscapeDataString(id), apiKey, null, ct);

    /// <summary>Lists assistants (up to 1000, newest window); the body is a plain JSON array.</summary>
    public Task<VapiResult> ListAssistantsAsync(string apiKey, CancellationToken ct) => SendAsync(HttpMethod.Get, "/assistant?limit=1000", apiKey, null, ct);

    public Task<VapiResult> CreatePhoneNumberAsync(string apiKey, JsonObject body, CancellationToken ct) => SendAsync(HttpMethod.Post, "/phone-number", apiKey, body, ct);

    public Task<VapiResult> UpdatePhoneNumberAsync(string apiKey, string id, JsonObject body, CancellationToken ct) =>
        SendAsync(HttpMethod.Patch, "/phone-number/" + Uri.EscapeDataString(id), apiKey, body, ct);

    public Task<VapiResult> DeletePhoneNumberAsync(string apiKey, string id, CancellationToken ct) =>
        SendAsync(HttpMethod.Delete, "/phone-number/" + Uri.EscapeDataString(id), apiKey, null, ct);

    public Task<VapiResult> ListPhoneNumbersAsync(string apiKey, CancellationToken ct) => SendAsync(HttpMethod.Get, "/phone-number?limit=1000", apiKey, null, ct);

    /// <summary>A cheap authenticated read, to check a private key.</summary>
    /// <summary><c>POST /call</c>: an outbound phone call (<c>assistantId</c>, <c>phoneNumberId</c>, <c>customer.number</c>, <c>assistantOverrides.variableValues</c>) → 201 with the call (<c>id</c>, <c>status</c> <c>queued</c>).</summary>
    public Task<VapiResult> CreateCallAsync(string apiKey, JsonObject body, CancellationToken ct) => SendAsync(HttpMethod.Post, "/call", apiKey, body, ct);

    /// <summary>
    /// <c>GET /call?phoneNumberId=&amp;createdAtGe=&amp;limit=100</c>: the calls from a Vapi phone number created since a time
    /// (ISO 8601), as a plain JSON array.
    /// </summary>
    public Task<VapiResult> ListCallsAsync(string apiKey, string phoneNumberId, DateTimeOffset createdSince, CancellationToken ct) =>
        SendAsync(HttpMethod.Get, $"/call?phoneNumberId={Uri.EscapeDataString(phoneNumberId)}&createdAtGe={Uri.EscapeDataString(createdSince.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture))}&limit=100",
            apiKey, null, ct);

    public Task<VapiResult> CheckKeyAsync(string apiKey, CancellationToken ct) => SendAsync(HttpMethod.Get, "/assistant?limit=1", apiKey, null, ct);

    private async Task<VapiResult> SendAsync(HttpMethod method, string path, string apiKey, JsonObject? body, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, options.Value.ApiBaseUrl.TrimEnd('/') + path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        if (body is not null)
        {
            request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        }
        try
        {
            using var response = await http.SendAsync(request, ct);
            var text = await response.Content.ReadAsStringAsync(ct);
            var status = (int)response.StatusCode;
            JsonNode? json = null;
            try
            {
                json = text.Length == 0 ? null : JsonNode.Parse(text);
            }
            catch (JsonException)
            {
                // Not JSON (a proxy's error page): keep the status only.
            }
            if (response.IsSuccessStatusCode)
            {
                return new VapiResult(VapiOutcome.Ok, status, json, null);
            }
            var outcome = response.StatusCode switch
            {
                HttpStatusCode.NotFound => VapiOutcome.NotFound,
                HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => VapiOutcome.Unauthorized,
                HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests => VapiOutcome.Transient,
                _ when status >= 500 => VapiOutcome.Transient,
                _ => VapiOutcome.Rejected,
            };
            return new VapiResult(outcome, status, json, $"Vapi {status}: {ErrorMessage(json) ?? response.ReasonPhrase}");
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            return new VapiResult(VapiOutcome.Transient, 0, null, "Vapi unreachable: " + e.GetType().Name);
        }
    }

    private static string? ErrorMessage(JsonNode? json)
    {
        var message = json?["message"];
        var text = message switch
        {
            JsonArray a => string.Join("; ", a.Select(x => x?.ToString())),
            JsonValue v => v.ToString(),
            _ => json?["error"]?.ToString(),
        };
        return text is { Length: > 300 } ? text[..300] : text;
    }
}
