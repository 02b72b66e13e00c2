using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace Switchboard.Platform.Database;

/// <summary>Told when a unit of work run through <see cref="SqliteGroupCommit"/> became durable, or was undone.</summary>
internal interface IGroupCommitListener
{
    /// <summary>The batch holding <paramref name="db"/>'s unit of work committed (runs in the unit's own async context).</summary>
    Task CommittedAsync(SwitchboardDbContext db);

    /// <summary><paramref name="db"/>'s unit of work was rolled back (it failed, or its batch's COMMIT did).</summary>
    void RolledBack(SwitchboardDbContext db);
}

/// <summary>
/// Group commit for SQLite's webhook path (issue 13). SQLite in WAL mode with <c>synchronous=FULL</c> fsyncs the WAL at
/// every COMMIT (sqlite.org/pragma.html#pragma_synchronous), so with one transaction per webhook the single writer
/// commits at most 1/fsync times a second (2–6 ms here: ~170–500 messages/s whatever the CPU). Here several units of
/// work share one transaction on one connection and one fsync, with the same durability: nobody is answered before the
/// COMMIT that holds their rows has returned.
/// <para>
/// How: callers queue (<see cref="RunAsync{T}"/>); the first caller that finds no leader becomes one: it takes a
/// <see cref="SqliteWriteGate"/> turn, opens <c>BEGIN IMMEDIATE</c> on a connection of its own, and hands the connection to
/// the queued units one at a time, highest <see cref="WritePriority"/> first, up to <see cref="MaxBatch"/>. Each unit
/// runs in its own async context (its request's trace, logging scope and tenant), between <c>SAVEPOINT</c> and
/// <c>RELEASE</c>: a unit that throws is rolled back to its savepoint alone and gets its exception (the caller retries a
/// unique-key race as before). Then one COMMIT, every unit is told, the turn is released (the outbox and API writers
/// interleave between batches as the gate decides), and the leader goes on while units are waiting. Nothing waits to
/// fill a batch: at low load a batch is one unit; under load the units that queued during one fsync share the next.
/// </para>
/// <para>
/// The WAL's fsync runs after the writer is released (<see cref="DeferredSync"/>): the batch's connection commits at
/// <c>synchronous=NORMAL</c> (the frames are written to the WAL, not synced: sqlite.org/pragma.html#pragma_synchronous), the
/// leader goes on with the next batch, and a syncer fsyncs the WAL through a connection of its own
/// (<see cref="SqliteNative.SyncWalFile"/>) and only then tells the units of every batch committed before that sync began.
/// Nobody is answered before the WAL holding their COMMIT is on disk, as at <c>synchronous=FULL</c>, and the WAL is
/// appended in commit order, so no later transaction survives a crash without the earlier ones (wal.c: recovery stops at
/// the first frame whose checksum fails). What changes is that the writer no longer waits for the disk: at 500 msg/s the
/// COMMITs' fsyncs were ~30 % of the writer's time (bench/results/stop41-2026-12-04.md), and one sync now covers every batch
/// committed while the previous one ran. Readers may see a batch's rows up to one fsync before they are durable; whatever
/// acts on them through this class (the outbox's claims are units too) commits after them, so it is acknowledged only once
/// they are durable as well. Without a WAL (in-memory or rollback-journal databases) the batch commits at FULL as before.
/// </para>
/// </summary>
internal sealed class SqliteGroupCommit(
    SqliteWriteGate gate, DatabaseExtensions.EffectiveConnection connection, SqliteCheckpointer checkpointer,
    IEnumerable<IGroupCommitListener> listeners, Microsoft.Extensions.Options.IOptions<DatabaseOptions> options,
    ILogger<SqliteGroupCommit> logger)
{
    /// <summary>Most units in one transaction (bounds the time a high-priority unit arriving mid-batch waits).</summary>
    internal const int MaxBatch = 64;

    /// <summary>
    /// Longest a batch keeps handing its connection to further units (<see cref="DatabaseOptions.GroupCommitMaxBatchMs"/>;
    /// <see cref="TimeSpan.Zero"/>: one unit per batch; <see cref="Timeout.InfiniteTimeSpan"/>: <see cref="MaxBatch"/> alone
    /// bounds it). A unit done early in a batch is answered only after the batch's COMMIT, so every unit handed out after it
    /// adds its write to that unit's <c>durable_wait</c>: after a pause (a collection, a descheduled thread) the units queued
    /// meanwhile all ran in one batch and the first of them waited for all the others. Past this span the batch commits and
    /// the next one takes the rest; the commit does not wait for the disk (<see cref="DeferredSync"/>), so a shorter batch
    /// costs a COMMIT's WAL write, not an fsync. Settable for tests.
    /// </summary>
    internal TimeSpan MaxBatchSpan { get; set; } = options.Value.GroupCommitMaxBatchMs is var ms and > 0
        ? TimeSpan.FromMilliseconds(ms)
        : Timeout.InfiniteTimeSpan;

    /// <summary>
    /// Every this many units handed out in a batch, the oldest unit of the lowest waiting priority goes next, so outbox claims
    /// and results (low) keep a share of a writer saturated by webhooks instead of waiting for a batch with room to spare.
    /// </summary>
    internal const int LowestShareEvery = 8;

    /// <summary>
    /// Longest the oldest <see cref="WritePriority.Low"/> unit (outbox claims and results) waits while higher ones keep the
    /// writer busy: past it, it goes next whatever its share (at most as many at once as the outbox has messages in flight).
    /// On its share alone (one unit in <see cref="LowestShareEvery"/>) the outbox of a writer saturated by webhooks ran
    /// 3 – 5 s behind them; with this, about 1 s (bench ingest closed loop, 64 workers). Only a saturated writer lets a unit
    /// wait this long.
    /// </summary>
    internal static readonly TimeSpan LowestMaxWait = TimeSpan.FromMilliseconds(50);

    private readonly Lock sync = new();
    private readonly Queue<Unit>[] queues = [new(), new(), new()];
    private readonly IGroupCommitListener[] listeners = listeners.ToArray();
    private bool leading;
    private SqliteConnection? shared;

    private readonly Lock syncing = new();
    private List<Unit>? awaitingSync;
    private bool syncerRunning;
    /// <summary>
    /// Wakes the syncer's thread. An <see cref="AutoResetEvent"/>, which blocks at once: <see cref="SemaphoreSlim.Wait(TimeSpan)"/>
    /// spins first (sched_yield, Sleep(0), Sleep(1)), and the syncer waits a millisecond or two between batches at a few hundred
    /// messages a second, so it spun at nearly every wait (issue 13: 6 – 7 % of the server's CPU samples at 500 msg/s on SQLite).
    /// </summary>
    private readonly AutoResetEvent syncWake = new(false);
    private SqliteConnection? syncConnection;
    private long syncs;

    /// <summary>
    /// True once the batch's connection commits without syncing and the syncer syncs the WAL after the writer is released (a
    /// database file in WAL mode whose WAL the syncer's connection holds open); false before the first batch and without a WAL.
    /// </summary>
    internal bool DeferredSync { get; private set; }

    /// <summary>WAL syncs the syncer has run (tests and diagnostics).</summary>
    internal long Syncs => Interlocked.Read(ref syncs);

    /// <summary>Tests: replaces the WAL sync (called on the syncer's thread with its connection; returns SQLite's result code).</summary>
    internal Func<SqliteConnection, int>? SyncOverride { get; set; }

    /// <summary>Units queued and not yet handed the connection (tests and diagnostics).</summary>
    internal int Queued
    {
        get
        {
            lock (sync)
            {
                return queues.Sum(q => q.Count);
            }
        }
    }

    /// <summary>Batches committed so far (tests and diagnostics).</summary>
    internal long Batches => Interlocked.Read(ref batches);

    /// <summary>Units committed so far.</summary>
    internal long Units => Interlocked.Read(ref units);

    private long batches;
    private long units;

    /// <summary>
    /// Runs <paramref name="work"/> (reads and <c>SaveChanges</c> through <paramref name="db"/>, no transaction of its own)
    /// in a shared SQLite transaction and returns its result once that transaction has committed and is on disk (the WAL
    /// synced: <see cref="DeferredSync"/>). Throws what <paramref name="work"/> threw (its changes undone), the COMMIT's
    /// <see cref="SqliteException"/> (every unit of that batch undone), or the WAL sync's (committed, durability unknown:
    /// logged as an error). <paramref name="db"/>'s change tracker is left as the work left it.
    /// </summary>
    public async Task<T> RunAsync<T>(SwitchboardDbContext db, WritePriority priority, Func<Task<T>> work, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        db.LendBackWhileWaiting(); // the unit runs on the batch's connection; RestoreConnection lends the scope one again
        var unit = new Unit();
        db.LastUnitTimes = new(unit.QueuedAt, 0, 0, 0, 0, 0);
        bool lead;
        lock (sync)
        {
            queues[(int)priority].Enqueue(unit);
            lead = !leading;
            leading = true;
        }
        if (lead)
        {
            // The leader outlives no request: it is its own task, started without this request's async context.
            using (ExecutionContext.SuppressFlow())
            {
                _ = Task.Run(LeadAsync, CancellationToken.None);
            }
        }

        SqliteConnection conn;
        try
        {
            conn = await unit.Turn.Task.WaitAsync(ct);
        }
        catch (OperationCanceledException)
        {
            // Not started: the leader skips it (Turn cancelled first) or, if it was granted meanwhile, finishes it empty.
            if (!unit.Turn.TrySetCanceled(ct))
            {
                unit.Done.TrySetResult(false);
            }
            throw;
        }

        var granted = Stopwatch.GetTimestamp();
        long workDone = 0;
        T result = default!;
        Exception? failure = null;
        var behavior = db.Database.AutoTransactionBehavior;
        try
        {
            db.Database.SetDbConnection(conn, contextOwnsConnection: false);
            db.Database.AutoTransactionBehavior = AutoTransactionBehavior.Never;
            db.InGroupCommit = true;
            await ExecAsync(conn, "SAVEPOINT unit");
            try
            {
                result = await work();
                await ExecAsync(conn, "RELEASE unit");
            }
            catch (Exception e)
            {
                failure = e;
                await ExecAsync(conn, "ROLLBACK TO unit");
                await ExecAsync(conn, "RELEASE unit");
            }
        }
        catch (Exception e) when (failure is null)
        {
            failure = e; // the savepoint statements themselves failed: the leader's COMMIT will say more
        }
        finally
        {
            try
            {
                db.Database.AutoTransactionBehavior = behavior;
                // Back to a connection of its own: the batch's connection belongs to the leader (the next unit may be using it
                // already), and a pooled context must never carry it into another scope.
                db.RestoreConnection(connection.Value);
            }
            finally
            {
                // Whatever the clean-up threw (a context its work disposed), the leader is told: without it the leader waits
                // for this unit for ever, holding the writer, and every write of the node waits behind it. Timed first: when
                // the work yielded, the leader's loop goes on here, on this thread (Unit.Done).
                workDone = Stopwatch.GetTimestamp();
                unit.Done.TrySetResult(failure is null);
            }
        }
        db.LastUnitTimes = new(unit.QueuedAt, granted, workDone, 0, 0, 0);

        if (failure is null)
        {
            try
            {
                await unit.Committed.Task;
            }
            catch
            {
                db.InGroupCommit = false;
                RolledBack(db);
                throw;
            }
            db.InGroupCommit = false;
            db.LastUnitTimes = new(unit.QueuedAt, granted, workDone, unit.BatchCommitted, unit.Synced, Stopwatch.GetTimestamp());
            foreach (var listener in listeners)
            {
                await listener.CommittedAsync(db);
            }
            return result;
        }
        db.InGroupCommit = false;
        RolledBack(db);
        System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        return default!;
    }

    private void RolledBack(SwitchboardDbContext db)
    {
        foreach (var listener in listeners)
        {
            listener.RolledBack(db);
        }
    }

    private async Task LeadAsync()
    {
        while (true)
        {
            WritePriority first;
            lock (sync)
            {
                var level = Array.FindIndex(queues, q => q.Count > 0);
                if (level < 0)
                {
                    leading = false;
                    return;
                }
                first = (WritePriority)level;
            }
            try
            {
                using var turn = await gate.EnterAsync(first, CancellationToken.None);
                await RunBatchAsync();
            }
            catch (Exception e)
            {
                // A batch that could not even begin (the file is unavailable): its units were failed; keep serving the rest.
                logger.LogError(e, "SQLite group commit: batch failed");
                shared?.Dispose();
                shared = null;
            }
        }
    }

    private async Task RunBatchAsync()
    {
        var conn = await OpenAsync();
        var batch = new List<Unit>(8);
        try
        {
            await ExecAsync(conn, "BEGIN IMMEDIATE");
        }
        catch (Exception e)
        {
            FailQueued(e);
            throw;
        }
        var handed = 0;
        var opened = Stopwatch.GetTimestamp();
        var span = MaxBatchSpan;
        while (batch.Count < MaxBatch
               && (handed == 0 || span == Timeout.InfiniteTimeSpan || Stopwatch.GetElapsedTime(opened) < span)
               && TryDequeue(lowestFirst: ++handed % LowestShareEvery == 0) is { } unit)
        {
            if (!unit.Turn.TrySetResult(conn))
            {
                continue; // cancelled while queued
            }
            if (await unit.Done.Task)
            {
                batch.Add(unit);
            }
        }
        try
        {
            await ExecAsync(conn, "COMMIT");
        }
        catch (Exception e)
        {
            logger.LogError(e, "SQLite group commit: COMMIT of {Units} units failed; all undone", batch.Count);
            try
            {
                await ExecAsync(conn, "ROLLBACK");
            }
            catch (SqliteException)
            {
                // already rolled back by SQLite
            }
            foreach (var u in batch)
            {
                u.Committed.TrySetException(e);
            }
            return;
        }
        Interlocked.Increment(ref batches);
        Interlocked.Add(ref units, batch.Count);
        var committed = Stopwatch.GetTimestamp();
        foreach (var u in batch)
        {
            u.BatchCommitted = committed;
        }
        if (DeferredSync)
        {
            AwaitSync(batch);
            return;
        }
        foreach (var u in batch)
        {
            u.Synced = committed; // committed at FULL: synced by its COMMIT
            u.Committed.TrySetResult();
        }
    }

    /// <summary>How long the syncer's thread waits for more committed batches before it ends (a later batch starts another).</summary>
    internal static readonly TimeSpan SyncerIdle = TimeSpan.FromSeconds(2);

    /// <summary>Hands a batch committed at <c>synchronous=NORMAL</c> to the syncer; wakes it, or starts it when it is not running.</summary>
    private void AwaitSync(List<Unit> batch)
    {
        lock (syncing)
        {
            (awaitingSync ??= new List<Unit>(batch.Count)).AddRange(batch);
            if (syncerRunning)
            {
                // Its next round takes these; setting an event already set changes nothing, so at most one wake-up is pending.
                syncWake.Set();
                return;
            }
            syncerRunning = true;
        }
        // A thread of its own, not the thread pool's: the fsync blocks for 0.1 – 10 ms, and on a 2-core host the pool starts
        // with two threads, so a pool thread held in it was half of the node's request threads until the pool added more
        // (issue 13: at the step from 100 to 500 msg/s, seconds with a p99 of 100 – 360 ms while it did).
        using (ExecutionContext.SuppressFlow())
        {
            new Thread(SyncLoop) { IsBackground = true, Name = "SQLite WAL sync" }.Start();
        }
    }

    /// <summary>
    /// The syncer: takes every unit whose batch has committed, fsyncs the WAL once, then tells them; again while more have
    /// committed meanwhile. A sync that fails fails its units (their rows were committed but may not be on disk, so their
    /// callers are not told they are durable); the next batches are synced again. Runs on a thread of its own, which waits up to
    /// <see cref="SyncerIdle"/> for the next committed batch and then ends.
    /// </summary>
    private void SyncLoop()
    {
        while (true)
        {
            List<Unit>? round;
            lock (syncing)
            {
                round = awaitingSync is { Count: > 0 } pending ? pending : null;
                awaitingSync = null;
            }
            if (round is null)
            {
                if (syncWake.WaitOne(SyncerIdle))
                {
                    continue; // woken: a batch committed meanwhile
                }
                lock (syncing)
                {
                    if (awaitingSync is not { Count: > 0 })
                    {
                        syncerRunning = false; // idle: the next batch starts another thread
                        return;
                    }
                }
                continue;
            }
            Exception? failure = null;
            try
            {
                var rc = SyncOverride is { } replaced ? replaced(syncConnection!) : SqliteNative.SyncWalFile(syncConnection!);
                if (rc != 0)
                {
                    failure = new SqliteException($"SQLite WAL sync failed (result code {rc}); the batch's changes may not be durable", rc);
                }
            }
            catch (Exception e)
            {
                failure = e;
            }
            Interlocked.Increment(ref syncs);
            var synced = Stopwatch.GetTimestamp();
            if (failure is not null)
            {
                logger.LogError(failure, "SQLite group commit: the WAL sync after {Units} committed units failed", round.Count);
            }
            foreach (var u in round)
            {
                if (failure is null)
                {
                    u.Synced = synced;
                    u.Committed.TrySetResult();
                }
                else
                {
                    u.Committed.TrySetException(failure);
                }
            }
        }
    }

    private Unit? TryDequeue(bool lowestFirst = false)
    {
        lock (sync)
        {
            // The outbox's oldest unit goes next once it has waited LowestMaxWait (only the Low level ages: webhooks keep their
            // order, request/response first, however saturated the writer).
            var lowest = queues[(int)WritePriority.Low];
            if (lowest.TryPeek(out var oldest) && Stopwatch.GetElapsedTime(oldest.QueuedAt) > LowestMaxWait)
            {
                return lowest.Dequeue();
            }
            if (lowestFirst)
            {
                for (var i = queues.Length - 1; i >= 0; i--)
                {
                    if (queues[i].TryDequeue(out var low))
                    {
                        return low;
                    }
                }
                return null;
            }
            foreach (var queue in queues)
            {
                if (queue.TryDequeue(out var unit))
                {
                    return unit;
                }
            }
            return null;
        }
    }

    private void FailQueued(Exception e)
    {
        while (TryDequeue() is { } unit)
        {
            unit.Turn.TrySetException(e);
        }
    }

    private async Task<SqliteConnection> OpenAsync()
    {
        if (shared is { State: System.Data.ConnectionState.Open })
        {
            return shared;
        }
        shared?.Dispose();
        // Outside Microsoft.Data.Sqlite's pool: this connection is never shared, and closing it closes its native handle, so
        // its native statements (SqliteStatementCache.NativeFor) can be finalized after it and never on a handle lent again.
        var conn = new SqliteConnection(SqliteSessionPool.Unpooled(connection.Value));
        await conn.OpenAsync();
        SqliteStatementCache.Attach(conn); // open until it fails: its statements stay prepared
        // Each unit runs inside a SAVEPOINT, so SQLite keeps the original of every page the unit changes in a statement
        // journal (sqlite.org/tempfiles.html §2.5). Past 64 KiB (SQLITE_STMTJRNL_SPILL) that journal spills to a temporary
        // file and is then written with one pwrite(2) per page for every later unit: measured at 500 msg/s, 2.6 times as
        // many page writes as the WAL itself. In memory (temp_store=MEMORY, which keeps statement journals in memory: pager.c
        // openSubJournal) it costs a memcpy; it holds one unit's pages at most and is emptied at each RELEASE. Only this
        // connection: it runs the webhook's and outbox's short units, never the large sorts that temp files exist for.
        await ExecAsync(conn, "PRAGMA temp_store=MEMORY");
        if (checkpointer.Enabled)
        {
            SqliteCheckpointer.ConfigureConnection(conn); // checkpoints run in the background
        }
        DeferredSync = await OpenSyncerAsync(conn);
        if (DeferredSync)
        {
            await ExecAsync(conn, "PRAGMA synchronous=NORMAL"); // this connection only: the syncer syncs its commits
        }
        shared = conn;
        return conn;
    }

    /// <summary>
    /// Opens the syncer's connection once (kept open: its pager keeps the WAL open) when the database is a file in WAL mode,
    /// and checks that its WAL handle syncs. False (the batches commit at FULL) otherwise, or when the check fails.
    /// </summary>
    private async Task<bool> OpenSyncerAsync(SqliteConnection batchConnection)
    {
        if (syncConnection is not null)
        {
            return true; // the batch connection failed and is reopened; the syncer's stays
        }
        await using (var mode = batchConnection.CreateCommand())
        {
            mode.CommandText = "PRAGMA journal_mode";
            if (!string.Equals(await mode.ExecuteScalarAsync() as string, "wal", StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }
        }
        var conn = new SqliteConnection(connection.Value);
        try
        {
            await conn.OpenAsync();
            // A read opens the pager's WAL (pager.c pagerOpenWalIfPresent); it stays open with the connection.
            await using (var read = conn.CreateCommand())
            {
                read.CommandText = "SELECT count(*) FROM sqlite_schema";
                await read.ExecuteScalarAsync();
            }
            var rc = SqliteNative.SyncWalFile(conn);
            if (rc != 0)
            {
                logger.LogWarning("SQLite group commit: the WAL could not be synced from a connection of its own (result code {Code}); batches sync at COMMIT", rc);
                await conn.DisposeAsync();
                return false;
            }
        }
        catch
        {
            await conn.DisposeAsync();
            throw;
        }
        syncConnection = conn;
        return true;
    }

    private static async Task ExecAsync(SqliteConnection conn, string sql)
    {
        // The batch's and units' own statements (BEGIN, SAVEPOINT, RELEASE, COMMIT: two to four per unit, inside the writer's
        // turn) stay prepared on the connection rather than compiled and finalized at every use.
        if (SqliteStatementCache.CommandFor(conn, sql) is { } cached)
        {
            await cached.ExecuteNonQueryAsync();
            return;
        }
        await using var command = conn.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    private sealed class Unit
    {
        /// <summary>When the unit was queued (<see cref="Stopwatch.GetTimestamp"/>).</summary>
        public long QueuedAt { get; } = Stopwatch.GetTimestamp();

        /// <summary>
        /// Granted by the leader: the shared connection, inside the open transaction. Its continuation (the unit's work) runs
        /// on the leader's thread, inside <c>TrySetResult</c>, up to the work's first await that does not complete at once
        /// (Microsoft.Data.Sqlite's async calls complete synchronously), and the leader's wait for <see cref="Done"/> then finds
        /// it set. With both run asynchronously each unit cost two thread-pool hops (leader to unit, unit to leader), each a
        /// worker woken through a semaphore, while the writer waited for them (issue 13: thread-pool wake-ups were ~6 % of the
        /// busy samples in the closed loop).
        /// </summary>
        public TaskCompletionSource<SqliteConnection> Turn { get; } = new();

        /// <summary>
        /// Set by the unit: its work ended (true: kept; false: rolled back to its savepoint). Synchronous continuation: when the
        /// work did yield, the leader's loop continues on the unit's thread as it sets this (<see cref="Turn"/>).
        /// </summary>
        public TaskCompletionSource<bool> Done { get; } = new();

        /// <summary>Set once the batch's COMMIT returned and the WAL holding it is synced (or either failed).</summary>
        public TaskCompletionSource Committed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>When the batch's COMMIT returned (<see cref="Stopwatch.GetTimestamp"/>; written before <see cref="Committed"/> is set).</summary>
        public long BatchCommitted { get; set; }

        /// <summary>When the WAL holding the batch was synced (written before <see cref="Committed"/> is set).</summary>
        public long Synced { get; set; }
    }
}
