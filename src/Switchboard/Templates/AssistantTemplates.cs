using System.Text.Json;
using System.Text.Json.Serialization;

namespace Switchboard.Templates;

/// <summary>
/// A receptionist persona for one trade in one language, ready to fill the assistant form: <c>Id</c> is
/// <c>&lt;trade&gt;-&lt;en|fr&gt;</c>; <c>Tools</c> are built-in tool names (capture_lead, check_business_hours, end_call);
/// <c>Languages</c> are BCP 47 tags, the template's own language first; <c>UrgencyCues</c> are phrases that make a call an
/// emergency or urgent for this trade (shown to the owner; the instructions tell the assistant what to do with them).
/// </summary>
public sealed record AssistantTemplate(
    string Id, string Trade, string Language, string Name, string AssistantName, string FirstMessage, string Instructions,
    IReadOnlyList<string> UrgencyCues, IReadOnlyList<string> Tools, IReadOnlyList<string> Languages);

/// <summary>The gallery: <c>{"items":[AssistantTemplate…]}</c>, trades in catalogue order, English before French.</summary>
public sealed record AssistantTemplateList(IReadOnlyList<AssistantTemplate> Items);

/// <summary>
/// The template gallery, read once from the embedded <c>assistant-templates.json</c> (one entry per trade with its
/// <c>en</c> and <c>fr</c> texts and shared tools). Templates are data, not code: edit the JSON to add or change one.
/// </summary>
internal sealed class AssistantTemplateCatalog
{
    /// <summary>The two gallery languages and the assistant languages each one implies (own language first).</summary>
    public static readonly IReadOnlyDictionary<string, string[]> GalleryLanguages = new Dictionary<string, string[]>
    {
        ["en"] = ["en-US", "fr-CA"],
        ["fr"] = ["fr-CA", "en-US"],
    };

    private sealed record Texts(string Name, string AssistantName, string FirstMessage, string Instructions, List<string> UrgencyCues);

    /// <summary>One trade; <c>UrgencyLevel</c> says what its cues mean: <c>emergency</c> (the default: text the on-call now) or <c>soon</c>.</summary>
    private sealed record Entry(string Trade, Texts En, Texts Fr, List<string> Tools, string? UrgencyLevel = null);

    public AssistantTemplateCatalog()
    {
        using var stream = typeof(AssistantTemplateCatalog).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"Embedded resource {ResourceName} is missing.");
        var entries = JsonSerializer.Deserialize<List<Entry>>(stream, new JsonSerializerOptions(JsonSerializerDefaults.Web) { UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow })
            ?? throw new InvalidOperationException("assistant-templates.json is empty.");
        All = [.. entries.SelectMany(e => new[] { ToTemplate(e, "en", e.En), ToTemplate(e, "fr", e.Fr) })];
        cues = entries.ToDictionary(e => e.Trade, e => (e.UrgencyLevel ?? "emergency", (IReadOnlyList<string>)[.. e.En.UrgencyCues, .. e.Fr.UrgencyCues]), StringComparer.OrdinalIgnoreCase);
    }

    private readonly Dictionary<string, (string Level, IReadOnlyList<string> Cues)> cues;

    /// <summary>
    /// The urgency rules of a business of <paramref name="trade"/> (a template trade such as <c>plumbing</c>): the generic
    /// cues plus the trade's own in English and French, as emergencies or as soon-needed by the trade's level; plumbing
    /// starts from <see cref="Tenancy.UrgencyRules.Plumbing"/> (Drain Fortin's). An unknown or empty trade gets the generic rules.
    /// </summary>
    internal Tenancy.UrgencyRules UrgencyRulesFor(string? trade)
    {
        var start = string.Equals(trade, "plumbing", StringComparison.OrdinalIgnoreCase) ? Tenancy.UrgencyRules.Plumbing : Tenancy.UrgencyRules.Generic;
        if (trade is null || !cues.TryGetValue(trade, out var own))
        {
            return start;
        }
        return own.Level == "soon"
            ? start with { Soon = [.. start.Soon.Concat(own.Cues).Distinct(StringComparer.OrdinalIgnoreCase)] }
            : start with { Emergency = [.. start.Emergency.Concat(own.Cues).Distinct(StringComparer.OrdinalIgnoreCase)] };
    }

    internal const string ResourceName = "Switchboard.Templates.assistant-templates.json";

    /// <summary>Every template: each trade in English then French.</summary>
    public IReadOnlyList<AssistantTemplate> All { get; }

    private static AssistantTemplate ToTemplate(Entry e, string language, Texts t) =>
        new($"{e.Trade}-{language}", e.Trade, language, t.Name, t.AssistantName, t.FirstMessage, t.Instructions, t.UrgencyCues, e.Tools, GalleryLanguages[language]);
}
