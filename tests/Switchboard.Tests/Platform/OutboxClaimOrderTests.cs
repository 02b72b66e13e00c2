using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Alerts;
using Switchboard.Outbox;
using Switchboard.Platform.Database;
using Switchboard.Tests.Support;
using Switchboard.Webhooks;

namespace Switchboard.Tests.Platform;

/// <summary>
/// An SMS alert due now is claimed ahead of a backlog of older webhook deliveries (issue 13: under load the outbox ran
/// minutes behind, and an emergency text waited behind thousands of webhook rows).
/// </summary>
[Trait("Category", "Database")]
public sealed class OutboxClaimOrderTests(SwitchboardFactory factory) : IClassFixture<SwitchboardFactory>
{
    [Fact]
    public async Task AnAlertDueNowIsClaimedBeforeABacklogOfOlderWebhookDeliveries()
    {
        var tenant = await factory.CreateTenantAsync();
        var now = factory.Clock.GetUtcNow();
        var backlog = 3 * 20; // three claims' worth (BatchSize 20) of webhook rows due before the alert
        Guid alertId;
        using (var scope = factory.Scope())
        {
            var db = scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>();
            for (var i = 0; i < backlog; i++)
            {
                db.Outbox.Add(new OutboxMessage
                {
                    Id = Guid.CreateVersion7(), TenantId = tenant.Id, Kind = WebhookDeliveryHandler.Kind, DedupeKey = $"backlog-{i}",
                    PayloadJson = $$"""{"deliveryId":"{{Guid.NewGuid()}}"}""", // no such delivery: done at once
                    NextAttemptAt = now.AddMinutes(-10).AddSeconds(i), CreatedAt = now.AddMinutes(-10),
                });
            }
            alertId = Guid.CreateVersion7();
            db.Outbox.Add(new OutboxMessage
            {
                Id = alertId, TenantId = tenant.Id, Kind = SmsSendHandler.Kind, DedupeKey = "alert-now",
                PayloadJson = """{"smsId":"00000000-0000-0000-0000-000000000000"}""",
                NextAttemptAt = now, CreatedAt = now,
            });
            await db.SaveChangesAsync();
        }

        Assert.Equal(20, await factory.Outbox.ProcessDueAsync(CancellationToken.None)); // one claim

        var rows = await factory.WithDbAsync(null, db => db.Outbox.IgnoreQueryFilters().AsNoTracking()
            .Where(m => m.TenantId == tenant.Id).Select(m => new { m.Id, m.Kind, m.Attempts }).ToListAsync());
        Assert.Equal(1, rows.Single(r => r.Id == alertId).Attempts); // the alert went in the first claim
        Assert.Equal(19, rows.Count(r => r.Kind == WebhookDeliveryHandler.Kind && r.Attempts > 0)); // then the oldest deliveries
        Assert.Equal(backlog - 19, rows.Count(r => r.Kind == WebhookDeliveryHandler.Kind && r.Attempts == 0));
    }
}
