using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Billing;
using Switchboard.Simulators;
using Switchboard.Tenancy;
using Switchboard.Tests.Realtime;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Widget;

/// <summary>
/// The host on Kestrel with the realtime provider simulator, serving the built widget (<c>widget/dist</c>), and widget
/// tenants (publishable key, allowed origins).
/// </summary>
public sealed class WidgetVoiceFactory : VoiceFactory
{
    public const string SiteOrigin = "https://www.drainfortin.example";

    protected override IDictionary<string, string?> MoreSettings => new Dictionary<string, string?>
    {
        ["Switchboard:Widget:CloserEnabled"] = "false",
        ["Switchboard:Retention:WorkerEnabled"] = "false",
        ["Switchboard:Widget:AllowLocalHttpOrigins"] = "true",
        // A cold host on a loaded machine (the browser suite runs beside everything else) may take more than VoiceFactory's
        // 2 s to open the first provider session; these tests are not about the provider failing over.
        ["Switchboard:Realtime:ConnectTimeoutMs"] = "15000",
        ["Switchboard:Web:WidgetPath"] = Path.Combine(Fixtures.RepositoryRoot, "widget", "dist"),
    };

    /// <summary>A tenant with a publishable key, <see cref="SiteOrigin"/> allowed, on <paramref name="plan"/>.</summary>
    internal async Task<WidgetTenant> CreateWidgetTenantAsync(string plan = "pro", params string[] origins)
    {
        var tenant = await CreateTenantAsync(withTwilio: true);
        var (key, _, hash) = PublishableKeys.Generate();
        await WithDbAsync(tenant.Id, async db =>
        {
            db.ApiKeys.Add(new ApiKey
            {
                Id = Guid.CreateVersion7(), TenantId = tenant.Id, Name = "widget", Kind = ApiKeyKinds.Publishable, Prefix = key[..12], Hash = hash, CreatedAt = Clock.GetUtcNow(),
            });
            var account = await TenantAccounts.GetOrCreateAsync(db, Services.GetRequiredService<PlanCatalog>(), tenant.Id, Clock.GetUtcNow(), CancellationToken.None);
            account.AllowedOrigins = origins.Length > 0 ? [.. origins] : [SiteOrigin];
            account.PlanId = plan;
            return await db.SaveChangesAsync();
        });
        Services.GetRequiredService<TenantAccountCache>().Invalidate(tenant.Id);
        return new WidgetTenant(tenant, key);
    }

    internal async Task SetPlanAsync(Guid tenantId, string plan)
    {
        await WithDbAsync(tenantId, async db =>
        {
            (await db.TenantAccounts.SingleAsync(a => a.TenantId == tenantId)).PlanId = plan;
            return await db.SaveChangesAsync();
        });
        Services.GetRequiredService<TenantAccountCache>().Invalidate(tenantId);
    }

    internal HttpClient Browser(string? origin = SiteOrigin)
    {
        var client = new HttpClient { BaseAddress = ServerUri };
        if (origin is not null)
        {
            client.DefaultRequestHeaders.Add("Origin", origin);
        }
        return client;
    }
}

/// <summary>
/// Widget voice over real sockets: a .NET <see cref="ClientWebSocket"/> plays the widget (PCM16 24 kHz in the Twilio Media
/// Streams framing) against Kestrel, the media bridge and the realtime provider simulator.
/// </summary>
[Trait("Category", "Database")]
public sealed class WidgetVoiceTests(WidgetVoiceFactory factory) : IClassFixture<WidgetVoiceFactory>
{
    private const string Origin = WidgetVoiceFactory.SiteOrigin;

    private static async Task<(HttpResponseMessage Response, JsonNode? Body)> StartAsync(HttpClient client, WidgetTenant tenant, object? body = null)
    {
        var response = await client.PostAsJsonAsync("/widget/v1/voice/sessions" + tenant.Q,
            body ?? new { visitorId = "visitor-" + Guid.NewGuid().ToString("N")[..10], language = "en", pageUrl = Origin + "/?utm_source=google", referrer = "" });
        var text = await response.Content.ReadAsStringAsync();
        return (response, text.Length > 0 ? JsonNode.Parse(text) : null);
    }

    private Uri SocketUri(string relative) => new(new Uri(factory.ServerUri.ToString().Replace("http://", "ws://")), relative);

    /// <summary>Tries an upgrade; returns the HTTP status of a refusal (101 when it connected) and the refusal's body.</summary>
    private async Task<(int Status, string Body)> TryConnectAsync(string relative, string? origin)
    {
        using var ws = new ClientWebSocket();
        ws.Options.CollectHttpResponseDetails = true;
        if (origin is not null)
        {
            ws.Options.SetRequestHeader("Origin", origin);
        }
        try
        {
            await ws.ConnectAsync(SocketUri(relative), CancellationToken.None);
            ws.Abort();
            return (101, "");
        }
        catch (WebSocketException)
        {
            return ((int)ws.HttpStatusCode, "");
        }
    }

    /// <summary>Steady PCM16 mono 24 kHz audio: a 440 Hz tone (speech to the simulator's VAD) or silence.</summary>
    private static byte[] Pcm16(int ms, bool tone)
    {
        var samples = ms * 24;
        var bytes = new byte[samples * 2];
        for (var i = 0; i < samples && tone; i++)
        {
            BinaryPrimitives.WriteInt16LittleEndian(bytes.AsSpan(i * 2), (short)(6000 * Math.Sin(2 * Math.PI * 440 * i / 24000.0)));
        }
        return bytes;
    }

    private static async Task SendAsync(ClientWebSocket ws, object message) =>
        await ws.SendAsync(JsonSerializer.SerializeToUtf8Bytes(message), WebSocketMessageType.Text, true, CancellationToken.None);

    private static async Task SendAudioAsync(ClientWebSocket ws, int ms, bool tone)
    {
        for (var sent = 0; sent < ms; sent += 100)
        {
            await SendAsync(ws, new { @event = "media", media = new { payload = Convert.ToBase64String(Pcm16(100, tone)) } });
        }
    }

    /// <summary>The widget's side of the socket: what arrived, and marks echoed when <see cref="EchoMarks"/> (audio "played").</summary>
    private sealed class WebClient(ClientWebSocket ws)
    {
        public ConcurrentQueue<string> Events { get; } = new();
        public ConcurrentQueue<(string Role, string Text)> Transcripts { get; } = new();
        public long AudioBytes;
        public int Clears;
        public volatile bool EchoMarks = true;

        public async Task RunAsync()
        {
            var buffer = new byte[1 << 20];
            try
            {
                while (ws.State == WebSocketState.Open)
                {
                    var count = 0;
                    ValueWebSocketReceiveResult result;
                    do
                    {
                        result = await ws.ReceiveAsync(buffer.AsMemory(count), CancellationToken.None);
                        count += result.Count;
                    }
                    while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        return;
                    }
                    var json = JsonNode.Parse(Encoding.UTF8.GetString(buffer, 0, count))!;
                    var type = json["event"]!.GetValue<string>();
                    Events.Enqueue(type);
                    switch (type)
                    {
                        case "media":
                            var pcm = Convert.FromBase64String(json["media"]!["payload"]!.GetValue<string>());
                            Assert.Equal(0, pcm.Length % 2); // PCM16 samples, passed through whole
                            Interlocked.Add(ref AudioBytes, pcm.Length);
                            break;
                        case "mark" when EchoMarks:
                            await SendAsync(ws, new { @event = "mark", mark = new { name = json["mark"]!["name"]!.GetValue<string>() } });
                            break;
                        case "clear":
                            Interlocked.Increment(ref Clears);
                            break;
                        case "transcript":
                            Transcripts.Enqueue((json["role"]!.GetValue<string>(), json["text"]!.GetValue<string>()));
                            break;
                    }
                }
            }
            catch (WebSocketException)
            {
            }
        }
    }

    private static async Task EventuallyAsync(Func<bool> condition, string what, int timeoutMs = 10000)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (!condition() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }
        Assert.True(condition(), what);
    }

    [Fact]
    public async Task AVisitorHearsTheGreetingSpeaksInterruptsAndLeavesAnEmergencyLeadLikeACall()
    {
        var tenant = await factory.CreateWidgetTenantAsync();
        factory.Provider.Script = new ProviderScript
        {
            Greeting = new ScriptedSpeech { Text = "Drain Fortin, hello! How can I help?", AudioMs = 4000 },
            FirstAudioDelayMs = 40,
            DeltaMs = 100,
            Pace = 1,
            Turns =
            [
                new ScriptedTurn
                {
                    Hears = "My basement is flooding, call me at 514 555 0142.",
                    Tool = new ScriptedTool
                    {
                        Name = "capture_lead",
                        Arguments = JsonSerializer.SerializeToElement(new { name = "Marc Tremblay", phone = "+15145550142", problem = "Basement flooding", urgency = "emergency" }),
                    },
                    Says = new ScriptedSpeech { Text = "The on-call plumber has been alerted.", AudioMs = 600 },
                },
            ],
        };
        using var client = factory.Browser();
        var (response, body) = await StartAsync(client, tenant);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(Origin, response.Headers.GetValues("Access-Control-Allow-Origin").Single());
        var sessionsBefore = factory.Provider.Sessions.Count;

        using var ws = new ClientWebSocket();
        ws.Options.SetRequestHeader("Origin", Origin);
        await ws.ConnectAsync(SocketUri(body!["url"]!.GetValue<string>()), CancellationToken.None);
        var web = new WebClient(ws) { EchoMarks = false }; // the greeting is "still playing": its marks are not echoed
        var receiving = Task.Run(web.RunAsync);
        await SendAsync(ws, new { @event = "start", start = new { streamSid = "web-1" } });

        // The greeting's audio arrives, as 24 kHz PCM16 asked of the provider (no transcoding).
        await EventuallyAsync(() => Interlocked.Read(ref web.AudioBytes) >= 4800 && web.Events.Contains("mark"), "greeting audio and a mark");
        var session = factory.Provider.Sessions.Skip(sessionsBefore).Single();
        Assert.Equal("audio/pcm", session.Format);

        // The visitor talks over the greeting: the server tells the widget to drop its queued playback.
        await SendAudioAsync(ws, 600, tone: true);
        await EventuallyAsync(() => web.Clears == 1, "clear on barge-in");
        // The truncation goes to the provider on its own socket: it may land just after the clear reaches the widget.
        await EventuallyAsync(() => session.Truncations.Count >= 1, "truncation on barge-in");
        Assert.Single(session.Truncations);
        web.EchoMarks = true;
        await SendAudioAsync(ws, 900, tone: false);

        // The spoken turn becomes a transcript turn on both sides, and the assistant answers.
        await EventuallyAsync(() => web.Transcripts.Any(t => t.Role == "user" && t.Text.Contains("basement")), "user transcript");
        await EventuallyAsync(() => web.Transcripts.Any(t => t.Role == "assistant" && t.Text.Contains("on-call plumber")), "assistant transcript");
        Assert.Contains(web.Transcripts, t => t.Role == "assistant" && t.Text.StartsWith("Drain Fortin, hello", StringComparison.Ordinal)); // the interrupted greeting

        await SendAsync(ws, new { @event = "stop" });
        await receiving.WaitAsync(TimeSpan.FromSeconds(10));

        // The conversation is a web call of type webVoice, finished through the post-call pipeline like a phone call.
        var id = Guid.Parse(body["id"]!.GetValue<string>());
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (!await factory.WithDbAsync(tenant.Id, db => db.WebConversations.AnyAsync(c => c.Id == id && c.EndedAt != null)) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50); // the idle chat closer must leave a finished voice conversation alone
        }
        var call = await EventuallyCallAsync(tenant, id);
        Assert.Equal(("web", "widget", "webVoice", "completed"), (call.Channel, call.Provider, call.Type, call.Status));
        Assert.True(call.Analyzed);
        Assert.NotNull(call.DurationSeconds); // metered as call seconds
        Assert.Contains("user: My basement is flooding", call.TranscriptText);
        var lead = await factory.WithDbAsync(tenant.Id, db => db.Leads.SingleAsync(l => l.CallId == call.Id));
        Assert.Equal(("emergency", "+15145550142"), (lead.Urgency, lead.Phone));
        await factory.Outbox.DrainAsync(CancellationToken.None);
        var sms = await factory.WithDbAsync(tenant.Id, db => db.SmsMessages.Where(s => s.CallId == call.Id).ToListAsync());
        Assert.Equal(("emergency-alert", "+15145550111"), (Assert.Single(sms).Purpose, sms[0].To));
        var conversation = await factory.WithDbAsync(tenant.Id, db => db.WebConversations.SingleAsync(c => c.Id == id));
        Assert.Equal("google", conversation.UtmSource);

        // The token opened one socket: the conversation is over.
        var (again, _) = await TryConnectAsync(body["url"]!.GetValue<string>(), Origin);
        Assert.Equal(409, again);
    }

    private async Task<global::Switchboard.Calls.Call> EventuallyCallAsync(WidgetTenant tenant, Guid conversationId)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            var call = await factory.WithDbAsync(tenant.Id, db => db.WebConversations.Where(c => c.Id == conversationId)
                .Join(db.Calls, c => c.CallId, k => k.Id, (c, k) => k).AsNoTracking().SingleAsync());
            if (call.TranscriptFinal || DateTime.UtcNow > deadline)
            {
                return call;
            }
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task AWrongOriginKeyOrTokenIsRefusedBeforeTheUpgrade()
    {
        var tenant = await factory.CreateWidgetTenantAsync();
        var other = await factory.CreateWidgetTenantAsync();
        using var client = factory.Browser();
        var (_, body) = await StartAsync(client, tenant);
        var token = body!["token"]!.GetValue<string>();
        var good = body["url"]!.GetValue<string>();
        var sessionsBefore = factory.Provider.Sessions.Count;

        Assert.Equal(403, (await TryConnectAsync(good, "https://evil.example")).Status);
        Assert.Equal(403, (await TryConnectAsync(good, null)).Status); // a socket without an Origin never chats
        Assert.Equal(401, (await TryConnectAsync($"/widget/v1/voice?key=pk_live_nope&token={Uri.EscapeDataString(token)}", Origin)).Status);
        Assert.Equal(401, (await TryConnectAsync($"/widget/v1/voice{tenant.Q}&token=forged", Origin)).Status);
        Assert.Equal(401, (await TryConnectAsync($"/widget/v1/voice{tenant.Q}", Origin)).Status);
        // Tenant isolation: another tenant's key (same origin allowed) with this tenant's token.
        Assert.Equal(401, (await TryConnectAsync($"/widget/v1/voice{other.Q}&token={Uri.EscapeDataString(token)}", Origin)).Status);
        // A chat token is not a voice token.
        var chat = await client.PostAsJsonAsync("/widget/v1/conversations" + tenant.Q, new { visitorId = "visitor-chat-1", language = "en" });
        var chatToken = JsonNode.Parse(await chat.Content.ReadAsStringAsync())!["token"]!.GetValue<string>();
        Assert.Equal(401, (await TryConnectAsync($"/widget/v1/voice{tenant.Q}&token={Uri.EscapeDataString(chatToken)}", Origin)).Status);

        // A plain GET is told to upgrade, in the envelope.
        var plain = await client.GetAsync(good);
        Assert.Equal(HttpStatusCode.BadRequest, plain.StatusCode);
        Assert.Equal("WEBSOCKET_REQUIRED", JsonNode.Parse(await plain.Content.ReadAsStringAsync())!["error"]!["code"]!.GetValue<string>());
        Assert.Equal(sessionsBefore, factory.Provider.Sessions.Count); // no provider session was opened
    }

    [Fact]
    public async Task APlanWithoutVoiceIsRefusedAndTheWidgetStaysInText()
    {
        var tenant = await factory.CreateWidgetTenantAsync(plan: "pro");
        using var client = factory.Browser();
        var (_, body) = await StartAsync(client, tenant); // a token issued while the plan had voice
        await factory.SetPlanAsync(tenant.Id, "starter");
        var calls = await factory.WithDbAsync(tenant.Id, db => db.Calls.CountAsync());

        var (response, refused) = await StartAsync(client, tenant);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("FEATURE_NOT_IN_PLAN", refused!["error"]!["code"]!.GetValue<string>());
        Assert.Equal(403, (await TryConnectAsync(body!["url"]!.GetValue<string>(), Origin)).Status);
        Assert.Equal(calls, await factory.WithDbAsync(tenant.Id, db => db.Calls.CountAsync())); // nothing stored

        var config = JsonNode.Parse(await client.GetStringAsync("/widget/v1/config" + tenant.Q))!;
        Assert.Equal(["chat"], config["modes"]!.AsArray().Select(m => m!.GetValue<string>()));
        await factory.SetPlanAsync(tenant.Id, "pro");
        config = JsonNode.Parse(await client.GetStringAsync("/widget/v1/config" + tenant.Q))!;
        Assert.Equal(["chat", "voice"], config["modes"]!.AsArray().Select(m => m!.GetValue<string>()));
    }

    [Fact]
    public async Task BadStartInputIsAnEnvelopeAndStoresNothing()
    {
        var tenant = await factory.CreateWidgetTenantAsync();
        using var client = factory.Browser();
        var calls = await factory.WithDbAsync(tenant.Id, db => db.Calls.CountAsync());

        var malformed = await client.PostAsync("/widget/v1/voice/sessions" + tenant.Q, new StringContent("{nope", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        var (invalid, body) = await StartAsync(client, tenant, new { visitorId = "x", language = "english" });
        Assert.Equal(HttpStatusCode.UnprocessableEntity, invalid.StatusCode);
        Assert.NotNull(body!["error"]!["code"]);
        using var noOrigin = factory.Browser(origin: null);
        Assert.Equal(HttpStatusCode.Forbidden, (await StartAsync(noOrigin, tenant)).Response.StatusCode);
        using var wrongOrigin = factory.Browser("https://evil.example");
        Assert.Equal(HttpStatusCode.Forbidden, (await StartAsync(wrongOrigin, tenant)).Response.StatusCode);
        Assert.Equal(calls, await factory.WithDbAsync(tenant.Id, db => db.Calls.CountAsync()));
    }
}
