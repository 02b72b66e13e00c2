using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace Switchboard.Platform.Database;

/// <summary>
/// Retries work that SQLite refused with <c>SQLITE_BUSY</c>/<c>SQLITE_LOCKED</c> (error 5/6). Under many concurrent
/// writers, WAL mode answers "database is locked" without waiting when a read transaction has to become a write one;
/// the statement is safe to run again. Waits asynchronously (jittered, growing), so no thread is held while it waits.
/// PostgreSQL errors are never retried here.
/// </summary>
internal static class SqliteBusyRetry
{
    public static bool IsBusy(Exception e) =>
        e is SqliteException { SqliteErrorCode: 5 or 6 } || (e is DbUpdateException { InnerException: SqliteException { SqliteErrorCode: 5 or 6 } });

    /// <summary>Runs <paramref name="work"/>, again (up to <paramref name="attempts"/> times) when SQLite was busy.</summary>
    public static async Task<T> RunAsync<T>(Func<Task<T>> work, CancellationToken ct, int attempts = 8)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await work();
            }
            catch (Exception e) when (attempt < attempts && IsBusy(e))
            {
                await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(10, 40) * attempt), ct);
            }
        }
    }

    public static Task RunAsync(Func<Task> work, CancellationToken ct, int attempts = 8) =>
        RunAsync(async () =>
        {
            await work();
            return true;
        }, ct, attempts);
}
