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
}
