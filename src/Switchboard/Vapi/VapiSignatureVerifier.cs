using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Switchboard.Vapi;

/// <summary>Outcome of authenticating a Vapi server message.</summary>
internal enum VapiAuthResult
{
    Valid,
    Missing,
    Invalid,
    Stale,
}

/// <summary>
/// Authenticates Vapi server messages in the forms Vapi offers (shared/protocols/vapi-server-messages.md §7):
/// <list type="bullet">
/// <item>HMAC-SHA256 of the raw body in a configurable header (default <c>x-vapi-signature</c>), as Vapi's
/// HMAC credential sends it: <c>&lt;hex&gt;</c>, <c>sha256=&lt;hex&gt;</c>, <c>hmac-sha256=&lt;hex&gt;</c> or base64.
/// With a timestamp header configured, the signed string is <c>{timestamp}.{body}</c> (Vapi's default
/// <c>payloadFormat</c>) and the timestamp (seconds or milliseconds since the epoch) must be within the replay window.</item>
/// <item>The legacy <c>x-vapi-secret</c> header (plain shared secret), and a bearer credential
/// (<c>Authorization: Bearer &lt;secret&gt;</c>).</item>
/// </list>
/// All comparisons are constant-time.
/// </summary>
internal static class VapiSignatureVerifier
{
    /// <summary>Checks a request. <paramref name="header"/> returns a header's value or null.</summary>
    /// <param name="header">Header lookup (case-insensitive).</param>
    /// <param name="body">The exact bytes received.</param>
    /// <param name="secret">The tenant's webhook secret.</param>
    /// <param name="signatureHeader">Header holding the HMAC.</param>
    /// <param name="timestampHeader">Header holding the signed timestamp, or null for body-only signatures.</param>
    /// <param name="now">Current time.</param>
    /// <param name="window">Replay window.</param>
    public static VapiAuthResult Verify(
        Func<string, string?> header, ReadOnlySpan<byte> body, string secret, string signatureHeader,
        string? timestampHeader, DateTimeOffset now, TimeSpan window)
    {
        var signature = header(signatureHeader);
        if (!string.IsNullOrEmpty(signature))
        {
            string? timestamp = null;
            if (!string.IsNullOrEmpty(timestampHeader))
            {
                timestamp = header(timestampHeader);
                if (string.IsNullOrEmpty(timestamp))
                {
                    return VapiAuthResult.Invalid;
                }
                if (!TryParseTimestamp(timestamp, out var signedAt))
                {
                    return VapiAuthResult.Invalid;
                }
                if ((now - signedAt).Duration() > window)
                {
                    return VapiAuthResult.Stale;
                }
            }
            return HmacMatches(signature, body, secret, timestamp) ? VapiAuthResult.Valid : VapiAuthResult.Invalid;
        }

        var plain = header("x-vapi-secret");
        if (!string.IsNullOrEmpty(plain))
        {
            return FixedEquals(plain, secret) ? VapiAuthResult.Valid : VapiAuthResult.Invalid;
        }

        var authorization = header("Authorization");
        if (!string.IsNullOrEmpty(authorization) && authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return FixedEquals(authorization["Bearer ".Length..].Trim(), secret) ? VapiAuthResult.Valid : VapiAuthResult.Invalid;
        }
        return VapiAuthResult.Missing;
    }

    /// <summary>Computes the lower-case hex HMAC-SHA256 that Vapi would send (used by <c>switchboard replay</c> and tests).</summary>
    public static string Sign(ReadOnlySpan<byte> body, string secret, string? timestamp = null)
    {
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, Encoding.UTF8.GetBytes(secret));
        if (timestamp is not null)
        {
            hmac.AppendData(Encoding.UTF8.GetBytes(timestamp + "."));
        }
        hmac.AppendData(body);
        return Convert.ToHexStringLower(hmac.GetHashAndReset());
    }

    private static bool HmacMatches(string signature, ReadOnlySpan<byte> body, string secret, string? timestamp)
    {
        var value = signature.Trim();
        var eq = value.IndexOf('=');
        if (eq > 0 && value[..eq] is var scheme &&
            (scheme.Equals("sha256", StringComparison.OrdinalIgnoreCase) || scheme.Equals("hmac-sha256", StringComparison.OrdinalIgnoreCase)))
        {
            value = value[(eq + 1)..];
        }

        Span<byte> provided = stackalloc byte[64];
        int providedLength;
        if (value.Length == 64 && IsHex(value))
        {
            if (Convert.FromHexString(value, provided, out _, out providedLength) != System.Buffers.OperationStatus.Done)
            {
                return false;
            }
        }
        else if (!Convert.TryFromBase64String(value, provided, out providedLength))
        {
            return false;
        }
        if (providedLength != 32)
        {
            return false;
        }

        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, Encoding.UTF8.GetBytes(secret));
        if (timestamp is not null)
        {
            hmac.AppendData(Encoding.UTF8.GetBytes(timestamp + "."));
        }
        hmac.AppendData(body);
        Span<byte> expected = stackalloc byte[32];
        hmac.GetHashAndReset(expected);
        return CryptographicOperations.FixedTimeEquals(expected, provided[..32]);
    }

    private static bool IsHex(string s)
    {
        foreach (var c in s)
        {
            if (!char.IsAsciiHexDigit(c))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Accepts Unix seconds, Unix milliseconds (values above 10^11) or ISO-8601.</summary>
    internal static bool TryParseTimestamp(string value, out DateTimeOffset at)
    {
        if (long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n))
        {
            try
            {
                at = n > 100_000_000_000 ? DateTimeOffset.FromUnixTimeMilliseconds(n) : DateTimeOffset.FromUnixTimeSeconds(n);
                return true;
            }
            catch (ArgumentOutOfRangeException)
            {
                at = default;
                return false;
            }
        }
        return DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out at);
    }

    private static bool FixedEquals(string a, string b)
    {
        var left = SHA256.HashData(Encoding.UTF8.GetBytes(a));
        var right = SHA256.HashData(Encoding.UTF8.GetBytes(b));
        return CryptographicOperations.FixedTimeEquals(left, right);
    }
}
