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
        var tenant = await factory.CreateTenantAsync();
        var now = factory.Clock.GetUtcNow();
        var id = Guid.CreateVersion7();
        await factory.WithDbAsync(tenant.Id, db =>
        {
            db.Outbox.Add(new OutboxMessage
            {
                Id = id, TenantId = tenant.Id, Kind = "nobody.handles", DedupeKey = $"nobody-{id:N}", PayloadJson = "{}", NextAttemptAt = now, CreatedAt = now,
            });
            return db.SaveChangesAsync();
        });

        await factory.Outbox.DrainAsync(CancellationToken.None);

        var row = await factory.WithDbAsync(null, db => db.Outbox.IgnoreQueryFilters().AsNoTracking().SingleAsync(m => m.Id == id));
        Assert.Equal(OutboxStatus.Dead, row.Status);
        Assert.Equal("No handler for kind 'nobody.handles'.", row.LastError);
    }
}
