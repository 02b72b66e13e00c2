using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Caching.Memory;
using Switchboard.Assistants;
using Switchboard.Platform.Database;

namespace Switchboard.Tenancy;

/// <summary>
/// A tenant's settings and its default assistant as the webhook path reads them: untracked, shared between requests, so
/// READ-ONLY (never modify a <see cref="Tenant"/> or <see cref="Assistant"/> obtained here; load a tracked one to change it).
/// </summary>
internal sealed record TenantConfig(Tenant Tenant, Assistant? DefaultAssistant);

/// <summary>
/// Caches <see cref="TenantConfig"/> per tenant for <see cref="Ttl"/> (issue 13: every Vapi message read both rows, two
/// queries of a ~1 ms unit of work, at a thousand messages a second). Every save through a <see cref="SwitchboardDbContext"/>
/// that adds, changes or deletes a tenant or an assistant drops that tenant's entry (<see cref="TenantScopedCacheInterceptor"/>),
/// so this node sees a change at once; other nodes (and writes that bypass the change tracker) within <see cref="Ttl"/>.
/// </summary>
internal sealed class TenantConfigCache(IMemoryCache cache) : TenantScopedCache<TenantConfig>(cache, Ttl)
{
    /// <summary>How long another node's change can take to be seen here.</summary>
    internal static readonly TimeSpan Ttl = TimeSpan.FromSeconds(5);

    /// <summary>A tenant row is its own; an assistant belongs to its tenant.</summary>
    public override Guid? TenantOf(object entity) => entity switch
    {
        Tenant t => t.Id,
        Assistant a => a.TenantId,
        _ => null,
    };

    /// <summary>
    /// The tenant and its default assistant (the default one first, else the oldest; null when it has none). Throws
    /// <see cref="InvalidOperationException"/> when the tenant does not exist.
    /// </summary>
    protected override async Task<TenantConfig> LoadAsync(SwitchboardDbContext db, Guid tenantId, CancellationToken ct)
    {
        var tenant = await db.Tenants.AsNoTracking().FirstAsync(t => t.Id == tenantId, ct);
        var assistant = await db.Assistants.IgnoreQueryFilters().AsNoTracking().Where(a => a.TenantId == tenantId)
            .OrderByDescending(a => a.IsDefault).ThenBy(a => a.CreatedAt).FirstOrDefaultAsync(ct);
        return new TenantConfig(tenant, assistant);
    }
}
