using System.Net.Http.Headers;
using Microsoft.Extensions.Options;
using Switchboard.Platform.Net;
using Switchboard.Twilio;
using Switchboard.Vapi;

namespace Switchboard.Credentials;

/// <summary>
/// Live checks of stored credentials against their providers, each one cheap authenticated read:
/// Vapi <c>GET /assistant?limit=1</c> (Bearer private key), Twilio <c>GET /2010-04-01/Accounts/{AccountSid}.json</c>
/// (Basic), OpenAI-compatible <c>GET {baseUrl}/models</c> (Bearer). Base URLs come from configuration (Vapi, Twilio)
/// or the tenant (OpenAI-compatible, checked by <see cref="BaseUrlGuard"/>), so tests point them at simulators. The
/// OpenAI-compatible check's client (<see cref="HttpClientName"/>) connects through <see cref="OutboundPolicy"/>'s
/// connect callback and follows no redirects (a 3xx is reported as such), so neither DNS rebinding nor a redirect to
/// an internal address gets through.
/// </summary>
internal sealed class CredentialChecker(
    VapiRestClient vapi, TwilioNumbersClient twilio, IHttpClientFactory httpFactory, IOptions<CredentialOptions> options)
{
    public const string HttpClientName = "credential-check";

    /// <summary>Checks a Vapi private key: <c>VAPI_KEY_ACCEPTED</c>, <c>VAPI_KEY_REFUSED</c> (401/403) or <c>VAPI_UNREACHABLE</c> (anything else, with Vapi's words, the key redacted).</summary>
    public async Task<CredentialCheckResult> CheckVapiAsync(string apiKey, CancellationToken ct)
    {
        var result = await vapi.CheckKeyAsync(apiKey, ct);
        return result.Outcome switch
        {
            VapiOutcome.Ok => new(true, CredentialCheckCodes.VapiKeyAccepted, "Vapi accepted the private key."),
            VapiOutcome.Unauthorized => new(false, CredentialCheckCodes.VapiKeyRefused, "Vapi refused the key (is it the private key, not the public one?)."),
            _ => new(false, CredentialCheckCodes.VapiUnreachable, Redaction.Redact(result.Error, apiKey) ?? "Vapi could not be reached."),
        };
    }

    /// <summary>Checks a Twilio account SID and auth token: <c>TWILIO_CREDENTIALS_ACCEPTED</c>, <c>TWILIO_CREDENTIALS_REFUSED</c> (Twilio error 20003, or no such account) or <c>TWILIO_UNREACHABLE</c>.</summary>
    public async Task<CredentialCheckResult> CheckTwilioAsync(TwilioCredentials credentials, CancellationToken ct)
    {
        var result = await twilio.CheckAccountAsync(credentials.AccountSid, credentials.AuthToken, ct);
        return result.Outcome switch
        {
            TwilioOutcome.Ok => new(true, CredentialCheckCodes.TwilioAccepted, "Twilio accepted the account SID and auth token."),
            TwilioOutcome.Unauthorized or TwilioOutcome.NotFound => new(false, CredentialCheckCodes.TwilioRefused, "Twilio refused the account SID or auth token (20003)."),
            _ => new(false, CredentialCheckCodes.TwilioUnreachable, Redaction.Redact(result.Error, credentials.AuthToken) ?? "Twilio could not be reached."),
        };
    }

    /// <summary>
    /// Checks an OpenAI-compatible key and base URL: <c>OPENAI_KEY_ACCEPTED</c> (2xx), <c>OPENAI_KEY_REFUSED</c> (401/403),
    /// <c>OPENAI_HTTP_STATUS</c> (another status, redirects included), <c>OPENAI_BASE_URL_INVALID</c> (<see cref="BaseUrlGuard"/>'s
    /// phrase) or <c>OPENAI_UNREACHABLE</c>.
    /// </summary>
    public async Task<CredentialCheckResult> CheckOpenAiAsync(OpenAiCredentials credentials, CancellationToken ct)
    {
        if (await BaseUrlGuard.ProblemAsync(credentials.BaseUrl, options.Value.AllowPrivateBaseUrls, ct) is { } problem)
        {
            return new(false, CredentialCheckCodes.OpenAiBaseUrlInvalid, "Base URL " + problem + ".");
        }
        using var request = new HttpRequestMessage(HttpMethod.Get, credentials.BaseUrl.TrimEnd('/') + "/models");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", credentials.ApiKey);
        try
        {
            var http = httpFactory.CreateClient(HttpClientName);
            http.Timeout = TimeSpan.FromSeconds(options.Value.CheckTimeoutSeconds);
            using var response = await http.SendAsync(request, ct);
            return (int)response.StatusCode switch
            {
                >= 200 and < 300 => new(true, CredentialCheckCodes.OpenAiKeyAccepted, "The model server accepted the key."),
                401 or 403 => new(false, CredentialCheckCodes.OpenAiKeyRefused, "The model server refused the key."),
                var s => new(false, CredentialCheckCodes.OpenAiHttpStatus, $"The model server answered {s}."),
            };
        }
        catch (HttpRequestException e) when (e.InnerException is BlockedAddressException)
        {
            return new(false, CredentialCheckCodes.OpenAiBaseUrlInvalid, "Base URL must not point at a private or local address.");
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            return new(false, CredentialCheckCodes.OpenAiUnreachable, "The model server could not be reached: " + e.GetType().Name);
        }
    }
}

/// <summary>A live check's outcome: whether the provider accepted the credential, a stable <see cref="CredentialCheckCodes">code</see>, and the English sentence.</summary>
internal sealed record CredentialCheckResult(bool Ok, string Code, string Message);

/// <summary>
/// The stable codes of a credential check (<see cref="CredentialCheckDto.Code"/>), for a dashboard to word the outcome in its
/// reader's language (web <c>credentials.checkCodes.*</c>); the message stays the English sentence, with the provider's own
/// words where there are some.
/// </summary>
internal static class CredentialCheckCodes
{
    public const string VapiKeyAccepted = "VAPI_KEY_ACCEPTED";
    public const string VapiKeyRefused = "VAPI_KEY_REFUSED";
    public const string VapiUnreachable = "VAPI_UNREACHABLE";
    public const string TwilioAccepted = "TWILIO_CREDENTIALS_ACCEPTED";
    public const string TwilioRefused = "TWILIO_CREDENTIALS_REFUSED";
    public const string TwilioUnreachable = "TWILIO_UNREACHABLE";
    public const string OpenAiKeyAccepted = "OPENAI_KEY_ACCEPTED";
    public const string OpenAiKeyRefused = "OPENAI_KEY_REFUSED";

    /// <summary>The model server answered another status than 2xx, 401 or 403; <c>details.status</c> is the status code.</summary>
    public const string OpenAiHttpStatus = "OPENAI_HTTP_STATUS";

    /// <summary>The base URL is refused (<see cref="BaseUrlGuard"/>); <c>details.problem</c> is its phrase (<c>must use https</c>…).</summary>
    public const string OpenAiBaseUrlInvalid = "OPENAI_BASE_URL_INVALID";

    public const string OpenAiUnreachable = "OPENAI_UNREACHABLE";

    /// <summary>A check recorded before checks had codes: passed.</summary>
    public const string Passed = "CHECK_PASSED";

    /// <summary>A check recorded before checks had codes: failed.</summary>
    public const string Failed = "CHECK_FAILED";
}
