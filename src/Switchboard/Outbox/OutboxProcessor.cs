using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Switchboard.Platform.Database;
using Switchboard.Platform.Observability;
using Switchboard.Tenancy;

namespace Switchboard.Outbox;

/// <summary>What a handler made of one outbox message.</summary>
internal readonly record struct OutboxResult(OutboxResultKind Kind, string? Error = null, TimeSpan? RetryAfter = null)
{
    public static OutboxResult Done => new(OutboxResultKind.Done);
    public static OutboxResult Retry(string error, TimeSpan? after = null) => new(OutboxResultKind.Retry, error, after);
    public static OutboxResult Dead(string error) => new(OutboxResultKind.Dead, error);

    /// <summary>Not attempted (e.g. a per-endpoint concurrency bound is reached): due again after <paramref name="after"/>, not counted as an attempt.</summary>
    public static OutboxResult Defer(TimeSpan after) => new(OutboxResultKind.Deferred, null, after);
}

internal enum OutboxResultKind
{
    Done,
    Retry,
    Dead,
    Deferred,
}

/// <summary>
/// Performs one kind of side effect. Runs in its own DI scope with <see cref="CurrentTenant"/> set to the
/// message's tenant; changes it makes to the scope's <see cref="SwitchboardDbContext"/> commit together with the
/// message's new status.
/// </summary>
internal interface IOutboxHandler
{
    string Kind { get; }

    Task<OutboxResult> HandleAsync(OutboxMessage message, CancellationToken ct);
}

/// <summary>
/// Claims due outbox rows and runs their handlers. Claiming is one UPDATE … RETURNING: on PostgreSQL the
/// inner SELECT takes <c>FOR UPDATE SKIP LOCKED</c>, so nodes never claim the same row; on SQLite the single
/// writer gives the same guarantee. A claim is a lease: if the node dies, the row is due again when it expires, or at
/// once when the same node starts again (<see cref="RecoverOwnLeasesAsync"/>).
/// Retries back off exponentially (5 s × 2^n, capped at 30 min, ±20 % jitter) unless the handler names the delay;
/// after <see cref="OutboxOptions.MaxAttempts"/> the row becomes a dead letter. A deferred row (the handler could not
/// start it yet) is due again later without counting as an attempt. Up to <see cref="OutboxOptions.MaxDegreeOfParallelism"/>
/// messages run at once: in batches for <see cref="ProcessDueAsync"/> (tests, CLI), continuously for <see cref="RunAsync"/> (the worker).
/// </summary>
internal sealed class OutboxProcessor(
    IServiceScopeFactory scopes,
    IOptions<OutboxOptions> options,
    IOptions<DatabaseOptions> database,
    TimeProvider clock,
    ILogger<OutboxProcessor> logger,
    SwitchboardMetrics metrics,
    SqliteGroupCommit groupCommit)
{
    private readonly string nodeName = NodeName(options.Value.NodeId);
    private readonly string node = $"{NodeName(options.Value.NodeId)}|{Environment.ProcessId}|{Guid.NewGuid():N}";
    private int recovered;

    // LockedBy (100) = name (≤ 50) | pid (≤ 10) | boot id (32)
    private static string NodeName(string? configured) => Platform.Cluster.NodeIdentity.Name(configured);

    /// <summary>Claims and processes due messages once; returns how many were processed.</summary>
    public async Task<int> ProcessDueAsync(CancellationToken ct)
    {
        var claimed = await ClaimAsync(ct);
        if (claimed.Count == 0)
        {
            return 0;
        }
        var read = await ReadBatchAsync(claimed, ct);
        await Parallel.ForEachAsync(claimed, new ParallelOptions { MaxDegreeOfParallelism = options.Value.MaxDegreeOfParallelism, CancellationToken = ct },
            async (message, token) => await ProcessOneAsync(message, read, token));
        return claimed.Count;
    }

    /// <summary>Processes until nothing is due (tests and the CLI); bounded by <paramref name="maxRounds"/>.</summary>
    public async Task<int> DrainAsync(CancellationToken ct, int maxRounds = 100)
    {
        var total = 0;
        for (var i = 0; i < maxRounds; i++)
        {
            var n = await ProcessDueAsync(ct);
            if (n == 0)
            {
                break;
            }
            total += n;
        }
        return total;
    }

    /// <summary>
    /// The worker's loop: keeps up to <see cref="OutboxOptions.MaxDegreeOfParallelism"/> messages in flight and claims
    /// more as soon as a slot frees, so one slow message (a webhook receiver taking its whole timeout) never holds
    /// back the rows behind it, as a claim-a-batch-then-wait loop would. Waits <see cref="OutboxOptions.PollIntervalMs"/>
    /// when nothing is due. Returns when <paramref name="ct"/> is cancelled, after the messages in flight finish.
    /// </summary>
    public async Task RunAsync(CancellationToken ct)
    {
        var inFlight = new List<Task>();
        while (!ct.IsCancellationRequested)
        {
            inFlight.RemoveAll(t => t.IsCompleted);
            var free = options.Value.MaxDegreeOfParallelism - inFlight.Count;
            var claimed = 0;
            if (free > 0)
            {
                try
                {
                    var messages = await ClaimAsync(ct, Math.Min(free, options.Value.BatchSize));
                    claimed = messages.Count;
                    var read = await ReadBatchAsync(messages, ct);
                    inFlight.AddRange(messages.Select(message => ProcessLoggedAsync(message, read, ct)));
                    if (claimed > 0)
                    {
                        logger.Log(messages.TrueForAll(m => Vapi.WarmUpTenant.Is(m.TenantId)) ? LogLevel.Debug : LogLevel.Information, "Outbox claimed {Count} messages", claimed);
                    }
                }
                catch (Exception) when (ct.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception e)
                {
                    logger.Log(ExpectedFailures.LevelOf(e), e, "Outbox claim failed"); // SQLite busy: the next poll claims
                }
            }
            if (claimed == 0 || claimed == free)
            {
                // Idle, or every slot busy: wake on the first finished message, after the poll interval, or on shutdown.
                await Task.WhenAny(inFlight.Append(Task.Delay(options.Value.PollIntervalMs, ct)));
            }
        }
        await Task.WhenAll(inFlight);
    }

    private async Task ProcessLoggedAsync(OutboxMessage claimed, BatchRead? read, CancellationToken ct)
    {
        var id = claimed.Id;
        try
        {
            await ProcessOneAsync(claimed, read, ct);
        }
        catch (Exception e) when (ct.IsCancellationRequested)
        {
            // Shutting down (whatever the cancelled call threw): the row keeps its lease and is claimed again when it expires.
            logger.LogDebug(e, "Outbox message {OutboxId} interrupted by shutdown", id);
        }
        catch (Exception e)
        {
            logger.Log(ExpectedFailures.LevelOf(e), e, "Outbox message {OutboxId} failed to process", id); // retried when its lease expires
        }
    }

    /// <summary>
    /// Once per processor, before its first claim: rows still leased by an earlier incarnation of this node (a crash,
    /// a kill, a host disposed mid-send) are released, so an alert in flight at the crash goes out now rather than
    /// after the lease. A lease is this node's when <c>LockedBy</c> starts with <c>{NodeId}|</c>; it belongs to an
    /// earlier incarnation when its boot id differs and its process is this one (an earlier host) or no longer runs.
    /// Leases of other nodes, and of other live processes on this machine, are left to expire.
    /// </summary>
    /// <returns>How many leases were released.</returns>
    public async Task<int> RecoverOwnLeasesAsync(CancellationToken ct)
    {
        if (Interlocked.Exchange(ref recovered, 1) == 1)
        {
            return 0;
        }
        await using var scope = CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>();
        var prefix = nodeName + "|";
        var held = await db.Outbox.IgnoreQueryFilters().AsNoTracking()
            .Where(m => m.Status == OutboxStatus.Pending && m.LockedBy != null && m.LockedBy.StartsWith(prefix) && m.LockedBy != node)
            .Select(m => new { m.Id, m.LockedBy })
            .ToListAsync(ct);
        var stale = held.Where(h => IsEarlierIncarnation(h.LockedBy!)).Select(h => h.Id).ToList();
        var released = 0;
        foreach (var chunk in stale.Chunk(200))
        {
            using var turn = await scope.ServiceProvider.GetRequiredService<SqliteWriteGate>().EnterAsync(db, WritePriority.Low, ct);
            released += await db.Outbox.IgnoreQueryFilters()
                .Where(m => chunk.Contains(m.Id) && m.Status == OutboxStatus.Pending && m.LockedBy != null && m.LockedBy.StartsWith(prefix) && m.LockedBy != node)
                .ExecuteUpdateAsync(u => u.SetProperty(m => m.LockedBy, (string?)null).SetProperty(m => m.LockedUntil, (DateTimeOffset?)null), ct);
        }
        if (released > 0)
        {
            logger.LogInformation("Outbox released {Count} leases held by an earlier run of node {Node}", released, nodeName);
        }
        return released;
    }

    private static bool IsEarlierIncarnation(string lockedBy)
    {
        var parts = lockedBy.Split('|');
        if (parts.Length != 3 || !int.TryParse(parts[1], System.Globalization.CultureInfo.InvariantCulture, out var pid))
        {
            return false;
        }
        return Platform.Cluster.NodeIdentity.IsEarlierIncarnation(pid);
    }

    /// <summary>
    /// Kinds claimed ahead of everything else due: the SMS alerts (an emergency must reach the on-call phone first; a webhook
    /// delivery can wait a few seconds). Served by the index (Status, Kind, NextAttemptAt) of migration 0029.
    /// </summary>
    internal static readonly string[] AlertKinds = [Alerts.SmsSendHandler.Kind];

    private static readonly bool[] ClaimPasses = [true, false]; // alerts only, then everything due

    private static readonly string AlertKindsSql = $" AND \"Kind\" IN ({string.Join(", ", AlertKinds.Select(k => $"'{k}'"))})";

    /// <summary>
    /// Leases up to <paramref name="limit"/> (default <see cref="OutboxOptions.BatchSize"/>) due rows to this node and returns
    /// them as they stand once leased (untracked): the UPDATE returns the whole row, so processing it needs no second read.
    /// </summary>
    private async Task<List<OutboxMessage>> ClaimAsync(CancellationToken ct, int? limit = null)
    {
        if (Volatile.Read(ref recovered) == 0)
        {
            await RecoverOwnLeasesAsync(ct);
        }
        await using var scope = CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>();
        var now = clock.GetUtcNow();
        var until = now.AddSeconds(options.Value.LeaseSeconds);
        var pg = database.Value.IsPostgres;
        var max = limit ?? options.Value.BatchSize;
        // Two passes: the alert kinds first (an emergency text never queues behind a backlog of webhook deliveries), then
        // whatever is due, oldest first. Each pass is one UPDATE … RETURNING on the index (Status, Kind, NextAttemptAt) or
        // (Status, NextAttemptAt); rows claimed by the first are leased, so the second skips them. RETURNING * hands back the
        // leased rows themselves (issue 13: each message then re-read its row by key, one statement per message).
        string Sql(bool alerts) =>
            $"""
             UPDATE outbox SET "LockedBy" = @node, "LockedUntil" = @until
             WHERE "Id" IN (SELECT "Id" FROM outbox
                            WHERE "Status" = 'pending'{(alerts ? AlertKindsSql : "")} AND "NextAttemptAt" <= @now AND ("LockedUntil" IS NULL OR "LockedUntil" < @now)
                            ORDER BY "NextAttemptAt" LIMIT @limit{(pg ? " FOR UPDATE SKIP LOCKED" : "")})
             RETURNING *
             """;

        async Task<List<OutboxMessage>> ClaimOnAsync()
        {
            var claimed = new List<OutboxMessage>();
            foreach (var alerts in ClaimPasses)
            {
                if (claimed.Count >= max)
                {
                    break;
                }
                // Not composed (no filter, no tracking): EF runs the UPDATE as written and materialises the rows it returns.
                claimed.AddRange(await db.Outbox.FromSqlRaw(Sql(alerts),
                        Parameter(pg, "@node", node), Parameter(pg, "@until", pg ? until : until.UtcTicks),
                        Parameter(pg, "@now", pg ? now : now.UtcTicks), Parameter(pg, "@limit", max - claimed.Count))
                    .IgnoreQueryFilters().AsNoTracking().ToListAsync(ct));
            }
            return claimed;
        }

        if (!pg)
        {
            // SQLite: the claim is one more unit of the group commit at low priority, in the same transaction (and fsync) as
            // the webhooks and outbox results written with it; the rows come back once that transaction has committed.
            return await groupCommit.RunAsync(db, WritePriority.Low, ClaimOnAsync, ct);
        }
        // PostgreSQL: SKIP LOCKED, no wait.
        await db.Database.OpenConnectionAsync(ct);
        try
        {
            return await ClaimOnAsync();
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    /// <summary>
    /// How long after it was read a batch read (<see cref="IOutboxBatchReader"/>) is handed to a handler: the worker starts a
    /// claimed batch at once, so this only drops the reads of messages that waited for a slot (<see cref="ProcessDueAsync"/>
    /// with more messages than <see cref="OutboxOptions.MaxDegreeOfParallelism"/>); those read for themselves, as before.
    /// </summary>
    internal static readonly TimeSpan BatchReadMaxAge = TimeSpan.FromSeconds(1);

    /// <summary>What the batch readers returned for a claimed batch, by message id, and when the read started (<see cref="TimeProvider.GetTimestamp"/>).</summary>
    private sealed record BatchRead(Dictionary<Guid, object> Values, long ReadAt);

    /// <summary>
    /// For each kind with two or more messages in <paramref name="claimed"/> and a batch reader, reads for them in one go (issue 13:
    /// one query per webhook delivery was about 2 % of the server's samples under <c>bench ingest</c>). Null when nothing was
    /// read. A failed read is logged and skipped: the handlers read for themselves.
    /// </summary>
    private async Task<BatchRead?> ReadBatchAsync(List<OutboxMessage> claimed, CancellationToken ct)
    {
        if (claimed.Count < 2)
        {
            return null;
        }
        var readAt = clock.GetTimestamp();
        Dictionary<Guid, object>? values = null;
        await using var scope = CreateScope();
        foreach (var kind in claimed.GroupBy(m => m.Kind))
        {
            var messages = kind.ToList();
            if (messages.Count < 2 || scope.ServiceProvider.GetKeyedService<IOutboxBatchReader>(kind.Key) is not { } reader)
            {
                continue;
            }
            try
            {
                foreach (var (id, value) in await reader.ReadAsync(messages, ct))
                {
                    (values ??= [])[id] = value;
                }
            }
            catch (Exception e) when (!ct.IsCancellationRequested)
            {
                logger.Log(ExpectedFailures.LevelOf(e), e, "Outbox batch read of {Kind} failed", kind.Key);
            }
        }
        return values is null ? null : new BatchRead(values, readAt);
    }

    /// <summary>
    /// A DI scope of the worker's: its <see cref="SwitchboardDbContext"/> connects through the outbox's own PostgreSQL pool
    /// (<see cref="DatabaseExtensions.ConnectionPoolChoice"/>), so deliveries keep their connections while the webhook path
    /// holds every one of the main pool's, and the other way round (issue 13).
    /// </summary>
    private AsyncServiceScope CreateScope()
    {
        var scope = scopes.CreateAsyncScope();
        scope.ServiceProvider.GetRequiredService<DatabaseExtensions.ConnectionPoolChoice>().Outbox = true;
        return scope;
    }

    /// <summary>
    /// Saves a message's result with whatever its handler staged. SQLite: as a low-priority unit of the group commit, so
    /// outbox results share the webhooks' transactions and fsyncs instead of each taking the single writer for a commit of
    /// its own (issue 13: at a few hundred deliveries a second those commits starved ingestion, and vice versa). PostgreSQL:
    /// in one round trip, without EF's BEGIN/COMMIT (<see cref="SwitchboardDbContext.SaveInOneRoundTripAsync"/>; a result whose
    /// rows were deleted meanwhile, a tenant's or an endpoint's, needs no rollback).
    /// </summary>
    /// <remarks>
    /// A row the handler changed may have been deleted while it ran (a webhook endpoint deleted with its deliveries while one
    /// was being sent): the save throws <see cref="DbUpdateConcurrencyException"/>, on SQLite with the unit rolled back to its
    /// savepoint, on PostgreSQL with the one round trip's other statements committed; or, where the handler inserted a row
    /// that names the deleted one (the send's attempt, whose foreign key to its delivery is migration 0040's), a
    /// <see cref="ForeignKeyViolation"/>, with the whole unit or round trip rolled back. What the handler staged then belongs to
    /// deleted data: it is dropped and the message's own result saved alone (again, on PostgreSQL: the same values), so the
    /// message is settled now, not retried when its lease expires with an error logged each time (outside probe, 2026-12-07).
    /// A message whose own row is gone (its tenant erased) has nothing left to save.
    /// </remarks>
    private async Task SaveResultAsync(SwitchboardDbContext db, OutboxMessage message, CancellationToken ct)
    {
        try
        {
            await SaveAsync();
        }
        catch (DbUpdateException e) when (e is DbUpdateConcurrencyException || ForeignKeyViolation.Is(e))
        {
            if (e is DbUpdateConcurrencyException && e.Entries.Any(x => x.Entity == message))
            {
                logger.LogInformation("Outbox message {OutboxId} was deleted while it ran; nothing to save", message.Id);
                return;
            }
            logger.LogInformation("Outbox message {OutboxId}: rows its handler changed were deleted while it ran; only its result is saved", message.Id);
            DropHandlerChanges(db, message);
            await SaveAsync();
        }

        Task SaveAsync() => database.Value.IsPostgres
            ? db.SaveInOneRoundTripAsync(acceptAllChangesOnSuccess: true, ct)
            : groupCommit.RunAsync(db, WritePriority.Low, () => db.SaveChangesAsync(ct), ct);
    }

    /// <summary>Undoes whatever the handler staged on <paramref name="db"/>, tracked or queued with InsertOnSave, keeping <paramref name="message"/>'s own changes.</summary>
    private static void DropHandlerChanges(SwitchboardDbContext db, OutboxMessage message)
    {
        foreach (var entry in db.ChangeTracker.Entries().Where(x => x.Entity != message).ToList())
        {
            entry.State = entry.State == EntityState.Added ? EntityState.Detached : EntityState.Unchanged;
        }
        db.DropInsertsOnSave();
    }

    /// <summary>
    /// Runs <paramref name="claimed"/> (a row as <see cref="ClaimAsync"/> leased it) and saves its result. While the lease
    /// has time left the row is this node's (another claim needs it expired), so the claimed row is used as it stands;
    /// once the lease has run out (a message that waited its turn in a long batch) the row is read again, and left alone
    /// unless it is still pending and leased to this node. <paramref name="read"/>'s value for the message, if any and no older
    /// than <see cref="BatchReadMaxAge"/>, goes to the handler through the scope's <see cref="OutboxBatchRead"/>, unless the row was read again.
    /// </summary>
    private async Task ProcessOneAsync(OutboxMessage claimed, BatchRead? read, CancellationToken ct)
    {
        await using var scope = CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>();
        // SQLite: the handler's own saves wait for a writer turn at low priority, so outbox bookkeeping queues behind webhook
        // deliveries instead of colliding with them; the message's result joins the group commit (SaveResultAsync).
        scope.ServiceProvider.GetRequiredService<SqliteWriteGate>().GateSavesOf(db, WritePriority.Low);
        OutboxMessage? message;
        if (claimed.LockedBy == node && claimed.LockedUntil > clock.GetUtcNow())
        {
            message = claimed;
            db.Outbox.Attach(message);
            if (read is not null && read.Values.TryGetValue(message.Id, out var value) && clock.GetElapsedTime(read.ReadAt) < BatchReadMaxAge)
            {
                scope.ServiceProvider.GetRequiredService<OutboxBatchRead>().Set(value);
            }
        }
        else
        {
            message = await db.Outbox.IgnoreQueryFilters().FirstOrDefaultAsync(m => m.Id == claimed.Id, ct);
        }
        if (message is null || message.Status != OutboxStatus.Pending || message.LockedBy != node)
        {
            return;
        }
        scope.ServiceProvider.GetRequiredService<CurrentTenant>().Set(message.TenantId);
        var warmUp = Vapi.WarmUpTenant.Is(message.TenantId);
        if (warmUp)
        {
            SwitchboardMetrics.Muted.Value = true; // the start-up warm-up's live calls (Vapi.VapiWarmup) are not counted
        }
        // Only the message's own handler is built (AddOutboxHandler registers each under its kind). The warm-up's tenant runs
        // only its SMS (simulated: no Twilio credentials) and webhook deliveries (to a discard port); anything else its calls
        // queued (post-call work, provider syncs, meter events) could reach a real provider, so it is done without running.
        var handler = warmUp && message.Kind is not (Alerts.SmsSendHandler.Kind or Webhooks.WebhookDeliveryHandler.Kind)
            ? null
            : scope.ServiceProvider.GetKeyedService<IOutboxHandler>(message.Kind);
        using var logScope = logger.BeginScope("Tenant {TenantId} outbox {OutboxId} {Kind}", message.TenantId, message.Id, message.Kind);
        // The handler's span continues the trace of whatever enqueued the row (its stored traceparent); the HTTP calls
        // it makes (Twilio, Vapi, the tenant's webhook) are its children and carry the same trace id onward.
        using var span = SwitchboardTracing.StartOutboxSpan(message.Kind, message.TraceParent, message.Id, message.Attempts + 1);

        OutboxResult result;
        if (handler is null && warmUp)
        {
            result = OutboxResult.Done;
        }
        else if (handler is null)
        {
            result = OutboxResult.Dead($"No handler for kind '{message.Kind}'.");
        }
        else
        {
            try
            {
                result = await handler.HandleAsync(message, ct);
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                logger.LogWarning(e, "Outbox handler failed");
                result = OutboxResult.Retry($"{e.GetType().Name}: {e.Message}");
                // Roll back whatever the handler staged, tracked or queued with InsertOnSave (the rows of a webhook event it
                // published); only the message's own bookkeeping is saved.
                DropHandlerChanges(db, message);
            }
        }

        var now = clock.GetUtcNow();
        if (result.Kind == OutboxResultKind.Deferred)
        {
            metrics.Deferred(message.Kind);
            message.LockedBy = null;
            message.LockedUntil = null;
            message.NextAttemptAt = now + (result.RetryAfter ?? TimeSpan.FromSeconds(1));
            await SaveResultAsync(db, message, ct);
            return;
        }
        message.Attempts++;
        message.LockedBy = null;
        message.LockedUntil = null;
        message.LastError = result.Error is { Length: > 2000 } tooLong ? tooLong[..2000] : result.Error;
        switch (result.Kind)
        {
            case OutboxResultKind.Done:
                message.Status = OutboxStatus.Done;
                message.CompletedAt = now;
                break;
            case OutboxResultKind.Dead:
                message.Status = OutboxStatus.Dead;
                message.CompletedAt = now;
                metrics.DeadLettered(message.Kind);
                span?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, message.LastError);
                logger.LogWarning("Outbox message dead-lettered: {Error}", message.LastError);
                break;
            default:
                if (message.Attempts >= options.Value.MaxAttempts)
                {
                    message.Status = OutboxStatus.Dead;
                    message.CompletedAt = now;
                    metrics.DeadLettered(message.Kind);
                    span?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, message.LastError);
                    logger.LogWarning("Outbox message dead-lettered after {Attempts} attempts: {Error}", message.Attempts, message.LastError);
                    if (handler is IOutboxDeadLetterAware aware)
                    {
                        await aware.OnDeadLetterAsync(message, ct);
                    }
                }
                else
                {
                    message.NextAttemptAt = now + (result.RetryAfter ?? Backoff(message.Attempts));
                    span?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, message.LastError);
                }
                break;
        }
        await SaveResultAsync(db, message, ct);
    }

    /// <summary>5 s × 2^(attempt−1), capped at 30 min, with ±20 % jitter.</summary>
    internal static TimeSpan Backoff(int attempt)
    {
        var seconds = Math.Min(1800, 5 * Math.Pow(2, Math.Max(0, attempt - 1)));
        var jitter = 0.8 + (Random.Shared.NextDouble() * 0.4);
        return TimeSpan.FromSeconds(seconds * jitter);
    }

    private static DbParameter Parameter(bool pg, string name, object value) =>
        pg ? new Npgsql.NpgsqlParameter(name, value) : new Microsoft.Data.Sqlite.SqliteParameter(name, value);
}

/// <summary>A handler that updates its own records when its message becomes a dead letter.</summary>
internal interface IOutboxDeadLetterAware
{
    Task OnDeadLetterAsync(OutboxMessage message, CancellationToken ct);
}

/// <summary>Runs <see cref="OutboxProcessor.RunAsync"/> on every node (unless <see cref="OutboxOptions.WorkerEnabled"/> is off).</summary>
internal sealed class OutboxWorker(OutboxProcessor processor, IOptions<OutboxOptions> options) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        options.Value.WorkerEnabled ? processor.RunAsync(stoppingToken) : Task.CompletedTask;
}
