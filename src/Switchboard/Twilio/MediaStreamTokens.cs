using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;

namespace Switchboard.Twilio;

/// <summary>
/// What a media-stream token grants: one call's stream, for one tenant and assistant, until <see cref="ExpiresAt"/>.
/// <see cref="Nonce"/> (32 hex characters, random per token) is the key of its one use (<see cref="Switchboard.Platform.Cluster.StreamTokenLedger"/>).
/// </summary>
internal sealed record MediaStreamGrant(Guid TenantId, Guid CallId, string CallSid, Guid? AssistantId, string Language, DateTimeOffset ExpiresAt,
    string Nonce = "");

/// <summary>
/// The token in <c>wss://…/media/twilio/{token}</c>: a <see cref="MediaStreamGrant"/> encrypted and authenticated with
/// Data Protection (purpose <c>Switchboard.Twilio.MediaStream.v1</c>; the key ring is shared by every node), base64url.
/// Short-lived (<see cref="VoiceOptions.StreamTokenSeconds"/>), checked against the injected clock. A forged, altered,
/// expired or other-purpose token is refused before the WebSocket is accepted. Each token carries a random nonce, so
/// the stream endpoint accepts it once across every node (<see cref="Switchboard.Platform.Cluster.StreamTokenLedger"/>).
/// </summary>
internal sealed class MediaStreamTokens(IDataProtectionProvider provider, TimeProvider clock, IOptions<VoiceOptions> options)
{
    private readonly IDataProtector protector = provider.CreateProtector("Switchboard.Twilio.MediaStream.v1");

    public string Issue(Guid tenantId, Guid callId, string callSid, Guid? assistantId, string language)
    {
        var expires = clock.GetUtcNow().AddSeconds(options.Value.StreamTokenSeconds);
        var text = string.Join('|', "v2", tenantId.ToString("N"), callId.ToString("N"), callSid, assistantId?.ToString("N") ?? "",
            language, expires.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture), Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)));
        return WebEncoders.Base64UrlEncode(protector.Protect(Encoding.UTF8.GetBytes(text)));
    }

    /// <summary>The grant, or null when the token is malformed, forged or expired.</summary>
    public MediaStreamGrant? Read(string? token)
    {
        if (string.IsNullOrEmpty(token) || token.Length > 2048)
        {
            return null;
        }
        try
        {
            var parts = Encoding.UTF8.GetString(protector.Unprotect(WebEncoders.Base64UrlDecode(token))).Split('|');
            if (parts.Length != 8 || parts[0] != "v2" || parts[7].Length != 32
                || !Guid.TryParseExact(parts[1], "N", out var tenantId) || !Guid.TryParseExact(parts[2], "N", out var callId)
                || !long.TryParse(parts[6], NumberStyles.None, CultureInfo.InvariantCulture, out var expiresMs))
            {
                return null;
            }
            Guid? assistantId = Guid.TryParseExact(parts[4], "N", out var a) ? a : null;
            var expires = DateTimeOffset.FromUnixTimeMilliseconds(expiresMs);
            return expires < clock.GetUtcNow() ? null : new MediaStreamGrant(tenantId, callId, parts[3], assistantId, parts[5], expires, parts[7]);
        }
        catch (Exception e) when (e is CryptographicException or FormatException)
        {
            return null;
        }
    }
}
