using System.Globalization;
using Microsoft.Extensions.Options;
using Switchboard.Billing;
using Switchboard.Platform.Cluster;
using Switchboard.Tenancy;

namespace Switchboard.Platform.Http;

/// <summary>
/// Fixed-window request limits on <c>/api/v1</c> (<see cref="ClusterRateLimiter"/>: cluster-wide on PostgreSQL, in
/// memory on SQLite): one window per tenant and one per API key or signed-in user, sized by the tenant's plan
/// (<see cref="Plan.RequestsPerMinute"/>, <see cref="Plan.RequestsPerMinutePerKey"/>), and one per client address for
/// anonymous <c>/api/v1/auth/*</c>. The limit is part of the key, so a plan change starts a new window at the new size.
/// </summary>
internal sealed class ApiRateLimiter(ClusterRateLimiter cluster)
{
    /// <summary>Takes one permit from the window <paramref name="partition"/> of size <paramref name="permitsPerMinute"/>.</summary>
    public ValueTask<RateDecision> AcquireAsync(string partition, int permitsPerMinute, CancellationToken ct) =>
        cluster.TryAcquireAsync($"api:{partition}|{Math.Max(1, permitsPerMinute)}", permitsPerMinute, ct);
}

/// <summary>
/// Checks every <c>/api/v1</c> request after authentication and before authorization:
/// <list type="number">
/// <item>CSRF: a cookie-authenticated POST/PUT/PATCH/DELETE needs <c>X-CSRF-Token</c> equal to the session's token (403 <c>CSRF_TOKEN_INVALID</c>); Bearer requests are exempt.</item>
/// <item>A suspended tenant is refused (403 <c>TENANT_SUSPENDED</c>), except for operators.</item>
/// <item>A secret key needs the plan's <c>api_access</c> feature (403 <c>FEATURE_NOT_IN_PLAN</c>).</item>
/// <item>Rate limits per tenant and per key by plan, per signed-in dashboard user (<see cref="AccountOptions.SessionRequestsPerMinute"/>, apart from the
/// plan's API windows), and per address for anonymous sign-in calls (429 <c>RATE_LIMITED</c> with <c>Retry-After</c> in seconds).</item>
/// </list>
/// </summary>
internal sealed class ApiGuardMiddleware(RequestDelegate next)
{
    private static readonly string[] CsrfExempt = ["/api/v1/auth/signup", "/api/v1/auth/login", "/api/v1/auth/invitations/accept",
        "/api/v1/auth/password-reset", "/api/v1/auth/password-reset/confirm", "/api/v1/auth/verify-email", "/api/v1/auth/invitations/preview"];

    /// <summary>
    /// Other paths go straight on: no state machine, and no service resolved for them (issue 13: every Vapi message passed
    /// through here).
    /// </summary>
    public Task InvokeAsync(HttpContext http) => http.Request.Path.StartsWithSegments("/api/v1")
        ? GuardAsync(http, http.RequestServices.GetRequiredService<ApiRateLimiter>(), http.RequestServices.GetRequiredService<TenantAccountCache>(),
            http.RequestServices.GetRequiredService<IOptions<AccountOptions>>())
        : next(http);

    private async Task GuardAsync(HttpContext http, ApiRateLimiter limiter, TenantAccountCache accounts, IOptions<AccountOptions> accountOptions)
    {
        var user = http.User;
        var authType = user.Identity?.IsAuthenticated == true ? user.Identity.AuthenticationType : null;
        if (authType is null)
        {
            if (http.Request.Path.StartsWithSegments("/api/v1/auth"))
            {
                var ip = http.Connection.RemoteIpAddress?.ToString() ?? "unknown";
                if (!await TryAcquireAsync(http, limiter, "ip:" + ip, accountOptions.Value.AuthRequestsPerMinutePerIp))
                {
                    return;
                }
            }
            await next(http);
            return;
        }

        if (authType == SessionAuthentication.CookieScheme && !HttpMethods.IsGet(http.Request.Method) && !HttpMethods.IsHead(http.Request.Method)
            && !HttpMethods.IsOptions(http.Request.Method) && !CsrfExempt.Any(p => http.Request.Path.Equals(p, StringComparison.OrdinalIgnoreCase))
            && !SessionAuthentication.CsrfMatches(http.Request.Headers[SessionAuthentication.CsrfHeader].ToString(), user.FindFirst(SwitchboardClaims.Csrf)?.Value))
        {
            await ApiError.WriteAsync(http, 403, "CSRF_TOKEN_INVALID", $"Cookie-authenticated changes need the {SessionAuthentication.CsrfHeader} header (the sb_csrf cookie's value).");
            return;
        }

        var caller = Caller.From(http);
        if (caller.TenantId is { } tenantId)
        {
            var account = await accounts.GetAsync(tenantId, http.RequestAborted);
            if (account.Status == "suspended" && !caller.IsOperator)
            {
                await ApiError.WriteAsync(http, 403, "TENANT_SUSPENDED", "This account is suspended. Contact the operator.");
                return;
            }
            if (authType == ApiKeyAuthenticationHandler.SchemeName && !account.Plan.Has(Features.ApiAccess))
            {
                await ApiError.WriteAsync(http, 403, "FEATURE_NOT_IN_PLAN", FeatureGate.NotInPlanMessage(account.Plan, Features.ApiAccess, "API access"),
                    FeatureGate.NotInPlanDetails(account.Plan, Features.ApiAccess));
                return;
            }
            if (authType == SessionAuthentication.CookieScheme && caller.UserId is { } sessionUser)
            {
                // The dashboard: one window per user, not the plan's API windows (AccountOptions.SessionRequestsPerMinute).
                if (!await TryAcquireAsync(http, limiter, "session:" + sessionUser,
                        Math.Max(accountOptions.Value.SessionRequestsPerMinute, account.Plan.RequestsPerMinutePerKey)))
                {
                    return;
                }
                await next(http);
                return;
            }
            if (!await TryAcquireAsync(http, limiter, "tenant:" + tenantId, account.Plan.RequestsPerMinute))
            {
                return;
            }
            var principalKey = caller.ApiKeyId is { } k ? "key:" + k : caller.UserId is { } u ? "user:" + u : null;
            if (principalKey is not null && !await TryAcquireAsync(http, limiter, principalKey, account.Plan.RequestsPerMinutePerKey))
            {
                return;
            }
        }
        await next(http);
    }

    private static async Task<bool> TryAcquireAsync(HttpContext http, ApiRateLimiter limiter, string partition, int limit)
    {
        var decision = await limiter.AcquireAsync(partition, limit, http.RequestAborted);
        if (decision.Acquired)
        {
            return true;
        }
        http.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(decision.RetryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        await ApiError.WriteAsync(http, 429, "RATE_LIMITED", $"More than {limit} requests per minute.", new { limit, windowSeconds = 60 });
        return false;
    }
}
