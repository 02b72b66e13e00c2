using System.Collections.Concurrent;
using System.Data;
using Microsoft.Data.Sqlite;

namespace Switchboard.Platform.Database;

/// <summary>
/// Open SQLite connections lent to pooled contexts for the length of a scope (issue 13), so that their statements stay
/// prepared (<see cref="SqliteStatementCache"/>) from one request to the next. A context takes one when it is rented
/// (<see cref="SwitchboardDbContext.Rent"/>) and gives it back when its scope ends; EF Core never opens or closes a
/// connection it was given open. At most <see cref="MaxIdle"/> wait between scopes; a connection given back closed or
/// inside a transaction is disposed (the transaction rolled back), never lent again. Only for a database file (an in-memory database lives and dies with
/// its connections), never for PostgreSQL (Npgsql prepares statements itself).
/// </summary>
internal sealed class SqliteSessionPool(DatabaseExtensions.EffectiveConnection connection, SqliteCheckpointer checkpointer)
{
    /// <summary>Connections kept open between scopes; more are closed when given back.</summary>
    internal const int MaxIdle = 24;

    private readonly ConcurrentBag<SqliteConnection> idle = [];
    private int idleCount;

    /// <summary>True when contexts get lent connections: SQLite on a file.</summary>
    public bool Enabled { get; } = !connection.IsPostgres && IsFile(connection.Value);

    /// <summary>Connections waiting to be lent (tests and diagnostics).</summary>
    internal int IdleCount => Volatile.Read(ref idleCount);

    /// <summary>An open connection with a statement cache: one given back earlier, or a new one.</summary>
    public SqliteConnection Take()
    {
        while (idle.TryTake(out var kept))
        {
            Interlocked.Decrement(ref idleCount);
            if (kept.State == ConnectionState.Open)
            {
                return kept;
            }
            kept.Dispose();
        }
        var opened = new SqliteConnection(connection.Value);
        try
        {
            opened.Open();
            if (checkpointer.Enabled)
            {
                SqliteCheckpointer.DisableAutoCheckpoint(opened); // as SqliteCheckpointer.Interceptor does for EF's own opens
            }
        }
        catch
        {
            opened.Dispose();
            throw;
        }
        SqliteStatementCache.Attach(opened);
        return opened;
    }

    /// <summary>Takes <paramref name="lent"/> back: kept open for the next scope if it is idle and outside a transaction, else disposed.</summary>
    public void Return(SqliteConnection lent)
    {
        var reusable = lent.State == ConnectionState.Open && lent.Handle is { } handle && SQLitePCL.raw.sqlite3_get_autocommit(handle) != 0;
        if (reusable && Interlocked.Increment(ref idleCount) <= MaxIdle)
        {
            idle.Add(lent);
            return;
        }
        if (reusable)
        {
            Interlocked.Decrement(ref idleCount); // over the limit
        }
        else if (lent.State == ConnectionState.Open)
        {
            RollBack(lent); // Microsoft.Data.Sqlite's own pool would hand the open transaction to its next user
        }
        lent.Dispose();
    }

    private static void RollBack(SqliteConnection inTransaction)
    {
        try
        {
            using var rollback = inTransaction.CreateCommand();
            rollback.CommandText = "ROLLBACK";
            rollback.ExecuteNonQuery();
        }
        catch (SqliteException)
        {
            SqliteConnection.ClearPool(inTransaction); // its handle is not pooled again
        }
    }

    private static bool IsFile(string connectionString)
    {
        var builder = new SqliteConnectionStringBuilder(connectionString);
        return builder.Mode != SqliteOpenMode.Memory && !string.IsNullOrEmpty(builder.DataSource) && builder.DataSource != ":memory:";
    }
}
