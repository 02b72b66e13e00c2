using Switchboard.Knowledge;

namespace Switchboard.Brain;

/// <summary>
/// The offline receptionist's knowledge: <see cref="KnowledgeSearch"/> (FTS, optionally fused with embeddings), keeping only
/// passages that share at least two of the question's terms (or all of them for a one-term question), so a weak match is
/// never quoted as an answer (brain-and-knowledge-base.md §3, rule 4).
/// </summary>
internal sealed class KnowledgeBaseLookup(KnowledgeSearch search) : IKnowledgeLookup
{
    public async Task<IReadOnlyList<KnowledgePassage>> SearchAsync(Guid tenantId, string query, int limit, CancellationToken ct)
    {
        var hits = await search.SearchAsync(tenantId, query, limit, ct);
        return hits.Where(h => h.MatchedTerms >= Math.Min(2, h.QueryTerms))
            .Select(h => new KnowledgePassage(h.Heading is { Length: > 0 } heading ? $"{h.DocumentTitle} — {heading}" : h.DocumentTitle, h.Text))
            .ToList();
    }
}
