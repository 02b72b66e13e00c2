using System.Net;
using System.Net.Http.Json;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Knowledge;

/// <summary>Bad documents are refused with the envelope, never a 500, and leave nothing behind.</summary>
[Trait("Category", "Database")]
public sealed class KnowledgeBadInputTests(StrictKnowledgeFactory factory) : IClassFixture<StrictKnowledgeFactory>
{
    [Fact]
    public async Task BadDocumentsAreRefusedWithTheEnvelopeAndNothingIsStored()
    {
        var tenant = await factory.CreateTenantAsync();
        using var api = factory.ApiClient(tenant);
        var oversize = new string('é', KnowledgeFactory.MaxDocumentBytes / 2 + 10); // 2 bytes each in UTF-8
        var cases = new (object Body, HttpStatusCode Status, string Code)[]
        {
            (new { type = "text", content = oversize }, HttpStatusCode.RequestEntityTooLarge, "DOCUMENT_TOO_LARGE"),
            (new { type = "pdf", contentBase64 = Convert.ToBase64String(new byte[KnowledgeFactory.MaxDocumentBytes + 1]) }, HttpStatusCode.RequestEntityTooLarge, "DOCUMENT_TOO_LARGE"),
            (new { type = "docx", content = "x" }, HttpStatusCode.UnprocessableEntity, "UNSUPPORTED_TYPE"),
            (new { content = "no type" }, HttpStatusCode.UnprocessableEntity, "UNSUPPORTED_TYPE"),
            (new { type = "text" }, HttpStatusCode.UnprocessableEntity, "VALIDATION_FAILED"),
            (new { type = "text", content = "   \n\t  " }, HttpStatusCode.UnprocessableEntity, "EMPTY_DOCUMENT"),
            (new { type = "html", content = "<html><script>only()</script></html>" }, HttpStatusCode.UnprocessableEntity, "EMPTY_DOCUMENT"),
            (new { type = "text", title = new string('t', 301), content = "ok" }, HttpStatusCode.UnprocessableEntity, "VALIDATION_FAILED"),
            (new { type = "pdf", contentBase64 = "%%% not base64 %%%" }, HttpStatusCode.UnprocessableEntity, "INVALID_BASE64"),
            (new { type = "pdf", contentBase64 = Convert.ToBase64String(Encoding.UTF8.GetBytes("%PDF-1.7 this is not really a pdf")) }, HttpStatusCode.UnprocessableEntity, "UNREADABLE_DOCUMENT"),
            (new { type = "pdf" }, HttpStatusCode.UnprocessableEntity, "VALIDATION_FAILED"),
            (new { type = "url" }, HttpStatusCode.UnprocessableEntity, "INVALID_URL"),
            (new { type = "url", url = "ftp://example.com/file.txt" }, HttpStatusCode.UnprocessableEntity, "INVALID_URL"),
            (new { type = "url", url = "http://example.com/page" }, HttpStatusCode.UnprocessableEntity, "HTTPS_REQUIRED"),
            (new { type = "url", url = "https://user:pw@example.com/page" }, HttpStatusCode.UnprocessableEntity, "INVALID_URL"),
            (new { type = "url", url = "https://127.0.0.1/admin" }, HttpStatusCode.UnprocessableEntity, "URL_BLOCKED"),
            (new { type = "url", url = "https://10.0.0.5/intranet" }, HttpStatusCode.UnprocessableEntity, "URL_BLOCKED"),
            (new { type = "url", url = "https://192.168.1.1/" }, HttpStatusCode.UnprocessableEntity, "URL_BLOCKED"),
            (new { type = "url", url = "https://169.254.169.254/latest/meta-data/" }, HttpStatusCode.UnprocessableEntity, "URL_BLOCKED"),
            (new { type = "url", url = "https://[::1]/" }, HttpStatusCode.UnprocessableEntity, "URL_BLOCKED"),
            (new { type = "url", url = "https://localhost/" }, HttpStatusCode.UnprocessableEntity, "URL_BLOCKED"),
        };
        foreach (var (body, status, code) in cases)
        {
            await KnowledgeApiTests.AssertEnvelopeAsync(await KnowledgeFactory.AddAsync(api, body), status, code);
        }

        foreach (var raw in new[] { "{\"type\":\"text\",\"content\":", "[1,2,3]", "{\"type\":42}", "not json" })
        {
            var response = await api.PostAsync("/api/v1/knowledge", new StringContent(raw, Encoding.UTF8, "application/json"));
            Assert.True((int)response.StatusCode is >= 400 and < 500, $"'{raw}' answered {(int)response.StatusCode}");
            Assert.Contains("\"error\"", await response.Content.ReadAsStringAsync());
        }

        Assert.Equal(0, await factory.WithDbAsync(null, db => db.KnowledgeDocuments.IgnoreQueryFilters().CountAsync()));
        Assert.Equal(0, await factory.WithDbAsync(null, db => db.KnowledgeChunks.IgnoreQueryFilters().CountAsync()));
        Assert.Equal(0, await factory.WithDbAsync(tenant.Id, db => db.AuditLog.CountAsync(e => e.Action.StartsWith("knowledge."))));
    }

    [Fact]
    public async Task AnonymousCallersCannotReadOrChangeTheKnowledgeBase()
    {
        var tenant = await factory.CreateTenantAsync();
        using var anonymous = factory.CreateClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/v1/knowledge")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsJsonAsync("/api/v1/knowledge", new { type = "text", content = "x" })).StatusCode);
        using var api = factory.ApiClient(tenant);
        Assert.Equal(HttpStatusCode.OK, (await api.GetAsync("/api/v1/knowledge/search?q=eau")).StatusCode);
    }
}
