using System.Net;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Tenancy;
using Switchboard.Tests.Support;
using Switchboard.Webhooks;

namespace Switchboard.Tests.Vapi;

/// <summary>
/// A Vapi message's unit of work holds one pooled PostgreSQL connection for its reads and never checks out a second from
/// inside it (issue 13): with as many messages in flight as the pool has connections, each would wait for a connection only
/// another could free, until Npgsql's <c>Timeout</c>, and be answered 503. Here the host's pool has one connection and a
/// 3-second wait, so a nested checkout shows as a 503 after 3 s. The webhook publisher's plan check read the tenant's
/// account through a scope of its own on a cache miss (<see cref="TenantAccountCache"/>, 15 s); a status update (which
/// the rate limiter, the other reader of that cache, lets through uncounted) published <c>call.started</c> with the cache
/// cold. On SQLite the pool setting does not apply and the same message is stored the same way.
/// </summary>
[Trait("Category", "Database")]
public sealed class UnitOfWorkConnectionTests(UnitOfWorkConnectionTests.OneConnectionFactory factory) : IClassFixture<UnitOfWorkConnectionTests.OneConnectionFactory>
{
    /// <summary>The test host, its PostgreSQL pool cut to one connection that a second checkout waits 3 s for.</summary>
    public sealed class OneConnectionFactory : SwitchboardFactory
    {
        protected override IDictionary<string, string?> ExtraSettings => TestDatabase.IsPostgres
            ? new Dictionary<string, string?> { ["Switchboard:Database:ConnectionString"] = DatabaseConnectionString + ";Maximum Pool Size=1;Timeout=3" }
            : new Dictionary<string, string?>();
    }

    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task AStatusUpdateThatPublishesAWebhookEventWithTheAccountUncachedIsStoredOnOneConnection()
    {
        var tenant = await factory.CreateTenantAsync("One connection");
        await factory.WithDbAsync(tenant.Id, db =>
        {
            db.WebhookEndpoints.Add(new WebhookEndpoint
            {
                Id = Guid.NewGuid(), TenantId = tenant.Id, Url = "https://hooks.example/one", SecretProtected = "x", Enabled = true, CreatedAt = DateTimeOffset.UtcNow,
            });
            return db.SaveChangesAsync();
        });
        factory.Services.GetRequiredService<TenantAccountCache>().Invalidate(tenant.Id);
        var providerCallId = Guid.NewGuid().ToString();

        var response = await factory.PostVapiAsync(tenant, JsonSerializer.Serialize(new
        {
            message = new { type = "status-update", status = "in-progress", call = new { id = providerCallId, type = "inboundPhoneCall", customer = new { number = "+15145551234" } } },
        })).WaitAsync(Bound);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode); // a nested checkout waits 3 s for the one connection and is answered 503
        var (calls, startedEvents) = await factory.WithDbAsync(tenant.Id, async db => (
            await db.Calls.CountAsync(c => c.ProviderCallId == providerCallId),
            await db.WebhookEvents.CountAsync(e => e.Type == WebhookEventTypes.CallStarted)));
        Assert.Equal(1, calls);
        Assert.Equal(1, startedEvents); // the plan check ran: the event went to the subscribed endpoint
    }
}
