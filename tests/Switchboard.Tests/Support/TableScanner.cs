using System.Data.Common;
using Microsoft.EntityFrameworkCore;

namespace Switchboard.Tests.Support;

/// <summary>Scans every table and every column of the real database (whatever feature created it) for a string.</summary>
internal static class TableScanner
{
    /// <summary>Returns <c>table.column → rows containing <paramref name="needle"/></c> for every column with a match.</summary>
    public static async Task<Dictionary<string, int>> FindAsync(SwitchboardFactory factory, string needle)
    {
        var hits = new Dictionary<string, int>();
        await factory.WithDbAsync(null, async db =>
        {
            var conn = db.Database.GetDbConnection();
            await db.Database.OpenConnectionAsync();
            try
            {
                foreach (var (table, column) in await ColumnsAsync(conn))
                {
                    await using var cmd = conn.CreateCommand();
                    cmd.CommandText = TestDatabase.IsPostgres
                        ? $"SELECT count(*) FROM \"{table}\" WHERE CAST(\"{column}\" AS text) LIKE @p"
                        : $"SELECT count(*) FROM \"{table}\" WHERE CAST(\"{column}\" AS TEXT) LIKE @p";
                    var p = cmd.CreateParameter();
                    p.ParameterName = "@p";
                    p.Value = "%" + needle + "%";
                    cmd.Parameters.Add(p);
                    var n = Convert.ToInt32(await cmd.ExecuteScalarAsync());
                    if (n > 0)
                    {
                        hits[$"{table}.{column}"] = n;
                    }
                }
            }
            finally
            {
                await db.Database.CloseConnectionAsync();
            }
            return 0;
        });
        return hits;
    }

    /// <summary>Rows per table whose <c>TenantId</c> column equals <paramref name="tenantId"/>.</summary>
    public static async Task<Dictionary<string, int>> RowsOfTenantAsync(SwitchboardFactory factory, Guid tenantId)
    {
        var hits = new Dictionary<string, int>();
        await factory.WithDbAsync(null, async db =>
        {
            var conn = db.Database.GetDbConnection();
            await db.Database.OpenConnectionAsync();
            try
            {
                foreach (var (table, column) in (await ColumnsAsync(conn)).Where(c => c.Column is "TenantId" || (c.Table == "tenants" && c.Column == "Id")))
                {
                    await using var cmd = conn.CreateCommand();
                    cmd.CommandText = $"SELECT count(*) FROM \"{table}\" WHERE CAST(\"{column}\" AS {(TestDatabase.IsPostgres ? "text" : "TEXT")}) IN (@a, @b)";
                    foreach (var (name, value) in new[] { ("@a", tenantId.ToString()), ("@b", tenantId.ToString().ToUpperInvariant()) })
                    {
                        var p = cmd.CreateParameter();
                        p.ParameterName = name;
                        p.Value = value;
                        cmd.Parameters.Add(p);
                    }
                    var n = Convert.ToInt32(await cmd.ExecuteScalarAsync());
                    if (n > 0)
                    {
                        hits[table] = n;
                    }
                }
            }
            finally
            {
                await db.Database.CloseConnectionAsync();
            }
            return 0;
        });
        return hits;
    }

    private static async Task<List<(string Table, string Column)>> ColumnsAsync(DbConnection conn)
    {
        var columns = new List<(string, string)>();
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = TestDatabase.IsPostgres
            ? "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'"
            : "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'";
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            columns.Add((reader.GetString(0), reader.GetString(1)));
        }
        return columns;
    }
}
