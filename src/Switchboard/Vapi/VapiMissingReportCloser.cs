using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Switchboard.Calls;
using Switchboard.Platform.Database;
using Switchboard.Tenancy;

namespace Switchboard.Vapi;

/// <summary>
/// Finishes Vapi calls whose <c>end-of-call-report</c> never came. Vapi sends each server message once and does not retry a
/// fire-and-forget one (shared/protocols/vapi-server-messages.md), so a report lost to a restart, a network fault or a
/// timeout left the call open forever: no lead from the caller's words, no SMS alert, no <c>call.ended</c>, and a call
/// shown as live. A call is closed from what was stored during it (its transcript turns, the lead a <c>capture_lead</c>
/// tool call made, the caller id) and goes through the same <see cref="PostCallPipeline"/> as a report: when no message
/// of it arrived for <see cref="VapiOptions.MissingReportMinutes"/> (Vapi touches a live call at least every few seconds
/// while anyone speaks, and hangs up on silence after <c>silenceTimeoutSeconds</c>, 30 s by default), or for
/// <see cref="VapiOptions.MissingReportAfterEndedMinutes"/> after a <c>status-update</c> said it ended (the report follows
/// within seconds, after the analysis). The call ends with <c>endedReason</c> <see cref="EndedReason"/> unless a
/// status-update gave one.
/// <para>
/// The pipeline runs once per call, whichever of this pass and the report commits first, on any node: each claims the call
/// in the transaction that saves the pipeline's rows (<see cref="PostCallPipeline.SaveClaimedAsync"/> here; the report's save
/// runs <see cref="PostCallPipeline.ClaimAsync"/> first, and its unit is replayed, the call then read analyzed, when the claim
/// is lost). A report that arrives after this pass still writes what only Vapi knows: its transcript, summary, analysis,
/// recording, cost, times and <c>endedReason</c> replace the stand-ins written here (Vapi's record of the call is the better
/// one); the lead, the alerts and the webhook events stay the ones made here, so nobody is texted twice and the business's
/// systems see one <c>lead.created</c> and one <c>call.ended</c>. So an emergency that only the report shows (its live
/// transcript messages lost as well) is not texted: a report that late is rare, as Vapi sends it seconds after the call.
/// </para>
/// </summary>
internal sealed class VapiMissingReportCloser(IServiceScopeFactory scopes, IOptions<VapiOptions> options, SqliteWriteGate writes, TimeProvider clock,
    ILogger<VapiMissingReportCloser> logger)
{
    /// <summary>The <c>endedReason</c> of a call closed here without one from Vapi.</summary>
    public const string EndedReason = "end-of-call-report-missing";

    /// <summary>Most calls closed in one pass.</summary>
    internal const int MaxPerPass = 200;

    /// <summary>Closes every Vapi call whose report is overdue; returns how many were closed.</summary>
    public async Task<int> CloseOverdueAsync(CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var silentSince = now.AddMinutes(-options.Value.MissingReportMinutes);
        var endedSince = now.AddMinutes(-options.Value.MissingReportAfterEndedMinutes);
        List<(Guid Id, Guid TenantId)> overdue;
        await using (var scope = scopes.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>();
            overdue = (await Overdue(db.Calls.IgnoreQueryFilters().AsNoTracking(), silentSince, endedSince)
                    .Take(MaxPerPass).Select(c => new { c.Id, c.TenantId }).ToListAsync(ct))
                .Where(c => !WarmUpTenant.Is(c.TenantId)).Select(c => (c.Id, c.TenantId)).ToList();
        }
        var closed = 0;
        foreach (var (id, tenantId) in overdue)
        {
            try
            {
                closed += await CloseAsync(tenantId, id, ct) ? 1 : 0;
            }
            catch (Exception e) when (e is DbUpdateException or System.Data.Common.DbException)
            {
                // A report or another node got there first (the call changed under us): the next pass sees it analyzed.
                logger.LogWarning(e, "Closing Vapi call {CallId} without its end-of-call report failed; retrying at the next pass", id);
            }
        }
        return closed;
    }

    /// <summary>
    /// Vapi calls not analyzed whose last message is older than <paramref name="silentSince"/>, or than <paramref name="endedSince"/>
    /// once a status-update said they ended, oldest first. Read through the partial index <c>IX_calls_unanalyzed</c> (migration
    /// 0036: provider, where not analyzed), so a pass reads the calls in progress, not the history.
    /// </summary>
    internal static IQueryable<Call> Overdue(IQueryable<Call> calls, DateTimeOffset silentSince, DateTimeOffset endedSince) =>
        calls.Where(c => !c.Analyzed && c.Provider == "vapi" && (c.UpdatedAt < silentSince || (c.Status == "ended" && c.UpdatedAt < endedSince)))
            .OrderBy(c => c.UpdatedAt);

    /// <summary>
    /// Closes one call from its stored turns and lead, unless it was analyzed meanwhile (idempotent), claiming it in the
    /// save (<see cref="PostCallPipeline.SaveClaimedAsync"/>): false, nothing saved, when the report's save claimed it first.
    /// Returns whether it closed it.
    /// </summary>
    public async Task<bool> CloseAsync(Guid tenantId, Guid callId, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        scope.ServiceProvider.GetRequiredService<CurrentTenant>().Set(tenantId);
        var db = scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>();
        var call = await db.Calls.FirstOrDefaultAsync(c => c.Id == callId, ct);
        if (call is null || call.Analyzed)
        {
            return false;
        }
        var turns = await db.TranscriptTurns.AsNoTracking().Where(t => t.CallId == call.Id && (t.Role == "user" || t.Role == "assistant"))
            .OrderBy(t => t.Seq).Select(t => new { t.Role, t.Text }).ToListAsync(ct);
        var lastActivity = call.UpdatedAt;
        call.Status = "ended";
        call.EndedReason ??= EndedReason;
        call.EndedAt ??= lastActivity;
        if (call.DurationSeconds is null && call.StartedAt is { } started && call.EndedAt is { } ended && ended >= started)
        {
            call.DurationSeconds = Math.Round((ended - started).TotalSeconds, 3);
        }
        call.TranscriptText ??= turns.Count > 0 ? string.Join('\n', turns.Select(t => $"{t.Role}: {t.Text}")) : null;
        call.TranscriptFinal = true;
        call.UpdatedAt = clock.GetUtcNow();

        var tenant = await db.Tenants.FirstAsync(t => t.Id == tenantId, ct);
        var assistant = call.AssistantId is { } aid ? await db.Assistants.FirstOrDefaultAsync(a => a.Id == aid, ct) : null;
        // What the assistant captured during the call (capture_lead) stands as the declared lead, as the report's tool calls would.
        var stored = await db.Leads.AsNoTracking().FirstOrDefaultAsync(l => l.CallId == call.Id, ct);
        var captured = stored is null ? null : new LeadDraft(stored.Name, stored.Phone, stored.Address, stored.Problem, stored.Urgency, stored.Source);
        var callerText = string.Join('\n', turns.Where(t => t.Role == "user").Select(t => t.Text));
        await scope.ServiceProvider.GetRequiredService<PostCallPipeline>()
            .RunAsync(tenant, assistant, call, null, captured, callerText, ct, extractLead: callerText.Length > 0 || captured is not null);
        if (!await PostCallPipeline.SaveClaimedAsync(db, writes, call.Id, ct))
        {
            // The report came since this pass read the call, and its save ran the pipeline: nothing of this unit stands.
            logger.LogInformation("Vapi call {CallId} of tenant {TenantId} was finished by its end-of-call report meanwhile", call.Id, tenantId);
            return false;
        }
        logger.LogInformation("Vapi call {CallId} of tenant {TenantId} closed without its end-of-call report ({Turns} turns stored)", call.Id, tenantId, turns.Count);
        return true;
    }
}

/// <summary>Runs <see cref="VapiMissingReportCloser"/> once a minute (<see cref="VapiOptions.MissingReportCloserEnabled"/>).</summary>
internal sealed class VapiMissingReportCloserWorker(VapiMissingReportCloser closer, IOptions<VapiOptions> options, ILogger<VapiMissingReportCloserWorker> logger)
    : Platform.MinutePass(logger)
{
    protected override bool Enabled => options.Value.MissingReportCloserEnabled;

    protected override string DoneMessage => "Closed {Count} Vapi calls whose end-of-call report never came";

    protected override Task<int> RunAsync(CancellationToken ct) => closer.CloseOverdueAsync(ct);
}
