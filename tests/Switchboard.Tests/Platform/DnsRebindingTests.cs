using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Switchboard.Brain;
using Switchboard.Credentials;
using Switchboard.Knowledge;
using Switchboard.Platform.Net;
using Switchboard.Realtime.Bridge;
using Switchboard.Tests.Support;
using Switchboard.Webhooks;

namespace Switchboard.Tests.Platform;

/// <summary>
/// The host as deployed (private networks off; plain http allowed so a local listener can stand in for the tenant's host).
/// </summary>
public sealed class RebindingFactory : SwitchboardFactory
{
    protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>
    {
        ["Switchboard:Webhooks:AllowInsecureUrls"] = "true",
        ["Switchboard:Webhooks:AllowPrivateNetworks"] = "false",
        ["Switchboard:Credentials:AllowPrivateBaseUrls"] = "false",
    };
}

/// <summary>
/// DNS rebinding against every outbound connection to a tenant-supplied host, through the clients the real host wires:
/// the webhook sender, the knowledge URL fetcher, the OpenAI-compatible credential check, a tenant's own chat model and
/// embeddings, and the realtime connection. A <c>.test</c> name (<see cref="OutboundPolicy.PinTestName"/>) answers a
/// public address when the URL is checked, then loopback or the cloud metadata address when the connection is made:
/// the connection is refused at connect time, and nothing reaches the listener on 127.0.0.1.
/// </summary>
public sealed class DnsRebindingTests(RebindingFactory factory) : IClassFixture<RebindingFactory>
{
    private static readonly IPAddress Public = IPAddress.Parse("1.1.1.1");

    /// <summary>A fresh name that answers <see cref="Public"/> once, then <paramref name="rebound"/>.</summary>
    private static string RebindingName(string rebound)
    {
        var name = $"rebind-{Guid.NewGuid():N}.test";
        OutboundPolicy.PinTestName(name, [Public], [IPAddress.Parse(rebound)]);
        return name;
    }

    private static void AssertRefused(Exception e, string rebound)
    {
        var text = e.ToString();
        Assert.Contains("Refused to connect", text, StringComparison.Ordinal);
        Assert.Contains(rebound, text, StringComparison.Ordinal);
    }

    private static Task<OutboundPolicyTests.CountingListener> ListenerAsync() =>
        OutboundPolicyTests.CountingListener.StartAsync(_ => "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("169.254.169.254")]
    public async Task TheWebhookSenderRefusesANameThatRebindsAfterItsUrlWasChecked(string rebound)
    {
        await using var listener = await ListenerAsync();
        var url = $"http://{RebindingName(rebound)}:{listener.Port}/hooks";

        var (checkedUrl, refusal) = await factory.Services.GetRequiredService<WebhookUrlPolicy>().ValidateAsync(url, CancellationToken.None);
        Assert.Null(refusal); // the name looked public when the endpoint was saved
        var outcome = await factory.Services.GetRequiredService<WebhookSender>().SendAsync(checkedUrl!, new Dictionary<string, string>(), [], "{}"u8.ToArray(), CancellationToken.None);

        Assert.False(outcome.Succeeded);
        Assert.Null(outcome.StatusCode);
        Assert.Contains("Refused to connect", outcome.Error, StringComparison.Ordinal);
        Assert.Contains(rebound, outcome.Error, StringComparison.Ordinal);
        Assert.Equal(0, listener.Accepted);
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("169.254.169.254")]
    public async Task TheKnowledgeFetcherRefusesANameThatRebindsBetweenTheCheckAndTheConnection(string rebound)
    {
        await using var listener = await ListenerAsync();

        var fetched = await factory.Services.GetRequiredService<KnowledgeFetcher>().FetchAsync($"http://{RebindingName(rebound)}:{listener.Port}/faq.txt", CancellationToken.None);

        Assert.Equal("URL_BLOCKED", fetched.Code);
        Assert.Contains(rebound, fetched.Error, StringComparison.Ordinal);
        Assert.Null(fetched.Body);
        Assert.Equal(0, listener.Accepted);
    }

    [Theory]
    [InlineData(CredentialChecker.HttpClientName, "127.0.0.1")]
    [InlineData(CredentialChecker.HttpClientName, "169.254.169.254")]
    [InlineData(ModelBrain.TenantHttpClientName, "127.0.0.1")]
    [InlineData(ModelBrain.TenantHttpClientName, "169.254.169.254")]
    [InlineData(KnowledgeEmbeddings.HttpClientName, "127.0.0.1")]
    [InlineData(KnowledgeEmbeddings.HttpClientName, "169.254.169.254")]
    public async Task TheClientsForATenantsBaseUrlRefuseANameThatRebindsAfterTheGuardPassedIt(string clientName, string rebound)
    {
        await using var listener = await ListenerAsync();
        var host = RebindingName(rebound);

        // Saved as https (the guard's rule when private addresses are off); the listener speaks plain http on the same name.
        Assert.Null(await BaseUrlGuard.ProblemAsync($"https://{host}/v1", allowPrivate: false, CancellationToken.None));
        var http = factory.Services.GetRequiredService<IHttpClientFactory>().CreateClient(clientName);
        var e = await Assert.ThrowsAsync<HttpRequestException>(() => http.GetAsync($"http://{host}:{listener.Port}/v1/models"));

        Assert.IsType<BlockedAddressException>(e.InnerException);
        AssertRefused(e, rebound);
        Assert.Equal(0, listener.Accepted);
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("169.254.169.254")]
    public async Task TheRealtimeConnectionRefusesATenantHostThatRebinds(string rebound)
    {
        await using var listener = await ListenerAsync();
        var host = RebindingName(rebound);
        var options = factory.Services.GetRequiredService<IOptions<CredentialOptions>>().Value;
        Assert.False(options.AllowPrivateBaseUrls);

        var (_, refusal) = await OutboundPolicy.ValidateUrlAsync($"wss://{host}/v1/realtime", BaseUrlGuard.Rules(false) with { WebSocket = true }, CancellationToken.None);
        Assert.Null(refusal);
        var connector = factory.Services.GetRequiredService<RealtimeConnector>();
        var uri = RealtimeConnector.SessionUri($"ws://{host}:{listener.Port}/v1/realtime", "gpt-realtime");
        Assert.False(connector.IsOperatorHost(uri));
        var e = await Assert.ThrowsAnyAsync<Exception>(() => connector.ConnectAsync(uri, "sk-tenant", "Authorization", CancellationToken.None));

        AssertRefused(e, rebound);
        Assert.Equal(0, listener.Accepted);
    }

    [Fact]
    public async Task OnlyReservedTestNamesCanBePinned()
    {
        Assert.Throws<ArgumentException>(() => OutboundPolicy.PinTestName("example.com", [Public]));
        // A name pinned to the metadata address from the start is refused when the URL is checked, too.
        var name = $"metadata-{Guid.NewGuid():N}.test";
        OutboundPolicy.PinTestName(name, [IPAddress.Parse("169.254.169.254")]);
        var (_, refusal) = await factory.Services.GetRequiredService<WebhookUrlPolicy>().ValidateAsync($"https://{name}/hooks", CancellationToken.None);
        Assert.Equal("URL_BLOCKED", refusal?.Code);
        Assert.Equal("cloud metadata", refusal?.Reason);
    }
}
