namespace Switchboard.Compliance;

/// <summary>
/// One security-relevant action: who (<see cref="ActorType"/>/<see cref="ActorId"/>), what (<see cref="Action"/>,
/// <see cref="Target"/>), when, and from where (<see cref="Ip"/>). Entries form one SHA-256 hash chain per tenant
/// (<see cref="TenantId"/> = <see cref="Guid.Empty"/> for installation-level events such as failed sign-ins for
/// unknown emails or a tenant's erasure): <c>Hash = SHA-256(canonical JSON of the fields, PrevHash)</c>. The table
/// is append-only: the application never updates or deletes a row (an interceptor refuses it), except when the
/// whole tenant is erased.
/// </summary>
internal sealed class AuditEntry
{
    public Guid Id { get; set; }
    public Guid TenantId { get; set; }

    /// <summary>Position in the tenant's chain, from 1.</summary>
    public long Seq { get; set; }

    public DateTimeOffset At { get; set; }

    /// <summary><c>user</c>, <c>api_key</c>, <c>operator</c>, <c>system</c> or <c>anonymous</c>.</summary>
    public required string ActorType { get; set; }

    public string? ActorId { get; set; }

    /// <summary>Dotted verb, e.g. <c>auth.login</c>, <c>credentials.updated</c>, <c>erasure.caller</c>.</summary>
    public required string Action { get; set; }

    public string? Target { get; set; }
    public string? Ip { get; set; }

    /// <summary>Extra facts as JSON (never secrets or callers' numbers).</summary>
    public string? DetailsJson { get; set; }

    /// <summary>Hash of the previous entry (64 zeros for the first).</summary>
    public required string PrevHash { get; set; }

    /// <summary>Lower-case hex SHA-256 of this entry.</summary>
    public required string Hash { get; set; }
}
