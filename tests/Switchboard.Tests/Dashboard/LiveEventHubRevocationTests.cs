using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Switchboard.Dashboard;
using Switchboard.Tenancy;

namespace Switchboard.Tests.Dashboard;

/// <summary>
/// The hub's principal index (<see cref="LiveEventHub.Revoke"/>): an access-revoked signal ends exactly the streams its
/// principal opened, and its payload (<see cref="AccessRevocation"/>) is never read as an event or the other way round.
/// </summary>
public sealed class LiveEventHubRevocationTests
{
    private readonly LiveEventHub hub = new(Options.Create(new DashboardOptions()), new FakeTimeProvider());
    private readonly Guid tenant = Guid.NewGuid();
    private readonly Guid otherTenant = Guid.NewGuid();
    private readonly Guid user = Guid.NewGuid();

    private static Caller Session(Guid tenantId, Guid userId, Guid sessionId) => new(tenantId, userId, null, sessionId, Roles.Member, false, null);

    private static Caller Key(Guid tenantId, Guid keyId) => new(tenantId, null, keyId, null, Roles.Admin, false, null);

    [Fact]
    public void ARevocationEndsOnlyTheStreamsOfWhatItNames()
    {
        var session = Guid.NewGuid();
        var key = Guid.NewGuid();
        using var here = hub.Subscribe(tenant, null, null, null, Session(tenant, user, session));
        using var sameSessionAgain = hub.Subscribe(tenant, null, null, null, Session(tenant, user, session)); // a second tab
        using var elsewhere = hub.Subscribe(otherTenant, null, null, null, Session(otherTenant, user, Guid.NewGuid()));
        using var byKey = hub.Subscribe(tenant, null, null, null, Key(tenant, key));
        using var anonymous = hub.Subscribe(tenant, null, null, null);

        Assert.Equal(0, hub.Revoke(AccessRevocation.ApiKey(Guid.NewGuid())));
        Assert.Equal(0, hub.Revoke(AccessRevocation.Member(Guid.NewGuid(), user)));
        Assert.Equal(0, hub.Revoke(AccessRevocation.Session(Guid.NewGuid())));
        Assert.Equal(2, hub.Revoke(AccessRevocation.Member(tenant, user))); // this tenant's streams of the user, not the other's
        Assert.True(here.Revoked && sameSessionAgain.Revoked);
        Assert.False(elsewhere.Revoked || byKey.Revoked || anonymous.Revoked);

        Assert.Equal(1, hub.Revoke(AccessRevocation.User(user)));
        Assert.True(elsewhere.Revoked);
        Assert.Equal(1, hub.Revoke(AccessRevocation.ApiKey(key)));
        Assert.Equal(0, hub.Revoke(AccessRevocation.ApiKey(key))); // once
        Assert.False(anonymous.Revoked);
        Assert.Equal(1, hub.Revoke(AccessRevocation.Tenant(tenant)));
        Assert.True(anonymous.Revoked);
    }

    [Fact]
    public async Task ARevokedStreamsReaderWakesUpAndItsQueuedEventsAreNotRead()
    {
        var session = Guid.NewGuid();
        using var subscription = hub.Subscribe(tenant, null, null, null, Session(tenant, user, session));
        var waiting = subscription.Reader.WaitToReadAsync().AsTask();
        hub.Deliver(new LiveEvent(tenant, 1, LiveEventTypes.CallStarted, "{}", null));
        Assert.True(await waiting);

        hub.Revoke(AccessRevocation.Session(session));

        Assert.True(subscription.Revoked); // EventsApi stops on this before reading the queued event
        hub.Deliver(new LiveEvent(tenant, 2, LiveEventTypes.CallUpdated, "{}", null));
        Assert.True(subscription.Reader.TryRead(out var queued) && queued.Seq == 1);
        Assert.False(await subscription.Reader.WaitToReadAsync()); // completed: nothing after the revocation is queued
    }

    [Fact]
    public void TheIndexForgetsAStreamWhenItCloses()
    {
        var before = hub.IndexedPrincipalCount;
        var subscription = hub.Subscribe(tenant, null, null, null, Session(tenant, user, Guid.NewGuid()));
        Assert.Equal(before + 2, hub.IndexedPrincipalCount); // its session and its user

        subscription.Dispose();

        Assert.Equal(before, hub.IndexedPrincipalCount);
    }

    [Fact]
    public void ThePayloadNamesIdsOnlyAndReadsBack()
    {
        var member = AccessRevocation.Member(tenant, user);
        Assert.Equal($"revoke:Member:{user:N}:{tenant:N}", member.ToPayload());
        foreach (var revocation in new[] { member, AccessRevocation.Session(Guid.NewGuid()), AccessRevocation.ApiKey(Guid.NewGuid()),
                     AccessRevocation.User(user), AccessRevocation.Tenant(tenant) })
        {
            Assert.True(AccessRevocation.TryParse(revocation.ToPayload(), out var read));
            Assert.Equal(revocation, read);
        }
        foreach (var payload in new[] { $"{tenant}:1:0:1:call.started:\n{{}}", "revoke:", $"revoke:Member:{user:N}", $"revoke:Session:{user:N}:{tenant:N}",
                     $"revoke:Nobody:{user:N}", "revoke:Session:not-a-guid", $"revoke:9:{user:N}" })
        {
            Assert.False(AccessRevocation.TryParse(payload, out _), payload);
        }
    }
}
