using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.Caching.Memory;

namespace Switchboard.Platform.Database;

/// <summary>What <see cref="TenantScopedCacheInterceptor"/> needs of a <see cref="TenantScopedCache{T}"/>.</summary>
internal interface ITenantScopedCache
{
    /// <summary>The tenant whose entry a change to <paramref name="entity"/> makes stale; null when this cache holds nothing of its type.</summary>
    Guid? TenantOf(object entity);

    /// <summary>Drops <paramref name="tenantId"/>'s entry (and stops reads already under way from caching what they read).</summary>
    void Invalidate(Guid tenantId);
}

/// <summary>
/// A per-tenant read of the webhook path, kept in <see cref="IMemoryCache"/> for a fixed time to live (issue 13: at a thousand
/// messages a second, every read a message repeats is a statement per message). Every save through a
/// <see cref="SwitchboardDbContext"/> that adds, changes or deletes a row this cache depends on (<see cref="TenantOf"/>) drops
/// that tenant's entry, before and after the save (<see cref="TenantScopedCacheInterceptor"/>), so this node sees a change at
/// once; other nodes, and writes that bypass the change tracker unless they call <see cref="Invalidate"/>, within the time to
/// live. A read that raced an invalidation is returned but not cached (a generation counter, bumped by every invalidation).
/// Values are shared between requests: READ-ONLY.
/// </summary>
/// <typeparam name="T">The cached value (a record of untracked rows).</typeparam>
internal abstract class TenantScopedCache<T>(IMemoryCache cache, TimeSpan ttl) : ITenantScopedCache
    where T : class
{
    private long generation;

    /// <summary><paramref name="tenantId"/>'s value, read through <paramref name="db"/> (<see cref="LoadAsync"/>) on a miss.</summary>
    public async Task<T> GetAsync(SwitchboardDbContext db, Guid tenantId, CancellationToken ct)
    {
        if (cache.TryGetValue((this, tenantId), out T? hit) && hit is not null)
        {
            return hit;
        }
        var before = Volatile.Read(ref generation);
        var value = await LoadAsync(db, tenantId, ct);
        if (Volatile.Read(ref generation) == before)
        {
            cache.Set((this, tenantId), value, ttl);
        }
        return value;
    }

    /// <inheritdoc/>
    public void Invalidate(Guid tenantId)
    {
        Interlocked.Increment(ref generation);
        cache.Remove((this, tenantId));
    }

    /// <inheritdoc/>
    public abstract Guid? TenantOf(object entity);

    /// <summary>Reads <paramref name="tenantId"/>'s value, untracked and explicitly scoped to that tenant (whatever the context's tenant filter).</summary>
    protected abstract Task<T> LoadAsync(SwitchboardDbContext db, Guid tenantId, CancellationToken ct);
}

/// <summary>
/// Drops the entries of every <see cref="ITenantScopedCache"/> whose rows a save adds, changes or deletes: before the save (so no
/// request reads the old value from this node's cache while the write commits) and again after it, committed or failed (a read
/// that ran between the first invalidation and the write could have cached the old rows). One interceptor for all the caches,
/// so the tracked entries are walked once per save, not once per cache (changes are already detected, once, by
/// <see cref="SwitchboardDbContext.SaveChangesAsync(bool, CancellationToken)"/>).
/// </summary>
internal sealed class TenantScopedCacheInterceptor(IEnumerable<ITenantScopedCache> caches) : SaveChangesInterceptor
{
    private readonly ITenantScopedCache[] caches = caches.ToArray();
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<DbContext, List<(ITenantScopedCache Cache, Guid TenantId)>> touched = new();

    /// <inheritdoc/>
    public override InterceptionResult<int> SavingChanges(DbContextEventData eventData, InterceptionResult<int> result)
    {
        InvalidateTouched(eventData.Context);
        return result;
    }

    /// <inheritdoc/>
    public override ValueTask<InterceptionResult<int>> SavingChangesAsync(DbContextEventData eventData, InterceptionResult<int> result,
        CancellationToken cancellationToken = default)
    {
        InvalidateTouched(eventData.Context);
        return ValueTask.FromResult(result);
    }

    /// <inheritdoc/>
    public override int SavedChanges(SaveChangesCompletedEventData eventData, int result)
    {
        InvalidateAgain(eventData.Context);
        return result;
    }

    /// <inheritdoc/>
    public override ValueTask<int> SavedChangesAsync(SaveChangesCompletedEventData eventData, int result, CancellationToken cancellationToken = default)
    {
        InvalidateAgain(eventData.Context);
        return ValueTask.FromResult(result);
    }

    /// <inheritdoc/>
    public override void SaveChangesFailed(DbContextErrorEventData eventData) => InvalidateAgain(eventData.Context);

    /// <inheritdoc/>
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
        List<(ITenantScopedCache, Guid)>? stale = null;
        foreach (var entry in db.ChangeTracker.Entries())
        {
            if (entry.State is not (EntityState.Added or EntityState.Modified or EntityState.Deleted))
            {
                continue;
            }
            foreach (var cache in caches)
            {
                if (cache.TenantOf(entry.Entity) is { } tenantId)
                {
                    cache.Invalidate(tenantId);
                    (stale ??= []).Add((cache, tenantId));
                }
            }
        }
        if (stale is not null)
        {
            touched.AddOrUpdate(db, stale);
        }
    }

    private void InvalidateAgain(DbContext? db)
    {
        if (db is not null && touched.TryGetValue(db, out var stale))
        {
            touched.Remove(db);
            foreach (var (cache, tenantId) in stale)
            {
                cache.Invalidate(tenantId);
            }
        }
    }
}

/// <summary>Registers a <see cref="TenantScopedCache{T}"/> and, once, the interceptor that invalidates them all.</summary>
internal static class TenantScopedCacheRegistration
{
    /// <summary>Adds <typeparamref name="TCache"/> as a singleton, known to <see cref="TenantScopedCacheInterceptor"/>.</summary>
    public static IServiceCollection AddTenantScopedCache<TCache>(this IServiceCollection services)
        where TCache : class, ITenantScopedCache
    {
        services.AddSingleton<TCache>();
        services.AddSingleton<ITenantScopedCache>(sp => sp.GetRequiredService<TCache>());
        if (!services.Any(d => d.ServiceType == typeof(TenantScopedCacheInterceptor)))
        {
            services.AddSingleton<TenantScopedCacheInterceptor>();
            services.ConfigureDbContext<SwitchboardDbContext>((sp, o) => o.AddInterceptors(sp.GetRequiredService<TenantScopedCacheInterceptor>()));
        }
        return services;
    }
}
