using System.Text.Json;
using Switchboard.Alerts;
using Switchboard.Assistants;
using Switchboard.Brain;
using Switchboard.Platform.Database;
using Switchboard.Tenancy;

namespace Switchboard.Calls;

/// <summary>
/// What happens once a conversation is over, whichever way it came in (a Vapi end-of-call report, or a native
/// Twilio media stream that stopped): the lead is derived (<see cref="LeadExtractor"/>: structured data, then the
/// last <c>capture_lead</c> arguments, then the caller's own words), stored or completed, its urgency classified,
/// and the tenant's SMS alerts queued (<see cref="AlertService"/>: one per call, purpose and recipient, so an
/// emergency already texted during the call is not texted again). Rows are added to the caller's unit of work.
/// </summary>
internal sealed class PostCallPipeline(SwitchboardDbContext db, AlertService alerts, TimeProvider clock)
{
    /// <summary>Runs the pipeline on <paramref name="call"/>; returns the lead, or null when the call left none.</summary>
    /// <param name="tenant">The call's tenant (urgency rules, alert policy, hours).</param>
    /// <param name="assistant">The assistant that took the call; its alert policy overrides the tenant's.</param>
    /// <param name="call">The finished call.</param>
    /// <param name="structuredData">Provider analysis (Vapi <c>analysis.structuredData</c>), if any.</param>
    /// <param name="captured">The latest <c>capture_lead</c> arguments of the call, if any.</param>
    /// <param name="callerText">What the caller said (user turns, one per line).</param>
    /// <param name="ct">Cancellation.</param>
    public async Task<Lead?> RunAsync(
        Tenant tenant, Assistant? assistant, Call call, JsonElement? structuredData, LeadDraft? captured, string? callerText, CancellationToken ct)
    {
        Lead? lead = null;
        var draft = LeadExtractor.FromConversation(structuredData, captured, callerText, call.Summary, call.CustomerNumber, tenant.UrgencyRules);
        if (draft is not null)
        {
            lead = await ToolRegistry.UpsertLeadAsync(db, call, draft, clock.GetUtcNow(), ct);
            await alerts.QueueLeadAlertsAsync(tenant, assistant, call, lead, ct);
        }
        call.Analyzed = true;
        return lead;
    }
}
