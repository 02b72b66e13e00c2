using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace Switchboard.Twilio;

/// <summary>
/// Validates and computes the <c>X-Twilio-Signature</c> header Twilio sends on every webhook
/// (voice, messaging, status callbacks) and on WebSocket upgrades.
/// </summary>
/// <remarks>
/// <para>
/// Algorithm (Twilio docs "Webhooks security"; shared/protocols/twilio-signature.md §1):
/// <c>Base64(HMAC-SHA1(UTF8(authToken), UTF8(url + concat(name + value for each form field))))</c>,
/// standard base64 with padding (28 characters).
/// </para>
/// <para>
/// Where the official SDKs disagree this class follows twilio-csharp
/// (<c>src/Twilio/Security/RequestValidator.cs</c>): the URL string is never normalised, so scheme,
/// host and userinfo case are kept (twilio-csharp #567) and there is no twilio-node style
/// <c>'</c> ↔ <c>%27</c> retry. The one exception is repeated form keys, which twilio-csharp cannot
/// represent; there every value is signed, as twilio-node and twilio-python do.
/// </para>
/// <para>
/// The validate methods never throw: null, empty or malformed input returns <see langword="false"/>.
/// </para>
/// </remarks>
internal static class TwilioRequestValidator
{
    /// <summary>
    /// The header Twilio adds to webhooks signed with a shared key: <c>key=&lt;sharedKeyId&gt;,algorithm=HMAC_SHA256</c>
    /// (twilio-csharp 8.2 <c>RequestValidator.SignatureSettingsHeader</c>). Absent, the request was signed with the
    /// account's Auth Token using HMAC-SHA1.
    /// </summary>
    public const string SignatureSettingsHeader = "X-Twilio-Webhooks-Signature-Settings";

    /// <summary>
    /// Reads <see cref="SignatureSettingsHeader"/>: the algorithm (<see cref="TwilioSignatureAlgorithm.HmacSha1"/> when
    /// the header or its <c>algorithm=</c> is missing, as twilio-csharp's <c>GetSignatureAlgorithm</c>), the shared key's
    /// id when named, or null for an algorithm this host does not know (the request is then refused).
    /// </summary>
    public static (TwilioSignatureAlgorithm Algorithm, string? KeyId)? ReadSignatureSettings(string? header)
    {
        string? algorithm = null, keyId = null;
        foreach (var part in (header ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = part.IndexOf('=');
            if (eq <= 0)
            {
                continue;
            }
            var name = part[..eq].Trim();
            var value = part[(eq + 1)..].Trim();
            if (name.Equals("algorithm", StringComparison.OrdinalIgnoreCase))
            {
                algorithm = value;
            }
            else if (name.Equals("key", StringComparison.OrdinalIgnoreCase))
            {
                keyId = value;
            }
        }
        return algorithm switch
        {
            null or "" or "HMAC_SHA1" => (TwilioSignatureAlgorithm.HmacSha1, keyId),
            "HMAC_SHA256" => (TwilioSignatureAlgorithm.HmacSha256, keyId),
            _ => null,
        };
    }

    /// <summary>Length in characters of a base64-encoded HMAC-SHA1 (20 bytes → 28 chars with padding).</summary>
    private const int SignatureChars = 28;

    /// <summary>Length in characters of a base64-encoded HMAC-SHA256 (32 bytes → 44 chars with padding).</summary>
    private const int Sha256SignatureChars = 44;

    private static int CharsOf(TwilioSignatureAlgorithm algorithm) => algorithm == TwilioSignatureAlgorithm.HmacSha256 ? Sha256SignatureChars : SignatureChars;

    private static int BytesOf(TwilioSignatureAlgorithm algorithm) => algorithm == TwilioSignatureAlgorithm.HmacSha256 ? HMACSHA256.HashSizeInBytes : HMACSHA1.HashSizeInBytes;

    private const string BodyHashParameter = "bodySHA256";

    /// <summary>
    /// Checks the signature of a form-encoded POST (<c>application/x-www-form-urlencoded</c>) or,
    /// with no parameters, of a GET webhook or WebSocket upgrade.
    /// </summary>
    /// <param name="url">
    /// The exact public URL Twilio requested, including scheme, userinfo, port and the query string
    /// still URL-encoded as sent (Twilio error 57012: "keep any query parameters URL-encoded"). It is
    /// not normalised.
    /// </param>
    /// <param name="formParams">
    /// Every decoded body field as received; a key may repeat. Never filter this list: Twilio adds
    /// fields without notice. <see langword="null"/> means no body fields.
    /// </param>
    /// <param name="signature">The <c>X-Twilio-Signature</c> header value; missing or empty is invalid.</param>
    /// <param name="authToken">The account's Auth Token, the HMAC key. Empty is invalid.</param>
    /// <returns>
    /// <see langword="true"/> when the signature matches the URL as given, the URL without its port, or
    /// the URL with the scheme's default port added (twilio-csharp <c>Validate</c>: "check signature of
    /// url with and without port, since sig generation on back end is inconsistent").
    /// </returns>
    /// <param name="algorithm">
    /// HMAC-SHA1 keyed with the Auth Token (the default), or HMAC-SHA256 keyed with a shared key's secret when the request
    /// carries <see cref="SignatureSettingsHeader"/>; the signed string is the same for both (twilio-csharp 8.2).
    /// </param>
    public static bool Validate(
        string url, IEnumerable<KeyValuePair<string, string>>? formParams, string? signature, string authToken,
        TwilioSignatureAlgorithm algorithm = TwilioSignatureAlgorithm.HmacSha1)
    {
        if (string.IsNullOrEmpty(url) || string.IsNullOrEmpty(signature) || string.IsNullOrEmpty(authToken))
        {
            return false;
        }
        // The signature's length is public (28 or 44), so rejecting any other length early leaks nothing.
        if (signature.Length != CharsOf(algorithm))
        {
            return false;
        }

        return MatchesAnyUrlVariant(url, Encoding.UTF8.GetBytes(ConcatenateParams(formParams)), signature, authToken, algorithm);
    }

    /// <summary>
    /// Checks a JSON webhook (<c>application/json</c>): Twilio appends
    /// <c>bodySHA256=&lt;lowercase hex SHA-256 of the raw body&gt;</c> to the query string and signs the
    /// URL alone. Both the signature over the URL and the body hash must match (Twilio error 57012;
    /// twilio-csharp <c>Validate(string url, string body, string expected)</c>).
    /// </summary>
    /// <param name="url">The exact public URL Twilio requested, including the <c>bodySHA256</c> query parameter.</param>
    /// <param name="body">The raw request body bytes, read before any model binding.</param>
    /// <param name="signature">The <c>X-Twilio-Signature</c> header value.</param>
    /// <param name="authToken">The account's Auth Token.</param>
    /// <returns><see langword="false"/> when <c>bodySHA256</c> is missing, differs from the body's hash, or the signature does not match.</returns>
    public static bool ValidateJson(string url, ReadOnlySpan<byte> body, string? signature, string authToken)
    {
        if (string.IsNullOrEmpty(url) || string.IsNullOrEmpty(signature) || string.IsNullOrEmpty(authToken))
        {
            return false;
        }
        if (!BodyHashMatches(url, body))
        {
            return false;
        }
        return signature.Length == SignatureChars && MatchesAnyUrlVariant(url, [], signature, authToken, TwilioSignatureAlgorithm.HmacSha1);
    }

    /// <summary>
    /// <see cref="ValidateJson(string, ReadOnlySpan{byte}, string?, string)"/> for a body already held as a
    /// string; it is hashed as UTF-8, as twilio-csharp does. Prefer the byte overload: re-encoding a
    /// decoded body can change its bytes.
    /// </summary>
    public static bool ValidateJson(string url, string? body, string? signature, string authToken)
    {
        if (body is null)
        {
            return false;
        }
        return ValidateJson(url, Encoding.UTF8.GetBytes(body), signature, authToken);
    }

    /// <summary>
    /// Computes the <c>X-Twilio-Signature</c> value Twilio would send for this URL and form, over the URL
    /// exactly as given (no port variants). Used by the Twilio simulator to sign its requests.
    /// </summary>
    /// <param name="url">The URL to sign, byte for byte as it will be requested.</param>
    /// <param name="formParams">Decoded form fields, keys may repeat; <see langword="null"/> or empty for GET, WebSocket or JSON requests.</param>
    /// <param name="authToken">The HMAC key: the Auth Token, or a shared key's secret for HMAC-SHA256.</param>
    /// <param name="algorithm">HMAC-SHA1 (default) or HMAC-SHA256.</param>
    /// <returns>The base64 signature: 28 characters (SHA-1) or 44 (SHA-256).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="url"/> or <paramref name="authToken"/> is null.</exception>
    public static string ComputeSignature(
        string url, IEnumerable<KeyValuePair<string, string>>? formParams, string authToken,
        TwilioSignatureAlgorithm algorithm = TwilioSignatureAlgorithm.HmacSha1)
    {
        ArgumentNullException.ThrowIfNull(url);
        ArgumentNullException.ThrowIfNull(authToken);

        Span<byte> mac = stackalloc byte[BytesOf(algorithm)];
        ComputeMac(Encoding.UTF8.GetBytes(authToken), url, Encoding.UTF8.GetBytes(ConcatenateParams(formParams)), mac, algorithm);
        return Convert.ToBase64String(mac);
    }

    /// <summary>
    /// Builds the parameter part of the signed string: keys in ordinal order (twilio-csharp sorts with
    /// <see cref="StringComparer.Ordinal"/>), and for a repeated key each distinct value in ordinal order
    /// (twilio-node <c>Array.from(new Set(v)).sort()</c>, twilio-python <c>sorted(set(values))</c>;
    /// twilio-csharp takes a dictionary and cannot express repeats). No separators, no URL-encoding.
    /// </summary>
    private static string ConcatenateParams(IEnumerable<KeyValuePair<string, string>>? formParams)
    {
        if (formParams is null)
        {
            return string.Empty;
        }

        var byKey = new SortedDictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        foreach (var (key, value) in formParams)
        {
            // twilio-csharp signs a null value as "" (`parameters[key] ?? ""`); a null key is treated alike.
            var name = key ?? string.Empty;
            if (!byKey.TryGetValue(name, out var values))
            {
                values = new SortedSet<string>(StringComparer.Ordinal);
                byKey.Add(name, values);
            }
            values.Add(value ?? string.Empty);
        }

        var sb = new StringBuilder();
        foreach (var (name, values) in byKey)
        {
            foreach (var value in values)
            {
                sb.Append(name).Append(value);
            }
        }
        return sb.ToString();
    }

    private static bool MatchesAnyUrlVariant(string url, byte[] paramBytes, string signature, string authToken, TwilioSignatureAlgorithm algorithm)
    {
        // As twilio-csharp: try the URL without its port, then with a port. The URL as given is always
        // one of the two (it either has a port or has none), and a custom port such as :1234 is both
        // dropped and kept, as the https-custom-port-* vectors require.
        var key = Encoding.UTF8.GetBytes(authToken);
        var (withoutPort, withPort) = PortVariants(url);
        return Matches(key, withoutPort, paramBytes, signature, algorithm)
            || (!ReferenceEquals(withPort, withoutPort) && Matches(key, withPort, paramBytes, signature, algorithm));
    }

    private static bool Matches(byte[] key, string url, byte[] paramBytes, string signature, TwilioSignatureAlgorithm algorithm)
    {
        Span<byte> mac = stackalloc byte[BytesOf(algorithm)];
        ComputeMac(key, url, paramBytes, mac, algorithm);

        Span<char> expected = stackalloc char[CharsOf(algorithm)];
        if (!Convert.TryToBase64Chars(mac, expected, out var written) || written != expected.Length)
        {
            return false;
        }
        // Compare the base64 text, not decoded bytes: a non-canonical encoding of the right MAC is not
        // the header Twilio sends, and twilio-csharp compares strings too.
        return CryptographicOperations.FixedTimeEquals(
            MemoryMarshal.AsBytes(expected),
            MemoryMarshal.AsBytes(signature.AsSpan()));
    }

    private static void ComputeMac(byte[] key, string url, ReadOnlySpan<byte> paramBytes, Span<byte> destination, TwilioSignatureAlgorithm algorithm)
    {
        using var hmac = IncrementalHash.CreateHMAC(algorithm == TwilioSignatureAlgorithm.HmacSha256 ? HashAlgorithmName.SHA256 : HashAlgorithmName.SHA1, key);
        hmac.AppendData(Encoding.UTF8.GetBytes(url));
        hmac.AppendData(paramBytes);
        hmac.GetHashAndReset(destination);
    }

    /// <summary>
    /// Returns the URL without any port and the URL with a port (its own, or the scheme's default when it
    /// has none: 443 for https/wss, 80 for http/ws). The port sits after the host, after any userinfo.
    /// Everything else is kept character for character. A URL whose authority cannot be found yields
    /// itself twice.
    /// </summary>
    /// <remarks>
    /// twilio-csharp rebuilds the URL with <c>UriBuilder</c> and restores host and scheme case by hand;
    /// splicing the string gives the same result without <c>System.Uri</c>'s escaping changes. twilio-csharp
    /// adds 80 to any scheme other than https; wss (ConversationRelay upgrades are signed over the wss URL,
    /// twilio-media-streams.md §8) gets 443 here, and unknown schemes get no added port.
    /// </remarks>
    private static (string WithoutPort, string WithPort) PortVariants(string url)
    {
        var schemeEnd = url.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd <= 0)
        {
            return (url, url);
        }
        var authorityStart = schemeEnd + 3;
        var authorityEnd = url.AsSpan(authorityStart).IndexOfAny('/', '?', '#');
        authorityEnd = authorityEnd < 0 ? url.Length : authorityStart + authorityEnd;

        var authority = url.AsSpan(authorityStart, authorityEnd - authorityStart);
        var hostStart = authority.LastIndexOf('@') + 1;
        var hostPort = authority[hostStart..];

        // An IPv6 literal ([::1]) contains colons; its port, if any, follows the closing bracket.
        var searchFrom = hostPort is ['[', ..] ? Math.Max(hostPort.IndexOf(']'), 0) : 0;
        var colon = hostPort[searchFrom..].LastIndexOf(':');
        if (colon >= 0)
        {
            var portStart = authorityStart + hostStart + searchFrom + colon;
            var port = url.AsSpan(portStart + 1, authorityEnd - portStart - 1);
            if (!IsDigits(port))
            {
                return (url, url);
            }
            return (string.Concat(url.AsSpan(0, portStart), url.AsSpan(authorityEnd)), url);
        }

        var defaultPort = DefaultPort(url.AsSpan(0, schemeEnd));
        if (defaultPort is null)
        {
            return (url, url);
        }
        return (url, string.Concat(url.AsSpan(0, authorityEnd), defaultPort, url.AsSpan(authorityEnd)));
    }

    private static string? DefaultPort(ReadOnlySpan<char> scheme) =>
        scheme.Equals("https", StringComparison.OrdinalIgnoreCase) || scheme.Equals("wss", StringComparison.OrdinalIgnoreCase) ? ":443"
        : scheme.Equals("http", StringComparison.OrdinalIgnoreCase) || scheme.Equals("ws", StringComparison.OrdinalIgnoreCase) ? ":80"
        : null;

    private static bool IsDigits(ReadOnlySpan<char> s)
    {
        foreach (var c in s)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>
    /// True when the URL's <c>bodySHA256</c> query value equals the lowercase hex SHA-256 of
    /// <paramref name="body"/>. As in twilio-csharp the value is percent-decoded, the last occurrence
    /// wins and the comparison is exact (lowercase only, which is what Twilio sends; twilio-node and
    /// twilio-python compare exactly too).
    /// </summary>
    internal static bool BodyHashMatches(string url, ReadOnlySpan<byte> body)
    {
        var queryStart = url.IndexOf('?');
        if (queryStart < 0)
        {
            return false;
        }
        var query = url.AsSpan(queryStart + 1);
        var fragment = query.IndexOf('#');
        if (fragment >= 0)
        {
            query = query[..fragment];
        }

        string? claimed = null;
        foreach (var range in query.Split('&'))
        {
            var pair = query[range];
            var eq = pair.IndexOf('=');
            if (eq >= 0 && pair[..eq].SequenceEqual(BodyHashParameter))
            {
                claimed = Uri.UnescapeDataString(pair[(eq + 1)..].ToString());
            }
        }
        if (claimed is null)
        {
            return false;
        }

        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(body, hash);
        Span<char> hex = stackalloc char[SHA256.HashSizeInBytes * 2];
        if (!Convert.TryToHexStringLower(hash, hex, out _))
        {
            return false;
        }
        return CryptographicOperations.FixedTimeEquals(
            MemoryMarshal.AsBytes((ReadOnlySpan<char>)hex),
            MemoryMarshal.AsBytes(claimed.AsSpan()));
    }
}

/// <summary>How Twilio signed a webhook (<see cref="TwilioRequestValidator.SignatureSettingsHeader"/>).</summary>
internal enum TwilioSignatureAlgorithm
{
    /// <summary>HMAC-SHA1 keyed with the account's Auth Token (no settings header).</summary>
    HmacSha1,

    /// <summary>HMAC-SHA256 keyed with a webhook shared key's secret (<c>algorithm=HMAC_SHA256</c>).</summary>
    HmacSha256,
}
