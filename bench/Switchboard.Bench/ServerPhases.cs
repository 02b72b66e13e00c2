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
    private static readonly string[] Order = ["call_order", "prepare", "writer_wait", "write", "durable_wait", "process"];

    /// <summary>Cumulative bucket counts now, by phase then upper bound (s; +∞ as <see cref="double.PositiveInfinity"/>).</summary>
    public async Task<Dictionary<string, SortedDictionary<double, long>>> ScrapeAsync(CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, metricsUrl);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", scrapeToken);
        using var response = await http.SendAsync(request, ct);
        response.EnsureSuccessStatusCode();
        var text = await response.Content.ReadAsStringAsync(ct);
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
