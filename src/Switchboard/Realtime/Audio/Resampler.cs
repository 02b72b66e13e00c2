using System.Numerics;

namespace Switchboard.Realtime.Audio;

/// <summary>
/// The shared low-pass filter for converting 16-bit PCM between 8 kHz (Twilio μ-law leg) and 24 kHz
/// (OpenAI Realtime <c>audio/pcm</c>, which is 24 kHz only).
/// </summary>
/// <remarks>
/// A 97-tap Kaiser-windowed sinc (β = 7, about 70 dB stop-band rejection) at the 24 kHz rate with its
/// cut-off at 4 kHz, the 8 kHz Nyquist frequency. The transition band is about ±540 Hz around 4 kHz, so
/// the telephone band (300–3400 Hz) passes flat. Design follows the windowed-sinc method with Kaiser's
/// β/length formulas (Oppenheim &amp; Schafer, <i>Discrete-Time Signal Processing</i>, §7.5–7.6).
/// Because the cut-off is exactly fs/6, every third tap away from the centre is zero: the ×3 filter is
/// a Nyquist filter that passes the original 8 kHz samples through unchanged.
/// </remarks>
internal static class Resampler
{
    /// <summary>Ratio between the two rates.</summary>
    public const int Factor = 3;

    /// <summary>Taps of the prototype filter at 24 kHz (odd, centred on tap <see cref="CentreTap"/>).</summary>
    public const int TapCount = 97;

    /// <summary>Index of the centre tap; a multiple of <see cref="Factor"/> so both directions delay by whole samples.</summary>
    public const int CentreTap = TapCount / 2;

    /// <summary>Delay through either converter: 48 samples at 24 kHz = 16 samples at 8 kHz = 2 ms.</summary>
    public const int DelayMs = CentreTap / Factor * 1000 / 8000;

    private const double CutoffHz = 4000;
    private const double HighRateHz = 24000;
    private const double KaiserBeta = 7.0;

    /// <summary>Prototype low-pass taps at 24 kHz, normalised to unit DC gain.</summary>
    internal static readonly float[] Prototype = DesignLowPass();

    private static float[] DesignLowPass()
    {
        var taps = new double[TapCount];
        var fc = CutoffHz / HighRateHz; // cycles per sample
        var i0Beta = BesselI0(KaiserBeta);
        var sum = 0.0;
        for (var n = 0; n < TapCount; n++)
        {
            var t = n - CentreTap;
            var sinc = t == 0 ? 2 * fc : Math.Sin(2 * Math.PI * fc * t) / (Math.PI * t);
            var r = (double)t / CentreTap;
            var window = BesselI0(KaiserBeta * Math.Sqrt(1 - (r * r))) / i0Beta;
            taps[n] = sinc * window;
            sum += taps[n];
        }

        var result = new float[TapCount];
        for (var n = 0; n < TapCount; n++)
        {
            result[n] = (float)(taps[n] / sum);
        }
        return result;
    }

    /// <summary>Zeroth-order modified Bessel function of the first kind, by its power series.</summary>
    private static double BesselI0(double x)
    {
        var sum = 1.0;
        var term = 1.0;
        var halfX = x / 2;
        for (var k = 1; k < 50; k++)
        {
            term *= halfX / k;
            var squared = term * term;
            sum += squared;
            if (squared < sum * 1e-17)
            {
                break;
            }
        }
        return sum;
    }

    /// <summary>Σ a[i]·b[i] over two spans of equal length.</summary>
    internal static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        var acc = Vector<float>.Zero;
        var i = 0;
        for (; i <= a.Length - Vector<float>.Count; i += Vector<float>.Count)
        {
            acc += new Vector<float>(a[i..]) * new Vector<float>(b[i..]);
        }
        var sum = Vector.Sum(acc);
        for (; i < a.Length; i++)
        {
            sum += a[i] * b[i];
        }
        return sum;
    }

    internal static short ToPcm16(float value) => (short)Math.Clamp(MathF.Round(value), short.MinValue, short.MaxValue);
}

/// <summary>
/// Streaming 8 kHz → 24 kHz converter for mono PCM16 (e.g. decoded Twilio μ-law to OpenAI Realtime
/// <c>audio/pcm</c>). Polyphase form of <see cref="Resampler"/>'s filter: each input sample yields three
/// output samples, one per phase. State carries across calls, so feeding 20 ms frames (160 → 480 samples)
/// gives exactly the output of one long call, without clicks at frame edges. One instance per stream;
/// not thread-safe. <see cref="Process"/> does not allocate.
/// </summary>
internal sealed class Resampler8kTo24k
{
    private const int TapsPerPhase = (Resampler.TapCount + Resampler.Factor - 1) / Resampler.Factor;

    // Per phase p: taps h[3k + p], reversed so they line up oldest-first with the history window, and
    // scaled so each phase has unit DC gain (this also supplies the ×3 interpolation gain).
    private static readonly float[][] Phases = BuildPhases();

    // The last TapsPerPhase inputs, written twice so the window is always one contiguous span.
    private readonly float[] _history = new float[2 * TapsPerPhase];
    private int _head;

    /// <summary>Delay in 24 kHz output samples (48, i.e. 2 ms).</summary>
    public static int DelaySamples => Resampler.CentreTap;

    /// <summary>Converts <paramref name="input"/> (8 kHz) and writes three samples per input sample to <paramref name="output"/> (24 kHz).</summary>
    /// <param name="input">8 kHz samples, any count (typically 160 = 20 ms).</param>
    /// <param name="output">At least <c>3 × input.Length</c> samples.</param>
    /// <returns>The number of samples written: <c>3 × input.Length</c>.</returns>
    /// <exception cref="ArgumentException"><paramref name="output"/> is too short.</exception>
    public int Process(ReadOnlySpan<short> input, Span<short> output)
    {
        var needed = input.Length * Resampler.Factor;
        if (output.Length < needed)
        {
            throw new ArgumentException($"Output holds {output.Length} samples; {needed} are needed.", nameof(output));
        }

        var written = 0;
        foreach (var sample in input)
        {
            _history[_head] = sample;
            _history[_head + TapsPerPhase] = sample;
            var window = new ReadOnlySpan<float>(_history, _head + 1, TapsPerPhase);
            _head = _head + 1 == TapsPerPhase ? 0 : _head + 1;

            for (var p = 0; p < Resampler.Factor; p++)
            {
                output[written++] = Resampler.ToPcm16(Resampler.Dot(Phases[p], window));
            }
        }
        return written;
    }

    /// <summary>Clears the filter state, e.g. before reusing the instance for another call.</summary>
    public void Reset()
    {
        Array.Clear(_history);
        _head = 0;
    }

    private static float[][] BuildPhases()
    {
        var phases = new float[Resampler.Factor][];
        for (var p = 0; p < Resampler.Factor; p++)
        {
            var taps = new float[TapsPerPhase];
            var sum = 0.0;
            for (var k = 0; k < TapsPerPhase; k++)
            {
                var n = (k * Resampler.Factor) + p;
                sum += n < Resampler.TapCount ? Resampler.Prototype[n] : 0f;
            }
            for (var k = 0; k < TapsPerPhase; k++)
            {
                var n = (k * Resampler.Factor) + p;
                var tap = n < Resampler.TapCount ? Resampler.Prototype[n] : 0f;
                taps[TapsPerPhase - 1 - k] = (float)(tap / sum);
            }
            phases[p] = taps;
        }
        return phases;
    }
}

/// <summary>
/// Streaming 24 kHz → 8 kHz converter for mono PCM16 (e.g. OpenAI Realtime <c>audio/pcm</c> to the
/// Twilio μ-law leg). Low-pass filters with <see cref="Resampler"/>'s filter (anti-aliasing: content above
/// 4 kHz would fold back into the telephone band) and keeps every third sample. State, including the
/// position within the current group of three, carries across calls, so 20 ms frames (480 → 160 samples)
/// give exactly the output of one long call. One instance per stream; not thread-safe.
/// <see cref="Process"/> does not allocate.
/// </summary>
internal sealed class Resampler24kTo8k
{
    private const int Taps = Resampler.TapCount;

    // The prototype reversed, to line up oldest-first with the history window.
    private static readonly float[] Reversed = BuildReversed();

    // The last Taps inputs, written twice so the window is always one contiguous span.
    private readonly float[] _history = new float[2 * Taps];
    private int _head;
    private int _untilNextOutput;

    /// <summary>Delay in 8 kHz output samples (16, i.e. 2 ms).</summary>
    public static int DelaySamples => Resampler.CentreTap / Resampler.Factor;

    /// <summary>How many samples <see cref="Process"/> will write for <paramref name="inputLength"/> input samples in the current state.</summary>
    public int OutputLength(int inputLength) =>
        inputLength > _untilNextOutput ? ((inputLength - 1 - _untilNextOutput) / Resampler.Factor) + 1 : 0;

    /// <summary>Converts <paramref name="input"/> (24 kHz) and writes one sample per three input samples to <paramref name="output"/> (8 kHz).</summary>
    /// <param name="input">24 kHz samples, any count (typically 480 = 20 ms).</param>
    /// <param name="output">At least <see cref="OutputLength"/> samples; <c>input.Length / 3</c> rounded up always suffices.</param>
    /// <returns>The number of samples written (160 for each 480 input samples).</returns>
    /// <exception cref="ArgumentException"><paramref name="output"/> is too short.</exception>
    public int Process(ReadOnlySpan<short> input, Span<short> output)
    {
        var needed = OutputLength(input.Length);
        if (output.Length < needed)
        {
            throw new ArgumentException($"Output holds {output.Length} samples; {needed} are needed.", nameof(output));
        }

        var written = 0;
        foreach (var sample in input)
        {
            _history[_head] = sample;
            _history[_head + Taps] = sample;
            var window = new ReadOnlySpan<float>(_history, _head + 1, Taps);
            _head = _head + 1 == Taps ? 0 : _head + 1;

            if (_untilNextOutput == 0)
            {
                output[written++] = Resampler.ToPcm16(Resampler.Dot(Reversed, window));
                _untilNextOutput = Resampler.Factor - 1;
            }
            else
            {
                _untilNextOutput--;
            }
        }
        return written;
    }

    /// <summary>Clears the filter state, e.g. before reusing the instance for another call.</summary>
    public void Reset()
    {
        Array.Clear(_history);
        _head = 0;
        _untilNextOutput = 0;
    }

    private static float[] BuildReversed()
    {
        var taps = new float[Taps];
        for (var n = 0; n < Taps; n++)
        {
            taps[Taps - 1 - n] = Resampler.Prototype[n];
        }
        return taps;
    }
}
