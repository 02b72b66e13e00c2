using System.Runtime.InteropServices;
using Switchboard.Platform;

namespace Switchboard.Tests.Platform;

/// <summary>
/// Issue 16: glibc kept the native memory of closed SQLite connections (free chunks below live ones), tens of MB after a
/// burst of calls; <see cref="NativeHeapTrimmer"/> gives it back.
/// </summary>
public sealed class NativeHeapTrimmerTests
{
    private const int BlockBytes = 32 * 1024; // below glibc's mmap threshold (128 KB): served from an arena, as SQLite's allocations are
    private const int Blocks = 2048;          // 64 MB

    [Fact]
    public void NativeMemoryFreedBelowLiveBlocksGoesBackToTheSystem()
    {
        if (!OperatingSystem.IsLinux())
        {
            return; // malloc_trim is glibc's
        }
        var fill = new byte[BlockBytes];
        Array.Fill(fill, (byte)1);
        var blocks = new IntPtr[Blocks];
        try
        {
            for (var i = 0; i < Blocks; i++)
            {
                blocks[i] = Marshal.AllocHGlobal(BlockBytes);
                Marshal.Copy(fill, 0, blocks[i], BlockBytes); // touch every page
            }
            // Measured from before the frees: a host of another test class (each runs a NativeHeapTrimmer) may trim between the
            // frees and the call below, and the memory must be gone either way. Without a trim it stays: glibc keeps free chunks
            // that lie below a live one.
            var before = RssAnonKb();
            // Free 15 blocks in 16: each freed run lies below a live block, so the arena cannot shrink from its top.
            for (var i = 0; i < Blocks; i++)
            {
                if (i % 16 != 15)
                {
                    Marshal.FreeHGlobal(blocks[i]);
                    blocks[i] = IntPtr.Zero;
                }
            }

            NativeHeapTrimmer.Trim();

            var released = before - RssAnonKb();
            Assert.True(released >= 32 * 1024, $"RssAnon went down by {released} KB after freeing 60 MB (expected ≥ 32 MB)");
        }
        finally
        {
            foreach (var block in blocks)
            {
                if (block != IntPtr.Zero)
                {
                    Marshal.FreeHGlobal(block);
                }
            }
        }
    }

    private static long RssAnonKb()
    {
        var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("RssAnon:", StringComparison.Ordinal));
        return long.Parse(line["RssAnon:".Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
    }
}
