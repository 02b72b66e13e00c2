using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Switchboard.Compliance;
using Switchboard.Platform.Database;
using Switchboard.Platform.Http;
using Switchboard.Tenancy;

namespace Switchboard.Knowledge;

/// <summary>
/// A knowledge-base document. <c>SourceType</c>: <c>text</c>, <c>markdown</c>, <c>html</c>, <c>pdf</c>, <c>url</c>;
/// <c>Language</c>: <c>fr</c>, <c>en</c> or null; <c>Characters</c> of extracted text; <c>EmbeddedChunks</c> of
/// <c>ChunkCount</c> carry an embedding (0 without an OpenAI-compatible credential).
/// </summary>
public sealed record KnowledgeDocumentDto(
    Guid Id, string Title, string SourceType, string? SourceUrl, string? FileName, string? Language, int Characters, int ChunkCount,
    int EmbeddedChunks, string Sha256, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, DateTimeOffset IndexedAt);

/// <summary>A chunk of a document: its id (cited by search hits), position, heading path and text.</summary>
public sealed record KnowledgeChunkDto(long Id, int Ordinal, string? Heading, string Text, string? Language, bool Embedded);

/// <summary>A document with its extracted text and chunks.</summary>
public sealed record KnowledgeDocumentDetailDto(KnowledgeDocumentDto Document, string Text, IReadOnlyList<KnowledgeChunkDto> Chunks);

/// <summary>Search results: the terms the query was reduced to, and the hits, best first.</summary>
public sealed record KnowledgeSearchDto(string Query, IReadOnlyList<string> Terms, IReadOnlyList<KnowledgeHit> Hits);

/// <summary>
/// <c>/api/v1/knowledge</c>: the tenant's knowledge base (issue 14 §3). Documents go in as JSON (text, Markdown and HTML
/// in <c>content</c>, a PDF base64-encoded in <c>contentBase64</c>, a web page or file by <c>url</c>) or as a
/// <c>multipart/form-data</c> file upload (<see cref="KnowledgeUpload"/>). Reading needs <c>Read</c>; adding, deleting and re-indexing need <c>Configure</c> and are
/// audited. Not plan-gated: every plan answers from its knowledge base (limits in <see cref="KnowledgeOptions"/>).
/// </summary>
internal static class KnowledgeApi
{
    public static RouteGroupBuilder MapKnowledge(this RouteGroupBuilder api)
    {
        var knowledge = ((IEndpointRouteBuilder)api).ServiceProvider.GetRequiredService<IOptions<KnowledgeOptions>>().Value;
        var group = api.MapGroup("/knowledge").WithTags("Knowledge");
        group.MapGet("/", ListAsync).RequirePermission(Permission.Read).WithSummary("The knowledge base's documents");
        group.MapGet("/search", SearchAsync).RequirePermission(Permission.Read)
            .WithSummary("Search the knowledge base (as the assistant does)")
            .WithDescription("q: any text (at most 2000 characters are read); limit: 1–20 (default 5). Hits carry their citation (document, chunk).")
            .ProducesErrors(422);
        group.MapGet("/{id:guid}", GetAsync).RequirePermission(Permission.Read).WithSummary("One document, its text and chunks").ProducesErrors(404);
        group.MapPost("/", AddAsync).RequirePermission(Permission.Configure)
            .WithSummary("Add a document (text, markdown, html, pdf as base64, or url; or a file upload)")
            .WithDescription("JSON: type=text|markdown|html: content is the text. type=pdf: contentBase64 is the file. type=url: url is fetched once " +
                             "(https, public addresses only, no redirects, 15 s, 5 MB; text/html, text/plain, text/markdown or application/pdf). " +
                             "multipart/form-data: file (.pdf, .md, .html, .txt; at most 5 MB), optional title and type; another file type is a 415, " +
                             "a text file that is not text (NUL or other control bytes; UTF-8, else read as Windows-1252) a 422 NOT_UTF8_TEXT. " +
                             "The text is chunked (800–1200 characters, split at headings, paragraphs, sentences) and indexed at once.")
            .Accepts<KnowledgeDocumentRequest>("application/json", "multipart/form-data")
            .AddOpenApiOperationTransformer((operation, _, _) => KnowledgeUpload.DescribeForm(operation))
            .WithRequestBodyLimit(KnowledgeUpload.MaxRequestBytes(knowledge), "DOCUMENT_TOO_LARGE", KnowledgeUpload.TooLargeMessage(knowledge))
            .ProducesErrors(400, 403, 409, 413, 415, 422);
        group.MapPost("/{id:guid}/reindex", ReindexAsync).RequirePermission(Permission.Configure)
            .WithSummary("Re-chunk and re-index a document (a url document is fetched again)").ProducesErrors(403, 404, 409, 413, 422);
        group.MapDelete("/{id:guid}", DeleteAsync).RequirePermission(Permission.Configure).WithSummary("Delete a document and its chunks").ProducesErrors(403, 404);
        return api;
    }

    internal static KnowledgeDocumentDto ToDto(KnowledgeDocument d) => new(d.Id, d.Title, d.SourceType, d.SourceUrl, d.FileName, d.Language,
        d.Characters, d.ChunkCount, d.EmbeddedChunks, d.Sha256, d.CreatedAt, d.UpdatedAt, d.IndexedAt);

    private static async Task<Ok<List<KnowledgeDocumentDto>>> ListAsync(SwitchboardDbContext db, CancellationToken ct) =>
        TypedResults.Ok((await db.KnowledgeDocuments.AsNoTracking().OrderBy(d => d.CreatedAt).ToListAsync(ct)).Select(ToDto).ToList());

    private static async Task<Results<Ok<KnowledgeDocumentDetailDto>, JsonHttpResult<ErrorEnvelope>>> GetAsync(Guid id, SwitchboardDbContext db, CancellationToken ct)
    {
        if (await db.KnowledgeDocuments.AsNoTracking().FirstOrDefaultAsync(d => d.Id == id, ct) is not { } document)
        {
            return NotFound();
        }
        var chunks = await db.KnowledgeChunks.AsNoTracking().Where(c => c.DocumentId == id).OrderBy(c => c.Ordinal)
            .Select(c => new KnowledgeChunkDto(c.Id, c.Ordinal, c.Heading, c.Text, c.Language, c.Embedding != null)).ToListAsync(ct);
        return TypedResults.Ok(new KnowledgeDocumentDetailDto(ToDto(document), document.ContentText, chunks));
    }

    private static async Task<Results<Ok<KnowledgeSearchDto>, JsonHttpResult<ErrorEnvelope>>> SearchAsync(
        string? q, int? limit, HttpContext http, KnowledgeSearch search, CancellationToken ct)
    {
        if (limit is < 1 or > KnowledgeSearch.MaxLimit)
        {
            return new Validation().Add("limit", $"must be between 1 and {KnowledgeSearch.MaxLimit}").Result();
        }
        var query = q ?? "";
        var hits = await search.SearchAsync(Caller.From(http).TenantId!.Value, query, limit ?? 5, ct);
        return TypedResults.Ok(new KnowledgeSearchDto(query, TextFolding.QueryTerms(query), hits));
    }

    /// <summary>Adds a document from the JSON body or the multipart upload (<see cref="KnowledgeUpload"/>); any other body is a 415.</summary>
    private static async Task<Results<Created<KnowledgeDocumentDto>, JsonHttpResult<ErrorEnvelope>>> AddAsync(
        HttpContext http, KnowledgeIngestion ingestion, AuditLog audit, IOptions<KnowledgeOptions> options, CancellationToken ct)
    {
        KnowledgeDocumentRequest? body;
        if (http.Request.HasFormContentType)
        {
            var (form, invalid) = await KnowledgeUpload.ReadAsync(http.Request, options.Value, ct);
            if (invalid is not null)
            {
                return invalid;
            }
            body = form;
        }
        else if (http.Request.HasJsonContentType())
        {
            try
            {
                body = await http.Request.ReadFromJsonAsync<KnowledgeDocumentRequest>(ct);
            }
            catch (JsonException e)
            {
                return ApiError.BadRequest("BAD_REQUEST", RequestJson.DuplicateProperty(e) is { } duplicate
                    ? $"The body names '{duplicate}' more than once." : "The body is not a valid JSON document request.");
            }
            if (body is null)
            {
                return ApiError.BadRequest("BAD_REQUEST", "The body must be a JSON object.");
            }
        }
        else
        {
            return ApiError.Create(415, "UNSUPPORTED_MEDIA_TYPE", "Send application/json or multipart/form-data.");
        }
        var caller = Caller.From(http);
        var (document, error) = await ingestion.AddAsync(caller.TenantId!.Value, body!, ct);
        if (document is null)
        {
            return error!;
        }
        await audit.AppendAsync(caller.TenantId, caller.Actor, "knowledge.document.added", "knowledge:" + document.Id,
            new { document.SourceType, document.Title, document.SourceUrl, document.ChunkCount }, ct);
        return TypedResults.Created($"/api/v1/knowledge/{document.Id}", ToDto(document));
    }

    private static async Task<Results<Ok<KnowledgeDocumentDto>, JsonHttpResult<ErrorEnvelope>>> ReindexAsync(
        Guid id, HttpContext http, SwitchboardDbContext db, KnowledgeIngestion ingestion, AuditLog audit, CancellationToken ct)
    {
        if (await db.KnowledgeDocuments.FirstOrDefaultAsync(d => d.Id == id, ct) is not { } document)
        {
            return NotFound();
        }
        var (indexed, error) = await ingestion.ReindexAsync(document, ct);
        if (indexed is null)
        {
            return error!;
        }
        var caller = Caller.From(http);
        await audit.AppendAsync(caller.TenantId, caller.Actor, "knowledge.document.reindexed", "knowledge:" + id, new { indexed.ChunkCount }, ct);
        return TypedResults.Ok(ToDto(indexed));
    }

    private static async Task<Results<NoContent, JsonHttpResult<ErrorEnvelope>>> DeleteAsync(
        Guid id, HttpContext http, KnowledgeIngestion ingestion, AuditLog audit, CancellationToken ct)
    {
        var caller = Caller.From(http);
        if (!await ingestion.DeleteAsync(caller.TenantId!.Value, id, ct))
        {
            return NotFound();
        }
        await audit.AppendAsync(caller.TenantId, caller.Actor, "knowledge.document.deleted", "knowledge:" + id, null, ct);
        return TypedResults.NoContent();
    }

    /// <summary>404 <c>DOCUMENT_NOT_FOUND</c>: the tenant has no such document (or it was deleted while a reindex ran).</summary>
    internal static JsonHttpResult<ErrorEnvelope> NotFound() => ApiError.NotFound("DOCUMENT_NOT_FOUND", "No such document.");
}

/// <summary>Registers the knowledge base's options and services.</summary>
internal static class KnowledgeServices
{
    public static IServiceCollection AddKnowledge(this IServiceCollection services)
    {
        services.AddOptions<KnowledgeOptions>().BindConfiguration(KnowledgeOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<KnowledgeFetcher>();
        // The tenant's own OpenAI-compatible base URL: the same connect-time address check as every tenant-supplied host.
        services.AddHttpClient(KnowledgeEmbeddings.HttpClientName, http => http.Timeout = TimeSpan.FromSeconds(60))
            .ConfigurePrimaryHttpMessageHandler(sp => Platform.Net.OutboundPolicy.CreateHandler(
                () => sp.GetRequiredService<IOptions<Credentials.CredentialOptions>>().Value.AllowPrivateBaseUrls, TimeSpan.FromSeconds(10)));
        services.AddScoped<KnowledgeEmbeddings>();
        services.AddScoped<KnowledgeSearch>();
        services.AddScoped<KnowledgeIngestion>();
        // Chunks indexed by an older tokenizer (non-Latin scripts were dropped) are indexed again once after start.
        services.AddHostedService<KnowledgeTermsRefresh>();
        return services;
    }
}
