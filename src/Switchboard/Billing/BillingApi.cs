using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Switchboard.Compliance;
using Switchboard.Platform.Database;
using Switchboard.Platform.Http;
using Switchboard.Tenancy;

namespace Switchboard.Billing;

/// <summary>The tenant's plan.</summary>
public sealed record CurrentPlan(Plan Plan, DateTimeOffset? ChangedAt);

/// <summary>Changes the plan (owner only).</summary>
public sealed record PlanChange(string? PlanId);

/// <summary>
/// Use in one month (UTC, <c>yyyy-MM</c>) against the plan: call seconds and minutes (rounded up), chat messages,
/// included minutes, percentage used, overage minutes, and concurrent calls now against the plan's limit.
/// </summary>
public sealed record UsageDto(
    string Period, string PlanId, double CallSeconds, int CallMinutes, int ChatMessages, int IncludedMinutes, double PercentOfIncludedMinutes,
    int OverageMinutes, int ActiveCalls, int ConcurrentCallLimit);

/// <summary><c>/api/v1/plans</c>, <c>/api/v1/plan</c> and <c>/api/v1/usage</c>.</summary>
internal static class BillingApi
{
    public static RouteGroupBuilder MapBilling(this RouteGroupBuilder api)
    {
        api.MapGet("/plans", (PlanCatalog plans) => TypedResults.Ok(plans.All)).AllowAnonymous().WithTags("Billing").WithSummary("The plans on offer");
        api.MapGet("/plan", GetPlanAsync).RequirePermission(Permission.Read).WithTags("Billing").WithSummary("The tenant's plan");
        api.MapPut("/plan", ChangePlanAsync).RequirePermission(Permission.ManagePlan).WithTags("Billing").WithSummary("Change the plan (owner)")
            .WithDescription("Without Stripe billing the change is immediate (403 PLAN_CHANGES_DISABLED when the operator does not allow it). "
                + "With Stripe billing a paid plan needs payment: 402 CHECKOUT_REQUIRED (use POST /api/v1/billing/checkout), and a subscribed "
                + "tenant changes or cancels in the Customer Portal: 409 MANAGE_IN_PORTAL.")
            .ProducesErrors(400, 402, 403, 409, 422);
        api.MapGet("/usage", UsageAsync).RequirePermission(Permission.Read).WithTags("Billing").WithSummary("Use this month (or ?period=yyyy-MM) against the plan")
            .ProducesErrors(422);
        api.MapStripeBilling();
        return api;
    }

    private static async Task<Ok<CurrentPlan>> GetPlanAsync(HttpContext http, SwitchboardDbContext db, TenantAccountCache accounts, CancellationToken ct)
    {
        var caller = Caller.From(http);
        var account = await accounts.GetAsync(caller.TenantId!.Value, ct);
        var changed = await db.TenantAccounts.AsNoTracking().Select(a => a.PlanChangedAt).FirstOrDefaultAsync(ct);
        return TypedResults.Ok(new CurrentPlan(account.Plan, changed));
    }

    private static async Task<Results<Ok<CurrentPlan>, JsonHttpResult<ErrorEnvelope>>> ChangePlanAsync(
        PlanChange body, HttpContext http, SwitchboardDbContext db, PlanCatalog plans, TenantAccountCache accounts, AuditLog audit, TimeProvider clock,
        PlanChangePolicy policy, CancellationToken ct)
    {
        if (plans.Find(body.PlanId) is not { } plan)
        {
            return new Validation().Add("planId", "unknown plan: " + string.Join(", ", plans.All.Select(p => p.Id))).Result();
        }
        var caller = Caller.From(http);
        var now = clock.GetUtcNow();
        var account = await TenantAccounts.GetOrCreateAsync(db, plans, caller.TenantId!.Value, now, ct);
        var before = account.PlanId;
        if (policy.Refusal(caller, account, plan) is { } refused)
        {
            return refused;
        }
        if (before != plan.Id)
        {
            account.PlanId = plan.Id;
            account.PlanChangedAt = now;
            account.UpdatedAt = now;
            await db.SaveChangesAsync(ct);
            accounts.Invalidate(caller.TenantId.Value);
            await audit.AppendAsync(caller.TenantId, caller.Actor, "plan.changed", null, new { from = before, to = plan.Id }, ct);
        }
        return TypedResults.Ok(new CurrentPlan(plan, account.PlanChangedAt));
    }

    private static async Task<Results<Ok<UsageDto>, JsonHttpResult<ErrorEnvelope>>> UsageAsync(
        string? period, HttpContext http, UsageMeter meter, CallConcurrencyGate concurrency, TenantAccountCache accounts, TimeProvider clock, CancellationToken ct)
    {
        period ??= UsageMeter.PeriodOf(clock.GetUtcNow());
        if (!UsageMeter.TryParsePeriod(period, out var start))
        {
            return ApiError.Unprocessable("INVALID_PERIOD", $"period must be a month yyyy-MM from {UsageMeter.MinPeriod} to {UsageMeter.MaxPeriod}.");
        }
        var caller = Caller.From(http);
        await meter.MeterEndedCallsAsync(start, ct);
        var (seconds, messages) = await meter.TotalsAsync(period, ct);
        var plan = (await accounts.GetAsync(caller.TenantId!.Value, ct)).Plan;
        var minutes = (int)Math.Ceiling(seconds / 60.0);
        var active = await concurrency.ActiveCallsAsync(ct);
        return TypedResults.Ok(new UsageDto(period, plan.Id, Math.Round(seconds, 3), minutes, messages, plan.IncludedMinutes,
            plan.IncludedMinutes == 0 ? 0 : Math.Round(100.0 * seconds / 60.0 / plan.IncludedMinutes, 2),
            Math.Max(0, minutes - plan.IncludedMinutes), active, plan.ConcurrentCalls));
    }
}
