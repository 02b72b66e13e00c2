using Switchboard.Credentials;
using Switchboard.Platform.Http;
using Switchboard.Platform.Observability;

namespace Switchboard.Twilio;

/// <summary>
/// The one <c>X-Twilio-Signature</c> check for every Twilio entry point (voice, status, recording and SMS webhooks in
/// <see cref="TwilioVoiceApi"/>, and the media-stream WebSocket upgrade), so both of Twilio's schemes are accepted the
/// same way everywhere:
/// <list type="bullet">
/// <item>no <see cref="TwilioRequestValidator.SignatureSettingsHeader"/> (or <c>algorithm=HMAC_SHA1</c>): HMAC-SHA1 keyed
/// with the tenant's Auth Token;</item>
/// <item><c>key=&lt;id&gt;,algorithm=HMAC_SHA256</c>: HMAC-SHA256 keyed with the tenant's webhook shared key, whose id
/// must match the stored one when both are known (twilio-csharp 8.2 <c>RequestValidator.GetSignatureAlgorithm</c>).</item>
/// </list>
/// The signed string is the same for both (shared/protocols/twilio-signature.md §1).
/// </summary>
internal static class TwilioSignatureCheck
{
    /// <summary>
    /// Verifies the request's signature for <paramref name="tenantId"/>. Returns null when it is valid, otherwise the
    /// error to send (all 403 in the envelope): <c>INVALID_SIGNATURE</c> (missing, wrong, another key's id, unknown
    /// algorithm) or <c>TWILIO_NOT_CONFIGURED</c> (no Auth Token, or no shared key for a SHA-256 request). Counts
    /// every refusal in <c>switchboard.signatures.rejected</c>.
    /// </summary>
    /// <param name="http">The request: its <c>X-Twilio-Signature</c> and settings headers are read.</param>
    /// <param name="tenantId">The tenant whose keys sign this request.</param>
    /// <param name="authToken">The tenant's Auth Token, already unprotected; null when it has none.</param>
    /// <param name="url">The exact public URL Twilio requested (<see cref="TwilioWebhookUrls"/>).</param>
    /// <param name="form">Every decoded form field (keys may repeat); null for a GET or WebSocket upgrade.</param>
    /// <param name="what">Names the request in the error message, e.g. "request" or "stream".</param>
    /// <param name="ct">Cancels the shared-key lookup.</param>
    public static async Task<IResult?> VerifyAsync(
        HttpContext http, Guid tenantId, string? authToken, string url, IEnumerable<KeyValuePair<string, string>>? form, string what,
        CancellationToken ct)
    {
        var services = http.RequestServices;
        var metrics = services.GetRequiredService<SwitchboardMetrics>();
        var signature = http.Request.Headers["X-Twilio-Signature"].ToString();
        var settings = TwilioRequestValidator.ReadSignatureSettings(http.Request.Headers[TwilioRequestValidator.SignatureSettingsHeader].ToString());
        if (settings is not { } how)
        {
            metrics.SignatureRejected("twilio", "algorithm");
            return ApiError.Forbidden("INVALID_SIGNATURE", $"{TwilioRequestValidator.SignatureSettingsHeader} names an unknown algorithm.");
        }
        string? key;
        if (how.Algorithm == TwilioSignatureAlgorithm.HmacSha256)
        {
            var shared = await services.GetRequiredService<CredentialStore>().GetTwilioSigningKeyAsync(tenantId, ct);
            if (shared is null)
            {
                return ApiError.Forbidden("TWILIO_NOT_CONFIGURED", "This tenant has no Twilio shared key: HMAC-SHA256 webhooks cannot be verified.");
            }
            // A key id that differs from the stored one is another key (e.g. a rotated-out one): no match.
            key = shared.KeyId is null || how.KeyId is null || string.Equals(shared.KeyId, how.KeyId, StringComparison.Ordinal) ? shared.Secret : null;
        }
        else
        {
            if (authToken is null)
            {
                return ApiError.Forbidden("TWILIO_NOT_CONFIGURED", "This tenant has no Twilio auth token: its webhooks cannot be verified.");
            }
            key = authToken;
        }
        if (key is null || !TwilioRequestValidator.Validate(url, form, signature, key, how.Algorithm))
        {
            // The media path carries the stream token: never log it.
            var path = http.Request.Path.StartsWithSegments("/media") ? "/media/twilio/…" : http.Request.Path.Value;
            services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(TwilioSignatureCheck))
                .LogWarning("Twilio signature ({Algorithm}) rejected for tenant {TenantId} at {Path}", how.Algorithm, tenantId, path);
            metrics.SignatureRejected("twilio", signature.Length == 0 ? "missing" : "invalid");
            return ApiError.Forbidden("INVALID_SIGNATURE", $"X-Twilio-Signature does not match this {what}.");
        }
        return null;
    }
}
