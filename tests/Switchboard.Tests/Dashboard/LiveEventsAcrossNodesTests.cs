using System.Diagnostics;
using System.Globalization;
using System.Net;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Switchboard.Dashboard;
using Switchboard.Platform.Database;
using Switchboard.Tests.Support;
using Xunit.Abstractions;

namespace Switchboard.Tests.Dashboard;

/// <summary>
/// Two hosts on one database, as two nodes behind a load balancer. On PostgreSQL a dashboard connected to node A sees
/// what node B handles (LISTEN/NOTIFY); on SQLite (one process by design) the same tests run on one node. Also measures
/// the time from the Vapi webhook's 200 to the event read by an SSE client.
/// </summary>
[Trait("Category", "Database")]
public sealed class LiveEventsAcrossNodesTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);
    private readonly SwitchboardFactory nodeA = new();
    private readonly SwitchboardFactory nodeB;
    private readonly ITestOutputHelper output;

    public LiveEventsAcrossNodesTests(ITestOutputHelper output)
    {
        this.output = output;
        _ = nodeA.Services; // start node A (migrates) before node B
        nodeB = TestDatabase.IsPostgres ? new SwitchboardFactory { Twin = nodeA } : nodeA;
    }

    public void Dispose()
    {
        if (!ReferenceEquals(nodeA, nodeB))
        {
            nodeB.Dispose();
        }
        nodeA.Dispose();
    }

    [Fact]
    public async Task EventHandledByNodeBReachesADashboardOnNodeA()
    {
        var tenant = await nodeA.CreateTenantAsync();
        var other = await nodeA.CreateTenantAsync("Other");
        await using var stream = await SseStream.OpenAsync(nodeA.ApiClient(tenant));
        var vapiCall = "call-" + Guid.NewGuid();

        Assert.Equal(HttpStatusCode.OK, (await nodeB.PostVapiAsync(other, LiveEventsTests.StatusUpdate("other-" + Guid.NewGuid(), "ringing"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await nodeB.PostVapiAsync(tenant, LiveEventsTests.StatusUpdate(vapiCall, "in-progress"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await nodeA.PostVapiAsync(tenant, LiveEventsTests.Transcript(vapiCall, "Allô, j'ai un refoulement d'égout."))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await nodeB.PostVapiAsync(tenant, LiveEventsTests.Transcript(vapiCall, "Un plombier s'en vient.", "assistant"))).StatusCode);

        var started = await stream.NextNonPingAsync(Deadline);
        Assert.Equal("call.started", started.Type);
        Assert.Equal(await nodeA.WithDbAsync(tenant.Id, db => db.Calls.Select(c => c.Id).SingleAsync()), started.Json["callId"]!.GetValue<Guid>());
        var first = await stream.NextNonPingAsync(Deadline);
        var second = await stream.NextNonPingAsync(Deadline);
        Assert.Equal(["Allô, j'ai un refoulement d'égout.", "Un plombier s'en vient."], new[] { first, second }.Select(e => e.Json["text"]!.GetValue<string>()));
        // One sequence per tenant whichever node numbered the event: consecutive ids.
        Assert.Equal([long.Parse(started.Id!) + 1, long.Parse(started.Id!) + 2], new[] { long.Parse(first.Id!), long.Parse(second.Id!) });
    }

    /// <summary>
    /// Units of work committed at the same moment publish their events together: on PostgreSQL, while the first publisher's
    /// transaction waits (here on the tenant's sequence row, held by another connection), the others queue, and one more
    /// transaction then sends all of them; every event still arrives once, numbered consecutively.
    /// </summary>
    [Fact]
    public async Task ConcurrentPublishersShareTransactionsAndKeepOneSequence()
    {
        var tenant = await nodeA.CreateTenantAsync();
        await using var stream = await SseStream.OpenAsync(nodeA.ApiClient(tenant));
        var transport = nodeB.Services.GetRequiredService<ILiveEventTransport>();
        LiveEventDraft Draft(int n) => new(tenant.Id, LiveEventTypes.LeadUpdated, $$"""{"n":{{n}}}""", null);
        await transport.PublishAsync([Draft(0)]); // the tenant's sequence row exists from here on
        const int publishers = 40;

        Task[] publishing;
        if (transport is PostgresLiveEventTransport postgres)
        {
            var batchesBefore = postgres.GroupBatches;
            await using var blocker = new NpgsqlConnection(nodeB.Services.GetRequiredService<DatabaseExtensions.EffectiveConnection>().Value);
            await blocker.OpenAsync();
            await using (var tx = await blocker.BeginTransactionAsync())
            {
                await using (var hold = new NpgsqlCommand("""SELECT 1 FROM live_event_sequences WHERE "TenantId" = $1 FOR UPDATE""", blocker, tx))
                {
                    hold.Parameters.Add(new NpgsqlParameter { Value = tenant.Id });
                    await hold.ExecuteScalarAsync();
                }
                publishing = Enumerable.Range(1, publishers).Select(n => Task.Run(() => transport.PublishAsync([Draft(n)]))).ToArray();
                var deadline = Stopwatch.StartNew();
                while (postgres.GroupPending < publishers)
                {
                    Assert.True(deadline.Elapsed < Deadline, $"{postgres.GroupPending} publishers pending");
                    await Task.Delay(10);
                }
                Assert.All(publishing, t => Assert.False(t.IsCompleted));
                await tx.CommitAsync();
            }
            await Task.WhenAll(publishing).WaitAsync(Deadline);
            Assert.Equal(2, postgres.GroupBatches - batchesBefore); // the batch that waited on the row, then one for all behind it
        }
        else
        {
            publishing = Enumerable.Range(1, publishers).Select(n => Task.Run(() => transport.PublishAsync([Draft(n)]))).ToArray();
            await Task.WhenAll(publishing).WaitAsync(Deadline);
        }

        var events = new List<SseEvent>();
        for (var i = 0; i <= publishers; i++)
        {
            events.Add(await stream.NextNonPingAsync(Deadline));
        }
        Assert.Equal(Enumerable.Range(0, publishers + 1), events.Select(e => e.Json["n"]!.GetValue<int>()).Order());
        var first = long.Parse(events[0].Id!, CultureInfo.InvariantCulture);
        Assert.Equal(Enumerable.Range(0, publishers + 1).Select(i => first + i), events.Select(e => long.Parse(e.Id!, CultureInfo.InvariantCulture)));
    }

    [Fact]
    public async Task ABatchOfOneTenantsEventsWithOneCutInPartsKeepsItsOrderAndItsNumbers()
    {
        var tenant = await nodeA.CreateTenantAsync();
        await using var stream = await SseStream.OpenAsync(nodeA.ApiClient(tenant));
        var transport = nodeB.Services.GetRequiredService<ILiveEventTransport>();
        var large = string.Concat(Enumerable.Repeat("Refoulement d'égout 🚽 ", 1200)); // three NOTIFY parts
        LiveEventDraft Draft(int n, string text = "") => new(tenant.Id, LiveEventTypes.LeadUpdated,
            System.Text.Json.JsonSerializer.Serialize(new { n, text }), null);

        // One publish: on PostgreSQL one statement numbers all four and sends their five payload parts.
        await transport.PublishAsync([Draft(1), Draft(2, large), Draft(3), Draft(4)]);

        var events = new List<SseEvent>();
        for (var i = 0; i < 4; i++)
        {
            events.Add(await stream.NextNonPingAsync(Deadline));
        }
        Assert.Equal([1, 2, 3, 4], events.Select(e => e.Json["n"]!.GetValue<int>()));
        Assert.Equal(large, events[1].Json["text"]!.GetValue<string>());
        var first = long.Parse(events[0].Id!, CultureInfo.InvariantCulture);
        Assert.Equal(Enumerable.Range(0, 4).Select(i => first + i), events.Select(e => long.Parse(e.Id!, CultureInfo.InvariantCulture)));
    }

    [Fact]
    public async Task EventLargerThanANotifyPayloadArrivesWhole()
    {
        var tenant = await nodeA.CreateTenantAsync();
        await using var stream = await SseStream.OpenAsync(nodeA.ApiClient(tenant));
        var vapiCall = "call-" + Guid.NewGuid();
        // 3 × 8000 characters of 1-, 2- and 4-byte UTF-8, so parts are cut between multi-byte characters.
        var text = string.Concat(Enumerable.Repeat("Sous-sol inondé 🚰 ", 1300));

        Assert.Equal(HttpStatusCode.OK, (await nodeB.PostVapiAsync(tenant, LiveEventsTests.Transcript(vapiCall, text))).StatusCode);

        var turn = await stream.WaitForAsync(e => e.Type == "transcript.turn", Deadline);
        Assert.Equal(text, turn.Json["text"]!.GetValue<string>());
    }

    [Fact]
    public async Task WebhookToDashboardLatencyP95()
    {
        var tenant = await nodeA.CreateTenantAsync();
        await using var stream = await SseStream.OpenAsync(nodeA.ApiClient(tenant));
        var vapiCall = "call-" + Guid.NewGuid();
        Assert.Equal(HttpStatusCode.OK, (await nodeB.PostVapiAsync(tenant, LiveEventsTests.StatusUpdate(vapiCall, "in-progress"))).StatusCode);
        await stream.NextNonPingAsync(Deadline);

        var samples = new List<double>();
        var endToEnd = new List<double>();
        for (var i = 0; i < 200; i++)
        {
            var text = $"turn {i}";
            var sent = Stopwatch.GetTimestamp();
            var response = await nodeB.PostVapiAsync(tenant, LiveEventsTests.Transcript(vapiCall, text));
            var acknowledged = Stopwatch.GetTimestamp();
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var e = await stream.WaitForAsync(x => x.Type == "transcript.turn", Deadline);
            samples.Add(Stopwatch.GetElapsedTime(acknowledged).TotalMilliseconds);
            endToEnd.Add(Stopwatch.GetElapsedTime(sent).TotalMilliseconds);
            Assert.Equal(text, e.Json["text"]!.GetValue<string>());
        }
        var where = TestDatabase.IsPostgres ? "PostgreSQL, node B → node A" : "SQLite, one node";
        output.WriteLine($"webhook 200 → SSE event ({where}): {Summary(samples)}");
        output.WriteLine($"webhook sent → SSE event ({where}): {Summary(endToEnd)}");
        Assert.True(Percentile(samples, 0.95) < 250, Summary(samples));
    }

    private static double Percentile(List<double> values, double p) => values.Order().ElementAt((int)Math.Ceiling(values.Count * p) - 1);

    private static string Summary(List<double> values) =>
        $"n={values.Count} p50={Percentile(values, 0.5):F1} ms p95={Percentile(values, 0.95):F1} ms max={values.Max():F1} ms";
}
