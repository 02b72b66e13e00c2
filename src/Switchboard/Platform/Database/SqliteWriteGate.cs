using Microsoft.EntityFrameworkCore;

namespace Switchboard.Platform.Database;

/// <summary>
/// Queues write transactions on SQLite, which has a single writer, inside this process. Without it, concurrent
/// <c>BEGIN IMMEDIATE</c>s collide with <c>SQLITE_BUSY</c>, which Microsoft.Data.Sqlite retries by blocking the
/// thread for 150 ms at a time (bench/: p50 160 ms at 16 concurrent webhooks). Waiting here is asynchronous and
/// first come, first served. A no-op on PostgreSQL.
/// </summary>
internal sealed class SqliteWriteGate
{
    private readonly SemaphoreSlim semaphore = new(1, 1);

    /// <summary>Waits for the turn of <paramref name="db"/>'s next write transaction; dispose the result to end it.</summary>
    public async ValueTask<Turn> EnterAsync(DbContext db, CancellationToken ct)
    {
        if (!db.Database.IsSqlite())
        {
            return default;
        }
        await semaphore.WaitAsync(ct);
        return new Turn(semaphore);
    }

    /// <summary>A held turn; <see cref="Dispose"/> releases it.</summary>
    internal readonly struct Turn(SemaphoreSlim? semaphore) : IDisposable
    {
        public void Dispose() => semaphore?.Release();
    }
}
