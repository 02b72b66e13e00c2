using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Realtime.Bridge;
using Switchboard.Simulators;
using Switchboard.Tests.Support;
using Switchboard.Twilio;

namespace Switchboard.Tests.Realtime;

/// <summary>The voice host with a 2 s receive idle timeout on the media socket, and marks dropped 1 s after their last echo.</summary>
public sealed class StalledStreamFactory : VoiceFactory
{
    protected override IDictionary<string, string?> MoreSettings => new Dictionary<string, string?>
    {
        ["Switchboard:Voice:ReceiveIdleSeconds"] = "2",
        ["Switchboard:Voice:MarkEchoTimeoutSeconds"] = "1",
    };
}

/// <summary>
/// Findings 2026-11-30 §1.3: a media socket that stalls mid-frame (a header announcing 65,535 bytes, a few bytes, then
/// nothing) held its call and provider session for 900 s. Now the receive idle timeout ends the call cleanly.
/// </summary>
[Trait("Category", "Database")]
public sealed class StalledStreamTests(StalledStreamFactory factory) : IClassFixture<StalledStreamFactory>
{
    /// <summary>A masked client text frame (RFC 6455 §5.2).</summary>
    private static byte[] ClientFrame(string text)
    {
        var payload = Encoding.UTF8.GetBytes(text);
        var mask = RandomNumberGenerator.GetBytes(4);
        using var frame = new MemoryStream();
        frame.WriteByte(0x81);
        if (payload.Length < 126)
        {
            frame.WriteByte((byte)(0x80 | payload.Length));
        }
        else
        {
            frame.WriteByte(0x80 | 126);
            frame.WriteByte((byte)(payload.Length >> 8));
            frame.WriteByte((byte)payload.Length);
        }
        frame.Write(mask);
        for (var i = 0; i < payload.Length; i++)
        {
            frame.WriteByte((byte)(payload[i] ^ mask[i % 4]));
        }
        return frame.ToArray();
    }

    [Fact]
    public async Task AStreamStalledMidFrameEndsTheCallAndClosesTheProviderSession()
    {
        var tenant = await factory.CreateTenantAsync(withTwilio: true);
        const string callSid = "CA5ta11ed000000000000000000000001";
        var call = await factory.WithDbAsync(tenant.Id, async db =>
        {
            var c = new global::Switchboard.Calls.Call
            {
                Id = Guid.CreateVersion7(),
                TenantId = tenant.Id,
                Channel = "voice",
                Provider = "twilio",
                ProviderCallId = callSid,
                CallSid = callSid,
                CreatedAt = factory.Clock.GetUtcNow(),
                UpdatedAt = factory.Clock.GetUtcNow(),
            };
            db.Calls.Add(c);
            await db.SaveChangesAsync();
            return c;
        });
        var server = factory.ServerUri;
        var token = factory.Services.GetRequiredService<MediaStreamTokens>().Issue(tenant.Id, call.Id, callSid, null, "fr-CA");
        var path = $"/media/twilio/{token}";
        var signature = TwilioRequestValidator.ComputeSignature($"ws://{server.Authority}{path}", null, TwilioSimulator.AuthToken);
        var sessionsBefore = factory.Provider.Sessions.Count;

        using var tcp = new TcpClient();
        await tcp.ConnectAsync(server.Host, server.Port);
        var stream = tcp.GetStream();
        var upgrade = $"GET {path} HTTP/1.1\r\nHost: {server.Authority}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
                      $"Sec-WebSocket-Key: {Convert.ToBase64String(RandomNumberGenerator.GetBytes(16))}\r\nSec-WebSocket-Version: 13\r\n" +
                      $"X-Twilio-Signature: {signature}\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(upgrade));
        var buffer = new byte[4096];
        var head = Encoding.ASCII.GetString(buffer, 0, await stream.ReadAsync(buffer));
        Assert.StartsWith("HTTP/1.1 101", head, StringComparison.Ordinal);

        await stream.WriteAsync(ClientFrame("""{"event":"connected","protocol":"Call","version":"1.0.0"}"""));
        await stream.WriteAsync(ClientFrame($$$"""{"event":"start","sequenceNumber":"1","start":{"streamSid":"MZstall","callSid":"{{{callSid}}}","tracks":["inbound"],"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1}},"streamSid":"MZstall"}"""));
        var registry = factory.Services.GetRequiredService<BridgeRegistry>();
        await EventuallyAsync(() => registry.Count == 1 && factory.Provider.Sessions.Count > sessionsBefore);
        // A frame header announcing 65,535 bytes (masked), a few bytes of it, then nothing.
        await stream.WriteAsync(new byte[] { 0x81, 0x80 | 126, 0xFF, 0xFF, 1, 2, 3, 4, (byte)'{', (byte)'"', (byte)'e' });

        // The server gives up on the socket: it closes the connection (read returns 0 or fails) well before 900 s.
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        try
        {
            while (await stream.ReadAsync(buffer, deadline.Token) > 0)
            {
            }
        }
        catch (IOException)
        {
        }
        Assert.False(deadline.IsCancellationRequested, "the server kept the stalled socket open");

        await EventuallyAsync(() => registry.Count == 0);
        await EventuallyAsync(() => factory.Provider.Sessions.Skip(sessionsBefore).All(s => s.Closed));
        var ended = await factory.FinishedCallAsync(tenant, callSid);
        Assert.Equal("stream-timeout", ended.EndedReason);
    }

    [Fact]
    public async Task MarksThatAreNeverEchoedDoNotKeepAnIdleCallAlive()
    {
        var tenant = await factory.CreateTenantAsync(withTwilio: true);
        factory.Provider.Script = new ProviderScript
        {
            Greeting = new ScriptedSpeech { Text = "Drain Fortin, bonjour! Ici Paul.", AudioMs = 800 },
            FirstAudioDelayMs = 40,
            DeltaMs = 60,
            Pace = 2,
        };
        var caller = new CallerScript { EchoMarks = false, ListenTimeoutMs = 30000, Steps = [new() { Listen = true }, new() { WaitForHangup = true }] };
        using var stop = new CancellationTokenSource();
        // Silence passes on the server's clock (3 s every 300 ms of real time); the marks of the greeting never come back.
        var clock = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await Task.Delay(300);
                factory.Clock.Advance(TimeSpan.FromSeconds(3));
            }
        });
        SimulatedCall twilio;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            twilio = await factory.Twilio().PlaceCallAsync(tenant.Id, caller, timeout.Token);
        }
        finally
        {
            await stop.CancelAsync();
            await clock;
        }

        Assert.True(twilio.ServerEnded, string.Join('\n', twilio.Timeline));
        Assert.Equal(0, twilio.MarksEchoed);
        var call = await factory.FinishedCallAsync(tenant, twilio.CallSid);
        Assert.Equal("idle-timeout", call.EndedReason); // not max-duration: the unechoed marks were dropped
    }

    private static async Task EventuallyAsync(Func<bool> condition, int timeoutMs = 10000)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (!condition() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }
        Assert.True(condition(), "condition not met in time");
    }
}
