using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace Switchboard.Tests.Browser;

/// <summary>
/// The dashboard while the server cannot be reached (stopped, network down): every request is refused at the network
/// level, as Chromium does for a closed port. The page says so in the user's language, never "Failed to fetch" or the
/// router's English "Something went wrong!", and recovers with "Try again" once the server answers.
/// </summary>
[Collection("Browser")]
[Trait("Category", "Browser")]
public sealed class ServerUnreachableBrowserTests(BrowserFixture browser, ITestOutputHelper output)
{
    private const string ArabicUnreachable = "تعذّر الوصول إلى Switchboard";


    [Fact]
    public async Task APageOpenedWhileTheServerIsDownSaysSoInArabicAndTryAgainRecovers()
    {
        if (browser.Skip(output)) { return; }
        await using var tab = await browser.OpenAsync(locale: "ar");
        var page = tab.Page;
        await page.GotoAsync("/calls");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "المكالمات", Exact = true })).ToBeVisibleAsync();

        await tab.Context.RouteAsync("**/api/**", route => route.AbortAsync("connectionrefused"));
        var alert = page.GetByRole(AriaRole.Alert);
        // A list that could not be loaded is not an empty one: no "no call in progress" next to the outage.
        await page.GetByRole(AriaRole.Link, new() { Name = "مباشر" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "المكالمات المباشرة" })).ToBeVisibleAsync();
        await Expect(alert).ToContainTextAsync(ArabicUnreachable, new() { Timeout = 15000 });
        await Expect(page.GetByText("لا توجد مكالمات جارية الآن.")).ToHaveCountAsync(0);
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "لا مكالمات جارية" })).ToHaveCountAsync(0);

        await page.GetByRole(AriaRole.Link, new() { Name = "سجل الرسائل" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "سجل الرسائل" })).ToBeVisibleAsync();
        await Expect(alert).ToContainTextAsync(ArabicUnreachable, new() { Timeout = 15000 });
        await Expect(alert).Not.ToContainTextAsync("fetch");
        await Expect(page.GetByText("لا توجد رسائل بعد.")).ToHaveCountAsync(0);

        // A reload while the server is down: the session check fails before any page renders.
        await page.ReloadAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "حدث خطأ ما" })).ToBeVisibleAsync(new() { Timeout = 15000 });
        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync(ArabicUnreachable);
        await Expect(page.Locator("html")).ToHaveAttributeAsync("dir", "rtl");

        await tab.Context.UnrouteAllAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "أعد المحاولة" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "سجل الرسائل" })).ToBeVisibleAsync();
        await Expect(page).ToHaveURLAsync(new Regex("/sms$"));
        // What the refused requests logged (Chromium's failed resources, React's note of the error it caught) is the
        // outage itself; anything else, and any CSP violation, still fails.
        lock (tab.Errors) { tab.Errors.RemoveAll(e => e.Contains("ERR_CONNECTION_REFUSED", StringComparison.Ordinal) || e.Contains("TypeError: Failed to fetch", StringComparison.Ordinal)); }
        await tab.AssertCleanAsync();
    }
}
