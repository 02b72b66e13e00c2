using System.Diagnostics;
using Npgsql;

namespace Switchboard.Platform.Cluster;

/// <summary>
/// At most N holders of a key at once (the per-endpoint webhook bound). On PostgreSQL a holder takes one of the rows
/// <c>(Key, Slot 0 … N−1)</c> in <c>concurrency_leases</c> that is free or expired, in one statement; the lease expires
/// by itself after <c>ttl</c> so a node that dies mid-request frees its slot. Two nodes racing for the same free slot:
/// one wins, the other tries the next free one (up to 3 times), so the bound is never exceeded. On SQLite, a
/// <see cref="SemaphoreSlim"/> per key.
/// </summary>
/// <remarks>
/// <para>
/// On PostgreSQL the key's <see cref="SemaphoreSlim"/> of this node is taken first, then the shared row (issue 13): a node
/// that already holds every slot asks nothing of the database (in the ingest bench, one endpoint for every delivery, a fifth
/// of the take statements found every slot held, each followed by a count of the free ones, and a waiting delivery polled
/// every 5 – 80 ms); a delivery waits on its own node's releases without a statement, and polls the table only while the
/// slots it lacks are held by other nodes.
/// </para>
/// <para>
/// A released row is kept for the node's next holder of the key (issue 13: a take and a release for each webhook delivery
/// were two transactions of their own, a fifth of PostgreSQL's statements in the ingest bench). The row stays this node's,
/// idle, for up to <see cref="IdleLinger"/> of wall time; a holder that enters meanwhile takes it over without a statement.
/// An idle row is deleted when it has lingered that long (one statement for every row due, from a sweep that runs only
/// while rows are idle), when its lease has run a quarter of its <c>ttl</c> (so a holder always has at least three
/// quarters of it left, and a node that keeps a busy key's slots gives them back to the cluster at least that often), and
/// when the host stops. While idle it counts against the bound for other nodes: they find the slot free at most
/// <see cref="IdleLinger"/> after this node stopped using it, or a quarter of <c>ttl</c> after it was taken.
/// </para>
/// <para>
/// Each row's <c>Holder</c> names the node and process that took it (<see cref="NodeIdentity.LeaseHolder"/>). A node killed
/// outright leaves its rows held until they expire (the delivery timeout plus 30 s), and the endpoint's deliveries on every
/// node wait meanwhile (probe 10). So before its first take, a node deletes the rows its own earlier runs left (same node
/// name, a process no longer running), as the outbox takes back its leases (<see cref="Outbox.OutboxProcessor.RecoverOwnLeasesAsync"/>);
/// other nodes' rows are left to expire.
/// </para>
/// </remarks>
internal sealed class ClusterConcurrency(
    ClusterDatabase database, TimeProvider clock, Microsoft.Extensions.Options.IOptions<Outbox.OutboxOptions> outbox, ILogger<ClusterConcurrency> logger)
    : IAsyncDisposable
{
    private readonly byte[] nodePrefix = NodeIdentity.NodePrefix(NodeIdentity.Name(outbox.Value.NodeId));
    private readonly Lock reclaiming = new();
    private Task? reclaimed;

    /// <summary>How long (wall time) a released row stays this node's for the key's next holder before it is deleted.</summary>
    internal static readonly TimeSpan IdleLinger = TimeSpan.FromMilliseconds(200);

    private const string TakeSql = """
        INSERT INTO concurrency_leases ("Key", "Slot", "Holder", "ExpiresAt")
        SELECT $1, s, $2, $3 FROM generate_series(0, $4 - 1) AS s
        WHERE NOT EXISTS (SELECT 1 FROM concurrency_leases l WHERE l."Key" = $1 AND l."Slot" = s AND l."ExpiresAt" > $5)
        ORDER BY (s - $6 + $4) % $4 LIMIT 1
        ON CONFLICT ("Key", "Slot") DO UPDATE SET "Holder" = EXCLUDED."Holder", "ExpiresAt" = EXCLUDED."ExpiresAt"
            WHERE concurrency_leases."ExpiresAt" <= $5
        RETURNING "Slot"
        """;

    /// <summary>Deletes the rows (Key, Slot, Holder) given as three arrays, each only while that holder still has it.</summary>
    private const string ReleaseSql = """
        DELETE FROM concurrency_leases l USING unnest($1::text[], $2::int[], $3::uuid[]) AS r("Key", "Slot", "Holder")
        WHERE l."Key" = r."Key" AND l."Slot" = r."Slot" AND l."Holder" = r."Holder"
        """;

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, KeyGate> gates = new();
    private readonly Lock sweeping = new();
    private bool sweepScheduled;
    private bool disposed;
    private long statements;

    /// <summary>Take and release statements sent to PostgreSQL since the start (tests: a node's own holders cost none).</summary>
    internal long Statements => Interlocked.Read(ref statements);

    /// <summary>Rows released by this node and kept idle for its next holder, over every key (tests and diagnostics).</summary>
    internal int Idle => gates.Values.Sum(g => g.IdleCount);

    /// <summary>
    /// Takes a slot of <paramref name="key"/> (bound <paramref name="limit"/>) without waiting; dispose the result to
    /// release it. Null when all slots are held.
    /// </summary>
    public async ValueTask<IAsyncDisposable?> TryEnterAsync(string key, int limit, TimeSpan ttl, CancellationToken ct)
    {
        var gate = Gate(key, limit);
        if (!gate.Holders.Wait(0))
        {
            return null; // this node holds every slot
        }
        return database.Postgres is not { } pg ? new LocalSlot(gate.Holders) : await TakeSharedAsync(pg, gate, ttl, ct);
    }

    /// <summary>
    /// Takes a slot of <paramref name="key"/> (bound <paramref name="limit"/>), waiting up to <paramref name="maxWait"/> of wall
    /// time for one to free; dispose the result to release it. Null when none freed in time. On SQLite the wait is the key's
    /// <see cref="SemaphoreSlim"/> (woken by the release itself); on PostgreSQL, where a slot may be freed by another node,
    /// it is <see cref="TryEnterAsync"/> again after 5, 10, 20 … 80 ms (one short statement each).
    /// </summary>
    /// <remarks>Wall time, not the injected clock: the slot is freed by a real request ending, whatever a test's clock says.</remarks>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled while waiting.</exception>
    public async ValueTask<IAsyncDisposable?> EnterAsync(string key, int limit, TimeSpan ttl, TimeSpan maxWait, CancellationToken ct)
    {
        var gate = Gate(key, limit);
        var started = Stopwatch.GetTimestamp();
        var pause = TimeSpan.FromMilliseconds(5);
        while (true)
        {
            var left = maxWait - Stopwatch.GetElapsedTime(started);
            // This node's own holders are waited for on the gate (woken by their release), not by polling the table.
            if (!await gate.Holders.WaitAsync(left > TimeSpan.Zero ? left : TimeSpan.Zero, ct))
            {
                return null;
            }
            if (database.Postgres is not { } pg)
            {
                return new LocalSlot(gate.Holders);
            }
            if (await TakeSharedAsync(pg, gate, ttl, ct) is { } slot)
            {
                return slot;
            }
            // Every slot this node lacks is held by other nodes (the gate was released): look again after a pause.
            left = maxWait - Stopwatch.GetElapsedTime(started);
            if (left <= TimeSpan.Zero)
            {
                return null;
            }
            await Task.Delay(pause < left ? pause : left, ct);
            pause = TimeSpan.FromMilliseconds(Math.Min(80, pause.TotalMilliseconds * 2));
        }
    }

    /// <summary>Deletes every idle row of this node (the host is stopping: other nodes need not wait for the rows' expiry).</summary>
    public async ValueTask DisposeAsync()
    {
        lock (sweeping)
        {
            disposed = true;
        }
        if (database.Postgres is not { } pg)
        {
            return;
        }
        var rows = gates.Values.SelectMany(g => g.TakeIdle(_ => true).Select(lease => (g, lease))).ToList();
        if (rows.Count == 0)
        {
            return;
        }
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await ReleaseAsync(pg, rows, timeout.Token);
        }
        catch (Exception e) when (e is NpgsqlException or OperationCanceledException or ObjectDisposedException)
        {
            logger.LogWarning(e, "{Count} idle concurrency leases were not released at shutdown; they expire by themselves", rows.Count);
        }
    }

    private KeyGate Gate(string key, int limit) => gates.GetOrAdd($"{key}|{limit}", static (_, state) => new KeyGate(state.key, state.limit), (key, limit: Math.Max(0, limit)));

    /// <summary>
    /// With this node's <paramref name="gate"/> held: takes over an idle row of this node, or takes a shared row, or releases
    /// the gate and returns null when every slot is held by other nodes.
    /// </summary>
    private async ValueTask<IAsyncDisposable?> TakeSharedAsync(NpgsqlDataSource pg, KeyGate gate, TimeSpan ttl, CancellationToken ct)
    {
        var taken = false;
        var preferred = -1;
        try
        {
            var now = clock.GetUtcNow();
            // A row whose lease has run a quarter of its ttl is given back (below) rather than taken over.
            if (gate.IdleCount > 0 && gate.TakeIdle(lease => lease.ExpiresAt - now < ttl * 0.75) is { Count: > 0 } stale)
            {
                await ReleaseAsync(pg, stale.Select(lease => (gate, lease)).ToList(), CancellationToken.None);
            }
            if (gate.TryReuse() is { } reused)
            {
                taken = true;
                return new SharedSlot(this, gate, reused);
            }
            if (reclaimed is not { IsCompleted: true })
            {
                await ReclaimOnceAsync(pg);
            }
            preferred = gate.Reserve();
            var holder = NodeIdentity.LeaseHolder(nodePrefix, Environment.ProcessId);
            for (var attempt = 0; attempt < 3; attempt++)
            {
                now = clock.GetUtcNow();
                var expiresAt = now.Add(ttl);
                await using var command = pg.CreateCommand(TakeSql);
                command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = gate.Key });
                command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = holder });
                command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = expiresAt });
                command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = gate.Limit });
                command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now });
                command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = preferred });
                Interlocked.Increment(ref statements);
                await using var reader = await command.ExecuteReaderAsync(ct);
                if (await reader.ReadAsync(ct))
                {
                    var slot = reader.GetInt32(0);
                    gate.Settle(preferred, slot);
                    taken = true;
                    return new SharedSlot(this, gate, new Lease(slot, holder, expiresAt));
                }
                // No row: either every slot is held, or another node took the slot this statement picked. Look again.
                await reader.CloseAsync();
                Interlocked.Increment(ref statements);
                if (!await AnyFreeAsync(pg, gate, now, ct))
                {
                    return null;
                }
            }
            return null;
        }
        finally
        {
            if (!taken)
            {
                if (preferred >= 0)
                {
                    gate.Settle(preferred, -1);
                }
                gate.Holders.Release();
            }
        }
    }

    private Task ReclaimOnceAsync(NpgsqlDataSource pg)
    {
        lock (reclaiming)
        {
            return reclaimed ??= ReclaimEarlierRunsAsync(pg);
        }
    }

    /// <summary>
    /// Deletes the rows this node's earlier runs hold (<see cref="NodeIdentity.IsEarlierIncarnation"/>): one read of the node's
    /// holder range, one delete. Runs once, before this node's first take; never throws (a failure is logged and the rows
    /// expire by themselves, as before).
    /// </summary>
    private async Task ReclaimEarlierRunsAsync(NpgsqlDataSource pg)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            var (low, high) = NodeIdentity.NodeRange(nodePrefix);
            var rows = new List<(string Key, int Slot, Guid Holder)>();
            await using (var command = pg.CreateCommand("""SELECT "Key", "Slot", "Holder" FROM concurrency_leases WHERE "Holder" BETWEEN $1 AND $2"""))
            {
                command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = low });
                command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = high });
                await using var reader = await command.ExecuteReaderAsync(timeout.Token);
                while (await reader.ReadAsync(timeout.Token))
                {
                    rows.Add((reader.GetString(0), reader.GetInt32(1), reader.GetGuid(2)));
                }
            }
            var stale = rows.Where(r => NodeIdentity.IsEarlierIncarnation(NodeIdentity.ProcessOf(r.Holder))).ToList();
            if (stale.Count == 0)
            {
                return;
            }
            await using (var command = pg.CreateCommand(ReleaseSql))
            {
                command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = stale.Select(r => r.Key).ToArray() });
                command.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = stale.Select(r => r.Slot).ToArray() });
                command.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = stale.Select(r => r.Holder).ToArray() });
                Interlocked.Increment(ref statements);
                var released = await command.ExecuteNonQueryAsync(timeout.Token);
                logger.LogInformation("Released {Count} concurrency leases held by an earlier run of this node", released);
            }
        }
        catch (Exception e) when (e is NpgsqlException or OperationCanceledException or TimeoutException)
        {
            logger.LogWarning(e, "Could not release the concurrency leases of this node's earlier runs; they expire by themselves");
        }
    }

    private static async Task<bool> AnyFreeAsync(NpgsqlDataSource pg, KeyGate gate, DateTimeOffset now, CancellationToken ct)
    {
        await using var command = pg.CreateCommand("""SELECT count(*) FROM concurrency_leases WHERE "Key" = $1 AND "Slot" < $2 AND "ExpiresAt" > $3""");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = gate.Key });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = gate.Limit });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now });
        return (long)(await command.ExecuteScalarAsync(ct))! < gate.Limit;
    }

    /// <summary>Deletes <paramref name="rows"/> (each only while its holder still has it) in one statement, then frees their slots' marks.</summary>
    private async Task ReleaseAsync(NpgsqlDataSource pg, List<(KeyGate Gate, Lease Lease)> rows, CancellationToken ct)
    {
        try
        {
            await using var command = pg.CreateCommand(ReleaseSql);
            command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = rows.Select(r => r.Gate.Key).ToArray() });
            command.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = rows.Select(r => r.Lease.Slot).ToArray() });
            command.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = rows.Select(r => r.Lease.Holder).ToArray() });
            Interlocked.Increment(ref statements);
            await command.ExecuteNonQueryAsync(ct);
        }
        finally
        {
            // After the rows: a holder on this node that enters next finds them free. A failed delete leaves rows that expire.
            foreach (var (gate, lease) in rows)
            {
                gate.Settle(lease.Slot, -1);
            }
        }
    }

    /// <summary>
    /// Keeps <paramref name="lease"/> idle for the key's next holder on this node and makes sure a sweep will delete it once
    /// it has lingered <see cref="IdleLinger"/>; the gate is released after it is parked, so a holder woken by the release
    /// finds it. After <see cref="DisposeAsync"/>, the row is deleted at once instead (errors as the delete's).
    /// </summary>
    private async ValueTask ParkAsync(KeyGate gate, Lease lease)
    {
        bool parked, sweep = false;
        lock (sweeping)
        {
            parked = !disposed;
            if (parked)
            {
                gate.Park(lease, Stopwatch.GetTimestamp());
                sweep = !sweepScheduled;
                sweepScheduled = true;
            }
        }
        if (!parked)
        {
            try
            {
                if (database.Postgres is { } pg)
                {
                    await ReleaseAsync(pg, [(gate, lease)], CancellationToken.None); // stopping: nobody takes it over
                }
            }
            finally
            {
                gate.Holders.Release();
            }
            return;
        }
        gate.Holders.Release();
        if (sweep)
        {
            using (ExecutionContext.SuppressFlow())
            {
                _ = Task.Run(SweepAsync, CancellationToken.None);
            }
        }
    }

    /// <summary>
    /// Deletes idle rows as they reach <see cref="IdleLinger"/> (one statement for all those due), waking when the oldest is
    /// due, and stops when none is idle (the next park starts it again). A failed delete is logged; those rows then expire by
    /// themselves.
    /// </summary>
    private async Task SweepAsync()
    {
        var linger = (long)(IdleLinger.TotalSeconds * Stopwatch.Frequency);
        var wait = IdleLinger;
        while (true)
        {
            await Task.Delay(wait);
            var due = Stopwatch.GetTimestamp() - linger;
            var rows = gates.Values.SelectMany(g => g.TakeIdle(lease => lease.IdleSince <= due).Select(lease => (g, lease))).ToList();
            if (rows.Count > 0 && database.Postgres is { } pg)
            {
                try
                {
                    await ReleaseAsync(pg, rows, CancellationToken.None);
                }
                catch (Exception e)
                {
                    // Whatever the failure, the sweep goes on (a sweep that died would leave every later idle row to its expiry).
                    logger.LogWarning(e, "Could not release {Count} idle concurrency leases; they expire by themselves", rows.Count);
                }
            }
            lock (sweeping)
            {
                var oldest = gates.Values.Select(g => g.OldestIdleSince()).Where(t => t is not null).Min();
                if (disposed || oldest is null)
                {
                    sweepScheduled = false;
                    return;
                }
                wait = TimeSpan.FromSeconds(Math.Max(1, oldest.Value + linger - Stopwatch.GetTimestamp()) / (double)Stopwatch.Frequency);
            }
        }
    }

    /// <summary>A row of <c>concurrency_leases</c> this node holds; <see cref="IdleSince"/> is the <see cref="Stopwatch"/> timestamp of its release while idle.</summary>
    private sealed record Lease(int Slot, Guid Holder, DateTimeOffset ExpiresAt)
    {
        public long IdleSince { get; init; }
    }

    /// <summary>
    /// A key's state on this node: its holders (at most the bound), which slots it holds in the shared table (in use or idle),
    /// so each of its takes starts at a slot it does not hold (two takes of one node picking the same lowest free slot
    /// collided: a fifth of the takes in the ingest bench found no row and looked again), and its idle rows, most recently
    /// released last. The marks are a hint: PostgreSQL's rows stay the only authority, and a wrong mark costs one more take,
    /// never a second holder of a slot.
    /// </summary>
    private sealed class KeyGate(string key, int limit)
    {
        public string Key { get; } = key;

        public int Limit { get; } = limit;

        public SemaphoreSlim Holders { get; } = new(limit);

        private readonly bool[] held = new bool[limit];
        private readonly List<Lease> idle = [];

        public int IdleCount
        {
            get
            {
                lock (held)
                {
                    return idle.Count;
                }
            }
        }

        /// <summary>The <see cref="Stopwatch"/> timestamp of the longest-idle row's release; null when none is idle.</summary>
        public long? OldestIdleSince()
        {
            lock (held)
            {
                return idle.Count == 0 ? null : idle.Min(l => l.IdleSince);
            }
        }

        /// <summary>Reserves and returns the first slot this node neither holds nor is taking (0 when all are: another node's slot will do).</summary>
        public int Reserve()
        {
            lock (held)
            {
                var free = Array.IndexOf(held, false);
                if (free < 0)
                {
                    return 0;
                }
                held[free] = true;
                return free;
            }
        }

        /// <summary>Moves this node's mark from the reserved slot to the one PostgreSQL gave (or drops it: <paramref name="taken"/> −1).</summary>
        public void Settle(int reserved, int taken)
        {
            lock (held)
            {
                if (reserved >= 0 && reserved < held.Length)
                {
                    held[reserved] = false;
                }
                if (taken >= 0 && taken < held.Length)
                {
                    held[taken] = true;
                }
            }
        }

        /// <summary>Keeps <paramref name="lease"/> idle (its slot stays marked).</summary>
        public void Park(Lease lease, long now)
        {
            lock (held)
            {
                idle.Add(lease with { IdleSince = now });
            }
        }

        /// <summary>The most recently released idle row, no longer idle; null when none is.</summary>
        public Lease? TryReuse()
        {
            lock (held)
            {
                if (idle.Count == 0)
                {
                    return null;
                }
                var lease = idle[^1];
                idle.RemoveAt(idle.Count - 1);
                return lease;
            }
        }

        /// <summary>Removes and returns the idle rows <paramref name="match"/> picks (their slots stay marked until released).</summary>
        public List<Lease> TakeIdle(Func<Lease, bool> match)
        {
            lock (held)
            {
                var taken = idle.FindAll(l => match(l));
                if (taken.Count > 0)
                {
                    idle.RemoveAll(l => match(l));
                }
                return taken;
            }
        }
    }

    private sealed class LocalSlot(SemaphoreSlim gate) : IAsyncDisposable
    {
        private int released;

        public ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref released, 1) == 0)
            {
                gate.Release();
            }
            return ValueTask.CompletedTask;
        }
    }

    /// <summary>A holder of a shared row: disposing it parks the row for the key's next holder on this node.</summary>
    private sealed class SharedSlot(ClusterConcurrency owner, KeyGate gate, Lease lease) : IAsyncDisposable
    {
        private int released;

        public ValueTask DisposeAsync() =>
            Interlocked.Exchange(ref released, 1) != 0 ? ValueTask.CompletedTask : owner.ParkAsync(gate, lease);
    }
}
