using Microsoft.Playwright;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace Switchboard.Tests.Browser;

/// <summary>Analytics for a business that has had no call yet: each panel says there is nothing, rather than an empty box.</summary>
[Collection("Browser")]
[Trait("Category", "Browser")]
public sealed class AnalyticsEmptyBrowserTests(BrowserFixture browser, ITestOutputHelper output)
{
    [Fact]
    public async Task ANewBusinessSeesWhyItsAnalyticsPanelsAreEmpty()
    {
        if (browser.Skip(output))
        {
            return;
        }
        await using var tab = await browser.OpenAsync(locale: "he-IL", width: 375, signIn: false);
        var signup = await tab.Context.APIRequest.PostAsync("/api/v1/auth/signup", new()
        {
            DataObject = new { email = $"new-{Guid.NewGuid():N}@example.test", password = BrowserFixture.Password, organisation = "Plomberie Neuve", fullName = "Noa Levi" },
        });
        Assert.True(signup.Status == 201, $"signup {signup.Status}: {await signup.TextAsync()}");
        var page = tab.Page;
        await page.GotoAsync("/analytics");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "התפלגות דחיפות" })).ToBeVisibleAsync();
        await Expect(page.GetByText("אין לידים עם דחיפות בתקופה זו.")).ToBeVisibleAsync();
        await Expect(page.GetByText("אין שיחות בתקופה זו.")).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Table)).ToHaveCountAsync(0);
        // The overview agrees: no call today is a count of 0 and an average of none ("—", as analytics shows it), not "0".
        await page.GotoAsync("/");
        await Expect(page.GetByText("משך ממוצע", new() { Exact = true }).Locator("xpath=..")).ToHaveTextAsync("משך ממוצע—");
        await Expect(page.GetByText("שיחות היום", new() { Exact = true }).Locator("xpath=..")).ToHaveTextAsync("שיחות היום0");
        await tab.AssertCleanAsync();
    }

    [Fact]
    public async Task ANewBusinessIsToldItHasNoCallsYetWhileAFilterThatMatchesNothingSaysSo()
    {
        if (browser.Skip(output))
        {
            return;
        }
        await using var tab = await browser.OpenAsync(locale: "en-CA", width: 375, signIn: false);
        var signup = await tab.Context.APIRequest.PostAsync("/api/v1/auth/signup", new()
        {
            DataObject = new { email = $"new-{Guid.NewGuid():N}@example.test", password = BrowserFixture.Password, organisation = "Plomberie Vide", fullName = "Léa Roy" },
        });
        Assert.True(signup.Status == 201, $"signup {signup.Status}: {await signup.TextAsync()}");
        var page = tab.Page;
        await page.GotoAsync("/");
        await Expect(page.GetByText("No calls yet.", new() { Exact = true })).ToBeVisibleAsync();
        await Expect(page.GetByText("No new emergency leads.", new() { Exact = true })).ToBeVisibleAsync();
        await Expect(page.GetByText("No calls match.")).ToHaveCountAsync(0);
        await page.GotoAsync("/calls");
        await Expect(page.GetByText("No calls yet.", new() { Exact = true })).ToBeVisibleAsync();
        await page.GotoAsync("/calls?urgency=emergency");
        await Expect(page.GetByText("No calls match.", new() { Exact = true })).ToBeVisibleAsync();
        await page.GotoAsync("/leads");
        await Expect(page.GetByText("No leads yet.", new() { Exact = true })).ToBeVisibleAsync();
        await page.GotoAsync("/leads?status=lost");
        await Expect(page.GetByText("No leads match.", new() { Exact = true })).ToBeVisibleAsync();
        await tab.AssertCleanAsync();
    }
}
