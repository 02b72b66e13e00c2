using System.Text.RegularExpressions;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Billing;
using Switchboard.Calls;
using Switchboard.Platform.Database;
using Switchboard.Tenancy;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Billing;

/// <summary>
/// The plan's concurrent-call count (run on every new call) reads the tenant's live calls through the partial index
/// <c>IX_calls_live</c> (migration 0029), not its whole call history (issue 13).
/// </summary>
[Trait("Category", "Database")]
public sealed class LiveCallsIndexTests(LiveCallsIndexTests.CountingFactory factory) : IClassFixture<LiveCallsIndexTests.CountingFactory>
{
    /// <summary>The host with <see cref="StatementCounter"/>: the SQL the gate runs is recorded, then planned.</summary>
    public sealed class CountingFactory : SwitchboardFactory
    {
        protected override void ConfigureWebHost(Microsoft.AspNetCore.Hosting.IWebHostBuilder builder)
        {
            base.ConfigureWebHost(builder);
            StatementCounter.AddTo(builder);
        }
    }

    [Fact]
    public async Task TheConcurrentCallCountSeesOnlyLiveRecentCallsOfItsTenant()
    {
        var tenant = await factory.CreateTenantAsync();
        var other = await factory.CreateTenantAsync("Other");
        var now = factory.Clock.GetUtcNow();
        using (var scope = factory.Scope())
        {
            var db = scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>();
            var n = 0;
            Call NewCall(Guid tenantId, string status, DateTimeOffset updated) => new()
            {
                Id = Guid.CreateVersion7(), TenantId = tenantId, Channel = "voice", Direction = "inbound", Provider = "vapi", ProviderCallId = $"live-{Guid.NewGuid():N}-{n++}",
                Status = status, CreatedAt = updated, UpdatedAt = updated,
            };
            foreach (var ended in CallStatuses.Ended)
            {
                db.Calls.Add(NewCall(tenant.Id, ended, now)); // every ended status is left out
            }
            db.Calls.Add(NewCall(tenant.Id, "in-progress", now));
            db.Calls.Add(NewCall(tenant.Id, "ringing", now.AddMinutes(-29)));
            db.Calls.Add(NewCall(tenant.Id, "queued", now.AddMinutes(-31)));   // never reported ended: stops counting after 30 min
            db.Calls.Add(NewCall(other.Id, "in-progress", now));              // another tenant's
            await db.SaveChangesAsync();
        }

        using (var scope = factory.Scope())
        {
            scope.ServiceProvider.GetRequiredService<CurrentTenant>().Set(tenant.Id);
            Assert.Equal(2, await scope.ServiceProvider.GetRequiredService<CallConcurrencyGate>().ActiveCallsAsync(CancellationToken.None));
        }
    }

    [Fact]
    public async Task TheCountReadsThePartialIndexOfLiveCalls()
    {
        var tenantId = (await factory.CreateTenantAsync()).Id;
        using var scope = ScopeOf(tenantId);
        var db = scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>();
        var sql = string.Join('\n', CallConcurrencyGate.Live(db.Calls, factory.Clock.GetUtcNow()).Select(c => c.Id).ToQueryString()
            .Split('\n').Where(line => !line.StartsWith(".param", StringComparison.Ordinal) && !line.StartsWith("--", StringComparison.Ordinal)));
        await AssertPlannedOnTheIndexAsync(db, tenantId, sql);
    }

    /// <summary>The count the gate runs (a compiled query, its statuses inlined without <c>EF.Constant</c>) is served by the index too.</summary>
    [Fact]
    public async Task TheGatesCompiledCountReadsThePartialIndexOfLiveCalls()
    {
        var tenantId = (await factory.CreateTenantAsync()).Id;
        using var scope = ScopeOf(tenantId);
        var db = scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>();
        string sql;
        using (var recorded = StatementCounter.Record())
        {
            await scope.ServiceProvider.GetRequiredService<CallConcurrencyGate>().ActiveCallsAsync(CancellationToken.None);
            sql = Assert.Single(recorded.Commands);
        }
        foreach (var status in CallStatuses.Ended)
        {
            Assert.Contains($"'{status}'", sql, StringComparison.Ordinal); // inlined, as the index's condition is written
        }
        await AssertPlannedOnTheIndexAsync(db, tenantId, sql);
    }

    /// <summary>A scope running as <paramref name="tenantId"/>.</summary>
    private IServiceScope ScopeOf(Guid tenantId)
    {
        var scope = factory.Scope();
        scope.ServiceProvider.GetRequiredService<CurrentTenant>().Set(tenantId);
        return scope;
    }

    private Task AssertPlannedOnTheIndexAsync(SwitchboardDbContext db, Guid tenantId, string sql) =>
        AssertPlannedOnIndexAsync(db, tenantId, sql, "IX_calls_live", factory.Clock.GetUtcNow());

    /// <summary>
    /// Asserts that the database plans <paramref name="sql"/> (EF's text, <c>@name</c> parameters: a tenant id for names holding
    /// "Tenant", else <paramref name="now"/>) with <paramref name="index"/>; PostgreSQL with sequential scans off (a handful of rows).
    /// </summary>
    internal static async Task AssertPlannedOnIndexAsync(SwitchboardDbContext db, Guid tenantId, string sql, string index, DateTimeOffset now)
    {
        var conn = db.Database.GetDbConnection();
        await conn.OpenAsync();
        if (TestDatabase.IsPostgres)
        {
            // A handful of rows: PostgreSQL would rather scan the table; the question is whether the index can serve the query.
            await using var off = conn.CreateCommand();
            off.CommandText = "SET enable_seqscan = off";
            await off.ExecuteNonQueryAsync();
        }
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = (TestDatabase.IsPostgres ? "EXPLAIN " : "EXPLAIN QUERY PLAN ") + sql;
        foreach (var name in Regex.Matches(sql, @"@\w+").Select(m => m.Value).Distinct())
        {
            var p = cmd.CreateParameter();
            p.ParameterName = name;
            // SQLite plans without the values; PostgreSQL folds a NULL comparison to "false" and plans nothing.
            p.Value = !TestDatabase.IsPostgres ? DBNull.Value : name.Contains("Tenant", StringComparison.Ordinal) ? tenantId : now;
            cmd.Parameters.Add(p);
        }
        var plan = new List<string>();
        await using (var reader = await cmd.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                plan.Add(reader.GetString(TestDatabase.IsPostgres ? 0 : 3));
            }
        }
        Assert.True(plan.Any(step => step.Contains(index, StringComparison.Ordinal)), string.Join('\n', plan.Prepend(sql)));
    }
}
