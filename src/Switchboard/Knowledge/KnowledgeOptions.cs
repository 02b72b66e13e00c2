using System.ComponentModel.DataAnnotations;

namespace Switchboard.Knowledge;

/// <summary>Limits and switches of the knowledge base (<c>Switchboard:Knowledge</c>).</summary>
internal sealed class KnowledgeOptions
{
    public const string Section = "Switchboard:Knowledge";

    /// <summary>Largest document accepted, in bytes (text as UTF-8, or the decoded PDF). Vapi advises files under 300 KB; 5 MB leaves room for PDFs.</summary>
    [Range(1024, 50_000_000)]
    public int MaxDocumentBytes { get; set; } = 5_000_000;

    /// <summary>Largest extracted text kept per document, in characters.</summary>
    [Range(1000, 10_000_000)]
    public int MaxTextCharacters { get; set; } = 1_000_000;

    /// <summary>
    /// Most bytes a PDF's streams may decode to, all streams together (content, fonts, object streams). A deflate stream
    /// of zeros expands about 1000 times, so a 5 MB upload could stand for 5 GB: past this bound the PDF is refused as
    /// unreadable (422 <c>UNREADABLE_DOCUMENT</c>) instead of being inflated (<see cref="DocumentExtractor.FromPdf"/>).
    /// </summary>
    [Range(100_000, 2_000_000_000)]
    public long MaxPdfDecodedBytes { get; set; } = 128_000_000;

    /// <summary>Documents per tenant.</summary>
    [Range(1, 100_000)]
    public int MaxDocumentsPerTenant { get; set; } = 1000;

    /// <summary>Whole-request time limit of a URL fetch, in seconds.</summary>
    [Range(1, 120)]
    public int UrlTimeoutSeconds { get; set; } = 15;

    /// <summary>Model asked of the tenant's OpenAI-compatible <c>/embeddings</c> endpoint.</summary>
    [Required]
    public string EmbeddingModel { get; set; } = "text-embedding-3-small";

    /// <summary>Time limit of an embeddings request made while indexing, in seconds.</summary>
    [Range(1, 120)]
    public int EmbeddingTimeoutSeconds { get; set; } = 20;

    /// <summary>Time limit of the query embedding at search time, in milliseconds; past it the search is keyword-only.</summary>
    [Range(50, 10_000)]
    public int QueryEmbeddingTimeoutMs { get; set; } = 1500;

    /// <summary>When false, no embeddings are computed or used even for tenants with an OpenAI-compatible credential.</summary>
    public bool EmbeddingsEnabled { get; set; } = true;
}
