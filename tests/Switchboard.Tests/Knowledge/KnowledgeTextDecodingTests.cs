using System.Net;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Knowledge;

/// <summary>
/// Text that reaches the knowledge base other than by upload is read by the upload's rule (<c>DocumentText</c>): a
/// <c>text/plain</c> document fetched from a URL in Windows-1252 or a declared charset is read as such (it became U+FFFD
/// as UTF-8), binary behind a URL is refused, and JSON <c>content</c> holding control characters is refused (it was indexed).
/// </summary>
[Trait("Category", "Database")]
public sealed class KnowledgeTextDecodingTests(KnowledgeFactory factory) : IClassFixture<KnowledgeFactory>
{
    private static readonly Encoding Windows1252 = CodePagesEncodingProvider.Instance.GetEncoding(1252)!;

    [Fact]
    public async Task AFetchedPlainTextDocumentIsReadInItsDeclaredCharsetElseUtf8ElseWindows1252()
    {
        var tenant = await factory.CreateTenantAsync();
        using var api = factory.ApiClient(tenant);
        await using var pages = await PageServer.StartAsync();
        const string french = "Débouchage d’égout : 189 € le samedi.";
        const string russian = "Прочистка канализации в субботу.";
        pages.Pages["/legacy.txt"] = (200, "text/plain", Windows1252.GetBytes(french), null); // no charset, not UTF-8
        pages.Pages["/latin1.txt"] = (200, "text/plain; charset=ISO-8859-1", Windows1252.GetBytes("Latin-1 label: " + french), null);
        pages.Pages["/cyrillic.txt"] = (200, "text/plain; charset=\"windows-1251\"", CodePagesEncodingProvider.Instance.GetEncoding(1251)!.GetBytes(russian), null);
        pages.Pages["/utf8.txt"] = (200, "text/plain", Encoding.UTF8.GetBytes("UTF-8: " + french), null);

        foreach (var (path, expected) in new[] { ("/legacy.txt", french), ("/latin1.txt", "Latin-1 label: " + french), ("/cyrillic.txt", russian), ("/utf8.txt", "UTF-8: " + french) })
        {
            var response = await KnowledgeFactory.AddAsync(api, new { type = "url", url = pages.BaseUrl + path });
            var id = (await response.JsonAsync(HttpStatusCode.Created))["id"]!.GetValue<string>();
            var text = await factory.WithDbAsync(tenant.Id, db => db.KnowledgeDocuments.Where(d => d.Id == Guid.Parse(id)).Select(d => d.ContentText).FirstAsync());
            Assert.Equal(expected, text.Trim());
        }
    }

    [Fact]
    public async Task ABinaryDocumentBehindAUrlIsRefusedAndNothingIsStored()
    {
        var tenant = await factory.CreateTenantAsync();
        using var api = factory.ApiClient(tenant);
        await using var pages = await PageServer.StartAsync();
        pages.Pages["/image.txt"] = (200, "text/plain", [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0xFF, 0xD8], null);
        pages.Pages["/nul.txt"] = (200, "text/plain; charset=utf-8", Encoding.UTF8.GetBytes("ok\0then binary"), null);

        foreach (var path in new[] { "/image.txt", "/nul.txt" })
        {
            var response = await KnowledgeFactory.AddAsync(api, new { type = "url", url = pages.BaseUrl + path });
            Assert.Equal("NOT_UTF8_TEXT", (await response.JsonAsync(HttpStatusCode.UnprocessableEntity))["error"]!["code"]!.GetValue<string>());
        }
        Assert.Equal(0, await factory.WithDbAsync(tenant.Id, db => db.KnowledgeDocuments.CountAsync()));
    }

    [Fact]
    public async Task JsonContentWithControlCharactersIsRefusedAndTabsAndLineBreaksAreNot()
    {
        var tenant = await factory.CreateTenantAsync();
        using var api = factory.ApiClient(tenant);
        foreach (var (content, at) in new[] { ("Bell\u0007 here", "U+0007 at character 4"), ("Escape \u001b[31m", "U+001B at character 7"), ("Delete\u007f", "U+007F at character 6"), ("C1 \u0085 next line", "U+0085 at character 3") })
        {
            var response = await KnowledgeFactory.AddAsync(api, new { type = "text", content });
            var body = await response.JsonAsync(HttpStatusCode.UnprocessableEntity);
            Assert.Equal("VALIDATION_FAILED", body["error"]!["code"]!.GetValue<string>());
            Assert.EndsWith(at, body["error"]!["details"]!["content"]!.GetValue<string>());
        }
        Assert.Equal(0, await factory.WithDbAsync(tenant.Id, db => db.KnowledgeDocuments.CountAsync()));

        var accepted = await KnowledgeFactory.AddAsync(api, new { type = "text", content = "Tarifs\tsamedi\r\nDimanche : fermé.\nLundi : ouvert." });
        await accepted.JsonAsync(HttpStatusCode.Created);
    }
}
