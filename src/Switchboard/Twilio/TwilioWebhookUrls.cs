using System.Net;
using Microsoft.AspNetCore.HttpOverrides;

namespace Switchboard.Twilio;

/// <summary>
/// The URLs Twilio sees, which is what <c>X-Twilio-Signature</c> covers (twilio-signature.md §1): the configured
/// <c>Switchboard:PublicBaseUrl</c> (e.g. <c>https://switchboard.example.com</c>) when set, else the request's own
/// scheme and host, as rewritten from <c>X-Forwarded-Proto</c> / <c>X-Forwarded-Host</c> by ASP.NET Core's forwarded
/// headers middleware for trusted proxies (<see cref="ForwardedHeadersSetup.AddSwitchboardForwardedHeaders"/>).
/// </summary>
internal sealed class TwilioWebhookUrls(IConfiguration configuration)
{
    public const string PublicBaseUrlKey = "Switchboard:PublicBaseUrl";

    private string? PublicBase
    {
        get
        {
            var value = configuration[PublicBaseUrlKey];
            return string.IsNullOrWhiteSpace(value) ? null : value.Trim().TrimEnd('/');
        }
    }

    /// <summary>
    /// <c>{PublicBaseUrl}{path}</c>, for a callback URL given to Twilio outside a request (a worker's send); null when
    /// <c>Switchboard:PublicBaseUrl</c> is not configured, as no address Twilio could reach is known then.
    /// </summary>
    public string? PublicUrl(string path) => PublicBase is { } b ? b + path : null;

    /// <summary><c>https://host[/pathbase]</c> as Twilio reaches this server.</summary>
    public string BaseFor(HttpRequest request) =>
        PublicBase ?? $"{request.Scheme}://{request.Host.ToUriComponent()}{request.PathBase.ToUriComponent()}";

    /// <summary>The full URL of this request as Twilio requested it: base, path and the still-encoded query string.</summary>
    public string RequestUrl(HttpRequest request) => BaseFor(request) + request.Path.ToUriComponent() + request.QueryString.ToUriComponent();

    /// <summary>The <c>wss://</c> (or <c>ws://</c> for plain HTTP) form of <see cref="BaseFor"/>.</summary>
    public string WebSocketBaseFor(HttpRequest request) => ToWebSocket(BaseFor(request));

    /// <summary>The URL of a WebSocket upgrade request as Twilio signs it: <c>wss://host/path</c> (twilio-media-streams.md §8).</summary>
    public string WebSocketRequestUrl(HttpRequest request) => WebSocketBaseFor(request) + request.Path.ToUriComponent() + request.QueryString.ToUriComponent();

    public static string ToWebSocket(string httpUrl) =>
        httpUrl.StartsWith("https://", StringComparison.OrdinalIgnoreCase) ? "wss://" + httpUrl[8..]
        : httpUrl.StartsWith("http://", StringComparison.OrdinalIgnoreCase) ? "ws://" + httpUrl[7..]
        : httpUrl;
}

/// <summary>Forwarded headers (<c>X-Forwarded-For/-Proto/-Host</c>) from the proxies in <c>Switchboard:ForwardedHeaders</c>.</summary>
internal static class ForwardedHeadersSetup
{
    /// <summary>
    /// Trusts loopback proxies (the framework default) plus the CIDR ranges in
    /// <c>Switchboard:ForwardedHeaders:KnownNetworks</c>; <c>Switchboard:ForwardedHeaders:TrustAll=true</c> trusts any
    /// sender (only behind a proxy that overwrites these headers). A forged host cannot pass a Twilio signature check:
    /// the signature is keyed with the tenant's auth token.
    /// </summary>
    public static IServiceCollection AddSwitchboardForwardedHeaders(this IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<ForwardedHeadersOptions>(o =>
        {
            o.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto | ForwardedHeaders.XForwardedHost;
            if (configuration.GetValue("Switchboard:ForwardedHeaders:TrustAll", false))
            {
                o.KnownIPNetworks.Clear();
                o.KnownProxies.Clear();
                return;
            }
            foreach (var cidr in configuration.GetSection("Switchboard:ForwardedHeaders:KnownNetworks").Get<string[]>() ?? [])
            {
                if (System.Net.IPNetwork.TryParse(cidr, out var network))
                {
                    o.KnownIPNetworks.Add(network);
                }
                else if (IPAddress.TryParse(cidr, out var address))
                {
                    o.KnownProxies.Add(address);
                }
            }
        });
        return services;
    }
}
