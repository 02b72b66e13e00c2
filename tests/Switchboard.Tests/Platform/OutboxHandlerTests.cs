using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Outbox;
using Switchboard.Platform.Database;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Platform;

/// <summary>
/// The processor builds only the handler of a message's kind (<see cref="OutboxHandlerRegistration.AddOutboxHandler{THandler}"/>):
/// each handler must be registered under the kind it says it handles, or its messages would be dead letters.
/// </summary>
[Trait("Category", "Database")]
public sealed class OutboxHandlerTests(SwitchboardFactory factory) : IClassFixture<SwitchboardFactory>
{
    [Fact]
    public void EveryHandlerIsFoundUnderTheKindItHandles()
    {
        using var scope = factory.Scope();
        var handlers = scope.ServiceProvider.GetServices<IOutboxHandler>().ToList();

        Assert.True(handlers.Count >= 8, $"{handlers.Count} handlers");
        Assert.Equal(handlers.Count, handlers.Select(h => h.Kind).Distinct().Count());
        foreach (var handler in handlers)
        {
            Assert.Same(handler, scope.ServiceProvider.GetKeyedService<IOutboxHandler>(handler.Kind));
        }
    }

    [Fact]
    public async Task AMessageOfAKindNobodyHandlesIsADeadLetter()
    {
        var id = await QueueDueAsync(factory, "nobody.handles");

        await factory.Outbox.DrainAsync(CancellationToken.None);

        var row = await factory.WithDbAsync(null, db => db.Outbox.IgnoreQueryFilters().AsNoTracking().SingleAsync(m => m.Id == id));
        Assert.Equal(OutboxStatus.Dead, row.Status);
        Assert.Equal("No handler for kind 'nobody.handles'.", row.LastError);
    }

    /// <summary>Stores an outbox message of <paramref name="kind"/> (empty payload), due now, for a new tenant; returns its id.</summary>
    internal static async Task<Guid> QueueDueAsync(SwitchboardFactory factory, string kind)
    {
        var tenant = await factory.CreateTenantAsync();
        var now = factory.Clock.GetUtcNow();
        var id = Guid.CreateVersion7();
        await factory.WithDbAsync(tenant.Id, db =>
        {
            db.Outbox.Add(new OutboxMessage
            {
                Id = id,
                TenantId = tenant.Id,
                Kind = kind,
                DedupeKey = $"{kind}-{id:N}",
                PayloadJson = "{}",
                NextAttemptAt = now,
                CreatedAt = now,
            });
            return db.SaveChangesAsync();
        });
        return id;
    }
}

/// <summary>The host with one more outbox handler, <see cref="StagesThenThrows"/>.</summary>
public sealed class ThrowingHandlerFactory : SwitchboardFactory
{
    protected override void ConfigureWebHost(Microsoft.AspNetCore.Hosting.IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.ConfigureServices(services => services.AddOutboxHandler<StagesThenThrows>(StagesThenThrows.Kind));
    }

    /// <summary>Queues a row to insert with the message's result (as the webhook handler queues its attempt), then fails.</summary>
    internal sealed class StagesThenThrows(SwitchboardDbContext db) : IOutboxHandler
    {
        public const string Kind = "test.stages-then-throws";

        string IOutboxHandler.Kind => Kind;

        public Task<OutboxResult> HandleAsync(OutboxMessage message, CancellationToken ct)
        {
            db.InsertOnSave(new Switchboard.Webhooks.WebhookAttempt
            {
                Id = message.Id,
                TenantId = message.TenantId,
                EndpointId = Guid.NewGuid(),
                DeliveryId = Guid.NewGuid(),
                Number = 1,
                At = message.CreatedAt,
            });
            throw new InvalidOperationException("The handler failed after staging a row.");
        }
    }
}

/// <summary>A handler that fails leaves nothing of what it staged: only the message's own bookkeeping (a retry) is saved.</summary>
[Trait("Category", "Database")]
public sealed class OutboxHandlerFailureTests(ThrowingHandlerFactory factory) : IClassFixture<ThrowingHandlerFactory>
{
    [Fact]
    public async Task AFailedHandlersQueuedRowsAreNotWrittenWithTheRetry()
    {
        var id = await OutboxHandlerTests.QueueDueAsync(factory, ThrowingHandlerFactory.StagesThenThrows.Kind);

        Assert.Equal(1, await factory.Outbox.ProcessDueAsync(CancellationToken.None));

        var row = await factory.WithDbAsync(null, db => db.Outbox.IgnoreQueryFilters().AsNoTracking().SingleAsync(m => m.Id == id));
        Assert.Equal(OutboxStatus.Pending, row.Status);
        Assert.Equal(1, row.Attempts);
        Assert.Equal("InvalidOperationException: The handler failed after staging a row.", row.LastError);
        Assert.False(await factory.WithDbAsync(null, db => db.WebhookAttempts.IgnoreQueryFilters().AnyAsync(a => a.Id == id)));
    }
}
