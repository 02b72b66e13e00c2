using System.Globalization;
using Microsoft.EntityFrameworkCore;
using Switchboard.Platform.Database;

namespace Switchboard.Billing;

/// <summary>
/// Meters use per tenant: each ended call's seconds (<see cref="UsageKinds.CallSeconds"/>, keyed by call id) and each
/// chat message (<see cref="UsageKinds.ChatMessages"/>, keyed by message id). Metering is idempotent (unique
/// tenant/kind/source), reads every call whatever created it (Vapi webhook, native bridge, widget), and keeps the
/// seconds even after the call itself is erased. Periods are UTC months of the call's start. With Stripe billing, each
/// new record also enqueues, in the same transaction, a <see cref="MeterEventHandler"/> outbox message that reports it to
/// Stripe as a meter event (identifier = the call or message id), so a record is reported once even across crashes.
/// </summary>
internal sealed class UsageMeter(SwitchboardDbContext db, TimeProvider clock, StripeGateway stripe)
{
    public static string PeriodOf(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM", CultureInfo.InvariantCulture);

    /// <summary>The first and last periods accepted: metering reads a day either side of the month, which must be representable.</summary>
    public const string MinPeriod = "0001-02", MaxPeriod = "9999-11";

    /// <summary>
    /// Parses a period <c>yyyy-MM</c> (a UTC month) from <see cref="MinPeriod"/> to <see cref="MaxPeriod"/>;
    /// <paramref name="start"/> is its first instant.
    /// </summary>
    public static bool TryParsePeriod(string? text, out DateTimeOffset start)
    {
        start = default;
        if (!DateTime.TryParseExact(text, "yyyy-MM", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var d)
            || d < new DateTime(1, 2, 1) || d > new DateTime(9999, 11, 1))
        {
            return false;
        }
        start = new DateTimeOffset(d.Year, d.Month, 1, 0, 0, 0, TimeSpan.Zero);
        return true;
    }

    /// <summary>Meters the current tenant's ended calls that started in the month beginning at <paramref name="periodStart"/>; returns how many were added.</summary>
    public Task<int> MeterEndedCallsAsync(DateTimeOffset periodStart, CancellationToken ct) =>
        MeterEndedCallsAsync(periodStart.AddDays(-1), periodStart.AddMonths(1).AddDays(1), allTenants: false, ct);

    /// <summary>Meters every tenant's ended calls created in [<paramref name="from"/>, <paramref name="to"/>) (the usage sweep); returns how many were added.</summary>
    public Task<int> MeterEndedCallsOfAllTenantsAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken ct) =>
        MeterEndedCallsAsync(from, to, allTenants: true, ct);

    private async Task<int> MeterEndedCallsAsync(DateTimeOffset from, DateTimeOffset to, bool allTenants, CancellationToken ct)
    {
        var callsQuery = allTenants ? db.Calls.IgnoreQueryFilters() : db.Calls;
        var usageQuery = allTenants ? db.UsageRecords.IgnoreQueryFilters() : db.UsageRecords;
        var calls = await callsQuery.AsNoTracking()
            .Where(c => Calls.CallStatuses.Ended.Contains(c.Status) && c.DurationSeconds != null && c.CreatedAt >= from && c.CreatedAt < to)
            .Select(c => new { c.Id, c.TenantId, c.DurationSeconds, c.StartedAt, c.CreatedAt, c.EndedAt })
            .ToListAsync(ct);
        if (calls.Count == 0)
        {
            return 0;
        }
        var ids = calls.Select(c => c.Id.ToString()).ToList();
        var metered = (await usageQuery.AsNoTracking().Where(u => u.Kind == UsageKinds.CallSeconds && ids.Contains(u.SourceId))
            .Select(u => u.SourceId).ToListAsync(ct)).ToHashSet(StringComparer.Ordinal);
        var added = 0;
        foreach (var call in calls.Where(c => !metered.Contains(c.Id.ToString())))
        {
            Add(new UsageRecord
            {
                Id = Guid.CreateVersion7(),
                TenantId = call.TenantId,
                Kind = UsageKinds.CallSeconds,
                Quantity = double.IsFinite(call.DurationSeconds!.Value) ? Math.Max(0, call.DurationSeconds.Value) : 0, // NaN/±∞ stored before the edge rule: nothing to bill
                SourceId = call.Id.ToString(),
                Period = PeriodOf(call.StartedAt ?? call.CreatedAt),
                OccurredAt = call.EndedAt ?? clock.GetUtcNow(),
            });
            added++;
        }
        if (added > 0)
        {
            try
            {
                await db.SaveChangesAsync(ct);
            }
            catch (DbUpdateException)
            {
                // Metered concurrently by another request or node: the unique key kept one row.
                db.ChangeTracker.Clear();
                return 0;
            }
        }
        return added;
    }

    /// <summary>Meters one chat message (for the web widget). Idempotent by <paramref name="messageId"/>.</summary>
    public async Task RecordChatMessageAsync(Guid tenantId, string messageId, DateTimeOffset at, CancellationToken ct)
    {
        if (await db.UsageRecords.AnyAsync(u => u.Kind == UsageKinds.ChatMessages && u.SourceId == messageId, ct))
        {
            return;
        }
        Add(new UsageRecord
        {
            Id = Guid.CreateVersion7(),
            TenantId = tenantId,
            Kind = UsageKinds.ChatMessages,
            Quantity = 1,
            SourceId = messageId,
            Period = PeriodOf(at),
            OccurredAt = at,
        });
        await db.SaveChangesAsync(ct);
    }

    /// <summary>Stages a record and, with Stripe billing, its meter-event outbox message (one transaction).</summary>
    private void Add(UsageRecord record)
    {
        db.UsageRecords.Add(record);
        if (stripe.Enabled)
        {
            db.Outbox.Add(new Outbox.OutboxMessage
            {
                Id = Guid.CreateVersion7(),
                TenantId = record.TenantId,
                Kind = MeterEventHandler.Kind,
                DedupeKey = "meter:" + record.Id.ToString("N"),
                PayloadJson = System.Text.Json.JsonSerializer.Serialize(new MeterEventHandler.Payload(record.Id)),
                NextAttemptAt = clock.GetUtcNow(),
                CreatedAt = clock.GetUtcNow(),
            });
        }
    }

    /// <summary>Totals of the period: call seconds and chat messages.</summary>
    public async Task<(double CallSeconds, int ChatMessages)> TotalsAsync(string period, CancellationToken ct)
    {
        var rows = await db.UsageRecords.AsNoTracking().Where(u => u.Period == period).GroupBy(u => u.Kind)
            .Select(g => new { Kind = g.Key, Total = g.Sum(u => u.Quantity) }).ToListAsync(ct);
        return (rows.FirstOrDefault(r => r.Kind == UsageKinds.CallSeconds)?.Total ?? 0, (int)(rows.FirstOrDefault(r => r.Kind == UsageKinds.ChatMessages)?.Total ?? 0));
    }
}

/// <summary>
/// Concurrent-call limit by plan: calls not yet ended and touched in the last 30 minutes count as active (a call
/// whose end was never reported stops counting then).
/// </summary>
internal sealed class CallConcurrencyGate(SwitchboardDbContext db, Tenancy.TenantAccountCache accounts, TimeProvider clock)
{
    /// <summary>
    /// The tenant's active calls: <see cref="Live"/> ones of the last 30 minutes (the tenant filter applies). A text chat is not
    /// a call: it holds no line and no speech model, and an idle one stays open for 30 minutes, so six open chats refused a
    /// Pro tenant's phone callers (a web voice conversation does count).
    /// </summary>
    public Task<int> ActiveCallsAsync(CancellationToken ct) => CountLive(db, clock.GetUtcNow().AddMinutes(-30), ct);

    /// <summary>
    /// The calls of <paramref name="calls"/> not yet ended and touched at or after <paramref name="since"/>. The statuses are
    /// inlined as constants, so the condition is that of the partial index <c>IX_calls_live</c> (migrations 0029, 0031): the count
    /// reads the tenant's live calls, never its whole history.
    /// </summary>
    internal static IQueryable<Calls.Call> Live(IQueryable<Calls.Call> calls, DateTimeOffset since) =>
        calls.Where(c => !EF.Constant(Calls.CallStatuses.Ended).Contains(c.Status) && c.UpdatedAt >= since && c.Type != WebChatType);

    /// <summary>
    /// <see cref="Live"/> counted, compiled once: every <c>assistant-request</c> asks (issue 13: as LINQ, EF built, walked and
    /// hashed the query per request). A compiled query refuses <c>EF.Constant</c> (dotnet/efcore#38150) and parameterizes
    /// nothing, so the static list is inlined as constants there: the same condition, the same partial index.
    /// </summary>
    private static readonly Func<SwitchboardDbContext, DateTimeOffset, CancellationToken, Task<int>> CountLive = EF.CompileAsyncQuery(
        (SwitchboardDbContext db, DateTimeOffset since, CancellationToken ct) =>
            db.Calls.Count(c => !Calls.CallStatuses.Ended.Contains(c.Status) && c.UpdatedAt >= since && c.Type != WebChatType));

    /// <summary><see cref="Calls.Call.Type"/> of a widget text chat (<c>Widget.WidgetApi</c>), which the limit does not count.</summary>
    private const string WebChatType = "webChat";

    /// <summary>True when the tenant may take one more call now.</summary>
    public async Task<(bool Allowed, int Active, int Limit)> CanStartAsync(Guid tenantId, CancellationToken ct)
    {
        var limit = (await accounts.GetAsync(tenantId, ct)).Plan.ConcurrentCalls;
        var active = await ActiveCallsAsync(ct);
        return (active < limit, active, limit);
    }
}
