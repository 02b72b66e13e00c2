using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;
using Switchboard.Tests.Support;
using Switchboard.Tests.Widget;

namespace Switchboard.Tests.Browser;

/// <summary>
/// The host on a real Kestrel listener (127.0.0.1, any port) serving the built widget from <c>widget/dist</c>, plus a
/// "customer site" on another 127.0.0.1 port (another origin) whose pages have a strict CSP and hostile CSS and embed the
/// snippet; one Debian Chromium (<c>SWITCHBOARD_CHROMIUM</c> overrides /usr/bin/chromium). Without Chromium or the built
/// widget the tests are skipped, loudly.
/// </summary>
public sealed class WidgetBrowserFixture : IAsyncLifetime
{
    private IPlaywright? playwright;
    private WebApplication? site;

    internal WidgetKestrelFactory Host { get; } = new();
    internal IBrowser? Browser { get; private set; }
    internal string? SkipReason { get; private set; }
    internal WidgetTenant Tenant { get; private set; } = null!;
    internal string HostUrl { get; private set; } = "";
    internal string SiteUrl { get; private set; } = "";

    internal static string ChromiumPath => Environment.GetEnvironmentVariable("SWITCHBOARD_CHROMIUM") is { Length: > 0 } p ? p : "/usr/bin/chromium";
    internal static string WidgetJs => Path.Combine(Fixtures.RepositoryRoot, "widget", "dist", "widget.js");

    public async Task InitializeAsync()
    {
        SkipReason = !File.Exists(ChromiumPath) ? $"Chromium not found at {ChromiumPath} (apt-get install -y chromium fonts-noto-core)"
            : !File.Exists(WidgetJs) ? "widget/dist/widget.js is not built (run ./test.sh or npm run --prefix widget build)" : null;
        if (SkipReason is not null)
        {
            Console.Error.WriteLine($"!!!!!!!! Widget browser suite SKIPPED: {SkipReason} !!!!!!!!");
            return;
        }
        HostUrl = Host.ServerUri.ToString().TrimEnd('/');

        // The customer's site: another origin (port), a strict CSP naming the Switchboard host, CSS that attacks buttons.
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        site = builder.Build();
        // ?tall=1: a page longer than the screen, to scroll.
        site.MapGet("/{lang}", (string lang, HttpContext http, string? key, string? tall) =>
        {
            http.Response.Headers.ContentSecurityPolicy =
                $"default-src 'self'; script-src 'self' {HostUrl}; connect-src 'self' {HostUrl}; style-src 'self'; img-src 'self'";
            var dir = lang is "ar" or "he" ? " dir=\"rtl\"" : "";
            return Results.Content($$"""
                <!doctype html><html lang="{{lang}}"{{dir}}><head><meta charset="utf-8"><title>Plomberie</title>
                <link rel="stylesheet" href="/hostile.css">
                </head><body><h1>Plomberie Fortin</h1><button type="button">Bouton du site</button>{{(tall is null ? "" : "<section class=\"tall\">Nos services</section>")}}
                <script src="{{HostUrl}}/widget.js" data-key="{{WebUtility.HtmlEncode(key ?? Tenant.Key)}}" async></script></body></html>
                """, "text/html; charset=utf-8");
        });
        site.MapGet("/hostile.css", () => Results.Text(
            "button{background:red!important;font-size:40px!important;padding:50px!important} *{font-family:serif!important} div{display:inline!important}" +
            " switchboard-widget{opacity:.2} .launcher,.panel,.msg{color:lime!important} .tall{display:block;block-size:4000px}", "text/css"));
        await site.StartAsync();
        SiteUrl = site.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().TrimEnd('/');

        Tenant = await WidgetTenantAllowingSiteAsync("Drain Fortin", "https://www.drainfortin.example");

        Assertions.SetDefaultExpectTimeout(BrowserFixture.ExpectTimeoutMs);
        playwright = await Playwright.CreateAsync();
        Browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = ChromiumPath, Headless = true });
    }

    /// <summary>
    /// A tenant of its own named <paramref name="name"/> (a test that counts conversations counts only its own) whose widget
    /// is allowed on the customer site, and on <paramref name="moreOrigins"/>. The site's local http origin is allowed the
    /// Development way, through <c>PUT /api/v1/widget/origins</c> as a developer would, which must answer 200.
    /// </summary>
    internal async Task<WidgetTenant> WidgetTenantAllowingSiteAsync(string name, params string[] moreOrigins)
    {
        var tenant = await Host.CreateWidgetTenantAsync(name);
        using var origins = await Host.ApiClient(tenant.Tenant).PutAsJsonAsync("/api/v1/widget/origins", new { origins = new[] { SiteUrl }.Concat(moreOrigins).ToArray() });
        Assert.Equal(HttpStatusCode.OK, origins.StatusCode);
        return tenant;
    }

    /// <summary>A fresh context and page (<paramref name="width"/> × <paramref name="height"/> CSS px) that record console errors and CSP violations (<c>window.__csp</c>) and the widget's DOM events (<c>window.__events</c>).</summary>
    internal async Task<(IPage Page, List<string> Errors)> OpenAsync(string locale = "fr-CA", int width = 1280, int height = 800)
    {
        var context = await Browser!.NewContextAsync(new() { Locale = locale, ViewportSize = new ViewportSize { Width = width, Height = height } });
        await context.AddInitScriptAsync(
            "window.__csp = []; document.addEventListener('securitypolicyviolation', e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));" +
            "window.__events = []; for (const n of ['ready','message','lead','error']) document.addEventListener('switchboard:' + n, e => window.__events.push(n));");
        var page = await context.NewPageAsync();
        var errors = new List<string>();
        page.Console += (_, m) => { if (m.Type == "error") { errors.Add(m.Text); } };
        page.PageError += (_, e) => errors.Add(e);
        return (page, errors);
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }
        playwright?.Dispose();
        if (site is not null)
        {
            await site.DisposeAsync();
        }
        Host.Dispose();
    }
}

/// <summary>The widget test host on a real Kestrel listener (the browser needs a socket).</summary>
public sealed class WidgetKestrelFactory : WidgetFactory
{
    public WidgetKestrelFactory() => UseKestrel(o => o.Listen(IPAddress.Loopback, 0));

    protected override IDictionary<string, string?> MoreSettings => new Dictionary<string, string?>
    {
        ["Switchboard:Web:WidgetPath"] = Path.GetDirectoryName(WidgetBrowserFixture.WidgetJs),
    };

    internal Uri ServerUri
    {
        get
        {
            StartServer();
            return new Uri(Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        }
    }
}

[Trait("Category", "Browser")]
public sealed class WidgetBrowserTests(WidgetBrowserFixture fx) : IClassFixture<WidgetBrowserFixture>
{
    private bool Skipped => fx.SkipReason is not null;

    [Fact]
    public async Task AFrenchVisitorOnAStrictCspSiteReportsAFloodedBasementAndTheOnCallPlumberIsTexted()
    {
        if (Skipped)
        {
            return;
        }
        var (page, errors) = await fx.OpenAsync();
        await page.GotoAsync(fx.SiteUrl + "/fr");
        var launcher = page.GetByRole(AriaRole.Button, new() { Name = "Écrivez-nous" });
        await Assertions.Expect(launcher).ToBeVisibleAsync();

        // The host page's hostile CSS reaches its own button, not the widget's.
        Assert.Equal("rgb(255, 0, 0)", await page.GetByRole(AriaRole.Button, new() { Name = "Bouton du site" }).EvaluateAsync<string>("e => getComputedStyle(e).backgroundColor"));
        Assert.Equal("rgb(37, 99, 235)", await launcher.EvaluateAsync<string>("e => getComputedStyle(e).backgroundColor"));
        Assert.Equal("14px", await launcher.EvaluateAsync<string>("e => getComputedStyle(e).fontSize"));

        await launcher.ClickAsync();
        await Assertions.Expect(launcher).ToHaveAttributeAsync("aria-expanded", "true");
        // Nor does its rule on the widget's own element (opacity .2): the open chat showed the page's text through it.
        Assert.Equal("1", await page.EvaluateAsync<string>("() => getComputedStyle(document.querySelector('switchboard-widget')).opacity"));
        // The page can still hide it the standard way (the hidden attribute), and show it again.
        await page.EvaluateAsync("() => { document.querySelector('switchboard-widget').hidden = true; }");
        await Assertions.Expect(launcher).ToBeHiddenAsync();
        await page.EvaluateAsync("() => { document.querySelector('switchboard-widget').hidden = false; }");
        await Assertions.Expect(launcher).ToBeVisibleAsync();
        var box = page.GetByRole(AriaRole.Textbox, new() { Name = "Écrivez un message…" });
        await box.FillAsync("Bonjour, mon sous-sol est inondé, il y a de l'eau partout! Rappelez-moi au 514 555 0142");
        await box.PressAsync("Enter");
        await Assertions.Expect(page.GetByText("le technicien de garde est prévenu", new() { Exact = false })).ToBeVisibleAsync(new() { Timeout = 15000 });
        await box.FillAsync("Marie Tremblay");
        await box.PressAsync("Enter");
        await Assertions.Expect(page.GetByText("Quelle est l'adresse des travaux ?", new() { Exact = false })).ToBeVisibleAsync();

        // The API shows the web conversation with its emergency lead, and one SMS to the on-call number.
        var api = fx.Host.ApiClient(fx.Tenant.Tenant);
        var calls = (await api.GetFromJsonAsync<JsonObject>("/api/v1/calls"))!["items"]!.AsArray();
        var web = Assert.Single(calls, c => c!["channel"]!.GetValue<string>() == "web")!;
        Assert.Equal("emergency", web["urgency"]!.GetValue<string>());
        var detail = (await api.GetFromJsonAsync<JsonObject>($"/api/v1/calls/{web["id"]}"))!;
        Assert.Equal("Marie Tremblay", detail["lead"]!["name"]!.GetValue<string>());
        Assert.Equal("+15145550142", detail["lead"]!["phone"]!.GetValue<string>());
        var sms = (await api.GetFromJsonAsync<JsonObject>("/api/v1/sms"))!["items"]!.AsArray().Where(s => s!["callId"]?.GetValue<string>() == web["id"]!.GetValue<string>()).ToList();
        Assert.Equal("+15145550111", Assert.Single(sms)!["to"]!.GetValue<string>());

        Assert.Contains("lead", await page.EvaluateAsync<string[]>("() => window.__events"));
        Assert.Empty(await page.EvaluateAsync<string[]>("() => window.__csp"));

        // Navigation keeps the conversation (sessionStorage, resumed server-side).
        await page.ReloadAsync();
        await Assertions.Expect(page.GetByText("Marie Tremblay")).ToBeVisibleAsync();

        Assert.Empty(await page.EvaluateAsync<string[]>("() => window.__csp"));
        Assert.Empty(errors);
    }

    [Fact]
    public async Task TheWidgetStaysSilentOnAnOriginThatIsNotAllowed()
    {
        if (Skipped)
        {
            return;
        }
        var other = await fx.Host.CreateWidgetTenantAsync("Autre Plombier", "https://other.example");
        var (page, errors) = await fx.OpenAsync();
        var configRequests = 0;
        page.Request += (_, r) => { if (r.Url.Contains("/widget/v1/", StringComparison.Ordinal)) { Interlocked.Increment(ref configRequests); } };
        var warnings = new List<string>();
        page.Console += (_, m) => { if (m.Type == "warning") { lock (warnings) { warnings.Add(m.Text); } } };
        await page.AddInitScriptAsync("document.addEventListener('switchboard:error', e => { window.__refusal ??= e.detail; })");
        await page.GotoAsync(fx.SiteUrl + "/fr?key=" + Uri.EscapeDataString(other.Key));
        // The refusal is read at the first answer (it carries CORS): a final error code, not "unavailable, retrying" (which
        // took 7 requests over two minutes when the 403 came without CORS and looked like a network failure).
        var refusal = await page.WaitForFunctionAsync("() => window.__refusal");
        Assert.Equal("ORIGIN_NOT_ALLOWED", await refusal.EvaluateAsync<string>("d => d.code"));
        Assert.False(await refusal.EvaluateAsync<bool>("d => 'retrying' in d"));
        Assert.Equal(1, configRequests);
        Assert.Equal(fx.SiteUrl + " is not one of this widget's allowed origins; add it on the dashboard's Widget page.",
            Assert.Single(warnings).Replace("Switchboard widget: ", "", StringComparison.Ordinal));
        // Chromium's own line for the 403 (any refused fetch gets one), and no "blocked by CORS policy" line.
        Assert.StartsWith("Failed to load resource: the server responded with a status of 403", Assert.Single(errors), StringComparison.Ordinal);
        Assert.Equal(0, await page.Locator("switchboard-widget").CountAsync());
        Assert.Equal(0, await page.GetByRole(AriaRole.Button, new() { Name = "Écrivez-nous" }).CountAsync());
        Assert.Equal(0, await fx.Host.WithDbAsync(other.Id, db => Task.FromResult(db.WebConversations.Count())));
    }

    [Fact]
    public async Task ArabicIsRightToLeftWithTheLauncherOnTheLeft()
    {
        if (Skipped)
        {
            return;
        }
        var (page, errors) = await fx.OpenAsync("ar");
        await page.GotoAsync(fx.SiteUrl + "/ar");
        var launcher = page.GetByRole(AriaRole.Button, new() { Name = "تحدث معنا" });
        await Assertions.Expect(launcher).ToBeVisibleAsync();
        var bounds = (await launcher.BoundingBoxAsync())!;
        Assert.True(bounds.X < 640 / 2, $"launcher at x={bounds.X}");
        await launcher.ClickAsync();
        var dialog = page.GetByRole(AriaRole.Dialog);
        await Assertions.Expect(dialog).ToBeVisibleAsync();
        Assert.Equal("rtl", await dialog.EvaluateAsync<string>("e => getComputedStyle(e).direction"));
        await Assertions.Expect(page.GetByText("مرحبا! كيف يمكننا مساعدتك؟")).ToBeVisibleAsync();
        await page.Keyboard.PressAsync("Escape");
        await Assertions.Expect(dialog).ToBeHiddenAsync();
        Assert.Empty(errors);
    }

    [Fact]
    public async Task AFrenchMessageOnAnArabicPageReadsLeftToRight()
    {
        if (Skipped)
        {
            return;
        }
        var tenant = await fx.WidgetTenantAllowingSiteAsync("Plomberie Bidi");
        var (page, errors) = await fx.OpenAsync("ar");
        await page.GotoAsync(fx.SiteUrl + "/ar?key=" + Uri.EscapeDataString(tenant.Key));
        await page.GetByRole(AriaRole.Button, new() { Name = "تحدث معنا" }).ClickAsync();
        var box = page.GetByRole(AriaRole.Textbox, new() { Name = "اكتب رسالة…" });
        await box.FillAsync("Bonjour, êtes-vous ouverts demain ?");
        Assert.Equal("ltr", await box.EvaluateAsync<string>("e => getComputedStyle(e).direction")); // typed as it will be sent
        await box.PressAsync("Enter");
        // The panel stays right to left, but a French line keeps its "?" at its end instead of the start of the bubble.
        var mine = page.GetByText("Bonjour, êtes-vous ouverts demain ?");
        await Assertions.Expect(mine).ToBeVisibleAsync();
        Assert.Equal("ltr", await mine.EvaluateAsync<string>("e => getComputedStyle(e).direction"));
        Assert.Equal("rtl", await box.EvaluateAsync<string>("e => getComputedStyle(e).direction")); // empty again: its placeholder is Arabic
        Assert.Equal("rtl", await page.GetByRole(AriaRole.Dialog).EvaluateAsync<string>("e => getComputedStyle(e).direction"));
        Assert.Equal("rtl", await page.GetByText("مرحبا! كيف يمكننا مساعدتك؟").EvaluateAsync<string>("e => getComputedStyle(e).direction"));
        Assert.Empty(errors);
    }

    [Fact]
    public async Task AMessageTheNetworkDroppedStaysInTheBoxAndACutAnswerIsSaidToBeInterrupted()
    {
        if (Skipped)
        {
            return;
        }
        // A tenant of its own: the other tests count this fixture tenant's web conversations.
        var tenant = await fx.WidgetTenantAllowingSiteAsync("Drain Lapointe");
        var (page, _) = await fx.OpenAsync();
        await page.GotoAsync(fx.SiteUrl + "/fr?key=" + Uri.EscapeDataString(tenant.Key));
        await page.GetByRole(AriaRole.Button, new() { Name = "Écrivez-nous" }).ClickAsync();
        var box = page.GetByRole(AriaRole.Textbox, new() { Name = "Écrivez un message…" });
        var answers = page.Locator("switchboard-widget .msg.assistant");
        await Assertions.Expect(answers).ToHaveCountAsync(1); // the greeting

        // Offline: the message gets no answer, so it is kept in the box to send again instead of being lost.
        await page.RouteAsync("**/widget/v1/conversations**", route => route.AbortAsync("internetdisconnected"));
        await box.FillAsync("Mon sous-sol est inondé");
        await box.PressAsync("Enter");
        await Assertions.Expect(page.GetByText("Désolé, le message n’a pas pu être envoyé. Réessayez.")).ToBeVisibleAsync();
        await Assertions.Expect(box).ToHaveValueAsync("Mon sous-sol est inondé");
        await page.UnrouteAllAsync();

        // Back online: the same text goes through; then the answer's stream closes before its "done" event (a dropped
        // connection, a restarted server): the part shown is said to be incomplete.
        await box.PressAsync("Enter");
        await Assertions.Expect(answers).ToHaveCountAsync(2, new() { Timeout = 15000 });
        await Assertions.Expect(box).ToHaveValueAsync("");
        // The answer's bubble shows with its first words, but the widget takes the next message only once the answer has
        // ended (its "done" comes after the server stores the turn): Send is disabled until then. Typed earlier, on a loaded
        // machine, the next Enter was rightly ignored and the message below stayed in the box.
        await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Envoyer" })).ToBeEnabledAsync(new() { Timeout = 15000 });
        await page.RouteAsync("**/messages?**", route => route.FulfillAsync(new()
        {
            Status = 200,
            Headers = new Dictionary<string, string> { ["Content-Type"] = "text/event-stream", ["Access-Control-Allow-Origin"] = fx.SiteUrl },
            Body = "event: delta\ndata: {\"text\":\"Quelle est l'adr\"}\n\n",
        }));
        await box.FillAsync("Marie Tremblay");
        await box.PressAsync("Enter");
        await Assertions.Expect(page.GetByText("Quelle est l'adr", new() { Exact = true })).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByText("La réponse a été interrompue. Envoyez votre message de nouveau.")).ToBeVisibleAsync();
    }

    /// <summary>
    /// The open chat is walked with Tab in reading order (an outside probe: the launcher came first, so Tab went from it to
    /// Close, the transcript was skipped, and Tab from Talk left for the page): Close, the transcript, the input, Send and
    /// Talk, then the launcher. A non-modal dialog (WAI-ARIA APG, "Dialog (Modal)" vs non-modal): no trap, Escape closes it
    /// and gives focus back to the launcher.
    /// </summary>
    [Fact]
    public async Task TheOpenChatsTabOrderRunsFromCloseThroughTheTranscriptToTalk()
    {
        if (Skipped)
        {
            return;
        }
        var tenant = await fx.WidgetTenantAllowingSiteAsync("Drain Clavier");
        var (page, errors) = await fx.OpenAsync();
        await page.GotoAsync(fx.SiteUrl + "/fr?key=" + Uri.EscapeDataString(tenant.Key));
        var launcher = page.GetByRole(AriaRole.Button, new() { Name = "Écrivez-nous" });
        await launcher.ClickAsync();
        var dialog = page.GetByRole(AriaRole.Dialog, new() { Name = "Drain Clavier" });
        var close = dialog.GetByRole(AriaRole.Button, new() { Name = "Fermer la conversation" });
        var transcript = dialog.GetByRole(AriaRole.Log, new() { Name = "Messages" });
        var box = dialog.GetByRole(AriaRole.Textbox, new() { Name = "Écrivez un message…" });
        var send = dialog.GetByRole(AriaRole.Button, new() { Name = "Envoyer" });
        var talk = dialog.GetByRole(AriaRole.Button, new() { Name = "Parlez-nous" });
        await Assertions.Expect(box).ToBeFocusedAsync(); // opening puts the visitor in the box

        // Backwards from the box: the transcript, then the header's Close, then out to the page before the chat.
        await page.Keyboard.PressAsync("Shift+Tab");
        await Assertions.Expect(transcript).ToBeFocusedAsync();
        await page.Keyboard.PressAsync("Shift+Tab");
        await Assertions.Expect(close).ToBeFocusedAsync();
        // Forwards from Close, in reading order, and from Talk to the chat's own launcher rather than away from the chat.
        foreach (var next in new[] { transcript, box, send, talk, launcher })
        {
            await page.Keyboard.PressAsync("Tab");
            await Assertions.Expect(next).ToBeFocusedAsync();
        }

        // Escape (from anywhere in the chat) closes it and gives focus back to the launcher.
        await box.FocusAsync();
        await page.Keyboard.PressAsync("Escape");
        await Assertions.Expect(dialog).ToBeHiddenAsync();
        await Assertions.Expect(launcher).ToBeFocusedAsync();
        await Assertions.Expect(launcher).ToHaveAttributeAsync("aria-expanded", "false");
        Assert.Empty(errors);
    }

    /// <summary>
    /// On a 375 px phone the open chat fills the screen, so it is a modal dialog there (as Chatwoot's and Intercom's are on
    /// phones): its launcher, under the chat, leaves the Tab order (Tab from Talk went to it, a focus nobody could see), Tab
    /// goes round the chat's own controls, and Escape or Close gives focus back to the launcher, shown again.
    /// </summary>
    [Fact]
    public async Task OnAPhoneTheOpenChatKeepsTabInsideItAndItsLauncherOutOfReach()
    {
        if (Skipped)
        {
            return;
        }
        var tenant = await fx.WidgetTenantAllowingSiteAsync("Drain Mobile");
        var (page, errors) = await fx.OpenAsync(width: 375, height: 667);
        await page.GotoAsync(fx.SiteUrl + "/fr?key=" + Uri.EscapeDataString(tenant.Key));
        var launcher = page.GetByRole(AriaRole.Button, new() { Name = "Écrivez-nous" });
        await launcher.ClickAsync();
        var dialog = page.GetByRole(AriaRole.Dialog, new() { Name = "Drain Mobile" });
        var close = dialog.GetByRole(AriaRole.Button, new() { Name = "Fermer la conversation" });
        var transcript = dialog.GetByRole(AriaRole.Log, new() { Name = "Messages" });
        var box = dialog.GetByRole(AriaRole.Textbox, new() { Name = "Écrivez un message…" });
        var send = dialog.GetByRole(AriaRole.Button, new() { Name = "Envoyer" });
        var talk = dialog.GetByRole(AriaRole.Button, new() { Name = "Parlez-nous" });
        await Assertions.Expect(box).ToBeFocusedAsync();
        await Assertions.Expect(dialog).ToHaveAttributeAsync("aria-modal", "true");
        await Assertions.Expect(launcher).ToBeHiddenAsync();

        // Forwards past Talk round to Close, never to the launcher nor to the page under the chat; and back again.
        foreach (var next in new[] { send, talk, close, transcript, box })
        {
            await page.Keyboard.PressAsync("Tab");
            await Assertions.Expect(next).ToBeFocusedAsync();
        }
        await close.FocusAsync();
        await page.Keyboard.PressAsync("Shift+Tab");
        await Assertions.Expect(talk).ToBeFocusedAsync();

        await page.Keyboard.PressAsync("Escape");
        await Assertions.Expect(dialog).ToBeHiddenAsync();
        await Assertions.Expect(launcher).ToBeVisibleAsync();
        await Assertions.Expect(launcher).ToBeFocusedAsync();

        await launcher.PressAsync("Enter");
        await Assertions.Expect(box).ToBeFocusedAsync();
        await close.ClickAsync();
        await Assertions.Expect(dialog).ToBeHiddenAsync();
        await Assertions.Expect(launcher).ToBeFocusedAsync();
        Assert.Empty(errors);
    }

    /// <summary>
    /// On a phone the open chat is a full-screen modal: the page under it does not scroll (an outside look at 375 px: a
    /// wheel or a swipe over the chat scrolled the page behind it), and on close the page is as it was: the same scroll
    /// position, its own inline <c>overflow</c> style, nothing moved sideways. Wider, beside the page, the chat locks nothing.
    /// </summary>
    [Fact]
    public async Task OnAPhoneTheOpenChatLocksThePageScrollAndGivesItBackAsItWas()
    {
        if (Skipped)
        {
            return;
        }
        var tenant = await fx.WidgetTenantAllowingSiteAsync("Drain Défilement");
        var (page, errors) = await fx.OpenAsync(width: 375, height: 667);
        await page.GotoAsync(fx.SiteUrl + "/fr?tall=1&key=" + Uri.EscapeDataString(tenant.Key));
        var launcher = page.GetByRole(AriaRole.Button, new() { Name = "Écrivez-nous" });
        await Assertions.Expect(launcher).ToBeVisibleAsync();
        // The page's own inline style on its root, and a place in it.
        await page.EvaluateAsync("() => { document.documentElement.style.setProperty('overflow-y', 'auto'); window.scrollTo(0, 400);" +
            " window.__wheels = 0; addEventListener('wheel', () => window.__wheels++, { passive: true }); }");
        const string Layout = "() => [document.documentElement.clientWidth, Math.round(document.querySelector('h1').getBoundingClientRect().left)].join(' ')";
        var layout = await page.EvaluateAsync<string>(Layout);
        Assert.Equal(400, await page.EvaluateAsync<int>("() => scrollY"));

        await launcher.ClickAsync();
        var dialog = page.GetByRole(AriaRole.Dialog, new() { Name = "Drain Défilement" });
        await Assertions.Expect(dialog).ToHaveAttributeAsync("aria-modal", "true");
        Assert.Equal("hidden", await page.EvaluateAsync<string>("() => getComputedStyle(document.documentElement).overflowY"));
        Assert.Equal(layout, await page.EvaluateAsync<string>(Layout));
        // A wheel over the chat (its transcript is short: nothing of its own to scroll) reaches the page, which stays put:
        // the wheel seen, then ten frames, where an unlocked page has started scrolling (checked below, after close).
        await page.Mouse.MoveAsync(187, 300);
        await page.Mouse.WheelAsync(0, 600);
        await page.WaitForFunctionAsync("() => window.__wheels > 0");
        await page.EvaluateAsync("() => new Promise(done => { let n = 10; const step = () => (--n ? requestAnimationFrame(step) : done()); requestAnimationFrame(step); })");
        Assert.Equal(400, await page.EvaluateAsync<int>("() => scrollY"));

        await dialog.GetByRole(AriaRole.Button, new() { Name = "Fermer la conversation" }).ClickAsync();
        await Assertions.Expect(dialog).ToBeHiddenAsync();
        Assert.Equal("overflow-y: auto;", await page.EvaluateAsync<string>("() => document.documentElement.getAttribute('style')"));
        Assert.Equal(400, await page.EvaluateAsync<int>("() => scrollY"));
        Assert.Equal(layout, await page.EvaluateAsync<string>(Layout));
        await page.Mouse.WheelAsync(0, 600);
        await page.WaitForFunctionAsync("() => scrollY > 400");

        // Beside the page (1280 px), the open chat is not modal and the page keeps scrolling.
        var (wide, wideErrors) = await fx.OpenAsync(width: 1280, height: 800);
        await wide.GotoAsync(fx.SiteUrl + "/fr?tall=1&key=" + Uri.EscapeDataString(tenant.Key));
        await wide.GetByRole(AriaRole.Button, new() { Name = "Écrivez-nous" }).ClickAsync();
        var wideDialog = wide.GetByRole(AriaRole.Dialog, new() { Name = "Drain Défilement" });
        await Assertions.Expect(wideDialog).ToBeVisibleAsync();
        Assert.Null(await wideDialog.GetAttributeAsync("aria-modal"));
        Assert.Null(await wide.EvaluateAsync<string?>("() => document.documentElement.getAttribute('style')"));
        await wide.Mouse.MoveAsync(300, 300);
        await wide.Mouse.WheelAsync(0, 600);
        await wide.WaitForFunctionAsync("() => scrollY > 0");
        Assert.Empty(errors);
        Assert.Empty(wideErrors);
        await wide.Context.CloseAsync();
        await page.Context.CloseAsync();
    }

    /// <summary>
    /// A conversation is shown again on the next page only as the visitor left it: closed stays closed (an outside look at
    /// 375 px: after closing the full-screen chat to read the page, every page opened it again over the page and put the
    /// focus, and a phone's keyboard, in its box), open is open again with the focus left to the page.
    /// </summary>
    [Fact]
    public async Task AConversationClosedOnOnePageStaysClosedOnTheNext()
    {
        if (Skipped)
        {
            return;
        }
        var tenant = await fx.WidgetTenantAllowingSiteAsync("Drain Suivant");
        var (page, errors) = await fx.OpenAsync(width: 375, height: 667);
        await page.GotoAsync(fx.SiteUrl + "/fr?key=" + Uri.EscapeDataString(tenant.Key));
        var launcher = page.GetByRole(AriaRole.Button, new() { Name = "Écrivez-nous" });
        await launcher.ClickAsync();
        var dialog = page.GetByRole(AriaRole.Dialog, new() { Name = "Drain Suivant" });
        var box = dialog.GetByRole(AriaRole.Textbox, new() { Name = "Écrivez un message…" });
        await box.FillAsync("Bonjour, avez-vous des disponibilités jeudi?");
        await box.PressAsync("Enter");
        await Assertions.Expect(dialog.Locator(".msg.assistant")).ToHaveCountAsync(2, new() { Timeout = 15000 }); // the greeting and the answer
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Fermer la conversation" }).ClickAsync();

        await page.ReloadAsync();
        await Assertions.Expect(launcher).ToBeVisibleAsync();
        await Assertions.Expect(launcher).ToHaveAttributeAsync("aria-expanded", "false");
        await Assertions.Expect(dialog).ToBeHiddenAsync();
        Assert.Equal("BODY", await page.EvaluateAsync<string>("() => document.activeElement.tagName"));

        // Opened again, the conversation is there; left open, the next page shows it open, the focus still the page's.
        await launcher.ClickAsync();
        await Assertions.Expect(dialog.GetByText("Bonjour, avez-vous des disponibilités jeudi?")).ToBeVisibleAsync();
        await page.ReloadAsync();
        await Assertions.Expect(dialog.GetByText("Bonjour, avez-vous des disponibilités jeudi?")).ToBeVisibleAsync();
        Assert.Equal("BODY", await page.EvaluateAsync<string>("() => document.activeElement.tagName"));
        Assert.Empty(errors);
    }

    /// <summary>
    /// On a phone the message box's text is 16 px, not the chat's 14 px: Safari on iPhone zooms the page in when a focused
    /// field's text is smaller, and the full-screen chat then no longer fits. Wider screens keep 14 px.
    /// </summary>
    [Theory]
    [InlineData(375, "16px")]
    [InlineData(1280, "14px")]
    public async Task OnAPhoneTheMessageBoxIsLargeEnoughThatSafariDoesNotZoomIn(int width, string fontSize)
    {
        if (Skipped)
        {
            return;
        }
        var (page, errors) = await fx.OpenAsync(width: width, height: 700);
        await page.GotoAsync(fx.SiteUrl + "/fr");
        await page.GetByRole(AriaRole.Button, new() { Name = "Écrivez-nous" }).ClickAsync();
        var box = page.GetByRole(AriaRole.Textbox, new() { Name = "Écrivez un message…" });
        await Assertions.Expect(box).ToBeFocusedAsync();
        Assert.Equal(fontSize, await box.EvaluateAsync<string>("e => getComputedStyle(e).fontSize"));
        Assert.Empty(errors);
    }

    /// <summary>
    /// While the answer is awaited the visitor sees it coming (an outside probe: nothing moved between Enter and the first
    /// words, seconds with a slow model), and it is gone once the answer is there.
    /// </summary>
    [Fact]
    public async Task ATypingIndicatorShowsWhileTheAnswerIsAwaited()
    {
        if (Skipped)
        {
            return;
        }
        var tenant = await fx.WidgetTenantAllowingSiteAsync("Drain Patience");
        var (page, errors) = await fx.OpenAsync();
        await page.GotoAsync(fx.SiteUrl + "/fr?key=" + Uri.EscapeDataString(tenant.Key));
        await page.GetByRole(AriaRole.Button, new() { Name = "Écrivez-nous" }).ClickAsync();
        var box = page.GetByRole(AriaRole.Textbox, new() { Name = "Écrivez un message…" });

        // The answer is held back (a slow model) until the indicator has been seen.
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await page.RouteAsync("**/messages?**", async route =>
        {
            await release.Task;
            await route.ContinueAsync();
        });
        await box.FillAsync("Bonjour, avez-vous un service d'urgence?");
        await box.PressAsync("Enter");
        var typing = page.GetByText("Réponse en cours de rédaction…");
        await Assertions.Expect(typing).ToBeAttachedAsync();
        Assert.Equal(3, await page.Locator("switchboard-widget .typing .dot").CountAsync());
        release.SetResult();

        await Assertions.Expect(page.Locator("switchboard-widget .msg.assistant")).ToHaveCountAsync(2, new() { Timeout = 15000 });
        await Assertions.Expect(typing).ToHaveCountAsync(0);
        // The answer's bubble shows with its first piece, while the log is busy until the stream's end: waited for, not read once.
        await Assertions.Expect(page.Locator("switchboard-widget .log")).Not.ToHaveAttributeAsync("aria-busy", new System.Text.RegularExpressions.Regex(".*"));
        Assert.Empty(errors);
    }

    /// <summary>
    /// A page opened while the server is down (a restart, a deploy) gets its launcher once the server is back (an outside
    /// probe: the widget tried once and never appeared for the rest of the visit).
    /// </summary>
    [Fact]
    public async Task TheLauncherAppearsOnceTheServerIsBackAfterBeingDownWhenThePageLoaded()
    {
        if (Skipped)
        {
            return;
        }
        var (page, _) = await fx.OpenAsync();
        var refused = 0;
        await page.RouteAsync("**/widget/v1/config**", async route =>
        {
            if (Interlocked.Increment(ref refused) == 1)
            {
                await route.AbortAsync("connectionrefused");
                return;
            }
            await route.ContinueAsync();
        });
        await page.GotoAsync(fx.SiteUrl + "/fr");
        await page.WaitForFunctionAsync("() => window.__events.includes('error')");

        var launcher = page.GetByRole(AriaRole.Button, new() { Name = "Écrivez-nous" });
        await Assertions.Expect(launcher).ToBeVisibleAsync(new() { Timeout = 15000 });
        Assert.Equal(2, Volatile.Read(ref refused));
        await launcher.ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Dialog)).ToBeVisibleAsync();
    }

    [Fact]
    public async Task TheBundleStaysWithinItsGzipBudget()
    {
        if (Skipped)
        {
            return;
        }
        var bytes = await File.ReadAllBytesAsync(WidgetBrowserFixture.WidgetJs);
        using var gz = new MemoryStream();
        await using (var z = new GZipStream(gz, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            await z.WriteAsync(bytes);
        }
        Assert.True(gz.Length <= 15 * 1024, $"widget.js is {gz.Length} bytes gzipped (budget 15 KB)");
        using var client = new HttpClient();
        var served = await client.GetAsync(fx.HostUrl + "/widget.js");
        Assert.Equal("public, max-age=300", served.Headers.CacheControl?.ToString());
        Assert.NotNull(served.Headers.ETag);
    }
}
