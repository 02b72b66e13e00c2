using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Stripe;
using Switchboard.Platform.Database;
using Switchboard.Platform.Http;
using Switchboard.Platform.Observability;

namespace Switchboard.Billing;

/// <summary>One tenant's usage that Switchboard and Stripe disagree on (meter units: billable seconds or messages).</summary>
public sealed record DriftDto(Guid TenantId, string Period, string Kind, double Local, double Reported, double Difference, DateTimeOffset CheckedAt);

/// <summary>A reconciliation run: period, tenants checked, usage records not yet reported, the drifts found, and an error if Stripe could not be read.</summary>
public sealed record ReconciliationReport(string Period, DateTimeOffset CheckedAt, int TenantsChecked, int PendingRecords, IReadOnlyList<DriftDto> Drift, string? Error);

/// <summary>
/// Compares, per Stripe customer and meter, Switchboard's usage of a UTC month (<see cref="UsageRecord"/>s, in the units
/// the meter events carry) with Stripe's meter event summaries for the same window
/// (<c>GET /v1/billing/meters/{id}/event_summaries</c>, stripe-billing.md §2.2). Each difference is stored
/// (<c>billing_drift</c>, listed by <c>GET /api/v1/operator/billing/drift</c>), logged as a warning, counted
/// (<c>switchboard.billing.drift</c>) and audited (<c>billing.drift</c> on the tenant's log); every run is audited on the
/// platform's log (<c>billing.reconciled</c>: period, customers checked, pending records, drifts, error). Records still waiting in the
/// outbox are reported separately (<c>PendingRecords</c>) and left out of the comparison: they are lag, not drift.
/// Run nightly by <see cref="BillingWorker"/>, by <c>switchboard billing-reconcile [yyyy-MM]</c>, or by an operator
/// (<c>POST /api/v1/operator/billing/reconcile</c>).
/// </summary>
internal sealed class BillingReconciler(
    SwitchboardDbContext db, StripeGateway stripe, PlanCatalog plans, Compliance.AuditLog audit, TimeProvider clock, ILogger<BillingReconciler> logger, IMeterFactory meters)
{
    private readonly Counter<long> drifts = meters.Create(SwitchboardTracing.Name).CreateCounter<long>("switchboard.billing.drift", "{drift}",
        "Usage that Switchboard and Stripe's meter summaries disagree on, per tenant, period and meter, found by reconciliation.");

    public async Task<ReconciliationReport> RunAsync(string period, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        if (!UsageMeter.TryParsePeriod(period, out var start))
        {
            return new(period, now, 0, 0, [], "period must be yyyy-MM");
        }
        if (!stripe.Enabled)
        {
            return new(period, now, 0, 0, [], "Stripe billing is not configured.");
        }
        var catalog = await StripeGateway.CatalogAsync(db, ct);
        var accounts = await db.TenantAccounts.IgnoreQueryFilters().AsNoTracking().Where(a => a.StripeCustomerId != null)
            .Select(a => new { a.TenantId, a.StripeCustomerId, a.PlanId }).ToListAsync(ct);
        var records = await db.UsageRecords.IgnoreQueryFilters().AsNoTracking().Where(u => u.Period == period)
            .Select(u => new { u.TenantId, u.Kind, u.Quantity, u.ReportedAt }).ToListAsync(ct);
        var found = new List<DriftDto>();
        var end = start.AddMonths(1);
        try
        {
            foreach (var account in accounts)
            {
                var plan = plans.Get(account.PlanId);
                foreach (var kind in new[] { UsageKinds.CallSeconds, UsageKinds.ChatMessages })
                {
                    if (!catalog.TryGetValue("meter:" + StripeNames.MeterFor(kind), out var meterId))
                    {
                        continue;
                    }
                    var local = records.Where(r => r.TenantId == account.TenantId && r.Kind == kind && r.ReportedAt != null)
                        .Sum(r => kind == UsageKinds.CallSeconds ? plan.BillableSeconds(r.Quantity) : Math.Round(r.Quantity));
                    var summaries = await new Stripe.Billing.MeterEventSummaryService(stripe.Client).ListAsync(meterId, new Stripe.Billing.MeterEventSummaryListOptions
                    {
                        Customer = account.StripeCustomerId,
                        StartTime = start.UtcDateTime,
                        EndTime = end.UtcDateTime,
                    }, null, ct);
                    var reported = (double)summaries.Data.Sum(s => s.AggregatedValue);
                    if (Math.Abs(local - reported) > 0.0005)
                    {
                        found.Add(new DriftDto(account.TenantId, period, kind, local, reported, reported - local, now));
                    }
                }
            }
        }
        catch (StripeException e)
        {
            logger.LogWarning(e, "Billing reconciliation of {Period} could not read Stripe", period);
            var failed = new ReconciliationReport(period, now, accounts.Count, 0, found, e.StripeError?.Message ?? e.Message);
            await AuditAsync(failed, ct);
            return failed;
        }
        foreach (var drift in found)
        {
            db.BillingDrift.Add(new BillingDrift
            {
                Id = Guid.CreateVersion7(), TenantId = drift.TenantId, Period = period, Kind = drift.Kind, Local = drift.Local, Reported = drift.Reported, CheckedAt = now,
            });
            drifts.Add(1, new KeyValuePair<string, object?>("kind", drift.Kind));
            logger.LogWarning("Billing drift for tenant {TenantId} in {Period}: {Kind} Switchboard {Local}, Stripe {Reported}", drift.TenantId, period, drift.Kind, drift.Local, drift.Reported);
        }
        await db.SaveChangesAsync(ct);
        var customers = accounts.Select(a => a.TenantId).ToHashSet();
        var pending = records.Count(r => r.ReportedAt == null && customers.Contains(r.TenantId));
        logger.Log(found.Count == 0 ? LogLevel.Information : LogLevel.Warning,
            "Billing reconciliation of {Period}: {Tenants} customers, {Drift} drifts, {Pending} records pending", period, accounts.Count, found.Count, pending);
        var report = new ReconciliationReport(period, now, accounts.Count, pending, found, null);
        await AuditAsync(report, ct);
        return report;
    }

    /// <summary>Each run on the platform's audit log (<c>billing.reconciled</c>), and each drift on its tenant's (<c>billing.drift</c>).</summary>
    private async Task AuditAsync(ReconciliationReport report, CancellationToken ct)
    {
        var actor = new Compliance.AuditActor("system", "billing-reconcile", null);
        await audit.AppendAsync(null, actor, "billing.reconciled", "period:" + report.Period,
            new { report.Period, report.TenantsChecked, report.PendingRecords, drifts = report.Drift.Count, report.Error }, ct);
        foreach (var d in report.Drift)
        {
            await audit.AppendAsync(d.TenantId, actor, "billing.drift", "period:" + report.Period, new { d.Kind, d.Local, d.Reported, d.Difference }, ct);
        }
    }
}

/// <summary>
/// With Stripe billing: every minute, meters every tenant's ended calls of the last 40 days (so each becomes a meter
/// event through the outbox without waiting for someone to read <c>/usage</c>); once a day at
/// <see cref="StripeOptions.ReconciliationHourUtc"/>, reconciles the current month (and the previous one on the 1st).
/// </summary>
internal sealed class BillingWorker(IServiceScopeFactory scopes, IOptions<StripeOptions> options, TimeProvider clock, ILogger<BillingWorker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.Enabled || !options.Value.WorkersEnabled)
        {
            return;
        }
        DateOnly? reconciled = null;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                var now = clock.GetUtcNow();
                await scope.ServiceProvider.GetRequiredService<UsageMeter>().MeterEndedCallsOfAllTenantsAsync(now.AddDays(-40), now.AddMinutes(1), stoppingToken);
                var today = DateOnly.FromDateTime(now.UtcDateTime);
                if (now.Hour == options.Value.ReconciliationHourUtc && reconciled != today)
                {
                    var reconciler = scope.ServiceProvider.GetRequiredService<BillingReconciler>();
                    if (now.Day == 1)
                    {
                        await reconciler.RunAsync(UsageMeter.PeriodOf(now.AddDays(-1)), stoppingToken);
                    }
                    await reconciler.RunAsync(UsageMeter.PeriodOf(now), stoppingToken);
                    reconciled = today;
                }
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                logger.Log(ExpectedFailures.LevelOf(e), e, "Billing sweep failed; retrying in a minute");
            }
            try
            {
                await Task.Delay(TimeSpan.FromMinutes(1), clock, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }
}

/// <summary><c>/api/v1/operator/billing</c>: reconciliation findings and an on-demand run (operators).</summary>
internal static class BillingOperatorApi
{
    public static RouteGroupBuilder MapBillingOperator(this RouteGroupBuilder ops)
    {
        ops.MapGet("/drift", async (SwitchboardDbContext db, int? limit, CancellationToken ct) => TypedResults.Ok(
                await db.BillingDrift.AsNoTracking().OrderByDescending(d => d.CheckedAt).Take(Math.Clamp(limit ?? 100, 1, 1000))
                    .Select(d => new DriftDto(d.TenantId, d.Period, d.Kind, d.Local, d.Reported, d.Reported - d.Local, d.CheckedAt)).ToListAsync(ct)))
            .WithTags("Operator").WithSummary("Billing drift found by reconciliation, newest first");
        ops.MapPost("/reconcile", ReconcileAsync).WithTags("Operator").WithSummary("Reconcile a month's usage with Stripe's meter summaries now (?period=yyyy-MM)")
            .ProducesErrors(404, 422);
        return ops;
    }

    private static async Task<Results<Ok<ReconciliationReport>, JsonHttpResult<ErrorEnvelope>>> ReconcileAsync(
        string? period, BillingReconciler reconciler, StripeGateway stripe, TimeProvider clock, CancellationToken ct)
    {
        if (!stripe.Enabled)
        {
            return ApiError.NotFound("STRIPE_NOT_CONFIGURED", "Stripe billing is not configured on this installation.");
        }
        period ??= UsageMeter.PeriodOf(clock.GetUtcNow());
        if (!UsageMeter.TryParsePeriod(period, out _))
        {
            return ApiError.Unprocessable("INVALID_PERIOD", $"period must be a month yyyy-MM from {UsageMeter.MinPeriod} to {UsageMeter.MaxPeriod}.");
        }
        return TypedResults.Ok(await reconciler.RunAsync(period, ct));
    }
}

/// <summary><c>switchboard billing-reconcile [yyyy-MM]</c>: reconciles a month (default: this one) now and prints the drift. Exit codes: 0 no drift, 1 drift or error, 2 usage.</summary>
internal static class BillingReconcileCommand
{
    public static async Task<int> RunAsync(IServiceProvider services, string[] args, CancellationToken ct)
    {
        await services.GetRequiredService<Migrator>().MigrateAsync(ct);
        await using var scope = services.CreateAsyncScope();
        var period = args.FirstOrDefault() ?? UsageMeter.PeriodOf(scope.ServiceProvider.GetRequiredService<TimeProvider>().GetUtcNow());
        if (!UsageMeter.TryParsePeriod(period, out _))
        {
            await Console.Error.WriteLineAsync("Usage: switchboard billing-reconcile [yyyy-MM]");
            return 2;
        }
        var report = await scope.ServiceProvider.GetRequiredService<BillingReconciler>().RunAsync(period, ct);
        Console.WriteLine($"{report.Period}: {report.TenantsChecked} customers checked, {report.PendingRecords} usage records pending, {report.Drift.Count} drifts{(report.Error is null ? "" : ", error: " + report.Error)}");
        foreach (var d in report.Drift)
        {
            Console.WriteLine($"  tenant {d.TenantId} {d.Kind}: Switchboard {d.Local}, Stripe {d.Reported}");
        }
        return report.Error is null && report.Drift.Count == 0 ? 0 : 1;
    }
}
