using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Reliability;

/// <summary>The real Kestrel listener on 127.0.0.1 port 0 (Kestrel, not the test server, is what refuses <c>%00</c>).</summary>
public sealed class KestrelFactory : SwitchboardFactory
{
    public KestrelFactory() => UseKestrel(o => o.Listen(IPAddress.Loopback, 0));

    internal Uri ServerUri
    {
        get
        {
            StartServer();
            return new Uri(Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        }
    }
}

/// <summary>E1 of shared/findings/reliability-2026-11-30.md: <c>%00</c> in any path got a 400 with an empty body.</summary>
public sealed class RejectedRequestEnvelopeTests(KestrelFactory factory) : IClassFixture<KestrelFactory>
{
    private async Task<string> RawAsync(string requestLine, string extraHeaders = "")
    {
        using var client = new TcpClient();
        await client.ConnectAsync(factory.ServerUri.Host, factory.ServerUri.Port);
        var stream = client.GetStream();
        var request = $"{requestLine}\r\nHost: localhost\r\nConnection: close\r\n{extraHeaders}\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        using var reader = new StreamReader(stream, Encoding.UTF8);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        return await reader.ReadToEndAsync(cts.Token); // Kestrel closes the connection after a rejection
    }

    private static JsonElement EnvelopeOf(string response, string status)
    {
        Assert.StartsWith($"HTTP/1.1 {status}", response);
        var split = response.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var head = response[..split];
        var body = response[(split + 4)..];
        Assert.Contains("Content-Type: application/json", head);
        Assert.Contains($"Content-Length: {Encoding.UTF8.GetByteCount(body)}", head);
        return JsonDocument.Parse(body).RootElement.GetProperty("error");
    }

    [Theory]
    [InlineData("GET /api/v1/calls/%00 HTTP/1.1")]
    [InlineData("GET /%00 HTTP/1.1")]
    [InlineData("POST /webhooks/vapi/%00abc HTTP/1.1")]
    [InlineData("GET /api/v1/calls?x=1/%00 HTTP/1.1")]
    public async Task E1NulInAPathIsA400WithTheErrorEnvelope(string requestLine)
    {
        var response = await RawAsync(requestLine, requestLine.StartsWith("POST") ? "Content-Length: 0\r\n" : "");

        if (requestLine.Contains('?'))
        {
            // %00 in the query is the application's to judge: routed, answered with an envelope (401 without a key).
            Assert.Contains("\"error\"", response);
            return;
        }
        var error = EnvelopeOf(response, "400");
        Assert.Equal("MALFORMED_REQUEST", error.GetProperty("code").GetString());
        Assert.False(string.IsNullOrEmpty(error.GetProperty("traceId").GetString()));
    }

    [Fact]
    public async Task OrdinaryResponsesPassThroughUnchanged()
    {
        using var http = new HttpClient { BaseAddress = factory.ServerUri };
        var health = await http.GetAsync("/api/v1/calls");
        Assert.Equal(HttpStatusCode.Unauthorized, health.StatusCode);
        Assert.Contains("\"error\"", await health.Content.ReadAsStringAsync());
        var ok = await http.GetAsync("/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        using var doc = JsonDocument.Parse(await ok.Content.ReadAsStringAsync());
    }
}
