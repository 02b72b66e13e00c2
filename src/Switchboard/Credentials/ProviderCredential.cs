namespace Switchboard.Credentials;

/// <summary>
/// A tenant's credential for one provider (<c>vapi</c>, <c>twilio</c>, <c>openai</c>): the secret encrypted with
/// Data Protection, a display preview, and the last live check. Twilio's auth token is kept on the tenant
/// (<c>Tenant.TwilioAuthTokenProtected</c>, read by SMS and voice); its row here holds only the preview and check.
/// </summary>
internal sealed class ProviderCredential
{
    public Guid Id { get; set; }
    public Guid TenantId { get; set; }

    /// <summary><c>vapi</c>, <c>twilio</c> or <c>openai</c>.</summary>
    public required string Provider { get; set; }

    /// <summary>Data Protection payload of the secret; null for Twilio (see the type's remarks).</summary>
    public string? SecretProtected { get; set; }

    /// <summary>e.g. <c>sk_te…9fA2</c>.</summary>
    public required string Preview { get; set; }

    /// <summary>The non-secret half: Twilio's AccountSid, or the OpenAI-compatible base URL.</summary>
    public string? PublicValue { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public DateTimeOffset? CheckedAt { get; set; }
    public bool? CheckOk { get; set; }
    public string? CheckMessage { get; set; }
}
