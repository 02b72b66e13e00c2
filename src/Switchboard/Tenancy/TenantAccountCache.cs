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
internal sealed class TenantAccountCache(IMemoryCache cache, IServiceScopeFactory scopes, PlanCatalog plans, TimeProvider clock)
{
    private sealed record Row(string? PlanId, string Status, string? VoiceProvider, DateTimeOffset? GraceEndsAt);

    /// <summary>
    /// The tenant's plan and status. A tenant whose Stripe grace period has ended (past due, unpaid) gets the signup
    /// plan's features until it pays (evaluated on every call, so the suspension starts on time whatever the cache holds).
    /// </summary>
    public Task<TenantAccountSnapshot> GetAsync(Guid tenantId, CancellationToken ct) => GetAsync(tenantId, null, ct);

    /// <summary>
    /// As <see cref="GetAsync(Guid, CancellationToken)"/>; on a miss the row is read through <paramref name="db"/> when one is given,
    /// else through a context of its own. Code inside a unit of work passes its context: the webhook path holds one pooled
    /// PostgreSQL connection for a message's reads, and a second checkout from inside it waits for a free connection while
    /// holding the first. When as many messages as the pool has connections missed the cache together (it expires every
    /// 15 s), each waited for a connection only another could free, until Npgsql's <c>Timeout</c> (15 s): bench ingest with
    /// <c>Maximum Pool Size=8</c> answered 13 – 32 messages per 15-second loop 503 after 15 s (issue 13).
    /// </summary>
    public async Task<TenantAccountSnapshot> GetAsync(Guid tenantId, SwitchboardDbContext? db, CancellationToken ct)
    {
        if (!cache.TryGetValue(("tenant-account", tenantId), out Row? row) || row is null)
        {
            if (db is not null)
            {
                row = await ReadAsync(db, tenantId, ct);
            }
            else
            {
                await using var scope = scopes.CreateAsyncScope();
                row = await ReadAsync(scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>(), tenantId, ct);
            }
            cache.Set(("tenant-account", tenantId), row, TimeSpan.FromSeconds(15));
        }
        var suspended = row.GraceEndsAt is { } ends && ends <= clock.GetUtcNow();
        var plan = suspended ? plans.Get(plans.SignupPlanId) : plans.Get(row.PlanId ?? plans.DefaultPlanId);
        return new TenantAccountSnapshot(tenantId, plan, row.Status, row.VoiceProvider);
    }

    private static async Task<Row> ReadAsync(SwitchboardDbContext db, Guid tenantId, CancellationToken ct) =>
        await db.TenantAccounts.IgnoreQueryFilters().AsNoTracking().Where(a => a.TenantId == tenantId)
            .Select(a => new Row(a.PlanId, a.Status, a.VoiceProvider, a.GraceEndsAt)).FirstOrDefaultAsync(ct)
        ?? new Row(null, "active", null, null);

    public void Invalidate(Guid tenantId) => cache.Remove(("tenant-account", tenantId));
}

/// <summary>Loads or creates a tenant's <see cref="TenantAccount"/> row inside the caller's unit of work.</summary>
internal static class TenantAccounts
{
    /// <summary>
    /// The tenant's account row, tracked by <paramref name="db"/>. A tenant without one (created before accounts existed, or
    /// by a path that skips sign-up) gets a default row (the default plan, <c>active</c>, no origins) inserted at once with
    /// <c>INSERT … ON CONFLICT ("TenantId") DO NOTHING</c> (SQLite ≥ 3.24, sqlite.org/lang_upsert.html; PostgreSQL
    /// "INSERT … ON CONFLICT"), then read: concurrent first requests (twelve parallel <c>PUT /api/v1/widget/origins</c>)
    /// all find the one row, where an insert tracked until the caller's save made all but one fail with a unique violation
    /// (409). A default row left behind by a caller that then fails validation is the same as no row.
    /// </summary>
    public static async Task<TenantAccount> GetOrCreateAsync(SwitchboardDbContext db, PlanCatalog plans, Guid tenantId, DateTimeOffset now, CancellationToken ct)
    {
        // The tenant is explicit, so operators and Stripe events (outside any tenant's scope) use this too.
        var account = db.TenantAccounts.Local.FirstOrDefault(a => a.TenantId == tenantId)
            ?? await db.TenantAccounts.IgnoreQueryFilters().FirstOrDefaultAsync(a => a.TenantId == tenantId, ct);
        if (account is null)
        {
            // SQLite stores DateTimeOffset as UTC ticks (SwitchboardDbContext.ConfigureConventions); raw SQL bypasses the converter.
            object at = db.IsSqlite ? now.UtcTicks : now.ToUniversalTime();
            var plan = plans.DefaultPlanId;
            await db.Database.ExecuteSqlAsync($"""
                INSERT INTO tenant_accounts ("TenantId", "PlanId", "Status", "MarketingOptIn", "AllowedOrigins", "CreatedAt", "UpdatedAt")
                VALUES ({tenantId}, {plan}, 'active', {false}, '[]', {at}, {at}) ON CONFLICT ("TenantId") DO NOTHING
                """, ct);
            account = await db.TenantAccounts.IgnoreQueryFilters().FirstAsync(a => a.TenantId == tenantId, ct);
        }
        return account;
    }
}
