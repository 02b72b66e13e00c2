using Microsoft.Data.Sqlite;
using Npgsql;

namespace Switchboard.Platform.Database;

/// <summary>
/// Failures that say the database is saturated, not that the request or the code is wrong: the request may succeed
/// when retried a moment later. Answered <c>503 DATABASE_BUSY</c> with <c>Retry-After</c>
/// (<see cref="Http.EnvelopeExceptionHandler"/>), never a 500, and logged without a stack trace at most once per
/// interval: under overload (issue 13: 100 msg/s offered to a node that manages 40) each failure used to cost a JSON
/// log entry with a full stack trace, 40 % of the process's CPU, which made the overload worse.
/// <list type="bullet">
/// <item>Npgsql: no pooled connection free within the connection string's <c>Timeout</c> ("The connection pool has been
/// exhausted", a <see cref="NpgsqlException"/> over a <see cref="TimeoutException"/>), or a command past its
/// <c>Command Timeout</c> (the same shape).</item>
/// <item>PostgreSQL SQLSTATE <c>53300</c> too_many_connections, <c>53400</c> configuration_limit_exceeded, <c>57P03</c>
/// cannot_connect_now (postgresql.org/docs/current/errcodes-appendix.html).</item>
/// <item>SQLite <c>SQLITE_BUSY</c> (5) or <c>SQLITE_LOCKED</c> (6) after the connection's busy timeout
/// (sqlite.org/rescode.html): another process holds the write lock.</item>
/// </list>
/// The exception may be wrapped (EF's execution strategy wraps a transient failure in an
/// <see cref="InvalidOperationException"/>; a save in a <c>DbUpdateException</c>): every inner exception is checked.
/// </summary>
internal static class DatabaseBusy
{
    /// <summary>True when <paramref name="e"/> or one of its inner exceptions is a saturation failure listed above.</summary>
    public static bool Is(Exception e)
    {
        for (var inner = e; inner is not null; inner = inner.InnerException)
        {
            switch (inner)
            {
                case PostgresException { SqlState: PostgresErrorCodes.TooManyConnections or PostgresErrorCodes.ConfigurationLimitExceeded or PostgresErrorCodes.CannotConnectNow }:
                    return true;
                case PostgresException:
                    return false; // any other server error is the statement's own
                case NpgsqlException { InnerException: TimeoutException }:
                    return true;
                case SqliteException { SqliteErrorCode: 5 or 6 }:
                    return true;
            }
        }
        return false;
    }
}
