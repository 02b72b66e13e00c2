namespace Switchboard.Calls;

/// <summary>
/// A one-line summary of a conversation written from its lead, for conversations whose provider gives none (native phone
/// calls and web chats; Vapi's end-of-call report carries <c>analysis.summary</c>, which is always kept). It is what the
/// Calls list, search and the <c>call.ended</c> webhook show, e.g. <c>Emergency — Basement flooding. Marc Tremblay, 12 rue
/// Principale, Laval.</c>; French when the conversation (or else the tenant) speaks French.
/// </summary>
internal static class LeadSummary
{
    /// <summary>The summary of <paramref name="lead"/> in <paramref name="language"/> (BCP 47; <c>fr*</c> → French, else English).</summary>
    public static string Write(Lead lead, string? language)
    {
        var french = language?.StartsWith("fr", StringComparison.OrdinalIgnoreCase) == true;
        var urgency = (lead.Urgency, french) switch
        {
            (Urgency.Emergency, true) => "Urgence",
            (Urgency.Emergency, false) => "Emergency",
            (Urgency.Soon, true) => "Rapidement",
            (Urgency.Soon, false) => "Soon",
            (_, true) => "Courant",
            _ => "Routine",
        };
        var problem = string.IsNullOrWhiteSpace(lead.Problem) ? (french ? "Demande sans détail" : "Request without details") : lead.Problem.Trim().TrimEnd('.');
        var who = string.Join(", ", new[] { lead.Name, lead.Address }.Where(s => !string.IsNullOrWhiteSpace(s)).Select(s => s!.Trim().TrimEnd('.')));
        // A problem that ends its own sentence ("…on a weekend?", "Help!") keeps its mark: no "?." (an outside probe).
        var stop = problem.Length > 0 && problem[^1] is '?' or '!' or '…' or '؟' ? "" : ".";
        return who.Length == 0 ? $"{urgency} — {problem}{stop}" : $"{urgency} — {problem}{stop} {who}.";
    }
}
