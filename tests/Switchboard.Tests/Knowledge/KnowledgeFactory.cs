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

    /// <summary>The bound on a PDF's decoded streams: a test PDF (an embedded DejaVu Sans) decodes to well under it.</summary>
    public const int MaxPdfDecodedBytes = 8_000_000;

    protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>
    {
        ["Switchboard:Knowledge:MaxDocumentBytes"] = MaxDocumentBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Switchboard:Knowledge:UrlTimeoutSeconds"] = "5",
        ["Switchboard:Knowledge:MaxPdfDecodedBytes"] = MaxPdfDecodedBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
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

    /// <summary>
    /// A one-page PDF whose content stream shows <paramref name="text"/> (Helvetica) and is then padded with
    /// <paramref name="padding"/> spaces, deflated (<c>/FlateDecode</c>): a run of one byte deflates about 1000 to 1, so
    /// 60 MB of padding is a file of about 60 KB. The cross-reference table gives each object's true offset.
    /// </summary>
    internal static byte[] DeflateBombPdf(string text, int padding)
    {
        byte[] content;
        using (var compressed = new MemoryStream())
        {
            using (var zlib = new System.IO.Compression.ZLibStream(compressed, System.IO.Compression.CompressionLevel.SmallestSize, leaveOpen: true))
            {
                zlib.Write(System.Text.Encoding.ASCII.GetBytes($"BT /F1 12 Tf 72 720 Td ({text}) Tj ET\n"));
                var spaces = new byte[1 << 20];
                Array.Fill(spaces, (byte)' ');
                for (var left = padding; left > 0; left -= spaces.Length)
                {
                    zlib.Write(spaces, 0, Math.Min(left, spaces.Length));
                }
            }
            content = compressed.ToArray();
        }
        return OnePagePdf(content, "/FlateDecode");
    }

    /// <summary>A one-page PDF whose content stream is <paramref name="content"/>, encoded with <paramref name="filter"/> (a PDF name).</summary>
    internal static byte[] OnePagePdf(byte[] content, string filter)
    {
        using var pdf = new MemoryStream();
        var offsets = new List<long>();
        void Write(string s) => pdf.Write(System.Text.Encoding.ASCII.GetBytes(s));
        Write("%PDF-1.4\n");
        string[] objects =
        [
            "<< /Type /Catalog /Pages 2 0 R >>",
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
            "",
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        ];
        for (var i = 0; i < objects.Length; i++)
        {
            offsets.Add(pdf.Position);
            if (i == 3)
            {
                Write($"4 0 obj\n<< /Length {content.Length} /Filter {filter} >>\nstream\n");
                pdf.Write(content);
                Write("\nendstream\nendobj\n");
            }
            else
            {
                Write($"{i + 1} 0 obj\n{objects[i]}\nendobj\n");
            }
        }
        var xref = pdf.Position;
        Write($"xref\n0 {objects.Length + 1}\n0000000000 65535 f \n");
        foreach (var offset in offsets)
        {
            Write($"{offset:D10} 00000 n \n");
        }
        Write($"trailer\n<< /Size {objects.Length + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n");
        return pdf.ToArray();
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
