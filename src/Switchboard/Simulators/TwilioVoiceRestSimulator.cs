using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Threading.Channels;
using System.Xml.Linq;
using Switchboard.Twilio;

namespace Switchboard.Simulators;

/// <summary>A live call the REST simulator can redirect (<see cref="SimulatedCall"/>): new TwiML replaces what it runs.</summary>
internal interface ISimLiveCall
{
    /// <summary>Applies <paramref name="twiml"/> (a <c>&lt;Response&gt;</c>); false when the call is no longer in progress.</summary>
    bool Redirect(XElement twiml);

    /// <summary>The agent was joined to the conference the call waits in (coaching turned off).</summary>
    void AgentJoined(string agentCallSid);
}

/// <summary>What a simulated agent does when its phone rings for a warm transfer.</summary>
internal enum SimAgentBehaviour
{
    Answer,
    NoAnswer,
    Busy,
}

/// <summary>
/// The state of <see cref="TwilioVoiceRestSimulator"/>: every request received (a timeline for tests), the live calls it can
/// redirect, the conferences and participants, what each agent number does, and the whispers agents heard. Status callbacks
/// to the application are sent by one worker loop, after the REST response, in order, signed with <see cref="AuthToken"/>
/// (<c>X-Twilio-Signature</c>, HMAC-SHA1 as Twilio signs webhooks).
/// </summary>
internal sealed class TwilioVoiceRestState : IAsyncDisposable
{
    private readonly Channel<Func<Task>> work = Channel.CreateUnbounded<Func<Task>>(new UnboundedChannelOptions { SingleReader = true });
    private readonly HttpClient http;
    private readonly Task worker;
    private readonly System.Diagnostics.Stopwatch clock = System.Diagnostics.Stopwatch.StartNew();
    private int sequence;

    public TwilioVoiceRestState(string accountSid, string authToken, HttpClient? http = null)
    {
        AccountSid = accountSid;
        AuthToken = authToken;
        this.http = http ?? new HttpClient();
        worker = Task.Run(RunAsync);
    }

    public string AccountSid { get; }
    public string AuthToken { get; }

    /// <summary>Every request and callback, in order (<c>"{seconds}s  {what}"</c>).</summary>
    public List<string> Timeline { get; } = [];

    /// <summary>Calls in progress, by CallSid (registered by the media-side simulator).</summary>
    public ConcurrentDictionary<string, ISimLiveCall> LiveCalls { get; } = new();

    /// <summary>CallSids that have ended: an update answers 21220 (invalid call state).</summary>
    public ConcurrentDictionary<string, bool> EndedCalls { get; } = new();

    /// <summary>Conferences by FriendlyName: the caller waiting in it.</summary>
    public ConcurrentDictionary<string, ISimLiveCall> Conferences { get; } = new();

    /// <summary>Call updates received: CallSid and the form (<c>Twiml</c>, <c>Url</c>, <c>Status</c>…).</summary>
    public ConcurrentQueue<(string CallSid, Dictionary<string, string> Form)> CallUpdates { get; } = new();

    /// <summary>Participants created: conference, the agent's CallSid, the create form, then every update form.</summary>
    public ConcurrentQueue<SimParticipant> Participants { get; } = new();

    /// <summary>
    /// When set, an agent's answer (or no-answer) waits for it after ringing: a test can look at the call while the caller
    /// holds in the conference. Status callbacks are sent in order by one loop, so later ones wait too.
    /// </summary>
    public TaskCompletionSource? AgentGate { get; set; }

    /// <summary>
    /// When set, awaited with the CallSid and the form of a call update before its response is sent: what Twilio does between
    /// applying the new TwiML and the client reading the response (a <c>&lt;Dial&gt;</c> to a busy number fails at once, and its
    /// <c>action</c> can be requested before the update's response arrives).
    /// </summary>
    public Func<string, Dictionary<string, string>, Task>? BeforeUpdateResponse { get; set; }

    /// <summary>What an agent number does (<see cref="SimAgentBehaviour.Answer"/> when absent).</summary>
    public ConcurrentDictionary<string, SimAgentBehaviour> Agents { get; } = new();

    /// <summary>Texts of the <c>&lt;Say&gt;</c>s whispered to agents (their <c>AnnounceUrl</c>), with the agent's CallSid.</summary>
    public ConcurrentQueue<(string AgentCallSid, string Text)> Whispers { get; } = new();

    /// <summary>Agents joined to their caller (coaching turned off).</summary>
    public ConcurrentQueue<(string Conference, string AgentCallSid)> Joined { get; } = new();

    /// <summary>Unauthenticated or malformed requests, with the reason.</summary>
    public ConcurrentQueue<string> Rejections { get; } = new();

    public void Log(string what)
    {
        lock (Timeline)
        {
            Timeline.Add($"{clock.Elapsed.TotalSeconds,7:0.000}s  {what}");
        }
    }

    internal string NextSid(string prefix) => prefix + Interlocked.Increment(ref sequence).ToString("D32", CultureInfo.InvariantCulture);

    /// <summary>Queues work for after the current response (status callbacks, announcements).</summary>
    internal void Later(Func<Task> job) => work.Writer.TryWrite(job);

    /// <summary>POSTs a signed form to the application, as Twilio does for callbacks; the response body (TwiML) or null.</summary>
    internal async Task<string?> CallbackAsync(string url, Dictionary<string, string> form)
    {
        var (status, body) = await PostSignedAsync(url, form);
        return status is >= 200 and < 300 ? body : null;
    }

    /// <summary>POSTs a signed form as <see cref="CallbackAsync"/> does; the HTTP status the application answered, 0 when unreachable.</summary>
    internal async Task<int> CallbackStatusAsync(string url, Dictionary<string, string> form) => (await PostSignedAsync(url, form)).Status;

    private async Task<(int Status, string? Body)> PostSignedAsync(string url, Dictionary<string, string> form)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new FormUrlEncodedContent(form) };
        request.Headers.Add("X-Twilio-Signature", TwilioRequestValidator.ComputeSignature(url, form, AuthToken));
        try
        {
            using var response = await http.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            Log($"callback {new Uri(url).AbsolutePath} {string.Join(' ', form.Where(p => p.Key is "CallStatus" or "CallSid" or "MessageStatus" or "MessageSid").Select(p => $"{p.Key}={p.Value}"))} → {(int)response.StatusCode}");
            return ((int)response.StatusCode, body);
        }
        catch (HttpRequestException e)
        {
            Log($"callback {url} failed: {e.Message}");
            return (0, null);
        }
    }

    private async Task RunAsync()
    {
        await foreach (var job in work.Reader.ReadAllAsync())
        {
            try
            {
                await job();
            }
            catch (Exception e) when (e is HttpRequestException or InvalidOperationException or TaskCanceledException or System.Xml.XmlException)
            {
                Log($"simulator job failed: {e.Message}");
            }
        }
    }

    /// <summary>Waits until every queued callback has been sent.</summary>
    public async Task IdleAsync(TimeSpan timeout)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Later(() =>
        {
            done.TrySetResult();
            return Task.CompletedTask;
        });
        await done.Task.WaitAsync(timeout);
    }

    public async ValueTask DisposeAsync()
    {
        work.Writer.TryComplete();
        await worker;
        http.Dispose();
    }
}

/// <summary>A conference participant the simulator dialled: its conference, CallSid, create form and updates.</summary>
internal sealed record SimParticipant(string Conference, string CallSid, Dictionary<string, string> Form)
{
    public ConcurrentQueue<Dictionary<string, string>> Updates { get; } = new();
}

/// <summary>
/// Twilio's voice REST API for live calls on 127.0.0.1 (shared/protocols/outbound-and-transfer.md §2–§3.2), as a composable
/// route group: <c>app.MapTwilioVoiceRest(state)</c> on any simulator host.
/// <list type="bullet">
/// <item><c>POST /2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json</c> (<c>Twiml</c> | <c>Url</c> | <c>Status</c>): the live
/// call runs the new TwiML (its media stream stops); 200 with the call JSON; 21220 for an ended call.</item>
/// <item><c>POST …/Conferences/{ConferenceSid|FriendlyName}/Participants.json</c> (<c>From</c>, <c>To</c>, <c>Label</c>,
/// <c>Timeout</c>, <c>StatusCallback</c>, <c>StatusCallbackEvent</c>, <c>Coaching</c>, <c>CallSidToCoach</c>…): 201 with the
/// participant JSON; then the agent's leg calls back <c>ringing</c> and <c>in-progress</c> (answered), or <c>busy</c> /
/// <c>no-answer</c>, as <see cref="TwilioVoiceRestState.Agents"/> says.</item>
/// <item><c>POST …/Conferences/{Conference}/Participants/{CallSid}.json</c> (<c>AnnounceUrl</c>, <c>Coaching</c>, <c>Hold</c>,
/// <c>HoldUrl</c>, <c>Muted</c>…): an <c>AnnounceUrl</c> is fetched and its <c>&lt;Say&gt;</c>s recorded as whispers;
/// <c>Coaching=false</c> joins the agent to the caller. 200 with the participant JSON.</item>
/// </list>
/// HTTP Basic <c>AccountSid:AuthToken</c> is checked (20003 otherwise); errors use Twilio's JSON <c>{code,message,more_info,status}</c>.
/// </summary>
internal static class TwilioVoiceRestSimulator
{
    public static IEndpointRouteBuilder MapTwilioVoiceRest(this IEndpointRouteBuilder app, TwilioVoiceRestState state)
    {
        var accounts = app.MapGroup("/2010-04-01/Accounts/{accountSid}");
        accounts.MapPost("/Calls/{callSid}.json", (string accountSid, string callSid, HttpContext http) => UpdateCallAsync(state, accountSid, callSid, http));
        accounts.MapPost("/Conferences/{conference}/Participants.json", (string accountSid, string conference, HttpContext http) => CreateParticipantAsync(state, accountSid, conference, http));
        accounts.MapPost("/Conferences/{conference}/Participants/{callSid}.json", (string accountSid, string conference, string callSid, HttpContext http) =>
            UpdateParticipantAsync(state, accountSid, conference, callSid, http));
        return app;
    }

    private static IResult Error(int status, int code, string message) =>
        Results.Json(new { code, message, more_info = $"https://www.twilio.com/docs/errors/{code}", status }, statusCode: status);

    private static async Task<(Dictionary<string, string>? Form, IResult? Error)> ReadAsync(TwilioVoiceRestState state, string accountSid, HttpContext http)
    {
        var expected = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{state.AccountSid}:{state.AuthToken}"));
        if (accountSid != state.AccountSid || http.Request.Headers.Authorization.ToString() != expected)
        {
            state.Rejections.Enqueue("auth");
            return (null, Error(401, 20003, "Authenticate"));
        }
        if (!http.Request.HasFormContentType)
        {
            state.Rejections.Enqueue("content-type");
            return (null, Error(400, 20001, "Invalid content type"));
        }
        var form = await http.Request.ReadFormAsync();
        // Repeated fields (StatusCallbackEvent) are joined with spaces, as Twilio reads them.
        return (form.ToDictionary(p => p.Key, p => string.Join(' ', p.Value.ToArray()), StringComparer.Ordinal), null);
    }

    private static async Task<IResult> UpdateCallAsync(TwilioVoiceRestState state, string accountSid, string callSid, HttpContext http)
    {
        var (form, error) = await ReadAsync(state, accountSid, http);
        if (form is null)
        {
            return error!;
        }
        state.CallUpdates.Enqueue((callSid, form));
        state.Log($"call update {callSid}: {(form.TryGetValue("Twiml", out var t) ? t : form.GetValueOrDefault("Url") ?? form.GetValueOrDefault("Status"))}");
        if (state.EndedCalls.ContainsKey(callSid))
        {
            return Error(400, 21220, "Call is not in-progress. Cannot redirect.");
        }
        if (form.TryGetValue("Twiml", out var twiml))
        {
            XElement response;
            try
            {
                response = XElement.Parse(twiml);
            }
            catch (System.Xml.XmlException)
            {
                return Error(400, 12100, "Document parse failure");
            }
            if (state.LiveCalls.TryGetValue(callSid, out var live) && !live.Redirect(response))
            {
                return Error(400, 21220, "Call is not in-progress. Cannot redirect.");
            }
        }
        if (state.BeforeUpdateResponse is { } before)
        {
            await before(callSid, form);
        }
        return Results.Json(new
        {
            sid = callSid,
            account_sid = accountSid,
            status = "in-progress",
            direction = "inbound",
            api_version = "2010-04-01",
            uri = $"/2010-04-01/Accounts/{accountSid}/Calls/{callSid}.json",
        });
    }

    private static object Participant(string accountSid, string conference, string callSid, Dictionary<string, string> form, string status) => new
    {
        account_sid = accountSid,
        call_sid = callSid,
        conference_sid = conference.StartsWith("CF", StringComparison.Ordinal) ? conference : "CF" + new string('0', 31) + "1",
        label = form.GetValueOrDefault("Label"),
        status,
        coaching = form.GetValueOrDefault("Coaching") == "true",
        call_sid_to_coach = form.GetValueOrDefault("CallSidToCoach"),
        hold = form.GetValueOrDefault("Hold") == "true",
        muted = form.GetValueOrDefault("Muted") == "true",
        end_conference_on_exit = form.GetValueOrDefault("EndConferenceOnExit") == "true",
        start_conference_on_enter = form.GetValueOrDefault("StartConferenceOnEnter") != "false",
        uri = $"/2010-04-01/Accounts/{accountSid}/Conferences/{conference}/Participants/{callSid}.json",
    };

    private static async Task<IResult> CreateParticipantAsync(TwilioVoiceRestState state, string accountSid, string conference, HttpContext http)
    {
        var (form, error) = await ReadAsync(state, accountSid, http);
        if (form is null)
        {
            return error!;
        }
        if (!form.TryGetValue("From", out var from) || !form.TryGetValue("To", out var to))
        {
            return Error(400, 21604, "A 'From' and a 'To' phone number are required.");
        }
        var participant = new SimParticipant(conference, state.NextSid("CA"), form);
        state.Participants.Enqueue(participant);
        state.Log($"participant {participant.CallSid} → {to} in {conference} (coaching {form.GetValueOrDefault("Coaching") ?? "false"} of {form.GetValueOrDefault("CallSidToCoach")})");
        if (form.GetValueOrDefault("StatusCallback") is { } callback)
        {
            var behaviour = state.Agents.GetValueOrDefault(to, SimAgentBehaviour.Answer);
            var events = (form.GetValueOrDefault("StatusCallbackEvent") ?? "completed").Split(' ', StringSplitOptions.RemoveEmptyEntries);
            Dictionary<string, string> Status(string status) => new()
            {
                ["AccountSid"] = accountSid,
                ["CallSid"] = participant.CallSid,
                ["CallStatus"] = status,
                ["From"] = from,
                ["To"] = to,
                ["Direction"] = "outbound-api",
                ["ApiVersion"] = "2010-04-01",
                ["CallbackSource"] = "call-progress-events",
                ["Timestamp"] = DateTimeOffset.UtcNow.ToString("r", CultureInfo.InvariantCulture),
            };
            state.Later(async () =>
            {
                if (events.Contains("ringing"))
                {
                    await state.CallbackAsync(callback, Status("ringing"));
                }
                if (state.AgentGate is { } gate)
                {
                    await gate.Task.WaitAsync(TimeSpan.FromSeconds(30));
                }
                var final = behaviour switch { SimAgentBehaviour.Answer => "in-progress", SimAgentBehaviour.Busy => "busy", _ => "no-answer" };
                if (final == "in-progress" ? events.Contains("answered") : events.Contains("completed"))
                {
                    await state.CallbackAsync(callback, Status(final));
                }
            });
        }
        return Results.Json(Participant(accountSid, conference, participant.CallSid, form, "queued"), statusCode: 201);
    }

    private static async Task<IResult> UpdateParticipantAsync(TwilioVoiceRestState state, string accountSid, string conference, string callSid, HttpContext http)
    {
        var (form, error) = await ReadAsync(state, accountSid, http);
        if (form is null)
        {
            return error!;
        }
        var participant = state.Participants.FirstOrDefault(p => p.CallSid == callSid && p.Conference == conference);
        if (participant is null)
        {
            return Error(404, 20404, $"The requested resource /2010-04-01/Accounts/{accountSid}/Conferences/{conference}/Participants/{callSid}.json was not found");
        }
        participant.Updates.Enqueue(form);
        state.Log($"participant update {callSid}: {string.Join(", ", form.Select(p => $"{p.Key}={p.Value}"))}");
        if (form.GetValueOrDefault("AnnounceUrl") is { } announce)
        {
            state.Later(async () =>
            {
                var twiml = await state.CallbackAsync(announce, new Dictionary<string, string>
                {
                    ["AccountSid"] = accountSid,
                    ["ConferenceSid"] = conference,
                    ["CallSid"] = callSid,
                    ["ApiVersion"] = "2010-04-01",
                });
                if (twiml is not null)
                {
                    foreach (var say in XElement.Parse(twiml).Elements("Say"))
                    {
                        state.Whispers.Enqueue((callSid, say.Value));
                        state.Log($"whispered to {callSid}: {say.Value}");
                    }
                }
            });
        }
        if (form.GetValueOrDefault("Coaching") == "false")
        {
            // After any announcement queued before it: the agent hears the brief, then the caller.
            state.Later(() =>
            {
                state.Joined.Enqueue((conference, callSid));
                state.Log($"agent {callSid} joined the caller in {conference}");
                if (state.Conferences.TryGetValue(conference, out var caller))
                {
                    caller.AgentJoined(callSid);
                }
                return Task.CompletedTask;
            });
        }
        return Results.Json(Participant(accountSid, conference, callSid, participant.Form.Concat(form).GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.Last().Value), "connected"));
    }
}
