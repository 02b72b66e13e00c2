using System.Collections.Concurrent;
using System.Data.Common;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Storage;
using Switchboard.Calls;
using Switchboard.Dashboard;

namespace Switchboard.Platform.Database;

/// <summary>
/// Rows a unit of work only inserts (a Vapi message's raw event, a conversation snapshot's or end-of-call report's
/// transcript) written as multi-row INSERTs rather than as tracked entities with one INSERT each (issue 13: EF's change
/// tracking and update pipeline were about a quarter of the server's CPU under the ingest bench, and the report's 15 turns
/// were 15 of its 35 statements).
/// </summary>
internal sealed partial class SwitchboardDbContext
{
    /// <summary>Most rows per multi-row INSERT (also bounds the statement texts kept by <see cref="SqliteStatementCache"/>).</summary>
    internal const int RowsPerInsert = 32;

    /// <summary>Most parameters per multi-row INSERT (SQLite allows 32 766, PostgreSQL 65 535).</summary>
    private const int ParametersPerInsert = 900;

    private static readonly ConcurrentDictionary<(string Provider, Type Entity, int Rows), string> InsertSqlCache = new();

    private List<object>? pendingInserts;

    /// <summary>
    /// Inserts <paramref name="entity"/> with the next <c>SaveChangesAsync</c>, after its tracked changes (so after the insert
    /// of a call added in the same unit of work) and in the same transaction, in the order queued, consecutive rows of one
    /// type in one statement. The entity is not tracked: nothing reads it back in the unit, no interceptor sees it (a
    /// <see cref="TranscriptTurn"/> not skipped with <see cref="LiveEventBatch.Skip"/> is still announced as
    /// <c>transcript.turn</c>, and a non-finite <see cref="double"/> is still written as null). On PostgreSQL, and outside a
    /// transaction and a <see cref="SqliteGroupCommit"/> unit, the entities are tracked and saved as usual instead: in EF's
    /// batched round trip, and as one atomic save.
    /// </summary>
    internal void InsertOnSave(object entity) => (pendingInserts ??= []).Add(entity);

    /// <summary>Queues <paramref name="turns"/> as <see cref="InsertOnSave(object)"/> does.</summary>
    internal void InsertOnSave(IEnumerable<TranscriptTurn> turns) => (pendingInserts ??= []).AddRange(turns);

    /// <summary>Forgets the turns of <paramref name="callId"/> queued by <see cref="InsertOnSave(IEnumerable{TranscriptTurn})"/> and not yet saved.</summary>
    internal void DropTurnsOnSave(Guid callId) => pendingInserts?.RemoveAll(e => e is TranscriptTurn t && t.CallId == callId);

    /// <summary>Takes the queued inserts for this save; null when none, or when they were handed to the change tracker.</summary>
    private List<object>? TakeInsertsOnSave()
    {
        var inserts = pendingInserts;
        pendingInserts = null;
        if (inserts is not { Count: > 0 })
        {
            return null;
        }
        // PostgreSQL: EF sends a save's statements in one batched round trip, and the rows go with them; a statement of
        // their own would be one more round trip per message (VapiStatementTests: 3 → 4 commands for an assistant-request, 8 → 10 for an
        // end-of-call report).
        // SQLite runs one statement at a time either way, so there the multi-row INSERT saves statements and EF's pipeline.
        if (Database.CurrentTransaction is null && !InGroupCommit || !Database.IsSqlite())
        {
            AddRange(inserts);
            return null;
        }
        return inserts;
    }

    /// <summary>
    /// Runs the multi-row INSERTs of <paramref name="entities"/>; returns the rows written. A failure (a unique key taken by a
    /// concurrent unit of work) is a <see cref="DbUpdateException"/>, as EF's own save reports it, so callers replay the unit.
    /// </summary>
    private async Task<int> InsertAsync(List<object> entities, CancellationToken ct)
    {
        await using var factory = Database.GetDbConnection().CreateCommand(); // makes the provider's parameters; never run
        var written = 0;
        try
        {
            for (var start = 0; start < entities.Count;)
            {
                var type = entities[start].GetType();
                var entityType = Model.FindEntityType(type) ?? throw new InvalidOperationException($"{type.Name} is not an entity type.");
                var table = StoreObjectIdentifier.Table(entityType.GetTableName()!, entityType.GetSchema());
                var columns = entityType.GetProperties().Where(p => p.GetColumnName(table) is not null).ToArray();
                var max = Math.Min(RowsPerInsert, ParametersPerInsert / columns.Length);
                var rows = 1;
                while (rows < max && start + rows < entities.Count && entities[start + rows].GetType() == type)
                {
                    rows++;
                }
                var parameters = new DbParameter[rows * columns.Length];
                var i = 0;
                for (var r = start; r < start + rows; r++)
                {
                    foreach (var column in columns)
                    {
                        var value = column.GetGetter().GetClrValueUsingContainingEntity(entities[r]);
                        if (NonFiniteGuardInterceptor.TryReplace(column, value, out var replacement))
                        {
                            value = replacement;
                        }
                        parameters[i] = column.GetRelationalTypeMapping().CreateParameter(factory, $"p{i}", value, column.IsNullable);
                        i++;
                    }
                }
                written += await Database.ExecuteSqlRawAsync(InsertSql(type, table, columns, rows), parameters, ct);
                start += rows;
            }
        }
        catch (DbException e)
        {
            throw new DbUpdateException("A multi-row insert failed.", e);
        }
        foreach (var entity in entities)
        {
            if (entity is TranscriptTurn turn && !LiveEvents.IsSkipped(turn.Id))
            {
                LiveEvents.Add(LiveEventData.Draft(turn.TenantId, LiveEventTypes.TranscriptTurn, LiveEventData.Turn(turn), turn.CallId));
            }
        }
        return written;
    }

    /// <summary><c>INSERT INTO t (c…) VALUES (@p0, …), (…)</c> for <paramref name="rows"/> rows, built once per provider, type and size.</summary>
    private string InsertSql(Type type, StoreObjectIdentifier table, IProperty[] columns, int rows) =>
        InsertSqlCache.GetOrAdd((Database.ProviderName ?? "", type, rows), key =>
        {
            var sql = this.GetService<ISqlGenerationHelper>();
            var text = new StringBuilder("INSERT INTO ").Append(sql.DelimitIdentifier(table.Name, table.Schema)).Append(" (")
                .AppendJoin(", ", columns.Select(c => sql.DelimitIdentifier(c.GetColumnName(table)!))).Append(") VALUES ");
            var p = 0;
            for (var r = 0; r < key.Rows; r++)
            {
                text.Append(r == 0 ? "(" : ", (");
                for (var c = 0; c < columns.Length; c++, p++)
                {
                    text.Append(c == 0 ? "@p" : ", @p").Append(p);
                }
                text.Append(')');
            }
            return text.ToString();
        });
}
