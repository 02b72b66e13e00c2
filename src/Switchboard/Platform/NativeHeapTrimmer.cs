using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Switchboard.Platform;

/// <summary>
/// Gives the native heap's free pages back to the operating system every <see cref="Interval"/> (Linux with glibc only;
/// a no-op elsewhere). SQLite's connections (schema, page cache, prepared statements: a few hundred KB each) live in
/// glibc's malloc arenas, and a burst of calls set up at once opens dozens of them; when they are closed (past
/// <see cref="Database.SqliteSessionPool.MaxIdle"/>, or pruned by Microsoft.Data.Sqlite's pool) glibc keeps the freed
/// memory: a non-main arena only shrinks from its top, and live chunks pin everything below (issue 16). At 400 live calls
/// after a burst, 39 MB of the arenas' 81 MB were free chunks, and <c>malloc_trim(0)</c> took RSS down by 25 MB.
/// <c>malloc_trim</c> (glibc ≥ 2.8, man malloc_trim(3)) returns whole free pages inside every arena with
/// <c>madvise(MADV_DONTNEED)</c>; it only walks free chunks, so it costs microseconds when there is nothing to give back.
/// </summary>
internal sealed class NativeHeapTrimmer(ILogger<NativeHeapTrimmer> logger) : BackgroundService
{
    /// <summary>Time between trims: short enough that memory freed after a burst is returned before the next one.</summary>
    internal static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);

    private static int unavailable;

    /// <summary>True where <c>malloc_trim</c> can be called: Linux, until a call found no glibc (musl, e.g. Alpine).</summary>
    internal static bool Supported => OperatingSystem.IsLinux() && Volatile.Read(ref unavailable) == 0;

    /// <summary>
    /// Calls <c>malloc_trim(0)</c>; true when glibc released memory, false when there was nothing to release or the
    /// platform has no glibc (then later calls return false at once).
    /// </summary>
    internal static bool Trim()
    {
        if (!Supported)
        {
            return false;
        }
        try
        {
            return MallocTrim(0) != 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            Volatile.Write(ref unavailable, 1);
            return false;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!Supported)
        {
            return;
        }
        // Real time, not the app's TimeProvider: housekeeping of the process, not business time (tests fake the clock).
        using var timer = new PeriodicTimer(Interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken) && Supported)
            {
                var started = Stopwatch.GetTimestamp();
                var released = Trim();
                if (logger.IsEnabled(LogLevel.Debug))
                {
                    logger.LogDebug("malloc_trim: released {Released} in {Ms:F2} ms", released, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>glibc's <c>int malloc_trim(size_t pad)</c>: 1 when memory was released, 0 otherwise.</summary>
    /// <remarks>DllImport, not LibraryImport: blittable arguments need no marshalling stub, and the project stays free of unsafe code.</remarks>
#pragma warning disable SYSLIB1054
    [DllImport("libc.so.6", EntryPoint = "malloc_trim", ExactSpelling = true)]
    private static extern int MallocTrim(nuint pad);
#pragma warning restore SYSLIB1054
}
