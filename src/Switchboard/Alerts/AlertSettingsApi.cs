using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Switchboard.Assistants;
using Switchboard.Compliance;
using Switchboard.Platform.Database;
using Switchboard.Platform.Http;
using Switchboard.Platform.Phones;
using Switchboard.Tenancy;

namespace Switchboard.Alerts;

/// <summary>
/// The business's own SMS alert policy: E.164 <c>OnCallNumbers</c> (emergencies, any hour) and <c>OfficeNumbers</c> (other
/// leads; the on-call numbers when empty), <c>NonUrgentDelivery</c> (<c>business-hours</c> or <c>none</c>) and the SMS
/// <c>Language</c> (a tag of a language alert texts are written in: en, fr, es, de, ar, he; the business's locale when null). An assistant's empty list inherits these.
/// </summary>
public sealed record AlertSettingsDto(IReadOnlyList<string> OnCallNumbers, IReadOnlyList<string> OfficeNumbers, string NonUrgentDelivery, string? Language);

/// <summary>
/// <c>GET/PUT /api/v1/settings/alerts</c>: the business's SMS alert policy (<see cref="Tenant.AlertPolicy"/>), the one an
/// assistant's empty on-call or office list falls back to (<see cref="AlertPolicy.For"/>). Any member reads it; owners,
/// admins and secret keys replace it.
/// </summary>
internal static class AlertSettingsApi
{
    public static RouteGroupBuilder MapAlertSettings(this RouteGroupBuilder api)
    {
        var settings = api.MapGroup("/settings").WithTags("Alert settings");
        settings.MapGet("/alerts", GetAsync).RequirePermission(Permission.Read).WithSummary("The business's SMS alert policy");
        settings.MapPut("/alerts", PutAsync).RequirePermission(Permission.Configure).WithSummary("Replace the business's SMS alert policy")
            .WithDescription("Numbers may be typed as people write them (\"514-555-0111\", \"(514) 555-0111\", \"+1 514 555 0111\"): they are read in the " +
                             "business's region (its locale's country, e.g. CA for fr-CA) and stored in E.164, duplicates dropped, at most 10 per list. " +
                             "A null or missing list is empty, a null nonUrgentDelivery is business-hours, a null language is the business's locale; " +
                             "language must be a tag of a language alert texts are written in (en, fr, es, de, ar, he). 422 VALIDATION_FAILED names each bad field " +
                             "(onCallNumbers, officeNumbers, nonUrgentDelivery, language) and nothing is changed.")
            .ProducesErrors(400, 403, 422);
        return api;
    }

    private static AlertSettingsDto ToDto(AlertPolicy p) => new(p.OnCallNumbers, p.OfficeNumbers, p.NonUrgentDelivery, p.Language);

    private static async Task<Ok<AlertSettingsDto>> GetAsync(HttpContext http, SwitchboardDbContext db, CancellationToken ct)
    {
        var tenantId = Caller.From(http).TenantId!.Value;
        var policy = await db.Tenants.AsNoTracking().Where(t => t.Id == tenantId).Select(t => t.AlertPolicy).FirstAsync(ct);
        return TypedResults.Ok(ToDto(policy));
    }

    private static async Task<Results<Ok<AlertSettingsDto>, JsonHttpResult<ErrorEnvelope>>> PutAsync(
        AlertPolicyDto body, HttpContext http, SwitchboardDbContext db, AuditLog audit, CancellationToken ct)
    {
        var caller = Caller.From(http);
        var tenantId = caller.TenantId!.Value;
        var tenant = await db.Tenants.FirstAsync(t => t.Id == tenantId, ct);
        var v = new Validation();
        if (body.Language is not null && !SmsText.IsWrittenIn(body.Language))
        {
            v.Add("language", $"must be a language alert texts are written in ({string.Join(", ", SmsText.LanguageCodes)}, e.g. fr-CA), or null for the business's");
        }
        var policy = AlertPolicyInput.Read(body, Phones.RegionOf(tenant.Locale), v, "");
        if (!v.IsValid)
        {
            return v.Result();
        }
        var before = tenant.AlertPolicy;
        if (Same(policy, before))
        {
            return TypedResults.Ok(ToDto(before));
        }
        // A tracked change to the tenant row: the save drops this node's TenantConfigCache entry (TenantScopedCacheInterceptor),
        // so the next emergency is texted to the new numbers at once.
        tenant.AlertPolicy = policy;
        await db.SaveChangesAsync(ct);
        // Named as assistant.updated names an assistant's policy change: the field, and the numbers before and after.
        await audit.AppendAsync(caller.TenantId, caller.Actor, "business.updated", null,
            new { changed = new[] { "alertPolicy" }, alertPolicy = AlertPolicyInput.AuditChange(before, policy) }, ct);
        return TypedResults.Ok(ToDto(policy));
    }

    private static bool Same(AlertPolicy a, AlertPolicy b) =>
        a.OnCallNumbers.SequenceEqual(b.OnCallNumbers) && a.OfficeNumbers.SequenceEqual(b.OfficeNumbers)
        && a.NonUrgentDelivery == b.NonUrgentDelivery && a.Language == b.Language;
}
