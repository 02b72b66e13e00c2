using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Tests.Support;
using Switchboard.Tests.Vapi;
using Switchboard.Webhooks;

namespace Switchboard.Tests.Webhooks;

/// <summary>Webhook URLs as deployed (https only, no private networks): refused when saved, and again when connecting.</summary>
[Trait("Category", "Database")]
public sealed class WebhookSsrfTests(StrictWebhookFactory factory) : IClassFixture<StrictWebhookFactory>
{
    private const string Endpoints = "/api/v1/webhooks/endpoints";

    public static TheoryData<string, string, string?> RefusedUrls() => new()
    {
        { "http://93.184.216.34/hook", "HTTPS_REQUIRED", null },
        { "https://127.0.0.1/hook", "URL_BLOCKED", "loopback" },
        { "https://127.1.2.3:8443/hook", "URL_BLOCKED", "loopback" },
        { "https://localhost/hook", "URL_BLOCKED", "loopback" },
        { "https://[::1]/hook", "URL_BLOCKED", "loopback" },
        { "https://[::ffff:127.0.0.1]/hook", "URL_BLOCKED", "loopback" },
        { "https://2130706433/hook", "URL_BLOCKED", "loopback" },      // 127.0.0.1 as one decimal number
        { "https://0x7f.0.0.1/hook", "URL_BLOCKED", "loopback" },      // hex octet
        { "https://0.0.0.0/hook", "URL_BLOCKED", "unspecified" },
        { "https://10.0.0.8/hook", "URL_BLOCKED", "private" },
        { "https://172.16.5.4/hook", "URL_BLOCKED", "private" },
        { "https://192.168.1.1/hook", "URL_BLOCKED", "private" },
        { "https://100.64.0.1/hook", "URL_BLOCKED", "CGNAT" },
        { "https://169.254.10.10/hook", "URL_BLOCKED", "link-local" },
        { "https://169.254.169.254/latest/meta-data/iam/security-credentials/", "URL_BLOCKED", "cloud metadata" },
        { "https://[fd00:ec2::254]/latest/meta-data/", "URL_BLOCKED", "cloud metadata" },
        { "https://168.63.129.16/machine", "URL_BLOCKED", "cloud metadata" },
        { "https://[fc00::1]/hook", "URL_BLOCKED", "unique-local" },
        { "https://[fe80::1]/hook", "URL_BLOCKED", "link-local" },
        { "https://[64:ff9b::a00:1]/hook", "URL_BLOCKED", "private" },  // NAT64 of 10.0.0.1
        { "https://[2002:c0a8:101::1]/hook", "URL_BLOCKED", "private" }, // 6to4 of 192.168.1.1
        { "https://224.0.0.1/hook", "URL_BLOCKED", "multicast or reserved" },
        { "https://user:secret@93.184.216.34/hook", "INVALID_URL", null },
        { "file:///etc/passwd", "INVALID_URL", null },
        { "https://no-such-host.invalid/hook", "URL_UNRESOLVABLE", null },
    };

    [Theory]
    [MemberData(nameof(RefusedUrls))]
    public async Task SsrfAttemptsAreRefusedWith422AndAClearCode(string url, string code, string? reason)
    {
        var tenant = await factory.CreateTenantAsync();

        var response = await factory.ApiClient(tenant).PostAsJsonAsync(Endpoints, new { url });

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        var error = await VapiWebhookTests.ErrorOf(response);
        Assert.Equal(code, error["code"]!.GetValue<string>());
        if (reason is not null)
        {
            Assert.Equal(reason, error["details"]!["reason"]!.GetValue<string>());
        }
        Assert.Empty(await factory.WithDbAsync(tenant.Id, db => Microsoft.EntityFrameworkCore.EntityFrameworkQueryableExtensions.ToListAsync(db.WebhookEndpoints)));
    }

    [Fact]
    public async Task ChangingTheUrlToAnInternalAddressIsRefusedToo()
    {
        var tenant = await factory.CreateTenantAsync();
        var (id, _) = await factory.CreateEndpointAsync(tenant, "https://93.184.216.34/hook");

        var response = await factory.ApiClient(tenant).PatchAsJsonAsync($"{Endpoints}/{id}", new { url = "https://169.254.169.254/" });

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal("https://93.184.216.34/hook", (await factory.EndpointAsync(tenant.Id, id)).Url);
    }

    [Fact]
    public async Task APublicHttpsUrlIsAccepted()
    {
        var tenant = await factory.CreateTenantAsync();

        var response = await factory.ApiClient(tenant).PostAsJsonAsync(Endpoints, new { url = "https://93.184.216.34/hooks/switchboard?source=sb" });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    [Fact]
    public async Task AHostThatResolvesToAnInternalAddressAtDeliveryTimeIsNeverConnectedTo()
    {
        // As if DNS changed after the URL was checked (rebinding): the row holds a host that now resolves to loopback.
        await using var receiver = await WebhookReceiver.StartAsync();
        var tenant = await factory.CreateTenantAsync();
        var (id, _) = await factory.CreateEndpointAsync(tenant, "https://93.184.216.34/hook");
        var port = new Uri(receiver.Url).Port;
        await factory.WithDbAsync(tenant.Id, async db =>
        {
            var endpoint = await db.WebhookEndpoints.FindAsync(id);
            endpoint!.Url = $"http://localhost:{port}/hook";
            return await db.SaveChangesAsync();
        });
        await factory.PublishAsync(tenant.Id, WebhookEventTypes.LeadCreated, "rebind", WebhookTestExtensions.Lead(1));

        await factory.Outbox.DrainAsync(CancellationToken.None);

        var delivery = (await factory.DeliveriesAsync(tenant.Id, id)).Single();
        Assert.Empty(receiver.Requests);
        Assert.Null(delivery.LastStatusCode);
        Assert.StartsWith("Refused to connect: 'localhost' resolves to a loopback address", delivery.LastError);
        Assert.Equal(WebhookDeliveryStatus.Pending, delivery.Status); // retried: the record may be fixed
    }

    [Fact]
    public async Task OutsideDevelopmentPrivateNetworksAndPlainHttpAreOffByDefault()
    {
        var policy = factory.Services.GetRequiredService<WebhookUrlPolicy>();

        Assert.False(policy.AllowInsecureUrls);
        Assert.False(policy.AllowPrivateNetworks);
    }
}

/// <summary>The address rules by themselves (IANA special-purpose registries).</summary>
public sealed class WebhookAddressRulesTests
{
    [Theory]
    [InlineData("8.8.8.8", "Public")]
    [InlineData("93.184.216.34", "Public")]
    [InlineData("2606:4700:4700::1111", "Public")]
    [InlineData("127.0.0.1", "Private")]
    [InlineData("10.255.255.255", "Private")]
    [InlineData("172.31.255.255", "Private")]
    [InlineData("172.32.0.1", "Public")]
    [InlineData("192.168.0.1", "Private")]
    [InlineData("100.64.0.0", "Private")]
    [InlineData("100.127.255.255", "Private")]
    [InlineData("100.128.0.1", "Public")]
    [InlineData("169.254.1.1", "Private")]
    [InlineData("::1", "Private")]
    [InlineData("fd12:3456::1", "Private")]
    [InlineData("fe80::1", "Private")]
    [InlineData("::ffff:10.0.0.1", "Private")]
    [InlineData("169.254.169.254", "Metadata")]
    [InlineData("::ffff:169.254.169.254", "Metadata")]
    [InlineData("fd00:ec2::254", "Metadata")]
    [InlineData("100.100.100.200", "Metadata")]
    [InlineData("0.0.0.0", "Reserved")]
    [InlineData("::", "Reserved")]
    [InlineData("255.255.255.255", "Reserved")]
    [InlineData("192.0.2.1", "Reserved")]
    [InlineData("2001:db8::1", "Reserved")]
    [InlineData("ff02::1", "Reserved")]
    [InlineData("64:ff9b::808:808", "Public")]
    [InlineData("64:ff9b::7f00:1", "Private")]
    public void AddressesAreClassified(string address, string expected)
    {
        Assert.Equal(expected, Switchboard.Platform.Net.OutboundPolicy.Classify(IPAddress.Parse(address)).Kind.ToString());
    }
}
