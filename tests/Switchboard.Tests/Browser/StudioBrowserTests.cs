using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Switchboard.Billing;
using Switchboard.Tenancy;
using Switchboard.Tests.Support;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace Switchboard.Tests.Browser;

/// <summary>
/// Settings → Assistant studio, Numbers and Widget in Debian's Chromium against the real host: alert numbers refused at
/// their field (client- and server-side) and saved values surviving a reload; a number from the Twilio simulator
/// attached, given hours and detached; the widget's origins saved, its snippet shown, and the live preview (the real
/// widget.js under the dashboard's CSP) answering a chat message; <c>?returnTo=</c>; Hebrew at 375 px in dark mode.
/// Its own fixture (host, tenant on the telephony plan) so it runs beside the other browser classes.
/// </summary>
[Trait("Category", "Browser")]
[Trait("Category", "Database")] // also run by ./test.sh's PostgreSQL suite
public sealed class StudioBrowserTests(BrowserFixture browser, ITestOutputHelper output) : IClassFixture<BrowserFixture>
{

    /// <summary>Puts the fixture's tenant on the telephony plan (numbers, widget, recording, branding).</summary>
    private Task TelephonyPlanAsync() => PlanAsync("telephony");

    /// <summary>Puts the fixture's tenant on the plan <paramref name="planId"/> (a <see cref="PlanCatalog"/> id).</summary>
    private async Task PlanAsync(string planId)
    {
        await browser.Host.WithDbAsync(browser.Tenant.Id, async db =>
        {
            var account = await TenantAccounts.GetOrCreateAsync(db, browser.Host.Services.GetRequiredService<PlanCatalog>(), browser.Tenant.Id, DateTimeOffset.UtcNow, CancellationToken.None);
            account.PlanId = planId;
            return await db.SaveChangesAsync();
        });
        browser.Host.Services.GetRequiredService<TenantAccountCache>().Invalidate(browser.Tenant.Id);
    }

    /// <summary>Fails on console errors or CSP violations, except the browser's own "Failed to load resource … 422" line for an answer the test provoked.</summary>
    private static async Task AssertCleanExcept422Async(Tab tab)
    {
        lock (tab.Errors)
        {
            tab.Errors.RemoveAll(e => e.Contains("status of 422", StringComparison.Ordinal));
        }
        await tab.AssertCleanAsync();
    }

    [Fact]
    public async Task AnInvalidOnCallNumberIsRefusedAtItsFieldAndAValidOneIsSavedAndReloaded()
    {
        if (browser.Skip(output))
        {
            return;
        }
        await TelephonyPlanAsync();
        await using var tab = await browser.OpenAsync();
        var page = tab.Page;
        await page.GotoAsync("/settings/assistants");
        var card = page.GetByRole(AriaRole.Region, new() { Name = "Paul" });
        await Expect(card.GetByText("Sync pending").Or(card.GetByText("Not on Vapi")).Or(card.GetByText("Waiting for Vapi key")).Or(card.GetByText("Synced with Vapi"))).ToBeVisibleAsync();
        await card.GetByRole(AriaRole.Link, new() { Name = "Edit" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Paul", Exact = true })).ToBeVisibleAsync();

        // Client-side: what is not a number never leaves the page (a local number with separators is one: the server reads it
        // in the business's region).
        var onCall = page.GetByLabel("On-call numbers (emergencies, any hour)", new() { Exact = true });
        await onCall.FillAsync("ask for Marc");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save", Exact = true }).ClickAsync();
        await Expect(onCall).ToHaveAttributeAsync("aria-invalid", "true");
        await Expect(page.Locator("#err-alertPolicy\\.onCallNumbers")).ToHaveTextAsync("Use the international format, e.g. +15145550111.");
        var stored = await AssistantAsync();
        Assert.Null(stored["alertPolicy"]);

        // Server-side: a detail the page does not check itself comes back from the 422 envelope, beside its field.
        await onCall.FillAsync("+15145550122");
        var languages = page.GetByLabel("Languages (first is the default)", new() { Exact = true });
        await languages.FillAsync("fr-CA, not a language!");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save", Exact = true }).ClickAsync();
        // The server's "must be up to 10 BCP 47 tags …", in the reader's language.
        await Expect(page.Locator("#err-languages")).ToContainTextAsync("Enter up to 10 language tags such as fr-CA.");
        await Expect(languages).ToHaveAttributeAsync("aria-invalid", "true");
        Assert.Null((await AssistantAsync())["alertPolicy"]);

        await languages.FillAsync("fr-CA, en-US");
        await page.GetByLabel("Office numbers (other leads)", new() { Exact = true }).FillAsync("+15145550100, +15145550101");
        await page.GetByLabel("Quiet hours for non-urgent alerts", new() { Exact = true }).SelectOptionAsync("none");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save", Exact = true }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status).GetByText("Saved")).ToBeVisibleAsync();
        stored = await AssistantAsync();
        Assert.Equal("+15145550122", stored["alertPolicy"]!["onCallNumbers"]![0]!.GetValue<string>());
        Assert.Equal(2, stored["alertPolicy"]!["officeNumbers"]!.AsArray().Count);
        Assert.Equal("pending", stored["syncStatus"]!.GetValue<string>());

        await page.ReloadAsync();
        await Expect(page.GetByLabel("On-call numbers (emergencies, any hour)", new() { Exact = true })).ToHaveValueAsync("+15145550122");
        await Expect(page.GetByLabel("Office numbers (other leads)", new() { Exact = true })).ToHaveValueAsync("+15145550100, +15145550101");
        await Expect(page.GetByLabel("Quiet hours for non-urgent alerts", new() { Exact = true })).ToHaveValueAsync("none");
        await Expect(page.GetByRole(AriaRole.Region, new() { Name = "Vapi sync" }).GetByText("Sync pending")).ToBeVisibleAsync();

        // The template gallery is another helper's endpoint: until it exists, its error is a message, not a blank page.
        await page.GetByRole(AriaRole.Button, new() { Name = "Browse templates" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Region, new() { Name = "Start from a template" }).GetByRole(AriaRole.Alert).Or(
            page.GetByRole(AriaRole.Region, new() { Name = "Start from a template" }).GetByRole(AriaRole.Button, new() { NameRegex = new Regex("Plumbing") }).First)).ToBeVisibleAsync();
        lock (tab.Errors)
        {
            tab.Errors.RemoveAll(e => e.Contains("status of 404", StringComparison.Ordinal) && e.Contains("assistant-templates", StringComparison.Ordinal));
        }
        await AssertCleanExcept422Async(tab);
    }

    [Fact]
    public async Task TheBusinessAlertNumbersAreEditedInSettingsSurviveAReloadAndTheStudioSaysTheyApply()
    {
        if (browser.Skip(output))
        {
            return;
        }
        await using var tab = await browser.OpenAsync();
        var page = tab.Page;
        await page.GotoAsync("/settings/assistants");
        await page.GetByRole(AriaRole.Link, new() { Name = "Alerts", Exact = true }).ClickAsync(); // listed with the other settings
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "SMS alerts", Exact = true })).ToBeVisibleAsync();
        var onCall = page.GetByLabel("On-call numbers (emergencies, any hour)", new() { Exact = true });
        await Expect(onCall).ToHaveValueAsync("+15145550111"); // the fixture's business
        var save = page.GetByRole(AriaRole.Button, new() { Name = "Save", Exact = true });

        // What is not a number never leaves the page; a number too short for Canada is refused by the server, at its field.
        await onCall.FillAsync("ask Marc");
        await save.ClickAsync();
        await Expect(onCall).ToHaveAttributeAsync("aria-invalid", "true");
        await Expect(page.GetByText("“ask Marc” is not a phone number.")).ToBeVisibleAsync();
        await onCall.FillAsync("514-555-01");
        await save.ClickAsync();
        await Expect(page.GetByText("“514-555-01” is not a phone number in CA", new() { Exact = false })).ToBeVisibleAsync();
        await Expect(onCall).ToHaveAttributeAsync("aria-invalid", "true");
        Assert.Equal("+15145550111", (await BusinessAlertsAsync())["onCallNumbers"]![0]!.GetValue<string>());

        // Typed as an owner types it in Québec, twice: stored once, in E.164.
        await onCall.FillAsync("514-555-0133, +1 514 555 0133");
        await page.GetByLabel("Office numbers (other leads)", new() { Exact = true }).FillAsync("");
        await page.GetByRole(AriaRole.Combobox, new() { Name = "Non-urgent alerts", Exact = true }).SelectOptionAsync("none");
        await save.ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status).GetByText("Alert settings saved.")).ToBeVisibleAsync();
        await Expect(onCall).ToHaveValueAsync("+15145550133");
        var stored = await BusinessAlertsAsync();
        Assert.Equal(["+15145550133"], stored["onCallNumbers"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal("none", stored["nonUrgentDelivery"]!.GetValue<string>());

        await page.ReloadAsync();
        await Expect(page.GetByLabel("On-call numbers (emergencies, any hour)", new() { Exact = true })).ToHaveValueAsync("+15145550133");
        await Expect(page.GetByRole(AriaRole.Combobox, new() { Name = "Non-urgent alerts", Exact = true })).ToHaveValueAsync("none");

        // The studio says which of the business's numbers an assistant's empty list gets.
        await page.GotoAsync("/settings/assistants/new");
        await Expect(page.GetByText("Empty: the business's on-call numbers apply (\u2066+1 514-555-0133\u2069).")).ToBeVisibleAsync();
        await Expect(page.GetByText("Empty: routine leads go to the on-call numbers (\u2066+1 514-555-0133\u2069).")).ToBeVisibleAsync();
        await AssertCleanExcept422Async(tab);
    }

    private async Task<JsonObject> BusinessAlertsAsync() =>
        (await browser.Host.ApiClient(browser.Tenant).GetFromJsonAsync<JsonObject>("/api/v1/settings/alerts"))!;

    private async Task<JsonObject> AssistantAsync()
    {
        var list = (await browser.Host.ApiClient(browser.Tenant).GetFromJsonAsync<JsonArray>("/api/v1/assistants"))!;
        return list.Single(a => a!["name"]!.GetValue<string>() == "Paul")!.AsObject();
    }

    [Fact]
    public async Task ANumberFromTheTwilioSimulatorIsAttachedGivenHoursAndDetached()
    {
        if (browser.Skip(output))
        {
            return;
        }
        await TelephonyPlanAsync();
        browser.Host.TwilioRest.Own("+15145550177");
        await using var tab = await browser.OpenAsync();
        var page = tab.Page;
        page.Dialog += async (_, dialog) => await dialog.AcceptAsync();
        await page.GotoAsync("/settings/numbers?returnTo=%2Fonboarding");
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = "Back to onboarding" })).ToHaveAttributeAsync("href", "/onboarding");

        var attach = page.GetByRole(AriaRole.Region, new() { Name = "Attach a Twilio number" });
        await attach.GetByLabel("Number", new() { Exact = true }).FillAsync("5145550177");
        await attach.GetByRole(AriaRole.Button, new() { Name = "Attach" }).ClickAsync();
        await Expect(attach.Locator("#err-number")).ToHaveTextAsync("Use the international format, e.g. +15145550111.");
        await attach.GetByLabel("Number", new() { Exact = true }).FillAsync("+1 514 555 0177");
        await attach.GetByLabel("Answered by", new() { Exact = true }).SelectOptionAsync("twilio");
        await attach.GetByRole(AriaRole.Button, new() { Name = "Attach" }).ClickAsync();

        var card = page.GetByRole(AriaRole.Region, new() { Name = "+1 514-555-0177" });
        await Expect(card.GetByText("Setting up")).ToBeVisibleAsync();
        await browser.Host.Outbox.DrainAsync(CancellationToken.None);
        await Expect(card.GetByText("Active", new() { Exact = true })).ToBeVisibleAsync(new() { Timeout = 15000 });
        Assert.Contains("/webhooks/twilio", string.Join(" ", browser.Host.TwilioRest.Numbers["+15145550177"].Config.Values));

        await card.GetByLabel("Monday", new() { Exact = true }).FillAsync("08:00-12:00, 13:00-17:00");
        await card.GetByLabel("Saturday", new() { Exact = true }).FillAsync("9h à midi");
        await card.GetByLabel("Closed dates", new() { Exact = true }).FillAsync("2026-12-25");
        await card.GetByLabel("Outside business hours", new() { Exact = true }).SelectOptionAsync("forward");
        await card.GetByLabel("Forward to", new() { Exact = true }).FillAsync("+15145550111");
        await card.GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await Expect(card.GetByText("Hours look like 08:00-17:00", new() { Exact = false })).ToBeVisibleAsync();
        await card.GetByLabel("Saturday", new() { Exact = true }).FillAsync("09:00-12:00");
        await card.GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await Expect(card.GetByRole(AriaRole.Status).GetByText("Saved")).ToBeVisibleAsync();

        var number = (await browser.Host.ApiClient(browser.Tenant).GetFromJsonAsync<JsonArray>("/api/v1/numbers"))!.Single(n => n!["number"]!.GetValue<string>() == "+15145550177")!;
        Assert.Equal(["08:00-12:00", "13:00-17:00"], number["businessHours"]!["weekly"]!["monday"]!.AsArray().Select(r => r!.GetValue<string>()));
        Assert.Equal("09:00-12:00", number["businessHours"]!["weekly"]!["saturday"]![0]!.GetValue<string>());
        Assert.Null(number["businessHours"]!["weekly"]!["sunday"]);
        Assert.Equal("2026-12-25", number["businessHours"]!["holidays"]![0]!.GetValue<string>());
        Assert.Equal("forward", number["afterHours"]!["action"]!.GetValue<string>());
        Assert.Equal("+15145550111", number["afterHours"]!["forwardTo"]!.GetValue<string>());

        await page.ReloadAsync();
        await Expect(card.GetByLabel("Monday", new() { Exact = true })).ToHaveValueAsync("08:00-12:00, 13:00-17:00");
        await card.GetByRole(AriaRole.Button, new() { Name = "Detach" }).ClickAsync();
        await Expect(card).ToHaveCountAsync(0);
        await Expect(page.GetByText("No number attached yet.")).ToBeVisibleAsync();
        Assert.Equal(0, await browser.Host.CountAsync(browser.Tenant.Id, db => db.PhoneNumbers.CountAsync(n => n.Number == "+15145550177")));

        await page.GetByRole(AriaRole.Link, new() { Name = "Back to onboarding" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("/onboarding$"));
        await tab.AssertCleanAsync();
    }

    [Fact]
    public async Task WidgetOriginsAreSavedTheSnippetIsShownAndTheLivePreviewAnswers()
    {
        if (browser.Skip(output))
        {
            return;
        }
        if (!File.Exists(WidgetBrowserFixture.WidgetJs))
        {
            output.WriteLine("SKIPPED: widget/dist/widget.js is not built");
            return;
        }
        await TelephonyPlanAsync();
        await using var tab = await browser.OpenAsync();
        var page = tab.Page;
        await page.GotoAsync("/settings/widget");
        var install = page.GetByRole(AriaRole.Region, new() { Name = "Install" });
        var create = install.GetByRole(AriaRole.Button, new() { Name = "Create the widget key" });
        // Either is shown once the page has loaded (another test of this fixture's tenant may have made the key): counted
        // before that, no tab read as "no key", and the test waited for a Create button that never came.
        var html = install.GetByRole(AriaRole.Tab, new() { Name = "HTML" });
        await Expect(html.Or(create)).ToBeVisibleAsync();
        if (await create.IsVisibleAsync())
        {
            await create.ClickAsync();
        }
        var code = install.GetByRole(AriaRole.Tabpanel);
        // The server only knows a loopback name (no PublicBaseUrl): the snippet names the origin this dashboard was opened at.
        var origin = browser.Host.ServerUri.GetLeftPart(UriPartial.Authority);
        await Expect(code).ToContainTextAsync(new Regex("<script src=\"" + Regex.Escape(origin) + "/widget\\.js\" data-key=\"pk_live_[0-9A-Za-z]{32}\" async></script>"));
        await install.GetByRole(AriaRole.Tab, new() { Name = "WordPress" }).ClickAsync();
        await Expect(code).ToContainTextAsync("add_action('wp_footer'");
        await install.GetByRole(AriaRole.Tab, new() { Name = "React" }).ClickAsync();
        await Expect(code).ToContainTextAsync("useEffect");
        await install.GetByRole(AriaRole.Tab, new() { Name = "Shopify" }).ClickAsync();
        await Expect(code).ToContainTextAsync("theme.liquid");

        var origins = page.GetByRole(AriaRole.Region, new() { Name = "Allowed websites" });
        await origins.GetByLabel("Website 1", new() { Exact = true }).FillAsync("https://www.drainfortin.ca/contact");
        await origins.GetByRole(AriaRole.Button, new() { Name = "Save websites" }).ClickAsync();
        await Expect(origins.Locator("#err-origin-0")).ToContainTextAsync("https origin");
        await origins.GetByLabel("Website 1", new() { Exact = true }).FillAsync("https://www.drainfortin.ca");
        await origins.GetByRole(AriaRole.Button, new() { Name = "Add a website" }).ClickAsync();
        await origins.GetByLabel("Website 2", new() { Exact = true }).FillAsync("https://*.drainfortin.ca");
        await origins.GetByRole(AriaRole.Button, new() { Name = "Save websites" }).ClickAsync();
        await Expect(origins.GetByRole(AriaRole.Status).GetByText("Saved")).ToBeVisibleAsync();
        var saved = (await browser.Host.ApiClient(browser.Tenant).GetFromJsonAsync<JsonObject>("/api/v1/widget/origins"))!["origins"]!.AsArray();
        Assert.Equal(["https://www.drainfortin.ca", "https://*.drainfortin.ca"], saved.Select(o => o!.GetValue<string>()));
        await page.ReloadAsync();
        await Expect(origins.GetByLabel("Website 2", new() { Exact = true })).ToHaveValueAsync("https://*.drainfortin.ca");

        // Branding: the greeting saved shows in the preview, which reloads with it.
        var branding = page.GetByRole(AriaRole.Region, new() { Name = "Look" });
        await branding.GetByLabel("Greeting", new() { Exact = true }).FillAsync("Hi! Drain Fortin here, how can we help?");
        await branding.GetByLabel("Position", new() { Exact = true }).SelectOptionAsync("start");
        await branding.GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await Expect(branding.GetByRole(AriaRole.Status).GetByText("Saved")).ToBeVisibleAsync();
        // The telephony plan has custom branding: no "needs a plan with custom branding" (the page knows the plan by now).
        await Expect(branding.GetByLabel("Colour", new() { Exact = true })).Not.ToHaveAccessibleDescriptionAsync(new Regex("custom branding"));
        await Expect(branding.GetByText("custom branding")).ToHaveCountAsync(0);

        // The live preview: the real widget.js in an iframe, under the dashboard's CSP, chatting with the offline receptionist.
        var preview = page.FrameLocator("iframe[title='Live preview']");
        var launcher = preview.GetByRole(AriaRole.Button, new() { Name = "Chat with us" });
        await launcher.ClickAsync();
        await Expect(preview.GetByText("Hi! Drain Fortin here, how can we help?")).ToBeVisibleAsync();
        var box = preview.GetByRole(AriaRole.Textbox, new() { Name = "Write a message…" });
        await box.FillAsync("Hello, my basement is flooded, please call me back at 514 555 0142");
        await box.PressAsync("Enter");
        var answers = preview.Locator(".msg.assistant");
        await Expect(answers).ToHaveCountAsync(2, new() { Timeout = 15000 });
        await Expect(answers.Nth(1)).ToHaveTextAsync(new Regex("\\w{3,}"));
        var calls = (await browser.Host.ApiClient(browser.Tenant).GetFromJsonAsync<JsonObject>("/api/v1/calls"))!["items"]!.AsArray();
        Assert.Contains(calls, c => c!["channel"]!.GetValue<string>() == "web");
        await AssertCleanExcept422Async(tab);
    }

    [Fact]
    public async Task TheWebChatSettingsFitAPhoneInFrench()
    {
        if (browser.Skip(output))
        {
            return;
        }
        // A plan without custom branding (Starter): the colour says it needs one; the other tests put the tenant back on telephony.
        await PlanAsync("starter");
        await using var tab = await browser.OpenAsync(locale: "fr-CA", width: 375, height: 800);
        var page = tab.Page;
        await page.GotoAsync("/settings/widget");
        await Expect(page.GetByLabel("Position")).ToBeVisibleAsync();
        await Expect(page.GetByLabel("Couleur", new() { Exact = true })).ToHaveAccessibleDescriptionAsync("La couleur demande un forfait avec image de marque personnalisée.");
        // The position select is as wide as its longest option: in an implicit grid column it pushed the form past the card.
        var outside = await page.EvaluateAsync<string[]>(
            "() => [...document.querySelectorAll('main section input, main section select, main section textarea')]" +
            ".filter(el => el.getBoundingClientRect().width > 0 && el.getBoundingClientRect().right > el.closest('section').getBoundingClientRect().right + 1)" +
            ".map(el => el.outerHTML.slice(0, 80))");
        Assert.Empty(outside);
        // Each position reads whole in the closed select (its text measured in the select's font, inside its padding and
        // arrow); the right-to-left note is the field's description.
        var position = page.GetByLabel("Position");
        foreach (var value in new[] { "end", "start" })
        {
            await position.SelectOptionAsync(value);
            var spare = await position.EvaluateAsync<double>(
                "s => { const c = document.createElement('canvas').getContext('2d'); c.font = getComputedStyle(s).font;" +
                " return s.clientWidth - 40 - c.measureText(s.selectedOptions[0].text).width; }");
            Assert.True(spare >= 0, $"the option '{value}' is cut by {-spare:0} px");
        }
        await Expect(position).ToHaveAccessibleDescriptionAsync(new Regex("arabe et en hébreu"));
        await tab.AssertCleanAsync();
    }

    /// <summary>
    /// The widget's install snippet is longer than a phone is wide, so it scrolls sideways; a keyboard user reaches it with
    /// Tab after the platform tabs to scroll it (an outside look in French at 375 px: axe's scrollable-region-focusable, the
    /// tabpanel could not take the focus, WCAG 2.1.1), the arrows move between the tabs, and the page has no serious axe
    /// violation.
    /// </summary>
    [Fact]
    public async Task TheWidgetSnippetThatScrollsSidewaysIsReachedWithTheKeyboardOnAPhoneInFrench()
    {
        if (browser.Skip(output))
        {
            return;
        }
        await TelephonyPlanAsync();
        await using var tab = await browser.OpenAsync(locale: "fr-CA", width: 375, height: 800, axe: true);
        var page = tab.Page;
        await page.GotoAsync("/settings/widget");
        var install = page.GetByRole(AriaRole.Region, new() { Name = "Installation" });
        var html = install.GetByRole(AriaRole.Tab, new() { Name = "HTML" });
        var create = install.GetByRole(AriaRole.Button, new() { Name = "Créer la clé du widget" });
        await Expect(html.Or(create)).ToBeVisibleAsync();
        if (await create.IsVisibleAsync())
        {
            await create.ClickAsync();
        }
        var code = install.GetByRole(AriaRole.Tabpanel, new() { Name = "HTML" });
        await Expect(code).ToContainTextAsync("data-key=\"pk_live_");
        Assert.True(await code.EvaluateAsync<bool>("e => e.scrollWidth > e.clientWidth"), "the snippet fits: nothing to scroll, nothing tested");
        // The tabs are one stop in the Tab order (WAI-ARIA APG Tabs: roving tabindex), the arrows move between them.
        await html.FocusAsync();
        await page.Keyboard.PressAsync("Tab");
        await Expect(code).ToBeFocusedAsync();
        await page.Keyboard.PressAsync("Shift+Tab");
        await Expect(html).ToBeFocusedAsync();
        await page.Keyboard.PressAsync("ArrowRight");
        var wordPress = install.GetByRole(AriaRole.Tab, new() { Name = "WordPress" });
        await Expect(wordPress).ToBeFocusedAsync();
        await Expect(wordPress).ToHaveAttributeAsync("aria-selected", "true");
        await Expect(install.GetByRole(AriaRole.Tabpanel, new() { Name = "WordPress" })).ToBeVisibleAsync();
        await page.Keyboard.PressAsync("Home");
        await Expect(html).ToBeFocusedAsync();
        await page.WaitForLoadStateAsync(LoadState.NetworkIdle);
        Assert.Empty(await tab.SeriousAxeViolationsAsync());
        await tab.AssertCleanAsync();
    }

    [Fact]
    public async Task TheStudioPagesWorkInHebrewAt375PixelsInDarkModeWithoutSeriousAxeViolations()
    {
        if (browser.Skip(output))
        {
            return;
        }
        await TelephonyPlanAsync();
        await using var tab = await browser.OpenAsync(locale: "he-IL", width: 375, height: 800, dark: true, axe: true);
        var page = tab.Page;
        foreach (var (path, heading) in new[] { ("/settings/assistants", "סטודיו העוזר"), ("/settings/numbers", "מספרי טלפון"), ("/settings/widget", "צ'אט לאתר"), ("/settings/alerts", "התראות SMS") })
        {
            await page.GotoAsync(path + "?returnTo=https%3A%2F%2Fevil.example");
            await Expect(page.GetByRole(AriaRole.Heading, new() { Name = heading, Exact = true })).ToBeVisibleAsync();
            await Expect(page.Locator("html")).ToHaveAttributeAsync("dir", "rtl");
            Assert.Equal(0, await page.GetByRole(AriaRole.Link, new() { Name = "חזרה להגדרה הראשונית" }).CountAsync());
            var overflow = await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth - document.documentElement.clientWidth");
            Assert.True(overflow <= 1, $"{path} scrolls sideways by {overflow}px at 375px");
            // Once the page's data is there: checked at the heading, the widget's snippet (a tabpanel that scrolls sideways,
            // out of reach of the keyboard) was not yet shown.
            await page.WaitForLoadStateAsync(LoadState.NetworkIdle);
            Assert.Empty(await tab.SeriousAxeViolationsAsync());
        }
        await tab.AssertCleanAsync();
    }
}
