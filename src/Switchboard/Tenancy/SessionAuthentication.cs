using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Infrastructure;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.EntityFrameworkCore;
using Switchboard.Platform.Database;
using Switchboard.Platform.Http;

namespace Switchboard.Tenancy;

/// <summary>
/// Cookie sessions for the dashboard, next to secret API keys. The policy scheme <see cref="PolicyScheme"/> is the
/// default: a request with an <c>Authorization</c> header is authenticated as an API key (and is exempt from CSRF
/// checks), any other request by the <c>sb_session</c> cookie. The cookie is HttpOnly, <c>Secure</c> outside
/// Development, <c>SameSite=Lax</c>, has no <c>Expires</c> (a browser-session cookie), and holds a Data Protection
/// ticket with the session id and the CSRF token only; each request checks the session row, so logout and role
/// changes apply at once. Unsafe methods need <c>X-CSRF-Token</c> equal to the session's token (also readable in the
/// <c>sb_csrf</c> cookie and returned at sign-in): see <see cref="ApiGuardMiddleware"/>.
/// </summary>
internal static class SessionAuthentication
{
    public const string PolicyScheme = "Switchboard";
    public const string CookieScheme = "Session";
    public const string CookieName = "sb_session";
    public const string CsrfCookieName = "sb_csrf";
    public const string CsrfHeader = "X-CSRF-Token";

    /// <summary>Policy names: <c>perm:Read</c>, <c>perm:Configure</c>…, <c>signed-in</c>, <c>operator</c>.</summary>
    public static string PolicyFor(Permission permission) => "perm:" + permission;
    public const string SignedInPolicy = "signed-in";
    public const string OperatorPolicy = "operator";

    /// <summary>API key when an Authorization header is present, else the session cookie when present, else API key (its 401).</summary>
    public static string SelectScheme(HttpContext http) =>
        http.Request.Headers.Authorization.Count > 0 ? ApiKeyAuthenticationHandler.SchemeName
        : http.Request.Cookies.ContainsKey(CookieName) ? CookieScheme
        : ApiKeyAuthenticationHandler.SchemeName;

    public static void ConfigureCookie(CookieAuthenticationOptions o, bool development)
    {
        o.Cookie.Name = CookieName;
        o.Cookie.HttpOnly = true;
        o.Cookie.SecurePolicy = development ? CookieSecurePolicy.SameAsRequest : CookieSecurePolicy.Always;
        o.Cookie.SameSite = SameSiteMode.Lax;
        o.Cookie.Path = "/";
        o.SlidingExpiration = false;
        o.Events = new CookieAuthenticationEvents
        {
            OnValidatePrincipal = ValidateAsync,
            OnRedirectToLogin = ctx => ApiError.WriteAsync(ctx.HttpContext, 401, "UNAUTHENTICATED", "Sign in, or use a secret API key: Authorization: Bearer sk_…"),
            OnRedirectToAccessDenied = ctx => ApiError.WriteAsync(ctx.HttpContext, 403, "FORBIDDEN", "Not allowed."),
            OnRedirectToLogout = ctx =>
            {
                ctx.Response.StatusCode = 204;
                return Task.CompletedTask;
            },
        };
    }

    public static void AddPolicies(AuthorizationOptions o)
    {
        // Fail closed: the default (used by RequireAuthorization()) needs a tenant to act for.
        o.DefaultPolicy = new AuthorizationPolicyBuilder().RequireAuthenticatedUser().RequireClaim(SwitchboardClaims.TenantId).Build();
        foreach (var permission in Enum.GetValues<Permission>())
        {
            o.AddPolicy(PolicyFor(permission), p => p.RequireAuthenticatedUser().RequireAssertion(ctx =>
                ctx.User.FindFirst(SwitchboardClaims.TenantId) is not null
                && Roles.Allows(ctx.User.FindFirst(SwitchboardClaims.Role)?.Value, permission, ctx.User.FindFirst(SwitchboardClaims.ApiKeyId) is not null)));
        }
        o.AddPolicy(SignedInPolicy, p => p.RequireAuthenticatedUser());
        o.AddPolicy(OperatorPolicy, p => p.RequireAuthenticatedUser().RequireClaim(SwitchboardClaims.Operator, "true"));
    }

    /// <summary>Requires <paramref name="permission"/> in the current tenant (403 otherwise).</summary>
    public static TBuilder RequirePermission<TBuilder>(this TBuilder builder, Permission permission) where TBuilder : IEndpointConventionBuilder =>
        builder.RequireAuthorization(PolicyFor(permission));

    /// <summary>Makes the principal a cookie ticket carries: the session id and the CSRF token.</summary>
    public static ClaimsPrincipal TicketPrincipal(Guid sessionId, string csrf) =>
        new(new ClaimsIdentity([new Claim(SwitchboardClaims.SessionId, sessionId.ToString()), new Claim(SwitchboardClaims.Csrf, csrf)], CookieScheme));

    /// <summary>Resolves the session row into the request's principal (user, tenant, role, operator) and sets <see cref="CurrentTenant"/>.</summary>
    private static async Task ValidateAsync(CookieValidatePrincipalContext ctx)
    {
        var services = ctx.HttpContext.RequestServices;
        var now = services.GetRequiredService<TimeProvider>().GetUtcNow();
        var principal = ctx.Principal;
        var csrf = principal?.FindFirst(SwitchboardClaims.Csrf)?.Value;
        if (!Guid.TryParse(principal?.FindFirst(SwitchboardClaims.SessionId)?.Value, out var sessionId) || csrf is null)
        {
            await RejectAsync(ctx);
            return;
        }
        var db = services.GetRequiredService<SwitchboardDbContext>();
        var row = await db.UserSessions.AsNoTracking()
            .Where(s => s.Id == sessionId && s.RevokedAt == null && s.ExpiresAt > now)
            .Join(db.Users, s => s.UserId, u => u.Id, (s, u) => new { s.UserId, s.TenantId, u.IsOperator })
            .FirstOrDefaultAsync(ctx.HttpContext.RequestAborted);
        if (row is null)
        {
            await RejectAsync(ctx);
            return;
        }
        var isOperator = row.IsOperator;
        string? role = null;
        if (row.TenantId is { } tenantId)
        {
            role = await db.Memberships.IgnoreQueryFilters().AsNoTracking()
                .Where(m => m.TenantId == tenantId && m.UserId == row.UserId).Select(m => m.Role).FirstOrDefaultAsync(ctx.HttpContext.RequestAborted);
            if (role is null && isOperator && await db.Tenants.AnyAsync(t => t.Id == tenantId, ctx.HttpContext.RequestAborted))
            {
                role = Roles.Owner;
            }
        }
        var claims = new List<Claim>
        {
            new(SwitchboardClaims.SessionId, sessionId.ToString()),
            new(SwitchboardClaims.UserId, row.UserId.ToString()),
            new(SwitchboardClaims.Csrf, csrf),
        };
        if (isOperator)
        {
            claims.Add(new Claim(SwitchboardClaims.Operator, "true"));
        }
        if (row.TenantId is { } t && role is not null)
        {
            claims.Add(new Claim(SwitchboardClaims.TenantId, t.ToString()));
            claims.Add(new Claim(SwitchboardClaims.Role, role));
            services.GetRequiredService<CurrentTenant>().Set(t);
        }
        ctx.ReplacePrincipal(new ClaimsPrincipal(new ClaimsIdentity(claims, CookieScheme)));
    }

    private static async Task RejectAsync(CookieValidatePrincipalContext ctx)
    {
        ctx.RejectPrincipal();
        await ctx.HttpContext.SignOutAsync(CookieScheme);
    }

    /// <summary>Constant-time comparison of the CSRF header with the session's token.</summary>
    public static bool CsrfMatches(string? header, string? expected) =>
        !string.IsNullOrEmpty(header) && !string.IsNullOrEmpty(expected)
        && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header), Encoding.UTF8.GetBytes(expected));
}

/// <summary>
/// Turns an authorization failure into the error envelope: 401 through the scheme's challenge, 403 with a
/// reason (<c>NO_TENANT</c> when the principal acts for no tenant, <c>INSUFFICIENT_ROLE</c> otherwise).
/// </summary>
internal sealed class EnvelopeAuthorizationResultHandler : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler fallback = new();

    public Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (authorizeResult.Forbidden && context.User.Identity?.IsAuthenticated == true)
        {
            return context.User.FindFirst(SwitchboardClaims.TenantId) is null && !policy.Requirements.OfType<ClaimsAuthorizationRequirement>().Any(r => r.ClaimType == SwitchboardClaims.Operator)
                ? ApiError.WriteAsync(context, 403, "NO_TENANT", "This session acts for no tenant: switch to one first.")
                : ApiError.WriteAsync(context, 403, "INSUFFICIENT_ROLE", "Your role does not allow this.");
        }
        return fallback.HandleAsync(next, context, policy, authorizeResult);
    }
}
