using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Switchboard.Alerts;
using Switchboard.Assistants;
using Switchboard.Brain;
using Switchboard.Platform.Database;
using Switchboard.Tenancy;
using Switchboard.Webhooks;

namespace Switchboard.Calls;

/// <summary>
/// What happens once a conversation is over, whichever way it came in (a Vapi end-of-call report, or a native
/// Twilio media stream that stopped): the lead is derived (<see cref="LeadExtractor"/>: structured data, then the
/// last <c>capture_lead</c> arguments, then the caller's own words), stored or completed, its urgency classified,
/// and the tenant's SMS alerts queued (<see cref="AlertService"/>: one per call, purpose and recipient, so an
/// emergency already texted during the call is not texted again), then the tenant's webhook events (<c>lead.created</c>,
/// <c>lead.urgent</c>, <c>call.ended</c>, <c>recording.ready</c>, <c>call.analyzed</c>). Rows are added to the caller's
/// unit of work.
/// </summary>
internal sealed class PostCallPipeline(
    SwitchboardDbContext db, AlertService alerts, WebhookEventPublisher webhooks, Outbound.DoNotCallList dnc, Outbound.AutoCallbacks callbacks, Compliance.AuditLog audit,
    Outbound.Campaigns.CampaignResults campaigns, TimeProvider clock)
{
    /// <summary>Runs the pipeline on <paramref name="call"/>; returns the lead, or null when the call left none.</summary>
    /// <param name="tenant">The call's tenant (urgency rules, alert policy, hours).</param>
    /// <param name="assistant">The assistant that took the call; its alert policy overrides the tenant's.</param>
    /// <param name="call">The finished call.</param>
    /// <param name="structuredData">Provider analysis (Vapi <c>analysis.structuredData</c>), if any.</param>
    /// <param name="captured">The latest <c>capture_lead</c> arguments of the call, if any.</param>
    /// <param name="callerText">What the caller said (user turns, one per line).</param>
    /// <param name="ct">Cancellation.</param>
    /// <param name="extractLead">False when the conversation left nothing to read (a native call nobody spoke in): the call
    /// is still analyzed and its end published, but no lead is made from the caller's number alone.</param>
    /// <param name="keyedNumber">A callback number the caller keyed on the phone (DTMF), in E.164, if any (<see cref="LeadExtractor.FromConversation"/>).</param>
    public async Task<Lead?> RunAsync(
        Tenant tenant, Assistant? assistant, Call call, JsonElement? structuredData, LeadDraft? captured, string? callerText, CancellationToken ct,
        bool extractLead = true, string? keyedNumber = null)
    {
        Lead? lead = null;
        var draft = extractLead
            ? LeadExtractor.FromConversation(structuredData, captured, callerText, call.Summary, call.CustomerNumber, tenant.UrgencyRules,
                Platform.Phones.Phones.RegionOf(tenant.Locale), keyedNumber)
            : null;
        if (draft is not null)
        {
            lead = await ToolRegistry.UpsertLeadAsync(db, call, draft, clock.GetUtcNow(), ct);
            await alerts.QueueLeadAlertsAsync(tenant, assistant, call, lead, ct);
            await webhooks.PreloadAsync(call.TenantId, WebhookEventPublisher.CallEndFacts(call, lead), ct); // the lead's and the call's events in one lookup
            await webhooks.LeadAsync(lead, ct); // lead.created, lead.urgent
            // Native calls and web chats have no provider summary: write one from the lead so lists and search show it.
            call.Summary ??= LeadSummary.Write(lead, call.Language ?? tenant.Locale);
        }
        await HonourDoNotCallRequestAsync(tenant, call, callerText, ct);
        await callbacks.ScheduleIfDueAsync(tenant, assistant, call, lead, ct); // a short call that left no details: call back later
        call.Analyzed = true;
        await campaigns.CallEndedAsync(call, ct); // a campaign contact's call: its result, or its retry
        await webhooks.CallEndedAsync(call, ct); // call.ended, recording.ready, call.analyzed
        return lead;
    }

    /// <summary>
    /// Commits the unit of work of <paramref name="db"/> in which <see cref="RunAsync"/> ran on the call <paramref name="callId"/>,
    /// provided no other unit ran it first: the pipeline of a native call can be run by its stream's end, after a warm transfer,
    /// by a recorded message or by <see cref="Twilio.NativeCallCloser"/>, and a Vapi call's by its end-of-call report or by
    /// <see cref="Vapi.VapiMissingReportCloser"/>, on any node, each having read the call not analyzed.
    /// The claim is a conditional update (<c>SET "Analyzed" = true WHERE "Id" = … AND NOT "Analyzed"</c>) in the transaction
    /// that saves the unit's lead, alerts and events, so exactly one unit commits them: on PostgreSQL the row lock makes a
    /// second claim wait for the first's commit and then match no row (READ COMMITTED re-checks the condition); on SQLite
    /// the single writer orders them. Returns false, with nothing saved, when another unit had claimed the call: the caller
    /// discards its unit (<c>ChangeTracker.Clear</c>) and, if it still has something to write, reads the call again.
    /// </summary>
    /// <exception cref="Microsoft.EntityFrameworkCore.DbUpdateException">The save failed (SQLite busy: the caller retries the unit).</exception>
    public static async Task<bool> SaveClaimedAsync(SwitchboardDbContext db, SqliteWriteGate writes, Guid callId, CancellationToken ct)
    {
        using var turn = await writes.EnterAsync(db, ct);
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        if (!await ClaimAsync(db, callId, ct))
        {
            return false;
        }
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return true;
    }

    /// <summary>
    /// The claim of <see cref="SaveClaimedAsync"/> alone, for a unit saved by its own path (the Vapi <c>end-of-call-report</c>,
    /// as a deferred write of its save): <c>UPDATE calls SET "Analyzed" = true WHERE "Id" = … AND NOT "Analyzed"</c>; true when
    /// it matched the call, false when another unit had claimed it. Run it inside the transaction that saves the pipeline's rows.
    /// </summary>
    public static async Task<bool> ClaimAsync(SwitchboardDbContext db, Guid callId, CancellationToken ct) =>
        await db.Calls.Where(c => c.Id == callId && !c.Analyzed).ExecuteUpdateAsync(s => s.SetProperty(c => c.Analyzed, true), ct) > 0;

    /// <summary>
    /// The caller asked not to be called again ("ne m'appelez plus", "don't call me again": <see cref="Outbound.DoNotCallPhrases"/>):
    /// their number joins the tenant's do-not-call list at once (CRTC: within 14 days; TCPA: 10 business days), with an
    /// audit entry <c>dnc.added</c> naming the call and the words.
    /// </summary>
    private async Task HonourDoNotCallRequestAsync(Tenant tenant, Call call, string? callerText, CancellationToken ct)
    {
        if (Outbound.DoNotCallPhrases.Find(callerText) is not { } words
            || Platform.Phones.Phones.SettingsNumberToE164(call.CustomerNumber, Platform.Phones.Phones.RegionOf(tenant.Locale)) is not { } e164)
        {
            return;
        }
        var (_, added) = await dnc.AddAsync(tenant.Id, e164, Outbound.DoNotCallSources.CalleeRequest, $"Said during the call: \"{words}\"", call.Id, ct);
        if (added)
        {
            await audit.AppendAsync(tenant.Id, Compliance.AuditActor.System, "dnc.added", "number:" + e164,
                new { source = Outbound.DoNotCallSources.CalleeRequest, callId = call.Id, words }, ct);
        }
    }
}
