namespace Switchboard.Calls;

/// <summary>
/// The analytics counters of one tenant for one UTC quarter hour (<see cref="Bucket"/> = the quarter's start, UTC),
/// maintained on write by database triggers (migration 0019) in the same transaction as the call, lead or SMS change:
/// a call counts in the quarter of its <c>CreatedAt</c>, an outbound SMS in the quarter of its own <c>CreatedAt</c>.
/// Every time zone's offset (and every DST change) is a whole number of quarter hours, so a local day is an exact
/// set of quarters. Rows are never written by code; rows whose counters fell back to zero may remain.
/// No foreign key to tenants: the triggers of a cascade delete still write here while the tenant is going away.
/// </summary>
internal sealed class AnalyticsQuarter
{
    public Guid TenantId { get; set; }

    /// <summary>Start of the quarter hour, UTC.</summary>
    public DateTimeOffset Bucket { get; set; }

    /// <summary>
    /// PostgreSQL only (migration 0030): which of the key's 16 rows this is, 0–15, chosen by the id of the row contributing
    /// (call, SMS, turn), so that concurrent writers of one tenant rarely update the same row. Readers sum over shards.
    /// Always 0 on SQLite (not mapped there).
    /// </summary>
    public short Shard { get; set; }

    public int Calls { get; set; }

    /// <summary>Twilio busy, no-answer, failed or canceled, or ended/completed with no duration.</summary>
    public int Missed { get; set; }

    public int Emergency { get; set; }
    public int Soon { get; set; }
    public int Routine { get; set; }

    /// <summary>Calls with a lead.</summary>
    public int Leads { get; set; }

    /// <summary>Calls whose lead is <c>booked</c>.</summary>
    public int LeadsBooked { get; set; }

    /// <summary>Sum of <c>DurationSeconds</c> over calls that have one, seconds.</summary>
    public double DurationSum { get; set; }

    public int DurationCount { get; set; }

    /// <summary>Sum of the known costs, USD.</summary>
    public decimal CostSum { get; set; }

    public int CostCount { get; set; }

    /// <summary>Outbound SMS sent, delivered or simulated.</summary>
    public int SmsSent { get; set; }
}

/// <summary>
/// A fixed-bucket histogram row: how many values of <see cref="Metric"/> fell in the bin starting at <see cref="Bin"/>
/// on one UTC day (<see cref="Day"/> = 00:00 UTC), per tenant; maintained by the triggers of migration 0019.
/// Bins: <see cref="AnalyticsBins"/>.
/// </summary>
internal sealed class AnalyticsHistogramBin
{
    public Guid TenantId { get; set; }

    /// <summary><c>duration</c> (call <c>DurationSeconds</c>, by call <c>CreatedAt</c>) or <c>latency</c> (native assistant turn
    /// <c>ProviderLatencyMs + BridgeLatencyMs</c>, by turn <c>At</c>).</summary>
    public required string Metric { get; set; }

    public DateTimeOffset Day { get; set; }

    /// <summary>The bin's lower bound: seconds for duration, milliseconds for latency.</summary>
    public int Bin { get; set; }

    /// <summary>
    /// PostgreSQL only (migration 0030): which of the key's 16 rows this is, 0–15, chosen by the id of the row contributing
    /// (call, SMS, turn), so that concurrent writers of one tenant rarely update the same row. Readers sum over shards.
    /// Always 0 on SQLite (not mapped there).
    /// </summary>
    public short Shard { get; set; }

    public int Count { get; set; }
}

/// <summary>How many calls created on one UTC day ended for one reason, per tenant (triggers of migration 0019).</summary>
internal sealed class AnalyticsEndedReason
{
    public Guid TenantId { get; set; }
    public DateTimeOffset Day { get; set; }
    public required string EndedReason { get; set; }

    /// <summary>
    /// PostgreSQL only (migration 0030): which of the key's 16 rows this is, 0–15, chosen by the id of the row contributing
    /// (call, SMS, turn), so that concurrent writers of one tenant rarely update the same row. Readers sum over shards.
    /// Always 0 on SQLite (not mapped there).
    /// </summary>
    public short Shard { get; set; }

    public int Count { get; set; }
}

/// <summary>
/// The fixed histogram bins of the analytics percentiles. A value is binned by its lower bound (the same formula is in
/// the triggers of migration 0019 and in <see cref="AnalyticsQuery"/>'s SQL); a percentile is reported as the middle of
/// the bin holding the nearest-rank value, so its error is at most half a bin width:
/// <list type="bullet">
/// <item>duration (seconds): 1 s bins below 120 s (± 0.5 s), 5 s bins to 600 s (± 2.5 s), 30 s bins to 3,600 s (± 15 s),
/// 300 s bins to 14,400 s (± 150 s); 4 hours and more are one bin reported as 14,400 s.</item>
/// <item>latency (ms): 5 ms bins below 1,000 ms (± 2.5 ms), 10 ms bins to 3,000 ms (± 5 ms), 50 ms bins to 10,000 ms
/// (± 25 ms), 1,000 ms bins to 60,000 ms (± 500 ms); 60 s and more are one bin reported as 60,000 ms.</item>
/// </list>
/// Negative values count in the first bin.
/// </summary>
internal static class AnalyticsBins
{
    public const string Duration = "duration";
    public const string Latency = "latency";

    /// <summary>(upper bound of a band, bin width) for each band, ascending; values at or past the last bound share one bin.</summary>
    private static readonly (int Until, int Width)[] DurationBands = [(120, 1), (600, 5), (3600, 30), (14400, 300)];
    private static readonly (int Until, int Width)[] LatencyBands = [(1000, 5), (3000, 10), (10000, 50), (60000, 1000)];

    private static (int Until, int Width)[] Bands(string metric) => metric == Duration ? DurationBands : LatencyBands;

    /// <summary>The lower bound of the bin holding <paramref name="value"/>.</summary>
    public static int BinOf(string metric, double value)
    {
        var bands = Bands(metric);
        var from = 0;
        foreach (var (until, width) in bands)
        {
            if (value < until)
            {
                return value <= from ? from : from + (int)Math.Floor((value - from) / width) * width;
            }
            from = until;
        }
        return from;
    }

    /// <summary>The value reported for a bin: its middle (the open last bin: its lower bound).</summary>
    public static double Representative(string metric, int bin)
    {
        var from = 0;
        foreach (var (until, width) in Bands(metric))
        {
            if (bin < until)
            {
                return bin + width / 2.0;
            }
            from = until;
        }
        return from;
    }

    /// <summary>The SQL of <see cref="BinOf"/> over <paramref name="value"/> (a non-null double expression), both providers.</summary>
    public static string Sql(string metric, string value, bool postgres)
    {
        var sql = new System.Text.StringBuilder("CASE WHEN ").Append(value).Append(" <= 0 THEN 0");
        var from = 0;
        foreach (var (until, width) in Bands(metric))
        {
            var floor = postgres ? $"floor(({value} - {from}) / {width})::integer" : $"CAST(({value} - {from}) / {width} AS INTEGER)";
            sql.Append(" WHEN ").Append(value).Append(" < ").Append(until).Append(" THEN ").Append(from).Append(" + ").Append(floor).Append(" * ").Append(width);
            from = until;
        }
        return sql.Append(" ELSE ").Append(from).Append(" END").ToString();
    }
}
