using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Switchboard.Credentials;
using Switchboard.Platform.Net;
using Switchboard.Realtime;
using Switchboard.Realtime.Bridge;
using Switchboard.Tests.Support;
using Switchboard.Tests.Webhooks;

namespace Switchboard.Tests.Platform;

/// <summary>
/// The one outbound SSRF policy (findings 2026-11-30 §5): the probe's 83 targets, each through the webhook rules and
/// the OpenAI base URL rules as deployed (no private networks, https only); only the three public controls pass.
/// </summary>
public sealed class OutboundPolicyTests
{
    private const int Port = 18443;

    /// <summary>The public address literals the probe used as controls: accepted, never contacted.</summary>
    public static readonly string[] Controls = ["93.184.216.34", "8.8.8.8", "[2606:4700:4700::1111]"];

    /// <summary>Hosts (with scheme tricks where noted) that must be refused, grouped as in §5.</summary>
    public static TheoryData<string> ProbeTargets()
    {
        var hosts = new[]
        {
            // Loopback and local names (the last two are in this machine's hosts file, as on the probe's).
            "127.0.0.1", "127.1", "127.0.0.2", "0.0.0.0", "0", "localhost", "localhost.", "vm", "runsc",
            // IPv6 forms of loopback and metadata: mapped, compatible, NAT64, 6to4.
            "[::1]", "[::]", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "[::ffff:169.254.169.254]", "[::127.0.0.1]",
            "[::169.254.169.254]", "[64:ff9b::127.0.0.1]", "[64:ff9b::a9fe:a9fe]", "[64:ff9b::a00:1]", "[2002:7f00:1::1]",
            "[2002:a9fe:a9fe::1]", "[64:ff9b:1::808:808]", "[::ffff:0:7f00:1]",
            // Encodings of 127.0.0.1 and 169.254.169.254.
            "2130706433", "0x7f000001", "0x7f.0.0.1", "0177.0.0.1", "017700000001", "127.0.1", "0x7f.1",
            "2852039166", "0xa9fea9fe", "0251.0376.0251.0376", "169.254.43518", "0xA9.0xFE.0xA9.0xFE",
            // RFC 1918, CGNAT, link-local.
            "10.0.0.1", "10.255.255.254", "172.16.0.1", "172.31.255.254", "192.168.0.1", "192.168.1.1",
            "100.64.0.1", "100.127.255.254", "169.254.1.1", "[fe80::1]",
            // Metadata.
            "169.254.169.254", "169.254.170.2", "168.63.129.16", "100.100.100.200", "[fd00:ec2::254]",
            // ULA and site-local; this machine's eth0 addresses.
            "[fc00::1]", "[fd12:3456::1]", "[fec0::1]", "192.0.2.2", "[fd00::2]",
            // Reserved: benchmarking, IETF assignments, documentation, multicast, broadcast, 240/4, Teredo, discard.
            "198.18.0.1", "198.19.255.254", "192.0.0.1", "192.0.0.170", "198.51.100.1", "203.0.113.1", "[2001:db8::1]",
            "[3fff::1]", "224.0.0.1", "239.255.255.250", "[ff02::1]", "255.255.255.255", "240.0.0.1", "250.1.2.3",
            "[2001:0:4136:e378:8000:63bf:3fff:fdd2]", "[100::1]", "192.88.99.1",
            // Names that need outside DNS (none here: unresolvable), and IDNA tricks.
            "127.0.0.1.nip.io", "metadata.google.internal", "localtest.me", "127\uFF0E0\uFF0E0\uFF0E1", "\u2460\u2461\u2466.\u24EA.\u24EA.\u2460",
        };
        var data = new TheoryData<string>();
        foreach (var host in hosts)
        {
            data.Add($"https://{host}:{Port}/v1");
        }
        // Userinfo, fragment and backslash tricks; other schemes; plain http.
        foreach (var url in new[]
                 {
                     $"https://93.184.216.34@127.0.0.1:{Port}/v1", $"https://127.0.0.1:{Port}#@93.184.216.34/v1",
                     $"https://127.0.0.1:{Port}\\@93.184.216.34/v1", "file:///etc/passwd", $"gopher://127.0.0.1:{Port}/_x",
                     $"ftp://127.0.0.1:{Port}/v1", $"ws://127.0.0.1:{Port}/v1", $"http://93.184.216.34:{Port}/v1",
                 })
        {
            data.Add(url);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(ProbeTargets))]
    public async Task EveryProbeTargetIsRefusedByTheWebhookRulesAndTheBaseUrlRules(string url)
    {
        var (webhook, refusal) = await OutboundPolicy.ValidateUrlAsync(url, new OutboundUrlRules(AllowPrivate: false, AllowInsecure: false), CancellationToken.None);
        Assert.True(webhook is null, $"{url} accepted as a webhook URL");
        Assert.NotNull(refusal);

        Assert.NotNull(await BaseUrlGuard.ProblemAsync(url, allowPrivate: false, CancellationToken.None));
    }

    [Fact]
    public async Task ThePublicControlsAreAccepted()
    {
        foreach (var host in Controls)
        {
            var url = $"https://{host}:{Port}/v1";
            var (accepted, refusal) = await OutboundPolicy.ValidateUrlAsync(url, new OutboundUrlRules(false, false), CancellationToken.None);
            Assert.True(accepted is not null, $"{url}: {refusal}");
            Assert.Null(await BaseUrlGuard.ProblemAsync(url, allowPrivate: false, CancellationToken.None));
        }
    }

    [Fact]
    public void TheProbeTargetsCoverAtLeastEightyThree() => Assert.True(ProbeTargets().Count + Controls.Length >= 83, $"{ProbeTargets().Count} targets");

    [Theory]
    [InlineData("::127.0.0.1", "Reserved")]         // IPv4-compatible, deprecated
    [InlineData("64:ff9b::a9fe:a9fe", "Metadata")]  // NAT64 of 169.254.169.254
    [InlineData("64:ff9b:1::808:808", "Reserved")]  // local-use NAT64
    [InlineData("2002:7f00:1::1", "Private")]       // 6to4 of loopback
    [InlineData("2002:808:808::1", "Public")]       // 6to4 of 8.8.8.8
    [InlineData("2001::1", "Reserved")]             // Teredo
    [InlineData("2001:2::1", "Reserved")]           // benchmarking (2001::/23)
    [InlineData("168.63.129.16", "Metadata")]
    [InlineData("169.254.170.2", "Metadata")]
    [InlineData("198.18.0.1", "Reserved")]
    [InlineData("192.0.0.9", "Reserved")]
    [InlineData("240.0.0.1", "Reserved")]
    [InlineData("255.255.255.255", "Reserved")]
    [InlineData("fec0::1", "Private")]
    [InlineData("4000::1", "Reserved")]             // outside global unicast
    [InlineData("2a00:1450:4007::200e", "Public")]
    public void SpecialPurposeRangesAreClassified(string address, string expected) =>
        Assert.Equal(expected, OutboundPolicy.Classify(IPAddress.Parse(address)).Kind.ToString());

    [Fact]
    public void ThisHostsOwnAddressIsRefusedEvenWhenPublic()
    {
        var own = IPAddress.Parse("203.0.114.7");
        var local = new HashSet<IPAddress> { own };

        Assert.Equal((AddressClass.Private, "this host's own"), OutboundPolicy.Classify(own, local));
        Assert.Equal("this host's own", OutboundPolicy.Refuse(own, allowPrivate: false, local));
        Assert.Null(OutboundPolicy.Refuse(own, allowPrivate: true, local)); // the development switch still works
        Assert.Equal(AddressClass.Public, OutboundPolicy.Classify(own, new HashSet<IPAddress>()).Kind);
    }

    [Fact]
    public void EveryInterfaceAddressOfThisMachineIsRefused()
    {
        var local = OutboundPolicy.LocalAddresses();

        Assert.NotEmpty(local);
        Assert.All(local, a => Assert.NotNull(OutboundPolicy.Refuse(a, allowPrivate: false)));
    }

    [Fact]
    public async Task ANameThatResolvesToLoopbackIsRefusedAtConnectTimeEvenWhenTheUrlCheckWasSkipped()
    {
        await using var listener = await CountingListener.StartAsync(_ => "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        using var http = new HttpClient(OutboundPolicy.CreateHandler(() => false, TimeSpan.FromSeconds(5)));

        var e = await Assert.ThrowsAsync<HttpRequestException>(() => http.GetAsync($"http://localhost:{listener.Port}/v1/models"));

        Assert.IsType<BlockedAddressException>(e.InnerException);
        Assert.Contains("loopback", e.InnerException!.Message, StringComparison.Ordinal);
        Assert.Equal(0, listener.Accepted);
    }

    [Fact]
    public async Task WithTheDevelopmentSwitchLoopbackIsReachable()
    {
        await using var listener = await CountingListener.StartAsync(_ => "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
        using var http = new HttpClient(OutboundPolicy.CreateHandler(() => true, TimeSpan.FromSeconds(5)));

        using var response = await http.GetAsync($"http://localhost:{listener.Port}/");

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(1, listener.Accepted);
    }

    [Fact]
    public async Task ATenantSuppliedRealtimeHostThatResolvesToLoopbackIsNeverConnectedTo()
    {
        await using var listener = await CountingListener.StartAsync(_ => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        using var connector = new RealtimeConnector(
            Options.Create(new RealtimeOptions { BaseUrl = "wss://api.openai.com/v1/realtime" }), Options.Create(new CredentialOptions { AllowPrivateBaseUrls = false }));
        var uri = RealtimeConnector.SessionUri($"ws://localhost:{listener.Port}/v1/realtime", "gpt-realtime");

        var e = await Assert.ThrowsAnyAsync<Exception>(() => connector.ConnectAsync(uri, "sk-x", "Authorization", CancellationToken.None));

        Assert.True(e is WebSocketException or HttpRequestException, e.ToString());
        Assert.Contains("Refused to connect", e.ToString(), StringComparison.Ordinal);
        Assert.Equal(0, listener.Accepted);
        Assert.False(connector.IsOperatorHost(uri));
        Assert.True(connector.IsOperatorHost(new Uri("wss://api.openai.com/v1/realtime?model=x")));
    }

    /// <summary>A TCP listener on 127.0.0.1 that counts connections and answers each with a fixed HTTP response.</summary>
    internal sealed class CountingListener : IAsyncDisposable
    {
        private readonly TcpListener listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource stop = new();
        private int accepted;
        private Task? loop;

        public int Port => ((IPEndPoint)listener.LocalEndpoint).Port;

        public int Accepted => Volatile.Read(ref accepted);

        public static Task<CountingListener> StartAsync(Func<CountingListener, string> response)
        {
            var l = new CountingListener();
            l.listener.Start();
            l.loop = l.RunAsync(response);
            return Task.FromResult(l);
        }

        private async Task RunAsync(Func<CountingListener, string> response)
        {
            try
            {
                while (!stop.IsCancellationRequested)
                {
                    using var client = await listener.AcceptTcpClientAsync(stop.Token);
                    Interlocked.Increment(ref accepted);
                    var stream = client.GetStream();
                    var buffer = new byte[8192];
                    _ = await stream.ReadAsync(buffer, stop.Token);
                    await stream.WriteAsync(Encoding.ASCII.GetBytes(response(this)), stop.Token);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or IOException)
            {
            }
        }

        public async ValueTask DisposeAsync()
        {
            await stop.CancelAsync();
            listener.Stop();
            if (loop is not null)
            {
                await loop;
            }
            stop.Dispose();
        }
    }
}

/// <summary>The OpenAI-compatible credential check through the API: redirects are not followed.</summary>
[Trait("Category", "Database")]
public sealed class CredentialCheckRedirectTests(SelfServiceFactory factory) : IClassFixture<SelfServiceFactory>
{
    [Fact]
    public async Task ARedirectFromTheModelServerIsNotFollowed()
    {
        await using var inside = await OutboundPolicyTests.CountingListener.StartAsync(_ =>
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\nConnection: close\r\n\r\n{\"data\":[]}");
        await using var redirector = await OutboundPolicyTests.CountingListener.StartAsync(_ =>
            $"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:{inside.Port}/v1/models\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        var owner = await factory.SignUpAsync();
        (await owner.Client.PutAsJsonAsync("/api/v1/credentials/openai", new { apiKey = "sk-redirect-test-0123456789", baseUrl = $"http://127.0.0.1:{redirector.Port}/v1" }))
            .EnsureSuccessStatusCode();

        var check = await (await owner.Client.PostAsync("/api/v1/credentials/openai/check", null)).Content.ReadFromJsonAsync<JsonObject>();

        Assert.False(check!["ok"]!.GetValue<bool>());
        Assert.Equal("The model server answered 302.", check["message"]!.GetValue<string>());
        Assert.Equal(("OPENAI_HTTP_STATUS", "302"), (check["code"]!.GetValue<string>(), check["details"]!["status"]!.GetValue<string>()));
        Assert.Equal(1, redirector.Accepted);
        Assert.Equal(0, inside.Accepted);
    }
}

/// <summary>The base URL entry points as deployed (no private base URLs): the 8 targets the probe got through are 422.</summary>
[Trait("Category", "Database")]
public sealed class StrictBaseUrlTests(StrictWebhookFactory factory) : IClassFixture<StrictWebhookFactory>
{
    [Theory]
    [InlineData("https://[::127.0.0.1]:18443/v1")]
    [InlineData("https://[64:ff9b::127.0.0.1]:18443/v1")]
    [InlineData("https://[2002:7f00:1::1]:18443/v1")]
    [InlineData("https://[64:ff9b::a9fe:a9fe]:18443/v1")]
    [InlineData("https://168.63.129.16:18443/v1")]
    [InlineData("https://198.18.0.1:18443/v1")]
    [InlineData("https://192.0.0.1:18443/v1")]
    [InlineData("https://192.0.2.2:18443/v1")]
    public async Task TheBaseUrlsTheProbeGotThroughAreRefused(string baseUrl)
    {
        var tenant = await factory.CreateTenantAsync();

        var response = await factory.ApiClient(tenant).PutAsJsonAsync("/api/v1/credentials/openai", new { apiKey = "sk-probe-0123456789", baseUrl });

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Contains("baseUrl", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Empty(await factory.WithDbAsync(tenant.Id, db => Microsoft.EntityFrameworkCore.EntityFrameworkQueryableExtensions.ToListAsync(db.ProviderCredentials)));
    }
}
