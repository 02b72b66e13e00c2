using Microsoft.EntityFrameworkCore;
using Switchboard.Outbound;
using Switchboard.Platform.Database;
using Switchboard.Tenancy;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Platform;

/// <summary>
/// Migration 0039 (a Vapi transfer stored once per call and number) on a database that already holds duplicates: it keeps
/// the first recorded of each, leaves native transfers alone, and afterwards the database refuses a second row. Both providers.
/// </summary>
[Trait("Category", "Database")]
public sealed class VapiTransferOnceMigrationTests
{
    private const string MigrationId = "0039_vapi_transfer_once";

    [Fact]
    public async Task MigrationKeepsTheFirstOfDuplicateVapiTransfersAndEveryNativeOne()
    {
        using var database = new TestDatabase();
        await using var migrated = await MigratedDatabase.CreateAsync(database);
        var migrator = migrated.Migrator;

        // Back to the schema before 0039, holding what the read-then-insert let through: one Vapi transfer stored three
        // times (the first two at the same instant), another call's single one, and a native call's two attempts.
        await ExecAsync(database, $"""DROP INDEX "{CallTransfer.VapiTransferIndex}"; DELETE FROM __switchboard_migrations WHERE id = '{MigrationId}';""");
        var tenant = Guid.CreateVersion7();
        var (call, otherCall, nativeCall) = (Guid.CreateVersion7(), Guid.CreateVersion7(), Guid.CreateVersion7());
        var t0 = new DateTimeOffset(2026, 11, 18, 15, 0, 0, TimeSpan.Zero);
        // Of two rows recorded at the same instant the lower id is kept (uuid order on PostgreSQL, the same as the upper-case
        // text order of SQLite's stored ids).
        var twins = new[] { Transfer(tenant, call, "vapi", "+15145550142", t0), Transfer(tenant, call, "vapi", "+15145550142", t0) };
        var first = twins.MinBy(t => t.Id.ToString().ToUpperInvariant(), StringComparer.Ordinal)!;
        var rows = new[]
        {
            Transfer(tenant, call, "vapi", "+15145550142", t0.AddSeconds(1)),
            twins[0],
            twins[1],
            Transfer(tenant, call, "vapi", "+15145550100", t0.AddSeconds(2)),
            Transfer(tenant, otherCall, "vapi", "+15145550142", t0),
            Transfer(tenant, nativeCall, "twilio", "+15145550142", t0),
            Transfer(tenant, nativeCall, "twilio", "+15145550142", t0.AddSeconds(30)),
        };
        await SaveAsync(database, db =>
        {
            db.Tenants.Add(new Tenant { Id = tenant, Name = "Drain Fortin", TimeZone = "America/Toronto", Locale = "fr-CA", VapiWebhookSecretProtected = "x", CreatedAt = t0 });
            db.CallTransfers.AddRange(rows);
        });

        Assert.Equal([MigrationId], await migrator.MigrateAsync(CancellationToken.None));

        var kept = await QueryAsync(database, db => db.CallTransfers.IgnoreQueryFilters().Select(t => t.Id).ToListAsync());
        Assert.Equal(rows.Where(r => r.CallId != call || r.Number != "+15145550142").Select(r => r.Id).Append(first.Id).Order(), kept.Order());
        // A second Vapi row for a call and number is refused by the database now; a native one is not.
        await Assert.ThrowsAsync<DbUpdateException>(() => SaveAsync(database, db => db.CallTransfers.Add(Transfer(tenant, otherCall, "vapi", "+15145550142", t0.AddMinutes(1)))));
        await SaveAsync(database, db => db.CallTransfers.Add(Transfer(tenant, nativeCall, "twilio", "+15145550142", t0.AddMinutes(1))));
        Assert.Equal(3, await QueryAsync(database, db => db.CallTransfers.IgnoreQueryFilters().CountAsync(t => t.CallId == nativeCall)));
    }

    private static CallTransfer Transfer(Guid tenantId, Guid callId, string provider, string number, DateTimeOffset at) => new()
    {
        Id = Guid.CreateVersion7(),
        TenantId = tenantId,
        CallId = callId,
        Provider = provider,
        Number = number,
        Mode = "cold",
        Outcome = TransferOutcomes.Transferred,
        CreatedAt = at,
        ConnectedAt = at,
        EndedAt = at,
    };

    private static SwitchboardDbContext Open(TestDatabase database)
    {
        var options = new DbContextOptionsBuilder<SwitchboardDbContext>();
        if (TestDatabase.IsPostgres) { options.UseNpgsql(database.ConnectionString); } else { options.UseSqlite(database.ConnectionString); }
        return new SwitchboardDbContext(options.Options).Rent(new CurrentTenant());
    }

    private static async Task SaveAsync(TestDatabase database, Action<SwitchboardDbContext> stage)
    {
        await using var db = Open(database);
        stage(db);
        await db.SaveChangesAsync();
    }

    private static async Task<T> QueryAsync<T>(TestDatabase database, Func<SwitchboardDbContext, Task<T>> query)
    {
        await using var db = Open(database);
        return await query(db);
    }

    private static async Task ExecAsync(TestDatabase database, string sql)
    {
        await using var db = Open(database);
        await db.Database.ExecuteSqlRawAsync(sql);
    }
}
