using System.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Billing;
using Switchboard.Simulators;
using Switchboard.Tenancy;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Billing;

/// <summary>
/// The billing work that runs by itself, across restarts (issue 10): the end of a grace period is announced by the nodes
/// that run after it ended, once between them; the nightly reconciliation runs as a hosted service at its hour; and
/// <c>switchboard billing-reconcile</c> runs as the real binary against the fake Stripe (no drift, exit 0; a meter event
/// Stripe lost, drift and exit 1). Hosts share one database as nodes of one installation do.
/// </summary>
[Trait("Category", "Database")]
public sealed class BillingWorkerTests : IAsyncLifetime
{
    private readonly TestDatabase database = new();
    private readonly string keys = Path.Combine(Path.GetTempPath(), "switchboard-keys-" + Guid.NewGuid().ToString("N"));
    private StripeSimulator stripe = null!;

    public async Task InitializeAsync() => stripe = await StripeSimulator.StartAsync();

    public async Task DisposeAsync()
    {
        await stripe.DisposeAsync();
        database.Dispose();
        try { Directory.Delete(keys, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private sealed class Node(TestDatabase database, string keys, StripeSimulator stripe, bool workers) : SwitchboardFactory(database, keys)
    {
        protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>
        {
            ["Switchboard:Stripe:SecretKey"] = "sk_test_workers",
            ["Switchboard:Stripe:ApiBase"] = stripe.BaseUrl,
            ["Switchboard:Stripe:MaxNetworkRetries"] = "0",
            ["Switchboard:Stripe:WorkersEnabled"] = workers ? "true" : "false",
            ["Switchboard:Stripe:ReconciliationHourUtc"] = "3",
        };
    }

    private static Task<int> AuditCountAsync(SwitchboardFactory host, Guid? tenantId, string action) =>
        host.WithDbAsync(null, db => db.AuditLog.IgnoreQueryFilters().CountAsync(a => a.TenantId == (tenantId ?? Guid.Empty) && a.Action == action));

    [Fact]
    public async Task AGraceThatEndedWhileTheHostWasDownIsAnnouncedOnceByTheNodesThatStartAfter()
    {
        TestTenant tenant;
        using (var before = new Node(database, keys, stripe, workers: false))
        {
            tenant = await before.CreateTenantAsync();
            var now = before.Clock.GetUtcNow();
            await before.WithDbAsync(tenant.Id, async db =>
            {
                // What invoice.payment_failed leaves (StripeBillingTests drives it through the webhook): past due, 7 days of grace.
                db.TenantAccounts.Add(new TenantAccount
                {
                    TenantId = tenant.Id, PlanId = "pro", StripeCustomerId = "cus_grace_" + Guid.NewGuid().ToString("N")[..8], StripeSubscriptionId = "sub_grace",
                    SubscriptionStatus = "past_due", SubscriptionStateAt = now, GraceEndsAt = now.AddDays(7), CreatedAt = now, UpdatedAt = now,
                });
                return await db.SaveChangesAsync();
            });
            using var scope = before.Scope();
            Assert.Equal(0, await scope.ServiceProvider.GetRequiredService<BillingSuspensions>().SweepAsync(CancellationToken.None)); // grace not over
            Assert.Equal("pro", (await scope.ServiceProvider.GetRequiredService<TenantAccountCache>().GetAsync(tenant.Id, CancellationToken.None)).Plan.Id);
        }

        // Eight days later two nodes start at once; each sweeps on start. One of them announces the suspension.
        using var a = new Node(database, keys, stripe, workers: false);
        using var b = new Node(database, keys, stripe, workers: false);
        a.Clock.Advance(TimeSpan.FromDays(8));
        b.Clock.Advance(TimeSpan.FromDays(8));
        var started = new[] { Task.Run(() => a.Services), Task.Run(() => b.Services) };
        await Task.WhenAll(started);
        await StripeBillingTests.WaitUntilAsync(async () => await AuditCountAsync(a, tenant.Id, BillingSuspensions.SuspendedAction) > 0, "a node to announce the suspension");
        using (var scope = b.Scope())
        {
            Assert.Equal(0, await scope.ServiceProvider.GetRequiredService<BillingSuspensions>().SweepAsync(CancellationToken.None));
            Assert.Equal("free", (await scope.ServiceProvider.GetRequiredService<TenantAccountCache>().GetAsync(tenant.Id, CancellationToken.None)).Plan.Id);
        }
        a.Clock.Advance(TimeSpan.FromMinutes(1)); // both workers sweep again
        b.Clock.Advance(TimeSpan.FromMinutes(1));
        using (var scope = a.Scope())
        {
            Assert.Equal(0, await scope.ServiceProvider.GetRequiredService<BillingSuspensions>().SweepAsync(CancellationToken.None));
        }
        Assert.Equal(1, await AuditCountAsync(a, tenant.Id, BillingSuspensions.SuspendedAction));
        var account = await a.WithDbAsync(tenant.Id, db => db.TenantAccounts.AsNoTracking().SingleAsync(x => x.TenantId == tenant.Id));
        Assert.NotNull(account.SuspendedAt);
        Assert.Equal("pro", account.PlanId); // the subscribed plan is kept; its features come back on payment
    }

    /// <summary>
    /// Several graces that ended together are announced by one sweep: each tenant in a DI scope of its own (the tenant filter
    /// is set once per scope; in one scope the second tenant threw, and the sweep announced one suspension a minute).
    /// </summary>
    [Fact]
    public async Task OneSweepAnnouncesEveryGraceThatEndedTogether()
    {
        using var host = new SwitchboardFactory(database, keys); // no Stripe: no worker sweeps behind the test's back
        var now = host.Clock.GetUtcNow();
        var tenants = new List<TestTenant>();
        for (var i = 0; i < 3; i++)
        {
            var tenant = await host.CreateTenantAsync();
            tenants.Add(tenant);
            await host.WithDbAsync(tenant.Id, async db =>
            {
                db.TenantAccounts.Add(new TenantAccount
                {
                    TenantId = tenant.Id, PlanId = "pro", StripeCustomerId = "cus_together_" + Guid.NewGuid().ToString("N")[..8], StripeSubscriptionId = "sub_together",
                    SubscriptionStatus = "past_due", SubscriptionStateAt = now.AddDays(-8), GraceEndsAt = now.AddDays(-1).AddMinutes(i), CreatedAt = now, UpdatedAt = now,
                });
                return await db.SaveChangesAsync();
            });
        }

        using (var scope = host.Scope())
        {
            Assert.Equal(3, await scope.ServiceProvider.GetRequiredService<BillingSuspensions>().SweepAsync(CancellationToken.None));
        }
        using (var scope = host.Scope())
        {
            Assert.Equal(0, await scope.ServiceProvider.GetRequiredService<BillingSuspensions>().SweepAsync(CancellationToken.None));
        }
        foreach (var tenant in tenants)
        {
            Assert.Equal(1, await AuditCountAsync(host, tenant.Id, BillingSuspensions.SuspendedAction));
            Assert.NotNull(await host.WithDbAsync(tenant.Id, db => db.TenantAccounts.AsNoTracking().Where(x => x.TenantId == tenant.Id).Select(x => x.SuspendedAt).SingleAsync()));
        }
    }

    [Fact]
    public async Task TheNightlyReconciliationRunsAsAHostedServiceAtItsHour()
    {
        using var node = new Node(database, keys, stripe, workers: true);
        stripe.Clock = node.Clock;
        _ = node.Services;
        Assert.Equal(0, await StripeSetupCommand.RunAsync(node.Services, ["--webhook-url", "http://127.0.0.1:9/webhooks/stripe"], new StringWriter(), CancellationToken.None));
        Assert.Equal(0, await AuditCountAsync(node, null, "billing.reconciled")); // 15:00: not the hour

        node.Clock.Advance(TimeSpan.FromHours(12)); // 03:00 UTC the next day
        await StripeBillingTests.WaitUntilAsync(async () => await AuditCountAsync(node, null, "billing.reconciled") > 0, "the nightly reconciliation");
        node.Clock.Advance(TimeSpan.FromMinutes(1)); // still 03:xx: once a night
        node.Clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(1, await AuditCountAsync(node, null, "billing.reconciled"));
    }

    [Fact]
    [Trait("Category", "Cli")]
    public async Task BillingReconcileRunsAsTheBinaryAndReportsAMeterEventStripeLost()
    {
        var host = new Node(database, keys, stripe, workers: false);
        stripe.Clock = host.Clock;
        Assert.Equal(0, await StripeSetupCommand.RunAsync(host.Services, ["--webhook-url", "http://127.0.0.1:9/webhooks/stripe"], new StringWriter(), CancellationToken.None));
        var tenant = await host.CreateTenantAsync();
        var now = host.Clock.GetUtcNow();
        var customer = "cus_cli_" + Guid.NewGuid().ToString("N")[..8];
        await host.WithDbAsync(tenant.Id, async db =>
        {
            db.TenantAccounts.Add(new TenantAccount { TenantId = tenant.Id, PlanId = "starter", StripeCustomerId = customer, SubscriptionStatus = "active", CreatedAt = now, UpdatedAt = now });
            return await db.SaveChangesAsync();
        });
        var messages = Enumerable.Range(0, 12).Select(i => $"cli-{i}-{Guid.NewGuid():N}").ToList();
        using (var scope = host.Scope())
        {
            scope.ServiceProvider.GetRequiredService<CurrentTenant>().Set(tenant.Id);
            foreach (var id in messages)
            {
                await scope.ServiceProvider.GetRequiredService<UsageMeter>().RecordChatMessageAsync(tenant.Id, id, now, CancellationToken.None);
            }
        }
        await host.Outbox.DrainAsync(CancellationToken.None);
        Assert.Equal(12, stripe.MeterEvents.Count);
        host.Dispose(); // the binary is the only process on the database now

        var period = UsageMeter.PeriodOf(now);
        var clean = await RunAsync("billing-reconcile", period);
        Assert.True(clean.Code == 0, clean.Output + clean.Error);
        Assert.Contains($"{period}: 1 customers checked, 0 usage records pending, 0 drifts", clean.Output);

        Assert.True(stripe.LoseMeterEvent(messages[3]));
        var drifted = await RunAsync("billing-reconcile", period);
        Assert.True(drifted.Code == 1, drifted.Output + drifted.Error);
        Assert.Contains("1 drifts", drifted.Output);
        Assert.Contains($"tenant {tenant.Id} chat_messages: Switchboard 12, Stripe 11", drifted.Output);

        var bad = await RunAsync("billing-reconcile", "2026-13");
        Assert.Equal(2, bad.Code);

        // Visible afterwards: the drift row, the tenant's audit entry and the platform's record of both runs.
        using var after = new Node(database, keys, stripe, workers: false);
        var drift = await after.WithDbAsync(null, db => db.BillingDrift.AsNoTracking().Where(d => d.TenantId == tenant.Id).ToListAsync());
        var row = Assert.Single(drift);
        Assert.Equal(("chat_messages", 12d, 11d), (row.Kind, row.Local, row.Reported));
        Assert.Equal(1, await AuditCountAsync(after, tenant.Id, "billing.drift"));
        Assert.Equal(2, await AuditCountAsync(after, null, "billing.reconciled"));
    }

    /// <summary>Runs the real binary (<c>dotnet Switchboard.dll …</c>) on this test's database, pointed at the fake Stripe.</summary>
    private async Task<(int Code, string Output, string Error)> RunAsync(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Directory.CreateTempSubdirectory("switchboard-cli-").FullName,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Switchboard.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Testing";
        start.Environment["Switchboard__Database__Provider"] = database.Provider;
        start.Environment["Switchboard__Database__ConnectionString"] = database.ConnectionString;
        start.Environment["Switchboard__DataProtection__MasterKeyFile"] = Path.Combine(keys, "master.key");
        start.Environment["Switchboard__DataProtection__KeysPath"] = keys;
        start.Environment["Switchboard__Stripe__SecretKey"] = "sk_test_cli";
        start.Environment["Switchboard__Stripe__ApiBase"] = stripe.BaseUrl;
        start.Environment["Switchboard__Stripe__MaxNetworkRetries"] = "0";
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        try { Directory.Delete(start.WorkingDirectory, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        return (process.ExitCode, await output, await error);
    }
}
