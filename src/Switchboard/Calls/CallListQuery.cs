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
/// PostgreSQL GIN index on the stored <c>calls."SearchDocument"</c>; a number fragment the SQLite FTS5 trigram table
/// <c>calls_number</c> or PostgreSQL's pg_trgm index on <c>calls."CustomerDigits"</c> (migration 0016; on SQLite the
/// <see cref="SearchPlan"/> decides whether a term drives the query or is checked per row). Tenant scoping is explicit
/// (raw SQL bypasses EF's filters).
/// </summary>
internal sealed class CallListQuery(SwitchboardDbContext db)
{
    private readonly bool postgres = db.Database.IsNpgsql();

    /// <summary>One row of the list order: its key.</summary>
    public readonly record struct Key(Guid Id, DateTimeOffset CreatedAt);

    /// <summary>
    /// Up to <paramref name="take"/> keys after <paramref name="after"/> (keyset) or after skipping <paramref name="skip"/> rows,
    /// newest first. <paramref name="forcedPlan"/> (tests) replaces the SQLite probe's choice; <paramref name="walk"/>
    /// (tests) the chunk sizes of <see cref="WalkWordsAsync"/>.
    /// </summary>
    public async Task<List<Key>> KeysAsync(Guid tenantId, CallFilter filter, (DateTimeOffset CreatedAt, Guid Id)? after, int skip, int take, CancellationToken ct,
        SearchPlan? forcedPlan = null, WalkSizes? walk = null)
    {
        if (postgres && skip == 0 && forcedPlan is null && (SearchText.TsQuery(filter.Words) is not null || filter.NumberDigits is not null))
        {
            var tsQuery = SearchText.TsQuery(filter.Words);
            var walked = await PgBoundedWalkAsync(tenantId, filter, tsQuery, after, take, ct);
            if (walked.Count == take)
            {
                return walked;
            }
            if (walked.Count > 0 && (tsQuery is null || filter.NumberDigits is null))
            {
                // Matches among the newest rows: the term is not rare (≥ 1 in PgWalkBound), so the GIN probe is skipped.
                forcedPlan = new SearchPlan(tsQuery, false, filter.NumberDigits, false);
            }
            else
            {
                // Probe and answer in one query per term: a rare term's matches are the answer, fetched once.
                foreach (var rare in new[] { tsQuery is null ? null : SearchPlan.None with { WordsSelective = true },
                             filter.NumberDigits is null ? null : SearchPlan.None with { NumberSelective = true } })
                {
                    if (rare is not null && await PgRareMatchesAsync(tenantId, filter, rare, after, take, ct) is { } keys)
                    {
                        return keys;
                    }
                }
                forcedPlan = new SearchPlan(tsQuery, false, filter.NumberDigits, false);
            }
        }
        var plan = forcedPlan ?? await PlanAsync(filter, ct);
        if (!postgres && skip == 0 && plan.WordsMatch is not null && !plan.WordsSelective)
        {
            return await WalkWordsAsync(tenantId, filter, plan, after, take, walk ?? WalkSizes.Default, ct);
        }
        return await SelectKeysAsync(tenantId, filter, plan, after, skip, take, ct);
    }

    private Task<List<Key>> SelectKeysAsync(Guid tenantId, CallFilter filter, SearchPlan plan, (DateTimeOffset CreatedAt, Guid Id)? after, int skip, int take,
        CancellationToken ct) =>
        WithCommandAsync(async cmd =>
        {
            var sql = new StringBuilder("SELECT c.\"Id\", c.\"CreatedAt\" FROM ").Append(From(cmd, filter, plan)).Append(" WHERE ");
            sql.Append(Where(cmd, tenantId, filter, plan));
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

    /// <summary>
    /// A PostgreSQL string literal of a <see cref="SearchText.TsQuery"/> text (its words are letters and digits only,
    /// <see cref="SearchText.Words"/>; quotes are doubled all the same).
    /// </summary>
    private static string PgLiteral(string tsQuery) => "'" + tsQuery.Replace("'", "''", StringComparison.Ordinal) + "'";

    /// <summary>
    /// The <c>LIKE '%digits%'</c> pattern as a PostgreSQL literal. <see cref="CallFilter.NumberDigits"/> holds ASCII digits only
    /// (checked here all the same), so nothing needs escaping; a literal lets an auto-prepared statement keep a custom plan
    /// that sees the fragment's frequency in pg_trgm's statistics.
    /// </summary>
    private static string PgLikeLiteral(string digits) =>
        digits.All(char.IsAsciiDigit) ? "'%" + digits + "%'" : throw new ArgumentException("digits only", nameof(digits));

    /// <summary>Rows of the list order that <see cref="PgBoundedWalkAsync"/> reads at most.</summary>
    internal const int PgWalkBound = 400;

    /// <summary>
    /// PostgreSQL with words or a number fragment: the newest <see cref="PgWalkBound"/> calls matching the other filters
    /// (walking their index backwards, e.g. (TenantId, Urgency, CreatedAt, Id)) are checked against the words and the number
    /// fragment, in order. A frequent fragment (<c>438</c>) fills its page here instead of building the pg_trgm bitmap of
    /// every call holding it.
    /// When that fills the page (words in more than ≈ 5 % of the filtered calls, as <c>chauffe-eau</c> among emergencies),
    /// the page is exact and costs a few hundred index entries, with no GIN probe (whose bitmap of a frequent word's
    /// matches across every tenant costs 140–220 ms at 1M calls). When it finds some matches but not a page, the words
    /// are not rare and the planner goes on without the probe; only when it finds none does the probe decide.
    /// </summary>
    private Task<List<Key>> PgBoundedWalkAsync(Guid tenantId, CallFilter filter, string? tsQuery, (DateTimeOffset CreatedAt, Guid Id)? after, int take,
        CancellationToken ct) =>
        WithCommandAsync(async cmd =>
        {
            var others = filter with { Words = [], NumberDigits = null };
            var columns = tsQuery is null ? "c.\"Id\", c.\"CreatedAt\", c.\"CustomerDigits\"" : "c.\"Id\", c.\"CreatedAt\", c.\"SearchDocument\", c.\"CustomerDigits\"";
            var sql = new StringBuilder("SELECT c.\"Id\", c.\"CreatedAt\" FROM (SELECT ").Append(columns).Append(" FROM calls c WHERE ")
                .Append(Where(cmd, tenantId, others, SearchPlan.None));
            if (after is { } a)
            {
                sql.Append(" AND (c.\"CreatedAt\", c.\"Id\") < (").Append(Param(cmd, Time(a.CreatedAt))).Append(", ").Append(Param(cmd, Id(a.Id))).Append(')');
            }
            sql.Append(" ORDER BY c.\"CreatedAt\" DESC, c.\"Id\" DESC LIMIT ").Append(PgWalkBound).Append(") c WHERE ");
            var terms = new List<string>(2);
            if (tsQuery is not null)
            {
                terms.Add("c.\"SearchDocument\" @@ to_tsquery('simple', sb_fold(" + PgLiteral(tsQuery) + "))");
            }
            if (filter.NumberDigits is { } digits)
            {
                terms.Add("c.\"CustomerDigits\" LIKE " + PgLikeLiteral(digits));
            }
            sql.AppendJoin(" AND ", terms);
            cmd.CommandText = sql.Append(" ORDER BY c.\"CreatedAt\" DESC, c.\"Id\" DESC LIMIT ").Append(Param(cmd, take)).ToString();
            var keys = new List<Key>(take);
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                keys.Add(new Key(reader.GetGuid(0), reader.GetFieldValue<DateTimeOffset>(1)));
            }
            return keys;
        }, ct);

    /// <summary>
    /// PostgreSQL, one term of <paramref name="rare"/> (words or number): its matches across every tenant, at most
    /// <see cref="SelectiveHits"/> + 1, fetched through its GIN index behind a fence with literals only (see
    /// <see cref="PgFence"/>), each marked with whether it passes the tenant, the other filters and the keyset position.
    /// Fewer than <see cref="SelectiveHits"/> + 1 matches: the term is rare and the first <paramref name="take"/> marked rows
    /// are the page (one query where the probe and the fenced select took two, each planned and each building the same
    /// bitmap). Otherwise null: the term is frequent and the planner decides.
    /// </summary>
    private Task<List<Key>?> PgRareMatchesAsync(Guid tenantId, CallFilter filter, SearchPlan rare, (DateTimeOffset CreatedAt, Guid Id)? after, int take,
        CancellationToken ct) =>
        WithCommandAsync(async cmd =>
        {
            var sql = new StringBuilder("SELECT c.\"Id\", c.\"CreatedAt\", COALESCE((").Append(Where(cmd, tenantId, filter, rare));
            if (after is { } a)
            {
                sql.Append(" AND (c.\"CreatedAt\", c.\"Id\") < (").Append(Param(cmd, Time(a.CreatedAt))).Append(", ").Append(Param(cmd, Id(a.Id))).Append(')');
            }
            sql.Append("), false) AS mine FROM (SELECT * FROM calls c WHERE ").Append(PgFence(filter, rare)).Append(" LIMIT ").Append(SelectiveHits + 1)
               .Append(") c ORDER BY c.\"CreatedAt\" DESC, c.\"Id\" DESC");
            cmd.CommandText = sql.ToString();
            var keys = new List<Key>(take);
            var hits = 0;
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                hits++;
                if (keys.Count < take && reader.GetBoolean(2))
                {
                    keys.Add(new Key(reader.GetGuid(0), reader.GetFieldValue<DateTimeOffset>(1)));
                }
            }
            return hits > SelectiveHits ? null : keys;
        }, ct);

    /// <summary>First chunk of list rows probed by <see cref="WalkWordsAsync"/> (doubling up to <see cref="Max"/>).</summary>
    internal readonly record struct WalkSizes(int First, int Max)
    {
        public static readonly WalkSizes Default = new(200, 3200);
    }

    /// <summary>Most chunks <see cref="WalkWordsAsync"/> probes before checking each remaining row in one query.</summary>
    private const int WalkRounds = 12;

    /// <summary>
    /// SQLite with a frequent word: walks the list order (other filters applied by their index) in chunks, and asks FTS5
    /// once per chunk which rowids in the chunk's rowid range hold the words (<c>rowid BETWEEN lo AND hi</c> is a seek in
    /// the doclists; calls are written in time order, so the newest rows have neighbouring rowids). Results are exact
    /// whatever the rowid order (the hits are intersected with the chunk); after <see cref="WalkRounds"/> rounds it goes on
    /// with one query that checks each row (<c>EXISTS … rowid = c.rowid</c>).
    /// </summary>
    private async Task<List<Key>> WalkWordsAsync(Guid tenantId, CallFilter filter, SearchPlan plan, (DateTimeOffset CreatedAt, Guid Id)? after, int take,
        WalkSizes sizes, CancellationToken ct)
    {
        var found = new List<Key>(take);
        var position = after;
        var withoutWords = plan with { WordsMatch = null, WordsSelective = false };
        var chunk = sizes.First;
        for (var round = 0; round < WalkRounds; round++)
        {
            var candidates = await WithCommandAsync(async cmd =>
            {
                var sql = new StringBuilder("SELECT c.rowid, c.\"Id\", c.\"CreatedAt\" FROM ").Append(From(cmd, filter, withoutWords)).Append(" WHERE ")
                    .Append(Where(cmd, tenantId, filter, withoutWords));
                if (position is { } a)
                {
                    sql.Append(" AND (c.\"CreatedAt\", c.\"Id\") < (").Append(Param(cmd, Time(a.CreatedAt))).Append(", ").Append(Param(cmd, Id(a.Id))).Append(')');
                }
                cmd.CommandText = sql.Append(" ORDER BY c.\"CreatedAt\" DESC, c.\"Id\" DESC LIMIT ").Append(chunk).ToString();
                var rows = new List<(long RowId, Key Key)>(chunk);
                await using var reader = await cmd.ExecuteReaderAsync(ct);
                while (await reader.ReadAsync(ct))
                {
                    rows.Add((reader.GetInt64(0), new Key(reader.GetGuid(1), new DateTimeOffset(reader.GetInt64(2), TimeSpan.Zero))));
                }
                return rows;
            }, ct);
            if (candidates.Count == 0)
            {
                return found;
            }
            var hits = await WithCommandAsync(async cmd =>
            {
                cmd.CommandText = $"SELECT rowid FROM calls_search WHERE calls_search MATCH {Param(cmd, plan.WordsMatch!)} " +
                                  $"AND rowid BETWEEN {Param(cmd, candidates.Min(c => c.RowId))} AND {Param(cmd, candidates.Max(c => c.RowId))}";
                var set = new HashSet<long>();
                await using var reader = await cmd.ExecuteReaderAsync(ct);
                while (await reader.ReadAsync(ct))
                {
                    set.Add(reader.GetInt64(0));
                }
                return set;
            }, ct);
            foreach (var (rowId, key) in candidates)
            {
                if (hits.Contains(rowId))
                {
                    found.Add(key);
                    if (found.Count == take)
                    {
                        return found;
                    }
                }
            }
            if (candidates.Count < chunk)
            {
                return found;
            }
            position = (candidates[^1].Key.CreatedAt, candidates[^1].Key.Id);
            chunk = Math.Min(chunk * 2, sizes.Max);
        }
        found.AddRange(await SelectKeysAsync(tenantId, filter, plan, position, 0, take - found.Count, ct));
        return found;
    }

    /// <summary>Hits read by the SQLite selectivity probe: fewer means the term is selective (the query starts from its hits).</summary>
    internal const int SelectiveHits = 2000;

    /// <summary>
    /// How a SQLite query uses its full-text tables: per search kind, whether the term is selective (fewer than
    /// <see cref="SelectiveHits"/> hits in the whole index, all tenants) and then drives the query, or frequent and
    /// then checked per row while the list index is walked newest first (the page fills within a few dozen rows).
    /// On PostgreSQL the same probe (through the GIN indexes) marks a rare term, whose matches are then fetched first
    /// behind an <c>OFFSET 0</c> fence and sorted; otherwise the planner weighs the GIN indexes against the list index.
    /// </summary>
    internal sealed record SearchPlan(string? WordsMatch, bool WordsSelective, string? NumberMatch, bool NumberSelective)
    {
        public static readonly SearchPlan None = new(null, false, null, false);

        /// <summary>The FTS table that drives the query (words first), or null to walk the list index.</summary>
        public (string Table, string Match)? Driver =>
            WordsSelective ? ("calls_search", WordsMatch!) : NumberSelective ? ("calls_number", NumberMatch!) : null;
    }

    /// <summary>Probes the FTS tables (SQLite) or GIN indexes (PostgreSQL), at most <see cref="SelectiveHits"/> hits each, to choose the <see cref="SearchPlan"/>.</summary>
    internal async Task<SearchPlan> PlanAsync(CallFilter filter, CancellationToken ct)
    {
        if (postgres)
        {
            // The planner's estimate for a word or fragment missing from its statistics is a guess; ask the GIN indexes.
            var tsQuery = SearchText.TsQuery(filter.Words);
            var wordsRare = tsQuery is not null &&
                await PgHitsAsync(_ => $"c.\"SearchDocument\" @@ to_tsquery('simple', sb_fold({PgLiteral(tsQuery)}))", ct) < SelectiveHits;
            var numberRare = !wordsRare && filter.NumberDigits is { } digits &&
                await PgHitsAsync(_ => $"c.\"CustomerDigits\" LIKE {PgLikeLiteral(digits)}", ct) < SelectiveHits;
            return new SearchPlan(tsQuery, wordsRare, filter.NumberDigits, numberRare);
        }
        var words = SearchText.Fts5(filter.Words);
        var number = SearchText.Fts5Trigram(filter.NumberDigits);
        if (words is null && number is null)
        {
            return SearchPlan.None;
        }
        var wordsSelective = words is not null && await HitsAsync("calls_search", words, ct) < SelectiveHits;
        var numberSelective = !wordsSelective && number is not null && await HitsAsync("calls_number", number, ct) < SelectiveHits;
        return new SearchPlan(words, wordsSelective, number, numberSelective);
    }

    private Task<int> PgHitsAsync(Func<DbCommand, string> predicate, CancellationToken ct) =>
        WithCommandAsync(async cmd =>
        {
            cmd.CommandText = $"SELECT COUNT(*) FROM (SELECT 1 FROM calls c WHERE {predicate(cmd)} LIMIT {SelectiveHits}) hits";
            return Convert.ToInt32(await cmd.ExecuteScalarAsync(ct), System.Globalization.CultureInfo.InvariantCulture);
        }, ct);

    private Task<int> HitsAsync(string table, string match, CancellationToken ct) =>
        WithCommandAsync(async cmd =>
        {
            cmd.CommandText = $"SELECT COUNT(*) FROM (SELECT rowid FROM {table} WHERE {table} MATCH {Param(cmd, match)} LIMIT {SelectiveHits})";
            return Convert.ToInt32(await cmd.ExecuteScalarAsync(ct), System.Globalization.CultureInfo.InvariantCulture);
        }, ct);

    /// <summary>
    /// The FROM clause: <c>calls c</c>, or on SQLite with a selective term its FTS hits first (<c>CROSS JOIN</c> fixes the
    /// join order in SQLite, so the planner cannot choose to walk the whole list index and probe the hits per row).
    /// </summary>
    private string From(DbCommand cmd, CallFilter filter, SearchPlan plan) =>
        postgres
            ? PgFence(filter, plan) is { } term ? $"(SELECT * FROM calls c WHERE {term} OFFSET 0) c" : "calls c"
            : plan.Driver is { } d
                ? $"(SELECT rowid AS r FROM {d.Table} WHERE {d.Table} MATCH {Param(cmd, d.Match)}) hits CROSS JOIN calls c ON c.rowid = hits.r"
                : "calls c";

    /// <summary>
    /// PostgreSQL with a selective term (fewer than <see cref="SelectiveHits"/> matches in the whole table, all tenants):
    /// the term alone, as literals, inside an <c>OFFSET 0</c> fence, so the planner fetches its few matches through the GIN
    /// index first and applies the tenant and the other filters to them. Nothing inside the fence is a parameter: with
    /// Npgsql's auto-prepare, a generic plan for <c>"TenantId" = $1 AND term</c> cannot tell a tenant of 1,000,000 calls from
    /// one of 200 and walked the tenant's index (420–480 ms at 1M calls for <c>zanzibar</c>, 37 matches).
    /// </summary>
    private static string? PgFence(CallFilter filter, SearchPlan plan) =>
        plan.WordsSelective && SearchText.TsQuery(filter.Words) is { } tsQuery ? $"c.\"SearchDocument\" @@ to_tsquery('simple', sb_fold({PgLiteral(tsQuery)}))"
        : plan.NumberSelective && filter.NumberDigits is { } digits ? $"c.\"CustomerDigits\" LIKE {PgLikeLiteral(digits)}"
        : null;

    /// <summary>
    /// The number of calls matching <paramref name="filter"/>, counted up to <paramref name="cap"/> + 1 (page-number mode):
    /// a result above <paramref name="cap"/> means "more than <paramref name="cap"/>". It reads at most cap + 1 index
    /// entries, so the count costs the same whether 10,001 or 1,000,000 calls match.
    /// </summary>
    public async Task<int> CountAsync(Guid tenantId, CallFilter filter, int cap, CancellationToken ct)
    {
        var plan = await PlanAsync(filter, ct);
        return await WithCommandAsync(async cmd =>
        {
            cmd.CommandText = "SELECT COUNT(*) FROM (SELECT 1 FROM " + From(cmd, filter, plan) + " WHERE " + Where(cmd, tenantId, filter, plan) +
                              " LIMIT " + Param(cmd, cap + 1) + ") n";
            return Convert.ToInt32(await cmd.ExecuteScalarAsync(ct), System.Globalization.CultureInfo.InvariantCulture);
        }, ct);
    }

    /// <summary>
    /// Streams every matching call, newest first, as CSV-ready rows to <paramref name="row"/> (one database reader, no buffering).
    /// </summary>
    public async Task ExportAsync(Guid tenantId, CallFilter filter, Func<ExportRow, Task> row, CancellationToken ct)
    {
        var plan = await PlanAsync(filter, ct);
        await WithCommandAsync(async cmd =>
        {
            cmd.CommandText = """
                SELECT c."Id", c."CreatedAt", c."StartedAt", c."EndedAt", c."DurationSeconds", c."Channel", c."Provider", c."Type", c."Status",
                       c."EndedReason", c."Urgency", c."CustomerNumber", c."BusinessNumber", c."Cost", c."AssistantId", c."Summary", l."Status", l."Notes",
                       l."Name", l."Phone", l."Address", l."Problem"
                FROM
                """ + " " + From(cmd, filter, plan) + """
                 LEFT JOIN leads l ON l."Id" = (SELECT l1."Id" FROM leads l1 WHERE l1."TenantId" = c."TenantId" AND l1."CallId" = c."Id" ORDER BY l1."CreatedAt" LIMIT 1)
                WHERE
                """ + " " + Where(cmd, tenantId, filter, plan) + " ORDER BY c.\"CreatedAt\" DESC, c.\"Id\" DESC";
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                await row(new ExportRow(reader.GetGuid(0), ReadTime(reader, 1)!.Value, ReadTime(reader, 2), ReadTime(reader, 3),
                    reader.IsDBNull(4) ? null : reader.GetDouble(4), reader.GetString(5), reader.GetString(6), Str(reader, 7), reader.GetString(8),
                    Str(reader, 9), Str(reader, 10), Str(reader, 11), Str(reader, 12), reader.IsDBNull(13) ? null : Convert.ToDecimal(reader.GetValue(13), System.Globalization.CultureInfo.InvariantCulture),
                    reader.IsDBNull(14) ? null : reader.GetGuid(14), Str(reader, 15), Str(reader, 16), Str(reader, 17),
                    Str(reader, 18), Str(reader, 19), Str(reader, 20), Str(reader, 21)));
            }
            return 0;
        }, ct);
    }

    /// <summary>
    /// A call as the CSV export writes it, with its lead's workflow status and notes, and who to call back where about what: the
    /// lead's name, callback number (E.164 when known), address and problem (all null when the call has no lead).
    /// </summary>
    public sealed record ExportRow(Guid Id, DateTimeOffset CreatedAt, DateTimeOffset? StartedAt, DateTimeOffset? EndedAt, double? DurationSeconds,
        string Channel, string Provider, string? Type, string Status, string? EndedReason, string? Urgency, string? CustomerNumber,
        string? BusinessNumber, decimal? Cost, Guid? AssistantId, string? Summary, string? LeadStatus, string? LeadNotes,
        string? LeadName, string? LeadPhone, string? LeadAddress, string? LeadProblem);

    private string Where(DbCommand cmd, Guid tenantId, CallFilter f, SearchPlan plan)
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
            var recorded = "(c.\"RecordingUrl\" IS NOT NULL OR EXISTS (SELECT 1 FROM call_recordings r WHERE r.\"TenantId\" = c.\"TenantId\" AND r.\"CallId\" = c.\"Id\" AND r.\"Status\" <> 'deleted'))";
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
        if (postgres)
        {
            if (f.NumberDigits is { } digits)
            {
                // Stored digits with a pg_trgm GIN index (migration 0016), as a literal for the same reason as the words below.
                w.Add($"c.\"CustomerDigits\" LIKE {PgLikeLiteral(digits)}");
            }
            if (SearchText.TsQuery(f.Words) is { } tsQuery)
            {
                // A literal, not a parameter: with Npgsql's auto-prepare a parameter turns into a generic plan after five
                // executions, which cannot see the words' frequency (l'eau chaude went from 1 ms to 3 s).
                w.Add($"c.\"SearchDocument\" @@ to_tsquery('simple', sb_fold({PgLiteral(tsQuery)}))");
            }
        }
        else
        {
            var driver = plan.Driver?.Table;
            if (plan.WordsMatch is { } words && driver != "calls_search")
            {
                // A frequent word (or a second selective term): one FTS5 rowid seek per row the query reaches.
                w.Add($"EXISTS (SELECT 1 FROM calls_search WHERE calls_search MATCH {Param(cmd, words)} AND calls_search.rowid = c.rowid)");
            }
            if (plan.NumberMatch is not null && driver != "calls_number")
            {
                // A frequent fragment: the same digits as calls_number_source, compared in the row.
                w.Add("replace(replace(replace(replace(replace(replace(coalesce(c.\"CustomerNumber\", ''), '+', ''), '-', ''), ' ', ''), '(', ''), ')', ''), '.', '') " +
                      $"LIKE {Param(cmd, "%" + f.NumberDigits + "%")}");
            }
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
