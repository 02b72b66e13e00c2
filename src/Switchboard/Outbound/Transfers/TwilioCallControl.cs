using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Switchboard.Platform.Http;
using Switchboard.Twilio;

namespace Switchboard.Outbound;

/// <summary>Result of a Twilio call-control request: accepted (with the resource's <c>call_sid</c>/<c>sid</c>) or the error.</summary>
internal sealed record TwilioControlResult(bool Ok, string? Sid, string? Error)
{
    public static TwilioControlResult Failed(string error) => new(false, null, TolerantJson.Cap(error, 500));
}

/// <summary>
/// Twilio's REST API for live calls (shared/protocols/outbound-and-transfer.md §2–§3.2), HTTP Basic <c>AccountSid:AuthToken</c>,
/// form-encoded, against <see cref="TwilioOptions.ApiBaseUrl"/>:
/// <list type="bullet">
/// <item><c>POST /2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json</c> <c>Twiml=…</c>: the new TwiML replaces what the call
/// was running (a <c>&lt;Connect&gt;&lt;Stream&gt;</c> ends). 200 with the call JSON; 21220 when the call is not in progress.</item>
/// <item><c>POST …/Conferences/{FriendlyName}/Participants.json</c> (<c>From, To, Label, Timeout, StatusCallback,
/// StatusCallbackEvent, Coaching, CallSidToCoach, StartConferenceOnEnter, EndConferenceOnExit</c>): 201 with the participant
/// (<c>call_sid</c>).</item>
/// <item><c>POST …/Conferences/{FriendlyName}/Participants/{CallSid}.json</c> (<c>Coaching</c>, <c>AnnounceUrl</c>, <c>Hold</c>…).</item>
/// </list>
/// Field names are those the Twilio 8.2.0 SDK sends (<c>UpdateCallOptions</c>, <c>CreateParticipantOptions</c>). Never retried:
/// a live call's state moves on, and a repeated create would ring the agent twice.
/// </summary>
internal sealed class TwilioCallControl(HttpClient http, IOptions<TwilioOptions> options)
{
    /// <summary>Replaces the live call's TwiML (<c>Twiml</c>, at most 4,000 characters per Twilio).</summary>
    public Task<TwilioControlResult> UpdateCallAsync(string accountSid, string authToken, string callSid, string twiml, CancellationToken ct) =>
        PostAsync(accountSid, authToken, $"Calls/{Uri.EscapeDataString(callSid)}.json", [new("Twiml", twiml)], "sid", ct);

    /// <summary>Dials a participant into conference <paramref name="conference"/> (its FriendlyName); the result's sid is the agent's <c>CallSid</c>.</summary>
    public Task<TwilioControlResult> AddParticipantAsync(string accountSid, string authToken, string conference, IEnumerable<KeyValuePair<string, string>> form, CancellationToken ct) =>
        PostAsync(accountSid, authToken, $"Conferences/{Uri.EscapeDataString(conference)}/Participants.json", form, "call_sid", ct);

    /// <summary>Updates a participant (e.g. <c>AnnounceUrl</c> to whisper to it, <c>Coaching=false</c> to join it to the caller).</summary>
    public Task<TwilioControlResult> UpdateParticipantAsync(string accountSid, string authToken, string conference, string callSid, IEnumerable<KeyValuePair<string, string>> form, CancellationToken ct) =>
        PostAsync(accountSid, authToken, $"Conferences/{Uri.EscapeDataString(conference)}/Participants/{Uri.EscapeDataString(callSid)}.json", form, "call_sid", ct);

    private async Task<TwilioControlResult> PostAsync(string accountSid, string authToken, string path, IEnumerable<KeyValuePair<string, string>> form, string sidField, CancellationToken ct)
    {
        var url = $"{options.Value.ApiBaseUrl.TrimEnd('/')}/2010-04-01/Accounts/{Uri.EscapeDataString(accountSid)}/{path}";
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new FormUrlEncodedContent(form) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{accountSid}:{authToken}")));
        try
        {
            using var response = await http.SendAsync(request, ct);
            var text = await response.Content.ReadAsStringAsync(ct);
            if (response.IsSuccessStatusCode)
            {
                using var doc = JsonDocument.Parse(text);
                return new TwilioControlResult(true, doc.RootElement.TryGetProperty(sidField, out var sid) && sid.ValueKind == JsonValueKind.String ? sid.GetString() : null, null);
            }
            return TwilioControlResult.Failed($"HTTP {(int)response.StatusCode}: {text}");
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException && !ct.IsCancellationRequested)
        {
            return TwilioControlResult.Failed(e.GetType().Name);
        }
    }
}
