using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Brain;
using Switchboard.Credentials;
using Switchboard.Platform.Net;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Platform;

/// <summary>
/// Every outbound connection to a tenant-supplied host goes through <see cref="OutboundPolicy"/>'s connect-time
/// address check, as wired in the real host (private networks off, as deployed): the OpenAI-compatible credential
/// check and a tenant's own chat model. "localhost" stands for a name that resolved to a public address when the URL
/// was saved and to loopback when connecting (DNS rebinding): the URL check is skipped, the connection is refused.
/// </summary>
public sealed class OutboundGuardTests(SwitchboardFactory factory) : IClassFixture<SwitchboardFactory>
{
    [Theory]
    [InlineData(CredentialChecker.HttpClientName)]
    [InlineData(ModelBrain.TenantHttpClientName)]
    public async Task TheHostsClientsForTenantSuppliedHostsRefuseARebindingNameAtConnectTime(string clientName)
    {
        await using var listener = await OutboundPolicyTests.CountingListener.StartAsync(_ => "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        var http = factory.Services.GetRequiredService<IHttpClientFactory>().CreateClient(clientName);

        var e = await Assert.ThrowsAsync<HttpRequestException>(() => http.GetAsync($"http://localhost:{listener.Port}/v1/models"));

        Assert.IsType<BlockedAddressException>(e.InnerException);
        Assert.Equal(0, listener.Accepted);
    }

    [Fact]
    public async Task ATenantsOwnChatModelOnARebindingNameIsNeverConnectedTo()
    {
        await using var listener = await OutboundPolicyTests.CountingListener.StartAsync(_ => "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        var brain = factory.Services.GetRequiredService<ModelBrain>();
        var target = new ChatModelTarget($"http://localhost:{listener.Port}/v1", "sk-tenant", "gpt-4o-mini");

        var e = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await foreach (var _ in brain.ReplyAsync(target, [new ChatMessage(ChatRole.User, "Allô?")], [], new ConcurrentQueue<BrainEvent>(), CancellationToken.None))
            {
            }
        });

        Assert.Contains("Refused to connect", e.ToString(), StringComparison.Ordinal);
        Assert.Equal(0, listener.Accepted);
    }
}

/// <summary><c>/metrics/voice</c> shows every tenant's call volumes and latencies: operators only.</summary>
public sealed class VoiceMetricsAccessTests(SelfServiceFactory factory) : IClassFixture<SelfServiceFactory>
{
    [Fact]
    public async Task VoiceMetricsNeedAnOperatorSession()
    {
        var anonymous = await factory.CreateClient().GetAsync("/metrics/voice");
        var owner = await factory.SignUpAsync();
        var tenantUser = await owner.Client.GetAsync("/metrics/voice");
        var ops = await factory.OperatorAsync();
        var operatorView = await ops.Client.GetAsync("/metrics/voice");

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, tenantUser.StatusCode);
        Assert.Equal(HttpStatusCode.OK, operatorView.StatusCode);
        Assert.Contains("switchboard_voice_active_calls", await operatorView.Content.ReadAsStringAsync());
    }
}
