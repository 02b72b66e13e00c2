using System.Data.Common;
using System.Reflection;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Switchboard.Platform.Database;

/// <summary>
/// Applies the hand-written SQL migrations embedded under <c>Platform/Database/Migrations/{sqlite|postgres}/NNNN_name.sql</c>,
/// in order, each in its own transaction, recording them in <c>__switchboard_migrations</c>. On PostgreSQL an
/// advisory lock serialises nodes that start together. (The EF design-time package is not available here, so
/// migrations are SQL written by hand; a test checks each provider's migrated schema against the EF model.)
/// </summary>
internal sealed class Migrator(IServiceScopeFactory scopes, IOptions<DatabaseOptions> options, ILogger<Migrator> logger)
{
    private const long AdvisoryLockKey = 0x5357_4254_4348; // "SWBTCH"

    /// <summary>The migration ids shipped for the configured provider, in order.</summary>
    public IReadOnlyList<(string Id, string Sql)> Available()
    {
        var folder = options.Value.IsPostgres ? "postgres" : "sqlite";
        var assembly = Assembly.GetExecutingAssembly();
        var prefix = $"Switchboard.Platform.Database.Migrations.{folder}.";
        return assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(prefix, StringComparison.Ordinal) && n.EndsWith(".sql", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(n =>
            {
                using var stream = assembly.GetManifestResourceStream(n)!;
                using var reader = new StreamReader(stream);
                return (n[prefix.Length..^4], reader.ReadToEnd());
            })
            .ToList();
    }

    /// <summary>Ids of migrations not yet applied. Throws when the database is unreachable.</summary>
    public async Task<IReadOnlyList<string>> PendingAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>();
        var conn = db.Database.GetDbConnection();
        await db.Database.OpenConnectionAsync(ct);
        try
        {
            var applied = await AppliedAsync(conn, ct);
            return Available().Select(m => m.Id).Where(id => !applied.Contains(id)).ToList();
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    /// <summary>Applies every pending migration; returns the ids applied.</summary>
    public async Task<IReadOnlyList<string>> MigrateAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>();
        var conn = db.Database.GetDbConnection();
        await db.Database.OpenConnectionAsync(ct);
        var done = new List<string>();
        try
        {
            if (options.Value.IsPostgres)
            {
                await ExecAsync(conn, null, $"SELECT pg_advisory_lock({AdvisoryLockKey})", ct);
            }
            else
            {
                // Write-ahead logging (persistent in the file): API readers never block webhook writers, and the
                // reverse. Writers are serialised by BEGIN IMMEDIATE transactions and the busy timeout
                // (webhook deliveries queue before that in SqliteWriteGate).
                await ExecAsync(conn, null, "PRAGMA journal_mode=WAL", ct);
            }
            await ExecAsync(conn, null,
                "CREATE TABLE IF NOT EXISTS __switchboard_migrations (id VARCHAR(200) NOT NULL PRIMARY KEY, applied_at VARCHAR(40) NOT NULL)", ct);
            var applied = await AppliedAsync(conn, ct);
            foreach (var (id, sql) in Available())
            {
                if (applied.Contains(id))
                {
                    continue;
                }
                await using var tx = await conn.BeginTransactionAsync(ct);
                await ExecAsync(conn, tx, sql, ct);
                await using (var insert = conn.CreateCommand())
                {
                    insert.Transaction = tx;
                    insert.CommandText = "INSERT INTO __switchboard_migrations (id, applied_at) VALUES (@id, @at)";
                    AddParam(insert, "@id", id);
                    AddParam(insert, "@at", DateTimeOffset.UtcNow.ToString("O"));
                    await insert.ExecuteNonQueryAsync(ct);
                }
                await tx.CommitAsync(ct);
                logger.LogInformation("Applied migration {MigrationId}", id);
                done.Add(id);
            }
        }
        finally
        {
            if (options.Value.IsPostgres)
            {
                await ExecAsync(conn, null, $"SELECT pg_advisory_unlock({AdvisoryLockKey})", CancellationToken.None);
            }
            await db.Database.CloseConnectionAsync();
        }
        return done;
    }

    private static async Task<HashSet<string>> AppliedAsync(DbConnection conn, CancellationToken ct)
    {
        var result = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            await using var cmd = conn.CreateCommand();
            cmd.CommandText = "SELECT id FROM __switchboard_migrations";
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                result.Add(reader.GetString(0));
            }
        }
        catch (DbException)
        {
            // No migrations table yet: nothing applied.
        }
        return result;
    }

    private static async Task ExecAsync(DbConnection conn, DbTransaction? tx, string sql, CancellationToken ct)
    {
        await using var cmd = conn.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        await cmd.ExecuteNonQueryAsync(ct);
    }

    private static void AddParam(DbCommand cmd, string name, object value)
    {
        var p = cmd.CreateParameter();
        p.ParameterName = name;
        p.Value = value;
        cmd.Parameters.Add(p);
    }
}
