using System.Security.Cryptography;
using System.Text;

namespace Switchboard.Calls;

/// <summary>
/// The one rule for provider ids (Vapi <c>call.id</c>, Twilio CallSid and RecordingSid) longer than their column: they are
/// stored, and looked up, in a canonical form that fits. An id that fits is its own canonical form (real ids always fit:
/// Vapi ids are UUIDs, Twilio SIDs are 34 characters). A longer one becomes its first <c>max − 17</c> characters, <c>~</c>,
/// and the first 16 hex digits of the SHA-256 of the whole id (UTF-8), so two long ids that share a prefix stay distinct
/// and every later message for the same call finds the row its first message created.
/// </summary>
internal static class ProviderIds
{
    /// <summary>Column length of <c>calls.ProviderCallId</c>.</summary>
    public const int CallIdLength = 100;

    /// <summary>Column length of <c>calls.CallSid</c>, <c>call_recordings.RecordingSid</c> and <c>call_recordings.CallSid</c>.</summary>
    public const int SidLength = 64;

    /// <summary>The canonical form of <paramref name="id"/> for a column of <paramref name="max"/> characters (max ≥ 32).</summary>
    public static string Canonical(string id, int max)
    {
        if (id.Length <= max)
        {
            return id;
        }
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(id)))[..16];
        var prefix = id[..(max - 17)];
        if (char.IsHighSurrogate(prefix[^1]))
        {
            prefix = prefix[..^1];
        }
        return prefix + "~" + hash;
    }

    /// <summary><see cref="Canonical"/> for an optional id.</summary>
    public static string? CanonicalOrNull(string? id, int max) => id is null ? null : Canonical(id, max);
}
