using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Switchboard.Platform.Cluster;

/// <summary>
/// Who this node is among those sharing a database (<see cref="Outbox.OutboxOptions.NodeId"/>, the machine name when unset),
/// and whether a lease taken under that name by some process was taken by an earlier run of this node, so a node that
/// restarts after a crash can take its own leases back at once instead of waiting out their expiry.
/// </summary>
internal static class NodeIdentity
{
    /// <summary>The node's name: <paramref name="configured"/> trimmed, else the machine name; <c>|</c> replaced by <c>_</c>; at most 50 characters.</summary>
    internal static string Name(string? configured)
    {
        var name = string.IsNullOrWhiteSpace(configured) ? Environment.MachineName : configured.Trim();
        name = name.Replace('|', '_');
        return name.Length <= 50 ? name : name[..50];
    }

    /// <summary>
    /// True when process <paramref name="pid"/> (of a lease taken under this node's name) is no longer running, or is this
    /// process (a container restarted with the same process id: the lease is from its earlier run, since this run looks before
    /// it takes any). Nodes sharing a database must have distinct names, so another live node's leases are never matched.
    /// </summary>
    internal static bool IsEarlierIncarnation(int pid)
    {
        if (pid == Environment.ProcessId)
        {
            return true;
        }
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return process.HasExited;
        }
        catch (ArgumentException)
        {
            return true; // no such process: it died
        }
        catch (InvalidOperationException)
        {
            return true;
        }
    }

    /// <summary>Bytes of a <see cref="LeaseHolder"/> that name the node: the first six of SHA-256 of its <see cref="Name"/> (UTF-8).</summary>
    internal const int NodeBytes = 6;

    /// <summary>The first <see cref="NodeBytes"/> bytes of SHA-256 of node <paramref name="name"/>.</summary>
    internal static byte[] NodePrefix(string name) => SHA256.HashData(Encoding.UTF8.GetBytes(name))[..NodeBytes];

    /// <summary>
    /// A lease holder id that says which node and process took it: in the UUID's byte order (as PostgreSQL stores and compares
    /// it), bytes 0 – 5 <paramref name="nodePrefix"/>, 6 – 9 the process id (big-endian), 10 – 15 random. Every holder of one
    /// node lies between <see cref="NodeRange"/>'s bounds.
    /// </summary>
    internal static Guid LeaseHolder(byte[] nodePrefix, int pid)
    {
        Span<byte> bytes = stackalloc byte[16];
        nodePrefix.CopyTo(bytes);
        BinaryPrimitives.WriteInt32BigEndian(bytes[NodeBytes..], pid);
        Random.Shared.NextBytes(bytes[(NodeBytes + 4)..]);
        return new Guid(bytes, bigEndian: true);
    }

    /// <summary>The process id a <see cref="LeaseHolder"/> carries.</summary>
    internal static int ProcessOf(Guid holder)
    {
        Span<byte> bytes = stackalloc byte[16];
        holder.TryWriteBytes(bytes, bigEndian: true, out _);
        return BinaryPrimitives.ReadInt32BigEndian(bytes[NodeBytes..]);
    }

    /// <summary>The lowest and highest holder ids of the node with <paramref name="nodePrefix"/> (PostgreSQL orders UUIDs bytewise).</summary>
    internal static (Guid Low, Guid High) NodeRange(byte[] nodePrefix)
    {
        Span<byte> low = stackalloc byte[16];
        Span<byte> high = stackalloc byte[16];
        high.Fill(0xFF);
        nodePrefix.CopyTo(low);
        nodePrefix.CopyTo(high);
        return (new Guid(low, bigEndian: true), new Guid(high, bigEndian: true));
    }
}
