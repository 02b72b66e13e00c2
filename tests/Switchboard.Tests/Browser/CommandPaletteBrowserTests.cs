using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.EntityFrameworkCore;
using Microsoft.Playwright;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace Switchboard.Tests.Browser;

/// <summary>
/// The shell's command palette (Ctrl-K: jump to a page, find calls by number or by name) and the Calls list on a
/// 375 px phone in Arabic (the caller's number whole and left-to-right), plus the sidebar background on a long page,
/// in Debian's Chromium against the real host. Its own class fixture, so it runs beside the other browser classes.
/// </summary>
[Trait("Category", "Browser")]
[Trait("Category", "Database")]
public sealed class CommandPaletteBrowserTests(BrowserFixture browser, ITestOutputHelper output) : IClassFixture<BrowserFixture>
{

    /// <summary>Replays a minimal signed Vapi end-of-call report and returns the call's id.</summary>
    private async Task<Guid> ReplayAsync(string number, string summary)
    {
        var vapiId = Guid.NewGuid().ToString();
        var report = new JsonObject
        {
            ["message"] = new JsonObject
            {
                ["type"] = "end-of-call-report",
                ["endedReason"] = "customer-ended-call",
                ["timestamp"] = 1763478060000L,
                ["call"] = new JsonObject { ["id"] = vapiId, ["type"] = "inboundPhoneCall", ["customer"] = new JsonObject { ["number"] = number } },
                ["analysis"] = new JsonObject { ["summary"] = summary },
                ["artifact"] = new JsonObject
                {
                    ["messages"] = new JsonArray { new JsonObject { ["role"] = "user", ["message"] = summary, ["time"] = 1763478001000L, ["endTime"] = 1763478003000L, ["secondsFromStart"] = 1.0 } },
                },
                ["durationSeconds"] = 60.0,
            },
        }.ToJsonString();
        using var response = await browser.Host.PostVapiAsync(browser.Tenant, report);
        Assert.True(response.IsSuccessStatusCode, $"webhook {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return await browser.Host.WithDbAsync(browser.Tenant.Id, db => db.Calls.Where(c => c.ProviderCallId == vapiId).Select(c => c.Id).SingleAsync());
    }

    [Fact]
    public async Task CtrlKJumpsToPagesAndFindsCallsByNumberAndByName()
    {
        if (browser.Skip(output)) { return; }
        var call = await ReplayAsync("+15145550187", "Dégât d'eau chez Mme Zanetti, sous-sol inondé");
        await using var tab = await browser.OpenAsync();
        var page = tab.Page;
        await page.GotoAsync("/");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToBeVisibleAsync();
        var box = page.GetByRole(AriaRole.Combobox, new() { Name = "Go to a page, or find calls by number or name" });

        // A page, by keyboard only.
        await page.Keyboard.PressAsync("Control+k");
        await Expect(box).ToBeFocusedAsync();
        await box.FillAsync("analy");
        // The page comes first and is the active option; once the typing settles (200 ms) "Show all calls matching" follows
        // it, so the list is one or two options depending on when it is read.
        var analytics = page.GetByRole(AriaRole.Option).Filter(new() { HasText = "Analytics" });
        await Expect(analytics).ToHaveCountAsync(1);
        await Expect(page.GetByRole(AriaRole.Option).First).ToHaveTextAsync("Analytics");
        await Expect(box).ToHaveAttributeAsync("aria-activedescendant", await analytics.GetAttributeAsync("id") ?? "");
        await box.PressAsync("Enter");
        await Expect(page).ToHaveURLAsync(new Regex("/analytics$"));
        await Expect(box).ToBeHiddenAsync();

        // A call by a fragment of its number, typed as people write it.
        await page.Keyboard.PressAsync("Control+k");
        await box.FillAsync("555-0187");
        var byNumber = page.GetByRole(AriaRole.Option).Filter(new() { HasText = "+1 514-555-0187" });
        await Expect(byNumber).ToHaveCountAsync(1);
        await Expect(box).ToHaveAttributeAsync("aria-activedescendant", await byNumber.GetAttributeAsync("id") ?? "");
        await box.PressAsync("Enter");
        await Expect(page).ToHaveURLAsync(new Regex($"/calls/{call}$"));

        // A call by the caller's name (full-text search), and "all results" keeps the search in the Calls URL.
        await page.Keyboard.PressAsync("Control+k");
        await box.FillAsync("zanetti");
        await Expect(page.GetByRole(AriaRole.Option).Filter(new() { HasText = "+1 514-555-0187" })).ToHaveCountAsync(1);
        await page.GetByRole(AriaRole.Option).Filter(new() { HasText = "zanetti" }).Last.ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("/calls\\?q=zanetti$"));
        await Expect(page.GetByTestId("call-caller").Filter(new() { HasText = "+1 514-555-0187" })).ToHaveCountAsync(1);

        // Escape closes it; the header button opens it too.
        await page.GetByTestId("palette-open").ClickAsync();
        await Expect(box).ToBeVisibleAsync();
        await page.Keyboard.PressAsync("Escape");
        await Expect(box).ToBeHiddenAsync();
        await tab.AssertCleanAsync();
    }

    [Fact]
    public async Task CallsRowOnA375PixelPhoneInArabicShowsTheWholeNumberLeftToRight()
    {
        if (browser.Skip(output)) { return; }
        await ReplayAsync("+14385550142", "Chauffe-eau qui fuit");
        await using var tab = await browser.OpenAsync(locale: "ar", width: 375, height: 812);
        var page = tab.Page;
        await page.GotoAsync("/calls?number=4385550142");
        await Expect(page.Locator("html")).ToHaveAttributeAsync("dir", "rtl");
        var cell = page.GetByTestId("call-caller");
        await Expect(cell).ToHaveTextAsync(["+1 438-555-0142"]);
        var number = cell.Locator("bdi");
        await Expect(number).ToHaveAttributeAsync("dir", "ltr");
        Assert.Equal("ltr", await number.EvaluateAsync<string>("e => getComputedStyle(e).direction"));
        // Whole: not clipped by the cell (no ellipsis), and inside the screen.
        Assert.True(await cell.EvaluateAsync<bool>("e => e.scrollWidth <= e.clientWidth"), "the caller's number is truncated");
        var rect = await number.BoundingBoxAsync();
        Assert.NotNull(rect);
        Assert.True(rect.X >= 0 && rect.X + rect.Width <= 375, $"number at x={rect.X} w={rect.Width} is outside the 375 px screen");
        Assert.True(await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth - window.innerWidth") <= 0, "the page scrolls sideways");
        await tab.AssertCleanAsync();
    }

    [Fact]
    public async Task SidebarBackgroundCoversALongPage()
    {
        if (browser.Skip(output)) { return; }
        await using var tab = await browser.OpenAsync(width: 1280, height: 400);
        var page = tab.Page;
        await page.GotoAsync("/analytics");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToBeVisibleAsync();
        // The analytics are drawn (the figures, the per-day chart and, last, the ended reasons): the page has its full length.
        // Network idle is no such sign: under load the page can be idle for 500 ms before it asks for the analytics.
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Ended reasons", Level = 2 })).ToBeVisibleAsync(new() { Timeout = 15000 });
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Calls per day", Level = 2 })).ToBeVisibleAsync();
        await page.EvaluateAsync("() => window.scrollTo(0, document.documentElement.scrollHeight)");
        // Both heights in one evaluation, so the page cannot grow between them.
        var heights = await page.EvaluateAsync<double[]>(
            "() => [document.querySelector('[data-testid=sidebar-column]').getBoundingClientRect().height, document.documentElement.scrollHeight]");
        var (column, document) = (heights[0], heights[1]);
        Assert.True(document > 400, $"the page is not long enough to test ({document} px)");
        Assert.True(column >= document - 1, $"sidebar background is {column} px tall on a {document} px page");
        await Expect(page.GetByTestId("sidebar")).ToBeInViewportAsync();
        await tab.AssertCleanAsync();
    }

    /// <summary>
    /// The analytics are asked for once, in the tenant's time zone, even when the browser is in another zone and the studio
    /// settings (which hold the tenant's zone) answer after the page mounted. Before, the page asked in the browser's zone,
    /// drew those figures, then asked again in the tenant's and collapsed to "Loading…" in between: the page's length
    /// changed under the sidebar test above on a loaded machine, and the first figures were another zone's days.
    /// </summary>
    [Fact]
    public async Task AnalyticsAreFetchedOnceInTheTenantsTimeZone()
    {
        if (browser.Skip(output)) { return; }
        await using var tab = await browser.OpenAsync(timezoneId: "Asia/Tokyo");
        var page = tab.Page;
        var studio = await page.APIRequest.GetAsync("/api/v1/studio");
        Assert.True(studio.Ok, $"studio {studio.Status}");
        var tenantZone = (await studio.JsonAsync())!.Value.GetProperty("timeZone").GetString();
        Assert.False(string.IsNullOrEmpty(tenantZone));
        Assert.NotEqual("Asia/Tokyo", tenantZone);

        var asked = new List<string>();
        page.Request += (_, request) =>
        {
            if (request.Url.Contains("/api/v1/analytics", StringComparison.Ordinal))
            {
                lock (asked) { asked.Add(request.Url); }
            }
        };
        // The studio settings are held until the page has mounted, so a query that does not wait for them goes out first.
        var mounted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await page.RouteAsync("**/api/v1/studio", async route =>
        {
            await mounted.Task.WaitAsync(TimeSpan.FromSeconds(30));
            await route.ContinueAsync();
        });
        await page.GotoAsync("/analytics");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToBeVisibleAsync();
        mounted.SetResult();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Ended reasons", Level = 2 })).ToBeVisibleAsync(new() { Timeout = 15000 });

        string[] urls;
        lock (asked) { urls = [.. asked]; }
        Assert.Single(urls);
        var tz = System.Web.HttpUtility.ParseQueryString(new Uri(urls[0]).Query)["tz"];
        Assert.Equal(tenantZone, tz);
        await tab.AssertCleanAsync();
    }
}
