namespace Switchboard.Tenancy;

/// <summary>A secret API key <c>sk_…</c>. Only its SHA-256 hash is stored; the key is shown once at creation.</summary>
internal sealed class ApiKey
{
    public Guid Id { get; set; }
    public Guid TenantId { get; set; }
    public required string Name { get; set; }

    /// <summary>First characters of the key, for display (e.g. <c>sk_live_4fQ2</c>).</summary>
    public required string Prefix { get; set; }

    /// <summary>Lower-case hex SHA-256 of the whole key.</summary>
    public required string Hash { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? RevokedAt { get; set; }
    public DateTimeOffset? LastUsedAt { get; set; }

    /// <summary><c>secret</c> (<c>sk_…</c>, server-to-server) or <c>publishable</c> (<c>pk_…</c>, the widget, checked against allowed origins).</summary>
    public string Kind { get; set; } = ApiKeyKinds.Secret;

    /// <summary>After this time the key no longer authenticates (set on the old key when it is rotated: the grace period).</summary>
    public DateTimeOffset? ExpiresAt { get; set; }

    /// <summary>
    /// The whole key, for publishable keys only (<c>pk_live_…</c>): it is public by design (every page embedding the
    /// widget shows it), so the dashboard can print the install snippet again. Null for secret keys and for
    /// publishable keys issued before migration 0014.
    /// </summary>
    public string? PublishableKey { get; set; }
}

internal static class ApiKeyKinds
{
    public const string Secret = "secret";
    public const string Publishable = "publishable";
}
