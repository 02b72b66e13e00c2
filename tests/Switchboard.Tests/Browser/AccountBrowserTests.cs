using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.EntityFrameworkCore;
using Microsoft.Playwright;
using Switchboard.Platform.Cli;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace Switchboard.Tests.Browser;

/// <summary>
/// Accounts in Chromium against the real host: an invitation read from the local mailbox (operator page and API) and
/// accepted, the member then seeing only what the role allows; password reset end to end; sign-up landing signed in;
/// the lockout message. Mail goes through the outbox (driven here) into the local mailbox (no SMTP, not Production).
/// </summary>
[Trait("Category", "Browser")]
[Trait("Category", "Database")]
public sealed class AccountBrowserTests(BrowserFixture browser, ITestOutputHelper output) : IClassFixture<BrowserFixture>
{

    /// <summary>A tab signed in as an operator (a new owner of the fixture's tenant, granted with the CLI command).</summary>
    private async Task<Tab> OperatorTabAsync()
    {
        var email = await browser.Host.AddOwnerAsync(browser.Tenant.Id, BrowserFixture.Password);
        Assert.Equal(0, await GrantOperatorCommand.RunAsync(browser.Host.Services, email, revoke: false, CancellationToken.None));
        var tab = await browser.OpenAsync(signIn: false);
        var login = await tab.Context.APIRequest.PostAsync("/api/v1/auth/login", new() { DataObject = new { email, password = BrowserFixture.Password } });
        Assert.True(login.Ok, $"operator login {login.Status}");
        return tab;
    }

    /// <summary>The path and query of the newest mailbox link to <paramref name="to"/> under <paramref name="path"/>, read through the operator API.</summary>
    private async Task<string> MailedLinkAsync(Tab operatorTab, string to, string path)
    {
        await browser.Host.Outbox.ProcessDueAsync(CancellationToken.None);
        var response = await operatorTab.Context.APIRequest.GetAsync("/api/v1/operator/mailbox?to=" + Uri.EscapeDataString(to));
        Assert.True(response.Ok, $"mailbox {response.Status}");
        var page = (await response.JsonAsync())!.Value;
        foreach (var item in page.GetProperty("items").EnumerateArray())
        {
            var match = Regex.Match(item.GetProperty("textBody").GetString()!, "https?://[^/\\s]+(" + Regex.Escape(path) + "\\?token=\\S+)");
            if (match.Success)
            {
                return match.Groups[1].Value;
            }
        }
        throw new Xunit.Sdk.XunitException($"No mail to {to} with a {path} link: {page}");
    }

    [Fact]
    public async Task AnInvitationReadFromTheMailboxIsAcceptedAndTheMemberSeesOnlyWhatTheRoleAllows()
    {
        if (browser.Skip(output)) { return; }
        await using var owner = await browser.OpenAsync(axe: true);
        await owner.Page.GotoAsync("/settings/team");
        await Expect(owner.Page.GetByRole(AriaRole.Heading, new() { Name = "Team", Exact = true })).ToBeVisibleAsync();
        var invitee = $"paul-{Guid.NewGuid():N}@drainfortin.test";
        await owner.Page.GetByLabel("Email").FillAsync(invitee);
        await owner.Page.GetByRole(AriaRole.Combobox, new() { Name = "Role", Exact = true }).SelectOptionAsync("member");
        await owner.Page.GetByRole(AriaRole.Button, new() { Name = "Send the invitation" }).ClickAsync();
        await Expect(owner.Page.GetByRole(AriaRole.Status).Filter(new() { HasText = "Invitation emailed to" })).ToBeVisibleAsync();
        await Expect(owner.Page.GetByText(invitee, new() { Exact = true })).ToBeVisibleAsync();
        Assert.Empty(await owner.SeriousAxeViolationsAsync());
        await owner.AssertCleanAsync();

        // The operator reads the mail on the mailbox page; the invitee opens its link.
        await using var ops = await OperatorTabAsync();
        await browser.Host.Outbox.ProcessDueAsync(CancellationToken.None);
        await ops.Page.GotoAsync("/operator/mailbox");
        await ops.Page.GetByLabel("Recipient").FillAsync(invitee);
        var link = ops.Page.GetByRole(AriaRole.Link, new() { NameRegex = new Regex("invitations.accept.token=") });
        await Expect(link).ToHaveCountAsync(1);
        var href = await link.GetAttributeAsync("href");
        Assert.Equal(await MailedLinkAsync(ops, invitee, "/invitations/accept"), href);
        await ops.AssertCleanAsync();

        await using var member = await browser.OpenAsync(signIn: false, axe: true);
        await member.Page.GotoAsync(href!);
        await Expect(member.Page.GetByText("as Member")).ToBeVisibleAsync();
        Assert.Empty(await member.SeriousAxeViolationsAsync());
        await member.Page.GetByLabel("Your name").FillAsync("Paul Tremblay");
        await member.Page.GetByLabel("Choose a password").FillAsync("a long member password");
        await member.Page.GetByRole(AriaRole.Button, new() { Name = "Accept the invitation" }).ClickAsync();
        await Expect(member.Page.GetByRole(AriaRole.Heading, new() { Name = "Overview" })).ToBeVisibleAsync();

        await member.Page.GetByRole(AriaRole.Link, new() { Name = "Team" }).ClickAsync();
        await Expect(member.Page.GetByText("Only owners and admins can invite people")).ToBeVisibleAsync();
        await Expect(member.Page.GetByText("Paul Tremblay")).ToBeVisibleAsync();
        await Expect(member.Page.GetByRole(AriaRole.Button, new() { Name = "Send the invitation" })).ToHaveCountAsync(0);
        await Expect(member.Page.GetByRole(AriaRole.Button, new() { Name = "Remove" })).ToHaveCountAsync(0);
        await Expect(member.Page.GetByRole(AriaRole.Combobox, new() { NameRegex = new Regex("^Role of") })).ToHaveCountAsync(0);
        await Expect(member.Page.GetByRole(AriaRole.Link, new() { Name = "Mailbox" })).ToHaveCountAsync(0);
        await member.AssertCleanAsync();

        // The owner now sees the member and can change the role.
        await owner.Page.ReloadAsync();
        await Expect(owner.Page.GetByRole(AriaRole.Combobox, new() { Name = "Role of Paul Tremblay" })).ToBeVisibleAsync();
    }

    [Fact]
    public async Task APasswordResetByMailSetsANewPasswordThatSignsIn()
    {
        if (browser.Skip(output)) { return; }
        var email = await browser.Host.AddOwnerAsync(browser.Tenant.Id, BrowserFixture.Password);
        await using var tab = await browser.OpenAsync(signIn: false, axe: true);
        var page = tab.Page;
        await page.GotoAsync("/sign-in");
        await page.GetByRole(AriaRole.Link, new() { Name = "Forgot your password?" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Reset your password" })).ToBeVisibleAsync(); // not the sign-in form's Email field
        await page.GetByLabel("Email").FillAsync(email);
        await page.GetByRole(AriaRole.Button, new() { Name = "Send the link" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("If an account uses this email");
        Assert.Empty(await tab.SeriousAxeViolationsAsync());

        await using var ops = await OperatorTabAsync();
        var link = await MailedLinkAsync(ops, email, "/reset-password");
        await page.GotoAsync(link);
        await page.GetByLabel("New password", new() { Exact = true }).FillAsync("brand new reset password");
        await page.GetByLabel("Confirm the new password").FillAsync("brand new reset password");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save the new password" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("Your password is changed");
        await page.GetByRole(AriaRole.Link, new() { Name = "Sign in" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Sign in to Switchboard" })).ToBeVisibleAsync();
        await page.GetByLabel("Email").FillAsync(email);
        await page.GetByLabel("Password").FillAsync("brand new reset password");
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Overview" })).ToBeVisibleAsync();

        // The link works once.
        await page.GotoAsync(link);
        await page.GetByLabel("New password", new() { Exact = true }).FillAsync("another new password!");
        await page.GetByLabel("Confirm the new password").FillAsync("another new password!");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save the new password" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("already used or expired");
        tab.Errors.RemoveAll(e => e.Contains("status of 400", StringComparison.Ordinal)); // the refused token, logged by Chromium as a failed resource
        await tab.AssertCleanAsync();
    }

    [Fact]
    public async Task SigningUpCreatesTheOrganisationAndLandsSignedInOnASmallDarkScreen()
    {
        if (browser.Skip(output)) { return; }
        await using var tab = await browser.OpenAsync(signIn: false, width: 375, height: 800, dark: true, axe: true);
        var page = tab.Page;
        await page.GotoAsync("/sign-in");
        await page.GetByRole(AriaRole.Link, new() { Name = "Create an account" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("/sign-up$"));
        Assert.Empty(await tab.SeriousAxeViolationsAsync());
        var email = $"new-{Guid.NewGuid():N}@plomberie.test";
        await page.GetByLabel("Business name").FillAsync("Plomberie Nouvelle");
        await page.GetByLabel("Your name").FillAsync("Julie Roy");
        await page.GetByLabel("Email").FillAsync(email);
        await page.GetByLabel("Password").FillAsync("a long sign-up password");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create account" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex(browser.Host.ServerUri.Port + "/(onboarding)?$"));
        await Expect(page.GetByText("Please confirm your email")).ToBeVisibleAsync();
        var session = await (await tab.Context.APIRequest.GetAsync("/api/v1/auth/session")).JsonAsync();
        Assert.Equal("Plomberie Nouvelle", session!.Value.GetProperty("tenant").GetProperty("name").GetString());
        Assert.Equal("owner", session.Value.GetProperty("tenant").GetProperty("role").GetString());
        Assert.Equal(0, await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth - window.innerWidth")); // no sideways scrolling at 375 px
        await tab.AssertCleanAsync();
    }

    [Fact]
    public async Task SigningUpInQuebecStartsTheOrganisationInTheChosenZoneNotUtc()
    {
        if (browser.Skip(output)) { return; }
        await using var tab = await browser.OpenAsync(signIn: false, locale: "fr-CA", width: 375, height: 800, timezoneId: "America/Toronto");
        var page = tab.Page;
        await page.GotoAsync("/sign-up");
        var zone = page.GetByLabel("Fuseau horaire", new() { Exact = true });
        await Expect(zone).ToHaveAttributeAsync("data-zone", "America/Toronto"); // the browser's zone, offered first
        await page.GetByLabel("Nom de l’entreprise").FillAsync("Plomberie Fuseau");
        await page.GetByLabel("Courriel").FillAsync($"zone-{Guid.NewGuid():N}@plomberie.test");
        await page.GetByLabel("Mot de passe", new() { Exact = true }).FillAsync("a long sign-up password");
        await zone.FillAsync("Nulle part");
        await Expect(page.GetByText("Choisissez un fuseau horaire dans la liste")).ToBeHiddenAsync(); // not while typing
        await zone.PressAsync("Tab");
        await Expect(page.GetByText("Choisissez un fuseau horaire dans la liste")).ToBeVisibleAsync();
        // Text that names no zone is not sent as the last valid one: the form stays, the box is focused, its message beside it.
        await page.GetByRole(AriaRole.Button, new() { Name = "Créer le compte" }).ClickAsync();
        await Expect(zone).ToBeFocusedAsync();
        await Expect(page.GetByText("Choisissez un fuseau horaire dans la liste")).ToBeVisibleAsync();
        await Expect(page).ToHaveURLAsync(new Regex("/sign-up$"));
        // Montréal is no zone id (the tz database links America/Montreal to America/Toronto), yet it names one.
        await zone.FillAsync("Montréal");
        await zone.PressAsync("Tab");
        await Expect(zone).ToHaveAttributeAsync("data-zone", "America/Toronto");
        await Expect(zone).ToHaveValueAsync("heure de l’Est (Toronto)");
        await Expect(page.GetByText("Choisissez un fuseau horaire dans la liste")).ToBeHiddenAsync();
        // A city typed and sent with Enter, without leaving the box, is the zone sent.
        await zone.FillAsync("Vancouver");
        await zone.PressAsync("Enter");
        await Expect(page).ToHaveURLAsync(new Regex(browser.Host.ServerUri.Port + "/(onboarding)?$"));
        var state = await (await tab.Context.APIRequest.GetAsync("/api/v1/onboarding")).JsonAsync();
        Assert.Equal("America/Vancouver", state!.Value.GetProperty("profile").GetProperty("timeZone").GetString());
        Assert.Equal(0, await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth - window.innerWidth"));
        await tab.AssertCleanAsync();
    }

    /// <summary>
    /// A keyboard user who presses Enter on a form's button and is refused stays on that button, beside the error, in
    /// French at 375 px (an outside look: the button, disabled while the request ran, lost the focus to the page's body,
    /// so Tab started again from the top of the page). Seen on sign-in (wrong password) and sign-up (an email in use).
    /// </summary>
    [Fact]
    public async Task AKeyboardUserRefusedBySignInOrSignUpKeepsTheFocusOnTheFormsButton()
    {
        if (browser.Skip(output)) { return; }
        await using var tab = await browser.OpenAsync(signIn: false, locale: "fr-CA", width: 375, height: 800);
        var page = tab.Page;
        await page.GotoAsync("/sign-in");
        await page.GetByLabel("Courriel").FillAsync(browser.Email);
        await page.GetByLabel("Mot de passe").FillAsync("pas le bon mot de passe");
        await page.Keyboard.PressAsync("Tab");
        var signIn = page.GetByRole(AriaRole.Button, new() { Name = "Se connecter" });
        await Expect(signIn).ToBeFocusedAsync();
        await page.Keyboard.PressAsync("Enter");
        await Expect(page.GetByRole(AriaRole.Alert)).ToHaveTextAsync("Courriel ou mot de passe incorrect.");
        await Expect(signIn).ToBeFocusedAsync();

        await page.GotoAsync("/sign-up");
        await page.GetByLabel("Nom de l’entreprise").FillAsync("Plomberie Clavier");
        await page.GetByLabel("Courriel").FillAsync(browser.Email);
        await page.GetByLabel("Mot de passe", new() { Exact = true }).FillAsync("a long sign-up password");
        var create = page.GetByRole(AriaRole.Button, new() { Name = "Créer le compte" });
        await create.FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("Un compte utilise déjà ce courriel");
        await Expect(create).ToBeFocusedAsync();
        await Expect(page).ToHaveURLAsync(new Regex("/sign-up$"));
        tab.Errors.RemoveAll(e => e.Contains("status of 401", StringComparison.Ordinal) || e.Contains("status of 409", StringComparison.Ordinal));
        await tab.AssertCleanAsync();
    }

    [Fact]
    public async Task RepeatedWrongPasswordsShowTheLockoutMessage()
    {
        if (browser.Skip(output)) { return; }
        var email = await browser.Host.AddOwnerAsync(browser.Tenant.Id, BrowserFixture.Password);
        await using var tab = await browser.OpenAsync(signIn: false, locale: "fr-CA");
        var page = tab.Page;
        await page.GotoAsync("/sign-in");
        await page.GetByLabel("Courriel").FillAsync(email);
        for (var i = 0; i < 4; i++)
        {
            await page.GetByLabel("Mot de passe").FillAsync("mauvais mot de passe " + i);
            await page.GetByRole(AriaRole.Button, new() { Name = "Se connecter" }).ClickAsync();
            await Expect(page.GetByRole(AriaRole.Alert)).ToHaveTextAsync("Courriel ou mot de passe incorrect.");
        }
        await page.GetByLabel("Mot de passe").FillAsync("mauvais encore");
        await page.GetByRole(AriaRole.Button, new() { Name = "Se connecter" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("Ce compte est bloqué");
        await page.GetByLabel("Mot de passe").FillAsync(BrowserFixture.Password);
        // The message is already on screen: wait for this attempt's refusal (Chromium logs it) before checking again.
        await page.RunAndWaitForConsoleMessageAsync(() => page.GetByRole(AriaRole.Button, new() { Name = "Se connecter" }).ClickAsync(),
            new() { Predicate = m => m.Text.Contains("status of 429", StringComparison.Ordinal) });
        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("Ce compte est bloqué"); // even the right password, until the lockout ends
        tab.Errors.RemoveAll(e => e.Contains("status of 401", StringComparison.Ordinal) || e.Contains("status of 429", StringComparison.Ordinal));
        await tab.AssertCleanAsync();
    }

    [Fact]
    public async Task ASwitchToAnotherOrganisationThatCannotReachTheServerIsExplainedInTheReadersLanguage()
    {
        if (browser.Skip(output))
        {
            return;
        }
        var email = await browser.Host.AddOwnerAsync(browser.Tenant.Id, BrowserFixture.Password);
        var other = await browser.Host.CreateTenantAsync("Plomberie Autre");
        await browser.Host.WithDbAsync<int>(null, async db =>
        {
            var userId = await db.Users.Where(u => u.Email == email).Select(u => u.Id).SingleAsync();
            db.Memberships.Add(new Switchboard.Tenancy.Membership { Id = Guid.CreateVersion7(), TenantId = other.Id, UserId = userId, Role = "owner", CreatedAt = DateTimeOffset.UtcNow });
            return await db.SaveChangesAsync();
        });
        await using var tab = await browser.OpenAsync(locale: "fr-CA", signIn: false);
        var login = await tab.Context.APIRequest.PostAsync("/api/v1/auth/login", new() { DataObject = new { email, password = BrowserFixture.Password } });
        Assert.True(login.Ok, $"login {login.Status}");
        var page = tab.Page;
        await page.GotoAsync("/");
        await page.RouteAsync("**/api/v1/auth/switch-tenant", route => route.AbortAsync("connectionrefused"));
        await page.GetByRole(AriaRole.Combobox, new() { Name = "Entreprise" }).SelectOptionAsync(new SelectOptionValue { Label = "Plomberie Autre" });
        // Before: Chromium's own "Failed to fetch", in English on a French dashboard.
        await Expect(page.GetByRole(AriaRole.Alert).Filter(new() { HasText = "Switchboard" }))
            .ToHaveTextAsync("Impossible de joindre Switchboard. Vérifiez votre connexion et réessayez.");
        await Expect(page.GetByText("Failed to fetch")).ToHaveCountAsync(0);
    }
}
