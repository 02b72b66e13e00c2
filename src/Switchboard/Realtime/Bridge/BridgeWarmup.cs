using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using Microsoft.Extensions.Options;
using Switchboard.Credentials;
using Switchboard.Platform;
using Switchboard.Simulators;
using Switchboard.Twilio;

namespace Switchboard.Realtime.Bridge;

/// <summary>
/// Warms the media bridge at start-up so the first native call after a deploy greets as fast as the rest (issue 15:
/// 538 ms on a fresh process before, 250–330 ms later). Two synthetic calls run through a real <see cref="MediaBridge"/>:
/// the caller's side is a WebSocket over a loopback TCP connection speaking Twilio Media Streams
/// (twilio-media-streams.md: <c>start</c>, <c>media</c>, <c>mark</c> echoes, <c>stop</c>), the provider is the
/// in-process <see cref="RealtimeProviderSimulator"/> on 127.0.0.1 port 0 (openai-realtime.md), once accepting
/// <c>audio/pcmu</c> and once refusing it (the transcoding path). That compiles the connect, handshake, JSON, base64,
/// μ-law, resampling, marks and send paths. Nothing reaches the database or the metrics: the calls use a
/// <see cref="DiscardingCallRecorder"/> and their own <see cref="VoiceMetrics"/>. Nothing external is contacted.
/// <para>
/// Runs once per process (the compiled code is per process) when <see cref="VoiceOptions.WarmUpOnStart"/>; a failure is
/// logged and only costs the first call its speed. <c>/readyz</c> waits for it (<see cref="IReadinessGate"/>).
/// </para>
/// </summary>
internal sealed class BridgeWarmup(
    BridgeServices services, IOptions<CredentialOptions> credentials, IOptions<VoiceOptions> voice, ILogger<BridgeWarmup> logger)
    : BackgroundService, IReadinessGate
{
    private static readonly Lock Once = new();
    private static Task? processWarmup;

    /// <summary>Longest a warm-up call may take before it is abandoned.</summary>
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(10);

    private readonly TaskCompletionSource done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public string Reason => "media bridge warm-up in progress";

    /// <inheritdoc />
    public TimeSpan Wait => Platform.Health.GateWait;

    public Task Ready => done.Task;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            if (!voice.Value.WarmUpOnStart)
            {
                return;
            }
            Task warmup;
            lock (Once)
            {
                // The first host of the process warms the code for every later one (tests start many hosts).
                processWarmup ??= Task.Run(() => WarmAsync(stoppingToken), CancellationToken.None);
                warmup = processWarmup;
            }
            await warmup.WaitAsync(stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            done.TrySetResult();
        }
    }

    private async Task WarmAsync(CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            var script = new ProviderScript
            {
                Greeting = new ScriptedSpeech { Text = "Warm-up.", AudioMs = 600 },
                FirstAudioDelayMs = 0,
                DeltaMs = 100,
                Pace = 20,
            };
            await using var provider = await RealtimeProviderSimulator.StartAsync(script);
            foreach (var acceptPcmu in new[] { true, false })
            {
                provider.Script = script with { AcceptPcmu = acceptPcmu };
                await CallAsync(provider.Url, ct);
            }
            logger.LogInformation("Media bridge warmed up in {Ms} ms", clock.ElapsedMilliseconds);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            logger.LogWarning("Media bridge warm-up failed after {Ms} ms (the first call may be slower): {Error}", clock.ElapsedMilliseconds, e.Message);
        }
    }

    /// <summary>One synthetic call: start, some caller audio, the greeting with its marks echoed, then stop.</summary>
    private async Task CallAsync(string providerUrl, CancellationToken stoppingToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        timeout.CancelAfter(CallTimeout);
        var ct = timeout.Token;
        var realtime = services.Realtime.Value;
        var options = new RealtimeOptions
        {
            BaseUrl = providerUrl, // the operator's host to the connector: the loopback address is allowed
            Model = "warm-up",
            Voice = realtime.Voice,
            AudioFormat = "auto",
            TranscriptionModel = realtime.TranscriptionModel,
            ConnectTimeoutMs = (int)CallTimeout.TotalMilliseconds,
            MaxReconnects = 0,
        };
        using var connector = new RealtimeConnector(Options.Create(options), credentials);
        var bridgeServices = services with
        {
            Realtime = Options.Create(options),
            Connector = connector,
            Transcripts = DiscardingCallRecorder.Instance,
            Store = DiscardingCallRecorder.Instance,
            Metrics = new VoiceMetrics(),
        };
        var setup = new VoiceCallSetup(
            Guid.Empty, "warm-up", Guid.NewGuid(), "CAwarmup", null, "en", false, "Warm-up.", null, options.Model, options.Voice,
            RealtimeConnector.SessionUri(providerUrl, options.Model), null, "Authorization", 60, false, "", null, []);

        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port, ct);
        using var accepted = await listener.AcceptTcpClientAsync(ct);
        using var bridgeSide = WebSocket.CreateFromStream(accepted.GetStream(), new WebSocketCreationOptions { IsServer = true });
        using var twilioSide = WebSocket.CreateFromStream(client.GetStream(), new WebSocketCreationOptions { IsServer = false });
        using var bridge = new MediaBridge(setup, bridgeSide, bridgeServices, ct);
        var running = bridge.RunAsync();
        try
        {
            await PlayTwilioAsync(twilioSide, ct);
        }
        finally
        {
            await running.WaitAsync(ct);
        }
    }

    /// <summary>The Twilio side of the synthetic call.</summary>
    private static async Task PlayTwilioAsync(WebSocket socket, CancellationToken ct)
    {
        const string sid = "MZwarmup";
        await SendAsync(socket, $$$"""{"event":"connected","protocol":"Call","version":"1.0.0"}""", ct);
        await SendAsync(socket, $$$"""{"event":"start","sequenceNumber":"1","start":{"streamSid":"{{{sid}}}","callSid":"CAwarmup","tracks":["inbound"],"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1}},"streamSid":"{{{sid}}}"}""", ct);
        var silence = Convert.ToBase64String(Enumerable.Repeat((byte)0xFF, 160).ToArray());
        for (var i = 0; i < 6; i++)
        {
            await SendAsync(socket, $$$"""{"event":"media","sequenceNumber":"{{{i + 2}}}","media":{"track":"inbound","chunk":"{{{i + 1}}}","timestamp":"{{{i * 20}}}","payload":"{{{silence}}}"},"streamSid":"{{{sid}}}"}""", ct);
        }
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            var audio = 0;
            var marks = 0;
            while (audio == 0 || marks == 0)
            {
                var length = 0;
                ValueWebSocketReceiveResult result;
                do
                {
                    result = await socket.ReceiveAsync(buffer.AsMemory(length), ct);
                    length += result.Count;
                }
                while (!result.EndOfMessage && length < buffer.Length);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }
                var text = Encoding.UTF8.GetString(buffer, 0, length);
                if (text.Contains("\"media\"", StringComparison.Ordinal))
                {
                    audio++;
                }
                else if (text.Contains("\"mark\"", StringComparison.Ordinal))
                {
                    marks++;
                    var name = text[(text.IndexOf("\"name\":\"", StringComparison.Ordinal) + 8)..];
                    name = name[..name.IndexOf('"', StringComparison.Ordinal)];
                    await SendAsync(socket, $$$"""{"event":"mark","sequenceNumber":"99","mark":{"name":"{{{name}}}"},"streamSid":"{{{sid}}}"}""", ct);
                }
            }
            await SendAsync(socket, $$$"""{"event":"stop","sequenceNumber":"100","stop":{"accountSid":"AC0","callSid":"CAwarmup"},"streamSid":"{{{sid}}}"}""", ct);
            // Until the bridge closes its side.
            while ((await socket.ReceiveAsync(buffer.AsMemory(), ct)).MessageType != WebSocketMessageType.Close)
            {
            }
            await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, ct);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static Task SendAsync(WebSocket socket, string text, CancellationToken ct) =>
        socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, ct);
}
