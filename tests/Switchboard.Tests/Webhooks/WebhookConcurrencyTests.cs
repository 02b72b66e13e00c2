using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Outbox;
using Switchboard.Tests.Support;
using Switchboard.Webhooks;

namespace Switchboard.Tests.Webhooks;

/// <summary>
/// The host with the production attempt timeout (15 s), so a held receiver stays in flight until the test releases it, and
/// deliveries that wait for an endpoint's slot wait as long (10 s), so a test decides when they go.
/// </summary>
public sealed class PatientWebhookFactory : SwitchboardFactory
{
    protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>(WebhookFactory.Settings)
    {
        ["Switchboard:Webhooks:TimeoutSeconds"] = "15",
        ["Switchboard:Webhooks:SlotWaitMilliseconds"] = "10000",
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

    [Fact]
    public async Task DeliveriesBeyondTheBoundWaitForAFreeSlotAndOnlyThoseBeyondTheWaitersAreDeferred()
    {
        await using var slow = await WebhookReceiver.StartAsync();
        slow.Hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var tenant = await factory.CreateTenantAsync("Busy Co");
        var (endpointId, _) = await factory.CreateEndpointAsync(tenant, slow.Url);
        for (var i = 0; i < 10; i++)
        {
            await factory.PublishAsync(tenant.Id, WebhookEventTypes.LeadCreated, $"busy-{i}", WebhookTestExtensions.Lead(i));
        }

        // This host's own counter (other hosts in the process have meters of the same name, from other meter factories).
        var meters = factory.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        var counted = 0L;
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Scope == meters && instrument.Name == "switchboard.outbox.deferred")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            if (tags.ToArray().Contains(new KeyValuePair<string, object?>("kind", WebhookDeliveryHandler.Kind)))
            {
                Interlocked.Add(ref counted, value);
            }
        });
        listener.Start();

        var pass = factory.Outbox.ProcessDueAsync(None);
        // 4 at the receiver (the bound), 4 waiting for one of their slots, and the last 2 deferred: once those two are saved,
        // every delivery has been through the gate. (Without waiting, 6 were deferred.)
        var deadline = DateTime.UtcNow.AddSeconds(10);
        int deferred;
        while ((deferred = await DeferredAsync()) < 2 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }
        while (slow.InFlight < 4 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20); // the slots' holders may still be connecting to the receiver (a refusal asks no database now)
        }
        var inFlight = slow.InFlight;
        slow.Hold.TrySetResult();
        await pass;

        Assert.Equal(2, deferred);
        Assert.Equal(4, inFlight);
        Assert.Equal(4, slow.MaxInFlight);
        // The waiters went out in the same pass, as slots freed, without the clock moving.
        var statuses = (await factory.DeliveriesAsync(tenant.Id, endpointId)).Select(d => d.Status).ToList();
        Assert.Equal(8, statuses.Count(s => s == WebhookDeliveryStatus.Succeeded));
        Assert.Equal(2, statuses.Count(s => s == WebhookDeliveryStatus.Pending));
        Assert.Equal(2, await DeferredAsync());
        Assert.Equal(2, Interlocked.Read(ref counted)); // switchboard.outbox.deferred{kind="webhook.deliver"}

        Task<int> DeferredAsync() => factory.WithDbAsync(null, db => db.Outbox.IgnoreQueryFilters().CountAsync(o =>
            o.TenantId == tenant.Id && o.Kind == WebhookDeliveryHandler.Kind && o.Status == OutboxStatus.Pending && o.LockedBy == null
            && o.Attempts == 0 && o.NextAttemptAt > factory.Clock.GetUtcNow()));
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
