using System.Security.Cryptography;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Switchboard.Platform.Http;

namespace Switchboard.Widget;

/// <summary>
/// Serves the built widget (<c>widget/dist/widget.js</c>, or <c>Switchboard:Web:WidgetPath</c>) at <c>/widget.js</c>
/// with <c>Cache-Control: public, max-age=300</c> and an ETag (tenants paste a stable URL; frontends.md §3.4), and in
/// Development a test page at <c>/widget/demo</c> that embeds it with the demo tenant's publishable key under a strict CSP.
/// The voice chunk <c>/widget/voice.js</c> (loaded on the first microphone click) and its capture worklet
/// <c>/widget/voice-worklet.js</c> are served the same way, with <c>Access-Control-Allow-Origin: *</c>: a worklet module
/// is fetched in CORS mode from the customer's page (frontends.md §3.4).
/// </summary>
internal static class WidgetHosting
{
    public static IEndpointRouteBuilder MapWidgetScript(this IEndpointRouteBuilder app)
    {
        app.MapMethods("/widget.js", [HttpMethods.Get, HttpMethods.Head], (HttpContext http, IConfiguration config, IHostEnvironment env, IOptions<WidgetOptions> options, CancellationToken ct) =>
            ScriptAsync("widget.js", http, config, env, options, ct)).WithTags("Widget (public)").WithSummary("The embeddable widget script").ExcludeFromDescription();
        app.MapMethods("/widget/voice.js", [HttpMethods.Get, HttpMethods.Head], (HttpContext http, IConfiguration config, IHostEnvironment env, IOptions<WidgetOptions> options, CancellationToken ct) =>
            ScriptAsync("voice.js", http, config, env, options, ct)).ExcludeFromDescription();
        app.MapMethods("/widget/voice-worklet.js", [HttpMethods.Get, HttpMethods.Head], (HttpContext http, IConfiguration config, IHostEnvironment env, IOptions<WidgetOptions> options, CancellationToken ct) =>
            ScriptAsync("voice-worklet.js", http, config, env, options, ct)).ExcludeFromDescription();
        app.MapGet("/widget/demo", Demo).ExcludeFromDescription();
        return app;
    }

    /// <summary>The folder holding <c>widget.js</c>.</summary>
    public static string DistPath(IConfiguration config, IHostEnvironment env, WidgetOptions options)
    {
        var path = config["Switchboard:Web:WidgetPath"] ?? options.DistPath;
        if (path is null)
        {
            // ./switchboard runs from the repository root; tests and a published copy may run elsewhere.
            var dir = new DirectoryInfo(env.ContentRootPath);
            while (dir is not null && !Directory.Exists(Path.Combine(dir.FullName, "widget")))
            {
                dir = dir.Parent;
            }
            path = Path.Combine(dir?.FullName ?? env.ContentRootPath, "widget", "dist");
        }
        return Path.GetFullPath(path);
    }

    private static async Task<Results<FileContentHttpResult, StatusCodeHttpResult, JsonHttpResult<ErrorEnvelope>>> ScriptAsync(
        string name, HttpContext http, IConfiguration config, IHostEnvironment env, IOptions<WidgetOptions> options, CancellationToken ct)
    {
        var file = Path.Combine(DistPath(config, env, options.Value), name);
        if (!File.Exists(file))
        {
            return ApiError.NotFound("WIDGET_NOT_BUILT", $"{name} is not built: run ./switchboard (Node.js 20.19+) or `npm run --prefix widget build`.");
        }
        if (name != "widget.js")
        {
            http.Response.Headers.AccessControlAllowOrigin = "*";
        }
        var bytes = await File.ReadAllBytesAsync(file, ct);
        var etag = $"\"{Convert.ToHexStringLower(SHA256.HashData(bytes))[..16]}\"";
        http.Response.Headers.CacheControl = "public, max-age=300";
        http.Response.Headers.ETag = etag;
        http.Response.Headers["Cross-Origin-Resource-Policy"] = "cross-origin";
        if (http.Request.Headers.IfNoneMatch.ToString() == etag)
        {
            return TypedResults.StatusCode(StatusCodes.Status304NotModified);
        }
        return TypedResults.File(bytes, "text/javascript; charset=utf-8");
    }

    private static Results<ContentHttpResult, NotFound> Demo(HttpContext http, IServiceProvider services, IOptions<WidgetOptions> options, string? lang)
    {
        if (!options.Value.DemoPage)
        {
            return TypedResults.NotFound();
        }
        using var scope = services.CreateScope();
        var key = scope.ServiceProvider.GetRequiredService<Platform.DemoSeeder>().ReadSaved()?.PublishableKey;
        if (key is null)
        {
            return TypedResults.NotFound();
        }
        http.Response.Headers.ContentSecurityPolicy = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self' data:";
        // The visitor's language, not one for everyone: the widget follows the page's <html lang>.
        http.Response.Headers.Vary = "Accept-Language";
        var html = WidgetDemoPage.Html(WidgetDemoPage.Language(lang, http.Request.Headers.AcceptLanguage.ToString()), key);
        return TypedResults.Content(html, "text/html; charset=utf-8");
    }
}
