using System.Data.Common;
using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore.Diagnostics;
using SQLitePCL;

namespace Switchboard.Platform.Database;

/// <summary>
/// Moves SQLite's WAL checkpoints off the write path (issue 13). By default SQLite checkpoints automatically inside the
/// <c>COMMIT</c> that takes the WAL past 1,000 pages (sqlite.org/wal.html §"Automatic Checkpoint"): that commit then
/// copies the WAL into the database file and fsyncs it before returning, while its request still holds the
/// <see cref="SqliteWriteGate"/> turn, so every writer queued behind it waits. bench/ (ingest, 100 msg/s) showed it as a
/// p99 worse than at 300 msg/s. Here the application's connections turn automatic checkpoints off
/// (<see cref="Interceptor"/>, once per native connection) and this service runs <c>PRAGMA wal_checkpoint(PASSIVE)</c>
/// every <see cref="Interval"/> on its own connection, outside the gate: a passive checkpoint never blocks writers or
/// readers (it copies what no reader still needs and stops), and WAL mode lets writers append while it runs. When a
/// checkpoint copied the whole WAL the next writer starts the file over, so it stays a few MB. A no-op on PostgreSQL
/// and on in-memory SQLite.
/// </summary>
internal sealed class SqliteCheckpointer(DatabaseExtensions.EffectiveConnection connection, ILogger<SqliteCheckpointer> logger)
    : BackgroundService
{
    /// <summary>Time between passive checkpoints (at 300 msg/s the WAL grows by about 2 MB/s).</summary>
    internal static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    /// <summary>Whether this process writes to a SQLite file (the only case with a WAL to checkpoint).</summary>
    internal bool Enabled { get; } = IsSqliteFile(connection);

    /// <summary>Checkpoints run so far and the last result (tests and diagnostics).</summary>
    internal long Runs => Volatile.Read(ref runs);

    private long runs;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!Enabled)
        {
            return;
        }
        await using var conn = new SqliteConnection(connection.Value);
        try
        {
            await conn.OpenAsync(stoppingToken);
            // Real time, not the app's TimeProvider: this is housekeeping of the file, not business time (tests fake the clock).
            using var timer = new PeriodicTimer(Interval);
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await CheckpointAsync(conn, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            // On the way out, one last passive checkpoint so a stopped server leaves a short WAL.
            if (conn.State == System.Data.ConnectionState.Open)
            {
                await CheckpointAsync(conn, CancellationToken.None);
            }
        }
    }

    /// <summary>
    /// One <c>PRAGMA wal_checkpoint(PASSIVE)</c> on <paramref name="conn"/>; returns (busy, WAL frames, frames
    /// checkpointed) as SQLite reports them (sqlite.org/pragma.html#pragma_wal_checkpoint), or null when it failed
    /// (logged; the next tick tries again).
    /// </summary>
    internal async Task<(long Busy, long Log, long Checkpointed)?> CheckpointAsync(SqliteConnection conn, CancellationToken ct)
    {
        try
        {
            await using var command = conn.CreateCommand();
            command.CommandText = "PRAGMA wal_checkpoint(PASSIVE);";
            await using var reader = await command.ExecuteReaderAsync(ct);
            Interlocked.Increment(ref runs);
            return await reader.ReadAsync(ct) ? (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2)) : null;
        }
        catch (SqliteException e)
        {
            logger.LogWarning(e, "SQLite WAL checkpoint failed; retrying in {Interval}", Interval);
            return null;
        }
    }

    /// <summary>Turns SQLite's automatic checkpoint off on <paramref name="connection"/> (open); this service checkpoints instead.</summary>
    internal static void DisableAutoCheckpoint(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA wal_autocheckpoint=0;";
        command.ExecuteNonQuery();
    }

    private static bool IsSqliteFile(DatabaseExtensions.EffectiveConnection connection)
    {
        if (connection.IsPostgres)
        {
            return false;
        }
        var builder = new SqliteConnectionStringBuilder(connection.Value);
        return builder.Mode != SqliteOpenMode.Memory && !string.IsNullOrEmpty(builder.DataSource) && builder.DataSource != ":memory:";
    }

    /// <summary>
    /// Turns automatic checkpoints off (<c>PRAGMA wal_autocheckpoint=0</c>) on each native SQLite connection the
    /// application's DbContexts open, once per connection (the setting lives on the native handle, which the pool keeps).
    /// Registered only when <see cref="Enabled"/>, so a checkpointer always runs where automatic checkpoints are off.
    /// </summary>
    internal sealed class Interceptor : DbConnectionInterceptor
    {
        private readonly ConditionalWeakTable<sqlite3, object> configured = new();

        public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData) => Configure(connection);

        public override Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken ct = default)
        {
            Configure(connection);
            return Task.CompletedTask;
        }

        private void Configure(DbConnection connection)
        {
            if (connection is not SqliteConnection { Handle: { } handle } sqlite || configured.TryGetValue(handle, out _))
            {
                return;
            }
            DisableAutoCheckpoint(sqlite);
            configured.AddOrUpdate(handle, this);
        }
    }
}
