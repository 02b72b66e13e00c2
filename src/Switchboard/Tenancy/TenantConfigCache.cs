using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
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
/// queries of a ~1 ms unit of work, at a thousand messages a second). Every save through a
/// <see cref="SwitchboardDbContext"/> that adds, changes or deletes a tenant or an assistant drops that tenant's entry
/// (<see cref="Interceptor"/>), so this node sees a change at once; other nodes (and writes that bypass the change
/// tracker) within <see cref="Ttl"/>. A read that raced an invalidation is returned but not cached.
/// </summary>
internal sealed class TenantConfigCache(IMemoryCache cache)
{
    /// <summary>How long another node's change can take to be seen here.</summary>
    internal static readonly TimeSpan Ttl = TimeSpan.FromSeconds(5);

    private long generation;

    /// <summary>
    /// The tenant and its default assistant (the default one first, else the oldest; null when it has none), read through
    /// <paramref name="db"/> on a miss. Throws <see cref="InvalidOperationException"/> when the tenant does not exist.
    /// </summary>
    public async Task<TenantConfig> GetAsync(SwitchboardDbContext db, Guid tenantId, CancellationToken ct)
    {
        if (cache.TryGetValue((nameof(TenantConfigCache), tenantId), out TenantConfig? hit) && hit is not null)
        {
            return hit;
        }
        var before = Volatile.Read(ref generation);
        var tenant = await db.Tenants.AsNoTracking().FirstAsync(t => t.Id == tenantId, ct);
        var assistant = await db.Assistants.IgnoreQueryFilters().AsNoTracking().Where(a => a.TenantId == tenantId)
            .OrderByDescending(a => a.IsDefault).ThenBy(a => a.CreatedAt).FirstOrDefaultAsync(ct);
        var config = new TenantConfig(tenant, assistant);
        if (Volatile.Read(ref generation) == before)
        {
            cache.Set((nameof(TenantConfigCache), tenantId), config, Ttl);
        }
        return config;
    }

    /// <summary>Drops <paramref name="tenantId"/>'s entry (and stops reads already under way from caching what they read).</summary>
    public void Invalidate(Guid tenantId)
    {
        Interlocked.Increment(ref generation);
        cache.Remove((nameof(TenantConfigCache), tenantId));
    }

    /// <summary>Invalidates the tenants whose <see cref="Tenant"/> or <see cref="Assistant"/> rows a save touches, before and after it.</summary>
    internal sealed class Interceptor(TenantConfigCache configs) : SaveChangesInterceptor
    {
        private readonly System.Runtime.CompilerServices.ConditionalWeakTable<DbContext, List<Guid>> touched = new();

        public override InterceptionResult<int> SavingChanges(DbContextEventData eventData, InterceptionResult<int> result)
        {
            InvalidateTouched(eventData.Context);
            return result;
        }

        public override ValueTask<InterceptionResult<int>> SavingChangesAsync(DbContextEventData eventData, InterceptionResult<int> result,
            CancellationToken cancellationToken = default)
        {
            InvalidateTouched(eventData.Context);
            return ValueTask.FromResult(result);
        }

        public override int SavedChanges(SaveChangesCompletedEventData eventData, int result)
        {
            InvalidateAgain(eventData.Context);
            return result;
        }

        public override ValueTask<int> SavedChangesAsync(SaveChangesCompletedEventData eventData, int result, CancellationToken cancellationToken = default)
        {
            InvalidateAgain(eventData.Context);
            return ValueTask.FromResult(result);
        }

        public override void SaveChangesFailed(DbContextErrorEventData eventData) => InvalidateAgain(eventData.Context);

        public override Task SaveChangesFailedAsync(DbContextErrorEventData eventData, CancellationToken cancellationToken = default)
        {
            InvalidateAgain(eventData.Context);
            return Task.CompletedTask;
        }

        private void InvalidateTouched(DbContext? db)
        {
            if (db is null)
            {
                return;
            }
            List<Guid>? ids = null;
            foreach (var entry in db.ChangeTracker.Entries())
            {
                if (entry.State is EntityState.Added or EntityState.Modified or EntityState.Deleted)
                {
                    Guid? id = entry.Entity switch
                    {
                        Tenant t => t.Id,
                        Assistant a => a.TenantId,
                        _ => null,
                    };
                    if (id is { } tenantId)
                    {
                        configs.Invalidate(tenantId);
                        (ids ??= []).Add(tenantId);
                    }
                }
            }
            if (ids is not null)
            {
                touched.AddOrUpdate(db, ids);
            }
        }

        /// <summary>After the save, a read that ran between the first invalidation and the write could have cached the old row.</summary>
        private void InvalidateAgain(DbContext? db)
        {
            if (db is not null && touched.TryGetValue(db, out var ids))
            {
                touched.Remove(db);
                foreach (var id in ids)
                {
                    configs.Invalidate(id);
                }
            }
        }
    }
}
