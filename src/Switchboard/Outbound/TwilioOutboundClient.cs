using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Switchboard.Twilio;

namespace Switchboard.Outbound;

/// <summary>Result of a Twilio Calls API request: the outcome, the call's <c>sid</c> and <c>status</c>, or Twilio's error <c>code</c> and message.</summary>
internal sealed record TwilioCallResult(TwilioSendOutcome Outcome, string? CallSid, string? Status, int? ErrorCode, string? Error);

/// <summary>
/// Twilio's Calls API for outbound calls (shared/protocols/outbound-and-transfer.md §1–2), HTTP Basic
/// <c>AccountSid:AuthToken</c>, form-encoded:
/// <list type="bullet">
/// <item>create: <c>POST {base}/2010-04-01/Accounts/{AccountSid}/Calls.json</c> with <c>To</c>, <c>From</c>, <c>Url</c>,
/// <c>StatusCallback</c> + <c>StatusCallbackEvent</c> (initiated, ringing, answered, completed),
/// <c>MachineDetection=DetectMessageEnd</c>, <c>AsyncAmd=true</c>, <c>AsyncAmdStatusCallback</c>, <c>Timeout</c> → 201 and
/// the call JSON (<c>sid</c> <c>CA…</c>, <c>status</c> <c>queued</c>);</item>
/// <item>update: <c>POST …/Calls/{CallSid}.json</c> with <c>Twiml</c> (≤ 4000 characters) or <c>Status=completed</c>;
/// 21220 when the call is no longer in progress.</item>
/// </list>
/// 4xx other than 429 is <see cref="TwilioSendOutcome.Rejected"/> with Twilio's <c>code</c> (21211 invalid To, 21210 From not
/// verified, 21215 geo permissions…); 429, 5xx and network errors are <see cref="TwilioSendOutcome.Transient"/>.
/// </summary>
internal sealed class TwilioOutboundClient(HttpClient http, IOptions<TwilioOptions> options)
{
    /// <summary>Ring time before no-answer, seconds (Twilio adds 5 s; 15 s would hang up before most voicemails answer).</summary>
    public const int RingTimeoutSeconds = 25;

    /// <summary>Creates the call with asynchronous answering-machine detection.</summary>
    public Task<TwilioCallResult> CreateAsync(string accountSid, string authToken, string to, string from, string answerUrl, string statusCallback,
        string amdCallback, CancellationToken ct) =>
        SendAsync(accountSid, authToken, "Calls.json",
        [
            new("To", to), new("From", from), new("Url", answerUrl), new("Method", "POST"),
            new("StatusCallback", statusCallback), new("StatusCallbackMethod", "POST"),
            new("StatusCallbackEvent", "initiated"), new("StatusCallbackEvent", "ringing"),
            new("StatusCallbackEvent", "answered"), new("StatusCallbackEvent", "completed"),
            new("Timeout", RingTimeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            new("MachineDetection", "DetectMessageEnd"), new("AsyncAmd", "true"),
            new("AsyncAmdStatusCallback", amdCallback), new("AsyncAmdStatusCallbackMethod", "POST"),
        ], ct);

    /// <summary>Replaces what a live call executes with <paramref name="twiml"/>.</summary>
    public Task<TwilioCallResult> UpdateTwimlAsync(string accountSid, string authToken, string callSid, string twiml, CancellationToken ct) =>
        SendAsync(accountSid, authToken, $"Calls/{Uri.EscapeDataString(callSid)}.json", [new("Twiml", twiml)], ct);

    /// <summary>Hangs a live call up (<c>Status=completed</c>).</summary>
    public Task<TwilioCallResult> HangUpAsync(string accountSid, string authToken, string callSid, CancellationToken ct) =>
        SendAsync(accountSid, authToken, $"Calls/{Uri.EscapeDataString(callSid)}.json", [new("Status", "completed")], ct);

    private async Task<TwilioCallResult> SendAsync(string accountSid, string authToken, string resource, IEnumerable<KeyValuePair<string, string>> form, CancellationToken ct)
    {
        var url = $"{options.Value.ApiBaseUrl.TrimEnd('/')}/2010-04-01/Accounts/{Uri.EscapeDataString(accountSid)}/{resource}";
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new FormUrlEncodedContent(form) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{accountSid}:{authToken}")));
        try
        {
            using var response = await http.SendAsync(request, ct);
            var text = await response.Content.ReadAsStringAsync(ct);
            JsonElement root = default;
            try
            {
                root = JsonDocument.Parse(text).RootElement;
            }
            catch (JsonException)
            {
            }
            if (response.IsSuccessStatusCode)
            {
                return new TwilioCallResult(TwilioSendOutcome.Accepted, Str(root, "sid"), Str(root, "status"), null, null);
            }
            var status = (int)response.StatusCode;
            var outcome = status == 429 || status >= 500 ? TwilioSendOutcome.Transient : TwilioSendOutcome.Rejected;
            int? code = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("code", out var c) && c.TryGetInt32(out var n) ? n : null;
            var message = Str(root, "message") ?? (text.Length > 300 ? text[..300] : text);
            return new TwilioCallResult(outcome, null, null, code, $"HTTP {status}{(code is null ? "" : $" ({code})")}: {message}");
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            return new TwilioCallResult(TwilioSendOutcome.Transient, null, null, null, e.GetType().Name);
        }
    }

    private static string? Str(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
