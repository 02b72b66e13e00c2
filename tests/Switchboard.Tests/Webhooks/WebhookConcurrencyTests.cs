using Switchboard.Tests.Support;
using Switchboard.Webhooks;

namespace Switchboard.Tests.Webhooks;

/// <summary>The host with the production attempt timeout (15 s), so a held receiver stays in flight until the test releases it.</summary>
public sealed class PatientWebhookFactory : SwitchboardFactory
{
    protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>(WebhookFactory.Settings)
    {
        ["Switchboard:Webhooks:TimeoutSeconds"] = "15",
    };
}

/// <summary>
/// One slow receiver holds at most <see cref="WebhookOptions.MaxConcurrencyPerEndpoint"/> (4) requests, and neither a
/// processing pass nor the worker loop waits for it before serving another tenant.
/// </summary>
[Trait("Category", "Database")]
public sealed class WebhookConcurrencyTests(PatientWebhookFactory factory) : IClassFixture<PatientWebhookFactory>
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public async Task ASlowReceiverDoesNotDelayAnotherTenantsDeliveries()
    {
        await using var slow = await WebhookReceiver.StartAsync();
        await using var fast = await WebhookReceiver.StartAsync();
        slow.Hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var a = await factory.CreateTenantAsync("Slow Co");
        var b = await factory.CreateTenantAsync("Fast Co");
        var (slowId, _) = await factory.CreateEndpointAsync(a, slow.Url);
        var (fastId, _) = await factory.CreateEndpointAsync(b, fast.Url);
        for (var i = 0; i < 10; i++)
        {
            await factory.PublishAsync(a.Id, WebhookEventTypes.LeadCreated, $"slow-{i}", WebhookTestExtensions.Lead(i));
        }
        await factory.PublishAsync(b.Id, WebhookEventTypes.LeadCreated, "fast", WebhookTestExtensions.Lead(99));

        var pass = factory.Outbox.ProcessDueAsync(None);
        await fast.WaitForAsync(_ => true, TimeSpan.FromSeconds(5));
        var fastStatus = await PollStatusAsync(b.Id, fastId);
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (slow.InFlight < 4 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }
        var slowInFlight = slow.InFlight;
        slow.Hold.TrySetResult();
        await pass;

        // Both observed before the slow receiver was allowed to answer: it held its 4 slots, the rest waited, and B went through.
        Assert.Equal(WebhookDeliveryStatus.Succeeded, fastStatus);
        Assert.Equal(4, slowInFlight);
        Assert.Equal(4, slow.MaxInFlight);

        // The deferred ones follow as slots free up.
        slow.Hold = null;
        await factory.DeliverAllAsync();
        Assert.All(await factory.DeliveriesAsync(a.Id, slowId), d => Assert.Equal(WebhookDeliveryStatus.Succeeded, d.Status));
        Assert.Equal(10, slow.Requests.Where(r => r.AnsweredWith == 200).Select(r => r.Id).Distinct().Count());
        Assert.True(slow.MaxInFlight <= 4);
    }

    [Fact]
    public async Task TheWorkerKeepsDeliveringToOthersWhileASlowReceiverHoldsItsRequests()
    {
        await using var slow = await WebhookReceiver.StartAsync();
        await using var fast = await WebhookReceiver.StartAsync();
        slow.Hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var a = await factory.CreateTenantAsync("Slow Co");
        var b = await factory.CreateTenantAsync("Fast Co");
        await factory.CreateEndpointAsync(a, slow.Url);
        await factory.CreateEndpointAsync(b, fast.Url);
        for (var i = 0; i < 4; i++)
        {
            await factory.PublishAsync(a.Id, WebhookEventTypes.LeadCreated, $"worker-slow-{i}", WebhookTestExtensions.Lead(i));
        }
        using var stop = new CancellationTokenSource();
        var worker = factory.Outbox.RunAsync(stop.Token);
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(5);
            while (slow.InFlight < 4 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(10);
            }
            Assert.Equal(4, slow.InFlight);

            // Published after the slow rows were claimed.
            await factory.PublishAsync(b.Id, WebhookEventTypes.LeadCreated, "worker-fast", WebhookTestExtensions.Lead(99));
            // A claim-a-batch-and-wait loop would hold it until the slow requests time out (15 s).
            await fast.WaitForAsync(_ => true, TimeSpan.FromSeconds(5));

            Assert.Equal(4, slow.InFlight);
        }
        finally
        {
            slow.Hold.TrySetResult();
            await stop.CancelAsync();
            await worker;
        }
    }

    private async Task<string> PollStatusAsync(Guid tenantId, Guid endpointId)
    {
        // The receiver has the request before the delivery's status commits.
        var deadline = DateTime.UtcNow.AddSeconds(5);
        string status;
        do
        {
            status = (await factory.DeliveriesAsync(tenantId, endpointId)).Single().Status;
            if (status == WebhookDeliveryStatus.Succeeded)
            {
                break;
            }
            await Task.Delay(20);
        }
        while (DateTime.UtcNow < deadline);
        return status;
    }
}
