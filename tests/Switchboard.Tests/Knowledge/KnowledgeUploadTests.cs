using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Knowledge;

/// <summary><c>POST /api/v1/knowledge</c> as <c>multipart/form-data</c>: a file with a title, beside the JSON form.</summary>
[Trait("Category", "Database")]
public sealed class KnowledgeUploadTests(KnowledgeFactory factory) : IClassFixture<KnowledgeFactory>
{
    /// <summary>4 KB of random bytes that are not UTF-8 (a 0xFF byte never is).</summary>
    private static byte[] RandomBytes()
    {
        var bytes = System.Security.Cryptography.RandomNumberGenerator.GetBytes(4096);
        bytes[0] = 0xFF;
        return bytes;
    }

    private static MultipartFormDataContent Form(byte[] file, string fileName, string? contentType, string? title = null, string? type = null)
    {
        var form = new MultipartFormDataContent();
        var part = new ByteArrayContent(file);
        if (contentType is not null)
        {
            part.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        }
        form.Add(part, "file", fileName);
        if (title is not null)
        {
            form.Add(new StringContent(title), "title");
        }
        if (type is not null)
        {
            form.Add(new StringContent(type), "type");
        }
        return form;
    }

    /// <summary>A multipart body as written (HttpClient refuses some header values a client can still send), boundary <c>b</c>.</summary>
    private static StringContent RawForm(string body)
    {
        var content = new StringContent(body, Encoding.UTF8);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse("multipart/form-data; boundary=b");
        return content;
    }

    [Fact]
    public async Task UploadedPdfMarkdownHtmlAndTextFilesAreIndexedAndFound()
    {
        var tenant = await factory.CreateTenantAsync();
        using var api = factory.ApiClient(tenant);
        var pdf = KnowledgeFactory.Pdf("Garantie", "Garantie de deux ans sur la main-d'œuvre, même à Québec.");
        var uploads = new (MultipartFormDataContent Form, string Type, string Title, string Query)[]
        {
            (Form(pdf, "garantie.pdf", "application/pdf", title: "Garantie écrite"), "pdf", "Garantie écrite", "main d'oeuvre garantie"),
            (Form(Encoding.UTF8.GetBytes("# Tarifs\n\nL'inspection par caméra coûte 249 $."), "tarifs.md", "application/octet-stream"), "markdown", "Tarifs", "inspection camera"),
            (Form(Encoding.UTF8.GetBytes("<html><head><title>Secteurs</title></head><body><p>Nous desservons Brossard et Longueuil.</p></body></html>"), "secteurs.html", "text/html"), "html", "Secteurs", "Brossard"),
            (Form(Encoding.UTF8.GetBytes("Stationnement gratuit derrière l'atelier."), "notes", "text/plain", title: "Notes"), "text", "Notes", "stationnement"),
            // A text file an older Windows editor saved (Windows-1252: é, the curly apostrophe and € are single bytes, not UTF-8).
            (Form(Windows1252("Débouchage d’égout : 189 € le samedi."), "egout.txt", "text/plain", title: "Égout"), "text", "Égout", "débouchage égout samedi"),
        };
        foreach (var (form, type, title, query) in uploads)
        {
            var response = await api.PostAsync("/api/v1/knowledge", form);
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.Created, $"{type}: {(int)response.StatusCode} {body}");
            var document = JsonNode.Parse(body)!;
            Assert.Equal((type, title), (document["sourceType"]!.GetValue<string>(), document["title"]!.GetValue<string>()));
            Assert.True(document["chunkCount"]!.GetValue<int>() > 0);
            var hits = await KnowledgeFactory.SearchAsync(api, query);
            Assert.Equal(document["id"]!.GetValue<string>(), hits[0]!["documentId"]!.GetValue<string>());
        }
        var names = await factory.WithDbAsync(tenant.Id, db => db.KnowledgeDocuments.OrderBy(d => d.CreatedAt).Select(d => d.FileName).ToListAsync());
        Assert.Equal(["garantie.pdf", "tarifs.md", "secteurs.html", "notes", "egout.txt"], names);
        var legacy = await factory.WithDbAsync(tenant.Id, db => db.KnowledgeChunks.Where(c => db.KnowledgeDocuments.Any(d => d.Id == c.DocumentId && d.FileName == "egout.txt")).Select(c => c.Text).FirstAsync());
        Assert.Contains("Débouchage d’égout : 189 € le samedi.", legacy); // read as Windows-1252, not as Latin-1's C1 controls
    }

    private static byte[] Windows1252(string text) => CodePagesEncodingProvider.Instance.GetEncoding(1252)!.GetBytes(text);

    [Fact]
    public async Task AnOversizeOrWrongTypeUploadIsAnEnvelopeAndNothingIsStored()
    {
        var tenant = await factory.CreateTenantAsync();
        using var api = factory.ApiClient(tenant);
        var cases = new (HttpContent Body, HttpStatusCode Status, string Code)[]
        {
            (Form(new byte[KnowledgeFactory.MaxDocumentBytes + 1], "big.txt", "text/plain"), HttpStatusCode.RequestEntityTooLarge, "DOCUMENT_TOO_LARGE"),
            (Form(new byte[KnowledgeFactory.MaxDocumentBytes + 200_000], "huge.pdf", "application/pdf"), HttpStatusCode.RequestEntityTooLarge, "DOCUMENT_TOO_LARGE"),
            (Form([0x50, 0x4B, 0x03, 0x04], "devis.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"), HttpStatusCode.UnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE"),
            (Form([0xFF, 0xD8, 0xFF], "photo.jpg", "image/jpeg"), HttpStatusCode.UnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE"),
            (Form(Encoding.UTF8.GetBytes("x"), "notes.txt", "text/plain", type: "url"), HttpStatusCode.UnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE"),
            (Form([], "empty.txt", "text/plain"), HttpStatusCode.UnprocessableEntity, "VALIDATION_FAILED"),
            (Form(Encoding.UTF8.GetBytes("%PDF-1.7 not really"), "faux.pdf", "application/pdf"), HttpStatusCode.UnprocessableEntity, "UNREADABLE_DOCUMENT"),
            (Form(Encoding.UTF8.GetBytes("ok"), "notes.txt", "text/plain", title: new string('t', 301)), HttpStatusCode.UnprocessableEntity, "VALIDATION_FAILED"),
            (new MultipartFormDataContent { { new StringContent("Titre"), "title" } }, HttpStatusCode.UnprocessableEntity, "VALIDATION_FAILED"),
            // U+0000 cannot be stored (PostgreSQL text refuses it).
            (Form(Encoding.UTF8.GetBytes("ok"), "notes.txt", "text/plain", title: "Tari\0fs"), HttpStatusCode.UnprocessableEntity, "VALIDATION_FAILED"),
            (RawForm("--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"ta\0rifs.txt\"\r\nContent-Type: text/plain\r\n\r\nok\r\n--b--\r\n"),
                HttpStatusCode.UnprocessableEntity, "VALIDATION_FAILED"),
            (new StringContent("type=text&content=x", Encoding.UTF8, "text/plain"), HttpStatusCode.UnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE"),
            // Binary labelled as text (it was indexed as Latin-1 noise), and UTF-8 holding NUL or control bytes.
            (Form(RandomBytes(), "blob.txt", "text/plain"), HttpStatusCode.UnprocessableEntity, "NOT_UTF8_TEXT"),
            (Form(Encoding.UTF8.GetBytes("Tarifs\0 caméra"), "tarifs.txt", "text/plain"), HttpStatusCode.UnprocessableEntity, "NOT_UTF8_TEXT"),
            (Form(Encoding.UTF8.GetBytes("# Tarifs\u0001\u001b[31m"), "tarifs.md", "text/markdown"), HttpStatusCode.UnprocessableEntity, "NOT_UTF8_TEXT"),
        };
        foreach (var (body, status, code) in cases)
        {
            await KnowledgeApiTests.AssertEnvelopeAsync(await api.PostAsync("/api/v1/knowledge", body), status, code);
        }
        // A multipart body whose boundary never closes.
        var broken = new StringContent("--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nabc", Encoding.UTF8);
        broken.Headers.ContentType = MediaTypeHeaderValue.Parse("multipart/form-data; boundary=b");
        var response = await api.PostAsync("/api/v1/knowledge", broken);
        Assert.True((int)response.StatusCode is >= 400 and < 500, $"broken multipart answered {(int)response.StatusCode}");
        Assert.Contains("\"error\"", await response.Content.ReadAsStringAsync());

        Assert.Equal(0, await factory.WithDbAsync(tenant.Id, db => db.KnowledgeDocuments.CountAsync()));
        Assert.Equal(0, await factory.WithDbAsync(tenant.Id, db => db.KnowledgeChunks.CountAsync()));
        Assert.Equal(0, await factory.WithDbAsync(tenant.Id, db => db.AuditLog.CountAsync(e => e.Action.StartsWith("knowledge."))));
    }

    [Fact]
    public async Task AnUploadLandsInTheUploadersTenantOnly()
    {
        var (a, b) = (await factory.CreateTenantAsync("Upload A"), await factory.CreateTenantAsync("Upload B"));
        using var apiA = factory.ApiClient(a);
        using var apiB = factory.ApiClient(b);
        var response = await apiA.PostAsync("/api/v1/knowledge", Form(Encoding.UTF8.GetBytes("Le code du garage est le 4321."), "code.txt", "text/plain"));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var id = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["id"]!.GetValue<string>();

        Assert.Empty(await KnowledgeFactory.SearchAsync(apiB, "code garage 4321"));
        await KnowledgeApiTests.AssertEnvelopeAsync(await apiB.GetAsync($"/api/v1/knowledge/{id}"), HttpStatusCode.NotFound, "DOCUMENT_NOT_FOUND");
        Assert.Equal(0, await factory.WithDbAsync(b.Id, db => db.KnowledgeDocuments.CountAsync()));
        Assert.Single(await KnowledgeFactory.SearchAsync(apiA, "code garage 4321"));
    }

    [Fact]
    public async Task AnUploadNeedsASessionOrKey()
    {
        using var anonymous = factory.CreateClient();
        var response = await anonymous.PostAsync("/api/v1/knowledge", Form(Encoding.UTF8.GetBytes("x"), "a.txt", "text/plain"));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }
}
