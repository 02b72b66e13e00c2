using System.ComponentModel.DataAnnotations;

namespace Switchboard.Brain;

/// <summary>
/// Configuration section <c>Switchboard:Brain</c>: the platform's default OpenAI-compatible chat model, used by tenants
/// that stored no <c>openai</c> credential. With no <see cref="ApiKey"/> the offline receptionist answers.
/// </summary>
internal sealed class BrainOptions
{
    public const string Section = "Switchboard:Brain";

    /// <summary>Base URL including <c>/v1</c>, e.g. <c>https://api.openai.com/v1</c>.</summary>
    public string BaseUrl { get; set; } = "https://api.openai.com/v1";

    /// <summary>Platform key; null or empty means no platform model.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Chat model name sent as <c>model</c>.</summary>
    [Required]
    public string Model { get; set; } = "gpt-4o-mini";

    /// <summary>Longest wait for the model's whole answer (tool rounds included), in seconds; then the offline receptionist answers.</summary>
    [Range(1, 300)]
    public int TimeoutSeconds { get; set; } = 30;

    /// <summary>Most model round trips per visitor message (each tool result is one more).</summary>
    [Range(1, 10)]
    public int MaxToolRounds { get; set; } = 4;

    /// <summary>Most tokens of one answer (<c>max_completion_tokens</c>).</summary>
    [Range(16, 4000)]
    public int MaxOutputTokens { get; set; } = 400;
}

/// <summary>What a brain streams back for one visitor message.</summary>
internal abstract record BrainEvent;

/// <summary>A piece of the answer's text, in order.</summary>
internal sealed record TextDelta(string Text) : BrainEvent;

/// <summary>A tool ran: its name, the arguments as JSON, and its output (or error) for the model.</summary>
internal sealed record ToolRan(string Name, string Arguments, string Output) : BrainEvent;

/// <summary>The conversation's lead was created or completed; <paramref name="Urgency"/> is <c>emergency</c>, <c>soon</c> or <c>routine</c>.</summary>
internal sealed record LeadCaptured(string Urgency, bool StaffAlerted) : BrainEvent;

/// <summary>A passage of the tenant's knowledge base: its document title and text.</summary>
internal sealed record KnowledgePassage(string Title, string Text);

/// <summary>
/// The seam to the tenant's knowledge base (issue 14 §3, built in <c>Knowledge/</c>): the best passages for a visitor's
/// question, best first. Until the knowledge base is wired, <see cref="NoKnowledge"/> finds nothing.
/// </summary>
internal interface IKnowledgeLookup
{
    /// <summary>At most <paramref name="limit"/> passages of <paramref name="tenantId"/>'s knowledge base for <paramref name="query"/>.</summary>
    Task<IReadOnlyList<KnowledgePassage>> SearchAsync(Guid tenantId, string query, int limit, CancellationToken ct);
}

/// <summary>A knowledge base that knows nothing (no knowledge module wired).</summary>
internal sealed class NoKnowledge : IKnowledgeLookup
{
    public Task<IReadOnlyList<KnowledgePassage>> SearchAsync(Guid tenantId, string query, int limit, CancellationToken ct) =>
        Task.FromResult<IReadOnlyList<KnowledgePassage>>([]);
}
