using System.Diagnostics.Metrics;
using Microsoft.EntityFrameworkCore;
using Switchboard.Outbox;
using Switchboard.Platform.Database;

namespace Switchboard.Platform.Observability;

/// <summary>
/// The outbox figures that live in the database (depth by state, age of the oldest due row), sampled by
/// <see cref="RefreshAsync"/>: before each <c>/metrics</c> scrape, and every <see cref="ObservabilityOptions.SampleSeconds"/>
/// while OTLP export is on. Observable instruments read the last sample (their callbacks cannot await a query).
/// </summary>
internal sealed class OutboxGauges(IServiceScopeFactory scopes, TimeProvider clock)
{
    private readonly SemaphoreSlim refreshing = new(1, 1);
    private volatile Sample? last;

    private sealed record Sample(long Pending, long Due, long Dead, double OldestDueAgeSeconds);

    /// <summary>Queries the outbox (all tenants) and keeps the figures for the instruments.</summary>
    public async Task RefreshAsync(CancellationToken ct)
    {
        await refreshing.WaitAsync(ct);
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>();
            var now = clock.GetUtcNow();
            var rows = db.Outbox.IgnoreQueryFilters().AsNoTracking();
            var byStatus = await rows.Where(m => m.Status == OutboxStatus.Pending || m.Status == OutboxStatus.Dead)
                .GroupBy(m => m.Status).Select(g => new { Status = g.Key, Count = g.LongCount() }).ToListAsync(ct);
            var due = rows.Where(m => m.Status == OutboxStatus.Pending && m.NextAttemptAt <= now && (m.LockedUntil == null || m.LockedUntil < now));
            var dueCount = await due.LongCountAsync(ct);
            var oldest = dueCount == 0 ? (DateTimeOffset?)null
                : await due.OrderBy(m => m.NextAttemptAt).Select(m => (DateTimeOffset?)m.NextAttemptAt).FirstOrDefaultAsync(ct);
            last = new Sample(
                byStatus.FirstOrDefault(s => s.Status == OutboxStatus.Pending)?.Count ?? 0,
                dueCount,
                byStatus.FirstOrDefault(s => s.Status == OutboxStatus.Dead)?.Count ?? 0,
                oldest is { } o ? Math.Max(0, (now - o).TotalSeconds) : 0);
        }
        finally
        {
            refreshing.Release();
        }
    }

    internal IEnumerable<Measurement<long>> Depth()
    {
        if (last is not { } s)
        {
            yield break;
        }
        yield return new Measurement<long>(s.Pending, new KeyValuePair<string, object?>("state", "pending"));
        yield return new Measurement<long>(s.Due, new KeyValuePair<string, object?>("state", "due"));
        yield return new Measurement<long>(s.Dead, new KeyValuePair<string, object?>("state", "dead"));
    }

    internal IEnumerable<Measurement<double>> OldestDueAgeSeconds()
    {
        if (last is { } s)
        {
            yield return new Measurement<double>(s.OldestDueAgeSeconds);
        }
    }
}

/// <summary>Samples <see cref="OutboxGauges"/> periodically while a push exporter (OTLP) needs fresh figures.</summary>
internal sealed class OutboxGaugeSampler(OutboxGauges gauges, Microsoft.Extensions.Options.IOptions<ObservabilityOptions> options, ILogger<OutboxGaugeSampler> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(Math.Max(1, options.Value.SampleSeconds)));
        do
        {
            try
            {
                await gauges.RefreshAsync(stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                logger.Log(ExpectedFailures.LevelOf(e), e, "Outbox gauges could not be sampled");
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
