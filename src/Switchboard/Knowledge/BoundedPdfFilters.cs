using System.IO.Compression;
using UglyToad.PdfPig.Filters;
using UglyToad.PdfPig.Tokens;

namespace Switchboard.Knowledge;

/// <summary>
/// PdfPig's stream filters (<see cref="DefaultFilterProvider"/>) under one budget of decoded bytes for a whole document
/// (<see cref="DocumentExtractor.FromPdf"/>). PdfPig decodes a stream whole into memory, so a <c>FlateDecode</c> stream is
/// first inflated into nothing, counting, and refused (<see cref="PdfTooLargeException"/>) before PdfPig decodes it when it
/// would take more than what is left; every decoded stream's length is then taken from the budget. Deflate expands at most
/// about 1032 to 1 (RFC 1951 §3.2.5: a 258-byte match per code of a bit or two). The count reads the zlib stream
/// (RFC 1950 §2.2: a two-byte header) or, where that fails, a raw deflate stream, as readers accept both. Other filters
/// (ASCII85, ASCIIHex, RunLength, LZW, images) are counted after they decode. The request's <see cref="CancellationToken"/>
/// is checked before each stream and every 1 MB of the count.
/// </summary>
internal sealed class BoundedPdfFilters(long maxDecodedBytes, CancellationToken ct) : IFilterProvider
{
    private readonly CancellationToken cancellation = ct;
    private long remaining = maxDecodedBytes;

    /// <summary>Whether a stream was refused for the budget (PdfPig may swallow the exception and read on).</summary>
    public bool Exceeded { get; private set; }

    /// <inheritdoc />
    public IReadOnlyList<IFilter> GetFilters(DictionaryToken dictionary) => Wrap(DefaultFilterProvider.Instance.GetFilters(dictionary));

    /// <inheritdoc />
    public IReadOnlyList<IFilter> GetNamedFilters(IReadOnlyList<NameToken> names) => Wrap(DefaultFilterProvider.Instance.GetNamedFilters(names));

    /// <inheritdoc />
    public IReadOnlyList<IFilter> GetAllFilters() => Wrap(DefaultFilterProvider.Instance.GetAllFilters());

    private IFilter[] Wrap(IReadOnlyList<IFilter> filters) => [.. filters.Select(f => new Bounded(f, this))];

    /// <summary>Takes <paramref name="bytes"/> from the budget, or throws when there is not that much left.</summary>
    private void Take(long bytes)
    {
        if (bytes > remaining)
        {
            Exceeded = true;
            throw new PdfTooLargeException();
        }
        remaining -= bytes;
    }

    /// <summary>
    /// How many bytes <paramref name="input"/> inflates to, counted up to <paramref name="limit"/> + 1 (then it stops), or
    /// null when it is not a deflate stream read either way (PdfPig then decides, and its output is counted).
    /// </summary>
    private long? InflatedLength(ReadOnlyMemory<byte> input, long limit)
    {
        foreach (var skip in (int[])[2, 0])
        {
            if (input.Length <= skip)
            {
                continue;
            }
            var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(64 * 1024);
            long total = 0;
            try
            {
                using var source = new MemoryStream(input[skip..].ToArray(), writable: false);
                using var inflater = new DeflateStream(source, CompressionMode.Decompress);
                int read;
                while ((read = inflater.Read(buffer, 0, buffer.Length)) > 0)
                {
                    total += read;
                    if (total > limit)
                    {
                        return total;
                    }
                    if (total % (1024 * 1024) < read)
                    {
                        cancellation.ThrowIfCancellationRequested();
                    }
                }
                return total;
            }
            catch (InvalidDataException)
            {
                // Not this framing (or damaged past what was counted): try the other, then leave it to PdfPig.
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
            }
        }
        return null;
    }

    private sealed class Bounded(IFilter inner, BoundedPdfFilters budget) : IFilter
    {
        public bool IsSupported => inner.IsSupported;

        public Memory<byte> Decode(Memory<byte> input, DictionaryToken streamDictionary, IFilterProvider filterProvider, int filterIndex)
        {
            budget.cancellation.ThrowIfCancellationRequested();
            if (inner is FlateFilter && budget.InflatedLength(input, budget.remaining) is { } inflated && inflated > budget.remaining)
            {
                budget.Take(inflated);
            }
            var decoded = inner.Decode(input, streamDictionary, filterProvider, filterIndex);
            budget.Take(decoded.Length);
            return decoded;
        }
    }
}

/// <summary>A PDF's streams decode to more bytes than <see cref="BoundedPdfFilters"/> allows.</summary>
internal sealed class PdfTooLargeException() : Exception("The PDF's streams decode to more bytes than allowed.");
