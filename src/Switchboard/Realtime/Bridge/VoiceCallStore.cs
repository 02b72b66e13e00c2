using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Switchboard.Alerts;
using Switchboard.Brain;
using Switchboard.Calls;
using Switchboard.Credentials;
using Switchboard.Outbox;
using Switchboard.Platform.Database;
using Switchboard.Tenancy;
using Switchboard.Twilio;

namespace Switchboard.Realtime.Bridge;

/// <summary>
/// The database work of native calls, each step in its own DI scope with the call's tenant set, so a bridge never
/// holds a DbContext for the length of a call: loading the call's setup, marking the stream started (and queuing its
/// recording), running a tool, recording a provider failure (and alerting staff), and finishing the call (status,
/// transcript, latencies, then the shared <see cref="PostCallPipeline"/>).
/// </summary>
internal sealed class VoiceCallStore(
    IServiceScopeFactory scopes, IOptions<RealtimeOptions> realtime, SecretProtector secrets, SqliteWriteGate writes, TimeProvider clock,
    ILogger<VoiceCallStore> logger) : IVoiceCallRecorder
{
    /// <summary>The call's setup and the tenant's Twilio auth token; null when the tenant or the call is gone.</summary>
    public Task<(VoiceCallSetup Setup, string? AuthToken)?> LoadSetupAsync(MediaStreamGrant grant, string baseUrl, CancellationToken ct) =>
        SqliteBusyRetry.RunAsync(() => LoadSetupOnceAsync(grant, baseUrl, web: false, ct), ct);

    /// <summary>
    /// The setup of a widget voice conversation (a call of channel <c>web</c>, provider <c>widget</c>): as a phone call's,
    /// with the conversation id in place of the CallSid and never a Twilio recording. Null when the tenant or the call is gone.
    /// </summary>
    public async Task<VoiceCallSetup?> LoadWebSetupAsync(Guid tenantId, Guid callId, Guid? assistantId, string language, CancellationToken ct) =>
        (await SqliteBusyRetry.RunAsync(() => LoadSetupOnceAsync(
            new MediaStreamGrant(tenantId, callId, "", assistantId, language, DateTimeOffset.MaxValue), "", web: true, ct), ct))?.Setup;

    private async Task<(VoiceCallSetup Setup, string? AuthToken)?> LoadSetupOnceAsync(MediaStreamGrant grant, string baseUrl, bool web, CancellationToken ct)
    {
        await using var scope = Scoped(grant.TenantId, out var db);
        var tenant = await db.Tenants.AsNoTracking().FirstOrDefaultAsync(t => t.Id == grant.TenantId, ct);
        var call = await db.Calls.AsNoTracking().FirstOrDefaultAsync(c => c.Id == grant.CallId, ct);
        if (tenant is null || call is null || (web ? call.Channel != CallChannels.Web : call.CallSid != grant.CallSid))
        {
            return null;
        }
        if (web)
        {
            grant = grant with { CallSid = call.ProviderCallId };
        }
        var assistant = grant.AssistantId is { } aid ? await db.Assistants.AsNoTracking().FirstOrDefaultAsync(a => a.Id == aid, ct) : null;
        var options = realtime.Value;
        var languages = (assistant?.Languages ?? []).Append(tenant.Locale).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        var zone = BusinessHoursCalculator.Zone(tenant.TimeZone);
        var localTime = TimeZoneInfo.ConvertTime(clock.GetUtcNow(), zone).ToString("dddd yyyy-MM-dd HH:mm", System.Globalization.CultureInfo.InvariantCulture);
        // A caller back from a transfer that did not go through: the assistant apologises, takes a message, never transfers again.
        var failedTransfer = web ? null : await db.CallTransfers.AsNoTracking()
            .Where(t => t.CallId == call.Id && t.Outcome != Outbound.TransferOutcomes.Pending && t.Outcome != Outbound.TransferOutcomes.Transferred)
            .OrderByDescending(t => t.CreatedAt).FirstOrDefaultAsync(ct);
        var firstTurnSeq = web ? 0 : await db.TranscriptTurns.AsNoTracking().Where(t => t.CallId == call.Id).Select(t => (int?)t.Seq).MaxAsync(ct) is { } last ? last + 1 : 0;
        var offersTransfer = !web && failedTransfer is null && assistant is { OffersTransfer: true };
        // As on Vapi (VapiAssistantMapper): the assistant's tools, or every known one; the knowledge base always.
        var enabled = assistant?.Tools ?? [.. Assistants.VapiAssistantMapper.KnownTools];
        var tools = RealtimeProtocol.AllTools.Where(t => enabled.Contains(t) || t == ToolRegistry.SearchKnowledgeBase).ToList();
        if (offersTransfer)
        {
            tools.Add(ToolRegistry.TransferCall);
        }
        // The business's industry words the prompt and the tools: a dental clinic's model hears of toothaches, not burst pipes.
        var industry = await db.TenantAccounts.AsNoTracking().Where(a => a.TenantId == tenant.Id).Select(a => a.Industry).FirstOrDefaultAsync(ct);
        var wording = BusinessWording.For(industry, tenant.UrgencyRules);
        var instructions = RealtimeProtocol.Instructions(assistant?.Instructions, tenant.Name, languages, grant.Language, call.CustomerNumber, localTime,
                               wording, tenant.UrgencyRules)
                           + Outbound.OutboundContext.Instructions(call, tenant.Name);
        var firstMessage = call.Direction == "outbound" ? null : assistant?.FirstMessage; // an inbound greeting does not fit a call we placed
        if (failedTransfer is not null)
        {
            var fr = grant.Language.StartsWith("fr", StringComparison.OrdinalIgnoreCase);
            instructions += $"\n\nThe caller was just on hold for a transfer to {failedTransfer.Destination} that did not go through ({failedTransfer.Outcome}). " +
                            "Apologise, say that person is not available, and take a message: name, callback number and need (capture_lead). Do not transfer again.";
            firstMessage = fr ? $"Désolé, {failedTransfer.Destination} n'est pas disponible en ce moment. Je peux prendre un message : quel est votre nom?"
                : $"Sorry, {failedTransfer.Destination} is not available right now. I can take a message: may I have your name?";
        }
        var setup = new VoiceCallSetup(
            tenant.Id, tenant.Name, call.Id, grant.CallSid, assistant?.Id, grant.Language,
            languages.Select(VoicePrompts.PrimaryOf).Distinct().Count() > 1,
            instructions,
            firstMessage,
            assistant?.RealtimeModel ?? options.Model,
            assistant?.RealtimeVoice ?? options.Voice,
            RealtimeConnector.SessionUri(tenant.RealtimeBaseUrl ?? options.BaseUrl, assistant?.RealtimeModel ?? options.Model),
            secrets.Unprotect(tenant.RealtimeApiKeyProtected) ?? options.ApiKey,
            options.ApiKeyHeader,
            tenant.VoiceMaxCallSeconds,
            !web && (assistant?.RecordingEnabled ?? false),
            $"{baseUrl}/webhooks/twilio/recording/{tenant.Id}",
            call.CustomerNumber,
            tools,
            offersTransfer ? assistant!.TransferDestinations!.Select(d => d.Name).ToList() : null,
            web ? null : baseUrl,
            firstTurnSeq,
            tenant.UrgencyRules,
            wording);
        return (setup, secrets.Unprotect(tenant.TwilioAuthTokenProtected));
    }

    /// <summary>The sequence number after the call's last stored transcript turn (0 when it has none).</summary>
    public Task<int> NextTurnSeqAsync(Guid tenantId, Guid callId, CancellationToken ct) =>
        SqliteBusyRetry.RunAsync(async () =>
        {
            await using var scope = Scoped(tenantId, out var db);
            return await db.TranscriptTurns.AsNoTracking().Where(t => t.CallId == callId).Select(t => (int?)t.Seq).MaxAsync(ct) is { } last ? last + 1 : 0;
        }, ct);

    /// <summary>The stream started: the call is in progress, and its recording is queued when the tenant records calls.</summary>
    public async Task MarkStartedAsync(VoiceCallSetup setup, DateTimeOffset startedAt, CancellationToken ct)
    {
        try
        {
            await SqliteBusyRetry.RunAsync(() => MarkStartedOnceAsync(setup, startedAt, ct), ct);
        }
        catch (Exception e) when (e is DbUpdateException or InvalidOperationException or OperationCanceledException or System.Data.Common.DbException)
        {
            logger.LogWarning(e, "Could not mark call {CallId} started", setup.CallId);
        }
    }

    private async Task MarkStartedOnceAsync(VoiceCallSetup setup, DateTimeOffset startedAt, CancellationToken ct)
    {
        {
            await using var scope = Scoped(setup.TenantId, out var db);
            var call = await db.Calls.FirstAsync(c => c.Id == setup.CallId, ct);
            var statusBefore = call.Status;
            NativeCallStatus.Advance(call, "in-progress");
            call.StartedAt ??= startedAt;
            await scope.ServiceProvider.GetRequiredService<Webhooks.WebhookEventPublisher>().CallProgressedAsync(call, statusBefore, ct); // call.started
            call.UpdatedAt = clock.GetUtcNow();
            if (setup.RecordingEnabled)
            {
                db.Outbox.Add(new OutboxMessage
                {
                    Id = Guid.CreateVersion7(),
                    TenantId = setup.TenantId,
                    Kind = TwilioRecordingStartHandler.Kind,
                    DedupeKey = $"{setup.CallId:N}:recording",
                    PayloadJson = JsonSerializer.Serialize(new TwilioRecordingStartHandler.Payload(setup.CallId, setup.RecordingCallbackUrl)),
                    NextAttemptAt = clock.GetUtcNow(),
                    CreatedAt = clock.GetUtcNow(),
                });
            }
            using var turn = await writes.EnterAsync(db, ct);
            await db.SaveChangesAsync(ct);
        }
    }

    /// <summary>
    /// Runs a tool of the shared registry in its own unit of work; returns the output string for the model. A tool is run again
    /// when SQLite was busy, except <c>transfer_call</c>: it asks Twilio to move the call (a <c>&lt;Dial&gt;</c>, a conference and
    /// an agent's leg), and a second run would ask again (a second row, the agent dialled twice); its saves retry on their own
    /// (<see cref="Outbound.TransferService"/>), and so does the unit's last save here.
    /// </summary>
    public async Task<string> InvokeToolAsync(VoiceCallSetup setup, string name, string arguments, CancellationToken ct)
    {
        try
        {
            return name == ToolRegistry.TransferCall
                ? await InvokeToolOnceAsync(setup, name, arguments, ct)
                : await SqliteBusyRetry.RunAsync(() => InvokeToolOnceAsync(setup, name, arguments, ct), ct);
        }
        catch (Exception e) when (e is DbUpdateException or InvalidOperationException or System.Data.Common.DbException)
        {
            logger.Log(ExpectedFailures.LevelOf(e), e, "Tool {Tool} failed on call {CallId}", name, setup.CallId);
            return JsonSerializer.Serialize(new { error = "The tool failed; apologise and take the caller's details." });
        }
    }

    private async Task<string> InvokeToolOnceAsync(VoiceCallSetup setup, string name, string arguments, CancellationToken ct)
    {
        if (!setup.Tools.Contains(name))
        {
            return JsonSerializer.Serialize(new { error = $"The tool '{name}' is not enabled for this assistant." });
        }
        {
            await using var scope = Scoped(setup.TenantId, out var db);
            var tools = scope.ServiceProvider.GetRequiredService<ToolRegistry>();
            var tenant = await db.Tenants.FirstAsync(t => t.Id == setup.TenantId, ct);
            var assistant = setup.AssistantId is { } aid ? await db.Assistants.FirstOrDefaultAsync(a => a.Id == aid, ct) : null;
            var call = await db.Calls.FirstAsync(c => c.Id == setup.CallId, ct);
            JsonDocument args;
            try
            {
                args = JsonDocument.Parse(string.IsNullOrWhiteSpace(arguments) ? "{}" : arguments);
            }
            catch (JsonException)
            {
                return JsonSerializer.Serialize(new { error = "The arguments are not valid JSON." });
            }
            using (args)
            {
                var outcome = await tools.InvokeAsync(name, args.RootElement, new ToolContext(tenant, assistant, call, setup.BaseUrl), ct);
                using var turn = await writes.EnterAsync(db, ct);
                await SqliteBusyRetry.RunAsync(() => db.SaveChangesAsync(ct), ct);
                return outcome.Error is null ? outcome.Result ?? "{}" : JsonSerializer.Serialize(new { error = outcome.Error });
            }
        }
    }

    /// <summary>
    /// Records that the provider could not be reached (the <c>&lt;Connect action&gt;</c> then takes a message) and texts the
    /// on-call staff (<see cref="SmsText.VoiceFailure"/>, in the alert policy's language), at most once an hour per recipient.
    /// </summary>
    public async Task MarkProviderUnreachableAsync(VoiceCallSetup setup, CancellationToken ct)
    {
        await SqliteBusyRetry.RunAsync(() => MarkProviderUnreachableOnceAsync(setup, ct), ct);
    }

    private async Task MarkProviderUnreachableOnceAsync(VoiceCallSetup setup, CancellationToken ct)
    {
        await using var scope = Scoped(setup.TenantId, out var db);
        var call = await db.Calls.FirstAsync(c => c.Id == setup.CallId, ct);
        call.EndedReason = NativeCallStatus.ProviderUnreachable;
        var now = clock.GetUtcNow();
        call.UpdatedAt = now;
        var tenant = await db.Tenants.FirstAsync(t => t.Id == setup.TenantId, ct);
        var assistant = setup.AssistantId is { } aid ? await db.Assistants.FirstOrDefaultAsync(a => a.Id == aid, ct) : null;
        var policy = AlertPolicy.For(tenant, assistant);
        var recipients = policy.OnCallNumbers.Count > 0 ? policy.OnCallNumbers : policy.OfficeNumbers;
        var local = TimeOnly.FromDateTime(TimeZoneInfo.ConvertTime(now, BusinessHoursCalculator.Zone(tenant.TimeZone)).DateTime);
        var body = SmsText.VoiceFailure(tenant.Name, local, web: call.Channel == CallChannels.Web, policy.Language ?? tenant.Locale);
        foreach (var to in recipients.Distinct())
        {
            var key = $"voice-failure:{now:yyyyMMddHH}:{to}";
            if (await db.SmsMessages.AnyAsync(s => s.IdempotencyKey == key, ct))
            {
                continue;
            }
            var sms = new SmsMessage
            {
                Id = Guid.CreateVersion7(), TenantId = tenant.Id, CallId = call.Id, Direction = "outbound", Purpose = "voice-failure",
                To = to, Body = body, Status = "queued", IdempotencyKey = key, CreatedAt = now,
            };
            SmsSendHandler.Queue(db, sms, now);
        }
        try
        {
            using var turn = await writes.EnterAsync(db, ct);
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException e) when (!SqliteBusyRetry.IsBusy(e))
        {
            // Another node alerted for the same hour and recipient: record the reason alone.
            db.ChangeTracker.Clear();
            await db.Calls.Where(c => c.Id == setup.CallId)
                .ExecuteUpdateAsync(u => u.SetProperty(c => c.EndedReason, NativeCallStatus.ProviderUnreachable), ct);
        }
    }

    /// <summary>
    /// The stream stopped (its turns are stored): the call is completed, its transcript final (from the stored turns), and it
    /// goes through the post-call pipeline.
    /// </summary>
    /// <remarks>
    /// A stream that stops because a warm transfer put the caller on hold (moved to the conference) is not the call's end:
    /// the call stays open, its turns stored, and the post-call pipeline waits for the transfer's outcome
    /// (<see cref="FinishAfterTransferAsync"/> once the agent joined or the caller is gone; a new stream when the caller
    /// comes back to the assistant, finished here as usual). That holds whether the transfer is still pending when this
    /// stream's teardown gets here or already failed: the agent's no-answer can arrive, and the caller be back with the
    /// assistant, before the held stream has finished closing. A held stream that finds the call already finished (by
    /// <see cref="FinishAfterTransferAsync"/>) only brings the transcript text up to date with the turns it stored.
    /// </remarks>
    public async Task FinishAsync(VoiceCallSetup setup, string reason, DateTimeOffset? startedAt, double? greetingMs, LeadDraft? captured, CancellationToken ct)
    {
        await SqliteBusyRetry.RunAsync(() => FinishOnceAsync(setup.TenantId, setup.CallId, setup.AssistantId, reason, startedAt, greetingMs, captured,
            streamEnded: true, offeredTransfer: setup.TransferDestinations is not null, ct), ct);
    }

    /// <summary>
    /// The end of a native call whose last stream stopped for a warm transfer: the agent joined (reason <c>transferred</c>),
    /// or the caller could not be brought back to the assistant (gone while on hold). Completes the call and runs the
    /// post-call pipeline once (a no-op when it already ran).
    /// </summary>
    public async Task FinishAfterTransferAsync(Guid tenantId, Guid callId, Guid? assistantId, string reason, CancellationToken ct) =>
        await SqliteBusyRetry.RunAsync(() => FinishOnceAsync(tenantId, callId, assistantId, reason, null, null, null, streamEnded: false, offeredTransfer: false, ct), ct);

    private async Task FinishOnceAsync(Guid tenantId, Guid callId, Guid? assistantId, string reason, DateTimeOffset? startedAt, double? greetingMs,
        LeadDraft? captured, bool streamEnded, bool offeredTransfer, CancellationToken ct)
    {
        await using var scope = Scoped(tenantId, out var db);
        var call = await db.Calls.FirstAsync(c => c.Id == callId, ct);
        var now = clock.GetUtcNow();
        // A live transfer decides the reason: transferred once made; while a warm one rings, its outcome (or the caller's
        // return to the assistant) will.
        var latest = await db.CallTransfers.AsNoTracking().Where(t => t.CallId == call.Id).OrderByDescending(t => t.CreatedAt)
            .Select(t => new { t.Outcome, t.Mode, t.ConferenceName }).FirstOrDefaultAsync(ct);
        var transfer = latest?.Outcome;
        if (call.Analyzed && !streamEnded)
        {
            return;
        }
        // Only a stream that offered transfer_call can have been held (a stream resumed after a failed transfer never
        // offers it); a warm transfer names its conference once the caller was moved there.
        var held = streamEnded && (transfer == Outbound.TransferOutcomes.Pending
            || (offeredTransfer && latest is { Mode: "warm", ConferenceName: not null } && transfer != Outbound.TransferOutcomes.Transferred));
        if (held)
        {
            // The caller is (or was) on hold in the transfer's conference: not the end of the call (see FinishAsync).
            call.StartedAt ??= startedAt;
            call.GreetingLatencyMs ??= greetingMs is { } greeting ? Math.Round(greeting, 2) : null;
            if (call.TranscriptFinal)
            {
                call.TranscriptText = TranscriptTextOf(await SpokenTurnsAsync(db, callId, ct));
            }
            call.UpdatedAt = now;
            using var holdTurn = await writes.EnterAsync(db, ct);
            await db.SaveChangesAsync(ct);
            return;
        }
        NativeCallStatus.Advance(call, "completed");
        call.StartedAt ??= startedAt;
        call.EndedAt ??= now;
        if (call.StartedAt is { } s && call.EndedAt is { } e && e >= s)
        {
            call.DurationSeconds = Math.Round((e - s).TotalSeconds, 3);
        }
        if (transfer == Outbound.TransferOutcomes.Transferred)
        {
            call.EndedReason = Outbound.TransferService.TransferredReason;
        }
        else if (transfer != Outbound.TransferOutcomes.Pending)
        {
            call.EndedReason ??= reason;
        }
        call.GreetingLatencyMs ??= greetingMs is { } g ? Math.Round(g, 2) : null;
        var spoken = await SpokenTurnsAsync(db, callId, ct);
        call.TranscriptText = TranscriptTextOf(spoken);
        call.TranscriptFinal = true;
        call.UpdatedAt = now;
        var callerText = string.Join('\n', spoken.Where(t => t.Role == "user" && !CallPolicy.IsDtmf(t.Text)).Select(t => t.Text));
        // A provider failure ends in a message: the <Record> action runs the pipeline on it instead.
        if (!call.Analyzed && call.EndedReason != NativeCallStatus.ProviderUnreachable)
        {
            var tenant = await db.Tenants.FirstAsync(t => t.Id == tenantId, ct);
            var assistant = (assistantId ?? call.AssistantId) is { } aid ? await db.Assistants.FirstOrDefaultAsync(a => a.Id == aid, ct) : null;
            // A callback number keyed on the phone: the DTMF turns are not words to read, but their digits can be the number.
            var keyed = CallPolicy.KeyedPhoneNumber(spoken.Where(t => t.Role == "user").Select(t => t.Text), Platform.Phones.Phones.RegionOf(tenant.Locale));
            var pipeline = scope.ServiceProvider.GetRequiredService<PostCallPipeline>();
            await pipeline.RunAsync(tenant, assistant, call, null, captured, callerText, ct,
                extractLead: callerText.Length > 0 || captured is not null || keyed is not null, keyedNumber: keyed);
            if (!await PostCallPipeline.SaveClaimedAsync(db, writes, callId, ct))
            {
                // Another unit (NativeCallCloser, on this node or another) ran the pipeline since this one read the call:
                // its lead, alerts and events stand; this stream's end still writes the status, transcript and latencies.
                db.ChangeTracker.Clear();
                await FinishOnceAsync(tenantId, callId, assistantId, reason, startedAt, greetingMs, captured, streamEnded, offeredTransfer, ct);
            }
            return;
        }
        using var turn = await writes.EnterAsync(db, ct);
        await db.SaveChangesAsync(ct);
    }

    /// <summary>The call's stored user and assistant turns (role, text), in order.</summary>
    private static async Task<List<(string Role, string Text)>> SpokenTurnsAsync(SwitchboardDbContext db, Guid callId, CancellationToken ct)
    {
        var rows = await db.TranscriptTurns.AsNoTracking().Where(t => t.CallId == callId && (t.Role == "user" || t.Role == "assistant"))
            .OrderBy(t => t.Seq).Select(t => new { t.Role, t.Text }).ToListAsync(ct);
        return [.. rows.Select(t => (t.Role, t.Text))];
    }

    /// <summary>A call's transcript text: one <c>role: text</c> line per spoken turn.</summary>
    private static string TranscriptTextOf(List<(string Role, string Text)> spoken) => string.Join('\n', spoken.Select(t => $"{t.Role}: {t.Text}"));

    private AsyncServiceScope Scoped(Guid tenantId, out SwitchboardDbContext db)
    {
        var scope = scopes.CreateAsyncScope();
        scope.ServiceProvider.GetRequiredService<CurrentTenant>().Set(tenantId);
        db = scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>();
        return scope;
    }
}
