using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Switchboard.Numbers;
using Switchboard.Platform.Database;
using Switchboard.Tenancy;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Platform;

/// <summary>
/// Migration 0035 (number claims) on a database that already holds numbers: it keeps them, and afterwards a number is
/// unique across tenants only among active rows, while a tenant still attaches a number once. Runs on both providers.
/// </summary>
[Trait("Category", "Database")]
public sealed class NumberClaimsMigrationTests
{
    private const string MigrationId = "0035_number_claims";

    [Fact]
    public async Task MigrationKeepsStoredNumbersAndLetsUnverifiedClaimsOfDifferentTenantsCoexist()
    {
        using var database = new TestDatabase();
        await using var migrated = await MigratedDatabase.CreateAsync(database);
        var migrator = migrated.Migrator;

        // Back to the schema before 0035 (one installation-wide unique index on "Number"), holding numbers of two tenants.
        await ExecAsync(database, """
            DROP INDEX "IX_phone_numbers_TenantId_Number";
            DROP INDEX "IX_phone_numbers_Number_active";
            CREATE UNIQUE INDEX "IX_phone_numbers_Number" ON phone_numbers ("Number");
            DELETE FROM __switchboard_migrations WHERE id = '0035_number_claims';
            """);
        var (a, b, c) = (Guid.CreateVersion7(), Guid.CreateVersion7(), Guid.CreateVersion7());
        await SaveAsync(database, db =>
        {
            foreach (var id in new[] { a, b, c })
            {
                db.Tenants.Add(new Tenant { Id = id, Name = "T" + id.ToString("N")[..6], TimeZone = "America/Toronto", Locale = "fr-CA", VapiWebhookSecretProtected = "x", CreatedAt = DateTimeOffset.UtcNow });
            }
            db.PhoneNumbers.Add(Number(a, "+15145550401", "active"));
            db.PhoneNumbers.Add(Number(b, "+15145550402", "waiting-for-credentials"));
        });

        Assert.Equal([MigrationId], await migrator.MigrateAsync(CancellationToken.None));
        Assert.Equal(2, await CountAsync(database, "SELECT COUNT(*) FROM phone_numbers"));

        // Claims of other tenants on A's active number and on B's unverified one are stored.
        await SaveAsync(database, db =>
        {
            db.PhoneNumbers.Add(Number(b, "+15145550401", "waiting-for-credentials"));
            db.PhoneNumbers.Add(Number(c, "+15145550401", "pending"));
            db.PhoneNumbers.Add(Number(c, "+15145550402", "failed"));
        });
        Assert.Equal(3, await CountAsync(database, "SELECT COUNT(*) FROM phone_numbers WHERE \"Number\" = '+15145550401'"));

        // A second active holder of a number, or a tenant's second row for its own number, is refused by the database.
        await Assert.ThrowsAnyAsync<DbException>(() => ExecAsync(database,
            "UPDATE phone_numbers SET \"Status\" = 'active' WHERE \"TenantId\" = " + Literal(database, c) + " AND \"Number\" = '+15145550401'"));
        await Assert.ThrowsAsync<DbUpdateException>(() => SaveAsync(database, db => db.PhoneNumbers.Add(Number(b, "+15145550402", "pending"))));
        // B's unverified number can still become active for exactly one tenant.
        await ExecAsync(database, "UPDATE phone_numbers SET \"Status\" = 'active' WHERE \"TenantId\" = " + Literal(database, b) + " AND \"Number\" = '+15145550402'");
        Assert.Equal(1, await CountAsync(database, "SELECT COUNT(*) FROM phone_numbers WHERE \"Number\" = '+15145550402' AND \"Status\" = 'active'"));
    }

    private static PhoneNumber Number(Guid tenantId, string e164, string status) => new()
    {
        Id = Guid.CreateVersion7(),
        TenantId = tenantId,
        Number = e164,
        Mode = "twilio",
        Status = status,
        CreatedAt = DateTimeOffset.UtcNow,
        UpdatedAt = DateTimeOffset.UtcNow,
    };

    /// <summary>How a Guid is stored: uuid on PostgreSQL, upper-case text on SQLite (EF's default for Microsoft.Data.Sqlite).</summary>
    private static string Literal(TestDatabase database, Guid id) => database.Provider == "postgres" ? $"'{id}'" : $"'{id.ToString().ToUpperInvariant()}'";

    private static async Task SaveAsync(TestDatabase database, Action<SwitchboardDbContext> stage)
    {
        var options = new DbContextOptionsBuilder<SwitchboardDbContext>();
        if (TestDatabase.IsPostgres) { options.UseNpgsql(database.ConnectionString); } else { options.UseSqlite(database.ConnectionString); }
        await using var db = new SwitchboardDbContext(options.Options).Rent(new CurrentTenant());
        stage(db);
        await db.SaveChangesAsync();
    }

    private static async Task ExecAsync(TestDatabase database, string sql)
    {
        await using var conn = Open(database);
        await conn.OpenAsync();
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = sql;
        await cmd.ExecuteNonQueryAsync();
    }

    private static async Task<long> CountAsync(TestDatabase database, string sql)
    {
        await using var conn = Open(database);
        await conn.OpenAsync();
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = sql;
        return Convert.ToInt64(await cmd.ExecuteScalarAsync());
    }

    private static DbConnection Open(TestDatabase database) => TestDatabase.IsPostgres
        ? new Npgsql.NpgsqlConnection(database.ConnectionString)
        : new Microsoft.Data.Sqlite.SqliteConnection(database.ConnectionString);
}
