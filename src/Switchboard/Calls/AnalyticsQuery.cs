using System.Data.Common;
using System.Globalization;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Switchboard.Platform.Database;
using Switchboard.Tenancy;

namespace Switchboard.Calls;

/// <summary>
/// The analytics aggregates, computed in the database with GROUP BY (no call rows are loaded). Days are the tenant's
/// local days: their UTC bounds (DST-aware: a spring-forward day lasts 23 hours, a fall-back day 25) and each day's
/// opening hours in UTC are computed here from the IANA zone and passed as a VALUES list that calls are joined to by
/// creation time, so SQLite and PostgreSQL share the same SQL. Percentiles are nearest-rank (the value at rank
/// ceil(p·n)): PostgreSQL <c>percentile_disc</c>, SQLite <c>ORDER BY … LIMIT 1 OFFSET rank-1</c>.
/// </summary>
internal sealed partial class AnalyticsQuery(SwitchboardDbContext db)
{
    /// <summary>Most opening ranges per day considered for after-hours (further ranges count as closed).</summary>
    public const int MaxRangesPerDay = 3;

    private readonly bool postgres = db.Database.IsNpgsql();

    /// <summary>One local day: its date, UTC bounds, and opening ranges in UTC.</summary>
    public sealed record Day(DateOnly Date, DateTimeOffset Start, DateTimeOffset End, IReadOnlyList<(DateTimeOffset Start, DateTimeOffset End)> Open);

    /// <summary>Builds the local days from <paramref name="from"/> to <paramref name="to"/> (inclusive) in <paramref name="zone"/>.</summary>
    public static List<Day> Days(DateOnly from, DateOnly to, TimeZoneInfo zone, BusinessHours hours)
    {
        var days = new List<Day>();
        for (var date = from; date <= to; date = date.AddDays(1))
        {
            var open = BusinessHoursCalculator.RangesFor(hours, date)
                .Select(r => (Utc(date.ToDateTime(TimeOnly.MinValue) + r.Start, zone), Utc(date.ToDateTime(TimeOnly.MinValue) + r.End, zone)))
                .Take(MaxRangesPerDay).ToList();
            days.Add(new Day(date, Utc(date.ToDateTime(TimeOnly.MinValue), zone), Utc(date.AddDays(1).ToDateTime(TimeOnly.MinValue), zone), open));
        }
        return days;
    }

    /// <summary>The UTC instant of a local wall-clock time; a time skipped by DST moves forward to the first valid minute.</summary>
    internal static DateTimeOffset Utc(DateTime local, TimeZoneInfo zone)
    {
        local = DateTime.SpecifyKind(local, DateTimeKind.Unspecified);
        while (zone.IsInvalidTime(local))
        {
            local = local.AddMinutes(1);
        }
        return new DateTimeOffset(local, zone.GetUtcOffset(local)).ToUniversalTime();
    }

    /// <summary>Per-day counters (calls, missed, after hours, urgency, leads, SMS) and duration sums.</summary>
    public sealed record DayRow(int Index, int Calls, int Missed, int AfterHours, int Emergency, int Soon, int Routine, int Leads,
        double DurationSum, int DurationCount, decimal? Cost, int LeadsBooked = 0)
    {
        /// <summary>The sum of two rows of the same day (costs: null only when both are).</summary>
        public DayRow Plus(DayRow o) => new(Index, Calls + o.Calls, Missed + o.Missed, AfterHours + o.AfterHours, Emergency + o.Emergency,
            Soon + o.Soon, Routine + o.Routine, Leads + o.Leads, DurationSum + o.DurationSum, DurationCount + o.DurationCount,
            Cost is null && o.Cost is null ? null : (Cost ?? 0) + (o.Cost ?? 0), LeadsBooked + o.LeadsBooked);
    }

    /// <summary>The per-day call counters, keyed by day index.</summary>
    public Task<Dictionary<int, DayRow>> CallDaysAsync(Guid tenantId, IReadOnlyList<Day> days, CancellationToken ct) =>
        RunAsync(async cmd =>
        {
            var after = string.Join(" OR ", Enumerable.Range(1, MaxRangesPerDay).Select(i => $"(c.\"CreatedAt\" >= days.o{i}s AND c.\"CreatedAt\" < days.o{i}e)"));
            cmd.CommandText = DaysCte(cmd, days) + $"""
                SELECT days.d, COUNT(*),
                       SUM(CASE WHEN c."Status" IN ('busy', 'no-answer', 'failed', 'canceled')
                                  OR (c."Status" IN ('ended', 'completed') AND coalesce(c."DurationSeconds", 0) = 0) THEN 1 ELSE 0 END),
                       SUM(CASE WHEN {after} THEN 0 ELSE 1 END),
                       SUM(CASE WHEN c."Urgency" = 'emergency' THEN 1 ELSE 0 END),
                       SUM(CASE WHEN c."Urgency" = 'soon' THEN 1 ELSE 0 END),
                       SUM(CASE WHEN c."Urgency" = 'routine' THEN 1 ELSE 0 END),
                       COUNT(c."Urgency"),
                       coalesce(SUM(c."DurationSeconds"), 0), COUNT(c."DurationSeconds"), SUM(c."Cost"), COUNT(c."LeadBooked")
                FROM days JOIN calls c ON c."TenantId" = {Param(cmd, Id(tenantId))} AND c."CreatedAt" >= days.s AND c."CreatedAt" < days.e
                GROUP BY days.d
                """;
            var rows = new Dictionary<int, DayRow>();
            await using var r = await cmd.ExecuteReaderAsync(ct);
            while (await r.ReadAsync(ct))
            {
                rows[Int(r, 0)] = new DayRow(Int(r, 0), Int(r, 1), Int(r, 2), Int(r, 3), Int(r, 4), Int(r, 5), Int(r, 6), Int(r, 7),
                    Convert.ToDouble(r.GetValue(8), CultureInfo.InvariantCulture), Int(r, 9),
                    r.IsDBNull(10) ? null : Dec(r, 10), Int(r, 11));
            }
            return rows;
        }, ct);

    /// <summary>Outbound SMS that left (sent, delivered or simulated) per day, by creation time.</summary>
    public Task<Dictionary<int, int>> SmsDaysAsync(Guid tenantId, IReadOnlyList<Day> days, CancellationToken ct) =>
        RunAsync(async cmd =>
        {
            cmd.CommandText = DaysCte(cmd, days) + $"""
                SELECT days.d, COUNT(*)
                FROM days JOIN sms_messages s ON s."TenantId" = {Param(cmd, Id(tenantId))} AND s."CreatedAt" >= days.s AND s."CreatedAt" < days.e
                WHERE s."Direction" = 'outbound' AND s."Status" IN ('sent', 'delivered', 'simulated')
                GROUP BY days.d
                """;
            var rows = new Dictionary<int, int>();
            await using var r = await cmd.ExecuteReaderAsync(ct);
            while (await r.ReadAsync(ct))
            {
                rows[Int(r, 0)] = Int(r, 1);
            }
            return rows;
        }, ct);

    /// <summary>The calls' ended reasons in the period, most frequent first (at most <paramref name="top"/>); null reasons left out.</summary>
    public Task<List<(string Reason, int Count)>> EndedReasonsAsync(Guid tenantId, DateTimeOffset start, DateTimeOffset end, int top, CancellationToken ct) =>
        RunAsync(async cmd =>
        {
            cmd.CommandText = $"""
                SELECT c."EndedReason", COUNT(*) AS n FROM calls c
                WHERE c."TenantId" = {Param(cmd, Id(tenantId))} AND c."CreatedAt" >= {Param(cmd, Time(start))} AND c."CreatedAt" < {Param(cmd, Time(end))}
                  AND c."EndedReason" IS NOT NULL
                GROUP BY c."EndedReason" ORDER BY n DESC, c."EndedReason" LIMIT {Param(cmd, top)}
                """;
            var rows = new List<(string, int)>();
            await using var r = await cmd.ExecuteReaderAsync(ct);
            while (await r.ReadAsync(ct))
            {
                rows.Add((r.GetString(0), Int(r, 1)));
            }
            return rows;
        }, ct);

    /// <summary>Nearest-rank percentiles of call duration (seconds) in the period; nulls when no call has a duration.</summary>
    public Task<double?[]> DurationPercentilesAsync(Guid tenantId, DateTimeOffset start, DateTimeOffset end, int count, double[] ps, CancellationToken ct) =>
        PercentilesAsync("calls c", "c.\"DurationSeconds\"", "c.\"CreatedAt\"", tenantId, start, end, count, ps, ct);

    /// <summary>
    /// Nearest-rank percentiles of native assistant turn latency (ms, end of caller speech to first audio frame sent to
    /// Twilio: provider + bridge) for turns spoken in the period; nulls when none was measured.
    /// </summary>
    public async Task<double?[]> LatencyPercentilesAsync(Guid tenantId, DateTimeOffset start, DateTimeOffset end, double[] ps, CancellationToken ct)
    {
        const string table = "transcript_turns t", value = "(t.\"ProviderLatencyMs\" + coalesce(t.\"BridgeLatencyMs\", 0))";
        var count = postgres ? 0 : await RunAsync(async cmd =>
        {
            cmd.CommandText = $"SELECT COUNT(*) FROM {table} WHERE {RangeWhere(cmd, "t", "t.\"At\"", tenantId, start, end)} AND t.\"ProviderLatencyMs\" IS NOT NULL";
            return Convert.ToInt32(await cmd.ExecuteScalarAsync(ct), CultureInfo.InvariantCulture);
        }, ct);
        return await PercentilesAsync(table, value, "t.\"At\"", tenantId, start, end, count, ps, ct, notNull: "t.\"ProviderLatencyMs\"");
    }

    private async Task<double?[]> PercentilesAsync(string table, string value, string time, Guid tenantId, DateTimeOffset start, DateTimeOffset end,
        int count, double[] ps, CancellationToken ct, string? notNull = null)
    {
        var alias = table[^1..];
        notNull ??= value;
        if (postgres)
        {
            return await RunAsync(async cmd =>
            {
                var fractions = string.Join(", ", ps.Select(p => p.ToString(CultureInfo.InvariantCulture)));
                cmd.CommandText = $"SELECT percentile_disc(ARRAY[{fractions}]::double precision[]) WITHIN GROUP (ORDER BY {value}) FROM {table} " +
                                  $"WHERE {RangeWhere(cmd, alias, time, tenantId, start, end)} AND {notNull} IS NOT NULL";
                var result = await cmd.ExecuteScalarAsync(ct);
                return result is double[] values ? values.Select(v => (double?)v).ToArray() : new double?[ps.Length];
            }, ct);
        }
        var answers = new double?[ps.Length];
        for (var i = 0; i < ps.Length && count > 0; i++)
        {
            var rank = Math.Max(1, (int)Math.Ceiling(ps[i] * count));
            // High percentiles read from the top (a sorter of count − rank + 1 rows instead of rank rows).
            var (order, offset) = rank > count / 2 ? ("DESC", count - rank) : ("ASC", rank - 1);
            answers[i] = await RunAsync(async cmd =>
            {
                cmd.CommandText = $"SELECT {value} FROM {table} WHERE {RangeWhere(cmd, alias, time, tenantId, start, end)} AND {notNull} IS NOT NULL " +
                                  $"ORDER BY 1 {order} LIMIT 1 OFFSET {Param(cmd, offset)}";
                var result = await cmd.ExecuteScalarAsync(ct);
                return result is null or DBNull ? (double?)null : Convert.ToDouble(result, CultureInfo.InvariantCulture);
            }, ct);
        }
        return answers;
    }

    private string RangeWhere(DbCommand cmd, string alias, string time, Guid tenantId, DateTimeOffset start, DateTimeOffset end) =>
        $"{alias}.\"TenantId\" = {Param(cmd, Id(tenantId))} AND {time} >= {Param(cmd, Time(start))} AND {time} < {Param(cmd, Time(end))}";

    /// <summary><c>WITH days(d, s, e, o1s, o1e, …) AS (VALUES …)</c>; a missing opening range is an empty one (s = e).</summary>
    private string DaysCte(DbCommand cmd, IReadOnlyList<Day> days)
    {
        var sql = new StringBuilder("WITH days(d, s, e");
        for (var i = 1; i <= MaxRangesPerDay; i++)
        {
            sql.Append($", o{i}s, o{i}e");
        }
        sql.Append(") AS (VALUES ");
        for (var d = 0; d < days.Count; d++)
        {
            var day = days[d];
            sql.Append(d == 0 ? "(" : ", (").Append(d.ToString(CultureInfo.InvariantCulture))
               .Append(", ").Append(Param(cmd, Time(day.Start))).Append(", ").Append(Param(cmd, Time(day.End)));
            for (var i = 0; i < MaxRangesPerDay; i++)
            {
                var (s, e) = i < day.Open.Count ? day.Open[i] : (day.Start, day.Start);
                sql.Append(", ").Append(Param(cmd, Time(s))).Append(", ").Append(Param(cmd, Time(e)));
            }
            sql.Append(')');
        }
        return sql.Append(")\n").ToString();
    }

    private async Task<T> RunAsync<T>(Func<DbCommand, Task<T>> run, CancellationToken ct)
    {
        var conn = db.Database.GetDbConnection();
        await db.Database.OpenConnectionAsync(ct);
        try
        {
            await using var cmd = conn.CreateCommand();
            return await run(cmd);
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    /// <summary>A decimal as either provider returns it (SQLite: text, possibly in exponent form after float arithmetic, or a real).</summary>
    internal static decimal Dec(DbDataReader r, int i) => r.GetValue(i) switch
    {
        decimal d => d,
        string text => decimal.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture),
        var other => Convert.ToDecimal(other, CultureInfo.InvariantCulture),
    };

    private static int Int(DbDataReader r, int i) => r.IsDBNull(i) ? 0 : Convert.ToInt32(r.GetValue(i), CultureInfo.InvariantCulture);

    private static string Param(DbCommand cmd, object value) => StoredValues.Param(cmd, value);

    private object Id(Guid id) => StoredValues.Id(postgres, id);

    private object Time(DateTimeOffset t) => StoredValues.Time(postgres, t);
}
