using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Knowledge;

/// <summary>
/// Sources the outside probe of 2026-12-07 turned into 500s, or into text PostgreSQL refuses: a page whose body its
/// Content-Encoding does not decode, a charset the runtime will not decode (UTF-7), Markdown nested past the parser's depth
/// limit, a title or word cut in the middle of a surrogate pair, a PDF title holding U+0000; and a form of too many parts
/// that was answered as a document too large.
/// </summary>
[Trait("Category", "Database")]
public sealed class KnowledgeMalformedSourceTests(KnowledgeFactory factory) : IClassFixture<KnowledgeFactory>
{
    [Theory]
    [InlineData("gzip")]
    [InlineData("deflate")]
    [InlineData("br")]
    public async Task APageThatItsContentEncodingDoesNotDecodeIsRefusedAndNothingIsStored(string encoding)
    {
        var tenant = await factory.CreateTenantAsync();
        using var api = factory.ApiClient(tenant);
        await using var pages = await PageServer.StartAsync();
        pages.Pages["/faq.html"] = (200, "text/html; charset=utf-8", Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("not compressed at all ", 20))),
            new Dictionary<string, string> { ["Content-Encoding"] = encoding });

        var response = await KnowledgeFactory.AddAsync(api, new { type = "url", url = pages.BaseUrl + "/faq.html" });

        await KnowledgeApiTests.AssertEnvelopeAsync(response, HttpStatusCode.UnprocessableEntity, "URL_FETCH_FAILED");
        Assert.Equal(0, await factory.WithDbAsync(tenant.Id, db => db.KnowledgeDocuments.CountAsync()));
    }

    [Fact]
    public async Task APageThatItsContentEncodingDecodesIsIngested()
    {
        var tenant = await factory.CreateTenantAsync();
        using var api = factory.ApiClient(tenant);
        await using var pages = await PageServer.StartAsync();
        using var compressed = new MemoryStream();
        await using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            await gzip.WriteAsync(Encoding.UTF8.GetBytes("<html><body><p>Débouchage de drains 24 heures sur 24.</p></body></html>"));
        }
        pages.Pages["/faq.html"] = (200, "text/html; charset=utf-8", compressed.ToArray(), new Dictionary<string, string> { ["Content-Encoding"] = "gzip" });

        var response = await KnowledgeFactory.AddAsync(api, new { type = "url", url = pages.BaseUrl + "/faq.html" });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Single(await KnowledgeFactory.SearchAsync(api, "débouchage"));
    }

    [Fact]
    public async Task ACharsetTheRuntimeWillNotDecodeIsReadAsUndeclared()
    {
        var tenant = await factory.CreateTenantAsync();
        using var api = factory.ApiClient(tenant);
        await using var pages = await PageServer.StartAsync();
        pages.Pages["/tarifs.txt"] = (200, "text/plain; charset=utf-7", Encoding.UTF8.GetBytes("Le déplacement de nuit coûte 175 $."), null);

        var byUrl = await KnowledgeFactory.AddAsync(api, new { type = "url", url = pages.BaseUrl + "/tarifs.txt" });
        using var form = new MultipartFormDataContent();
        var file = new ByteArrayContent(Encoding.UTF8.GetBytes("Le chauffe-eau est garanti six ans."));
        file.Headers.ContentType = MediaTypeHeaderValue.Parse("text/plain; charset=utf-7");
        form.Add(file, "file", "garantie.txt");
        var byUpload = await api.PostAsync("/api/v1/knowledge", form);

        Assert.Equal(HttpStatusCode.Created, byUrl.StatusCode);
        Assert.Equal(HttpStatusCode.Created, byUpload.StatusCode);
        Assert.Single(await KnowledgeFactory.SearchAsync(api, "déplacement"));
        Assert.Single(await KnowledgeFactory.SearchAsync(api, "chauffe-eau"));
    }

    [Theory]
    [InlineData("> ", 300)]
    [InlineData("*", 2000)]
    public async Task MarkdownNestedPastTheParsersLimitIsUnreadableAndNothingIsStored(string opener, int depth)
    {
        var tenant = await factory.CreateTenantAsync();
        using var api = factory.ApiClient(tenant);
        var content = string.Concat(Enumerable.Repeat(opener, depth)) + "sous-sol inondé" + (opener == "*" ? string.Concat(Enumerable.Repeat("*", depth)) : "");

        var response = await KnowledgeFactory.AddAsync(api, new { type = "markdown", content });

        await KnowledgeApiTests.AssertEnvelopeAsync(response, HttpStatusCode.UnprocessableEntity, "UNREADABLE_DOCUMENT");
        Assert.Equal(0, await factory.WithDbAsync(tenant.Id, db => db.KnowledgeDocuments.CountAsync()));
    }

    [Theory]
    [InlineData("<div>", "</div>")]
    [InlineData("<b>", "")] // unclosed formatting elements: the adoption agency's worst case
    [InlineData("<table><tr><td>", "</td></tr></table>")]
    public async Task HtmlNestedDeeperThanBrowsersGoIsRefusedUnread(string open, string close)
    {
        var tenant = await factory.CreateTenantAsync();
        using var api = factory.ApiClient(tenant);
        const int Depth = Switchboard.Knowledge.DocumentExtractor.MaxHtmlDepth + 100;
        var content = "<html><body>" + string.Concat(Enumerable.Repeat(open, Depth)) + "Sous-sol inondé" + string.Concat(Enumerable.Repeat(close, Depth)) + "</body></html>";

        var response = await KnowledgeFactory.AddAsync(api, new { type = "html", content });

        await KnowledgeApiTests.AssertEnvelopeAsync(response, HttpStatusCode.UnprocessableEntity, "UNREADABLE_DOCUMENT");
        Assert.Equal(0, await factory.WithDbAsync(tenant.Id, db => db.KnowledgeDocuments.CountAsync()));
    }

    [Fact]
    public async Task LongButShallowHtmlIsStillRead()
    {
        var tenant = await factory.CreateTenantAsync();
        using var api = factory.ApiClient(tenant);
        // Many more elements than the limit whose end tags are optional or implied (items, paragraphs, cells, links left open;
        // 400 of each within the test host's 64 KB document limit), nesting deeper than Chromium's (600 > 512) but under the
        // limit, script text that looks like tags, and self-closing SVG.
        var content = "<html><body><ul>" + string.Concat(Enumerable.Range(0, 400).Select(i => $"<li>Service {i}")) + "</ul>"
            + string.Concat(Enumerable.Range(0, 400).Select(i => $"<p>Paragraphe {i} <a href=\"/s{i}\">lien")) + "<table>"
            + string.Concat(Enumerable.Range(0, 400).Select(i => $"<tr><td>cellule {i}")) + "</table>"
            + "<script>" + string.Concat(Enumerable.Repeat("<div>", 1100)) + "</script>"
            + "<svg>" + string.Concat(Enumerable.Repeat("<path d=\"M0 0\"/>", 1100)) + "</svg>"
            + string.Concat(Enumerable.Repeat("<div>", 600)) + "Clapet antiretour posé en une heure." + string.Concat(Enumerable.Repeat("</div>", 600))
            + "</body></html>";

        var response = await KnowledgeFactory.AddAsync(api, new { type = "html", content });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Single(await KnowledgeFactory.SearchAsync(api, "clapet antiretour"));
    }

    [Fact]
    public void TheNestingEstimateFollowsTheTreeBuilder()
    {
        Assert.Equal(2, Switchboard.Knowledge.DocumentExtractor.NestingDepth("<div><span>a<br><img src=x></span></div><div></div>", 100));
        Assert.Equal(1, Switchboard.Knowledge.DocumentExtractor.NestingDepth("<svg><path/><path/></svg>", 100));
        Assert.Equal(0, Switchboard.Knowledge.DocumentExtractor.NestingDepth("<script>if (a<b) { '<div><div>' }</script><!-- <div><div> --><p>x<p>y", 100));
        Assert.Equal(3, Switchboard.Knowledge.DocumentExtractor.NestingDepth("<div><div></span></span><div>", 100)); // stray end tags are ignored
        Assert.Equal(2, Switchboard.Knowledge.DocumentExtractor.NestingDepth("<div>" + string.Concat(Enumerable.Repeat("<a href=x>lien ", 500)), 100));
        // It stops one past the limit, however deep the rest goes.
        Assert.Equal(101, Switchboard.Knowledge.DocumentExtractor.NestingDepth(string.Concat(Enumerable.Repeat("<div>", 200_000)), 100));
    }

    [Fact]
    public async Task TitlesHeadingsAndWordsCutAtTheirLimitNeverSplitACharacter()
    {
        var tenant = await factory.CreateTenantAsync();
        using var api = factory.ApiClient(tenant);
        var title = new string('a', 299) + "😀 fin";
        var heading = new string('h', 499) + "😀 fin";
        var word = new string('w', 1199) + string.Concat(Enumerable.Repeat("😀", 10));

        var html = await KnowledgeFactory.AddAsync(api, new { type = "html", content = $"<title>{title}</title><p>Le titre de cette page est long.</p>" });
        var markdown = await KnowledgeFactory.AddAsync(api, new { type = "markdown", content = $"# {heading}\nUne section au titre long.\n\n{word} et la suite." });

        Assert.Equal(new string('a', 299), (await html.JsonAsync(HttpStatusCode.Created))["title"]!.GetValue<string>());
        var id = (await markdown.JsonAsync(HttpStatusCode.Created))["id"]!.GetValue<Guid>();
        var chunks = await factory.WithDbAsync(tenant.Id, db => db.KnowledgeChunks.Where(c => c.DocumentId == id).Select(c => new { c.Heading, c.Text }).ToListAsync());
        Assert.All(chunks, c => Assert.Equal(new string('h', 499), c.Heading));
        Assert.Contains(chunks, c => c.Text.Contains(new string('w', 1199) + " et la suite.", StringComparison.Ordinal));
        Assert.DoesNotContain(chunks, c => c.Text.Contains('\uFFFD', StringComparison.Ordinal)); // SQLite stored the cut half as U+FFFD
        Assert.All(chunks, c => Assert.True(IsWellFormed(c.Heading + c.Text), c.Heading + " / " + c.Text));
    }

    [Fact]
    public async Task APdfTitleWithControlCharactersIsStoredWithoutThem()
    {
        var tenant = await factory.CreateTenantAsync();
        using var api = factory.ApiClient(tenant);
        var pdf = KnowledgeFactory.Pdf("Garantie\0 deux\u0007 ans", "Garantie de deux ans sur la main-d'œuvre.");

        var response = await KnowledgeFactory.AddAsync(api, new { type = "pdf", contentBase64 = Convert.ToBase64String(pdf) });

        Assert.Equal("Garantie deux ans", (await response.JsonAsync(HttpStatusCode.Created))["title"]!.GetValue<string>());
        Assert.Equal("Garantie deux ans", await factory.WithDbAsync(tenant.Id, db => db.KnowledgeDocuments.Select(d => d.Title).SingleAsync()));
    }

    [Fact]
    public async Task AFormWithTooManyPartsIsMalformedNotTooLarge()
    {
        var tenant = await factory.CreateTenantAsync();
        using var api = factory.ApiClient(tenant);
        using var form = new MultipartFormDataContent();
        form.Add(new ByteArrayContent(Encoding.UTF8.GetBytes("Nous débouchons les drains.")) { Headers = { ContentType = new MediaTypeHeaderValue("text/plain") } }, "file", "faq.txt");
        for (var i = 0; i < 20; i++)
        {
            form.Add(new StringContent("x"), $"field{i}");
        }

        var response = await api.PostAsync("/api/v1/knowledge", form);

        await KnowledgeApiTests.AssertEnvelopeAsync(response, HttpStatusCode.BadRequest, "INVALID_FORM");
        Assert.Equal(0, await factory.WithDbAsync(tenant.Id, db => db.KnowledgeDocuments.CountAsync()));
    }

    private static bool IsWellFormed(string s)
    {
        for (var i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && (i + 1 == s.Length || !char.IsLowSurrogate(s[++i])))
            {
                return false;
            }
            if (char.IsLowSurrogate(s[i]) && (i == 0 || !char.IsHighSurrogate(s[i - 1])))
            {
                return false;
            }
        }
        return true;
    }
}
