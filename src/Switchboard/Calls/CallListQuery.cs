using System.Data.Common;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Switchboard.Platform.Database;

namespace Switchboard.Calls;

/// <summary>
/// The call list's SQL, per provider: the filters of <see cref="CallFilter"/> as one WHERE clause over <c>calls c</c>,
/// ordered (CreatedAt DESC, Id DESC) so that keyset pages walk an index (migration 0007 gives every filter an index
/// (TenantId, filter, CreatedAt, Id)). Full-text search uses the SQLite FTS5 table <c>calls_search</c> or the
/// PostgreSQL GIN index on <c>calls_search_document(…)</c>. Tenant scoping is explicit (raw SQL bypasses EF's filters).
/// </summary>
internal sealed class CallListQuery(SwitchboardDbContext db)
{
    private readonly bool postgres = db.Database.IsNpgsql();

    /// <summary>One row of the list order: its key.</summary>
    public readonly record struct Key(Guid Id, DateTimeOffset CreatedAt);

    /// <summary>
    /// Up to <paramref name="take"/> keys after <paramref name="after"/> (keyset) or after skipping <paramref name="skip"/> rows,
    /// newest first.
    /// </summary>
    public async Task<List<Key>> KeysAsync(Guid tenantId, CallFilter filter, (DateTimeOffset CreatedAt, Guid Id)? after, int skip, int take, CancellationToken ct)
    {
        if (!postgres && skip == 0 && SearchText.Fts5(filter.Words, filter.NumberDigits) is { } match)
        {
            if (await WalkAsync(tenantId, filter, match, after, take, ct) is { } walked)
            {
                return walked;
            }
        }
        return await WithCommandAsync(async cmd =>
        {
            var sql = new StringBuilder("SELECT c.\"Id\", c.\"CreatedAt\" FROM calls c WHERE ");
            sql.Append(Where(cmd, tenantId, filter));
            if (after is { } a)
            {
                sql.Append(" AND (c.\"CreatedAt\", c.\"Id\") < (").Append(Param(cmd, Time(a.CreatedAt))).Append(", ").Append(Param(cmd, Id(a.Id))).Append(')');
            }
            sql.Append(" ORDER BY c.\"CreatedAt\" DESC, c.\"Id\" DESC LIMIT ").Append(Param(cmd, take));
            if (skip > 0)
            {
                sql.Append(" OFFSET ").Append(Param(cmd, skip));
            }
            cmd.CommandText = sql.ToString();
            var keys = new List<Key>(take);
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                keys.Add(new Key(reader.GetGuid(0), postgres ? reader.GetFieldValue<DateTimeOffset>(1) : new DateTimeOffset(reader.GetInt64(1), TimeSpan.Zero)));
            }
            return keys;
        }, ct);
    }

    /// <summary>Candidates probed per round of <see cref="WalkAsync"/>, and most rounds before falling back to sorting all matches.</summary>
    private const int WalkChunk = 400, WalkRounds = 25;

    /// <summary>
    /// SQLite search, tried first: walks the list order (with the other filters, on their index) in chunks and keeps the
    /// candidates the FTS5 index matches (<c>rowid IN (…)</c>: one doclist seek each), stopping at <paramref name="take"/>.
    /// Frequent terms finish in a round or two; null after <see cref="WalkRounds"/> rounds (rare terms), and the caller then
    /// takes every match from the FTS5 index and sorts them. (An estimate from fts5vocab was tried: its term-range scan
    /// read the whole vocabulary, seconds at 200,000 calls.)
    /// </summary>
    private Task<List<Key>?> WalkAsync(Guid tenantId, CallFilter filter, string match, (DateTimeOffset CreatedAt, Guid Id)? after, int take, CancellationToken ct) =>
        WithCommandAsync(async _ =>
        {
            var found = new List<Key>(take);
            var position = after;
            var withoutSearch = filter with { Q = null, Number = null, Words = [], NumberDigits = null };
            for (var round = 0; round < WalkRounds; round++)
            {
                var candidates = new List<(long RowId, Key Key)>(WalkChunk);
                await using (var cmd = db.Database.GetDbConnection().CreateCommand())
                {
                    var sql = new StringBuilder("SELECT c.rowid, c.\"Id\", c.\"CreatedAt\" FROM calls c WHERE ").Append(Where(cmd, tenantId, withoutSearch));
                    if (position is { } a)
                    {
                        sql.Append(" AND (c.\"CreatedAt\", c.\"Id\") < (").Append(Param(cmd, Time(a.CreatedAt))).Append(", ").Append(Param(cmd, Id(a.Id))).Append(')');
                    }
                    cmd.CommandText = sql.Append(" ORDER BY c.\"CreatedAt\" DESC, c.\"Id\" DESC LIMIT ").Append(WalkChunk).ToString();
                    await using var reader = await cmd.ExecuteReaderAsync(ct);
                    while (await reader.ReadAsync(ct))
                    {
                        candidates.Add((reader.GetInt64(0), new Key(reader.GetGuid(1), new DateTimeOffset(reader.GetInt64(2), TimeSpan.Zero))));
                    }
                }
                if (candidates.Count == 0)
                {
                    return found;
                }
                var matched = new HashSet<long>();
                await using (var cmd = db.Database.GetDbConnection().CreateCommand())
                {
                    cmd.CommandText = $"SELECT rowid FROM calls_search WHERE calls_search MATCH {Param(cmd, match)} AND rowid IN ({string.Join(',', candidates.Select(c => c.RowId))})";
                    await using var reader = await cmd.ExecuteReaderAsync(ct);
                    while (await reader.ReadAsync(ct))
                    {
                        matched.Add(reader.GetInt64(0));
                    }
                }
                foreach (var (rowId, key) in candidates)
                {
                    if (matched.Contains(rowId))
                    {
                        found.Add(key);
                        if (found.Count == take)
                        {
                            return found;
                        }
                    }
                }
                if (candidates.Count < WalkChunk)
                {
                    return found;
                }
                position = (candidates[^1].Key.CreatedAt, candidates[^1].Key.Id);
            }
            return null;
        }, ct);

    /// <summary>The number of calls matching <paramref name="filter"/> (page-number mode only: it reads every matching index entry).</summary>
    public Task<int> CountAsync(Guid tenantId, CallFilter filter, CancellationToken ct) =>
        WithCommandAsync(async cmd =>
        {
            cmd.CommandText = "SELECT COUNT(*) FROM calls c WHERE " + Where(cmd, tenantId, filter);
            return Convert.ToInt32(await cmd.ExecuteScalarAsync(ct), System.Globalization.CultureInfo.InvariantCulture);
        }, ct);

    /// <summary>
    /// Streams every matching call, newest first, as CSV-ready rows to <paramref name="row"/> (one database reader, no buffering).
    /// </summary>
    public Task ExportAsync(Guid tenantId, CallFilter filter, Func<ExportRow, Task> row, CancellationToken ct) =>
        WithCommandAsync(async cmd =>
        {
            cmd.CommandText = """
                SELECT c."Id", c."CreatedAt", c."StartedAt", c."EndedAt", c."DurationSeconds", c."Channel", c."Provider", c."Type", c."Status",
                       c."EndedReason", c."Urgency", c."CustomerNumber", c."BusinessNumber", c."Cost", c."AssistantId", c."Summary"
                FROM calls c WHERE
                """ + " " + Where(cmd, tenantId, filter) + " ORDER BY c.\"CreatedAt\" DESC, c.\"Id\" DESC";
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                await row(new ExportRow(reader.GetGuid(0), ReadTime(reader, 1)!.Value, ReadTime(reader, 2), ReadTime(reader, 3),
                    reader.IsDBNull(4) ? null : reader.GetDouble(4), reader.GetString(5), reader.GetString(6), Str(reader, 7), reader.GetString(8),
                    Str(reader, 9), Str(reader, 10), Str(reader, 11), Str(reader, 12), reader.IsDBNull(13) ? null : Convert.ToDecimal(reader.GetValue(13), System.Globalization.CultureInfo.InvariantCulture),
                    reader.IsDBNull(14) ? null : reader.GetGuid(14), Str(reader, 15)));
            }
            return 0;
        }, ct);

    /// <summary>A call as the CSV export writes it.</summary>
    public sealed record ExportRow(Guid Id, DateTimeOffset CreatedAt, DateTimeOffset? StartedAt, DateTimeOffset? EndedAt, double? DurationSeconds,
        string Channel, string Provider, string? Type, string Status, string? EndedReason, string? Urgency, string? CustomerNumber,
        string? BusinessNumber, decimal? Cost, Guid? AssistantId, string? Summary);

    private string Where(DbCommand cmd, Guid tenantId, CallFilter f)
    {
        var w = new List<string> { $"c.\"TenantId\" = {Param(cmd, Id(tenantId))}" };
        if (f.From is { } from)
        {
            w.Add($"c.\"CreatedAt\" >= {Param(cmd, Time(from))}");
        }
        if (f.To is { } to)
        {
            w.Add($"c.\"CreatedAt\" <= {Param(cmd, Time(to))}");
        }
        if (f.Status is { } status)
        {
            w.Add($"c.\"Status\" = {Param(cmd, status)}");
        }
        if (f.Urgency is { } urgency)
        {
            w.Add($"c.\"Urgency\" = {Param(cmd, urgency)}");
        }
        if (f.Channel is { } channel)
        {
            w.Add($"c.\"Channel\" = {Param(cmd, channel)}");
        }
        if (f.Direction is "outbound")
        {
            w.Add("c.\"Type\" = 'outboundPhoneCall'");
        }
        else if (f.Direction is "inbound")
        {
            w.Add("(c.\"Type\" IS NULL OR c.\"Type\" <> 'outboundPhoneCall')");
        }
        if (f.AssistantId is { } assistant)
        {
            w.Add($"c.\"AssistantId\" = {Param(cmd, Id(assistant))}");
        }
        if (f.HasRecording is { } has)
        {
            var recorded = "(c.\"RecordingUrl\" IS NOT NULL OR EXISTS (SELECT 1 FROM call_recordings r WHERE r.\"TenantId\" = c.\"TenantId\" AND r.\"CallId\" = c.\"Id\"))";
            w.Add(has ? recorded : "NOT " + recorded);
        }
        if (f.MinDuration is { } min)
        {
            w.Add($"c.\"DurationSeconds\" >= {Param(cmd, min)}");
        }
        if (f.MaxDuration is { } max)
        {
            w.Add($"c.\"DurationSeconds\" <= {Param(cmd, max)}");
        }
        if (f.EndedReason is { } reason)
        {
            w.Add($"c.\"EndedReason\" = {Param(cmd, reason)}");
        }
        if (postgres && f.NumberDigits is not null && SearchText.TsQuery(f.Words, f.NumberDigits) is { } numberQuery)
        {
            // A number fragment is a prefix query the planner cannot estimate: take the matches from the GIN index first
            // (OFFSET 0 keeps the subquery from being flattened into a walk of the list that evaluates the document per row).
            w.Add($"c.\"Id\" IN (SELECT s.\"Id\" FROM calls s WHERE s.\"TenantId\" = c.\"TenantId\" AND " +
                  $"calls_search_document(s.\"Summary\", s.\"TranscriptText\", s.\"CustomerNumber\") @@ to_tsquery('simple', sb_fold({Param(cmd, numberQuery)})) OFFSET 0)");
        }
        else if (postgres && SearchText.TsQuery(f.Words, null) is { } tsQuery)
        {
            w.Add($"calls_search_document(c.\"Summary\", c.\"TranscriptText\", c.\"CustomerNumber\") @@ to_tsquery('simple', sb_fold({Param(cmd, tsQuery)}))");
        }
        else if (!postgres && SearchText.Fts5(f.Words, f.NumberDigits) is { } match)
        {
            w.Add($"c.rowid IN (SELECT rowid FROM calls_search WHERE calls_search MATCH {Param(cmd, match)})");
        }
        return string.Join(" AND ", w);
    }

    private async Task<T> WithCommandAsync<T>(Func<DbCommand, Task<T>> run, CancellationToken ct)
    {
        var conn = db.Database.GetDbConnection();
        await db.Database.OpenConnectionAsync(ct);
        try
        {
            await using var cmd = conn.CreateCommand();
            cmd.Transaction = db.Database.CurrentTransaction?.GetDbTransaction();
            return await run(cmd);
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    private static string Param(DbCommand cmd, object value) => StoredValues.Param(cmd, value);

    private object Id(Guid id) => StoredValues.Id(postgres, id);

    private object Time(DateTimeOffset t) => StoredValues.Time(postgres, t);

    private DateTimeOffset? ReadTime(DbDataReader r, int i) =>
        r.IsDBNull(i) ? null : postgres ? r.GetFieldValue<DateTimeOffset>(i) : new DateTimeOffset(r.GetInt64(i), TimeSpan.Zero);

    private static string? Str(DbDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);
}
