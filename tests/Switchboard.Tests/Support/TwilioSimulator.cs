using System.Collections.Concurrent;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Switchboard.Tests.Support;

/// <summary>
/// Twilio's Messages REST API on 127.0.0.1 (shared/protocols/twilio-voice-sms.md §4): checks HTTP Basic
/// <c>AccountSid:AuthToken</c>, the form-encoded To, Body and From or MessagingServiceSid, answers 201 with the message
/// JSON, and lists messages on GET newest first, paged as Twilio pages (<c>PageSize</c> 1–1000, default 50;
/// <c>next_page_uri</c> with <c>Page</c> and <c>PageToken</c>; <c>To</c>/<c>From</c> filters), keeping every message.
/// <see cref="FailNext"/> makes the next sends answer 500 without creating a message; <see cref="DropNext"/> resets the
/// connection without an answer (a network error); <see cref="AcceptThenFailNext"/>
/// creates the message and then answers 500 (a lost response); <see cref="HoldAfterAccept"/> creates the message and
/// answers only when released (a node that dies mid-send); <see cref="HoldBeforeAcceptNext"/> holds the next sends
/// without creating them. Also the account and IncomingPhoneNumbers resources (<see cref="Own"/>), so a tenant can
/// attach its numbers, and with <see cref="StrictSenders"/> a From that is not an owned SMS-capable number is refused
/// (21606) as Twilio does. A send with a <c>StatusCallback</c> on a loopback host (127.0.0.1, localhost) gets the status
/// callbacks real Twilio sends (Twilio docs, "Track the Message Status of Outbound Messages"): form-encoded POSTs signed with
/// the account's auth token (<c>X-Twilio-Signature</c>, <see cref="global::Switchboard.Twilio.TwilioRequestValidator"/>),
/// <c>sent</c> then <c>delivered</c>, or the outcome <see cref="Outcomes"/> gives the recipient (e.g. <c>undelivered</c>
/// 30006 for a landline), one after the other on the voice side's callback loop, after the REST response and after
/// <see cref="CallbackGate"/> when set; at most <see cref="MaxPendingCallbacks"/> waiting at once (more are dropped and counted
/// in <see cref="Rejections"/>).
/// </summary>
internal sealed class TwilioSimulator : IAsyncDisposable
{
    public const string AccountSid = "AC00000000000000000000000000000001";
    public const string AuthToken = "simulated-auth-token-0001";

    private readonly WebApplication app;
    private int sequence;

    public ConcurrentQueue<SentMessage> Messages { get; } = new();
    public ConcurrentQueue<string> Rejections { get; } = new();

    /// <summary>Call recordings started through the REST API: CallSid and the form fields.</summary>
    public ConcurrentQueue<(string CallSid, Dictionary<string, string> Form)> Recordings { get; } = new();
    public int FailNext;

    /// <summary>The next sends are dropped: the connection is reset without an answer or a message created.</summary>
    public int DropNext;
    public int AcceptThenFailNext;
    public int HoldBeforeAcceptNext;
    public string BaseUrl { get; }

    /// <summary>While set, sends are created and then wait for it (or for the client to go away) before answering.</summary>
    public TaskCompletionSource? HoldAfterAccept { get; set; }

    /// <summary>Sends held by <see cref="HoldAfterAccept"/> or <see cref="HoldBeforeAcceptNext"/> right now.</summary>
    public int Held => held;

    private int held;

    /// <summary>Refuse a From that is not an owned number able to send SMS (error 21606).</summary>
    public bool StrictSenders { get; set; }

    /// <summary>Stamps <c>date_created</c>; a test hands in its host's clock so windows line up.</summary>
    public TimeProvider Clock { get; set; } = TimeProvider.System;

    /// <summary>GET requests served on Messages.json (pages read).</summary>
    public int ListRequests => listRequests;

    private int listRequests;

    /// <summary>The account's numbers (IncomingPhoneNumbers), by E.164.</summary>
    public ConcurrentDictionary<string, OwnedNumber> Numbers { get; } = new();

    public sealed record SentMessage(
        string Sid, string To, string? From, string Body, DateTimeOffset CreatedAt, string? MessagingServiceSid = null, long Seq = 0, string? StatusCallback = null);

    /// <summary>How a recipient's carrier ends a message: its final status and Twilio's error code (null when delivered).</summary>
    public sealed record Outcome(string Status, string? ErrorCode);

    /// <summary>Final outcome per recipient (E.164); absent means <c>delivered</c>. E.g. a landline: <c>new("undelivered", "30006")</c>.</summary>
    public ConcurrentDictionary<string, Outcome> Outcomes { get; } = new();

    /// <summary>While set, status callbacks wait for it before they are sent (a test lets the send's row settle first).</summary>
    public TaskCompletionSource? CallbackGate { get; set; }

    /// <summary>Status callbacks queued and not yet sent, at most.</summary>
    public const int MaxPendingCallbacks = 1000;

    /// <summary>Status callbacks sent: the message, the status and the HTTP status the application answered (0: no answer).</summary>
    public ConcurrentQueue<(string Sid, string Status, int HttpStatus)> StatusCallbacks { get; } = new();

    private int pendingCallbacks;

    public sealed class OwnedNumber
    {
        public required string Sid { get; init; }
        public required string PhoneNumber { get; init; }
        public bool Sms { get; init; } = true;
        public Dictionary<string, string> Config { get; } = [];
    }

    /// <summary>Makes <paramref name="number"/> one of the account's numbers (<c>capabilities.sms</c> = <paramref name="sms"/>).</summary>
    public OwnedNumber Own(string number, bool sms = true) =>
        Numbers.GetOrAdd(number, n => new OwnedNumber { Sid = $"PN{Interlocked.Increment(ref sequence):D32}", PhoneNumber = n, Sms = sms });

    /// <summary>A message someone else sent through the account (other traffic to the same number), stamped now.</summary>
    public SentMessage AddOther(string to, string from, string body)
    {
        var seq = Interlocked.Increment(ref sequence);
        var message = new SentMessage($"SM{seq:D32}", to, from, body, Clock.GetUtcNow(), null, seq);
        Messages.Enqueue(message);
        return message;
    }

    private TwilioSimulator(WebApplication app, string baseUrl, global::Switchboard.Simulators.TwilioVoiceRestState voice)
    {
        this.app = app;
        BaseUrl = baseUrl;
        Voice = voice;
    }

    /// <summary>The voice REST side on the same host: call updates, conference participants (live transfer).</summary>
    public global::Switchboard.Simulators.TwilioVoiceRestState Voice { get; }

    public static async Task<TwilioSimulator> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        TwilioSimulator? sim = null;
        var voice = new global::Switchboard.Simulators.TwilioVoiceRestState(AccountSid, AuthToken);
        global::Switchboard.Simulators.TwilioVoiceRestSimulator.MapTwilioVoiceRest(app, voice);
        app.MapPost("/2010-04-01/Accounts/{sid}/Messages.json", async (string sid, HttpContext http) => await sim!.CreateAsync(sid, http));
        app.MapGet("/2010-04-01/Accounts/{sid}/Messages.json", (string sid, HttpContext http) => sim!.List(sid, http));
        app.MapGet("/2010-04-01/Accounts/{file}", (string file, HttpContext http) =>
            file == AccountSid + ".json" && Authorized(AccountSid, http)
                ? Results.Json(new { sid = AccountSid, friendly_name = "Simulated", status = "active", type = "Full" })
                : Results.Json(new { code = 20003, message = "Authenticate", status = 401 }, statusCode: 401));
        app.MapGet("/2010-04-01/Accounts/{sid}/IncomingPhoneNumbers.json", (string sid, HttpContext http) => sim!.ListNumbers(sid, http));
        app.MapPost("/2010-04-01/Accounts/{sid}/IncomingPhoneNumbers/{file}", async (string sid, string file, HttpContext http) => await sim!.UpdateNumberAsync(sid, file, http));
        app.MapPost("/2010-04-01/Accounts/{sid}/Calls/{callSid}/Recordings.json", async (string sid, string callSid, HttpContext http) => await sim!.RecordAsync(sid, callSid, http));
        await app.StartAsync();
        sim = new TwilioSimulator(app, app.Urls.First(), voice);
        return sim;
    }

    private async Task<IResult> CreateAsync(string sid, HttpContext http)
    {
        if (!Authorized(sid, http))
        {
            Rejections.Enqueue("auth");
            return Results.Json(new { code = 20003, message = "Authenticate", more_info = "https://www.twilio.com/docs/errors/20003", status = 401 }, statusCode: 401);
        }
        if (!http.Request.HasFormContentType)
        {
            Rejections.Enqueue("content-type " + http.Request.ContentType);
            return Results.Json(new { code = 21602, message = "Message body is required.", status = 400 }, statusCode: 400);
        }
        var form = await http.Request.ReadFormAsync();
        string to = form["To"].ToString(), from = form["From"].ToString(), service = form["MessagingServiceSid"].ToString(), body = form["Body"].ToString();
        if (from.Length == 0 && service.Length == 0)
        {
            Rejections.Enqueue("no From or MessagingServiceSid");
            return Results.Json(new { code = 21603, message = "A 'From' phone number is required.", status = 400 }, statusCode: 400);
        }
        if (service.Length > 0 && !System.Text.RegularExpressions.Regex.IsMatch(service, "^MG[0-9a-fA-F]{32}$"))
        {
            Rejections.Enqueue("MessagingServiceSid " + service);
            return Results.Json(new { code = 21701, message = "The Messaging Service Sid is invalid.", status = 400 }, statusCode: 400);
        }
        if (!to.StartsWith('+') || string.IsNullOrEmpty(body))
        {
            Rejections.Enqueue($"form To={to} From={from} Body={body.Length}");
            return Results.Json(new { code = 21211, message = $"The 'To' number {to} is not a valid phone number.", status = 400 }, statusCode: 400);
        }
        if (StrictSenders && from.Length > 0 && !(Numbers.TryGetValue(from, out var owned) && owned.Sms))
        {
            Rejections.Enqueue("From not owned: " + from);
            return Results.Json(new { code = 21606, message = $"The From phone number {from} is not a valid, SMS-capable inbound phone number or short code for your account.", status = 400 }, statusCode: 400);
        }
        if (Interlocked.Decrement(ref FailNext) >= 0)
        {
            return Results.Json(new { code = 20500, message = "Internal Server Error", status = 500 }, statusCode: 500);
        }
        if (Interlocked.Decrement(ref DropNext) >= 0)
        {
            http.Abort(); // the connection is reset before any answer: the client sees a network error, no status, no code
            return Results.Empty;
        }
        if (Interlocked.Decrement(ref HoldBeforeAcceptNext) >= 0)
        {
            await HoldAsync(Task.Delay(Timeout.Infinite, http.RequestAborted), http);
            return Results.Json(new { code = 20500, message = "Internal Server Error", status = 500 }, statusCode: 500);
        }
        var seq = Interlocked.Increment(ref sequence);
        var callback = form["StatusCallback"].ToString();
        var message = new SentMessage($"SM{seq:D32}", to, from.Length > 0 ? from : null, body, Clock.GetUtcNow(), service.Length > 0 ? service : null, seq,
            callback.Length > 0 ? callback : null);
        Messages.Enqueue(message);
        QueueStatusCallbacks(sid, message);
        if (HoldAfterAccept is { } gate)
        {
            await HoldAsync(gate.Task, http);
        }
        if (Interlocked.Decrement(ref AcceptThenFailNext) >= 0)
        {
            return Results.Json(new { code = 20500, message = "Internal Server Error", status = 500 }, statusCode: 500);
        }
        return Results.Json(ToJson(sid, message, message.MessagingServiceSid is null ? "queued" : "accepted"), statusCode: 201);
    }

    /// <summary>
    /// Queues <c>sent</c> then the recipient's outcome to the message's <c>StatusCallback</c>, with Twilio's fields
    /// (<c>AccountSid</c>, <c>ApiVersion</c>, <c>From</c>, <c>To</c>, <c>MessageSid</c>/<c>SmsSid</c>,
    /// <c>MessageStatus</c>/<c>SmsStatus</c>, <c>ErrorCode</c> when not delivered, <c>MessagingServiceSid</c> when sent through one).
    /// Only loopback URLs: the simulator never posts elsewhere.
    /// </summary>
    private void QueueStatusCallbacks(string account, SentMessage message)
    {
        if (message.StatusCallback is not { } url || !Uri.TryCreate(url, UriKind.Absolute, out var uri) || !uri.IsLoopback
            || uri.Scheme is not ("http" or "https"))
        {
            return;
        }
        if (Interlocked.Increment(ref pendingCallbacks) > MaxPendingCallbacks)
        {
            Interlocked.Decrement(ref pendingCallbacks);
            Rejections.Enqueue("status callbacks dropped: too many pending");
            return;
        }
        var outcome = Outcomes.TryGetValue(message.To, out var o) ? o : new Outcome("delivered", null);
        var gate = CallbackGate;
        Voice.Later(async () =>
        {
            try
            {
                if (gate is not null)
                {
                    // A gate never opened: send anyway after a while rather than hold the callback loop for good.
                    await Task.WhenAny(gate.Task, Task.Delay(TimeSpan.FromSeconds(30)));
                }
                foreach (var (status, code) in new[] { ("sent", (string?)null), (outcome.Status, outcome.ErrorCode) })
                {
                    var form = new Dictionary<string, string>
                    {
                        ["AccountSid"] = account, ["ApiVersion"] = "2010-04-01", ["From"] = message.From ?? "", ["To"] = message.To,
                        ["MessageSid"] = message.Sid, ["SmsSid"] = message.Sid, ["MessageStatus"] = status, ["SmsStatus"] = status,
                    };
                    if (code is not null)
                    {
                        form["ErrorCode"] = code;
                    }
                    if (message.MessagingServiceSid is { } service)
                    {
                        form["MessagingServiceSid"] = service;
                    }
                    var answer = await Voice.CallbackStatusAsync(url, form);
                    StatusCallbacks.Enqueue((message.Sid, status, answer));
                }
            }
            finally
            {
                Interlocked.Decrement(ref pendingCallbacks);
            }
        });
    }

    private async Task HoldAsync(Task release, HttpContext http)
    {
        Interlocked.Increment(ref held);
        try
        {
            await release.WaitAsync(http.RequestAborted);
        }
        catch (OperationCanceledException)
        {
            // The client went away (its node "died"): nothing more to answer.
        }
        finally
        {
            Interlocked.Decrement(ref held);
        }
    }

    private IResult ListNumbers(string sid, HttpContext http)
    {
        if (!Authorized(sid, http))
        {
            return Results.Json(new { code = 20003, message = "Authenticate", status = 401 }, statusCode: 401);
        }
        var filter = http.Request.Query["PhoneNumber"].ToString();
        var items = Numbers.Values.Where(n => filter.Length == 0 || n.PhoneNumber == filter).Select(n => NumberJson(sid, n)).ToList();
        return Results.Json(new Dictionary<string, object?>
        {
            ["incoming_phone_numbers"] = items, ["page"] = 0, ["page_size"] = 50, ["start"] = 0, ["end"] = Math.Max(0, items.Count - 1),
            ["next_page_uri"] = null, ["previous_page_uri"] = null, ["uri"] = $"/2010-04-01/Accounts/{sid}/IncomingPhoneNumbers.json",
        });
    }

    private async Task<IResult> UpdateNumberAsync(string sid, string file, HttpContext http)
    {
        if (!Authorized(sid, http))
        {
            return Results.Json(new { code = 20003, message = "Authenticate", status = 401 }, statusCode: 401);
        }
        var number = Numbers.Values.FirstOrDefault(n => n.Sid + ".json" == file);
        if (number is null)
        {
            return Results.Json(new { code = 20404, message = "The requested resource was not found", status = 404 }, statusCode: 404);
        }
        foreach (var (key, value) in await http.Request.ReadFormAsync())
        {
            number.Config[key] = value.ToString();
        }
        return Results.Json(NumberJson(sid, number));
    }

    private static Dictionary<string, object?> NumberJson(string account, OwnedNumber n) => new()
    {
        ["sid"] = n.Sid, ["account_sid"] = account, ["phone_number"] = n.PhoneNumber, ["friendly_name"] = n.PhoneNumber,
        ["voice_url"] = n.Config.GetValueOrDefault("VoiceUrl"), ["sms_url"] = n.Config.GetValueOrDefault("SmsUrl"),
        ["status_callback"] = n.Config.GetValueOrDefault("StatusCallback"),
        ["capabilities"] = new { voice = true, sms = n.Sms, mms = n.Sms },
        ["api_version"] = "2010-04-01", ["uri"] = $"/2010-04-01/Accounts/{account}/IncomingPhoneNumbers/{n.Sid}.json",
    };

    /// <summary>Starts a call recording (twilio-voice-sms.md §3): 201 with the recording resource.</summary>
    private async Task<IResult> RecordAsync(string sid, string callSid, HttpContext http)
    {
        if (!Authorized(sid, http))
        {
            return Results.Json(new { code = 20003, message = "Authenticate", status = 401 }, statusCode: 401);
        }
        var form = (await http.Request.ReadFormAsync()).ToDictionary(kv => kv.Key, kv => kv.Value.ToString());
        Recordings.Enqueue((callSid, form));
        var recording = $"RE{Interlocked.Increment(ref sequence):D32}";
        return Results.Json(new Dictionary<string, object?>
        {
            ["account_sid"] = sid, ["api_version"] = "2010-04-01", ["call_sid"] = callSid, ["conference_sid"] = null,
            ["channels"] = form.GetValueOrDefault("RecordingChannels") == "dual" ? 2 : 1, ["sid"] = recording, ["source"] = "StartCallRecordingAPI",
            ["status"] = "in-progress", ["track"] = form.GetValueOrDefault("RecordingTrack") ?? "both", ["duration"] = null,
            ["uri"] = $"/2010-04-01/Accounts/{sid}/Calls/{callSid}/Recordings/{recording}.json",
        }, statusCode: 201);
    }

    /// <summary>
    /// <c>GET Messages.json</c>: newest first, filtered by <c>To</c> and <c>From</c>, <c>PageSize</c> 1–1000 (default 50);
    /// <c>next_page_uri</c> carries <c>Page</c> and <c>PageToken</c> (the last sid served), so a page read later does not
    /// shift when new messages arrive. The page JSON is Twilio's: <c>messages</c>, <c>page</c>, <c>page_size</c>,
    /// <c>start</c>, <c>end</c>, <c>first_page_uri</c>, <c>next_page_uri</c>, <c>previous_page_uri</c>, <c>uri</c>.
    /// </summary>
    private IResult List(string sid, HttpContext http)
    {
        if (!Authorized(sid, http))
        {
            return Results.Json(new { code = 20003, message = "Authenticate", status = 401 }, statusCode: 401);
        }
        Interlocked.Increment(ref listRequests);
        var query = http.Request.Query;
        var to = query["To"].ToString();
        var from = query["From"].ToString();
        var pageSize = int.TryParse(query["PageSize"], out var size) ? Math.Clamp(size, 1, 1000) : 50;
        var page = int.TryParse(query["Page"], out var p) ? Math.Max(0, p) : 0;
        var token = query["PageToken"].ToString();
        var all = Messages.Where(m => (to.Length == 0 || m.To == to) && (from.Length == 0 || m.From == from))
            .OrderByDescending(m => m.CreatedAt).ThenByDescending(m => m.Seq).ToList();
        var startAt = 0;
        if (token.StartsWith("PA", StringComparison.Ordinal))
        {
            var after = all.FindIndex(m => m.Sid == token[2..]);
            startAt = after < 0 ? all.Count : after + 1;
        }
        var items = all.Skip(startAt).Take(pageSize).ToList();
        var filters = (to.Length > 0 ? "&To=" + Uri.EscapeDataString(to) : "") + (from.Length > 0 ? "&From=" + Uri.EscapeDataString(from) : "");
        var path = $"/2010-04-01/Accounts/{sid}/Messages.json";
        string Uri_(int pg, string? tok) => $"{path}?PageSize={pageSize}&Page={pg}{filters}" + (tok is null ? "" : "&PageToken=" + tok);
        var more = startAt + items.Count < all.Count;
        return Results.Json(new Dictionary<string, object?>
        {
            ["messages"] = items.Select(m => ToJson(sid, m, "sent")).ToList(),
            ["page"] = page,
            ["page_size"] = pageSize,
            ["start"] = page * pageSize,
            ["end"] = (page * pageSize) + Math.Max(0, items.Count - 1),
            ["first_page_uri"] = Uri_(0, null),
            ["next_page_uri"] = more ? Uri_(page + 1, "PA" + items[^1].Sid) : null,
            ["previous_page_uri"] = page > 0 ? Uri_(page - 1, null) : null,
            ["uri"] = $"{path}{http.Request.QueryString}",
        });
    }

    private static bool Authorized(string sid, HttpContext http)
    {
        var header = http.Request.Headers.Authorization.ToString();
        var expected = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{AccountSid}:{AuthToken}"));
        return sid == AccountSid && header == expected;
    }

    private static Dictionary<string, object?> ToJson(string account, SentMessage m, string status) => new()
    {
        ["account_sid"] = account,
        ["api_version"] = "2010-04-01",
        ["body"] = m.Body,
        ["date_created"] = m.CreatedAt.ToString("ddd, dd MMM yyyy HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture) + " +0000",
        ["direction"] = "outbound-api",
        ["error_code"] = null,
        ["from"] = m.From,
        ["messaging_service_sid"] = m.MessagingServiceSid,
        ["num_segments"] = "1",
        ["sid"] = m.Sid,
        ["status"] = status,
        ["to"] = m.To,
        ["uri"] = $"/2010-04-01/Accounts/{account}/Messages/{m.Sid}.json",
    };

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
        await Voice.DisposeAsync();
    }
}
