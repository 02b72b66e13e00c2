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
/// <para>
/// After a burst (issue 16: 400 calls set up at 200 per second took 37 → 71 connections, ~370 KB of native memory each,
/// 43 KB per live call) <see cref="Trim"/>, run every <see cref="TrimInterval"/> by <see cref="Trimmer"/>, closes what the
/// burst left: the idle connections here that no scope took during a whole interval (down to <see cref="MinIdle"/>), and,
/// once no context has gone past <see cref="MaxLent"/> for <see cref="OverflowQuiet"/>, the connections Microsoft.Data.Sqlite's
/// pool kept for those contexts (it would close them only 4–8 minutes after their last use). <see cref="NativeHeapTrimmer"/>
/// then gives the freed pages back to the operating system.
/// </para>
/// </summary>
internal sealed class SqliteSessionPool(DatabaseExtensions.EffectiveConnection connection, SqliteCheckpointer checkpointer)
{
    /// <summary>
    /// Connections kept open between scopes; more are closed when given back. As many as may be lent (<see cref="MaxLent"/>):
    /// a connection closed on its way back is opened again by the next scope that finds none idle, and its statements are
    /// prepared again one by one. With 24 here, any load that kept more than 24 scopes open at once (16 concurrent webhooks
    /// and the outbox's 20 deliveries) closed and reopened ~40 connections a second and prepared ~260 statements a second
    /// (bench ingest closed loop: <c>sqlite3_prepare_v2</c> ~12 % and <c>sqlite3_close_v2</c> ~3.5 % of the busy threads'
    /// samples; 690–750 msg/s at 1.9–2.0 ms of server CPU per message, against 810 at 1.65 once kept). What a burst leaves idle
    /// is closed by <see cref="Trim"/> within two <see cref="TrimInterval"/>s.
    /// </summary>
    internal const int MaxIdle = MaxLent;

    /// <summary>Connections lent out at once; <see cref="TryTake"/> lends none past it.</summary>
    internal const int MaxLent = 48;

    /// <summary>Idle connections <see cref="Trim"/> keeps however long they sat unused (a quiet server's background scopes).</summary>
    internal const int MinIdle = 4;

    /// <summary>
    /// Time between two <see cref="Trim"/>s: an idle connection no scope took for this long is closed (past <see cref="MinIdle"/>).
    /// Reopening one costs about a millisecond (open, schema, statements prepared again), at most <see cref="MaxIdle"/> per interval.
    /// </summary>
    internal static readonly TimeSpan TrimInterval = TimeSpan.FromSeconds(10);

    /// <summary>How long no context may have gone past <see cref="MaxLent"/> before <see cref="Trim"/> empties the driver's pool.</summary>
    internal static readonly TimeSpan OverflowQuiet = TimeSpan.FromSeconds(10);

    private readonly ConcurrentBag<SqliteConnection> idle = [];
    private readonly string unpooled = connection.IsPostgres ? "" : Unpooled(connection.Value);
    private int idleCount;
    private int lentCount;
    private int fewestIdle; // low-water mark of idleCount since the last Trim: connections no scope needed over that time
    private long lastOverflow; // Stopwatch timestamp of the last TryTake that found MaxLent out
    private int overflowedSinceClear;

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
            Volatile.Write(ref lastOverflow, System.Diagnostics.Stopwatch.GetTimestamp());
            Volatile.Write(ref overflowedSinceClear, 1);
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
            NoteIdle(Interlocked.Decrement(ref idleCount));
            if (kept.State == ConnectionState.Open)
            {
                return kept;
            }
            kept.Dispose();
        }
        Volatile.Write(ref fewestIdle, 0);
        var opened = new SqliteConnection(unpooled);
        try
        {
            opened.Open();
            if (checkpointer.Enabled)
            {
                SqliteCheckpointer.ConfigureConnection(opened); // as SqliteCheckpointer.Interceptor does for EF's own opens
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

    /// <summary>Takes <paramref name="lent"/> back: kept open for the next scope if it is open and outside a transaction, else disposed.</summary>
    public void Return(SqliteConnection lent)
    {
        Interlocked.Decrement(ref lentCount);
        // Never past MaxIdle: the pool opens a connection only while fewer than MaxLent (= MaxIdle) are out.
        if (lent.State == ConnectionState.Open && lent.Handle is { } handle && SQLitePCL.raw.sqlite3_get_autocommit(handle) != 0)
        {
            Interlocked.Increment(ref idleCount);
            idle.Add(lent);
            return;
        }
        lent.Dispose(); // unpooled: the native handle closes, and SQLite rolls back a transaction left open on it
    }

    /// <summary>
    /// Closes what a burst left open: idle connections no scope took since the previous call (the low-water mark of the
    /// idle count), down to <see cref="MinIdle"/>; and Microsoft.Data.Sqlite's pool for this database
    /// (<see cref="SqliteConnection.ClearPool"/>: idle connections closed now, the ones in use when they are closed) once
    /// <paramref name="overflowQuiet"/> (<see cref="OverflowQuiet"/>) has passed since a context last went past
    /// <see cref="MaxLent"/>. Meant to run every <see cref="TrimInterval"/>. Returns the number of connections closed here
    /// (not counting the driver's pool) and whether the driver's pool was emptied.
    /// </summary>
    internal (int Closed, bool ClearedDriverPool) Trim(TimeSpan overflowQuiet)
    {
        if (!Enabled)
        {
            return (0, false);
        }
        var surplus = Math.Min(Interlocked.Exchange(ref fewestIdle, Volatile.Read(ref idleCount)), Volatile.Read(ref idleCount)) - MinIdle;
        var closed = 0;
        while (closed < surplus && idle.TryTake(out var unused))
        {
            Interlocked.Decrement(ref idleCount);
            unused.Dispose();
            closed++;
        }
        Volatile.Write(ref fewestIdle, Math.Min(Volatile.Read(ref fewestIdle), Volatile.Read(ref idleCount)));
        var cleared = false;
        if (Volatile.Read(ref overflowedSinceClear) == 1
            && System.Diagnostics.Stopwatch.GetElapsedTime(Volatile.Read(ref lastOverflow)) >= overflowQuiet
            && Interlocked.Exchange(ref overflowedSinceClear, 0) == 1)
        {
            using var any = new SqliteConnection(connection.Value);
            SqliteConnection.ClearPool(any);
            cleared = true;
        }
        return (closed, cleared);
    }

    private void NoteIdle(int idleNow)
    {
        // Approximate under races (a Trim may close one connection too many or too few); never below zero.
        if (idleNow < Volatile.Read(ref fewestIdle))
        {
            Volatile.Write(ref fewestIdle, Math.Max(idleNow, 0));
        }
    }

    /// <summary>
    /// Runs <see cref="Trim"/> every <see cref="TrimInterval"/> (SQLite on a file only), then gives what it freed back to
    /// the operating system (<see cref="NativeHeapTrimmer.Trim"/>). Real time, not the app's TimeProvider: housekeeping of
    /// the process, not business time (tests fake the clock).
    /// </summary>
    internal sealed class Trimmer(SqliteSessionPool pool, ILogger<Trimmer> logger) : BackgroundService
    {
        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            if (!pool.Enabled)
            {
                return;
            }
            using var timer = new PeriodicTimer(TrimInterval);
            try
            {
                while (await timer.WaitForNextTickAsync(stoppingToken))
                {
                    var (closed, cleared) = pool.Trim(OverflowQuiet);
                    if (closed > 0 || cleared)
                    {
                        NativeHeapTrimmer.Trim();
                        logger.LogDebug("SQLite connections closed after a burst: {Closed} idle, driver pool emptied: {Cleared}", closed, cleared);
                    }
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
            }
        }
    }

    /// <summary>
    /// The same database without Microsoft.Data.Sqlite's own pool: this pool is the only one that keeps lent connections,
    /// so one closed past <see cref="MaxIdle"/> releases its native handle (schema, statements, page cache) rather than
    /// waiting, open, in the driver's pool. (Contexts past <see cref="MaxLent"/> still use the driver's pool, which keeps
    /// what a burst opened until it prunes idle handles.)
    /// </summary>
    internal static string Unpooled(string connectionString)
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
