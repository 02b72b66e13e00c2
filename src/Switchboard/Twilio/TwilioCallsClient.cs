using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace Switchboard.Twilio;

/// <summary>Result of a Twilio Call Recordings API request.</summary>
internal sealed record TwilioRecordingResult(TwilioSendOutcome Outcome, string? RecordingSid, string? Status, int? Channels, string? Error);

/// <summary>
/// Twilio's voice REST API for in-progress calls (shared/protocols/twilio-voice-sms.md §3):
/// <c>POST {base}/2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}/Recordings.json</c>, HTTP Basic
/// <c>AccountSid:AuthToken</c>, form fields <c>RecordingChannels=dual</c>, <c>RecordingTrack=both</c>,
/// <c>RecordingStatusCallback</c>, <c>RecordingStatusCallbackEvent</c>; <c>201 Created</c> with the recording JSON.
/// </summary>
internal sealed class TwilioCallsClient(HttpClient http, IOptions<TwilioOptions> options)
{
    public async Task<TwilioRecordingResult> StartRecordingAsync(
        string accountSid, string authToken, string callSid, string statusCallbackUrl, CancellationToken ct)
    {
        var url = $"{options.Value.ApiBaseUrl.TrimEnd('/')}/2010-04-01/Accounts/{Uri.EscapeDataString(accountSid)}/Calls/{Uri.EscapeDataString(callSid)}/Recordings.json";
        using var request = new HttpRequestMessage(HttpMethod.Post, url)
        {
            Content = new FormUrlEncodedContent(
            [
                new("RecordingChannels", "dual"),
                new("RecordingTrack", "both"),
                new("RecordingStatusCallback", statusCallbackUrl),
                new("RecordingStatusCallbackMethod", "POST"),
                new("RecordingStatusCallbackEvent", "in-progress completed absent"),
            ]),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{accountSid}:{authToken}")));
        try
        {
            using var response = await http.SendAsync(request, ct);
            var text = await response.Content.ReadAsStringAsync(ct);
            if (response.IsSuccessStatusCode)
            {
                using var doc = JsonDocument.Parse(text);
                var root = doc.RootElement;
                return new TwilioRecordingResult(TwilioSendOutcome.Accepted, Str(root, "sid"), Str(root, "status"),
                    root.TryGetProperty("channels", out var c) && c.TryGetInt32(out var n) ? n : null, null);
            }
            var status = (int)response.StatusCode;
            var outcome = status == 429 || status >= 500 ? TwilioSendOutcome.Transient : TwilioSendOutcome.Rejected;
            return new TwilioRecordingResult(outcome, null, null, null, $"HTTP {status}: {(text.Length > 300 ? text[..300] : text)}");
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException && !ct.IsCancellationRequested)
        {
            return new TwilioRecordingResult(TwilioSendOutcome.Transient, null, null, null, e.GetType().Name);
        }
    }

    private static string? Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
