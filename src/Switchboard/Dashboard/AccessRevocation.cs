using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Switchboard.Dashboard;

/// <summary>What an <see cref="AccessRevocation"/> names.</summary>
internal enum AccessRevocationKind
{
    /// <summary>One session (logout): <see cref="AccessRevocation.Id"/> is the session id.</summary>
    Session,

    /// <summary>One API key (revoked, or rotated without grace): <see cref="AccessRevocation.Id"/> is the key id.</summary>
    ApiKey,

    /// <summary>A user's access to one tenant (removed from the team): the user id, with <see cref="AccessRevocation.TenantId"/>.</summary>
    Member,

    /// <summary>Every session of a user, whatever tenant it acts for (password reset): the user id.</summary>
    User,

    /// <summary>Everyone's access to a tenant (erased): the tenant id.</summary>
    Tenant,
}

/// <summary>
/// An access-revoked signal: a login or key just lost its access, so every open live-event stream it authorised ends at once,
/// on every node (<see cref="ILiveEventTransport.RevokeAccessAsync"/>, <see cref="LiveEventHub.Revoke"/>). It names ids only,
/// never a secret, and is never sent to a client as an event. The streams' re-check at each ping stays the safety net for a
/// signal that was lost (a node that was not listening at the time).
/// </summary>
/// <param name="Kind">What <paramref name="Id"/> is.</param>
/// <param name="Id">The session, API key, user or tenant id.</param>
/// <param name="TenantId">For <see cref="AccessRevocationKind.Member"/>: the tenant the user was removed from; otherwise null.</param>
internal sealed record AccessRevocation(AccessRevocationKind Kind, Guid Id, Guid? TenantId = null)
{
    /// <summary>How a signal's <c>NOTIFY</c> payload starts; an event's payload starts with a tenant id, never with this.</summary>
    public const string PayloadPrefix = "revoke:";

    public static AccessRevocation Session(Guid sessionId) => new(AccessRevocationKind.Session, sessionId);

    public static AccessRevocation ApiKey(Guid keyId) => new(AccessRevocationKind.ApiKey, keyId);

    public static AccessRevocation Member(Guid tenantId, Guid userId) => new(AccessRevocationKind.Member, userId, tenantId);

    public static AccessRevocation User(Guid userId) => new(AccessRevocationKind.User, userId);

    public static AccessRevocation Tenant(Guid tenantId) => new(AccessRevocationKind.Tenant, tenantId);

    /// <summary>The <c>NOTIFY</c> payload: <c>revoke:{kind}:{id}</c>, and <c>:{tenantId}</c> for a member (ids in the 32-digit form).</summary>
    public string ToPayload() => TenantId is { } tenant
        ? string.Create(CultureInfo.InvariantCulture, $"{PayloadPrefix}{Kind}:{Id:N}:{tenant:N}")
        : string.Create(CultureInfo.InvariantCulture, $"{PayloadPrefix}{Kind}:{Id:N}");

    /// <summary>Reads a payload written by <see cref="ToPayload"/>; false for anything else (a member without its tenant included).</summary>
    public static bool TryParse(string payload, [NotNullWhen(true)] out AccessRevocation? revocation)
    {
        revocation = null;
        if (!payload.StartsWith(PayloadPrefix, StringComparison.Ordinal))
        {
            return false;
        }
        var parts = payload[PayloadPrefix.Length..].Split(':');
        if (parts.Length is < 2 or > 3 || !Enum.TryParse<AccessRevocationKind>(parts[0], ignoreCase: false, out var kind)
            || !Enum.IsDefined(kind) || !Guid.TryParseExact(parts[1], "N", out var id))
        {
            return false;
        }
        Guid? tenantId = null;
        if (parts.Length == 3)
        {
            if (!Guid.TryParseExact(parts[2], "N", out var t))
            {
                return false;
            }
            tenantId = t;
        }
        if ((kind == AccessRevocationKind.Member) != tenantId.HasValue)
        {
            return false;
        }
        revocation = new AccessRevocation(kind, id, tenantId);
        return true;
    }
}
