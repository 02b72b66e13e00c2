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
        // Inflated, the stream alone is 64 MB (PdfPig allocated 190 MB reading it): refused, the read costs well under the bound's 16 times.
        AssertRefusedUnderOneMegabyte(bomb, "a 64 MB bomb");
    }

    [Fact]
    public void AnLzwBombIsRefusedWhileItsCodesAreCountedNotAfterItIsDecoded()
    {
        // 64 MB of spaces in about 48 KB of codes; PdfPig decoded it whole before the budget saw its length.
        var bomb = KnowledgeFactory.OnePagePdf(LzwBomb("Debouchage urgent 24/7", 64_000_000), "/LZWDecode");
        AssertRefusedUnderOneMegabyte(bomb, "a 64 MB LZW bomb");
    }

    [Fact]
    public void ARunLengthBombIsRefusedWhileItIsCounted()
    {
        // Runs of 128 spaces, 2 bytes each: 32 MB in 512 KB.
        var text = System.Text.Encoding.ASCII.GetBytes("BT /F1 12 Tf 72 720 Td (Debouchage) Tj ET\n");
        var runs = new List<byte> { (byte)(text.Length - 1) };
        runs.AddRange(text);
        for (var i = 0; i < 32_000_000 / 128; i++)
        {
            runs.Add(129);
            runs.Add((byte)' ');
        }
        runs.Add(128);
        var bomb = KnowledgeFactory.OnePagePdf([.. runs], "/RunLengthDecode");
        AssertRefusedUnderOneMegabyte(bomb, "a 32 MB RunLength bomb");
    }

    [Fact]
    public void ACcittStreamWhoseBitmapIsPastTheBoundIsRefusedBeforeItIsAllocated()
    {
        // A few bytes of Group 4 data for a 16000 × 16000 bitmap: PdfPig allocated its 32 MB before decoding a bit.
        var bomb = KnowledgeFactory.OnePagePdf([0x26, 0xA0, 0x00, 0x10, 0x01, 0x00, 0x10, 0x01], "/CCITTFaxDecode /DecodeParms << /K -1 /Columns 16000 /Rows 16000 >>");
        AssertRefusedUnderOneMegabyte(bomb, "a 32 MB CCITT bitmap");
    }

    [Fact]
    public void LzwAndRunLengthContentUnderTheBoundIsRead()
    {
        var lzw = DocumentExtractor.FromPdf(KnowledgeFactory.OnePagePdf(LzwBomb("Debouchage urgent 24/7", 100_000), "/LZWDecode"), 1_000_000, 1_000_000, CancellationToken.None);
        var text = System.Text.Encoding.ASCII.GetBytes("BT /F1 12 Tf 72 720 Td (Vidange de fosse) Tj ET\n");
        var runLength = DocumentExtractor.FromPdf(KnowledgeFactory.OnePagePdf([(byte)(text.Length - 1), .. text, 128], "/RunLengthDecode"), 1_000_000, 1_000_000, CancellationToken.None);

        Assert.Null(lzw.Error);
        Assert.Contains("Debouchage urgent 24/7", string.Join('\n', lzw.Sections.Select(s => s.Text)), StringComparison.Ordinal);
        Assert.Null(runLength.Error);
        Assert.Contains("Vidange de fosse", string.Join('\n', runLength.Sections.Select(s => s.Text)), StringComparison.Ordinal);
    }

    /// <summary>
    /// Reads <paramref name="bomb"/> under a 1 MB decoded-bytes bound: refused with the budget's message, and the read allocates
    /// under 16 MB (the bomb inflated is tens of MB). PdfPig's standard fonts (about 30 MB, loaded once per process by the
    /// first PDF read) are loaded first, so they are not counted as the bomb's.
    /// </summary>
    private static void AssertRefusedUnderOneMegabyte(byte[] bomb, string what)
    {
        Assert.Null(DocumentExtractor.FromPdf(KnowledgeFactory.DeflateBombPdf("Debouchage", 1000), 1_000_000, 1_000_000, CancellationToken.None).Error);
        var before = GC.GetAllocatedBytesForCurrentThread();

        var extracted = DocumentExtractor.FromPdf(bomb, maxDecodedBytes: 1_000_000, maxCharacters: 1_000_000, CancellationToken.None);

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.StartsWith("The PDF's streams expand to more than 1000000 bytes", extracted.Error, StringComparison.Ordinal);
        Assert.True(allocated < 16_000_000, $"{allocated} bytes allocated reading {what} under a 1 MB bound");
    }

    /// <summary>
    /// LZW codes (ISO 32000-1 §7.4.4.2, EarlyChange 1) of a content stream showing <paramref name="text"/>, then
    /// <paramref name="padding"/> spaces coded as the worst case for a reader: after each clear, a space and then each next
    /// table entry, which is the previous string plus a space, so the k-th code stands for k spaces.
    /// </summary>
    private static byte[] LzwBomb(string text, int padding)
    {
        var output = new List<byte>();
        int held = 0, bits = 0, next = 258;
        var afterClear = true;
        void Code(int code)
        {
            var width = next + 1 < 512 ? 9 : next + 1 < 1024 ? 10 : next + 1 < 2048 ? 11 : 12;
            held = (held << width) | code;
            bits += width;
            while (bits >= 8)
            {
                output.Add((byte)(held >> (bits - 8)));
                bits -= 8;
                held &= (1 << bits) - 1;
            }
            if (code == 256)
            {
                (next, afterClear) = (258, true);
            }
            else if (afterClear)
            {
                afterClear = false;
            }
            else
            {
                next++;
            }
        }
        Code(256);
        foreach (var b in System.Text.Encoding.ASCII.GetBytes($"BT /F1 12 Tf 72 720 Td ({text}) Tj ET\n"))
        {
            Code(b); // one literal per byte; the table entries this defines are never used
        }
        for (var left = padding; left > 0;)
        {
            Code(256);
            Code(' ');
            left--;
            for (var run = 2; left >= run && next < 4000; run++)
            {
                Code(next);
                left -= run;
            }
        }
        Code(257);
        if (bits > 0)
        {
            output.Add((byte)(held << (8 - bits)));
        }
        return [.. output];
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
