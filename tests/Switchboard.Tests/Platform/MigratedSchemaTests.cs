using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Switchboard.Platform.Database;
using Switchboard.Tenancy;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Platform;

/// <summary>
/// The hand-written migrations must build exactly the schema the EF model implies: one database is migrated,
/// another is made by EF's <c>EnsureCreated</c>, and their columns (type, nullability, default), indexes and
/// constraints are compared. Runs on both providers. The full-text search objects of migration 0007 (SQLite's
/// <c>calls_search*</c> and <c>calls_number*</c> FTS5 tables; PostgreSQL's generated columns <c>calls."SearchDocument"</c> and
/// <c>calls."CustomerDigits"</c> of 0016 with their GIN indexes) are not part of the EF model and are left out;
/// CallsReadSideTests and CallsSearchAtScaleTests cover them. So are PostgreSQL's analytics delta tables and their
/// <c>*_live</c> views (migration 0033: written by triggers, read in SQL), which AnalyticsRollupTests cover.
/// </summary>
[Trait("Category", "Database")]
public sealed class MigratedSchemaTests
{
    [Fact]
    public async Task MigratedSchemaMatchesTheModel()
    {
        using var migratedDb = new TestDatabase();
        using var modelDb = new TestDatabase();

        await using var migratedServices = await MigratedDatabase.CreateAsync(migratedDb);

        var modelOptions = new DbContextOptionsBuilder<SwitchboardDbContext>();
        if (TestDatabase.IsPostgres) { modelOptions.UseNpgsql(modelDb.ConnectionString); } else { modelOptions.UseSqlite(modelDb.ConnectionString); }
        await using (var ctx = new SwitchboardDbContext(modelOptions.Options).Rent(new CurrentTenant()))
        {
            await ctx.Database.EnsureCreatedAsync();
        }

        var migrated = await DescribeAsync(migratedDb);
        var model = await DescribeAsync(modelDb);
        var missing = model.Except(migrated).Order().ToList();
        var extra = migrated.Except(model).Order().ToList();
        Assert.True(missing.Count == 0 && extra.Count == 0,
            $"Schema drift.\nIn the model but not migrated:\n  {string.Join("\n  ", missing)}\nMigrated but not in the model:\n  {string.Join("\n  ", extra)}");
    }

    private static async Task<HashSet<string>> DescribeAsync(TestDatabase db)
    {
        var facts = new HashSet<string>(StringComparer.Ordinal);
        await using DbConnection conn = TestDatabase.IsPostgres
            ? new Npgsql.NpgsqlConnection(db.ConnectionString)
            : new Microsoft.Data.Sqlite.SqliteConnection(db.ConnectionString);
        await conn.OpenAsync();
        if (TestDatabase.IsPostgres)
        {
            await ReadAsync(conn, """
                SELECT table_name || '.' || column_name || ' ' || data_type || coalesce('(' || character_maximum_length || ')', '')
                       || ' null=' || is_nullable || ' default=' || coalesce(column_default, '')
                FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> '__switchboard_migrations'
                  AND NOT (table_name = 'calls' AND column_name IN ('SearchDocument', 'CustomerDigits'))
                  AND table_name NOT IN ('analytics_quarter_deltas', 'analytics_histogram_deltas', 'analytics_ended_reason_deltas',
                                         'analytics_quarters_live', 'analytics_histograms_live', 'analytics_ended_reasons_live')
                """, facts);
            await ReadAsync(conn, "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename <> '__switchboard_migrations' AND indexname NOT IN ('IX_calls_search', 'IX_calls_customer_digits')", facts);
            await ReadAsync(conn, """
                SELECT conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)
                FROM pg_constraint WHERE connamespace = 'public'::regnamespace AND conrelid::regclass::text <> '__switchboard_migrations'
                """, facts);
        }
        else
        {
            var tables = new HashSet<string>();
            await ReadAsync(conn, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '__switchboard_migrations'", tables);
            // FTS5 virtual tables (and their shadow tables <name>_data, _idx, …) exist only in migrations: EF cannot model them.
            var virtualTables = new HashSet<string>();
            await ReadAsync(conn, "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%'", virtualTables);
            tables.RemoveWhere(t => virtualTables.Any(v => t == v || t.StartsWith(v + "_", StringComparison.Ordinal)));
            foreach (var table in tables)
            {
                await ReadAsync(conn, $"SELECT '{table}.' || name || ' ' || type || ' notnull=' || \"notnull\" || ' default=' || coalesce(dflt_value, '') || ' pk=' || pk FROM pragma_table_info('{table}')", facts);
                await ReadAsync(conn, $"SELECT '{table} fk ' || \"from\" || '->' || \"table\" || '.' || \"to\" || ' ' || on_delete FROM pragma_foreign_key_list('{table}')", facts);
                var indexes = new HashSet<string>();
                await ReadAsync(conn, $"SELECT name || '|' || \"unique\" FROM pragma_index_list('{table}') WHERE origin = 'c'", indexes);
                foreach (var index in indexes)
                {
                    var name = index.Split('|')[0];
                    var columns = new HashSet<string>();
                    await ReadAsync(conn, $"SELECT group_concat(name, ',') FROM (SELECT name FROM pragma_index_info('{name}') ORDER BY seqno)", columns);
                    facts.Add($"{table} index {index} ({string.Join(",", columns)})");
                }
            }
        }
        return facts;
    }

    private static async Task ReadAsync(DbConnection conn, string sql, HashSet<string> into)
    {
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = sql;
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            if (!reader.IsDBNull(0))
            {
                into.Add(reader.GetString(0));
            }
        }
    }
}
