using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace Switchboard.Twilio;

/// <summary>What a Twilio REST call came to: <c>Ok</c>, <c>NotFound</c>, <c>Unauthorized</c> (20003), <c>Rejected</c> (other 4xx) or <c>Transient</c> (429, 5xx, network).</summary>
internal enum TwilioOutcome
{
    Ok,
    NotFound,
    Unauthorized,
    Rejected,
    Transient,
}

/// <summary>
/// A Twilio answer; <see cref="Sid"/> is the IncomingPhoneNumber sid (<c>PN…</c>) when one was found or updated, and
/// <see cref="SmsCapable"/> the number's <c>capabilities.sms</c> when a lookup returned it.
/// </summary>
internal sealed record TwilioNumberResult(TwilioOutcome Outcome, string? Sid, string? Error, bool? SmsCapable = null);

/// <summary>
/// Twilio's IncomingPhoneNumbers and Accounts REST resources (api.twilio.com, version 2010-04-01), HTTP Basic
/// <c>AccountSid:AuthToken</c>, form-encoded writes:
/// <list type="bullet">
/// <item><c>GET /2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers.json?PhoneNumber={E.164}</c>: page with <c>incoming_phone_numbers[]</c> (<c>sid</c>, <c>phone_number</c>, <c>capabilities</c> <c>{voice, sms, mms}</c>…).</item>
/// <item><c>POST /2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers/{PN…}.json</c> with <c>VoiceUrl</c>, <c>VoiceMethod</c>,
/// <c>StatusCallback</c>, <c>StatusCallbackMethod</c>, <c>SmsUrl</c>, <c>SmsMethod</c>: 200 with the updated number.</item>
/// <item><c>GET /2010-04-01/Accounts/{AccountSid}.json</c>: the account (used to check credentials).</item>
/// </list>
/// Errors are <c>{"code","message","more_info","status"}</c> (shared/protocols/twilio-voice-sms.md §4).
/// </summary>
internal sealed class TwilioNumbersClient(HttpClient http, IOptions<TwilioOptions> options)
{
    public async Task<TwilioNumberResult> FindNumberAsync(string accountSid, string authToken, string number, CancellationToken ct)
    {
        var (outcome, json, error) = await SendAsync(HttpMethod.Get,
            $"{Account(accountSid)}/IncomingPhoneNumbers.json?PhoneNumber={Uri.EscapeDataString(number)}", accountSid, authToken, null, ct);
        if (outcome != TwilioOutcome.Ok)
        {
            return new TwilioNumberResult(outcome, null, error);
        }
        if (json is { } root && root.TryGetProperty("incoming_phone_numbers", out var list) && list.ValueKind == JsonValueKind.Array)
        {
            foreach (var n in list.EnumerateArray())
            {
                if (n.TryGetProperty("phone_number", out var p) && p.GetString() == number && n.TryGetProperty("sid", out var sid))
                {
                    bool? sms = n.TryGetProperty("capabilities", out var caps) && caps.ValueKind == JsonValueKind.Object
                        && caps.TryGetProperty("sms", out var flag) && flag.ValueKind is JsonValueKind.True or JsonValueKind.False
                        ? flag.GetBoolean() : null;
                    return new TwilioNumberResult(TwilioOutcome.Ok, sid.GetString(), null, sms);
                }
            }
        }
        return new TwilioNumberResult(TwilioOutcome.NotFound, null, $"{number} is not a number of Twilio account {accountSid}.");
    }

    public async Task<TwilioNumberResult> UpdateNumberAsync(string accountSid, string authToken, string numberSid, IEnumerable<KeyValuePair<string, string>> fields, CancellationToken ct)
    {
        var (outcome, _, error) = await SendAsync(HttpMethod.Post, $"{Account(accountSid)}/IncomingPhoneNumbers/{Uri.EscapeDataString(numberSid)}.json",
            accountSid, authToken, new FormUrlEncodedContent(fields), ct);
        return new TwilioNumberResult(outcome, outcome == TwilioOutcome.Ok ? numberSid : null, error);
    }

    public async Task<TwilioNumberResult> CheckAccountAsync(string accountSid, string authToken, CancellationToken ct)
    {
        var (outcome, _, error) = await SendAsync(HttpMethod.Get, Account(accountSid) + ".json", accountSid, authToken, null, ct);
        return new TwilioNumberResult(outcome, null, error);
    }

    private string Account(string accountSid) => $"{options.Value.ApiBaseUrl.TrimEnd('/')}/2010-04-01/Accounts/{Uri.EscapeDataString(accountSid)}";

    private async Task<(TwilioOutcome Outcome, JsonElement? Json, string? Error)> SendAsync(
        HttpMethod method, string url, string accountSid, string authToken, HttpContent? content, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, url) { Content = content };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{accountSid}:{authToken}")));
        try
        {
            using var response = await http.SendAsync(request, ct);
            var text = await response.Content.ReadAsStringAsync(ct);
            JsonElement? json = null;
            try
            {
                json = text.Length == 0 ? null : JsonDocument.Parse(text).RootElement.Clone();
            }
            catch (JsonException)
            {
                // Not JSON: keep the status only.
            }
            if (response.IsSuccessStatusCode)
            {
                return (TwilioOutcome.Ok, json, null);
            }
            var status = (int)response.StatusCode;
            var message = json is { ValueKind: JsonValueKind.Object } j && j.TryGetProperty("message", out var m) ? m.ToString() : response.ReasonPhrase;
            var code = json is { ValueKind: JsonValueKind.Object } k && k.TryGetProperty("code", out var c) ? c.ToString() : status.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var outcome = response.StatusCode switch
            {
                HttpStatusCode.NotFound => TwilioOutcome.NotFound,
                HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => TwilioOutcome.Unauthorized,
                HttpStatusCode.TooManyRequests => TwilioOutcome.Transient,
                _ when status >= 500 => TwilioOutcome.Transient,
                _ => TwilioOutcome.Rejected,
            };
            return (outcome, json, $"Twilio {status} ({code}): {message}");
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            return (TwilioOutcome.Transient, null, "Twilio unreachable: " + e.GetType().Name);
        }
    }
}
