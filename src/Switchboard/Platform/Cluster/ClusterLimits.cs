using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using Switchboard.Platform.Database;
using Switchboard.Twilio;

namespace Switchboard.Platform.Cluster;

/// <summary>Registers the cluster-wide limits (rate windows, concurrency leases, one-use stream tokens).</summary>
internal static class ClusterLimitsExtensions
{
    public static IServiceCollection AddClusterLimits(this IServiceCollection services)
    {
        services.AddSingleton<ClusterDatabase>();
        services.AddSingleton<ClusterRateLimiter>();
        services.AddSingleton<ClusterConcurrency>();
        services.AddSingleton<StreamTokenLedger>();
        return services;
    }
}

/// <summary>
/// A pooled PostgreSQL data source for the limit statements (one round trip each, outside EF), or null on SQLite,
/// where one process is the whole installation and limits stay in memory.
/// </summary>
internal sealed class ClusterDatabase(DatabaseExtensions.EffectiveConnection connection) : IDisposable
{
    private readonly Lazy<NpgsqlDataSource>? source = connection.IsPostgres ? new(() => NpgsqlDataSource.Create(WithoutCommitWait(connection.Value))) : null;

    /// <summary>
    /// Counters and leases are ephemeral (their tables are UNLOGGED): a commit need not wait for the WAL flush
    /// (<c>synchronous_commit=off</c> on these connections only), which took a permit from ~24 ms to well under 1 ms
    /// on the loaded test machine.
    /// </summary>
    private static string WithoutCommitWait(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        builder.Options = string.IsNullOrEmpty(builder.Options) ? "-c synchronous_commit=off" : builder.Options + " -c synchronous_commit=off";
        return builder.ConnectionString;
    }

    public NpgsqlDataSource? Postgres => source?.Value;

    public void Dispose()
    {
        if (source is { IsValueCreated: true })
        {
            source.Value.Dispose();
        }
    }
}

/// <summary>The outcome of one permit request: whether it was granted, and when the window ends.</summary>
internal readonly record struct RateDecision(bool Acquired, TimeSpan RetryAfter);

/// <summary>
/// Fixed one-minute windows per key (<c>api:tenant:{id}</c>, <c>api:key:{id}</c>, <c>vapi:{tenantId}</c>…).
/// On PostgreSQL the window is a row shared by every node, counted by an upsert (<c>INSERT … ON CONFLICT DO UPDATE SET
/// "Count" = "Count" + n RETURNING "Count"</c>); a request is granted while its place in the window's count is at most
/// the limit, so the limit holds exactly across nodes. Windows are aligned on the injected clock's minute (UTC) and
/// expired rows are deleted about once a minute per node. On SQLite (one node) it is System.Threading.RateLimiting's fixed
/// window, in memory.
/// </summary>
/// <remarks>
/// <para>Coalesced counting (issue 13): every Vapi message and API request takes a permit, and on PostgreSQL each was its
/// own statement on a hot row (1 of the ~12 statements per Vapi message the ingest bench counted, and the row most
/// often updated: HOT pruning on every page visit). Now one statement at a time is in flight per node; the requests that
/// arrive meanwhile queue, and the next statement counts all of them at once, every key with its number of
/// requests (<c>unnest</c>, keys sorted so two nodes lock rows in the same order and cannot deadlock). A key counted
/// <c>n</c> times whose row then holds <c>c</c> gives its requests the places <c>c − n + 1 … c</c> in arrival order:
/// the same grants as <c>n</c> separate increments. Alone, a request is counted at once, as before; under load the
/// statements per request fall with the queue. A failed statement fails every request it counted.</para>
/// </remarks>
internal sealed class ClusterRateLimiter(ClusterDatabase database, TimeProvider clock) : IDisposable
{
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    private const string CountSql = """
        INSERT INTO rate_limit_counters ("Key", "WindowStart", "Count", "ExpiresAt")
        SELECT k, $3, n, $4 FROM unnest($1::text[], $2::int[]) AS t(k, n) ORDER BY k
        ON CONFLICT ("Key", "WindowStart") DO UPDATE SET "Count" = rate_limit_counters."Count" + EXCLUDED."Count"
        RETURNING "Key", "Count"
        """;

    /// <summary>Most requests one counting statement takes (its arrays' length is bounded by the keys among them).</summary>
    internal const int MaxPerStatement = 1024;

    private readonly PartitionedRateLimiter<string> local = PartitionedRateLimiter.Create<string, string>(key =>
        RateLimitPartition.GetFixedWindowLimiter(key, k => new FixedWindowRateLimiterOptions
        {
            PermitLimit = int.Parse(k[(k.LastIndexOf('|') + 1)..], CultureInfo.InvariantCulture),
            Window = Window,
            QueueLimit = 0,
            AutoReplenishment = true,
        }));

    private readonly Lock gate = new();
    private readonly List<Pending> queue = [];
    private bool counting;
    private long statements;
    private long nextPruneTicks;

    /// <summary>Counting statements sent to PostgreSQL since the start (tests: concurrent requests share them).</summary>
    internal long Statements => Interlocked.Read(ref statements);

    /// <summary>
    /// Takes one permit from <paramref name="key"/>'s current window of <paramref name="permitsPerMinute"/> (at least 1).
    /// </summary>
    /// <exception cref="NpgsqlException">PostgreSQL could not count the request (the caller answers as for any database failure).</exception>
    public async ValueTask<RateDecision> TryAcquireAsync(string key, int permitsPerMinute, CancellationToken ct)
    {
        var limit = Math.Max(1, permitsPerMinute);
        if (database.Postgres is not { } pg)
        {
            using var lease = local.AttemptAcquire($"{key}|{limit}");
            return new RateDecision(lease.IsAcquired,
                lease.IsAcquired ? TimeSpan.Zero : lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : Window);
        }
        var now = clock.GetUtcNow();
        var windowStart = now.ToUnixTimeSeconds() / 60 * 60;
        var windowEnd = DateTimeOffset.FromUnixTimeSeconds(windowStart).Add(Window);
        var me = new Pending(key, windowStart);
        bool leads;
        lock (gate)
        {
            queue.Add(me);
            leads = !counting;
            counting = true;
        }
        if (leads)
        {
            // Not awaited: the loop serves the requests queued behind this one too, and this request answers as soon as
            // its own place is known. The loop never throws (a failed statement fails the requests it counted).
            _ = CountQueuedAsync(pg);
        }
        // Not the request's token: its place is counted by a statement other requests share.
        var place = await me.Place.Task;
        await PruneIfDueAsync(pg, now, ct);
        return new RateDecision(place <= limit, place <= limit ? TimeSpan.Zero : windowEnd - now);
    }

    /// <summary>
    /// The counting loop, started by the request that found none running: counts what is queued in one statement per
    /// window, then the requests queued meanwhile, until the queue is empty. Each request's <see cref="Pending.Place"/> is
    /// set (or failed) before the next statement is sent.
    /// </summary>
    private async Task CountQueuedAsync(NpgsqlDataSource pg)
    {
        while (true)
        {
            List<Pending> batch;
            lock (gate)
            {
                if (queue.Count == 0)
                {
                    counting = false;
                    return;
                }
                // One window per statement (the first queued request's; a minute boundary splits the queue at most once). The
                // rest keep their order at the front of the queue.
                var window = queue[0].WindowStart;
                batch = new List<Pending>(Math.Min(queue.Count, MaxPerStatement));
                var kept = 0;
                for (var i = 0; i < queue.Count; i++)
                {
                    var request = queue[i];
                    if (request.WindowStart == window && batch.Count < MaxPerStatement)
                    {
                        batch.Add(request);
                    }
                    else
                    {
                        queue[kept++] = request;
                    }
                }
                queue.RemoveRange(kept, queue.Count - kept);
            }
            try
            {
                await CountAsync(pg, batch);
            }
            catch (Exception e)
            {
                foreach (var request in batch)
                {
                    request.Place.TrySetException(e);
                }
            }
        }
    }

    private async Task CountAsync(NpgsqlDataSource pg, List<Pending> batch)
    {
        var perKey = new Dictionary<string, List<Pending>>(StringComparer.Ordinal); // the statement sorts the keys
        foreach (var request in batch)
        {
            if (!perKey.TryGetValue(request.Key, out var same))
            {
                perKey[request.Key] = same = [];
            }
            same.Add(request);
        }
        var windowStart = batch[0].WindowStart;
        await using var command = pg.CreateCommand(CountSql);
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. perKey.Keys] });
        command.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = [.. perKey.Values.Select(l => l.Count)] });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = windowStart });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = DateTimeOffset.FromUnixTimeSeconds(windowStart).Add(Window + Window) });
        Interlocked.Increment(ref statements);
        await using (var reader = await command.ExecuteReaderAsync(CancellationToken.None))
        {
            while (await reader.ReadAsync(CancellationToken.None))
            {
                var same = perKey[reader.GetString(0)];
                var count = reader.GetInt32(1);
                for (var i = 0; i < same.Count; i++)
                {
                    same[i].Place.TrySetResult(count - same.Count + 1 + i);
                }
            }
        }
        foreach (var request in batch)
        {
            request.Place.TrySetException(new InvalidOperationException($"The rate-limit count returned no row for {request.Key}."));
        }
    }

    private async Task PruneIfDueAsync(NpgsqlDataSource pg, DateTimeOffset now, CancellationToken ct)
    {
        var due = Interlocked.Read(ref nextPruneTicks);
        if (now.UtcTicks < due || Interlocked.CompareExchange(ref nextPruneTicks, now.Add(Window).UtcTicks, due) != due)
        {
            return;
        }
        await using var prune = pg.CreateCommand("""DELETE FROM rate_limit_counters WHERE "ExpiresAt" < $1""");
        prune.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now });
        await prune.ExecuteNonQueryAsync(ct);
    }

    public void Dispose() => local.Dispose();

    /// <summary>A request waiting to be counted: its key, its window (Unix seconds), and its place in that window's count.</summary>
    private sealed class Pending(string key, long windowStart)
    {
        public string Key { get; } = key;

        public long WindowStart { get; } = windowStart;

        public TaskCompletionSource<int> Place { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

/// <summary>
/// Media-stream tokens accepted so far, in the database on both providers: a token's nonce is inserted when its stream
/// is accepted, and a second insert (from any node) hits the primary key, so each token opens one stream, once,
/// cluster-wide. Rows are kept a minute past the token's expiry (after which the token is refused anyway), then deleted.
/// </summary>
internal sealed class StreamTokenLedger(IServiceScopeFactory scopes, TimeProvider clock)
{
    private long nextPruneTicks;

    /// <summary>True the first time <paramref name="grant"/>'s token is used; false on any replay.</summary>
    public async Task<bool> TryUseAsync(MediaStreamGrant grant, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>();
        db.StreamTokenUses.Add(new StreamTokenUse { Nonce = grant.Nonce, CallId = grant.CallId, ExpiresAt = grant.ExpiresAt.AddMinutes(1) });
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException e) when (UniqueViolation.Is(e))
        {
            return false;
        }
        var now = clock.GetUtcNow();
        var due = Interlocked.Read(ref nextPruneTicks);
        if (now.UtcTicks >= due && Interlocked.CompareExchange(ref nextPruneTicks, now.AddMinutes(5).UtcTicks, due) == due)
        {
            await db.StreamTokenUses.Where(u => u.ExpiresAt < now).ExecuteDeleteAsync(ct);
        }
        return true;
    }
}
