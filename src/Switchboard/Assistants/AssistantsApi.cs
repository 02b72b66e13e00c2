using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Switchboard.Billing;
using Switchboard.Compliance;
using Switchboard.Platform.Database;
using Switchboard.Platform.Http;
using Switchboard.Platform.Phones;
using Switchboard.Tenancy;

namespace Switchboard.Assistants;

/// <summary>
/// An SMS alert policy: E.164 on-call numbers (emergencies, any hour), office numbers (other leads), delivery of
/// non-urgent alerts (<c>business-hours</c> or <c>none</c>) and the SMS language (BCP 47). On an assistant, an empty number
/// list inherits the business's list (the tenant's alert policy), and a null language the business's language.
/// </summary>
public sealed record AlertPolicyDto(List<string>? OnCallNumbers, List<string>? OfficeNumbers, string? NonUrgentDelivery, string? Language);

/// <summary>
/// An assistant. <c>Provider</c> is <c>vapi</c> (pushed to Vapi, <c>VapiAssistantId</c> once created) or <c>realtime</c>;
/// <c>SyncStatus</c>: <c>pending</c>, <c>synced</c>, <c>retrying</c>, <c>failed</c>, <c>waiting-for-credentials</c>, <c>local</c>.
/// </summary>
public sealed record AssistantDto(
    Guid Id, string Name, string? FirstMessage, string? Instructions, IReadOnlyList<string> Languages, AssistantVoice? Voice, AssistantModel? Model,
    IReadOnlyList<string> Tools, AlertPolicyDto? AlertPolicy, bool RecordingEnabled, bool IsDefault, string Provider, string? VapiAssistantId,
    string? SyncStatus, string? SyncError, DateTimeOffset? SyncedAt, DateTimeOffset CreatedAt, DateTimeOffset? UpdatedAt,
    Outbound.TransferConfigDto? Transfer = null);

/// <summary>
/// Creates (all fields; <c>Name</c> required) or patches (only the fields given) an assistant. <c>Tools</c> ⊂
/// {capture_lead, check_business_hours, end_call}; <c>RecordingEnabled</c> needs the plan's <c>recording</c> feature;
/// <c>Transfer</c>: live transfer (off by default; see <see cref="Outbound.TransferConfigDto"/>).
/// </summary>
public sealed record AssistantRequest(
    string? Name, string? FirstMessage, string? Instructions, List<string>? Languages, AssistantVoice? Voice, AssistantModel? Model,
    List<string>? Tools, AlertPolicyDto? AlertPolicy, bool? RecordingEnabled, bool? IsDefault, Outbound.TransferConfigDto? Transfer = null);

/// <summary>
/// <c>/api/v1/assistants</c>: CRUD. For tenants whose voice provider is Vapi, every change is pushed to Vapi
/// through the outbox (<see cref="VapiAssistantSyncHandler"/>); the response shows the sync status.
/// </summary>
internal static class AssistantsApi
{
    public static RouteGroupBuilder MapAssistants(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/assistants").WithTags("Assistants");
        group.MapGet("/", ListAsync).RequirePermission(Permission.Read).WithSummary("The tenant's assistants");
        group.MapGet("/{id:guid}", GetAsync).RequirePermission(Permission.Read).WithSummary("One assistant").ProducesErrors(404);
        group.MapPost("/", CreateAsync).RequirePermission(Permission.Configure).WithSummary("Create an assistant").ProducesErrors(400, 403, 422);
        group.MapPatch("/{id:guid}", UpdateAsync).RequirePermission(Permission.Configure).WithSummary("Change an assistant (partial)").ProducesErrors(400, 403, 404, 422);
        group.MapDelete("/{id:guid}", DeleteAsync).RequirePermission(Permission.Configure).WithSummary("Delete an assistant (and at Vapi)").ProducesErrors(404);
        return api;
    }

    internal static AssistantDto ToDto(Assistant a) => new(a.Id, a.Name, a.FirstMessage, a.Instructions, a.Languages, a.Voice, a.Model,
        a.Tools ?? [.. VapiAssistantMapper.KnownTools],
        a.AlertPolicy is { } p ? new AlertPolicyDto(p.OnCallNumbers, p.OfficeNumbers, p.NonUrgentDelivery, p.Language) : null,
        a.RecordingEnabled, a.IsDefault, a.Provider, a.VapiAssistantId, a.SyncStatus, a.SyncError, a.SyncedAt, a.CreatedAt, a.UpdatedAt,
        Outbound.TransferConfig.ToDto(a.TransferEnabled, a.TransferDestinations));

    private static async Task<Ok<List<AssistantDto>>> ListAsync(SwitchboardDbContext db, CancellationToken ct) =>
        TypedResults.Ok((await db.Assistants.AsNoTracking().OrderBy(a => a.CreatedAt).ToListAsync(ct)).Select(ToDto).ToList());

    private static async Task<Results<Ok<AssistantDto>, JsonHttpResult<ErrorEnvelope>>> GetAsync(Guid id, SwitchboardDbContext db, CancellationToken ct) =>
        await db.Assistants.AsNoTracking().FirstOrDefaultAsync(a => a.Id == id, ct) is { } a ? TypedResults.Ok(ToDto(a)) : NotFound();

    private static async Task<Results<Created<AssistantDto>, JsonHttpResult<ErrorEnvelope>>> CreateAsync(
        AssistantRequest body, HttpContext http, AssistantService assistants, CancellationToken ct)
    {
        var (assistant, error) = await assistants.CreateAsync(Caller.From(http), body, ct);
        return assistant is null ? error! : TypedResults.Created($"/api/v1/assistants/{assistant.Id}", ToDto(assistant));
    }

    private static async Task<Results<Ok<AssistantDto>, JsonHttpResult<ErrorEnvelope>>> UpdateAsync(
        Guid id, AssistantRequest body, HttpContext http, AssistantService assistants, SwitchboardDbContext db, CancellationToken ct)
    {
        // Two concurrent changes both bump Version and queue the same {id}:v{n} sync message: the loser re-reads and applies again.
        // A change whose assistant a concurrent DELETE removed after the read re-reads too, and answers 404.
        return await ConcurrentChange.RetryOnceAsync<Results<Ok<AssistantDto>, JsonHttpResult<ErrorEnvelope>>>(db, async () =>
        {
            var assistant = await db.Assistants.FirstOrDefaultAsync(a => a.Id == id, ct);
            if (assistant is null)
            {
                return NotFound();
            }
            if (await assistants.UpdateAsync(Caller.From(http), assistant, body, ct) is { } error)
            {
                return error;
            }
            return TypedResults.Ok(ToDto(assistant));
        });
    }

    private static async Task<Results<NoContent, JsonHttpResult<ErrorEnvelope>>> DeleteAsync(
        Guid id, HttpContext http, SwitchboardDbContext db, AuditLog audit, TimeProvider clock, CancellationToken ct)
    {
        // The row is locked first (a no-op UPDATE whose count says whether it is there), then read: of two DELETEs at once the
        // second waits for the first, finds nothing and answers 404 as in sequence, so one audit entry and one Vapi DELETE
        // are queued; and the Vapi id read is the current one, not one a sync set between the read and the delete.
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        if (await db.Assistants.Where(a => a.Id == id).ExecuteUpdateAsync(s => s.SetProperty(a => a.Version, a => a.Version), ct) == 0)
        {
            return NotFound();
        }
        var assistant = await db.Assistants.FirstAsync(a => a.Id == id, ct);
        db.Assistants.Remove(assistant);
        if (assistant.Provider == "vapi")
        {
            AssistantSync.EnqueueDelete(db, assistant, clock.GetUtcNow());
        }
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        var caller = Caller.From(http);
        await audit.AppendAsync(caller.TenantId, caller.Actor, "assistant.deleted", "assistant:" + id, null, ct);
        return TypedResults.NoContent();
    }

    private static JsonHttpResult<ErrorEnvelope> NotFound() => ApiError.NotFound("ASSISTANT_NOT_FOUND", "No such assistant.");
}

/// <summary>Validates and applies assistant changes (shared by the assistants API and the onboarding wizard).</summary>
internal sealed class AssistantService(SwitchboardDbContext db, TenantAccountCache accounts, AuditLog audit, TimeProvider clock)
{
    public async Task<(Assistant? Assistant, JsonHttpResult<ErrorEnvelope>? Error)> CreateAsync(Caller caller, AssistantRequest body, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(body.Name))
        {
            return (null, new Validation().Add("name", "is required").Result());
        }
        var account = await accounts.GetAsync(caller.TenantId!.Value, ct);
        var now = clock.GetUtcNow();
        var assistant = new Assistant
        {
            Id = Guid.CreateVersion7(),
            TenantId = caller.TenantId.Value,
            Name = body.Name.Trim(),
            Provider = account.VoiceProvider ?? "vapi",
            RecordingEnabled = account.Plan.Has(Features.Recording),
            IsDefault = !await db.Assistants.AnyAsync(ct),
            CreatedAt = now,
        };
        if (await ApplyAsync(assistant, body, account, ct) is { } error)
        {
            return (null, error);
        }
        assistant.UpdatedAt = now;
        db.Assistants.Add(assistant);
        if (assistant.Provider == "vapi")
        {
            AssistantSync.EnqueueUpsert(db, assistant, now);
        }
        else
        {
            assistant.SyncStatus = "local";
        }
        await db.SaveChangesAsync(ct);
        await audit.AppendAsync(caller.TenantId, caller.Actor, "assistant.created", "assistant:" + assistant.Id, null, ct);
        return (assistant, null);
    }

    /// <summary>Applies the given fields; queues a Vapi push only when something changed (idempotent for repeated auto-saves).</summary>
    public async Task<JsonHttpResult<ErrorEnvelope>?> UpdateAsync(Caller caller, Assistant assistant, AssistantRequest body, CancellationToken ct)
    {
        var account = await accounts.GetAsync(caller.TenantId!.Value, ct);
        var fieldsBefore = Fields(assistant);
        var before = Fingerprint(assistant);
        if (body.Name is not null && string.IsNullOrWhiteSpace(body.Name))
        {
            return new Validation().Add("name", "must not be empty").Result();
        }
        if (await ApplyAsync(assistant, body, account, ct) is { } error)
        {
            return error;
        }
        if (Fingerprint(assistant) == before)
        {
            return null;
        }
        var now = clock.GetUtcNow();
        assistant.Version++;
        assistant.UpdatedAt = now;
        if (assistant.Provider == "vapi")
        {
            AssistantSync.EnqueueUpsert(db, assistant, now);
        }
        await db.SaveChangesAsync(ct);
        await audit.AppendAsync(caller.TenantId, caller.Actor, "assistant.updated", "assistant:" + assistant.Id, ChangeDetails(fieldsBefore, assistant), ct);
        return null;
    }

    /// <summary>Most characters of a voice's or model's provider, voice id or model name.</summary>
    private const int MaxNameLength = 100;

    private async Task<JsonHttpResult<ErrorEnvelope>?> ApplyAsync(Assistant a, AssistantRequest body, TenantAccountSnapshot account, CancellationToken ct)
    {
        var v = new Validation();
        v.Name("name", body.Name, 200).Max("firstMessage", body.FirstMessage, 2000).Max("instructions", body.Instructions, 20_000);
        if (body.Languages is { } languages && (languages.Count > 10 || languages.Any(l => !Validation.IsLocale(l))))
        {
            v.Add("languages", "must be up to 10 BCP 47 tags such as fr-CA");
        }
        if (body.Tools is { } tools && tools.Any(t => !VapiAssistantMapper.KnownTools.Contains(t)))
        {
            v.Add("tools", "known tools: " + string.Join(", ", VapiAssistantMapper.KnownTools));
        }
        // Vapi's own names are short (provider "11labs", voice ids of ~20 characters, model "gpt-4o-mini"): 100 characters is
        // ample, and these strings go into every assistant-request answer and every push to Vapi.
        if (body.Voice is { } voice && (string.IsNullOrWhiteSpace(voice.Provider) || string.IsNullOrWhiteSpace(voice.VoiceId) || voice.Speed is < 0.25 or > 4
                                        || voice.Provider.Length > MaxNameLength || voice.VoiceId.Length > MaxNameLength || voice.Model?.Length > MaxNameLength))
        {
            v.Add("voice", $"needs provider and voiceId (speed 0.25–4; provider, voiceId and model of at most {MaxNameLength} characters)");
        }
        if (body.Model is { } model && (string.IsNullOrWhiteSpace(model.Provider) || string.IsNullOrWhiteSpace(model.Model) || model.Temperature is < 0 or > 2
                                        || model.Provider.Length > MaxNameLength || model.Model.Length > MaxNameLength))
        {
            v.Add("model", $"needs provider and model (temperature 0–2; provider and model of at most {MaxNameLength} characters)");
        }
        AlertPolicy? alertPolicy = null;
        var region = body.AlertPolicy is not null || body.Transfer is not null
            ? Phones.RegionOf(await db.Tenants.IgnoreQueryFilters().Where(t => t.Id == a.TenantId).Select(t => t.Locale).FirstOrDefaultAsync(ct))
            : Phones.DefaultRegion;
        List<Outbound.TransferDestination>? destinations = null;
        if (body.Transfer?.Destinations is { } wanted)
        {
            destinations = Outbound.TransferConfig.Parse(wanted, region, v);
        }
        if (body.Transfer?.Enabled == true && (destinations ?? a.TransferDestinations) is not { Count: > 0 } && v.IsValid)
        {
            v.Add("transfer.destinations", "at least one destination is needed to enable transfers");
        }
        if (body.AlertPolicy is { } p)
        {
            // Read in the tenant's region and stored in E.164, as the business's own policy is (Settings → Alerts).
            alertPolicy = Alerts.AlertPolicyInput.Read(p, region, v, "alertPolicy.");
        }
        if (!v.IsValid)
        {
            return v.Result();
        }
        if (body.RecordingEnabled == true && !account.Plan.Has(Features.Recording))
        {
            return FeatureGate.NotInPlan(account.Plan, Features.Recording, "call recording");
        }
        a.Name = body.Name?.Trim() ?? a.Name;
        a.FirstMessage = body.FirstMessage ?? a.FirstMessage;
        a.Instructions = body.Instructions ?? a.Instructions;
        a.Languages = body.Languages ?? a.Languages;
        a.Voice = body.Voice ?? a.Voice;
        a.Model = body.Model ?? a.Model;
        a.Tools = body.Tools ?? a.Tools;
        a.RecordingEnabled = body.RecordingEnabled ?? a.RecordingEnabled;
        a.TransferEnabled = body.Transfer?.Enabled ?? a.TransferEnabled;
        a.TransferDestinations = destinations ?? a.TransferDestinations;
        a.AlertPolicy = alertPolicy ?? a.AlertPolicy;
        if (body.IsDefault == true && !a.IsDefault)
        {
            foreach (var other in await db.Assistants.Where(x => x.IsDefault && x.Id != a.Id).ToListAsync(ct))
            {
                other.IsDefault = false;
            }
            a.IsDefault = true;
        }
        return null;
    }

    private static string Fingerprint(Assistant a) => System.Text.Json.JsonSerializer.Serialize(Fields(a).Values);

    /// <summary>The fields an update can change, by their API name, as JSON (what <c>assistant.updated</c>'s audit entry compares).</summary>
    private static Dictionary<string, string> Fields(Assistant a) => new()
    {
        ["name"] = Json(a.Name), ["firstMessage"] = Json(a.FirstMessage), ["instructions"] = Json(a.Instructions), ["languages"] = Json(a.Languages),
        ["voice"] = Json(a.Voice), ["model"] = Json(a.Model), ["tools"] = Json(a.Tools), ["alertPolicy"] = Json(a.AlertPolicy),
        ["recordingEnabled"] = Json(a.RecordingEnabled), ["isDefault"] = Json(a.IsDefault), ["transferEnabled"] = Json(a.TransferEnabled),
        ["transferDestinations"] = Json(a.TransferDestinations),
    };

    private static string Json<T>(T value) => System.Text.Json.JsonSerializer.Serialize(value);

    /// <summary>
    /// The audit details of an update: the names of the fields that changed, and the alert numbers before and after when they
    /// changed (who is texted about emergencies is what an owner most needs to trace; the prompts are not copied into the log).
    /// </summary>
    private static object ChangeDetails(Dictionary<string, string> before, Assistant after)
    {
        var now = Fields(after);
        var changed = now.Where(f => before[f.Key] != f.Value).Select(f => f.Key).ToList();
        if (!changed.Contains("alertPolicy"))
        {
            return new { changed };
        }
        var from = before["alertPolicy"] is "null" ? null : System.Text.Json.JsonSerializer.Deserialize<AlertPolicy>(before["alertPolicy"]);
        return new { changed, alertPolicy = Alerts.AlertPolicyInput.AuditChange(from, after.AlertPolicy) };
    }
}
