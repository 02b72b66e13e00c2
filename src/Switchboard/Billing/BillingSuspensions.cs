using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Switchboard.Compliance;
using Switchboard.Platform.Database;
using Switchboard.Platform.Observability;
using Switchboard.Tenancy;
using Switchboard.Webhooks;

namespace Switchboard.Billing;

/// <summary>
/// The end of a past-due tenant's grace period (issue 10: past_due → grace with the owner alerted → features suspended).
/// The suspension itself takes effect on time without any job: <see cref="TenantAccountCache"/> answers the signup plan
/// once <see cref="TenantAccount.GraceEndsAt"/> has passed. This class <em>announces</em> it, exactly once per grace
/// period: it sets <see cref="TenantAccount.SuspendedAt"/>, emits the tenant webhook event <c>billing.plan_changed</c>
/// with <c>featuresSuspended: true</c> (<c>planId</c> the signup plan whose features apply, <c>previousPlanId</c> the
/// subscribed plan; message key <c>suspended:{graceEndsAt}</c>) and audits <c>billing.features_suspended</c>. The restore
/// on payment (<see cref="StripeEventApplier"/>) clears <see cref="TenantAccount.SuspendedAt"/> and emits
/// <c>billing.plan_changed</c> with <c>featuresSuspended: false</c>, audited <c>billing.features_restored</c>. No separate
/// event type: a subscriber of plan changes must hear both anyway, as the features a tenant has are what changed.
/// </summary>
internal sealed class BillingSuspensions(
    SwitchboardDbContext db, PlanCatalog plans, WebhookEventPublisher webhooks, TenantAccountCache accounts, AuditLog audit, CurrentTenant current,
    IServiceScopeFactory scopes, TimeProvider clock, ILogger<BillingSuspensions> logger)
{
    /// <summary>Audit action of an announced suspension.</summary>
    public const string SuspendedAction = "billing.features_suspended";

    /// <summary>Audit action of a restore after payment.</summary>
    public const string RestoredAction = "billing.features_restored";

    /// <summary>
    /// Stages the announcement of a due suspension on the caller's unit of work (the caller saves): sets
    /// <see cref="TenantAccount.SuspendedAt"/> to <paramref name="now"/> and publishes the webhook event. Returns the audit
    /// details to append once saved, or null when the account is not due (grace not over, or already announced).
    /// </summary>
    public async Task<object?> StageSuspensionAsync(TenantAccount account, DateTimeOffset now, CancellationToken ct)
    {
        if (account.GraceEndsAt is not { } ends || ends > now || account.SuspendedAt is not null)
        {
            return null;
        }
        account.SuspendedAt = now;
        account.UpdatedAt = now;
        await webhooks.PublishAsync(account.TenantId, WebhookEventTypes.BillingPlanChanged, $"suspended:{ends.ToUnixTimeSeconds()}",
            new BillingPlanChangedData(plans.SignupPlanId, account.PlanId, account.SubscriptionStatus ?? "past_due", true, ends), ct);
        return new { plan = account.PlanId, featuresOf = plans.SignupPlanId, status = account.SubscriptionStatus, graceEndsAt = ends, subscription = account.StripeSubscriptionId };
    }

    /// <summary>
    /// Announces every suspension that is due (grace ended, not yet announced), at most <paramref name="limit"/> per call;
    /// returns how many this call announced. Safe on every node at once: each account is claimed by a conditional update
    /// (<c>SuspendedAt IS NULL</c>) in the transaction that stages its webhook event, so only one node announces it.
    /// Driven by <see cref="BillingSuspensionWorker"/>; since the state is in the database, a host that was down when a
    /// grace ended announces it on its first sweep after starting.
    /// </summary>
    public async Task<int> SweepAsync(CancellationToken ct, int limit = 100)
    {
        var now = clock.GetUtcNow();
        var due = await db.TenantAccounts.IgnoreQueryFilters().AsNoTracking()
            .Where(a => a.GraceEndsAt != null && a.GraceEndsAt <= now && a.SuspendedAt == null)
            .OrderBy(a => a.GraceEndsAt).Select(a => a.TenantId).Take(limit).ToListAsync(ct);
        var announced = 0;
        foreach (var tenantId in due)
        {
            // One DI scope per tenant: the tenant filter (CurrentTenant) is set once per scope, and each announcement is a unit
            // of work of its own. In one scope the second due tenant threw, so a sweep announced one suspension and failed, and
            // n tenants whose grace ended together were announced over n minutes, one error logged per minute.
            await using var scope = scopes.CreateAsyncScope();
            if (await scope.ServiceProvider.GetRequiredService<BillingSuspensions>().AnnounceAsync(tenantId, now, ct))
            {
                announced++;
            }
        }
        return announced;
    }

    /// <summary>
    /// Announces <paramref name="tenantId"/>'s suspension if it is still due at <paramref name="now"/> and no other node has:
    /// the claim (a conditional update), the announcement and the webhook event in one transaction, then the audit entry.
    /// Runs in a scope of its own (<see cref="SweepAsync"/>). False when there was nothing to announce.
    /// </summary>
    private async Task<bool> AnnounceAsync(Guid tenantId, DateTimeOffset now, CancellationToken ct)
    {
        object? details;
        await using (var tx = await db.Database.BeginTransactionAsync(ct))
        {
            var claimed = await db.TenantAccounts.IgnoreQueryFilters()
                .Where(a => a.TenantId == tenantId && a.SuspendedAt == null && a.GraceEndsAt != null && a.GraceEndsAt <= now)
                .ExecuteUpdateAsync(s => s.SetProperty(a => a.SuspendedAt, now), ct);
            if (claimed == 0)
            {
                return false; // paid meanwhile, or another node announced it
            }
            var account = await db.TenantAccounts.IgnoreQueryFilters().FirstAsync(a => a.TenantId == tenantId, ct);
            account.SuspendedAt = null; // the row says now; stage the announcement on the tracked copy
            current.Set(tenantId);
            details = await StageSuspensionAsync(account, now, ct);
            await db.SaveChangesAsync(ct);
            await tx.CommitAsync(ct);
        }
        accounts.Invalidate(tenantId);
        await audit.AppendAsync(tenantId, new AuditActor("system", "billing-sweep", null), SuspendedAction, null, details, ct);
        logger.LogWarning("Billing: the grace period of tenant {TenantId} ended; its plan's features are suspended until it pays", tenantId);
        return true;
    }
}

/// <summary>
/// With Stripe billing, on every node (whatever <see cref="StripeOptions.WorkersEnabled"/> says: the claim is exactly once
/// across nodes): sweeps due suspensions (<see cref="BillingSuspensions.SweepAsync"/>) at start and then every minute of
/// the host's <see cref="TimeProvider"/>.
/// </summary>
internal sealed class BillingSuspensionWorker(IServiceScopeFactory scopes, IOptions<StripeOptions> options, TimeProvider clock, ILogger<BillingSuspensionWorker> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.Enabled)
        {
            return;
        }
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                await scope.ServiceProvider.GetRequiredService<BillingSuspensions>().SweepAsync(stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                logger.Log(ExpectedFailures.LevelOf(e), e, "Billing suspension sweep failed; retrying in a minute");
            }
            try
            {
                await Task.Delay(TimeSpan.FromMinutes(1), clock, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }
}
