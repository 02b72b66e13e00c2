using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ChangeTracking;
using Microsoft.EntityFrameworkCore.Storage;
using Switchboard.Calls;

namespace Switchboard.Platform.Database;

/// <summary>
/// Writes a unit of work holds back until its <c>SaveChanges</c>, so the unit can be prepared (read, decided, tracked)
/// outside SQLite's single writer and written inside it (issue 13: "decide outside the lock, write inside").
/// </summary>
internal sealed partial class SwitchboardDbContext
{
    private List<Func<CancellationToken, Task>>? deferredWrites;

    /// <summary>
    /// Runs <paramref name="write"/> (a bulk statement such as <c>ExecuteDelete</c>) at the start of the next
    /// <c>SaveChangesAsync</c>, in that save's transaction, before the tracked changes; writes run in the order deferred.
    /// A synchronous <c>SaveChanges</c> with deferred writes pending throws <see cref="InvalidOperationException"/>.
    /// </summary>
    internal void DeferWrite(Func<CancellationToken, Task> write) => (deferredWrites ??= []).Add(write);

    /// <summary>
    /// Moves on each <see cref="ResetUnitOfWork"/>: services that remember what a unit of work read (the webhook publisher's
    /// lookups) compare it with the value they read under, and forget it when a unit is replayed on fresh state.
    /// </summary>
    internal int UnitOfWork { get; private set; }

    /// <summary>Forgets everything this unit of work prepared: tracked entities, deferred writes, queued inserts and pending live events.</summary>
    internal void ResetUnitOfWork()
    {
        UnitOfWork++;
        ChangeTracker.Clear();
        deferredWrites = null;
        pendingInserts = null;
        LiveEvents.Clear();
    }

    /// <summary>
    /// Runs the deferred writes, then saves, then runs the inserts queued by <see cref="InsertOnSave(object)"/>. Changes are detected once, here: the save interceptors (live events, the
    /// tenant-config cache, the non-finite guard, the audit log) each walk <c>ChangeTracker.Entries()</c>, which would
    /// otherwise detect changes again every time (six passes over every tracked entity per save). Interceptors that change
    /// a value do it through the entry (<c>PropertyEntry.CurrentValue</c>), which marks it modified without detection.
    /// </summary>
    public override async Task<int> SaveChangesAsync(bool acceptAllChangesOnSuccess, CancellationToken cancellationToken = default)
    {
        if (deferredWrites is { } writes)
        {
            deferredWrites = null;
            foreach (var write in writes)
            {
                await write(cancellationToken);
            }
        }
        var inserts = TakeInsertsOnSave();
        int saved;
        if (ChangeTracker.AutoDetectChangesEnabled)
        {
            ChangeTracker.DetectChanges();
        }
        using (new DetectionOff(ChangeTracker))
        {
            saved = await base.SaveChangesAsync(acceptAllChangesOnSuccess, cancellationToken);
        }
        return inserts is null ? saved : saved + await InsertAsync(inserts, cancellationToken);
    }

    /// <summary>
    /// Most changed entities <see cref="SaveInOneRoundTripAsync"/> sends without a transaction of its own: far below the
    /// 1,000 statements at which EF's PostgreSQL provider starts a second batch (NpgsqlModificationCommandBatchFactory's
    /// default MaxBatchSize), which would no longer share the first one's implicit transaction. A Vapi end-of-call report
    /// changes about 40.
    /// </summary>
    internal const int OneRoundTripMaxEntries = 200;

    /// <summary>
    /// Saves this unit of work (as <see cref="SaveChangesAsync(bool, CancellationToken)"/>) on PostgreSQL in one round trip, without BEGIN and COMMIT: EF sends a save's statements as one batch, Npgsql
    /// ends a batch with a single Sync, and PostgreSQL runs the messages up to a Sync outside an explicit transaction as one
    /// implicit transaction (postgresql.org/docs/current/protocol-flow.html, "Extended Query"; Npgsql's batching docs): every
    /// statement commits, or an error raised by any of them rolls all of them back. EF's own transaction costs one more round
    /// trip, the COMMIT (EF Core issue 27532 measured it on PostgreSQL: 187 µs without, 355 µs with); in bench ingest that was
    /// 0.97 of the 9.5 statements per message, and pg_stat_statements counts 0.13 with this.
    /// <para>
    /// One difference remains, and callers accept it: EF checks that each UPDATE and DELETE matched its row after the batch
    /// has run, so a row another writer deleted since it was read still throws <see cref="DbUpdateConcurrencyException"/>, but
    /// the batch's other statements are committed by then (in EF's transaction they would be rolled back). The webhook path
    /// replays such a unit (its event is then a duplicate), and an outbox result whose rows were deleted belongs to deleted data.
    /// </para>
    /// Falls back to a save in a transaction of its own (BEGIN with the batch, then COMMIT) when deferred writes are pending
    /// (statements of their own), when more than <see cref="OneRoundTripMaxEntries"/> entities changed, inside a transaction
    /// (the caller's), and on SQLite. Returns the rows written.
    /// </summary>
    internal async Task<int> SaveInOneRoundTripAsync(bool acceptAllChangesOnSuccess, CancellationToken ct)
    {
        if (IsSqlite || Database.CurrentTransaction is not null || InGroupCommit)
        {
            return await SaveChangesAsync(acceptAllChangesOnSuccess, ct);
        }
        if (deferredWrites is not null || ChangedEntries() + (pendingInserts?.Count ?? 0) > OneRoundTripMaxEntries)
        {
            await using var tx = await Database.BeginTransactionAsync(ct);
            var written = await SaveChangesAsync(acceptAllChangesOnSuccess, ct);
            await tx.CommitAsync(ct);
            return written;
        }
        var behavior = Database.AutoTransactionBehavior;
        Database.AutoTransactionBehavior = AutoTransactionBehavior.Never;
        try
        {
            return await SaveChangesAsync(acceptAllChangesOnSuccess, ct);
        }
        finally
        {
            Database.AutoTransactionBehavior = behavior;
        }
    }

    /// <summary>Tracked entities to insert, update or delete; does not detect changes (the save does, once).</summary>
    private int ChangedEntries()
    {
        using var _ = new DetectionOff(ChangeTracker);
        var changed = 0;
        foreach (var entry in ChangeTracker.Entries())
        {
            if (entry.State is not (EntityState.Unchanged or EntityState.Detached))
            {
                changed++;
            }
        }
        return changed;
    }

    /// <summary>
    /// Turns <c>ChangeTracker.AutoDetectChangesEnabled</c> off until disposed, then restores what it was: reads of the change
    /// tracker that must not run a detection pass over every tracked entity first (a struct: no allocation per use).
    /// </summary>
    private readonly struct DetectionOff : IDisposable
    {
        private readonly ChangeTracker tracker;
        private readonly bool was;

        public DetectionOff(ChangeTracker tracker)
        {
            this.tracker = tracker;
            was = tracker.AutoDetectChangesEnabled;
            tracker.AutoDetectChangesEnabled = false;
        }

        public void Dispose() => tracker.AutoDetectChangesEnabled = was;
    }

    /// <summary>As <see cref="SaveChangesAsync(bool, CancellationToken)"/>; throws <see cref="InvalidOperationException"/> when deferred writes or queued inserts are pending.</summary>
    public override int SaveChanges(bool acceptAllChangesOnSuccess)
    {
        if (deferredWrites is not null || pendingInserts is { Count: > 0 })
        {
            throw new InvalidOperationException("Deferred writes are pending: save with SaveChangesAsync.");
        }
        if (ChangeTracker.AutoDetectChangesEnabled)
        {
            ChangeTracker.DetectChanges();
        }
        using var _ = new DetectionOff(ChangeTracker);
        return base.SaveChanges(acceptAllChangesOnSuccess);
    }

    /// <summary>
    /// The entities of type <typeparamref name="T"/> this context tracks and has not deleted: <c>DbSet.Local</c> without the
    /// change detection over every tracked entity that its getter runs first (issue 13: the webhook path's lookups of calls,
    /// turns, leads and events it already holds, several per message). Detection cannot change what is listed here: the model
    /// has no navigation properties, so it never finds an entity to add, and the lookups read the entities' current values.
    /// </summary>
    internal LocalView<T> Tracked<T>()
        where T : class
    {
        using var _ = new DetectionOff(ChangeTracker);
        return Set<T>().Local;
    }

    private static readonly Func<SwitchboardDbContext, Guid, Task<long?>> StoredCallVersion = EF.CompileAsyncQuery(
        (SwitchboardDbContext db, Guid id) => db.Calls.IgnoreQueryFilters().Where(c => c.Id == id).Select(c => (long?)c.Version).FirstOrDefault());

    /// <summary>
    /// The calls this unit of work read from the database and changes (tracked as modified), with the <see cref="Call.Version"/>
    /// each had when read. A call it only read (a message that records its event and nothing else) is not listed: writing
    /// that event cannot conflict with the call's other messages. Does not detect changes: a unit that changes a call moves
    /// its version, which marks it modified.
    /// </summary>
    internal List<(Guid Id, long Version)> CallVersionsRead()
    {
        using var _ = new DetectionOff(ChangeTracker);
        var read = new List<(Guid, long)>(1);
        foreach (var entry in ChangeTracker.Entries<Call>())
        {
            if (entry.State == EntityState.Modified)
            {
                read.Add((entry.Entity.Id, entry.Property<long>(nameof(Call.Version)).OriginalValue)); // by name: a lambda builds an expression tree per call
            }
        }
        return read;
    }

    /// <summary>
    /// True when every call in <paramref name="read"/> is still stored with the version read (one primary-key lookup per
    /// call, inside the caller's transaction); false when one was changed or deleted since.
    /// </summary>
    internal async Task<bool> CallVersionsUnchangedAsync(List<(Guid Id, long Version)> read)
    {
        foreach (var (id, version) in read)
        {
            if (await StoredCallVersionAsync(id) != version)
            {
                return false;
            }
        }
        return true;
    }

    private const string StoredCallVersionSql = """SELECT "Version" FROM calls WHERE "Id" = $id""";

    /// <summary>
    /// The stored <see cref="Call.Version"/> of call <paramref name="id"/>; null when no such call. On a SQLite connection with a
    /// statement cache (the group commit's, where every webhook unit checks its call inside the writer's turn) through a
    /// prepared statement of its own: the compiled EF query spent most of its time outside SQLite (issue 13: it binds a new
    /// shaper delegate at every execution, ~1.5 % of the server's CPU in the closed loop). Elsewhere the compiled query.
    /// </summary>
    private async Task<long?> StoredCallVersionAsync(Guid id)
    {
        if (Database.GetDbConnection() is Microsoft.Data.Sqlite.SqliteConnection connection
            && SqliteStatementCache.CommandFor(connection, StoredCallVersionSql) is { } command)
        {
            command.Transaction = (Microsoft.Data.Sqlite.SqliteTransaction?)Database.CurrentTransaction?.GetDbTransaction();
            // EF stores a Guid in SQLite as TEXT, upper case (its SqliteGuidTypeMapping binds it with SqliteType.Text).
            command.Parameters.Add(new Microsoft.Data.Sqlite.SqliteParameter("$id", Microsoft.Data.Sqlite.SqliteType.Text) { Value = id });
            return await command.ExecuteScalarAsync() is long version ? version : null;
        }
        return await StoredCallVersion(this, id);
    }
}
