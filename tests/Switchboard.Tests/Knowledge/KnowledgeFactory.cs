using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Switchboard.Tests.Support;
using UglyToad.PdfPig.Content;
using UglyToad.PdfPig.Core;
using UglyToad.PdfPig.Writer;

namespace Switchboard.Tests.Knowledge;

/// <summary>
/// The host for knowledge-base tests: a small document limit (64 KB, so oversize is cheap to send), and local
/// addresses allowed for outbound fetches so a page served on 127.0.0.1 can be ingested by URL.
/// </summary>
public class KnowledgeFactory : SwitchboardFactory
{
    public const int MaxDocumentBytes = 64 * 1024;

    protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>
    {
        ["Switchboard:Knowledge:MaxDocumentBytes"] = MaxDocumentBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Switchboard:Knowledge:UrlTimeoutSeconds"] = "5",
        ["Switchboard:Webhooks:AllowInsecureUrls"] = AllowLocal ? "true" : "false",
        ["Switchboard:Webhooks:AllowPrivateNetworks"] = AllowLocal ? "true" : "false",
        ["Switchboard:Credentials:AllowPrivateBaseUrls"] = "true",
    };

    /// <summary>Whether outbound fetches may reach loopback and private addresses (off in <see cref="StrictKnowledgeFactory"/>).</summary>
    protected virtual bool AllowLocal => true;

    /// <summary>Adds a document through the API; returns the response.</summary>
    internal static Task<HttpResponseMessage> AddAsync(HttpClient api, object body) => api.PostAsJsonAsync("/api/v1/knowledge", body);

    /// <summary>Searches through the API; returns the hits array.</summary>
    internal static async Task<JsonArray> SearchAsync(HttpClient api, string query, int limit = 5)
    {
        var response = await api.GetAsync($"/api/v1/knowledge/search?q={Uri.EscapeDataString(query)}&limit={limit}");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"search '{query}' answered {(int)response.StatusCode}: {text}");
        return JsonNode.Parse(text)!["hits"]!.AsArray();
    }

    /// <summary>A one-page PDF whose text is <paramref name="lines"/>, in DejaVu Sans (Helvetica cannot encode French accents).</summary>
    internal static byte[] Pdf(string title, params string[] lines)
    {
        var builder = new PdfDocumentBuilder();
        builder.DocumentInformation.Title = title;
        var font = builder.AddTrueTypeFont(File.ReadAllBytes("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"));
        var page = builder.AddPage(PageSize.A4);
        var y = 780.0;
        foreach (var line in lines)
        {
            page.AddText(line, 11, new PdfPoint(40, y), font);
            y -= 16;
        }
        return builder.Build();
    }
}

/// <summary>The knowledge host with production-like outbound rules: no loopback or private addresses.</summary>
public sealed class StrictKnowledgeFactory : KnowledgeFactory
{
    protected override bool AllowLocal => false;
}

/// <summary>A tiny web server on 127.0.0.1 serving fixed answers by path: (status, content type, body, extra headers).</summary>
internal sealed class PageServer : IAsyncDisposable
{
    private readonly WebApplication app;
    public Dictionary<string, (int Status, string ContentType, byte[] Body, Dictionary<string, string>? Headers)> Pages { get; } = new();
    public string BaseUrl { get; }
    public int Requests;

    private PageServer(WebApplication app, string baseUrl)
    {
        this.app = app;
        BaseUrl = baseUrl;
    }

    public static async Task<PageServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        PageServer? server = null;
        app.Run(async http =>
        {
            Interlocked.Increment(ref server!.Requests);
            if (!server.Pages.TryGetValue(http.Request.Path, out var page))
            {
                http.Response.StatusCode = 404;
                return;
            }
            http.Response.StatusCode = page.Status;
            http.Response.ContentType = page.ContentType;
            foreach (var (k, v) in page.Headers ?? [])
            {
                http.Response.Headers[k] = v;
            }
            await http.Response.Body.WriteAsync(page.Body);
        });
        await app.StartAsync();
        server = new PageServer(app, app.Urls.First().TrimEnd('/'));
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
