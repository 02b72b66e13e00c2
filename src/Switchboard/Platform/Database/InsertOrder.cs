namespace Switchboard.Platform.Database;

/// <summary>
/// One order for a bulk insert under a unique index, whoever inserts: the rows sorted by the indexed key, and their v7 ids
/// minted ascending with them, since EF orders a save's inserts of one table by primary key. Two requests inserting some of
/// the same keys at once then reach each key's index entry in the same order, so one waits for the other (and, its
/// transaction committed, gets a unique violation to retry on) instead of each holding a key the other waits for:
/// PostgreSQL's deadlock, SQLSTATE 40P01, a 500. v7 ids minted within one millisecond are random among themselves, so ids
/// minted in the rows' order do not keep it (seen in CI with ten do-not-call imports at once).
/// </summary>
internal static class InsertOrder
{
    /// <summary>
    /// <paramref name="rows"/> sorted by <paramref name="key"/> (ordinal), each with a v7 id of <paramref name="now"/>'s
    /// millisecond, ascending in that order. Assign the ids before the rows are added to the context.
    /// </summary>
    public static List<(T Row, Guid Id)> ByKey<T>(IEnumerable<T> rows, Func<T, string> key, DateTimeOffset now)
    {
        var sorted = rows.OrderBy(key, StringComparer.Ordinal).ToList();
        var ids = sorted.Select(_ => Guid.CreateVersion7(now)).Order().ToList();
        return [.. sorted.Select((row, i) => (row, ids[i]))];
    }
}
