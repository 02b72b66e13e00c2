using System.Diagnostics;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Switchboard.Platform.Database;

/// <summary>
/// PostgreSQL: runs <c>ANALYZE</c> on a table each time as many rows have been written to it (inserted, updated, deleted) as
/// its statistics say it holds, from <see cref="MinRows"/> live rows on, so the planner never keeps what it learnt from an
/// empty table, or from rows since deleted, while the table fills (issue 13). Every <see cref="DatabaseOptions.AnalyzeCheckSeconds"/>
/// seconds one query over <c>pg_stat_user_tables</c> lists the tables of the connection's schemas with at least
/// <see cref="MinRows"/> live rows and <c>n_mod_since_analyze</c> at least their <c>pg_class.reltuples</c> (−1, never analysed,
/// counts as 0); they are analysed in one transaction, under a transaction-level advisory lock so that, with several nodes,
/// one does it.
/// <para>
/// Why: without statistics PostgreSQL 15 picks the wrong index for the webhook path's lookups, and Npgsql keeps the statements
/// prepared (<c>Max Auto Prepare</c>), where PostgreSQL reuses a generic plan after five executions
/// (postgresql.org/docs/current/sql-prepare.html): <c>leads</c> by (TenantId, CallId) walked <c>IX_leads_TenantId_Status_CreatedAt</c>
/// and filtered every lead of the tenant, the idempotency check of <c>webhook_events</c> every event of the tenant, a call by
/// its Vapi id was a sequential scan. Each such lookup grows with the table until autovacuum's first <c>ANALYZE</c> of it (50
/// rows + 10 % changed, checked once a minute: <c>autovacuum_naptime</c>), which also invalidates the cached plans. Bench
/// ingest, PostgreSQL, 30 s into a closed loop from an empty database: the message's first lookup read 673 buffers a call (8
/// once analysed), the <c>leads</c> lookup 422 (3), and <c>IX_call_events_TenantId_CallId</c> had returned 18.5 million rows
/// to 5,592 scans. The same happens when the rows the statistics were taken from are gone: the start-up warm-up's tenant
/// (<see cref="Vapi.VapiWarmup"/>) fills a fresh database's tables and is deleted, and statistics that know only its
/// <c>TenantId</c> made the first real tenant look empty (a call's <c>webhook_events</c> by message id then filtered 1,000 –
/// 1,600 rows of <c>IX_webhook_events_TenantId_CallId</c>, its turns' delete 3,200 of <c>IX_transcript_turns_latency</c>).
/// Statistics taken once, at a few hundred rows, were not enough either: the outbox's share of pending rows and the live calls
/// change as the tables fill (bench/results/stop44-2026-12-05.md).
/// </para>
/// <para>
/// The work is bounded: a table that only grows is analysed as it doubles, about log2(rows / <see cref="MinRows"/>) times, and
/// past ~500 rows autovacuum's own threshold (10 % changed) comes first whenever it has had its minute; each analysis (a
/// sample of at most 30,000 rows) makes every session replan its statements on that table once.
/// </para>
/// </summary>
internal sealed class PostgresPlannerStatistics(
    DatabaseExtensions.EffectiveConnection connection, IOptions<DatabaseOptions> options, ILogger<PostgresPlannerStatistics> logger) : BackgroundService
{
    /// <summary>Fewest live rows of a table this service analyses (below, any plan reads a few pages at most).</summary>
    internal const int MinRows = 256;

    /// <summary>
    /// Key of the transaction-level advisory lock (<c>pg_try_advisory_xact_lock</c>) the analysing node holds; another node
    /// that finds it taken skips its turn. Distinct from the migrator's and the key ring's keys.
    /// </summary>
    internal const long AdvisoryLockKey = 0x5357_4241_4e41_4c5a; // "SWBANALZ"

    private const string ChangedTablesSql = """
        SELECT format('%I.%I', s.schemaname, s.relname)
        FROM pg_stat_user_tables s
        JOIN pg_class c ON c.oid = s.relid
        WHERE s.schemaname = ANY (current_schemas(false))
          AND s.n_live_tup >= $1
          AND s.n_mod_since_analyze >= greatest(c.reltuples, 0)
          -- emptied every second by the analytics fold (migration 0033): only scanned whole, no plan needs their statistics
          AND s.relname NOT IN ('analytics_quarter_deltas', 'analytics_histogram_deltas', 'analytics_ended_reason_deltas')
        ORDER BY s.relname
        """;

    /// <summary>
    /// Analyses the tables with <see cref="MinRows"/> live rows that have had as many rows written as their statistics count
    /// since their last analysis (see the class); returns their qualified names, empty when there is none, or when another
    /// node holds the lock. Throws <see cref="NpgsqlException"/> when PostgreSQL cannot be reached (the loop logs it and tries
    /// again at its next tick).
    /// </summary>
    internal async Task<IReadOnlyList<string>> AnalyzeChangedTablesAsync(CancellationToken ct)
    {
        await using var conn = new NpgsqlConnection(connection.Value);
        await conn.OpenAsync(ct);
        var tables = new List<string>();
        await using (var list = new NpgsqlCommand(ChangedTablesSql, conn))
        {
            list.Parameters.Add(new NpgsqlParameter<long> { TypedValue = MinRows });
            await using var reader = await list.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                tables.Add(reader.GetString(0));
            }
        }
        if (tables.Count == 0)
        {
            return tables;
        }
        await using var tx = await conn.BeginTransactionAsync(ct);
        await using (var take = new NpgsqlCommand($"SELECT pg_try_advisory_xact_lock({AdvisoryLockKey})", conn, tx))
        {
            if (await take.ExecuteScalarAsync(ct) is not true)
            {
                return [];
            }
        }
        // The names come from the catalog, quoted by format('%I'): nothing here is user input.
        await using (var analyze = new NpgsqlCommand($"ANALYZE {string.Join(", ", tables)}", conn, tx))
        {
            analyze.CommandTimeout = 300;
            await analyze.ExecuteNonQueryAsync(ct);
        }
        await tx.CommitAsync(ct);
        return tables;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!connection.IsPostgres || options.Value.AnalyzeCheckSeconds <= 0)
        {
            return;
        }
        // Real time, not the app's TimeProvider: housekeeping of the database, not business time (tests fake the clock).
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.AnalyzeCheckSeconds));
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var started = Stopwatch.GetTimestamp();
                try
                {
                    var analyzed = await AnalyzeChangedTablesAsync(stoppingToken);
                    if (analyzed.Count > 0)
                    {
                        logger.LogInformation("Planner statistics: analysed {Tables} (each rewritten as much as its last statistics counted, at least {Rows} rows) in {Ms:F0} ms",
                            string.Join(", ", analyzed), MinRows, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    // The database down or busy, a pool exhausted, anything else: the next tick tries again. The statistics are an
                    // optimisation, and a background service that throws stops the host (BackgroundServiceExceptionBehavior.StopHost).
                    logger.LogWarning(e, "Planner statistics: the check failed; next in {Seconds} s", options.Value.AnalyzeCheckSeconds);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
