using System.Collections.Concurrent;
using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Xml.Linq;
using Switchboard.Twilio;

namespace Switchboard.Simulators;

/// <summary>How a simulated callee answers an outbound call.</summary>
internal enum CalleeKind
{
    /// <summary>A person picks up: AMD says <c>human</c>, then the callee follows its <see cref="CallerScript"/> on the media stream.</summary>
    Human,

    /// <summary>A voicemail picks up: AMD says <c>machine_end_beep</c> after the greeting, then whatever is said is "recorded".</summary>
    Machine,

    /// <summary>The line is busy: status callback <c>busy</c>.</summary>
    Busy,

    /// <summary>Nobody answers within <c>Timeout</c>: status callback <c>no-answer</c>.</summary>
    NoAnswer,
}

/// <summary>One thing the simulated Twilio received or did, in order (for tests and the CLI to assert on and print).</summary>
internal sealed record SimTimelineEntry(long Seq, DateTimeOffset At, string CallSid, string Event, string Detail);

/// <summary>A call created on the simulator: its request, state and what the callee heard.</summary>
internal sealed class SimOutboundCall
{
    public required string Sid { get; init; }
    public required string To { get; init; }
    public required string From { get; init; }
    public required Dictionary<string, List<string>> Form { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public string Status { get; set; } = "queued";
    public string? AnsweredBy { get; set; }

    /// <summary>When Twilio dialled it (<c>start_time</c>; null while queued).</summary>
    public DateTimeOffset? StartedAt { get; set; }

    /// <summary>Completed when the call leaves Twilio's queue and is dialled (at once unless <see cref="TwilioCallsApiState.HoldQueue"/>).</summary>
    public TaskCompletionSource Dequeued { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Texts of the <c>&lt;Say&gt;</c> verbs the callee heard (a machine "records" them: the voicemail left).</summary>
    public ConcurrentQueue<string> Said { get; } = new();

    /// <summary>The media stream's call, once a person was bridged.</summary>
    public SimulatedCall? Media { get; set; }

    /// <summary>Set when the call has ended (final status sent).</summary>
    public TaskCompletionSource Ended { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal readonly Lock Gate = new();
    internal TaskCompletionSource<XElement> Update = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public string? First(string name) => Form.TryGetValue(name, out var v) && v.Count > 0 ? v[0] : null;
}

/// <summary>
/// The state of a simulated Twilio Calls API (accounts, callees, calls, timeline); shared by its routes and the
/// callee behaviour, so several simulators (this one, Conference Participants…) can be hosted on one server.
/// </summary>
internal sealed class TwilioCallsApiState(string accountSid, string authToken)
{
    private long sequence;

    public string AccountSid { get; } = accountSid;
    public string AuthToken { get; } = authToken;

    /// <summary>How the callee at a number behaves (default: a person who says hello and listens).</summary>
    public Func<string, CalleeKind> Callee { get; set; } = _ => CalleeKind.Human;

    /// <summary>The script a person follows on the media stream, per number.</summary>
    public Func<string, CallerScript> HumanScript { get; set; } = _ => new CallerScript { Steps = [new() { Listen = true }, new() { WaitForHangup = true }] };

    /// <summary>Stamps the timeline; a test hands in its host's clock.</summary>
    public TimeProvider Clock { get; set; } = TimeProvider.System;

    /// <summary>
    /// Awaited after the <c>ringing</c> callback, before the callee answers (or is busy, or lets it ring out): a test that
    /// drives a fake clock holds calls here so that they last on that clock (e.g. a campaign's concurrency). Null: no wait.
    /// </summary>
    public Func<SimOutboundCall, CancellationToken, Task>? Ringing { get; set; }

    /// <summary>Paces the media streams of bridged callees.</summary>
    public SimPacer? Pacer { get; set; }

    /// <summary>HTTP client for callbacks to the application.</summary>
    public HttpClient Http { get; set; } = new();

    /// <summary>Longest a <c>&lt;Pause&gt;</c> waiting for an update, or a call as a whole, may last (real time).</summary>
    public TimeSpan MaxWait { get; set; } = TimeSpan.FromSeconds(60);

    public ConcurrentDictionary<string, SimOutboundCall> Calls { get; } = new();
    public ConcurrentQueue<SimTimelineEntry> Timeline { get; } = new();

    /// <summary>
    /// When true, created calls stay <c>queued</c> (as behind a busy account's calls-per-second queue), with no callbacks,
    /// until <see cref="ReleaseQueue"/>.
    /// </summary>
    public bool HoldQueue { get; set; }

    /// <summary>The next n create requests answer 500 without creating anything.</summary>
    public int FailNextCreates;

    /// <summary>The next n create requests create the call and then answer 502 (Twilio accepted it; the response is lost).</summary>
    public int AcceptThenFailNextCreates;

    /// <summary>Dials every call held in the queue.</summary>
    public void ReleaseQueue()
    {
        HoldQueue = false;
        foreach (var call in Calls.Values)
        {
            call.Dequeued.TrySetResult();
        }
    }

    /// <summary>Callee tasks still running (a host waits for them before stopping).</summary>
    public ConcurrentDictionary<string, Task> Running { get; } = new();

    public void Log(string callSid, string what, string detail = "") =>
        Timeline.Enqueue(new SimTimelineEntry(Interlocked.Increment(ref sequence), Clock.GetUtcNow(), callSid, what, detail));

    /// <summary>The timeline of one call.</summary>
    public IReadOnlyList<SimTimelineEntry> TimelineOf(string callSid) => Timeline.Where(e => e.CallSid == callSid).OrderBy(e => e.Seq).ToList();
}

/// <summary>
/// Twilio's Calls API on 127.0.0.1 (shared/protocols/outbound-and-transfer.md §1–2, §7), speaking its wire format:
/// <list type="bullet">
/// <item><c>POST /2010-04-01/Accounts/{AccountSid}/Calls.json</c>, HTTP Basic <c>AccountSid:AuthToken</c>, form-encoded
/// (<c>To</c>, <c>From</c>, <c>Url</c> or <c>Twiml</c>, <c>StatusCallback</c> + repeated <c>StatusCallbackEvent</c>,
/// <c>MachineDetection</c>, <c>AsyncAmd</c>, <c>AsyncAmdStatusCallback</c>, <c>Timeout</c>) → <c>201</c> with the call JSON
/// (<c>sid</c> <c>CA…</c>, <c>status</c> <c>queued</c>, <c>direction</c> <c>outbound-api</c>, RFC 2822 dates).</item>
/// <item><c>POST …/Calls/{CallSid}.json</c> with <c>Twiml</c>, <c>Url</c> or <c>Status=completed|canceled</c> → <c>200</c>;
/// <c>21220</c> when the call is over. <c>GET …/Calls/{CallSid}.json</c> → the call.</item>
/// <item><c>GET …/Calls.json</c> (Read multiple): filters <c>To</c>, <c>From</c>, <c>Status</c>, <c>StartTime</c> (a UTC date
/// <c>YYYY-MM-DD</c> or an ISO 8601 time; also <c>StartTime&gt;</c> / <c>StartTime&lt;</c>, i.e. <c>StartTime&gt;=…</c> on the
/// wire), <c>PageSize</c> (≤ 1000, default 50) → <c>{"calls":[…],"page":0,"page_size","next_page_uri":null,"uri",…}</c>,
/// newest first. A queued call has no <c>start_time</c> and so matches no <c>StartTime</c> filter.</item>
/// <item>Errors as Twilio answers them: <c>{"code","message","more_info","status"}</c> (20003 authentication, 20404 not
/// found, 21211 invalid To, 21213 no From, 21205 no Url/Twiml).</item>
/// </list>
/// Then it plays the callee (<see cref="TwilioCallsApiState.Callee"/>): status callbacks (initiated, ringing, answered,
/// completed | busy | no-answer, signed with the account's auth token), the <c>Url</c> fetched and its TwiML executed
/// (<c>&lt;Pause&gt;</c> until an update, <c>&lt;Say&gt;</c>, <c>&lt;Hangup/&gt;</c>, <c>&lt;Connect&gt;&lt;Stream&gt;</c> as in
/// <see cref="TwilioCallSimulator"/>), the asynchronous AMD callback (<c>human</c> or <c>machine_end_beep</c>), and a
/// timeline of everything it received and did.
/// </summary>
internal static class TwilioCallsApiSimulator
{
    /// <summary>Maps the Calls API routes onto <paramref name="app"/> (e.g. beside other simulators on one server).</summary>
    public static IEndpointRouteBuilder MapTwilioCallsApi(this IEndpointRouteBuilder app, TwilioCallsApiState state)
    {
        var group = app.MapGroup("/2010-04-01/Accounts/{accountSid}");
        group.MapPost("/Calls.json", (string accountSid, HttpContext http) => CreateAsync(state, accountSid, http));
        group.MapPost("/Calls/{callSid}.json", (string accountSid, string callSid, HttpContext http) => UpdateAsync(state, accountSid, callSid, http));
        group.MapGet("/Calls.json", (string accountSid, HttpContext http) => List(state, accountSid, http));
        group.MapGet("/Calls/{callSid}.json", (string accountSid, string callSid, HttpContext http) => FetchAsync(state, accountSid, callSid, http));
        return app;
    }

    /// <summary>A standalone simulator on 127.0.0.1 (<paramref name="port"/> 0: any free port).</summary>
    public static async Task<RunningTwilioCallsApi> StartAsync(TwilioCallsApiState state, int port = 0)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapTwilioCallsApi(state);
        await app.StartAsync();
        return new RunningTwilioCallsApi(app, state, app.Urls.First().TrimEnd('/'));
    }

    private static IResult Error(int status, int code, string message) =>
        Results.Json(new { code, message, more_info = $"https://www.twilio.com/docs/errors/{code}", status }, statusCode: status);

    private static bool Authorized(TwilioCallsApiState state, string accountSid, HttpContext http)
    {
        var header = http.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase) || accountSid != state.AccountSid)
        {
            return false;
        }
        try
        {
            return Encoding.UTF8.GetString(Convert.FromBase64String(header[6..].Trim())) == $"{state.AccountSid}:{state.AuthToken}";
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private static async Task<Dictionary<string, List<string>>> ReadFormAsync(HttpContext http)
    {
        var form = await http.Request.ReadFormAsync();
        return form.ToDictionary(kv => kv.Key, kv => kv.Value.Select(v => v ?? "").ToList());
    }

    private static async Task<IResult> CreateAsync(TwilioCallsApiState state, string accountSid, HttpContext http)
    {
        if (!Authorized(state, accountSid, http))
        {
            return Error(401, 20003, "Authenticate");
        }
        if (!http.Request.HasFormContentType)
        {
            return Error(400, 21211, "Invalid 'To' Phone Number");
        }
        if (Interlocked.Decrement(ref state.FailNextCreates) >= 0)
        {
            return Error(500, 20500, "Internal Server Error");
        }
        var form = await ReadFormAsync(http);
        string? Get(string n) => form.TryGetValue(n, out var v) && v.Count > 0 && v[0].Length > 0 ? v[0] : null;
        var to = Get("To");
        if (to is null || !(to.StartsWith('+') && to.Length is >= 8 and <= 16 && to[1..].All(char.IsAsciiDigit)) && !to.StartsWith("sip:", StringComparison.Ordinal) && !to.StartsWith("client:", StringComparison.Ordinal))
        {
            return Error(400, 21211, $"Invalid 'To' Phone Number: {to}");
        }
        if (Get("From") is not { } from)
        {
            return Error(400, 21213, "No 'From' number is specified");
        }
        if (Get("Url") is null && Get("Twiml") is null && Get("ApplicationSid") is null)
        {
            return Error(400, 21205, "Url parameter is required.");
        }
        var call = new SimOutboundCall
        {
            Sid = "CA" + Guid.NewGuid().ToString("N"),
            To = to,
            From = from,
            Form = form,
            CreatedAt = state.Clock.GetUtcNow(),
        };
        state.Calls[call.Sid] = call;
        state.Log(call.Sid, "create", string.Join('&', form.SelectMany(kv => kv.Value.Select(v => $"{kv.Key}={v}"))));
        // The callee plays once the answer is on its way, as Twilio dials after queuing the call.
        var created = ToJson(state, call); // the resource as created ("queued"), before the callee can move it on
        if (!state.HoldQueue)
        {
            call.Dequeued.TrySetResult();
        }
        state.Running[call.Sid] = Task.Run(() => PlayCalleeAsync(state, call));
        if (Interlocked.Decrement(ref state.AcceptThenFailNextCreates) >= 0)
        {
            state.Log(call.Sid, "create response lost", "502");
            return Error(502, 20500, "Bad Gateway");
        }
        return Results.Json(created, statusCode: 201);
    }

    private static async Task<IResult> UpdateAsync(TwilioCallsApiState state, string accountSid, string callSid, HttpContext http)
    {
        if (!Authorized(state, accountSid, http))
        {
            return Error(401, 20003, "Authenticate");
        }
        if (!state.Calls.TryGetValue(callSid, out var call))
        {
            state.Log(callSid, "update refused", "20404 no such call");
            return Error(404, 20404, $"The requested resource /2010-04-01/Accounts/{accountSid}/Calls/{callSid}.json was not found");
        }
        var form = http.Request.HasFormContentType ? await ReadFormAsync(http) : [];
        string? Get(string n) => form.TryGetValue(n, out var v) && v.Count > 0 && v[0].Length > 0 ? v[0] : null;
        lock (call.Gate)
        {
            if (call.Status is "completed" or "busy" or "no-answer" or "failed" or "canceled")
            {
                state.Log(callSid, "update refused", "21220 call not in progress");
                return Error(400, 21220, "Call is not in-progress. Cannot redirect.");
            }
        }
        XElement next;
        if (Get("Twiml") is { } twiml)
        {
            try
            {
                next = XElement.Parse(twiml);
            }
            catch (System.Xml.XmlException)
            {
                return Error(400, 12100, "Document parse failure");
            }
            state.Log(callSid, "update", "Twiml=" + twiml);
        }
        else if (Get("Status") is "completed" or "canceled")
        {
            state.Log(callSid, "update", "Status=" + Get("Status"));
            next = new XElement("Response", new XElement("Hangup"));
        }
        else if (Get("Url") is { } url)
        {
            state.Log(callSid, "update", "Url=" + url);
            next = new XElement("Response", new XElement("Redirect", url));
        }
        else
        {
            return Error(400, 21205, "Url parameter is required.");
        }
        lock (call.Gate)
        {
            call.Update.TrySetResult(next);
        }
        return Results.Json(ToJson(state, call));
    }

    private static IResult FetchAsync(TwilioCallsApiState state, string accountSid, string callSid, HttpContext http) =>
        !Authorized(state, accountSid, http) ? Error(401, 20003, "Authenticate")
        : state.Calls.TryGetValue(callSid, out var call) ? Results.Json(ToJson(state, call))
        : Error(404, 20404, $"The requested resource /2010-04-01/Accounts/{accountSid}/Calls/{callSid}.json was not found");

    private static IResult List(TwilioCallsApiState state, string accountSid, HttpContext http)
    {
        if (!Authorized(state, accountSid, http))
        {
            return Error(401, 20003, "Authenticate");
        }
        var q = http.Request.Query;
        string? Get(string n) => q.TryGetValue(n, out var v) && v.Count > 0 && v[0] is { Length: > 0 } value ? value : null;
        IEnumerable<SimOutboundCall> calls = state.Calls.Values;
        if (Get("To") is { } to)
        {
            calls = calls.Where(c => c.To == to);
        }
        if (Get("From") is { } from)
        {
            calls = calls.Where(c => c.From == from);
        }
        if (Get("Status") is { } status)
        {
            calls = calls.Where(c => c.Status == status);
        }
        foreach (var (key, compare) in new (string, Func<DateTimeOffset, DateTimeOffset, bool, bool>)[]
        {
            ("StartTime", (start, at, dateOnly) => dateOnly ? start.UtcDateTime.Date == at.UtcDateTime.Date : start == at),
            ("StartTime>", (start, at, dateOnly) => dateOnly ? start.UtcDateTime.Date >= at.UtcDateTime.Date : start >= at),
            ("StartTime<", (start, at, dateOnly) => dateOnly ? start.UtcDateTime.Date <= at.UtcDateTime.Date : start <= at),
        })
        {
            if (Get(key) is not { } value)
            {
                continue;
            }
            if (!DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
            {
                return Error(400, 20001, $"Invalid {key}: {value}");
            }
            var dateOnly = value.Length == 10;
            calls = calls.Where(c => c.StartedAt is { } start && compare(start, at, dateOnly));
        }
        var pageSize = int.TryParse(Get("PageSize"), CultureInfo.InvariantCulture, out var size) && size is > 0 and <= 1000 ? size : 50;
        var page = calls.OrderByDescending(c => c.CreatedAt).ThenByDescending(c => c.Sid, StringComparer.Ordinal).Take(pageSize).Select(c => ToJson(state, c)).ToList();
        state.Log("", "list", http.Request.QueryString.Value ?? "");
        var uri = $"/2010-04-01/Accounts/{accountSid}/Calls.json{http.Request.QueryString}";
        return Results.Json(new Dictionary<string, object?>
        {
            ["calls"] = page,
            ["end"] = Math.Max(0, page.Count - 1),
            ["first_page_uri"] = uri,
            ["next_page_uri"] = null,
            ["page"] = 0,
            ["page_size"] = pageSize,
            ["previous_page_uri"] = null,
            ["start"] = 0,
            ["uri"] = uri,
        });
    }

    private static Dictionary<string, object?> ToJson(TwilioCallsApiState state, SimOutboundCall call) => new()
    {
        ["sid"] = call.Sid,
        ["account_sid"] = state.AccountSid,
        ["to"] = call.To,
        ["to_formatted"] = call.To,
        ["from"] = call.From,
        ["from_formatted"] = call.From,
        ["status"] = call.Status,
        ["direction"] = "outbound-api",
        ["answered_by"] = call.AnsweredBy,
        ["queue_time"] = "0",
        ["parent_call_sid"] = null,
        ["phone_number_sid"] = null,
        ["start_time"] = call.StartedAt?.ToString("ddd, dd MMM yyyy HH:mm:ss '+0000'", CultureInfo.InvariantCulture),
        ["end_time"] = null,
        ["duration"] = null,
        ["price"] = null,
        ["price_unit"] = "USD",
        ["date_created"] = call.CreatedAt.ToString("ddd, dd MMM yyyy HH:mm:ss '+0000'", CultureInfo.InvariantCulture),
        ["date_updated"] = call.CreatedAt.ToString("ddd, dd MMM yyyy HH:mm:ss '+0000'", CultureInfo.InvariantCulture),
        ["api_version"] = "2010-04-01",
        ["uri"] = $"/2010-04-01/Accounts/{state.AccountSid}/Calls/{call.Sid}.json",
        ["subresource_uris"] = new Dictionary<string, string>
        {
            ["recordings"] = $"/2010-04-01/Accounts/{state.AccountSid}/Calls/{call.Sid}/Recordings.json",
        },
    };

    private static async Task PlayCalleeAsync(TwilioCallsApiState state, SimOutboundCall call)
    {
        using var cts = new CancellationTokenSource(state.MaxWait);
        var ct = cts.Token;
        var started = state.Clock.GetUtcNow();
        var events = call.Form.TryGetValue("StatusCallbackEvent", out var e) ? e.SelectMany(v => v.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToHashSet() : [];
        try
        {
            await call.Dequeued.Task.WaitAsync(ct);
            call.StartedAt = state.Clock.GetUtcNow();
            await StatusAsync(state, call, "initiated", events, ct);
            await StatusAsync(state, call, "ringing", events, ct);
            if (state.Ringing is { } ringing)
            {
                await ringing(call, ct);
            }
            var kind = state.Callee(call.To);
            state.Log(call.Sid, "callee", kind.ToString());
            if (kind is CalleeKind.Busy or CalleeKind.NoAnswer)
            {
                await StatusAsync(state, call, kind == CalleeKind.Busy ? "busy" : "no-answer", events, ct, final: true);
                return;
            }
            await StatusAsync(state, call, "in-progress", events, ct);
            var twiml = call.First("Twiml") is { } inline ? XElement.Parse(inline)
                : await PostSignedAsync(state, call, call.First("Url")!, BaseParams(state, call, "in-progress"), ct, "answer url") ?? new XElement("Response");
            var amd = call.First("AsyncAmd") == "true" && call.First("MachineDetection") is not null;
            var answeredBy = kind == CalleeKind.Human ? "human" : "machine_end_beep";
            // The AMD result comes while the answer TwiML runs: a person's "Hello?" ends in ~2 s, a greeting and its beep later.
            var amdTask = amd && call.First("AsyncAmdStatusCallback") is { } amdUrl
                ? Task.Run(async () =>
                {
                    call.AnsweredBy = answeredBy;
                    var form = BaseParams(state, call, "in-progress");
                    form["AnsweredBy"] = answeredBy;
                    form["MachineDetectionDuration"] = kind == CalleeKind.Human ? "2100" : "9400";
                    state.Log(call.Sid, "amd detected", answeredBy);
                    await PostSignedAsync(state, call, amdUrl, form, ct, "amd callback: " + answeredBy, expectXml: false);
                }, ct)
                : Task.CompletedTask;
            await ExecuteAsync(state, call, twiml, kind, ct);
            await amdTask;
            await StatusAsync(state, call, "completed", events, ct, final: true);
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or WebSocketException or System.Xml.XmlException)
        {
            state.Log(call.Sid, "error", ex.GetType().Name + ": " + ex.Message);
            lock (call.Gate)
            {
                call.Status = "failed";
            }
            call.Ended.TrySetResult();
        }
        finally
        {
            state.Running.TryRemove(call.Sid, out _);
            _ = started;
        }
    }

    /// <summary>Runs TwiML as Twilio would, until a hang-up or its end; an update replaces what runs.</summary>
    private static async Task ExecuteAsync(TwilioCallsApiState state, SimOutboundCall call, XElement twiml, CalleeKind kind, CancellationToken ct)
    {
        for (var steps = 0; steps < 10; steps++)
        {
            XElement? next = null;
            foreach (var verb in twiml.Elements())
            {
                switch (verb.Name.LocalName)
                {
                    case "Say":
                        call.Said.Enqueue(verb.Value);
                        state.Log(call.Sid, kind == CalleeKind.Machine ? "voicemail recorded" : "say", verb.Value);
                        break;
                    case "Pause":
                        var seconds = int.TryParse(verb.Attribute("length")?.Value, CultureInfo.InvariantCulture, out var s) ? s : 1;
                        state.Log(call.Sid, "pause", seconds.ToString(CultureInfo.InvariantCulture));
                        if (seconds > 1)
                        {
                            // Held: the next TwiML is the update that ends the pause (or the end of the pause, bounded by MaxWait).
                            next = await WaitForUpdateAsync(call, TimeSpan.FromSeconds(Math.Min(seconds, state.MaxWait.TotalSeconds)), ct);
                        }
                        break;
                    case "Hangup":
                        state.Log(call.Sid, "hangup");
                        return;
                    case "Redirect":
                        next = await PostSignedAsync(state, call, verb.Value, BaseParams(state, call, "in-progress"), ct, "redirect");
                        break;
                    case "Connect" when verb.Element("Stream") is { } stream:
                        if (kind != CalleeKind.Human || state.Pacer is null)
                        {
                            state.Log(call.Sid, "stream skipped", kind.ToString());
                            break;
                        }
                        await StreamAsync(state, call, stream, ct);
                        if (verb.Attribute("action")?.Value is { } action)
                        {
                            next = await PostSignedAsync(state, call, action, BaseParams(state, call, "in-progress"), ct, "<Connect> action");
                        }
                        break;
                }
                if (next is not null)
                {
                    break;
                }
            }
            // An update that came while the verbs ran replaces what would run next.
            lock (call.Gate)
            {
                if (next is null && call.Update.Task.IsCompleted)
                {
                    next = call.Update.Task.Result;
                    call.Update = new(TaskCreationOptions.RunContinuationsAsynchronously);
                }
            }
            if (next is null)
            {
                return;
            }
            twiml = next;
        }
    }

    private static async Task<XElement?> WaitForUpdateAsync(SimOutboundCall call, TimeSpan max, CancellationToken ct)
    {
        Task<XElement> update;
        lock (call.Gate)
        {
            update = call.Update.Task;
        }
        var done = await Task.WhenAny(update, Task.Delay(max, ct));
        if (done != update)
        {
            return null;
        }
        lock (call.Gate)
        {
            call.Update = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        return update.Result;
    }

    private static async Task StreamAsync(TwilioCallsApiState state, SimOutboundCall call, XElement stream, CancellationToken ct)
    {
        var url = stream.Attribute("url")!.Value;
        var media = new SimulatedCall(call.Sid, state.HumanScript(call.To), state.Pacer!, () => null);
        call.Media = media;
        using var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("X-Twilio-Signature", TwilioRequestValidator.ComputeSignature(url, null, state.AuthToken));
        state.Log(call.Sid, "media stream", "connecting");
        try
        {
            await socket.ConnectAsync(new Uri(url), ct);
        }
        catch (WebSocketException ex)
        {
            state.Log(call.Sid, "media stream refused", ex.Message);
            return;
        }
        var parameters = stream.Elements("Parameter").ToDictionary(p => p.Attribute("name")!.Value, p => p.Attribute("value")!.Value);
        await media.RunAsync(socket, parameters, ct);
        state.Log(call.Sid, "media stream ended", string.Join(" | ", media.Timeline.TakeLast(3)));
    }

    private static Dictionary<string, string> BaseParams(TwilioCallsApiState state, SimOutboundCall call, string status) => new()
    {
        ["AccountSid"] = state.AccountSid,
        ["ApiVersion"] = "2010-04-01",
        ["CallSid"] = call.Sid,
        ["CallStatus"] = status,
        ["Direction"] = "outbound-api",
        ["From"] = call.From,
        ["To"] = call.To,
        ["Called"] = call.To,
        ["Caller"] = call.From,
    };

    private static async Task StatusAsync(TwilioCallsApiState state, SimOutboundCall call, string status, HashSet<string> events, CancellationToken ct, bool final = false)
    {
        lock (call.Gate)
        {
            call.Status = status;
        }
        var eventName = status switch { "in-progress" => "answered", "busy" or "no-answer" or "failed" or "canceled" => "completed", _ => status };
        try
        {
            if (call.First("StatusCallback") is { } url && (events.Contains(eventName) || eventName == "completed"))
            {
                var form = BaseParams(state, call, status);
                form["CallbackSource"] = "call-progress-events";
                form["Timestamp"] = state.Clock.GetUtcNow().ToString("ddd, dd MMM yyyy HH:mm:ss '+0000'", CultureInfo.InvariantCulture);
                form["SequenceNumber"] = state.TimelineOf(call.Sid).Count(x => x.Event.StartsWith("status", StringComparison.Ordinal)).ToString(CultureInfo.InvariantCulture);
                if (final)
                {
                    form["CallDuration"] = status == "completed" ? "12" : "0";
                }
                await PostSignedAsync(state, call, url, form, ct, "status callback: " + status, expectXml: false);
            }
        }
        finally
        {
            if (final)
            {
                call.Ended.TrySetResult();
            }
        }
    }

    private static async Task<XElement?> PostSignedAsync(TwilioCallsApiState state, SimOutboundCall call, string url, Dictionary<string, string> form,
        CancellationToken ct, string what, bool expectXml = true)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new FormUrlEncodedContent(form) };
        request.Headers.Add("X-Twilio-Signature", TwilioRequestValidator.ComputeSignature(url, form, state.AuthToken));
        using var response = await state.Http.SendAsync(request, ct);
        var body = await response.Content.ReadAsStringAsync(ct);
        state.Log(call.Sid, what, $"{(int)response.StatusCode} {(body.Length > 400 ? body[..400] : body)}");
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"POST {url}: {(int)response.StatusCode} {body}");
        }
        return expectXml && body.Length > 0 ? XElement.Parse(body) : null;
    }
}

/// <summary>A standalone <see cref="TwilioCallsApiSimulator"/> server; disposing stops it after its callees finished.</summary>
internal sealed class RunningTwilioCallsApi(WebApplication app, TwilioCallsApiState state, string baseUrl) : IAsyncDisposable
{
    public TwilioCallsApiState State { get; } = state;

    /// <summary>E.g. <c>http://127.0.0.1:41234</c>: the value of <c>Switchboard:Twilio:ApiBaseUrl</c>.</summary>
    public string BaseUrl { get; } = baseUrl;

    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(State.Running.Values).WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { }, TaskScheduler.Default);
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
