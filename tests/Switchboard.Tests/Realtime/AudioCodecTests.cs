using Switchboard.Realtime.Audio;

namespace Switchboard.Tests.Realtime;

public sealed class AudioCodecTests
{
    private const int FrameAt8k = 160;  // 20 ms
    private const int FrameAt24k = 480; // 20 ms

    // ---- μ-law (ITU-T G.711) ----

    [Fact]
    public void EveryPcmValueRoundTripsWithinHalfAQuantisationStep()
    {
        for (int x = short.MinValue; x <= short.MaxValue; x++)
        {
            var decoded = (int)MuLaw.DecodeSample(MuLaw.EncodeSample((short)x));
            var magnitude = Math.Abs(x);

            if (magnitude <= 32635)
            {
                // Segment s holds magnitudes (128 << s) − 132 … (256 << s) − 133 in steps of 8 << s and
                // reconstructs at each step's middle, so the error is at most (8 << s) / 2 ≤ (|x| + 132) / 32.
                Assert.True(Math.Abs(decoded - x) <= (magnitude + 132) / 32.0, $"pcm {x} decoded as {decoded}");
            }
            else
            {
                // Beyond the top decision value the code clips to the largest step.
                Assert.Equal(Math.Sign(x) * 32124, decoded);
            }
            Assert.True(decoded == 0 || Math.Sign(decoded) == Math.Sign(x), $"pcm {x} changed sign: {decoded}");
        }
    }

    [Theory]
    [InlineData(0xFF, 0)]       // +0: silence, Twilio's idle byte
    [InlineData(0x7F, 0)]       // −0
    [InlineData(0x80, 32124)]   // positive extreme: 8031 on G.711's 14-bit scale, × 4
    [InlineData(0x00, -32124)]  // negative extreme
    [InlineData(0xF0, 120)]     // top of segment 0: 30 × 4
    [InlineData(0xEF, 132)]     // bottom of segment 1: 33 × 4
    [InlineData(0xEE, 148)]     // next step: 37 × 4
    [InlineData(0x8F, 16764)]   // bottom of segment 7: 4191 × 4
    [InlineData(0x70, -120)]
    public void KnownCodeWordsDecodeToTheG711ReconstructionValues(int code, int pcm)
    {
        Assert.Equal(pcm, MuLaw.DecodeSample((byte)code));
    }

    [Theory]
    [InlineData(0, 0xFF)]
    [InlineData(1, 0xFF)]
    [InlineData(-1, 0x7F)]
    [InlineData(32767, 0x80)]
    [InlineData(-32768, 0x00)]
    [InlineData(32124, 0x80)]
    [InlineData(120, 0xF0)]
    [InlineData(132, 0xEF)]
    public void KnownPcmValuesEncodeToTheG711CodeWords(int pcm, int code)
    {
        Assert.Equal((byte)code, MuLaw.EncodeSample((short)pcm));
    }

    [Fact]
    public void EveryCodeWordExceptNegativeZeroSurvivesDecodeThenEncode()
    {
        for (var code = 0; code < 256; code++)
        {
            var again = MuLaw.EncodeSample(MuLaw.DecodeSample((byte)code));

            Assert.Equal(code == 0x7F ? 0xFF : code, again);
        }
    }

    [Fact]
    public void DecodingIsSymmetricAndMonotonic()
    {
        for (var code = 0x80; code < 0x100; code++)
        {
            Assert.Equal(-MuLaw.DecodeSample((byte)code), MuLaw.DecodeSample((byte)(code ^ 0x80)));
            if (code > 0x80)
            {
                // Larger inverted code = smaller magnitude.
                Assert.True(MuLaw.DecodeSample((byte)code) < MuLaw.DecodeSample((byte)(code - 1)));
            }
        }
    }

    [Fact]
    public void SpanApisMatchTheSampleApis()
    {
        var pcm = new short[65536];
        for (var i = 0; i < pcm.Length; i++)
        {
            pcm[i] = (short)(i + short.MinValue);
        }
        var codes = new byte[pcm.Length];
        var back = new short[pcm.Length];

        MuLaw.Encode(pcm, codes);
        MuLaw.Decode(codes, back);

        for (var i = 0; i < pcm.Length; i++)
        {
            Assert.Equal(MuLaw.EncodeSample(pcm[i]), codes[i]);
            Assert.Equal(MuLaw.DecodeSample(codes[i]), back[i]);
        }
    }

    [Fact]
    public void TooShortDestinationIsRejected()
    {
        Assert.Throws<ArgumentException>(() => MuLaw.Decode(new byte[160], new short[159]));
        Assert.Throws<ArgumentException>(() => MuLaw.Encode(new short[160], new byte[159]));
    }

    // ---- Resampling 8 kHz ↔ 24 kHz ----

    [Fact]
    public void Sine440UpsampledTo24kKeepsItsFrequencyAndAmplitude()
    {
        var input = Sine(440, 8000, 8000, amplitude: 16000);

        var output = UpsampleInFrames(input);

        var steady = output.AsSpan(FrameAt24k); // skip the 2 ms filter start-up, with margin
        Assert.Equal(440, MeasureFrequency(steady, 24000), 0.2);
        Assert.Equal(Rms(input), Rms(steady), Rms(input) * 0.01);
    }

    [Fact]
    public void UpsampledSineMatchesTheIdealSineDelayedBy2Ms()
    {
        var input = Sine(440, 8000, 8000, amplitude: 16000);

        var output = UpsampleInFrames(input);

        var ideal = Sine(440, 24000, 24000 + Resampler8kTo24k.DelaySamples, amplitude: 16000);
        for (var m = FrameAt24k; m < output.Length; m++)
        {
            var expected = m >= Resampler8kTo24k.DelaySamples ? ideal[m - Resampler8kTo24k.DelaySamples] : 0;
            Assert.True(Math.Abs(output[m] - expected) <= 16, $"sample {m}: {output[m]} vs {expected}");
        }
    }

    [Fact]
    public void UpsamplingAddsNoImagesAboveTheTelephoneBand()
    {
        var input = Sine(440, 8000, 8000, amplitude: 16000);

        var output = UpsampleInFrames(input).AsSpan(12000, 12000); // 0.5 s: whole cycles of both tones

        var tone = Goertzel(output, 440, 24000);
        // Zero-stuffing to 24 kHz mirrors 440 Hz at 8000 ± 440 Hz; the low-pass must remove those images.
        Assert.True(Decibels(Goertzel(output, 7560, 24000) / tone) < -60);
        Assert.True(Decibels(Goertzel(output, 8440, 24000) / tone) < -60);
    }

    [Fact]
    public void UpsamplingKeepsTheOriginalSamples()
    {
        var input = Noise(8000, seed: 1);

        var output = UpsampleInFrames(input);

        for (var n = 0; n + Resampler8kTo24k.DelaySamples / 3 < input.Length; n++)
        {
            Assert.Equal(input[n], output[(3 * n) + Resampler8kTo24k.DelaySamples]);
        }
    }

    [Fact]
    public void Tone10kAt24kIsAttenuatedMoreThan30DbWhenDownsampled()
    {
        var input = Sine(10000, 24000, 24000, amplitude: 16000);

        var output = DownsampleInFrames(input);

        var steady = output.AsSpan(FrameAt8k);
        // 10 kHz would alias to 2 kHz, inside the telephone band, without the anti-aliasing filter.
        Assert.True(Decibels(Rms(steady) / Rms(input)) < -30, $"attenuation only {Decibels(Rms(steady) / Rms(input)):F1} dB");
    }

    [Fact]
    public void Tone1kAt24kPassesDownsamplingUnchanged()
    {
        var input = Sine(1000, 24000, 24000, amplitude: 16000);

        var output = DownsampleInFrames(input);

        var steady = output.AsSpan(FrameAt8k);
        Assert.Equal(1000, MeasureFrequency(steady, 8000), 0.5);
        Assert.Equal(Rms(input), Rms(steady), Rms(input) * 0.01);
    }

    [Fact]
    public void UpsamplingIn20MsFramesEqualsOneBlock()
    {
        var input = Noise(8000, seed: 2);

        var block = new short[input.Length * 3];
        Assert.Equal(block.Length, new Resampler8kTo24k().Process(input, block));

        Assert.Equal(block, UpsampleInFrames(input));
        Assert.Equal(block, UpsampleInChunks(input, [1, 7, 160, 33, 2, 500]));
    }

    [Fact]
    public void DownsamplingIn20MsFramesEqualsOneBlock()
    {
        var input = Noise(24000, seed: 3);

        var block = new short[input.Length / 3];
        Assert.Equal(block.Length, new Resampler24kTo8k().Process(input, block));

        Assert.Equal(block, DownsampleInFrames(input));
        // Chunks not divisible by 3 must keep the decimation phase across calls.
        Assert.Equal(block, DownsampleInChunks(input, [1, 7, 480, 2, 100, 1000]));
    }

    [Fact]
    public void ResetMakesAnInstanceBehaveAsNew()
    {
        var input = Noise(2400, seed: 4);
        var up = new Resampler8kTo24k();
        var down = new Resampler24kTo8k();
        up.Process(input.AsSpan(0, 100), new short[300]);
        down.Process(input.AsSpan(0, 100), new short[34]);

        up.Reset();
        down.Reset();

        var upAgain = new short[input.Length * 3];
        up.Process(input, upAgain);
        var upFresh = new short[input.Length * 3];
        new Resampler8kTo24k().Process(input, upFresh);
        Assert.Equal(upFresh, upAgain);

        var downAgain = new short[input.Length / 3];
        down.Process(input, downAgain);
        var downFresh = new short[input.Length / 3];
        new Resampler24kTo8k().Process(input, downFresh);
        Assert.Equal(downFresh, downAgain);
    }

    [Fact]
    public void FullScaleSquareWaveClampsInsteadOfWrapping()
    {
        var input = new short[1600];
        for (var i = 0; i < input.Length; i++)
        {
            input[i] = (i / 20 % 2 == 0) ? short.MaxValue : short.MinValue;
        }

        var up = UpsampleInFrames(input);

        // Ringing overshoots full scale; wrapping would flip the sign of those samples.
        for (var m = 1; m < up.Length; m++)
        {
            Assert.True(Math.Abs(up[m] - up[m - 1]) < 40000, $"jump at {m}: {up[m - 1]} → {up[m]}");
        }
        Assert.Contains(up, s => s == short.MaxValue);
        Assert.Contains(up, s => s == short.MinValue);
    }

    [Fact]
    public void TooShortOutputIsRejected()
    {
        Assert.Throws<ArgumentException>(() => new Resampler8kTo24k().Process(new short[160], new short[479]));
        Assert.Throws<ArgumentException>(() => new Resampler24kTo8k().Process(new short[480], new short[159]));
        Assert.Equal(0, new Resampler24kTo8k().Process([], []));
    }

    [Fact]
    public void BridgingA20MsFrameDoesNotAllocate()
    {
        var mulawIn = new byte[FrameAt8k];
        var pcm8k = new short[FrameAt8k];
        var pcm24k = new short[FrameAt24k];
        var mulawOut = new byte[FrameAt8k];
        var up = new Resampler8kTo24k();
        var down = new Resampler24kTo8k();
        Array.Fill(mulawIn, (byte)0x55);

        void Frame()
        {
            MuLaw.Decode(mulawIn, pcm8k);
            up.Process(pcm8k, pcm24k);
            down.Process(pcm24k, pcm8k);
            MuLaw.Encode(pcm8k, mulawOut);
        }

        for (var i = 0; i < 200; i++)
        {
            Frame(); // warm up: static tables, JIT tiers
        }
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 50; i++)
        {
            Frame();
        }
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
    }

    // ---- helpers ----

    private static short[] UpsampleInFrames(short[] input) => UpsampleInChunks(input, [FrameAt8k]);

    private static short[] DownsampleInFrames(short[] input) => DownsampleInChunks(input, [FrameAt24k]);

    private static short[] UpsampleInChunks(short[] input, int[] chunkSizes)
    {
        var resampler = new Resampler8kTo24k();
        var output = new short[input.Length * 3];
        var frameOut = new short[chunkSizes.Max() * 3];
        int read = 0, written = 0, c = 0;
        while (read < input.Length)
        {
            var n = Math.Min(chunkSizes[c++ % chunkSizes.Length], input.Length - read);
            var got = resampler.Process(input.AsSpan(read, n), frameOut);
            frameOut.AsSpan(0, got).CopyTo(output.AsSpan(written));
            read += n;
            written += got;
        }
        Assert.Equal(output.Length, written);
        return output;
    }

    private static short[] DownsampleInChunks(short[] input, int[] chunkSizes)
    {
        var resampler = new Resampler24kTo8k();
        var output = new short[(input.Length + 2) / 3];
        var frameOut = new short[(chunkSizes.Max() + 2) / 3];
        int read = 0, written = 0, c = 0;
        while (read < input.Length)
        {
            var n = Math.Min(chunkSizes[c++ % chunkSizes.Length], input.Length - read);
            var got = resampler.Process(input.AsSpan(read, n), frameOut);
            frameOut.AsSpan(0, got).CopyTo(output.AsSpan(written));
            read += n;
            written += got;
        }
        Assert.Equal(output.Length, written);
        return output;
    }

    private static short[] Sine(double hz, int sampleRate, int count, double amplitude)
    {
        var samples = new short[count];
        for (var i = 0; i < count; i++)
        {
            samples[i] = (short)Math.Round(amplitude * Math.Sin(2 * Math.PI * hz * i / sampleRate));
        }
        return samples;
    }

    private static short[] Noise(int count, int seed)
    {
        var random = new Random(seed);
        var samples = new short[count];
        for (var i = 0; i < count; i++)
        {
            samples[i] = (short)random.Next(-12000, 12000);
        }
        return samples;
    }

    private static double Rms(ReadOnlySpan<short> samples)
    {
        var sum = 0.0;
        foreach (var s in samples)
        {
            sum += (double)s * s;
        }
        return Math.Sqrt(sum / samples.Length);
    }

    /// <summary>Frequency from the first and last rising zero crossing, interpolated between samples.</summary>
    private static double MeasureFrequency(ReadOnlySpan<short> samples, int sampleRate)
    {
        double first = -1, last = -1;
        var crossings = 0;
        for (var i = 1; i < samples.Length; i++)
        {
            if (samples[i - 1] < 0 && samples[i] >= 0)
            {
                var at = i - 1 + ((double)-samples[i - 1] / (samples[i] - samples[i - 1]));
                if (first < 0)
                {
                    first = at;
                }
                last = at;
                crossings++;
            }
        }
        Assert.True(crossings >= 2, "no periodic signal");
        return (crossings - 1) * sampleRate / (last - first);
    }

    /// <summary>Amplitude of one frequency component (Goertzel), for a window holding whole cycles.</summary>
    private static double Goertzel(ReadOnlySpan<short> samples, double hz, int sampleRate)
    {
        var coefficient = 2 * Math.Cos(2 * Math.PI * hz / sampleRate);
        double s1 = 0, s2 = 0;
        foreach (var x in samples)
        {
            var s0 = x + (coefficient * s1) - s2;
            s2 = s1;
            s1 = s0;
        }
        var power = (s1 * s1) + (s2 * s2) - (coefficient * s1 * s2);
        return 2 * Math.Sqrt(Math.Max(power, 0)) / samples.Length;
    }

    private static double Decibels(double ratio) => 20 * Math.Log10(Math.Max(ratio, 1e-12));
}
