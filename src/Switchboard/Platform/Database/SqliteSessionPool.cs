using System.Collections.Concurrent;
using System.Data;
using Microsoft.Data.Sqlite;

namespace Switchboard.Platform.Database;

/// <summary>
/// Open SQLite connections lent to pooled contexts for the length of a scope (issue 13), so that their statements stay
/// prepared (<see cref="SqliteStatementCache"/>) from one request to the next. A context takes one when it is rented
/// (<see cref="SwitchboardDbContext.Rent"/>) and gives it back when its scope ends; EF Core never opens or closes a
/// connection it was given open. At most <see cref="MaxIdle"/> wait between scopes; a connection given back closed or
/// inside a transaction is disposed (its native handle closed, which rolls the transaction back), never lent again. Only for a database file (an in-memory database lives and dies with
/// its connections), never for PostgreSQL (Npgsql prepares statements itself).
/// At most <see cref="MaxLent"/> are out at once: a scope can last as long as its request, and a media stream's or a live
/// event stream's request lasts the whole call or session. Each open connection keeps its own page cache and prepared
/// statements (0.5–1 MB once warm), which at 400 live calls was 1.25 MB of RSS per call; past the limit a context uses
/// EF Core's own connection, opened and closed around each operation from Microsoft.Data.Sqlite's pool, as without this pool.
/// </summary>
internal sealed class SqliteSessionPool(DatabaseExtensions.EffectiveConnection connection, SqliteCheckpointer checkpointer)
{
    /// <summary>Connections kept open between scopes; more are closed when given back.</summary>
    internal const int MaxIdle = 24;

    /// <summary>Connections lent out at once; <see cref="TryTake"/> lends none past it.</summary>
    internal const int MaxLent = 48;

    private readonly ConcurrentBag<SqliteConnection> idle = [];
    private readonly string unpooled = connection.IsPostgres ? "" : Unpooled(connection.Value);
    private int idleCount;
    private int lentCount;

    /// <summary>True when contexts get lent connections: SQLite on a file.</summary>
    public bool Enabled { get; } = !connection.IsPostgres && IsFile(connection.Value);

    /// <summary>Connections waiting to be lent (tests and diagnostics).</summary>
    internal int IdleCount => Volatile.Read(ref idleCount);

    /// <summary>Connections lent out now (tests and diagnostics).</summary>
    internal int LentCount => Volatile.Read(ref lentCount);

    /// <summary>The connection string a context uses when it gets no lent connection.</summary>
    public string ConnectionString => connection.Value;

    /// <summary>
    /// An open connection with a statement cache (one given back earlier, or a new one), to be given back with
    /// <see cref="Return"/>; null when <see cref="MaxLent"/> are already out.
    /// </summary>
    public SqliteConnection? TryTake()
    {
        if (Interlocked.Increment(ref lentCount) > MaxLent)
        {
            Interlocked.Decrement(ref lentCount);
            return null;
        }
        try
        {
            return Take();
        }
        catch
        {
            Interlocked.Decrement(ref lentCount);
            throw;
        }
    }

    private SqliteConnection Take()
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
        var opened = new SqliteConnection(unpooled);
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
        Interlocked.Decrement(ref lentCount);
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
        lent.Dispose(); // unpooled: the native handle closes, and SQLite rolls back a transaction left open on it
    }

    /// <summary>
    /// The same database without Microsoft.Data.Sqlite's own pool: this pool is the only one that keeps lent connections,
    /// so one closed past <see cref="MaxIdle"/> releases its native handle (schema, statements, page cache) rather than
    /// waiting, open, in the driver's pool. (Contexts past <see cref="MaxLent"/> still use the driver's pool, which keeps
    /// what a burst opened until it prunes idle handles.)
    /// </summary>
    private static string Unpooled(string connectionString)
    {
        if (connectionString.Length == 0)
        {
            return connectionString;
        }
        return new SqliteConnectionStringBuilder(connectionString) { Pooling = false }.ToString();
    }

    private static bool IsFile(string connectionString)
    {
        var builder = new SqliteConnectionStringBuilder(connectionString);
        return builder.Mode != SqliteOpenMode.Memory && !string.IsNullOrEmpty(builder.DataSource) && builder.DataSource != ":memory:";
    }
}
