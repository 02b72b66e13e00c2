using System.Collections.Concurrent;

namespace Switchboard.Dashboard;

/// <summary>
/// Gives published events their per-tenant ids and brings them to every node's <see cref="LiveEventHub"/>: in process on
/// SQLite (<see cref="InProcessLiveEventTransport"/>), through PostgreSQL <c>NOTIFY</c>/<c>LISTEN</c> across nodes
/// (<see cref="PostgresLiveEventTransport"/>). Access-revoked signals (<see cref="AccessRevocation"/>) take the same way.
/// </summary>
internal interface ILiveEventTransport
{
    /// <summary>Publishes an event whose changes are committed, in the background. Never blocks on I/O and never throws.</summary>
    void Publish(LiveEventDraft draft);

    /// <summary>
    /// Publishes events whose changes are committed and returns once they are numbered and sent, so a client told of the
    /// change (the webhook's 200) finds the events ordered after it. Never throws: on failure the events go to the background.
    /// </summary>
    Task PublishAsync(IReadOnlyList<LiveEventDraft> drafts);

    /// <summary>The tenant's latest event id as the transport knows it (0 when none yet), or null when it cannot tell.</summary>
    Task<long?> LatestAsync(Guid tenantId, CancellationToken ct);

    /// <summary>
    /// Tells every node that <paramref name="revocation"/>'s access is gone, once it is committed: each ends the live-event
    /// streams it authorised (<see cref="LiveEventHub.Revoke"/>), this node's before this returns. Nothing reaches a client but
    /// the end of its stream. Never throws: a signal that cannot be sent is logged, and the other nodes' streams end at their
    /// next ping's re-check (<see cref="DashboardOptions.PingSeconds"/>).
    /// </summary>
    Task RevokeAccessAsync(AccessRevocation revocation);
}

/// <summary>
/// One process (SQLite): ids come from an in-memory counter per tenant that starts at the process's start time in
/// microseconds since 1970, so ids keep increasing across restarts and an id from a previous run is never mistaken for a
/// current one (it is unknown, and the client gets <c>reset</c>).
/// </summary>
internal sealed class InProcessLiveEventTransport(LiveEventHub hub, TimeProvider clock) : ILiveEventTransport
{
    private readonly ConcurrentDictionary<Guid, long> last = new();
    private readonly long start = clock.GetUtcNow().ToUnixTimeMilliseconds() * 1000;
    private readonly Lock gate = new();

    public void Publish(LiveEventDraft draft)
    {
        // One lock across numbering and delivery keeps each tenant's events in id order for every subscriber.
        lock (gate)
        {
            var seq = last.AddOrUpdate(draft.TenantId, start + 1, (_, n) => n + 1);
            hub.Deliver(new LiveEvent(draft.TenantId, seq, draft.Type, draft.DataJson, draft.CallId));
        }
    }

    public Task PublishAsync(IReadOnlyList<LiveEventDraft> drafts)
    {
        foreach (var draft in drafts)
        {
            Publish(draft);
        }
        return Task.CompletedTask;
    }

    public Task<long?> LatestAsync(Guid tenantId, CancellationToken ct) =>
        Task.FromResult<long?>(last.TryGetValue(tenantId, out var n) ? n : null);

    public Task RevokeAccessAsync(AccessRevocation revocation)
    {
        hub.Revoke(revocation);
        return Task.CompletedTask;
    }
}
