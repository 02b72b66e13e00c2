using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Caching.Memory;
using Switchboard.Platform.Database;

namespace Switchboard.Webhooks;

/// <summary>An enabled endpoint as the event fan-out sees it: its id and the event types it subscribes to (empty: all). Read-only.</summary>
internal sealed record SubscribedEndpoint(Guid Id, IReadOnlyList<string> EventTypes);

/// <summary>
/// Caches each tenant's enabled webhook endpoints for <see cref="Ttl"/> (issue 13: every message that publishes an event, such as
/// the <c>status-update</c> that starts a call, read them: one statement of a status update's nine). Every save through a
/// <see cref="SwitchboardDbContext"/> that adds, changes or deletes an endpoint drops its tenant's entry (<see cref="TenantScopedCacheInterceptor"/>),
/// as do the writes that bypass the change tracker (<see cref="TenantScopedCache{T}.Invalidate"/>: endpoint deletion, disabling), so this node sees a
/// change at once; other nodes within <see cref="Ttl"/>, as with <see cref="Tenancy.TenantConfigCache"/>. Meanwhile another node
/// may still fan an event out to an endpoint just disabled or deleted there: the delivery then fails without being sent
/// (<see cref="WebhookDeliveryHandler"/> checks the endpoint at send time), as it already did for a unit that read the
/// endpoints just before the change. A read that raced an invalidation is returned but not cached.
/// </summary>
internal sealed class WebhookEndpointCache(IMemoryCache cache) : TenantScopedCache<IReadOnlyList<SubscribedEndpoint>>(cache, Ttl)
{
    /// <summary>How long another node's change to an endpoint can take to be seen here.</summary>
    internal static readonly TimeSpan Ttl = TimeSpan.FromSeconds(5);

    // Compiled once (EF would otherwise build and hash the expression tree per call to find its cached plan). Explicitly
    // scoped to the tenant given, whatever the context's tenant filter: the outbox and CLI paths must not depend on it.
    private static readonly Func<SwitchboardDbContext, Guid, IAsyncEnumerable<EndpointRow>> EnabledEndpoints = EF.CompileAsyncQuery(
        (SwitchboardDbContext db, Guid tenantId) => db.WebhookEndpoints.IgnoreQueryFilters().AsNoTracking()
            .Where(e => e.TenantId == tenantId && e.Enabled)
            .Select(e => new EndpointRow(e.Id, e.EventTypes)));

    private sealed record EndpointRow(Guid Id, List<string> EventTypes);

    /// <summary>An endpoint belongs to its tenant.</summary>
    public override Guid? TenantOf(object entity) => entity is WebhookEndpoint e ? e.TenantId : null;

    /// <summary>The tenant's enabled endpoints (any order). Shared between requests: never modify the list or its items.</summary>
    protected override async Task<IReadOnlyList<SubscribedEndpoint>> LoadAsync(SwitchboardDbContext db, Guid tenantId, CancellationToken ct)
    {
        var endpoints = new List<SubscribedEndpoint>();
        await foreach (var row in EnabledEndpoints(db, tenantId).WithCancellation(ct))
        {
            endpoints.Add(new SubscribedEndpoint(row.Id, row.EventTypes.AsReadOnly()));
        }
        return endpoints.AsReadOnly();
    }
}
