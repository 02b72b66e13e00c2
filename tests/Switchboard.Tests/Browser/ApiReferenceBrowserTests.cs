using Microsoft.Playwright;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace Switchboard.Tests.Browser;

/// <summary>
/// <c>/docs</c> (Scalar) in Debian's Chromium: the reference renders the host's operations from its own assets under the
/// page's strict policy, with every request kept on this host (anything else is aborted and fails the test).
/// </summary>
[Trait("Category", "Browser")]
public sealed class ApiReferenceBrowserTests(BrowserFixture browser, ITestOutputHelper output) : IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task TheReferenceRendersOfflineUnderItsPolicy()
    {
        if (browser.Skip(output))
        {
            return;
        }
        await using var tab = await browser.OpenAsync(signIn: false);
        var elsewhere = new List<string>();
        await tab.Context.RouteAsync("**/*", async route =>
        {
            if (route.Request.Url.StartsWith(browser.BaseUrl + "/", StringComparison.Ordinal))
            {
                await route.ContinueAsync();
                return;
            }
            lock (elsewhere) { elsewhere.Add(route.Request.Url); }
            await route.AbortAsync();
        });

        await tab.Context.AddInitScriptAsync(
            "window.__cspAt = []; document.addEventListener('securitypolicyviolation', e => window.__cspAt.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + new URL(e.sourceFile || location.href).pathname));");
        var response = await tab.Page.GotoAsync("/docs");
        Assert.NotNull(response);
        Assert.True(response.Ok, $"/docs answered {response.Status}");
        // An operation of the document, rendered by Scalar from /openapi/v1.json.
        await Expect(tab.Page.GetByRole(AriaRole.Link, new() { Name = "Calls", Exact = true })).ToBeVisibleAsync(new() { Timeout = 15000 });
        await Expect(tab.Page.GetByRole(AriaRole.Link, new() { Name = "Readiness: database reachable and migrated HTTP Method: GET" })).ToBeVisibleAsync();
        await Expect(tab.Page.GetByRole(AriaRole.Button, new() { Name = "Ask AI" })).ToHaveCountAsync(0);

        // The one tolerated report: Scalar's bundle includes Zod 4, which probes once for eval with `try { Function('') }`
        // and falls back to its interpreter when the policy refuses (the policy is kept without 'unsafe-eval' on purpose).
        var violations = await tab.Page.EvaluateAsync<string[]>("() => window.__cspAt");
        Assert.All(violations, v => Assert.Equal("script-src eval /docs/scalar.js", v));
        Assert.True(violations.Length <= 1, string.Join("; ", violations));
        lock (tab.Errors)
        {
            Assert.True(tab.Errors.Count == 0, string.Join("\n", tab.Errors));
        }
        lock (elsewhere)
        {
            Assert.True(elsewhere.Count == 0, "Requests to other hosts: " + string.Join(", ", elsewhere));
        }
    }
}
