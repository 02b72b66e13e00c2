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
/// A transcript written whole (a Vapi conversation snapshot or end-of-call report: 15 turns for a short call) as multi-row
/// INSERTs rather than one tracked entity and one INSERT each (issue 13: the report's turns were 15 of its 35 statements,
/// and each went through EF's change tracking and update pipeline).
/// </summary>
internal sealed partial class SwitchboardDbContext
{
    /// <summary>Rows per multi-row INSERT: at most 8 × 32 parameters, and at most 32 statement texts for the statement cache.</summary>
    internal const int TurnsPerInsert = 32;

    private static readonly ConcurrentDictionary<(string Provider, int Rows), string> TurnInsertSql = new();

    private List<TranscriptTurn>? pendingTurns;

    /// <summary>
    /// Inserts <paramref name="turns"/> with the next <c>SaveChangesAsync</c>, after its tracked changes (so after the insert
    /// of a call added in the same unit of work) and in the same transaction, <see cref="TurnsPerInsert"/> rows per statement.
    /// The turns are not tracked; each one not skipped (<see cref="LiveEventBatch.Skip"/>) is announced as
    /// <c>transcript.turn</c>, as a tracked one would be. Outside a transaction and a <see cref="SqliteGroupCommit"/> unit the
    /// turns are tracked and saved as usual instead, so a save stays one atomic write.
    /// </summary>
    internal void AddTurnsOnSave(IEnumerable<TranscriptTurn> turns) => (pendingTurns ??= []).AddRange(turns);

    /// <summary>Forgets the turns of <paramref name="callId"/> queued by <see cref="AddTurnsOnSave"/> and not yet saved.</summary>
    internal void DropTurnsOnSave(Guid callId) => pendingTurns?.RemoveAll(t => t.CallId == callId);

    /// <summary>Takes the queued turns for this save; null when none, or when they were handed to the change tracker.</summary>
    private List<TranscriptTurn>? TakeTurnsOnSave()
    {
        var turns = pendingTurns;
        pendingTurns = null;
        if (turns is not { Count: > 0 })
        {
            return null;
        }
        if (Database.CurrentTransaction is null && !InGroupCommit)
        {
            TranscriptTurns.AddRange(turns);
            return null;
        }
        return turns;
    }

    /// <summary>
    /// Runs the multi-row INSERTs of <paramref name="turns"/>; returns the rows written. A failure (a unique key taken by a
    /// concurrent unit of work) is a <see cref="DbUpdateException"/>, as EF's own save reports it, so callers replay the unit.
    /// </summary>
    private async Task<int> InsertTurnsAsync(List<TranscriptTurn> turns, CancellationToken ct)
    {
        var entityType = Model.FindEntityType(typeof(TranscriptTurn))!;
        var table = StoreObjectIdentifier.Table(entityType.GetTableName()!, entityType.GetSchema());
        var columns = entityType.GetProperties().Where(p => p.GetColumnName(table) is not null).ToArray();
        await using var factory = Database.GetDbConnection().CreateCommand(); // makes the provider's parameters; never run
        var written = 0;
        try
        {
            foreach (var chunk in turns.Chunk(TurnsPerInsert))
            {
                var parameters = new DbParameter[chunk.Length * columns.Length];
                var i = 0;
                foreach (var turn in chunk)
                {
                    foreach (var column in columns)
                    {
                        parameters[i] = column.GetRelationalTypeMapping().CreateParameter(factory, $"p{i}",
                            column.GetGetter().GetClrValueUsingContainingEntity(turn), column.IsNullable);
                        i++;
                    }
                }
                written += await Database.ExecuteSqlRawAsync(InsertSql(table, columns, chunk.Length), parameters, ct);
            }
        }
        catch (DbException e)
        {
            throw new DbUpdateException("Inserting the transcript turns failed.", e);
        }
        foreach (var turn in turns)
        {
            if (!LiveEvents.IsSkipped(turn.Id))
            {
                LiveEvents.Add(LiveEventData.Draft(turn.TenantId, LiveEventTypes.TranscriptTurn, LiveEventData.Turn(turn), turn.CallId));
            }
        }
        return written;
    }

    /// <summary><c>INSERT INTO t (c…) VALUES (@p0, …), (…)</c> for <paramref name="rows"/> rows, built once per provider and size.</summary>
    private string InsertSql(StoreObjectIdentifier table, IProperty[] columns, int rows) =>
        TurnInsertSql.GetOrAdd((Database.ProviderName ?? "", rows), key =>
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
