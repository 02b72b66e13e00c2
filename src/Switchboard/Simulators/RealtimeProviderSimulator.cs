using System.Buffers;
using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Switchboard.Realtime.Audio;
using Switchboard.Realtime.Bridge;

namespace Switchboard.Simulators;

/// <summary>
/// A realtime speech provider on 127.0.0.1 speaking the OpenAI Realtime GA WebSocket protocol
/// (shared/protocols/openai-realtime.md): <c>session.created</c>; <c>session.update</c> → <c>session.updated</c> (or an
/// <c>error</c> when <c>audio/pcmu</c> is refused); server VAD by energy on <c>input_audio_buffer.append</c> with
/// <c>speech_started</c>/<c>speech_stopped</c>/<c>committed</c> and a scripted input transcription; function calls
/// (<c>response.function_call_arguments.done</c>), waiting for <c>function_call_output</c> + <c>response.create</c>;
/// audio answers as <c>response.output_audio.delta</c> paced in real time with transcripts; interruption (a VAD start
/// cancels the response), <c>conversation.item.truncate</c>, and <c>session_expired</c> drops. What each session
/// received is recorded for tests. Scripted by <see cref="ProviderScript"/>.
/// </summary>
internal sealed class RealtimeProviderSimulator : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly SimPacer pacer;
    private readonly bool ownsPacer;
    private int sessionCounter;

    private RealtimeProviderSimulator(WebApplication app, SimPacer pacer, bool ownsPacer, ProviderScript script)
    {
        this.app = app;
        this.pacer = pacer;
        this.ownsPacer = ownsPacer;
        Script = script;
    }

    /// <summary>The behaviour of sessions opened from now on.</summary>
    public ProviderScript Script { get; set; }

    /// <summary>When true, WebSocket upgrades are refused with 503 (the provider is down).</summary>
    public bool Unavailable { get; set; }

    /// <summary><c>ws://127.0.0.1:{port}/v1/realtime</c>.</summary>
    public string Url { get; private set; } = "";

    public ConcurrentQueue<SimSession> Sessions { get; } = new();

    public static async Task<RealtimeProviderSimulator> StartAsync(ProviderScript script, int port = 0, SimPacer? pacer = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        // Nothing from the hosting process's configuration (ASPNETCORE_URLS, Kestrel:Endpoints in appsettings.json…): the
        // simulator also runs inside the server for its start-up warm-up, and must never bind the server's own addresses.
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var sim = new RealtimeProviderSimulator(app, pacer ?? new SimPacer(), pacer is null, script);
        app.UseWebSockets();
        app.Map("/v1/realtime", sim.AcceptAsync);
        await app.StartAsync();
        var address = app.Urls.First();
        sim.Url = TwilioWs(address) + "/v1/realtime";
        return sim;

        static string TwilioWs(string http) => "ws://" + http[(http.IndexOf("://", StringComparison.Ordinal) + 3)..].TrimEnd('/');
    }

    private async Task AcceptAsync(HttpContext http)
    {
        if (Unavailable || !http.WebSockets.IsWebSocketRequest)
        {
            http.Response.StatusCode = Unavailable ? 503 : 400;
            return;
        }
        using var socket = await http.WebSockets.AcceptWebSocketAsync();
        var session = new SimSession(Interlocked.Increment(ref sessionCounter), socket, Script, pacer,
            http.Request.Query["model"].ToString(), http.Request.Headers.Authorization.ToString());
        Sessions.Enqueue(session);
        await session.RunAsync(http.RequestAborted);
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
        if (ownsPacer)
        {
            await pacer.DisposeAsync();
        }
    }
}

/// <summary>One provider session of the <see cref="RealtimeProviderSimulator"/>, and what it received.</summary>
internal sealed class SimSession : ISimPaced
{
    private readonly WebSocket socket;
    private readonly ProviderScript script;
    private readonly SimPacer pacer;
    private readonly SocketSender output;
    private readonly Lock gate = new();

    // Input audio and VAD.
    private bool pcm16;
    private int silenceMs = 500;
    private double inputMs;
    private bool inSpeech;
    private int loudFrames;
    private double quietSinceMs = -1;
    private double speechStartMs;

    // Conversation.
    private int turn;
    private int heardHere;
    private string? pendingToolCall;
    private ScriptedTurn? pendingToolTurn;
    private bool toolOutputReceived;
    private string? pendingDtmf;
    private bool dropped;
    private Task dropping = Task.CompletedTask;
    private Task sending = Task.CompletedTask;
    private int counter;

    // The response being spoken.
    private Speech? speech;

    public SimSession(int number, WebSocket socket, ProviderScript script, SimPacer pacer, string model, string authorization)
    {
        Number = number;
        this.socket = socket;
        this.script = script;
        this.pacer = pacer;
        Model = model;
        Authorization = authorization;
        output = new SocketSender(4096, null);
    }

    public int Number { get; }
    public string Model { get; }
    public string Authorization { get; }

    /// <summary>Every client event type received, in order.</summary>
    public ConcurrentQueue<string> Received { get; } = new();

    /// <summary><c>conversation.item.truncate</c> requests: item and <c>audio_end_ms</c>.</summary>
    public ConcurrentQueue<(string ItemId, long AudioEndMs)> Truncations { get; } = new();

    /// <summary><c>function_call_output</c> items received: call id and output.</summary>
    public ConcurrentQueue<(string CallId, string Output)> ToolOutputs { get; } = new();

    /// <summary>Text messages received (replayed history, DTMF): role and text.</summary>
    public ConcurrentQueue<(string Role, string Text)> Messages { get; } = new();

    /// <summary>The instructions of the last <c>session.update</c>, and its audio format.</summary>
    public string? Instructions { get; private set; }
    public string? Format { get; private set; }
    public int ToolCount { get; private set; }

    /// <summary>Names of the tools of the last <c>session.update</c> that carried tools.</summary>
    public IReadOnlyList<string> ToolNames { get; private set; } = [];
    public long AudioBytesReceived;
    public bool Closed { get; private set; }

    /// <summary>How many times the VAD heard the caller start speaking.</summary>
    public int SpeechStarts;

    /// <summary>Out-of-band responses requested (<c>conversation: none</c>: fillers).</summary>
    public int OutOfBandResponses;

    private sealed class Speech
    {
        public required string ResponseId;
        public required string ItemId;
        public required string Text;
        public required byte[] Template; // the delta message with a full-size chunk; payload at PayloadOffset
        public int PayloadOffset;
        public required int ChunkBytes;
        public required long TotalBytes;
        public long SentBytes;
        public long NextDue;
        public long TicksPerChunk;
        public bool TranscriptSent;
        public Action? After;
    }

    public async Task RunAsync(CancellationToken ct)
    {
        sending = output.RunAsync(socket, ct);
        Send(w =>
        {
            w.WriteString("type", "session.created");
            w.WriteStartObject("session");
            w.WriteString("type", "realtime");
            w.WriteString("model", Model);
            w.WriteEndObject();
        });
        pacer.Add(this);
        using var reader = new MessageReader(8192, 4 * 1024 * 1024);
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var (outcome, message) = await reader.ReceiveAsync(socket, ct);
                if (outcome is ReceiveOutcome.Closed or ReceiveOutcome.TooBig)
                {
                    break;
                }
                if (outcome == ReceiveOutcome.Text)
                {
                    Handle(message);
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException)
        {
        }
        finally
        {
            Closed = true;
            pacer.Remove(this);
            output.Complete();
            await sending;
            await dropping;
            if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                try
                {
                    using var timeout = new CancellationTokenSource(1000);
                    await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
                }
                catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException)
                {
                }
            }
        }
    }

    private void Handle(ReadOnlyMemory<byte> message)
    {
        ReadOnlySpan<byte> type = default, audio = default;
        var reader = new Utf8JsonReader(message.Span);
        try
        {
            reader.Read();
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("type"u8))
                {
                    reader.Read();
                    type = reader.ValueSpan;
                }
                else if (reader.ValueTextEquals("audio"u8))
                {
                    reader.Read();
                    audio = reader.ValueSpan;
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
        }
        catch (JsonException)
        {
            SendError("invalid_request_error", "invalid_json", "The message is not valid JSON.", null);
            return;
        }
        if (type.SequenceEqual("input_audio_buffer.append"u8))
        {
            OnAudio(audio);
            return;
        }
        var name = Encoding.UTF8.GetString(type);
        Received.Enqueue(name);
        using var doc = JsonDocument.Parse(message);
        var e = doc.RootElement;
        lock (gate)
        {
            switch (name)
            {
                case "session.update":
                    OnSessionUpdate(e);
                    break;
                case "conversation.item.create":
                    OnItem(e);
                    break;
                case "response.create":
                    OnResponseCreate(e);
                    break;
                case "conversation.item.truncate":
                    var item = Str(e, "item_id") ?? "";
                    var endMs = e.TryGetProperty("audio_end_ms", out var ms) && ms.TryGetInt64(out var v) ? v : -1;
                    Truncations.Enqueue((item, endMs));
                    Send(w =>
                    {
                        w.WriteString("type", "conversation.item.truncated");
                        w.WriteString("item_id", item);
                        w.WriteNumber("content_index", 0);
                        w.WriteNumber("audio_end_ms", endMs);
                    });
                    break;
                case "response.cancel":
                    Cancel("client_cancelled");
                    break;
                case "input_audio_buffer.commit":
                    OnCommit();
                    break;
            }
        }
    }

    private void OnSessionUpdate(JsonElement e)
    {
        var session = e.GetProperty("session");
        Instructions = Str(session, "instructions") ?? Instructions;
        if (turn == 0 && Instructions is not null && script.StartTurnByInstructions is { } starts)
        {
            foreach (var (marker, start) in starts)
            {
                if (Instructions.Contains(marker, StringComparison.Ordinal))
                {
                    turn = start;
                }
            }
        }
        ToolCount = session.TryGetProperty("tools", out var tools) && tools.ValueKind == JsonValueKind.Array ? tools.GetArrayLength() : ToolCount;
        if (tools.ValueKind == JsonValueKind.Array)
        {
            ToolNames = [.. tools.EnumerateArray().Select(t => t.TryGetProperty("name", out var n) ? n.GetString() ?? "" : "")];
        }
        var input = session.TryGetProperty("audio", out var audio) && audio.TryGetProperty("input", out var i) ? i : default;
        var format = input.ValueKind == JsonValueKind.Object && input.TryGetProperty("format", out var f) ? Str(f, "type") : null;
        if (input.ValueKind == JsonValueKind.Object && input.TryGetProperty("turn_detection", out var td) && td.ValueKind == JsonValueKind.Object
            && td.TryGetProperty("silence_duration_ms", out var sd) && sd.TryGetInt32(out var s))
        {
            silenceMs = s;
        }
        if (format == "audio/pcmu" && !script.AcceptPcmu)
        {
            SendError("invalid_request_error", "invalid_value", "Invalid value: 'audio/pcmu'. Supported values are: 'audio/pcm'.", "session.audio.input.format.type");
            return;
        }
        pcm16 = format == "audio/pcm";
        Format = format ?? "audio/pcm";
        Send(w =>
        {
            w.WriteString("type", "session.updated");
            w.WriteStartObject("session");
            w.WriteString("type", "realtime");
            w.WriteString("model", Model);
            w.WriteStartObject("audio");
            w.WriteStartObject("input");
            w.WriteStartObject("format");
            w.WriteString("type", Format);
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteStartObject("output");
            w.WriteStartObject("format");
            w.WriteString("type", Format);
            if (pcm16)
            {
                w.WriteNumber("rate", 24000);
            }
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
        });
    }

    private void OnItem(JsonElement e)
    {
        var item = e.GetProperty("item");
        var kind = Str(item, "type");
        if (kind == "message")
        {
            var role = Str(item, "role") ?? "user";
            var text = item.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.Array && content.GetArrayLength() > 0
                ? Str(content[0], "text") ?? "" : "";
            Messages.Enqueue((role, text));
            if (role == "user")
            {
                if (text.StartsWith("[DTMF]", StringComparison.Ordinal))
                {
                    pendingDtmf = text;
                }
                else
                {
                    turn++; // a replayed user turn: the script continues after it
                }
            }
        }
        else if (kind == "function_call_output")
        {
            var callId = Str(item, "call_id") ?? "";
            ToolOutputs.Enqueue((callId, Str(item, "output") ?? ""));
            if (callId == pendingToolCall)
            {
                toolOutputReceived = true;
            }
        }
        Send(w =>
        {
            w.WriteString("type", "conversation.item.added");
            w.WriteStartObject("item");
            w.WriteString("id", Str(item, "id") ?? NextId("item"));
            w.WriteString("type", kind);
            w.WriteEndObject();
        });
    }

    private void OnResponseCreate(JsonElement e)
    {
        if (speech is not null)
        {
            SendError("invalid_request_error", "conversation_already_has_active_response", "Conversation already has an active response in progress.", null);
            return;
        }
        var response = e.TryGetProperty("response", out var r) ? r : default;
        var instructions = response.ValueKind == JsonValueKind.Object ? Str(response, "instructions") ?? "" : "";
        var outOfBand = response.ValueKind == JsonValueKind.Object && Str(response, "conversation") == "none";
        ScriptedSpeech say;
        Action? after = null;
        if (outOfBand)
        {
            Interlocked.Increment(ref OutOfBandResponses);
            say = new ScriptedSpeech { Text = "One moment please.", AudioMs = 500 };
        }
        else if (toolOutputReceived && pendingToolTurn is { } toolTurn)
        {
            say = toolTurn.Says ?? new ScriptedSpeech { Text = "Done.", AudioMs = 400 };
            toolOutputReceived = false;
            pendingToolCall = null;
            pendingToolTurn = null;
            after = AfterTurn;
        }
        else if (instructions.Contains("Greet the caller", StringComparison.Ordinal))
        {
            say = script.Greeting;
        }
        else if (instructions.Contains("silent", StringComparison.Ordinal))
        {
            say = new ScriptedSpeech { Text = "Are you still there?", AudioMs = 900 };
        }
        else if (instructions.Contains("goodbye", StringComparison.OrdinalIgnoreCase))
        {
            say = new ScriptedSpeech { Text = "Goodbye!", AudioMs = 600 };
        }
        else if (pendingDtmf is { } dtmf)
        {
            say = new ScriptedSpeech { Text = $"You pressed {dtmf["[DTMF]".Length..].Trim()}.", AudioMs = 900 };
            pendingDtmf = null;
        }
        else
        {
            say = new ScriptedSpeech { Text = "How else can I help?", AudioMs = 900 };
        }
        Speak(say, script.FirstAudioDelayMs, after);
    }

    // ───────────── VAD ─────────────

    private void OnAudio(ReadOnlySpan<byte> base64)
    {
        Span<byte> raw = stackalloc byte[Math.Min(base64.Length, 8192) * 3 / 4 + 3];
        if (Base64.DecodeFromUtf8(base64, raw, out _, out var n) != OperationStatus.Done)
        {
            return;
        }
        Interlocked.Add(ref AudioBytesReceived, n);
        var energy = pcm16 ? SimAudio.EnergyPcm16(raw[..n]) : SimAudio.Energy(raw[..n]);
        var ms = pcm16 ? n / 48.0 : n / 8.0;
        lock (gate)
        {
            inputMs += ms;
            if (energy >= script.SpeechThreshold)
            {
                quietSinceMs = -1;
                if (!inSpeech && ++loudFrames >= 2)
                {
                    inSpeech = true;
                    speechStartMs = Math.Max(0, inputMs - 40);
                    OnSpeechStarted();
                }
            }
            else
            {
                loudFrames = 0;
                if (inSpeech)
                {
                    if (quietSinceMs < 0)
                    {
                        quietSinceMs = inputMs - ms;
                    }
                    else if (inputMs - quietSinceMs >= silenceMs)
                    {
                        inSpeech = false;
                        OnSpeechStopped((long)quietSinceMs);
                        quietSinceMs = -1;
                    }
                }
            }
        }
    }

    private void OnSpeechStarted()
    {
        Interlocked.Increment(ref SpeechStarts);
        var item = NextId("item");
        Send(w =>
        {
            w.WriteString("type", "input_audio_buffer.speech_started");
            w.WriteNumber("audio_start_ms", (long)speechStartMs);
            w.WriteString("item_id", item);
        });
        // server_vad interrupt_response: the caller's speech cancels what the model is saying.
        Cancel("turn_detected");
    }

    private void OnSpeechStopped(long endMs)
    {
        var item = NextId("item");
        turn++;
        heardHere++;
        var current = turn <= script.Turns.Count ? script.Turns[turn - 1] : new ScriptedTurn { Hears = "(unscripted)", Says = new ScriptedSpeech { Text = "I see.", AudioMs = 700 } };
        Send(w =>
        {
            w.WriteString("type", "input_audio_buffer.speech_stopped");
            w.WriteNumber("audio_end_ms", endMs);
            w.WriteString("item_id", item);
        });
        CommitAndTranscribe(item, current.Hears);
        // server_vad create_response: the model answers the turn by itself.
        if (current.Tool is { } tool)
        {
            CallTool(tool, current);
        }
        else
        {
            Speak(current.Says ?? new ScriptedSpeech { Text = "Okay.", AudioMs = 500 }, script.FirstAudioDelayMs, AfterTurn);
        }
    }

    /// <summary>
    /// A client's <c>input_audio_buffer.commit</c>: the speech so far becomes the next scripted turn's item and is transcribed,
    /// without a response (server VAD answers only the turns it detects itself); with no speech in the buffer, the error
    /// <c>input_audio_buffer_commit_empty</c>. Called under <c>gate</c>.
    /// </summary>
    private void OnCommit()
    {
        if (!inSpeech)
        {
            SendError("invalid_request_error", "input_audio_buffer_commit_empty", "Error committing input audio buffer: the buffer is empty.", null);
            return;
        }
        inSpeech = false;
        quietSinceMs = -1;
        var item = NextId("item");
        turn++;
        heardHere++;
        CommitAndTranscribe(item, turn <= script.Turns.Count ? script.Turns[turn - 1].Hears : "(unscripted)");
    }

    /// <summary>The caller's turn <paramref name="item"/> committed, then its input transcription: what VAD's end of speech and a client's commit both send.</summary>
    private void CommitAndTranscribe(string item, string hears)
    {
        Send(w =>
        {
            w.WriteString("type", "input_audio_buffer.committed");
            w.WriteString("item_id", item);
        });
        Send(w =>
        {
            w.WriteString("type", "conversation.item.input_audio_transcription.completed");
            w.WriteString("item_id", item);
            w.WriteNumber("content_index", 0);
            w.WriteString("transcript", hears);
        });
    }

    private void CallTool(ScriptedTool tool, ScriptedTurn current)
    {
        var response = NextId("resp");
        var item = NextId("item");
        var callId = NextId("call");
        var args = tool.Arguments?.GetRawText() ?? "{}";
        pendingToolCall = callId;
        pendingToolTurn = current;
        toolOutputReceived = false;
        Send(w =>
        {
            w.WriteString("type", "response.created");
            w.WriteStartObject("response");
            w.WriteString("id", response);
            w.WriteString("status", "in_progress");
            w.WriteEndObject();
        });
        Send(w =>
        {
            w.WriteString("type", "response.function_call_arguments.done");
            w.WriteString("response_id", response);
            w.WriteString("item_id", item);
            w.WriteNumber("output_index", 0);
            w.WriteString("call_id", callId);
            w.WriteString("name", tool.Name);
            w.WriteString("arguments", args);
        });
        Send(w =>
        {
            w.WriteString("type", "response.done");
            w.WriteStartObject("response");
            w.WriteString("id", response);
            w.WriteString("status", "completed");
            w.WriteEndObject();
        });
    }

    /// <summary>After a scripted turn is answered: drop the session here when the script says so.</summary>
    private void AfterTurn()
    {
        if (script.DropAfterTurn is { } drop && drop == turn && heardHere > 0 && !dropped)
        {
            dropped = true;
            SendError("invalid_request_error", "session_expired", "Your session hit the maximum duration of 60 minutes.", null);
            output.Complete();
            dropping = DropAsync();
        }
    }

    private async Task DropAsync()
    {
        await Task.Yield();
        await sending; // the session_expired error goes out first
        try
        {
            using var timeout = new CancellationTokenSource(1000);
            await socket.CloseOutputAsync(WebSocketCloseStatus.EndpointUnavailable, "session expired", timeout.Token);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException or InvalidOperationException)
        {
        }
    }

    // ───────────── Speaking ─────────────

    private void Speak(ScriptedSpeech say, int delayMs, Action? after)
    {
        var response = NextId("resp");
        var item = NextId("item");
        var bytesPerMs = pcm16 ? 48 : 8;
        var chunk = Math.Max(1, script.DeltaMs) * bytesPerMs;
        var audio = pcm16 ? AssistantPcm16(chunk) : AssistantMuLaw(chunk);
        var prefix = Encoding.UTF8.GetBytes($"{{\"type\":\"response.output_audio.delta\",\"event_id\":\"evt\",\"response_id\":\"{response}\",\"item_id\":\"{item}\",\"output_index\":0,\"content_index\":0,\"delta\":\"");
        var b64 = Encoding.ASCII.GetBytes(Convert.ToBase64String(audio));
        var template = new byte[prefix.Length + b64.Length + 2];
        prefix.CopyTo(template, 0);
        b64.CopyTo(template, prefix.Length);
        "\"}"u8.CopyTo(template.AsSpan(prefix.Length + b64.Length));
        Send(w =>
        {
            w.WriteString("type", "response.created");
            w.WriteStartObject("response");
            w.WriteString("id", response);
            w.WriteString("status", "in_progress");
            w.WriteEndObject();
        });
        Send(w =>
        {
            w.WriteString("type", "response.output_item.added");
            w.WriteString("response_id", response);
            w.WriteNumber("output_index", 0);
            w.WriteStartObject("item");
            w.WriteString("id", item);
            w.WriteString("type", "message");
            w.WriteString("role", "assistant");
            w.WriteEndObject();
        });
        speech = new Speech
        {
            ResponseId = response,
            ItemId = item,
            Text = say.Text,
            Template = template,
            PayloadOffset = prefix.Length,
            ChunkBytes = chunk,
            TotalBytes = (long)say.DurationMs * bytesPerMs,
            NextDue = Stopwatch.GetTimestamp() + (delayMs * Stopwatch.Frequency / 1000),
            TicksPerChunk = (long)(script.DeltaMs * Stopwatch.Frequency / 1000 / Math.Max(0.1, script.Pace)),
            After = after,
        };
    }

    public void Tick(long now)
    {
        lock (gate)
        {
            var s = speech;
            while (s is not null && s.NextDue <= now && s.SentBytes < s.TotalBytes)
            {
                if (!s.TranscriptSent)
                {
                    s.TranscriptSent = true;
                    Send(w =>
                    {
                        w.WriteString("type", "response.output_audio_transcript.delta");
                        w.WriteString("response_id", s.ResponseId);
                        w.WriteString("item_id", s.ItemId);
                        w.WriteString("delta", s.Text);
                    });
                }
                var bytes = (int)Math.Min(s.ChunkBytes, s.TotalBytes - s.SentBytes);
                if (bytes == s.ChunkBytes)
                {
                    var buffer = ArrayPool<byte>.Shared.Rent(s.Template.Length);
                    s.Template.CopyTo(buffer, 0);
                    if (script.StampAudio && !pcm16)
                    {
                        Stamp(buffer.AsSpan(s.PayloadOffset, 16), Stopwatch.GetTimestamp());
                    }
                    output.TryEnqueue(new OutFrame(buffer, s.Template.Length));
                }
                else
                {
                    var tail = pcm16 ? AssistantPcm16(bytes) : AssistantMuLaw(bytes);
                    var frame = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(s.Template, 0, s.PayloadOffset) + Convert.ToBase64String(tail) + "\"}");
                    var buffer = ArrayPool<byte>.Shared.Rent(frame.Length);
                    frame.CopyTo(buffer, 0);
                    output.TryEnqueue(new OutFrame(buffer, frame.Length));
                }
                s.SentBytes += bytes;
                s.NextDue += s.TicksPerChunk;
            }
            if (s is not null && s.SentBytes >= s.TotalBytes)
            {
                speech = null;
                Send(w =>
                {
                    w.WriteString("type", "response.output_audio.done");
                    w.WriteString("response_id", s.ResponseId);
                    w.WriteString("item_id", s.ItemId);
                });
                Send(w =>
                {
                    w.WriteString("type", "response.output_audio_transcript.done");
                    w.WriteString("response_id", s.ResponseId);
                    w.WriteString("item_id", s.ItemId);
                    w.WriteString("transcript", s.Text);
                });
                Send(w =>
                {
                    w.WriteString("type", "response.done");
                    w.WriteStartObject("response");
                    w.WriteString("id", s.ResponseId);
                    w.WriteString("status", "completed");
                    w.WriteEndObject();
                });
                s.After?.Invoke();
            }
        }
    }

    /// <summary>Stops the response being spoken (caller speech, or <c>response.cancel</c>).</summary>
    private void Cancel(string reason)
    {
        if (speech is not { } s)
        {
            return;
        }
        speech = null;
        Send(w =>
        {
            w.WriteString("type", "response.done");
            w.WriteStartObject("response");
            w.WriteString("id", s.ResponseId);
            w.WriteString("status", "cancelled");
            w.WriteStartObject("status_details");
            w.WriteString("type", "cancelled");
            w.WriteString("reason", reason);
            w.WriteEndObject();
            w.WriteEndObject();
        });
    }

    // ───────────── Helpers ─────────────

    /// <summary>
    /// Writes a 12-byte stamp (8-byte <see cref="Stopwatch"/> timestamp + "SBTS") as the first 16 base64 characters of a
    /// payload; <see cref="ReadStamp"/> reads it back on the Twilio side to measure end-to-end latency.
    /// </summary>
    public static void Stamp(Span<byte> base64, long timestamp)
    {
        Span<byte> raw = stackalloc byte[12];
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(raw, timestamp);
        "SBTS"u8.CopyTo(raw[8..]);
        Base64.EncodeToUtf8(raw, base64, out _, out _);
    }

    public static long ReadStamp(ReadOnlySpan<byte> base64)
    {
        if (base64.Length < 16)
        {
            return 0;
        }
        Span<byte> raw = stackalloc byte[12];
        return Base64.DecodeFromUtf8(base64[..16], raw, out _, out var n) == OperationStatus.Done && n == 12 && raw[8..].SequenceEqual("SBTS"u8)
            ? System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(raw) : 0;
    }

    private static readonly ConcurrentDictionary<int, byte[]> MuLawTones = new();
    private static readonly ConcurrentDictionary<int, byte[]> PcmTones = new();

    /// <summary>The assistant's "voice": a 440 Hz tone, as μ-law bytes.</summary>
    private static byte[] AssistantMuLaw(int bytes) => MuLawTones.GetOrAdd(bytes, static n =>
    {
        var a = new byte[n];
        for (var i = 0; i < n; i++)
        {
            a[i] = MuLaw.EncodeSample((short)(Math.Sin(2 * Math.PI * 440 * i / 8000.0) * 5000));
        }
        return a;
    });

    /// <summary>The same tone as 24 kHz little-endian PCM16.</summary>
    private static byte[] AssistantPcm16(int bytes) => PcmTones.GetOrAdd(bytes, static n =>
    {
        var a = new byte[n & ~1];
        for (var i = 0; i < a.Length / 2; i++)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteInt16LittleEndian(a.AsSpan(i * 2), (short)(Math.Sin(2 * Math.PI * 440 * i / 24000.0) * 5000));
        }
        return a;
    });

    private string NextId(string prefix) => $"{prefix}_{Number}_{Interlocked.Increment(ref counter)}";

    private void SendError(string type, string code, string message, string? param) => Send(w =>
    {
        w.WriteString("type", "error");
        w.WriteStartObject("error");
        w.WriteString("type", type);
        w.WriteString("code", code);
        w.WriteString("message", message);
        if (param is not null)
        {
            w.WriteString("param", param);
        }
        w.WriteEndObject();
    });

    private void Send(Action<Utf8JsonWriter> body) =>
        output.TryEnqueue(Wire.Json(body, static (w, b) =>
        {
            w.WriteStartObject();
            b(w);
            w.WriteEndObject();
        }));

    private static string? Str(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
