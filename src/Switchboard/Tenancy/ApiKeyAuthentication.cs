using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Switchboard.Platform.Database;
using Switchboard.Platform.Http;

namespace Switchboard.Tenancy;

/// <summary>
/// Authenticates <c>Authorization: Bearer sk_…</c> against the hashed keys, and sets <see cref="CurrentTenant"/>
/// to the key's tenant. A key acts with the <c>admin</c> role; a rotated key stops working at its <c>ExpiresAt</c>.
/// Failures answer 401 in the error envelope.
/// </summary>
internal sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory loggerFactory,
    UrlEncoder encoder,
    CurrentTenant currentTenant,
    TimeProvider clock)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, loggerFactory, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string TenantClaim = "tenant_id";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (string.IsNullOrEmpty(header))
        {
            return AuthenticateResult.NoResult();
        }
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return AuthenticateResult.Fail("Unsupported authorization scheme.");
        }
        var key = header["Bearer ".Length..].Trim();
        if (!key.StartsWith("sk_", StringComparison.Ordinal) || key.Length > 200)
        {
            return AuthenticateResult.Fail("Malformed API key.");
        }
        var hash = ApiKeys.Hash(key);
        var now = clock.GetUtcNow();
        // Resolved here, not in the constructor: every request without credentials (Twilio's and Vapi's webhooks, a media
        // stream for the length of its call) comes through this scheme, and has no reason to rent a context for its whole life.
        var db = Context.RequestServices.GetRequiredService<SwitchboardDbContext>();
        var found = await db.ApiKeys.IgnoreQueryFilters().AsNoTracking()
            .Where(k => k.Hash == hash && k.RevokedAt == null && k.Kind == ApiKeyKinds.Secret && (k.ExpiresAt == null || k.ExpiresAt > now))
            .Select(k => new { k.Id, k.TenantId })
            .FirstOrDefaultAsync(Context.RequestAborted);
        if (found is null)
        {
            return AuthenticateResult.Fail("Unknown, revoked or expired API key.");
        }
        currentTenant.Set(found.TenantId);
        var identity = new ClaimsIdentity(
            [new Claim(TenantClaim, found.TenantId.ToString()), new Claim("api_key_id", found.Id.ToString()), new Claim("role", Roles.Admin)], SchemeName);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties) =>
        ApiError.WriteAsync(Context, 401, "UNAUTHENTICATED", "A valid secret API key is required: Authorization: Bearer sk_…");

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        ApiError.WriteAsync(Context, 403, "FORBIDDEN", "This key may not do that.");
}
