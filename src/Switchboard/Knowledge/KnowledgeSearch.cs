using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Switchboard.Platform.Database;
using Switchboard.Platform.Http;

namespace Switchboard.Knowledge;

/// <summary>
/// One retrieved chunk with its citation: the document (<paramref name="DocumentId"/>, <paramref name="DocumentTitle"/>)
/// and chunk (<paramref name="ChunkId"/>, <paramref name="Heading"/> path) it comes from, its full text, the fused score
/// (0–1: 1 = ranked first by every retriever that ran), and how many of the query's terms it contains
/// (<paramref name="MatchedTerms"/> of <paramref name="QueryTerms"/>; a caller can demand e.g. ≥ 2 before quoting it).
/// </summary>
public sealed record KnowledgeHit(
    Guid DocumentId, string DocumentTitle, long ChunkId, string? Heading, string Text, double Score, int MatchedTerms, int QueryTerms);

/// <summary>
/// Retrieval over a tenant's knowledge base (brain-and-knowledge-base.md §4.3–§4.6), shared by web chat, the
/// <c>search_knowledge_base</c> tool and Vapi's <c>knowledge-base-request</c>. Keyword retrieval runs on SQLite FTS5
/// (matching by the index, BM25 computed here from the tenant's own statistics: <see cref="Bm25"/>) or PostgreSQL full text
/// (<c>ts_rank</c> over a GIN-indexed <c>tsvector</c>, which reads only the ranked row), both over the same
/// pre-folded terms (<see cref="TextFolding"/>); a query is built only from those letter-and-digit terms (any script) (OR-ed, the
/// terms too common to rank by left out, all terms AND-ed first) AND the tenant's own term, so user text is never FTS syntax. When the tenant's chunks
/// carry embeddings and its OpenAI-compatible endpoint answers within <see cref="KnowledgeOptions.QueryEmbeddingTimeoutMs"/>,
/// a cosine list joins, and the lists are fused by Reciprocal Rank Fusion, k = 60 (Cormack, Clarke &amp; Büttcher 2009).
/// Tenant isolation does not rely on the EF query filter: every statement names <c>TenantId</c>.
/// </summary>
internal sealed class KnowledgeSearch(
    SwitchboardDbContext db, KnowledgeEmbeddings embeddings, IMemoryCache cache, IOptions<KnowledgeOptions> options)
{
    /// <summary>Most hits one search returns.</summary>
    public const int MaxLimit = 20;

    /// <summary>The RRF rank constant.</summary>
    public const int RrfK = 60;

    /// <summary>Candidates taken from each list before fusion.</summary>
    public const int Candidates = 50;

    /// <summary>How long a tenant's vectors stay cached on this node, in seconds (dropped at once on this node's own writes).</summary>
    private const int VectorCacheSeconds = 60;

    /// <summary>
    /// The best <paramref name="limit"/> (1–<see cref="MaxLimit"/>) chunks of <paramref name="tenantId"/>'s knowledge base for
    /// <paramref name="query"/> (any user text, any length: only its first terms count), best first. Empty when nothing matches
    /// or the query has no searchable term. Never throws on user input.
    /// </summary>
    public async Task<IReadOnlyList<KnowledgeHit>> SearchAsync(Guid tenantId, string query, int limit, CancellationToken ct)
    {
        limit = Math.Clamp(limit, 1, MaxLimit);
        var terms = TextFolding.QueryTerms(query);
        var keyword = terms.Count == 0 ? [] : await KeywordAsync(tenantId, terms, ct);
        var semantic = await SemanticAsync(tenantId, query, ct);

        var lists = new List<IReadOnlyList<long>> { keyword.Select(r => r.ChunkId).ToList() };
        if (semantic is not null)
        {
            lists.Add(semantic);
        }
        var fused = new Dictionary<long, double>();
        foreach (var list in lists)
        {
            for (var rank = 1; rank <= list.Count; rank++)
            {
                fused[list[rank - 1]] = fused.GetValueOrDefault(list[rank - 1]) + 1.0 / (RrfK + rank);
            }
        }
        if (fused.Count == 0)
        {
            return [];
        }
        var best = lists.Count / (RrfK + 1.0);
        var top = fused.OrderByDescending(p => p.Value).ThenBy(p => p.Key).Take(limit).ToList();
        var rows = keyword.ToDictionary(r => r.ChunkId);
        var missing = top.Select(p => p.Key).Where(id => !rows.ContainsKey(id)).ToList();
        if (missing.Count > 0)
        {
            foreach (var row in await RowsAsync(tenantId, missing, ct))
            {
                rows[row.ChunkId] = row;
            }
        }
        return top.Where(p => rows.ContainsKey(p.Key)).Select(p =>
        {
            var r = rows[p.Key];
            return new KnowledgeHit(r.DocumentId, r.Title, r.ChunkId, r.Heading, r.Text, Math.Round(p.Value / best, 4), Matched(terms, r.SearchText), terms.Count);
        }).ToList();
    }

    /// <summary>Drops this node's cached vectors of a tenant (after its documents change).</summary>
    public void Invalidate(Guid tenantId)
    {
        cache.Remove(("kb-vectors", tenantId));
        Interlocked.Increment(ref generation); // term statistics restart from the database
    }

    /// <summary>Bumped by every write on this node: cached term statistics are keyed by it.</summary>
    private static long generation;

    /// <summary>The FTS query for SQLite FTS5: <c>"kbt…" AND ("inond" OR "eau")</c> (terms are already stemmed on both sides).</summary>
    internal static string Fts5Query(Guid tenantId, IReadOnlyList<string> terms, string op = "OR") =>
        $"\"{TextFolding.TenantTerm(tenantId)}\" AND ({string.Join($" {op} ", terms.Select(t => "\"" + t.Replace("\"", "\"\"") + "\""))})";

    /// <summary>The tsquery operand list for PostgreSQL: <c>inond | eau</c> (terms are letters and digits only, no tsquery syntax).</summary>
    internal static string TsQuery(IReadOnlyList<string> terms) => string.Join(" | ", terms);

    /// <summary>Most terms of one query sent to the full-text index (the rarest ones): scoring cost grows with every common term.</summary>
    internal const int MaxFtsTerms = 4;

    /// <summary>
    /// The terms worth sending to the full-text index, rarest first. A term held by more than half of the tenant's indexed chunks is
    /// left out (its BM25 weight is nil: FTS5 clamps a negative IDF, log((N − n + 0.5)/(n + 0.5)), to ~0, yet it would make most
    /// chunks candidates to score); at most <see cref="MaxFtsTerms"/> are kept; the rarest is kept when all are common; none when
    /// the tenant has no chunk holding any term (no FTS query then).
    /// <para>
    /// Both statistics are the tenant's own, never the installation's: n is the number of <paramref name="tenantId"/>'s chunks
    /// holding the term and N the number of its chunks. Installation-wide figures (FTS5's <c>knowledge_fts_vocab</c>, a count
    /// over every tenant's chunks) let another tenant's documents decide which of this tenant's terms are sent, so a query's
    /// results revealed whether a word exists in another tenant's knowledge base and could be degraded by it (probe E, F1).
    /// </para>
    /// <para>
    /// Index-backed on both engines: n is counted by the full-text index itself, matching the tenant's own term (which prefixes
    /// every chunk's <see cref="KnowledgeChunk.SearchText"/>, see <see cref="TextFolding.SearchText"/>) AND the term, so FTS5
    /// (<c>knowledge_fts MATCH '"kbt…" AND "term"'</c>) and PostgreSQL's GIN index (<c>kbt… &amp; term</c>) intersect two posting
    /// lists and never read a chunk's text; N is a range count over the <c>(TenantId, DocumentId, Ordinal)</c> B-tree. The
    /// cost is bounded by the tenant's own chunks (at most its chunk count per term, typically a few), and the figures are
    /// cached on this node per tenant for a minute (they only steer which terms are sent), dropped on this node's writes.
    /// </para>
    /// </summary>
    private async Task<TermStats> SelectiveTermsAsync(Guid tenantId, List<string> terms, CancellationToken ct)
    {
        var gen = Interlocked.Read(ref generation);
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        var unknown = new List<string>();
        foreach (var term in terms)
        {
            if (cache.TryGetValue(("kb-df", gen, tenantId, term), out long n))
            {
                counts[term] = n;
            }
            else
            {
                unknown.Add(term);
            }
        }
        if (unknown.Count > 0)
        {
            List<VocabRow> rows;
            if (db.Database.IsNpgsql())
            {
                var array = unknown.ToArray();
                var tenantTerm = TextFolding.TenantTerm(tenantId);
                rows = await db.Database.SqlQuery<VocabRow>($"""
                    SELECT t AS "Term",
                           (SELECT count(*) FROM knowledge_chunks
                            WHERE "TenantId" = {tenantId} AND "SearchVector" @@ to_tsquery('simple', {tenantTerm} || ' & ' || t)) AS "Docs"
                    FROM unnest({array}) AS t
                    """).ToListAsync(ct);
            }
            else
            {
                // One FTS5 match per term ("kbt…" AND "term"), all in one statement: the query text is built here, never from user syntax.
                var matches = System.Text.Json.JsonSerializer.Serialize(unknown.Select(t => new[] { t, Fts5Query(tenantId, [t]) }));
                rows = await db.Database.SqlQuery<VocabRow>($"""
                    SELECT json_extract(m.value, '$[0]') AS "Term",
                           (SELECT count(*) FROM knowledge_fts WHERE knowledge_fts MATCH json_extract(m.value, '$[1]')) AS "Docs"
                    FROM json_each({matches}) AS m
                    """).ToListAsync(ct);
            }
            foreach (var term in unknown)
            {
                var n = rows.FirstOrDefault(r => r.Term == term)?.Docs ?? 0;
                counts[term] = n;
                if (n > 0)
                {
                    // Zero is not cached: a term another node has just indexed must be searchable at once.
                    cache.Set(("kb-df", gen, tenantId, term), n, TimeSpan.FromSeconds(60));
                }
            }
        }
        if (!cache.TryGetValue(("kb-chunks", gen, tenantId), out ChunkStats? chunks) || chunks is null)
        {
            chunks = db.Database.IsNpgsql()
                ? new ChunkStats { Chunks = await db.KnowledgeChunks.IgnoreQueryFilters().LongCountAsync(c => c.TenantId == tenantId, ct) }
                : await db.Database.SqlQuery<ChunkStats>($"""
                    SELECT count(*) AS "Chunks",
                           coalesce(avg(length("SearchText") - length(replace("SearchText", ' ', '')) + 1), 0.0) AS "AverageTerms"
                    FROM knowledge_chunks WHERE "TenantId" = {tenantId}
                    """).SingleAsync(ct);
            cache.Set(("kb-chunks", gen, tenantId), chunks, TimeSpan.FromSeconds(60));
        }
        var total = chunks.Chunks;
        var known = counts.Where(p => p.Value > 0).OrderBy(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal).ToList();
        var selective = known.Where(p => p.Value * 2 <= total).Take(MaxFtsTerms).Select(p => p.Key).ToList();
        return new TermStats(selective.Count > 0 ? selective : known.Take(1).Select(p => p.Key).ToList(), counts, chunks);
    }

    /// <summary>
    /// The terms to send (<see cref="SelectiveTermsAsync"/>), the number of the tenant's chunks holding each query term, and the
    /// tenant's chunk figures: everything the SQLite ranking needs, all the tenant's own.
    /// </summary>
    private sealed record TermStats(List<string> Selective, Dictionary<string, long> Docs, ChunkStats Chunks);

    /// <summary>
    /// A tenant's chunk count and (SQLite only; 0 on PostgreSQL) the mean number of terms its chunks index (the tenant's term
    /// included, as FTS5 counts it: each space-separated term of <see cref="KnowledgeChunk.SearchText"/> is one FTS5 token).
    /// </summary>
    internal sealed class ChunkStats
    {
        public long Chunks { get; set; }
        public double AverageTerms { get; set; }
    }

    /// <summary>A term and the number of the tenant's chunks holding it.</summary>
    internal sealed class VocabRow
    {
        public string Term { get; set; } = "";
        public long Docs { get; set; }
    }

    private async Task<List<ChunkRow>> KeywordAsync(Guid tenantId, List<string> terms, CancellationToken ct)
    {
        var stats = await SelectiveTermsAsync(tenantId, terms, ct);
        var selective = stats.Selective;
        if (selective.Count == 0)
        {
            return [];
        }
        // Chunks holding every term first (few candidates to score, and the most precise answers); all terms OR-ed otherwise.
        if (db.Database.IsNpgsql())
        {
            if (selective.Count > 1 && await PostgresAsync(tenantId, selective, " & ", ct) is { Count: > 0 } every)
            {
                return every;
            }
            return await PostgresAsync(tenantId, selective, " | ", ct);
        }
        if (selective.Count > 1 && await Fts5Async(tenantId, Fts5Query(tenantId, selective, "AND"), stats, ct) is { Count: > 0 } all)
        {
            return all;
        }
        return await Fts5Async(tenantId, Fts5Query(tenantId, selective, "OR"), stats, ct);
    }

    /// <summary>Most chunks PostgreSQL ranks per query: past it, a broad query is ranked over the first matches the index gives.</summary>
    internal const int MaxRankedPostgres = 1000;

    /// <summary>
    /// PostgreSQL: the filter carries the tenant's term (GIN intersects posting lists); ranking (<c>ts_rank</c>, normalised by
    /// length) uses the terms alone and runs over at most <see cref="MaxRankedPostgres"/> matches, because every ranked row's
    /// tsvector is de-TOASTed: a query whose terms are in thousands of chunks would otherwise cost tens of milliseconds.
    /// </summary>
    private Task<List<ChunkRow>> PostgresAsync(Guid tenantId, List<string> terms, string op, CancellationToken ct)
    {
        var filter = TextFolding.TenantTerm(tenantId) + " & (" + string.Join(op, terms) + ")";
        var ranking = TsQuery(terms);
        return db.Database.SqlQuery<ChunkRow>($"""
            WITH m AS MATERIALIZED (
                SELECT "Id" FROM knowledge_chunks
                WHERE "TenantId" = {tenantId} AND "SearchVector" @@ to_tsquery('simple', {filter})
                LIMIT {MaxRankedPostgres})
            SELECT c."Id" AS "ChunkId", c."DocumentId", d."Title", c."Heading", c."Text", c."SearchText",
                   ts_rank(c."SearchVector", to_tsquery('simple', {ranking}), 1)::float8 AS "Score"
            FROM m
            JOIN knowledge_chunks c ON c."Id" = m."Id"
            JOIN knowledge_documents d ON d."Id" = c."DocumentId"
            WHERE c."TenantId" = {tenantId}
            ORDER BY "Score" DESC, c."Id"
            LIMIT {Candidates}
            """).ToListAsync(ct);
    }

    /// <summary>Most chunks ranked per SQLite query: past it, a broad query is ranked over its first matches in chunk order.</summary>
    internal const int MaxRankedSqlite = 1000;

    /// <summary>
    /// SQLite: FTS5 finds the tenant's matching chunks (the match carries the tenant's term), at most <see cref="MaxRankedSqlite"/>,
    /// and they are ranked here by <see cref="Bm25"/> over the tenant's own statistics. FTS5's <c>bm25()</c> is not used: it
    /// takes the chunk count, the mean length and each term's chunk count from the whole table, every tenant's chunks, so one
    /// tenant's uploads reordered another's results (and a term's rank told whether other tenants use it). The best
    /// <see cref="Candidates"/> are then read whole, best first, ties by chunk id.
    /// </summary>
    private async Task<List<ChunkRow>> Fts5Async(Guid tenantId, string match, TermStats stats, CancellationToken ct)
    {
        var matches = await db.Database.SqlQuery<TermsRow>($"""
            SELECT c."Id" AS "ChunkId", c."SearchText"
            FROM (SELECT rowid FROM knowledge_fts WHERE knowledge_fts MATCH {match} LIMIT {MaxRankedSqlite}) f
            JOIN knowledge_chunks c ON c."Id" = f.rowid
            WHERE c."TenantId" = {tenantId}
            """).ToListAsync(ct);
        if (matches.Count == 0)
        {
            return [];
        }
        var terms = stats.Selective;
        var idf = terms.Select(t => Idf(stats.Chunks.Chunks, stats.Docs.GetValueOrDefault(t))).ToArray();
        var best = matches
            .Select(m => (m.ChunkId, Score: Bm25(m.SearchText, terms, idf, stats.Chunks.AverageTerms)))
            .OrderByDescending(x => x.Score).ThenBy(x => x.ChunkId).Take(Candidates).ToList();
        var rows = (await RowsAsync(tenantId, best.Select(x => x.ChunkId).ToList(), ct)).ToDictionary(r => r.ChunkId);
        var ranked = new List<ChunkRow>(best.Count);
        foreach (var (id, score) in best)
        {
            if (rows.TryGetValue(id, out var row)) // a chunk deleted meanwhile is left out
            {
                row.Score = score;
                ranked.Add(row);
            }
        }
        return ranked;
    }

    /// <summary>FTS5's BM25 constants (sqlite.org/fts5.html §5.1.1: k1 = 1.2, b = 0.75).</summary>
    private const double K1 = 1.2, B = 0.75;

    /// <summary>
    /// BM25's inverse document frequency as FTS5 computes it, <c>log((N − n + 0.5) / (n + 0.5))</c>, a value ≤ 0 (a term in half the
    /// chunks or more) made 1e-6 as FTS5 does; <paramref name="chunks"/> (N) and <paramref name="holding"/> (n) are the tenant's.
    /// </summary>
    internal static double Idf(long chunks, long holding)
    {
        var idf = Math.Log((chunks - holding + 0.5) / (holding + 0.5));
        return idf > 0 ? idf : 1e-6;
    }

    /// <summary>
    /// The Okapi BM25 score of one chunk (higher is better), as FTS5's <c>bm25()</c> defines it (sqlite.org/fts5.html §5.1.1):
    /// Σ idf(t) · f(t) · (k1 + 1) / (f(t) + k1 · (1 − b + b · |D| / avgdl)) over <paramref name="terms"/> (with their
    /// <paramref name="idf"/>), f(t) counted in <paramref name="searchText"/> (space-separated terms, <see cref="TextFolding.SearchText"/>).
    /// |D| is the chunk's number of terms and <paramref name="averageTerms"/> (avgdl) the tenant's mean (<see cref="ChunkStats"/>);
    /// 0 (unknown) takes |D| as average.
    /// </summary>
    internal static double Bm25(string searchText, IReadOnlyList<string> terms, double[] idf, double averageTerms)
    {
        Span<int> tf = stackalloc int[terms.Count];
        var text = searchText.AsSpan();
        var length = 0;
        while (text.Length > 0)
        {
            var space = text.IndexOf(' ');
            var token = space < 0 ? text : text[..space];
            length++;
            for (var j = 0; j < terms.Count; j++)
            {
                if (token.SequenceEqual(terms[j]))
                {
                    tf[j]++;
                }
            }
            text = space < 0 ? default : text[(space + 1)..];
        }
        var ratio = averageTerms > 0 ? length / averageTerms : 1.0;
        var norm = K1 * (1 - B + (B * ratio));
        var score = 0.0;
        for (var j = 0; j < terms.Count; j++)
        {
            score += idf[j] * tf[j] * (K1 + 1) / (tf[j] + norm);
        }
        return score;
    }

    /// <summary>A matching chunk's id and indexed terms (what the SQLite ranking reads).</summary>
    internal sealed class TermsRow
    {
        public long ChunkId { get; set; }
        public string SearchText { get; set; } = "";
    }

    private Task<List<ChunkRow>> RowsAsync(Guid tenantId, List<long> ids, CancellationToken ct) =>
        db.KnowledgeChunks.IgnoreQueryFilters().AsNoTracking()
            .Where(c => c.TenantId == tenantId && ids.Contains(c.Id))
            .Join(db.KnowledgeDocuments.IgnoreQueryFilters(), c => c.DocumentId, d => d.Id,
                (c, d) => new ChunkRow { ChunkId = c.Id, DocumentId = d.Id, Title = d.Title, Heading = c.Heading, Text = c.Text, SearchText = c.SearchText })
            .ToListAsync(ct);

    /// <summary>Chunk ids by cosine similarity to the query, best first (at most <see cref="Candidates"/>); null when no semantic layer applies.</summary>
    private async Task<List<long>?> SemanticAsync(Guid tenantId, string query, CancellationToken ct)
    {
        if (!options.Value.EmbeddingsEnabled || string.IsNullOrWhiteSpace(query))
        {
            return null;
        }
        var vectors = await VectorsAsync(tenantId, ct);
        if (vectors.Count == 0 || await embeddings.CredentialAsync(tenantId, ct) is not { } credential)
        {
            return null;
        }
        var q = await embeddings.EmbedAsync(credential, [TolerantJson.Cap(query, 2000)],
            TimeSpan.FromMilliseconds(options.Value.QueryEmbeddingTimeoutMs), ct);
        if (q is not [var qv])
        {
            return null;
        }
        return vectors.Select(v => (v.Id, Cos: KnowledgeEmbeddings.Dot(qv, v.Vector)))
            .Where(x => x.Cos > 0).OrderByDescending(x => x.Cos).Take(Candidates).Select(x => x.Id).ToList();
    }

    private async Task<List<(long Id, byte[] Vector)>> VectorsAsync(Guid tenantId, CancellationToken ct)
    {
        if (cache.TryGetValue(("kb-vectors", tenantId), out List<(long, byte[])>? hit) && hit is not null)
        {
            return hit;
        }
        var rows = await db.KnowledgeChunks.IgnoreQueryFilters().AsNoTracking()
            .Where(c => c.TenantId == tenantId && c.Embedding != null)
            .Select(c => new { c.Id, c.Embedding }).ToListAsync(ct);
        var list = rows.Select(r => (r.Id, r.Embedding!)).ToList();
        cache.Set(("kb-vectors", tenantId), list, TimeSpan.FromSeconds(VectorCacheSeconds));
        return list;
    }

    /// <summary>How many query terms occur in the chunk's indexed terms.</summary>
    private static int Matched(List<string> terms, string searchText)
    {
        var words = searchText.Split(' ');
        return terms.Count(words.Contains);
    }

    /// <summary>A row of the keyword query (and of the by-id lookup for semantic-only hits).</summary>
    internal sealed class ChunkRow
    {
        public long ChunkId { get; set; }
        public Guid DocumentId { get; set; }
        public string Title { get; set; } = "";
        public string? Heading { get; set; }
        public string Text { get; set; } = "";
        public string SearchText { get; set; } = "";
        public double Score { get; set; }
    }
}
