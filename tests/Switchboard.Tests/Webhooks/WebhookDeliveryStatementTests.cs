using Microsoft.AspNetCore.Hosting;
using Switchboard.Tests.Support;
using Switchboard.Webhooks;
using Xunit.Abstractions;

namespace Switchboard.Tests.Webhooks;

/// <summary>The webhook host with the SQL of each unit of work counted (<see cref="StatementCounter"/>).</summary>
public sealed class CountingWebhookFactory : WebhookFactory
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        StatementCounter.AddTo(builder);
    }
}

/// <summary>
/// The SQL one tenant webhook delivery costs (issue 13: at platform scale the outbox fell thousands of deliveries behind).
/// Counted for a batch of one message, from the claim (two passes: the alert kinds, then everything due; one UPDATE …
/// RETURNING each, per batch rather than per message) to the saved result. The bounds are the statements the path needs;
/// a change that adds one fails here first.
/// </summary>
[Trait("Category", "Database")]
public sealed class WebhookDeliveryStatementTests(CountingWebhookFactory factory, ITestOutputHelper output) : IClassFixture<CountingWebhookFactory>
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public async Task ASuccessfulDeliveryReadsItsRowsInOneQueryAndWritesOnlyWhatChanged()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var tenant = await factory.CreateTenantAsync("Counted delivery");
        await factory.CreateEndpointAsync(tenant, receiver.Url);
        await factory.PublishAsync(tenant.Id, WebhookEventTypes.LeadCreated, "warm-up", WebhookTestExtensions.Lead(0));
        await factory.Outbox.DrainAsync(None); // compiled queries, prepared statements, caches
        await factory.PublishAsync(tenant.Id, WebhookEventTypes.LeadCreated, "counted", WebhookTestExtensions.Lead(1));

        using (var sql = StatementCounter.Record())
        {
            Assert.Equal(1, await factory.Outbox.ProcessDueAsync(None));
            // The claim hands back the leased row: no read of it. Then the delivery with its endpoint and event in one query;
            // writes: the attempt, the delivery, the message. The endpoint was healthy and stays so: not written.
            output.WriteLine(sql.ToString());
            Assert.True(sql.Statements <= 2 + 4, sql.ToString());
        }
        Assert.Equal(2, receiver.Requests.Count);
        Assert.All(receiver.Requests, r => Assert.Equal(200, r.AnsweredWith));
    }

    [Fact]
    public async Task TheDeliveriesOfAClaimedBatchAreReadInOneQuery()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var tenant = await factory.CreateTenantAsync("Counted batch");
        var (first, _) = await factory.CreateEndpointAsync(tenant, receiver.Url);
        var (second, _) = await factory.CreateEndpointAsync(tenant, receiver.Url);
        await factory.PublishAsync(tenant.Id, WebhookEventTypes.LeadCreated, "batch warm-up", WebhookTestExtensions.Lead(3));
        await factory.Outbox.DrainAsync(None);
        for (var i = 0; i < 3; i++)
        {
            await factory.PublishAsync(tenant.Id, WebhookEventTypes.LeadCreated, $"batch {i}", WebhookTestExtensions.Lead(4 + i));
        }

        using (var sql = StatementCounter.Record())
        {
            Assert.Equal(6, await factory.Outbox.ProcessDueAsync(None)); // three events to two endpoints, one claimed batch
            // Issue 13: one read of the six deliveries (with their endpoints and events) for the batch, not one per delivery.
            output.WriteLine(sql.ToString());
            var reads = sql.Commands.Where(c => c.TrimStart().StartsWith("SELECT", StringComparison.OrdinalIgnoreCase) && c.Contains("webhook_deliveries")).ToList();
            Assert.True(reads.Count == 1, sql.ToString());
        }
        Assert.Equal(8, receiver.Requests.Count);
        Assert.All(receiver.Requests, r => Assert.Equal(200, r.AnsweredWith));
        foreach (var endpointId in new[] { first, second })
        {
            Assert.All(await factory.DeliveriesAsync(tenant.Id, endpointId), d => Assert.Equal(WebhookDeliveryStatus.Succeeded, d.Status));
        }
    }

    [Fact]
    public async Task ARetriedFailureReadsItsRowsInOneQueryAndLeavesTheFailingEndpointAlone()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.StatusCode = 500;
        var tenant = await factory.CreateTenantAsync("Counted retry");
        var (endpointId, _) = await factory.CreateEndpointAsync(tenant, receiver.Url);
        await factory.PublishAsync(tenant.Id, WebhookEventTypes.LeadCreated, "failing", WebhookTestExtensions.Lead(2));
        await factory.Outbox.DrainAsync(None); // attempt 1: the endpoint starts failing
        var failingSince = (await factory.EndpointAsync(tenant.Id, endpointId)).FailingSince;
        Assert.NotNull(failingSince);
        factory.Clock.Advance(TimeSpan.FromSeconds(6));

        using (var sql = StatementCounter.Record())
        {
            Assert.Equal(1, await factory.Outbox.ProcessDueAsync(None)); // attempt 2
            // The claim, then the delivery with its endpoint and event (its own attempt 6 s ago is the endpoint's latest: the
            // failure clock runs on without a query). Writes: the attempt, the delivery, the message; not the endpoint.
            output.WriteLine(sql.ToString());
            Assert.True(sql.Statements <= 2 + 4, sql.ToString());
        }
        Assert.Equal(2, receiver.Requests.Count);
        Assert.Equal(failingSince, (await factory.EndpointAsync(tenant.Id, endpointId)).FailingSince);
        var delivery = Assert.Single(await factory.DeliveriesAsync(tenant.Id, endpointId));
        Assert.Equal(WebhookDeliveryStatus.Pending, delivery.Status);
        Assert.Equal(2, delivery.Attempts);
    }
}
