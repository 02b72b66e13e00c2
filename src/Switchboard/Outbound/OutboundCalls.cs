using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Switchboard.Alerts;
using Switchboard.Assistants;
using Switchboard.Calls;
using Switchboard.Credentials;
using Switchboard.Numbers;
using Switchboard.Outbox;
using Switchboard.Platform.Database;
using Switchboard.Platform.Http;
using Switchboard.Platform.Phones;
using Switchboard.Tenancy;
using Switchboard.Twilio;
using Switchboard.Vapi;

namespace Switchboard.Outbound;

/// <summary>What an outbound call request asks for, already validated: E.164 number, assistant, variables, earliest time.</summary>
internal sealed record OutboundCallPlan(string To, Assistant Assistant, IReadOnlyDictionary<string, string> Variables, DateTimeOffset At, string Source);

/// <summary>A refused outbound call: the reason (<see cref="OutboundRefusalReasons"/>), a sentence, and the next allowed time when one exists.</summary>
internal sealed record OutboundRefused(string Reason, string Message, DateTimeOffset? NextAllowedAt, string? TimeZone);

/// <summary>
/// Places outbound calls for every source (the API, callbacks, campaigns): the do-not-call list and the calling
/// window are checked (and every refusal recorded in <c>outbound_refusals</c> with its reason), the call record is
/// created (direction <c>outbound</c>, status <c>queued</c>) and an <see cref="OutboundPlaceHandler"/> outbox message
/// due at the requested time places it, so a scheduled call survives restarts. Rows are added to the caller's unit of
/// work; the caller saves.
/// </summary>
internal sealed class OutboundCalls(SwitchboardDbContext db, DoNotCallList dnc, TimeProvider clock)
{
    /// <summary>
    /// Prefix of <see cref="Call.ProviderCallId"/> until the provider's id (Twilio CallSid, Vapi call id) is known:
    /// <c>outbound:</c> + the call's id in hex.
    /// </summary>
    public const string UnplacedPrefix = "outbound:";

    /// <summary>
    /// Checks <paramref name="plan"/> for <paramref name="tenant"/> and queues the call, or records and returns why not.
    /// <paramref name="baseUrl"/> is the public base Twilio reaches this server at (webhooks).
    /// </summary>
    public async Task<(Call? Call, OutboundRefused? Refused)> QueueAsync(Tenant tenant, OutboundCallPlan plan, string baseUrl, CancellationToken ct,
        string? dedupeKey = null)
    {
        if (await CheckAsync(tenant, plan.To, plan.At, plan.Source, ct) is { } refused)
        {
            return (null, refused);
        }
        var now = clock.GetUtcNow();
        var id = Guid.CreateVersion7();
        var native = IsNative(plan.Assistant);
        var call = new Call
        {
            Id = id,
            TenantId = tenant.Id,
            Channel = CallChannels.Voice,
            Provider = native ? NativeCallStatus.Provider : "vapi",
            ProviderCallId = UnplacedPrefix + id.ToString("N"),
            Type = "outboundPhoneCall",
            Direction = "outbound",
            Status = "queued",
            CustomerNumber = plan.To,
            AssistantId = plan.Assistant.Id,
            Language = plan.Assistant.Languages.FirstOrDefault() ?? tenant.Locale,
            OutboundContextJson = plan.Variables.Count == 0 ? null : JsonSerializer.Serialize(plan.Variables),
            CreatedAt = now,
            UpdatedAt = now,
        };
        db.Calls.Add(call);
        db.Outbox.Add(new OutboxMessage
        {
            Id = Guid.CreateVersion7(),
            TenantId = tenant.Id,
            Kind = OutboundPlaceHandler.Kind,
            DedupeKey = dedupeKey ?? $"{id:N}:place",
            PayloadJson = JsonSerializer.Serialize(new OutboundPlaceHandler.Payload(id, baseUrl.TrimEnd('/'), plan.Source), JsonSerializerOptions.Web),
            NextAttemptAt = plan.At > now ? plan.At : now,
            CreatedAt = now,
        });
        return (call, null);
    }

    /// <summary>The do-not-call list, then the calling window at <paramref name="at"/>; a refusal is recorded (unsaved) and returned.</summary>
    public async Task<OutboundRefused?> CheckAsync(Tenant tenant, string e164, DateTimeOffset at, string source, CancellationToken ct)
    {
        OutboundRefused? refused = null;
        if (await dnc.ContainsAsync(e164, ct))
        {
            refused = new OutboundRefused(OutboundRefusalReasons.DoNotCall, $"{e164} is on the do-not-call list.", null, null);
        }
        else if (CallingWindows.Check(e164, tenant.TimeZone, tenant.BusinessHours, at) is { Allowed: false } window)
        {
            refused = new OutboundRefused(window.Reason!, window.Detail!, window.NextAllowedAt, window.TimeZone);
        }
        if (refused is not null)
        {
            Record(tenant.Id, e164, refused, source);
        }
        return refused;
    }

    /// <summary>Vapi places the call when the assistant lives there; otherwise (native, or never pushed to Vapi) the realtime bridge does, through Twilio.</summary>
    public static bool IsNative(Assistant assistant) => assistant.Provider != "vapi" || assistant.VapiAssistantId is null;

    /// <summary>
    /// The number a native outbound call presents as caller id (Twilio's <c>From</c>), or null when the tenant has none it may
    /// present. First the sender set with <c>PUT /api/v1/credentials/twilio</c> (<see cref="Tenant.TwilioFromNumber"/>, in
    /// E.164; a Messaging Service SID cannot place a call, so it is passed over), else the oldest of the tenant's
    /// <c>twilio</c>-mode numbers that is <see cref="NumberClaims.Active"/>. A number attached but not verified on the tenant's
    /// Twilio account (<c>pending</c>, <c>waiting-for-credentials</c>, <c>failed</c>) is only a claim: it may be another
    /// business's number (<see cref="NumberClaims"/>), and is never shown to a callee as this tenant's.
    /// </summary>
    public async Task<string?> TwilioCallerIdAsync(Tenant tenant, CancellationToken ct)
    {
        if (SmsSender.Normalize(tenant.TwilioFromNumber, Phones.RegionOf(tenant.Locale)) is { } configured && !new SmsSender(configured).IsMessagingService)
        {
            return configured;
        }
        return await db.PhoneNumbers.AsNoTracking()
            .Where(n => n.TenantId == tenant.Id && n.Mode == "twilio" && n.Status == NumberClaims.Active)
            .OrderBy(n => n.CreatedAt).Select(n => n.Number).FirstOrDefaultAsync(ct);
    }

    /// <summary>
    /// The Vapi phone-number id a Vapi outbound call is placed from (<c>POST /call</c> <c>phoneNumberId</c>): the oldest of the
    /// tenant's <c>vapi</c>-mode numbers that is <see cref="NumberClaims.Active"/> (verified on its Twilio account and imported
    /// into Vapi), or null when there is none. Same rule as <see cref="TwilioCallerIdAsync"/>.
    /// </summary>
    public Task<string?> VapiPhoneNumberIdAsync(Guid tenantId, CancellationToken ct) =>
        db.PhoneNumbers.AsNoTracking()
            .Where(n => n.TenantId == tenantId && n.Mode == "vapi" && n.VapiPhoneNumberId != null && n.Status == NumberClaims.Active)
            .OrderBy(n => n.CreatedAt).Select(n => n.VapiPhoneNumberId).FirstOrDefaultAsync(ct);

    /// <summary>
    /// Refuses (reason <see cref="OutboundRefusalReasons.NoCallerId"/>, recorded unsaved) a call to <paramref name="e164"/> for
    /// <paramref name="assistant"/> when the tenant has no caller id that call could present (<see cref="TwilioCallerIdAsync"/>,
    /// <see cref="VapiPhoneNumberIdAsync"/>); null when it has one. Checked when the call is asked for; the placement checks again.
    /// </summary>
    public async Task<OutboundRefused?> CheckCallerIdAsync(Tenant tenant, Assistant assistant, string e164, string source, CancellationToken ct)
    {
        string? message = null;
        if (IsNative(assistant) && await TwilioCallerIdAsync(tenant, ct) is null)
        {
            message = "No caller id: none of this organisation's Twilio numbers is active (verified on its Twilio account). "
                      + "Attach a number and wait until it is active, or set the sender with PUT /api/v1/credentials/twilio.";
        }
        else if (!IsNative(assistant) && await VapiPhoneNumberIdAsync(tenant.Id, ct) is null)
        {
            message = "No caller id: none of this organisation's numbers imported into Vapi is active (verified on its Twilio account). "
                      + "Attach a number in vapi mode and wait until it is active.";
        }
        if (message is null)
        {
            return null;
        }
        var refused = new OutboundRefused(OutboundRefusalReasons.NoCallerId, message, null, null);
        Record(tenant.Id, e164, refused, source);
        return refused;
    }

    /// <summary>Adds the refusal row (unsaved).</summary>
    public void Record(Guid tenantId, string number, OutboundRefused refused, string source) =>
        db.OutboundRefusals.Add(new OutboundRefusal
        {
            Id = Guid.CreateVersion7(),
            TenantId = tenantId,
            Number = TolerantJson.Cap(number, 64),
            Reason = refused.Reason,
            Detail = TolerantJson.Cap(refused.Message, 500),
            NextAllowedAt = refused.NextAllowedAt,
            Source = source,
            At = clock.GetUtcNow(),
        });
}

/// <summary>
/// Places a queued outbound call when it is due: the do-not-call list and window are checked again (a scheduled call
/// may have become forbidden), and the caller id is taken from the tenant's active numbers only (a call without one ends
/// <c>failed</c>, <c>no-caller-id</c> or <c>no-vapi-number</c>, and is never dialled), then the call is created at Twilio (native bridge: asynchronous AMD, the
/// <c>/webhooks/twilio/outbound/…</c> callbacks) or at Vapi (<c>POST /call</c>). A refusal or a provider's 4xx ends
/// the call (<c>canceled</c> / <c>failed</c>, with the reason in <c>EndedReason</c>); 429/5xx are retried.
/// Crash safety (Twilio): before the create request the call is marked <c>dialing</c> with <see cref="Call.DialingAt"/>
/// and that is committed on its own; a retry that finds the marker but no CallSid (a crash, a timeout or a lost
/// response after Twilio may have accepted) first lists Twilio's calls to that number from that caller id since the
/// marker (<see cref="TwilioOutboundClient.ListSinceAsync"/>) and binds the newest one no other call owns; it places
/// again only when there is none. The status callbacks also bind the CallSid (their URL carries the call id).
/// Vapi: a retry first looks for a Vapi call whose <c>metadata.switchboardCallId</c> is this call (<c>GET /call</c>).
/// </summary>
internal sealed class OutboundPlaceHandler(
    SwitchboardDbContext db, OutboundCalls outbound, TwilioOutboundClient twilio, VapiRestClient vapi, CredentialStore credentials,
    Webhooks.WebhookEventPublisher webhooks, Campaigns.CampaignResults campaigns, SqliteWriteGate writes, TimeProvider clock, ILogger<OutboundPlaceHandler> logger)
    : IOutboxHandler
{
    public const string Kind = "outbound.place";

    /// <summary>Status of a call while Switchboard is asking Twilio to create it (see <see cref="Call.DialingAt"/>).</summary>
    public const string Dialing = "dialing";

    /// <summary>Outbox payload: the call, the public base URL of this server, and what asked for the call.</summary>
    public sealed record Payload(Guid CallId, string BaseUrl, string Source);

    string IOutboxHandler.Kind => Kind;

    public async Task<OutboxResult> HandleAsync(OutboxMessage message, CancellationToken ct)
    {
        var payload = JsonSerializer.Deserialize<Payload>(message.PayloadJson, JsonSerializerOptions.Web);
        var call = payload is null ? null : await db.Calls.FirstOrDefaultAsync(c => c.Id == payload.CallId, ct);
        if (payload is null || call is null)
        {
            return OutboxResult.Dead("Call not found.");
        }
        if (call.Status is not ("queued" or Dialing) || !call.ProviderCallId.StartsWith(OutboundCalls.UnplacedPrefix, StringComparison.Ordinal))
        {
            return OutboxResult.Done; // already placed or ended
        }
        var tenant = await db.Tenants.AsNoTracking().FirstAsync(t => t.Id == call.TenantId, ct);
        var assistant = call.AssistantId is { } aid ? await db.Assistants.AsNoTracking().FirstOrDefaultAsync(a => a.Id == aid, ct) : null;
        var now = clock.GetUtcNow();
        if (await outbound.CheckAsync(tenant, call.CustomerNumber!, now, payload.Source, ct) is { } refused)
        {
            return await EndAsync(call, "canceled", "refused:" + refused.Reason, ct);
        }
        if (assistant is null)
        {
            return await EndAsync(call, "failed", "no-assistant", ct);
        }
        return call.Provider == "vapi"
            ? await PlaceWithVapiAsync(tenant, assistant, call, retry: message.Attempts > 0, ct)
            : await PlaceWithTwilioAsync(tenant, call, payload.BaseUrl, ct);
    }

    private async Task<OutboxResult> PlaceWithTwilioAsync(Tenant tenant, Call call, string baseUrl, CancellationToken ct)
    {
        var creds = await credentials.GetTwilioAsync(tenant.Id, ct);
        if (creds is null)
        {
            return await EndAsync(call, "failed", "no-twilio-credentials", ct);
        }
        if (call.Status == Dialing && call.DialingAt is { } since && call.BusinessNumber is { } used)
        {
            // A previous attempt got as far as asking Twilio from `used`: did Twilio create the call? (Asked even if that
            // number is no longer active: a call Twilio created is bound, never lost.)
            var listed = await twilio.ListSinceAsync(creds.AccountSid, creds.AuthToken, call.CustomerNumber!, used, since, ct);
            if (listed.Outcome != TwilioSendOutcome.Accepted)
            {
                return OutboxResult.Retry("listing Twilio calls after an interrupted placement: " + listed.Error);
            }
            foreach (var candidate in listed.Calls.Reverse())
            {
                if (!await db.Calls.IgnoreQueryFilters().AnyAsync(c => c.Id != call.Id && (c.CallSid == candidate.Sid || c.ProviderCallId == candidate.Sid), ct))
                {
                    logger.LogWarning("Outbound call {CallId} was created at Twilio by an interrupted attempt: bound to it, not placed again", call.Id);
                    Bind(call, candidate.Sid, used);
                    return OutboxResult.Done;
                }
            }
        }
        // Checked again at dial time: a number may have stopped being active since the call was queued.
        if (await outbound.TwilioCallerIdAsync(tenant, ct) is not { } from)
        {
            return await EndAsync(call, "failed", "no-caller-id", ct);
        }
        // The marker, committed before Twilio is asked (a crash after Twilio accepted leaves it for the retry to find).
        call.Status = Dialing;
        call.DialingAt = clock.GetUtcNow();
        call.BusinessNumber = from; // the number this attempt asks from: what a retry lists by
        call.UpdatedAt = call.DialingAt.Value;
        await db.SaveChangesAsync(ct);

        var hooks = $"{baseUrl}/webhooks/twilio/outbound/{tenant.Id}/{call.Id}";
        var result = await twilio.CreateAsync(creds.AccountSid, creds.AuthToken, call.CustomerNumber!, from, hooks + "/answer", hooks + "/status", hooks + "/amd", ct);
        switch (result.Outcome)
        {
            case TwilioSendOutcome.Accepted when result.CallSid is { } sid:
                Bind(call, sid, from);
                return OutboxResult.Done;
            case TwilioSendOutcome.Transient:
                return OutboxResult.Retry(result.Error ?? "transient");
            default:
                logger.LogWarning("Twilio refused outbound call {CallId}: {Error}", call.Id, result.Error);
                return await EndAsync(call, "failed", $"twilio-error:{result.ErrorCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "rejected"}", ct);
        }
    }

    /// <summary>Saves Twilio's CallSid on the call (the callbacks may have bound it already: they carry the call id in their URL).</summary>
    private void Bind(Call call, string sid, string from)
    {
        call.CallSid ??= sid;
        if (call.ProviderCallId.StartsWith(OutboundCalls.UnplacedPrefix, StringComparison.Ordinal))
        {
            call.ProviderCallId = sid;
        }
        call.BusinessNumber ??= from;
        call.UpdatedAt = clock.GetUtcNow();
    }

    private async Task<OutboxResult> PlaceWithVapiAsync(Tenant tenant, Assistant assistant, Call call, bool retry, CancellationToken ct)
    {
        var key = await credentials.GetVapiKeyAsync(ct);
        var phoneNumberId = await outbound.VapiPhoneNumberIdAsync(tenant.Id, ct);
        if (key is null || assistant.VapiAssistantId is null || phoneNumberId is null)
        {
            return await EndAsync(call, "failed", key is null ? "no-vapi-key" : assistant.VapiAssistantId is null ? "assistant-not-at-vapi" : "no-vapi-number", ct);
        }
        if (retry)
        {
            // A previous attempt may have been created at Vapi with its response lost (timeout, 5xx after the create).
            var listed = await vapi.ListCallsAsync(key, phoneNumberId, call.CreatedAt - TwilioOutboundClient.ClockSkew, ct);
            if (listed.Outcome != VapiOutcome.Ok)
            {
                return OutboxResult.Retry("listing Vapi calls after a failed placement: " + listed.Error);
            }
            if (listed.Body is JsonArray calls && calls.OfType<JsonObject>().FirstOrDefault(c =>
                    c["metadata"]?["switchboardCallId"]?.GetValueKind() == JsonValueKind.String && c["metadata"]!["switchboardCallId"]!.GetValue<string>() == call.Id.ToString()
                    && c["id"]?.GetValueKind() == JsonValueKind.String) is { } existing)
            {
                call.ProviderCallId = existing["id"]!.GetValue<string>();
                call.UpdatedAt = clock.GetUtcNow();
                return OutboxResult.Done;
            }
        }
        var variables = new JsonObject();
        foreach (var (k, v) in OutboundContext.Read(call.OutboundContextJson))
        {
            variables[k] = v;
        }
        var body = new JsonObject
        {
            ["assistantId"] = assistant.VapiAssistantId,
            ["phoneNumberId"] = phoneNumberId,
            ["customer"] = new JsonObject { ["number"] = call.CustomerNumber },
            ["assistantOverrides"] = new JsonObject { ["variableValues"] = variables },
            ["metadata"] = new JsonObject { ["switchboardCallId"] = call.Id.ToString(), ["tenantId"] = tenant.Id.ToString() },
        };
        var result = await vapi.CreateCallAsync(key, body, ct);
        switch (result.Outcome)
        {
            case VapiOutcome.Ok when (result.Body?["id"]?.GetValue<string>() is { } id):
                call.ProviderCallId = id;
                call.UpdatedAt = clock.GetUtcNow();
                return OutboxResult.Done;
            case VapiOutcome.Transient:
                return OutboxResult.Retry(result.Error ?? "Vapi unavailable");
            default:
                return await EndAsync(call, "failed", "vapi-error:" + result.Status.ToString(System.Globalization.CultureInfo.InvariantCulture), ct);
        }
    }

    /// <summary>
    /// Ends a call that was never placed (refused, no credentials, no caller id, the provider's 4xx) and publishes its end,
    /// with the call claimed in the same transaction (<see cref="PostCallPipeline.SaveClaimedAsync"/>), as every unit that
    /// publishes a call's end does: the status callback of a call an interrupted attempt created, or
    /// <see cref="NativeCallCloser"/>, may end it meanwhile. When another unit claimed it first, its end stands: this unit's
    /// changes to the call and its events are dropped (a refusal row it recorded is kept), and the message is done. A save
    /// lost otherwise (a unique-key race on a row the unit adds) is retried by the outbox, which reads the call again.
    /// </summary>
    private async Task<OutboxResult> EndAsync(Call call, string status, string reason, CancellationToken ct)
    {
        call.Status = status;
        call.EndedReason ??= reason;
        call.EndedAt ??= clock.GetUtcNow();
        call.UpdatedAt = clock.GetUtcNow();
        await campaigns.CallEndedAsync(call, ct); // a campaign contact's call: refused (dnc) or failed before it rang
        await webhooks.CallEndedAsync(call, ct);
        call.Analyzed = true; // its end is published: claimed in the save, so no other unit publishes it again
        if (await TwilioVoiceApi.TrySaveClaimedAsync(db, writes, call.Id, ct))
        {
            return OutboxResult.Done;
        }
        // Nothing of this unit was written (its transaction rolled back): leave only what the outbox saves next, the message's
        // bookkeeping and the refusal, if any.
        foreach (var entry in db.ChangeTracker.Entries().Where(e => e.Entity is not (OutboxMessage or OutboundRefusal)).ToList())
        {
            entry.State = entry.State == EntityState.Added ? EntityState.Detached : EntityState.Unchanged;
        }
        db.DropInsertsOnSave();
        if (await db.Calls.AsNoTracking().AnyAsync(c => c.Id == call.Id && c.Analyzed, ct))
        {
            logger.LogInformation("Outbound call {CallId} was ended by another unit before its placement ended it ({Reason}): that end stands", call.Id, reason);
            return OutboxResult.Done;
        }
        return OutboxResult.Retry("ending the call lost a race on a row it adds");
    }
}
