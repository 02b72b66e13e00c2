using Microsoft.EntityFrameworkCore;
using Switchboard.Alerts;
using Switchboard.Calls;
using Switchboard.Platform.Database;
using Switchboard.Tests.Support;
using Switchboard.Tests.Webhooks;

namespace Switchboard.Tests.Platform;

/// <summary>
/// <see cref="SwitchboardDbContext.SaveInOneRoundTripAsync"/> (issue 13): on PostgreSQL a save without EF's transaction, one
/// batch that PostgreSQL runs as one implicit transaction; still all or nothing. On SQLite it is EF's save as before.
/// </summary>
[Trait("Category", "Database")]
public sealed class OneRoundTripSaveTests(CountingWebhookFactory factory) : IClassFixture<CountingWebhookFactory>
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public async Task ASaveIsOneRoundTripWithoutACommitOnPostgres()
    {
        var tenant = await factory.CreateTenantAsync("One round trip");
        var events = Enumerable.Range(0, 3).Select(i => Event(tenant.Id, $"one-trip-{i}")).ToList();

        using (var sql = StatementCounter.Record())
        {
            await factory.WithDbAsync(tenant.Id, async db =>
            {
                db.CallEvents.AddRange(events);
                db.SmsMessages.Add(Sms(tenant.Id, Guid.CreateVersion7(), "one-trip-sms"));
                return await db.SaveInOneRoundTripAsync(acceptAllChangesOnSuccess: true, None);
            });
            if (TestDatabase.IsPostgres)
            {
                Assert.True(sql.Commands.Count == 1 && sql.Commits == 0, sql.ToString());
            }
        }
        Assert.Equal(3, await factory.WithDbAsync(tenant.Id, db => db.CallEvents.CountAsync(e => e.IdempotencyKey.StartsWith("one-trip-"))));
        Assert.Equal(1, await factory.WithDbAsync(tenant.Id, db => db.SmsMessages.CountAsync(s => s.IdempotencyKey == "one-trip-sms")));
    }

    [Fact]
    public async Task AStatementThatFailsLateInTheBatchUndoesTheStatementsBeforeIt()
    {
        var tenant = await factory.CreateTenantAsync("All or nothing");
        var taken = Guid.CreateVersion7();
        await factory.WithDbAsync(tenant.Id, async db =>
        {
            db.SmsMessages.Add(Sms(tenant.Id, taken, "taken"));
            return await db.SaveChangesAsync();
        });

        using (var sql = StatementCounter.Record())
        {
            await Assert.ThrowsAnyAsync<DbUpdateException>(() => factory.WithDbAsync(tenant.Id, async db =>
            {
                db.CallEvents.Add(Event(tenant.Id, "undone"));
                db.SmsMessages.Add(Sms(tenant.Id, taken, "duplicate id")); // the primary key is taken: this INSERT fails
                return await db.SaveInOneRoundTripAsync(acceptAllChangesOnSuccess: true, None);
            }));
            if (TestDatabase.IsPostgres)
            {
                // The event's INSERT ran first, in the same batch, with no transaction but PostgreSQL's implicit one.
                var batch = Assert.Single(sql.Commands);
                Assert.True(batch.IndexOf("INSERT INTO call_events", StringComparison.Ordinal) is >= 0 and var e
                            && e < batch.IndexOf("INSERT INTO sms_messages", StringComparison.Ordinal), batch);
                Assert.Equal(0, sql.Commits);
            }
        }
        Assert.Equal(0, await factory.WithDbAsync(tenant.Id, db => db.CallEvents.CountAsync(e => e.IdempotencyKey == "undone")));
    }

    [Fact]
    public async Task DeferredWritesSaveInATransactionOfTheirOwn()
    {
        var tenant = await factory.CreateTenantAsync("Deferred");
        var doomed = Event(tenant.Id, "deferred-doomed");
        await factory.WithDbAsync(tenant.Id, async db =>
        {
            db.CallEvents.Add(doomed);
            return await db.SaveChangesAsync();
        });

        using (var sql = StatementCounter.Record())
        {
            await factory.WithDbAsync(tenant.Id, async db =>
            {
                db.DeferWrite(token => db.CallEvents.Where(e => e.Id == doomed.Id).ExecuteDeleteAsync(token));
                db.CallEvents.Add(Event(tenant.Id, "deferred-kept"));
                db.SmsMessages.Add(Sms(tenant.Id, Guid.CreateVersion7(), "deferred-sms"));
                return await db.SaveInOneRoundTripAsync(acceptAllChangesOnSuccess: true, None);
            });
            if (TestDatabase.IsPostgres)
            {
                Assert.True(sql.Commands.Count == 2 && sql.Commits == 1, sql.ToString()); // the DELETE and the batch, in one transaction
            }
        }
        var keys = await factory.WithDbAsync(tenant.Id, db => db.CallEvents.Where(e => e.IdempotencyKey.StartsWith("deferred-")).Select(e => e.IdempotencyKey).ToListAsync());
        Assert.Equal(["deferred-kept"], keys);
    }

    private static CallEvent Event(Guid tenantId, string key) => new()
    {
        Id = Guid.CreateVersion7(),
        TenantId = tenantId,
        Provider = "vapi",
        Type = "status-update",
        IdempotencyKey = key,
        PayloadJson = "{}",
        ReceivedAt = DateTimeOffset.UtcNow,
    };

    private static SmsMessage Sms(Guid tenantId, Guid id, string key) => new()
    {
        Id = id,
        TenantId = tenantId,
        Direction = "outbound",
        Purpose = "test",
        To = "+15145550100",
        Body = "Test",
        Status = "queued",
        IdempotencyKey = key,
        CreatedAt = DateTimeOffset.UtcNow,
    };
}
