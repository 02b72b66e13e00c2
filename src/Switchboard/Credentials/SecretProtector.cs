using System.Security.Cryptography;
using Microsoft.AspNetCore.DataProtection;

namespace Switchboard.Credentials;

/// <summary>
/// Encrypts provider secrets at rest with ASP.NET Core Data Protection (AES-256-CBC + HMAC-SHA256, key ids
/// in the payload, 90-day key rotation; the key ring is shared by every node through its configured folder).
/// Secrets are never logged or returned; callers show <see cref="Preview"/> instead.
/// </summary>
/// <remarks>
/// Decrypted values are kept in memory for <see cref="RecentTtl"/> (at most <see cref="RecentLimit"/> of them), keyed by
/// their ciphertext: each webhook delivery needs its endpoint's signing secret and headers, and Data Protection's unprotect
/// (key-ring lookup, HMAC check, AES decrypt) was ~1 % of the server's CPU under <c>bench ingest</c> (issue 13). A rotated
/// secret has a new ciphertext, so it is never served stale; a key revoked from the ring stops decrypting within the TTL.
/// </remarks>
internal sealed class SecretProtector(IDataProtectionProvider provider, TimeProvider clock)
{
    /// <summary>How long a decrypted value is reused.</summary>
    internal static readonly TimeSpan RecentTtl = TimeSpan.FromMinutes(1);

    /// <summary>Most decrypted values held; past it the cache is emptied and refills from what is used.</summary>
    internal const int RecentLimit = 4096;

    private readonly IDataProtector protector = provider.CreateProtector("Switchboard.Credentials.v1");

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (string Plaintext, long At)> recent = new(StringComparer.Ordinal);

    public string Protect(string plaintext) => protector.Protect(plaintext);

    /// <summary>Decrypts; returns null when the payload cannot be decrypted (wrong or lost key ring). Failures are not cached.</summary>
    public string? Unprotect(string? protectedValue)
    {
        if (string.IsNullOrEmpty(protectedValue))
        {
            return null;
        }
        var now = clock.GetTimestamp();
        if (recent.TryGetValue(protectedValue, out var hit) && clock.GetElapsedTime(hit.At, now) < RecentTtl)
        {
            return hit.Plaintext;
        }
        string plaintext;
        try
        {
            plaintext = protector.Unprotect(protectedValue);
        }
        catch (CryptographicException)
        {
            return null;
        }
        if (recent.Count >= RecentLimit)
        {
            recent.Clear();
        }
        recent[protectedValue] = (plaintext, now);
        return plaintext;
    }

    /// <summary>A safe preview such as <c>sk_te…9fA2</c>: at most 5 leading and 4 trailing characters.</summary>
    public static string Preview(string secret) =>
        secret.Length <= 12 ? new string('•', Math.Max(4, secret.Length)) : $"{secret[..5]}…{secret[^4..]}";
}
