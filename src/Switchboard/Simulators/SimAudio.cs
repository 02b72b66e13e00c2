using System.Buffers.Binary;
using System.Collections.Concurrent;
using Switchboard.Realtime.Audio;

namespace Switchboard.Simulators;

/// <summary>
/// Audio for the simulators, as 8 kHz μ-law bytes (what Twilio carries): WAV files (PCM16 or G.711 μ-law, mono, 8 or
/// 24 kHz; 16 and 22.05 kHz are linearly resampled), speech-like test signals, and a frame energy measure for the
/// provider simulator's voice activity detection. Clips are cached: every simulated call shares the same bytes.
/// </summary>
internal static class SimAudio
{
    public const int FrameBytes = 160; // 20 ms of 8 kHz μ-law

    private static readonly ConcurrentDictionary<string, byte[]> Cache = new();

    /// <summary>
    /// A clip by name: a WAV path, <c>tone:MS</c> (a speech-like modulated tone of MS milliseconds) or <c>silence:MS</c>.
    /// Throws <see cref="InvalidDataException"/> for an unsupported WAV.
    /// </summary>
    public static byte[] Load(string source) => Cache.GetOrAdd(source, static s =>
        s.StartsWith("tone:", StringComparison.Ordinal) ? Tone(int.Parse(s[5..], System.Globalization.CultureInfo.InvariantCulture))
        : s.StartsWith("silence:", StringComparison.Ordinal) ? Silence(int.Parse(s[8..], System.Globalization.CultureInfo.InvariantCulture))
        : ReadWav(File.ReadAllBytes(s)));

    public static byte[] Silence(int ms)
    {
        var bytes = new byte[ms * 8];
        Array.Fill(bytes, MuLaw.Silence);
        return bytes;
    }

    /// <summary>A 180 Hz tone with harmonics, amplitude-modulated at 4 Hz like syllables, never silent for long.</summary>
    public static byte[] Tone(int ms)
    {
        var n = ms * 8;
        var bytes = new byte[n];
        for (var i = 0; i < n; i++)
        {
            var t = i / 8000.0;
            var envelope = 0.55 + (0.45 * Math.Sin(2 * Math.PI * 4 * t));
            var v = envelope * ((Math.Sin(2 * Math.PI * 180 * t) * 6000) + (Math.Sin(2 * Math.PI * 360 * t) * 3000) + (Math.Sin(2 * Math.PI * 720 * t) * 1500));
            bytes[i] = MuLaw.EncodeSample((short)Math.Clamp(v, short.MinValue, short.MaxValue));
        }
        return bytes;
    }

    /// <summary>Mean absolute amplitude (16-bit scale) of μ-law bytes: about 0 for silence, thousands for speech.</summary>
    public static int Energy(ReadOnlySpan<byte> mulaw)
    {
        if (mulaw.IsEmpty)
        {
            return 0;
        }
        long sum = 0;
        foreach (var b in mulaw)
        {
            sum += Math.Abs((int)MuLaw.DecodeSample(b));
        }
        return (int)(sum / mulaw.Length);
    }

    /// <summary>Mean absolute amplitude of little-endian PCM16 bytes.</summary>
    public static int EnergyPcm16(ReadOnlySpan<byte> pcm)
    {
        var samples = pcm.Length / 2;
        if (samples == 0)
        {
            return 0;
        }
        long sum = 0;
        for (var i = 0; i < samples; i++)
        {
            sum += Math.Abs((int)BinaryPrimitives.ReadInt16LittleEndian(pcm[(i * 2)..]));
        }
        return (int)(sum / samples);
    }

    /// <summary>Parses a RIFF/WAVE file to 8 kHz μ-law.</summary>
    public static byte[] ReadWav(ReadOnlySpan<byte> file)
    {
        if (file.Length < 12 || !file[..4].SequenceEqual("RIFF"u8) || !file[8..12].SequenceEqual("WAVE"u8))
        {
            throw new InvalidDataException("Not a RIFF/WAVE file.");
        }
        int format = 0, channels = 0, rate = 0, bits = 0;
        var pos = 12;
        ReadOnlySpan<byte> data = default;
        while (pos + 8 <= file.Length)
        {
            var id = file.Slice(pos, 4);
            var size = BinaryPrimitives.ReadInt32LittleEndian(file[(pos + 4)..]);
            var body = file.Slice(pos + 8, Math.Min(size, file.Length - pos - 8));
            if (id.SequenceEqual("fmt "u8))
            {
                format = BinaryPrimitives.ReadUInt16LittleEndian(body);
                channels = BinaryPrimitives.ReadUInt16LittleEndian(body[2..]);
                rate = BinaryPrimitives.ReadInt32LittleEndian(body[4..]);
                bits = BinaryPrimitives.ReadUInt16LittleEndian(body[14..]);
                if (format == 0xFFFE && body.Length >= 26)
                {
                    format = BinaryPrimitives.ReadUInt16LittleEndian(body[24..]); // WAVE_FORMAT_EXTENSIBLE sub-format
                }
            }
            else if (id.SequenceEqual("data"u8))
            {
                data = body;
            }
            pos += 8 + size + (size & 1);
        }
        if (channels != 1)
        {
            throw new InvalidDataException($"Only mono WAV is supported (this one has {channels} channels).");
        }
        if (format == 7 && bits == 8 && rate == 8000)
        {
            return data.ToArray();
        }
        if (format != 1 || bits != 16)
        {
            throw new InvalidDataException($"Only PCM16 or 8-bit μ-law WAV is supported (format {format}, {bits} bits).");
        }
        var pcm = new short[data.Length / 2];
        for (var i = 0; i < pcm.Length; i++)
        {
            pcm[i] = BinaryPrimitives.ReadInt16LittleEndian(data[(i * 2)..]);
        }
        short[] at8k;
        if (rate == 8000)
        {
            at8k = pcm;
        }
        else if (rate == 24000)
        {
            at8k = new short[(pcm.Length / 3) + 1];
            var n = new Resampler24kTo8k().Process(pcm, at8k);
            Array.Resize(ref at8k, n);
        }
        else
        {
            // Linear interpolation after a crude box low-pass: test material only.
            var count = (int)((long)pcm.Length * 8000 / rate);
            at8k = new short[count];
            var step = rate / 8000.0;
            for (var i = 0; i < count; i++)
            {
                var x = i * step;
                var j = (int)x;
                var a = pcm[Math.Min(j, pcm.Length - 1)];
                var b = pcm[Math.Min(j + 1, pcm.Length - 1)];
                at8k[i] = (short)(a + ((b - a) * (x - j)));
            }
        }
        var mulaw = new byte[at8k.Length];
        MuLaw.Encode(at8k, mulaw);
        return mulaw;
    }
}

/// <summary>
/// One clock for every simulated call in a process: a 10 ms periodic timer calling each subscriber, which sends what is
/// due by then (so a late tick is caught up, not lost). One timer for thousands of calls, instead of one each.
/// </summary>
internal sealed class SimPacer : IAsyncDisposable
{
    private readonly Lock gate = new();
    private ISimPaced[] subscribers = [];
    private readonly CancellationTokenSource stop = new();
    private readonly Task loop;
    private int disposed;

    public SimPacer(int tickMs = 10)
    {
        loop = Task.Factory.StartNew(() => RunAsync(tickMs), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
    }

    public void Add(ISimPaced subscriber)
    {
        lock (gate)
        {
            subscribers = [.. subscribers, subscriber];
        }
    }

    public void Remove(ISimPaced subscriber)
    {
        lock (gate)
        {
            subscribers = subscribers.Where(s => s != subscriber).ToArray();
        }
    }

    private async Task RunAsync(int tickMs)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(tickMs));
        try
        {
            while (await timer.WaitForNextTickAsync(stop.Token))
            {
                var now = System.Diagnostics.Stopwatch.GetTimestamp();
                foreach (var s in Volatile.Read(ref subscribers))
                {
                    try
                    {
                        s.Tick(now);
                    }
                    catch (Exception e) when (e is not OutOfMemoryException)
                    {
                        // A simulated call's failure stays in that call.
                        Remove(s);
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) == 1)
        {
            return;
        }
        await stop.CancelAsync();
        await loop;
        stop.Dispose();
    }
}

/// <summary>Something a <see cref="SimPacer"/> drives.</summary>
internal interface ISimPaced
{
    /// <param name="now"><see cref="System.Diagnostics.Stopwatch"/> timestamp of the tick.</param>
    void Tick(long now);
}
