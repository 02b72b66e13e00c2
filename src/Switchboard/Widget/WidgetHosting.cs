using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Switchboard.Platform.Http;

namespace Switchboard.Widget;

/// <summary>
/// Serves the built widget (<c>widget/dist/widget.js</c>, or <c>Switchboard:Web:WidgetPath</c>) at <c>/widget.js</c>
/// with <c>Cache-Control: public, max-age=300</c> and an ETag (tenants paste a stable URL; frontends.md §3.4), and in
/// Development a test page at <c>/widget/demo</c> that embeds it with the demo tenant's publishable key under a strict CSP.
/// </summary>
internal static class WidgetHosting
{
    public static IEndpointRouteBuilder MapWidgetScript(this IEndpointRouteBuilder app)
    {
        app.MapMethods("/widget.js", [HttpMethods.Get, HttpMethods.Head], ScriptAsync).WithTags("Widget (public)").WithSummary("The embeddable widget script").ExcludeFromDescription();
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
        HttpContext http, IConfiguration config, IHostEnvironment env, IOptions<WidgetOptions> options, CancellationToken ct)
    {
        var file = Path.Combine(DistPath(config, env, options.Value), "widget.js");
        if (!File.Exists(file))
        {
            return ApiError.NotFound("WIDGET_NOT_BUILT", "widget.js is not built: run ./switchboard (Node.js 20.19+) or `npm run --prefix widget build`.");
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
        var language = lang is { Length: 2 } l && l.All(char.IsAsciiLetterLower) ? l : "fr";
        var html = new StringBuilder()
            .Append("<!doctype html><html lang=\"").Append(language).Append("\"").Append(language is "ar" or "he" ? " dir=\"rtl\"" : "").Append("><head><meta charset=\"utf-8\">")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Drain Fortin — widget demo</title></head><body>")
            .Append("<h1>Drain Fortin</h1><p>Demo page for the Switchboard widget: the chat button is in the bottom corner. ")
            .Append("Try: « Mon sous-sol est inondé, rappelez-moi au 514 555 0142 ».</p>")
            .Append("<script src=\"/widget.js\" data-key=\"").Append(System.Net.WebUtility.HtmlEncode(key)).Append("\" async></script></body></html>");
        return TypedResults.Content(html.ToString(), "text/html; charset=utf-8");
    }
}
