using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Switchboard.Realtime.Bridge;

/// <summary>
/// A lock-free latency histogram in microseconds: exact below 64 µs, then 32 sub-buckets per power of two (about 3 %
/// resolution) up to ~35 minutes. Recording is one <see cref="Interlocked.Increment(ref long)"/>.
/// </summary>
internal sealed class LatencyHistogram
{
    private const int Linear = 64;
    private const int SubBits = 5;
    private readonly long[] buckets = new long[Linear + ((41 - 6) << SubBits)];

    public long Count => Interlocked.Read(ref count);
    private long count;

    public void Record(long microseconds)
    {
        Interlocked.Increment(ref buckets[IndexOf(Math.Max(0, microseconds))]);
        Interlocked.Increment(ref count);
    }

    public void RecordTicks(long stopwatchTicks) => Record(stopwatchTicks * 1_000_000 / Stopwatch.Frequency);

    /// <summary>Approximate value (µs, the bucket's upper bound) at quantile <paramref name="q"/> (0–1); 0 when empty.</summary>
    public long Quantile(double q)
    {
        var total = Count;
        if (total == 0)
        {
            return 0;
        }
        var rank = (long)Math.Ceiling(q * total);
        long seen = 0;
        for (var i = 0; i < buckets.Length; i++)
        {
            seen += Interlocked.Read(ref buckets[i]);
            if (seen >= rank)
            {
                return UpperBound(i);
            }
        }
        return UpperBound(buckets.Length - 1);
    }

    /// <summary>How many values were above <paramref name="microseconds"/> (to bucket resolution).</summary>
    public long CountAbove(long microseconds)
    {
        long above = 0;
        for (var i = IndexOf(microseconds) + 1; i < buckets.Length; i++)
        {
            above += Interlocked.Read(ref buckets[i]);
        }
        return above;
    }

    /// <summary>Cumulative counts at each non-empty bucket's upper bound (µs), for a Prometheus histogram.</summary>
    public IEnumerable<(long UpperBoundMicroseconds, long Cumulative)> Cumulative()
    {
        long seen = 0;
        for (var i = 0; i < buckets.Length; i++)
        {
            var c = Interlocked.Read(ref buckets[i]);
            if (c == 0)
            {
                continue;
            }
            seen += c;
            yield return (UpperBound(i), seen);
        }
    }

    private static int IndexOf(long v)
    {
        if (v < Linear)
        {
            return (int)v;
        }
        var exponent = 63 - (int)long.LeadingZeroCount(v);
        var sub = (int)((v >> (exponent - SubBits)) & ((1 << SubBits) - 1));
        return Math.Min(Linear + ((exponent - 6) << SubBits) + sub, Linear + ((41 - 6) << SubBits) - 1);
    }

    private static long UpperBound(int index)
    {
        if (index < Linear)
        {
            return index;
        }
        var exponent = ((index - Linear) >> SubBits) + 6;
        var sub = (index - Linear) & ((1 << SubBits) - 1);
        return ((1L << SubBits) + sub + 1 << (exponent - SubBits)) - 1;
    }
}

/// <summary>
/// Process-wide figures of the media bridge, served at <c>GET /metrics/voice</c> (Prometheus text format):
/// bridge-added latency (a provider audio delta read → its frame handed to Twilio's socket), frames later than 20 ms,
/// greeting and per-turn latencies, active and total calls, reconnects, provider failures, malformed frames.
/// </summary>
internal sealed class VoiceMetrics
{
    public LatencyHistogram BridgeLatency { get; } = new();
    public LatencyHistogram GreetingLatency { get; } = new();
    public LatencyHistogram ProviderTurnLatency { get; } = new();

    public long ActiveCalls => Interlocked.Read(ref activeCalls);
    private long activeCalls;
    private long callsTotal;
    private long framesToTwilio;
    private long framesToProvider;
    private long reconnects;
    private long providerFailures;
    private long badFrames;
    private long droppedCalls;

    public void CallStarted()
    {
        Interlocked.Increment(ref activeCalls);
        Interlocked.Increment(ref callsTotal);
    }

    public void CallEnded() => Interlocked.Decrement(ref activeCalls);
    public void FrameToTwilio() => Interlocked.Increment(ref framesToTwilio);
    public void FrameToProvider() => Interlocked.Increment(ref framesToProvider);
    public void Reconnected() => Interlocked.Increment(ref reconnects);
    public void ProviderFailed() => Interlocked.Increment(ref providerFailures);
    public void BadFrame() => Interlocked.Increment(ref badFrames);
    public void QueueOverflow() => Interlocked.Increment(ref droppedCalls);

    public string ToPrometheus()
    {
        var s = new StringBuilder();
        void Counter(string name, string help, long value, string type = "counter")
        {
            s.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n');
            s.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
            s.Append(name).Append(' ').Append(value.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
        void Summary(string name, string help, LatencyHistogram h)
        {
            s.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n');
            s.Append("# TYPE ").Append(name).Append(" summary\n");
            foreach (var q in new[] { 0.5, 0.9, 0.99, 0.999 })
            {
                s.Append(name).Append("{quantile=\"").Append(q.ToString(CultureInfo.InvariantCulture)).Append("\"} ")
                    .Append((h.Quantile(q) / 1e6).ToString("0.######", CultureInfo.InvariantCulture)).Append('\n');
            }
            s.Append(name).Append("_count ").Append(h.Count.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
        Counter("switchboard_voice_active_calls", "Media streams bridged right now.", ActiveCalls, "gauge");
        Counter("switchboard_voice_calls_total", "Media streams accepted.", Interlocked.Read(ref callsTotal));
        Counter("switchboard_voice_frames_to_twilio_total", "Audio frames sent to Twilio.", Interlocked.Read(ref framesToTwilio));
        Counter("switchboard_voice_frames_to_provider_total", "Audio frames sent to the speech provider.", Interlocked.Read(ref framesToProvider));
        Counter("switchboard_voice_late_frames_total", "Audio frames sent to Twilio more than 20 ms after their provider delta arrived.", BridgeLatency.CountAbove(20_000));
        Counter("switchboard_voice_provider_reconnects_total", "Provider sessions re-established mid-call.", Interlocked.Read(ref reconnects));
        Counter("switchboard_voice_provider_failures_total", "Calls whose provider could not be reached.", Interlocked.Read(ref providerFailures));
        Counter("switchboard_voice_bad_frames_total", "Malformed frames received.", Interlocked.Read(ref badFrames));
        Counter("switchboard_voice_queue_overflows_total", "Calls ended because a peer stopped reading.", Interlocked.Read(ref droppedCalls));
        Summary("switchboard_voice_bridge_latency_seconds", "Provider audio delta read to frame sent to Twilio.", BridgeLatency);
        s.Append("# HELP switchboard_voice_bridge_latency_histogram_seconds Provider audio delta read to frame sent to Twilio.\n");
        s.Append("# TYPE switchboard_voice_bridge_latency_histogram_seconds histogram\n");
        foreach (var (bound, cumulative) in BridgeLatency.Cumulative())
        {
            s.Append("switchboard_voice_bridge_latency_histogram_seconds_bucket{le=\"").Append((bound / 1e6).ToString("0.######", CultureInfo.InvariantCulture))
                .Append("\"} ").Append(cumulative.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
        s.Append("switchboard_voice_bridge_latency_histogram_seconds_bucket{le=\"+Inf\"} ").Append(BridgeLatency.Count.ToString(CultureInfo.InvariantCulture)).Append('\n');
        s.Append("switchboard_voice_bridge_latency_histogram_seconds_count ").Append(BridgeLatency.Count.ToString(CultureInfo.InvariantCulture)).Append('\n');
        Summary("switchboard_voice_greeting_latency_seconds", "Stream start to the first greeting frame sent to Twilio.", GreetingLatency);
        Summary("switchboard_voice_provider_turn_latency_seconds", "Caller end of speech to the provider's first audio.", ProviderTurnLatency);
        Counter("switchboard_process_managed_heap_bytes", "GC heap size.", GC.GetTotalMemory(false), "gauge");
        Counter("switchboard_process_working_set_bytes", "Resident memory.", Environment.WorkingSet, "gauge");
        Counter("switchboard_process_allocated_bytes_total", "Bytes allocated on the managed heap since start.", GC.GetTotalAllocatedBytes(false));
        Counter("switchboard_process_gc_collections_total", "Garbage collections, all generations.", GC.CollectionCount(0));
        return s.ToString();
    }
}
