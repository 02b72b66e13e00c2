using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Calls;
using Switchboard.Platform.Database;
using Switchboard.Tenancy;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Platform;

/// <summary>
/// The write most Vapi messages make to their call, its last activity and version (<see cref="Call.UpdatedAt"/>,
/// <see cref="Call.Version"/>), changes no indexed column (migration 0031, issue 13): on PostgreSQL it is a heap-only (HOT)
/// update, with no new entry in the fifteen indexes of calls; a status change, which indexes do hold, is not.
/// </summary>
[Trait("Category", "Database")]
public sealed class CallTouchHotUpdateTests(SwitchboardFactory factory) : IClassFixture<SwitchboardFactory>
{
    [Fact]
    public async Task TouchingACallIsAHeapOnlyUpdateAndChangingItsStatusIsNot()
    {
        var tenant = await factory.CreateTenantAsync("HOT updates");
        var now = factory.Clock.GetUtcNow();
        var call = new Call
        {
            Id = Guid.CreateVersion7(), TenantId = tenant.Id, Channel = "voice", Direction = "inbound", Provider = "vapi",
            ProviderCallId = Guid.NewGuid().ToString(), Status = "in-progress", CreatedAt = now, UpdatedAt = now,
        };
        await factory.WithDbAsync(tenant.Id, async db =>
        {
            db.Calls.Add(call);
            return await db.SaveChangesAsync();
        });

        using var scope = factory.Scope();
        scope.ServiceProvider.GetRequiredService<CurrentTenant>().Set(tenant.Id);
        var db = scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>();
        if (!TestDatabase.IsPostgres)
        {
            // SQLite has no heap-only updates; what matters is the same: the live-calls index holds the tenant alone.
            var columns = await db.Database.SqlQueryRaw<string>("""SELECT name AS "Value" FROM pragma_index_info('IX_calls_live')""").ToListAsync();
            Assert.Equal(["TenantId"], columns);
            return;
        }
        await using var tx = await db.Database.BeginTransactionAsync();
        var stored = await db.Calls.SingleAsync(c => c.Id == call.Id);
        // PostgreSQL 15 reports a backend's counts not yet flushed to the statistics, earlier transactions' on this pooled
        // connection included: the updates are counted from here.
        var (updated, heapOnly) = await UpdatesAsync(db);
        stored.UpdatedAt = now.AddMinutes(1);
        stored.Version++;
        await db.SaveChangesAsync();
        // This transaction's own counts (postgresql.org/docs/current/monitoring-stats.html, pg_stat_xact_user_tables).
        Assert.Equal((updated + 1, heapOnly + 1), await UpdatesAsync(db));

        stored.Status = "ended";
        stored.Version++;
        await db.SaveChangesAsync();
        Assert.Equal((updated + 2, heapOnly + 1), await UpdatesAsync(db));
        await tx.RollbackAsync();
    }

    /// <summary>(rows updated, of which heap-only) in calls by the current transaction.</summary>
    private static async Task<(long Updated, long HeapOnly)> UpdatesAsync(SwitchboardDbContext db) =>
        (await db.Database.SqlQueryRaw<long>("""SELECT n_tup_upd AS "Value" FROM pg_stat_xact_user_tables WHERE relname = 'calls'""").SingleAsync(),
         await db.Database.SqlQueryRaw<long>("""SELECT n_tup_hot_upd AS "Value" FROM pg_stat_xact_user_tables WHERE relname = 'calls'""").SingleAsync());
}
