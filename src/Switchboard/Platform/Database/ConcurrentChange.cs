using Microsoft.EntityFrameworkCore;

namespace Switchboard.Platform.Database;

/// <summary>
/// A read-change-save that another request got ahead of: it inserted the same unique key first (<see cref="UniqueViolation"/>),
/// or deleted or changed the row between this one's read and its save (<see cref="DbUpdateConcurrencyException"/>: the
/// UPDATE or DELETE matched no row). A PATCH or PUT racing the DELETE of its resource is the second case.
/// </summary>
internal static class ConcurrentChange
{
    /// <summary>True for a lost unique-key race or a save whose row was deleted or changed since it was read.</summary>
    public static bool Is(Exception e) => e is DbUpdateConcurrencyException || UniqueViolation.Is(e);

    /// <summary>
    /// Runs <paramref name="work"/> (read, change, <c>SaveChangesAsync</c> in its own transaction); when its save loses such a
    /// race, clears <paramref name="db"/>'s change tracker and runs it once more, so the second run answers from what is there
    /// now, as the same request sent just after the other would: a change to a deleted row finds nothing (its 404), a PUT
    /// stores its row again (its 200). The failed save wrote nothing (its transaction rolled back), so nothing is done twice.
    /// A second conflict propagates (a 409 for the client, <see cref="Http.EnvelopeExceptionHandler"/>).
    /// </summary>
    public static Task<T> RetryOnceAsync<T>(DbContext db, Func<Task<T>> work) => RetryOnceWhenAsync(db, work, Is);

    /// <inheritdoc cref="RetryOnceAsync{T}"/>
    public static Task RetryOnceAsync(DbContext db, Func<Task> work) => RetryOnceWhenAsync(db, work, Is);

    /// <summary>
    /// Runs <paramref name="work"/>; when its save throws a <see cref="DbUpdateException"/> that <paramref name="lost"/> says
    /// is a lost race, clears <paramref name="db"/>'s change tracker and runs it once more. A second failure propagates.
    /// The one retry of <see cref="RetryOnceAsync{T}"/> and <see cref="UniqueViolation.RetryOnceAsync{T}"/>.
    /// </summary>
    internal static async Task<T> RetryOnceWhenAsync<T>(DbContext db, Func<Task<T>> work, Func<Exception, bool> lost)
    {
        try
        {
            return await work();
        }
        catch (DbUpdateException e) when (lost(e))
        {
            db.ChangeTracker.Clear();
            return await work();
        }
    }

    /// <inheritdoc cref="RetryOnceWhenAsync{T}"/>
    internal static Task RetryOnceWhenAsync(DbContext db, Func<Task> work, Func<Exception, bool> lost) =>
        RetryOnceWhenAsync(db, async () =>
        {
            await work();
            return true;
        }, lost);
}
