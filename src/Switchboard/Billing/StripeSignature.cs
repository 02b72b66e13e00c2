using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Switchboard.Billing;

/// <summary>Outcome of checking a <c>Stripe-Signature</c> header.</summary>
internal enum StripeSignatureResult
{
    Valid,
    Missing,
    Malformed,
    Stale,
    Invalid,
}

/// <summary>
/// Stripe webhook signatures (stripe-billing.md §6.1; Stripe.net <c>EventUtility.ValidateSignature</c>): header
/// <c>t={unix seconds},v1={hex}[,v1=…][,v0=…]</c>; <c>v1 = hex(HMAC-SHA256(key = UTF-8 of the whole secret including
/// "whsec_", message = "{t}.{raw body}"))</c>; valid when any <c>v1</c> matches (constant-time) and |now − t| ≤ tolerance.
/// </summary>
internal static class StripeSignature
{
    public static string Compute(ReadOnlySpan<byte> body, string secret, long timestamp)
    {
        var prefix = Encoding.UTF8.GetBytes(timestamp.ToString(CultureInfo.InvariantCulture) + ".");
        var message = new byte[prefix.Length + body.Length];
        prefix.CopyTo(message, 0);
        body.CopyTo(message.AsSpan(prefix.Length));
        return Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), message));
    }

    /// <summary>The header Stripe would send for <paramref name="body"/> at <paramref name="timestamp"/>.</summary>
    public static string Header(ReadOnlySpan<byte> body, string secret, long timestamp) =>
        $"t={timestamp.ToString(CultureInfo.InvariantCulture)},v1={Compute(body, secret, timestamp)}";

    public static StripeSignatureResult Verify(string? header, ReadOnlySpan<byte> body, string secret, DateTimeOffset now, TimeSpan tolerance)
    {
        if (string.IsNullOrWhiteSpace(header))
        {
            return StripeSignatureResult.Missing;
        }
        long? timestamp = null;
        var signatures = new List<byte[]>();
        foreach (var part in header.Split(','))
        {
            var eq = part.IndexOf('=');
            if (eq <= 0)
            {
                continue;
            }
            var key = part[..eq].Trim();
            var value = part[(eq + 1)..].Trim();
            if (key == "t" && long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var t))
            {
                timestamp = t;
            }
            else if (key == "v1" && value.Length == 64)
            {
                try
                {
                    signatures.Add(Convert.FromHexString(value));
                }
                catch (FormatException)
                {
                    // not hex: ignored like any other unknown scheme
                }
            }
        }
        if (timestamp is null || signatures.Count == 0)
        {
            return StripeSignatureResult.Malformed;
        }
        var expected = Convert.FromHexString(Compute(body, secret, timestamp.Value));
        var match = false;
        foreach (var signature in signatures)
        {
            match |= CryptographicOperations.FixedTimeEquals(signature, expected);
        }
        if (!match)
        {
            return StripeSignatureResult.Invalid;
        }
        return Math.Abs(now.ToUnixTimeSeconds() - timestamp.Value) > tolerance.TotalSeconds ? StripeSignatureResult.Stale : StripeSignatureResult.Valid;
    }
}
