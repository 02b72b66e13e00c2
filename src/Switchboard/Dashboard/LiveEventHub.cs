using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Switchboard.Tenancy;

namespace Switchboard.Dashboard;

/// <summary>
/// This node's side of the live events: per tenant, the SSE subscribers and a replay buffer of recent events (at least
/// <see cref="DashboardOptions.ReplayMinutes"/>) for <c>Last-Event-ID</c> resume. Events arrive in id order from the
/// transport (<see cref="ILiveEventTransport"/>): in process on SQLite, from PostgreSQL <c>LISTEN</c> otherwise. Each
/// subscriber has a bounded queue that drops its oldest events when the client is too slow; losing anything but a
/// transcript turn makes the stream send <c>reset</c> so the client refetches.
/// <para>
/// Only a watched tenant's events are kept: while it has a subscriber on this node, and for
/// <see cref="DashboardOptions.ReplayMinutes"/> after its last one left (the client that may come back with a
/// <c>Last-Event-ID</c>). Nobody can resume a stream nobody held, so a tenant that nobody watches costs no memory, and its
/// events do not live for minutes in the heap: at 500 Vapi messages a second, a buffer of every event was a steady flow of
/// objects promoted to the oldest generation and collected there (issue 13). A client whose <c>Last-Event-ID</c> is from
/// another node where nobody else watched the tenant gets <c>reset</c> and refetches, as after any gap.
/// </para>
/// <para>
/// Each subscriber is also indexed by the principal that opened it (session, API key, user), so an access-revoked signal
/// (<see cref="Revoke"/>) finds the streams it ends without reading any other stream's authorisation.
/// </para>
/// </summary>
internal sealed class LiveEventHub(IOptions<DashboardOptions> options, TimeProvider clock)
{
    private readonly ConcurrentDictionary<Guid, TenantStream> tenants = new();
    private readonly Dictionary<(AccessRevocationKind Kind, Guid Id), HashSet<Subscription>> principals = [];
    private readonly Lock principalsGate = new();
    private readonly DashboardOptions settings = options.Value;

    /// <summary>The reset marker written into subscribers' queues (never buffered, no id).</summary>
    internal static readonly LiveEvent ResetMarker = new(Guid.Empty, 0, LiveEventTypes.Reset, "{}", null);

    /// <summary>Hands an event to the tenant's subscribers and keeps it for resume. Out-of-order duplicates are ignored; a gap resets the tenant's buffer.</summary>
    public void Deliver(LiveEvent e)
    {
        var stream = tenants.GetOrAdd(e.TenantId, _ => new TenantStream());
        var now = clock.GetUtcNow();
        lock (stream.Gate)
        {
            if (stream.Last > 0 && e.Seq <= stream.Last)
            {
                return;
            }
            if (stream.Last > 0 && e.Seq > stream.Last + 1)
            {
                // Events were lost between this node and the database (listener reconnect): nobody can resume across the gap.
                stream.Ring.Clear();
                foreach (var s in stream.Subscribers)
                {
                    s.Push(ResetMarker);
                }
            }
            if (stream.Subscribers.Count == 0 && !(stream.WatchedUntil > now))
            {
                // Nobody watches: nothing to keep, and nobody to hand it to. Resuming is possible from this id on.
                stream.Ring.Clear();
                stream.Floor = e.Seq;
                stream.Last = e.Seq;
                return;
            }
            if (stream.Ring.Count == 0)
            {
                stream.Floor = e.Seq - 1;
            }
            stream.Ring.Enqueue((e, now));
            stream.Last = e.Seq;
            var horizon = now.AddMinutes(-settings.ReplayMinutes);
            while (stream.Ring.Count > settings.ReplayMaxEventsPerTenant || (stream.Ring.Count > 1 && stream.Ring.Peek().At < horizon))
            {
                stream.Floor = stream.Ring.Dequeue().Event.Seq;
            }
            foreach (var s in stream.Subscribers)
            {
                if (s.Wants(e))
                {
                    s.Push(e);
                }
            }
        }
    }

    /// <summary>The transport may have lost events (PostgreSQL listener reconnected): forget every buffer and tell every subscriber to refetch.</summary>
    public void ResetAll()
    {
        foreach (var stream in tenants.Values)
        {
            lock (stream.Gate)
            {
                stream.Ring.Clear();
                stream.Last = 0;
                foreach (var s in stream.Subscribers)
                {
                    s.Push(ResetMarker);
                }
            }
        }
    }

    /// <summary>
    /// Subscribes to a tenant's events. With <paramref name="lastEventId"/>, the events after it are replayed when this
    /// node still holds all of them (or it is the latest id, per <paramref name="storedLast"/> when this node has seen
    /// none); otherwise the subscription starts with <c>reset</c>.
    /// </summary>
    /// <param name="tenantId">The subscriber's tenant: it never sees another tenant's events.</param>
    /// <param name="callId">When set, transcript turns of other calls are left out.</param>
    /// <param name="lastEventId">The client's <c>Last-Event-ID</c>, if any.</param>
    /// <param name="storedLast">The tenant's latest id according to the transport (PostgreSQL), or null when unknown.</param>
    /// <param name="principal">
    /// Who opened the stream: its session, API key and user are indexed so <see cref="Revoke"/> can end it. Null: only a
    /// <see cref="AccessRevocationKind.Tenant"/> revocation ends it.
    /// </param>
    public Subscription Subscribe(Guid tenantId, Guid? callId, long? lastEventId, long? storedLast, Caller? principal = null)
    {
        var stream = tenants.GetOrAdd(tenantId, _ => new TenantStream());
        var subscription = new Subscription(this, stream, tenantId, callId, settings.SubscriberQueue, Keys(principal));
        if (subscription.Principals.Length > 0)
        {
            lock (principalsGate)
            {
                foreach (var key in subscription.Principals)
                {
                    if (!principals.TryGetValue(key, out var set))
                    {
                        principals[key] = set = [];
                    }
                    set.Add(subscription);
                }
            }
        }
        lock (stream.Gate)
        {
            stream.Subscribers.Add(subscription);
            if (lastEventId is not { } n)
            {
                return subscription;
            }
            var known = stream.Last > 0 ? stream.Last : storedLast;
            if (known is { } last && n == last)
            {
                return subscription;
            }
            if (stream.Last > 0 && n >= stream.Floor && n < stream.Last)
            {
                foreach (var (e, _) in stream.Ring)
                {
                    if (e.Seq > n && subscription.Wants(e))
                    {
                        subscription.Push(e);
                    }
                }
                return subscription;
            }
            subscription.Push(ResetMarker);
            return subscription;
        }
    }

    /// <summary>The index keys of a stream's principal: its session or API key, and its user.</summary>
    private static (AccessRevocationKind, Guid)[] Keys(Caller? principal)
    {
        if (principal is null)
        {
            return [];
        }
        var keys = new List<(AccessRevocationKind, Guid)>(2);
        if (principal.SessionId is { } session)
        {
            keys.Add((AccessRevocationKind.Session, session));
        }
        if (principal.ApiKeyId is { } key)
        {
            keys.Add((AccessRevocationKind.ApiKey, key));
        }
        if (principal.UserId is { } user)
        {
            keys.Add((AccessRevocationKind.User, user));
        }
        return [.. keys];
    }

    /// <summary>
    /// Ends, on this node, every stream the revoked principal opened: a session's or a key's streams, a user's streams of one
    /// tenant (<see cref="AccessRevocationKind.Member"/>) or of all (<see cref="AccessRevocationKind.User"/>), or all of a
    /// tenant's streams. Each ends before its next event (<see cref="Subscription.Revoked"/>). Idempotent; a lookup in the
    /// principal index, no other stream is looked at.
    /// </summary>
    /// <returns>How many streams were ended (tests, logs).</returns>
    public int Revoke(AccessRevocation revocation)
    {
        List<Subscription> ending;
        if (revocation.Kind == AccessRevocationKind.Tenant)
        {
            if (!tenants.TryGetValue(revocation.Id, out var stream))
            {
                return 0;
            }
            lock (stream.Gate)
            {
                ending = [.. stream.Subscribers];
            }
        }
        else
        {
            var kind = revocation.Kind == AccessRevocationKind.Member ? AccessRevocationKind.User : revocation.Kind;
            lock (principalsGate)
            {
                if (!principals.TryGetValue((kind, revocation.Id), out var set))
                {
                    return 0;
                }
                ending = [.. set.Where(s => revocation.TenantId is not { } tenant || s.TenantId == tenant)];
            }
        }
        var ended = 0;
        foreach (var subscription in ending)
        {
            if (subscription.Revoke())
            {
                ended++;
            }
        }
        return ended;
    }

    private void Unsubscribe(TenantStream stream, Subscription subscription)
    {
        if (subscription.Principals.Length > 0)
        {
            lock (principalsGate)
            {
                foreach (var key in subscription.Principals)
                {
                    if (principals.TryGetValue(key, out var set) && set.Remove(subscription) && set.Count == 0)
                    {
                        principals.Remove(key);
                    }
                }
            }
        }
        lock (stream.Gate)
        {
            if (stream.Subscribers.Remove(subscription) && stream.Subscribers.Count == 0)
            {
                stream.WatchedUntil = clock.GetUtcNow().AddMinutes(settings.ReplayMinutes); // it may come back with a Last-Event-ID
            }
        }
    }

    /// <summary>Events kept for resume, all tenants on this node (metrics, tests).</summary>
    public int BufferedCount => tenants.Values.Sum(s => { lock (s.Gate) { return s.Ring.Count; } });

    /// <summary>Subscribers of all tenants on this node (metrics, tests).</summary>
    public int SubscriberCount => tenants.Values.Sum(s => { lock (s.Gate) { return s.Subscribers.Count; } });

    /// <summary>Principals with at least one open stream on this node (tests: the index does not outlive its streams).</summary>
    public int IndexedPrincipalCount
    {
        get
        {
            lock (principalsGate)
            {
                return principals.Count;
            }
        }
    }

    internal sealed class TenantStream
    {
        public readonly Lock Gate = new();
        public readonly Queue<(LiveEvent Event, DateTimeOffset At)> Ring = new();
        public readonly List<Subscription> Subscribers = [];

        /// <summary>Resume works from any id ≥ Floor (all later events are in <see cref="Ring"/>).</summary>
        public long Floor;

        /// <summary>The latest id seen; 0 when unknown.</summary>
        public long Last;

        /// <summary>
        /// Until when events are kept with no subscriber: <see cref="DashboardOptions.ReplayMinutes"/> after the last one left;
        /// null when nobody has subscribed on this node.
        /// </summary>
        public DateTimeOffset? WatchedUntil;
    }

    /// <summary>One SSE client's queue. Dispose to unsubscribe.</summary>
    internal sealed class Subscription : IDisposable
    {
        private readonly LiveEventHub hub;
        private readonly TenantStream stream;
        private readonly Guid? callId;
        private readonly Channel<LiveEvent> queue;
        private int lostImportant;
        private int revoked;

        public Subscription(LiveEventHub hub, TenantStream stream, Guid tenantId, Guid? callId, int capacity, (AccessRevocationKind, Guid)[] principals)
        {
            this.hub = hub;
            this.stream = stream;
            TenantId = tenantId;
            this.callId = callId;
            Principals = principals;
            queue = Channel.CreateBounded<LiveEvent>(
                new BoundedChannelOptions(capacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true, SingleWriter = false },
                dropped =>
                {
                    if (dropped.Type != LiveEventTypes.TranscriptTurn)
                    {
                        Interlocked.Exchange(ref lostImportant, 1);
                    }
                });
        }

        public ChannelReader<LiveEvent> Reader => queue.Reader;

        /// <summary>The tenant whose events this subscriber receives.</summary>
        public Guid TenantId { get; }

        /// <summary>The keys this subscriber is indexed by for <see cref="LiveEventHub.Revoke"/>.</summary>
        internal (AccessRevocationKind Kind, Guid Id)[] Principals { get; }

        /// <summary>
        /// True once the access that opened the stream was revoked: the reader stops at once, events still queued included
        /// (the queue is completed, so a reader waiting for the next event wakes up).
        /// </summary>
        public bool Revoked => Volatile.Read(ref revoked) == 1;

        /// <summary>Marks the subscriber revoked and wakes its reader; false when it already was.</summary>
        internal bool Revoke()
        {
            if (Interlocked.Exchange(ref revoked, 1) == 1)
            {
                return false;
            }
            queue.Writer.TryComplete();
            return true;
        }

        /// <summary>True once (then false) after an event other than a transcript turn was dropped for lack of room.</summary>
        public bool TakeLostImportant() => Interlocked.Exchange(ref lostImportant, 0) == 1;

        internal bool Wants(LiveEvent e) => callId is not { } only || e.Type != LiveEventTypes.TranscriptTurn || e.CallId == only;

        internal void Push(LiveEvent e) => queue.Writer.TryWrite(e);

        public void Dispose()
        {
            hub.Unsubscribe(stream, this);
            queue.Writer.TryComplete();
        }
    }
}
