using System.Security.Claims;
using Switchboard.Compliance;

namespace Switchboard.Tenancy;

/// <summary>Claim types of Switchboard principals (API key or session).</summary>
internal static class SwitchboardClaims
{
    public const string TenantId = ApiKeyAuthenticationHandler.TenantClaim;
    public const string ApiKeyId = "api_key_id";
    public const string UserId = "user_id";
    public const string SessionId = "session_id";
    public const string Role = "role";
    public const string Operator = "operator";
    public const string Csrf = "csrf";
}

/// <summary>Who is making the request, read once from the principal: for permissions and the audit log.</summary>
internal sealed record Caller(Guid? TenantId, Guid? UserId, Guid? ApiKeyId, Guid? SessionId, string? Role, bool IsOperator, string? Ip)
{
    public static Caller From(HttpContext http)
    {
        var user = http.User;
        return new Caller(
            GuidClaim(user, SwitchboardClaims.TenantId),
            GuidClaim(user, SwitchboardClaims.UserId),
            GuidClaim(user, SwitchboardClaims.ApiKeyId),
            GuidClaim(user, SwitchboardClaims.SessionId),
            user.FindFirstValue(SwitchboardClaims.Role),
            user.FindFirstValue(SwitchboardClaims.Operator) == "true",
            http.Connection.RemoteIpAddress?.ToString());
    }

    /// <summary>The audit actor: an operator, a user, an API key, or anonymous.</summary>
    public AuditActor Actor =>
        IsOperator && UserId is { } op ? new AuditActor("operator", op.ToString(), Ip)
        : UserId is { } u ? new AuditActor("user", u.ToString(), Ip)
        : ApiKeyId is { } k ? new AuditActor("api_key", k.ToString(), Ip)
        : new AuditActor("anonymous", null, Ip);

    public bool Can(Permission permission) => TenantId is not null && Roles.Allows(Role, permission, ApiKeyId is not null);

    private static Guid? GuidClaim(ClaimsPrincipal user, string type) =>
        Guid.TryParse(user.FindFirstValue(type), out var id) ? id : null;
}
