using System.Globalization;
using Switchboard.Platform.Database;

namespace Switchboard.Calls;

/// <summary>
/// The analytics read from the rollup of migration 0019 (<see cref="AnalyticsQuarter"/>, <see cref="AnalyticsHistogramBin"/>,
/// <see cref="AnalyticsEndedReason"/>) instead of the calls: a 90-day period reads ≈ 8,640 quarter rows and a few
/// thousand histogram and reason rows whatever the number of calls. On PostgreSQL the rollup is read with the
/// contributions not yet folded into it (the <c>*_live</c> views of migration 0033, summed per key like 0030's shards).
/// <list type="bullet">
/// <item>Per-day counters: the quarters of each local day. A quarter is used as is when it lies in one local day and is
/// wholly open or wholly closed by the day's business hours; otherwise (opening hours not on a quarter hour, or a zone
/// whose offset is not a multiple of 15 minutes) its pieces are counted from the calls and SMS themselves with the
/// exact per-row query (<see cref="CallDaysAsync"/>), so the result equals the row-by-row computation.</item>
/// <item>Percentiles and ended reasons: the UTC days wholly inside the period from the rollup, the partial UTC days at
/// either end from the rows. Percentiles are nearest-rank over the fixed bins of <see cref="AnalyticsBins"/> (the
/// reported value is the middle of the bin holding the exact nearest-rank value; its error bounds are given there).</item>
/// </list>
/// </summary>
internal sealed partial class AnalyticsQuery
{
    private static readonly TimeSpan Quarter = TimeSpan.FromMinutes(15);

    /// <summary>Everything the analytics endpoint shows, per local day index (counters, SMS) and for the period.</summary>
    public sealed record Result(Dictionary<int, DayRow> Days, Dictionary<int, int> Sms, List<(string Reason, int Count)> EndedReasons,
        double? DurationP95, double? LatencyP50, double? LatencyP95);

    /// <summary>Computes the analytics of <paramref name="days"/> from the rollup (plus the rows of partial buckets).</summary>
    public async Task<Result> FromRollupAsync(Guid tenantId, IReadOnlyList<Day> days, int topReasons, CancellationToken ct)
    {
        var (start, end) = (days[0].Start, days[^1].End);
        var rows = new Dictionary<int, DayRow>();
        var sms = new Dictionary<int, int>();
        var pieces = new List<Day>();
        var pieceDay = new List<int>();
        foreach (var q in await QuartersAsync(tenantId, start - Quarter, end, ct))
        {
            var qEnd = q.Bucket + Quarter;
            var i = DayIndex(days, q.Bucket);
            var inOneDay = i >= 0 && qEnd <= days[i].End;
            var open = inOneDay ? Openness(days[i], q.Bucket, qEnd) : (bool?)null;
            if (open is null)
            {
                // Split at day bounds; each piece is counted from the rows.
                for (var d = Math.Max(0, i); d < days.Count && days[d].Start < qEnd; d++)
                {
                    var (s, e) = (Max(q.Bucket, days[d].Start), Min(qEnd, days[d].End));
                    if (s < e)
                    {
                        pieces.Add(days[d] with { Start = s, End = e });
                        pieceDay.Add(d);
                    }
                }
                continue;
            }
            var row = new DayRow(i, q.Calls, q.Missed, open.Value ? 0 : q.Calls, q.Emergency, q.Soon, q.Routine, q.Leads, q.DurationSum,
                q.DurationCount, q.CostCount == 0 ? null : q.CostSum, q.LeadsBooked);
            rows[i] = rows.TryGetValue(i, out var had) ? had.Plus(row) : row;
            sms[i] = sms.GetValueOrDefault(i) + q.SmsSent;
        }
        if (pieces.Count > 0)
        {
            foreach (var (p, piece) in await CallDaysAsync(tenantId, pieces, ct))
            {
                var i = pieceDay[p];
                var row = piece with { Index = i };
                rows[i] = rows.TryGetValue(i, out var had) ? had.Plus(row) : row;
            }
            foreach (var (p, n) in await SmsDaysAsync(tenantId, pieces, ct))
            {
                sms[pieceDay[p]] = sms.GetValueOrDefault(pieceDay[p]) + n;
            }
        }

        var durations = await HistogramAsync(AnalyticsBins.Duration, tenantId, start, end, ct);
        var latencies = await HistogramAsync(AnalyticsBins.Latency, tenantId, start, end, ct);
        var reasons = await ReasonsAsync(tenantId, start, end, ct);
        var top = reasons.Where(r => r.Value > 0).OrderByDescending(r => r.Value).ThenBy(r => r.Key, StringComparer.Ordinal)
            .Take(topReasons).Select(r => (r.Key, r.Value)).ToList();
        return new Result(rows, sms, top, Percentile(AnalyticsBins.Duration, durations, 0.95),
            Percentile(AnalyticsBins.Latency, latencies, 0.5), Percentile(AnalyticsBins.Latency, latencies, 0.95));
    }

    /// <summary>Nearest-rank percentile <paramref name="p"/> over binned counts: the representative of the bin holding rank ceil(p·n).</summary>
    internal static double? Percentile(string metric, SortedDictionary<int, long> bins, double p)
    {
        var n = bins.Values.Sum();
        if (n <= 0)
        {
            return null;
        }
        var rank = Math.Max(1, (long)Math.Ceiling(p * n));
        long seen = 0;
        foreach (var (bin, count) in bins)
        {
            seen += count;
            if (seen >= rank)
            {
                return AnalyticsBins.Representative(metric, bin);
            }
        }
        return AnalyticsBins.Representative(metric, bins.Keys.Last());
    }

    /// <summary>True when [s, e) is inside one of the day's opening ranges, false when it meets none, null when it straddles a bound.</summary>
    private static bool? Openness(Day day, DateTimeOffset s, DateTimeOffset e)
    {
        foreach (var (os, oe) in day.Open)
        {
            if (os <= s && e <= oe)
            {
                return true;
            }
            if (os < e && s < oe && oe > os)
            {
                return null;
            }
        }
        return false;
    }

    private static int DayIndex(IReadOnlyList<Day> days, DateTimeOffset t)
    {
        var (lo, hi) = (0, days.Count - 1);
        while (lo <= hi)
        {
            var mid = (lo + hi) / 2;
            if (t < days[mid].Start)
            {
                hi = mid - 1;
            }
            else if (t >= days[mid].End)
            {
                lo = mid + 1;
            }
            else
            {
                return mid;
            }
        }
        return -1;
    }

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    /// <summary>The UTC days wholly inside [start, end) as [first, last); empty (first ≥ last) when there is none.</summary>
    private static (DateTimeOffset First, DateTimeOffset Last) WholeUtcDays(DateTimeOffset start, DateTimeOffset end)
    {
        var first = new DateTimeOffset(start.UtcDateTime.Date, TimeSpan.Zero);
        if (first < start)
        {
            first = first.AddDays(1);
        }
        return (first, new DateTimeOffset(end.UtcDateTime.Date, TimeSpan.Zero));
    }

    private Task<List<AnalyticsQuarter>> QuartersAsync(Guid tenantId, DateTimeOffset from, DateTimeOffset to, CancellationToken ct) =>
        RunAsync(async cmd =>
        {
            cmd.CommandText = $"""
                SELECT "Bucket", SUM("Calls"), SUM("Missed"), SUM("Emergency"), SUM("Soon"), SUM("Routine"), SUM("Leads"), SUM("LeadsBooked"),
                       SUM("DurationSum"), SUM("DurationCount"), SUM("CostSum"), SUM("CostCount"), SUM("SmsSent")
                FROM {(postgres ? "analytics_quarters_live" : "analytics_quarters")}
                WHERE "TenantId" = {Param(cmd, Id(tenantId))} AND "Bucket" > {Param(cmd, Time(from))} AND "Bucket" < {Param(cmd, Time(to))}
                GROUP BY "Bucket"
                """;
            var rows = new List<AnalyticsQuarter>();
            await using var r = await cmd.ExecuteReaderAsync(ct);
            while (await r.ReadAsync(ct))
            {
                var bucket = postgres ? r.GetFieldValue<DateTimeOffset>(0) : new DateTimeOffset(r.GetInt64(0), TimeSpan.Zero);
                rows.Add(new AnalyticsQuarter
                {
                    TenantId = tenantId, Bucket = bucket, Calls = Int(r, 1), Missed = Int(r, 2), Emergency = Int(r, 3), Soon = Int(r, 4),
                    Routine = Int(r, 5), Leads = Int(r, 6), LeadsBooked = Int(r, 7),
                    DurationSum = Convert.ToDouble(r.GetValue(8), CultureInfo.InvariantCulture), DurationCount = Int(r, 9),
                    CostSum = Math.Round(Dec(r, 10), 4), CostCount = Int(r, 11), SmsSent = Int(r, 12),
                });
            }
            return rows;
        }, ct);

    /// <summary>The binned counts of <paramref name="metric"/> in [start, end): rollup for whole UTC days, rows for the rest.</summary>
    private async Task<SortedDictionary<int, long>> HistogramAsync(string metric, Guid tenantId, DateTimeOffset start, DateTimeOffset end, CancellationToken ct)
    {
        var bins = new SortedDictionary<int, long>();
        void Add(int bin, long n) => bins[bin] = bins.GetValueOrDefault(bin) + n;
        var (first, last) = WholeUtcDays(start, end);
        var raw = new List<(DateTimeOffset, DateTimeOffset)>();
        if (first < last)
        {
            await RunAsync(async cmd =>
            {
                cmd.CommandText = $"""
                    SELECT "Bin", SUM("Count") FROM {(postgres ? "analytics_histograms_live" : "analytics_histograms")}
                    WHERE "TenantId" = {Param(cmd, Id(tenantId))} AND "Metric" = {Param(cmd, metric)}
                      AND "Day" >= {Param(cmd, Time(first))} AND "Day" < {Param(cmd, Time(last))}
                    GROUP BY "Bin"
                    """;
                await using var r = await cmd.ExecuteReaderAsync(ct);
                while (await r.ReadAsync(ct))
                {
                    Add(Int(r, 0), Convert.ToInt64(r.GetValue(1), CultureInfo.InvariantCulture));
                }
                return 0;
            }, ct);
            raw.Add((start, first));
            raw.Add((last, end));
        }
        else
        {
            raw.Add((start, end));
        }
        var (table, value, time, notNull) = metric == AnalyticsBins.Duration
            ? ("calls c", "c.\"DurationSeconds\"", "c.\"CreatedAt\"", "c.\"DurationSeconds\"")
            : ("transcript_turns t", "(t.\"ProviderLatencyMs\" + coalesce(t.\"BridgeLatencyMs\", 0))", "t.\"At\"", "t.\"ProviderLatencyMs\"");
        foreach (var (s, e) in raw.Where(x => x.Item1 < x.Item2))
        {
            await RunAsync(async cmd =>
            {
                cmd.CommandText = $"SELECT {AnalyticsBins.Sql(metric, value, postgres)}, COUNT(*) FROM {table} " +
                                  $"WHERE {RangeWhere(cmd, table[^1..], time, tenantId, s, e)} AND {notNull} IS NOT NULL GROUP BY 1";
                await using var r = await cmd.ExecuteReaderAsync(ct);
                while (await r.ReadAsync(ct))
                {
                    Add(Int(r, 0), Convert.ToInt64(r.GetValue(1), CultureInfo.InvariantCulture));
                }
                return 0;
            }, ct);
        }
        return bins;
    }

    /// <summary>Calls per ended reason in [start, end): rollup for whole UTC days, rows for the rest.</summary>
    private async Task<Dictionary<string, int>> ReasonsAsync(Guid tenantId, DateTimeOffset start, DateTimeOffset end, CancellationToken ct)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        void Add(string reason, int n) => counts[reason] = counts.GetValueOrDefault(reason) + n;
        var (first, last) = WholeUtcDays(start, end);
        var raw = new List<(DateTimeOffset, DateTimeOffset)>();
        if (first < last)
        {
            await RunAsync(async cmd =>
            {
                cmd.CommandText = $"""
                    SELECT "EndedReason", SUM("Count") FROM {(postgres ? "analytics_ended_reasons_live" : "analytics_ended_reasons")}
                    WHERE "TenantId" = {Param(cmd, Id(tenantId))} AND "Day" >= {Param(cmd, Time(first))} AND "Day" < {Param(cmd, Time(last))}
                    GROUP BY "EndedReason"
                    """;
                await using var r = await cmd.ExecuteReaderAsync(ct);
                while (await r.ReadAsync(ct))
                {
                    Add(r.GetString(0), Int(r, 1));
                }
                return 0;
            }, ct);
            raw.Add((start, first));
            raw.Add((last, end));
        }
        else
        {
            raw.Add((start, end));
        }
        foreach (var (s, e) in raw.Where(x => x.Item1 < x.Item2))
        {
            foreach (var (reason, n) in await EndedReasonsAsync(tenantId, s, e, int.MaxValue, ct))
            {
                Add(reason, n);
            }
        }
        return counts;
    }
}
