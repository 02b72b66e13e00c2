using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Switchboard.Alerts;
using Switchboard.Assistants;
using Switchboard.Brain;
using Switchboard.Calls;
using Switchboard.Knowledge;
using Switchboard.Platform.Database;
using Switchboard.Tenancy;
using Switchboard.Webhooks;

namespace Switchboard.Vapi;

/// <summary>
/// Applies one Vapi server message to the tenant's records and builds the reply, inside the caller's unit of
/// work (shared/protocols/vapi-server-messages.md §2–§5). Idempotent: a message already stored (same
/// idempotency key) changes nothing, though request/response messages are answered again. Messages out of
/// order never move a call backwards: status only advances, and the end-of-call report's transcript is final.
/// </summary>
internal sealed class VapiEventProcessor(
    SwitchboardDbContext db, ToolRegistry tools, PostCallPipeline postCall, TimeProvider clock, ILogger<VapiEventProcessor> logger,
    WebhookEventPublisher webhooks, KnowledgeSearch knowledge, Outbound.TransferService transfers)
{
    private static readonly Dictionary<string, int> StatusRank = new(StringComparer.Ordinal)
    {
        ["scheduled"] = 0,
        ["queued"] = 0,
        ["ringing"] = 1,
        ["in-progress"] = 2,
        ["forwarding"] = 3,
        ["ended"] = 4,
    };

    // The queries every message runs, compiled once (EF would otherwise walk and hash each expression tree per message to
    // find its cached plan: a few percent of the webhook's CPU at hundreds of messages a second). The tenant filter still applies.
    private static readonly Func<SwitchboardDbContext, string, CancellationToken, Task<bool>> EventStored = EF.CompileAsyncQuery(
        (SwitchboardDbContext db, string key, CancellationToken ct) => db.CallEvents.Any(e => e.IdempotencyKey == key));

    private static readonly Func<SwitchboardDbContext, string, CancellationToken, Task<Call?>> VapiCall = EF.CompileAsyncQuery(
        (SwitchboardDbContext db, string providerCallId, CancellationToken ct) => db.Calls.FirstOrDefault(c => c.Provider == "vapi" && c.ProviderCallId == providerCallId));

    /// <summary>
    /// Both lookups a message of a call starts with, in one statement: whether the message is stored already, and the call
    /// (tracked) if it is. Anchored on the tenant's row, which always exists, so the answer comes back with or without a
    /// call; the call side is a left join on the unique (TenantId, Provider, ProviderCallId), at most one row.
    /// </summary>
    private static readonly Func<SwitchboardDbContext, Guid, string, string, CancellationToken, Task<EventAndCall?>> StoredEventAndCall = EF.CompileAsyncQuery(
        (SwitchboardDbContext db, Guid tenantId, string key, string providerCallId, CancellationToken ct) =>
            (from t in db.Tenants
             where t.Id == tenantId
             from c in db.Calls.Where(c => c.Provider == "vapi" && c.ProviderCallId == providerCallId).DefaultIfEmpty()
             select new EventAndCall(db.CallEvents.Any(e => e.IdempotencyKey == key), c, null, null)).FirstOrDefault());

    /// <summary>
    /// <see cref="StoredEventAndCall"/> with the call's stored turn count (null when no call is stored): the one read a final
    /// transcript needs besides them (the new turn's <c>Seq</c>), in the same statement, so the message costs one round trip
    /// less (issue 13: every read is a round trip on PostgreSQL, and a statement on SQLite's reader).
    /// </summary>
    private static readonly Func<SwitchboardDbContext, Guid, string, string, CancellationToken, Task<EventAndCall?>> StoredEventCallAndTurns = EF.CompileAsyncQuery(
        (SwitchboardDbContext db, Guid tenantId, string key, string providerCallId, CancellationToken ct) =>
            (from t in db.Tenants
             where t.Id == tenantId
             from c in db.Calls.Where(c => c.Provider == "vapi" && c.ProviderCallId == providerCallId).DefaultIfEmpty()
             select new EventAndCall(db.CallEvents.Any(e => e.IdempotencyKey == key), c,
                 c == null ? null : (int?)db.TranscriptTurns.Count(x => x.CallId == c.Id), null)).FirstOrDefault());

    /// <summary>
    /// <see cref="StoredEventAndCall"/> with the call's stored turns in <c>Seq</c> order, untracked (built here, not materialized as
    /// entities): what a <c>conversation-update</c> snapshot or an end-of-call report is compared with, in the same statement (one
    /// row per turn, the call's columns repeated). Empty when no call is stored. PostgreSQL only, where it saves a round trip: on
    /// SQLite, where a read is an in-process call, the joined rows cost more server CPU than the second query (bench ingest:
    /// 6 – 15 % more CPU per message with it).
    /// </summary>
    private static readonly Func<SwitchboardDbContext, Guid, string, string, CancellationToken, Task<EventAndCall?>> StoredEventCallAndTurnRows = EF.CompileAsyncQuery(
        (SwitchboardDbContext db, Guid tenantId, string key, string providerCallId, CancellationToken ct) =>
            (from t in db.Tenants
             where t.Id == tenantId
             from c in db.Calls.Where(c => c.Provider == "vapi" && c.ProviderCallId == providerCallId).DefaultIfEmpty()
             select new EventAndCall(db.CallEvents.Any(e => e.IdempotencyKey == key), c, null,
                 db.TranscriptTurns.Where(x => x.CallId == c.Id).OrderBy(x => x.Seq).Select(x => new TranscriptTurn
                 {
                     Id = x.Id, TenantId = x.TenantId, CallId = x.CallId, Seq = x.Seq, Role = x.Role, Text = x.Text,
                     SecondsFromStart = x.SecondsFromStart, At = x.At, ProviderLatencyMs = x.ProviderLatencyMs, BridgeLatencyMs = x.BridgeLatencyMs,
                 }).ToList())).FirstOrDefault());

    /// <summary>
    /// What a message's first read finds: whether it is stored, its call (tracked) and, when asked for, the call's stored turn
    /// count (<see cref="StoredEventCallAndTurns"/>) or its stored turns (<see cref="StoredEventCallAndTurnRows"/>).
    /// </summary>
    private sealed record EventAndCall(bool Stored, Call? Call, int? Turns, List<TranscriptTurn>? TurnRows);

    /// <summary>The call's stored turns in <c>Seq</c> order, untracked (what a transcript snapshot is compared with).</summary>
    private static readonly Func<SwitchboardDbContext, Guid, IAsyncEnumerable<TranscriptTurn>> StoredTurnRows = EF.CompileAsyncQuery<SwitchboardDbContext, Guid, TranscriptTurn>(
        (SwitchboardDbContext db, Guid callId) => db.TranscriptTurns.AsNoTracking().Where(t => t.CallId == callId).OrderBy(t => t.Seq));

    private static readonly Func<SwitchboardDbContext, Guid, CancellationToken, Task<int>> StoredTurns = EF.CompileAsyncQuery(
        (SwitchboardDbContext db, Guid callId, CancellationToken ct) => db.TranscriptTurns.Count(t => t.CallId == callId));

    /// <summary>
    /// Processes <paramref name="message"/> (the value of the body's <c>message</c>); returns the JSON reply.
    /// <paramref name="unusableFields"/>: JSON paths of fields that could not be used (bad text, non-finite or
    /// out-of-range numbers), recorded on the event.
    /// </summary>
    public async Task<JsonNode> ProcessAsync(TenantConfig config, JsonElement message, string type, string rawBody, string idempotencyKey,
        IReadOnlyList<string> unusableFields, CancellationToken ct)
    {
        var (tenant, assistant) = config;
        var now = clock.GetUtcNow();
        var providerCallId = ProviderCallIdOf(message);
        bool duplicate;
        Call? call;
        StoredTurnsRead turnsRead = default; // the call's stored turns, when read with the lookup
        if (providerCallId is not null
            && db.Tracked<Call>().FirstOrDefault(c => c.Provider == "vapi" && c.ProviderCallId == providerCallId) is null
            && await (AddsTurn(message, type) ? StoredEventCallAndTurns(db, tenant.Id, idempotencyKey, providerCallId, ct)
                : ReplacesTurns(message, type) && !db.IsSqlite ? StoredEventCallAndTurnRows(db, tenant.Id, idempotencyKey, providerCallId, ct)
                : StoredEventAndCall(db, tenant.Id, idempotencyKey, providerCallId, ct)) is { } stored)
        {
            duplicate = stored.Stored;
            call = stored.Call ?? (DescribesCall(type) ? await BindOrCreateCallAsync(tenant, providerCallId, message, now, ct) : null);
            if (stored.Call is not null) // a bound outbound call's turns were not read
            {
                turnsRead = new(stored.Turns, stored.TurnRows);
            }
        }
        else
        {
            duplicate = await EventStored(db, idempotencyKey, ct);
            call = providerCallId is null ? null : await FindOrCreateCallAsync(tenant, providerCallId, message, now, DescribesCall(type), ct);
        }

        using var scope = logger.BeginScope("Tenant {TenantId} call {CallId} vapi {VapiType}", tenant.Id, call?.Id, type);
        if (!duplicate)
        {
            // Only inserted: untracked, written after the unit's tracked changes.
            db.InsertOnSave(NewEvent(tenant.Id, call?.Id, message, type, rawBody, idempotencyKey, unusableFields, now));
            if (call is not null)
            {
                var statusBefore = call.Status;
                ApplyCallFields(call, message);
                var wroteDependents = await ApplyAsync(tenant, assistant, call, message, type, turnsRead, ct);
                var entry = db.Entry(call); // detects this call's changes
                // A message that changes the call (a column, its transcript, or whatever a request/response message's tools
                // write) moves its version: two such messages of one call prepared side by side cannot both be written. One
                // that only records its event (speech-update, a partial transcript, a repeated status) leaves the call row
                // alone: no rewrite of the row and its indexes per message, no conflict with the call's other messages; its
                // last-activity time is touched at most once per ActivityTouch (the concurrent-call count's 30-minute window).
                if (entry.State is EntityState.Added or EntityState.Modified || wroteDependents || RequestResponse(type)
                    || now - call.UpdatedAt >= ActivityTouch)
                {
                    // Through the entry, so the call is marked modified now (CallVersionsRead does not detect changes). By
                    // name: a lambda here is an expression tree built at every message.
                    entry.Property<DateTimeOffset>(nameof(Call.UpdatedAt)).CurrentValue = now;
                    var version = entry.Property<long>(nameof(Call.Version));
                    version.CurrentValue = entry.State == EntityState.Added ? 0 : version.OriginalValue + 1;
                }
                await webhooks.CallProgressedAsync(call, statusBefore, ct); // call.started
            }
        }
        else
        {
            logger.LogInformation("Vapi message {VapiType} already received; not applied again", type);
        }

        return type switch
        {
            "assistant-request" => AssistantReply(tenant, assistant),
            "tool-calls" => await ToolCallsReplyAsync(tenant, assistant, call, message, ct),
            "function-call" => await FunctionCallReplyAsync(tenant, assistant, call, message, ct),
            "transfer-destination-request" => transfers.VapiDestination(tenant, assistant, call, message),
            "handoff-destination-request" => new JsonObject { ["error"] = "Handoff is not configured for this assistant." },
            "knowledge-base-request" => await KnowledgeReplyAsync(tenant, message, ct),
            "call.endpointing.request" => new JsonObject { ["timeoutSeconds"] = 0.5 },
            "campaign.predial" => new JsonObject { ["eligible"] = true },
            _ => new JsonObject { ["ok"] = true },
        };
    }

    /// <summary>Vapi's id of the message's call (<c>call.id</c>, else <c>callId</c>) in canonical form; null when it has none.</summary>
    internal static string? ProviderCallIdOf(JsonElement message) =>
        ProviderIds.CanonicalOrNull(message.Path("call", "id").Str() ?? message.Prop("callId").Str(), ProviderIds.CallIdLength);

    /// <summary>
    /// The stored record of a message (<c>call_events</c>): its type capped to 100 characters, <paramref name="rawBody"/> (the body
    /// as received, or sanitized), the message's <c>timestamp</c> when usable, the unusable fields' paths as a JSON array (null
    /// when none), received at <paramref name="now"/>. The one shape of the row, whichever path writes it (<see cref="VapiRecordOnly"/>).
    /// </summary>
    internal static CallEvent NewEvent(Guid tenantId, Guid? callId, JsonElement message, string type, string rawBody, string idempotencyKey,
        IReadOnlyList<string> unusableFields, DateTimeOffset now) => new()
        {
            Id = Guid.CreateVersion7(),
            TenantId = tenantId,
            CallId = callId,
            Provider = "vapi",
            Type = Cap(type, 100)!,
            IdempotencyKey = idempotencyKey,
            PayloadJson = rawBody,
            ProviderTimestamp = message.Prop("timestamp").Time(),
            UnusableFields = unusableFields.Count == 0 ? null : JsonSerializer.Serialize(unusableFields),
            ReceivedAt = now,
        };

    /// <summary>Passages returned to Vapi per <c>knowledge-base-request</c> (3–5 suit voice: brain-and-knowledge-base.md §4.6).</summary>
    internal const int KnowledgeDocuments = 3;

    /// <summary>
    /// Answers Vapi's custom knowledge base request (brain-and-knowledge-base.md §5; Vapi OpenAPI
    /// <c>ServerMessageResponseKnowledgeBaseRequest</c>): <c>{"documents":[{"content","similarity","uuid"}]}</c> for the last user
    /// turn, read from <c>messagesOpenAIFormatted[].content</c>, else <c>messages[].message</c>, else <c>messages[].content</c>.
    /// <c>content</c> starts with the source's title (and heading path) so the model can cite it; <c>similarity</c> is the fused
    /// score (0–1); <c>uuid</c> is the chunk id. Nothing to search or nothing found → <c>{"documents":[]}</c> (the call goes on).
    /// </summary>
    private async Task<JsonNode> KnowledgeReplyAsync(Tenant tenant, JsonElement message, CancellationToken ct)
    {
        var documents = new JsonArray();
        if (LastUserText(message) is { } question)
        {
            foreach (var hit in await knowledge.SearchAsync(tenant.Id, question, KnowledgeDocuments, ct))
            {
                var source = hit.Heading is null ? hit.DocumentTitle : $"{hit.DocumentTitle} › {hit.Heading}";
                documents.Add(new JsonObject
                {
                    ["content"] = $"[{source}]\n{hit.Text}",
                    ["similarity"] = hit.Score,
                    ["uuid"] = hit.ChunkId.ToString(System.Globalization.CultureInfo.InvariantCulture),
                });
            }
        }
        return new JsonObject { ["documents"] = documents };
    }

    private static string? LastUserText(JsonElement message)
    {
        foreach (var (list, field) in new[] { ("messagesOpenAIFormatted", "content"), ("messages", "message"), ("messages", "content") })
        {
            if (message.Prop(list) is not { ValueKind: JsonValueKind.Array } items)
            {
                continue;
            }
            for (var i = items.GetArrayLength() - 1; i >= 0; i--)
            {
                var item = items[i];
                if (item.ValueKind != JsonValueKind.Object || item.Prop("role").Str() != "user")
                {
                    continue;
                }
                var text = item.Prop(field) is { ValueKind: JsonValueKind.Array } parts
                    ? string.Join(' ', parts.EnumerateArray().Select(p => p.ValueKind == JsonValueKind.Object ? p.Prop("text").Str() : null).Where(t => t is not null))
                    : item.Prop(field).Str();
                if (!string.IsNullOrWhiteSpace(text))
                {
                    return text;
                }
            }
        }
        return null;
    }

    /// <summary>The stored call of <paramref name="providerCallId"/>; when none, a bound or new one if <paramref name="create"/>, else null.</summary>
    private async Task<Call?> FindOrCreateCallAsync(Tenant tenant, string providerCallId, JsonElement message, DateTimeOffset now, bool create, CancellationToken ct)
    {
        var call = db.Tracked<Call>().FirstOrDefault(c => c.Provider == "vapi" && c.ProviderCallId == providerCallId)
            ?? await VapiCall(db, providerCallId, ct);
        return call ?? (create ? await BindOrCreateCallAsync(tenant, providerCallId, message, now, ct) : null);
    }

    /// <summary>
    /// The message types sent during a call, about that call (shared/protocols/vapi-server-messages.md §2, the catalogue of
    /// SPEC <c>ServerMessage.message.oneOf</c>, without the chat, session, campaign and deletion lifecycle messages and
    /// <c>call.artifact.upload</c>, sent after the call): only these create the call when it is not stored yet. Any other type,
    /// one Switchboard does not know included (Vapi adds types), is stored as an event, attached to its call when that call is
    /// stored, and never makes a call of its own: a phantom call stuck in <c>queued</c> would be listed and counted as live.
    /// </summary>
    internal static readonly IReadOnlySet<string> CallMessageTypes = new HashSet<string>(StringComparer.Ordinal)
    {
        "assistant-request", "tool-calls", "function-call", "status-update", "end-of-call-report", "conversation-update",
        "transcript", "transcript[transcriptType=\"final\"]", "speech-update", "hang", "model-output", "user-interrupted",
        "transfer-destination-request", "handoff-destination-request", "transfer-update", "phone-call-control",
        "knowledge-base-request", "language-change-detected", "voice-input", "voice-request", "call.endpointing.request",
        "assistant.speechStarted",
    };

    /// <summary>True when a message of <paramref name="type"/> creates its call if that is not stored (<see cref="CallMessageTypes"/>).</summary>
    private static bool DescribesCall(string type) => CallMessageTypes.Contains(type);

    /// <summary>The call of <paramref name="providerCallId"/> when none is stored under that id: an outbound call placed here, or a new one.</summary>
    private async Task<Call> BindOrCreateCallAsync(Tenant tenant, string providerCallId, JsonElement message, DateTimeOffset now, CancellationToken ct)
    {
        Call? call;
        // An outbound call Switchboard placed (POST /call with metadata.switchboardCallId): its row exists before Vapi's id is
        // saved on it, and Vapi's first messages may arrive before the create response is saved. Bind the id to that row.
        if (Guid.TryParse(message.Path("call", "metadata", "switchboardCallId").Str(), out var placedId))
        {
            call = db.Tracked<Call>().FirstOrDefault(c => c.Id == placedId)
                ?? await db.Calls.FirstOrDefaultAsync(c => c.Id == placedId, ct);
            if (call is { Provider: "vapi", Direction: "outbound" } && call.TenantId == tenant.Id
                && (call.ProviderCallId == providerCallId || call.ProviderCallId.StartsWith(Outbound.OutboundCalls.UnplacedPrefix, StringComparison.Ordinal)))
            {
                call.ProviderCallId = providerCallId;
                return call;
            }
        }
        var type = message.Path("call", "type").Str();
        call = new Call
        {
            Id = Guid.CreateVersion7(),
            TenantId = tenant.Id,
            Channel = type == "webCall" ? CallChannels.Web : CallChannels.Voice,
            Provider = "vapi",
            ProviderCallId = providerCallId,
            Direction = type == "outboundPhoneCall" ? "outbound" : "inbound",
            CreatedAt = message.Path("call", "createdAt").Time() ?? now,
            UpdatedAt = now,
        };
        db.Calls.Add(call);
        return call;
    }

    /// <summary>Fields any message may carry (<see cref="VapiCallFields"/>): each fills its column of the call once, while it is null.</summary>
    private static void ApplyCallFields(Call call, JsonElement m)
    {
        var f = VapiCallFields.Of(m);
        call.Type ??= f.Type;
        call.CallSid ??= f.CallSid;
        call.CustomerNumber ??= f.CustomerNumber;
        call.BusinessNumber ??= f.BusinessNumber;
        call.StartedAt ??= f.StartedAt;
        call.EndedAt ??= f.EndedAt;
    }

    /// <summary>
    /// A call's last-activity time (<see cref="Call.UpdatedAt"/>) is moved by a message that changes nothing else at most this
    /// often; the concurrent-call count treats calls untouched for 30 minutes as over.
    /// </summary>
    internal static readonly TimeSpan ActivityTouch = TimeSpan.FromMinutes(1);

    private static bool RequestResponse(string type) => VapiWebhookApi.RequestResponseTypes.Contains(type);

    /// <summary>
    /// True when a <c>transcript</c> message is final (<c>transcriptType</c> absent or <c>final</c>) and so adds a turn; a partial
    /// one only records its event.
    /// </summary>
    internal static bool FinalTranscript(JsonElement m) => m.Prop("transcriptType").Str() is null or "final";

    /// <summary>True for a message that may add a transcript turn (a final transcript with text), whose lookup also counts the call's turns.</summary>
    private static bool AddsTurn(JsonElement m, string type) =>
        type is "transcript" or "transcript[transcriptType=\"final\"]" && FinalTranscript(m) && m.Prop("transcript").Str() is not null;

    /// <summary>
    /// True for a message that compares its transcript with the call's stored turns (a <c>conversation-update</c> snapshot with
    /// messages; every <c>end-of-call-report</c>), whose lookup also reads them.
    /// </summary>
    private static bool ReplacesTurns(JsonElement m, string type) =>
        type == "end-of-call-report"
        || (type == "conversation-update" && (m.Prop("messages") ?? m.Path("artifact", "messages")) is { ValueKind: JsonValueKind.Array });

    /// <summary>The call's stored turns as the message's lookup read them: their count, or the rows themselves (untracked, in <c>Seq</c> order).</summary>
    private readonly record struct StoredTurnsRead(int? Count, List<TranscriptTurn>? Rows);

    /// <summary>
    /// Applies the message's own effect; true when it wrote rows that hang off the call (transcript turns, a transfer, the report's
    /// pipeline). A type given an effect here must be left out of <see cref="VapiRecordOnly.Applies"/>, whose messages skip this.
    /// </summary>
    /// <remarks><paramref name="turnsRead"/>: the call's stored turns (count or rows) if the message's lookup read them; else they are read here when needed.</remarks>
    private async Task<bool> ApplyAsync(Tenant tenant, Assistant? assistant, Call call, JsonElement m, string type, StoredTurnsRead turnsRead, CancellationToken ct)
    {
        switch (type)
        {
            case "status-update":
                Advance(call, m.Prop("status").Str());
                if (m.Prop("endedReason").Str() is { } reason)
                {
                    call.EndedReason ??= Cap(reason, 200);
                }
                return false;
            case "transfer-update":
                await transfers.RecordVapiTransferAsync(assistant, call, m, ct);
                return true;
            case "hang":
                // The assistant was slow to answer; the raw event is kept.
                return false;
            case "transcript" or "transcript[transcriptType=\"final\"]":
                if (!call.TranscriptFinal && FinalTranscript(m) && m.Prop("transcript").Str() is { } text)
                {
                    var seq = (turnsRead.Count ?? turnsRead.Rows?.Count ?? await StoredTurns(db, call.Id, ct))
                        + db.Tracked<TranscriptTurn>().Count(t => t.CallId == call.Id && db.Entry(t).State == EntityState.Added);
                    db.TranscriptTurns.Add(NewTurn(call, seq, m.Prop("role").Str() == "user" ? "user" : "assistant", text, null, m.Prop("timestamp").Time()));
                    Advance(call, "in-progress");
                    return true;
                }
                return false; // a partial transcript: the event is its record
            case "conversation-update":
                if (!call.TranscriptFinal && (m.Prop("messages") ?? m.Path("artifact", "messages")) is { ValueKind: JsonValueKind.Array } messages)
                {
                    var turns = TurnsFrom(call, messages);
                    var existing = db.Entry(call).State == EntityState.Added ? [] : turnsRead.Rows ?? await StoredTurnsAsync(call.Id, ct);
                    // Snapshots grow; an older one arriving late is shorter and is ignored.
                    if (turns.Count >= existing.Count)
                    {
                        await ReplaceTurnsAsync(call, turns, existing, ct);
                    }
                    Advance(call, "in-progress");
                    return true;
                }
                return false;
            case "end-of-call-report":
                await ApplyEndOfCallReportAsync(tenant, assistant, call, m, turnsRead.Rows, ct);
                return true;
            default:
                return false;
        }
    }

    /// <remarks><paramref name="storedTurns"/>: the call's stored turns if the message's lookup read them, else null (read when needed).</remarks>
    private async Task ApplyEndOfCallReportAsync(Tenant tenant, Assistant? assistant, Call call, JsonElement m, IReadOnlyList<TranscriptTurn>? storedTurns, CancellationToken ct)
    {
        var artifact = m.Prop("artifact");
        var analysis = m.Prop("analysis");
        Advance(call, "ended");
        call.EndedReason = Cap(m.Prop("endedReason").Str(), 200) ?? call.EndedReason;
        call.Summary = analysis?.Prop("summary").Str() ?? m.Prop("summary").Str() ?? call.Summary;
        call.SuccessEvaluation = Cap(analysis?.Prop("successEvaluation").Str(), 2000) ?? call.SuccessEvaluation;
        if (analysis?.Prop("structuredData") is { ValueKind: JsonValueKind.Object } sd)
        {
            call.StructuredDataJson = sd.GetRawText();
        }
        call.RecordingUrl = artifact?.Prop("recordingUrl").Str() ?? artifact?.Path("recording", "mono", "combinedUrl").Str()
            ?? m.Prop("recordingUrl").Str() ?? call.RecordingUrl;
        call.StereoRecordingUrl = artifact?.Prop("stereoRecordingUrl").Str() ?? artifact?.Path("recording", "stereoUrl").Str()
            ?? m.Prop("stereoRecordingUrl").Str() ?? call.StereoRecordingUrl;
        if (VapiFieldRules.Cost(m) is { } cost)
        {
            call.Cost = Math.Round((decimal)cost, 4);
        }

        var messages = artifact?.Prop("messages") is { ValueKind: JsonValueKind.Array } am && am.GetArrayLength() > 0 ? am
            : m.Prop("messages") is { ValueKind: JsonValueKind.Array } tm ? tm : (JsonElement?)null;
        var transcriptText = artifact?.Prop("transcript").Str() ?? m.Prop("transcript").Str();
        var turns = messages is { } list ? TurnsFrom(call, list) : TurnsFromText(call, transcriptText);
        await ReplaceTurnsAsync(call, turns, storedTurns, ct);
        call.TranscriptText = transcriptText ?? string.Join('\n', turns.Select(t => $"{t.Role}: {t.Text}"));
        call.TranscriptFinal = true;

        // Times: explicit fields first, then the call object, then the first and last message.
        var times = messages is { } ms ? MessageTimes(ms) : (null, null);
        call.StartedAt = m.Prop("startedAt").Time() ?? call.StartedAt ?? times.First;
        call.EndedAt = m.Prop("endedAt").Time() ?? call.EndedAt ?? times.Last;
        var seconds = VapiFieldRules.DurationSeconds(m);
        call.DurationSeconds = seconds ?? (call.StartedAt is { } s && call.EndedAt is { } e && e >= s ? Math.Round((e - s).TotalSeconds, 3) : call.DurationSeconds);

        // The lead, its alerts and the call's events, once per call. A report after VapiMissingReportCloser ran the pipeline
        // (the report late, not lost) still writes what only Vapi knows, above: its transcript, summary, analysis, recording,
        // cost and endedReason replace the closer's stand-ins; the lead, alerts and events stay the closer's.
        if (call.Analyzed)
        {
            logger.LogInformation("End-of-call report for call {CallId}, already analyzed: its details are stored, the post-call pipeline is not run again", call.Id);
            return;
        }
        var captured = CapturedLead(messages, tenant.UrgencyRules);
        var callerText = string.Join('\n', turns.Where(t => t.Role == "user").Select(t => t.Text));
        await postCall.RunAsync(tenant, assistant, call, analysis?.Prop("structuredData"), captured, callerText, ct); // lead, alerts, webhooks
        if (db.Entry(call).State != EntityState.Added)
        {
            // Claimed in the save's transaction, before its rows (PostCallPipeline.ClaimAsync): the closer may have run the
            // pipeline since this unit read the call, on any node. Then nothing of this unit is written, and the webhook's
            // replay (VapiWebhookApi.Replayable: a DbUpdateException) reads the call analyzed and stores the report alone.
            var callId = call.Id;
            db.DeferWrite(async token =>
            {
                if (!await PostCallPipeline.ClaimAsync(db, callId, token))
                {
                    throw new DbUpdateConcurrencyException($"Call {callId} was analyzed by another unit since this end-of-call report read it.");
                }
            });
        }
    }

    /// <summary>The last capture_lead arguments found in the message history, if any.</summary>
    private static LeadDraft? CapturedLead(JsonElement? messages, UrgencyRules rules)
    {
        if (messages is not { } list)
        {
            return null;
        }
        LeadDraft? found = null;
        foreach (var msg in list.EnumerateArray())
        {
            if (msg.Prop("role").Str() != "tool_calls" || msg.Prop("toolCalls") is not { ValueKind: JsonValueKind.Array } calls)
            {
                continue;
            }
            foreach (var tc in calls.EnumerateArray())
            {
                var fn = tc.Prop("function");
                if ((fn?.Prop("name").Str() ?? tc.Prop("name").Str()) == ToolRegistry.CaptureLead)
                {
                    found = LeadExtractor.FromFields(((JsonElement?)(fn ?? tc)).Arguments(), "tool", rules) ?? found;
                }
            }
        }
        return found;
    }

    private static (DateTimeOffset? First, DateTimeOffset? Last) MessageTimes(JsonElement messages)
    {
        DateTimeOffset? first = null, last = null;
        foreach (var msg in messages.EnumerateArray())
        {
            if (msg.Prop("time").Time() is { } t)
            {
                first = first is null || t < first ? t : first;
                last = last is null || t > last ? t : last;
            }
            if (msg.Prop("endTime").Time() is { } end)
            {
                last = last is null || end > last ? end : last;
            }
        }
        return (first, last);
    }

    /// <summary>
    /// The call's turns from a report's message list. <c>secondsFromStart</c> restarts at 0 when a squad hands the call to
    /// another assistant (the July 2024 report: "Transfer to assistant 2", then a system prompt at 0 s and "Hi there. I'm
    /// assistant 2." at 1.12 s); each such segment is shifted to the call's clock, so click-to-seek and the transcript's
    /// times keep going forward: by the segment's first <c>time</c> (epoch ms) from the call's first, else after the
    /// previous segment's last second.
    /// </summary>
    private List<TranscriptTurn> TurnsFrom(Call call, JsonElement messages)
    {
        var turns = new List<TranscriptTurn>();
        double offset = 0, lastSeconds = 0;
        DateTimeOffset? origin = null; // the call's 0 s in epoch time: a message's time less its secondsFromStart
        foreach (var msg in messages.EnumerateArray())
        {
            var seconds = VapiFieldRules.SecondsFromStart(msg);
            var time = msg.Prop("time").Time();
            if (seconds is { } sec)
            {
                if (origin is null && time is { } t0)
                {
                    origin = t0.AddSeconds(-sec);
                }
                if (sec + offset < lastSeconds - 0.5)
                {
                    // A new segment: its clock restarted.
                    var byTime = time is { } t && origin is { } o ? (t - o).TotalSeconds : (double?)null;
                    offset = (byTime is { } b && b >= lastSeconds - 0.5 ? b : lastSeconds) - sec;
                }
                seconds = Math.Round(sec + offset, 3);
                lastSeconds = Math.Max(lastSeconds, seconds.Value);
            }
            var role = msg.Prop("role").Str();
            string? text;
            string mapped;
            switch (role)
            {
                case "bot" or "assistant":
                    mapped = "assistant";
                    text = msg.Prop("message").Str() ?? msg.Prop("content").Str();
                    break;
                case "user":
                    mapped = "user";
                    text = msg.Prop("message").Str() ?? msg.Prop("content").Str();
                    break;
                case "tool_calls":
                    mapped = "tool_call";
                    text = msg.Prop("toolCalls") is { ValueKind: JsonValueKind.Array } tcs
                        ? string.Join("; ", tcs.EnumerateArray().Select(tc =>
                        {
                            var fn = tc.Prop("function");
                            var args = fn?.Prop("arguments") is { } a ? (a.ValueKind == JsonValueKind.String ? a.GetString() : a.GetRawText()) : "{}";
                            return $"{fn?.Prop("name").Str() ?? tc.Prop("name").Str()}({args})";
                        }))
                        : null;
                    break;
                case "tool_call_result" or "tool":
                    mapped = "tool_result";
                    text = msg.Prop("result").Str() ?? msg.Prop("content").Str();
                    break;
                default:
                    continue; // system prompts are configuration, not conversation.
            }
            if (text is null)
            {
                continue;
            }
            turns.Add(NewTurn(call, turns.Count, mapped, text, seconds, time));
        }
        return turns;
    }

    /// <summary>Parses Vapi's text transcript (<c>AI: …\nUser: …</c>) when no message list is sent.</summary>
    private List<TranscriptTurn> TurnsFromText(Call call, string? transcript)
    {
        var turns = new List<TranscriptTurn>();
        if (transcript is null)
        {
            return turns;
        }
        foreach (var line in transcript.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var (role, text) = line.StartsWith("AI:", StringComparison.Ordinal) ? ("assistant", line[3..])
                : line.StartsWith("User:", StringComparison.Ordinal) ? ("user", line[5..])
                : ("user", line);
            turns.Add(NewTurn(call, turns.Count, role, text.Trim(), null, null));
        }
        return turns;
    }

    /// <summary>
    /// Makes the call's stored turns <paramref name="turns"/> (a transcript snapshot: a conversation update's or the end-of-call
    /// report's), writing only what differs: the stored turns that match the snapshot from the first one on (same <c>Seq</c>,
    /// role, text, times and latencies) are kept, the rest deleted, and the snapshot's turns from there inserted. Snapshots
    /// grow, so a conversation update usually adds its new turns and nothing else; before, every snapshot deleted and
    /// re-inserted all of the call's turns, rewriting the table and its three indexes (issue 13: ~15 % of the WAL's pages under
    /// bench ingest). The delete is deferred to the unit's save (<see cref="SwitchboardDbContext.DeferWrite"/>), so the message
    /// can be prepared outside SQLite's writer. <paramref name="stored"/>: the stored turns when already read (<see cref="StoredTurnsAsync"/>).
    /// </summary>
    private async Task ReplaceTurnsAsync(Call call, List<TranscriptTurn> turns, IReadOnlyList<TranscriptTurn>? stored, CancellationToken ct)
    {
        foreach (var pending in db.Tracked<TranscriptTurn>().Where(t => t.CallId == call.Id).ToList())
        {
            db.Entry(pending).State = db.Entry(pending).State == EntityState.Added ? EntityState.Detached : EntityState.Deleted;
        }
        db.DropTurnsOnSave(call.Id);
        var keep = 0;
        if (db.Entry(call).State != EntityState.Added)
        {
            stored ??= await StoredTurnsAsync(call.Id, ct);
            while (keep < stored.Count && keep < turns.Count && stored[keep].Seq == keep && SameTurn(stored[keep], turns[keep]))
            {
                keep++;
            }
            if (keep < stored.Count)
            {
                var callId = call.Id;
                var tenantId = call.TenantId;
                // Raw SQL, not ExecuteDeleteAsync: that LINQ is translated (expression tree, query cache) at every snapshot, inside
                // SQLite's writer turn (issue 13: ~2 % of the server's samples under bench ingest). The tenant is named as the
                // tenant filter would; values go through EF's type mappings (a Guid as SQLite's TEXT form).
                db.DeferWrite(token => db.Database.ExecuteSqlAsync(
                    $"DELETE FROM transcript_turns WHERE \"TenantId\" = {tenantId} AND \"CallId\" = {callId} AND \"Seq\" >= {keep}", token));
            }
            // Turns already stored were already sent live: only the snapshot's new turns are announced.
            foreach (var turn in turns.Skip(keep).Where(t => t.Seq < stored.Count))
            {
                db.LiveEvents.Skip(turn.Id);
            }
        }
        db.InsertOnSave(keep == 0 ? turns : turns.Skip(keep)); // multi-row INSERTs after the unit's tracked changes, not one tracked entity each
    }

    /// <summary>The call's stored turns, in <c>Seq</c> order, untracked.</summary>
    private async Task<List<TranscriptTurn>> StoredTurnsAsync(Guid callId, CancellationToken ct)
    {
        var rows = new List<TranscriptTurn>();
        await foreach (var turn in StoredTurnRows(db, callId).WithCancellation(ct))
        {
            rows.Add(turn);
        }
        return rows;
    }

    /// <summary>True when a stored turn says what the snapshot's turn says (every column but its id).</summary>
    private static bool SameTurn(TranscriptTurn stored, TranscriptTurn snapshot) =>
        stored.Role == snapshot.Role && stored.Text == snapshot.Text && stored.SecondsFromStart == snapshot.SecondsFromStart
        && stored.At == snapshot.At && stored.ProviderLatencyMs == snapshot.ProviderLatencyMs && stored.BridgeLatencyMs == snapshot.BridgeLatencyMs;

    private static TranscriptTurn NewTurn(Call call, int seq, string role, string text, double? seconds, DateTimeOffset? at) => new()
    {
        Id = Guid.CreateVersion7(),
        TenantId = call.TenantId,
        CallId = call.Id,
        Seq = seq,
        Role = role,
        Text = text,
        SecondsFromStart = seconds,
        At = at,
    };

    private static void Advance(Call call, string? status)
    {
        if (status is null || !StatusRank.TryGetValue(status, out var next))
        {
            return;
        }
        if (next > StatusRank.GetValueOrDefault(call.Status))
        {
            call.Status = status;
        }
    }

    private static JsonNode AssistantReply(Tenant tenant, Assistant? assistant)
    {
        if (assistant is null)
        {
            return new JsonObject { ["error"] = $"{tenant.Name} cannot take calls right now. Please call back later." };
        }
        if (assistant.VapiAssistantId is { } id)
        {
            return new JsonObject { ["assistantId"] = id };
        }
        var tools = new JsonArray();
        foreach (var def in ToolRegistry.Definitions())
        {
            tools.Add(new JsonObject { ["type"] = "function", ["function"] = def!.DeepClone() });
        }
        if (assistant.OffersTransfer)
        {
            tools.Add(Outbound.TransferConfig.VapiTransferTool(assistant.TransferDestinations!));
        }
        return new JsonObject
        {
            ["assistant"] = new JsonObject
            {
                ["name"] = assistant.Name,
                ["firstMessage"] = assistant.FirstMessage,
                ["model"] = new JsonObject
                {
                    ["provider"] = "openai",
                    ["model"] = "gpt-4o",
                    ["messages"] = new JsonArray(new JsonObject { ["role"] = "system", ["content"] = assistant.Instructions ?? "" }),
                    ["tools"] = tools,
                },
                ["transcriber"] = new JsonObject { ["provider"] = "deepgram", ["language"] = assistant.Languages.Count > 1 ? "multi" : (assistant.Languages.FirstOrDefault() ?? "en") },
                ["analysisPlan"] = new JsonObject { ["summaryPlan"] = SummaryPlan(assistant.Languages.FirstOrDefault() ?? tenant.Locale) },
            },
        };
    }

    /// <summary>
    /// Vapi's <c>analysisPlan.summaryPlan</c> (Vapi API <c>SummaryPlan</c>; template variables <c>{{transcript}}</c> and
    /// <c>{{endedReason}}</c>): the summary written in the business's language, <paramref name="language"/> (BCP 47: the assistant's
    /// first language, else the tenant's locale), whatever the caller spoke. Vapi's default prompt writes English, and the
    /// summary becomes the Calls list's line and the lead's problem in the staff's texts: an outside probe's French call gave
    /// "URGENCE Drain Fortin … Problème : The caller reported a flooded basement…". A French summary of an English call is the
    /// chosen trade: the business reads one language in its lists and texts.
    /// </summary>
    internal static JsonObject SummaryPlan(string language)
    {
        string name;
        try
        {
            name = System.Globalization.CultureInfo.GetCultureInfo(language).EnglishName;
        }
        catch (System.Globalization.CultureNotFoundException)
        {
            name = language;
        }
        return new JsonObject
        {
            ["enabled"] = true,
            ["messages"] = new JsonArray(
                new JsonObject
                {
                    ["role"] = "system",
                    ["content"] = $"You take notes for a business's staff. Summarize the phone call you are given in 2 or 3 sentences: what the caller needs, how urgent it is, and the name, address and callback number they gave. Write the summary in {name}, whatever language the call was in; keep names, addresses and numbers as they were said. Reply with the summary only.",
                },
                new JsonObject
                {
                    ["role"] = "user",
                    ["content"] = "Transcript:\n\n{{transcript}}\n\nEnded reason: {{endedReason}}",
                }),
        };
    }

    private async Task<JsonNode> ToolCallsReplyAsync(Tenant tenant, Assistant? assistant, Call? call, JsonElement m, CancellationToken ct)
    {
        var results = new JsonArray();
        var context = new ToolContext(tenant, assistant, call);
        foreach (var (id, name, args) in ToolCallsOf(m))
        {
            var outcome = await tools.InvokeAsync(name, args, context, ct);
            var result = new JsonObject { ["toolCallId"] = id, ["name"] = name };
            if (outcome.Error is null)
            {
                result["result"] = outcome.Result;
            }
            else
            {
                result["error"] = outcome.Error;
            }
            results.Add(result);
        }
        return new JsonObject { ["results"] = results };
    }

    private async Task<JsonNode> FunctionCallReplyAsync(Tenant tenant, Assistant? assistant, Call? call, JsonElement m, CancellationToken ct)
    {
        var fn = m.Prop("functionCall");
        var outcome = await tools.InvokeAsync(fn?.Prop("name").Str(), fn.Arguments(), new ToolContext(tenant, assistant, call), ct);
        return new JsonObject { ["result"] = outcome.Result ?? outcome.Error };
    }

    /// <summary>
    /// The calls of a <c>tool-calls</c> message: <c>toolCallList</c> (spec), else <c>toolCalls</c> (2024 traffic),
    /// else <c>toolWithToolCallList[].toolCall</c>. Names under <c>function.name</c> or <c>name</c>; arguments as
    /// object or string under <c>arguments</c> or <c>parameters</c>.
    /// </summary>
    private static IEnumerable<(string Id, string? Name, JsonElement Args)> ToolCallsOf(JsonElement m)
    {
        if ((m.Prop("toolCallList") ?? m.Prop("toolCalls")) is { ValueKind: JsonValueKind.Array } list)
        {
            foreach (var tc in list.EnumerateArray())
            {
                var fn = tc.Prop("function");
                yield return (tc.Prop("id").Str() ?? "", fn?.Prop("name").Str() ?? tc.Prop("name").Str(), (fn?.Prop("arguments") is not null || fn?.Prop("parameters") is not null ? fn : tc).Arguments());
            }
            yield break;
        }
        if (m.Prop("toolWithToolCallList") is { ValueKind: JsonValueKind.Array } withList)
        {
            foreach (var item in withList.EnumerateArray())
            {
                var tc = item.Prop("toolCall");
                var fn = tc?.Prop("function");
                yield return (tc?.Prop("id").Str() ?? "", fn?.Prop("name").Str() ?? item.Path("function", "name").Str() ?? item.Prop("name").Str(), (fn ?? tc).Arguments());
            }
        }
    }

    private static string? Cap(string? s, int max) => Platform.Http.TolerantJson.Cap(s, max);

    /// <summary>Idempotency key of a raw body: lower-case hex SHA-256. A redelivered message has the same bytes.</summary>
    public static string KeyOf(ReadOnlySpan<byte> body) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(body));

    internal static string Utf8(ReadOnlySpan<byte> body) => Encoding.UTF8.GetString(body);
}
