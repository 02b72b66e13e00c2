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
/// pre-folded terms (<see cref="TextFolding"/>); a query is built only from those <c>[a-z0-9]</c> terms (OR-ed, prefix
/// match for terms of 4+ characters) AND the tenant's own term, so user text is never FTS syntax. When the tenant's chunks
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
    public void Invalidate(Guid tenantId) => cache.Remove(("kb-vectors", tenantId));

    /// <summary>The FTS query for SQLite FTS5: <c>"kbt…" AND ("inond"* OR "eau")</c>.</summary>
    internal static string Fts5Query(Guid tenantId, IReadOnlyList<string> terms) =>
        $"\"{TextFolding.TenantTerm(tenantId)}\" AND ({string.Join(" OR ", terms.Select(t => "\"" + t.Replace("\"", "\"\"") + "\"" + (t.Length >= 4 ? "*" : "")))})";

    /// <summary>The tsquery operand list for PostgreSQL: <c>inond:* | eau</c> (terms are <c>[a-z0-9]</c> only).</summary>
    internal static string TsQuery(IReadOnlyList<string> terms) =>
        string.Join(" | ", terms.Select(t => t + (t.Length >= 4 ? ":*" : "")));

    private async Task<List<ChunkRow>> KeywordAsync(Guid tenantId, List<string> terms, CancellationToken ct)
    {
        if (db.Database.IsNpgsql())
        {
            // The filter query carries the tenant's term (GIN intersects posting lists); ranking uses the terms alone.
            var filter = TextFolding.TenantTerm(tenantId) + " & (" + TsQuery(terms) + ")";
            var ranking = TsQuery(terms);
            return await db.Database.SqlQuery<ChunkRow>($"""
                SELECT c."Id" AS "ChunkId", c."DocumentId", d."Title", c."Heading", c."Text", c."SearchText",
                       ts_rank(c."SearchVector", to_tsquery('simple', {ranking}), 1)::float8 AS "Score"
                FROM knowledge_chunks c
                JOIN knowledge_documents d ON d."Id" = c."DocumentId"
                WHERE c."TenantId" = {tenantId} AND c."SearchVector" @@ to_tsquery('simple', {filter})
                ORDER BY "Score" DESC, c."Id"
                LIMIT {Candidates}
                """).ToListAsync(ct);
        }
        var match = Fts5Query(tenantId, terms);
        return await db.Database.SqlQuery<ChunkRow>($"""
            SELECT c."Id" AS "ChunkId", c."DocumentId", d."Title", c."Heading", c."Text", c."SearchText", -f.rank AS "Score"
            FROM (SELECT rowid, rank FROM knowledge_fts WHERE knowledge_fts MATCH {match} ORDER BY rank LIMIT {Candidates}) f
            JOIN knowledge_chunks c ON c."Id" = f.rowid
            JOIN knowledge_documents d ON d."Id" = c."DocumentId"
            WHERE c."TenantId" = {tenantId}
            ORDER BY f.rank, c."Id"
            """).ToListAsync(ct);
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

    /// <summary>How many query terms occur in the chunk's indexed terms (prefix match for terms of 4+ characters, as the FTS query).</summary>
    private static int Matched(List<string> terms, string searchText)
    {
        var words = searchText.Split(' ');
        return terms.Count(t => t.Length >= 4 ? words.Any(w => w.StartsWith(t, StringComparison.Ordinal)) : words.Contains(t));
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
