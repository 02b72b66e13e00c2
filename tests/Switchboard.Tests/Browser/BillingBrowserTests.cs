using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Switchboard.Billing;
using Switchboard.Simulators;
using Switchboard.Tests.Support;
using static Microsoft.Playwright.Assertions;

namespace Switchboard.Tests.Browser;

/// <summary>
/// The real host on Kestrel (its public URL known before it starts, so Checkout's success URL comes back to it) with
/// Stripe billing pointed at <see cref="StripeSimulator"/>, which delivers its signed webhooks over real HTTP.
/// </summary>
public sealed class BillingBrowserFactory : SwitchboardFactory
{
    internal StripeSimulator Stripe { get; } = StripeSimulator.StartAsync().GetAwaiter().GetResult();
    internal int Port { get; } = FreePort();
    internal string BaseUrl => $"http://127.0.0.1:{Port}";

    public BillingBrowserFactory() => UseKestrel(o => o.Listen(IPAddress.Loopback, Port));

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.ConfigureTestServices(services => services.AddSingleton(TimeProvider.System));
    }

    protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>
    {
        ["Switchboard:Web:DashboardPath"] = DashboardFactory.DistPath,
        ["Switchboard:PublicBaseUrl"] = BaseUrl,
        ["Switchboard:Accounts:AuthRequestsPerMinutePerIp"] = "100000",
        ["Switchboard:Stripe:SecretKey"] = "sk_test_browser",
        ["Switchboard:Stripe:ApiBase"] = Stripe.BaseUrl,
        ["Switchboard:Stripe:WorkersEnabled"] = "false",
        ["Switchboard:Outbox:WorkerEnabled"] = "false",
    };

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            Stripe.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }
}

/// <summary>Issue 10 "Done when": a tenant upgrades in the browser through (fake) Stripe Checkout and its plan is active.</summary>
[Trait("Category", "Browser")]
public sealed class BillingBrowserTests : IClassFixture<BrowserFixture>, IAsyncLifetime
{
    private readonly BrowserFixture browser;
    private readonly BillingBrowserFactory host = new();

    public BillingBrowserTests(BrowserFixture browser) => this.browser = browser;

    public async Task InitializeAsync()
    {
        if (browser.SkipReason is not null)
        {
            return;
        }
        host.StartServer();
        Assert.Equal(0, await StripeSetupCommand.RunAsync(host.Services, ["--webhook-url", host.BaseUrl + "/webhooks/stripe"], TextWriter.Null, CancellationToken.None));
    }

    public Task DisposeAsync()
    {
        host.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task AnOwnerUpgradesThroughCheckoutAndSeesTheActivePlanAndItsInvoice()
    {
        Assert.True(browser.SkipReason is null, browser.SkipReason);
        var context = await browser.Browser!.NewContextAsync(new() { BaseURL = host.BaseUrl, Locale = "en-CA", ViewportSize = new ViewportSize { Width = 375, Height = 800 } });
        await using var _ = context;
        var page = await context.NewPageAsync();
        var tab = new Tab(context, page);
        var email = $"owner-{Guid.NewGuid():N}@example.test";
        var signup = await context.APIRequest.PostAsync("/api/v1/auth/signup", new()
        {
            DataObject = new { email, password = BrowserFixture.Password, organisation = "Plomberie Navigateur", fullName = "Marie Fortin" },
        });
        Assert.True(signup.Ok, $"signup {signup.Status}: {await signup.TextAsync()}");

        await page.GotoAsync("/settings/plan");
        var billing = page.GetByRole(AriaRole.Region, new() { Name = "Billing" });
        await Expect(billing.GetByText("No subscription")).ToBeVisibleAsync();
        await billing.GetByRole(AriaRole.Button, new() { Name = "Upgrade to Pro" }).ClickAsync();

        await Expect(page).ToHaveURLAsync(new Regex("^" + Regex.Escape(host.Stripe.BaseUrl) + "/checkout/cs_"));
        await page.GetByRole(AriaRole.Button, new() { Name = "Pay and subscribe" }).ClickAsync();

        await Expect(page).ToHaveURLAsync(new Regex("/settings/plan\\?checkout=success"));
        await Expect(billing.GetByText("Active", new() { Exact = true })).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Region, new() { Name = "Current plan" }).GetByText("Pro", new() { Exact = true })).ToBeVisibleAsync();
        await Expect(billing.GetByRole(AriaRole.Link, new() { NameRegex = new Regex("^Invoice SIM-") })).ToBeVisibleAsync();
        await Expect(billing.GetByRole(AriaRole.Button, new() { Name = "Manage billing" })).ToBeVisibleAsync();
        await Expect(billing.GetByRole(AriaRole.Button, new() { Name = "Upgrade to Pro" })).ToHaveCountAsync(0);
        Assert.All(host.Stripe.Deliveries, d => Assert.Equal(200, d.Status));
        await tab.AssertCleanAsync();

        // The same page right-to-left, in Hebrew, dark, at 375 px: laid out, readable, no sideways scroll, no serious axe violation.
        var rtl = await browser.Browser.NewContextAsync(new()
        {
            BaseURL = host.BaseUrl, Locale = "he-IL", ColorScheme = ColorScheme.Dark, ViewportSize = new ViewportSize { Width = 375, Height = 800 },
        });
        await using var __ = rtl;
        await rtl.AddInitScriptAsync(await File.ReadAllTextAsync(Path.Combine(Fixtures.RepositoryRoot, "web", "node_modules", "axe-core", "axe.min.js")));
        await rtl.AddInitScriptAsync("window.__csp = []; document.addEventListener('securitypolicyviolation', e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));");
        var hePage = await rtl.NewPageAsync();
        var heTab = new Tab(rtl, hePage);
        var login = await rtl.APIRequest.PostAsync("/api/v1/auth/login", new() { DataObject = new { email, password = BrowserFixture.Password } });
        Assert.True(login.Ok, await login.TextAsync());
        await hePage.GotoAsync("/settings/plan");
        var heBilling = hePage.GetByRole(AriaRole.Region, new() { Name = "חיוב" });
        await Expect(heBilling.GetByText("פעיל", new() { Exact = true })).ToBeVisibleAsync();
        await Expect(heBilling.GetByRole(AriaRole.Button, new() { Name = "ניהול החיוב" })).ToBeVisibleAsync();
        Assert.Equal("rtl", await hePage.EvaluateAsync<string>("() => document.documentElement.dir"));
        Assert.True(await hePage.EvaluateAsync<int>("() => document.documentElement.scrollWidth - window.innerWidth") <= 0, "the page scrolls sideways at 375 px");
        Assert.Empty(await heTab.SeriousAxeViolationsAsync());
        await heTab.AssertCleanAsync();
    }
}
