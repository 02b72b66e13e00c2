using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;

namespace Switchboard.Bench;

/// <summary>
/// Where the server says a Vapi message's time went: the <c>switchboard.vapi.message.phase.duration</c> histogram read from
/// its <c>GET /metrics</c> (Prometheus text, with the scrape token the bench started it with) before and after a phase, and the
/// difference's p50 and p99 per phase (call_order, prepare, writer_wait, write, durable_wait on SQLite; process on PostgreSQL),
/// interpolated linearly inside the bucket the quantile falls in (so a figure is as fine as the server's bucket bounds).
/// </summary>
internal sealed class ServerPhases(HttpClient http, Uri metricsUrl, string scrapeToken)
{
    private const string Bucket = "switchboard_vapi_message_phase_duration_seconds_bucket{";

    /// <summary>Order the phases are printed in (a message goes through them in this order).</summary>
    private static readonly string[] Order = ["call_order", "prepare", "writer_wait", "write", "durable_wait", "batch_wait", "sync_wait", "resume", "process"];

    /// <summary>
    /// The collector's figures at one scrape: pause time (s, since start), collections by generation, and bytes allocated on the
    /// managed heap since start (every thread, the server's background work included).
    /// </summary>
    internal sealed record GcFigures(double PauseSeconds, Dictionary<string, long> Collections, double AllocatedBytes);

    /// <summary>
    /// The runtime's GC figures now (<c>dotnet.gc.pause.time</c>, <c>dotnet.gc.collections</c> and
    /// <c>dotnet.gc.heap.total_allocated</c> of the System.Runtime meter).
    /// </summary>
    public async Task<GcFigures> GcAsync(CancellationToken ct)
    {
        var pause = 0.0;
        var allocated = 0.0;
        var collections = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var line in (await ReadAsync(ct)).Split('\n'))
        {
            if (line.StartsWith("dotnet_gc_pause_time_seconds_total", StringComparison.Ordinal))
            {
                pause += double.Parse(line[(line.LastIndexOf('}') + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            }
            else if (line.StartsWith("dotnet_gc_heap_total_allocated_bytes_total", StringComparison.Ordinal))
            {
                allocated += double.Parse(line[(line.LastIndexOf('}') + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            }
            else if (line.StartsWith("dotnet_gc_collections_total{", StringComparison.Ordinal)
                     && System.Text.RegularExpressions.Regex.Match(line, "gc_heap_generation=\"(\\w+)\"") is { Success: true } g)
            {
                collections[g.Groups[1].Value] = collections.GetValueOrDefault(g.Groups[1].Value)
                    + (long)double.Parse(line[(line.LastIndexOf('}') + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            }
        }
        return new GcFigures(pause, collections, allocated);
    }

    /// <summary>
    /// What the collector did between two <see cref="GcAsync"/> readings over <paramref name="seconds"/>: collections by generation,
    /// milliseconds paused, that as a share of the time, and KB allocated per message of the <paramref name="messages"/> answered.
    /// </summary>
    public static JsonObject GcBetween(GcFigures before, GcFigures after, double seconds, int messages)
    {
        var paused = (after.PauseSeconds - before.PauseSeconds) * 1000;
        var result = new JsonObject
        {
            ["pausedMs"] = Math.Round(paused, 1),
            ["pausedShare"] = Math.Round(seconds > 0 ? paused / (seconds * 1000) : 0, 4),
            ["allocatedKbPerMessage"] = Math.Round(messages > 0 ? (after.AllocatedBytes - before.AllocatedBytes) / 1024 / messages : 0, 1),
        };
        foreach (var (gen, count) in after.Collections.OrderBy(c => c.Key, StringComparer.Ordinal))
        {
            result[gen] = count - before.Collections.GetValueOrDefault(gen);
        }
        return result;
    }

    /// <summary>
    /// The SQLite group commit's transactions and the units of work they held, so far (<c>switchboard.sqlite.group_commit.batches</c>
    /// and <c>.units</c>); null where the server serves neither (PostgreSQL).
    /// </summary>
    public async Task<(double Batches, double Units)?> GroupCommitAsync(CancellationToken ct)
    {
        double? batches = null, units = null;
        foreach (var line in (await ReadAsync(ct)).Split('\n'))
        {
            if (line.StartsWith("switchboard_sqlite_group_commit_batches_total", StringComparison.Ordinal))
            {
                batches = (batches ?? 0) + SampleValue(line);
            }
            else if (line.StartsWith("switchboard_sqlite_group_commit_units_total", StringComparison.Ordinal))
            {
                units = (units ?? 0) + SampleValue(line);
            }
        }
        return batches is { } b && units is { } u ? (b, u) : null;
    }

    /// <summary>Transactions, units and units per transaction between two <see cref="GroupCommitAsync"/> readings; null without both.</summary>
    public static JsonObject? GroupCommitBetween((double Batches, double Units)? before, (double Batches, double Units)? after)
    {
        if (before is not { } b || after is not { } a)
        {
            return null;
        }
        var (batches, units) = (a.Batches - b.Batches, a.Units - b.Units);
        return new JsonObject
        {
            ["batches"] = batches,
            ["units"] = units,
            ["unitsPerBatch"] = batches > 0 ? Math.Round(units / batches, 2) : null,
        };
    }

    /// <summary>A Prometheus sample line's value (after the name, or after its labels when it has some).</summary>
    private static double SampleValue(string line)
    {
        var close = line.LastIndexOf('}');
        var rest = close >= 0 ? line[(close + 1)..] : line[(line.IndexOf(' ', StringComparison.Ordinal) + 1)..];
        return double.Parse(rest.Trim().Split(' ')[0], CultureInfo.InvariantCulture);
    }

    private async Task<string> ReadAsync(CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, metricsUrl);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", scrapeToken);
        using var response = await http.SendAsync(request, ct);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadAsStringAsync(ct);
    }

    /// <summary>Cumulative bucket counts now, by phase then upper bound (s; +∞ as <see cref="double.PositiveInfinity"/>).</summary>
    public async Task<Dictionary<string, SortedDictionary<double, long>>> ScrapeAsync(CancellationToken ct)
    {
        var text = await ReadAsync(ct);
        var byPhase = new Dictionary<string, SortedDictionary<double, long>>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            if (!line.StartsWith(Bucket, StringComparison.Ordinal))
            {
                continue;
            }
            var close = line.IndexOf('}', StringComparison.Ordinal);
            string? phase = null;
            var le = double.NaN;
            foreach (var pair in line[Bucket.Length..close].Split(','))
            {
                var eq = pair.IndexOf('=', StringComparison.Ordinal);
                var (name, value) = (pair[..eq], pair[(eq + 1)..].Trim('"'));
                if (name == "phase")
                {
                    phase = value;
                }
                else if (name == "le")
                {
                    le = value == "+Inf" ? double.PositiveInfinity : double.Parse(value, CultureInfo.InvariantCulture);
                }
            }
            if (phase is null || double.IsNaN(le))
            {
                continue;
            }
            var count = (long)double.Parse(line[(close + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            var buckets = byPhase.TryGetValue(phase, out var b) ? b : byPhase[phase] = [];
            buckets[le] = buckets.GetValueOrDefault(le) + count; // summed over the message tag
        }
        return byPhase;
    }

    /// <summary>
    /// p50 and p99 (ms) and the count of each phase observed between <paramref name="before"/> and <paramref name="after"/>;
    /// phases with no observation are left out.
    /// </summary>
    public static JsonObject Between(Dictionary<string, SortedDictionary<double, long>> before, Dictionary<string, SortedDictionary<double, long>> after)
    {
        var result = new JsonObject();
        foreach (var phase in Order.Where(after.ContainsKey))
        {
            var bounds = after[phase].Keys.ToArray();
            var counts = bounds.Select(le => after[phase][le] - (before.TryGetValue(phase, out var b) ? b.GetValueOrDefault(le) : 0)).ToArray();
            var total = counts[^1];
            if (total <= 0)
            {
                continue;
            }
            result[phase] = new JsonObject
            {
                ["count"] = total,
                ["p50Ms"] = Quantile(bounds, counts, 0.50),
                ["p99Ms"] = Quantile(bounds, counts, 0.99),
            };
        }
        return result;
    }

    /// <summary>One line: "phase p50/p99" for each phase of <paramref name="phases"/> (<see cref="Between"/>).</summary>
    public static string Describe(JsonObject phases) =>
        string.Join(", ", phases.Select(p => $"{p.Key} {p.Value!["p50Ms"]}/{p.Value!["p99Ms"]}"));

    private static double Quantile(double[] bounds, long[] cumulative, double q)
    {
        var rank = q * cumulative[^1];
        for (var i = 0; i < bounds.Length; i++)
        {
            if (cumulative[i] < rank)
            {
                continue;
            }
            var lower = i == 0 ? 0 : bounds[i - 1];
            var upper = double.IsPositiveInfinity(bounds[i]) ? lower : bounds[i];
            var below = i == 0 ? 0 : cumulative[i - 1];
            var inBucket = cumulative[i] - below;
            var at = inBucket == 0 ? upper : lower + ((upper - lower) * (rank - below) / inBucket);
            return Math.Round(at * 1000, 2);
        }
        return double.NaN;
    }
}
