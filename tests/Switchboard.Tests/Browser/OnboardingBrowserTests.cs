using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Playwright;
using Switchboard.Tests.Support;
using Switchboard.Vapi;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace Switchboard.Tests.Browser;

/// <summary>
/// The Ava onboarding scenarios in Chromium against the real host (issue 9 §4): sign-up → wizard → complete, skip
/// everything, Vapi configured inline against the Vapi simulator, a detour to Settings → Credentials and back to the
/// same step, the assistant created from a template, autosave surviving a reload, the clickable stepper, and every
/// language (EN/FR/HE/AR, 375 px for the right-to-left ones) without a missing key. Each test signs up its own
/// organisation through the API (the sign-up page belongs to another branch).
/// </summary>
[Trait("Category", "Browser")]
[Trait("Category", "Database")]
public sealed class OnboardingBrowserTests(BrowserFixture browser, ITestOutputHelper output) : IClassFixture<BrowserFixture>, IAsyncLifetime
{
    private VapiSimulator? vapi;

    public async Task InitializeAsync()
    {
        if (browser.SkipReason is not null)
        {
            return;
        }
        vapi = await VapiSimulator.StartAsync();
        // This class has its own host (IClassFixture): point its Vapi REST client at the simulator.
        browser.Host.Services.GetRequiredService<IOptions<VapiOptions>>().Value.ApiBaseUrl = vapi.BaseUrl;
    }

    public async Task DisposeAsync()
    {
        if (vapi is not null)
        {
            await vapi.DisposeAsync();
        }
    }


    /// <summary>A new organisation signed up through the API in a fresh browser context (its cookies are the session).</summary>
    private async Task<Tab> SignUpAsync(string locale = "en-CA", int width = 1280, string organisation = "Plomberie Ava", bool dark = false, bool axe = false,
        string? timezoneId = null)
    {
        var tab = await browser.OpenAsync(locale: locale, width: width, signIn: false, dark: dark, axe: axe, timezoneId: timezoneId);
        var response = await tab.Context.APIRequest.PostAsync("/api/v1/auth/signup", new()
        {
            DataObject = new { email = $"ava-{Guid.NewGuid():N}@example.test", password = BrowserFixture.Password, organisation, fullName = "Ava Tremblay" },
        });
        Assert.True(response.Status == 201, $"signup {response.Status}: {await response.TextAsync()}");
        return tab;
    }

    private static async Task<JsonElement> StateAsync(Tab tab)
    {
        var response = await tab.Context.APIRequest.GetAsync("/api/v1/onboarding");
        Assert.True(response.Ok, $"GET onboarding {response.Status}");
        return (await response.JsonAsync())!.Value;
    }

    /// <summary>Stores <paramref name="step"/> as the wizard's current step (PATCH /api/v1/onboarding), as if the owner had left there.</summary>
    private static async Task ResumeAtAsync(Tab tab, string step)
    {
        var csrf = (await tab.Context.CookiesAsync()).Single(c => c.Name == "sb_csrf").Value;
        var response = await tab.Context.APIRequest.PatchAsync("/api/v1/onboarding", new()
        {
            DataObject = new { currentStep = step },
            Headers = new Dictionary<string, string> { ["X-CSRF-Token"] = csrf },
        });
        Assert.True(response.Ok, $"PATCH onboarding {response.Status}: {await response.TextAsync()}");
    }

    private static ILocator StepButton(IPage page, string name) =>
        page.GetByRole(AriaRole.Navigation, new() { Name = "Onboarding steps" }).GetByRole(AriaRole.Button, new() { Name = name });

    private static ILocator StepHeading(IPage page, string name) => page.GetByRole(AriaRole.Heading, new() { Name = name, Exact = true, Level = 2 });

    private static ILocator SaveStatus(IPage page) => page.Locator("[data-save-status]");

    /// <summary>Opens the wizard and gets past the profile (accepting the terms), landing on the voice provider.</summary>
    private static async Task PassProfileAsync(IPage page)
    {
        await page.GotoAsync("/onboarding");
        await Expect(StepHeading(page, "Profile")).ToBeVisibleAsync();
        await page.GetByLabel(new Regex("I accept the terms of service")).CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Continue" }).ClickAsync();
        await Expect(StepHeading(page, "Voice provider")).ToBeVisibleAsync();
        await Expect(SaveStatus(page)).ToHaveAttributeAsync("data-save-status", "saved");
    }

    [Fact]
    public async Task SigningUpThenWalkingThroughTheWizardCompletesOnboarding()
    {
        if (browser.Skip(output)) { return; }
        await using var tab = await SignUpAsync();
        var page = tab.Page;
        await page.GotoAsync("/onboarding");
        await Expect(page.GetByLabel("Business name")).ToHaveValueAsync("Plomberie Ava");
        await Expect(page.GetByLabel("Your full name")).ToHaveValueAsync("Ava Tremblay");
        var next = page.GetByRole(AriaRole.Button, new() { Name = "Continue" });
        await Expect(next).ToBeDisabledAsync(); // the profile is the one required step: terms first
        await page.GetByLabel(new Regex("I accept the terms of service")).CheckAsync();
        await next.ClickAsync();
        await page.GetByRole(AriaRole.Radio, new() { NameRegex = new Regex("^Vapi") }).CheckAsync();
        await next.ClickAsync();
        await page.GetByLabel("Start from a template (optional)").SelectOptionAsync("plumbing-en");
        await Expect(page.GetByLabel("Guidelines")).ToHaveValueAsync(new Regex("Never transfer the call"));
        await page.GetByLabel("Who is the assistant?").FillAsync("Paul, the friendly receptionist of Plomberie Ava");
        await page.GetByLabel("Job to be done").FillAsync("Take plumbing emergencies and book call-backs");
        foreach (var heading in new[] { "Twilio", "Phone and hours", "Integrations", "Assistant", "Plan" })
        {
            await next.ClickAsync();
            await Expect(StepHeading(page, heading)).ToBeVisibleAsync();
        }
        await next.ClickAsync();
        await Expect(StepHeading(page, "Launch")).ToBeVisibleAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Finish onboarding" }).ClickAsync();
        await Expect(page.GetByText("Onboarding is complete.")).ToBeVisibleAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = "Go to the dashboard" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Overview" })).ToBeVisibleAsync();

        var state = await StateAsync(tab);
        Assert.Equal(JsonValueKind.String, state.GetProperty("completedAt").ValueKind);
        Assert.Equal("vapi", state.GetProperty("voiceProvider").GetProperty("provider").GetString());
        Assert.Equal("Take plumbing emergencies and book call-backs", state.GetProperty("persona").GetProperty("jobToBeDone").GetString());
        Assert.Contains("Never transfer the call", state.GetProperty("persona").GetProperty("guidelines").GetString());
        Assert.Equal(["en-US", "fr-CA"], state.GetProperty("persona").GetProperty("languages").EnumerateArray().Select(l => l.GetString()));
        Assert.DoesNotContain(state.GetProperty("missing").EnumerateArray(), m => m.GetProperty("step").GetString() == "profile");
        await tab.AssertCleanAsync();
    }

    [Fact]
    public async Task AnOrganisationOnUtcStartsTheProfileInTheBrowsersZoneAndPicksZonesByCity()
    {
        if (browser.Skip(output)) { return; }
        // Signed up through the API without a zone: the server's default, UTC, as for a Québec owner whose browser sent none.
        await using var tab = await SignUpAsync(locale: "fr-CA", width: 375, timezoneId: "America/Toronto");
        var page = tab.Page;
        static bool IsPatch(IResponse r) => r.Url.EndsWith("/api/v1/onboarding", StringComparison.Ordinal) && r.Request.Method == "PATCH";
        var arrived = await page.RunAndWaitForResponseAsync(() => page.GotoAsync("/onboarding"), IsPatch);
        var zone = page.GetByLabel("Fuseau horaire", new() { Exact = true });
        // The zone in words, in French, not its IANA id; the id is what is saved.
        await Expect(zone).ToHaveValueAsync("heure de l’Est (Toronto)");
        await Expect(zone).ToHaveAttributeAsync("data-zone", "America/Toronto");
        Assert.Equal("America/Toronto", (await arrived.JsonAsync())!.Value.GetProperty("profile").GetProperty("timeZone").GetString());

        // A city typed in full is the zone; text that names none stays in the box with a message, and is not sent.
        await zone.FillAsync("vancouver");
        var picked = await page.RunAndWaitForResponseAsync(() => zone.PressAsync("Tab"), IsPatch);
        await Expect(zone).ToHaveValueAsync("heure du Pacifique (Vancouver)");
        Assert.Equal("America/Vancouver", (await picked.JsonAsync())!.Value.GetProperty("profile").GetProperty("timeZone").GetString());
        await zone.FillAsync("Heure de l'Est");
        await zone.PressAsync("Tab");
        await Expect(zone).ToHaveAttributeAsync("aria-invalid", "true");
        await Expect(page.GetByText("Choisissez un fuseau horaire dans la liste")).ToBeVisibleAsync();
        Assert.Equal("America/Vancouver", (await StateAsync(tab)).GetProperty("profile").GetProperty("timeZone").GetString());
        Assert.Equal(0, await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth - window.innerWidth"));
        await tab.AssertCleanAsync();
    }

    [Fact]
    public async Task LanguagesAreOfferedByTheirNamesNotByTheirTags()
    {
        if (browser.Skip(output)) { return; }
        await using var tab = await SignUpAsync();
        var page = tab.Page;
        await page.GotoAsync("/onboarding");
        await Expect(StepHeading(page, "Profile")).ToBeVisibleAsync();
        await page.GetByLabel("Business language").SelectOptionAsync(new SelectOptionValue { Label = "French (Canada)" });
        await page.GetByLabel(new Regex("I accept the terms of service")).CheckAsync();
        var next = page.GetByRole(AriaRole.Button, new() { Name = "Continue" });
        await next.ClickAsync();
        await Expect(StepHeading(page, "Voice provider")).ToBeVisibleAsync();
        await next.ClickAsync();
        await page.GetByRole(AriaRole.Checkbox, new() { Name = "Arabic", Exact = true }).CheckAsync();
        await Expect(page.GetByRole(AriaRole.Checkbox, new() { Name = "fr-CA" })).ToHaveCountAsync(0);
        await Expect(SaveStatus(page)).ToHaveAttributeAsync("data-save-status", "saved");

        var state = await StateAsync(tab);
        Assert.Equal("fr-CA", state.GetProperty("profile").GetProperty("locale").GetString());
        Assert.Contains("ar", state.GetProperty("persona").GetProperty("languages").EnumerateArray().Select(l => l.GetString()));
        await tab.AssertCleanAsync();
    }

    [Fact]
    public async Task TheLaunchListOnAPhoneStartsEverySentenceAtTheSameEdge()
    {
        if (browser.Skip(output)) { return; }
        await using var tab = await SignUpAsync(width: 375);
        var page = tab.Page;
        await PassProfileAsync(page);
        await ResumeAtAsync(tab, "done");
        await page.ReloadAsync();
        await Expect(StepHeading(page, "Launch")).ToBeVisibleAsync();
        var missing = page.GetByRole(AriaRole.Region, new() { NameRegex = new Regex("items still missing") });
        await Expect(missing.GetByText("Add the Twilio account SID and auth token")).ToBeVisibleAsync();
        // A short sentence sat beside its step's link and a long one wrapped under it: the list read ragged.
        var edges = await missing.Locator("li").EvaluateAllAsync<double[][]>(
            "items => items.map(li => [li.getBoundingClientRect().left, li.querySelector('button').getBoundingClientRect().left, li.querySelector('button').nextElementSibling.getBoundingClientRect().left])");
        Assert.True(edges.Length >= 2, $"{edges.Length} missing items");
        foreach (var edge in edges)
        {
            Assert.InRange(edge[1] - edge[0], -1, 1);
            Assert.InRange(edge[2] - edge[0], -1, 1);
        }
        Assert.Equal(0, await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth - window.innerWidth"));
        await tab.AssertCleanAsync();
    }

    [Fact]
    public async Task SkippingEverySkippableStepCompletesWithTheMissingItemsListed()
    {
        if (browser.Skip(output)) { return; }
        await using var tab = await SignUpAsync();
        var page = tab.Page;
        await PassProfileAsync(page);
        foreach (var heading in new[] { "Persona", "Twilio", "Phone and hours", "Integrations", "Assistant", "Plan", "Launch" })
        {
            await page.GetByRole(AriaRole.Button, new() { Name = "Skip for now" }).ClickAsync();
            await Expect(StepHeading(page, heading)).ToBeVisibleAsync();
        }
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Skip for now" })).ToHaveCountAsync(0); // nothing to skip on the summary
        await page.GetByRole(AriaRole.Button, new() { Name = "Finish onboarding" }).ClickAsync();
        await Expect(page.GetByText("Onboarding is complete.")).ToBeVisibleAsync();
        var missing = page.GetByRole(AriaRole.Region, new() { NameRegex = new Regex("items still missing") });
        await Expect(missing.GetByText("Create the assistant")).ToBeVisibleAsync();
        await Expect(missing.GetByText("Add the Twilio account SID and auth token")).ToBeVisibleAsync();
        // The Free plan is chat only: how calls are answered and a phone number are not asked for.
        await Expect(missing.GetByText("Choose how calls are answered")).ToHaveCountAsync(0);
        await Expect(missing.GetByText("Attach a phone number")).ToHaveCountAsync(0);
        Assert.True(await missing.GetByText("skipped", new() { Exact = true }).CountAsync() >= 5);

        var state = await StateAsync(tab);
        Assert.Equal(JsonValueKind.String, state.GetProperty("completedAt").ValueKind);
        var skipped = state.GetProperty("skipped");
        foreach (var step in new[] { "voiceProvider", "persona", "twilio", "telephony", "integrations", "assistant", "plan" })
        {
            Assert.True(skipped.GetProperty(step).GetBoolean(), step + " should be skipped");
        }
        await tab.AssertCleanAsync();
    }

    [Fact]
    public async Task ConfiguringVapiInlineChecksTheKeyAgainstVapiAndContinues()
    {
        if (browser.Skip(output)) { return; }
        await using var tab = await SignUpAsync();
        var page = tab.Page;
        await PassProfileAsync(page);
        await page.GetByRole(AriaRole.Radio, new() { NameRegex = new Regex("^Vapi") }).CheckAsync();
        await page.GetByLabel("Vapi private API key").FillAsync(VapiSimulator.PrivateKey);
        await page.GetByRole(AriaRole.Button, new() { Name = "Save and check" }).ClickAsync();
        await Expect(page.GetByText("Vapi accepted the private key.")).ToBeVisibleAsync();
        await Expect(page.GetByText("vapi-…9fA2")).ToBeVisibleAsync(); // the preview, never the key
        await Expect(page.GetByLabel("Vapi private API key")).ToHaveValueAsync("");
        Assert.Contains(vapi!.Requests, r => r.Authorization == "Bearer " + VapiSimulator.PrivateKey);
        await page.GetByRole(AriaRole.Button, new() { Name = "Continue" }).ClickAsync();
        await Expect(StepHeading(page, "Persona")).ToBeVisibleAsync();

        var state = await StateAsync(tab);
        Assert.True(state.GetProperty("voiceProvider").GetProperty("vapi").GetProperty("configured").GetBoolean());
        Assert.DoesNotContain(state.GetProperty("missing").EnumerateArray(), m => m.GetProperty("step").GetString() == "voiceProvider");
        Assert.DoesNotContain(VapiSimulator.PrivateKey, await page.ContentAsync());
        await tab.AssertCleanAsync();
    }

    [Fact]
    public async Task GoingToSettingsMidWizardAndComingBackResumesAtTheSameStep()
    {
        if (browser.Skip(output)) { return; }
        await using var tab = await SignUpAsync();
        var page = tab.Page;
        await PassProfileAsync(page);
        await StepButton(page, "Twilio").ClickAsync();
        await Expect(StepHeading(page, "Twilio")).ToBeVisibleAsync();
        await Expect(SaveStatus(page)).ToHaveAttributeAsync("data-save-status", "saved");
        await page.GetByRole(AriaRole.Link, new() { Name = "Go to Settings and come back" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("/settings/credentials\\?returnTo=(%2F|/)onboarding$"));

        var card = page.GetByRole(AriaRole.Region, new() { Name = "Twilio" });
        await card.GetByLabel("Account SID").FillAsync("AC" + new string('a', 32));
        await card.GetByLabel("Auth token").FillAsync("twilio-auth-token-0001");
        await card.GetByLabel("SMS sender").FillAsync("+15145550100");
        await card.GetByRole(AriaRole.Button, new() { Name = "Save", Exact = true }).ClickAsync();
        await Expect(card.GetByText("Configured", new() { Exact = true })).ToBeVisibleAsync();
        await Expect(card.GetByText("+15145550100")).ToBeVisibleAsync();

        await page.GetByRole(AriaRole.Link, new() { Name = "Back to onboarding" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("/onboarding$"));
        await Expect(StepHeading(page, "Twilio")).ToBeVisibleAsync();
        await Expect(StepButton(page, "Twilio")).ToHaveAttributeAsync("aria-current", "step");
        await Expect(page.GetByText("+15145550100")).ToBeVisibleAsync(); // the sender saved in Settings, read fresh

        // A full reload resumes there too (the step is stored server-side), and an off-site returnTo is ignored.
        await page.ReloadAsync();
        await Expect(StepHeading(page, "Twilio")).ToBeVisibleAsync();
        await page.GotoAsync("/settings/credentials?returnTo=https%3A%2F%2Fevil.example%2F");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Credentials", Level = 1 })).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = "Back to onboarding" })).ToHaveCountAsync(0);
        await tab.AssertCleanAsync();
    }

    [Fact]
    public async Task TheAssistantIsCreatedFromTheFrenchPlumbingTemplate()
    {
        if (browser.Skip(output)) { return; }
        await using var tab = await SignUpAsync();
        var page = tab.Page;
        await PassProfileAsync(page);
        await StepButton(page, "Assistant").ClickAsync();
        // Each first message is quoted in its own language (the English ones were shown « Hello, … »).
        var plumbing = page.GetByRole(AriaRole.Button, new() { NameRegex = new Regex("Plumbing receptionist") });
        await Expect(plumbing).ToContainTextAsync("“Hello");
        await page.GetByLabel("Template language").SelectOptionAsync("fr");
        await Expect(plumbing).ToContainTextAsync(new Regex("«\\s?Bonjour"));
        // The template's name is a label of the (English) dashboard; what it fills in is French.
        await plumbing.ClickAsync();
        await Expect(page.GetByLabel("Assistant name")).ToHaveValueAsync("Paul");
        await Expect(page.GetByLabel("Instructions")).ToHaveValueAsync(new Regex("Ne transfère jamais l'appel"));
        await page.GetByLabel("On-call number (texted about emergencies)").FillAsync("514 555 0111");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create the assistant" }).ClickAsync();
        await Expect(page.GetByText("Your assistant: Paul")).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Update the assistant" })).ToBeVisibleAsync();

        var list = await tab.Context.APIRequest.GetAsync("/api/v1/assistants");
        var assistant = (await list.JsonAsync())!.Value.EnumerateArray().Single();
        Assert.Equal("Paul", assistant.GetProperty("name").GetString());
        Assert.Contains("plombier de garde est texté", assistant.GetProperty("instructions").GetString());
        Assert.Equal(["fr-CA", "en-US"], assistant.GetProperty("languages").EnumerateArray().Select(l => l.GetString()));
        Assert.True(assistant.GetProperty("isDefault").GetBoolean());
        Assert.Equal("+15145550111", assistant.GetProperty("alertPolicy").GetProperty("onCallNumbers")[0].GetString()); // emergencies reach someone
        await tab.AssertCleanAsync();
    }

    [Fact]
    public async Task AnEditIsAutosavedAndSurvivesAReload()
    {
        if (browser.Skip(output)) { return; }
        await using var tab = await SignUpAsync();
        var page = tab.Page;
        await PassProfileAsync(page);
        await StepButton(page, "Persona").ClickAsync();
        var job = page.GetByLabel("Job to be done");
        await job.FillAsync("Answer after-hours calls for Plomberie Ava");
        await Expect(SaveStatus(page)).ToHaveAttributeAsync("data-save-status", "dirty");
        await Expect(SaveStatus(page)).ToHaveAttributeAsync("data-save-status", "saved"); // debounced, no blur, no button
        await page.ReloadAsync();
        await Expect(StepHeading(page, "Persona")).ToBeVisibleAsync();
        await Expect(page.GetByLabel("Job to be done")).ToHaveValueAsync("Answer after-hours calls for Plomberie Ava");

        // Leaving the page before the debounce fires still saves (keep-alive request on beforeunload).
        await page.GetByLabel("Guidelines").FillAsync("Never quote prices.");
        await page.GotoAsync("/calls");
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while ((await StateAsync(tab)).GetProperty("persona").GetProperty("guidelines").GetString() != "Never quote prices.")
        {
            Assert.True(DateTime.UtcNow < deadline, "the edit made just before leaving was not saved");
            await Task.Delay(100);
        }
        await page.GotoAsync("/onboarding");
        await Expect(StepHeading(page, "Persona")).ToBeVisibleAsync();

        // Business hours with a holiday are saved the same way.
        await StepButton(page, "Phone and hours").ClickAsync();
        await page.GetByRole(AriaRole.Group, new() { Name = "Saturday", Exact = true }).GetByRole(AriaRole.Checkbox).CheckAsync();
        var holiday = page.GetByRole(AriaRole.Group, new() { Name = "Holiday date" });
        await holiday.GetByLabel("day").FillAsync("25");
        await holiday.GetByLabel("month").SelectOptionAsync("12");
        await holiday.GetByLabel("year").FillAsync("2026");
        await page.GetByRole(AriaRole.Button, new() { Name = "Add holiday" }).ClickAsync();
        await Expect(SaveStatus(page)).ToHaveAttributeAsync("data-save-status", "saved");
        var hours = (await StateAsync(tab)).GetProperty("telephony").GetProperty("businessHours");
        Assert.Equal("09:00-17:00", hours.GetProperty("weekly").GetProperty("saturday")[0].GetString());
        Assert.Equal("2026-12-25", hours.GetProperty("holidays")[0].GetString());
        await tab.AssertCleanAsync();
    }

    [Fact]
    public async Task AFrenchOwnersWarningIsWordedInFrenchWithoutTheApiFieldName()
    {
        if (browser.Skip(output)) { return; }
        await using var tab = await SignUpAsync("fr-CA");
        var page = tab.Page;
        await page.GotoAsync("/onboarding");
        await page.Locator("#main nav ol > li > button").Nth(2).ClickAsync(); // Personnage
        await page.GetByLabel("Courriel de secours (si le texto ne passe pas)").FillAsync("pas-un-courriel");
        await Expect(SaveStatus(page)).ToHaveAttributeAsync("data-save-status", "saved");
        var warnings = page.GetByRole(AriaRole.Status).Filter(new() { HasText = "Vérifiez ces points du dernier enregistrement" });
        await Expect(warnings).ToContainTextAsync("Personnage — Le courriel de secours n’est pas une adresse valide. Non enregistré.");
        var text = await warnings.InnerTextAsync();
        Assert.DoesNotContain("fallbackEmail", text);
        Assert.DoesNotContain("not a valid email address", text);
        await tab.AssertCleanAsync();
    }

    [Fact]
    public async Task TheStepperJumpsToAnyStepAndTheJumpIsRemembered()
    {
        if (browser.Skip(output)) { return; }
        await using var tab = await SignUpAsync();
        var page = tab.Page;
        await page.GotoAsync("/onboarding");
        await StepButton(page, "Plan").ClickAsync();
        await Expect(StepHeading(page, "Plan")).ToBeVisibleAsync();
        await Expect(SaveStatus(page)).ToHaveAttributeAsync("data-save-status", "saved");
        Assert.Equal("plan", (await StateAsync(tab)).GetProperty("currentStep").GetString());
        await StepButton(page, "Integrations").ClickAsync();
        await page.GetByLabel("Calendar").SelectOptionAsync("google-calendar");
        await Expect(SaveStatus(page)).ToHaveAttributeAsync("data-save-status", "saved");
        await page.ReloadAsync();
        await Expect(StepHeading(page, "Integrations")).ToBeVisibleAsync();
        await Expect(page.GetByLabel("Calendar")).ToHaveValueAsync("google-calendar");
        await StepButton(page, "Profile").ClickAsync();
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Skip for now" })).ToHaveCountAsync(0); // the profile cannot be skipped
        await tab.AssertCleanAsync();
    }

    /// <summary>True when the current step's button lies wholly inside the step strip's visible box (the strip scrolls sideways).</summary>
    private const string CurrentStepInView = """
        () => {
          const button = document.querySelector('#main nav [aria-current=step]');
          if (!button) return false;
          const strip = button.closest('nav').getBoundingClientRect();
          const box = button.getBoundingClientRect();
          return box.width > 0 && box.left >= strip.left - 1 && box.right <= strip.right + 1;
        }
        """;

    [Theory]
    [InlineData("en-CA", "done", "Skip for now", "skipped")]
    [InlineData("ar", "مكتملة", "تخطَّ الآن", "تم التخطي")]
    public async Task OnAPhoneTheStepStripScrollsToTheCurrentStep(string locale, string doneMark, string skip, string skippedMark)
    {
        if (browser.Skip(output)) { return; }
        await using var tab = await SignUpAsync(locale, 375);
        // Resumed at step 7 of 9: at 375 px the strip's first three steps fill the screen.
        await ResumeAtAsync(tab, "assistant");
        var page = tab.Page;
        await page.GotoAsync("/onboarding");
        await Expect(page.Locator("#main nav [aria-current=step]")).ToContainTextAsync("7.");
        await page.WaitForFunctionAsync(CurrentStepInView);
        // Moving on with a button under the form (not the strip) brings the next step into view as well. Skipping the
        // assistant: the step changes at once, the "(skipped)" mark on step 7 comes with the saved state and widens the strip.
        await page.GetByRole(AriaRole.Button, new() { Name = skip, Exact = true }).ClickAsync();
        await Expect(page.Locator("#main nav [aria-current=step]")).ToContainTextAsync("8.");
        await Expect(page.Locator("#main nav li").Nth(6)).ToContainTextAsync(skippedMark);
        await page.WaitForFunctionAsync(CurrentStepInView);
        // Skipping the plan, which the sign-up plan already makes done: it stays ticked, not "✓ 8. Plan (skipped)" (both at
        // once); the last step must be wholly in view.
        await page.GetByRole(AriaRole.Button, new() { Name = skip, Exact = true }).ClickAsync();
        await Expect(page.Locator("#main nav [aria-current=step]")).ToContainTextAsync("9.");
        await Expect(page.Locator("#main nav li").Nth(6)).ToContainTextAsync(skippedMark);
        await Expect(page.Locator("#main nav li").Nth(7)).ToContainTextAsync(doneMark); // the mark read out beside the tick
        await Expect(page.Locator("#main nav li").Nth(7)).Not.ToContainTextAsync(skippedMark);
        await page.WaitForFunctionAsync(CurrentStepInView);
        await tab.AssertCleanAsync();
    }

    [Fact]
    public async Task TheVoiceProviderStepIsNotTickedBeforeAProviderIsChosen()
    {
        if (browser.Skip(output)) { return; }
        // A new organisation is on the chat-only sign-up plan, where the server lists nothing missing for the voice step.
        await using var tab = await SignUpAsync();
        var page = tab.Page;
        await page.GotoAsync("/onboarding");
        await Expect(StepButton(page, "Plan")).ToHaveAccessibleNameAsync(new Regex(@"^8\. Plan\s*\(done\)$")); // the mark is read out where it is shown
        await Expect(StepButton(page, "Voice provider")).ToHaveAccessibleNameAsync("2. Voice provider");
        // Nor is a number needed on that plan, and the hours hold their defaults: step 5 waits for a number attached.
        await Expect(StepButton(page, "Phone and hours")).ToHaveAccessibleNameAsync("5. Phone and hours");
        await StepButton(page, "Voice provider").ClickAsync();
        await Expect(StepHeading(page, "Voice provider")).ToBeVisibleAsync();
        await page.GetByRole(AriaRole.Radio, new() { NameRegex = new Regex("^Vapi") }).CheckAsync();
        // The choice's save lands first: the warning it brings back pushes the form down, and a click on Continue made while
        // it arrived could land where the button was (CI, once, under the whole suite's load: the wizard stayed on step 2).
        await Expect(page.GetByRole(AriaRole.Status).Filter(new() { HasText = "Vapi needs its private API key" })).ToBeVisibleAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Continue" }).ClickAsync();
        await Expect(StepHeading(page, "Persona")).ToBeVisibleAsync();
        await Expect(StepButton(page, "Voice provider")).ToHaveAccessibleNameAsync(new Regex(@"^2\. Voice provider\s*\(done\)$"));
        await tab.AssertCleanAsync();
    }

    [Fact]
    public async Task AnArabicOwnerReadsTheTemplateNamesInArabic()
    {
        if (browser.Skip(output)) { return; }
        await using var tab = await SignUpAsync("ar");
        await ResumeAtAsync(tab, "persona");
        var page = tab.Page;
        await page.GotoAsync("/onboarding");
        // The gallery is English or French (what the assistant speaks); its names are labels of the dashboard.
        var picker = page.GetByLabel("ابدأ من قالب (اختياري)");
        await Expect(picker.Locator("option", new() { HasText = "موظف استقبال للسباكة" })).ToHaveCountAsync(1);
        Assert.DoesNotContain("receptionist", await picker.InnerTextAsync(), StringComparison.OrdinalIgnoreCase);
        await page.Locator("#main nav ol > li > button").Nth(6).ClickAsync(); // المساعد
        var gallery = page.GetByRole(AriaRole.Region, new() { Name = "قوالب حسب المهنة" });
        await Expect(gallery.GetByRole(AriaRole.Button, new() { NameRegex = new Regex("موظف استقبال للسباكة") })).ToBeVisibleAsync();
        Assert.DoesNotContain("receptionist", await gallery.InnerTextAsync(), StringComparison.OrdinalIgnoreCase);
        await tab.AssertCleanAsync();
    }

    [Fact]
    public async Task AFrenchOwnerReadsThePickedHolidayAndHoursInFrenchWhateverChromiumsLanguage()
    {
        if (browser.Skip(output)) { return; }
        // Chromium draws its date and time pickers in its own language (12/25/2026, 05:00 PM here), not the page's, even
        // with a lang attribute: the holiday is typed as day, month (named) and year in French, the hours as an hour said
        // in French and minutes, and the range is read back in French beside them.
        await using var tab = await SignUpAsync("fr-CA");
        await ResumeAtAsync(tab, "telephony");
        var page = tab.Page;
        await page.GotoAsync("/onboarding");
        var date = page.GetByRole(AriaRole.Group, new() { Name = "Date de congé" });
        await date.GetByLabel("jour").FillAsync("25");
        await date.GetByLabel("mois").SelectOptionAsync(new SelectOptionValue { Label = "décembre" });
        await date.GetByLabel("année").FillAsync("2026");
        await page.GetByRole(AriaRole.Button, new() { Name = "Ajouter un congé" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Retirer le vendredi 25 décembre 2026" })).ToBeVisibleAsync();
        var monday = page.GetByRole(AriaRole.Group, new() { Name = "Lundi", Exact = true });
        var open = monday.GetByRole(AriaRole.Checkbox);
        if (!await open.IsCheckedAsync())
        {
            await open.CheckAsync();
        }
        var opens = monday.GetByRole(AriaRole.Group, new() { Name = "Lundi : ouverture à" });
        await opens.GetByRole(AriaRole.Combobox, new() { Name = "heure" }).SelectOptionAsync(new SelectOptionValue { Label = "08 h" });
        await opens.GetByRole(AriaRole.Textbox, new() { Name = "minute" }).FillAsync("30");
        await Expect(monday).ToContainTextAsync(new Regex(@"8 h 30 – \d{1,2} h \d\d")); // not "08:30 AM"
        await tab.AssertCleanAsync();
    }

    /// <summary>
    /// A French owner types a day's hours in French, on a 24-hour clock (an outside probe: native time inputs drew "08:30 AM"
    /// on the French page, the time said again in French beside them), and the API gets the same "HH:MM-HH:MM" as before.
    /// </summary>
    [Fact]
    public async Task AFrenchOwnerTypesBusinessHoursOnATwentyFourHourClockAndTheyAreSavedAsBefore()
    {
        if (browser.Skip(output)) { return; }
        await using var tab = await SignUpAsync("fr-CA");
        await ResumeAtAsync(tab, "telephony");
        var page = tab.Page;
        await page.GotoAsync("/onboarding");
        var tuesday = page.GetByRole(AriaRole.Group, new() { Name = "Mardi", Exact = true });
        var open = tuesday.GetByRole(AriaRole.Checkbox);
        if (!await open.IsCheckedAsync())
        {
            await open.CheckAsync();
        }
        var opens = tuesday.GetByRole(AriaRole.Group, new() { Name = "Mardi : ouverture à" });
        var closes = tuesday.GetByRole(AriaRole.Group, new() { Name = "Mardi : fermeture à" });
        var opensHour = opens.GetByRole(AriaRole.Combobox, new() { Name = "heure" });
        // The hours as a French reader writes them, midnight to 23 h, with no AM/PM anywhere in the day's controls.
        await Expect(opensHour.Locator("option")).ToHaveCountAsync(24);
        await Expect(opensHour.Locator("option").Nth(17)).ToHaveTextAsync(new Regex(@"^17\sh$"));
        await Expect(tuesday.Locator("option", new() { HasTextRegex = new Regex(@"AM|PM|a\.m\.|p\.m\.", RegexOptions.IgnoreCase) })).ToHaveCountAsync(0);
        await Expect(tuesday.Locator("input[type=time]")).ToHaveCountAsync(0);

        await opensHour.SelectOptionAsync(new SelectOptionValue { Label = "07 h" });
        await opens.GetByRole(AriaRole.Textbox, new() { Name = "minute" }).FillAsync("45");
        await closes.GetByRole(AriaRole.Combobox, new() { Name = "heure" }).SelectOptionAsync(new SelectOptionValue { Label = "18 h" });
        await closes.GetByRole(AriaRole.Textbox, new() { Name = "minute" }).FillAsync("30");
        await Expect(tuesday).ToContainTextAsync(new Regex(@"7 h 45 – 18 h 30"));

        // Minutes past 59 are said to be wrong, and the last good time is kept.
        var closesMinute = closes.GetByRole(AriaRole.Textbox, new() { Name = "minute" });
        await closesMinute.FillAsync("75");
        await Expect(closesMinute).ToHaveAttributeAsync("aria-invalid", "true");
        await Expect(tuesday).ToContainTextAsync(new Regex(@"7 h 45 – 18 h 30"));
        await closesMinute.FillAsync("30");

        // Autosaved in the API's shape, unchanged: "HH:MM-HH:MM" on 24 hours.
        var deadline = DateTime.UtcNow.AddSeconds(15);
        string? saved = null;
        while (saved != "07:45-18:30")
        {
            Assert.True(DateTime.UtcNow < deadline, $"Tuesday's hours were saved as {saved}");
            await Task.Delay(100);
            var weekly = (await StateAsync(tab)).GetProperty("telephony").GetProperty("businessHours").GetProperty("weekly");
            saved = weekly.TryGetProperty("tuesday", out var day) ? day[0].GetString() : null;
        }
        await tab.AssertCleanAsync();
    }

    /// <summary>
    /// The horizontal centres of a day's "from" and "to" times (its two inner groups) and of the two times read back beside
    /// them, in that order (the read-back times are the group's two <c>bdi</c> elements).
    /// </summary>
    private const string HoursCentres = """
        group => [...group.querySelectorAll('[role=group]'), ...group.querySelectorAll('bdi')]
          .map(e => { const r = e.getBoundingClientRect(); return r.left + r.width / 2; })
        """;

    [Theory]
    [InlineData("ar", "الاثنين", true)]
    [InlineData("en-CA", "Monday", false)]
    public async Task ADaysHoursReadFromOpeningToClosingInThePagesDirection(string locale, string monday, bool rightToLeft)
    {
        if (browser.Skip(output)) { return; }
        // In Arabic the pickers ran left to right (from at the left) while the range written out beside them ran right to
        // left (from at the right): one line read "from-to" both ways. Both now start where the page's lines start.
        await using var tab = await SignUpAsync(locale);
        await ResumeAtAsync(tab, "telephony");
        var page = tab.Page;
        await page.GotoAsync("/onboarding");
        var day = page.GetByRole(AriaRole.Group, new() { Name = monday, Exact = true });
        var open = day.GetByRole(AriaRole.Checkbox);
        if (!await open.IsCheckedAsync())
        {
            await open.CheckAsync();
        }
        await Expect(day.GetByRole(AriaRole.Group)).ToHaveCountAsync(2);
        await Expect(day.Locator("bdi")).ToHaveCountAsync(2);
        var x = await day.EvaluateAsync<double[]>(HoursCentres);
        Assert.Equal(4, x.Length);
        var (fromInput, toInput, fromText, toText) = (x[0], x[1], x[2], x[3]);
        Assert.True(rightToLeft ? fromInput > toInput : fromInput < toInput, $"pickers: from at {fromInput}, to at {toInput}");
        Assert.True(rightToLeft ? fromText > toText : fromText < toText, $"written out: from at {fromText}, to at {toText}");
        await tab.AssertCleanAsync();
    }

    [Theory]
    [InlineData("en-CA", "ltr", 1280)]
    [InlineData("fr-CA", "ltr", 1280)]
    [InlineData("he-IL", "rtl", 375)]
    [InlineData("ar", "rtl", 375)]
    public async Task EveryStepRendersInEachLanguageWithoutAMissingKey(string locale, string dir, int width)
    {
        if (browser.Skip(output)) { return; }
        await using var tab = await SignUpAsync(locale, width);
        var page = tab.Page;
        await page.GotoAsync("/onboarding");
        await Expect(page.Locator("html")).ToHaveAttributeAsync("dir", dir);
        var steps = page.Locator("#main nav ol > li > button");
        await Expect(steps).ToHaveCountAsync(9);
        for (var i = 0; i < 9; i++)
        {
            await steps.Nth(i).ClickAsync();
            await Expect(steps.Nth(i)).ToHaveAttributeAsync("aria-current", "step");
            await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 2 }).First).ToBeVisibleAsync();
            if (i == 6)
            {
                await Expect(page.GetByRole(AriaRole.Button, new() { NameRegex = new Regex("Paul") }).First).ToBeVisibleAsync(); // the gallery loaded
            }
            var overflow = await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth > window.innerWidth + 1");
            Assert.False(overflow, $"step {i + 1} overflows horizontally at {width}px in {locale}");
        }
        await page.GotoAsync("/settings/credentials?returnTo=%2Fonboarding");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Region)).ToHaveCountAsync(3);
        var text = await page.InnerTextAsync("body");
        Assert.DoesNotMatch(@"\b(onboarding|credentials)\.[a-zA-Z]", text); // no raw key on screen
        await tab.AssertCleanAsync(); // a missing translation key is logged as a console error
    }

    [Fact]
    public async Task CredentialsShowPreviewsOnlyAndCanBeCheckedReplacedAndDeleted()
    {
        if (browser.Skip(output)) { return; }
        await using var tab = await SignUpAsync(dark: true, axe: true);
        var page = tab.Page;
        await page.GotoAsync("/settings/credentials");
        var card = page.GetByRole(AriaRole.Region, new() { Name = "Vapi" });
        await Expect(card.GetByText("Not configured", new() { Exact = true })).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = "Back to onboarding" })).ToHaveCountAsync(0); // no returnTo, no banner

        await card.GetByLabel("Vapi private API key").FillAsync("short");
        await card.GetByRole(AriaRole.Button, new() { Name = "Save", Exact = true }).ClickAsync();
        await Expect(card.GetByRole(AriaRole.Alert)).ToBeVisibleAsync(); // the API's 422, as a message
        tab.Errors.Clear(); // Chromium logs the 422 as a failed resource
        await card.GetByLabel("Vapi private API key").FillAsync(VapiSimulator.PrivateKey);
        await card.GetByRole(AriaRole.Button, new() { Name = "Save", Exact = true }).ClickAsync();
        await Expect(card.GetByText("vapi-…9fA2")).ToBeVisibleAsync();
        Assert.DoesNotContain(VapiSimulator.PrivateKey, await page.ContentAsync());

        await card.GetByRole(AriaRole.Button, new() { Name = "Check", Exact = true }).ClickAsync();
        await Expect(card.GetByText("Vapi accepted the private key.")).ToBeVisibleAsync();

        await card.GetByRole(AriaRole.Button, new() { Name = "Replace" }).ClickAsync();
        await card.GetByLabel("Vapi private API key").FillAsync("vapi-other-key-0002-7xQ9");
        await card.GetByRole(AriaRole.Button, new() { Name = "Save replacement" }).ClickAsync();
        await Expect(card.GetByText("vapi-…7xQ9")).ToBeVisibleAsync();
        await card.GetByRole(AriaRole.Button, new() { Name = "Check", Exact = true }).ClickAsync();
        await Expect(card.GetByText("Check failed")).ToBeVisibleAsync(); // the simulator only knows the first key

        Assert.Empty(await tab.SeriousAxeViolationsAsync());
        await card.GetByRole(AriaRole.Button, new() { Name = "Delete" }).ClickAsync();
        await card.GetByRole(AriaRole.Button, new() { Name = "Confirm delete" }).ClickAsync();
        await Expect(card.GetByText("Not configured", new() { Exact = true })).ToBeVisibleAsync();
        var list = await tab.Context.APIRequest.GetAsync("/api/v1/credentials");
        Assert.False((await list.JsonAsync())!.Value.EnumerateArray().Single(c => c.GetProperty("provider").GetString() == "vapi").GetProperty("configured").GetBoolean());
        await tab.AssertCleanAsync();
    }

    [Fact]
    public async Task TheWizardHasNoSeriousAccessibilityViolationInDarkMode()
    {
        if (browser.Skip(output)) { return; }
        await using var tab = await SignUpAsync(dark: true, axe: true);
        var page = tab.Page;
        await page.GotoAsync("/onboarding");
        await Expect(StepHeading(page, "Profile")).ToBeVisibleAsync();
        Assert.Empty(await tab.SeriousAxeViolationsAsync());
        await StepButton(page, "Assistant").ClickAsync();
        await Expect(page.GetByRole(AriaRole.Button, new() { NameRegex = new Regex("Paul") }).First).ToBeVisibleAsync();
        await StepButton(page, "Phone and hours").ClickAsync();
        await Expect(StepHeading(page, "Phone and hours")).ToBeVisibleAsync();
        Assert.Empty(await tab.SeriousAxeViolationsAsync());
        await tab.AssertCleanAsync();
    }
}
