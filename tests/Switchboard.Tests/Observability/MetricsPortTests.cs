using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Observability;

/// <summary>A host listening on its public port and on a separate metrics port (<c>Switchboard:Observability:MetricsPort</c>).</summary>
public sealed class MetricsPortFactory : SwitchboardFactory
{
    public int MetricsPort { get; } = FreePort();

    public MetricsPortFactory() => UseKestrel(o =>
    {
        o.Listen(IPAddress.Loopback, 0);
        o.Listen(IPAddress.Loopback, MetricsPort);
    });

    protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>
    {
        ["Switchboard:Observability:MetricsPort"] = MetricsPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>The public listener, e.g. <c>http://127.0.0.1:41234</c>.</summary>
    public Uri PublicUri
    {
        get
        {
            StartServer();
            return Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses
                .Select(a => new Uri(a)).First(u => u.Port != MetricsPort);
        }
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}

/// <summary>
/// With a metrics port, <c>/metrics</c> is anonymous there and nowhere else: the connection's port decides, not the Host
/// header; <c>/metrics/voice</c> stays behind operator sessions on every port.
/// </summary>
public sealed class MetricsPortTests(MetricsPortFactory factory) : IClassFixture<MetricsPortFactory>
{
    [Fact]
    public async Task MetricsAreAnonymousOnTheirOwnPortOnlyWhateverTheHostHeaderSays()
    {
        var publicUri = factory.PublicUri;
        using var http = new HttpClient();

        using var scraped = await http.GetAsync($"http://127.0.0.1:{factory.MetricsPort}/metrics");
        Assert.Equal(HttpStatusCode.OK, scraped.StatusCode);
        Assert.Contains("# TYPE switchboard_outbox_depth gauge", await scraped.Content.ReadAsStringAsync());

        using var onPublic = await http.GetAsync(new Uri(publicUri, "/metrics"));
        Assert.Equal(HttpStatusCode.NotFound, onPublic.StatusCode);

        // The public port, claiming to be the metrics port in its Host header.
        using var spoofed = new HttpRequestMessage(HttpMethod.Get, new Uri(publicUri, "/metrics"));
        spoofed.Headers.Host = $"127.0.0.1:{factory.MetricsPort}";
        using var spoofedResponse = await http.SendAsync(spoofed);
        Assert.Equal(HttpStatusCode.NotFound, spoofedResponse.StatusCode);
        Assert.DoesNotContain("switchboard_outbox_depth", await spoofedResponse.Content.ReadAsStringAsync());

        using var voice = await http.GetAsync(new Uri(publicUri, "/metrics/voice"));
        Assert.Equal(HttpStatusCode.Unauthorized, voice.StatusCode);
        using var voiceOnMetricsPort = await http.GetAsync($"http://127.0.0.1:{factory.MetricsPort}/metrics/voice");
        Assert.Equal(HttpStatusCode.Unauthorized, voiceOnMetricsPort.StatusCode);
    }
}
