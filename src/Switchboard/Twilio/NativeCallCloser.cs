using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Switchboard.Calls;
using Switchboard.Platform.Database;
using Switchboard.Realtime.Bridge;
using Switchboard.Tenancy;

namespace Switchboard.Twilio;

/// <summary>
/// Ends native calls (<c>Provider = "twilio"</c>) whose end never came: neither the media stream's stop (the node holding
/// the socket died, or was killed before its drain) nor Twilio's terminal status callback (a number whose
/// <c>StatusCallback</c> is not Switchboard's, a callback lost after Twilio's retries; twilio-voice-sms.md §1). Such a call
/// stayed <c>in-progress</c> for ever: counted as live, no <c>call.ended</c>, no lead from what the caller said.
/// </summary>
/// <remarks>
/// A call is stale once nothing was written to it for the tenant's longest call (<c>VoiceMaxCallSeconds</c>: the bridge
/// hangs up then) plus <see cref="VoiceOptions.StaleCallMinutes"/>: a stream's start, a warm transfer's hold and a message's
/// recording each write the call, and none of them outlasts that. The call is then ended as its normal end would have
/// ended it: status <c>completed</c>, <c>endedReason</c> <see cref="EndedReason"/> unless one is already known, ended at its
/// last sign of life (its last write or transcript turn), and
/// <list type="bullet">
/// <item>bridged (it has a <c>StartedAt</c>) and not analyzed: its stored turns become the final transcript, and it goes
/// through the <see cref="PostCallPipeline"/> as at the stream's end (<see cref="VoiceCallStore.FinishAsync"/>): the lead
/// captured during the call, or read from the caller's words, alerts, <c>call.ended</c>;</item>
/// <item>never bridged, inbound: <c>call.ended</c> alone, claimed, as the terminal status callback publishes it;</item>
/// <item>never bridged, outbound: the pipeline without a lead, as the outbound status callback does;</item>
/// <item>already analyzed (a message was recorded): its end was published then; only the status changes.</item>
/// </list>
/// A status callback that arrives later changes nothing (a status only moves forward; the events are keyed by call).
/// <para>
/// A bridged call whose final status did come, but not its stream's end (Twilio's <c>completed</c> after the node holding the
/// socket died), is completed yet never analyzed: the status callback leaves a bridged call's end to its stream
/// (<see cref="TwilioVoiceApi"/>), which alone knows the captured lead. Once nothing was written to it for
/// <see cref="VoiceOptions.StaleCallMinutes"/>, it goes through the pipeline here as above (<c>endedReason</c>
/// <see cref="StreamEndMissingReason"/> unless the status gave one). Whichever of the stream's end and this pass commits
/// first runs the pipeline, on any node: each claims the call in the transaction that saves its results
/// (<see cref="PostCallPipeline.SaveClaimedAsync"/>), so lead, alerts and <c>call.ended</c> are made once.
/// </para>
/// </remarks>
internal sealed class NativeCallCloser(IServiceScopeFactory scopes, IOptions<VoiceOptions> options, SqliteWriteGate writes, TimeProvider clock,
    ILogger<NativeCallCloser> logger)
{
    /// <summary>The <c>endedReason</c> of a native call closed here, neither its stream's end nor Twilio's final status having come.</summary>
    public const string EndedReason = "status-callback-missing";

    /// <summary>
    /// The <c>endedReason</c> of a bridged native call whose end came as Twilio's final status (<c>completed</c>) alone, its
    /// stream's end never (the node holding the socket died), when the status gave no reason of its own.
    /// </summary>
    public const string StreamEndMissingReason = "stream-end-missing";

    /// <summary>Most calls closed in one pass.</summary>
    internal const int MaxPerPass = 200;

    /// <summary>Closes every stale native call; returns how many were closed.</summary>
    public async Task<int> CloseStaleAsync(CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var grace = TimeSpan.FromMinutes(options.Value.StaleCallMinutes);
        List<(Guid Id, Guid TenantId)> stale;
        await using (var scope = scopes.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>();
            var candidates = await Open(db.Calls.IgnoreQueryFilters().AsNoTracking(), now - grace)
                .Take(MaxPerPass)
                .Select(c => new { c.Id, c.TenantId, c.UpdatedAt, MaxSeconds = db.Tenants.IgnoreQueryFilters().Where(t => t.Id == c.TenantId).Select(t => t.VoiceMaxCallSeconds).FirstOrDefault() })
                .ToListAsync(ct);
            // The tenant's longest call on top of the grace: a stream started (and written) before it may still be going on.
            stale = candidates.Where(c => !Vapi.WarmUpTenant.Is(c.TenantId) && c.UpdatedAt + TimeSpan.FromSeconds(Math.Max(0, c.MaxSeconds)) + grace < now)
                .Select(c => (c.Id, c.TenantId)).ToList();
            // Ended by Twilio's final status, but bridged and never analyzed: the status callback leaves a bridged call's end to
            // its stream, whose node died. Ended, it needs no tenant's longest call on top of the grace: its stream is over.
            var ended = await EndedUnanalyzed(db.Calls.IgnoreQueryFilters().AsNoTracking(), now - grace)
                .Take(MaxPerPass).Select(c => new { c.Id, c.TenantId }).ToListAsync(ct);
            stale.AddRange(ended.Where(c => !Vapi.WarmUpTenant.Is(c.TenantId)).Select(c => (c.Id, c.TenantId)));
        }
        var closed = 0;
        foreach (var (id, tenantId) in stale)
        {
            try
            {
                closed += await CloseAsync(tenantId, id, ct) ? 1 : 0;
            }
            catch (Exception e) when (e is DbUpdateException or System.Data.Common.DbException)
            {
                // The stream's end or a status callback got there first: the next pass sees the call ended.
                logger.LogWarning(e, "Closing stale native call {CallId} failed; retrying at the next pass", id);
            }
        }
        return closed;
    }

    /// <summary>
    /// Native calls not ended (the condition of the partial index <c>IX_calls_live</c>, <see cref="CallStatuses.LiveFilterSql"/>)
    /// last written before <paramref name="writtenBefore"/>, oldest first.
    /// </summary>
    internal static IQueryable<Call> Open(IQueryable<Call> calls, DateTimeOffset writtenBefore) =>
        calls.Where(c => !EF.Constant(CallStatuses.Ended).Contains(c.Status))
            .Where(c => c.Provider == NativeCallStatus.Provider && c.UpdatedAt < writtenBefore)
            .OrderBy(c => c.UpdatedAt);

    /// <summary>
    /// The condition of the partial index <c>IX_calls_native_unanalyzed</c> (migration 0037): native calls bridged (their
    /// stream started) and not analyzed yet. Written as EF writes <see cref="EndedUnanalyzed"/>'s condition, so SQLite uses it.
    /// </summary>
    internal const string UnanalyzedFilterSql = "\"Provider\" = 'twilio' AND NOT \"Analyzed\" AND \"StartedAt\" IS NOT NULL";

    /// <summary>
    /// Bridged native calls ended (by Twilio's final status callback) but not analyzed, last written before
    /// <paramref name="writtenBefore"/>: their stream's end, which runs the post-call pipeline, never came.
    /// </summary>
    /// <remarks>
    /// No lower bound on the last write, on purpose: calls that ended so before migration 0037 (when the pass read only calls
    /// not ended) are the same loose end, and the first passes after the upgrade analyze that backlog, oldest first,
    /// <see cref="MaxPerPass"/> at a time, through the same partial index. Their lead and <c>call.ended</c> come late rather
    /// than never; their <c>EndedAt</c> stays the one Twilio's status gave.
    /// </remarks>
    internal static IQueryable<Call> EndedUnanalyzed(IQueryable<Call> calls, DateTimeOffset writtenBefore) =>
        calls.Where(c => c.Provider == NativeCallStatus.Provider && !c.Analyzed && c.StartedAt != null)
            .Where(c => EF.Constant(CallStatuses.Ended).Contains(c.Status) && c.UpdatedAt < writtenBefore)
            .OrderBy(c => c.UpdatedAt);

    /// <summary>
    /// Ends one call, unless it ended meanwhile (idempotent), or, ended by Twilio's final status alone (bridged, not analyzed),
    /// runs its post-call pipeline. Returns whether it did either. The pipeline's lead, alerts and events are committed only
    /// if this unit claims the call (<see cref="PostCallPipeline.SaveClaimedAsync"/>): the stream's end on a node still alive
    /// may be running it at the same time.
    /// </summary>
    /// <param name="tenantId">The call's tenant.</param>
    /// <param name="callId">The call.</param>
    /// <param name="ct">Cancellation.</param>
    /// <param name="streamAccepted">True when its media socket was accepted (<see cref="NativeCallCloseHandler"/>): the call is
    /// bridged even without a <c>StartedAt</c> (its node died before saving the stream's start), so it goes through the pipeline.</param>
    public async Task<bool> CloseAsync(Guid tenantId, Guid callId, CancellationToken ct, bool streamAccepted = false)
    {
        await using var scope = scopes.CreateAsyncScope();
        scope.ServiceProvider.GetRequiredService<CurrentTenant>().Set(tenantId);
        var db = scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>();
        var call = await db.Calls.FirstOrDefaultAsync(c => c.Id == callId && c.Provider == NativeCallStatus.Provider, ct);
        var endedByStatus = call is not null && NativeCallStatus.IsTerminal(call.Status);
        if (call is null || (endedByStatus && (call.Analyzed || (call.StartedAt is null && !streamAccepted))))
        {
            return false;
        }
        var turns = await db.TranscriptTurns.AsNoTracking().Where(t => t.CallId == call.Id && (t.Role == "user" || t.Role == "assistant"))
            .OrderBy(t => t.Seq).Select(t => new { t.Role, t.Text, t.At }).ToListAsync(ct);
        var lastTurn = turns.Select(t => t.At).Max();
        var lastSign = lastTurn is { } at && at > call.UpdatedAt ? at : call.UpdatedAt;
        var bridged = call.StartedAt is not null || streamAccepted;
        NativeCallStatus.Advance(call, "completed");
        call.EndedReason ??= endedByStatus ? StreamEndMissingReason : EndedReason;
        call.EndedAt ??= lastSign;
        if (call.DurationSeconds is null && call.StartedAt is { } started && call.EndedAt is { } ended && ended >= started)
        {
            call.DurationSeconds = Math.Round((ended - started).TotalSeconds, 3);
        }
        if (turns.Count > 0)
        {
            call.TranscriptText = string.Join('\n', turns.Select(t => $"{t.Role}: {t.Text}"));
            call.TranscriptFinal = true;
        }
        call.UpdatedAt = clock.GetUtcNow();
        if (!call.Analyzed && (bridged || call.Direction == "outbound"))
        {
            var tenant = await db.Tenants.FirstAsync(t => t.Id == tenantId, ct);
            var assistant = call.AssistantId is { } aid ? await db.Assistants.FirstOrDefaultAsync(a => a.Id == aid, ct) : null;
            // What the assistant captured during the call (capture_lead) stands as the declared lead, as at the stream's end.
            var stored = await db.Leads.AsNoTracking().FirstOrDefaultAsync(l => l.CallId == call.Id, ct);
            var captured = stored is null ? null : new LeadDraft(stored.Name, stored.Phone, stored.Address, stored.Problem, stored.Urgency, stored.Source);
            var callerText = string.Join('\n', turns.Where(t => t.Role == "user" && !CallPolicy.IsDtmf(t.Text)).Select(t => t.Text));
            var keyed = bridged ? CallPolicy.KeyedPhoneNumber(turns.Where(t => t.Role == "user").Select(t => t.Text), Platform.Phones.Phones.RegionOf(tenant.Locale)) : null;
            if (!bridged)
            {
                call.Summary ??= $"Outbound call: {call.EndedReason}."; // as the outbound status callback writes it
            }
            // A message recorded whose <Record action> could not save its lead (it lost a race on every attempt): the message
            // is a lead, the caller's number and where to listen, as that action makes it.
            var message = await db.CallRecordings.AsNoTracking()
                .Where(r => r.CallId == call.Id && r.Source == TwilioVoiceApi.RecordVerbSource).OrderBy(r => r.CreatedAt).FirstOrDefaultAsync(ct);
            if (message is not null)
            {
                call.Summary ??= TwilioVoiceApi.VoicemailSummary(message);
            }
            await scope.ServiceProvider.GetRequiredService<PostCallPipeline>()
                .RunAsync(tenant, assistant, call, null, captured, callerText, ct,
                    extractLead: bridged && (callerText.Length > 0 || captured is not null || keyed is not null || message is not null), keyedNumber: keyed);
            if (!await PostCallPipeline.SaveClaimedAsync(db, writes, call.Id, ct))
            {
                // The stream's end (or a recorded message) ran it since this pass read the call: nothing of this unit stands.
                logger.LogInformation("Native call {CallId} of tenant {TenantId} was finished by its stream meanwhile", call.Id, tenantId);
                return false;
            }
            logger.LogInformation("Native call {CallId} of tenant {TenantId} closed without its end ({Turns} turns stored)", call.Id, tenantId, turns.Count);
            return true;
        }
        else if (!call.Analyzed)
        {
            // Never bridged (a notice, a stream that never connected): its end alone, claimed as the terminal status callback
            // claims it, so a status callback (or a message's recording) arriving meanwhile does not publish it a second time.
            await scope.ServiceProvider.GetRequiredService<Webhooks.WebhookEventPublisher>().CallEndedAsync(call, ct);
            call.Analyzed = true;
            if (!await PostCallPipeline.SaveClaimedAsync(db, writes, call.Id, ct))
            {
                logger.LogInformation("Native call {CallId} of tenant {TenantId} was ended by Twilio's status meanwhile", call.Id, tenantId);
                return false;
            }
            logger.LogInformation("Native call {CallId} of tenant {TenantId} closed without its end ({Turns} turns stored)", call.Id, tenantId, turns.Count);
            return true;
        }
        using var turn = await writes.EnterAsync(db, ct);
        await db.SaveChangesAsync(ct);
        logger.LogInformation("Native call {CallId} of tenant {TenantId} closed without its end ({Turns} turns stored)", call.Id, tenantId, turns.Count);
        return true;
    }
}

/// <summary>
/// Finishes a native call whose media socket was accepted but whose stream's start was never saved, once Twilio's final status
/// came (<see cref="TwilioVoiceApi"/>'s status callback queues it, due <see cref="VoiceOptions.StaleCallMinutes"/> later). The
/// status callback leaves such a call's end to its bridge, which alone knows its summary and lead; when the node holding the
/// socket died before saving the start, nothing else ends it: the call has no <c>StartedAt</c>, so <see cref="NativeCallCloser"/>'s
/// pass does not read it as bridged, and the token's use (<c>stream_token_uses</c>) is pruned a minute after the token expires.
/// Runs <see cref="NativeCallCloser.CloseAsync"/> as for a bridged call: a no-op when the bridge finished it meanwhile; else its
/// stored turns (if any) become its transcript and it goes through the <see cref="PostCallPipeline"/> once (claimed), with
/// <c>endedReason</c> <see cref="NativeCallCloser.StreamEndMissingReason"/> unless the status gave one.
/// </summary>
internal sealed class NativeCallCloseHandler(NativeCallCloser closer) : Outbox.IOutboxHandler
{
    /// <summary>Outbox kind; dedupe key <c>{callId:N}:close</c>.</summary>
    public const string Kind = "twilio.call.close";

    /// <summary>Outbox payload: the call to finish.</summary>
    public sealed record Payload(Guid CallId);

    string Outbox.IOutboxHandler.Kind => Kind;

    /// <summary>Adds the check of <paramref name="call"/>, due at <paramref name="dueAt"/>, to the caller's unit of work, once per call.</summary>
    public static async Task QueueAsync(SwitchboardDbContext db, Call call, DateTimeOffset now, DateTimeOffset dueAt, CancellationToken ct)
    {
        var key = $"{call.Id:N}:close";
        if (db.Outbox.Local.Any(o => o.Kind == Kind && o.DedupeKey == key) || await db.Outbox.AnyAsync(o => o.Kind == Kind && o.DedupeKey == key, ct))
        {
            return;
        }
        db.Outbox.Add(new Outbox.OutboxMessage
        {
            Id = Guid.CreateVersion7(), TenantId = call.TenantId, Kind = Kind, DedupeKey = key,
            PayloadJson = System.Text.Json.JsonSerializer.Serialize(new Payload(call.Id)), NextAttemptAt = dueAt, CreatedAt = now,
        });
    }

    public async Task<Outbox.OutboxResult> HandleAsync(Outbox.OutboxMessage message, CancellationToken ct)
    {
        if (System.Text.Json.JsonSerializer.Deserialize<Payload>(message.PayloadJson) is not { } payload)
        {
            return Outbox.OutboxResult.Dead("Unreadable payload.");
        }
        try
        {
            await closer.CloseAsync(message.TenantId, payload.CallId, ct, streamAccepted: true);
            return Outbox.OutboxResult.Done;
        }
        catch (Exception e) when (e is DbUpdateException or System.Data.Common.DbException)
        {
            return Outbox.OutboxResult.Retry(e.GetType().Name); // SQLite busy, or a race with the bridge's own end: read again later
        }
    }
}

/// <summary>Runs <see cref="NativeCallCloser"/> once a minute (<see cref="VoiceOptions.StaleCallCloserEnabled"/>).</summary>
internal sealed class NativeCallCloserWorker(NativeCallCloser closer, IOptions<VoiceOptions> options, ILogger<NativeCallCloserWorker> logger)
    : Platform.MinutePass(logger)
{
    protected override bool Enabled => options.Value.StaleCallCloserEnabled;

    protected override string DoneMessage => "Closed {Count} native calls whose end never came";

    protected override Task<int> RunAsync(CancellationToken ct) => closer.CloseStaleAsync(ct);
}
