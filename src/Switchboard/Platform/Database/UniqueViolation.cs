using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Switchboard.Platform.Database;

/// <summary>
/// Unique-index violations: two requests that check, then insert the same key (a tenant's first credential, an
/// outbox message with the same Kind + DedupeKey). SQLite reports <c>SQLITE_CONSTRAINT_UNIQUE</c> (2067) or
/// <c>SQLITE_CONSTRAINT_PRIMARYKEY</c> (1555); PostgreSQL SQLSTATE <c>23505</c>. Such a conflict is answered by a
/// transparent retry (<see cref="RetryOnceAsync{T}"/>) or, when the retry conflicts again, by a 409 envelope
/// (<see cref="Http.EnvelopeExceptionHandler"/>); never a 500.
/// </summary>
internal static class UniqueViolation
{
    public static bool Is(Exception e) => e is DbUpdateException
    {
        InnerException: SqliteException { SqliteErrorCode: 19, SqliteExtendedErrorCode: 2067 or 1555 } or PostgresException { SqlState: PostgresErrorCodes.UniqueViolation },
    };

    /// <summary>
    /// Runs <paramref name="work"/> (read, change, <c>SaveChangesAsync</c>); when it loses a unique-index race, clears
    /// <paramref name="db"/>'s change tracker and runs it once more, so the second run reads the winner's row and
    /// updates it. A second conflict propagates (a 409 for the client).
    /// </summary>
    public static Task<T> RetryOnceAsync<T>(DbContext db, Func<Task<T>> work) => ConcurrentChange.RetryOnceWhenAsync(db, work, Is);

    /// <inheritdoc cref="RetryOnceAsync{T}"/>
    public static Task RetryOnceAsync(DbContext db, Func<Task> work) => ConcurrentChange.RetryOnceWhenAsync(db, work, Is);
}

/// <summary>
/// Foreign-key violations: an insert that names a parent row deleted meanwhile (a delivery attempt whose delivery went with
/// its endpoint). SQLite reports <c>SQLITE_CONSTRAINT_FOREIGNKEY</c> (787); PostgreSQL SQLSTATE <c>23503</c>.
/// </summary>
internal static class ForeignKeyViolation
{
    public static bool Is(Exception e) => e is DbUpdateException
    {
        InnerException: SqliteException { SqliteErrorCode: 19, SqliteExtendedErrorCode: 787 } or PostgresException { SqlState: PostgresErrorCodes.ForeignKeyViolation },
    };
}
