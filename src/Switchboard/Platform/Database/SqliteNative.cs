using System.Runtime.InteropServices;

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

    /// <summary><c>SQLITE_FCNTL_FILE_POINTER</c>: the connection's <c>sqlite3_file*</c> for a database (sqlite.org/c3ref/c_fcntl_begin_atomic_write.html).</summary>
    private const int FileControlFilePointer = 7;

    /// <summary><c>SQLITE_SYNC_NORMAL</c>, the flag SQLite's own database syncs pass at <c>synchronous=FULL</c> (sqlite.org/c3ref/c_sync_dataonly.html).</summary>
    private const int SyncNormal = 2;

    /// <summary>
    /// fsync(2)s the main database file of <paramref name="connection"/> (open, on a file) through SQLite's own file handle:
    /// the <c>xSync</c> method of the connection's <c>sqlite3_file</c> (sqlite.org/c3ref/io_methods.html), which the unix VFS
    /// implements with fsync/fdatasync on the descriptor it already holds. Not a new descriptor: closing any descriptor of the
    /// file would drop the process's POSIX locks on it, SQLite's included (sqlite.org/howtocorrupt.html §2.2). Nothing
    /// changes in the file; only pages written earlier reach the disk sooner. Returns SQLite's result code (0 is
    /// <c>SQLITE_OK</c>); the connection must not be running a statement on another thread meanwhile.
    /// </summary>
    /// <remarks>
    /// <c>sqlite3_io_methods</c> starts with <c>int iVersion</c> and then function pointers, so <c>xSync</c>, the fifth
    /// (after <c>xClose</c>, <c>xRead</c>, <c>xWrite</c>, <c>xTruncate</c>), sits at five pointer widths on both 32- and
    /// 64-bit ABIs. SQLitePCLRaw does not expose <c>sqlite3_file_control</c>, hence the import from the same e_sqlite3 library.
    /// </remarks>
    internal static int SyncMainDatabaseFile(Microsoft.Data.Sqlite.SqliteConnection connection) => SyncFile(connection, FileControlFilePointer);

    /// <summary><c>SQLITE_FCNTL_JOURNAL_POINTER</c>: the connection's <c>sqlite3_file*</c> for its journal, which in WAL mode is the WAL file (pager.c <c>sqlite3PagerJrnlFile</c>).</summary>
    private const int FileControlJournalPointer = 28;

    /// <summary>
    /// fsync(2)s the WAL file of <paramref name="connection"/> (open, in WAL mode, having read the database once so that its
    /// pager has opened the WAL) through SQLite's own handle for it, as <see cref="SyncMainDatabaseFile"/> does for the database
    /// file. A sync of one descriptor flushes every write made to the file through any descriptor (the page cache is per file),
    /// so this makes durable every transaction any connection of the process committed to the WAL before the call. Returns
    /// SQLite's result code (0 is <c>SQLITE_OK</c>; 1 when the connection has no journal file open); the connection must not be
    /// used on another thread meanwhile.
    /// </summary>
    internal static int SyncWalFile(Microsoft.Data.Sqlite.SqliteConnection connection) => SyncFile(connection, FileControlJournalPointer);

    private static int SyncFile(Microsoft.Data.Sqlite.SqliteConnection connection, int pointerOp)
    {
        var db = connection.Handle ?? throw new InvalidOperationException("The connection is not open.");
        var slot = Marshal.AllocHGlobal(IntPtr.Size);
        try
        {
            Marshal.WriteIntPtr(slot, IntPtr.Zero);
            var rc = FileControl(db.DangerousGetHandle(), IntPtr.Zero, pointerOp, slot);
            var file = Marshal.ReadIntPtr(slot);
            if (rc != 0 || file == IntPtr.Zero)
            {
                return rc != 0 ? rc : 1; // SQLITE_ERROR: no file behind the connection
            }
            var methods = Marshal.ReadIntPtr(file);
            var xSync = methods == IntPtr.Zero ? IntPtr.Zero : Marshal.ReadIntPtr(methods, 5 * IntPtr.Size);
            return xSync == IntPtr.Zero ? 1 : Marshal.GetDelegateForFunctionPointer<SyncMethod>(xSync)(file, SyncNormal);
        }
        finally
        {
            Marshal.FreeHGlobal(slot);
        }
    }

    /// <summary><c>int (*xSync)(sqlite3_file*, int flags)</c>.</summary>
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int SyncMethod(IntPtr file, int flags);

    /// <summary><c>int sqlite3_file_control(sqlite3*, const char *zDbName, int op, void*)</c>; a null name is the main database.</summary>
#pragma warning disable SYSLIB1054 // DllImport, not LibraryImport: the project stays free of unsafe code (as NativeHeapTrimmer)
    [DllImport("e_sqlite3", EntryPoint = "sqlite3_file_control", ExactSpelling = true)]
    private static extern int FileControl(IntPtr db, IntPtr dbName, int op, IntPtr arg);
#pragma warning restore SYSLIB1054
}
