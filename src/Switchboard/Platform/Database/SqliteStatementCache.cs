using System.Data;
using System.Data.Common;
using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Switchboard.Platform.Database;

/// <summary>
/// Prepared statements kept per long-lived SQLite connection (issue 13). Microsoft.Data.Sqlite prepares every command it
/// runs (<c>sqlite3_prepare_v2</c>: parse, name resolution, query planning, trigger and constraint code) and finalizes it
/// when the command is disposed; EF Core creates a command per statement, so a webhook's ten-odd statements were compiled
/// on every message — about a tenth of the server's CPU under the ingestion bench, more than SQLite spent executing them.
/// <para>
/// This interceptor runs a statement on a cached <see cref="SqliteCommand"/> of the same text instead, for connections that
/// stay open (<see cref="Attach"/>: the group commit's connection and the <see cref="SqliteSessionPool"/>'s). The cached
/// command takes EF's parameters, transaction and timeout; Microsoft.Data.Sqlite resets and re-binds its statements on every
/// execution (and checks that every parameter is bound), and SQLite re-prepares a statement by itself after a schema change
/// (<c>SQLITE_SCHEMA</c>). A command whose previous reader is still open, or any connection without a cache, takes EF's
/// normal path.
/// </para>
/// <para>
/// A statement run to completion here (a non-query or a scalar) lets go of its parameters at once: a cached command lives as
/// long as its connection, and the values it last bound (a Vapi message's raw body among them) would otherwise stay reachable
/// until the statement's next use, and be promoted through every generation of the collector meanwhile (issue 13). A
/// reader's parameters stay until its statement is lent again: a batch binds its later statements as it is read.
/// </para>
/// <para>
/// A connection is used by one context at a time, so a cache needs no lock. It holds at most <see cref="Capacity"/>
/// statements and is emptied when full (EF's batched statements vary with the batch's size; the common ones come back at
/// once).
/// </para>
/// </summary>
internal sealed class SqliteStatementCache : DbCommandInterceptor
{
    /// <summary>Statements kept per connection before the cache is emptied.</summary>
    internal const int Capacity = 96;

    private static readonly ConditionalWeakTable<SqliteConnection, Statements> Caches = new();

    /// <summary>
    /// Gives <paramref name="connection"/> a statement cache (idempotent). Call only for connections that stay open. One opened
    /// without Microsoft.Data.Sqlite's pool (<c>Pooling=False</c>) may also hold <see cref="NativeFor"/>'s statements: closing
    /// it closes its native handle, after which they are finalized (<see cref="Statements.Closed"/>); a pooled handle would be
    /// back in the driver's pool, lent to another thread, before they could be.
    /// </summary>
    internal static void Attach(SqliteConnection connection) => Caches.GetValue(connection, static c =>
    {
        var statements = new Statements(!new SqliteConnectionStringBuilder(c.ConnectionString).Pooling);
        c.StateChange += statements.Closed;
        return statements;
    });

    /// <summary>The statements cached for <paramref name="connection"/> (tests and diagnostics); 0 without a cache.</summary>
    internal static int CountFor(SqliteConnection connection) => Caches.TryGetValue(connection, out var s) ? s.Count : 0;

    /// <summary>The parameter values the cached statements of <paramref name="connection"/> still hold (tests and diagnostics).</summary>
    internal static List<object?> HeldValuesFor(SqliteConnection connection) =>
        Caches.TryGetValue(connection, out var s) ? [.. s.All.SelectMany(c => c.Command.Parameters.Cast<SqliteParameter>().Select(p => p.Value))] : [];

    /// <summary>Commands run on a cached statement since start (tests and diagnostics).</summary>
    internal static long Hits => Interlocked.Read(ref hits);

    private static long hits;

    public override InterceptionResult<DbDataReader> ReaderExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result)
    {
        if (result.HasResult || Lend(command) is not { } lent)
        {
            return result;
        }
        var reader = lent.Command.ExecuteReader();
        lent.Reader = reader;
        return InterceptionResult<DbDataReader>.SuppressWithResult(reader);
    }

    public override async ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData,
        InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
    {
        if (result.HasResult || Lend(command) is not { } lent)
        {
            return result;
        }
        var reader = await lent.Command.ExecuteReaderAsync(cancellationToken);
        lent.Reader = reader;
        return InterceptionResult<DbDataReader>.SuppressWithResult(reader);
    }

    public override InterceptionResult<int> NonQueryExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<int> result)
    {
        if (result.HasResult || Lend(command) is not { } lent)
        {
            return result;
        }
        try
        {
            return InterceptionResult<int>.SuppressWithResult(lent.Command.ExecuteNonQuery());
        }
        finally
        {
            lent.Command.Parameters.Clear();
        }
    }

    public override async ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(DbCommand command, CommandEventData eventData,
        InterceptionResult<int> result, CancellationToken cancellationToken = default)
    {
        if (result.HasResult || Lend(command) is not { } lent)
        {
            return result;
        }
        try
        {
            return InterceptionResult<int>.SuppressWithResult(await lent.Command.ExecuteNonQueryAsync(cancellationToken));
        }
        finally
        {
            lent.Command.Parameters.Clear();
        }
    }

    public override InterceptionResult<object> ScalarExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<object> result)
    {
        if (result.HasResult || Lend(command) is not { } lent)
        {
            return result;
        }
        try
        {
            return InterceptionResult<object>.SuppressWithResult(lent.Command.ExecuteScalar()!);
        }
        finally
        {
            lent.Command.Parameters.Clear();
        }
    }

    public override async ValueTask<InterceptionResult<object>> ScalarExecutingAsync(DbCommand command, CommandEventData eventData,
        InterceptionResult<object> result, CancellationToken cancellationToken = default)
    {
        if (result.HasResult || Lend(command) is not { } lent)
        {
            return result;
        }
        try
        {
            return InterceptionResult<object>.SuppressWithResult((await lent.Command.ExecuteScalarAsync(cancellationToken))!);
        }
        finally
        {
            lent.Command.Parameters.Clear();
        }
    }

    /// <summary>
    /// A cached command of <paramref name="text"/> on <paramref name="connection"/>, for SQL a caller runs itself (the group
    /// commit's <c>SAVEPOINT</c> and <c>RELEASE</c>, a unit's version check): its parameters cleared and its transaction unset,
    /// so the caller adds its own. Null when the connection has no cache or the statement's last reader is still open; the
    /// caller then creates a command of its own. Used like a command that the caller does not dispose.
    /// </summary>
    internal static SqliteCommand? CommandFor(SqliteConnection connection, string text)
    {
        if (connection.State != ConnectionState.Open || !Caches.TryGetValue(connection, out var statements)
            || statements.Get(connection, text) is not { } cached)
        {
            return null;
        }
        var command = cached.Command;
        command.Parameters.Clear();
        command.Transaction = null;
        Interlocked.Increment(ref hits);
        return command;
    }

    /// <summary>
    /// The native prepared statement of <paramref name="text"/> on <paramref name="connection"/>, reset and with no value bound,
    /// for a caller that binds and steps it itself; null when the connection has no cache,
    /// is pooled (<see cref="Attach"/>) or is not open. Prepared once with <c>SQLITE_PREPARE_PERSISTENT</c>, finalized when the
    /// cache is emptied or the connection closes; SQLite prepares it again by itself after a schema change (sqlite.org/c3ref/prepare.html).
    /// Errors preparing it are a <see cref="SqliteException"/>.
    /// </summary>
    internal static SqliteNativeStatement? NativeFor(SqliteConnection connection, string text)
    {
        if (connection.State != ConnectionState.Open || !Caches.TryGetValue(connection, out var statements) || !statements.NativeAllowed)
        {
            return null;
        }
        Interlocked.Increment(ref hits);
        return statements.Native(connection, text);
    }

    /// <summary>The cached command for <paramref name="command"/>'s text, loaded with its parameters; null to run EF's own.</summary>
    private static Cached? Lend(DbCommand command)
    {
        if (command is not SqliteCommand { Connection: { State: ConnectionState.Open } connection } source
            || command.CommandType != CommandType.Text
            || !Caches.TryGetValue(connection, out var statements))
        {
            return null;
        }
        var cached = statements.Get(connection, source.CommandText);
        if (cached is null)
        {
            return null;
        }
        var target = cached.Command;
        target.Transaction = source.Transaction;
        target.CommandTimeout = source.CommandTimeout;
        target.Parameters.Clear();
        foreach (SqliteParameter p in source.Parameters)
        {
            target.Parameters.Add(p);
        }
        Interlocked.Increment(ref hits);
        return cached;
    }

    /// <summary>One connection's cached commands by text, and its native statements when it is unpooled (<paramref name="nativeAllowed"/>).</summary>
    private sealed class Statements(bool nativeAllowed)
    {
        private readonly Dictionary<string, Cached> byText = new(StringComparer.Ordinal);
        private readonly Dictionary<string, SqliteNativeStatement> native = new(StringComparer.Ordinal);

        public bool NativeAllowed { get; } = nativeAllowed;

        public int Count => byText.Count + native.Count;

        public SqliteNativeStatement Native(SqliteConnection connection, string text)
        {
            if (native.TryGetValue(text, out var statement))
            {
                return statement;
            }
            if (native.Count >= Capacity)
            {
                FinalizeNative();
            }
            statement = new SqliteNativeStatement(connection, text);
            native[text] = statement;
            return statement;
        }

        /// <summary>Finalizes the native statements once their connection is closed (its unpooled handle closed with it).</summary>
        public void Closed(object? sender, StateChangeEventArgs e)
        {
            if (e.CurrentState == ConnectionState.Closed)
            {
                FinalizeNative();
            }
        }

        private void FinalizeNative()
        {
            foreach (var statement in native.Values)
            {
                statement.Dispose(); // sqlite3_finalize
            }
            native.Clear();
        }

        public IEnumerable<Cached> All => byText.Values;

        public Cached? Get(SqliteConnection connection, string text)
        {
            if (byText.TryGetValue(text, out var cached))
            {
                return cached.Reader is { IsClosed: false } ? null : cached; // its last reader is still being read
            }
            if (byText.Count >= Capacity)
            {
                foreach (var old in byText.Values)
                {
                    if (old.Reader is not { IsClosed: false })
                    {
                        old.Command.Dispose(); // finalizes its statements; one still being read is left to its reader
                    }
                }
                byText.Clear();
            }
            cached = new Cached(new SqliteCommand(text, connection));
            byText[text] = cached;
            return cached;
        }
    }

    private sealed class Cached(SqliteCommand command)
    {
        public SqliteCommand Command { get; } = command;

        public DbDataReader? Reader { get; set; }
    }
}
