using Microsoft.Extensions.FileProviders;

namespace Switchboard.Dashboard;

/// <summary>
/// Serves the built dashboard (<c>web/dist</c>, from Vite) at <c>/</c>: <c>index.html</c> for <c>/</c> and for any
/// client-side route (SPA fallback), hashed files under <c>/assets/</c> cached a year as immutable, HTML never cached
/// and sent with the dashboard's Content-Security-Policy (shared/protocols/frontends.md §5.1). The fallback never
/// answers under <c>/api</c>, <c>/webhooks</c>, <c>/media</c>, <c>/openapi</c>, <c>/docs</c>, <c>/metrics</c>,
/// <c>/healthz</c>, <c>/readyz</c> or <c>/widget/v1</c> (the widget's API), nor for a path that looks like a file (<c>nonfile</c>), so those keep their
/// JSON 404 envelope. When the folder is missing, <c>/</c> answers a one-line page and the API is unaffected.
/// </summary>
internal static class DashboardHosting
{
    /// <summary>Configuration key of the folder holding the built dashboard (relative to the content root, or absolute).</summary>
    public const string PathKey = "Switchboard:Web:DashboardPath";

    /// <summary>The dashboard's CSP: scripts from the host only; inline styles allowed (Radix positions popovers with style attributes).</summary>
    public const string Csp =
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; media-src 'self' blob:; " +
        "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

    public const string NotBuiltPage = "Dashboard not built: install Node ≥ 20.19 and re-run ./switchboard";

    // Reserved prefixes are matched case-insensitively by the route constraint; "docs" also covers /docs itself.
    private const string FallbackPattern =
        "{*path:regex(^(?!(api|webhooks|media|openapi|docs|metrics|healthz|readyz|widget/v1)(/|$)).*$):nonfile}";

    /// <summary>
    /// Finds the dashboard folder: the configured path against the content root (the working directory of
    /// <c>./switchboard</c>, i.e. the repository root), else against the binary's folder and its parents (a host run
    /// from <c>.build/</c> or <c>bin/</c>). Null when no candidate exists.
    /// </summary>
    public static string? ResolveFolder(IConfiguration config, IHostEnvironment env)
    {
        var configured = config[PathKey] ?? Path.Combine("web", "dist");
        if (Path.IsPathRooted(configured))
        {
            return Directory.Exists(configured) ? configured : null;
        }
        var candidate = Path.GetFullPath(Path.Combine(env.ContentRootPath, configured));
        if (Directory.Exists(candidate))
        {
            return candidate;
        }
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            candidate = Path.Combine(dir.FullName, configured);
            if (Directory.Exists(candidate) && File.Exists(Path.Combine(dir.FullName, "Switchboard.slnx")))
            {
                return candidate;
            }
        }
        return null;
    }

    /// <summary>Static files, default document and the SPA fallback. Call after authorization, before the API groups.</summary>
    public static WebApplication UseDashboard(this WebApplication app)
    {
        var folder = ResolveFolder(app.Configuration, app.Environment);
        if (folder is null)
        {
            app.MapGet("/", (HttpContext http) =>
            {
                HtmlHeaders(http.Response.Headers);
                return TypedResults.Content($"<!doctype html><meta charset=\"utf-8\"><title>Switchboard</title><p>{NotBuiltPage}</p>", "text/html; charset=utf-8");
            }).ExcludeFromDescription();
            return app;
        }
        var files = new PhysicalFileProvider(folder);
        var options = new StaticFileOptions
        {
            FileProvider = files,
            OnPrepareResponse = ctx =>
            {
                var headers = ctx.Context.Response.Headers;
                if (ctx.File.Name.EndsWith(".html", StringComparison.OrdinalIgnoreCase))
                {
                    HtmlHeaders(headers);
                }
                else
                {
                    headers.XContentTypeOptions = "nosniff";
                    // Vite content-hashes every file under assets/, so a name never changes meaning.
                    headers.CacheControl = ctx.Context.Request.Path.StartsWithSegments("/assets")
                        ? "public, max-age=31536000, immutable" : "no-cache";
                }
            },
        };
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files }); // "/" -> /index.html
        app.UseStaticFiles(options);
        app.MapFallback(FallbackPattern, (HttpContext http) =>
        {
            var index = files.GetFileInfo("index.html");
            if (!index.Exists || index.PhysicalPath is null)
            {
                return Results.Content(NotBuiltPage, "text/plain; charset=utf-8", statusCode: 404);
            }
            HtmlHeaders(http.Response.Headers);
            return Results.File(index.PhysicalPath, "text/html; charset=utf-8");
        }).WithMetadata(new HttpMethodMetadata(["GET", "HEAD"])).ExcludeFromDescription();
        return app;
    }

    private static void HtmlHeaders(IHeaderDictionary headers)
    {
        headers.XContentTypeOptions = "nosniff";
        headers.CacheControl = "no-cache";
        headers.ContentSecurityPolicy = Csp;
        headers["Referrer-Policy"] = "same-origin";
    }
}
