using System.IO.Compression;
using UglyToad.PdfPig.Filters;
using UglyToad.PdfPig.Tokens;

namespace Switchboard.Knowledge;

/// <summary>
/// PdfPig's stream filters (<see cref="DefaultFilterProvider"/>) under one budget of decoded bytes for a whole document
/// (<see cref="DocumentExtractor.FromPdf"/>). PdfPig decodes a stream whole into memory, so every filter that can expand is
/// first run into nothing, counting, and refused (<see cref="PdfTooLargeException"/>) as soon as the count passes what is
/// left, before PdfPig decodes it; every decoded stream's length is then taken from the budget. The counts:
/// <list type="bullet">
/// <item><c>FlateDecode</c>: inflated into a reused buffer. Deflate expands at most about 1032 to 1 (RFC 1951 §3.2.5: a
/// 258-byte match per code of a bit or two). The zlib framing (RFC 1950 §2.2: a two-byte header) is read or, where that
/// fails, a raw deflate stream, as readers accept both.</item>
/// <item><c>LZWDecode</c>: the codes are read and only each table entry's length is kept (ISO 32000-1 §7.4.4.2: 9- to
/// 12-bit codes, 256 clears the table, 257 ends the data, <c>EarlyChange</c> 1 by default widens the code one entry early).
/// A run of one byte coded as ever longer entries expands over 1,300 to 1.</item>
/// <item><c>RunLengthDecode</c>: the length bytes are read (§7.4.5: 0–127 copy that many plus one bytes, 129–255 repeat the
/// next byte 257 minus that many times, 128 ends the data): up to 64 to 1.</item>
/// <item><c>CCITTFaxDecode</c>: PdfPig allocates the whole bitmap, <c>(Columns + 7) / 8</c> bytes times <c>Rows</c> (or the
/// image's <c>Height</c>), from the parameters (§7.4.6, Table 11), so that product is taken before it decodes.</item>
/// </list>
/// ASCIIHex and ASCII85 decode to fewer bytes than they read; images (DCT, JPX) are passed through undecoded. A damaged
/// stream the count cannot read is left to PdfPig, whose output is counted. The request's <see cref="CancellationToken"/>
/// is checked before each stream and every 1 MB of a count.
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

    /// <summary>
    /// How many bytes the LZW codes in <paramref name="input"/> decode to, counted up to <paramref name="limit"/> + 1 (then it
    /// stops) from the lengths of the table's entries, never their bytes; what was counted when a code is one no decoder
    /// could have (PdfPig then decides, and its output is counted).
    /// </summary>
    private long LzwLength(ReadOnlySpan<byte> input, int earlyChange, long limit)
    {
        const int Clear = 256, EndOfData = 257, First = 258, Size = 4096;
        var lengths = System.Buffers.ArrayPool<int>.Shared.Rent(Size);
        try
        {
            long total = 0;
            int next = First, previous = -1, bits = 0, held = 0, position = 0;
            while (true)
            {
                var width = next + earlyChange < 512 ? 9 : next + earlyChange < 1024 ? 10 : next + earlyChange < 2048 ? 11 : 12;
                while (bits < width && position < input.Length)
                {
                    held = (held << 8) | input[position++];
                    bits += 8;
                }
                if (bits < width)
                {
                    return total;
                }
                var code = (held >> (bits - width)) & ((1 << width) - 1);
                bits -= width;
                held &= (1 << bits) - 1;
                if (code == Clear)
                {
                    (next, previous) = (First, -1);
                    continue;
                }
                if (code == EndOfData)
                {
                    return total;
                }
                int length;
                if (code < 256)
                {
                    length = 1;
                }
                else if (previous >= 0 && code < next)
                {
                    length = lengths[code];
                }
                else if (previous >= 0 && code == next)
                {
                    length = previous + 1; // the entry being defined: the previous string and its own first byte
                }
                else
                {
                    return total;
                }
                if (previous >= 0 && next < Size)
                {
                    lengths[next++] = previous + 1;
                }
                previous = length;
                var before = total;
                total += length;
                if (total > limit)
                {
                    return total;
                }
                if (total / (1024 * 1024) != before / (1024 * 1024))
                {
                    cancellation.ThrowIfCancellationRequested();
                }
            }
        }
        finally
        {
            System.Buffers.ArrayPool<int>.Shared.Return(lengths);
        }
    }

    /// <summary>How many bytes the RunLength data in <paramref name="input"/> decodes to, counted up to <paramref name="limit"/> + 1.</summary>
    private static long RunLengthLength(ReadOnlySpan<byte> input, long limit)
    {
        long total = 0;
        for (var i = 0; i < input.Length && total <= limit;)
        {
            var length = input[i];
            if (length == 128)
            {
                break;
            }
            if (length < 128)
            {
                total += length + 1;
                i += length + 2;
            }
            else
            {
                total += 257 - length;
                i += 2;
            }
        }
        return total;
    }

    /// <summary>The bytes PdfPig allocates for a CCITT bitmap: <c>(Columns + 7) / 8</c> per row, <c>Rows</c> or <c>Height</c> rows.</summary>
    private static long CcittLength(DictionaryToken streamDictionary, int filterIndex)
    {
        var parameters = DecodeParameterResolver.GetFilterParameters(streamDictionary, filterIndex);
        var columns = Number(parameters, NameToken.Columns) ?? 1728;
        var rows = Math.Max(Number(parameters, NameToken.Rows) ?? 0, Number(streamDictionary, NameToken.Height) ?? Number(streamDictionary, NameToken.H) ?? 0);
        return (Math.Max(columns, 0) + 7) / 8 * Math.Max(rows, 0);
    }

    private static long? Number(DictionaryToken dictionary, NameToken key) =>
        dictionary.TryGet(key, out var token) && token is NumericToken number ? number.Long : null;

    /// <summary>The count for <paramref name="filter"/>'s output, or null when it cannot expand past its input (counted after).</summary>
    private long? DecodedLength(IFilter filter, Memory<byte> input, DictionaryToken streamDictionary, int filterIndex) => filter switch
    {
        FlateFilter => InflatedLength(input, remaining),
        LzwFilter => LzwLength(input.Span,
            Number(DecodeParameterResolver.GetFilterParameters(streamDictionary, filterIndex), NameToken.EarlyChange) == 0 ? 0 : 1, remaining),
        RunLengthFilter => RunLengthLength(input.Span, remaining),
        CcittFaxDecodeFilter => CcittLength(streamDictionary, filterIndex),
        _ => null,
    };

    private sealed class Bounded(IFilter inner, BoundedPdfFilters budget) : IFilter
    {
        public bool IsSupported => inner.IsSupported;

        public Memory<byte> Decode(Memory<byte> input, DictionaryToken streamDictionary, IFilterProvider filterProvider, int filterIndex)
        {
            budget.cancellation.ThrowIfCancellationRequested();
            if (budget.DecodedLength(inner, input, streamDictionary, filterIndex) is { } length && length > budget.remaining)
            {
                budget.Take(length);
            }
            var decoded = inner.Decode(input, streamDictionary, filterProvider, filterIndex);
            budget.Take(decoded.Length);
            return decoded;
        }
    }
}

/// <summary>A PDF's streams decode to more bytes than <see cref="BoundedPdfFilters"/> allows.</summary>
internal sealed class PdfTooLargeException() : Exception("The PDF's streams decode to more bytes than allowed.");
