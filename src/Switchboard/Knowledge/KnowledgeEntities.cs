namespace Switchboard.Knowledge;

/// <summary>
/// A document of a tenant's knowledge base: where it came from, its extracted plain text (kept for re-indexing and
/// export) and a SHA-256 of that text (duplicates are refused). Its chunks are <see cref="KnowledgeChunk"/> rows.
/// </summary>
internal sealed class KnowledgeDocument
{
    public Guid Id { get; set; }
    public Guid TenantId { get; set; }
    public required string Title { get; set; }

    /// <summary><c>text</c>, <c>markdown</c>, <c>html</c>, <c>pdf</c> or <c>url</c>.</summary>
    public required string SourceType { get; set; }

    /// <summary>The page a <c>url</c> document was fetched from (re-fetched on re-index).</summary>
    public string? SourceUrl { get; set; }

    /// <summary>The original file name of an upload, if given.</summary>
    public string? FileName { get; set; }

    /// <summary><c>fr</c>, <c>en</c>, or null when mixed or unknown.</summary>
    public string? Language { get; set; }

    /// <summary>The extracted plain text, sections separated by blank lines.</summary>
    public required string ContentText { get; set; }

    /// <summary>Hex SHA-256 of <see cref="ContentText"/>.</summary>
    public required string Sha256 { get; set; }
    public int Characters { get; set; }
    public int ChunkCount { get; set; }

    /// <summary>Chunks that carry an embedding (0 without an OpenAI-compatible credential).</summary>
    public int EmbeddedChunks { get; set; }

    /// <summary>The <c>ETag</c> / <c>Last-Modified</c> a URL answered with, for polite re-fetches.</summary>
    public string? ETag { get; set; }
    public string? LastModified { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public DateTimeOffset IndexedAt { get; set; }
}

/// <summary>
/// One retrieval unit of a document. <see cref="Id"/> is an integer so the SQLite FTS5 index can use it as its rowid
/// (external-content table <c>knowledge_fts</c>, kept in sync by triggers); PostgreSQL indexes a generated
/// <c>tsvector</c> column over <see cref="SearchText"/> (not mapped on SQLite).
/// </summary>
internal sealed class KnowledgeChunk
{
    public long Id { get; set; }
    public Guid TenantId { get; set; }
    public Guid DocumentId { get; set; }

    /// <summary>Position in the document, from 0.</summary>
    public int Ordinal { get; set; }

    /// <summary>Heading path, e.g. <c>Services › Débouchage</c>.</summary>
    public string? Heading { get; set; }
    public required string Text { get; set; }

    /// <summary>The indexed terms (<see cref="TextFolding.SearchText"/>): tenant term, then folded, stemmed words.</summary>
    public required string SearchText { get; set; }
    public string? Language { get; set; }

    /// <summary>Unit-length float32 vector, little-endian; null when no embedding endpoint is configured.</summary>
    public byte[]? Embedding { get; set; }
    public string? EmbeddingModel { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}
