using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Platform.Database;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Platform;

/// <summary>
/// The hand-written migrations must produce exactly the schema the EF model expects, on each provider:
/// same tables, columns, nullability, column types (PostgreSQL) and indexes (name, columns, uniqueness).
/// </summary>
[Trait("Category", "Database")]
public sealed class SchemaTests(SwitchboardFactory factory) : IClassFixture<SwitchboardFactory>
{
    [Fact]
    public async Task MigratedSchemaMatchesTheEfModel()
    {
        using var scope = factory.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>();
        var pg = db.Database.IsNpgsql();
        var conn = db.Database.GetDbConnection();
        await db.Database.OpenConnectionAsync();

        var model = db.GetService<Microsoft.EntityFrameworkCore.Metadata.IDesignTimeModel>().Model;
        var expectedTables = model.GetEntityTypes().Select(e => e.GetTableName()!).ToHashSet();
        var actualTables = (await Query(conn, pg
                ? "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
                : "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"))
            .Select(r => r[0]).Where(t => t != "__switchboard_migrations").ToHashSet();
        Assert.Equal(expectedTables.Order(), actualTables.Order());

        var problems = new List<string>();
        foreach (var entity in model.GetEntityTypes())
        {
            var table = entity.GetTableName()!;
            var store = StoreObjectIdentifier.Table(table);
            var columns = await Columns(conn, pg, table);
            foreach (var property in entity.GetProperties())
            {
                var name = property.GetColumnName(store)!;
                if (!columns.TryGetValue(name, out var actual))
                {
                    problems.Add($"{table}.{name} is missing");
                    continue;
                }
                if (actual.Nullable != property.IsColumnNullable(store))
                {
                    problems.Add($"{table}.{name} nullable={actual.Nullable}, model says {property.IsColumnNullable(store)}");
                }
                var expectedType = property.GetColumnType(store).ToLowerInvariant();
                if (!string.Equals(actual.Type, expectedType, StringComparison.OrdinalIgnoreCase))
                {
                    problems.Add($"{table}.{name} type {actual.Type}, model says {expectedType}");
                }
            }
            foreach (var extra in columns.Keys.Except(entity.GetProperties().Select(p => p.GetColumnName(store)!)))
            {
                problems.Add($"{table}.{extra} is not in the model");
            }
            var indexes = await Indexes(conn, pg, table);
            foreach (var index in entity.GetIndexes())
            {
                var name = index.GetDatabaseName(store)!;
                var cols = string.Join(",", index.Properties.Select(p => p.GetColumnName(store)));
                if (!indexes.TryGetValue(name, out var actual))
                {
                    problems.Add($"index {name} on {table}({cols}) is missing");
                }
                else if (actual != (cols, index.IsUnique))
                {
                    problems.Add($"index {name} is {actual}, model says ({cols}, unique={index.IsUnique})");
                }
            }
        }
        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }

    private static async Task<Dictionary<string, (bool Nullable, string Type)>> Columns(DbConnection conn, bool pg, string table)
    {
        var result = new Dictionary<string, (bool, string)>();
        if (pg)
        {
            foreach (var r in await Query(conn, $"""
                SELECT column_name, is_nullable, data_type, character_maximum_length, numeric_precision, numeric_scale
                FROM information_schema.columns WHERE table_schema = 'public' AND table_name = '{table}'
                """))
            {
                var type = r[2] switch
                {
                    "character varying" when r[3] is { Length: > 0 } len => $"character varying({len})",
                    "numeric" when r[4] is { Length: > 0 } p => $"numeric({p},{r[5]})",
                    _ => r[2],
                };
                result[r[0]] = (r[1] == "YES", type);
            }
        }
        else
        {
            foreach (var r in await Query(conn, $"SELECT name, \"notnull\", type, pk FROM pragma_table_info('{table}')"))
            {
                result[r[0]] = (r[1] == "0" && r[3] == "0", r[2]);
            }
        }
        return result;
    }

    private static async Task<Dictionary<string, (string Columns, bool Unique)>> Indexes(DbConnection conn, bool pg, string table)
    {
        var result = new Dictionary<string, (string, bool)>();
        var sql = pg
            ? $"""
              SELECT i.relname, string_agg(a.attname, ',' ORDER BY k.ord), ix.indisunique
              FROM pg_index ix JOIN pg_class t ON t.oid = ix.indrelid JOIN pg_class i ON i.oid = ix.indexrelid
              CROSS JOIN LATERAL unnest(ix.indkey) WITH ORDINALITY AS k(attnum, ord)
              JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
              WHERE t.relname = '{table}' AND NOT ix.indisprimary GROUP BY i.relname, ix.indisunique
              """
            : $"""
              SELECT il.name, (SELECT group_concat(name, ',') FROM (SELECT name FROM pragma_index_info(il.name) ORDER BY seqno)), il."unique"
              FROM pragma_index_list('{table}') il WHERE il.origin = 'c'
              """;
        foreach (var r in await Query(conn, sql))
        {
            result[r[0]] = (r[1], r[2] is "1" or "True" or "true");
        }
        return result;
    }

    private static async Task<List<string[]>> Query(DbConnection conn, string sql)
    {
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = sql;
        await using var reader = await cmd.ExecuteReaderAsync();
        var rows = new List<string[]>();
        while (await reader.ReadAsync())
        {
            var row = new string[reader.FieldCount];
            for (var i = 0; i < row.Length; i++)
            {
                row[i] = reader.IsDBNull(i) ? "" : Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture)!;
            }
            rows.Add(row);
        }
        return rows;
    }
}
