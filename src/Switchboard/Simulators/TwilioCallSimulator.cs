using System.Buffers;
using System.Buffers.Text;
using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using System.Xml.Linq;
using Switchboard.Realtime.Bridge;
using Switchboard.Twilio;

namespace Switchboard.Simulators;

/// <summary>
/// Twilio's side of a native call, against a running Switchboard: the signed voice webhook, the TwiML it returns
/// (consent <c>&lt;Say&gt;</c>, <c>&lt;Connect&gt;&lt;Stream&gt;</c>, or a message/notice), then the bidirectional media
/// stream (twilio-media-streams.md §7): <c>connected</c>, <c>start</c> with the <c>&lt;Parameter&gt;</c>s, caller audio as
/// 160-byte μ-law frames every 20 ms (silence between utterances), the assistant's audio played back in real time (8 bytes
/// per ms) with <c>mark</c> echoes as it plays, <c>clear</c> honoured, <c>dtmf</c>, <c>stop</c>. When the server ends the
/// stream, the <c>&lt;Connect action&gt;</c> is requested and followed (a message is left when asked), and the status
/// callback reports the call completed. Every request is signed with the tenant's auth token.
/// </summary>
internal sealed class TwilioCallSimulator(Uri server, string authToken, SimPacer pacer, HttpClient? http = null)
{
    private readonly HttpClient http = http ?? new HttpClient();

    /// <summary>Optional sink for end-to-end audio latency (provider stamp → frame received), in µs (benchmark); may be swapped while calls run.</summary>
    public LatencyHistogram? EndToEnd { get; set; }

    private long framesSent;

    /// <summary>Caller media frames sent by every call of this simulator (benchmark pacing check).</summary>
    public long FramesSent => Interlocked.Read(ref framesSent);

    internal void CountFrame() => Interlocked.Increment(ref framesSent);

    /// <summary>Adds a signature to the WebSocket upgrade, as the platform may require.</summary>
    public bool SignStream { get; init; } = true;

    /// <summary>
    /// Twilio's REST side (<see cref="TwilioVoiceRestSimulator"/>): when set, calls register there while in progress, so a
    /// REST call update redirects them (the stream stops, the new TwiML runs) and a conference can join an agent to them.
    /// </summary>
    public TwilioVoiceRestState? Rest { get; init; }

    /// <summary>Longest wait on hold in a conference before the simulated caller gives up and hangs up, in ms.</summary>
    public int ConferenceWaitMs { get; init; } = 30000;

    public async Task<SimulatedCall> PlaceCallAsync(Guid tenantId, CallerScript script, CancellationToken ct)
    {
        var call = new SimulatedCall($"CA{Guid.NewGuid():N}", script, pacer, () => EndToEnd, CountFrame);
        var form = new Dictionary<string, string>
        {
            ["AccountSid"] = "AC" + new string('0', 31) + "1", ["ApiVersion"] = "2010-04-01", ["CallSid"] = call.CallSid, ["CallStatus"] = "ringing",
            ["Called"] = script.To, ["Caller"] = script.From, ["Direction"] = "inbound", ["From"] = script.From, ["To"] = script.To,
        };
        if (script.Country is not null)
        {
            form["FromCountry"] = script.Country;
        }
        if (script.State is not null)
        {
            form["FromState"] = script.State;
        }
        call.Log("voice webhook");
        Rest?.LiveCalls.TryAdd(call.CallSid, call);
        try
        {
            var twiml = await PostAsync($"/webhooks/twilio/voice/{tenantId}", form, ct);
            call.TwiML = twiml.ToString(SaveOptions.DisableFormatting);
            await FollowAsync(tenantId, call, twiml, form, ct);
        }
        finally
        {
            call.Complete();
            Rest?.LiveCalls.TryRemove(call.CallSid, out _);
            Rest?.EndedCalls.TryAdd(call.CallSid, true);
        }
        call.Log("status callback: completed");
        var status = new Dictionary<string, string>(form)
        {
            ["CallStatus"] = "completed",
            ["CallDuration"] = ((int)Math.Ceiling(call.Elapsed.TotalSeconds)).ToString(CultureInfo.InvariantCulture),
        };
        await PostAsync($"/webhooks/twilio/status/{tenantId}", status, ct, expectXml: false);
        return call;
    }

    /// <summary>Executes TwiML like Twilio: says, the stream, a recorded message, a hang-up.</summary>
    private async Task FollowAsync(Guid tenantId, SimulatedCall call, XElement twiml, Dictionary<string, string> form, CancellationToken ct)
    {
        for (var redirects = 0; redirects < 5; redirects++)
        {
            XElement? next = null;
            foreach (var verb in twiml.Elements())
            {
                switch (verb.Name.LocalName)
                {
                    case "Say":
                        call.Said.Add(verb.Value);
                        call.Log($"<Say language=\"{verb.Attribute("language")?.Value}\">{verb.Value}");
                        break;
                    case "Connect" when verb.Element("Stream") is { } stream:
                        await StreamAsync(call, stream, ct);
                        if (call.TakeRedirect() is { } updated)
                        {
                            // A REST update replaced <Connect>: its action is not requested (outbound-and-transfer.md §2).
                            next = updated;
                            break;
                        }
                        if (call.CallerHungUp)
                        {
                            return;
                        }
                        if (verb.Attribute("action")?.Value is { } action)
                        {
                            call.Log("<Connect> action");
                            next = await PostAsync(new Uri(action).PathAndQuery, form, ct, absolute: action);
                            call.ActionTwiML = next.ToString(SaveOptions.DisableFormatting);
                        }
                        break;
                    case "Record":
                        call.Log("<Record>: leaving a 5 s message");
                        call.LeftMessage = true;
                        var sid = $"RE{Guid.NewGuid():N}";
                        var recordingUrl = $"https://api.twilio.com/2010-04-01/Accounts/{form["AccountSid"]}/Recordings/{sid}";
                        if (verb.Attribute("recordingStatusCallback")?.Value is { } callback)
                        {
                            await PostAsync(new Uri(callback).PathAndQuery, new Dictionary<string, string>(form)
                            {
                                ["RecordingSid"] = sid, ["RecordingUrl"] = recordingUrl, ["RecordingStatus"] = "completed", ["RecordingDuration"] = "5",
                                ["RecordingChannels"] = "1", ["RecordingSource"] = "RecordVerb", ["RecordingTrack"] = "inbound",
                            }, ct, absolute: callback, expectXml: false);
                        }
                        if (verb.Attribute("action")?.Value is { } recorded)
                        {
                            next = await PostAsync(new Uri(recorded).PathAndQuery, new Dictionary<string, string>(form)
                            {
                                ["RecordingSid"] = sid, ["RecordingUrl"] = recordingUrl, ["RecordingDuration"] = "5", ["Digits"] = "hangup",
                            }, ct, absolute: recorded);
                        }
                        break;
                    case "Hangup":
                        call.Log("<Hangup/>");
                        return;
                    case "Dial" when verb.Element("Number") is { } number:
                        // The destination does what its agent behaviour says (TwilioVoiceRestState.Agents); then, as Twilio does,
                        // the <Dial action> is requested with DialCallStatus and its TwiML runs (twilio.com/docs/voice/twiml/dial#action).
                        var dialled = number.Value.Trim();
                        var behaviour = Rest?.Agents.GetValueOrDefault(dialled, SimAgentBehaviour.Answer) ?? SimAgentBehaviour.Answer;
                        var dialStatus = behaviour switch { SimAgentBehaviour.Busy => "busy", SimAgentBehaviour.NoAnswer => "no-answer", _ => "completed" };
                        if (behaviour == SimAgentBehaviour.Answer)
                        {
                            call.Log($"<Dial> {dialled}: the caller is put through");
                            call.Dialled.Add(dialled);
                        }
                        else
                        {
                            call.Log($"<Dial> {dialled}: {dialStatus}");
                        }
                        if (verb.Attribute("action")?.Value is not { } dialAction)
                        {
                            return;
                        }
                        call.Log($"<Dial> action: DialCallStatus={dialStatus}");
                        next = await PostAsync(new Uri(dialAction).PathAndQuery, new Dictionary<string, string>(form)
                        {
                            ["CallStatus"] = "in-progress", ["DialCallStatus"] = dialStatus, ["DialCallSid"] = $"CA{Guid.NewGuid():N}",
                            ["DialCallDuration"] = behaviour == SimAgentBehaviour.Answer ? "12" : "0",
                        }, ct, absolute: dialAction);
                        call.ActionTwiML = next.ToString(SaveOptions.DisableFormatting);
                        break;
                    case "Dial" when verb.Element("Conference") is { } conference:
                        var name = conference.Value.Trim();
                        call.Log($"<Conference> {name}: on hold ({conference.Attribute("waitUrl")?.Value})");
                        call.Conferences.Add(name);
                        Rest?.Conferences.TryAdd(name, call);
                        if (Rest?.Joined.FirstOrDefault(j => j.Conference == name) is { AgentCallSid: { } early })
                        {
                            call.AgentJoined(early); // joined while the caller's stream was still closing
                        }
                        var outcome = await call.WaitInConferenceAsync(ConferenceWaitMs, ct);
                        Rest?.Conferences.TryRemove(name, out _);
                        if (outcome is null)
                        {
                            call.Log(call.JoinedBy is { } agent ? $"conference {name}: talking with {agent}" : $"conference {name}: nobody came, the caller hangs up");
                            return;
                        }
                        next = outcome;
                        break;
                }
                if (next is not null)
                {
                    break;
                }
            }
            if (next is null)
            {
                return;
            }
            twiml = next;
        }
    }

    private async Task<XElement> PostAsync(string path, Dictionary<string, string> form, CancellationToken ct, string? absolute = null, bool expectXml = true)
    {
        var url = absolute ?? new Uri(server, path).ToString();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server, path)) { Content = new FormUrlEncodedContent(form) };
        request.Headers.Add("X-Twilio-Signature", TwilioRequestValidator.ComputeSignature(url, form, authToken));
        using var response = await http.SendAsync(request, ct);
        var body = await response.Content.ReadAsStringAsync(ct);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"POST {path}: {(int)response.StatusCode} {body}");
        }
        return expectXml ? XElement.Parse(body) : new XElement("Response");
    }

    private async Task StreamAsync(SimulatedCall call, XElement stream, CancellationToken ct)
    {
        var url = stream.Attribute("url")!.Value;
        using var socket = new ClientWebSocket();
        if (SignStream)
        {
            socket.Options.SetRequestHeader("X-Twilio-Signature", TwilioRequestValidator.ComputeSignature(url, null, authToken));
        }
        call.Log("media stream: connecting");
        try
        {
            await socket.ConnectAsync(new Uri(url), ct);
        }
        catch (WebSocketException e)
        {
            // Twilio then goes on with the <Connect> action.
            call.Log($"media stream refused: {e.Message}");
            return;
        }
        var parameters = stream.Elements("Parameter").ToDictionary(p => p.Attribute("name")!.Value, p => p.Attribute("value")!.Value);
        await call.RunAsync(socket, parameters, ct);
    }
}

/// <summary>One simulated call: its Twilio-side state while it runs, then what the caller experienced.</summary>
internal sealed class SimulatedCall : ISimPaced, ISimLiveCall
{
    private static readonly byte[] SilenceFrame = Encoding.ASCII.GetBytes(Convert.ToBase64String(SimAudio.Silence(20)));

    private readonly CallerScript script;
    private readonly SimPacer pacer;
    private readonly Func<LatencyHistogram?> endToEnd;
    private readonly Action? frameSent;
    private readonly Lock gate = new();
    private readonly Stopwatch clock = Stopwatch.StartNew();
    private readonly List<(long End, byte[] Name)> marks = [];
    private byte[]? markPrefix;
    private SocketSender? output;
    private byte[]? mediaPrefix;
    private long streamStart;
    private long framesSent;
    private long sequence;

    // Caller audio being played into the stream.
    private byte[][]? clip;
    private int clipFrame;
    private TaskCompletionSource? clipDone;
    private long lastSpeechSent;
    private bool awaitingAnswer;

    // Assistant audio received and played.
    private long queuedBytes;
    private long playedBytes;
    private long lastPlayTick;
    private long lastAudioAt;
    private long heardSinceStep;

    public SimulatedCall(string callSid, CallerScript script, SimPacer pacer, Func<LatencyHistogram?> endToEnd, Action? frameSent = null)
    {
        this.frameSent = frameSent;
        CallSid = callSid;
        StreamSid = $"MZ{Guid.NewGuid():N}";
        this.script = script;
        this.pacer = pacer;
        this.endToEnd = endToEnd;
    }

    public string CallSid { get; }
    public string StreamSid { get; }

    /// <summary>Numbers a <c>&lt;Dial&gt;&lt;Number&gt;</c> put the caller through to.</summary>
    public List<string> Dialled { get; } = [];

    /// <summary>Conferences the caller waited in.</summary>
    public List<string> Conferences { get; } = [];

    /// <summary>The agent's CallSid once one was joined to the caller's conference.</summary>
    public string? JoinedBy { get; private set; }

    /// <summary>Media streams run (a caller back from a failed transfer runs a second one).</summary>
    public int Streams { get; private set; }

    private readonly Queue<XElement> redirects = new();
    private bool completed;
    private CancellationTokenSource? streamCts;
    private TaskCompletionSource<XElement?>? conferenceWait;

    /// <summary>A REST update: the TwiML to run next; a running stream stops (<c>stop</c>, then the socket closes).</summary>
    public bool Redirect(XElement twiml)
    {
        CancellationTokenSource? stopStream;
        TaskCompletionSource<XElement?>? waiting;
        lock (gate)
        {
            if (completed)
            {
                return false;
            }
            redirects.Enqueue(twiml);
            stopStream = streamCts;
            waiting = conferenceWait;
        }
        Log("REST update: new TwiML " + twiml.ToString(SaveOptions.DisableFormatting));
        if (stopStream is not null && output is not null)
        {
            Send(System.Text.Json.JsonSerializer.Serialize(new { @event = "stop", sequenceNumber = NextSequence(), streamSid = StreamSid, stop = new { accountSid = "AC" + new string('0', 31) + "1", callSid = CallSid } }));
            stopStream.Cancel();
        }
        if (waiting is not null && TakeRedirect() is { } next)
        {
            waiting.TrySetResult(next);
        }
        return true;
    }

    /// <summary>The agent joined the conference the caller waits in.</summary>
    public void AgentJoined(string agentCallSid)
    {
        Log($"agent {agentCallSid} joined");
        lock (gate)
        {
            JoinedBy = agentCallSid;
            conferenceWait?.TrySetResult(null);
        }
    }

    /// <summary>The TwiML of a REST update not yet run, once.</summary>
    public XElement? TakeRedirect()
    {
        lock (gate)
        {
            return redirects.TryDequeue(out var next) ? next : null;
        }
    }

    /// <summary>On hold: null once an agent joins (or after <paramref name="timeoutMs"/>), else the TwiML of a REST update.</summary>
    public async Task<XElement?> WaitInConferenceAsync(int timeoutMs, CancellationToken ct)
    {
        var wait = new TaskCompletionSource<XElement?>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (gate)
        {
            if (redirects.TryDequeue(out var next))
            {
                return next;
            }
            if (JoinedBy is not null)
            {
                return null;
            }
            conferenceWait = wait;
        }
        try
        {
            return await wait.Task.WaitAsync(TimeSpan.FromMilliseconds(timeoutMs), ct);
        }
        catch (TimeoutException)
        {
            return null;
        }
        finally
        {
            lock (gate)
            {
                conferenceWait = null;
            }
        }
    }

    /// <summary>The call is over: later REST updates answer 21220.</summary>
    public void Complete()
    {
        lock (gate)
        {
            completed = true;
        }
    }

    public string? TwiML { get; set; }
    public string? ActionTwiML { get; set; }
    public List<string> Said { get; } = [];
    public List<string> Timeline { get; } = [];
    public bool CallerHungUp { get; private set; }
    public bool ServerEnded { get; private set; }
    public bool LeftMessage { get; set; }
    public TimeSpan Elapsed => clock.Elapsed;

    /// <summary>Stream start → first assistant audio received, in ms.</summary>
    public double? GreetingMs { get; private set; }

    /// <summary>For each caller utterance: its last frame sent → first assistant audio received after it, in ms.</summary>
    public List<double> TurnLatenciesMs { get; } = [];

    public int MarksEchoed { get; private set; }
    public int Clears { get; private set; }
    public long AudioBytesHeard => Interlocked.Read(ref playedBytes);
    public long FramesSent => Interlocked.Read(ref framesSent);

    public void Log(string what)
    {
        lock (Timeline)
        {
            Timeline.Add($"{clock.Elapsed.TotalSeconds,7:0.000}s  {what}");
        }
    }

    public async Task RunAsync(ClientWebSocket socket, IReadOnlyDictionary<string, string> parameters, CancellationToken outer)
    {
        using var stream = CancellationTokenSource.CreateLinkedTokenSource(outer);
        var ct = stream.Token;
        lock (gate)
        {
            // A second stream (the caller back from a transfer) starts its own pacing and playback.
            streamCts = stream;
            framesSent = 0;
            queuedBytes = playedBytes = 0;
            marks.Clear();
            clip = null;
            Streams++;
        }
        output = new SocketSender(4096, null);
        var sending = output.RunAsync(socket, outer);
        mediaPrefix = Encoding.UTF8.GetBytes("{\"event\":\"media\",\"streamSid\":\"" + StreamSid + "\",\"sequenceNumber\":\"");
        markPrefix = Encoding.UTF8.GetBytes("{\"event\":\"mark\",\"streamSid\":\"" + StreamSid + "\",\"sequenceNumber\":\"");
        Send(System.Text.Json.JsonSerializer.Serialize(new { @event = "connected", protocol = "Call", version = "1.0.0" }));
        Send(System.Text.Json.JsonSerializer.Serialize(new
        {
            @event = "start",
            sequenceNumber = NextSequence(),
            start = new
            {
                accountSid = "AC" + new string('0', 31) + "1",
                streamSid = StreamSid,
                callSid = CallSid,
                tracks = new[] { "inbound" },
                mediaFormat = new { encoding = "audio/x-mulaw", sampleRate = 8000, channels = 1 },
                customParameters = parameters,
            },
            streamSid = StreamSid,
        }));
        lock (gate)
        {
            streamStart = Stopwatch.GetTimestamp();
            lastPlayTick = streamStart;
        }
        Log("stream started");
        pacer.Add(this);
        var receiving = ReceiveAsync(socket, outer);
        try
        {
            await RunStepsAsync(socket, receiving, ct);
        }
        catch (OperationCanceledException) when (!outer.IsCancellationRequested)
        {
            Log("stream stopped by a REST update");
        }
        finally
        {
            lock (gate)
            {
                streamCts = null;
            }
            pacer.Remove(this);
            output.Complete();
            await sending;
            if ((CallerHungUp || stream.IsCancellationRequested) && socket.State == WebSocketState.Open)
            {
                try
                {
                    using var timeout = new CancellationTokenSource(2000);
                    await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "hangup", timeout.Token);
                }
                catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException)
                {
                }
            }
            using var wait = new CancellationTokenSource(5000);
            await receiving.WaitAsync(wait.Token).ContinueWith(_ => { }, TaskScheduler.Default);
            if (socket.State != WebSocketState.Closed)
            {
                socket.Abort();
            }
        }
    }

    private int nextStep;

    private async Task RunStepsAsync(ClientWebSocket socket, Task receiving, CancellationToken ct)
    {
        // Steps carry on across streams: a caller back from a failed transfer goes on where it was.
        for (; nextStep < script.Steps.Count; nextStep++)
        {
            var step = script.Steps[nextStep];
            ct.ThrowIfCancellationRequested();
            if (receiving.IsCompleted)
            {
                Log("the server ended the stream");
                return;
            }
            if (step.Listen)
            {
                await ListenAsync(receiving, ct);
            }
            else if (step.Say is { } source)
            {
                if (step.InterruptAfterMs is { } after)
                {
                    await WaitUntilAsync(() => IsAssistantSpeaking, receiving, script.ListenTimeoutMs, ct);
                    await Task.Delay(after, ct);
                    Log($"caller interrupts: \"{step.Text ?? source}\"");
                }
                else
                {
                    Log($"caller says: \"{step.Text ?? Path.GetFileName(source)}\"");
                }
                await SayAsync(source, ct);
            }
            else if (step.Dtmf is { } keys)
            {
                foreach (var key in keys)
                {
                    Log($"caller presses {key}");
                    Send(System.Text.Json.JsonSerializer.Serialize(new { @event = "dtmf", streamSid = StreamSid, sequenceNumber = NextSequence(), dtmf = new { track = "inbound_track", digit = key.ToString() } }));
                    await Task.Delay(150, ct);
                }
            }
            else if (step.Raw is { } raw)
            {
                Log($"caller's side sends {step.Repeat} raw frame(s)");
                for (var i = 0; i < step.Repeat; i++)
                {
                    Send(raw);
                }
            }
            else if (step.PauseMs is { } pause)
            {
                await Task.Delay(pause, ct);
            }
            else if (step.Hangup)
            {
                Log("caller hangs up");
                CallerHungUp = true;
                Send(System.Text.Json.JsonSerializer.Serialize(new { @event = "stop", sequenceNumber = NextSequence(), streamSid = StreamSid, stop = new { accountSid = "AC" + new string('0', 31) + "1", callSid = CallSid } }));
                return;
            }
            else if (step.WaitForHangup)
            {
                using var timeout = new CancellationTokenSource(script.ListenTimeoutMs);
                await receiving.WaitAsync(CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token).Token).ContinueWith(_ => { }, TaskScheduler.Default);
                if (receiving.IsCompleted)
                {
                    Log("the assistant ended the call");
                    return;
                }
                Log("timed out waiting for the assistant to hang up");
                break;
            }
        }
        ct.ThrowIfCancellationRequested();
        if (!receiving.IsCompleted)
        {
            // The script is over and nobody hung up: the caller does.
            Log("caller hangs up");
            CallerHungUp = true;
            Send(System.Text.Json.JsonSerializer.Serialize(new { @event = "stop", sequenceNumber = NextSequence(), streamSid = StreamSid, stop = new { callSid = CallSid } }));
        }
    }

    private bool IsAssistantSpeaking
    {
        get
        {
            lock (gate)
            {
                return queuedBytes > playedBytes;
            }
        }
    }

    /// <summary>Waits until the assistant has said something since the last step and then gone quiet for <see cref="CallerScript.ListenQuietMs"/>.</summary>
    private async Task ListenAsync(Task receiving, CancellationToken ct)
    {
        var quiet = Stopwatch.Frequency * script.ListenQuietMs / 1000;
        await WaitUntilAsync(() =>
        {
            lock (gate)
            {
                return heardSinceStep > 0 && queuedBytes <= playedBytes && Stopwatch.GetTimestamp() - lastAudioAt >= quiet;
            }
        }, receiving, script.ListenTimeoutMs, ct);
        lock (gate)
        {
            heardSinceStep = 0;
        }
    }

    private async Task WaitUntilAsync(Func<bool> condition, Task receiving, int timeoutMs, CancellationToken ct)
    {
        var deadline = Stopwatch.GetTimestamp() + (timeoutMs * Stopwatch.Frequency / 1000);
        while (!condition() && !receiving.IsCompleted && Stopwatch.GetTimestamp() < deadline)
        {
            await Task.Delay(20, ct);
        }
    }

    private Task SayAsync(string source, CancellationToken ct)
    {
        var audio = SimAudio.Load(source);
        var frames = FramesOf(source, audio);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (gate)
        {
            clip = frames;
            clipFrame = 0;
            clipDone = done;
            heardSinceStep = 0;
        }
        return done.Task.WaitAsync(ct);
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte[][]> FrameCache = new();

    private static byte[][] FramesOf(string source, byte[] audio) => FrameCache.GetOrAdd(source, _ =>
    {
        var frames = new byte[(audio.Length + SimAudio.FrameBytes - 1) / SimAudio.FrameBytes][];
        for (var i = 0; i < frames.Length; i++)
        {
            var frame = SimAudio.Silence(20);
            audio.AsSpan(i * SimAudio.FrameBytes, Math.Min(SimAudio.FrameBytes, audio.Length - (i * SimAudio.FrameBytes))).CopyTo(frame);
            frames[i] = Encoding.ASCII.GetBytes(Convert.ToBase64String(frame));
        }
        return frames;
    });

    /// <summary>Every tick: the caller's frames that are due (one per 20 ms since the start), and playback of the assistant's audio.</summary>
    public void Tick(long now)
    {
        lock (gate)
        {
            if (output is null || mediaPrefix is null)
            {
                return;
            }
            var due = (now - streamStart) * 50 / Stopwatch.Frequency;
            while (framesSent < due)
            {
                byte[] payload;
                if (clip is not null && clipFrame < clip.Length)
                {
                    payload = clip[clipFrame++];
                    if (clipFrame == clip.Length)
                    {
                        clip = null;
                        lastSpeechSent = now;
                        awaitingAnswer = true;
                        heardSinceStep = 0; // a following "listen" waits for the answer to this
                        clipDone?.TrySetResult();
                    }
                }
                else
                {
                    payload = SilenceFrame;
                }
                SendMedia(payload);
            }
            // Playback: 8 bytes per ms of wall time while audio is queued.
            var elapsedBytes = (now - lastPlayTick) * 8000 / Stopwatch.Frequency;
            lastPlayTick = now;
            if (queuedBytes > playedBytes)
            {
                playedBytes = Math.Min(queuedBytes, playedBytes + elapsedBytes);
                lastAudioAt = now;
            }
            EchoPlayedMarks();
        }
    }

    private void SendMedia(ReadOnlySpan<byte> payload)
    {
        var n = ++framesSent;
        var seq = Interlocked.Increment(ref sequence);
        // {"event":"media","streamSid":"MZ…","sequenceNumber":"N","media":{"track":"inbound","chunk":"C","timestamp":"T","payload":"…"}}
        var buffer = ArrayPool<byte>.Shared.Rent(mediaPrefix!.Length + payload.Length + 128);
        var span = buffer.AsSpan();
        mediaPrefix.CopyTo(span);
        var at = mediaPrefix.Length;
        Utf8Formatter.TryFormat(seq, span[at..], out var w);
        at += w;
        at += Copy("\",\"media\":{\"track\":\"inbound\",\"chunk\":\""u8, span[at..]);
        Utf8Formatter.TryFormat(n, span[at..], out w);
        at += w;
        at += Copy("\",\"timestamp\":\""u8, span[at..]);
        Utf8Formatter.TryFormat(n * 20, span[at..], out w);
        at += w;
        at += Copy("\",\"payload\":\""u8, span[at..]);
        at += Copy(payload, span[at..]);
        at += Copy("\"}}"u8, span[at..]);
        output!.TryEnqueue(new OutFrame(buffer, at));
        frameSent?.Invoke();
    }

    private static int Copy(ReadOnlySpan<byte> what, Span<byte> to)
    {
        what.CopyTo(to);
        return what.Length;
    }

    private static int Copy(byte[] what, Span<byte> to) => Copy(what.AsSpan(), to);

    private async Task ReceiveAsync(ClientWebSocket socket, CancellationToken ct)
    {
        using var reader = new MessageReader(16 * 1024, 8 * 1024 * 1024);
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var (outcome, message) = await reader.ReceiveAsync(socket, ct);
                if (outcome is ReceiveOutcome.Closed or ReceiveOutcome.TooBig)
                {
                    if (!CallerHungUp)
                    {
                        ServerEnded = true;
                        Log("the server closed the stream");
                        try
                        {
                            using var timeout = new CancellationTokenSource(1000);
                            await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
                        }
                        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException)
                        {
                        }
                    }
                    return;
                }
                if (outcome == ReceiveOutcome.Text)
                {
                    OnServerFrame(message.Span);
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or IOException && !ct.IsCancellationRequested)
        {
            // The connection dropped without a close handshake (RFC 6455 §7.1.1: a server that gives up waiting for the
            // client's close frame may just close TCP). The caller did not hang up, so the server ended the stream.
            if (!CallerHungUp)
            {
                ServerEnded = true;
                Log("the server dropped the stream");
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException)
        {
        }
    }

    private void OnServerFrame(ReadOnlySpan<byte> message)
    {
        var received = Stopwatch.GetTimestamp();
        TwilioFrame frame;
        try
        {
            frame = Wire.ReadTwilio(message);
        }
        catch (System.Text.Json.JsonException)
        {
            return; // Twilio ignores what it cannot read
        }
        lock (gate)
        {
            switch (frame.Event)
            {
                case TwilioEvent.Media:
                    if (endToEnd() is { } histogram && SimSession.ReadStamp(frame.Payload) is var stamp and > 0)
                    {
                        histogram.RecordTicks(received - stamp);
                    }
                    var bytes = frame.Payload.Length / 4 * 3;
                    if (queuedBytes <= playedBytes)
                    {
                        lastPlayTick = received; // playback starts now
                    }
                    queuedBytes += bytes;
                    heardSinceStep += bytes;
                    lastAudioAt = received;
                    if (GreetingMs is null)
                    {
                        GreetingMs = Stopwatch.GetElapsedTime(streamStart, received).TotalMilliseconds;
                        LogLocked($"first assistant audio after {GreetingMs:0} ms");
                    }
                    else if (awaitingAnswer)
                    {
                        var ms = Stopwatch.GetElapsedTime(lastSpeechSent, received).TotalMilliseconds;
                        TurnLatenciesMs.Add(ms);
                        LogLocked($"assistant answers {ms:0} ms after the caller's last word");
                    }
                    awaitingAnswer = false;
                    break;
                case TwilioEvent.Mark:
                    marks.Add((queuedBytes, frame.MarkName.ToArray()));
                    EchoPlayedMarks();
                    break;
                case TwilioEvent.Clear:
                    Clears++;
                    LogLocked($"clear: {(queuedBytes - playedBytes) / 8} ms of queued assistant audio dropped");
                    queuedBytes = playedBytes;
                    heardSinceStep = 0;
                    EchoPlayedMarks();
                    break;
            }
        }
    }

    /// <summary>Echoes the marks whose audio has played (all of them after a clear).</summary>
    private void EchoPlayedMarks()
    {
        var i = 0;
        for (; i < marks.Count && marks[i].End <= playedBytes; i++)
        {
            if (!script.EchoMarks)
            {
                continue; // played, never echoed
            }
            MarksEchoed++;
            // {"event":"mark","streamSid":"MZ…","sequenceNumber":"N","mark":{"name":"…"}}
            var name = marks[i].Name;
            var buffer = ArrayPool<byte>.Shared.Rent(markPrefix!.Length + name.Length + 64);
            var span = buffer.AsSpan();
            markPrefix.CopyTo(span);
            var at = markPrefix.Length;
            Utf8Formatter.TryFormat(Interlocked.Increment(ref sequence), span[at..], out var w);
            at += w;
            at += Copy("\",\"mark\":{\"name\":\""u8, span[at..]);
            at += Copy(name, span[at..]);
            at += Copy("\"}}"u8, span[at..]);
            output?.TryEnqueue(new OutFrame(buffer, at));
        }
        if (i > 0)
        {
            marks.RemoveRange(0, i);
        }
    }

    private void LogLocked(string what) => Log(what);

    private string NextSequence() => Interlocked.Increment(ref sequence).ToString(CultureInfo.InvariantCulture);

    private void Send(string json)
    {
        var bytes = Encoding.UTF8.GetByteCount(json);
        var buffer = ArrayPool<byte>.Shared.Rent(bytes);
        Encoding.UTF8.GetBytes(json, buffer);
        output?.TryEnqueue(new OutFrame(buffer, bytes));
    }
}
