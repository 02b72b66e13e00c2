using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Switchboard.Billing;
using Switchboard.Tenancy;
using Switchboard.Tests.Support;
using Switchboard.Tests.Widget;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace Switchboard.Tests.Browser;

/// <summary>
/// The dashboard as a new business sees it (Chromium, real host), each test on a tenant of its own so the counts and lists
/// it reads are its own: web chats are not counted as calls, phone numbers keep their place beside names in Arabic, date
/// filters read in the page's language, and the time zone is named in words.
/// </summary>
[Collection("Browser")]
[Trait("Category", "Browser")]
[Trait("Category", "Database")]
public sealed class NewUserBrowserTests(BrowserFixture browser, ITestOutputHelper output)
{
    /// <summary>A new tenant with an owner, and a tab signed in as that owner.</summary>
    private async Task<(Tab Tab, TestTenant Tenant)> OpenAsNewTenantAsync(string locale = "en-CA", int width = 1280)
    {
        var tenant = await browser.Host.CreateTenantAsync("Plomberie Nouvelle");
        var email = await browser.Host.AddOwnerAsync(tenant.Id, BrowserFixture.Password);
        var tab = await browser.OpenAsync(locale, width, signIn: false);
        var response = await tab.Context.APIRequest.PostAsync("/api/v1/auth/login", new() { DataObject = new { email, password = BrowserFixture.Password } });
        Assert.True(response.Ok, $"login {response.Status}: {await response.TextAsync()}");
        return (tab, tenant);
    }

    /// <summary>Stores a call in progress for the tenant, as the widget (web chat) or a phone provider would have.</summary>
    private Task AddCallInProgressAsync(Guid tenantId, string channel, string type, string? number)
    {
        var now = DateTimeOffset.UtcNow;
        return browser.Host.WithDbAsync(tenantId, db =>
        {
            db.Calls.Add(new Switchboard.Calls.Call
            {
                Id = Guid.CreateVersion7(), TenantId = tenantId, Channel = channel, Provider = channel == "web" ? "widget" : "twilio",
                ProviderCallId = Guid.NewGuid().ToString("N"), Type = type, Status = "in-progress", CustomerNumber = number,
                CreatedAt = now, StartedAt = now, UpdatedAt = now,
            });
            return db.SaveChangesAsync();
        });
    }

    [Fact]
    public async Task AWebChatInProgressIsCountedApartFromTheCalls()
    {
        if (browser.Skip(output)) { return; }
        var (tab, tenant) = await OpenAsNewTenantAsync();
        await using var _ = tab;
        await AddCallInProgressAsync(tenant.Id, "voice", "inboundPhoneCall", "+15145550123");
        await AddCallInProgressAsync(tenant.Id, "web", "webChat", null);
        var page = tab.Page;

        await page.GotoAsync("/");
        var main = page.GetByRole(AriaRole.Main);
        await Expect(main.GetByText("1 call in progress")).ToBeVisibleAsync();
        await Expect(main.GetByText("1 web chat in progress")).ToBeVisibleAsync();

        await page.GotoAsync("/live");
        await Expect(main.GetByRole(AriaRole.Heading, new() { Name = "1 call in progress · 1 web chat in progress", Exact = true })).ToBeVisibleAsync();
        await Expect(main.GetByRole(AriaRole.Listitem).Filter(new() { HasText = "Web chat" })).ToHaveCountAsync(1);
        await tab.AssertCleanAsync();
    }

    [Fact]
    public async Task AWebChatStartedWhileLiveIsOpenIsCountedAsAChat()
    {
        if (browser.Skip(output)) { return; }
        var (tab, tenant) = await OpenAsNewTenantAsync();
        await using var _ = tab;
        var page = tab.Page;
        await page.GotoAsync("/live");
        await Expect(page.GetByRole(AriaRole.Status).Filter(new() { HasText = "Live" })).ToBeVisibleAsync();
        await Expect(page.GetByText("No call in progress right now.")).ToBeVisibleAsync();
        // Said once: no "0 calls in progress" heading above the line that already says there is none.
        await Expect(page.GetByRole(AriaRole.Main).GetByRole(AriaRole.Heading, new() { Name = "0 calls in progress", Exact = true })).ToHaveCountAsync(0);

        // The chat reaches the page through the event stream only (call.started), which must say it is a chat.
        const string Site = "https://www.plomberie-nouvelle.example";
        var host = browser.Host;
        var (key, _, hash) = PublishableKeys.Generate();
        await host.WithDbAsync(tenant.Id, async db =>
        {
            db.ApiKeys.Add(new ApiKey
            {
                Id = Guid.CreateVersion7(), TenantId = tenant.Id, Name = "widget", Kind = ApiKeyKinds.Publishable, Prefix = key[..12], Hash = hash,
                CreatedAt = DateTimeOffset.UtcNow,
            });
            var account = await TenantAccounts.GetOrCreateAsync(db, host.Services.GetRequiredService<PlanCatalog>(), tenant.Id, DateTimeOffset.UtcNow, CancellationToken.None);
            account.AllowedOrigins = [Site];
            return await db.SaveChangesAsync();
        });
        host.Services.GetRequiredService<TenantAccountCache>().Invalidate(tenant.Id);
        using var client = host.CreateClient();
        client.DefaultRequestHeaders.Add("Origin", Site);
        var started = await new Visitor(client, new WidgetTenant(tenant, key)).StartAsync(Site + "/", "en");
        Assert.Equal(HttpStatusCode.Created, started.StatusCode);

        var main = page.GetByRole(AriaRole.Main);
        await Expect(main.GetByRole(AriaRole.Heading, new() { Name = "0 calls in progress · 1 web chat in progress", Exact = true })).ToBeVisibleAsync();
        await Expect(main.GetByRole(AriaRole.Listitem).Filter(new() { HasText = "Web chat" })).ToHaveCountAsync(1);
        await tab.AssertCleanAsync();
    }

    [Fact]
    public async Task TheAuditLogsDateFilterReadsInArabicOnAPhone()
    {
        if (browser.Skip(output)) { return; }
        // A native date input said "mm/dd/yyyy" on an Arabic page: Chromium follows its own locale there, not the page's.
        var (tab, _) = await OpenAsNewTenantAsync("ar", width: 375);
        await using var _ = tab;
        var page = tab.Page;
        await page.GotoAsync("/settings/audit");
        var from = page.GetByRole(AriaRole.Group, new() { Name = "من", Exact = true });
        await Expect(from.GetByLabel("الشهر")).ToContainTextAsync("ديسمبر");
        await Expect(page.Locator("input[type=date]")).ToHaveCountAsync(0);
        await from.GetByLabel("يوم").FillAsync("١");
        await from.GetByLabel("الشهر").SelectOptionAsync(new SelectOptionValue { Label = "ديسمبر" });
        await from.GetByLabel("السنة").FillAsync("2026");
        await Expect(page).ToHaveURLAsync(new Regex("from=2026-12-01"));
        // Day first, at the right (the reader's start) of the row on a right-to-left page.
        var day = await from.GetByLabel("يوم").BoundingBoxAsync();
        var year = await from.GetByLabel("السنة").BoundingBoxAsync();
        Assert.True(day!.X > year!.X, $"day at x={day.X}, year at x={year.X}");
        Assert.True(await page.EvaluateAsync<bool>("() => document.scrollingElement.scrollWidth <= document.scrollingElement.clientWidth"), "the page scrolls sideways at 375 px");
        await tab.AssertCleanAsync();
    }

    [Fact]
    public async Task AnEmergencysNameComesBeforeItsNumberOnTheArabicOverview()
    {
        if (browser.Skip(output)) { return; }
        var (tab, tenant) = await OpenAsNewTenantAsync("ar");
        await using var _ = tab;
        var now = DateTimeOffset.UtcNow;
        var callId = Guid.CreateVersion7();
        await browser.Host.WithDbAsync(tenant.Id, db =>
        {
            db.Calls.Add(new Switchboard.Calls.Call
            {
                Id = callId, TenantId = tenant.Id, Channel = "voice", Provider = "twilio", ProviderCallId = "CA" + Guid.NewGuid().ToString("N"),
                Type = "inboundPhoneCall", Status = "completed", CustomerNumber = "+15145550123", CreatedAt = now, StartedAt = now, UpdatedAt = now, EndedAt = now,
            });
            db.Leads.Add(new Switchboard.Calls.Lead
            {
                Id = Guid.CreateVersion7(), TenantId = tenant.Id, CallId = callId, Name = "Marie Tremblay", Phone = "+15145550123", Problem = "Sous-sol inondé",
                Urgency = "emergency", Source = "tool", CreatedAt = now, UpdatedAt = now,
            });
            return db.SaveChangesAsync();
        });
        var page = tab.Page;
        await page.GotoAsync("/");
        var name = page.GetByTestId("urgent-lead-name");
        var phone = page.GetByTestId("urgent-lead-phone");
        await Expect(name).ToHaveTextAsync("Marie Tremblay");
        await Expect(phone).ToHaveTextAsync("+1 514-555-0123");
        // Read from the right: the name, a clear gap, then the number (run together they read as one string, number first).
        var n = await name.BoundingBoxAsync();
        var p = await phone.BoundingBoxAsync();
        Assert.True(n!.X >= p!.X + p.Width + 8, $"name at x={n.X}, number ends at x={p.X + p.Width}");
        await tab.AssertCleanAsync();
    }
}
