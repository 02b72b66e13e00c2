using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Switchboard.Platform.Database;

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
/// (<c>bm25</c>) or PostgreSQL full text (<c>ts_rank</c> over a GIN-indexed <c>tsvector</c>), both over the same
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
    private async Task<List<string>> SelectiveTermsAsync(Guid tenantId, List<string> terms, CancellationToken ct)
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
        if (!cache.TryGetValue(("kb-chunks", gen, tenantId), out long total))
        {
            total = await db.KnowledgeChunks.IgnoreQueryFilters().LongCountAsync(c => c.TenantId == tenantId, ct);
            cache.Set(("kb-chunks", gen, tenantId), total, TimeSpan.FromSeconds(60));
        }
        var known = counts.Where(p => p.Value > 0).OrderBy(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal).ToList();
        var selective = known.Where(p => p.Value * 2 <= total).Take(MaxFtsTerms).Select(p => p.Key).ToList();
        return selective.Count > 0 ? selective : known.Take(1).Select(p => p.Key).ToList();
    }

    /// <summary>A term and the number of the tenant's chunks holding it.</summary>
    internal sealed class VocabRow
    {
        public string Term { get; set; } = "";
        public long Docs { get; set; }
    }

    private async Task<List<ChunkRow>> KeywordAsync(Guid tenantId, List<string> terms, CancellationToken ct)
    {
        var selective = await SelectiveTermsAsync(tenantId, terms, ct);
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
        if (selective.Count > 1 && await Fts5Async(tenantId, Fts5Query(tenantId, selective, "AND"), ct) is { Count: > 0 } all)
        {
            return all;
        }
        return await Fts5Async(tenantId, Fts5Query(tenantId, selective, "OR"), ct);
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

    private Task<List<ChunkRow>> Fts5Async(Guid tenantId, string match, CancellationToken ct) =>
        db.Database.SqlQuery<ChunkRow>($"""
            SELECT c."Id" AS "ChunkId", c."DocumentId", d."Title", c."Heading", c."Text", c."SearchText", -f.rank AS "Score"
            FROM (SELECT rowid, rank FROM knowledge_fts WHERE knowledge_fts MATCH {match} ORDER BY rank LIMIT {Candidates}) f
            JOIN knowledge_chunks c ON c."Id" = f.rowid
            JOIN knowledge_documents d ON d."Id" = c."DocumentId"
            WHERE c."TenantId" = {tenantId}
            ORDER BY f.rank, c."Id"
            """).ToListAsync(ct);

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
        var q = await embeddings.EmbedAsync(credential, [query.Length > 2000 ? query[..2000] : query],
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
