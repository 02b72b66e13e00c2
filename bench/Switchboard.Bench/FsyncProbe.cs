using System.Diagnostics;

namespace Switchboard.Bench;

/// <summary>
/// The disk's own floor under a durable write, measured in the same run as the server (issue 13): a SQLite commit that must
/// survive a power cut waits for at least one <c>fsync(2)</c> of the write-ahead log, so no webhook answered after its write is
/// durable can beat this file system's fsync latency. Appends <see cref="BlockBytes"/> to a file in <c>dir</c> and flushes it
/// to disk (<see cref="FileStream.Flush(bool)"/>, fsync on Linux), one at a time, for the given time or at most
/// <c>maxSyncs</c>; the file is deleted after.
/// </summary>
internal static class FsyncProbe
{
    /// <summary>Bytes appended before each flush: about two WAL frames of 4 KiB pages, what a small unit of work commits.</summary>
    internal const int BlockBytes = 8192;

    /// <summary>Latency of each flush, in milliseconds, in the order measured.</summary>
    internal static List<double> Run(string dir, TimeSpan duration, int maxSyncs)
    {
        var path = Path.Combine(dir, "fsync-probe.bin");
        var block = new byte[BlockBytes];
        var latencies = new List<double>();
        try
        {
            using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0);
            var until = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
            while (latencies.Count < maxSyncs && Stopwatch.GetTimestamp() < until)
            {
                file.Write(block);
                var started = Stopwatch.GetTimestamp();
                file.Flush(flushToDisk: true);
                latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
        }
        finally
        {
            File.Delete(path);
        }
        return latencies;
    }
}
