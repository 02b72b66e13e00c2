using System.Security.Cryptography;

namespace Switchboard.Vapi;

/// <summary>
/// Ids of the tenants the start-up warm-up creates for its live rounds (<see cref="VapiWarmup"/>) and erases before the node
/// is ready: <c>00000000-0000-7000-8000-</c> followed by 12 random hex digits. No tenant Switchboard creates can have one:
/// its ids are UUIDv7, whose first 48 bits are the creation time in Unix milliseconds (RFC 9562 §5.7), zero only in 1970.
/// What such a tenant does is left out of the metrics, and its outbox runs only its SMS (simulated: it has no Twilio
/// credentials) and webhook deliveries (to a discard port).
/// </summary>
internal static class WarmUpTenant
{
    /// <summary>The reserved range in the RFC 9562 byte order (big-endian): 48 zero time bits, version 7, variant 10.</summary>
    private static ReadOnlySpan<byte> Prefix => [0, 0, 0, 0, 0, 0, 0x70, 0, 0x80, 0];

    /// <summary>A fresh id in the reserved range.</summary>
    public static Guid NewId()
    {
        Span<byte> bytes = stackalloc byte[16];
        Prefix.CopyTo(bytes);
        RandomNumberGenerator.Fill(bytes[Prefix.Length..]);
        return new Guid(bytes, bigEndian: true);
    }

    /// <summary>
    /// <paramref name="level"/>, or Debug for a warm-up tenant: its routine lines (a delivery refused by the discard port, a
    /// simulated SMS) ran to thousands at every start of <c>./switchboard</c>.
    /// </summary>
    public static LogLevel Quiet(Guid tenantId, LogLevel level = LogLevel.Information) => Is(tenantId) ? LogLevel.Debug : level;

    /// <summary>True for an id in the reserved range (no allocation: it runs for every webhook and outbox message).</summary>
    public static bool Is(Guid tenantId)
    {
        Span<byte> bytes = stackalloc byte[16];
        return tenantId.TryWriteBytes(bytes, bigEndian: true, out _) && bytes[..Prefix.Length].SequenceEqual(Prefix);
    }
}
