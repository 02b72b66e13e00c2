using System.Buffers;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace Switchboard.Webhooks;

/// <summary>
/// Outcome of <see cref="StandardWebhookSigner.Verify(string, string?, string?, string?, ReadOnlySpan{byte}, DateTimeOffset, TimeSpan)"/>.
/// Only <see cref="Valid"/> means the message may be processed.
/// </summary>
internal enum VerifyResult
{
    // Numbering starts at 1 so that an unassigned default(VerifyResult) never reads as Valid.

    /// <summary>A <c>v1</c> signature matched and the timestamp is within tolerance.</summary>
    Valid = 1,

    /// <summary><c>webhook-id</c>, <c>webhook-timestamp</c> or <c>webhook-signature</c> is missing or empty.</summary>
    MissingHeaders,

    /// <summary><c>webhook-timestamp</c> is not a non-negative integer count of Unix seconds.</summary>
    InvalidTimestamp,

    /// <summary>The timestamp is further in the past than the tolerance ("Message timestamp too old").</summary>
    TimestampTooOld,

    /// <summary>The timestamp is further in the future than the tolerance ("Message timestamp too new").</summary>
    TimestampTooNew,

    /// <summary>No <c>v1</c> entry of <c>webhook-signature</c> matches (tampered body, wrong secret, or no <c>v1</c> entry at all).</summary>
    InvalidSignature,

    /// <summary>
    /// The configured secret is not base64 (with or without <c>whsec_</c>) of a non-empty key. This is a
    /// configuration error on our side, not a bad request.
    /// </summary>
    InvalidSecret,
}

/// <summary>
/// Signs and verifies webhooks with the symmetric scheme of Standard Webhooks v1.0.0
/// (spec <c>spec/standard-webhooks.md</c>; shared/protocols/standard-webhooks.md): HMAC-SHA256 over
/// <c>{webhook-id}.{webhook-timestamp}.{raw body}</c>, sent as <c>v1,&lt;base64&gt;</c>.
/// </summary>
/// <remarks>
/// <para>
/// Secrets are <c>whsec_</c> + base64 of the key (spec §"Signature scheme", symmetric). The prefix is
/// optional on input, and unpadded base64 is padded before decoding, as the Python reference library
/// does (fixture <c>secret_parsing_vectors</c>); the C# reference library rejects unpadded secrets.
/// The spec asks for 24–64 byte keys; any non-empty key is accepted on input, as every reference
/// library does, and <see cref="GenerateSecret"/> makes 32-byte keys.
/// </para>
/// <para>
/// <see cref="Verify(string, string?, string?, string?, ReadOnlySpan{byte}, DateTimeOffset, TimeSpan)"/>
/// never throws: every bad input, including a bad configured secret, is a <see cref="VerifyResult"/>.
/// The sign methods throw <see cref="ArgumentException"/> for a bad secret, message id or timestamp,
/// because those come from our own code and configuration, never from a request.
/// </para>
/// <para>
/// Only <c>v1</c> is implemented, like every reference library; <c>v1a</c> (ed25519) and other entries are
/// skipped during verification. Deduplication on <c>webhook-id</c> is the caller's job.
/// </para>
/// </remarks>
internal static class StandardWebhookSigner
{
    /// <summary>Header carrying the message id, stable across retries: the idempotency key (spec §"Webhook headers").</summary>
    public const string IdHeader = "webhook-id";

    /// <summary>Header carrying the attempt's time as integer Unix seconds (spec §"Webhook headers").</summary>
    public const string TimestampHeader = "webhook-timestamp";

    /// <summary>Header carrying the space-delimited <c>version,base64</c> signature list (spec §"Webhook headers").</summary>
    public const string SignatureHeader = "webhook-signature";

    /// <summary>Serialisation prefix of a symmetric secret (spec §"Signature scheme").</summary>
    public const string SecretPrefix = "whsec_";

    /// <summary>
    /// ±5 minutes, the window every reference library uses (C# <c>TOLERANCE_IN_SECONDS = 60 * 5</c>,
    /// JS <c>WEBHOOK_TOLERANCE_IN_SECONDS = 5 * 60</c>); spec §"Verifying signatures" leaves it to the consumer.
    /// </summary>
    public static readonly TimeSpan DefaultTolerance = TimeSpan.FromMinutes(5);

    private const string SignatureVersion = "v1";

    /// <summary>Bytes of key material in a generated secret (shared/protocols/standard-webhooks.md §5).</summary>
    private const int GeneratedKeyBytes = 32;

    /// <summary>A base64 HMAC-SHA256: 32 bytes → 44 characters with padding.</summary>
    private const int MacBase64Chars = 44;

    /// <summary>Longest decimal rendering of a <see cref="long"/>, sign included.</summary>
    private const int MaxTimestampDigits = 20;

    /// <summary>Buffers up to this many bytes live on the stack; larger ones come from the pool.</summary>
    private const int StackBufferBytes = 256;

    private static readonly long MaxUnixSeconds = DateTimeOffset.MaxValue.ToUnixTimeSeconds();

    /// <summary>
    /// Creates a new endpoint secret: <c>whsec_</c> + base64 of 32 bytes from
    /// <see cref="RandomNumberGenerator"/> (50 characters). Use one secret per endpoint (spec §"Signature scheme").
    /// </summary>
    public static string GenerateSecret()
    {
        Span<byte> key = stackalloc byte[GeneratedKeyBytes];
        RandomNumberGenerator.Fill(key);
        var secret = SecretPrefix + Convert.ToBase64String(key);
        CryptographicOperations.ZeroMemory(key);
        return secret;
    }

    /// <summary>
    /// Renders a timestamp as the <c>webhook-timestamp</c> header value: integer Unix seconds, sub-second
    /// precision truncated. Send this value alongside a signature made by <see cref="Sign"/> with the same instant.
    /// </summary>
    public static string FormatTimestamp(DateTimeOffset timestamp) =>
        timestamp.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// Computes one <c>webhook-signature</c> entry (spec §"Signature scheme").
    /// </summary>
    /// <param name="secret">The endpoint secret, <c>whsec_</c> + base64 of the key; the prefix and padding are optional.</param>
    /// <param name="msgId">The <c>webhook-id</c> value. Must be non-empty and contain no <c>.</c>: the spec warns that a dot in the id makes the signed string ambiguous.</param>
    /// <param name="timestamp">The attempt's time; signed as whole Unix seconds (<see cref="FormatTimestamp"/>), so it must not be before 1970.</param>
    /// <param name="body">The raw body bytes exactly as they will be sent.</param>
    /// <returns><c>v1,</c> + base64(HMAC-SHA256(key, <c>{msgId}.{unix seconds}.{body}</c>)), 47 characters.</returns>
    /// <exception cref="ArgumentException">
    /// <paramref name="secret"/> is not base64 of a non-empty key (the message does not echo it),
    /// <paramref name="msgId"/> is empty or contains <c>.</c>, or <paramref name="timestamp"/> is before the Unix epoch.
    /// </exception>
    /// <exception cref="ArgumentNullException"><paramref name="secret"/> or <paramref name="msgId"/> is null.</exception>
    public static string Sign(string secret, string msgId, DateTimeOffset timestamp, ReadOnlySpan<byte> body)
    {
        ArgumentNullException.ThrowIfNull(secret);
        var unixSeconds = ValidateForSigning(msgId, timestamp);

        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        if (!TryComputeMac(secret, msgId, unixSeconds, body, mac))
        {
            throw InvalidSecret(nameof(secret));
        }
        return SignatureVersion + "," + Convert.ToBase64String(mac);
    }

    /// <summary>
    /// Signs with every secret and joins the entries with single spaces, the list form the spec provides
    /// for zero-downtime secret rotation (spec §"Webhook headers": old and new secrets both sign during
    /// the overlap, and a consumer holding either one accepts).
    /// </summary>
    /// <param name="secrets">One or more endpoint secrets, in the order their entries should appear.</param>
    /// <param name="msgId">As for <see cref="Sign"/>.</param>
    /// <param name="timestamp">As for <see cref="Sign"/>.</param>
    /// <param name="body">As for <see cref="Sign"/>.</param>
    /// <returns>The whole <c>webhook-signature</c> header value, e.g. <c>v1,AAA= v1,BBB=</c>.</returns>
    /// <exception cref="ArgumentException">
    /// <paramref name="secrets"/> is empty or holds a null or invalid secret, or as for <see cref="Sign"/>.
    /// </exception>
    public static string SignAll(IEnumerable<string> secrets, string msgId, DateTimeOffset timestamp, ReadOnlySpan<byte> body)
    {
        ArgumentNullException.ThrowIfNull(secrets);
        var unixSeconds = ValidateForSigning(msgId, timestamp);

        var header = new StringBuilder();
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        Span<char> encoded = stackalloc char[MacBase64Chars];
        foreach (var secret in secrets)
        {
            if (secret is null || !TryComputeMac(secret, msgId, unixSeconds, body, mac))
            {
                throw InvalidSecret(nameof(secrets));
            }
            Convert.TryToBase64Chars(mac, encoded, out var written);
            if (header.Length > 0)
            {
                header.Append(' ');
            }
            header.Append(SignatureVersion).Append(',').Append(encoded[..written]);
        }
        if (header.Length == 0)
        {
            throw new ArgumentException("At least one secret is required to sign.", nameof(secrets));
        }
        return header.ToString();
    }

    /// <summary>
    /// <see cref="Verify(string, string?, string?, string?, ReadOnlySpan{byte}, DateTimeOffset, TimeSpan)"/>
    /// reading <c>webhook-id</c>, <c>webhook-timestamp</c> and <c>webhook-signature</c> from a header map.
    /// Names match case-insensitively (HTTP field names are case-insensitive), whatever the map's comparer.
    /// </summary>
    public static VerifyResult Verify(string secret, IReadOnlyDictionary<string, string>? headers, ReadOnlySpan<byte> body, DateTimeOffset now, TimeSpan tolerance)
    {
        if (headers is null)
        {
            return VerifyResult.MissingHeaders;
        }
        return Verify(
            secret,
            FindHeader(headers, IdHeader),
            FindHeader(headers, TimestampHeader),
            FindHeader(headers, SignatureHeader),
            body,
            now,
            tolerance);
    }

    /// <summary>
    /// Verifies a received webhook (spec §"Verifying signatures"). Checks run in this order: all three
    /// headers present, timestamp an integer, timestamp within <paramref name="tolerance"/> of
    /// <paramref name="now"/>, secret usable, then a constant-time comparison against each <c>v1</c>
    /// entry of the signature list, accepting on any match. Never throws.
    /// </summary>
    /// <param name="secret">The endpoint secret, <c>whsec_</c> + base64; the prefix and padding are optional.</param>
    /// <param name="msgId">The <c>webhook-id</c> header value.</param>
    /// <param name="timestampHeader">The <c>webhook-timestamp</c> header value: ASCII digits only (no sign, point or spaces).</param>
    /// <param name="signatureHeader">
    /// The <c>webhook-signature</c> header value: space-delimited <c>version,base64</c> entries. Entries whose
    /// version is not <c>v1</c>, and malformed entries without a comma, are skipped (the C# reference
    /// library throws on the latter; here they simply cannot match).
    /// </param>
    /// <param name="body">The raw request body bytes, read before any parsing: re-serialised JSON does not verify.</param>
    /// <param name="now">The current time, from the injected <see cref="TimeProvider"/>.</param>
    /// <param name="tolerance">
    /// Allowed distance between the timestamp and <paramref name="now"/>, usually <see cref="DefaultTolerance"/>.
    /// Compared in whole seconds like the reference libraries: a message exactly at the tolerance is accepted.
    /// A negative tolerance rejects everything.
    /// </param>
    public static VerifyResult Verify(
        string secret,
        string? msgId,
        string? timestampHeader,
        string? signatureHeader,
        ReadOnlySpan<byte> body,
        DateTimeOffset now,
        TimeSpan tolerance)
    {
        if (string.IsNullOrEmpty(msgId) || string.IsNullOrEmpty(timestampHeader) || string.IsNullOrEmpty(signatureHeader))
        {
            return VerifyResult.MissingHeaders;
        }
        if (!TryParseTimestamp(timestampHeader, out var unixSeconds))
        {
            return VerifyResult.InvalidTimestamp;
        }

        // Seconds against seconds, as the reference libraries compare `now - timestamp > tolerance`.
        var age = TimeSpan.FromSeconds(now.ToUnixTimeSeconds() - unixSeconds);
        if (age > tolerance)
        {
            return VerifyResult.TimestampTooOld;
        }
        if (-age > tolerance)
        {
            return VerifyResult.TimestampTooNew;
        }

        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        if (!TryComputeMac(secret, msgId, unixSeconds, body, mac))
        {
            return VerifyResult.InvalidSecret;
        }
        Span<char> expected = stackalloc char[MacBase64Chars];
        Convert.TryToBase64Chars(mac, expected, out _);
        var expectedBytes = MemoryMarshal.AsBytes((ReadOnlySpan<char>)expected);

        var list = signatureHeader.AsSpan();
        foreach (var range in list.Split(' '))
        {
            var entry = list[range];
            var comma = entry.IndexOf(',');
            if (comma < 0 || !entry[..comma].SequenceEqual(SignatureVersion))
            {
                continue;
            }
            // Compare the base64 text, not decoded bytes, as the reference libraries do: a non-canonical
            // encoding of the right MAC is not a signature we issued. The length of a v1 entry is public
            // (44), so FixedTimeEquals returning early on a length mismatch leaks nothing.
            if (CryptographicOperations.FixedTimeEquals(expectedBytes, MemoryMarshal.AsBytes(entry[(comma + 1)..])))
            {
                return VerifyResult.Valid;
            }
        }
        return VerifyResult.InvalidSignature;
    }

    private static long ValidateForSigning(string msgId, DateTimeOffset timestamp)
    {
        ArgumentException.ThrowIfNullOrEmpty(msgId);
        if (msgId.Contains('.', StringComparison.Ordinal))
        {
            throw new ArgumentException("A webhook-id must not contain '.': it would make the signed content ambiguous.", nameof(msgId));
        }
        var unixSeconds = timestamp.ToUnixTimeSeconds();
        if (unixSeconds < 0)
        {
            // The PHP reference library rejects negative timestamps at sign time (fixture invalid-timestamp-on-sign).
            throw new ArgumentOutOfRangeException(nameof(timestamp), timestamp, "A webhook-timestamp must not be before the Unix epoch.");
        }
        return unixSeconds;
    }

    private static ArgumentException InvalidSecret(string paramName) =>
        new("A webhook secret must be 'whsec_' followed by base64 of a non-empty key.", paramName);

    private static string? FindHeader(IReadOnlyDictionary<string, string> headers, string name)
    {
        if (headers.TryGetValue(name, out var value))
        {
            return value;
        }
        foreach (var (key, candidate) in headers)
        {
            if (string.Equals(key, name, StringComparison.OrdinalIgnoreCase))
            {
                return candidate;
            }
        }
        return null;
    }

    private static bool TryParseTimestamp(string header, out long unixSeconds) =>
        long.TryParse(header, NumberStyles.None, CultureInfo.InvariantCulture, out unixSeconds)
        && unixSeconds <= MaxUnixSeconds;

    /// <summary>
    /// Decodes the secret and writes HMAC-SHA256(key, <c>{msgId}.{unixSeconds}.{body}</c>) into
    /// <paramref name="mac"/>; false when the secret is unusable.
    /// </summary>
    private static bool TryComputeMac(string? secret, string msgId, long unixSeconds, ReadOnlySpan<byte> body, Span<byte> mac)
    {
        if (secret is null)
        {
            return false;
        }
        var encoded = secret.AsSpan();
        if (encoded.StartsWith(SecretPrefix, StringComparison.Ordinal))
        {
            encoded = encoded[SecretPrefix.Length..];
        }

        var maxKeyBytes = (encoded.Length + 3) / 4 * 3;
        byte[]? rentedKey = null;
        Span<byte> key = maxKeyBytes <= StackBufferBytes
            ? stackalloc byte[StackBufferBytes]
            : rentedKey = ArrayPool<byte>.Shared.Rent(maxKeyBytes);
        try
        {
            if (!TryDecodeKey(encoded, key, out var keyLength) || keyLength == 0)
            {
                return false;
            }
            ComputeMac(key[..keyLength], msgId, unixSeconds, body, mac);
            return true;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
            if (rentedKey is not null)
            {
                ArrayPool<byte>.Shared.Return(rentedKey);
            }
        }
    }

    /// <summary>Base64-decodes, first adding the padding an unpadded secret lacks (Python reference behaviour).</summary>
    private static bool TryDecodeKey(ReadOnlySpan<char> encoded, Span<byte> key, out int keyLength)
    {
        // Convert ignores whitespace inside base64, so only significant characters decide the padding.
        var significant = encoded.Length;
        foreach (var c in encoded)
        {
            if (char.IsWhiteSpace(c))
            {
                significant--;
            }
        }
        var padding = (4 - significant % 4) % 4;
        if (padding == 0)
        {
            return Convert.TryFromBase64Chars(encoded, key, out keyLength);
        }
        if (padding == 3)
        {
            // 4n+1 characters cannot be base64 with or without padding.
            keyLength = 0;
            return false;
        }

        var length = encoded.Length + padding;
        char[]? rented = null;
        Span<char> padded = length * sizeof(char) <= StackBufferBytes
            ? stackalloc char[StackBufferBytes / sizeof(char)]
            : rented = ArrayPool<char>.Shared.Rent(length);
        try
        {
            encoded.CopyTo(padded);
            padded[encoded.Length..length].Fill('=');
            return Convert.TryFromBase64Chars(padded[..length], key, out keyLength);
        }
        finally
        {
            padded.Clear();
            if (rented is not null)
            {
                ArrayPool<char>.Shared.Return(rented);
            }
        }
    }

    private static void ComputeMac(ReadOnlySpan<byte> key, string msgId, long unixSeconds, ReadOnlySpan<byte> body, Span<byte> mac)
    {
        // One pooled buffer and the one-shot HMAC keep the per-message path free of allocations.
        var capacity = Encoding.UTF8.GetByteCount(msgId) + 1 + MaxTimestampDigits + 1 + body.Length;
        var rented = ArrayPool<byte>.Shared.Rent(capacity);
        try
        {
            var content = rented.AsSpan();
            var length = Encoding.UTF8.GetBytes(msgId, content);
            content[length++] = (byte)'.';
            unixSeconds.TryFormat(content[length..], out var digits, default, CultureInfo.InvariantCulture);
            length += digits;
            content[length++] = (byte)'.';
            body.CopyTo(content[length..]);
            length += body.Length;
            HMACSHA256.HashData(key, content[..length], mac);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
