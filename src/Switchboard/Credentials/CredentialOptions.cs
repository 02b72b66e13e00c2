namespace Switchboard.Credentials;

/// <summary>Configuration section <c>Switchboard:Credentials</c>.</summary>
internal sealed class CredentialOptions
{
    public const string Section = "Switchboard:Credentials";

    /// <summary>
    /// Accept OpenAI-compatible base URLs on loopback, private or link-local addresses and over plain http (a local
    /// model server, tests' simulators). Off by default outside Development: a tenant-supplied URL must not reach
    /// the installation's internal network (SSRF).
    /// </summary>
    public bool AllowPrivateBaseUrls { get; set; }

    /// <summary>Timeout of a live credential check, in seconds.</summary>
    public int CheckTimeoutSeconds { get; set; } = 10;
}
