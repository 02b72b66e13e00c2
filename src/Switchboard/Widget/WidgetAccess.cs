using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Switchboard.Billing;
using Switchboard.Platform.Cluster;
using Switchboard.Platform.Database;
using Switchboard.Platform.Http;
using Switchboard.Tenancy;

namespace Switchboard.Widget;

/// <summary>Who is calling a <c>/widget/v1</c> endpoint: the publishable key's tenant and the allowed origin (null for a same-origin or non-browser GET).</summary>
internal sealed record WidgetCaller(Guid TenantId, string? Origin)
{
    public static WidgetCaller From(HttpContext http) => (WidgetCaller)http.Items[typeof(WidgetCaller)]!;
}

/// <summary>
/// The gate in front of every <c>/widget/v1</c> request (frontends.md §3.4): the publishable key (<c>?key=pk_live_…</c>,
/// in the query so a CORS preflight carries it too) names the tenant; the browser's <c>Origin</c> must be one of the
/// tenant's allowed origins (or this host's own origin, for the demo page and the dashboard's preview). Only then is
/// <c>Access-Control-Allow-Origin: &lt;origin&gt;</c> granted; every answer carries <c>Vary: Origin</c>. A request without
/// an <c>Origin</c> may read the config (public branding) but never chat. Then the tenant's plan must include the
/// widget, the tenant must be active, and the rate limits must allow it (429 <c>RATE_LIMITED</c> with <c>Retry-After</c>):
/// first the client address's window for this tenant (<see cref="WidgetOptions.RequestsPerMinutePerClient"/>; the Origin
/// header is forgeable outside a browser, the address is not), then the origin's window shared by every visitor of the
/// site (<see cref="WidgetOptions.RequestsPerMinutePerOrigin"/>). Both are <see cref="ApiRateLimiter"/> windows, so they
/// hold across the nodes of a PostgreSQL cluster.
/// Errors are the envelope: 401 <c>INVALID_KEY</c>, 403 <c>ORIGIN_NOT_ALLOWED</c> / <c>ORIGIN_REQUIRED</c> /
/// <c>FEATURE_NOT_IN_PLAN</c> / <c>TENANT_SUSPENDED</c>. A refused key or origin is answered with
/// <c>Access-Control-Allow-Origin: *</c> so the widget reads the refusal as final instead of retrying it as an outage.
/// </summary>
internal sealed class WidgetAccessMiddleware(RequestDelegate next)
{
    public const string PathPrefix = "/widget/v1";

    /// <summary>
    /// Other paths go straight on: no state machine, and no service resolved for them (issue 13: every Vapi message passed
    /// through here).
    /// </summary>
    public Task InvokeAsync(HttpContext http)
    {
        if (!http.Request.Path.StartsWithSegments(PathPrefix))
        {
            return next(http);
        }
        var services = http.RequestServices;
        return GuardAsync(http, services.GetRequiredService<CurrentTenant>(), services.GetRequiredService<TenantAccountCache>(),
            services.GetRequiredService<ApiRateLimiter>(), services.GetRequiredService<IOptions<WidgetOptions>>(), services.GetRequiredService<TimeProvider>());
    }

    private async Task GuardAsync(HttpContext http, CurrentTenant current, TenantAccountCache accounts,
        ApiRateLimiter limiter, IOptions<WidgetOptions> options, TimeProvider clock)
    {
        // Resolved past the path check: every request passes through here, and a context rented by a long one (a media
        // stream, for its whole call) would hold a database connection that long.
        var db = http.RequestServices.GetRequiredService<SwitchboardDbContext>();
        http.Response.Headers.Vary = "Origin";
        http.Response.Headers.CacheControl = "no-store";
        var ct = http.RequestAborted;
        var rawOrigin = http.Request.Headers.Origin.ToString();
        var origin = WidgetOrigins.Normalize(rawOrigin);
        var preflight = HttpMethods.IsOptions(http.Request.Method);
        var key = http.Request.Query["key"].ToString();
        var tenantId = key.Length == 0 ? null : await PublishableKeys.ResolveAsync(db, key, clock.GetUtcNow(), ct);
        if (tenantId is null)
        {
            ReadableRefusal(http, rawOrigin);
            await ApiError.WriteAsync(http, 401, "INVALID_KEY", "The publishable key (?key=pk_live_…) is missing, revoked or unknown.");
            return;
        }
        if (rawOrigin.Length > 0)
        {
            var allowed = origin is not null && (origin == SelfOrigin(http) || WidgetOrigins.IsAllowed(origin, await db.TenantAccounts.IgnoreQueryFilters()
                .AsNoTracking().Where(a => a.TenantId == tenantId).Select(a => a.AllowedOrigins).FirstOrDefaultAsync(ct) ?? []));
            if (!allowed)
            {
                ReadableRefusal(http, rawOrigin);
                await ApiError.WriteAsync(http, 403, "ORIGIN_NOT_ALLOWED", "This site is not one of the widget's allowed origins (PUT /api/v1/widget/origins).");
                return;
            }
            http.Response.Headers.AccessControlAllowOrigin = origin;
            http.Response.Headers.AccessControlExposeHeaders = "Retry-After";
        }
        else if (!HttpMethods.IsGet(http.Request.Method))
        {
            await ApiError.WriteAsync(http, 403, "ORIGIN_REQUIRED", "Chat requests must come from a browser on an allowed origin.");
            return;
        }
        if (preflight)
        {
            http.Response.Headers.AccessControlAllowMethods = "GET, POST";
            http.Response.Headers.AccessControlAllowHeaders = "content-type, authorization";
            http.Response.Headers.AccessControlMaxAge = "7200";
            http.Response.StatusCode = StatusCodes.Status204NoContent;
            return;
        }
        var account = await accounts.GetAsync(tenantId.Value, ct);
        if (account.Status != "active")
        {
            await ApiError.WriteAsync(http, 403, "TENANT_SUSPENDED", "This business's chat is not available.");
            return;
        }
        if (!account.Plan.Has(Features.Widget))
        {
            await ApiError.WriteAsync(http, 403, "FEATURE_NOT_IN_PLAN", FeatureGate.NotInPlanMessage(account.Plan, Features.Widget, "the widget"),
                FeatureGate.NotInPlanDetails(account.Plan, Features.Widget));
            return;
        }
        // Per client first: a client over its own window is refused without taking from the site's shared window, so one
        // client forging the site's Origin can use at most RequestsPerMinutePerClient of it.
        var client = http.Connection.RemoteIpAddress is { } address ? (address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address).ToString() : "-";
        var perClient = await limiter.AcquireAsync($"widget-client:{tenantId:N}:{client}", options.Value.RequestsPerMinutePerClient, ct);
        if (!perClient.Acquired)
        {
            await TooManyAsync(http, perClient, options.Value.RequestsPerMinutePerClient, "Too many chat requests from this address; try again in a minute.");
            return;
        }
        var perOrigin = await limiter.AcquireAsync($"widget-origin:{tenantId:N}:{origin ?? "-"}", options.Value.RequestsPerMinutePerOrigin, ct);
        if (!perOrigin.Acquired)
        {
            await TooManyAsync(http, perOrigin, options.Value.RequestsPerMinutePerOrigin, "Too many chat requests from this site; try again in a minute.");
            return;
        }
        current.Set(tenantId.Value);
        http.Items[typeof(WidgetCaller)] = new WidgetCaller(tenantId.Value, origin);
        await next(http);
    }

    /// <summary>
    /// Lets the page read a refusal of its key or origin: <c>Access-Control-Allow-Origin: *</c> on the error answer only. Without
    /// it the browser hides the 401/403 as a network failure, which the widget cannot tell from the server being down, so it
    /// retried for two minutes (7 requests) on a site that will never be allowed. <c>*</c> grants nothing: the widget sends no
    /// credentials, the body is the error envelope, and a preflight still fails on the 403, so no chat request follows
    /// (fetch.spec.whatwg.org §3.2.3, CORS check; §4.8, CORS-preflight fetch needs an ok status).
    /// </summary>
    private static void ReadableRefusal(HttpContext http, string rawOrigin)
    {
        if (rawOrigin.Length > 0)
        {
            http.Response.Headers.AccessControlAllowOrigin = "*";
        }
    }

    /// <summary>429 <c>RATE_LIMITED</c> with <c>Retry-After</c> (seconds until the window ends, 1–60) and details <c>{limit, windowSeconds}</c>.</summary>
    private static Task TooManyAsync(HttpContext http, RateDecision decision, int limit, string message)
    {
        http.Response.Headers.RetryAfter = Math.Clamp((int)Math.Ceiling(decision.RetryAfter.TotalSeconds), 1, 60).ToString(CultureInfo.InvariantCulture);
        return ApiError.WriteAsync(http, 429, "RATE_LIMITED", message, new { limit, windowSeconds = 60 });
    }

    private static string SelfOrigin(HttpContext http) => $"{http.Request.Scheme}://{http.Request.Host.Value}".ToLowerInvariant() switch
    {
        var s when s.EndsWith(":80", StringComparison.Ordinal) && s.StartsWith("http://", StringComparison.Ordinal) => s[..^3],
        var s when s.EndsWith(":443", StringComparison.Ordinal) && s.StartsWith("https://", StringComparison.Ordinal) => s[..^4],
        var s => s,
    };
}

/// <summary>
/// Conversation tokens: <c>{tenantId:N}.{conversationId:N}.{issued unix seconds}</c> protected with Data Protection
/// (purpose <c>Switchboard.Widget.Conversation.v1</c>), sent back as <c>Authorization: Bearer</c>. Valid for 24 hours;
/// the widget forgets them after 30 idle minutes, and the server refuses a closed conversation.
/// </summary>
internal sealed class WidgetTokens(IDataProtectionProvider provider, TimeProvider clock)
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(24);
    private readonly IDataProtector protector = provider.CreateProtector("Switchboard.Widget.Conversation.v1");

    public string Issue(Guid tenantId, Guid conversationId) =>
        protector.Protect($"{tenantId:N}.{conversationId:N}.{clock.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)}");

    /// <summary>True when <paramref name="token"/> was issued for this tenant's conversation and has not expired.</summary>
    public bool Validate(string? token, Guid tenantId, Guid conversationId)
    {
        if (string.IsNullOrEmpty(token) || token.Length > 1000)
        {
            return false;
        }
        string plain;
        try
        {
            plain = protector.Unprotect(token);
        }
        catch (CryptographicException)
        {
            return false;
        }
        var parts = plain.Split('.');
        return parts.Length == 3
            && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(parts[0] + parts[1]), Encoding.ASCII.GetBytes($"{tenantId:N}{conversationId:N}"))
            && long.TryParse(parts[2], CultureInfo.InvariantCulture, out var issued)
            && clock.GetUtcNow() - DateTimeOffset.FromUnixTimeSeconds(issued) < Lifetime;
    }

    /// <summary>The bearer token of a request, or null.</summary>
    public static string? FromRequest(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header[7..].Trim() : null;
    }
}
