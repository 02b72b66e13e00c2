using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Switchboard.Twilio;
using Switchboard.Widget;

namespace Switchboard.Tests.Widget;

/// <summary>Widget voice whose speech provider cannot be reached: the visitor is told, in their language, to write in the chat.</summary>
[Trait("Category", "Database")]
public sealed class WebVoiceFallbackTests(WidgetVoiceFactory factory) : IClassFixture<WidgetVoiceFactory>
{
    [Theory]
    [InlineData("fr", "clavardage")]
    [InlineData("es", "chat de abajo")]
    [InlineData("he", "בצ'אט")]
    public async Task AnUnreachableProviderGivesTheVisitorWebWordingAndStaffAWebAlert(string language, string words)
    {
        var tenant = await factory.CreateWidgetTenantAsync();
        await factory.WithDbAsync(tenant.Id, async db =>
        {
            (await db.Tenants.SingleAsync(t => t.Id == tenant.Id)).RealtimeBaseUrl = "ws://127.0.0.1:9/v1/realtime"; // nothing listens on the discard port
            return await db.SaveChangesAsync();
        });
        using var client = factory.Browser();
        var start = await client.PostAsJsonAsync("/widget/v1/voice/sessions" + tenant.Q,
            new { visitorId = "visitor-" + Guid.NewGuid().ToString("N")[..10], language, pageUrl = WidgetVoiceFactory.SiteOrigin + "/", referrer = "" });
        Assert.Equal(HttpStatusCode.Created, start.StatusCode);
        var session = JsonNode.Parse(await start.Content.ReadAsStringAsync())!;

        using var ws = new ClientWebSocket();
        ws.Options.SetRequestHeader("Origin", WidgetVoiceFactory.SiteOrigin);
        await ws.ConnectAsync(new Uri(factory.ServerUri.ToString().Replace("http://", "ws://") + session["url"]!.GetValue<string>().TrimStart('/')), CancellationToken.None);
        await ws.SendAsync(JsonSerializer.SerializeToUtf8Bytes(new { @event = "start", start = new { streamSid = "web-fallback" } }), WebSocketMessageType.Text, true, CancellationToken.None);

        // Everything the server sends until it closes the socket.
        var transcripts = new List<(string Role, string Text)>();
        var buffer = new byte[1 << 16];
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (ws.State == WebSocketState.Open)
        {
            var count = 0;
            WebSocketReceiveResult result;
            do
            {
                result = await ws.ReceiveAsync(new ArraySegment<byte>(buffer, count, buffer.Length - count), deadline.Token);
                count += result.Count;
            }
            while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                break;
            }
            var json = JsonNode.Parse(Encoding.UTF8.GetString(buffer, 0, count))!;
            if (json["event"]!.GetValue<string>() == "transcript")
            {
                transcripts.Add((json["role"]!.GetValue<string>(), json["text"]!.GetValue<string>()));
            }
        }

        var said = Assert.Single(transcripts);
        Assert.Equal(("assistant", WebVoiceFallback.For(language)), said);
        Assert.Contains(words, said.Text);
        Assert.DoesNotContain("tone", said.Text, StringComparison.OrdinalIgnoreCase); // not the phone's "after the tone"

        var id = Guid.Parse(session["id"]!.GetValue<string>());
        var callId = await factory.WithDbAsync(tenant.Id, db => db.WebConversations.Where(c => c.Id == id).Select(c => c.CallId).SingleAsync());
        var end = DateTime.UtcNow.AddSeconds(15);
        string? reason = null;
        while (DateTime.UtcNow < end && (reason = await factory.WithDbAsync(tenant.Id, db => db.Calls.Where(c => c.Id == callId).Select(c => c.EndedReason).SingleAsync())) != NativeCallStatus.ProviderUnreachable)
        {
            await Task.Delay(50);
        }
        Assert.Equal(NativeCallStatus.ProviderUnreachable, reason);
        var alert = await factory.WithDbAsync(tenant.Id, db => db.SmsMessages.SingleAsync(s => s.Purpose == "voice-failure"));
        Assert.DoesNotContain("leave a message", alert.Body);
        Assert.DoesNotContain("laissent un message", alert.Body);
        Assert.True(alert.Body.Contains("chat", StringComparison.Ordinal) || alert.Body.Contains("clavardage", StringComparison.Ordinal), alert.Body);
    }
}
