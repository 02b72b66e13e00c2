using System.Buffers;
using System.Buffers.Text;
using System.Runtime.InteropServices;
using Switchboard.Realtime.Audio;

namespace Switchboard.Realtime.Bridge;

/// <summary>
/// Audio conversion for a provider that refuses μ-law: base64 μ-law 8 kHz frames (twilio-media-streams.md) to base64
/// PCM16 little-endian 24 kHz appends (openai-realtime.md <c>audio/pcm</c>) and back. Buffers come from
/// <see cref="ArrayPool{T}.Shared"/>: no allocation per frame once the pools are warm.
/// </summary>
internal static class AudioTranscoder
{
    /// <summary>A caller frame as an <c>input_audio_buffer.append</c>; a default frame when it is not valid base64.</summary>
    public static OutFrame ToProvider(ReadOnlySpan<byte> base64, Resampler8kTo24k up)
    {
        Span<byte> mulaw = stackalloc byte[Math.Min(base64.Length, 4096) * 3 / 4 + 3];
        if (Base64.DecodeFromUtf8(base64, mulaw, out _, out var count) != OperationStatus.Done || count == 0)
        {
            return default;
        }
        var pcm8 = ArrayPool<short>.Shared.Rent(count);
        var pcm24 = ArrayPool<short>.Shared.Rent(count * 3);
        try
        {
            MuLaw.Decode(mulaw[..count], pcm8);
            var n = up.Process(pcm8.AsSpan(0, count), pcm24);
            var bytes = MemoryMarshal.AsBytes(pcm24.AsSpan(0, n));
            var encoded = ArrayPool<byte>.Shared.Rent(Base64.GetMaxEncodedToUtf8Length(bytes.Length));
            try
            {
                Base64.EncodeToUtf8(bytes, encoded, out _, out var written);
                return Wire.Append(encoded.AsSpan(0, written));
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(encoded);
            }
        }
        finally
        {
            ArrayPool<short>.Shared.Return(pcm8);
            ArrayPool<short>.Shared.Return(pcm24);
        }
    }

    /// <summary>
    /// A provider delta (base64 PCM16 24 kHz) as a Twilio <c>media</c> frame (after <paramref name="mediaPrefix"/>);
    /// <paramref name="audioBytes"/> is the μ-law bytes it carries. A default frame when the delta is not valid base64.
    /// </summary>
    public static OutFrame ToTwilio(ReadOnlySpan<byte> base64, Resampler24kTo8k down, byte[] mediaPrefix, FrameKind kind, long received, out long audioBytes)
    {
        audioBytes = 0;
        var raw = ArrayPool<byte>.Shared.Rent(base64.Length * 3 / 4 + 3);
        try
        {
            if (Base64.DecodeFromUtf8(base64, raw, out _, out var count) != OperationStatus.Done || count < 2)
            {
                return default;
            }
            var pcm24 = MemoryMarshal.Cast<byte, short>(raw.AsSpan(0, count & ~1));
            var pcm8 = ArrayPool<short>.Shared.Rent(pcm24.Length / 3 + 1);
            var mulaw = ArrayPool<byte>.Shared.Rent(pcm24.Length / 3 + 1);
            var encoded = ArrayPool<byte>.Shared.Rent(Base64.GetMaxEncodedToUtf8Length(pcm24.Length / 3 + 1));
            try
            {
                var n = down.Process(pcm24, pcm8);
                MuLaw.Encode(pcm8.AsSpan(0, n), mulaw);
                Base64.EncodeToUtf8(mulaw.AsSpan(0, n), encoded, out _, out var written);
                audioBytes = n;
                return Wire.TwilioMedia(mediaPrefix, encoded.AsSpan(0, written), kind, received);
            }
            finally
            {
                ArrayPool<short>.Shared.Return(pcm8);
                ArrayPool<byte>.Shared.Return(mulaw);
                ArrayPool<byte>.Shared.Return(encoded);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(raw);
        }
    }

    /// <summary>The decoded length of a base64 payload, from its length and padding (no decoding).</summary>
    public static long DecodedLength(ReadOnlySpan<byte> base64)
    {
        var padding = base64.Length > 0 && base64[^1] == (byte)'=' ? (base64.Length > 1 && base64[^2] == (byte)'=' ? 2 : 1) : 0;
        return (base64.Length / 4 * 3) - padding;
    }
}
