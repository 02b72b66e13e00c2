using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Switchboard.Platform.Database;
using Switchboard.Platform.Http;

namespace Switchboard.Knowledge;

/// <summary>
/// Adds a document: <c>Type</c> is <c>text</c>, <c>markdown</c>, <c>html</c> (<c>Content</c>: the text), <c>pdf</c>
/// (<c>ContentBase64</c>: the file, base64) or <c>url</c> (<c>Url</c>: fetched once, https, public address, no redirect).
/// <c>Title</c> defaults to the document's own title (Markdown's first heading, HTML's <c>&lt;title&gt;</c>, the PDF's
/// metadata, else the file name or URL). Sizes are in bytes after decoding.
/// </summary>
public sealed record KnowledgeDocumentRequest(string? Type, string? Title, string? Content, string? ContentBase64, string? Url, string? FileName);

/// <summary>
/// Ingestion of the knowledge base: extraction (<see cref="DocumentExtractor"/>), chunking (<see cref="Chunker"/>),
/// optional embeddings, and the write of a document with its chunks in one transaction. Every refusal is an error
/// envelope and stores nothing: 413 <c>DOCUMENT_TOO_LARGE</c>; 422 <c>UNSUPPORTED_TYPE</c>, <c>VALIDATION_FAILED</c>,
/// <c>INVALID_BASE64</c>, <c>UNREADABLE_DOCUMENT</c>, <c>EMPTY_DOCUMENT</c>, URL refusals (<c>URL_BLOCKED</c>,
/// <c>HTTPS_REQUIRED</c>, <c>INVALID_URL</c>, <c>URL_UNRESOLVABLE</c>, <c>URL_REDIRECTED</c>, <c>URL_FETCH_FAILED</c>,
/// <c>URL_TIMEOUT</c>); 409 <c>DUPLICATE_DOCUMENT</c> (same extracted text, details: <c>documentId</c>) and
/// <c>KNOWLEDGE_BASE_FULL</c>.
/// </summary>
internal sealed class KnowledgeIngestion(
    SwitchboardDbContext db, KnowledgeFetcher fetcher, KnowledgeEmbeddings embeddings, KnowledgeSearch search, SqliteWriteGate gate,
    IOptions<KnowledgeOptions> options, TimeProvider clock, ILogger<KnowledgeIngestion> logger)
{
    public async Task<(KnowledgeDocument? Document, JsonHttpResult<ErrorEnvelope>? Error)> AddAsync(Guid tenantId, KnowledgeDocumentRequest body, CancellationToken ct)
    {
        var type = body.Type?.Trim().ToLowerInvariant();
        if (type is null || !DocumentExtractor.Types.Contains(type))
        {
            return (null, ApiError.Unprocessable("UNSUPPORTED_TYPE", $"type must be one of: {string.Join(", ", DocumentExtractor.Types)}."));
        }
        var v = new Validation().Max("title", body.Title, 300).Max("fileName", body.FileName, 300);
        if (!v.IsValid)
        {
            return (null, v.Result());
        }
        if (await db.KnowledgeDocuments.IgnoreQueryFilters().CountAsync(d => d.TenantId == tenantId, ct) >= options.Value.MaxDocumentsPerTenant)
        {
            return (null, ApiError.Conflict("KNOWLEDGE_BASE_FULL", $"The knowledge base holds at most {options.Value.MaxDocumentsPerTenant} documents."));
        }

        var (extracted, meta, error) = await ExtractAsync(type, body, ct);
        if (error is not null)
        {
            return (null, error);
        }
        var now = clock.GetUtcNow();
        var document = new KnowledgeDocument
        {
            Id = Guid.CreateVersion7(),
            TenantId = tenantId,
            Title = "",
            SourceType = type,
            SourceUrl = type == DocumentExtractor.Url ? body.Url!.Trim() : null,
            FileName = string.IsNullOrWhiteSpace(body.FileName) ? null : body.FileName.Trim(),
            ContentText = "",
            Sha256 = "",
            ETag = meta?.ETag,
            LastModified = meta?.LastModified,
            CreatedAt = now,
        };
        document.Title = Cap(FirstText(body.Title, extracted!.SuggestedTitle, document.FileName, document.SourceUrl, "Document"), 300);
        return await StoreAsync(document, extracted, isNew: true, ct);
    }

    /// <summary>
    /// Rebuilds a document's chunks (and embeddings): a <c>url</c> document is fetched again, others re-read from their stored text.
    /// 404 <c>DOCUMENT_NOT_FOUND</c> when the document was deleted while this ran.
    /// </summary>
    public async Task<(KnowledgeDocument? Document, JsonHttpResult<ErrorEnvelope>? Error)> ReindexAsync(KnowledgeDocument document, CancellationToken ct)
    {
        ExtractedDocument extracted;
        if (document.SourceType == DocumentExtractor.Url)
        {
            var (fresh, meta, error) = await ExtractAsync(DocumentExtractor.Url, new KnowledgeDocumentRequest(DocumentExtractor.Url, null, null, null, document.SourceUrl, null), ct);
            if (error is not null)
            {
                return (null, error);
            }
            extracted = fresh!;
            document.ETag = meta?.ETag;
            document.LastModified = meta?.LastModified;
        }
        else
        {
            extracted = ExtractedDocument.FromStored(document.ContentText);
            if (extracted.Error is { } problem)
            {
                return (null, ApiError.Unprocessable("EMPTY_DOCUMENT", problem));
            }
        }
        return await StoreAsync(document, extracted, isNew: false, ct);
    }

    private async Task<(KnowledgeDocument?, JsonHttpResult<ErrorEnvelope>?)> StoreAsync(KnowledgeDocument document, ExtractedDocument extracted, bool isNew, CancellationToken ct)
    {
        var text = extracted.StoredText;
        if (text.Length > options.Value.MaxTextCharacters)
        {
            return (null, ApiError.Create(413, "DOCUMENT_TOO_LARGE", $"The document's text exceeds {options.Value.MaxTextCharacters} characters."));
        }
        var sha = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
        var duplicate = await db.KnowledgeDocuments.IgnoreQueryFilters().Where(d => d.TenantId == document.TenantId && d.Sha256 == sha && d.Id != document.Id)
            .Select(d => (Guid?)d.Id).FirstOrDefaultAsync(ct);
        if (duplicate is { } existing)
        {
            return (null, ApiError.Create(409, "DUPLICATE_DOCUMENT", "The knowledge base already holds a document with the same text.", new { documentId = existing }));
        }

        var drafts = Chunker.Split(extracted.Sections);
        var now = clock.GetUtcNow();
        var chunks = drafts.Select((c, i) => new KnowledgeChunk
        {
            TenantId = document.TenantId,
            DocumentId = document.Id,
            Ordinal = i,
            Heading = c.Heading is null ? null : Cap(c.Heading, 500),
            Text = c.Text,
            SearchText = TextFolding.SearchText(document.TenantId, c.Heading, c.Text),
            Language = TextFolding.DetectLanguage(c.Text),
            CreatedAt = now,
        }).ToList();
        await EmbedAsync(document.TenantId, chunks, ct);

        document.ContentText = text;
        document.Sha256 = sha;
        document.Characters = text.Length;
        document.ChunkCount = chunks.Count;
        document.EmbeddedChunks = chunks.Count(c => c.Embedding is not null);
        document.Language = TextFolding.DetectLanguage(text);
        document.UpdatedAt = now;
        document.IndexedAt = now;

        var gone = false;
        using (await gate.EnterAsync(db, ct))
        {
            var strategy = db.Database.CreateExecutionStrategy();
            await strategy.ExecuteAsync(async () =>
            {
                gone = false;
                await using var tx = await db.Database.BeginTransactionAsync(ct);
                if (isNew)
                {
                    db.KnowledgeDocuments.Add(document);
                }
                else
                {
                    // A reindex re-reads its document long before this (a url is fetched again): a DELETE may have removed it
                    // since, and its new chunks would then break their foreign key (a 500). A no-op UPDATE locks the row
                    // (a DELETE now waits for this commit) and its count says whether it is still there; if not, 404.
                    if (await db.KnowledgeDocuments.IgnoreQueryFilters().Where(d => d.TenantId == document.TenantId && d.Id == document.Id)
                            .ExecuteUpdateAsync(s => s.SetProperty(d => d.UpdatedAt, d => d.UpdatedAt), ct) == 0)
                    {
                        gone = true;
                        return;
                    }
                    await db.KnowledgeChunks.IgnoreQueryFilters().Where(c => c.TenantId == document.TenantId && c.DocumentId == document.Id).ExecuteDeleteAsync(ct);
                }
                db.KnowledgeChunks.AddRange(chunks);
                await db.SaveChangesAsync(ct);
                await tx.CommitAsync(ct);
            });
        }
        db.ChangeTracker.Clear();
        if (gone)
        {
            return (null, KnowledgeApi.NotFound());
        }
        search.Invalidate(document.TenantId);
        logger.LogInformation("Knowledge document {DocumentId} indexed: {Chunks} chunks, {Embedded} embedded", document.Id, chunks.Count, document.EmbeddedChunks);
        return (document, null);
    }

    /// <summary>Deletes a document and its chunks (the FTS rows follow by trigger); false when the tenant has no such document.</summary>
    public async Task<bool> DeleteAsync(Guid tenantId, Guid documentId, CancellationToken ct)
    {
        int deleted;
        using (await gate.EnterAsync(db, ct))
        {
            deleted = await db.KnowledgeDocuments.IgnoreQueryFilters().Where(d => d.TenantId == tenantId && d.Id == documentId).ExecuteDeleteAsync(ct);
        }
        search.Invalidate(tenantId);
        return deleted > 0;
    }

    private async Task EmbedAsync(Guid tenantId, List<KnowledgeChunk> chunks, CancellationToken ct)
    {
        if (chunks.Count == 0 || await embeddings.CredentialAsync(tenantId, ct) is not { } credential)
        {
            return;
        }
        var vectors = await embeddings.EmbedAsync(credential, chunks.Select(c => c.Heading is null ? c.Text : c.Heading + "\n" + c.Text).ToList(),
            TimeSpan.FromSeconds(options.Value.EmbeddingTimeoutSeconds), ct);
        if (vectors is null)
        {
            return;
        }
        for (var i = 0; i < chunks.Count; i++)
        {
            chunks[i].Embedding = KnowledgeEmbeddings.ToBytes(vectors[i]);
            chunks[i].EmbeddingModel = Cap(options.Value.EmbeddingModel, 100);
        }
    }

    private async Task<(ExtractedDocument?, FetchedDocument?, JsonHttpResult<ErrorEnvelope>?)> ExtractAsync(string type, KnowledgeDocumentRequest body, CancellationToken ct)
    {
        var max = options.Value.MaxDocumentBytes;
        ExtractedDocument extracted;
        FetchedDocument? fetched = null;
        switch (type)
        {
            case DocumentExtractor.Pdf:
                if (string.IsNullOrWhiteSpace(body.ContentBase64))
                {
                    return (null, null, new Validation().Add("contentBase64", "is required for a pdf (the file, base64-encoded)").Result());
                }
                if ((long)body.ContentBase64.Length * 3 / 4 > max + 3)
                {
                    return (null, null, TooLarge(max));
                }
                var bytes = new byte[body.ContentBase64.Length * 3 / 4 + 3];
                if (!Convert.TryFromBase64String(body.ContentBase64.Trim(), bytes, out var written))
                {
                    return (null, null, ApiError.Unprocessable("INVALID_BASE64", "contentBase64 is not valid base64."));
                }
                if (written > max)
                {
                    return (null, null, TooLarge(max));
                }
                extracted = DocumentExtractor.FromPdf(bytes[..written], options.Value.MaxPdfDecodedBytes, options.Value.MaxTextCharacters, ct);
                break;
            case DocumentExtractor.Url:
                fetched = await fetcher.FetchAsync(body.Url, ct);
                if (fetched.Code is { } code)
                {
                    return (null, null, code == "DOCUMENT_TOO_LARGE" ? TooLarge(max) : ApiError.Unprocessable(code, fetched.Error!));
                }
                if (fetched.Type == DocumentExtractor.Pdf)
                {
                    extracted = DocumentExtractor.FromPdf(fetched.Body!, options.Value.MaxPdfDecodedBytes, options.Value.MaxTextCharacters, ct);
                }
                else if (DocumentText.Decode(fetched.Body!, fetched.Charset) is { } fetchedText)
                {
                    extracted = FromText(fetched.Type!, fetchedText);
                }
                else
                {
                    return (null, null, ApiError.Unprocessable("NOT_UTF8_TEXT",
                        "The document at the URL is not text (it holds NUL or other control bytes in its declared charset, UTF-8 or Windows-1252).",
                        new { url = body.Url, type = fetched.Type }));
                }
                break;
            default:
                if (string.IsNullOrEmpty(body.Content))
                {
                    return (null, null, new Validation().Add("content", $"is required for a {type} document").Result());
                }
                if (Encoding.UTF8.GetByteCount(body.Content) > max)
                {
                    return (null, null, TooLarge(max));
                }
                if (DocumentText.ForbiddenControlAt(body.Content) is var at and >= 0)
                {
                    // The same rule as an uploaded file's (DocumentText): NUL was refused at the edge, BEL, ESC, DEL or C1 were indexed.
                    return (null, null, new Validation().Add("content", $"{DocumentText.ControlProblem}; U+{(int)body.Content[at]:X4} at character {at}").Result());
                }
                extracted = FromText(type, body.Content);
                break;
        }
        if (extracted.Error is { } problem)
        {
            return (null, null, ApiError.Unprocessable(extracted.Sections.Count == 0 && problem.Contains("no text", StringComparison.Ordinal) ? "EMPTY_DOCUMENT" : "UNREADABLE_DOCUMENT", problem));
        }
        return (extracted, fetched, null);
    }

    private static ExtractedDocument FromText(string type, string content) => type switch
    {
        DocumentExtractor.Markdown => DocumentExtractor.FromMarkdown(content),
        DocumentExtractor.Html => DocumentExtractor.FromHtml(content),
        _ => DocumentExtractor.FromText(content),
    };

    private static JsonHttpResult<ErrorEnvelope> TooLarge(int max) => ApiError.Create(413, "DOCUMENT_TOO_LARGE", $"The document exceeds {max} bytes.");

    private static string FirstText(params string?[] values) => values.First(v => !string.IsNullOrWhiteSpace(v))!.Trim();

    /// <summary>At most <paramref name="max"/> UTF-16 units, never half a surrogate pair (which PostgreSQL's driver cannot encode).</summary>
    private static string Cap(string s, int max) => TolerantJson.Cap(s, max)!;
}
