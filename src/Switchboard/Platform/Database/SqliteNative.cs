namespace Switchboard.Platform.Database;

/// <summary>
/// Process-wide settings of the native SQLite library (e_sqlite3 through SQLitePCLRaw), applied once at start, before the
/// first connection opens: <c>sqlite3_config</c> only works before <c>sqlite3_initialize</c>, which the first open runs
/// (sqlite.org/c3ref/config.html).
/// <list type="bullet">
/// <item><b>Multi-thread mode</b> (<c>SQLITE_CONFIG_MULTITHREAD</c>; sqlite.org/threadsafe.html): SQLite drops the mutex
/// every call on a connection or statement takes, and relies on no connection being used by two threads at once, which
/// ADO.NET already requires (a <c>SqliteConnection</c> is not thread-safe, EF Core refuses a second operation on a context
/// while one runs, and the connections the group commit and the checkpointer share are handed from one holder to the next).
/// The global structures (the allocator, the page-cache groups, the VFS list) keep their mutexes.</item>
/// <item><b>No memory statistics</b> (<c>SQLITE_CONFIG_MEMSTATUS</c> 0): otherwise every allocation updates counters under
/// one process-wide mutex; Switchboard reads none of them (no <c>sqlite3_memory_used</c>, no soft heap limit).</item>
/// </list>
/// Measured with bench ingest (closed loop, 64 workers, alternating, 5 runs each; bench/results/quiet-stop36-2026-12-03.md):
/// 0.81 against 0.85 ms of server CPU per message. A profile of the serialized mode had ~2.5 % of the server's samples in
/// pthread mutex lock/unlock and ~1.5 % more in contended futex waits and wakes.
/// </summary>
internal static class SqliteNative
{
    /// <summary><c>SQLITE_CONFIG_MULTITHREAD</c> (sqlite.org/c3ref/c_config_covering_index_scan.html).</summary>
    private const int ConfigMultiThread = 2;

    /// <summary><c>SQLITE_CONFIG_MEMSTATUS</c>.</summary>
    private const int ConfigMemStatus = 9;

    /// <summary><c>SQLITE_MISUSE</c>: what <c>sqlite3_config</c> answers once the library is initialized.</summary>
    internal const int Misuse = 21;

    /// <summary>
    /// Applies the settings. Returns SQLite's result code for each: 0 applied; <see cref="Misuse"/> when SQLite was
    /// initialized already in this process (a test host after other tests opened connections), where the library keeps
    /// its settings and nothing else changes. Never throws for either.
    /// </summary>
    internal static (int ThreadMode, int MemStatus) Configure()
    {
        SQLitePCL.Batteries_V2.Init(); // idempotent: selects the bundled e_sqlite3 provider
        return (SQLitePCL.raw.sqlite3_config(ConfigMultiThread), SQLitePCL.raw.sqlite3_config(ConfigMemStatus, 0));
    }
}
