using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace Switchboard.Twilio;

/// <summary>Result of a Twilio Messages API call.</summary>
/// <param name="Outcome">What the caller should do next.</param>
/// <param name="MessageSid">The <c>SM…</c> sid when accepted.</param>
/// <param name="Status">Twilio's message status (<c>queued</c>, <c>sent</c>…).</param>
/// <param name="ErrorCode">Twilio's numeric error code, as text.</param>
/// <param name="ErrorMessage">Twilio's error message.</param>
internal sealed record TwilioSendResult(TwilioSendOutcome Outcome, string? MessageSid, string? Status, string? ErrorCode, string? ErrorMessage);

internal enum TwilioSendOutcome
{
    /// <summary>201 Created: the message was accepted.</summary>
    Accepted,

    /// <summary>4xx other than 429: retrying the same request cannot succeed.</summary>
    Rejected,

    /// <summary>429, 5xx or a network failure: retry later.</summary>
    Transient,
}

/// <summary>
/// A minimal client for Twilio's Messages REST API (shared/protocols/twilio-voice-sms.md §4):
/// <c>POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json</c>, form-encoded <c>To</c>, <c>From</c>, <c>Body</c>,
/// HTTP Basic auth <c>AccountSid:AuthToken</c>; 201 with the message JSON on success; errors as
/// <c>{"code","message","more_info","status"}</c>. The official .NET SDK is not installable here.
/// </summary>
internal sealed class TwilioRestClient(HttpClient http, IOptions<TwilioOptions> options)
{
    public async Task<TwilioSendResult> SendSmsAsync(string accountSid, string authToken, string from, string to, string body, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, MessagesUrl(accountSid))
        {
            Content = new FormUrlEncodedContent([new("To", to), new("From", from), new("Body", body)]),
        };
        request.Headers.Authorization = Basic(accountSid, authToken);
        try
        {
            using var response = await http.SendAsync(request, ct);
            var text = await response.Content.ReadAsStringAsync(ct);
            if (response.StatusCode == HttpStatusCode.Created || response.IsSuccessStatusCode)
            {
                using var doc = JsonDocument.Parse(text);
                return new TwilioSendResult(TwilioSendOutcome.Accepted, Get(doc.RootElement, "sid"), Get(doc.RootElement, "status"), null, null);
            }
            var (code, message) = ParseError(text);
            var status = (int)response.StatusCode;
            var outcome = status == 429 || status >= 500 ? TwilioSendOutcome.Transient : TwilioSendOutcome.Rejected;
            return new TwilioSendResult(outcome, null, null, code ?? status.ToString(CultureInfo.InvariantCulture), message ?? response.ReasonPhrase);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException && !ct.IsCancellationRequested)
        {
            return new TwilioSendResult(TwilioSendOutcome.Transient, null, null, null, e.GetType().Name);
        }
    }

    /// <summary>
    /// Finds a message already created with this To, From and Body at or after <paramref name="since"/>, through
    /// <c>GET Messages.json?To=&amp;From=</c> (newest first). Used before re-sending after an ambiguous failure (timeout,
    /// 5xx, crash) so an alert is not sent twice. Returns the sid, or null when none matches or the lookup fails.
    /// </summary>
    public async Task<string?> FindSentAsync(string accountSid, string authToken, string from, string to, string body, DateTimeOffset since, CancellationToken ct)
    {
        var url = $"{MessagesUrl(accountSid)}?To={Uri.EscapeDataString(to)}&From={Uri.EscapeDataString(from)}&PageSize=50";
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Authorization = Basic(accountSid, authToken);
        try
        {
            using var response = await http.SendAsync(request, ct);
            if (!response.IsSuccessStatusCode)
            {
                return null;
            }
            using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct));
            if (!doc.RootElement.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array)
            {
                return null;
            }
            foreach (var m in messages.EnumerateArray())
            {
                var created = ParseRfc2822(Get(m, "date_created"));
                if (Get(m, "body") == body && Get(m, "to") == to && (created is null || created >= since.AddMinutes(-5)))
                {
                    return Get(m, "sid");
                }
            }
            return null;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException && !ct.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>Parses Twilio's RFC 2822 dates, e.g. <c>Thu, 30 Jul 2015 20:12:31 +0000</c>.</summary>
    internal static DateTimeOffset? ParseRfc2822(string? value)
    {
        if (value is null || value.Length < 6)
        {
            return null;
        }
        var space = value.LastIndexOf(' ');
        if (space <= 0)
        {
            return null;
        }
        var zone = value[(space + 1)..];
        if (!DateTime.TryParseExact(value[..space], "ddd, dd MMM yyyy HH:mm:ss", CultureInfo.InvariantCulture, DateTimeStyles.None, out var local))
        {
            return null;
        }
        if (zone.Length == 5 && (zone[0] == '+' || zone[0] == '-') && int.TryParse(zone.AsSpan(1, 2), CultureInfo.InvariantCulture, out var hh)
            && int.TryParse(zone.AsSpan(3, 2), CultureInfo.InvariantCulture, out var mm))
        {
            var offset = new TimeSpan(hh, mm, 0) * (zone[0] == '-' ? -1 : 1);
            var utcTicks = local.Ticks - offset.Ticks;
            // An offset past ±14 h, or an instant outside the calendar (31 Dec 9999 -0100), is not a usable time.
            return mm < 60 && offset.Duration() <= TimeSpan.FromHours(14) && utcTicks >= DateTime.MinValue.Ticks && utcTicks <= DateTime.MaxValue.Ticks
                ? new DateTimeOffset(local, offset).ToUniversalTime()
                : null;
        }
        return zone is "GMT" or "UTC" ? new DateTimeOffset(local, TimeSpan.Zero) : null;
    }

    private string MessagesUrl(string accountSid) =>
        $"{options.Value.ApiBaseUrl.TrimEnd('/')}/2010-04-01/Accounts/{Uri.EscapeDataString(accountSid)}/Messages.json";

    private static AuthenticationHeaderValue Basic(string user, string password) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));

    private static string? Get(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null
            ? (v.ValueKind == JsonValueKind.String ? v.GetString() : v.GetRawText())
            : null;

    private static (string? Code, string? Message) ParseError(string text)
    {
        try
        {
            using var doc = JsonDocument.Parse(text);
            return (Get(doc.RootElement, "code"), Get(doc.RootElement, "message") ?? Get(doc.RootElement, "detail"));
        }
        catch (JsonException)
        {
            return (null, null);
        }
    }
}
