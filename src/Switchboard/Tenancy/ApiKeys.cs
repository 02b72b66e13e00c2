using System.Security.Cryptography;
using System.Text;

namespace Switchboard.Tenancy;

/// <summary>Secret API key format and hashing: <c>sk_live_</c> + 32 random base62 characters (≈190 bits).</summary>
internal static class ApiKeys
{
    public const string SecretPrefix = "sk_live_";
    private const string Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    /// <summary>Makes a new key; the plaintext is returned once and only its hash is stored.</summary>
    public static (string Plaintext, string Prefix, string Hash) Generate()
    {
        var key = SecretPrefix + RandomNumberGenerator.GetString(Alphabet, 32);
        return (key, key[..(SecretPrefix.Length + 4)], Hash(key));
    }

    /// <summary>Lower-case hex SHA-256. Keys are high-entropy, so a fast hash is the right choice (no password stretching).</summary>
    public static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    /// <summary>Makes a webhook shared secret: 32 random base62 characters.</summary>
    public static string GenerateWebhookSecret() => RandomNumberGenerator.GetString(Alphabet, 40);
}
