using Microsoft.Extensions.Options;
using Npgsql;
using Switchboard.Platform.Database;

namespace Switchboard.Calls;

/// <summary>
/// PostgreSQL: folds the analytics deltas the write triggers append (migration 0033) into the rollup, every
/// <see cref="DatabaseOptions.AnalyticsFoldMs"/> ms, with one call of <c>analytics_fold()</c> (its three statements delete
/// every committed delta and add their sums per rollup key). The writer's transaction then appends a row where it used to
/// upsert, and wait on, a rollup row (issue 13). Readers add the pending deltas (<see cref="AnalyticsQuery"/>), so a fold
/// that is late, or skipped while the database is away, changes no figure: the deltas wait for the next one. Every node
/// folds; two folds at once add each delta once (see the migration). Nothing to do on SQLite, whose triggers (0019)
/// write the rollup itself.
/// </summary>
internal sealed class AnalyticsDeltaFolder(
    DatabaseExtensions.EffectiveConnection connection, IOptions<DatabaseOptions> options, ILogger<AnalyticsDeltaFolder> logger) : BackgroundService
{
    /// <summary>
    /// Runs one fold; returns the number of rollup rows it wrote (0 when no delta was pending). Throws
    /// <see cref="NpgsqlException"/> when PostgreSQL cannot be reached (the loop logs it and folds at its next tick).
    /// </summary>
    internal async Task<int> FoldAsync(CancellationToken ct)
    {
        await using var conn = new NpgsqlConnection(connection.Value);
        await conn.OpenAsync(ct);
        await using var fold = new NpgsqlCommand("SELECT analytics_fold()", conn);
        return await fold.ExecuteScalarAsync(ct) is int rows ? rows : 0;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.AnalyticsFoldMs;
        if (!connection.IsPostgres || interval <= 0)
        {
            return;
        }
        // Real time, not the app's TimeProvider: housekeeping of the database, not business time (tests fake the clock).
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(interval));
        var failing = false;
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await FoldAsync(stoppingToken);
                    if (failing)
                    {
                        logger.LogInformation("Analytics fold: working again");
                        failing = false;
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    // The database down or busy, a pool exhausted: the deltas stay, and readers still count them. Logged once
                    // per outage, not every tick; a background service that throws would stop the host.
                    if (!failing)
                    {
                        logger.LogWarning(e, "Analytics fold failed; the deltas wait (readers count them), next try in {Ms} ms", interval);
                        failing = true;
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
