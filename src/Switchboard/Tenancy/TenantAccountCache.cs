using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Caching.Memory;
using Switchboard.Billing;
using Switchboard.Platform.Database;

namespace Switchboard.Tenancy;

/// <summary>What per-request checks need of a tenant's account: plan and status.</summary>
internal sealed record TenantAccountSnapshot(Guid TenantId, Plan Plan, string Status, string? VoiceProvider);

/// <summary>
/// Caches each tenant's plan and status for 15 s (one query per tenant per 15 s on the hot path). Writers call
/// <see cref="Invalidate"/> after a change, so this node sees it at once; other nodes within 15 s.
/// </summary>
internal sealed class TenantAccountCache(IMemoryCache cache, IServiceScopeFactory scopes, PlanCatalog plans)
{
    public async Task<TenantAccountSnapshot> GetAsync(Guid tenantId, CancellationToken ct)
    {
        if (cache.TryGetValue(("tenant-account", tenantId), out TenantAccountSnapshot? hit) && hit is not null)
        {
            return hit;
        }
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>();
        var row = await db.TenantAccounts.IgnoreQueryFilters().AsNoTracking().Where(a => a.TenantId == tenantId)
            .Select(a => new { a.PlanId, a.Status, a.VoiceProvider }).FirstOrDefaultAsync(ct);
        var snapshot = new TenantAccountSnapshot(tenantId, plans.Get(row?.PlanId ?? plans.DefaultPlanId), row?.Status ?? "active", row?.VoiceProvider);
        cache.Set(("tenant-account", tenantId), snapshot, TimeSpan.FromSeconds(15));
        return snapshot;
    }

    public void Invalidate(Guid tenantId) => cache.Remove(("tenant-account", tenantId));
}

/// <summary>Loads or creates a tenant's <see cref="TenantAccount"/> row inside the caller's unit of work.</summary>
internal static class TenantAccounts
{
    public static async Task<TenantAccount> GetOrCreateAsync(SwitchboardDbContext db, PlanCatalog plans, Guid tenantId, DateTimeOffset now, CancellationToken ct)
    {
        var account = db.TenantAccounts.Local.FirstOrDefault(a => a.TenantId == tenantId)
            ?? await db.TenantAccounts.FirstOrDefaultAsync(a => a.TenantId == tenantId, ct);
        if (account is null)
        {
            account = new TenantAccount { TenantId = tenantId, PlanId = plans.DefaultPlanId, CreatedAt = now, UpdatedAt = now };
            db.TenantAccounts.Add(account);
        }
        return account;
    }
}
