using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.Caching.Memory;
using Switchboard.Platform.Database;

namespace Switchboard.Webhooks;

/// <summary>An enabled endpoint as the event fan-out sees it: its id and the event types it subscribes to (empty: all). Read-only.</summary>
internal sealed record SubscribedEndpoint(Guid Id, IReadOnlyList<string> EventTypes);

/// <summary>
/// Caches each tenant's enabled webhook endpoints for <see cref="Ttl"/> (issue 13: every message that publishes an event, such as
/// the <c>status-update</c> that starts a call, read them: one statement of a status update's nine). Every save through a
/// <see cref="SwitchboardDbContext"/> that adds, changes or deletes an endpoint drops its tenant's entry (<see cref="Interceptor"/>),
/// as do the writes that bypass the change tracker (<see cref="Invalidate"/>: endpoint deletion, disabling), so this node sees a
/// change at once; other nodes within <see cref="Ttl"/>, as with <see cref="Tenancy.TenantConfigCache"/>. Meanwhile another node
/// may still fan an event out to an endpoint just disabled or deleted there: the delivery then fails without being sent
/// (<see cref="WebhookDeliveryHandler"/> checks the endpoint at send time), as it already did for a unit that read the
/// endpoints just before the change. A read that raced an invalidation is returned but not cached.
/// </summary>
internal sealed class WebhookEndpointCache(IMemoryCache cache)
{
    /// <summary>How long another node's change to an endpoint can take to be seen here.</summary>
    internal static readonly TimeSpan Ttl = TimeSpan.FromSeconds(5);

    private long generation;

    // Compiled once (EF would otherwise build and hash the expression tree per call to find its cached plan). Explicitly
    // scoped to the tenant given, whatever the context's tenant filter: the outbox and CLI paths must not depend on it.
    private static readonly Func<SwitchboardDbContext, Guid, IAsyncEnumerable<EndpointRow>> EnabledEndpoints = EF.CompileAsyncQuery(
        (SwitchboardDbContext db, Guid tenantId) => db.WebhookEndpoints.IgnoreQueryFilters().AsNoTracking()
            .Where(e => e.TenantId == tenantId && e.Enabled)
            .Select(e => new EndpointRow(e.Id, e.EventTypes)));

    private sealed record EndpointRow(Guid Id, List<string> EventTypes);

    /// <summary>
    /// <paramref name="tenantId"/>'s enabled endpoints (any order), read through <paramref name="db"/> on a miss. Shared between
    /// requests: never modify the list or its items.
    /// </summary>
    public async Task<IReadOnlyList<SubscribedEndpoint>> GetAsync(SwitchboardDbContext db, Guid tenantId, CancellationToken ct)
    {
        if (cache.TryGetValue((nameof(WebhookEndpointCache), tenantId), out IReadOnlyList<SubscribedEndpoint>? hit) && hit is not null)
        {
            return hit;
        }
        var before = Volatile.Read(ref generation);
        var endpoints = new List<SubscribedEndpoint>();
        await foreach (var row in EnabledEndpoints(db, tenantId).WithCancellation(ct))
        {
            endpoints.Add(new SubscribedEndpoint(row.Id, row.EventTypes.AsReadOnly()));
        }
        IReadOnlyList<SubscribedEndpoint> result = endpoints.AsReadOnly();
        if (Volatile.Read(ref generation) == before)
        {
            cache.Set((nameof(WebhookEndpointCache), tenantId), result, Ttl);
        }
        return result;
    }

    /// <summary>Drops <paramref name="tenantId"/>'s entry (and stops reads already under way from caching what they read).</summary>
    public void Invalidate(Guid tenantId)
    {
        Interlocked.Increment(ref generation);
        cache.Remove((nameof(WebhookEndpointCache), tenantId));
    }

    /// <summary>Invalidates the tenants whose <see cref="WebhookEndpoint"/> rows a save touches, before and after it.</summary>
    internal sealed class Interceptor(WebhookEndpointCache endpoints) : SaveChangesInterceptor
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
            // Entries<T> walks the state manager's entries of that type only: cheap on the webhook path, which tracks no endpoint.
            foreach (var entry in db.ChangeTracker.Entries<WebhookEndpoint>())
            {
                if (entry.State is EntityState.Added or EntityState.Modified or EntityState.Deleted)
                {
                    endpoints.Invalidate(entry.Entity.TenantId);
                    (ids ??= []).Add(entry.Entity.TenantId);
                }
            }
            if (ids is not null)
            {
                touched.AddOrUpdate(db, ids);
            }
        }

        /// <summary>After the save, a read that ran between the first invalidation and the write could have cached the old rows.</summary>
        private void InvalidateAgain(DbContext? db)
        {
            if (db is not null && touched.TryGetValue(db, out var ids))
            {
                touched.Remove(db);
                foreach (var id in ids)
                {
                    endpoints.Invalidate(id);
                }
            }
        }
    }
}
