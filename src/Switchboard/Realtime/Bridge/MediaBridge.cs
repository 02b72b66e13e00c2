using System.Buffers;
using System.Buffers.Text;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Switchboard.Calls;
using Switchboard.Platform.Database;
using Switchboard.Realtime.Audio;
using Switchboard.Twilio;

namespace Switchboard.Realtime.Bridge;

/// <summary>The singletons a bridge uses; one instance per node (and one for the start-up warm-up, <see cref="BridgeWarmup"/>).</summary>
internal sealed record BridgeServices(
    IOptions<RealtimeOptions> Realtime,
    IOptions<VoiceOptions> Voice,
    RealtimeConnector Connector,
    ITranscriptWriter Transcripts,
    VoiceMetrics Metrics,
    IVoiceCallRecorder Store,
    TimeProvider Clock,
    ILoggerFactory Logs);

/// <summary>
/// One native call: the Twilio media stream (twilio-media-streams.md) bridged to one realtime provider session
/// (openai-realtime.md), with all of its state here and nowhere else, so one call's failure never reaches another.
/// The caller's socket is a <see cref="MediaLeg"/>: Twilio's (μ-law 8 kHz), or the web widget's (PCM16 24 kHz in the same
/// framing, passed through; Switchboard.Widget.WidgetVoiceApi).
/// <list type="bullet">
/// <item>Audio: μ-law base64 is copied between the two protocols untouched when the provider accepts <c>audio/pcmu</c>;
/// otherwise it is transcoded to and from 24 kHz PCM16 (<see cref="AudioTranscoder"/>).</item>
/// <item>Each socket has one send loop (<see cref="SocketSender"/>); receive loops never wait on the network to send.</item>
/// <item>The greeting is requested as soon as both the stream's <c>start</c> and the provider session are ready.</item>
/// <item>Barge-in: on <c>input_audio_buffer.speech_started</c> while audio is playing, the assistant item is truncated at
/// what the caller heard (<see cref="PlaybackMarks"/>: Twilio <c>mark</c> echoes, interpolated in real time) and
/// Twilio's buffer is cleared.</item>
/// <item>Tools run through <see cref="ToolRunner"/> off the receive loop, with a spoken filler when slower than
/// <see cref="VoiceOptions.ToolFillerMs"/>, and a <c>response.create</c> after every output (<see cref="ResponseQueue"/>).</item>
/// <item>A dropped provider session (e.g. its time limit) is replaced and the <see cref="Conversation"/> replayed; caller
/// audio is buffered meanwhile. A provider unreachable at the start gives the caller the message-taking fallback.</item>
/// <item>Idle re-prompts, DTMF grouping, the maximum length and hang-up deadlines: <see cref="CallPolicy"/>, driven by
/// <see cref="BridgeTicker"/>; per-turn latency on the transcript: <see cref="TurnLatency"/>.</item>
/// </list>
/// The class is split by side: this file holds the call's life and the caller's socket, MediaBridge.Provider.cs the
/// provider session and its events, MediaBridge.Turns.cs responses, tools, timers and the transcript. Every mutable
/// field is guarded by <see cref="gate"/> unless it is only touched by one loop (noted where so).
/// </summary>
internal sealed partial class MediaBridge : IFrameObserver, IDisposable
{
    private readonly VoiceCallSetup setup;
    private readonly WebSocket twilio;
    private readonly BridgeServices services;
    private readonly RealtimeOptions realtime;
    private readonly VoiceOptions voice;
    private readonly ILogger logger;
    private readonly CancellationTokenSource lifetime;
    private readonly Lock gate = new();
    private readonly SocketSender twilioOut;
    private readonly List<Task> background = [];
    private readonly MediaLeg leg;
    private readonly DateTimeOffset acceptedAt;

    // The parts, each readable and tested alone.
    private readonly PlaybackMarks marks;
    private readonly TurnLatency latency = new();
    private readonly Conversation conversation = new();
    private readonly ResponseQueue responses = new();
    private readonly CallPolicy policy;
    private readonly ToolRunner tools;

    // Caller audio batched into one append (Twilio receive loop only).
    private readonly byte[]? inputBatch;
    private int inputBatchBytes;
    private int badFrames; // Twilio receive loop only

    // Twilio stream.
    private string? streamSid;
    private byte[]? mediaPrefix;
    private byte[]? markPrefix;
    private long startTimestamp;
    private DateTimeOffset startedAt;
    private bool started;
    private long lastFrameTimestamp = Stopwatch.GetTimestamp(); // the last complete frame (Volatile)

    // Provider session.
    private ProviderSession? provider;
    private bool ready;
    private bool transcode;
    private List<byte[]>? heldAudio = [];
    private int heldBytes;
    private int reconnects; // provider supervisor only
    private bool greeted;

    // The call as it runs.
    private bool callerSpeaking;
    private int transcriptionsPending; // items the provider committed whose transcription has not come back
    private TaskCompletionSource? transcriptionsFlushed; // set while a hang-up waits for them

    /// <summary>How long a hang-up waits for the transcription of the caller's last words (a realtime model's input transcription takes ~0.3–1 s).</summary>
    private static readonly TimeSpan HangupTranscriptWait = TimeSpan.FromSeconds(3);
    private int toolsRunning;
    private int turnSeq;
    private LeadDraft? captured;
    private string? endedReason;
    private volatile bool ending;
    private Task? closing;
    private Task twilioSend = Task.CompletedTask;

    /// <param name="setup">The call, loaded before the socket was accepted.</param>
    /// <param name="twilio">The accepted Twilio media-stream socket.</param>
    /// <param name="services">The node's shared services.</param>
    /// <param name="abort">Cancelled when the node gives up draining its calls at shutdown (not when shutdown starts).</param>
    /// <param name="leg">What the caller's socket carries; <see cref="MediaLeg.Twilio"/> when null.</param>
    public MediaBridge(VoiceCallSetup setup, WebSocket twilio, BridgeServices services, CancellationToken abort, MediaLeg? leg = null)
    {
        this.leg = leg ?? MediaLeg.Twilio;
        this.setup = setup;
        turnSeq = setup.FirstTurnSeq; // a caller back from a failed transfer continues the call's transcript
        this.twilio = twilio;
        this.services = services;
        realtime = services.Realtime.Value;
        voice = services.Voice.Value;
        logger = services.Logs.CreateLogger<MediaBridge>();
        lifetime = CancellationTokenSource.CreateLinkedTokenSource(abort);
        twilioOut = new SocketSender(voice.SendQueueFrames, this);
        transcode = !this.leg.Pcm16PassThrough && realtime.AudioFormat == "pcm16";
        marks = new PlaybackMarks(voice.MarkEveryMs * this.leg.BytesPerMs);
        policy = new CallPolicy(voice, setup.MaxCallSeconds);
        tools = new ToolRunner((name, arguments, ct) => services.Store.InvokeToolAsync(setup, name, arguments, ct), voice.ToolFillerMs);
        acceptedAt = services.Clock.GetUtcNow();
        inputBatch = voice.InputBatchFrames > 1 && !this.leg.Pcm16PassThrough ? new byte[voice.InputBatchFrames * 160] : null;
    }

    public Guid CallId => setup.CallId;

    /// <summary>The stream has stopped (or is being closed): the bridge is finishing the call's post-call work.</summary>
    public bool IsEnding => ending;

    /// <summary>Bridges the call until the stream stops, then runs the post-call work. Never throws for the call's own failures.</summary>
    public async Task RunAsync()
    {
        using var scope = logger.BeginScope(new Dictionary<string, object?> { ["TenantId"] = setup.TenantId, ["CallId"] = setup.CallId, ["CallSid"] = setup.CallSid });
        services.Metrics.CallStarted();
        twilioSend = twilioOut.RunAsync(twilio, lifetime.Token);
        var providerTask = Task.Run(RunProviderAsync);
        try
        {
            await ReceiveTwilioAsync();
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException)
        {
            Ending("stream-error");
        }
        catch (Exception e)
        {
            logger.LogError(e, "Media bridge failed");
            Ending("bridge-error");
        }
        finally
        {
            Ending("caller-hangup");
            await ShutdownAsync(providerTask);
            services.Metrics.CallEnded();
        }
    }

    // ───────────────────────────── Twilio side ─────────────────────────────

    private async Task ReceiveTwilioAsync()
    {
        using var reader = new MessageReader(1024, voice.MaxFrameBytes);
        while (!lifetime.IsCancellationRequested)
        {
            var (outcome, message) = await reader.ReceiveAsync(twilio, lifetime.Token);
            Volatile.Write(ref lastFrameTimestamp, Stopwatch.GetTimestamp());
            switch (outcome)
            {
                case ReceiveOutcome.Closed:
                    Ending("caller-hangup");
                    return;
                case ReceiveOutcome.TooBig:
                    services.Metrics.BadFrame();
                    logger.LogWarning("Twilio frame over {Max} bytes: closing the stream", voice.MaxFrameBytes);
                    Ending("stream-error");
                    await CloseTwilioAsync(WebSocketCloseStatus.MessageTooBig);
                    return;
                case ReceiveOutcome.Binary:
                    continue; // Media Streams frames are text; binary is ignored (twilio-media-streams.md §7).
            }
            bool handled;
            try
            {
                handled = HandleTwilioFrame(message);
            }
            catch (Exception e) when (e is InvalidOperationException or KeyNotFoundException or FormatException or ArgumentException)
            {
                services.Metrics.BadFrame();
                handled = false;
            }
            if (!handled)
            {
                if (++badFrames > voice.MaxBadFrames)
                {
                    logger.LogWarning("{Count} malformed frames from Twilio: closing the stream", badFrames);
                    Ending("stream-error");
                    await CloseTwilioAsync(WebSocketCloseStatus.InvalidPayloadData);
                    return;
                }
            }
            if (ending && closing is null && endedReason == "caller-hangup")
            {
                return; // stop received
            }
        }
    }

    /// <summary>Handles one Twilio message; false when it is malformed.</summary>
    private bool HandleTwilioFrame(ReadOnlyMemory<byte> message)
    {
        TwilioFrame frame;
        try
        {
            frame = Wire.ReadTwilio(message.Span);
        }
        catch (JsonException)
        {
            services.Metrics.BadFrame();
            return false;
        }
        switch (frame.Event)
        {
            case TwilioEvent.Media:
                OnCallerAudio(frame.Payload);
                break;
            case TwilioEvent.Mark:
                OnMarkPlayed(frame.MarkName);
                break;
            case TwilioEvent.Dtmf:
                OnDigit(frame.Digit);
                break;
            case TwilioEvent.Start:
                return OnStart(message);
            case TwilioEvent.Stop:
                Ending("caller-hangup");
                break;
        }
        return true;
    }

    private bool OnStart(ReadOnlyMemory<byte> message)
    {
        string? sid, callSid;
        try
        {
            using var doc = JsonDocument.Parse(message);
            var root = doc.RootElement;
            var start = root.TryGetProperty("start", out var s) && s.ValueKind == JsonValueKind.Object ? s : default;
            sid = Str(start, "streamSid") ?? Str(root, "streamSid");
            callSid = Str(start, "callSid");
        }
        catch (JsonException)
        {
            services.Metrics.BadFrame();
            return false;
        }
        if (sid is null)
        {
            return false;
        }
        if (callSid is not null && callSid != setup.CallSid)
        {
            logger.LogWarning("Stream start for CallSid {Other} on a token issued for {CallSid}: closing", callSid, setup.CallSid);
            Ending("stream-mismatch");
            Track(CloseTwilioAsync(WebSocketCloseStatus.PolicyViolation));
            return true;
        }
        var now = services.Clock.GetUtcNow();
        lock (gate)
        {
            if (started)
            {
                return true;
            }
            started = true;
            streamSid = sid;
            mediaPrefix = Wire.TwilioMediaPrefix(sid);
            markPrefix = Wire.TwilioMarkPrefix(sid);
            startTimestamp = Stopwatch.GetTimestamp();
            startedAt = now;
            policy.Activity(now);
        }
        // Database work never runs on a receive loop (SQLite's "async" calls complete synchronously).
        Track(Task.Run(() => services.Store.MarkStartedAsync(setup, now, lifetime.Token)));
        TryGreet();
        return true;
    }

    private void OnCallerAudio(ReadOnlySpan<byte> base64)
    {
        if (base64.IsEmpty)
        {
            return;
        }
        ProviderSession? session;
        lock (gate)
        {
            if (!ready)
            {
                Hold(base64);
                return;
            }
            session = provider;
            if (session is null)
            {
                return;
            }
            if (session.InputStartTimestamp == 0)
            {
                session.InputStartTimestamp = Stopwatch.GetTimestamp();
            }
        }
        if (transcode)
        {
            EnqueueToProvider(session, AudioTranscoder.ToProvider(base64, session.Up ??= new Resampler8kTo24k()));
        }
        else if (inputBatch is null)
        {
            EnqueueToProvider(session, Wire.Append(base64)); // μ-law passes through as it came
        }
        else if (Base64.DecodeFromUtf8(base64, inputBatch.AsSpan(inputBatchBytes), out _, out var decoded) == OperationStatus.Done)
        {
            // Several 20 ms frames per append: decoded into one buffer, encoded once when it is full.
            inputBatchBytes += decoded;
            if (inputBatchBytes + 160 > inputBatch.Length)
            {
                FlushCallerAudio(session);
            }
        }
        else
        {
            // An unusual frame (larger than the batch, or not base64): what is batched goes first, then the frame as it is.
            FlushCallerAudio(session);
            EnqueueToProvider(session, Wire.Append(base64));
        }
    }

    private void FlushCallerAudio(ProviderSession session)
    {
        if (inputBatchBytes > 0)
        {
            EnqueueToProvider(session, Wire.AppendAudio(inputBatch.AsSpan(0, inputBatchBytes)));
            inputBatchBytes = 0;
        }
    }

    private void EnqueueToProvider(ProviderSession session, OutFrame frame)
    {
        if (frame.Buffer is null)
        {
            return;
        }
        if (session.Out.TryEnqueue(frame))
        {
            services.Metrics.FrameToProvider();
        }
        else if (!ending)
        {
            services.Metrics.QueueOverflow();
            logger.LogWarning("The provider is not reading: its session is dropped");
            session.Abort();
        }
    }

    /// <summary>Keeps caller audio while the provider session is not ready (start-up, reconnection), up to the configured length.</summary>
    private void Hold(ReadOnlySpan<byte> base64)
    {
        var limit = voice.ReconnectBufferMs * leg.BytesPerMs * 4 / 3;
        if (heldAudio is null || heldBytes + base64.Length > limit)
        {
            return;
        }
        heldAudio.Add(base64.ToArray());
        heldBytes += base64.Length;
    }

    private void OnMarkPlayed(ReadOnlySpan<byte> name)
    {
        if (!Utf8Parser.TryParse(name, out long seq, out var used) || used != name.Length)
        {
            return; // not one of ours, or a malformed mark: ignored
        }
        var now = Stopwatch.GetTimestamp();
        lock (gate)
        {
            marks.OnEchoed(seq, now);
            if (marks.Outstanding == 0 && !responses.Active)
            {
                policy.Activity(services.Clock.GetUtcNow());
                CheckHangup();
            }
        }
    }

    private void OnDigit(ReadOnlySpan<byte> digit)
    {
        if (digit.IsEmpty || digit.Length > 2)
        {
            return;
        }
        lock (gate)
        {
            if (policy.AddDigit(digit, services.Clock.GetUtcNow()) is { } text)
            {
                SendDigits(text);
            }
        }
    }

    /// <summary>Grouped DTMF digits go to the model as a user message, and it answers (under <see cref="gate"/>).</summary>
    private void SendDigits(string text)
    {
        conversation.Add(new HistoryItem("user", text));
        AddTurn("user", text, null, null);
        SendToProvider(RealtimeProtocol.Message("user", text));
        RequestResponse(ResponseKind.Dtmf);
    }

    // ───────────────────────────── Ending ─────────────────────────────

    private void Ending(string reason)
    {
        lock (gate)
        {
            endedReason ??= reason;
            ending = true;
        }
    }

    /// <summary>Ends the stream from our side: Twilio then requests the <c>&lt;Connect action&gt;</c>, which hangs up.</summary>
    private void CloseTwilio()
    {
        if (closing is not null)
        {
            return;
        }
        Ending(endedReason ?? "assistant-hangup");
        closing = CloseTwilioAsync(WebSocketCloseStatus.NormalClosure);
    }

    private async Task CloseTwilioAsync(WebSocketCloseStatus status)
    {
        await Task.Yield(); // never inside the caller's lock
        twilioOut.Complete();
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await twilioSend.WaitAsync(timeout.Token); // what is queued (the goodbye) goes first
            await twilio.CloseOutputAsync(status, null, timeout.Token);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException or IOException or TimeoutException)
        {
        }
        // Twilio answers the close; if it does not within 2 s, stop waiting for it.
        lifetime.CancelAfter(TimeSpan.FromSeconds(2));
    }

    private async Task ShutdownAsync(Task providerTask)
    {
        var session = provider;
        if (session is not null)
        {
            await FlushCallerSpeechAsync(session);
            session.Out.Complete();
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
                await session.SendTask.WaitAsync(timeout.Token);
                await session.Socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "call ended", timeout.Token);
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException or IOException or TimeoutException)
            {
            }
        }
        lifetime.CancelAfter(TimeSpan.FromSeconds(3));
        Task[] rest;
        lock (gate)
        {
            rest = [.. background];
        }
        await Task.WhenAll(rest).ContinueWith(_ => { }, TaskScheduler.Default);
        twilioOut.Complete();
        await twilioSend;
        await providerTask.ContinueWith(_ => { }, TaskScheduler.Default);
        if (closing is not null)
        {
            await closing;
        }
        else if (twilio.State is WebSocketState.Open or WebSocketState.CloseReceived)
        {
            // The caller hung up (stop): close our side cleanly rather than drop the connection.
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
                await twilio.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException or IOException)
            {
            }
        }
        if (provider is { } last)
        {
            await DisposeSessionAsync(last);
        }

        string reason;
        double? greeting;
        LeadDraft? lead;
        lock (gate)
        {
            StoreInterruptedText();
            reason = endedReason ?? "caller-hangup";
            greeting = latency.GreetingMs;
            lead = captured;
        }
        await services.Transcripts.FlushAsync();
        try
        {
            // The stored turns are the transcript: the bridge keeps no second copy of the conversation.
            await services.Store.FinishAsync(setup, reason, started ? startedAt : null, greeting, lead, CancellationToken.None);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            logger.Log(ExpectedFailures.LevelOf(e), e, "Post-call work failed");
        }
    }

    private void Track(Task task)
    {
        lock (gate)
        {
            background.RemoveAll(t => t.IsCompleted);
            background.Add(task);
        }
    }

    private static string? Str(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    public void Dispose()
    {
        lifetime.Dispose();
        tools.Dispose();
    }
}
