using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Switchboard.Calls;
using Switchboard.Platform.Database;
using Switchboard.Platform.Http;
using Switchboard.Platform.Phones;
using Switchboard.Tenancy;

namespace Switchboard.Compliance;

/// <summary>An audit entry: who (<c>ActorType</c>, <c>ActorId</c>), what (<c>Action</c>, <c>Target</c>), when, from where (<c>Ip</c>), and its chain hash.</summary>
public sealed record AuditEntryDto(long Seq, DateTimeOffset At, string ActorType, string? ActorId, string Action, string? Target, string? Ip, JsonElement? Details, string PrevHash, string Hash);

/// <summary>Erases one caller's data: their phone number (E.164, or national as written in the business's country), or a web visitor's id (the widget's <c>visitorId</c>, shown
/// with a web conversation's attribution); exactly one of the two.</summary>
public sealed record CallerErasureRequest(string? PhoneNumber, string? VisitorId = null);

/// <summary>Erases the whole tenant. <c>Confirm</c> must be the organisation's exact name.</summary>
public sealed record TenantErasureRequest(string? Confirm);

/// <summary>Retention in days (1–3650); null keeps data forever. Both are required in a <c>PUT</c>: a missing one is a 422, not "forever".</summary>
public sealed record RetentionSettings(
    [property: System.Text.Json.Serialization.JsonRequired] int? RecordingDays, [property: System.Text.Json.Serialization.JsonRequired] int? TranscriptDays);

/// <summary>
/// Compliance endpoints: the audit log and its verification, the tenant's data export, erasure of one caller (GDPR
/// art. 17) or of the whole tenant, and retention settings (enforced by <see cref="RetentionWorker"/>).
/// </summary>
internal static class ComplianceApi
{
    public static RouteGroupBuilder MapCompliance(this RouteGroupBuilder api)
    {
        api.MapGet("/audit", ListAuditAsync).RequirePermission(Permission.Compliance).WithTags("Compliance").WithSummary("The audit log, newest first")
            .WithDescription("Filters: action (exact, or a prefix ending in '.'), actorType (user|api_key|operator|system|anonymous), actorId, from/to (ISO 8601; to is exclusive).")
            .ProducesErrors(422);
        api.MapGet("/audit/verify", VerifyAsync).RequirePermission(Permission.Compliance).WithTags("Compliance")
            .WithSummary("Recompute the audit hash chain and report the first broken entry");
        api.MapGet("/export", ExportAsync).RequirePermission(Permission.Compliance).WithTags("Compliance")
            .WithSummary("All of the tenant's data as one JSON document (streamed)")
            .WithDescription("Secrets are never exported (credentials appear as previews, keys as prefixes). Raw provider events are included as received.")
            .Produces<TenantExport>(StatusCodes.Status200OK, "application/json");
        api.MapPost("/erasure/caller", EraseCallerAsync).RequirePermission(Permission.Compliance).WithTags("Compliance")
            .WithSummary("Erase one caller's data by phone number or web visitor id (GDPR art. 17)").ProducesErrors(400, 422);
        api.MapPost("/tenant/erase", EraseTenantAsync).RequirePermission(Permission.EraseTenant).WithTags("Compliance")
            .WithSummary("Erase the whole tenant (owner; confirm with the organisation's name)").ProducesErrors(400, 403, 422, 502);
        api.MapGet("/retention", GetRetentionAsync).RequirePermission(Permission.Read).WithTags("Compliance").WithSummary("Retention settings");
        api.MapPut("/retention", PutRetentionAsync).RequirePermission(Permission.Compliance).WithTags("Compliance").WithSummary("Change retention settings")
            .ProducesErrors(400, 422);
        return api;
    }

    private static readonly string[] ActorTypes = ["user", "api_key", "operator", "system", "anonymous"];

    /// <summary>
    /// The audit log, newest first, filtered by <paramref name="action"/> (an exact action such as <c>keys.created</c>, or a
    /// prefix ending in a dot such as <c>keys.</c>), <paramref name="actorType"/>, <paramref name="actorId"/> and the time
    /// range [<paramref name="from"/>, <paramref name="to"/>) (ISO 8601 only, <see cref="IsoDates.TryParseInstant"/>: a date or a timestamp;
    /// <c>01/12/2026</c> is refused). Bad filters: 422 INVALID_FILTER.
    /// </summary>
    private static async Task<Results<Ok<Paged<AuditEntryDto>>, JsonHttpResult<ErrorEnvelope>>> ListAuditAsync(
        SwitchboardDbContext db, int? page, int? pageSize, string? action, string? actorType, string? actorId, string? from, string? to, CancellationToken ct)
    {
        if (page is < 1 || pageSize is < 1 or > 200)
        {
            return ApiError.Unprocessable("INVALID_PAGE", "page starts at 1; pageSize is 1 to 200.");
        }
        var v = new Validation();
        action = string.IsNullOrWhiteSpace(action) ? null : action.Trim();
        actorId = string.IsNullOrWhiteSpace(actorId) ? null : actorId.Trim();
        if (action is { Length: > 100 })
        {
            v.Add("action", "at most 100 characters");
        }
        if (actorId is { Length: > 200 })
        {
            v.Add("actorId", "at most 200 characters");
        }
        if (!string.IsNullOrEmpty(actorType) && !ActorTypes.Contains(actorType))
        {
            v.Add("actorType", "must be one of " + string.Join(", ", ActorTypes));
        }
        var since = ParseInstant(from, "from", v);
        var until = ParseInstant(to, "to", v);
        if (since is not null && until is not null && since >= until)
        {
            v.Add("to", "must be after from");
        }
        if (!v.IsValid)
        {
            return ApiError.Unprocessable("INVALID_FILTER", "The audit filters are not valid.", v.Errors);
        }
        var query = db.AuditLog.AsNoTracking();
        if (action is not null)
        {
            query = action.EndsWith('.') ? query.Where(a => a.Action.StartsWith(action)) : query.Where(a => a.Action == action);
        }
        if (!string.IsNullOrEmpty(actorType))
        {
            query = query.Where(a => a.ActorType == actorType);
        }
        if (actorId is not null)
        {
            query = query.Where(a => a.ActorId == actorId);
        }
        if (since is { } s)
        {
            query = query.Where(a => a.At >= s);
        }
        if (until is { } u)
        {
            query = query.Where(a => a.At < u);
        }
        var (p, size) = (page ?? 1, pageSize ?? 50);
        var (offset, beyond) = PageOffset.Of(p, size);
        if (beyond is not null)
        {
            return beyond;
        }
        var total = await query.CountAsync(ct);
        var rows = await query.OrderByDescending(a => a.Seq).Skip(offset).Take(size).ToListAsync(ct);
        return TypedResults.Ok(new Paged<AuditEntryDto>(rows.Select(ToDto).ToList(), p, size, total));
    }

    private static DateTimeOffset? ParseInstant(string? value, string field, Validation v)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }
        // ISO 8601 only: "01/12/2026" is refused, not read as US month/day.
        if (IsoDates.TryParseInstant(value, out var at))
        {
            return at;
        }
        v.Add(field, IsoDates.InstantProblem);
        return null;
    }

    internal static AuditEntryDto ToDto(AuditEntry a) => new(a.Seq, a.At, a.ActorType, a.ActorId, a.Action, a.Target, a.Ip,
        a.DetailsJson is null ? null : JsonDocument.Parse(a.DetailsJson).RootElement.Clone(), a.PrevHash, a.Hash);

    private static async Task<Ok<AuditVerification>> VerifyAsync(HttpContext http, SwitchboardDbContext db, CancellationToken ct) =>
        TypedResults.Ok(await AuditLog.VerifyAsync(db, Caller.From(http).TenantId!.Value, ct));

    private static async Task ExportAsync(HttpContext http, ExportWriter export, AuditLog audit, CancellationToken ct)
    {
        var caller = Caller.From(http);
        await audit.AppendAsync(caller.TenantId, caller.Actor, "data.exported", null, null, ct);
        http.Response.ContentType = "application/json; charset=utf-8";
        http.Response.Headers.ContentDisposition = $"attachment; filename=\"switchboard-export-{caller.TenantId:N}.json\"";
        await export.WriteAsync(caller.TenantId!.Value, http.Response.BodyWriter, ct);
    }

    private static async Task<Results<Ok<CallerErasureResult>, JsonHttpResult<ErrorEnvelope>>> EraseCallerAsync(
        CallerErasureRequest body, HttpContext http, SwitchboardDbContext db, ErasureService erasure, AuditLog audit, CancellationToken ct)
    {
        string? e164 = null;
        if (body.VisitorId is not null)
        {
            var visitor = body.VisitorId.Trim();
            if (body.PhoneNumber is not null || visitor.Length is < 8 or > 64 || !visitor.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            {
                return new Validation().Add("visitorId", body.PhoneNumber is not null ? "give phoneNumber or visitorId, not both" : "8 to 64 letters, digits, - or _").Result();
            }
        }
        else
        {
            // E.164, or the number as the business writes it ("(514) 555-0123", "06 12 34 56 78") read in the tenant's region.
            var tenantId = Caller.From(http).TenantId;
            var region = Phones.RegionOf(await db.Tenants.IgnoreQueryFilters().Where(t => t.Id == tenantId).Select(t => t.Locale).FirstOrDefaultAsync(ct));
            e164 = Phones.SettingsNumberToE164(body.PhoneNumber, region);
            if (e164 is null)
            {
                return new Validation().Add("phoneNumber", "must be a phone number: E.164 (e.g. +15145550123) or national in the business's country").Result();
            }
        }
        var result = body.VisitorId is { } v ? await erasure.EraseVisitorAsync(v.Trim(), ct) : await erasure.EraseCallerAsync(e164!, ct);
        var caller = Caller.From(http);
        // The number itself is never written to the audit log: only what was erased.
        await audit.AppendAsync(caller.TenantId, caller.Actor, "erasure.caller", null, result, ct);
        return TypedResults.Ok(result);
    }

    /// <summary>
    /// Erases the caller's tenant. A live Stripe subscription is cancelled first (<c>DELETE /v1/subscriptions/{id}</c>, at once,
    /// Stripe's default: no further invoice), since an erased tenant could no longer see or stop its billing; when Stripe cannot
    /// confirm it, nothing is erased: 502 <c>STRIPE_ERROR</c>, try again. One already gone at Stripe (<c>resource_missing</c>)
    /// counts as cancelled. With Stripe billing no longer configured the subscription cannot be reached, and the erasure goes on
    /// with it listed among the provider-side resources an operator should remove.
    /// </summary>
    private static async Task<Results<Ok<TenantErasureResult>, JsonHttpResult<ErrorEnvelope>>> EraseTenantAsync(
        TenantErasureRequest body, HttpContext http, SwitchboardDbContext db, ErasureService erasure, TenantCaches caches, AuditLog audit,
        Billing.StripeGateway stripe, Dashboard.ILiveEventTransport live, ILogger<ErasureService> logger, CancellationToken ct)
    {
        var caller = Caller.From(http);
        var name = await db.Tenants.Where(t => t.Id == caller.TenantId).Select(t => t.Name).FirstAsync(ct);
        if (!string.Equals(body.Confirm, name, StringComparison.Ordinal))
        {
            return ApiError.Unprocessable("CONFIRMATION_MISMATCH", "To erase everything, set confirm to the organisation's exact name.");
        }
        var subscription = await db.TenantAccounts.AsNoTracking().Where(a => a.TenantId == caller.TenantId)
            .Select(a => new { a.StripeSubscriptionId, a.SubscriptionStatus }).FirstOrDefaultAsync(ct);
        string? unreachable = null;
        if (subscription?.StripeSubscriptionId is { } subscriptionId && subscription.SubscriptionStatus is not ("canceled" or "incomplete_expired"))
        {
            if (!stripe.Enabled)
            {
                unreachable = "stripe subscription " + subscriptionId;
            }
            else
            {
                try
                {
                    await new Stripe.SubscriptionService(stripe.Client).CancelAsync(subscriptionId, null, null, ct);
                }
                catch (Stripe.StripeException e) when (e.StripeError?.Code == "resource_missing")
                {
                    logger.LogInformation("Tenant {TenantId}'s subscription {SubscriptionId} is already gone at Stripe", caller.TenantId, subscriptionId);
                }
                catch (Exception e) when (e is Stripe.StripeException or HttpRequestException)
                {
                    logger.LogWarning(e, "Tenant {TenantId}'s subscription {SubscriptionId} could not be cancelled; nothing erased", caller.TenantId, subscriptionId);
                    return ApiError.Create(502, "STRIPE_ERROR",
                        "The Stripe subscription could not be cancelled, so nothing was erased. Try again in a moment.");
                }
            }
        }
        var result = await erasure.EraseTenantAsync(caller.TenantId!.Value, ct);
        if (unreachable is not null)
        {
            result = result with { RemoteResources = [.. result.RemoteResources, unreachable] };
        }
        caches.Invalidate(caller.TenantId.Value);
        await live.RevokeAccessAsync(Dashboard.AccessRevocation.Tenant(caller.TenantId.Value)); // every open stream of the tenant ends now
        await audit.AppendAsync(null, caller.Actor, "tenant.erased", "tenant:" + caller.TenantId, new { result.UsersDeleted, result.AuditEntriesDeleted }, ct);
        return TypedResults.Ok(result);
    }

    private static async Task<Ok<RetentionSettings>> GetRetentionAsync(SwitchboardDbContext db, CancellationToken ct)
    {
        var row = await db.TenantAccounts.AsNoTracking().Select(a => new RetentionSettings(a.RecordingRetentionDays, a.TranscriptRetentionDays)).FirstOrDefaultAsync(ct);
        return TypedResults.Ok(row ?? new RetentionSettings(null, null));
    }

    private static async Task<Results<Ok<RetentionSettings>, JsonHttpResult<ErrorEnvelope>>> PutRetentionAsync(
        RetentionSettings body, HttpContext http, SwitchboardDbContext db, Billing.PlanCatalog plans, AuditLog audit, TimeProvider clock, CancellationToken ct)
    {
        var v = new Validation();
        if (body.RecordingDays is < 1 or > 3650)
        {
            v.Add("recordingDays", "must be 1 to 3650, or null to keep");
        }
        if (body.TranscriptDays is < 1 or > 3650)
        {
            v.Add("transcriptDays", "must be 1 to 3650, or null to keep");
        }
        if (!v.IsValid)
        {
            return v.Result();
        }
        var caller = Caller.From(http);
        var now = clock.GetUtcNow();
        var account = await TenantAccounts.GetOrCreateAsync(db, plans, caller.TenantId!.Value, now, ct);
        account.RecordingRetentionDays = body.RecordingDays;
        account.TranscriptRetentionDays = body.TranscriptDays;
        account.UpdatedAt = now;
        await db.SaveChangesAsync(ct);
        await audit.AppendAsync(caller.TenantId, caller.Actor, "retention.updated", null, body, ct);
        return TypedResults.Ok(body);
    }
}
