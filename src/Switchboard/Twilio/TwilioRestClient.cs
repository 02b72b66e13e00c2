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

/// <summary>What a duplicate lookup found: the sid of a message already sent, none, or no answer (do not send then).</summary>
internal sealed record TwilioLookup(string? MessageSid, string? Error)
{
    public static TwilioLookup NotFound { get; } = new(null, null);

    public static TwilioLookup Found(string sid) => new(sid, null);

    public static TwilioLookup Failed(string error) => new(null, error);
}

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
/// <c>POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json</c>, form-encoded <c>To</c>, <c>From</c> or
/// <c>MessagingServiceSid</c>, <c>Body</c>; <c>GET</c> on the same URL lists messages newest first, paged with
/// <c>PageSize</c> and <c>next_page_uri</c>;
/// HTTP Basic auth <c>AccountSid:AuthToken</c>; 201 with the message JSON on success; errors as
/// <c>{"code","message","more_info","status"}</c>. The official .NET SDK is not installable here.
/// </summary>
internal sealed class TwilioRestClient(HttpClient http, IOptions<TwilioOptions> options)
{
    /// <summary>Largest page Twilio's list resources serve (<c>PageSize</c> 1 to 1000).</summary>
    internal const int LookupPageSize = 1000;

    /// <summary>Pages read at most by one lookup (1,000,000 messages to one recipient since the first attempt).</summary>
    internal const int LookupMaxPages = 1000;

    /// <summary>How far before the first attempt a message counts as ours: clock skew between this node and Twilio.</summary>
    internal static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Creates a message: form fields <c>To</c>, <c>Body</c> and <c>From</c> (an E.164 sender) or <c>MessagingServiceSid</c>
    /// (an <c>MG…</c> sender), and <c>StatusCallback</c> when <paramref name="statusCallback"/> is given: the URL Twilio POSTs
    /// each status change of the message to (Twilio docs, "Track the Message Status of Outbound Messages").
    /// 201 is <see cref="TwilioSendOutcome.Accepted"/>; 429/5xx/network failures are transient.
    /// </summary>
    public async Task<TwilioSendResult> SendSmsAsync(
        string accountSid, string authToken, string sender, string to, string body, string? statusCallback, CancellationToken ct)
    {
        var senderField = new Alerts.SmsSender(sender).IsMessagingService ? "MessagingServiceSid" : "From";
        List<KeyValuePair<string, string>> fields = [new("To", to), new(senderField, sender), new("Body", body)];
        if (statusCallback is not null)
        {
            fields.Add(new("StatusCallback", statusCallback));
        }
        using var request = new HttpRequestMessage(HttpMethod.Post, MessagesUrl(accountSid))
        {
            Content = new FormUrlEncodedContent(fields),
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
    /// Finds a message this sender already sent to <paramref name="to"/> with this body at or after
    /// <paramref name="since"/> (less <see cref="ClockSkew"/>) whose sid is not in <paramref name="exclude"/> (messages other
    /// SMS rows already own, so two alerts with the same text stay two). Reads
    /// <c>GET Messages.json?To=&amp;From=&amp;PageSize=1000</c> (<c>From</c> only for a number sender; a Messaging Service
    /// send is matched on <c>messaging_service_sid</c>) and follows <c>next_page_uri</c> until a page holds nothing created
    /// since then, or the list ends. Used before re-sending after an ambiguous failure (timeout, 5xx, crash).
    /// </summary>
    /// <returns>The sid when found; <see cref="TwilioLookup.NotFound"/> when the list holds none; <see cref="TwilioLookup.Failed"/>
    /// when Twilio could not be read (the caller must not send then).</returns>
    public async Task<TwilioLookup> FindSentAsync(
        string accountSid, string authToken, string sender, string to, string body, DateTimeOffset since, IReadOnlySet<string> exclude, CancellationToken ct)
    {
        var service = new Alerts.SmsSender(sender).IsMessagingService;
        var url = $"{MessagesUrl(accountSid)}?To={Uri.EscapeDataString(to)}"
            + (service ? "" : $"&From={Uri.EscapeDataString(sender)}") + $"&PageSize={LookupPageSize}";
        var from = since - ClockSkew;
        try
        {
            for (var page = 0; page < LookupMaxPages && url is not null; page++)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, url);
                request.Headers.Authorization = Basic(accountSid, authToken);
                using var response = await http.SendAsync(request, ct);
                if (!response.IsSuccessStatusCode)
                {
                    return TwilioLookup.Failed($"Twilio answered {(int)response.StatusCode} to the message lookup");
                }
                using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct));
                if (!doc.RootElement.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array)
                {
                    return TwilioLookup.Failed("The message lookup answered without a messages list");
                }
                var anyRecent = false;
                foreach (var m in messages.EnumerateArray())
                {
                    var created = ParseRfc2822(Get(m, "date_created"));
                    if (created is { } c && c < from)
                    {
                        continue;
                    }
                    anyRecent = true;
                    var sentBy = service ? Get(m, "messaging_service_sid") : Get(m, "from");
                    if (Get(m, "to") == to && sentBy == sender && Get(m, "body") == body && Get(m, "sid") is { } sid && !exclude.Contains(sid))
                    {
                        return TwilioLookup.Found(sid);
                    }
                }
                // Newest first: a page with nothing since the first attempt ends the search.
                url = anyRecent && Get(doc.RootElement, "next_page_uri") is { Length: > 0 } next ? Absolute(next) : null;
            }
            return url is null ? TwilioLookup.NotFound : TwilioLookup.Failed($"The message lookup read {LookupMaxPages} pages without reaching the first attempt");
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException && !ct.IsCancellationRequested)
        {
            return TwilioLookup.Failed("The message lookup failed: " + e.GetType().Name);
        }
    }

    /// <summary>
    /// <c>next_page_uri</c> is relative to the API host (<c>/2010-04-01/Accounts/…</c>). Only its path and query are kept,
    /// always under the configured API base URL, so the account's credentials never go to another host.
    /// </summary>
    private string Absolute(string uri)
    {
        var relative = Uri.TryCreate(uri, UriKind.Absolute, out var abs) && abs.Scheme is "http" or "https" ? abs.PathAndQuery : uri;
        return options.Value.ApiBaseUrl.TrimEnd('/') + (relative.StartsWith('/') ? relative : "/" + relative);
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
