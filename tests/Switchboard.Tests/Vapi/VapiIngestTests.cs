using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.TestHost;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Switchboard.Outbox;
using Switchboard.Platform;
using Switchboard.Platform.Database;
using Switchboard.Tests.Support;
using Switchboard.Vapi;

namespace Switchboard.Tests.Vapi;

/// <summary>Webhook ingestion at platform scale (issue 13): the mixed message stream with the outbox running, on both databases.</summary>
[Trait("Category", "Database")]
public sealed class VapiIngestTests(SwitchboardFactory factory) : IClassFixture<SwitchboardFactory>
{
    private const string FixtureCallId = "b1223960-1b4d-4585-91b8-a69b0f57ec2f";

    /// <summary>
    /// A call's messages are applied one at a time (<see cref="VapiWebhookApi.CallOrder"/>): while the test holds call A's turn,
    /// A's message waits and another call's goes through; released, A's message is stored.
    /// </summary>
    [Fact]
    public async Task AMessageWaitsWhileAnotherMessageOfItsCallIsApplied()
    {
        var tenant = await factory.CreateTenantAsync();
        var callA = Guid.NewGuid().ToString();
        var callB = Guid.NewGuid().ToString();
        const string status = """{"message":{"type":"status-update","status":"in-progress","call":{"id":"CALLID","type":"inboundPhoneCall"}}}""";
        var locks = factory.Services.GetRequiredKeyedService<KeyedAsyncLock>(VapiWebhookApi.CallOrder);

        var turn = await locks.AcquireAsync(VapiWebhookApi.CallOrderKey(tenant.Id, callA), CancellationToken.None);
        var waiting = factory.PostVapiAsync(tenant, status.Replace("CALLID", callA));
        var other = await factory.PostVapiAsync(tenant, status.Replace("CALLID", callB));
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
        var again = await factory.PostVapiAsync(tenant, status.Replace("CALLID", callB).Replace("in-progress", "ringing"));
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.False(waiting.IsCompleted, "call A's message went ahead while its call's turn was held");
        Assert.False(await factory.WithDbAsync(tenant.Id, db => db.Calls.AnyAsync(c => c.ProviderCallId == callA)));

        turn.Dispose();
        var response = await waiting.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("in-progress", await factory.WithDbAsync(tenant.Id, db => db.Calls.Where(c => c.ProviderCallId == callA).Select(c => c.Status).SingleAsync()));
    }

    [Fact]
    public async Task ConcurrentMixedDeliveriesWithDuplicatesAndAMalformedOneAreEachStoredOnceWithTheRightReplies()
    {
        var tenant = await factory.CreateTenantAsync();
        var eocr = Fixtures.ReadText("vapi/end-of-call-report.2024-07.json");
        // Four calls: the test tenant's plan (pro) takes five at once; a sixth assistant-request would be refused, not stored.
        var callIds = Enumerable.Range(0, 4).Select(_ => Guid.NewGuid().ToString()).ToList();
        var bodies = callIds.SelectMany((id, i) => CallMessages(id, i, eocr)).ToList();
        var distinct = bodies.Count;
        // Vapi retries: the same bytes again, for one message of each kind.
        var duplicates = bodies.Where((_, i) => i % 4 == 0).ToList();
        var all = bodies.Concat(duplicates).OrderBy(_ => Random.Shared.Next()).ToList();

        // The outbox drains alongside (SMS alerts for the emergencies), as the worker does in production.
        using var stop = new CancellationTokenSource();
        var outbox = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await factory.Outbox.ProcessDueAsync(CancellationToken.None);
                await Task.Yield();
            }
        });
        var malformed = factory.PostVapiAsync(tenant, "{\"message\":{\"type\":\"status-update\",");
        // Eight in flight at a time: concurrent enough to race on every call and key, within the shared PostgreSQL's connection limit.
        using var inFlight = new SemaphoreSlim(8);
        var responses = await Task.WhenAll(all.Select(async b =>
        {
            await inFlight.WaitAsync();
            try
            {
                return (Body: b, Response: await factory.PostVapiAsync(tenant, b.Json));
            }
            finally
            {
                inFlight.Release();
            }
        }));
        await stop.CancelAsync();
        await outbox;

        Assert.Equal(HttpStatusCode.BadRequest, (await malformed).StatusCode);
        foreach (var (body, response) in responses)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var reply = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
            switch (body.Type)
            {
                case "tool-calls":
                    var result = Assert.Single(reply["results"]!.AsArray())!;
                    Assert.Equal(body.ToolCallId, result["toolCallId"]!.GetValue<string>());
                    Assert.Null(result["error"]);
                    break;
                case "assistant-request":
                    Assert.NotNull(reply["assistant"] ?? reply["assistantId"]);
                    break;
                default:
                    Assert.True(reply["ok"]!.GetValue<bool>());
                    break;
            }
        }
        var (events, calls, ended, leads) = await factory.WithDbAsync(tenant.Id, async db => (
            await db.CallEvents.CountAsync(),
            await db.Calls.CountAsync(),
            await db.Calls.CountAsync(c => c.Status == "ended" && c.TranscriptFinal),
            await db.Leads.CountAsync()));
        Assert.Equal(distinct, events);
        Assert.Equal(callIds.Count, calls);
        Assert.Equal(callIds.Count, ended);
        Assert.Equal(callIds.Count, leads);
    }

    [Fact]
    public async Task RequestResponseMessagesAreAnsweredAheadOfQueuedFireAndForgetOnes()
    {
        if (TestDatabase.IsPostgres)
        {
            return; // PostgreSQL has no writer queue: concurrent transactions run side by side
        }
        var tenant = await factory.CreateTenantAsync();
        var gate = factory.Services.GetRequiredService<SqliteWriteGate>();
        // A call apiece: the messages of one call are applied one at a time (VapiWebhookApi.CallOrder), not queued together.
        var callIds = Enumerable.Range(0, 9).Select(_ => Guid.NewGuid().ToString()).ToList();
        var order = new System.Collections.Concurrent.ConcurrentQueue<string>();

        Task<HttpResponseMessage> Post(string kind, string json) => Task.Run(async () =>
        {
            var response = await factory.PostVapiAsync(tenant, json);
            order.Enqueue(kind);
            return response;
        });

        var group = factory.Services.GetRequiredService<SqliteGroupCommit>();
        var held = await gate.EnterAsync(WritePriority.Normal, CancellationToken.None);
        Task<HttpResponseMessage>[] responsesTasks;
        try
        {
            // Webhook units queue for the group commit (its leader alone waits on the writer gate).
            var statusUpdates = Enumerable.Range(0, 8).Select(i => Post("speech-update", Json(new
            {
                message = new { type = "speech-update", status = "started", role = "user", turn = i, call = new { id = callIds[i] } },
            }))).ToList();
            await Until(() => group.Queued >= 8);
            var toolCall = Post("tool-calls", ToolCalls(callIds[8], "call_first", "routine"));
            await Until(() => group.Queued >= 9);
            responsesTasks = [.. statusUpdates.Append(toolCall)];
        }
        finally
        {
            held.Dispose();
        }
        var responses = await Task.WhenAll(responsesTasks);

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        // First through the writer (first-come-first-served would make it ninth): its row is the first written. (All nine
        // share one COMMIT, so their responses leave together.)
        var firstWritten = await factory.WithDbAsync(tenant.Id, async db =>
        {
            var conn = db.Database.GetDbConnection();
            await db.Database.OpenConnectionAsync();
            try
            {
                await using var cmd = conn.CreateCommand();
                cmd.CommandText = "SELECT e.\"Type\" FROM call_events e WHERE e.\"TenantId\" = $tenant ORDER BY e.rowid LIMIT 1";
                var p = cmd.CreateParameter();
                p.ParameterName = "$tenant";
                p.Value = tenant.Id.ToString().ToUpperInvariant();
                cmd.Parameters.Add(p);
                return (string?)await cmd.ExecuteScalarAsync();
            }
            finally
            {
                await db.Database.CloseConnectionAsync();
            }
        });
        Assert.Equal("tool-calls", firstWritten);
        Assert.Empty(order.Except(["speech-update", "tool-calls"]));
    }

    [Fact]
    public async Task AMessagePreparedBeforeItsCallWasChangedElsewhereIsRedoneOnWhatWasWritten()
    {
        if (TestDatabase.IsPostgres)
        {
            return; // only SQLite prepares messages outside its single writer
        }
        var tenant = await factory.CreateTenantAsync();
        var gate = factory.Services.GetRequiredService<SqliteWriteGate>();
        var group = factory.Services.GetRequiredService<SqliteGroupCommit>();
        var callId = Guid.NewGuid().ToString();
        var call = new { id = callId };
        Assert.Equal(HttpStatusCode.OK, (await factory.PostVapiAsync(tenant, Json(new { message = new { type = "status-update", status = "ringing", call } }))).StatusCode);

        // The transcript is prepared from the stored call (ringing) while the writer is held; meanwhile another writer (the
        // test, inside its turn, as the API would) ends the call. The message must then be redone: written as prepared, its
        // transcript turn would move the call back from ended to in-progress. (Two Vapi messages of one call no longer race
        // like this on one node: they are applied one at a time, VapiWebhookApi.CallOrder.)
        var held = await gate.EnterAsync(WritePriority.Normal, CancellationToken.None);
        Task<HttpResponseMessage> late;
        try
        {
            late = Task.Run(() => factory.PostVapiAsync(tenant, Json(new
            {
                message = new { type = "transcript", role = "user", transcriptType = "final", transcript = "Merci!", call },
            })));
            await Until(() => group.Queued >= 1);
            await factory.WithDbAsync(tenant.Id, async db =>
            {
                var stored = await db.Calls.SingleAsync(c => c.ProviderCallId == callId);
                stored.Status = "ended";
                stored.Version++;
                return await db.SaveChangesAsync();
            });
        }
        finally
        {
            held.Dispose();
        }
        Assert.Equal(HttpStatusCode.OK, (await late).StatusCode);

        var (status, turns, version) = await factory.WithDbAsync(tenant.Id, async db =>
        {
            var stored = await db.Calls.SingleAsync(c => c.ProviderCallId == callId);
            return (stored.Status, await db.TranscriptTurns.Where(t => t.CallId == stored.Id).OrderBy(t => t.Seq).Select(t => t.Text).ToListAsync(), stored.Version);
        });
        Assert.Equal("ended", status);
        Assert.Equal(["Merci!"], turns);
        Assert.Equal(2, version); // the other writer's change, then the message redone on it
    }

    [Fact]
    public async Task MessagesThatOnlyRecordTheirEventLeaveTheCallRowAloneAndTouchItsActivityAtMostOncePerMinute()
    {
        var tenant = await factory.CreateTenantAsync();
        var callId = Guid.NewGuid().ToString();
        var call = new { id = callId };
        async Task SendAsync(object message) =>
            Assert.Equal(HttpStatusCode.OK, (await factory.PostVapiAsync(tenant, Json(new { message }))).StatusCode);
        Task<(long Version, DateTimeOffset UpdatedAt, string Status, int Events, int Turns)> StoredAsync() => factory.WithDbAsync(tenant.Id, async db =>
        {
            var stored = await db.Calls.AsNoTracking().SingleAsync(c => c.ProviderCallId == callId);
            return (stored.Version, stored.UpdatedAt, stored.Status, await db.CallEvents.CountAsync(e => e.CallId == stored.Id),
                await db.TranscriptTurns.CountAsync(t => t.CallId == stored.Id));
        });

        await SendAsync(new { type = "status-update", status = "in-progress", call });
        var created = await StoredAsync();
        Assert.Equal(0, created.Version);

        // Within the minute: a speech update, a partial transcript and the same status again change nothing on the call.
        factory.Clock.Advance(TimeSpan.FromSeconds(20));
        await SendAsync(new { type = "speech-update", status = "started", role = "user", call });
        await SendAsync(new { type = "transcript", role = "user", transcriptType = "partial", transcript = "Mon sous-sol", call });
        await SendAsync(new { type = "status-update", status = "in-progress", timestamp = 1764601234567L, call }); // not a redelivery: other bytes
        var quiet = await StoredAsync();
        Assert.Equal((0L, created.UpdatedAt, "in-progress", 4, 0), quiet); // every event stored, the row untouched

        // A minute after the last touch, the next one moves the call's activity time (the concurrent-call window counts on it).
        factory.Clock.Advance(TimeSpan.FromSeconds(41));
        await SendAsync(new { type = "speech-update", status = "stopped", role = "user", call });
        var touched = await StoredAsync();
        Assert.Equal((1L, factory.Clock.GetUtcNow(), 5), (touched.Version, touched.UpdatedAt, touched.Events));

        // A final transcript writes a turn: the call's version moves whatever the clock says.
        await SendAsync(new { type = "transcript", role = "user", transcriptType = "final", transcript = "Mon sous-sol est inondé.", call });
        var final = await StoredAsync();
        Assert.Equal((2L, 6, 1), (final.Version, final.Events, final.Turns));
    }

    [Fact]
    public void UniqueKeyRacesAndPostgresDeadlocksAreReplayedOtherFailuresAreNot()
    {
        static Npgsql.PostgresException Pg(string sqlState) => new("message", "ERROR", "ERROR", sqlState);
        // As EF's non-retrying execution strategy hands a transient PostgreSQL failure over: wrapped twice.
        static Exception Wrapped(Exception inner) => new InvalidOperationException("An exception has been raised that is likely due to a transient failure.",
            new DbUpdateException("An error occurred while saving the entity changes.", inner));

        Assert.True(VapiWebhookApi.Replayable(new DbUpdateException("unique", Pg("23505"))));
        Assert.True(VapiWebhookApi.Replayable(Wrapped(Pg("40P01")))); // deadlock detected
        Assert.True(VapiWebhookApi.Replayable(new InvalidOperationException("transient", Pg("40001")))); // serialization failure
        Assert.False(VapiWebhookApi.Replayable(new InvalidOperationException("transient", Pg("57014")))); // statement timeout: not replayed
        Assert.False(VapiWebhookApi.Replayable(new InvalidOperationException("a bug")));
        Assert.False(VapiWebhookApi.Replayable(new OperationCanceledException()));
    }

    [Fact]
    public async Task TheWarmUpRunsASyntheticCallAndStoresNothing()
    {
        var tenant = await factory.CreateTenantAsync();
        var before = await CountsAsync();
        var warmup = factory.Services.GetServices<IHostedService>().OfType<VapiWarmup>().Single();
        var recorded = new List<string>();
        using var listener = ListenToOutboxMetrics(recorded);

        var report = await warmup.WarmPipelineAsync(CancellationToken.None);

        // It went every way a delivery for a working tenant goes (so the first real ones find those paths compiled)…
        Assert.Equal(9, report.Messages);
        Assert.True(report.RecordedOnly >= 1, $"no message took the record-only statement: {report}");
        Assert.Equal(1, report.Leads);
        Assert.Equal(1, report.Sms);
        Assert.True(report.WebhookDeliveries >= 3, $"the webhook fan-out queued too little: {report}");
        Assert.True(report.OutboxHandled >= 2, $"the SMS and delivery handlers did not run: {report}");
        // …and left nothing behind: no rows, and not a refused delivery or a simulated SMS in the metrics.
        Assert.Equal(before, await CountsAsync());
        lock (recorded)
        {
            Assert.Empty(recorded);
        }
        var response = await factory.PostVapiAsync(tenant, Json(new { message = new { type = "status-update", status = "in-progress", call = new { id = Guid.NewGuid().ToString() } } }));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    /// <summary>
    /// The tiering rounds (the first seconds after ready were the JIT's, recompiling the hot path): the warm-up runs its
    /// synthetic call again and again until its budget ends or the JIT has settled, and every round is rolled back.
    /// </summary>
    [Fact]
    public async Task TheTieringRoundsRepeatTheSyntheticCallWithinTheirBudgetAndStoreNothing()
    {
        var warmup = factory.Services.GetServices<IHostedService>().OfType<VapiWarmup>().Single();
        var before = await CountsAsync();
        var budget = TimeSpan.FromSeconds(3);

        var watch = System.Diagnostics.Stopwatch.StartNew();
        var report = await warmup.WarmTieringAsync(budget, CancellationToken.None);

        Assert.True(report.Rounds >= 2, $"rounds: {report}");
        // It stops at its budget at the latest (plus the round running then), or sooner when the JIT settled.
        Assert.True(watch.Elapsed < budget + TimeSpan.FromSeconds(10), $"took {watch.Elapsed} for a budget of {budget}: {report}");
        Assert.True(report.Settled || watch.Elapsed >= budget, $"stopped early without settling: {report}");
        Assert.Equal(before, await CountsAsync());
        Assert.Equal(0, (await warmup.WarmTieringAsync(TimeSpan.Zero, CancellationToken.None)).Rounds);
    }

    /// <summary>
    /// The live rounds (the first seconds after ready compiled what the rolled-back pass never reaches: the endpoint's own
    /// processing, the group commit's units, the outbox worker): real signed calls through the endpoint for a tenant in the
    /// reserved range, the outbox run for them (only their SMS, simulated, and webhook deliveries), nothing counted in the
    /// metrics, and then the tenant erased with everything its calls stored, as is a tenant an earlier warm-up left behind
    /// (but not one young enough to be another node's warm-up under way).
    /// </summary>
    [Fact]
    public async Task TheLiveRoundsRunRealCallsThenEraseTheirTenantAndAnyAnEarlierWarmUpLeft()
    {
        var warmup = factory.Services.GetServices<IHostedService>().OfType<VapiWarmup>().Single();
        var before = await CountsAsync();
        // One left by a warm-up killed yesterday, and one of another node warming up at this moment (left alone).
        var (leftover, starting) = (WarmUpTenant.NewId(), WarmUpTenant.NewId());
        var now = factory.Services.GetRequiredService<TimeProvider>().GetUtcNow(); // the host's clock
        await factory.WithDbAsync(null, async db =>
        {
            foreach (var (id, created) in new[] { (leftover, now.AddDays(-1)), (starting, now) })
            {
                db.Tenants.Add(new Switchboard.Tenancy.Tenant
                {
                    Id = id, Name = "start-up warm-up", TimeZone = "America/Toronto", Locale = "fr-CA",
                    VapiWebhookSecretProtected = "unused", CreatedAt = created,
                });
            }
            return await db.SaveChangesAsync();
        });
        var recorded = new List<string>();
        using var listener = ListenToOutboxMetrics(recorded);
        using (var session = await LiveRoundSession.StartAsync(factory))
        {
            var live = session.Live;
            Assert.True(WarmUpTenant.Is(live.TenantId));
            Assert.Equal(0, await factory.WithDbAsync(null, db => db.Tenants.IgnoreQueryFilters().CountAsync(t => t.Id == leftover)));
            Assert.Equal(1, await factory.WithDbAsync(null, db => db.Tenants.IgnoreQueryFilters().CountAsync(t => t.Id == starting)));
            await warmup.EraseLiveAsync(starting, CancellationToken.None); // (the other node's own job; here the test's)
            Assert.Equal(VapiWarmup.LiveCallsPerRound * 9, await warmup.WarmLiveRoundAsync(live, CancellationToken.None));
            var (calls, leads, sms) = await factory.WithDbAsync(live.TenantId, async db =>
                (await db.Calls.CountAsync(), await db.Leads.CountAsync(), await db.SmsMessages.CountAsync()));
            Assert.Equal((VapiWarmup.LiveCallsPerRound, VapiWarmup.LiveCallsPerRound, VapiWarmup.LiveCallsPerRound), (calls, leads, sms));

            await factory.Outbox.ProcessDueAsync(CancellationToken.None);
            // The emergencies' alerts are recorded as simulated (no Twilio credentials); a routine lead's waits for opening hours.
            var statuses = await factory.WithDbAsync(live.TenantId, db => db.SmsMessages.Select(m => m.Status).ToListAsync());
            Assert.True(statuses.Count(x => x == "simulated") >= VapiWarmup.LiveCallsPerRound / 2, string.Join(", ", statuses));
            Assert.DoesNotContain(statuses, x => x is "sent" or "delivered" or "failed");
            Assert.True(await factory.WithDbAsync(live.TenantId, db => db.WebhookAttempts.AnyAsync()), "no webhook delivery was attempted");

            await warmup.EraseLiveAsync(live.TenantId, CancellationToken.None);
        }
        Assert.Equal(before, await CountsAsync());
        lock (recorded)
        {
            Assert.Empty(recorded);
        }
    }

    /// <summary>
    /// The erasure of a live-round tenant while the outbox worker is busy with its backlog (as on a cold PostgreSQL node, whose
    /// live rounds queue deliveries faster than it sends them): the rows no worker holds are dropped, those in flight finish,
    /// and the tenant is erased, with nothing of it left for after ready.
    /// </summary>
    [Fact]
    public async Task ALiveRoundTenantIsErasedWhileTheOutboxWorksThroughItsBacklog()
    {
        using var session = await LiveRoundSession.StartAsync(factory);
        var (warmup, live) = (session.Warmup, session.Live);
        for (var round = 0; round < 3; round++)
        {
            await warmup.WarmLiveRoundAsync(live, CancellationToken.None);
        }
        var backlog = await factory.WithDbAsync(null, db => db.Outbox.IgnoreQueryFilters().CountAsync(o => o.TenantId == live.TenantId && o.Status == OutboxStatus.Pending));
        Assert.True(backlog >= 3 * VapiWarmup.LiveCallsPerRound, $"backlog {backlog}");

        using var stop = new CancellationTokenSource();
        var worker = Task.Run(async () =>
        {
            for (var i = 0; i < 2_000 && !stop.IsCancellationRequested; i++)
            {
                await factory.Outbox.ProcessDueAsync(CancellationToken.None);
            }
        });
        await warmup.EraseLiveAsync(live.TenantId, CancellationToken.None);
        await stop.CancelAsync();
        await worker;

        Assert.Equal(0, await factory.WithDbAsync(null, db => db.Tenants.IgnoreQueryFilters().CountAsync(t => t.Id == live.TenantId)));
        Assert.Equal(0, await factory.WithDbAsync(null, db => db.Outbox.IgnoreQueryFilters().CountAsync(o => o.TenantId == live.TenantId)));
        Assert.Equal(0, await factory.WithDbAsync(null, db => db.Calls.IgnoreQueryFilters().CountAsync(c => c.TenantId == live.TenantId)));
    }

    /// <summary>The reserved range of the warm-up's tenants holds none of the UUIDv7 ids Switchboard gives tenants.</summary>
    [Fact]
    public void WarmUpTenantIdsAreInARangeNoOtherTenantIdIsIn()
    {
        var id = WarmUpTenant.NewId();
        Assert.StartsWith("00000000-0000-7000-8000-", id.ToString("D"));
        Assert.True(WarmUpTenant.Is(id));
        Assert.NotEqual(id, WarmUpTenant.NewId());
        Assert.False(WarmUpTenant.Is(Guid.CreateVersion7()));
        Assert.False(WarmUpTenant.Is(Guid.Empty));
        Assert.False(WarmUpTenant.Is(Guid.Parse("00000000-0000-7000-8001-000000000000")));
    }

    /// <summary>
    /// Records the names of this host's SMS, webhook-delivery and dead-letter measurements into <paramref name="recorded"/>
    /// (other hosts in the process have meters of the same name, from other meter factories). Dispose to stop.
    /// </summary>
    private System.Diagnostics.Metrics.MeterListener ListenToOutboxMetrics(List<string> recorded)
    {
        var meters = factory.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Scope == meters && instrument.Name is "switchboard.sms" or "switchboard.webhook.delivery.duration" or "switchboard.outbox.dead_letters")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, _, _, _) => { lock (recorded) { recorded.Add(instrument.Name); } });
        listener.SetMeasurementEventCallback<double>((instrument, _, _, _) => { lock (recorded) { recorded.Add(instrument.Name); } });
        listener.Start();
        return listener;
    }

    /// <summary>Rows of every table the warm-up writes to (then rolls back), across tenants.</summary>
    private Task<string> CountsAsync() => factory.WithDbAsync(null, async db => string.Join(", ",
            await db.Tenants.IgnoreQueryFilters().CountAsync(),
            await db.Assistants.IgnoreQueryFilters().CountAsync(),
            await db.WebhookEndpoints.IgnoreQueryFilters().CountAsync(),
            await db.Calls.IgnoreQueryFilters().CountAsync(),
            await db.CallEvents.IgnoreQueryFilters().CountAsync(),
            await db.Leads.IgnoreQueryFilters().CountAsync(),
            await db.SmsMessages.IgnoreQueryFilters().CountAsync(),
            await db.WebhookEvents.IgnoreQueryFilters().CountAsync(),
            await db.WebhookDeliveries.IgnoreQueryFilters().CountAsync(),
            await db.WebhookAttempts.IgnoreQueryFilters().CountAsync(),
            await db.Outbox.IgnoreQueryFilters().CountAsync(),
            await db.LiveEventSequences.CountAsync()));

    /// <summary>
    /// PostgreSQL: the live events publish through a pool of their own, which the warm-up opens (the first publish after a
    /// start used to open it, with every webhook answered meanwhile queued behind it); what it runs there is rolled back.
    /// </summary>
    [Fact]
    public async Task TheWarmUpOpensTheLiveEventsPublishingPool()
    {
        if (!TestDatabase.IsPostgres)
        {
            return; // SQLite: events stay in the process, nothing to open
        }
        var warmup = factory.Services.GetServices<IHostedService>().OfType<VapiWarmup>().Single();
        var transport = factory.Services.GetRequiredService<Switchboard.Dashboard.PostgresLiveEventTransport>();
        transport.ClearPool();
        // A closed session leaves pg_stat_activity when its backend has exited: bounded wait, no sleep-to-pass.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (await PublisherSessionsAsync() > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }
        Assert.Equal(0, await PublisherSessionsAsync());

        await warmup.WarmPipelineAsync(CancellationToken.None);

        Assert.True(await PublisherSessionsAsync() >= 1, "the publishing pool holds no connection after the warm-up");

        Task<int> PublisherSessionsAsync() => factory.WithDbAsync(null, db => db.Database.SqlQueryRaw<int>(
            "SELECT count(*)::int AS \"Value\" FROM pg_stat_activity WHERE datname = current_database() AND application_name = {0}",
            Switchboard.Dashboard.PostgresLiveEventTransport.PublisherApplicationName).SingleAsync());
    }

    [Fact]
    public async Task TheWarmUpLeavesConnectionsOpenInThePool()
    {
        var warmup = factory.Services.GetServices<IHostedService>().OfType<VapiWarmup>().Single();
        var pool = factory.Services.GetRequiredService<SqliteSessionPool>();
        // Start from a pool the other tests did not fill: SQLite's lent connections trimmed to MinIdle (two trims: the first
        // only learns what stayed idle), PostgreSQL's idle connections closed.
        pool.Trim(TimeSpan.Zero);
        pool.Trim(TimeSpan.Zero);
        Npgsql.NpgsqlConnection.ClearAllPools();
        var opened = VapiWarmup.ConnectionsOpened(TestDatabase.IsPostgres);
        Assert.True(pool.IdleCount < opened, $"idle before: {pool.IdleCount}");

        await warmup.WarmConnectionsAsync(CancellationToken.None);

        if (pool.Enabled)
        {
            // SQLite: the connections are lent again, not reopened.
            Assert.True(pool.IdleCount >= opened, $"idle: {pool.IdleCount}");
            return;
        }
        // PostgreSQL: Npgsql's pool holds them; the server sees them as idle sessions of this database.
        var idle = await factory.WithDbAsync(null, db => db.Database.SqlQueryRaw<int>(
            "SELECT count(*)::int AS \"Value\" FROM pg_stat_activity WHERE datname = current_database() AND state = 'idle'").SingleAsync());
        Assert.True(idle >= opened - 1, $"idle sessions: {idle}");
    }

    internal sealed record Body(string Type, string Json, string? ToolCallId);

    /// <summary>One call's messages in Vapi's shapes; every other call reports an emergency through capture_lead.</summary>
    internal static IEnumerable<Body> CallMessages(string callId, int index, string eocr)
    {
        var call = new { id = callId, type = "inboundPhoneCall", customer = new { number = "+1514555" + (1000 + index) } };
        yield return new Body("assistant-request", Json(new { message = new { type = "assistant-request", call } }), null);
        yield return new Body("status-update", Json(new { message = new { type = "status-update", status = "in-progress", call } }), null);
        yield return new Body("speech-update", Json(new { message = new { type = "speech-update", status = "started", role = "user", turn = 1, call } }), null);
        yield return new Body("transcript", Json(new { message = new { type = "transcript", role = "user", transcriptType = "partial", transcript = "My basement", call } }), null);
        yield return new Body("transcript", Json(new { message = new { type = "transcript", role = "user", transcriptType = "final", transcript = "My basement is flooding", call } }), null);
        var toolCallId = $"call_{index}";
        yield return new Body("tool-calls", ToolCalls(callId, toolCallId, index % 2 == 0 ? "emergency" : "routine"), toolCallId);
        yield return new Body("status-update", Json(new { message = new { type = "status-update", status = "ended", endedReason = "customer-ended-call", call } }), null);
        yield return new Body("end-of-call-report", eocr.Replace(FixtureCallId, callId, StringComparison.Ordinal), null);
    }

    private static string ToolCalls(string callId, string toolCallId, string urgency)
    {
        var toolCall = new
        {
            id = toolCallId,
            type = "function",
            function = new
            {
                name = "capture_lead",
                arguments = new { name = "Sylvie Tremblay", phone = "+15145550123", address = "1234 rue Beaubien Est", problem = "Basement flooding", urgency },
            },
        };
        return Json(new { message = new { type = "tool-calls", toolCallList = new[] { toolCall }, toolCalls = new[] { toolCall }, call = new { id = callId } } });
    }

    private static string Json(object value) => JsonSerializer.Serialize(value);

    private static async Task Until(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met within 30 s");
            await Task.Delay(5);
        }
    }
}

/// <summary>A host that warms up on start, with its readiness under the test's control.</summary>
public sealed class WarmingFactory : SwitchboardFactory
{
    internal StartupReadiness Readiness { get; } = new();

    protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?> { ["Switchboard:Vapi:WarmUpOnStart"] = "true" };

    protected override void ConfigureWebHost(Microsoft.AspNetCore.Hosting.IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        // The readiness the warm-up marks is the test's: the warm-up itself is replaced by nothing, so the test decides when it ends.
        builder.ConfigureTestServices(services =>
        {
            services.AddSingleton(Readiness);
            var warmup = services.Single(d => d.ServiceType == typeof(IHostedService) && d.ImplementationType == typeof(VapiWarmup));
            services.Remove(warmup);
        });
    }
}

[Trait("Category", "Database")]
public sealed class VapiWarmupReadinessTests(WarmingFactory factory) : IClassFixture<WarmingFactory>
{
    [Fact]
    public async Task ReadyzSaysWarmingUpUntilTheWarmUpIsDone()
    {
        using var client = factory.CreateClient();

        var before = await client.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, before.StatusCode);
        Assert.Equal("warming up", JsonNode.Parse(await before.Content.ReadAsStringAsync())!["reason"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/healthz")).StatusCode);

        factory.Readiness.MarkReady();

        var after = await client.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
    }
}

/// <summary>A host whose tenants may send 20 Vapi messages a minute.</summary>
public sealed class LowVapiRateLimitFactory : SwitchboardFactory
{
    /// <summary>The per-tenant limit of this host.</summary>
    internal const int Limit = 20;

    protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>
    {
        ["Switchboard:Vapi:RateLimitPerMinute"] = Limit.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Switchboard:Vapi:RateLimitPerLinePerMinute"] = "0",
    };
}

/// <summary>The warm-up's live calls are not held to the per-tenant Vapi limit (100 a minute by default); every other tenant is.</summary>
[Trait("Category", "Database")]
public sealed class VapiWarmupRateLimitTests(LowVapiRateLimitFactory factory) : IClassFixture<LowVapiRateLimitFactory>
{
    [Fact]
    public async Task TheLiveRoundsAreNotRateLimitedWhileOtherTenantsAre()
    {
        using (var session = await LiveRoundSession.StartAsync(factory))
        {
            try
            {
                Assert.True(VapiWarmup.LiveCallsPerRound * 9 > LowVapiRateLimitFactory.Limit);
                Assert.Equal(VapiWarmup.LiveCallsPerRound * 9, await session.Warmup.WarmLiveRoundAsync(session.Live, CancellationToken.None));
            }
            finally
            {
                await session.Warmup.EraseLiveAsync(session.Live.TenantId, CancellationToken.None);
            }
        }

        var tenant = await factory.CreateTenantAsync();
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i <= LowVapiRateLimitFactory.Limit; i++)
        {
            var status = JsonSerializer.Serialize(new { message = new { type = "speech-update", status = "started", role = "user", call = new { id = Guid.NewGuid().ToString() } } });
            statuses.Add((await factory.PostVapiAsync(tenant, status)).StatusCode);
        }
        Assert.Equal(HttpStatusCode.TooManyRequests, statuses[^1]);
        Assert.All(statuses[..^1], s => Assert.Equal(HttpStatusCode.OK, s));
    }
}

/// <summary>
/// Tests' start of the warm-up's live rounds on an in-memory test server, which has no address of its own: points the live
/// rounds' client at it (<see cref="VapiWarmup.LiveClient"/>) and starts a live-round tenant; disposing points the client back.
/// The tenant is the test's to erase.
/// </summary>
internal sealed class LiveRoundSession : IDisposable
{
    private LiveRoundSession(VapiWarmup warmup, VapiWarmup.LiveTenant live) => (Warmup, Live) = (warmup, live);

    /// <summary>The host's warm-up service.</summary>
    public VapiWarmup Warmup { get; }

    /// <summary>The live rounds' tenant, committed.</summary>
    public VapiWarmup.LiveTenant Live { get; }

    /// <summary>Starts the live rounds on <paramref name="factory"/>'s host; fails the test when they cannot start.</summary>
    public static async Task<LiveRoundSession> StartAsync(SwitchboardFactory factory)
    {
        var warmup = factory.Services.GetServices<IHostedService>().OfType<VapiWarmup>().Single();
        warmup.LiveClient = (factory.CreateClient(), factory.Server.BaseAddress);
        try
        {
            var live = await warmup.StartLiveAsync(CancellationToken.None);
            Assert.NotNull(live);
            return new LiveRoundSession(warmup, live);
        }
        catch
        {
            warmup.LiveClient = null;
            throw;
        }
    }

    /// <inheritdoc />
    public void Dispose() => Warmup.LiveClient = null;
}
