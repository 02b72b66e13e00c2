using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using Microsoft.EntityFrameworkCore;
using Switchboard.Outbox;
using Switchboard.Tests.Support;
using Switchboard.Tests.Webhooks;

namespace Switchboard.Tests.Observability;

/// <summary>
/// <c>GET /metrics</c>: Prometheus text with the outbox (depth, oldest due row, dead letters) and webhook delivery figures
/// of this host only; an operator's session or the scrape token reads it, anyone else is refused.
/// </summary>
[Trait("Category", "Database")]
public sealed class MetricsEndpointTests(ObservabilityFactory factory) : IClassFixture<ObservabilityFactory>
{
    [Fact]
    public async Task MetricsShowOutboxDepthOldestDueAgeDeadLettersAndWebhookDeliveries()
    {
        await using var ok = await WebhookReceiver.StartAsync();
        await using var failing = await WebhookReceiver.StartAsync();
        failing.StatusCode = 410; // Gone: the delivery fails at once (and the endpoint is disabled)
        var tenant = await factory.CreateTenantAsync();
        await factory.CreateEndpointAsync(tenant, ok.Url, ["call.ended"]);
        var other = await factory.CreateTenantAsync("Plomberie Voisine");
        await factory.CreateEndpointAsync(other, failing.Url, ["call.ended"]);
        await factory.PublishAsync(tenant.Id, "call.ended", "m-1", new { n = 1 });
        await factory.PublishAsync(other.Id, "call.ended", "m-2", new { n = 2 });
        var now = factory.Clock.GetUtcNow();
        await factory.WithDbAsync(tenant.Id, async db =>
        {
            // A kind nobody handles: a dead letter as soon as it is processed.
            db.Outbox.Add(new OutboxMessage { Id = Guid.NewGuid(), TenantId = tenant.Id, Kind = "obs.unknown", DedupeKey = "d-1", PayloadJson = "{}", NextAttemptAt = now, CreatedAt = now });
            return await db.SaveChangesAsync();
        });
        await factory.DeliverAllAsync();
        await factory.Outbox.DrainAsync(CancellationToken.None);
        await factory.WithDbAsync(tenant.Id, async db =>
        {
            // Two pending rows: one due for 90 s (claimable now, but nobody runs the outbox here), one due tomorrow.
            db.Outbox.Add(new OutboxMessage { Id = Guid.NewGuid(), TenantId = tenant.Id, Kind = "obs.unknown", DedupeKey = "p-1", PayloadJson = "{}", NextAttemptAt = now.AddSeconds(-90), CreatedAt = now });
            db.Outbox.Add(new OutboxMessage { Id = Guid.NewGuid(), TenantId = tenant.Id, Kind = "obs.unknown", DedupeKey = "p-2", PayloadJson = "{}", NextAttemptAt = now.AddDays(1), CreatedAt = now });
            return await db.SaveChangesAsync();
        });

        var text = await ScrapeAsync();

        Assert.Equal(2, Value(text, "switchboard_outbox_depth", "state=\"pending\""));
        Assert.Equal(1, Value(text, "switchboard_outbox_depth", "state=\"due\""));
        Assert.Equal(2, Value(text, "switchboard_outbox_depth", "state=\"dead\"")); // the unknown kind and the 410
        Assert.Equal(90, Value(text, "switchboard_outbox_oldest_due_age_seconds", null), 3);
        Assert.Equal(1, Value(text, "switchboard_outbox_dead_letters_total", "kind=\"obs.unknown\""));
        Assert.Equal(1, Value(text, "switchboard_outbox_dead_letters_total", "kind=\"webhook.deliver\""));
        Assert.Equal(1, Value(text, "switchboard_webhook_delivery_duration_seconds_count", "http_response_status_code=\"200\",outcome=\"succeeded\""));
        Assert.Equal(1, Value(text, "switchboard_webhook_delivery_duration_seconds_count", "http_response_status_code=\"410\",outcome=\"failed\""));
    }

    [Fact]
    public async Task RejectedVapiSignaturesAreCounted()
    {
        var tenant = await factory.CreateTenantAsync();
        var before = Value(await ScrapeAsync(), "switchboard_signatures_rejected_total", "provider=\"vapi\",reason=\"invalid\"", orZero: true);

        var response = await factory.PostVapiAsync(tenant, "{\"message\":{\"type\":\"status-update\"}}", (request, _) => request.Headers.Add("x-vapi-signature", "sha256=" + new string('0', 64)));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(before + 1, Value(await ScrapeAsync(), "switchboard_signatures_rejected_total", "provider=\"vapi\",reason=\"invalid\""));
    }

    [Fact]
    public async Task AVapiMessagesTimeIsRecordedByPhase()
    {
        var tenant = await factory.CreateTenantAsync();
        string[] phases = TestDatabase.IsPostgres ? ["call_order", "process"] : ["call_order", "prepare", "writer_wait", "write", "durable_wait", "batch_wait", "sync_wait", "resume"];
        const string Name = "switchboard_vapi_message_phase_duration_seconds_count";
        var text = await ScrapeAsync();
        var before = phases.ToDictionary(p => p, p => (Fire: Value(text, Name, $"message=\"fire_and_forget\",phase=\"{p}\"", orZero: true),
            Request: Value(text, Name, $"message=\"request_response\",phase=\"{p}\"", orZero: true)));
        const string Sum = "switchboard_vapi_message_phase_duration_seconds_sum";
        string[] parts = ["batch_wait", "sync_wait", "resume"];
        double DurableSum(string scrape) => Value(scrape, Sum, "message=\"fire_and_forget\",phase=\"durable_wait\"", orZero: true);
        double PartsSum(string scrape) => parts.Sum(p => Value(scrape, Sum, $"message=\"fire_and_forget\",phase=\"{p}\"", orZero: true));
        var (durableBefore, partsBefore) = (DurableSum(text), PartsSum(text));
        var callId = Guid.NewGuid().ToString();

        // A status update (fire-and-forget: it makes the call) and a tool call (request/response), each answered 200.
        var status = await factory.PostVapiAsync(tenant,
            """{"message":{"type":"status-update","status":"in-progress","call":{"id":"CALL_ID","type":"inboundPhoneCall","customer":{"number":"+15145550100"}}}}""".Replace("CALL_ID", callId, StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.OK, status.StatusCode);
        var tool = await factory.PostVapiAsync(tenant,
            """{"message":{"type":"tool-calls","call":{"id":"CALL_ID"},"toolCallList":[{"id":"tc-1","type":"function","function":{"name":"no_such_tool","arguments":{}}}]}}""".Replace("CALL_ID", callId, StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.OK, tool.StatusCode);

        text = await ScrapeAsync();
        foreach (var phase in phases)
        {
            Assert.Equal(before[phase].Fire + 1, Value(text, Name, $"message=\"fire_and_forget\",phase=\"{phase}\""));
            Assert.Equal(before[phase].Request + 1, Value(text, Name, $"message=\"request_response\",phase=\"{phase}\""));
        }
        if (!TestDatabase.IsPostgres)
        {
            // durable_wait's parts follow one another: together they are durable_wait. Each phase is recorded as a TimeSpan
            // (100 ns ticks, truncated), so the three parts of each of the two messages may sum up to 0.6 µs short of it.
            var durable = DurableSum(text) - durableBefore;
            Assert.InRange(PartsSum(text) - partsBefore, durable - 1e-6, durable + 1e-9);
        }
        // The other database's phases are not recorded here.
        Assert.DoesNotContain(TestDatabase.IsPostgres ? "phase=\"durable_wait\"" : "phase=\"process\"", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MetricsRefuseAnonymousTenantsAndWrongTokensButServeOperators()
    {
        var anonymous = await factory.CreateClient().GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal("UNAUTHENTICATED", await anonymous.ErrorCodeAsync());

        var wrong = factory.CreateClient();
        wrong.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ObservabilityFactory.ScrapeToken + "x");
        Assert.Equal(HttpStatusCode.Unauthorized, (await wrong.GetAsync("/metrics")).StatusCode);

        var tenant = await factory.CreateTenantAsync();
        Assert.Equal(HttpStatusCode.Forbidden, (await factory.ApiClient(tenant).GetAsync("/metrics")).StatusCode);
        var owner = await factory.SignUpAsync();
        Assert.Equal(HttpStatusCode.Forbidden, (await owner.Client.GetAsync("/metrics")).StatusCode);

        var ops = await factory.OperatorAsync();
        var asOperator = await ops.Client.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, asOperator.StatusCode);
        Assert.StartsWith("text/plain", asOperator.Content.Headers.ContentType?.MediaType);
        Assert.Contains("# TYPE switchboard_outbox_depth gauge", await asOperator.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task TheSqliteGroupCommitsTransactionsAndUnitsAreCounted()
    {
        var tenant = await factory.CreateTenantAsync();
        const string Batches = "switchboard_sqlite_group_commit_batches_total", Units = "switchboard_sqlite_group_commit_units_total";
        var text = await ScrapeAsync();
        var (batchesBefore, unitsBefore) = (Value(text, Batches, null, orZero: true), Value(text, Units, null, orZero: true));

        var status = await factory.PostVapiAsync(tenant,
            """{"message":{"type":"status-update","status":"in-progress","call":{"id":"CALL_ID","type":"inboundPhoneCall"}}}""".Replace("CALL_ID", Guid.NewGuid().ToString(), StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.OK, status.StatusCode);

        text = await ScrapeAsync();
        if (TestDatabase.IsPostgres)
        {
            // PostgreSQL has no single writer to batch for: no such instrument.
            Assert.DoesNotContain("switchboard_sqlite_group_commit", text, StringComparison.Ordinal);
            return;
        }
        // The message was one unit of a committed transaction (the outbox's claims may have been others meanwhile).
        var (batches, units) = (Value(text, Batches, null) - batchesBefore, Value(text, Units, null) - unitsBefore);
        Assert.True(batches >= 1, $"batches +{batches}");
        Assert.True(units >= batches, $"units +{units}, batches +{batches}");
    }

    [Fact]
    public async Task TheRuntimesGcFiguresAreServed()
    {
        GC.Collect(0); // at least one gen0 collection in this process
        var text = await ScrapeAsync();

        Assert.True(Value(text, "dotnet_gc_collections_total", "gc_heap_generation=\"gen0\"") >= 1, text);
        Assert.Contains("dotnet_gc_pause_time_seconds_total", text, StringComparison.Ordinal);
        Assert.Contains("dotnet_thread_pool_queue_length", text, StringComparison.Ordinal);
    }

    private async Task<string> ScrapeAsync()
    {
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ObservabilityFactory.ScrapeToken);
        var response = await client.GetAsync("/metrics");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"/metrics: {(int)response.StatusCode} {text}");
        return text;
    }

    /// <summary>The value of the one sample of <paramref name="name"/> whose labels include <paramref name="labels"/> (all of them when null).</summary>
    private static double Value(string text, string name, string? labels, bool orZero = false)
    {
        var samples = text.Split('\n')
            .Select(line => Regex.Match(line, @"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>[^}]*)\})? (?<value>\S+)"))
            .Where(m => m.Success && m.Groups["name"].Value == name && (labels is null || m.Groups["labels"].Value.Contains(labels, StringComparison.Ordinal)))
            .Select(m => double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture))
            .ToList();
        if (samples.Count == 0 && orZero)
        {
            return 0;
        }
        Assert.True(samples.Count == 1, $"{name}{{{labels}}}: {samples.Count} samples in\n{text}");
        return samples[0];
    }
}
