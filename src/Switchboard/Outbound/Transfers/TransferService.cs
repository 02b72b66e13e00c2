using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Switchboard.Assistants;
using Switchboard.Brain;
using Switchboard.Calls;
using Switchboard.Credentials;
using Switchboard.Platform.Database;
using Switchboard.Platform.Http;
using Switchboard.Platform.Phones;
using Switchboard.Tenancy;
using Switchboard.Twilio;
using Switchboard.Webhooks;

namespace Switchboard.Outbound;

/// <summary>
/// Live transfer of native calls (the <c>transfer_call</c> tool) and of Vapi calls (<c>transfer-destination-request</c>,
/// <c>transfer-update</c>), from the assistant's configuration (<see cref="TransferConfig"/>). Protocol:
/// shared/protocols/outbound-and-transfer.md §2–§3. Cold: the caller's call is updated to <c>&lt;Dial&gt;&lt;Number&gt;</c>.
/// Warm: the caller is put on hold in conference <c>xfer-{CallSid}</c>, the agent dialled in as a coach of the caller (hears,
/// is not heard), whispered the assistant's summary on answer (<c>AnnounceUrl</c>), then joined (<c>Coaching=false</c>);
/// busy, no-answer or a failed leg send the caller back to the assistant (<c>&lt;Connect&gt;&lt;Stream&gt;</c>), which takes
/// a message. Every transfer is a <see cref="CallTransfer"/> row and a <c>call.transferred</c> / <c>call.transfer_failed</c>
/// tenant webhook. Runs inside the caller's unit of work: it saves only around Twilio requests (so callbacks find the row).
/// The post-call pipeline of a warm-transferred call runs once, at its real end: when the agent joined (the assistant's part
/// is over), when the caller is gone and cannot be brought back, or at the end of the assistant's resumed stream; never when
/// the first stream stops for the hold (<see cref="Realtime.Bridge.VoiceCallStore.FinishAsync"/>).
/// </summary>
internal sealed class TransferService(
    SwitchboardDbContext db, TwilioCallControl twilio, SecretProtector secrets, WebhookEventPublisher webhooks, MediaStreamTokens tokens,
    Alerts.AlertService alerts, IOptions<TransferOptions> options, SqliteWriteGate writes, Realtime.Bridge.VoiceCallStore calls, TimeProvider clock, ILogger<TransferService> logger)
{
    /// <summary>EndedReason of a call whose caller hung up while on hold for a warm transfer that then did not go through.</summary>
    public const string HungUpOnHoldReason = "hangup-on-hold";

    /// <summary>The EndedReason of a call handed to a person.</summary>
    public const string TransferredReason = "transferred";

    /// <summary>The stream parameter that tells the bridge the caller came back from a failed warm transfer.</summary>
    public const string ResumeParameter = "resume";

    /// <summary>
    /// Runs <c>transfer_call</c> {destination, reason, mode?}: the outcome the model reads (never an exception). Once Twilio is
    /// asked, the work is not cancelled with the call's token: the update stops the media stream (and the bridge) at once, and a
    /// transfer made must still be recorded.
    /// </summary>
    public async Task<ToolOutcome> StartAsync(JsonElement arguments, ToolContext context, CancellationToken callToken)
    {
        _ = callToken;
        var ct = CancellationToken.None;
        if (context.Assistant is not { OffersTransfer: true } assistant)
        {
            return ToolOutcome.Fail("Live transfer is not available: take a message with capture_lead.");
        }
        if (context.Call is not { CallSid: { } callSid } call || context.BaseUrl is not { } baseUrl)
        {
            return ToolOutcome.Fail("Only phone calls can be transferred: take a message with capture_lead.");
        }
        var tenant = context.Tenant;
        var requested = Str(arguments, "destination");
        var reason = Str(arguments, "reason");
        var mode = Str(arguments, "mode")?.ToLowerInvariant() ?? "warm";
        if (mode is not ("cold" or "warm"))
        {
            return ToolOutcome.Fail("mode must be cold or warm.");
        }
        var destination = TransferConfig.Find(assistant.TransferDestinations!, requested, Phones.RegionOf(tenant.Locale));
        if (destination is null)
        {
            return ToolOutcome.Fail($"Unknown destination '{requested}'. Choose one of: {string.Join(", ", assistant.TransferDestinations!.Select(d => d.Name))}.");
        }
        var now = clock.GetUtcNow();
        if (!TransferConfig.IsOpen(destination, tenant, now))
        {
            return ToolOutcome.Ok(new
            {
                transferred = false,
                reason = "outside-hours",
                destination = destination.Name,
                nextAvailable = TransferConfig.NextOpening(destination, tenant, now),
                instruction = $"{destination.Name} does not take calls at this hour. Tell the caller, do not transfer, and take a message with capture_lead (name, number, need).",
            });
        }
        var token = secrets.Unprotect(tenant.TwilioAuthTokenProtected);
        if (tenant.TwilioAccountSid is null || token is null)
        {
            return ToolOutcome.Fail("The transfer cannot be made right now: apologise and take a message with capture_lead.");
        }
        var language = call.Language ?? tenant.Locale;
        var voice = VoicePrompts.SayFor(language);
        var transfer = new CallTransfer
        {
            Id = Guid.CreateVersion7(),
            TenantId = tenant.Id,
            CallId = call.Id,
            Provider = "twilio",
            Destination = destination.Name,
            Number = destination.Number,
            Mode = mode,
            Reason = Cap(reason, 500),
            Outcome = TransferOutcomes.Pending,
            CreatedAt = now,
        };
        db.CallTransfers.Add(transfer);
        if (mode == "cold")
        {
            var notice = VoicePrompts.Transferring(language, destination.Name);
            var callerId = Phones.IsValidE164(call.CustomerNumber) ? call.CustomerNumber : null;
            // Committed as handed over before Twilio is asked: the <Dial> action can come back (busy, a failed number) before
            // the update's response, and must find the row, and not be overwritten by this unit of work afterwards.
            transfer.Outcome = TransferOutcomes.Transferred;
            transfer.ConnectedAt = transfer.EndedAt = now;
            call.EndedReason = TransferredReason;
            call.UpdatedAt = now;
            await SaveAsync(ct);
            var result = await twilio.UpdateCallAsync(tenant.TwilioAccountSid, token, callSid,
                TransferTwiML.ColdDial(notice, voice, destination.Number, callerId, options.Value.DialTimeoutSeconds,
                    $"{baseUrl}/webhooks/twilio/transfer/{tenant.Id}/{transfer.Id}/dial-ended"), ct);
            if (!result.Ok)
            {
                transfer.ConnectedAt = null;
                call.EndedReason = null;
                await FailAsync(transfer, TransferOutcomes.Failed, result.Error, ct);
                await SaveAsync(ct);
                return ToolOutcome.Fail("The transfer failed. Apologise and take a message with capture_lead.");
            }
            await PublishTransferredUnlessFailedAsync(transfer, ct);
            return ToolOutcome.Ok(new { transferred = true, mode, destination = destination.Name, instruction = "The call is being transferred: say nothing more." });
        }

        // Warm. The row is committed before Twilio can call back about the agent's leg.
        transfer.ConferenceName = $"xfer-{callSid}";
        call.UpdatedAt = now;
        await SaveAsync(ct);
        var hold = VoicePrompts.TransferHold(language, destination.Name);
        var moved = await twilio.UpdateCallAsync(tenant.TwilioAccountSid, token, callSid,
            TransferTwiML.HoldInConference(hold, voice, transfer.ConferenceName, options.Value.HoldMusicUrl), ct);
        if (!moved.Ok)
        {
            // The caller never reached the conference: their stream goes on, and its end is the call's (VoiceCallStore.FinishAsync).
            transfer.ConferenceName = null;
            await FailAsync(transfer, TransferOutcomes.Failed, moved.Error, ct);
            await SaveAsync(ct);
            return ToolOutcome.Fail("The transfer failed. Apologise and take a message with capture_lead.");
        }
        var callback = $"{baseUrl}/webhooks/twilio/transfer/{tenant.Id}/{transfer.Id}";
        var from = call.BusinessNumber ?? tenant.TwilioFromNumber ?? destination.Number;
        var agent = await twilio.AddParticipantAsync(tenant.TwilioAccountSid, token, transfer.ConferenceName,
        [
            new("From", from), new("To", destination.Number), new("Label", "agent"),
            new("Timeout", options.Value.AgentRingSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            new("StatusCallback", callback), new("StatusCallbackMethod", "POST"),
            new("StatusCallbackEvent", "initiated"), new("StatusCallbackEvent", "ringing"), new("StatusCallbackEvent", "answered"), new("StatusCallbackEvent", "completed"),
            new("Coaching", "true"), new("CallSidToCoach", callSid),
            new("StartConferenceOnEnter", "true"), new("EndConferenceOnExit", "true"), new("Beep", "false"),
        ], ct);
        if (!agent.Ok)
        {
            await FailAsync(transfer, TransferOutcomes.Failed, agent.Error, ct);
            call.EndedReason = null;
            await SaveAsync(ct);
            await ResumeAsync(tenant, call, baseUrl, token, ct);
            return ToolOutcome.Ok(new { transferred = false, reason = "failed", instruction = "The transfer failed." });
        }
        transfer.AgentCallSid ??= agent.Sid;
        await SaveAsync(ct);
        return ToolOutcome.Ok(new { transferring = true, mode, destination = destination.Name, instruction = $"The caller is on hold while {destination.Name} is called: say nothing more." });
    }

    /// <summary>
    /// A status callback of the agent's leg (Twilio call-progress parameters: <c>CallSid</c>, <c>CallStatus</c> =
    /// <c>initiated|ringing|in-progress|completed|busy|no-answer|failed|canceled</c>). Answered: whisper, then join. Busy,
    /// no-answer, failed, canceled, or completed before answering: the caller goes back to the assistant. Repeats are no-ops.
    /// </summary>
    /// <remarks>
    /// Twilio may deliver a callback twice and does not guarantee their order (twilio-voice-sms.md §2, <c>SequenceNumber</c>),
    /// so two of one transfer can be handled at once: the answered leg twice, or answered and <c>completed</c>/<c>busy</c>.
    /// Each claims the transfer in the database before it asks Twilio anything (<see cref="ClaimPendingAsync"/>): the answered
    /// leg sets <see cref="CallTransfer.ConnectedAt"/>, a failed one its outcome, both only on a row still pending and not
    /// connected. The unit that lost the claim changes nothing: the agent is whispered to and joined once, the caller sent
    /// back at most once, and <c>call.transferred</c> or <c>call.transfer_failed</c> published once, never both.
    /// </remarks>
    public async Task<bool> OnAgentStatusAsync(Tenant tenant, Guid transferId, string? agentCallSid, string? status, string baseUrl, CancellationToken ct)
    {
        var transfer = await db.CallTransfers.FirstOrDefaultAsync(t => t.Id == transferId, ct);
        if (transfer is null)
        {
            return false;
        }
        if (transfer.Outcome != TransferOutcomes.Pending || transfer.ConnectedAt is not null)
        {
            return true; // decided, or the agent's answer is being handled by another delivery
        }
        var call = await db.Calls.FirstAsync(c => c.Id == transfer.CallId, ct);
        var token = secrets.Unprotect(tenant.TwilioAuthTokenProtected);
        if (tenant.TwilioAccountSid is null || token is null || transfer.ConferenceName is null)
        {
            return true;
        }
        var now = clock.GetUtcNow();
        if (status is "in-progress" or "answered" && NativeCallStatus.IsTerminal(call.Status))
        {
            // The caller hung up while on hold (their status callback ended the call) before the agent answered: nobody to
            // join. The agent's leg is hung up, the transfer failed (call.transfer_failed, not call.transferred), and the call
            // ends as a caller gone on hold, its reason not overwritten by "transferred".
            if (!await ClaimPendingAsync(transfer, connectedAt: null, TransferOutcomes.Failed, ct))
            {
                return true;
            }
            transfer.AgentCallSid ??= agentCallSid;
            await FailAsync(transfer, TransferOutcomes.Failed, "the caller hung up on hold before the agent answered", ct);
            await SaveAsync(ct);
            if (transfer.AgentCallSid is { } gone)
            {
                var hungUp = await twilio.UpdateCallAsync(tenant.TwilioAccountSid, token, gone, TwiML.Hangup(), ct);
                if (!hungUp.Ok)
                {
                    logger.LogWarning("The agent's leg of transfer {TransferId} could not be hung up: {Error}", transfer.Id, hungUp.Error);
                }
            }
            await calls.FinishAfterTransferAsync(tenant.Id, call.Id, call.AssistantId, HungUpOnHoldReason, ct);
            return true;
        }
        switch (status)
        {
            case "in-progress" or "answered":
                if (!await ClaimPendingAsync(transfer, connectedAt: now, outcome: null, ct))
                {
                    return true;
                }
                transfer.AgentCallSid ??= agentCallSid;
                var agentSid = transfer.AgentCallSid ?? agentCallSid!;
                var whisper = await twilio.UpdateParticipantAsync(tenant.TwilioAccountSid, token, transfer.ConferenceName, agentSid,
                    [new("AnnounceUrl", $"{baseUrl}/webhooks/twilio/transfer/{tenant.Id}/{transfer.Id}/whisper"), new("AnnounceMethod", "POST")], ct);
                if (!whisper.Ok)
                {
                    logger.LogWarning("Whisper to the agent of transfer {TransferId} failed: {Error}", transfer.Id, whisper.Error);
                }
                var joined = await twilio.UpdateParticipantAsync(tenant.TwilioAccountSid, token, transfer.ConferenceName, agentSid, [new("Coaching", "false")], ct);
                if (!joined.Ok)
                {
                    transfer.ConnectedAt = null;
                    await FailAsync(transfer, TransferOutcomes.Failed, joined.Error, ct);
                    await SaveAsync(ct); // committed before the caller's new stream loads its setup
                    if (!await ResumeAsync(tenant, call, baseUrl, token, ct))
                    {
                        await calls.FinishAfterTransferAsync(tenant.Id, call.Id, call.AssistantId, HungUpOnHoldReason, ct);
                        return true;
                    }
                    break;
                }
                transfer.Outcome = TransferOutcomes.Transferred;
                transfer.ConnectedAt = transfer.EndedAt = now;
                call.EndedReason = TransferredReason;
                call.UpdatedAt = now;
                await PublishAsync(transfer, ct);
                await SaveAsync(ct);
                // The assistant's part of the call is over: now (not when the hold stopped its stream) the pipeline runs.
                await calls.FinishAfterTransferAsync(tenant.Id, call.Id, call.AssistantId, TransferredReason, ct);
                return true;
            case "busy" or "no-answer" or "failed" or "canceled" or "completed":
                var outcome = status is "busy" or "no-answer" ? status : status == "completed" ? TransferOutcomes.NoAnswer : TransferOutcomes.Failed;
                if (!await ClaimPendingAsync(transfer, connectedAt: null, outcome, ct))
                {
                    return true;
                }
                transfer.AgentCallSid ??= agentCallSid;
                await FailAsync(transfer, outcome, $"agent leg {status}", ct);
                call.EndedReason = null;
                await SaveAsync(ct); // committed before the caller's new stream loads its setup
                if (!await ResumeAsync(tenant, call, baseUrl, token, ct))
                {
                    // The caller left while on hold (21220): this is the call's end.
                    await SaveAsync(ct);
                    await calls.FinishAfterTransferAsync(tenant.Id, call.Id, call.AssistantId, HungUpOnHoldReason, ct);
                    return true;
                }
                break;
            default:
                return true; // initiated, ringing: nothing to do yet
        }
        await SaveAsync(ct);
        return true;
    }

    /// <summary>
    /// Claims a pending warm transfer for this callback, committed at once in one conditional update (no read-then-write gap):
    /// the agent's answer sets <paramref name="connectedAt"/>, a failed leg its <paramref name="outcome"/>, and either only
    /// while the row is still <c>pending</c> with no <see cref="CallTransfer.ConnectedAt"/>. The outcome stays pending while the
    /// agent is joined, so a held stream that ends meanwhile still waits for the transfer
    /// (<see cref="Realtime.Bridge.VoiceCallStore.FinishAsync"/>). False when another callback claimed it first.
    /// </summary>
    private async Task<bool> ClaimPendingAsync(CallTransfer transfer, DateTimeOffset? connectedAt, string? outcome, CancellationToken ct)
    {
        int claimed;
        using (await writes.EnterAsync(db, ct))
        {
            claimed = await SqliteBusyRetry.RunAsync(() => db.CallTransfers
                .Where(t => t.Id == transfer.Id && t.Outcome == TransferOutcomes.Pending && t.ConnectedAt == null)
                .ExecuteUpdateAsync(s => s.SetProperty(t => t.ConnectedAt, connectedAt).SetProperty(t => t.Outcome, outcome ?? TransferOutcomes.Pending), ct), ct);
        }
        if (claimed == 0)
        {
            logger.LogInformation("Transfer {TransferId} of call {CallId}: another callback of the agent's leg was handled first", transfer.Id, transfer.CallId);
            return false;
        }
        // As stored: the unit's later save writes only what it changes after the claim.
        var entry = db.Entry(transfer);
        entry.Property(t => t.ConnectedAt).CurrentValue = entry.Property(t => t.ConnectedAt).OriginalValue = connectedAt;
        if (outcome is not null)
        {
            entry.Property(t => t.Outcome).CurrentValue = entry.Property(t => t.Outcome).OriginalValue = outcome;
        }
        return true;
    }

    /// <summary>
    /// The <c>action</c> of a cold transfer's <c>&lt;Dial&gt;</c>: Twilio requests it when the dialled leg ends, with
    /// <c>DialCallStatus</c> = <c>completed|answered|busy|no-answer|failed|canceled</c> (twilio.com/docs/voice/twiml/dial#action),
    /// and runs the TwiML answered. Answered: <c>&lt;Hangup/&gt;</c> (the conversation took place). Otherwise nobody took the
    /// call: the transfer's outcome becomes <c>busy</c>, <c>no-answer</c> (also <c>canceled</c>: the caller hung up while it
    /// rang) or <c>failed</c> (a <c>call.transfer_failed</c> webhook), the call's <c>EndedReason</c> <c>transfer-{DialCallStatus}</c>,
    /// the call gets a lead to call back (source <c>transfer</c>: the caller's number and the reason given for the transfer)
    /// with its SMS alert under the tenant's policy, and the caller hears, in the call's language, that the business will call
    /// back (<see cref="VoicePrompts.TransferUnanswered"/>), then the call hangs up. A repeated request changes nothing and
    /// answers the same. Null when the transfer is not the tenant's.
    /// </summary>
    public async Task<string?> OnColdDialEndedAsync(Tenant tenant, Guid transferId, string? dialCallStatus, CancellationToken ct)
    {
        var transfer = await db.CallTransfers.FirstOrDefaultAsync(t => t.Id == transferId && t.Mode == "cold", ct);
        if (transfer is null)
        {
            return null;
        }
        var call = await db.Calls.FirstAsync(c => c.Id == transfer.CallId, ct);
        var voice = VoicePrompts.SayFor(call.Language ?? tenant.Locale);
        if (dialCallStatus is "completed" or "answered")
        {
            return TransferTwiML.SayThenHangUp(null, voice);
        }
        var status = dialCallStatus is "busy" or "no-answer" or "canceled" ? dialCallStatus : "failed";
        var outcome = status == "canceled" ? TransferOutcomes.NoAnswer : status;
        if (transfer.Outcome == TransferOutcomes.Transferred)
        {
            // Claimed by a conditional update in the transaction that saves the rest (the call's reason, the lead, its alert,
            // call.transfer_failed: one commit, as the stream's end reads them): a second delivery of this action handled at
            // once (Twilio retries a request that timed out) finds the outcome taken, waiting on the row's lock on PostgreSQL
            // and on the write gate on SQLite, and makes none of them twice. A writer the gate does not order (another process
            // on the file) can make SQLite refuse the transaction (busy): it is run again, as every transfer write is.
            using var turn = await writes.EnterAsync(db, ct);
            await SqliteBusyRetry.RunAsync(() => FailColdOnceAsync(tenant, transfer.Id, status, outcome, dialCallStatus, ct), ct);
        }
        return TransferTwiML.SayThenHangUp(VoicePrompts.TransferUnanswered(call.Language ?? tenant.Locale, tenant.Name), voice);
    }

    /// <summary>
    /// One attempt of the unanswered <c>&lt;Dial action&gt;</c>'s unit (<see cref="OnColdDialEndedAsync"/>): claims the outcome
    /// and saves the transfer's failure, the call's reason, the lead, its alert and <c>call.transfer_failed</c> in one
    /// transaction. An attempt SQLite refused (busy) is rolled back whole, and leaves a fresh unit of work (as
    /// <see cref="PublishTransferredOnceAsync"/> does: the webhook publisher would take the rolled-back event for published), so
    /// the retry reads the transfer and the call again and makes each of them again, or nothing when the outcome was taken meanwhile.
    /// </summary>
    private async Task FailColdOnceAsync(Tenant tenant, Guid transferId, string status, string outcome, string? dialCallStatus, CancellationToken ct)
    {
        try
        {
            await using var tx = await db.Database.BeginTransactionAsync(ct);
            if (await db.CallTransfers.Where(t => t.Id == transferId && t.Outcome == TransferOutcomes.Transferred)
                    .ExecuteUpdateAsync(u => u.SetProperty(t => t.Outcome, outcome), ct) == 0)
            {
                return;
            }
            var transfer = await db.CallTransfers.FirstAsync(t => t.Id == transferId, ct);
            var call = await db.Calls.FirstAsync(c => c.Id == transfer.CallId, ct);
            var claimed = db.Entry(transfer).Property(t => t.Outcome);
            claimed.CurrentValue = claimed.OriginalValue = outcome;
            transfer.ConnectedAt = null;
            await FailAsync(transfer, outcome,
                status == "canceled" ? "the caller hung up while the destination rang (DialCallStatus canceled)" : $"DialCallStatus {dialCallStatus}", ct);
            var now = clock.GetUtcNow();
            call.EndedReason = $"transfer-{status}";
            call.UpdatedAt = now;
            var draft = new LeadDraft(null, Phones.IsValidE164(call.CustomerNumber) ? call.CustomerNumber : null, null,
                transfer.Reason ?? $"Transfer to {transfer.Destination} not answered ({status})", Urgency.Routine, "transfer");
            var lead = await ToolRegistry.UpsertLeadAsync(db, call, draft, now, ct);
            var assistant = call.AssistantId is { } aid ? await db.Assistants.AsNoTracking().FirstOrDefaultAsync(a => a.Id == aid, ct) : null;
            await alerts.QueueLeadAlertsAsync(tenant, assistant, call, lead, ct);
            await webhooks.LeadAsync(lead, ct);
            await db.SaveChangesAsync(ct);
            await tx.CommitAsync(ct);
        }
        catch (Exception e) when (SqliteBusyRetry.IsBusy(e))
        {
            db.ResetUnitOfWork();
            throw;
        }
    }

    /// <summary>The text whispered to the agent: who transfers, why (the model's <c>reason</c>), and the caller's number.</summary>
    public async Task<string?> WhisperAsync(Tenant tenant, Guid transferId, CancellationToken ct)
    {
        var transfer = await db.CallTransfers.AsNoTracking().FirstOrDefaultAsync(t => t.Id == transferId, ct);
        if (transfer is null)
        {
            return null;
        }
        var call = await db.Calls.AsNoTracking().FirstAsync(c => c.Id == transfer.CallId, ct);
        var assistant = call.AssistantId is { } aid ? await db.Assistants.AsNoTracking().FirstOrDefaultAsync(a => a.Id == aid, ct) : null;
        var lead = await db.Leads.AsNoTracking().FirstOrDefaultAsync(l => l.CallId == call.Id, ct);
        var voice = VoicePrompts.SayFor(call.Language ?? tenant.Locale);
        var who = assistant?.Name ?? tenant.Name;
        var about = transfer.Reason ?? lead?.Problem ?? "";
        var number = call.CustomerNumber is { } n ? string.Join(' ', n.TrimStart('+').ToCharArray()) : null;
        // In the call's language, as its voice says it: Spanish, Arabic and Hebrew calls had English words in their voice.
        return TransferTwiML.Whisper(VoicePrompts.TransferWhisper(call.Language ?? tenant.Locale, who, about, lead?.Name, number), voice);
    }

    /// <summary>
    /// Answers Vapi's <c>transfer-destination-request</c> (vapi-server-messages.md "Other replies"; outbound-and-transfer.md §3.3):
    /// <c>{"destination":{"type":"number","number","message","description","transferPlan":{"mode"}},"message":{"type":"request-start","content"}}</c>,
    /// or <c>{"error":"…"}</c> (spoken; no transfer) when transfer is off, no destination matches, or it is outside its hours.
    /// The destination asked for is the <c>destination</c> argument of the last <c>transferCall</c> tool call in the message's
    /// <c>artifact.messages</c> / <c>messages</c>, else the only one, else the first open one.
    /// </summary>
    public JsonNode VapiDestination(Tenant tenant, Assistant? assistant, Call? call, JsonElement message)
    {
        var language = call?.Language ?? tenant.Locale;
        if (assistant is not { OffersTransfer: true })
        {
            return new JsonObject { ["error"] = VoicePrompts.TransferRefused(language, TransferRefusal.Off) };
        }
        var now = clock.GetUtcNow();
        var requested = RequestedDestination(message);
        var destinations = assistant.TransferDestinations!;
        var destination = TransferConfig.Find(destinations, requested, Phones.RegionOf(tenant.Locale))
            ?? (requested is null ? destinations.FirstOrDefault(d => TransferConfig.IsOpen(d, tenant, now)) : null);
        if (destination is null)
        {
            return new JsonObject { ["error"] = VoicePrompts.TransferRefused(language, TransferRefusal.NoDestination) };
        }
        if (!TransferConfig.IsOpen(destination, tenant, now))
        {
            return new JsonObject
            {
                ["error"] = VoicePrompts.TransferRefused(language, TransferRefusal.Closed, destination.Name),
            };
        }
        var say = VoicePrompts.Transferring(language, destination.Name);
        return new JsonObject
        {
            ["destination"] = new JsonObject
            {
                ["type"] = "number",
                ["number"] = destination.Number,
                ["message"] = say,
                ["description"] = destination.Name,
                ["transferPlan"] = new JsonObject { ["mode"] = "warm-transfer-say-summary" },
            },
            ["message"] = new JsonObject { ["type"] = "request-start", ["content"] = say },
        };
    }

    /// <summary>
    /// Records a transfer Vapi reports (<c>transfer-update</c>: <c>destination.number</c> / <c>sipUri</c>, stored as its first
    /// <see cref="CallTransfer.NumberLength"/> characters) once per call and number: Vapi's message carries no id of the
    /// transfer (vapi-server-messages.md: <c>destination</c>, <c>toAssistant</c>, <c>fromAssistant</c>), so the call and the
    /// destination are what identify it. Adds the row and its <c>call.transferred</c> webhook to the caller's unit of work when
    /// none is stored or added. Two deliveries that both read "none" (two nodes, or Vapi's retry racing the first) cannot both
    /// be saved: the unique index <see cref="CallTransfer.VapiTransferIndex"/> (migration 0039) fails the second save with a
    /// unique violation (a <c>DbUpdateException</c>), which the webhook path replays on fresh state
    /// (<see cref="Vapi.VapiWebhookApi.Replayable"/>), where this finds the stored row and adds nothing.
    /// </summary>
    public async Task RecordVapiTransferAsync(Assistant? assistant, Call call, JsonElement message, CancellationToken ct)
    {
        var d = message.TryGetProperty("destination", out var dest) && dest.ValueKind == JsonValueKind.Object ? dest : default;
        var reported = d.ValueKind == JsonValueKind.Object ? Str(d, "number") ?? Str(d, "sipUri") : null;
        if (reported is null)
        {
            return;
        }
        // Compared as stored: a SIP URI longer than the column never matched its own stored row, so each report added one.
        var number = Cap(reported, CallTransfer.NumberLength)!;
        if (db.CallTransfers.Local.Any(t => t.CallId == call.Id && t.Provider == "vapi" && t.Number == number)
            || await db.CallTransfers.AnyAsync(t => t.CallId == call.Id && t.Provider == "vapi" && t.Number == number, ct))
        {
            return;
        }
        var now = clock.GetUtcNow();
        var mode = d.TryGetProperty("transferPlan", out var plan) && plan.ValueKind == JsonValueKind.Object && Str(plan, "mode") is { } m && m.StartsWith("warm", StringComparison.Ordinal) ? "warm" : "cold";
        var transfer = new CallTransfer
        {
            Id = Guid.CreateVersion7(),
            TenantId = call.TenantId,
            CallId = call.Id,
            Provider = "vapi",
            Destination = assistant?.TransferDestinations?.FirstOrDefault(x => x.Number == reported)?.Name ?? Cap(Str(d, "description"), 80),
            Number = number,
            Mode = mode,
            Outcome = TransferOutcomes.Transferred,
            CreatedAt = now,
            ConnectedAt = now,
            EndedAt = now,
        };
        db.CallTransfers.Add(transfer);
        await PublishAsync(transfer, ct);
    }

    private static string? RequestedDestination(JsonElement message)
    {
        foreach (var list in new[] { message.TryGetProperty("artifact", out var a) && a.ValueKind == JsonValueKind.Object && a.TryGetProperty("messages", out var am) ? am : default,
                     message.TryGetProperty("messages", out var mm) ? mm : default })
        {
            if (list.ValueKind != JsonValueKind.Array)
            {
                continue;
            }
            for (var i = list.GetArrayLength() - 1; i >= 0; i--)
            {
                if (list[i].ValueKind == JsonValueKind.Object && list[i].TryGetProperty("toolCalls", out var calls) && calls.ValueKind == JsonValueKind.Array)
                {
                    foreach (var tc in calls.EnumerateArray())
                    {
                        if (tc.ValueKind == JsonValueKind.Object && tc.TryGetProperty("function", out var f) && f.ValueKind == JsonValueKind.Object
                            && Str(f, "name") is "transferCall" or "transfer_call" && Str(f, "arguments") is { } args)
                        {
                            try
                            {
                                using var doc = JsonDocument.Parse(args);
                                return Str(doc.RootElement, "destination");
                            }
                            catch (JsonException)
                            {
                                return null;
                            }
                        }
                    }
                }
            }
        }
        return null;
    }

    /// <summary>
    /// Sends the caller back to the assistant: a new <c>&lt;Connect&gt;&lt;Stream&gt;</c> with <c>resume=transfer-failed</c>.
    /// False when Twilio refused (21220: the caller is no longer on the line).
    /// </summary>
    private async Task<bool> ResumeAsync(Tenant tenant, Call call, string baseUrl, string token, CancellationToken ct)
    {
        var language = call.Language ?? tenant.Locale;
        var stream = tokens.Issue(tenant.Id, call.Id, call.CallSid!, call.AssistantId, language);
        var twiml = TwiML.Connect(null, VoicePrompts.SayFor(language), $"{TwilioWebhookUrls.ToWebSocket(baseUrl)}/media/twilio/{stream}",
            [new("tenantId", tenant.Id.ToString()), new("callId", call.Id.ToString()), new("language", language), new(ResumeParameter, "transfer-failed")],
            $"{baseUrl}/webhooks/twilio/voice/{tenant.Id}/stream-ended");
        var result = await twilio.UpdateCallAsync(tenant.TwilioAccountSid!, token, call.CallSid!, twiml, ct);
        if (!result.Ok)
        {
            logger.LogWarning("Call {CallId} could not be returned to the assistant after a failed transfer: {Error}", call.Id, result.Error);
        }
        return result.Ok;
    }

    /// <summary>
    /// Saves the unit, again when SQLite was busy: the save alone, never the transfer (the tool is not run again on busy,
    /// <see cref="Realtime.Bridge.VoiceCallStore.InvokeToolAsync"/>, so Twilio is asked once).
    /// </summary>
    private async Task SaveAsync(CancellationToken ct)
    {
        using var turn = await writes.EnterAsync(db, ct);
        await SqliteBusyRetry.RunAsync(() => db.SaveChangesAsync(ct), ct);
    }

    /// <summary>
    /// Queues <c>call.transferred</c> for a cold transfer Twilio accepted, unless its <c>&lt;Dial action&gt;</c> already said nobody
    /// took the call: Twilio can request the action (a busy or failed number fails at once) before the update's response
    /// arrives here, and that unanswered dial is the transfer's one outcome (<see cref="OnColdDialEndedAsync"/> sent
    /// <c>call.transfer_failed</c>). The check holds the transfer's row (a no-op update in the transaction that queues the event:
    /// PostgreSQL's row lock, SQLite's write lock), so an action arriving meanwhile is recorded after it, never before it.
    /// Returns whether it was queued.
    /// </summary>
    private async Task<bool> PublishTransferredUnlessFailedAsync(CallTransfer transfer, CancellationToken ct)
    {
        using var turn = await writes.EnterAsync(db, ct);
        return await SqliteBusyRetry.RunAsync(() => PublishTransferredOnceAsync(transfer, ct), ct);
    }

    /// <summary>
    /// One attempt of <see cref="PublishTransferredUnlessFailedAsync"/>. An attempt SQLite refused (busy) rolled back the event it
    /// queued, yet the unit's webhook publisher remembers it as published: retried in the same unit, the check would pass and
    /// queue nothing (<c>call.transferred</c> lost). So a refused attempt leaves a fresh unit of work (the transfer's row,
    /// already committed, attached again): the retry checks the outcome again and queues the event again, or, the
    /// <c>&lt;Dial action&gt;</c> having failed the transfer meanwhile, nothing is left behind for a later save of the unit.
    /// </summary>
    private async Task<bool> PublishTransferredOnceAsync(CallTransfer transfer, CancellationToken ct)
    {
        try
        {
            await using var tx = await db.Database.BeginTransactionAsync(ct);
            if (await db.CallTransfers.Where(t => t.Id == transfer.Id && t.Outcome == TransferOutcomes.Transferred)
                    .ExecuteUpdateAsync(s => s.SetProperty(t => t.Outcome, TransferOutcomes.Transferred), ct) == 0)
            {
                logger.LogInformation("Transfer {TransferId} of call {CallId}: its <Dial> action came first and said nobody took the call", transfer.Id, transfer.CallId);
                return false;
            }
            await PublishAsync(transfer, ct);
            await db.SaveChangesAsync(ct);
            await tx.CommitAsync(ct);
            return true;
        }
        catch (Exception e) when (SqliteBusyRetry.IsBusy(e))
        {
            db.ResetUnitOfWork();
            db.CallTransfers.Attach(transfer);
            throw;
        }
    }

    private async Task FailAsync(CallTransfer transfer, string outcome, string? error, CancellationToken ct)
    {
        transfer.Outcome = outcome;
        transfer.Error = Cap(error, 500);
        transfer.EndedAt = clock.GetUtcNow();
        logger.LogInformation("Transfer {TransferId} of call {CallId} ended {Outcome}: {Error}", transfer.Id, transfer.CallId, outcome, transfer.Error);
        await PublishAsync(transfer, ct);
    }

    private Task PublishAsync(CallTransfer t, CancellationToken ct) =>
        webhooks.PublishAsync(t.TenantId, t.Outcome == TransferOutcomes.Transferred ? WebhookEventTypes.CallTransferred : WebhookEventTypes.CallTransferFailed,
            $"{t.Id:N}:{t.Outcome}", new CallTransferData(t.CallId, t.Id, t.Provider, t.Mode, t.Destination, t.Number, t.Outcome, t.Reason, t.Error, t.CreatedAt, t.EndedAt),
            ct, t.CallId);

    private static string? Str(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()?.Trim() is { Length: > 0 } s ? s : null : null;

    private static string? Cap(string? s, int max) => TolerantJson.Cap(s, max);
}
