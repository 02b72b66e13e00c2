using Microsoft.EntityFrameworkCore;
using Switchboard.Platform.Database;

namespace Switchboard.Knowledge;

/// <summary>
/// Brings chunks indexed by an older <see cref="TextFolding"/> up to date, once per start. Before 27a8dab the tokenizer kept only
/// ASCII letters and digits, so a Hebrew, Arabic, Greek or Cyrillic chunk was indexed with nothing but its tenant's term (or
/// only its Latin words) and stayed unsearchable until someone re-indexed its document by hand. Such a chunk is recognised in
/// SQL, without reading the others: its <see cref="KnowledgeChunk.SearchText"/> is all ASCII while its text holds a letter of a
/// non-Latin script (a character from U+0370 to U+1DBF, U+1F00 to U+1FFF or from U+2E80 on: Latin accents fold to ASCII,
/// typographic punctuation and symbols do not count). Its terms are computed again and written when they differ (the FTS5
/// index follows by trigger, PostgreSQL's <c>tsvector</c> is generated). Chunks indexed by the current tokenizer are left
/// alone. A pass that completes is recorded in <c>__switchboard_migrations</c> (the record of one-off work done to the
/// database, read and written like a migration's: id <see cref="Marker"/>, for <see cref="TextFolding.Version"/>), so later
/// starts read one row instead of scanning every chunk. Two nodes starting together may both scan: the rewrite is
/// idempotent and the marker is inserted once. Chunks written after the marker are indexed by the current tokenizer.
/// </summary>
internal sealed class KnowledgeTermsRefresh(IServiceScopeFactory scopes, ILogger<KnowledgeTermsRefresh> logger) : BackgroundService
{
    /// <summary>Chunks read and rewritten per batch (one short write each).</summary>
    internal const int Batch = 200;

    /// <summary>The id recorded in <c>__switchboard_migrations</c> once a pass for the current tokenizer completes.</summary>
    internal static readonly string Marker = $"pass:knowledge_terms_v{TextFolding.Version}";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var refreshed = await RunOnceAsync(scope.ServiceProvider, stoppingToken);
            if (refreshed > 0)
            {
                logger.LogInformation("Knowledge base: {Chunks} chunks indexed by an older tokenizer were indexed again", refreshed);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            logger.LogError(e, "Knowledge base: re-indexing chunks of an older tokenizer failed; their documents can be re-indexed by hand");
        }
    }

    /// <summary>
    /// The start's pass: null, reading nothing else, when <see cref="Marker"/> says a pass for this tokenizer completed;
    /// otherwise <see cref="RefreshAsync"/>, then the marker (so a pass cut short by a stop runs again at the next start).
    /// Returns how many chunks were rewritten. Errors are the database's.
    /// </summary>
    internal static async Task<int?> RunOnceAsync(IServiceProvider services, CancellationToken ct)
    {
        var db = services.GetRequiredService<SwitchboardDbContext>();
        if (await db.Database.SqlQuery<int>($"""SELECT COUNT(*) AS "Value" FROM __switchboard_migrations WHERE id = {Marker}""").SingleAsync(ct) > 0)
        {
            return null;
        }
        var refreshed = await RefreshAsync(services, ct);
        var at = services.GetRequiredService<TimeProvider>().GetUtcNow().ToString("O");
        using (await services.GetRequiredService<SqliteWriteGate>().EnterAsync(db, ct))
        {
            await db.Database.ExecuteSqlAsync($"INSERT INTO __switchboard_migrations (id, applied_at) VALUES ({Marker}, {at}) ON CONFLICT (id) DO NOTHING", ct);
        }
        return refreshed;
    }

    /// <summary>Re-indexes every stale chunk (see the class); returns how many were rewritten. Errors are the database's.</summary>
    internal static async Task<int> RefreshAsync(IServiceProvider services, CancellationToken ct)
    {
        var db = services.GetRequiredService<SwitchboardDbContext>();
        var gate = services.GetRequiredService<SqliteWriteGate>();
        var search = services.GetRequiredService<KnowledgeSearch>();
        var refreshed = 0;
        var after = 0L;
        while (true)
        {
            var batch = db.Database.IsNpgsql()
                ? await db.Database.SqlQuery<StaleChunk>($"""
                    SELECT "Id", "TenantId", "Heading", "Text", "SearchText" FROM knowledge_chunks
                    WHERE "Id" > {after} AND "SearchText" !~ '[^\x01-\x7f]'
                      AND (coalesce("Heading", '') || "Text") ~ '[\u0370-\u1dbf\u1f00-\u1fff\u2e80-\uffff]'
                    ORDER BY "Id" LIMIT {Batch}
                    """).ToListAsync(ct)
                : await db.Database.SqlQuery<StaleChunk>($"""
                    SELECT "Id", "TenantId", "Heading", "Text", "SearchText" FROM knowledge_chunks
                    WHERE "Id" > {after} AND NOT "SearchText" GLOB '*[^ -~]*'
                      AND (coalesce("Heading", '') || "Text") GLOB '*[Ͱ-᷿ἀ-῿⺀-￿]*'
                    ORDER BY "Id" LIMIT {Batch}
                    """).ToListAsync(ct);
            if (batch.Count == 0)
            {
                return refreshed;
            }
            after = batch[^1].Id;
            var changed = batch.Select(c => (c.Id, c.TenantId, Terms: TextFolding.SearchText(c.TenantId, c.Heading, c.Text), c.SearchText))
                .Where(c => c.Terms != c.SearchText).ToList();
            if (changed.Count == 0)
            {
                continue;
            }
            using (await gate.EnterAsync(db, ct))
            {
                foreach (var c in changed)
                {
                    await db.KnowledgeChunks.IgnoreQueryFilters().Where(x => x.Id == c.Id && x.SearchText == c.SearchText)
                        .ExecuteUpdateAsync(s => s.SetProperty(x => x.SearchText, c.Terms), ct);
                }
            }
            foreach (var tenantId in changed.Select(c => c.TenantId).Distinct())
            {
                search.Invalidate(tenantId);
            }
            refreshed += changed.Count;
        }
    }

    /// <summary>A chunk that may be stale: its id, tenant, heading, text and stored terms.</summary>
    internal sealed class StaleChunk
    {
        public long Id { get; set; }
        public Guid TenantId { get; set; }
        public string? Heading { get; set; }
        public string Text { get; set; } = "";
        public string SearchText { get; set; } = "";
    }
}
