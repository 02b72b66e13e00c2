using System.Net;
using Microsoft.EntityFrameworkCore;
using Switchboard.Knowledge;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Knowledge;

/// <summary>
/// A PDF decompression bomb: a small file whose deflated content stream inflates about 1000 times. PdfPig decodes a stream
/// whole into memory, so a 5 MB upload stood for 5 GB; the extractor now refuses a PDF whose streams decode past
/// <see cref="KnowledgeOptions.MaxPdfDecodedBytes"/> (422 <c>UNREADABLE_DOCUMENT</c>) without inflating it.
/// </summary>
[Trait("Category", "Database")]
public sealed class PdfDecompressionBombTests(KnowledgeFactory factory) : IClassFixture<KnowledgeFactory>
{
    [Fact]
    public async Task APdfWhoseContentInflatesPastTheBoundIsUnreadableAndNothingIsStored()
    {
        var tenant = await factory.CreateTenantAsync();
        using var api = factory.ApiClient(tenant);
        // 60 MB of padding, 7.5 times the test host's bound, in a file under its 64 KB upload limit.
        var bomb = KnowledgeFactory.DeflateBombPdf("Debouchage urgent 24/7", 60_000_000);
        Assert.True(bomb.Length < KnowledgeFactory.MaxDocumentBytes, $"{bomb.Length} bytes");

        var response = await KnowledgeFactory.AddAsync(api, new { type = "pdf", contentBase64 = Convert.ToBase64String(bomb) });

        var error = (await response.JsonAsync(HttpStatusCode.UnprocessableEntity))["error"]!;
        Assert.Equal("UNREADABLE_DOCUMENT", error["code"]!.GetValue<string>());
        Assert.Contains($"more than {KnowledgeFactory.MaxPdfDecodedBytes} bytes", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(0, await factory.WithDbAsync(tenant.Id, db => db.KnowledgeDocuments.CountAsync()));

        // The same page without the padding is read.
        var plain = await KnowledgeFactory.AddAsync(api, new { type = "pdf", contentBase64 = Convert.ToBase64String(KnowledgeFactory.DeflateBombPdf("Debouchage urgent 24/7", 1000)) });
        Assert.Equal(HttpStatusCode.Created, plain.StatusCode);
        Assert.Single(await KnowledgeFactory.SearchAsync(api, "debouchage urgent"));
    }

    [Fact]
    public void TheBombIsRefusedBeforeItIsInflatedIntoMemory()
    {
        var bomb = KnowledgeFactory.DeflateBombPdf("Debouchage urgent 24/7", 64_000_000);
        // The first PDF read loads PdfPig's standard fonts (about 30 MB, once per process): not the bomb's doing.
        Assert.Null(DocumentExtractor.FromPdf(KnowledgeFactory.DeflateBombPdf("Debouchage", 1000), 1_000_000, 1_000_000, CancellationToken.None).Error);
        var before = GC.GetAllocatedBytesForCurrentThread();

        var extracted = DocumentExtractor.FromPdf(bomb, maxDecodedBytes: 1_000_000, maxCharacters: 1_000_000, CancellationToken.None);

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.StartsWith("The PDF's streams expand to more than 1000000 bytes", extracted.Error, StringComparison.Ordinal);
        // Inflated, the stream alone is 64 MB (PdfPig allocated 190 MB reading it): refused, the read costs well under the bound's 16 times.
        Assert.True(allocated < 16_000_000, $"{allocated} bytes allocated reading a 64 MB bomb under a 1 MB bound");
    }

    [Fact]
    public void ExtractionStopsWhenTheRequestIsCancelled()
    {
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        var pdf = KnowledgeFactory.DeflateBombPdf("Debouchage urgent 24/7", 1000);

        Assert.ThrowsAny<OperationCanceledException>(() => DocumentExtractor.FromPdf(pdf, 1_000_000, 1_000_000, cancelled.Token));
    }
}
