using System.Numerics;

namespace Switchboard.Realtime.Audio;

/// <summary>
/// G.711 μ-law (PCMU) companding between 8-bit code words and 16-bit linear PCM, as carried by
/// Twilio Media Streams (<c>audio/x-mulaw</c>, 8 kHz mono, 160 bytes per 20 ms frame).
/// </summary>
/// <remarks>
/// <para>
/// ITU-T G.711 (11/88) §3 and Table 2a define μ-law over a 14-bit signed range: 8 segments of 16
/// steps per sign, reconstruction values 0, 2, 4 … 30, 33, 37 … 8031. Here that scale is multiplied
/// by 4 so it spans 16-bit PCM: decoded magnitudes are 0, 8 … 120, 132, 148 … 32124. Encoding uses
/// the usual bias form of the same table: add 132 (33 × 4) to the clipped magnitude, the position of
/// its top bit gives the segment and the next four bits the step. Inputs beyond ±32635 clip to the
/// top step.
/// </para>
/// <para>
/// In the transmitted character (G.711 Table 2a) the polarity bit is 1 for positive values and the
/// seven magnitude bits are inverted, i.e. the whole byte is the complement of sign|segment|step:
/// 0xFF is +0 (silence, what Twilio sends for quiet), 0x7F is −0, 0x80 is +32124 and 0x00 is −32124.
/// No zero-code suppression (the optional 0x00 → 0x02 substitution of old T1 equipment) is applied.
/// </para>
/// </remarks>
internal static class MuLaw
{
    /// <summary>Added to the magnitude before segment search: G.711's 33 on the 14-bit scale, × 4.</summary>
    private const int Bias = 0x84;

    /// <summary>Largest magnitude that still encodes without overflowing segment 7 (32767 − Bias).</summary>
    private const int Clip = 32635;

    /// <summary>The μ-law code for digital silence (+0).</summary>
    public const byte Silence = 0xFF;

    // 256 entries, built once from the G.711 reconstruction formula; decoding is a lookup.
    private static readonly short[] DecodeTable = BuildDecodeTable();

    /// <summary>Decodes one μ-law code word to 16-bit linear PCM.</summary>
    public static short DecodeSample(byte mulaw) => DecodeTable[mulaw];

    /// <summary>Encodes one 16-bit linear PCM sample to a μ-law code word.</summary>
    public static byte EncodeSample(short pcm)
    {
        int sign;
        int magnitude;
        if (pcm < 0)
        {
            sign = 0x80;
            magnitude = -pcm;
        }
        else
        {
            sign = 0;
            magnitude = pcm;
        }
        magnitude = Math.Min(magnitude, Clip) + Bias;

        // magnitude is in [132, 32767], so its top bit is bit 7..14: segments 0..7.
        var segment = BitOperations.Log2((uint)magnitude) - 7;
        var step = (magnitude >> (segment + 3)) & 0x0F;
        return (byte)~(sign | (segment << 4) | step);
    }

    /// <summary>Decodes μ-law code words to 16-bit linear PCM, one sample per byte. Does not allocate.</summary>
    /// <param name="mulaw">Code words, e.g. one 160-byte (20 ms) Twilio media payload.</param>
    /// <param name="pcm">Destination; at least <c>mulaw.Length</c> samples. Only that many are written.</param>
    /// <exception cref="ArgumentException"><paramref name="pcm"/> is shorter than <paramref name="mulaw"/>.</exception>
    public static void Decode(ReadOnlySpan<byte> mulaw, Span<short> pcm)
    {
        if (pcm.Length < mulaw.Length)
        {
            throw new ArgumentException($"Destination holds {pcm.Length} samples; {mulaw.Length} are needed.", nameof(pcm));
        }
        var table = DecodeTable;
        for (var i = 0; i < mulaw.Length; i++)
        {
            pcm[i] = table[mulaw[i]];
        }
    }

    /// <summary>Encodes 16-bit linear PCM to μ-law code words, one byte per sample. Does not allocate.</summary>
    /// <param name="pcm">Samples at 8 kHz.</param>
    /// <param name="mulaw">Destination; at least <c>pcm.Length</c> bytes. Only that many are written.</param>
    /// <exception cref="ArgumentException"><paramref name="mulaw"/> is shorter than <paramref name="pcm"/>.</exception>
    public static void Encode(ReadOnlySpan<short> pcm, Span<byte> mulaw)
    {
        if (mulaw.Length < pcm.Length)
        {
            throw new ArgumentException($"Destination holds {mulaw.Length} bytes; {pcm.Length} are needed.", nameof(mulaw));
        }
        for (var i = 0; i < pcm.Length; i++)
        {
            mulaw[i] = EncodeSample(pcm[i]);
        }
    }

    private static short[] BuildDecodeTable()
    {
        var table = new short[256];
        for (var code = 0; code < 256; code++)
        {
            var inverted = ~code & 0xFF;
            var segment = (inverted >> 4) & 0x07;
            var step = inverted & 0x0F;
            // Middle of the step's interval: ((step × 8 + Bias) << segment) − Bias.
            var magnitude = (((step << 3) + Bias) << segment) - Bias;
            table[code] = (short)((inverted & 0x80) != 0 ? -magnitude : magnitude);
        }
        return table;
    }
}
