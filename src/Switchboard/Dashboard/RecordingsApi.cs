using System.Net.Http.Headers;
using System.Text;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Switchboard.Credentials;
using Switchboard.Platform.Database;
using Switchboard.Platform.Http;
using Switchboard.Tenancy;
using Switchboard.Twilio;
using Switchboard.Webhooks;

namespace Switchboard.Dashboard;

/// <summary>
/// <c>GET /api/v1/calls/{id}/recording</c>: the call's recording streamed through the host, so the browser never sees the
/// provider's URL or the tenant's credentials (dashboard contract, issue 8; frontends.md §2.5 item 4). The provider URL
/// is fetched server-side: Vapi's recording URLs as they are (public storage links); Twilio's with the tenant's Basic
/// auth (AccountSid:AuthToken) and <c>.wav</c> appended when the URL has no extension (twilio-voice-sms.md §3). The
/// client's <c>Range</c> header is forwarded and a <c>206</c> relayed with <c>Content-Range</c>; a provider that ignores
/// Range is answered from a temporary copy with the host's own range processing. Outbound connections go through the
/// webhook SSRF policy (<see cref="WebhookUrlPolicy.ConnectCallback"/>: checked at connect time, redirects included).
/// Errors: 404 <c>CALL_NOT_FOUND</c> (also another tenant's call), 404 <c>RECORDING_NOT_FOUND</c>, 502 <c>RECORDING_UNAVAILABLE</c>.
/// </summary>
internal static class RecordingsApi
{
    public const string HttpClientName = "recordings";

    /// <summary>The path the browser gets instead of the provider URL.</summary>
    public static string PathFor(Guid callId) => $"/api/v1/calls/{callId}/recording";

    public static IServiceCollection AddRecordingsProxy(this IServiceCollection services)
    {
        services.AddHttpClient(HttpClientName, http => http.Timeout = TimeSpan.FromSeconds(60))
            .ConfigurePrimaryHttpMessageHandler(sp => new SocketsHttpHandler
            {
                ConnectCallback = sp.GetRequiredService<WebhookUrlPolicy>().ConnectCallback,
                AllowAutoRedirect = true, // Twilio answers a media URL with a redirect to storage; the Authorization header is not forwarded
                MaxAutomaticRedirections = 3,
                UseProxy = false,
                UseCookies = false,
                AutomaticDecompression = System.Net.DecompressionMethods.None,
                ConnectTimeout = TimeSpan.FromSeconds(10),
                PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            });
        return services;
    }

    public static RouteGroupBuilder MapRecordings(this RouteGroupBuilder api)
    {
        api.MapGet("/calls/{id:guid}/recording", GetAsync).WithTags("Calls").WithSummary("The call's recording audio (supports Range)")
            .Produces(200, contentType: "audio/wav").Produces(206, contentType: "audio/wav")
            .RequirePermission(Permission.Read).ProducesErrors(401, 403, 404, 502);
        return api;
    }

    private static async Task<IResult> GetAsync(
        Guid id, HttpContext http, SwitchboardDbContext db, CredentialStore credentials, WebhookUrlPolicy policy, IHttpClientFactory clients,
        ILoggerFactory loggers, CancellationToken ct)
    {
        var call = await db.Calls.AsNoTracking().Where(c => c.Id == id).Select(c => new { c.TenantId, c.Provider, c.RecordingUrl }).FirstOrDefaultAsync(ct);
        if (call is null)
        {
            return ApiError.NotFound("CALL_NOT_FOUND", "No such call.");
        }
        if (!Uri.TryCreate(call.RecordingUrl, UriKind.Absolute, out var url)
            || !(url.Scheme == Uri.UriSchemeHttps || (url.Scheme == Uri.UriSchemeHttp && policy.AllowInsecureUrls)))
        {
            return ApiError.NotFound("RECORDING_NOT_FOUND", "This call has no recording.");
        }
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (call.Provider == NativeCallStatus.Provider)
        {
            if (!Path.HasExtension(url.AbsolutePath))
            {
                request.RequestUri = new UriBuilder(url) { Path = url.AbsolutePath + ".wav" }.Uri;
            }
            if (await credentials.GetTwilioAsync(call.TenantId, ct) is { } twilio)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Basic",
                    Convert.ToBase64String(Encoding.UTF8.GetBytes($"{twilio.AccountSid}:{twilio.AuthToken}")));
            }
        }
        var range = http.Request.Headers.Range.ToString();
        if (range.Length > 0 && RangeHeaderValue.TryParse(range, out var parsed))
        {
            request.Headers.Range = parsed;
        }
        HttpResponseMessage upstream;
        try
        {
            upstream = await clients.CreateClient(HttpClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException && !ct.IsCancellationRequested)
        {
            loggers.CreateLogger(typeof(RecordingsApi)).LogWarning("Fetching the recording of call {CallId} failed: {Error}", id, e.Message);
            return ApiError.Create(502, "RECORDING_UNAVAILABLE", "The recording could not be fetched from the provider.");
        }
        http.Response.RegisterForDispose(upstream);
        if (upstream.StatusCode == System.Net.HttpStatusCode.RequestedRangeNotSatisfiable)
        {
            http.Response.Headers.ContentRange = upstream.Content.Headers.ContentRange?.ToString();
            return ApiError.Create(416, "RANGE_NOT_SATISFIABLE", "The requested range is outside the recording.");
        }
        if (upstream.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return ApiError.NotFound("RECORDING_NOT_FOUND", "The provider no longer has this recording.");
        }
        if (!upstream.IsSuccessStatusCode)
        {
            loggers.CreateLogger(typeof(RecordingsApi)).LogWarning("The provider answered {Status} for the recording of call {CallId}", (int)upstream.StatusCode, id);
            return ApiError.Create(502, "RECORDING_UNAVAILABLE", "The recording could not be fetched from the provider.");
        }
        var contentType = upstream.Content.Headers.ContentType?.ToString() is { Length: > 0 } t && !t.StartsWith("text/", StringComparison.OrdinalIgnoreCase)
            ? t : "audio/wav";
        http.Response.Headers.CacheControl = "private, no-store";
        if (request.Headers.Range is not null && upstream.StatusCode == System.Net.HttpStatusCode.OK)
        {
            // The provider ignored Range: keep a temporary copy (deleted on close) so the host can answer the range itself.
            var copy = new FileStream(Path.GetTempFileName(), FileMode.Open, FileAccess.ReadWrite, FileShare.None, 81920, FileOptions.DeleteOnClose | FileOptions.Asynchronous);
            await upstream.Content.CopyToAsync(copy, ct);
            copy.Position = 0;
            return TypedResults.Stream(copy, contentType, enableRangeProcessing: true);
        }
        return new RelayResult(upstream, contentType);
    }

    /// <summary>Relays the provider's 200 or 206 with its length and range headers, streaming the body.</summary>
    private sealed class RelayResult(HttpResponseMessage upstream, string contentType) : IResult
    {
        public async Task ExecuteAsync(HttpContext http)
        {
            var response = http.Response;
            response.StatusCode = (int)upstream.StatusCode;
            response.ContentType = contentType;
            response.Headers.AcceptRanges = "bytes";
            if (upstream.Content.Headers.ContentLength is { } length)
            {
                response.ContentLength = length;
            }
            if (upstream.Content.Headers.ContentRange is { } contentRange)
            {
                response.Headers.ContentRange = contentRange.ToString();
            }
            await using var body = await upstream.Content.ReadAsStreamAsync(http.RequestAborted);
            await body.CopyToAsync(response.Body, http.RequestAborted);
        }
    }
}
