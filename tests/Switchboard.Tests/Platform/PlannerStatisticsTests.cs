using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using Switchboard.Platform.Database;
using Switchboard.Tests.Support;
using Xunit.Abstractions;

namespace Switchboard.Tests.Platform;

/// <summary>
/// PostgreSQL's planner statistics kept up with a table's growth (<see cref="PostgresPlannerStatistics"/>, issue 13): a table
/// filled from empty is analysed as it fills, so the lookups of the webhook path stop using the plan made for an empty
/// table or from rows since deleted. Here <c>leads</c> gets 2,000 rows; before the analysis, PostgreSQL 15 looks a call's lead
/// up through <c>IX_leads_TenantId_Status_CreatedAt</c>, filtering every lead of the tenant, and after it through
/// <c>IX_leads_TenantId_CallId</c>; then they are deleted and 600 of another tenant written, which is analysed again.
/// </summary>
[Trait("Category", "Database")]
public sealed class PlannerStatisticsTests(PlannerStatisticsTests.CheckingFactory factory, ITestOutputHelper output) : IClassFixture<PlannerStatisticsTests.CheckingFactory>
{
    /// <summary>The test host with the check every second (the test defaults turn it off).</summary>
    public sealed class CheckingFactory : SwitchboardFactory
    {
        protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>
        {
            ["Switchboard:Database:AnalyzeCheckSeconds"] = "1",
        };
    }

    private const string LeadOfCall = """SELECT l."Id" FROM leads AS l WHERE l."TenantId" = $1 AND l."CallId" = $2 LIMIT 1""";

    [Fact]
    public async Task ATableFilledFromEmptyOrRefilledIsAnalysedAndItsLookupPlannedOnItsIndex()
    {
        var service = factory.Services.GetServices<IHostedService>().OfType<PostgresPlannerStatistics>().Single();
        if (!TestDatabase.IsPostgres)
        {
            // SQLite has no such planner cache: the service ends at once.
            await WaitUntilAsync(() => Task.FromResult(service.ExecuteTask?.IsCompleted == true), "the service to end on SQLite");
            return;
        }
        var first = await factory.CreateTenantAsync("Planner statistics");
        var callId = Guid.CreateVersion7();
        await using var session = new NpgsqlConnection(factory.DatabaseConnectionString);
        await session.OpenAsync();
        // Autovacuum off for this table: an ANALYZE of its own between the insert and the service's next check (each database
        // is visited every autovacuum_naptime, which a busy CI cluster may reach at any moment) would leave the service nothing
        // to do, and the wait below counts the service's analyses only. Reproduced with autovacuum_naptime = 1 s: 3 failures in 3.
        await ExecAsync(session, "ALTER TABLE leads SET (autovacuum_enabled = false)");

        // 1. Filled from empty: 2,000 leads.
        await InsertLeadsAsync(session, first.Id, callId, 2000);
        output.WriteLine($"filled, before: {await PlanAsync(session, first.Id, callId)}");
        await WaitForAnalysesAsync(session, 1);
        Assert.True(await ScalarAsync(session, """SELECT reltuples FROM pg_class WHERE relname = 'leads'""") is float rows && rows >= 2000);
        var plan = await PlanAsync(session, first.Id, callId);
        output.WriteLine($"filled, after: {plan}");
        Assert.Contains("IX_leads_TenantId_CallId", plan);
        Assert.DoesNotContain("Filter", plan);
        // Nothing written since: a check now analyses nothing.
        Assert.DoesNotContain("public.leads", await service.AnalyzeChangedTablesAsync(CancellationToken.None));

        // 2. Refilled: those rows deleted (as the start-up warm-up's tenant is), 600 of another tenant written. The table is
        // smaller than its statistics say, but as many rows changed as they count: analysed again, so the planner learns the
        // new tenant, which the old statistics had never seen (a plan for its id, as a statement planned with its values gets,
        // took it for a tenant of one row).
        var second = await factory.CreateTenantAsync("Planner statistics, the real tenant");
        var secondCall = Guid.CreateVersion7();
        await ExecAsync(session, "DELETE FROM leads");
        await InsertLeadsAsync(session, second.Id, secondCall, 600);
        output.WriteLine($"refilled, before: {await CustomPlanAsync(session, second.Id, secondCall)}");
        await WaitForAnalysesAsync(session, 2);
        plan = await CustomPlanAsync(session, second.Id, secondCall);
        output.WriteLine($"refilled, after: {plan}");
        Assert.Contains("IX_leads_TenantId_CallId", plan);
        Assert.DoesNotContain("Filter", plan);
    }

    /// <summary>Inserts <paramref name="count"/> leads of <paramref name="tenantId"/>, the first for <paramref name="callId"/>, and flushes the session's table statistics.</summary>
    private static async Task InsertLeadsAsync(NpgsqlConnection session, Guid tenantId, Guid callId, int count)
    {
        await ExecAsync(session, """
            INSERT INTO leads ("Id", "TenantId", "CallId", "Urgency", "Source", "CreatedAt", "UpdatedAt", "Status")
            SELECT gen_random_uuid(), $1, CASE WHEN i = 1 THEN $2 ELSE gen_random_uuid() END, 'routine', 'tool', now(), now(),
                   (ARRAY['new', 'contacted', 'booked', 'lost'])[1 + i % 4]
            FROM generate_series(1, $3) AS i
            """, tenantId, callId, count);
        await ExecAsync(session, "SELECT pg_stat_force_next_flush()"); // the row counts reach pg_stat_user_tables at once
    }

    /// <summary>Waits until the service has run <c>ANALYZE</c> on <c>leads</c> <paramref name="count"/> times (autovacuum's own analyses are counted apart, and it is off for the table).</summary>
    private static async Task WaitForAnalysesAsync(NpgsqlConnection session, long count)
    {
        for (var i = 0; i < 300; i++)
        {
            if (await ScalarAsync(session, """SELECT analyze_count FROM pg_stat_user_tables WHERE relname = 'leads'""") is long n && n >= count)
            {
                return;
            }
            await Task.Delay(100);
        }
        // What the service's check saw, so a failure says which of its conditions did not hold.
        var stats = await ScalarAsync(session, """
            SELECT format('n_live_tup %s, n_mod_since_analyze %s, reltuples %s, analyze_count %s, autoanalyze_count %s, autovacuum_count %s',
                          s.n_live_tup, s.n_mod_since_analyze, c.reltuples, s.analyze_count, s.autoanalyze_count, s.autovacuum_count)
            FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid WHERE s.relname = 'leads'
            """);
        Assert.Fail($"Waited 30 s for the service to analyse leads ({count}); leads: {stats}.");
    }

    /// <summary>The generic plan (the one a prepared statement keeps) of a call's lead lookup, as EXPLAIN prints it, on one line.</summary>
    private static async Task<string> PlanAsync(NpgsqlConnection session, Guid tenantId, Guid callId)
    {
        await ExecAsync(session, "SET plan_cache_mode = force_generic_plan");
        await ExecAsync(session, "DEALLOCATE ALL");
        await ExecAsync(session, $"PREPARE lead_of_call(uuid, uuid) AS {LeadOfCall}");
        var plan = await ExplainAsync(session, $"EXECUTE lead_of_call('{tenantId}', '{callId}')");
        await ExecAsync(session, "RESET plan_cache_mode");
        return plan;
    }

    /// <summary>The plan of a call's lead lookup planned with its values (a custom plan), on one line.</summary>
    private static Task<string> CustomPlanAsync(NpgsqlConnection session, Guid tenantId, Guid callId) =>
        ExplainAsync(session, LeadOfCall.Replace("$1", $"'{tenantId}'").Replace("$2", $"'{callId}'"));

    /// <summary>EXPLAIN of <paramref name="statement"/>, its lines joined by " | ".</summary>
    private static async Task<string> ExplainAsync(NpgsqlConnection session, string statement)
    {
        var lines = new List<string>();
        await using var explain = new NpgsqlCommand($"EXPLAIN {statement}", session);
        await using var reader = await explain.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            lines.Add(reader.GetString(0).Trim());
        }
        return string.Join(" | ", lines);
    }

    private static async Task ExecAsync(NpgsqlConnection session, string sql, params object[] values)
    {
        await using var command = new NpgsqlCommand(sql, session);
        foreach (var value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<object?> ScalarAsync(NpgsqlConnection session, string sql)
    {
        await using var command = new NpgsqlCommand(sql, session);
        return await command.ExecuteScalarAsync();
    }

    /// <summary>Polls <paramref name="done"/> every 100 ms for at most 30 s.</summary>
    private static async Task WaitUntilAsync(Func<Task<bool>> done, string what)
    {
        for (var i = 0; i < 300; i++)
        {
            if (await done())
            {
                return;
            }
            await Task.Delay(100);
        }
        Assert.Fail($"Waited 30 s for {what}.");
    }
}
