using System.Text.Json;
using Microsoft.Playwright;
using Switchboard.Tests.Support;
using Xunit.Abstractions;

namespace Switchboard.Tests.Browser;

/// <summary>
/// One Debian Chromium (driven by Microsoft.Playwright, <c>SWITCHBOARD_CHROMIUM</c> overrides /usr/bin/chromium) and one
/// host serving the built dashboard, shared by the browser tests; each test opens its own context (cookies, locale,
/// viewport). Without Chromium or web/dist the suite is skipped and says so loudly.
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    public const string Password = "correct horse battery staple";

    /// <summary>
    /// How long (ms) an expectation waits for the page to reach a state, set for every browser suite at start-up. Playwright's
    /// own 5 s was reached by states that do come, on this 2-core machine under the whole suite's load (a browser, several
    /// hosts and their workers per core): a bound for a hung page, not a speed requirement.
    /// </summary>
    internal const float ExpectTimeoutMs = 15_000;

    private IPlaywright? playwright;

    internal DashboardFactory Host { get; } = new();
    internal IBrowser? Browser { get; private set; }
    internal string? SkipReason { get; private set; }

    /// <summary>
    /// True when the suite cannot run here (no Chromium, or web/dist not built: <see cref="SkipReason"/>), after writing why to
    /// the test's output; a test returns at once when it is. Otherwise false.
    /// </summary>
    internal bool Skip(ITestOutputHelper output)
    {
        if (SkipReason is null)
        {
            return false;
        }
        output.WriteLine("SKIPPED: " + SkipReason);
        return true;
    }
    internal TestTenant Tenant { get; private set; } = null!;
    internal string Email { get; private set; } = "";
    internal string BaseUrl { get; private set; } = "";

    internal static string ChromiumPath => Environment.GetEnvironmentVariable("SWITCHBOARD_CHROMIUM") is { Length: > 0 } p ? p : "/usr/bin/chromium";

    public async Task InitializeAsync()
    {
        if (!File.Exists(ChromiumPath))
        {
            SkipReason = $"Chromium not found at {ChromiumPath} (apt-get install chromium fonts-noto-core)";
        }
        else if (!File.Exists(Path.Combine(DashboardFactory.DistPath, "index.html")))
        {
            SkipReason = "web/dist is not built (run ./test.sh or npm run --prefix web build)";
        }
        if (SkipReason is not null)
        {
            Console.Error.WriteLine($"!!!!!!!! Browser suite SKIPPED: {SkipReason} !!!!!!!!");
            return;
        }
        BaseUrl = Host.ServerUri.ToString().TrimEnd('/');
        Tenant = await Host.CreateTenantAsync(withTwilio: true);
        Email = await Host.AddOwnerAsync(Tenant.Id, Password);
        Assertions.SetDefaultExpectTimeout(ExpectTimeoutMs);
        playwright = await Playwright.CreateAsync();
        Browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = ChromiumPath, Headless = true });
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }
        playwright?.Dispose();
        Host.Dispose();
    }

    /// <summary>
    /// A fresh context and page; signed in through the API (sharing the context's cookie jar) unless <paramref name="signIn"/>
    /// is false. Console errors, page errors and CSP violations are collected into the returned <see cref="Tab"/>.
    /// </summary>
    internal async Task<Tab> OpenAsync(string locale = "en-CA", int width = 1280, int height = 900, bool signIn = true, bool dark = false, bool axe = false,
        string? timezoneId = null)
    {
        var context = await Browser!.NewContextAsync(new()
        {
            BaseURL = BaseUrl,
            Locale = locale,
            TimezoneId = timezoneId,
            ViewportSize = new ViewportSize { Width = width, Height = height },
            ColorScheme = dark ? ColorScheme.Dark : ColorScheme.Light,
            AcceptDownloads = true,
        });
        // Collect CSP violations from the page itself (Chromium also logs them as console errors).
        await context.AddInitScriptAsync(
            "window.__csp = []; document.addEventListener('securitypolicyviolation', e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));" +
            "window.__seen = {}; window.__arm = (text) => { const check = () => { if (!window.__seen[text] && document.body && document.body.innerText.includes(text)) { window.__seen[text] = Date.now(); } };" +
            " const o = new MutationObserver(check); o.observe(document, { subtree: true, childList: true, characterData: true }); check(); };");
        if (axe)
        {
            // Init scripts are evaluated by the browser, outside the page's CSP, so the dashboard's script-src stays strict.
            await context.AddInitScriptAsync(await File.ReadAllTextAsync(Path.Combine(Fixtures.RepositoryRoot, "web", "node_modules", "axe-core", "axe.min.js")));
        }
        var page = await context.NewPageAsync();
        var tab = new Tab(context, page);
        if (signIn)
        {
            var response = await context.APIRequest.PostAsync("/api/v1/auth/login", new() { DataObject = new { email = Email, password = Password } });
            Assert.True(response.Ok, $"login {response.Status}: {await response.TextAsync()}");
        }
        return tab;
    }
}

/// <summary>A browser context with one page and what went wrong on it.</summary>
internal sealed class Tab : IAsyncDisposable
{
    public Tab(IBrowserContext context, IPage page)
    {
        Context = context;
        Page = page;
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                lock (Errors) { Errors.Add($"console: {message.Text} ({message.Location})"); }
            }
        };
        page.PageError += (_, error) => { lock (Errors) { Errors.Add($"page error: {error}"); } };
    }

    public IBrowserContext Context { get; }
    public IPage Page { get; }
    public List<string> Errors { get; } = [];

    /// <summary>Fails when the page logged an error or the browser reported a CSP violation.</summary>
    public async Task AssertCleanAsync()
    {
        var csp = await Page.EvaluateAsync<string[]>("() => window.__csp || []");
        List<string> errors;
        lock (Errors) { errors = [.. Errors]; }
        Assert.True(csp.Length == 0 && errors.Count == 0, "CSP violations: " + string.Join("; ", csp) + "\nconsole errors: " + string.Join("\n", errors));
    }

    /// <summary>Runs axe-core (injected with <c>axe: true</c>) and returns serious and critical violations.</summary>
    public async Task<string[]> SeriousAxeViolationsAsync()
    {
        var json = await Page.EvaluateAsync<JsonElement>(
            "async () => { const r = await axe.run(document, { resultTypes: ['violations'] }); " +
            "return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical').map(v => v.id + ' (' + v.impact + '): ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | ')); }");
        return [.. json.EnumerateArray().Select(e => e.GetString()!)];
    }

    public async ValueTask DisposeAsync() => await Context.DisposeAsync();
}

[CollectionDefinition("Browser")]
public sealed class BrowserCollection : ICollectionFixture<BrowserFixture>;
