using Npgsql;

namespace Switchboard.Tests.Support;

/// <summary>
/// A fresh, real database per test class: a temporary SQLite file, or a new PostgreSQL database on the
/// server named by <c>SWITCHBOARD_TEST_POSTGRES</c> when <c>SWITCHBOARD_TEST_DB=postgres</c> (./test.sh sets both).
/// </summary>
internal sealed class TestDatabase : IDisposable
{
    public static bool IsPostgres => string.Equals(Environment.GetEnvironmentVariable("SWITCHBOARD_TEST_DB"), "postgres", StringComparison.OrdinalIgnoreCase);

    public string Provider { get; }
    public string ConnectionString { get; }
    private readonly string? sqlitePath;
    private readonly string? pgName;
    private readonly string? pgAdmin;

    public TestDatabase()
    {
        if (IsPostgres)
        {
            pgAdmin = Environment.GetEnvironmentVariable("SWITCHBOARD_TEST_POSTGRES")
                ?? throw new InvalidOperationException("SWITCHBOARD_TEST_DB=postgres needs SWITCHBOARD_TEST_POSTGRES (a connection string to a server where databases can be created).");
            pgName = "sbtest_" + Guid.NewGuid().ToString("N")[..16];
            using (var conn = new NpgsqlConnection(pgAdmin))
            {
                conn.Open();
                using var cmd = new NpgsqlCommand($"CREATE DATABASE {pgName}", conn);
                cmd.ExecuteNonQuery();
            }
            ConnectionString = new NpgsqlConnectionStringBuilder(pgAdmin) { Database = pgName, MaxPoolSize = 50 }.ConnectionString;
            Provider = "postgres";
        }
        else
        {
            sqlitePath = Path.Combine(Path.GetTempPath(), "switchboard-test-" + Guid.NewGuid().ToString("N") + ".db");
            ConnectionString = $"Data Source={sqlitePath}";
            Provider = "sqlite";
        }
    }

    public void Dispose()
    {
        if (sqlitePath is not null)
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            foreach (var suffix in new[] { "", "-wal", "-shm" })
            {
                try { File.Delete(sqlitePath + suffix); } catch (IOException) { }
            }
        }
        if (pgName is not null && pgAdmin is not null)
        {
            NpgsqlConnection.ClearAllPools();
            using var conn = new NpgsqlConnection(pgAdmin);
            conn.Open();
            using var cmd = new NpgsqlCommand($"DROP DATABASE IF EXISTS {pgName} WITH (FORCE)", conn);
            cmd.ExecuteNonQuery();
        }
    }
}
