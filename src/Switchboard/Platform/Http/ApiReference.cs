using Scalar.AspNetCore;

namespace Switchboard.Platform.Http;

/// <summary>
/// <c>GET /docs</c>: the API reference rendered by Scalar (Scalar.AspNetCore) from <c>/openapi/v1.json</c>. Its
/// script and stylesheet are embedded in the package and served under <c>/docs/</c> (installations may be offline):
/// no CDN, no default web fonts, no telemetry, and none of Scalar's hosted extras (AI agent, MCP, developer tools). Each response carries a strict Content-Security-Policy whose
/// <c>script-src</c> admits only Scalar's own bundle (<c>'self'</c>) and its inline start-up script through a nonce
/// drawn per request; the bundle sets inline styles, hence <c>style-src 'unsafe-inline'</c>. Requests sent from the
/// page's "test request" panel may only reach this origin (<c>connect-src 'self'</c>).
/// </summary>
internal static class ApiReference
{
    /// <summary>The path of the reference page.</summary>
    public const string Path = "/docs";

    /// <summary>Maps <c>/docs</c> (the page) and <c>/docs/*</c> (its embedded assets).</summary>
    public static IEndpointRouteBuilder MapApiReference(this IEndpointRouteBuilder app)
    {
        app.MapScalarApiReference(Path, (options, http) =>
        {
            options.WithTitle("Switchboard API reference")
                .WithOpenApiRoutePattern("/openapi/{documentName}.json")
                .DisableDefaultFonts()
                .DisableTelemetry()
                .DisableAgent()
                .DisableMcp()
                .HideDeveloperTools()
                .HideClientButton()
                .WithNonce();
            http.Response.OnStarting(() =>
            {
                var nonce = http.Items[ScalarOptions.NonceHttpContextItemKey] as string;
                http.Response.Headers.ContentSecurityPolicy = Policy(nonce);
                http.Response.Headers.XContentTypeOptions = "nosniff";
                http.Response.Headers["Referrer-Policy"] = "no-referrer";
                return Task.CompletedTask;
            });
        });
        return app;
    }

    /// <summary>The page's policy: own origin only, inline scripts only with this response's nonce.</summary>
    internal static string Policy(string? nonce) =>
        $"default-src 'none'; script-src 'self'{(nonce is null ? "" : $" 'nonce-{nonce}'")}; style-src 'self' 'unsafe-inline'; " +
        "connect-src 'self'; img-src 'self' data:; font-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
}
