using System.Buffers;
using System.Buffers.Text;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Switchboard.Calls;
using Switchboard.Platform.Database;
using Switchboard.Realtime.Audio;
using Switchboard.Twilio;

namespace Switchboard.Realtime.Bridge;

/// <summary>The singletons a bridge uses; one instance per node.</summary>
internal sealed record BridgeServices(
    IOptions<RealtimeOptions> Realtime,
    IOptions<VoiceOptions> Voice,
    RealtimeConnector Connector,
    TranscriptSink Transcripts,
    VoiceMetrics Metrics,
    VoiceCallStore Store,
    TimeProvider Clock,
    ILoggerFactory Logs);

/// <summary>
/// One native call: the Twilio media stream (twilio-media-streams.md) bridged to one realtime provider session
/// (openai-realtime.md), with all of its state here and nowhere else, so one call's failure never reaches another.
/// The caller's socket is a <see cref="MediaLeg"/>: Twilio's (μ-law 8 kHz), or the web widget's (PCM16 24 kHz in the same
/// framing, passed through; Switchboard.Widget.WidgetVoiceApi).
/// <list type="bullet">
/// <item>Audio: μ-law base64 is copied between the two protocols untouched when the provider accepts <c>audio/pcmu</c>;
/// otherwise it is transcoded to and from 24 kHz PCM16 (<see cref="Resampler8kTo24k"/>, <see cref="Resampler24kTo8k"/>).</item>
/// <item>Each socket has one send loop (<see cref="SocketSender"/>); receive loops never wait on the network to send.</item>
/// <item>The greeting is requested as soon as both the stream's <c>start</c> and the provider session are ready.</item>
/// <item>Barge-in: on <c>input_audio_buffer.speech_started</c> while audio is playing, the assistant item is truncated at
/// what the caller heard (Twilio <c>mark</c> echoes, interpolated in real time) and Twilio's buffer is cleared.</item>
/// <item>Tools run through <see cref="Brain.ToolRegistry"/> off the receive loop, with a spoken filler when slower than
/// <see cref="VoiceOptions.ToolFillerMs"/>, and a <c>response.create</c> after every output.</item>
/// <item>A dropped provider session (e.g. its time limit) is replaced and the conversation replayed; caller audio is
/// buffered meanwhile. A provider unreachable at the start gives the caller the message-taking fallback.</item>
/// </list>
/// </summary>
internal sealed class MediaBridge : IFrameObserver, IDisposable
{
    private const int MarkRing = 64;

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
    private readonly int markEveryBytes;
    private readonly MediaLeg leg;

    // Caller audio batched into one append (Twilio receive loop only).
    private readonly byte[]? inputBatch;
    private int inputBatchBytes;

    // Twilio stream.
    private string? streamSid;
    private byte[]? mediaPrefix;
    private byte[]? markPrefix;
    private long startTimestamp;
    private DateTimeOffset startedAt;
    private bool started;
    private int badFrames;
    private readonly DateTimeOffset acceptedAt;

    // Provider session.
    private ProviderSession? provider;
    private bool ready;
    private bool transcode;
    private List<byte[]>? heldAudio = [];
    private int heldBytes;
    private int reconnects;
    private bool greeted;

    // Responses.
    private bool responseActive;
    private bool responseRequested;
    private long responseRequestedAt;
    private ResponseKind pending;
    private string? pendingReason;

    // The assistant item being played.
    private readonly byte[] itemId = new byte[128];
    private int itemIdLength;
    private readonly byte[] droppedItemId = new byte[128];
    private int droppedItemIdLength;
    private int itemGeneration;
    private long itemBytes;
    private long bytesSinceMark;
    private readonly long[] markSeq = new long[MarkRing];
    private readonly long[] markBytes = new long[MarkRing];
    private readonly int[] markGeneration = new int[MarkRing];
    private int markHead;
    private int markCount;
    private long markCounter;
    private long anchorBytes;
    private long anchorTimestamp;
    private long markProgressTimestamp; // Stopwatch: the last mark echo, or when the first outstanding mark was queued

    // Liveness of the Twilio socket (Stopwatch timestamp of the last complete frame).
    private long lastFrameTimestamp = Stopwatch.GetTimestamp();

    // Latency: caller end of speech → first provider audio → first frame to Twilio.
    private bool awaitingFirstAudio;
    private long endOfSpeechTimestamp;
    private long firstAudioTimestamp;
    private double? turnProviderMs;
    private double? turnBridgeMs;
    private bool turnBridgePending;
    private string? turnItemId;
    private double? greetingMs;

    // Conversation.
    private readonly List<HistoryItem> history = [];
    private readonly StringBuilder assistantText = new();
    private string? assistantTextItem;
    private int turnSeq;
    private LeadDraft? captured;

    // Timers and ending.
    private DateTimeOffset lastActivity;
    private bool callerSpeaking;
    private int reprompts;
    private int toolsRunning;
    private readonly SemaphoreSlim toolGate = new(1, 1);
    private readonly StringBuilder digits = new();
    private DateTimeOffset lastDigitAt;
    private bool hangupRequested;
    private DateTimeOffset hangupDeadline;
    private bool maxDurationHandled;
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
        this.twilio = twilio;
        this.services = services;
        realtime = services.Realtime.Value;
        voice = services.Voice.Value;
        logger = services.Logs.CreateLogger<MediaBridge>();
        lifetime = CancellationTokenSource.CreateLinkedTokenSource(abort);
        twilioOut = new SocketSender(voice.SendQueueFrames, this);
        transcode = !this.leg.Pcm16PassThrough && realtime.AudioFormat == "pcm16";
        markEveryBytes = voice.MarkEveryMs * this.leg.BytesPerMs;
        acceptedAt = services.Clock.GetUtcNow();
        inputBatch = voice.InputBatchFrames > 1 && !this.leg.Pcm16PassThrough ? new byte[voice.InputBatchFrames * 160] : null;
    }

    public Guid CallId => setup.CallId;

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
            lastActivity = now;
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
            EnqueueToProvider(session, TranscodeToProvider(base64, session));
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
            while (markCount > 0)
            {
                var i = (markHead - markCount + MarkRing) % MarkRing;
                if (markSeq[i] > seq)
                {
                    break;
                }
                if (markGeneration[i] == itemGeneration)
                {
                    anchorBytes = markBytes[i];
                }
                else
                {
                    anchorBytes = 0; // an earlier item finished: the current one starts playing now
                }
                anchorTimestamp = now;
                markProgressTimestamp = now;
                markCount--;
            }
            if (markCount == 0 && !responseActive)
            {
                lastActivity = services.Clock.GetUtcNow();
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
            digits.Append(Encoding.ASCII.GetString(digit));
            lastDigitAt = services.Clock.GetUtcNow();
            lastActivity = lastDigitAt;
            reprompts = 0;
            if (digit[0] == (byte)'#')
            {
                FlushDigits();
            }
        }
    }

    private void FlushDigits()
    {
        if (digits.Length == 0)
        {
            return;
        }
        var text = "[DTMF] The caller pressed: " + string.Join(' ', digits.ToString().ToCharArray());
        digits.Clear();
        AddHistory(new HistoryItem("user", text));
        AddTurn("user", text, null, null);
        SendToProvider(RealtimeProtocol.Message("user", text));
        RequestResponse(ResponseKind.Dtmf);
    }

    // ───────────────────────────── Provider side ─────────────────────────────

    private sealed class ProviderSession(ClientWebSocket socket, SocketSender output, int number)
    {
        public ClientWebSocket Socket { get; } = socket;
        public SocketSender Out { get; } = output;
        public int Number { get; } = number;
        public Task SendTask { get; set; } = Task.CompletedTask;
        public Task ReceiveTask { get; set; } = Task.CompletedTask;
        public TaskCompletionSource Handshake { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public long InputStartTimestamp { get; set; }
        public bool AskedPcm { get; set; }
        public Resampler8kTo24k? Up { get; set; }
        public Resampler24kTo8k? Down { get; set; }

        public void Abort()
        {
            try
            {
                Socket.Abort();
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }

    private async Task RunProviderAsync()
    {
        try
        {
            await SuperviseProviderAsync();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            logger.LogError(e, "Provider side of the bridge failed");
            await FailOverAsync("failed inside the bridge");
        }
    }

    private async Task SuperviseProviderAsync()
    {
        if (!await OpenSessionAsync(replay: false))
        {
            await FailOverAsync("could not be reached at the start of the call");
            return;
        }
        TryGreet();
        while (true)
        {
            var session = provider!;
            await session.ReceiveTask;
            if (ending)
            {
                return;
            }
            bool wasSpeaking;
            lock (gate)
            {
                ready = false;
                heldAudio = [];
                heldBytes = 0;
                wasSpeaking = responseActive || responseRequested;
                responseActive = false;
                responseRequested = false;
            }
            await DisposeSessionAsync(session);
            logger.LogInformation("Provider session {Number} ended mid-call: reconnecting and replaying {Items} items", session.Number, history.Count);
            var reopened = false;
            while (!ending && reconnects < realtime.MaxReconnects && !reopened)
            {
                reconnects++;
                reopened = await OpenSessionAsync(replay: true);
                if (!reopened)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(200 * reconnects), lifetime.Token).ContinueWith(_ => { }, TaskScheduler.Default);
                }
            }
            if (ending)
            {
                return;
            }
            if (!reopened)
            {
                await FailOverAsync("dropped and could not be reached again");
                return;
            }
            services.Metrics.Reconnected();
            if (wasSpeaking)
            {
                RequestResponse(ResponseKind.Continue);
            }
        }
    }

    /// <summary>Connects, configures and (after a drop) replays the conversation; true once the session is ready.</summary>
    private async Task<bool> OpenSessionAsync(bool replay)
    {
        ProviderSession? session = null;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(lifetime.Token);
            timeout.CancelAfter(realtime.ConnectTimeoutMs);
            var socket = await services.Connector.ConnectAsync(setup.ProviderUri, setup.ApiKey, setup.ApiKeyHeader, timeout.Token);
            session = new ProviderSession(socket, new SocketSender(voice.SendQueueFrames, null), reconnects + 1);
            session.SendTask = session.Out.RunAsync(socket, lifetime.Token);
            lock (gate)
            {
                provider = session;
            }
            session.AskedPcm = transcode || leg.Pcm16PassThrough;
            session.Out.TryEnqueue(RealtimeProtocol.SessionUpdate(setup, realtime, session.AskedPcm));
            session.ReceiveTask = Task.Run(() => ReceiveProviderAsync(session));
            await session.Handshake.Task.WaitAsync(timeout.Token);
            if (replay)
            {
                List<HistoryItem> items;
                lock (gate)
                {
                    items = [.. history];
                }
                foreach (var item in items)
                {
                    session.Out.TryEnqueue(item.Kind switch
                    {
                        "function_call" => RealtimeProtocol.FunctionCall(item.Name!, item.CallId!, item.Text ?? "{}"),
                        "function_call_output" => RealtimeProtocol.FunctionOutput(item.CallId!, item.Text ?? ""),
                        _ => RealtimeProtocol.Message(item.Kind, item.Text ?? ""),
                    });
                }
            }
            lock (gate)
            {
                if (transcode)
                {
                    session.Up = new Resampler8kTo24k();
                    session.Down = new Resampler24kTo8k();
                }
                if (heldAudio is { Count: > 0 } held)
                {
                    session.InputStartTimestamp = Stopwatch.GetTimestamp();
                    foreach (var chunk in held)
                    {
                        var frame = transcode ? TranscodeToProvider(chunk, session) : Wire.Append(chunk);
                        if (frame.Buffer is not null)
                        {
                            session.Out.TryEnqueue(frame);
                        }
                    }
                }
                heldAudio = null;
                heldBytes = 0;
                ready = true;
            }
            return true;
        }
        catch (Exception e) when (e is WebSocketException or HttpRequestException or OperationCanceledException or IOException or TimeoutException)
        {
            logger.LogWarning("Provider session could not be opened: {Error}", e.Message);
            if (session is not null)
            {
                await DisposeSessionAsync(session);
            }
            return false;
        }
    }

    private async Task DisposeSessionAsync(ProviderSession session)
    {
        session.Out.Complete();
        session.Abort();
        await session.SendTask;
        await session.ReceiveTask.ContinueWith(_ => { }, TaskScheduler.Default);
        session.Socket.Dispose();
    }

    private async Task ReceiveProviderAsync(ProviderSession session)
    {
        using var reader = new MessageReader(2048, voice.MaxFrameBytes);
        try
        {
            while (!lifetime.IsCancellationRequested)
            {
                var (outcome, message) = await reader.ReceiveAsync(session.Socket, lifetime.Token);
                if (outcome is ReceiveOutcome.Closed or ReceiveOutcome.TooBig)
                {
                    if (outcome == ReceiveOutcome.TooBig)
                    {
                        services.Metrics.BadFrame();
                    }
                    return;
                }
                if (outcome == ReceiveOutcome.Text)
                {
                    try
                    {
                        HandleProviderFrame(session, message, Stopwatch.GetTimestamp());
                    }
                    catch (Exception e) when (e is InvalidOperationException or KeyNotFoundException or FormatException or ArgumentException)
                    {
                        // An event of an unexpected shape: skipped, the call goes on.
                        services.Metrics.BadFrame();
                        logger.LogWarning("Provider event skipped: {Error}", e.Message);
                    }
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
        {
        }
        finally
        {
            session.Handshake.TrySetException(new WebSocketException("The provider closed the session."));
        }
    }

    private void HandleProviderFrame(ProviderSession session, ReadOnlyMemory<byte> message, long received)
    {
        ProviderFrame frame;
        try
        {
            frame = Wire.ReadProvider(message.Span);
        }
        catch (JsonException)
        {
            services.Metrics.BadFrame();
            return;
        }
        if (frame.Type.SequenceEqual(Wire.OutputAudioDelta) || frame.Type.SequenceEqual(Wire.BetaAudioDelta))
        {
            OnAssistantAudio(session, frame.ItemId, frame.Delta, received);
            return;
        }
        if (frame.Type.SequenceEqual(Wire.OutputTranscriptDelta) || frame.Type.SequenceEqual(Wire.BetaTranscriptDelta))
        {
            var item = Encoding.UTF8.GetString(frame.ItemId);
            var text = Encoding.UTF8.GetString(frame.Delta);
            lock (gate)
            {
                if (assistantTextItem != item)
                {
                    StoreInterruptedText();
                    assistantTextItem = item;
                }
                assistantText.Append(text);
            }
            return;
        }
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(message);
        }
        catch (JsonException)
        {
            services.Metrics.BadFrame();
            return;
        }
        using (doc)
        {
            HandleProviderEvent(session, Encoding.UTF8.GetString(frame.Type), doc.RootElement, received);
        }
    }

    private void HandleProviderEvent(ProviderSession session, string type, JsonElement e, long received)
    {
        switch (type)
        {
            case "session.updated":
                var format = e.TryGetProperty("session", out var s) && s.TryGetProperty("audio", out var a) && a.TryGetProperty("output", out var o)
                    && o.TryGetProperty("format", out var f) ? Str(f, "type") : null;
                lock (gate)
                {
                    // A provider that answers audio/pcm to our audio/pcmu gets transcoded audio.
                    transcode = !leg.Pcm16PassThrough && (format is "audio/pcm" || (format is null && session.AskedPcm));
                }
                session.Handshake.TrySetResult();
                break;
            case "error":
                OnProviderError(session, e);
                break;
            case "input_audio_buffer.speech_started":
                OnCallerSpeechStarted();
                break;
            case "input_audio_buffer.speech_stopped":
                var endMs = e.TryGetProperty("audio_end_ms", out var end) && end.TryGetInt64(out var ms) ? ms : -1;
                lock (gate)
                {
                    callerSpeaking = false;
                    lastActivity = services.Clock.GetUtcNow();
                    var at = endMs >= 0 && session.InputStartTimestamp != 0
                        ? session.InputStartTimestamp + (endMs * Stopwatch.Frequency / 1000) : received;
                    endOfSpeechTimestamp = Math.Min(at, received);
                    awaitingFirstAudio = true;
                }
                break;
            case "conversation.item.input_audio_transcription.completed":
                if (Str(e, "transcript") is { Length: > 0 } heard)
                {
                    lock (gate)
                    {
                        var text = heard.Trim();
                        AddHistory(new HistoryItem("user", text));
                        AddTurn("user", text, null, null);
                    }
                }
                break;
            case "response.created":
                lock (gate)
                {
                    responseActive = true;
                    responseRequested = false;
                }
                break;
            case "response.done":
                lock (gate)
                {
                    responseActive = false;
                    StoreInterruptedText();
                    if (pending != ResponseKind.None)
                    {
                        var next = pending;
                        pending = ResponseKind.None;
                        RequestResponse(next, pendingReason);
                    }
                    CheckHangup();
                }
                break;
            case "response.output_audio.done" or "response.audio.done":
                lock (gate)
                {
                    SendMark();
                }
                break;
            case "response.output_audio_transcript.done" or "response.audio_transcript.done":
                if (Str(e, "transcript") is { } said)
                {
                    var item = Str(e, "item_id");
                    lock (gate)
                    {
                        if (assistantTextItem == item)
                        {
                            assistantText.Clear();
                            assistantTextItem = null;
                        }
                        AddAssistantTurn(said, item);
                    }
                }
                break;
            case "response.function_call_arguments.done":
                if (Str(e, "name") is { } name && Str(e, "call_id") is { } callId)
                {
                    StartTool(name, callId, Str(e, "arguments") ?? "{}");
                }
                break;
        }
    }

    private void OnProviderError(ProviderSession session, JsonElement e)
    {
        var error = e.TryGetProperty("error", out var x) ? x : e;
        var code = Str(error, "code");
        var message = Str(error, "message");
        var param = Str(error, "param");
        if (code == "session_expired")
        {
            logger.LogInformation("Provider session {Number} reached its time limit", session.Number);
            return;
        }
        if (!session.Handshake.Task.IsCompleted && !session.AskedPcm && !leg.Pcm16PassThrough && realtime.AudioFormat == "auto"
            && ((param?.Contains("format", StringComparison.OrdinalIgnoreCase) ?? false) || (message?.Contains("pcmu", StringComparison.OrdinalIgnoreCase) ?? false)))
        {
            // The provider refuses μ-law: ask for 24 kHz PCM16 and transcode.
            logger.LogInformation("Provider refused audio/pcmu ({Message}): transcoding to 24 kHz PCM16", message);
            lock (gate)
            {
                transcode = true;
            }
            session.AskedPcm = true;
            session.Out.TryEnqueue(RealtimeProtocol.SessionUpdate(setup, realtime, transcode: true));
            return;
        }
        if (code is "conversation_already_has_active_response")
        {
            lock (gate)
            {
                responseRequested = false;
            }
        }
        logger.LogWarning("Provider error {Code}: {Message}", code, message);
    }

    private void OnCallerSpeechStarted()
    {
        var now = Stopwatch.GetTimestamp();
        lock (gate)
        {
            callerSpeaking = true;
            lastActivity = services.Clock.GetUtcNow();
            reprompts = 0;
            if (markCount == 0 || itemIdLength == 0 || streamSid is null)
            {
                return; // nothing is playing: not a barge-in
            }
            // What the caller heard of the current item: the last echoed mark, plus real time since (audio plays at the leg's bytes/ms).
            var playingCurrent = markGeneration[(markHead - markCount + MarkRing) % MarkRing] == itemGeneration || anchorBytes > 0;
            var heard = playingCurrent ? anchorBytes + ((now - anchorTimestamp) * 1000 * leg.BytesPerMs / Stopwatch.Frequency) : 0;
            heard = Math.Clamp(heard, 0, itemBytes);
            var item = Encoding.UTF8.GetString(itemId, 0, itemIdLength);
            SendToProvider(RealtimeProtocol.Truncate(item, heard / leg.BytesPerMs));
            twilioOut.TryEnqueue(RealtimeProtocol.TwilioClear(streamSid));
            itemId.AsSpan(0, itemIdLength).CopyTo(droppedItemId);
            droppedItemIdLength = itemIdLength;
            itemIdLength = 0;
            markCount = 0;
            StoreInterruptedText();
            logger.LogDebug("Barge-in: item {Item} truncated at {Ms} ms", item, heard / leg.BytesPerMs);
        }
    }

    private void OnAssistantAudio(ProviderSession session, ReadOnlySpan<byte> item, ReadOnlySpan<byte> delta, long received)
    {
        if (delta.IsEmpty)
        {
            return;
        }
        lock (gate)
        {
            if (mediaPrefix is null || (droppedItemIdLength > 0 && item.SequenceEqual(droppedItemId.AsSpan(0, droppedItemIdLength))))
            {
                return; // no stream yet, or the rest of an item the caller interrupted
            }
            var kind = FrameKind.Media;
            if (itemIdLength == 0 || !item.SequenceEqual(itemId.AsSpan(0, itemIdLength)))
            {
                kind = FrameKind.FirstMedia;
                if (bytesSinceMark > 0)
                {
                    SendMark();
                }
                var length = Math.Min(item.Length, itemId.Length);
                item[..length].CopyTo(itemId);
                itemIdLength = length;
                itemGeneration++;
                itemBytes = 0;
                bytesSinceMark = 0;
                anchorBytes = 0;
                anchorTimestamp = received;
                if (awaitingFirstAudio)
                {
                    awaitingFirstAudio = false;
                    turnProviderMs = Stopwatch.GetElapsedTime(endOfSpeechTimestamp, received).TotalMilliseconds;
                    services.Metrics.ProviderTurnLatency.RecordTicks(received - endOfSpeechTimestamp);
                }
                else
                {
                    turnProviderMs = null;
                }
                turnItemId = Encoding.UTF8.GetString(item);
                turnBridgeMs = null;
                turnBridgePending = true;
                firstAudioTimestamp = received;
            }
            OutFrame frame;
            long audioBytes;
            if (transcode)
            {
                frame = TranscodeToTwilio(delta, session, kind, received, out audioBytes);
                if (frame.Buffer is null)
                {
                    return;
                }
            }
            else
            {
                frame = Wire.TwilioMedia(mediaPrefix, delta, kind, received);
                audioBytes = Base64DecodedLength(delta);
            }
            if (!twilioOut.TryEnqueue(frame))
            {
                services.Metrics.QueueOverflow();
                Ending("stream-stuck");
                lifetime.Cancel();
                return;
            }
            itemBytes += audioBytes;
            bytesSinceMark += audioBytes;
            if (bytesSinceMark >= markEveryBytes)
            {
                SendMark();
            }
        }
    }

    /// <summary>Queues a mark after the audio sent so far (under <see cref="gate"/>); its echo says that audio has played.</summary>
    private void SendMark()
    {
        if (markPrefix is null || bytesSinceMark == 0 || markCount == MarkRing || itemIdLength == 0)
        {
            return;
        }
        var seq = ++markCounter;
        var i = markHead;
        markSeq[i] = seq;
        markBytes[i] = itemBytes;
        markGeneration[i] = itemGeneration;
        markHead = (markHead + 1) % MarkRing;
        if (markCount++ == 0)
        {
            markProgressTimestamp = Stopwatch.GetTimestamp();
        }
        bytesSinceMark = 0;
        twilioOut.TryEnqueue(Wire.TwilioMark(markPrefix, seq));
    }

    void IFrameObserver.OnFrameSent(in OutFrame frame, long sentTimestamp)
    {
        services.Metrics.BridgeLatency.RecordTicks(sentTimestamp - frame.ProviderTimestamp);
        services.Metrics.FrameToTwilio();
        if (frame.Kind != FrameKind.FirstMedia)
        {
            return;
        }
        lock (gate)
        {
            if (greetingMs is null && greeted)
            {
                greetingMs = Stopwatch.GetElapsedTime(startTimestamp, sentTimestamp).TotalMilliseconds;
                services.Metrics.GreetingLatency.RecordTicks(sentTimestamp - startTimestamp);
            }
            if (turnBridgePending && frame.ProviderTimestamp == firstAudioTimestamp)
            {
                turnBridgeMs = Stopwatch.GetElapsedTime(firstAudioTimestamp, sentTimestamp).TotalMilliseconds;
                turnBridgePending = false;
            }
        }
    }

    // ───────────────────────────── Responses, tools, timers ─────────────────────────────

    private void TryGreet()
    {
        lock (gate)
        {
            if (!started || !ready || greeted || ending)
            {
                return;
            }
            greeted = true;
            RequestResponse(ResponseKind.Greeting);
        }
    }

    /// <summary>Asks the model to speak, or queues the request until the current response is done (under <see cref="gate"/> or not).</summary>
    private void RequestResponse(ResponseKind kind, string? reason = null)
    {
        lock (gate)
        {
            if (kind == ResponseKind.Filler && toolsRunning == 0)
            {
                return; // the tool has answered meanwhile: no filler
            }
            if (responseActive || responseRequested || !ready)
            {
                // Waits for the current response; the most important request wins.
                if (kind >= pending)
                {
                    pending = kind;
                    pendingReason = reason;
                }
                return;
            }
            responseRequested = true;
            responseRequestedAt = Stopwatch.GetTimestamp();
            SendToProvider(RealtimeProtocol.ResponseCreate(kind, setup, reason));
        }
    }

    private void SendToProvider(OutFrame frame)
    {
        var session = provider;
        if (session is null || !session.Out.TryEnqueue(frame))
        {
            if (session is null)
            {
                ArrayPool<byte>.Shared.Return(frame.Buffer);
            }
        }
    }

    private void StartTool(string name, string callId, string arguments)
    {
        lock (gate)
        {
            toolsRunning++;
            AddHistory(new HistoryItem("function_call", arguments, name, callId));
            AddTurn("tool_call", $"{name}({arguments})", null, null);
            if (name == Brain.ToolRegistry.CaptureLead)
            {
                try
                {
                    using var doc = JsonDocument.Parse(arguments);
                    var draft = LeadExtractor.FromFields(doc.RootElement, "tool", Tenancy.UrgencyRules.Generic);
                    captured = draft is null ? captured : new LeadDraft(draft.Name ?? captured?.Name, draft.Phone ?? captured?.Phone,
                        draft.Address ?? captured?.Address, draft.Problem ?? captured?.Problem, Urgency.Max(draft.Urgency, captured?.Urgency ?? Urgency.Routine), "tool");
                }
                catch (JsonException)
                {
                }
            }
        }
        Track(RunToolAsync(name, callId, arguments));
    }

    private async Task RunToolAsync(string name, string callId, string arguments)
    {
        try
        {
            // On its own thread: a blocked database must not delay the filler.
            var work = Task.Run(() => InvokeToolSerialAsync(name, arguments));
            var filler = Task.Delay(voice.ToolFillerMs, lifetime.Token);
            if (await Task.WhenAny(work, filler) != work)
            {
                RequestResponse(ResponseKind.Filler);
            }
            var output = await work;
            lock (gate)
            {
                AddHistory(new HistoryItem("function_call_output", output, name, callId));
                AddTurn("tool_result", output, null, null);
                SendToProvider(RealtimeProtocol.FunctionOutput(callId, output));
                if (name == Brain.ToolRegistry.EndCall)
                {
                    RequestHangup("assistant-hangup");
                    RequestResponse(ResponseKind.Goodbye);
                }
                else
                {
                    RequestResponse(ResponseKind.AfterTool);
                }
            }
        }
        catch (OperationCanceledException) when (lifetime.IsCancellationRequested)
        {
        }
        finally
        {
            lock (gate)
            {
                toolsRunning--;
                lastActivity = services.Clock.GetUtcNow();
            }
        }
    }

    private async Task<string> InvokeToolSerialAsync(string name, string arguments)
    {
        await toolGate.WaitAsync(lifetime.Token);
        try
        {
            return await services.Store.InvokeToolAsync(setup, name, arguments, lifetime.Token);
        }
        finally
        {
            toolGate.Release();
        }
    }

    /// <summary>Timers, driven by <see cref="BridgeTicker"/> every 100 ms.</summary>
    public void OnTick()
    {
        var now = services.Clock.GetUtcNow();
        if (!ending && Stopwatch.GetElapsedTime(Volatile.Read(ref lastFrameTimestamp)) >= TimeSpan.FromSeconds(voice.ReceiveIdleSeconds))
        {
            // A dead or stalled socket (e.g. a frame header, a few bytes, then nothing): end the call; the shutdown closes
            // the provider session and runs the post-call work.
            logger.LogWarning("No complete frame from Twilio in {Seconds} s: ending the call", voice.ReceiveIdleSeconds);
            Ending("stream-timeout");
            lifetime.Cancel(); // outside the lock: cancellation runs the receive loop's continuations
            return;
        }
        lock (gate)
        {
            if (ending)
            {
                return;
            }
            if (markCount > 0 && Stopwatch.GetElapsedTime(markProgressTimestamp) >= TimeSpan.FromSeconds(voice.MarkEchoTimeoutSeconds))
            {
                logger.LogDebug("{Count} marks not echoed in {Seconds} s: dropped", markCount, voice.MarkEchoTimeoutSeconds);
                markCount = 0;
            }
            if (!started)
            {
                if (now - acceptedAt > TimeSpan.FromSeconds(10))
                {
                    logger.LogWarning("No stream start within 10 s of the connection: closing");
                    endedReason ??= "stream-error";
                    CloseTwilio();
                }
                return;
            }
            if (digits.Length > 0 && now - lastDigitAt >= TimeSpan.FromMilliseconds(700))
            {
                FlushDigits();
            }
            if (responseRequested && Stopwatch.GetElapsedTime(responseRequestedAt) > TimeSpan.FromSeconds(5))
            {
                responseRequested = false; // the provider never answered that request: do not wait forever
            }
            if (!maxDurationHandled && now - startedAt >= TimeSpan.FromSeconds(setup.MaxCallSeconds))
            {
                maxDurationHandled = true;
                logger.LogInformation("Call reached its maximum length of {Seconds} s", setup.MaxCallSeconds);
                RequestHangup("max-duration");
                RequestResponse(ResponseKind.Goodbye, "max-duration");
            }
            if (hangupRequested)
            {
                if (now >= hangupDeadline)
                {
                    CloseTwilio();
                }
                else
                {
                    CheckHangup();
                }
                return;
            }
            var quiet = !callerSpeaking && !responseActive && !responseRequested && markCount == 0 && toolsRunning == 0 && greeted && ready;
            if (quiet && now - lastActivity >= TimeSpan.FromSeconds(voice.IdleRepromptSeconds))
            {
                lastActivity = now;
                if (++reprompts > voice.IdleMaxReprompts)
                {
                    RequestHangup("idle-timeout");
                    RequestResponse(ResponseKind.Goodbye, "idle-timeout");
                }
                else
                {
                    RequestResponse(ResponseKind.Reprompt);
                }
            }
        }
    }

    private void RequestHangup(string reason)
    {
        if (hangupRequested)
        {
            return;
        }
        hangupRequested = true;
        endedReason ??= reason;
        hangupDeadline = services.Clock.GetUtcNow().AddSeconds(voice.HangupGraceSeconds);
    }

    /// <summary>Hangs up once the goodbye has been said and heard (under <see cref="gate"/>).</summary>
    private void CheckHangup()
    {
        if (hangupRequested && !responseActive && !responseRequested && pending == ResponseKind.None && markCount == 0 && toolsRunning == 0)
        {
            CloseTwilio();
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

    /// <summary>The provider cannot be reached: log, alert, record the reason, then end the stream so Twilio plays the fallback
    /// (a browser leg is told, in its language, to write in the chat instead: <see cref="Widget.WebVoiceFallback"/>).</summary>
    private async Task FailOverAsync(string what)
    {
        if (ending)
        {
            return;
        }
        services.Metrics.ProviderFailed();
        logger.LogError("Realtime provider {Url} {What}: the caller is asked to leave a message", setup.ProviderUri.GetLeftPart(UriPartial.Path), what);
        lock (gate)
        {
            endedReason = NativeCallStatus.ProviderUnreachable;
        }
        try
        {
            await services.Store.MarkProviderUnreachableAsync(setup, lifetime.Token);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            logger.LogError(e, "Could not record the provider failure");
        }
        lock (gate)
        {
            if (leg.SendsTranscripts)
            {
                // A web visitor cannot leave a message after the tone: they are asked to write in the chat instead.
                AddTurn("assistant", Widget.WebVoiceFallback.For(setup.Language), null, null);
            }
            CloseTwilio();
        }
    }

    private void Ending(string reason)
    {
        lock (gate)
        {
            endedReason ??= reason;
            ending = true;
        }
    }

    // ───────────────────────────── Transcripts ─────────────────────────────

    private void AddHistory(HistoryItem item)
    {
        history.Add(item);
        if (history.Count > 200)
        {
            history.RemoveAt(0);
        }
    }

    /// <summary>Stores an assistant turn, with this item's latencies when it answered the caller (under <see cref="gate"/>).</summary>
    private void AddAssistantTurn(string text, string? item)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return;
        }
        double? providerMs = null, bridgeMs = null;
        if (item is not null && item == turnItemId)
        {
            providerMs = turnProviderMs;
            bridgeMs = turnBridgeMs;
            turnItemId = null;
        }
        AddHistory(new HistoryItem("assistant", text.Trim()));
        AddTurn("assistant", text.Trim(), providerMs, bridgeMs);
    }

    /// <summary>An interrupted or unfinished assistant item keeps the words that were generated, marked with an ellipsis.</summary>
    private void StoreInterruptedText()
    {
        if (assistantText.Length > 0)
        {
            var text = assistantText.ToString().Trim();
            var item = assistantTextItem;
            assistantText.Clear();
            assistantTextItem = null;
            AddAssistantTurn(text.Length > 0 ? text + " …" : text, item);
        }
    }

    private void AddTurn(string role, string text, double? providerMs, double? bridgeMs)
    {
        var now = services.Clock.GetUtcNow();
        if (leg.SendsTranscripts && role is "user" or "assistant" && !ending)
        {
            twilioOut.TryEnqueue(Wire.Json((role, text), static (w, t) =>
            {
                w.WriteStartObject();
                w.WriteString("event", "transcript");
                w.WriteString("role", t.role);
                w.WriteString("text", t.text);
                w.WriteEndObject();
            }));
        }
        services.Transcripts.Add(new TranscriptTurn
        {
            Id = Guid.CreateVersion7(),
            TenantId = setup.TenantId,
            CallId = setup.CallId,
            Seq = turnSeq++,
            Role = role,
            Text = text.Length > 8000 ? text[..8000] : text,
            SecondsFromStart = started ? Math.Round((now - startedAt).TotalSeconds, 3) : 0,
            At = now,
            ProviderLatencyMs = providerMs is { } p ? Math.Round(p, 2) : null,
            BridgeLatencyMs = bridgeMs is { } b ? Math.Round(b, 3) : null,
        });
    }

    // ───────────────────────────── Ending ─────────────────────────────

    private async Task ShutdownAsync(Task providerTask)
    {
        var session = provider;
        if (session is not null)
        {
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
            greeting = greetingMs;
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

    // ───────────────────────────── Audio transcoding (when the provider refuses μ-law) ─────────────────────────────

    private static OutFrame TranscodeToProvider(ReadOnlySpan<byte> base64, ProviderSession session)
    {
        var up = session.Up ??= new Resampler8kTo24k();
        Span<byte> mulaw = stackalloc byte[Math.Min(base64.Length, 4096) * 3 / 4 + 3];
        if (Base64.DecodeFromUtf8(base64, mulaw, out _, out var count) != OperationStatus.Done || count == 0)
        {
            return default;
        }
        var pcm8 = ArrayPool<short>.Shared.Rent(count);
        var pcm24 = ArrayPool<short>.Shared.Rent(count * 3);
        try
        {
            MuLaw.Decode(mulaw[..count], pcm8);
            var n = up.Process(pcm8.AsSpan(0, count), pcm24);
            var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(pcm24.AsSpan(0, n));
            var encoded = ArrayPool<byte>.Shared.Rent(Base64.GetMaxEncodedToUtf8Length(bytes.Length));
            try
            {
                Base64.EncodeToUtf8(bytes, encoded, out _, out var written);
                return Wire.Append(encoded.AsSpan(0, written));
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(encoded);
            }
        }
        finally
        {
            ArrayPool<short>.Shared.Return(pcm8);
            ArrayPool<short>.Shared.Return(pcm24);
        }
    }

    private OutFrame TranscodeToTwilio(ReadOnlySpan<byte> base64, ProviderSession session, FrameKind kind, long received, out long audioBytes)
    {
        audioBytes = 0;
        var down = session.Down ??= new Resampler24kTo8k();
        var raw = ArrayPool<byte>.Shared.Rent(base64.Length * 3 / 4 + 3);
        try
        {
            if (Base64.DecodeFromUtf8(base64, raw, out _, out var count) != OperationStatus.Done || count < 2)
            {
                return default;
            }
            var pcm24 = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, short>(raw.AsSpan(0, count & ~1));
            var pcm8 = ArrayPool<short>.Shared.Rent(pcm24.Length / 3 + 1);
            var mulaw = ArrayPool<byte>.Shared.Rent(pcm24.Length / 3 + 1);
            var encoded = ArrayPool<byte>.Shared.Rent(Base64.GetMaxEncodedToUtf8Length(pcm24.Length / 3 + 1));
            try
            {
                var n = down.Process(pcm24, pcm8);
                MuLaw.Encode(pcm8.AsSpan(0, n), mulaw);
                Base64.EncodeToUtf8(mulaw.AsSpan(0, n), encoded, out _, out var written);
                audioBytes = n;
                return Wire.TwilioMedia(mediaPrefix!, encoded.AsSpan(0, written), kind, received);
            }
            finally
            {
                ArrayPool<short>.Shared.Return(pcm8);
                ArrayPool<byte>.Shared.Return(mulaw);
                ArrayPool<byte>.Shared.Return(encoded);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(raw);
        }
    }

    private static long Base64DecodedLength(ReadOnlySpan<byte> base64)
    {
        var padding = base64.Length > 0 && base64[^1] == (byte)'=' ? (base64.Length > 1 && base64[^2] == (byte)'=' ? 2 : 1) : 0;
        return (base64.Length / 4 * 3) - padding;
    }

    private static string? Str(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    public void Dispose()
    {
        lifetime.Dispose();
        toolGate.Dispose();
    }
}
