using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Alerts;
using Switchboard.Calls;
using Switchboard.Tenancy;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Calls;

/// <summary>
/// The analytics rollup of migration 0019 (triggers on calls, leads, SMS and turns) must give what the raw rows give.
/// The expected figures are computed here from the rows themselves, in C#, independently of the server's SQL: local
/// days of the requested zone, business hours Monday–Friday, missed calls, urgency and booked leads from the leads
/// table, exact nearest-rank percentiles mapped to their fixed bin. The period crosses the fall-back day in
/// America/Toronto (2026-11-01, 25 hours: 04:00Z to 05:00Z the next day) and has calls on every local and UTC midnight.
/// </summary>
[Trait("Category", "Database")]
public sealed class AnalyticsRollupTests(SwitchboardFactory factory) : IClassFixture<SwitchboardFactory>
{
    private const string Erased = "+15145550177";
    private static readonly DateOnly From = new(2026, 10, 30), To = new(2026, 11, 3);
    private static readonly string[] Statuses = ["ended", "ended", "completed", "no-answer", "busy", "failed", "in-progress"];
    private static readonly string[] Reasons = ["customer-ended-call", "assistant-ended-call", "silence-timed-out", "customer-did-not-answer", "pipeline-error"];
    private static readonly string[] SmsStatuses = ["sent", "delivered", "failed", "simulated", "queued"];
    private static readonly string[] Urgencies = [Urgency.Emergency, Urgency.Soon, Urgency.Routine];

    [Fact]
    public async Task RollupEqualsTheRawRowsAfterInsertsUpdatesLeadStatusErasureAndAcrossDst()
    {
        var tenant = await factory.CreateTenantAsync(); // America/Toronto, Monday–Friday 08:00–17:00
        var client = factory.ApiClient(tenant);
        var ids = await SeedAsync(tenant.Id);

        // 1. After the inserts, in the tenant's zone, a whole-UTC-day-free period (the 25-hour day alone) and two other zones.
        await AssertMatchesAsync(client, tenant.Id, From, To, null, Weekdays("08:00", "17:00"));
        await AssertMatchesAsync(client, tenant.Id, new DateOnly(2026, 11, 1), new DateOnly(2026, 11, 1), null, Weekdays("08:00", "17:00"));
        await AssertMatchesAsync(client, tenant.Id, From, To, "UTC", Weekdays("08:00", "17:00"));
        await AssertMatchesAsync(client, tenant.Id, From, To, "Asia/Kathmandu", Weekdays("08:00", "17:00")); // +05:45

        // 2. Updates: a call's status and duration, an urgency upgrade, an ended reason and cost arriving late, an SMS
        // delivered, a turn's latency corrected; lead status changes through the API (booked, lost).
        await factory.WithDbAsync(tenant.Id, async db =>
        {
            var call = await db.Calls.SingleAsync(c => c.Id == ids.Calls[0]);
            call.Status = "no-answer";
            call.DurationSeconds = 0;
            var late = await db.Calls.SingleAsync(c => c.Id == ids.Calls[1]);
            late.EndedReason = "assistant-forwarded-call";
            late.Cost = 1.2345m;
            var lead = await db.Leads.FirstAsync(l => l.Urgency == Urgency.Routine);
            lead.Urgency = Urgency.Emergency;
            var sms = await db.SmsMessages.FirstAsync(s => s.Status == "queued");
            sms.Status = "delivered";
            var turn = await db.TranscriptTurns.FirstAsync(t => t.ProviderLatencyMs != null);
            turn.ProviderLatencyMs = 4321.5;
            return await db.SaveChangesAsync();
        });
        // Leads of calls well inside the period (lead CreatedAt = call CreatedAt here).
        var (inside, insideEnd) = (new DateTimeOffset(2026, 10, 31, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 11, 2, 0, 0, 0, TimeSpan.Zero));
        var leadIds = await factory.WithDbAsync(tenant.Id, db => db.Leads.Where(l => l.CreatedAt >= inside && l.CreatedAt < insideEnd)
            .OrderBy(l => l.CreatedAt).Select(l => l.Id).Take(3).ToListAsync());
        Assert.Equal(3, leadIds.Count);
        foreach (var (leadId, status) in leadIds.Zip(["booked", "lost", "booked"]))
        {
            var patched = await client.PatchAsJsonAsync($"/api/v1/leads/{leadId}", new { status });
            Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
        }
        var booked = await AssertMatchesAsync(client, tenant.Id, From, To, null, Weekdays("08:00", "17:00"));
        Assert.Equal(2, booked["totals"]!["leadsBooked"]!.GetValue<int>());

        // 3. Erasure of one caller deletes their calls, turns, leads and SMS: their contributions leave the rollup.
        var erased = await client.PostAsJsonAsync("/api/v1/erasure/caller", new { phoneNumber = Erased });
        Assert.Equal(HttpStatusCode.OK, erased.StatusCode);
        Assert.Equal(0, await factory.WithDbAsync(tenant.Id, db => db.Calls.CountAsync(c => c.CustomerNumber == Erased)));
        await AssertMatchesAsync(client, tenant.Id, From, To, null, Weekdays("08:00", "17:00"));

        // 4. Opening hours off the quarter hour: quarters cut by 08:10 and 16:50 are counted from the rows.
        await factory.WithDbAsync(tenant.Id, async db =>
        {
            var t = await db.Tenants.SingleAsync(x => x.Id == tenant.Id);
            t.BusinessHours = new BusinessHours { Weekly = Enum.GetValues<DayOfWeek>().Where(d => d is not DayOfWeek.Saturday and not DayOfWeek.Sunday).ToDictionary(d => d, _ => new List<string> { "08:10-16:50" }) };
            return await db.SaveChangesAsync();
        });
        await AssertMatchesAsync(client, tenant.Id, From, To, null, Weekdays("08:10", "16:50"));
        await AssertMatchesAsync(client, tenant.Id, From, To, "Asia/Kathmandu", Weekdays("08:10", "16:50"));
    }

    [Fact]
    public async Task TwoCallsOfOneTenantInOneQuarterHourDoNotWaitOnOneRollupRow()
    {
        if (!TestDatabase.IsPostgres)
        {
            return; // SQLite has one writer: there is nothing to wait on but the writer itself
        }
        var tenant = await factory.CreateTenantAsync();
        var at = new DateTimeOffset(2026, 11, 2, 15, 5, 0, TimeSpan.Zero);
        using var firstScope = factory.Scope();
        using var secondScope = factory.Scope();
        var first = Db(firstScope, tenant.Id);
        var second = Db(secondScope, tenant.Id);

        // The first call's transaction stays open (with 0030 the trigger's upsert held its rollup row, shard 1, until COMMIT;
        // with 0033 it appends a delta and holds nothing another writer needs).
        await using var firstTx = await first.Database.BeginTransactionAsync();
        first.Calls.Add(CallInShard(tenant.Id, at, 1));
        await first.SaveChangesAsync();

        // The second call, same tenant and quarter hour, other shard: with one row per quarter (0019) it waited for the first
        // COMMIT and failed here after lock_timeout (SQLSTATE 55P03).
        await using (var secondTx = await second.Database.BeginTransactionAsync())
        {
            await second.Database.ExecuteSqlRawAsync("SET LOCAL lock_timeout = '2s'");
            second.Calls.Add(CallInShard(tenant.Id, at.AddMinutes(3), 2));
            await second.SaveChangesAsync();
            await secondTx.CommitAsync();
        }
        await firstTx.CommitAsync();

        var (calls, rows) = await factory.WithDbAsync(tenant.Id, async db =>
        {
            var conn = db.Database.GetDbConnection();
            await conn.OpenAsync();
            await using var cmd = conn.CreateCommand();
            // Folded or not yet (0033: the host folds the deltas every second), each call is one row of its own shard.
            cmd.CommandText = $"""SELECT coalesce(SUM("Calls"), 0), COUNT(*) FROM analytics_quarters_live WHERE "TenantId" = '{tenant.Id}'""";
            await using var reader = await cmd.ExecuteReaderAsync();
            await reader.ReadAsync();
            return (reader.GetInt64(0), reader.GetInt64(1));
        });
        Assert.Equal(2, calls);
        Assert.Equal(2, rows); // one row per shard (or one delta per call)

        // The analytics read sums the shards: the quarter counts both calls.
        var overview = await factory.ApiClient(tenant).GetFromJsonAsync<JsonObject>("/api/v1/analytics?from=2026-11-02&to=2026-11-02&tz=UTC");
        Assert.Equal(2, overview!["days"]![0]!["calls"]!.GetValue<int>());
    }

    [Fact]
    public async Task AChangeToACallWritesItsNetChangeToItsRollupOnceAndNothingWhenNoFigureMoves()
    {
        if (!TestDatabase.IsPostgres)
        {
            return; // SQLite's triggers (0019) are statements of their own; this is migrations 0032 – 0033's PostgreSQL trigger
        }
        var tenant = await factory.CreateTenantAsync();
        var at = new DateTimeOffset(2026, 11, 2, 15, 20, 0, TimeSpan.Zero);
        var call = CallInShard(tenant.Id, at, 3);
        call.Status = "ringing";
        call.DurationSeconds = null;
        await factory.WithDbAsync(tenant.Id, async db =>
        {
            db.Calls.Add(call);
            return await db.SaveChangesAsync();
        });

        using var scope = factory.Scope();
        var db = Db(scope, tenant.Id);
        await using var tx = await db.Database.BeginTransactionAsync();
        var stored = await db.Calls.SingleAsync(c => c.Id == call.Id);
        // PostgreSQL 15 reports a backend's counts not yet flushed to the statistics, earlier transactions' included: the
        // writes are counted from here.
        var before = await RollupWritesAsync(db);

        // Ringing to in-progress moves no figure: nothing is written (0019 wrote the rollup row twice: -1, then +1).
        stored.Status = "in-progress";
        await db.SaveChangesAsync();
        Assert.Equal(0L, await RollupWritesAsync(db) - before);

        // Ended with a duration and a cost, and a lead's urgency copied to the call: one write each, their net change.
        stored.Status = "ended";
        stored.DurationSeconds = 95.5;
        stored.Cost = 0.4321m;
        await db.SaveChangesAsync();
        Assert.Equal(1L, await RollupWritesAsync(db) - before);
        db.Leads.Add(new Lead { Id = Guid.NewGuid(), TenantId = tenant.Id, CallId = call.Id, Urgency = Urgency.Emergency, Source = "transcript", CreatedAt = at, UpdatedAt = at });
        await db.SaveChangesAsync();
        Assert.Equal(2L, await RollupWritesAsync(db) - before);
        await tx.CommitAsync();

        var row = await factory.WithDbAsync(tenant.Id, db => db.Database.SqlQuery<string>($"""
            SELECT concat_ws(',', SUM("Calls"), SUM("Missed"), SUM("Emergency"), SUM("Leads"), SUM("DurationSum"), SUM("DurationCount"), SUM("CostSum"), SUM("CostCount")) AS "Value"
            FROM analytics_quarters_live WHERE "TenantId" = {tenant.Id}
            """).SingleAsync());
        Assert.Equal("1,0,1,1,95.5,1,0.4321,1", row);
    }

    /// <summary>
    /// Rows of <c>analytics_quarters</c> and <c>analytics_quarter_deltas</c> inserted or updated by this backend's transactions
    /// whose counts are not yet flushed, the current one's included (pg_stat_xact_user_tables; nothing is flushed inside a
    /// transaction block).
    /// </summary>
    private static async Task<long> RollupWritesAsync(Switchboard.Platform.Database.SwitchboardDbContext db) =>
        await db.Database.SqlQueryRaw<long>("""
            SELECT coalesce(SUM(n_tup_ins + n_tup_upd), 0)::bigint AS "Value" FROM pg_stat_xact_user_tables
            WHERE relname IN ('analytics_quarters', 'analytics_quarter_deltas')
            """).SingleAsync();

    [Fact]
    public async Task FoldsRacingTheWritersMoveEveryDeltaIntoTheRollupOnce()
    {
        if (!TestDatabase.IsPostgres)
        {
            return; // SQLite's triggers (0019) write the rollup itself: there is nothing to fold
        }
        var tenant = await factory.CreateTenantAsync();
        var folder = factory.Services.GetRequiredService<AnalyticsDeltaFolder>();
        var at = new DateTimeOffset(2026, 11, 2, 15, 0, 0, TimeSpan.Zero);

        // Four writers of 25 calls each (every other one then ended with a duration: an update's net change), while two
        // loops fold as fast as they can, beside the host's own fold every second.
        using var stop = new CancellationTokenSource();
        var folds = Enumerable.Range(0, 2).Select(_ => Task.Run(async () =>
        {
            var n = 0;
            while (!stop.IsCancellationRequested)
            {
                await folder.FoldAsync(CancellationToken.None);
                n++;
            }
            return n;
        })).ToList();
        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < 25; i++)
            {
                var created = at.AddMinutes(i % 20).AddSeconds(w);
                await factory.WithDbAsync(tenant.Id, async db =>
                {
                    var call = new Call
                    {
                        Id = Guid.CreateVersion7(created), TenantId = tenant.Id, Channel = "voice", Provider = "vapi", ProviderCallId = Guid.NewGuid().ToString(),
                        Status = "in-progress", CustomerNumber = "+15145550000", CreatedAt = created, UpdatedAt = created,
                    };
                    db.Calls.Add(call);
                    await db.SaveChangesAsync();
                    if (i % 2 == 0)
                    {
                        call.Status = "ended";
                        call.DurationSeconds = 10 + i;
                        await db.SaveChangesAsync();
                    }
                    return 0;
                });
            }
        })).ToList();
        await Task.WhenAll(writers);
        await stop.CancelAsync();
        var folded = (await Task.WhenAll(folds)).Sum();
        await folder.FoldAsync(CancellationToken.None);

        // No delta of the tenant is left, and the rollup alone counts every call once: 100 calls, 4 × 13 ended with
        // durations 10, 12, …, 34 (4 × 286 s), none missed; the duration histogram holds the same 52.
        var (pending, quarter, histogram) = await factory.WithDbAsync(tenant.Id, async db =>
        {
            var conn = db.Database.GetDbConnection();
            await conn.OpenAsync();
            await using var cmd = conn.CreateCommand();
            cmd.CommandText = $"""
                SELECT (SELECT COUNT(*) FROM analytics_quarter_deltas WHERE "TenantId" = '{tenant.Id}')
                     + (SELECT COUNT(*) FROM analytics_histogram_deltas WHERE "TenantId" = '{tenant.Id}'),
                       (SELECT concat_ws(',', SUM("Calls"), SUM("Missed"), SUM("DurationSum"), SUM("DurationCount")) FROM analytics_quarters WHERE "TenantId" = '{tenant.Id}'),
                       (SELECT SUM("Count") FROM analytics_histograms WHERE "TenantId" = '{tenant.Id}' AND "Metric" = 'duration')
                """;
            await using var reader = await cmd.ExecuteReaderAsync();
            await reader.ReadAsync();
            return (reader.GetInt64(0), reader.GetString(1), reader.GetInt64(2));
        });
        Assert.Equal((0L, "100,0,1144,52", 52L), (pending, quarter, histogram));
        Assert.True(folded > 2, $"{folded} folds ran beside the writers");
    }

    [Fact]
    public async Task TheHostFoldsTheDeltasOfACallWithinSeconds()
    {
        if (!TestDatabase.IsPostgres)
        {
            return; // SQLite's triggers (0019) write the rollup itself: there is nothing to fold
        }
        var tenant = await factory.CreateTenantAsync();
        var at = new DateTimeOffset(2026, 11, 2, 16, 0, 0, TimeSpan.Zero);
        await factory.WithDbAsync(tenant.Id, db =>
        {
            db.Calls.Add(new Call
            {
                Id = Guid.CreateVersion7(at), TenantId = tenant.Id, Channel = "voice", Provider = "vapi", ProviderCallId = Guid.NewGuid().ToString(),
                Status = "ended", DurationSeconds = 30, EndedReason = "customer-ended-call", CustomerNumber = "+15145550000", CreatedAt = at, UpdatedAt = at,
            });
            return db.SaveChangesAsync();
        });

        // Nobody folds here but the host's AnalyticsDeltaFolder (every 1,000 ms by default): polled for at most 10 s.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        string state;
        while (true)
        {
            state = await factory.WithDbAsync(tenant.Id, db => db.Database.SqlQuery<string>($"""
                SELECT concat_ws(',',
                    (SELECT COUNT(*) FROM analytics_quarter_deltas WHERE "TenantId" = {tenant.Id}),
                    (SELECT COUNT(*) FROM analytics_histogram_deltas WHERE "TenantId" = {tenant.Id}),
                    (SELECT COUNT(*) FROM analytics_ended_reason_deltas WHERE "TenantId" = {tenant.Id}),
                    (SELECT SUM("Calls") FROM analytics_quarters WHERE "TenantId" = {tenant.Id}),
                    (SELECT SUM("Count") FROM analytics_histograms WHERE "TenantId" = {tenant.Id}),
                    (SELECT SUM("Count") FROM analytics_ended_reasons WHERE "TenantId" = {tenant.Id})) AS "Value"
                """).SingleAsync());
            if (state == "0,0,0,1,1,1" || DateTime.UtcNow > deadline)
            {
                break;
            }
            await Task.Delay(100);
        }
        Assert.Equal("0,0,0,1,1,1", state);
    }

    private static Switchboard.Platform.Database.SwitchboardDbContext Db(IServiceScope scope, Guid tenantId)
    {
        scope.ServiceProvider.GetRequiredService<CurrentTenant>().Set(tenantId);
        return scope.ServiceProvider.GetRequiredService<Switchboard.Platform.Database.SwitchboardDbContext>();
    }

    /// <summary>A call created at <paramref name="at"/> whose id falls in rollup shard <paramref name="shard"/> (the low 4 bits of the uuid's last byte).</summary>
    private static Call CallInShard(Guid tenantId, DateTimeOffset at, int shard)
    {
        var bytes = Guid.CreateVersion7(at).ToByteArray(bigEndian: true);
        bytes[15] = (byte)((bytes[15] & 0xF0) | shard);
        return new Call
        {
            Id = new Guid(bytes, bigEndian: true), TenantId = tenantId, Channel = "voice", Provider = "vapi", ProviderCallId = Guid.NewGuid().ToString(),
            Status = "ended", DurationSeconds = 42, CustomerNumber = "+15145550000", CreatedAt = at, UpdatedAt = at,
        };
    }

    [Fact]
    public void BinsAreMonotoneAndTheReportedValueIsWithinHalfABin()
    {
        foreach (var (metric, max, step) in new[] { (AnalyticsBins.Duration, 20000.0, 0.37), (AnalyticsBins.Latency, 70000.0, 0.73) })
        {
            var previous = -1;
            for (var v = 0.0; v < max; v += step)
            {
                var bin = AnalyticsBins.BinOf(metric, v);
                Assert.True(bin >= previous, $"{metric} {v}: bin {bin} after {previous}");
                previous = bin;
                var error = Math.Abs(AnalyticsBins.Representative(metric, bin) - v);
                var bound = metric == AnalyticsBins.Duration
                    ? v < 120 ? 0.5 : v < 600 ? 2.5 : v < 3600 ? 15 : v < 14400 ? 150 : double.MaxValue
                    : v < 1000 ? 2.5 : v < 3000 ? 5 : v < 10000 ? 25 : v < 60000 ? 500 : double.MaxValue;
                Assert.True(error <= bound, $"{metric} {v}: reported {AnalyticsBins.Representative(metric, bin)}");
            }
        }
    }

    private sealed record Seeded(List<Guid> Calls);

    private static Func<DateTime, bool> Weekdays(string open, string close)
    {
        var (o, c) = (TimeSpan.Parse(open, System.Globalization.CultureInfo.InvariantCulture), TimeSpan.Parse(close, System.Globalization.CultureInfo.InvariantCulture));
        return local => local.DayOfWeek is not DayOfWeek.Saturday and not DayOfWeek.Sunday && local.TimeOfDay >= o && local.TimeOfDay < c;
    }

    private async Task<Seeded> SeedAsync(Guid tenantId)
    {
        var random = new Random(8);
        var start = new DateTimeOffset(2026, 10, 29, 20, 0, 0, TimeSpan.Zero);
        var instants = Enumerable.Range(0, 90).Select(_ => start.AddMinutes(random.Next(0, 6 * 24 * 60 + 12 * 60)).AddSeconds(random.Next(60))).ToList();
        instants.AddRange(new[]
        {
            // Local midnights around the fall-back day (EDT −4 until 2026-11-01 06:00Z, then EST −5), UTC midnights,
            // the 01:00–02:00 hour that happens twice, and opening/closing times (08:00 EST = 13:00Z), each with the instant before.
            new DateTimeOffset(2026, 11, 1, 4, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 11, 1, 3, 59, 59, TimeSpan.Zero),
            new DateTimeOffset(2026, 11, 2, 5, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 11, 2, 4, 59, 59, TimeSpan.Zero),
            new DateTimeOffset(2026, 10, 31, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 11, 2, 23, 59, 59, TimeSpan.Zero),
            new DateTimeOffset(2026, 11, 1, 5, 30, 0, TimeSpan.Zero), new DateTimeOffset(2026, 11, 1, 6, 30, 0, TimeSpan.Zero),
            new DateTimeOffset(2026, 11, 2, 13, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 11, 2, 12, 59, 59, TimeSpan.Zero),
            new DateTimeOffset(2026, 11, 2, 13, 5, 0, TimeSpan.Zero), new DateTimeOffset(2026, 11, 2, 13, 12, 0, TimeSpan.Zero),
            new DateTimeOffset(2026, 11, 2, 21, 45, 0, TimeSpan.Zero), new DateTimeOffset(2026, 11, 2, 21, 52, 0, TimeSpan.Zero),
            new DateTimeOffset(2026, 10, 30, 3, 59, 59, TimeSpan.Zero), new DateTimeOffset(2026, 11, 4, 5, 0, 0, TimeSpan.Zero),
        });
        var calls = new List<Guid>();
        await factory.WithDbAsync(tenantId, async db =>
        {
            foreach (var at in instants)
            {
                var native = random.Next(3) == 0;
                var call = new Call
                {
                    Id = Guid.CreateVersion7(at), TenantId = tenantId, Channel = "voice", Provider = native ? "twilio" : "vapi", ProviderCallId = Guid.NewGuid().ToString(),
                    Status = Statuses[random.Next(Statuses.Length)],
                    DurationSeconds = random.Next(10) switch { 0 => null, 1 => 0, 2 => Math.Round(random.NextDouble() * 4000, 1), _ => Math.Round(random.NextDouble() * 500, 1) },
                    Cost = random.Next(3) == 0 ? null : Math.Round((decimal)random.NextDouble() * 2.5m, 4),
                    EndedReason = random.Next(5) == 0 ? null : Reasons[random.Next(Reasons.Length)],
                    CustomerNumber = random.Next(5) == 0 ? Erased : "+15145550000", CreatedAt = at, UpdatedAt = at,
                };
                db.Calls.Add(call);
                calls.Add(call.Id);
                if (random.Next(2) == 0)
                {
                    db.Leads.Add(new Lead { Id = Guid.NewGuid(), TenantId = tenantId, CallId = call.Id, Urgency = Urgencies[random.Next(3)], Source = "transcript", Phone = call.CustomerNumber, CreatedAt = at, UpdatedAt = at });
                }
                for (var seq = 0; native && seq < 3; seq++)
                {
                    db.TranscriptTurns.Add(new TranscriptTurn
                    {
                        Id = Guid.NewGuid(), TenantId = tenantId, CallId = call.Id, Seq = seq, Role = "assistant", Text = "…", At = at.AddSeconds(20 * seq),
                        ProviderLatencyMs = seq == 2 && random.Next(2) == 0 ? null : Math.Round(150 + random.NextDouble() * 3000, 1),
                        BridgeLatencyMs = random.Next(2) == 0 ? null : Math.Round(random.NextDouble() * 30, 1),
                    });
                }
                if (random.Next(3) == 0)
                {
                    db.SmsMessages.Add(new SmsMessage
                    {
                        Id = Guid.NewGuid(), TenantId = tenantId, CallId = call.Id, Direction = random.Next(6) == 0 ? "inbound" : "outbound", Purpose = "emergency-alert",
                        To = call.CustomerNumber!, Body = "x", Status = SmsStatuses[random.Next(SmsStatuses.Length)], IdempotencyKey = Guid.NewGuid().ToString(), CreatedAt = at.AddMinutes(1),
                    });
                }
            }
            return await db.SaveChangesAsync();
        });
        // A queued SMS and a routine lead exist for the update step.
        await factory.WithDbAsync(tenantId, async db =>
        {
            db.SmsMessages.Add(new SmsMessage
            {
                Id = Guid.NewGuid(), TenantId = tenantId, CallId = calls[5], Direction = "outbound", Purpose = "emergency-alert", To = "+15145550111", Body = "x",
                Status = "queued", IdempotencyKey = Guid.NewGuid().ToString(), CreatedAt = instants[5],
            });
            if (!await db.Leads.AnyAsync(l => l.Urgency == Urgency.Routine))
            {
                db.Leads.Add(new Lead { Id = Guid.NewGuid(), TenantId = tenantId, CallId = calls[2], Urgency = Urgency.Routine, Source = "transcript", CreatedAt = instants[2], UpdatedAt = instants[2] });
            }
            return await db.SaveChangesAsync();
        });
        return new Seeded(calls);
    }

    private async Task<JsonObject> AssertMatchesAsync(HttpClient client, Guid tenantId, DateOnly from, DateOnly to, string? tz, Func<DateTime, bool> open)
    {
        var url = $"/api/v1/analytics?from={from:yyyy-MM-dd}&to={to:yyyy-MM-dd}" + (tz is null ? "" : "&tz=" + tz);
        var response = await client.GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var actual = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        var zone = TimeZoneInfo.FindSystemTimeZoneById(tz ?? "America/Toronto");
        DateTime Local(DateTimeOffset t) => TimeZoneInfo.ConvertTime(t, zone).DateTime;
        bool InPeriod(DateTimeOffset t) => DateOnly.FromDateTime(Local(t)) is var d && d >= from && d <= to;

        var (calls, leads, turns, sms) = await factory.WithDbAsync(tenantId, async db => (
            await db.Calls.AsNoTracking().ToListAsync(), await db.Leads.AsNoTracking().ToListAsync(),
            await db.TranscriptTurns.AsNoTracking().ToListAsync(), await db.SmsMessages.AsNoTracking().ToListAsync()));
        var leadOf = leads.ToDictionary(l => l.CallId);
        calls = calls.Where(c => InPeriod(c.CreatedAt)).ToList();
        static bool Missed(Call c) => c.Status is "busy" or "no-answer" or "failed" or "canceled" || (c.Status is "ended" or "completed" && (c.DurationSeconds ?? 0) == 0);
        string? UrgencyOf(Call c) => leadOf.TryGetValue(c.Id, out var l) ? l.Urgency : null;

        var days = actual["days"]!.AsArray();
        Assert.Equal(to.DayNumber - from.DayNumber + 1, days.Count);
        foreach (var day in days)
        {
            var date = DateOnly.Parse(day!["date"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture);
            var mine = calls.Where(c => DateOnly.FromDateTime(Local(c.CreatedAt)) == date).ToList();
            var expected = new
            {
                calls = mine.Count, missed = mine.Count(Missed), answered = mine.Count - mine.Count(Missed), afterHours = mine.Count(c => !open(Local(c.CreatedAt))),
                emergency = mine.Count(c => UrgencyOf(c) == Urgency.Emergency), urgent = mine.Count(c => UrgencyOf(c) == Urgency.Soon),
                routine = mine.Count(c => UrgencyOf(c) == Urgency.Routine), leads = mine.Count(c => UrgencyOf(c) is not null),
                smsSent = sms.Count(s => s.Direction == "outbound" && s.Status is "sent" or "delivered" or "simulated" && DateOnly.FromDateTime(Local(s.CreatedAt)) == date),
            };
            var got = new
            {
                calls = day["calls"]!.GetValue<int>(), missed = day["missed"]!.GetValue<int>(), answered = day["answered"]!.GetValue<int>(),
                afterHours = day["afterHours"]!.GetValue<int>(), emergency = day["emergency"]!.GetValue<int>(), urgent = day["urgent"]!.GetValue<int>(),
                routine = day["routine"]!.GetValue<int>(), leads = day["leads"]!.GetValue<int>(), smsSent = day["smsSent"]!.GetValue<int>(),
            };
            Assert.True(expected.Equals(got), $"{url} {date}: expected {expected}, got {got}");
        }

        var totals = actual["totals"]!;
        Assert.Equal(calls.Count, totals["calls"]!.GetValue<int>());
        Assert.Equal(calls.Count(c => leadOf.TryGetValue(c.Id, out var l) && l.Status == "booked"), totals["leadsBooked"]!.GetValue<int>());
        var durations = calls.Where(c => c.DurationSeconds is not null).Select(c => c.DurationSeconds!.Value).ToList();
        AssertEqualDouble(durations.Count == 0 ? null : Math.Round(durations.Average(), 2), totals["averageDurationSeconds"]?.GetValue<double>(), Tolerance(0.011));
        Assert.Equal(Binned(AnalyticsBins.Duration, durations, 0.95), totals["p95DurationSeconds"]?.GetValue<double>());
        var latencies = turns.Where(t => t.ProviderLatencyMs is not null && t.At is { } at && InPeriod(at))
            .Select(t => t.ProviderLatencyMs!.Value + (t.BridgeLatencyMs ?? 0)).ToList();
        Assert.Equal(Binned(AnalyticsBins.Latency, latencies, 0.5), totals["latencyP50Ms"]?.GetValue<double>());
        Assert.Equal(Binned(AnalyticsBins.Latency, latencies, 0.95), totals["latencyP95Ms"]?.GetValue<double>());
        var costs = calls.Where(c => c.Cost is not null).Select(c => c.Cost!.Value).ToList();
        decimal? expectedCost = costs.Count == 0 ? null : Math.Round(costs.Sum(), 4);
        decimal? actualCost = totals["costTotal"]?.GetValue<decimal>() is { } cost ? Math.Round(cost, 4) : null;
        Assert.Equal(expectedCost, actualCost);
        var reasons = calls.Where(c => c.EndedReason is not null).GroupBy(c => c.EndedReason!).Select(g => $"{g.Key}={g.Count()}")
            .OrderByDescending(s => int.Parse(s[(s.IndexOf('=') + 1)..], System.Globalization.CultureInfo.InvariantCulture)).ThenBy(s => s, StringComparer.Ordinal).ToList();
        Assert.Equal(reasons.Order(StringComparer.Ordinal), actual["endedReasons"]!.AsArray().Select(r => $"{r!["reason"]}={r["count"]}").Order(StringComparer.Ordinal));
        return actual;
    }

    private static Func<double?, double?, bool> Tolerance(double tolerance) => (a, b) => a is null ? b is null : b is not null && Math.Abs(a.Value - b.Value) <= tolerance;

    private static void AssertEqualDouble(double? expected, double? actual, Func<double?, double?, bool> same) => Assert.True(same(expected, actual), $"expected {expected}, got {actual}");

    /// <summary>The exact nearest-rank percentile, reported as the middle of its fixed bin (AnalyticsBins).</summary>
    private static double? Binned(string metric, List<double> values, double p)
    {
        if (values.Count == 0)
        {
            return null;
        }
        var sorted = values.Order().ToList();
        var exact = sorted[Math.Max(1, (int)Math.Ceiling(p * sorted.Count)) - 1];
        var reported = AnalyticsBins.Representative(metric, AnalyticsBins.BinOf(metric, exact));
        return metric == AnalyticsBins.Latency ? Math.Round(reported, 2) : reported;
    }
}
