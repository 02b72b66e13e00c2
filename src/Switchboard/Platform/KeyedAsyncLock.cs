namespace Switchboard.Platform;

/// <summary>
/// One asynchronous mutual exclusion per key: <see cref="AcquireAsync"/> waits (without blocking a thread) until no other
/// holder of the same key remains, in arrival order (<see cref="SemaphoreSlim"/> releases its asynchronous waiters first in,
/// first out). Keys cost memory only while held or awaited: the entry of a key goes when its last holder or waiter leaves.
/// In-process only: across nodes, the database's own constraints and retries decide.
/// </summary>
internal sealed class KeyedAsyncLock
{
    private readonly Lock sync = new();
    private readonly Dictionary<string, Entry> entries = new(StringComparer.Ordinal);

    /// <summary>Keys held or awaited now (tests and diagnostics).</summary>
    internal int Count
    {
        get
        {
            lock (sync)
            {
                return entries.Count;
            }
        }
    }

    /// <summary>
    /// Waits for <paramref name="key"/>; dispose the result to release it. Throws <see cref="OperationCanceledException"/>
    /// when <paramref name="ct"/> fires first (nothing is then held).
    /// </summary>
    public async ValueTask<Releaser> AcquireAsync(string key, CancellationToken ct)
    {
        Entry entry;
        lock (sync)
        {
            if (!entries.TryGetValue(key, out var found))
            {
                found = new Entry();
                entries.Add(key, found);
            }
            found.Users++;
            entry = found;
        }
        try
        {
            await entry.Gate.WaitAsync(ct);
        }
        catch
        {
            Leave(key, entry);
            throw;
        }
        return new Releaser(this, key, entry);
    }

    private void Leave(string key, Entry entry)
    {
        lock (sync)
        {
            if (--entry.Users == 0)
            {
                entries.Remove(key);
            }
        }
    }

    /// <summary>A key's gate and how many hold or await it.</summary>
    internal sealed class Entry
    {
        public SemaphoreSlim Gate { get; } = new(1, 1);

        public int Users { get; set; }
    }

    /// <summary>Holds a key until disposed (once); <c>default</c> holds nothing.</summary>
    internal readonly struct Releaser(KeyedAsyncLock owner, string key, Entry entry) : IDisposable
    {
        /// <summary>Releases the key: its next waiter, if any, goes on.</summary>
        public void Dispose()
        {
            if (owner is null)
            {
                return;
            }
            entry.Gate.Release();
            owner.Leave(key, entry);
        }
    }
}
