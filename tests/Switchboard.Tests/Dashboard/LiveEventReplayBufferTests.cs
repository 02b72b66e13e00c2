using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Switchboard.Dashboard;

namespace Switchboard.Tests.Dashboard;

/// <summary>
/// The live events' replay buffer (<see cref="LiveEventHub"/>) keeps a tenant's events only while someone watches it on this
/// node, and for the replay window after the last subscriber left: what a <c>Last-Event-ID</c> resume needs, and no more.
/// </summary>
public sealed class LiveEventReplayBufferTests
{
    private readonly FakeTimeProvider clock = new(new DateTimeOffset(2026, 12, 7, 15, 0, 0, TimeSpan.Zero));
    private readonly LiveEventHub hub;
    private readonly Guid tenantId = Guid.NewGuid();

    public LiveEventReplayBufferTests() => hub = new LiveEventHub(Options.Create(new DashboardOptions { ReplayMinutes = 6 }), clock);

    private void Deliver(long from, long to)
    {
        for (var seq = from; seq <= to; seq++)
        {
            hub.Deliver(new LiveEvent(tenantId, seq, LiveEventTypes.TranscriptTurn, $"{{\"n\":{seq}}}", null));
        }
    }

    private static List<LiveEvent> Received(LiveEventHub.Subscription subscription)
    {
        var received = new List<LiveEvent>();
        while (subscription.Reader.TryRead(out var e))
        {
            received.Add(e);
        }
        return received;
    }

    [Fact]
    public void ATenantNobodyWatchesKeepsNoEventsAndAResumeFromBeforeResets()
    {
        Deliver(1, 500);

        Assert.Equal(0, hub.BufferedCount);
        using var resumed = hub.Subscribe(tenantId, null, lastEventId: 250, storedLast: null);
        Assert.Equal([LiveEventTypes.Reset], Received(resumed).Select(e => e.Type));
        using var current = hub.Subscribe(tenantId, null, lastEventId: 500, storedLast: null); // up to date: nothing missed
        Assert.Empty(Received(current));
    }

    [Fact]
    public void EventsAreKeptForTheReplayWindowAfterTheLastSubscriberLeft()
    {
        Deliver(1, 10);
        using (var watching = hub.Subscribe(tenantId, null, null, null))
        {
            Deliver(11, 20);
            Assert.Equal(Enumerable.Range(11, 10).Select(i => (long)i), Received(watching).Select(e => e.Seq));
        }
        Deliver(21, 30); // the client is away (a network blip, a laptop lid)
        clock.Advance(TimeSpan.FromMinutes(5));
        Deliver(31, 35);

        using (var back = hub.Subscribe(tenantId, null, lastEventId: 20, storedLast: null))
        {
            Assert.Equal(Enumerable.Range(21, 15).Select(i => (long)i), Received(back).Select(e => e.Seq));
        }

        clock.Advance(TimeSpan.FromMinutes(7)); // past the window since that one left: nobody can come back for these
        Deliver(36, 40);
        Assert.Equal(0, hub.BufferedCount);
        using var late = hub.Subscribe(tenantId, null, lastEventId: 35, storedLast: null);
        Assert.Equal([LiveEventTypes.Reset], Received(late).Select(e => e.Type));
    }
}
