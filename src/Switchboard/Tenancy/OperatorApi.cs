using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Switchboard.Billing;
using Switchboard.Compliance;
using Switchboard.Platform.Database;
using Switchboard.Platform.Http;

namespace Switchboard.Tenancy;

/// <summary>A tenant as an operator sees it.</summary>
public sealed record OperatorTenantDto(Guid Id, string Name, string PlanId, string Status, int Members, DateTimeOffset CreatedAt);

/// <summary>Operator changes to a tenant: its plan and/or status (<c>active</c>, <c>suspended</c>).</summary>
public sealed record OperatorTenantUpdate(string? PlanId, string? Status);

/// <summary>
/// <c>/api/v1/operator</c>: the installation's operators (users granted by <c>switchboard grant-operator &lt;email&gt;</c>) list every
/// tenant and change its plan or status. To act inside a tenant, an operator switches the session to it
/// (<c>POST /api/v1/auth/switch-tenant</c>) and acts as an owner there; every such action is audited as <c>operator</c>.
/// </summary>
internal static class OperatorApi
{
    public static RouteGroupBuilder MapOperator(this RouteGroupBuilder op)
    {
        op.WithTags("Operator");
        op.MapGet("/tenants", ListAsync).WithSummary("Every tenant").ProducesErrors(401, 403);
        op.MapGet("/tenants/{id:guid}", GetAsync).WithSummary("One tenant").ProducesErrors(401, 403, 404);
        op.MapPatch("/tenants/{id:guid}", UpdateAsync).WithSummary("Change a tenant's plan or status").ProducesErrors(400, 401, 403, 404, 422);
        return op;
    }

    private static IQueryable<OperatorTenantDto> Query(SwitchboardDbContext db, PlanCatalog plans, Func<IQueryable<Tenant>, IQueryable<Tenant>> shape)
    {
        var fallback = plans.DefaultPlanId;
        return shape(db.Tenants.AsNoTracking()).Select(t => new OperatorTenantDto(
            t.Id, t.Name,
            db.TenantAccounts.IgnoreQueryFilters().Where(a => a.TenantId == t.Id).Select(a => a.PlanId).FirstOrDefault() ?? fallback,
            db.TenantAccounts.IgnoreQueryFilters().Where(a => a.TenantId == t.Id).Select(a => a.Status).FirstOrDefault() ?? "active",
            db.Memberships.IgnoreQueryFilters().Count(m => m.TenantId == t.Id),
            t.CreatedAt));
    }

    private static async Task<Ok<List<OperatorTenantDto>>> ListAsync(SwitchboardDbContext db, PlanCatalog plans, CancellationToken ct) =>
        TypedResults.Ok(await Query(db, plans, q => q.OrderBy(t => t.CreatedAt)).ToListAsync(ct));

    private static async Task<Results<Ok<OperatorTenantDto>, JsonHttpResult<ErrorEnvelope>>> GetAsync(Guid id, SwitchboardDbContext db, PlanCatalog plans, CancellationToken ct) =>
        await Query(db, plans, q => q.Where(t => t.Id == id)).FirstOrDefaultAsync(ct) is { } t ? TypedResults.Ok(t) : ApiError.NotFound("TENANT_NOT_FOUND", "No such tenant.");

    private static async Task<Results<Ok<OperatorTenantDto>, JsonHttpResult<ErrorEnvelope>>> UpdateAsync(
        Guid id, OperatorTenantUpdate body, HttpContext http, SwitchboardDbContext db, PlanCatalog plans, TenantAccountCache cache,
        AuditLog audit, TimeProvider clock, CancellationToken ct)
    {
        var v = new Validation();
        if (body.PlanId is not null && plans.Find(body.PlanId) is null)
        {
            v.Add("planId", "unknown plan: " + string.Join(", ", plans.All.Select(p => p.Id)));
        }
        if (body.Status is not null and not ("active" or "suspended"))
        {
            v.Add("status", "must be active or suspended");
        }
        if (!v.IsValid)
        {
            return v.Result();
        }
        if (!await db.Tenants.AnyAsync(t => t.Id == id, ct))
        {
            return ApiError.NotFound("TENANT_NOT_FOUND", "No such tenant.");
        }
        var now = clock.GetUtcNow();
        var account = await TenantAccounts.GetOrCreateAsync(db, plans, id, now, ct);
        var before = new { plan = account.PlanId, status = account.Status };
        if (body.PlanId is not null && body.PlanId != account.PlanId)
        {
            account.PlanId = body.PlanId;
            account.PlanChangedAt = now;
        }
        account.Status = body.Status ?? account.Status;
        account.UpdatedAt = now;
        await db.SaveChangesAsync(ct);
        cache.Invalidate(id);
        var caller = Caller.From(http);
        await audit.AppendAsync(id, caller.Actor, "operator.tenant_updated", "tenant:" + id, new { before, after = new { plan = account.PlanId, status = account.Status } }, ct);
        return TypedResults.Ok(await Query(db, plans, q => q.Where(t => t.Id == id)).FirstAsync(ct));
    }
}
