using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Switchboard.Brain;
using Switchboard.Credentials;
using Switchboard.Outbox;
using Switchboard.Platform;
using Switchboard.Platform.Database;
using Switchboard.Platform.Http;
using Switchboard.Tenancy;
using Switchboard.Vapi;

namespace Switchboard.Assistants;

/// <summary>
/// Queues assistant changes for Vapi. Each change bumps <see cref="Assistant.Version"/> and adds one outbox message
/// (kind <see cref="VapiAssistantSyncHandler.Kind"/>, dedupe key <c>{id}:v{version}</c>) in the same unit of work; the
/// handler pushes the assistant's current state only for the latest version, so bursts of edits (the dashboard
/// auto-saves) end in one push, and a Vapi outage only delays it.
/// </summary>
internal static class AssistantSync
{
    /// <summary>Outbox payload: <c>Op</c> is <c>upsert</c> (read the row) or <c>delete</c> (with the Vapi id captured at deletion).</summary>
    public sealed record Payload(Guid AssistantId, int Version, string Op, string? VapiAssistantId);

    public static void EnqueueUpsert(SwitchboardDbContext db, Assistant assistant, DateTimeOffset now)
    {
        assistant.SyncStatus = "pending";
        assistant.SyncError = null;
        Add(db, assistant.TenantId, $"{assistant.Id:N}:v{assistant.Version}", new Payload(assistant.Id, assistant.Version, "upsert", null), now);
    }

    public static void EnqueueDelete(SwitchboardDbContext db, Assistant assistant, DateTimeOffset now) =>
        Add(db, assistant.TenantId, $"{assistant.Id:N}:delete", new Payload(assistant.Id, assistant.Version, "delete", assistant.VapiAssistantId), now);

    /// <summary>After Vapi credentials arrive: re-queues the tenant's Vapi assistants that waited for them or failed.</summary>
    public static async Task RequeueWaitingAsync(SwitchboardDbContext db, DateTimeOffset now, CancellationToken ct)
    {
        var waiting = await db.Assistants.Where(a => a.Provider == "vapi" && (a.SyncStatus == "waiting-for-credentials" || a.SyncStatus == "failed" || a.SyncStatus == null))
            .ToListAsync(ct);
        foreach (var assistant in waiting)
        {
            assistant.Version++;
            EnqueueUpsert(db, assistant, now);
        }
    }

    private static void Add(SwitchboardDbContext db, Guid tenantId, string dedupe, Payload payload, DateTimeOffset now) =>
        db.Outbox.Add(new OutboxMessage
        {
            Id = Guid.CreateVersion7(),
            TenantId = tenantId,
            Kind = VapiAssistantSyncHandler.Kind,
            DedupeKey = dedupe,
            PayloadJson = JsonSerializer.Serialize(payload, JsonSerializerOptions.Web),
            NextAttemptAt = now,
            CreatedAt = now,
        });
}

/// <summary>
/// Pushes one assistant to Vapi's REST API (shared/protocols/vapi-rest.md "Assistants"): <c>POST /assistant</c> the
/// first time (keeping Vapi's id in <see cref="Assistant.VapiAssistantId"/>), <c>PATCH /assistant/{id}</c> after
/// (re-creating it on 404), <c>DELETE /assistant/{id}</c> on deletion. The assistant's <c>server.url</c> is
/// <c>{PublicBaseUrl}/webhooks/vapi/{tenantId}</c> with the tenant's webhook secret in <c>server.headers["x-vapi-secret"]</c>.
/// 408/429/5xx and network failures are retried by the outbox with backoff; 4xx are dead letters (status <c>failed</c>).
/// Before re-posting after an ambiguous failure it looks for an assistant already created with its
/// <c>metadata.switchboardAssistantId</c>, so a lost response never makes a duplicate.
/// </summary>
internal sealed class VapiAssistantSyncHandler(
    SwitchboardDbContext db,
    VapiRestClient vapi,
    CredentialStore credentials,
    SecretProtector secrets,
    IOptions<PublicUrlOptions> publicUrl,
    TimeProvider clock,
    ILogger<VapiAssistantSyncHandler> logger) : IOutboxHandler, IOutboxDeadLetterAware
{
    public const string Kind = "vapi.assistant.sync";

    string IOutboxHandler.Kind => Kind;

    public async Task<OutboxResult> HandleAsync(OutboxMessage message, CancellationToken ct)
    {
        var payload = JsonSerializer.Deserialize<AssistantSync.Payload>(message.PayloadJson, JsonSerializerOptions.Web);
        if (payload is null)
        {
            return OutboxResult.Dead("Unreadable payload.");
        }
        var key = await credentials.GetVapiKeyAsync(ct);
        if (payload.Op == "delete")
        {
            if (payload.VapiAssistantId is null)
            {
                return OutboxResult.Done;
            }
            if (key is null)
            {
                return OutboxResult.Dead("No Vapi API key: the assistant stays at Vapi.");
            }
            var deleted = await vapi.DeleteAssistantAsync(key, payload.VapiAssistantId, ct);
            return deleted.Outcome switch
            {
                VapiOutcome.Ok or VapiOutcome.NotFound => OutboxResult.Done,
                VapiOutcome.Transient => OutboxResult.Retry(deleted.Error ?? "Vapi unavailable"),
                _ => OutboxResult.Dead(Redaction.Redact(deleted.Error, key) ?? "Vapi refused the deletion"),
            };
        }

        var assistant = await db.Assistants.FirstOrDefaultAsync(a => a.Id == payload.AssistantId, ct);
        if (assistant is null || assistant.Version != payload.Version)
        {
            return OutboxResult.Done; // deleted (its delete message handles Vapi) or superseded by a newer version.
        }
        if (assistant.Provider != "vapi")
        {
            assistant.SyncStatus = "local";
            return OutboxResult.Done;
        }
        if (key is null)
        {
            assistant.SyncStatus = "waiting-for-credentials";
            assistant.SyncError = "Add the Vapi private API key to push this assistant.";
            return OutboxResult.Done;
        }
        var tenant = await db.Tenants.AsNoTracking().FirstAsync(t => t.Id == assistant.TenantId, ct);
        var secret = secrets.Unprotect(tenant.VapiWebhookSecretProtected);
        if (secret is null)
        {
            return OutboxResult.Dead("The tenant's webhook secret cannot be decrypted (key ring lost?).");
        }
        var body = VapiAssistantMapper.ToVapi(assistant, publicUrl.Value.Url($"/webhooks/vapi/{tenant.Id}"), secret);

        if (assistant.VapiAssistantId is null && message.Attempts > 0)
        {
            assistant.VapiAssistantId = await FindCreatedAsync(key, assistant.Id, ct);
        }
        VapiResult result;
        if (assistant.VapiAssistantId is { } existing)
        {
            result = await vapi.UpdateAssistantAsync(key, existing, body, ct);
            if (result.Outcome == VapiOutcome.NotFound)
            {
                logger.LogInformation("Assistant {AssistantId} is gone at Vapi; creating it again", assistant.Id);
                assistant.VapiAssistantId = null;
                result = await vapi.CreateAssistantAsync(key, body, ct);
            }
        }
        else
        {
            result = await vapi.CreateAssistantAsync(key, body, ct);
        }

        var error = Redaction.Redact(result.Error, key, secret);
        switch (result.Outcome)
        {
            case VapiOutcome.Ok:
                if (result.Body?["id"] is JsonValue idValue && idValue.TryGetValue<string>(out var id))
                {
                    assistant.VapiAssistantId = id;
                }
                if (assistant.VapiAssistantId is null)
                {
                    // A 2xx without an id: the create may or may not exist; the retry looks it up by metadata first.
                    assistant.SyncStatus = "retrying";
                    return OutboxResult.Retry("Vapi answered without an assistant id.");
                }
                assistant.SyncStatus = "synced";
                assistant.SyncError = null;
                assistant.SyncedAt = clock.GetUtcNow();
                return OutboxResult.Done;
            case VapiOutcome.Transient:
                assistant.SyncStatus = "retrying";
                assistant.SyncError = Cap(error);
                return OutboxResult.Retry(error ?? "Vapi unavailable");
            default:
                assistant.SyncStatus = "failed";
                assistant.SyncError = Cap(error);
                return OutboxResult.Dead(error ?? "Vapi refused the assistant");
        }
    }

    public async Task OnDeadLetterAsync(OutboxMessage message, CancellationToken ct)
    {
        var payload = JsonSerializer.Deserialize<AssistantSync.Payload>(message.PayloadJson, JsonSerializerOptions.Web);
        var assistant = payload is null ? null : await db.Assistants.FirstOrDefaultAsync(a => a.Id == payload.AssistantId && a.Version == payload.Version, ct);
        if (assistant is not null)
        {
            assistant.SyncStatus = "failed";
            assistant.SyncError ??= "Vapi could not be reached after repeated attempts.";
        }
    }

    /// <summary>An assistant Vapi already holds for this Switchboard assistant (a create whose response was lost).</summary>
    private async Task<string?> FindCreatedAsync(string key, Guid assistantId, CancellationToken ct)
    {
        var list = await vapi.ListAssistantsAsync(key, ct);
        if (list.Outcome != VapiOutcome.Ok || list.Body is not JsonArray items)
        {
            return null;
        }
        return items.FirstOrDefault(a => a?["metadata"]?["switchboardAssistantId"]?.GetValue<string>() == assistantId.ToString())?["id"]?.GetValue<string>();
    }

    private static string? Cap(string? s) => TolerantJson.Cap(s, 1000);
}

/// <summary>Builds Vapi's <c>CreateAssistantDTO</c> / <c>UpdateAssistantDTO</c> for an assistant: its enabled tools as functions, plus
/// <c>search_knowledge_base</c> (always), answered through the <c>tool-calls</c> server message.</summary>
internal static class VapiAssistantMapper
{
    /// <summary>
    /// Built-in tool names an assistant may enable, and what an assistant without a list (<see cref="Assistant.Tools"/> null)
    /// has. <c>search_knowledge_base</c> is not among them: it only reads the business's own knowledge base and is always
    /// offered (on Vapi and on native calls); <c>transfer_call</c> follows the assistant's transfer settings.
    /// </summary>
    public static readonly string[] KnownTools = [ToolRegistry.CaptureLead, ToolRegistry.CheckBusinessHours, ToolRegistry.EndCall, ToolRegistry.SendSms];

    /// <summary>Server messages Switchboard consumes (vapi-server-messages.md).</summary>
    private static readonly string[] ServerMessages = ["end-of-call-report", "status-update", "tool-calls", "transcript", "conversation-update", "hang"];

    public static JsonObject ToVapi(Assistant assistant, string serverUrl, string secret)
    {
        var enabled = assistant.Tools ?? [.. KnownTools];
        var tools = new JsonArray();
        foreach (var def in ToolRegistry.Definitions())
        {
            // end_call is Vapi's own endCall tool (below), which hangs up; the registry's function is for native calls.
            var name = def!["name"]!.GetValue<string>();
            // search_knowledge_base is always offered: it only reads the tenant's knowledge base (answered through tool-calls).
            if (name != ToolRegistry.EndCall && (enabled.Contains(name) || name == ToolRegistry.SearchKnowledgeBase))
            {
                tools.Add(new JsonObject { ["type"] = "function", ["function"] = def.DeepClone() });
            }
        }
        if (enabled.Contains("end_call"))
        {
            tools.Add(new JsonObject { ["type"] = "endCall" });
        }
        if (assistant.OffersTransfer)
        {
            tools.Add(Outbound.TransferConfig.VapiTransferTool(assistant.TransferDestinations!));
        }
        var model = new JsonObject
        {
            ["provider"] = assistant.Model?.Provider ?? "openai",
            ["model"] = assistant.Model?.Model ?? "gpt-4o",
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "system", ["content"] = assistant.Instructions ?? "" }),
            ["tools"] = tools,
        };
        if (assistant.Model?.Temperature is { } temperature)
        {
            model["temperature"] = temperature;
        }
        var language = assistant.Languages.Count > 1 ? "multi" : (assistant.Languages.FirstOrDefault()?.Split('-')[0] ?? "en");
        var body = new JsonObject
        {
            ["name"] = TolerantJson.Cap(assistant.Name, 40),
            ["firstMessage"] = assistant.FirstMessage,
            ["model"] = model,
            ["transcriber"] = new JsonObject { ["provider"] = "deepgram", ["model"] = "nova-3", ["language"] = language },
            ["server"] = new JsonObject { ["url"] = serverUrl, ["headers"] = new JsonObject { ["x-vapi-secret"] = secret } },
            ["serverMessages"] = new JsonArray(ServerMessages.Concat(assistant.OffersTransfer ? ["transfer-destination-request", "transfer-update"] : []).Select(m => (JsonNode)m).ToArray()),
            ["artifactPlan"] = new JsonObject { ["recordingEnabled"] = assistant.RecordingEnabled },
            ["metadata"] = new JsonObject { ["switchboardTenantId"] = assistant.TenantId.ToString(), ["switchboardAssistantId"] = assistant.Id.ToString() },
        };
        if (assistant.Voice is { } voice)
        {
            var v = new JsonObject { ["provider"] = voice.Provider, ["voiceId"] = voice.VoiceId };
            if (voice.Model is not null)
            {
                v["model"] = voice.Model;
            }
            if (voice.Speed is { } speed)
            {
                v["speed"] = speed;
            }
            body["voice"] = v;
        }
        return body;
    }
}
