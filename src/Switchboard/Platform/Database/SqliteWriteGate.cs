using System.Runtime.CompilerServices;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Switchboard.Platform.Database;

/// <summary>Who goes first through the <see cref="SqliteWriteGate"/> when several writers wait.</summary>
internal enum WritePriority
{
    /// <summary>Request/response webhooks (Vapi <c>assistant-request</c>, <c>tool-calls</c>…): the provider waits on the answer.</summary>
    High = 0,

    /// <summary>Fire-and-forget webhooks and API writes (the default).</summary>
    Normal = 1,

    /// <summary>Background bookkeeping (outbox claims and results): late by milliseconds, nobody notices.</summary>
    Low = 2,
}

/// <summary>
/// Queues write transactions on SQLite, which has a single writer, inside this process. Without it, concurrent
/// <c>BEGIN IMMEDIATE</c>s collide with <c>SQLITE_BUSY</c>, which Microsoft.Data.Sqlite retries by blocking the
/// thread for 150 ms at a time (bench/: p50 160 ms at 16 concurrent webhooks). Waiting here is asynchronous. The next
/// turn goes to the oldest waiter of the highest <see cref="WritePriority"/>, except that after
/// <see cref="MaxBypass"/> turns in a row given over the head of a lower-priority waiter, the lowest waiting priority
/// goes first once (so outbox bookkeeping is delayed under load, never starved). A no-op on PostgreSQL.
/// Writers that cannot take a turn themselves (the outbox handlers' own saves) are gated through
/// <see cref="GateSavesOf"/> and <see cref="SaveInterceptor"/>.
/// </summary>
internal sealed class SqliteWriteGate
{
    /// <summary>
    /// Turns given in a row to a higher priority while a lower one waits, before the lowest waiter goes once. 32: under
    /// overload the outbox keeps about 3 % of the writer (bench/results/ingest-2026-12-01.md: at 8 it took enough writer
    /// and CPU to cut webhook throughput on a CPU-starved host); when webhooks do not saturate the writer it gets the rest.
    /// </summary>
    internal const int MaxBypass = 32;

    private readonly Lock sync = new();
    private readonly Queue<TaskCompletionSource>[] queues = [new(), new(), new()];
    private readonly ConditionalWeakTable<DbContext, StrongBox<Turn>> saveTurns = new();
    private bool held;
    private int bypassed;

    /// <summary>Writers waiting for a turn now (including cancelled ones not yet skipped).</summary>
    internal int Waiting
    {
        get
        {
            lock (sync)
            {
                return queues.Sum(q => q.Count);
            }
        }
    }

    /// <summary>Turns granted so far, per priority (tests and diagnostics).</summary>
    internal long[] Granted { get; } = new long[3];

    /// <summary>Waits for the turn of <paramref name="db"/>'s next write transaction; dispose the result to end it.</summary>
    public ValueTask<Turn> EnterAsync(DbContext db, CancellationToken ct) => EnterAsync(db, WritePriority.Normal, ct);

    /// <summary>Waits for the turn of <paramref name="db"/>'s next write transaction at <paramref name="priority"/>; dispose the result to end it.</summary>
    public ValueTask<Turn> EnterAsync(DbContext db, WritePriority priority, CancellationToken ct) =>
        (db is SwitchboardDbContext s ? s.IsSqlite : db.Database.IsSqlite()) ? EnterAsync(priority, ct) : ValueTask.FromResult(default(Turn));

    /// <summary>Waits for a turn at <paramref name="priority"/> (whatever the database; callers check it is SQLite).</summary>
    internal async ValueTask<Turn> EnterAsync(WritePriority priority, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        TaskCompletionSource waiter;
        lock (sync)
        {
            if (!held)
            {
                held = true;
                Granted[(int)priority]++;
                return new Turn(this);
            }
            waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            queues[(int)priority].Enqueue(waiter);
        }
        await using (ct.Register(() => waiter.TrySetCanceled(ct)))
        {
            // Cancelled first: Release skips this waiter. Granted first: the turn is ours even if ct fires now.
            await waiter.Task;
        }
        return new Turn(this);
    }

    /// <summary>
    /// Makes every later <c>SaveChanges</c> of <paramref name="db"/> that runs outside an explicit transaction take a turn
    /// at <paramref name="priority"/> for its duration (SQLite only). For writers that cannot hold a turn across their
    /// work, such as outbox handlers, which save, call a provider, then save again.
    /// </summary>
    public void GateSavesOf(SwitchboardDbContext db, WritePriority priority)
    {
        if (db.IsSqlite)
        {
            db.GatedSaves = priority; // on the context, not beside it: a pooled context forgets it when rented again
        }
    }

    private void Release()
    {
        lock (sync)
        {
            while (true)
            {
                var first = Array.FindIndex(queues, q => q.Count > 0);
                if (first < 0)
                {
                    held = false;
                    bypassed = 0;
                    return;
                }
                var lowest = Array.FindLastIndex(queues, q => q.Count > 0);
                var level = bypassed >= MaxBypass && lowest > first ? lowest : first;
                if (!queues[level].Dequeue().TrySetResult())
                {
                    continue; // cancelled while waiting
                }
                bypassed = level < lowest ? bypassed + 1 : 0;
                Granted[level]++;
                return; // the turn passes straight to it: held stays true
            }
        }
    }

    /// <summary>A held turn; <see cref="Dispose"/> releases it.</summary>
    internal readonly struct Turn(SqliteWriteGate? gate) : IDisposable
    {
        public void Dispose() => gate?.Release();
    }

    /// <summary>
    /// Takes a turn around the <c>SaveChanges</c> of contexts registered with <see cref="GateSavesOf"/>, unless the save runs
    /// in an explicit transaction or inside a <see cref="SqliteGroupCommit"/> unit (whose batch already holds the turn).
    /// </summary>
    internal sealed class SaveInterceptor(SqliteWriteGate gate) : SaveChangesInterceptor
    {
        public override async ValueTask<InterceptionResult<int>> SavingChangesAsync(DbContextEventData eventData, InterceptionResult<int> result, CancellationToken ct = default)
        {
            if (eventData.Context is { } db && NeedsTurn(db, out var priority))
            {
                var turn = await gate.EnterAsync(priority, ct);
                gate.saveTurns.AddOrUpdate(db, new StrongBox<Turn>(turn));
            }
            return result;
        }

        public override InterceptionResult<int> SavingChanges(DbContextEventData eventData, InterceptionResult<int> result)
        {
            if (eventData.Context is { } db && NeedsTurn(db, out var priority))
            {
                var turn = gate.EnterAsync(priority, CancellationToken.None).AsTask().GetAwaiter().GetResult();
                gate.saveTurns.AddOrUpdate(db, new StrongBox<Turn>(turn));
            }
            return result;
        }

        public override ValueTask<int> SavedChangesAsync(SaveChangesCompletedEventData eventData, int result, CancellationToken ct = default)
        {
            End(eventData.Context);
            return ValueTask.FromResult(result);
        }

        public override int SavedChanges(SaveChangesCompletedEventData eventData, int result)
        {
            End(eventData.Context);
            return result;
        }

        public override Task SaveChangesFailedAsync(DbContextErrorEventData eventData, CancellationToken ct = default)
        {
            End(eventData.Context);
            return Task.CompletedTask;
        }

        public override void SaveChangesFailed(DbContextErrorEventData eventData) => End(eventData.Context);

        public override Task SaveChangesCanceledAsync(DbContextEventData eventData, CancellationToken ct = default)
        {
            End(eventData.Context);
            return Task.CompletedTask;
        }

        public override void SaveChangesCanceled(DbContextEventData eventData) => End(eventData.Context);

        /// <summary>A save of a registered context outside an explicit transaction and outside a group-commit unit: it takes a turn.</summary>
        private static bool NeedsTurn(DbContext db, out WritePriority priority)
        {
            priority = default;
            if (db is not SwitchboardDbContext { InGroupCommit: false, GatedSaves: { } gated } || db.Database.CurrentTransaction is not null)
            {
                return false;
            }
            priority = gated;
            return true;
        }

        private void End(DbContext? db)
        {
            if (db is not null && gate.saveTurns.TryGetValue(db, out var turn))
            {
                gate.saveTurns.Remove(db);
                turn.Value.Dispose();
            }
        }
    }
}
