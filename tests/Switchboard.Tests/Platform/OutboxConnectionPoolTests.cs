using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Switchboard.Platform.Database;
using Switchboard.Tests.Support;
using Switchboard.Tests.Webhooks;
using Switchboard.Webhooks;

namespace Switchboard.Tests.Platform;

/// <summary>
/// The outbox worker's own connection pool (issue 13): on PostgreSQL its scopes connect with the connection string's
/// <c>Application Name</c> suffixed <c>outbox</c>, a pool Npgsql keeps apart, so a small <c>Maximum Pool Size</c> for the webhook
/// path cannot hold up deliveries. Here the main pool has 3 connections and a checkout gives up after 2 s.
/// </summary>
[Trait("Category", "Database")]
public sealed class OutboxConnectionPoolTests(OutboxConnectionPoolTests.SmallPoolFactory factory) : IClassFixture<OutboxConnectionPoolTests.SmallPoolFactory>
{
    /// <summary>The webhook test host with, on PostgreSQL, a main pool of 3 connections waited for at most 2 s.</summary>
    public sealed class SmallPoolFactory : WebhookFactory
    {
        protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>(Settings)
        {
            ["Switchboard:Database:ConnectionString"] = TestDatabase.IsPostgres
                ? new NpgsqlConnectionStringBuilder(DatabaseConnectionString) { MaxPoolSize = MainPool, Timeout = 2 }.ConnectionString
                : DatabaseConnectionString,
        };
    }

    private const int MainPool = 3;

    [Fact]
    public async Task DeliveriesGoOutWhileEveryConnectionOfTheMainPoolIsHeld()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var tenant = await factory.CreateTenantAsync("Outbox pool");
        await factory.CreateEndpointAsync(tenant, receiver.Url);
        Assert.True(await factory.PublishAsync(tenant.Id, WebhookEventTypes.LeadCreated, "pool-1", WebhookTestExtensions.Lead(1)));

        // Every connection of the main pool taken and held, as a burst of webhooks holds them.
        var held = new List<AsyncServiceScope>();
        try
        {
            for (var i = 0; i < (TestDatabase.IsPostgres ? MainPool : 1); i++)
            {
                var scope = factory.Services.CreateAsyncScope();
                held.Add(scope);
                await scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>().Database.OpenConnectionAsync();
            }
            if (TestDatabase.IsPostgres)
            {
                // The main pool is exhausted: one more checkout gives up (so a worker on it could not deliver).
                await using var extra = factory.Services.CreateAsyncScope();
                var e = await Assert.ThrowsAnyAsync<Exception>(() =>
                    extra.ServiceProvider.GetRequiredService<SwitchboardDbContext>().Database.OpenConnectionAsync());
                Assert.Contains("pool", e.ToString(), StringComparison.OrdinalIgnoreCase);
            }

            Assert.Equal(1, await factory.Outbox.ProcessDueAsync(CancellationToken.None));
            Assert.Single(receiver.Requests);
            Assert.Equal(200, receiver.Requests.Single().AnsweredWith);
            var status = await OutboxStatusAsync();
            Assert.Equal("done", status);
        }
        finally
        {
            foreach (var scope in held)
            {
                await scope.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task AnOutboxScopeConnectsAsTheOutboxAndAContextItUsedServesTheMainPoolAgain()
    {
        var connection = factory.Services.GetRequiredService<DatabaseExtensions.EffectiveConnection>();
        for (var round = 0; round < 3; round++)
        {
            // Alternating scopes: the pooled contexts move between the two pools' connection strings (SQLite: one database
            // file, one connection string).
            Assert.Equal(TestDatabase.IsPostgres ? "switchboard-outbox" : await SessionAsync(outbox: false), await SessionAsync(outbox: true));
            Assert.Equal(TestDatabase.IsPostgres ? "" : await SessionAsync(outbox: true), await SessionAsync(outbox: false));
        }
        if (TestDatabase.IsPostgres)
        {
            var outbox = new NpgsqlConnectionStringBuilder(connection.Outbox);
            Assert.Equal(DatabaseExtensions.DefaultOutboxMaxPoolSize(Environment.ProcessorCount), outbox.MaxPoolSize); // Switchboard:Database:OutboxMaxPoolSize unset
            Assert.Equal(MainPool, new NpgsqlConnectionStringBuilder(connection.Value).MaxPoolSize);
        }
        else
        {
            Assert.Equal(connection.Value, connection.Outbox);
        }
    }

    /// <summary>The session's <c>application_name</c> on PostgreSQL; on SQLite the context's connection string.</summary>
    private async Task<string> SessionAsync(bool outbox)
    {
        await using var scope = factory.Services.CreateAsyncScope();
        scope.ServiceProvider.GetRequiredService<DatabaseExtensions.ConnectionPoolChoice>().Outbox = outbox;
        var db = scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>();
        return TestDatabase.IsPostgres
            ? await db.Database.SqlQueryRaw<string>("SELECT current_setting('application_name') AS \"Value\"").SingleAsync()
            : db.Database.GetConnectionString()!;
    }

    /// <summary>The delivery's outbox row status, read through the outbox's pool (the main one is held while this runs).</summary>
    private async Task<string> OutboxStatusAsync()
    {
        await using var scope = factory.Services.CreateAsyncScope();
        scope.ServiceProvider.GetRequiredService<DatabaseExtensions.ConnectionPoolChoice>().Outbox = true;
        var db = scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>();
        return await db.Outbox.IgnoreQueryFilters().Where(m => m.Kind == "webhook.deliver").Select(m => m.Status).SingleAsync();
    }
}
