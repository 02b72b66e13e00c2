using System.Security.Cryptography;
using Microsoft.AspNetCore.DataProtection;

namespace Switchboard.Credentials;

/// <summary>
/// Encrypts provider secrets at rest with ASP.NET Core Data Protection (AES-256-CBC + HMAC-SHA256, key ids
/// in the payload, 90-day key rotation; the key ring is shared by every node through its configured folder).
/// Secrets are never logged or returned; callers show <see cref="Preview"/> instead.
/// </summary>
internal sealed class SecretProtector(IDataProtectionProvider provider)
{
    private readonly IDataProtector protector = provider.CreateProtector("Switchboard.Credentials.v1");

    public string Protect(string plaintext) => protector.Protect(plaintext);

    /// <summary>Decrypts; returns null when the payload cannot be decrypted (wrong or lost key ring).</summary>
    public string? Unprotect(string? protectedValue)
    {
        if (string.IsNullOrEmpty(protectedValue))
        {
            return null;
        }
        try
        {
            return protector.Unprotect(protectedValue);
        }
        catch (CryptographicException)
        {
            return null;
        }
    }

    /// <summary>A safe preview such as <c>sk_te…9fA2</c>: at most 5 leading and 4 trailing characters.</summary>
    public static string Preview(string secret) =>
        secret.Length <= 12 ? new string('•', Math.Max(4, secret.Length)) : $"{secret[..5]}…{secret[^4..]}";
}
