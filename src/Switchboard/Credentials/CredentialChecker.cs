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

    public async Task<(bool Ok, string Message)> CheckVapiAsync(string apiKey, CancellationToken ct)
    {
        var result = await vapi.CheckKeyAsync(apiKey, ct);
        return result.Outcome switch
        {
            VapiOutcome.Ok => (true, "Vapi accepted the private key."),
            VapiOutcome.Unauthorized => (false, "Vapi refused the key (is it the private key, not the public one?)."),
            _ => (false, Redaction.Redact(result.Error, apiKey) ?? "Vapi could not be reached."),
        };
    }

    public async Task<(bool Ok, string Message)> CheckTwilioAsync(TwilioCredentials credentials, CancellationToken ct)
    {
        var result = await twilio.CheckAccountAsync(credentials.AccountSid, credentials.AuthToken, ct);
        return result.Outcome switch
        {
            TwilioOutcome.Ok => (true, "Twilio accepted the account SID and auth token."),
            TwilioOutcome.Unauthorized or TwilioOutcome.NotFound => (false, "Twilio refused the account SID or auth token (20003)."),
            _ => (false, Redaction.Redact(result.Error, credentials.AuthToken) ?? "Twilio could not be reached."),
        };
    }

    public async Task<(bool Ok, string Message)> CheckOpenAiAsync(OpenAiCredentials credentials, CancellationToken ct)
    {
        if (await BaseUrlGuard.ProblemAsync(credentials.BaseUrl, options.Value.AllowPrivateBaseUrls, ct) is { } problem)
        {
            return (false, "Base URL " + problem + ".");
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
                >= 200 and < 300 => (true, "The model server accepted the key."),
                401 or 403 => (false, "The model server refused the key."),
                var s => (false, $"The model server answered {s}."),
            };
        }
        catch (HttpRequestException e) when (e.InnerException is BlockedAddressException)
        {
            return (false, "Base URL must not point at a private or local address.");
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            return (false, "The model server could not be reached: " + e.GetType().Name);
        }
    }
}
