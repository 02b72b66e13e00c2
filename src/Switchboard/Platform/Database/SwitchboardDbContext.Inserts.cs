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
                var (table, columns) = ColumnsOf(type);
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
                        parameters[i] = Parameter(factory, column, column.GetGetter().GetClrValueUsingContainingEntity(entities[r]), i);
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

    private static readonly ConcurrentDictionary<(string Provider, string SetCallProperties), string> EventOfCallSqlCache = new();

    /// <summary>
    /// Stores <paramref name="row"/> (a provider message's raw event) in one statement, outside the change tracker and any unit
    /// of work, as an event of the call stored under (<c>row.TenantId</c>, <c>row.Provider</c>, <paramref name="providerCallId"/>),
    /// and only while that call is as the caller requires: each of <paramref name="setCallProperties"/> (<see cref="Call"/>
    /// property names) is non-null on it, and its <see cref="Call.UpdatedAt"/> is later than <paramref name="updatedAfter"/>.
    /// <c>row.CallId</c> is not used: the call's own id is written. An event already stored with the same
    /// (<c>TenantId</c>, <c>IdempotencyKey</c>) is left alone (<c>ON CONFLICT … DO NOTHING</c>, SQLite ≥ 3.24 and PostgreSQL).
    /// <code>
    /// INSERT INTO call_events (Id, TenantId, CallId, …) SELECT @p0, @p1, c.Id, … FROM calls AS c
    /// WHERE c.TenantId = @t AND c.Provider = @p AND c.ProviderCallId = @id AND c.UpdatedAt &gt; @after [AND c.X IS NOT NULL …]
    /// ON CONFLICT (TenantId, IdempotencyKey) DO NOTHING
    /// </code>
    /// Values go through the same column mappings and number rule as <see cref="InsertOnSave(object)"/>'s rows. Runs on the
    /// context's connection: on SQLite within a <see cref="SqliteGroupCommit"/> unit (it writes), on PostgreSQL as one autocommit
    /// round trip. True when the row was inserted; false when not (no such call, a condition unmet, or a duplicate). Errors are
    /// the provider's <see cref="DbException"/>.
    /// </summary>
    internal async Task<bool> InsertEventOfCallAsync(CallEvent row, string providerCallId, IReadOnlyList<string> setCallProperties,
        DateTimeOffset updatedAfter, CancellationToken ct)
    {
        var (events, columns) = ColumnsOf(typeof(CallEvent));
        var callType = Model.FindEntityType(typeof(Call))!;
        IProperty CallProperty(string name) => callType.FindProperty(name) ?? throw new ArgumentException($"Call has no property {name}.", nameof(setCallProperties));
        var callId = Array.FindIndex(columns, c => c.Name == nameof(CallEvent.CallId));
        await using var factory = Database.GetDbConnection().CreateCommand(); // makes the provider's parameters; never run
        // @p0… the row's columns by position (none for CallId, taken from the call), then the call's tenant, provider, id and time.
        var parameters = new List<DbParameter>(columns.Length + 3);
        for (var c = 0; c < columns.Length; c++)
        {
            if (c != callId)
            {
                parameters.Add(Parameter(factory, columns[c], columns[c].GetGetter().GetClrValueUsingContainingEntity(row), c));
            }
        }
        parameters.Add(Parameter(factory, CallProperty(nameof(Call.TenantId)), row.TenantId, columns.Length));
        parameters.Add(Parameter(factory, CallProperty(nameof(Call.Provider)), row.Provider, columns.Length + 1));
        parameters.Add(Parameter(factory, CallProperty(nameof(Call.ProviderCallId)), providerCallId, columns.Length + 2));
        parameters.Add(Parameter(factory, CallProperty(nameof(Call.UpdatedAt)), updatedAfter, columns.Length + 3));

        var sql = EventOfCallSqlCache.GetOrAdd((Database.ProviderName ?? "", string.Join(',', setCallProperties)), _ =>
        {
            var helper = this.GetService<ISqlGenerationHelper>();
            var calls = StoreObjectIdentifier.Table(callType.GetTableName()!, callType.GetSchema());
            string CallColumn(string property) => "c." + helper.DelimitIdentifier(CallProperty(property).GetColumnName(calls)!);
            var key = Model.FindEntityType(typeof(CallEvent))!.GetIndexes()
                .Single(x => x.IsUnique && x.Properties.Any(p => p.Name == nameof(CallEvent.IdempotencyKey)));
            var text = new StringBuilder("INSERT INTO ").Append(helper.DelimitIdentifier(events.Name, events.Schema)).Append(" (")
                .AppendJoin(", ", columns.Select(c => helper.DelimitIdentifier(c.GetColumnName(events)!))).Append(") SELECT ")
                .AppendJoin(", ", columns.Select((_, c) => c == callId ? CallColumn(nameof(Call.Id)) : "@p" + c))
                .Append(" FROM ").Append(helper.DelimitIdentifier(calls.Name, calls.Schema)).Append(" AS c WHERE ")
                .Append(CallColumn(nameof(Call.TenantId))).Append(" = @p").Append(columns.Length)
                .Append(" AND ").Append(CallColumn(nameof(Call.Provider))).Append(" = @p").Append(columns.Length + 1)
                .Append(" AND ").Append(CallColumn(nameof(Call.ProviderCallId))).Append(" = @p").Append(columns.Length + 2)
                .Append(" AND ").Append(CallColumn(nameof(Call.UpdatedAt))).Append(" > @p").Append(columns.Length + 3);
            foreach (var property in setCallProperties)
            {
                text.Append(" AND ").Append(CallColumn(property)).Append(" IS NOT NULL");
            }
            // SQLite reads "ON CONFLICT" after a SELECT's FROM as a join constraint unless a WHERE comes first (sqlite.org/lang_upsert.html §2.2): there is one.
            return text.Append(" ON CONFLICT (").AppendJoin(", ", key.Properties.Select(p => helper.DelimitIdentifier(p.GetColumnName(events)!)))
                .Append(") DO NOTHING").ToString();
        });
        // Nothing to announce: the live feed carries no raw events (LiveEventsInterceptor), and this row is never tracked.
        return await Database.ExecuteSqlRawAsync(sql, parameters, ct) == 1;
    }

    /// <summary>The table of entity type <paramref name="type"/> and its mapped properties, in model order (the column order of every insert here).</summary>
    private (StoreObjectIdentifier Table, IProperty[] Columns) ColumnsOf(Type type)
    {
        var entityType = Model.FindEntityType(type) ?? throw new InvalidOperationException($"{type.Name} is not an entity type.");
        var table = StoreObjectIdentifier.Table(entityType.GetTableName()!, entityType.GetSchema());
        return (table, entityType.GetProperties().Where(p => p.GetColumnName(table) is not null).ToArray());
    }

    /// <summary>
    /// Parameter <c>@p{index}</c> holding <paramref name="value"/> as <paramref name="column"/> stores it (its type mapping and
    /// value converter: UTC ticks for times on SQLite), after the number rule of <see cref="NonFiniteGuardInterceptor.TryReplace"/>.
    /// <paramref name="factory"/> only makes the provider's parameter.
    /// </summary>
    private static DbParameter Parameter(DbCommand factory, IProperty column, object? value, int index)
    {
        if (NonFiniteGuardInterceptor.TryReplace(column, value, out var replacement))
        {
            value = replacement;
        }
        return column.GetRelationalTypeMapping().CreateParameter(factory, $"p{index}", value, column.IsNullable);
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
