using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Switchboard.Simulators;

namespace Switchboard.Tests.Widget;

/// <summary>The widget host on a real Kestrel listener (127.0.0.1, any port), every log record captured: for visitors whose connection drops.</summary>
public sealed class WidgetSocketFactory : WidgetFactory
{
    public WidgetSocketFactory() => UseKestrel(o => o.Listen(IPAddress.Loopback, 0));

    /// <summary>The web chat's own Debug lines too (a visitor who left), on top of every Warning and Error.</summary>
    protected override IDictionary<string, string?> MoreSettings => new Dictionary<string, string?> { ["Logging:LogLevel:Switchboard.Widget"] = "Debug" };

    /// <summary>Every log record of the host (Microsoft.Extensions.Diagnostics.Testing).</summary>
    internal FakeLogCollector Logs { get; } = new();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.ConfigureLogging(logging => logging.AddProvider(new FakeLoggerProvider(Logs)));
    }

    /// <summary>The listener's address, e.g. <c>http://127.0.0.1:41234/</c>.</summary>
    internal Uri ServerUri
    {
        get
        {
            StartServer();
            return new Uri(Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        }
    }
}

/// <summary>Web chat visitors whose connection goes away: mid-body (a TCP reset) and before the reply is complete.</summary>
[Trait("Category", "Database")]
public sealed class WebChatDisconnectTests(WidgetSocketFactory factory) : IClassFixture<WidgetSocketFactory>
{
    [Fact]
    public async Task AVisitorWhoResetsTheConnectionMidMessageIsNeitherAnErrorNorA500()
    {
        var uri = factory.ServerUri;
        var t = await factory.CreateWidgetTenantAsync();
        var visitor = new Visitor(factory.Browser(), t);
        Assert.Equal(HttpStatusCode.Created, (await visitor.StartAsync()).StatusCode);
        var meters = factory.Services.GetRequiredService<IMeterFactory>();
        using var started = new MetricCollector<long>(meters, "Microsoft.AspNetCore.Hosting", "http.server.active_requests");
        using var durations = new MetricCollector<double>(meters, "Microsoft.AspNetCore.Hosting", "http.server.request.duration");
        const int Attempts = 12; // the reset reaches the body reader before or after Kestrel marks the request aborted: both orders, in a few tries
        for (var i = 0; i < Attempts; i++)
        {
            var before = started.GetMeasurementSnapshot().Count(m => m.Value > 0);
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { LingerState = new LingerOption(true, 0) };
            await socket.ConnectAsync(IPAddress.Loopback, uri.Port);
            var head = $"POST /widget/v1/conversations/{visitor.Id}/messages{t.Q} HTTP/1.1\r\nHost: {uri.Authority}\r\nOrigin: {WidgetFactory.SiteOrigin}\r\n" +
                $"Authorization: Bearer {visitor.Token}\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n{{\"text\":\"Bonjour, mon sous-sol";
            await socket.SendAsync(Encoding.ASCII.GetBytes(head));
            // The host has the request (headers and part of the body) before the reset: bounded wait for it to start.
            for (var w = 0; w < 400 && started.GetMeasurementSnapshot().Count(m => m.Value > 0) == before; w++)
            {
                await Task.Delay(5);
            }
            socket.Close(); // linger 0: an RST, not a FIN
        }
        // Every request is recorded once it is over; bounded wait for the host to finish them all.
        for (var i = 0; i < 200 && durations.GetMeasurementSnapshot().Count < Attempts; i++)
        {
            await Task.Delay(25);
        }
        var statuses = durations.GetMeasurementSnapshot().Select(m => m.Tags.TryGetValue("http.response.status_code", out var s) ? Convert.ToInt32(s, System.Globalization.CultureInfo.InvariantCulture) : 0).ToList();
        Assert.Equal(Attempts, statuses.Count);
        Assert.DoesNotContain(statuses, s => s >= 500);
        Assert.Equal([], Errors());
        Assert.Equal(0, await factory.WithDbAsync(t.Id, db => db.TranscriptTurns.CountAsync())); // nothing of a message never received was kept

        var reply = await visitor.SayAsync("Bonjour"); // and the conversation goes on
        Assert.NotEmpty(reply.Text);
    }

    [Fact]
    public async Task AReplyWhoseVisitorLeftIsStillStoredAndShownOnResume()
    {
        var t = await factory.CreateWidgetTenantAsync();
        await using var model = await ChatModelSimulator.StartAsync();
        await factory.UseModelAsync(t.Id, model.BaseUrl);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        model.Script.Enqueue(new SimChatReply.Gated(release.Task, "Bonjour! ", "Un technicien ", "vous rappelle."));
        var uri = factory.ServerUri;
        var client = factory.Browser();
        var visitor = new Visitor(client, t);
        Assert.Equal(HttpStatusCode.Created, (await visitor.StartAsync()).StatusCode);

        using (var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { LingerState = new LingerOption(true, 0) })
        {
            await socket.ConnectAsync(IPAddress.Loopback, uri.Port);
            var body = Encoding.UTF8.GetBytes("{\"text\":\"Avez-vous un technicien ce soir?\"}");
            var head = $"POST /widget/v1/conversations/{visitor.Id}/messages{t.Q} HTTP/1.1\r\nHost: {uri.Authority}\r\nOrigin: {WidgetFactory.SiteOrigin}\r\n" +
                $"Authorization: Bearer {visitor.Token}\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\n\r\n";
            await socket.SendAsync(Encoding.ASCII.GetBytes(head).Concat(body).ToArray());
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            var received = new StringBuilder();
            var buffer = new byte[4096];
            while (!received.ToString().Contains("Bonjour", StringComparison.Ordinal))
            {
                var n = await socket.ReceiveAsync(buffer, timeout.Token);
                Assert.True(n > 0, "the stream ended before the first words: " + received);
                received.Append(Encoding.UTF8.GetString(buffer, 0, n));
            }
            socket.Close(); // the visitor's tab closes with the first words on screen (an RST)
        }
        // The host notices the visitor left (bounded wait), then the model finishes its answer.
        for (var i = 0; i < 200 && !factory.Logs.GetSnapshot().Any(r => r.Message.Contains($"left conversation {visitor.Id}", StringComparison.Ordinal)); i++)
        {
            await Task.Delay(25);
        }
        release.SetResult();

        JsonArray? messages = null;
        for (var i = 0; i < 200 && messages?.Count != 2; i++)
        {
            await Task.Delay(25);
            var resumed = await ResumeAsync(client, t, visitor);
            messages = resumed["messages"]!.AsArray();
        }
        Assert.Equal(["user", "assistant"], messages!.Select(m => m!["role"]!.GetValue<string>()));
        Assert.Equal("Bonjour! Un technicien vous rappelle.", messages![1]!["text"]!.GetValue<string>());
        Assert.Equal([], Errors());
    }

    /// <summary>
    /// The host's Error and Critical lines so far, as text, except Kestrel's own "automatic draining of the request body failed
    /// because the body reader is in an invalid state" after a reset mid-body: Kestrel leaves its body reader in the reading state
    /// when the connection resets under a pending read (dotnet/aspnetcore#17840, open), which no application code can avoid.
    /// </summary>
    private List<string> Errors() =>
        factory.Logs.GetSnapshot().Where(r => r.Level >= LogLevel.Error && !r.Message.Contains("automatic draining of the request body failed", StringComparison.Ordinal)).Select(r => $"{r.Message} {r.Exception?.GetType().Name}: {r.Exception?.Message}").ToList();

    private static async Task<JsonObject> ResumeAsync(HttpClient client, WidgetTenant t, Visitor visitor)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/widget/v1/conversations/{visitor.Id}{t.Q}");
        request.Headers.Authorization = new("Bearer", visitor.Token);
        using var response = await client.SendAsync(request);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
    }
}
