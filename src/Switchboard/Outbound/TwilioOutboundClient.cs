using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Switchboard.Platform.Http;
using Switchboard.Twilio;

namespace Switchboard.Outbound;

/// <summary>Result of a Twilio Calls API request: the outcome, the call's <c>sid</c> and <c>status</c>, or Twilio's error <c>code</c> and message.</summary>
internal sealed record TwilioCallResult(TwilioSendOutcome Outcome, string? CallSid, string? Status, int? ErrorCode, string? Error);

/// <summary>One call of a Calls list: <c>sid</c>, <c>status</c>, <c>date_created</c> (parsed from RFC 2822).</summary>
internal sealed record TwilioListedCall(string Sid, string? Status, DateTimeOffset? DateCreated);

/// <summary>Result of a Calls list request: the outcome, the calls on the first page, or the error.</summary>
internal sealed record TwilioCallListResult(TwilioSendOutcome Outcome, IReadOnlyList<TwilioListedCall> Calls, string? Error);

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
/// <item>list: <c>GET …/Calls.json?To=&amp;From=&amp;StartTime&gt;=YYYY-MM-DD&amp;PageSize=</c> (or <c>Status=queued</c>: a queued call has
/// no <c>start_time</c> yet) → <c>{"calls":[…], "next_page_uri", …}</c>, newest first (Twilio "Call resource", Read multiple).</item>
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

    /// <summary>How far Twilio's clock (<c>date_created</c>) may be behind this server's when listing calls since a time.</summary>
    public static readonly TimeSpan ClockSkew = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Calls to <paramref name="to"/> from <paramref name="from"/> created at or after <paramref name="since"/>: those that
    /// started since that day (<c>StartTime&gt;=</c> takes a UTC date) and those still queued, filtered on <c>date_created</c>.
    /// At most 50 of each (first page): enough to find the one call a crashed placement may have created.
    /// </summary>
    public async Task<TwilioCallListResult> ListSinceAsync(string accountSid, string authToken, string to, string from, DateTimeOffset since, CancellationToken ct)
    {
        since -= ClockSkew;
        var day = since.UtcDateTime.Date.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        var found = new Dictionary<string, TwilioListedCall>();
        foreach (var filter in new[] { $"StartTime%3E={day}", "Status=queued" })
        {
            var query = $"To={Uri.EscapeDataString(to)}&From={Uri.EscapeDataString(from)}&{filter}&PageSize=50";
            var url = $"{options.Value.ApiBaseUrl.TrimEnd('/')}/2010-04-01/Accounts/{Uri.EscapeDataString(accountSid)}/Calls.json?{query}";
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            request.Headers.Authorization = Basic(accountSid, authToken);
            try
            {
                using var response = await http.SendAsync(request, ct);
                var text = await response.Content.ReadAsStringAsync(ct);
                if (!response.IsSuccessStatusCode)
                {
                    var status = (int)response.StatusCode;
                    return new TwilioCallListResult(status == 429 || status >= 500 ? TwilioSendOutcome.Transient : TwilioSendOutcome.Rejected, [],
                        $"HTTP {status}: {TolerantJson.Cap(text, 300)}");
                }
                using var doc = JsonDocument.Parse(text);
                if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("calls", out var calls) || calls.ValueKind != JsonValueKind.Array)
                {
                    return new TwilioCallListResult(TwilioSendOutcome.Transient, [], "Calls list without a calls array");
                }
                foreach (var c in calls.EnumerateArray())
                {
                    if (Str(c, "sid") is { } sid && TwilioRestClient.ParseRfc2822(Str(c, "date_created")) is var created && (created is null || created >= since))
                    {
                        found[sid] = new TwilioListedCall(sid, Str(c, "status"), created);
                    }
                }
            }
            catch (Exception e) when (e is HttpRequestException or JsonException or TaskCanceledException && !ct.IsCancellationRequested)
            {
                return new TwilioCallListResult(TwilioSendOutcome.Transient, [], e.GetType().Name);
            }
        }
        return new TwilioCallListResult(TwilioSendOutcome.Accepted, [.. found.Values.OrderBy(c => c.DateCreated)], null);
    }

    private static AuthenticationHeaderValue Basic(string accountSid, string authToken) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{accountSid}:{authToken}")));

    private async Task<TwilioCallResult> SendAsync(string accountSid, string authToken, string resource, IEnumerable<KeyValuePair<string, string>> form, CancellationToken ct)
    {
        var url = $"{options.Value.ApiBaseUrl.TrimEnd('/')}/2010-04-01/Accounts/{Uri.EscapeDataString(accountSid)}/{resource}";
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new FormUrlEncodedContent(form) };
        request.Headers.Authorization = Basic(accountSid, authToken);
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
            var message = Str(root, "message") ?? TolerantJson.Cap(text, 300);
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
