using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Switchboard.Billing;
using Switchboard.Compliance;
using Switchboard.Platform.Database;
using Switchboard.Platform.Http;
using Switchboard.Platform.Phones;
using Switchboard.Tenancy;

namespace Switchboard.Numbers;

/// <summary>
/// A phone number attached to the tenant. <c>Mode</c>: <c>twilio</c> (native voice: the number's webhooks point at
/// Switchboard) or <c>vapi</c> (imported into Vapi). <c>Status</c>: <c>pending</c>, <c>waiting-for-credentials</c>,
/// <c>active</c>, <c>failed</c> (<c>LastError</c> says why). <c>BusinessHours</c> null means the tenant's.
/// </summary>
public sealed record PhoneNumberDto(
    Guid Id, string Number, string Mode, Guid? AssistantId, string? TwilioSid, string? VapiPhoneNumberId, BusinessHoursDto? BusinessHours,
    AfterHoursPolicy AfterHours, string Status, string? LastError, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

/// <summary>Attaches (Number required, E.164) or changes a number. <c>Mode</c> defaults to the tenant's voice provider (vapi, else twilio).</summary>
public sealed record PhoneNumberRequest(string? Number, string? Mode, Guid? AssistantId, BusinessHoursDto? BusinessHours, AfterHoursPolicy? AfterHours);

/// <summary>
/// <c>/api/v1/numbers</c>: attach a Twilio number the tenant owns (needs the plan's <c>telephony</c> feature), set its
/// business hours and after-hours behaviour, detach it. Provider changes go through the outbox (<see cref="NumberSyncHandler"/>),
/// so attach answers 202 with status <c>pending</c>; the number is the tenant's once <c>active</c> (<see cref="NumberClaims"/>).
/// 409 <c>NUMBER_TAKEN</c> means the tenant itself already attached it, never that another tenant did.
/// </summary>
internal static class NumbersApi
{
    public static RouteGroupBuilder MapNumbers(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/numbers").WithTags("Phone numbers");
        group.MapGet("/", ListAsync).RequirePermission(Permission.Read).WithSummary("Attached numbers");
        group.MapGet("/{id:guid}", GetAsync).RequirePermission(Permission.Read).WithSummary("One number").ProducesErrors(404);
        group.MapPost("/", AttachAsync).RequirePermission(Permission.Configure).RequireFeature(Features.Telephony).WithSummary("Attach a Twilio number the tenant owns")
            .ProducesErrors(400, 403, 409, 422);
        group.MapPatch("/{id:guid}", UpdateAsync).RequirePermission(Permission.Configure).WithSummary("Change a number's mode, assistant, hours or after-hours behaviour")
            .ProducesErrors(400, 403, 404, 422);
        group.MapDelete("/{id:guid}", DetachAsync).RequirePermission(Permission.Configure).WithSummary("Detach a number").ProducesErrors(404);
        return api;
    }

    internal static PhoneNumberDto ToDto(PhoneNumber n) => new(n.Id, n.Number, n.Mode, n.AssistantId, n.TwilioSid, n.VapiPhoneNumberId,
        n.BusinessHours is { } h ? BusinessHoursDto.From(h) : null, n.AfterHours, n.Status, n.LastError, n.CreatedAt, n.UpdatedAt);

    private static async Task<Ok<List<PhoneNumberDto>>> ListAsync(SwitchboardDbContext db, CancellationToken ct) =>
        TypedResults.Ok((await db.PhoneNumbers.AsNoTracking().OrderBy(n => n.CreatedAt).ToListAsync(ct)).Select(ToDto).ToList());

    private static async Task<Results<Ok<PhoneNumberDto>, JsonHttpResult<ErrorEnvelope>>> GetAsync(Guid id, SwitchboardDbContext db, CancellationToken ct) =>
        await db.PhoneNumbers.AsNoTracking().FirstOrDefaultAsync(n => n.Id == id, ct) is { } n ? TypedResults.Ok(ToDto(n)) : NotFound();

    private static async Task<Results<Accepted<PhoneNumberDto>, JsonHttpResult<ErrorEnvelope>>> AttachAsync(
        PhoneNumberRequest body, HttpContext http, NumberService numbers, CancellationToken ct)
    {
        var (number, error) = await numbers.AttachAsync(Caller.From(http), body, ct);
        return number is null ? error! : TypedResults.Accepted($"/api/v1/numbers/{number.Id}", ToDto(number));
    }

    private static async Task<Results<Ok<PhoneNumberDto>, JsonHttpResult<ErrorEnvelope>>> UpdateAsync(
        Guid id, PhoneNumberRequest body, HttpContext http, NumberService numbers, SwitchboardDbContext db, CancellationToken ct)
    {
        // Two concurrent changes both bump Version and queue the same {id}:v{n} sync message: the loser re-reads and applies again.
        // A change whose number a concurrent detach removed after the read re-reads too, and answers 404.
        return await ConcurrentChange.RetryOnceAsync<Results<Ok<PhoneNumberDto>, JsonHttpResult<ErrorEnvelope>>>(db, async () =>
        {
            var number = await db.PhoneNumbers.FirstOrDefaultAsync(n => n.Id == id, ct);
            if (number is null)
            {
                return NotFound();
            }
            if (await numbers.UpdateAsync(Caller.From(http), number, body, ct) is { } error)
            {
                return error;
            }
            return TypedResults.Ok(ToDto(number));
        });
    }

    private static async Task<Results<Accepted, JsonHttpResult<ErrorEnvelope>>> DetachAsync(
        Guid id, HttpContext http, SwitchboardDbContext db, AuditLog audit, TimeProvider clock, CancellationToken ct)
    {
        // Locked first (a no-op UPDATE whose count says whether it is there), then read, as for assistants: of two detaches at
        // once the second finds nothing and answers 404, so one audit entry and one provider change are queued, with the
        // provider ids as they are now (a sync may set them between a read and the delete).
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        if (await db.PhoneNumbers.Where(n => n.Id == id).ExecuteUpdateAsync(s => s.SetProperty(n => n.Version, n => n.Version), ct) == 0)
        {
            return NotFound();
        }
        var number = await db.PhoneNumbers.FirstAsync(n => n.Id == id, ct);
        db.PhoneNumbers.Remove(number);
        NumberSync.EnqueueDetach(db, number, clock.GetUtcNow());
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        var caller = Caller.From(http);
        await audit.AppendAsync(caller.TenantId, caller.Actor, "number.detached", "number:" + id, null, ct);
        return TypedResults.Accepted((string?)null);
    }

    private static JsonHttpResult<ErrorEnvelope> NotFound() => ApiError.NotFound("NUMBER_NOT_FOUND", "No such number.");
}

/// <summary>
/// Validates and applies number changes (shared by the numbers API and the onboarding wizard). Attaching stores a claim
/// (<see cref="NumberClaims"/>): 409 <c>NUMBER_TAKEN</c> only when the caller's own tenant already attached the number.
/// </summary>
internal sealed class NumberService(SwitchboardDbContext db, TenantAccountCache accounts, AuditLog audit, TimeProvider clock)
{
    public async Task<(PhoneNumber? Number, JsonHttpResult<ErrorEnvelope>? Error)> AttachAsync(Caller caller, PhoneNumberRequest body, CancellationToken ct)
    {
        var account = await accounts.GetAsync(caller.TenantId!.Value, ct);
        if (!account.Plan.Has(Features.Telephony))
        {
            return (null, FeatureGate.NotInPlan(account.Plan, Features.Telephony));
        }
        var region = await RegionAsync(caller.TenantId.Value, ct);
        if (Phones.SettingsNumberToE164(body.Number, region) is not { } e164)
        {
            return (null, new Validation().Add("number", $"must be a phone number in {region}, e.g. +15145550123 or (514) 555-0123").Result());
        }
        body = body with { Number = e164 };
        // Only the caller's own rows: another tenant's claim does not block this one, and a 409 must not tell that some
        // tenant holds the number (NumberClaims). Ownership is proved later, on the caller's Twilio account, by the outbox.
        var tenantId = caller.TenantId.Value;
        if (await db.PhoneNumbers.IgnoreQueryFilters().AnyAsync(n => n.TenantId == tenantId && n.Number == e164, ct))
        {
            return (null, ApiError.Conflict("NUMBER_TAKEN", "This number is already attached."));
        }
        var now = clock.GetUtcNow();
        var number = new PhoneNumber
        {
            Id = Guid.CreateVersion7(),
            TenantId = caller.TenantId.Value,
            Number = body.Number!,
            Mode = body.Mode ?? (account.VoiceProvider == "realtime" ? "twilio" : "vapi"),
            CreatedAt = now,
            UpdatedAt = now,
        };
        if (await ApplyAsync(number, body, ct) is { } error)
        {
            return (null, error);
        }
        db.PhoneNumbers.Add(number);
        NumberSync.EnqueueUpsert(db, number, now);
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException)
        {
            // Lost a race with the tenant's own concurrent attach of the number (IX_phone_numbers_TenantId_Number): forget the staged rows so the caller's later saves do not retry them.
            foreach (var entry in db.ChangeTracker.Entries().Where(e => e.State == EntityState.Added).ToList())
            {
                entry.State = EntityState.Detached;
            }
            return (null, ApiError.Conflict("NUMBER_TAKEN", "This number is already attached."));
        }
        await audit.AppendAsync(caller.TenantId, caller.Actor, "number.attached", "number:" + number.Id, new { mode = number.Mode }, ct);
        return (number, null);
    }

    public async Task<JsonHttpResult<ErrorEnvelope>?> UpdateAsync(Caller caller, PhoneNumber number, PhoneNumberRequest body, CancellationToken ct)
    {
        if (body.Number is not null && body.Number != number.Number)
        {
            return new Validation().Add("number", "cannot change: detach it and attach the new number").Result();
        }
        var before = System.Text.Json.JsonSerializer.Serialize(new object?[] { number.Mode, number.AssistantId, number.BusinessHours, number.AfterHours });
        var providerBefore = (number.Mode, number.AssistantId);
        if (await ApplyAsync(number, body, ct) is { } error)
        {
            return error;
        }
        if (System.Text.Json.JsonSerializer.Serialize(new object?[] { number.Mode, number.AssistantId, number.BusinessHours, number.AfterHours }) == before)
        {
            return null;
        }
        var now = clock.GetUtcNow();
        number.UpdatedAt = now;
        if ((number.Mode, number.AssistantId) != providerBefore)
        {
            number.Version++;
            NumberSync.EnqueueUpsert(db, number, now);
        }
        await db.SaveChangesAsync(ct);
        await audit.AppendAsync(caller.TenantId, caller.Actor, "number.updated", "number:" + number.Id, null, ct);
        return null;
    }

    /// <summary>The tenant's region (from its locale) in which typed numbers are read.</summary>
    private async Task<string> RegionAsync(Guid tenantId, CancellationToken ct) =>
        Phones.RegionOf(await db.Tenants.IgnoreQueryFilters().Where(t => t.Id == tenantId).Select(t => t.Locale).FirstOrDefaultAsync(ct));

    private async Task<JsonHttpResult<ErrorEnvelope>?> ApplyAsync(PhoneNumber number, PhoneNumberRequest body, CancellationToken ct)
    {
        var v = new Validation();
        if (body.Mode is not null and not ("twilio" or "vapi"))
        {
            v.Add("mode", "must be twilio or vapi");
        }
        if (body.AssistantId is { } assistantId && !await db.Assistants.AnyAsync(a => a.Id == assistantId, ct))
        {
            v.Add("assistantId", "no such assistant");
        }
        BusinessHours? hours = null;
        if (body.BusinessHours is { } dto)
        {
            var problems = new List<string>();
            hours = dto.ToModel(problems);
            if (problems.Count > 0)
            {
                v.Add("businessHours", string.Join("; ", problems));
            }
        }
        if (body.AfterHours is { } after)
        {
            if (after.Action is not ("assistant" or "voicemail" or "forward"))
            {
                v.Add("afterHours.action", "must be assistant, voicemail or forward");
            }
            else if (after.Action == "forward")
            {
                var region = await RegionAsync(number.TenantId, ct);
                if (Phones.SettingsNumberToE164(after.ForwardTo, region) is { } forwardTo)
                {
                    body = body with { AfterHours = after with { ForwardTo = forwardTo } };
                }
                else
                {
                    v.Add("afterHours.forwardTo", $"must be a phone number in {region} to forward, e.g. +15145550123");
                }
            }
            v.Max("afterHours.message", after.Message, 500);
        }
        if (!v.IsValid)
        {
            return v.Result();
        }
        number.Mode = body.Mode ?? number.Mode;
        number.AssistantId = body.AssistantId ?? number.AssistantId;
        number.BusinessHours = hours ?? number.BusinessHours;
        number.AfterHours = body.AfterHours ?? number.AfterHours;
        return null;
    }
}
