using System.Data.Common;
using System.Diagnostics;
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
/// readers (it copies what no reader still needs and stops), and WAL mode lets writers append while it runs.
/// <para>
/// A checkpoint copies the WAL into the database but does not shorten it: the next writer starts the file over only if,
/// when it begins, every frame is copied and no reader still reads from the WAL (sqlite.org/wal.html §"Avoiding
/// Excessively Large WAL Files": "checkpoint starvation"). Under steady load some request is always reading, so the
/// WAL only grew: 1 GB after a minute at 100–300 messages/s (bench ingest), the disk's space going to a file that only
/// ever needed a few MB. So when a passive checkpoint leaves the WAL longer than <see cref="RestartAboveFrames"/>, the
/// checkpointer takes a writer turn and runs <c>PRAGMA wal_checkpoint(RESTART)</c>, which copies the frames written since
/// the last passive pass and waits, at most <see cref="RestartWait"/>, for the readers still on the WAL to finish (new
/// readers read the database file); the next writer then writes the WAL from its start.
/// </para>
/// <para>
/// The restart holds the single writer while it copies those frames and fsyncs the database file (sqlite.org/wal.html
/// §"Checkpointing": the database must be durable before the WAL is reused), so every message arriving meanwhile waits:
/// bench/results/quiet-stop32-2026-12-03.md measured 13–40 ms, mostly blocked in that fsync, at 500 messages/s. What it
/// copies is what was written after the last passive pass began: the frames appended while that pass copied and synced
/// (a pass over a second of writes takes tens of milliseconds) and while the checkpointer waited for its turn. So the
/// checkpointer first repeats the passive pass while the previous one had more than <see cref="SmallResidueFrames"/>
/// frames to copy (each pass is shorter than the last; at most <see cref="MaxCatchUpPasses"/>), then enters at
/// <see cref="WritePriority.High"/>: at a lower priority it waited behind up to <see cref="SqliteWriteGate.MaxBypass"/>
/// batches, each adding frames that it then copied and synced inside the turn (bench/results/quiet-stop33-2026-12-03.md:
/// median hold 14–16 → 7–8 ms, frames copied inside the turn 150–176 → ~50). A WAL file left longer than
/// <see cref="TruncateAboveBytes"/> (a burst, or a restart that found readers for a long time) is truncated instead
/// (<c>TRUNCATE</c>).
/// </para>
/// <para>
/// SQLite syncs the database file only after a checkpoint that copied the whole WAL (wal.c <c>walCheckpoint</c>); under load
/// every passive pass stops short of the frames appended meanwhile, so the pages they wrote stay unsynced until the restart,
/// whose sync then flushed a second's worth of them inside the writer turn: 5–16 ms of its 10–27 ms hold at 500 msg/s
/// (strace: the database file's fsync, against 0.1–0.6 ms for a commit's WAL fsync). The checkpointer now syncs the
/// database file just before it asks for the turn (<see cref="SqliteNative.SyncMainDatabaseFile"/>, through SQLite's own
/// file handle), and the restart's sync inside the turn covers only the residue: holds of 0–8 ms
/// (bench/results/stop40-2026-12-04.md).
/// </para>
/// A no-op on PostgreSQL and on in-memory SQLite.
/// </summary>
internal sealed class SqliteCheckpointer(DatabaseExtensions.EffectiveConnection connection, SqliteWriteGate gate, ILogger<SqliteCheckpointer> logger)
    : BackgroundService
{
    /// <summary>
    /// WAL frames (pages) a passive checkpoint may leave in the file before the WAL is restarted: 4,096, 16 MB of 4 KB
    /// pages, about a second of writes at 300 messages/s.
    /// </summary>
    internal long RestartAboveFrames { get; init; } = 4096;

    /// <summary>WAL file length above which it is truncated rather than restarted (64 MB).</summary>
    internal long TruncateAboveBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>
    /// Longest wait of a restart for the readers still on the WAL, holding the writer turn. The restart is tried again about
    /// every millisecond (<see cref="Task.Delay(int, CancellationToken)"/>) rather than left to SQLite's busy handler, which
    /// sleeps inside the call and so holds a thread-pool thread while it waits: in DatabaseWritePathTests, with a 100 ms
    /// <c>busy_timeout</c>, the reader it waited for could not finish (its continuation had no thread) and the restart gave up.
    /// </summary>
    internal static readonly TimeSpan RestartWait = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Frames a passive pass may find appended since the previous one and still be the last before the restart: 256 (1 MB
    /// of 4 KB pages; a few milliseconds of writes at 500 messages/s, copied and synced in about as long).
    /// </summary>
    internal const long SmallResidueFrames = 256;

    /// <summary>Most passive passes run after the first before the restart takes its turn (bounds a tick under a write storm).</summary>
    internal const int MaxCatchUpPasses = 3;

    /// <summary>Restarts (and truncations) that completed (tests and diagnostics).</summary>
    internal long Restarts => Volatile.Read(ref restarts);

    /// <summary>Frames the completed restarts copied inside the writer turn, in total (tests and diagnostics).</summary>
    internal long RestartFrames => Volatile.Read(ref restartFrames);

    private long restarts;
    private long restartFrames;

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
            await PrepareAsync(conn, stoppingToken);
            // Real time, not the app's TimeProvider: this is housekeeping of the file, not business time (tests fake the clock).
            using var timer = new PeriodicTimer(Interval);
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await TickAsync(conn, stoppingToken);
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
    /// Sets the checkpointer's connection up (open): no busy handler (<c>PRAGMA busy_timeout=0</c>), so a <c>RESTART</c> that
    /// finds readers on the WAL answers busy at once and <see cref="TickAsync"/> decides how long to try again.
    /// </summary>
    internal static async Task PrepareAsync(SqliteConnection conn, CancellationToken ct)
    {
        await using var command = conn.CreateCommand();
        command.CommandText = "PRAGMA busy_timeout=0;";
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>
    /// One tick on <paramref name="conn"/> (open, <see cref="PrepareAsync"/>d): a passive checkpoint; then, when it left the WAL
    /// longer than <see cref="RestartAboveFrames"/>, a <c>RESTART</c> (or <c>TRUNCATE</c>, past <see cref="TruncateAboveBytes"/>)
    /// inside a writer turn. Returns the last checkpoint's result (see <see cref="CheckpointAsync"/>).
    /// </summary>
    internal async Task<(long Busy, long Log, long Checkpointed)?> TickAsync(SqliteConnection conn, CancellationToken ct)
    {
        var passive = await CheckpointAsync(conn, ct);
        if (passive is not { Busy: 0 } done || done.Log <= RestartAboveFrames)
        {
            return passive;
        }
        // Catch up outside the turn: each pass copies what was appended while the previous one ran.
        var copiedUpTo = done.Log;
        for (var pass = 0; pass < MaxCatchUpPasses; pass++)
        {
            if (await CheckpointAsync(conn, ct) is not { Busy: 0 } again)
            {
                break;
            }
            var appended = again.Log - copiedUpTo;
            copiedUpTo = again.Log;
            if (appended <= SmallResidueFrames)
            {
                break;
            }
        }
        // The passive passes wrote their pages into the database file without syncing it (SQLite syncs the database only after
        // a checkpoint that copies the whole WAL: wal.c walCheckpoint), so the restart's sync would flush all of them inside
        // the turn. Flushed here, outside it, the restart's sync has only its residue left.
        var presync = Stopwatch.GetTimestamp();
        var synced = SqliteNative.SyncMainDatabaseFile(conn);
        if (synced != 0)
        {
            logger.LogWarning("SQLite database file sync before the WAL restart answered {Code}; the restart syncs it again", synced);
        }
        var presyncMs = Stopwatch.GetElapsedTime(presync).TotalMilliseconds;
        var mode = WalLength(conn) > TruncateAboveBytes ? "TRUNCATE" : "RESTART";
        using var turn = await gate.EnterAsync(WritePriority.High, ct);
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            // Inside the turn no writer of this process adds frames; the readers still on the WAL end within milliseconds,
            // and readers starting now read the database file (every frame is copied).
            var restarted = await CheckpointAsync(conn, ct, mode);
            if (restarted is { Busy: 0 } r)
            {
                Interlocked.Increment(ref restarts);
                Interlocked.Add(ref restartFrames, Math.Max(0, r.Log - copiedUpTo));
                logger.LogDebug("SQLite WAL {Mode}: {Frames} frames copied inside the writer turn in {Ms:F1} ms (database file synced before it in {SyncMs:F1} ms)",
                    mode, r.Log - copiedUpTo, Stopwatch.GetElapsedTime(started).TotalMilliseconds, presyncMs);
                return restarted;
            }
            if (restarted is null || Stopwatch.GetElapsedTime(started) >= RestartWait)
            {
                logger.LogDebug("SQLite WAL {Mode}: readers still on the WAL after {Ms} ms ({Frames} frames); the next tick tries again",
                    mode, RestartWait.TotalMilliseconds, done.Log);
                return restarted;
            }
            await Task.Delay(1, ct);
        }
    }

    /// <summary>Length of <paramref name="conn"/>'s WAL file in bytes (0 when there is none).</summary>
    private static long WalLength(SqliteConnection conn)
    {
        var wal = new FileInfo(conn.DataSource + "-wal");
        return wal.Exists ? wal.Length : 0;
    }

    /// <summary>
    /// One <c>PRAGMA wal_checkpoint(<paramref name="mode"/>)</c> on <paramref name="conn"/> (PASSIVE, RESTART or TRUNCATE);
    /// returns (busy, WAL frames, frames checkpointed) as SQLite reports them (sqlite.org/pragma.html#pragma_wal_checkpoint:
    /// busy is 1 when a RESTART or TRUNCATE was blocked by readers), or null when it failed (logged; the next tick tries again).
    /// </summary>
    internal async Task<(long Busy, long Log, long Checkpointed)?> CheckpointAsync(SqliteConnection conn, CancellationToken ct, string mode = "PASSIVE")
    {
        try
        {
            await using var command = conn.CreateCommand();
            command.CommandText = $"PRAGMA wal_checkpoint({mode});";
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

    /// <summary>
    /// Sets up an application connection (open): SQLite's automatic checkpoint off (this service checkpoints instead), and
    /// <c>secure_delete=FAST</c>, so a deleted row's bytes are zeroed in the b-tree pages a delete rewrites anyway (CPU, no
    /// more I/O; sqlite.org/pragma.html#pragma_secure_delete): erased or expired personal data does not stay readable in the
    /// file's live pages. Freed pages keep traces; a caller's erasure zeroes its own (<c>Compliance.ErasureService</c>).
    /// </summary>
    internal static void ConfigureConnection(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA wal_autocheckpoint=0; PRAGMA secure_delete=FAST;";
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
    /// Sets up (<see cref="ConfigureConnection"/>: automatic checkpoints off, <c>secure_delete=FAST</c>) each native SQLite connection the
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
            ConfigureConnection(sqlite);
            configured.AddOrUpdate(handle, this);
        }
    }
}
