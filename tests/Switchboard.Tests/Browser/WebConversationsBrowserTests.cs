using System.Net;
using System.Text;
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
/// Web conversations in the dashboard (Chromium, real host): a chat started through the widget's public endpoints shows
/// in Calls as a web chat, its detail carries the page, referrer, UTM and click ids and reads as a chat, in English and in
/// Arabic on a 375 px phone in dark mode; the Knowledge base page uploads a file and shows a refused one's error.
/// </summary>
[Trait("Category", "Browser")]
[Trait("Category", "Database")]
public sealed class WebConversationsBrowserTests(BrowserFixture browser, ITestOutputHelper output) : IClassFixture<BrowserFixture>
{
    private const string Site = "https://www.plomberie-fortin.example";
    private const string Page = Site + "/urgence?utm_source=google&utm_medium=cpc&utm_campaign=hiver&gclid=G-7788";


    /// <summary>A publishable key for the fixture's tenant with <see cref="Site"/> allowed, then one chat message through the widget API.</summary>
    private async Task ChatAsync(string text)
    {
        var host = browser.Host;
        var (key, _, hash) = PublishableKeys.Generate();
        await host.WithDbAsync(browser.Tenant.Id, async db =>
        {
            db.ApiKeys.Add(new ApiKey
            {
                Id = Guid.CreateVersion7(), TenantId = browser.Tenant.Id, Name = "widget", Kind = ApiKeyKinds.Publishable, Prefix = key[..12], Hash = hash,
                CreatedAt = DateTimeOffset.UtcNow,
            });
            var account = await TenantAccounts.GetOrCreateAsync(db, host.Services.GetRequiredService<PlanCatalog>(), browser.Tenant.Id, DateTimeOffset.UtcNow, CancellationToken.None);
            account.AllowedOrigins = [Site];
            return await db.SaveChangesAsync();
        });
        host.Services.GetRequiredService<TenantAccountCache>().Invalidate(browser.Tenant.Id);
        using var client = host.CreateClient();
        client.DefaultRequestHeaders.Add("Origin", Site);
        var visitor = new Visitor(client, new WidgetTenant(browser.Tenant, key));
        var started = await visitor.StartAsync(Page, "fr");
        Assert.Equal(HttpStatusCode.Created, started.StatusCode);
        await visitor.SayAsync(text);
    }

    [Fact]
    public async Task AWidgetChatShowsInCallsAsAWebChatWithItsAttributionAndReadsAsAChat()
    {
        if (browser.Skip(output)) { return; }
        const string words = "Bonjour, mon drain de cuisine est bouché depuis ce matin";
        await ChatAsync(words);

        await using (var tab = await browser.OpenAsync())
        {
            var page = tab.Page;
            await page.GotoAsync("/calls");
            // The channel filter offers the website.
            await page.GetByLabel("Channel").SelectOptionAsync("web");
            await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("channel=web"));
            var row = page.Locator("tbody tr").Filter(new() { Has = page.Locator("[data-channel=webChat]") });
            await Expect(row).ToHaveCountAsync(1);
            await Expect(row.Locator("[data-channel=webChat]")).ToHaveTextAsync("Web chat");

            await row.GetByRole(AriaRole.Link).ClickAsync();
            await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Where the visitor came from" })).ToBeVisibleAsync();
            var attribution = page.GetByTestId("call-attribution");
            await Expect(attribution).ToContainTextAsync(Page);
            await Expect(attribution).ToContainTextAsync("google");
            await Expect(attribution).ToContainTextAsync("hiver");
            await Expect(attribution).ToContainTextAsync("G-7788");
            await Expect(attribution).ToContainTextAsync("https://www.google.com/");
            await Expect(attribution.GetByRole(AriaRole.Link, new() { Name = Page })).ToHaveAttributeAsync("rel", "noopener noreferrer nofollow");

            // The transcript reads as a chat: the visitor on one side, the assistant on the other.
            var chat = page.GetByTestId("chat-transcript");
            await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Chat", Exact = true })).ToBeVisibleAsync();
            await Expect(chat.Locator("[data-role=visitor]")).ToContainTextAsync(words);
            await Expect(chat.Locator("[data-role=assistant]")).ToContainTextAsync("Drain Fortin");
            var visitorBox = (await chat.Locator("[data-role=visitor]").BoundingBoxAsync())!;
            var assistantBox = (await chat.Locator("[data-role=assistant]").BoundingBoxAsync())!;
            Assert.True(visitorBox.X < assistantBox.X, $"visitor at x={visitorBox.X}, assistant at x={assistantBox.X}: not on opposite sides");
            await tab.AssertCleanAsync();
        }

        // Arabic, right to left, on a 375 px phone in dark mode: the label is translated and nothing scrolls sideways.
        await using (var tab = await browser.OpenAsync(locale: "ar", width: 375, height: 812, dark: true))
        {
            var page = tab.Page;
            await page.GotoAsync("/calls?channel=web");
            await Expect(page.Locator("html")).ToHaveAttributeAsync("dir", "rtl");
            var label = page.Locator("tbody [data-channel=webChat]");
            await Expect(label).ToHaveTextAsync("دردشة الموقع");
            await page.Locator("tbody tr").First.GetByRole(AriaRole.Link).ClickAsync();
            await Expect(page.GetByTestId("call-attribution")).ToContainTextAsync("G-7788");
            // The widget's language by its name, not its code ("fr").
            await Expect(page.GetByTestId("call-attribution").GetByText("لغة الأداة", new() { Exact = true }).Locator("xpath=following-sibling::dd[1]")).ToHaveTextAsync("الفرنسية");
            Assert.True(await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth - window.innerWidth") <= 0, "the detail scrolls sideways at 375 px");
            await tab.AssertCleanAsync();
        }

        // The owner erases the visitor from the detail: the chat and its attribution are gone.
        await using (var tab = await browser.OpenAsync())
        {
            var page = tab.Page;
            await page.GotoAsync("/calls?channel=web");
            await page.Locator("tbody tr").First.GetByRole(AriaRole.Link).ClickAsync();
            await page.GetByRole(AriaRole.Button, new() { Name = "Erase this visitor…" }).ClickAsync();
            await page.GetByRole(AriaRole.Button, new() { Name = "Erase for good" }).ClickAsync();
            await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/calls$"));
            await Expect(page.Locator("tbody [data-channel=webChat]")).ToHaveCountAsync(0);
            Assert.Equal(0, await browser.Host.WithDbAsync(browser.Tenant.Id, db => Microsoft.EntityFrameworkCore.EntityFrameworkQueryableExtensions.CountAsync(db.WebConversations)));
            await tab.AssertCleanAsync();
        }
    }

    [Fact]
    public async Task TheKnowledgePageUploadsAFileAndShowsWhyAnotherIsRefused()
    {
        if (browser.Skip(output)) { return; }
        await using var tab = await browser.OpenAsync();
        var page = tab.Page;
        await page.GotoAsync("/");
        await page.GetByRole(AriaRole.Link, new() { Name = "Knowledge base" }).First.ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Knowledge base", Exact = true })).ToBeVisibleAsync();

        await page.GetByLabel("Title (optional)").FillAsync("Tarifs 2026");
        await page.Locator("input[type=file]").SetInputFilesAsync(new FilePayload
        {
            Name = "tarifs.md", MimeType = "text/markdown", Buffer = Encoding.UTF8.GetBytes("# Tarifs\n\n## Urgence\n\nLes soirs et fins de semaine : 175 $."),
        });
        await page.GetByRole(AriaRole.Button, new() { Name = "Add", Exact = true }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status).Filter(new() { HasText = "was added and indexed" })).ToContainTextAsync("Tarifs 2026");
        var document = page.GetByTestId("knowledge-document").Filter(new() { HasText = "Tarifs 2026" });
        await Expect(document).ToContainTextAsync("Markdown");
        await Expect(document).ToContainTextAsync("tarifs.md");
        await Expect(document).ToContainTextAsync("1 passage");
        await tab.AssertCleanAsync();

        // A Word file is refused by the host; the page shows the envelope's message, and nothing is added.
        await page.Locator("input[type=file]").SetInputFilesAsync(new FilePayload
        {
            Name = "devis.docx", MimeType = "application/vnd.openxmlformats-officedocument.wordprocessingml.document", Buffer = [0x50, 0x4B, 0x03, 0x04],
        });
        await page.GetByRole(AriaRole.Button, new() { Name = "Add", Exact = true }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alert).Filter(new() { HasText = "Upload a PDF" })).ToBeVisibleAsync();
        await Expect(page.GetByTestId("knowledge-document")).ToHaveCountAsync(1);

        // Hebrew, right to left, on a 375 px phone in dark mode: the list reads whole, nothing scrolls sideways.
        await using (var phone = await browser.OpenAsync(locale: "he", width: 375, height: 812, dark: true))
        {
            await phone.Page.GotoAsync("/settings/knowledge");
            await Expect(phone.Page.Locator("html")).ToHaveAttributeAsync("dir", "rtl");
            await Expect(phone.Page.GetByRole(AriaRole.Heading, new() { Name = "מאגר ידע", Exact = true })).ToBeVisibleAsync();
            await Expect(phone.Page.GetByTestId("knowledge-document")).ToContainTextAsync("קטע אחד");
            Assert.True(await phone.Page.EvaluateAsync<int>("() => document.documentElement.scrollWidth - window.innerWidth") <= 0, "the knowledge page scrolls sideways at 375 px");
            await phone.AssertCleanAsync();
        }

        // Re-index and delete.
        await document.GetByRole(AriaRole.Button, new() { Name = "Re-index" }).ClickAsync();
        await document.GetByRole(AriaRole.Button, new() { Name = "Delete" }).ClickAsync();
        await document.GetByRole(AriaRole.Button, new() { Name = "Delete for good" }).ClickAsync();
        await Expect(page.GetByTestId("knowledge-document")).ToHaveCountAsync(0);
        await Expect(page.GetByText("No documents yet")).ToBeVisibleAsync();
    }

    /// <summary>
    /// The knowledge page's file picker says "Choose a file" and the picked file's name in the dashboard's language (an
    /// outside look at fr-CA and Arabic at 375 px: Chromium drew "Choose File · No file chosen" in its own language inside
    /// the native input, whatever the page's), opens the browser's file dialog when its box is clicked, is reached with Tab
    /// and shows it has the focus, and is named by its label and described by the file it holds.
    /// </summary>
    [Theory]
    [InlineData("fr-CA", "Titre (facultatif)", "Fichier", "Choisir un fichier", "Aucun fichier choisi")]
    [InlineData("ar", "العنوان (اختياري)", "الملف", "اختر ملفًا", "لم يُختر أي ملف")]
    public async Task TheKnowledgePagesFilePickerSpeaksThePagesLanguage(string locale, string titleLabel, string fileLabel, string choose, string none)
    {
        if (browser.Skip(output)) { return; }
        await using var tab = await browser.OpenAsync(locale: locale, width: 375, height: 812);
        var page = tab.Page;
        await page.GotoAsync("/settings/knowledge");
        var picker = page.GetByRole(AriaRole.Button, new() { Name = fileLabel, Exact = true }); // a file input is a button to assistive technology
        await Expect(page.GetByText(choose, new() { Exact = true })).ToBeVisibleAsync();
        await Expect(page.GetByText(none, new() { Exact = true })).ToBeVisibleAsync();
        await Expect(picker).ToHaveAccessibleDescriptionAsync(none);

        var chooser = await page.RunAndWaitForFileChooserAsync(() => page.GetByText(choose, new() { Exact = true }).ClickAsync());
        await chooser.SetFilesAsync(new FilePayload { Name = "tarifs-été.md", MimeType = "text/markdown", Buffer = Encoding.UTF8.GetBytes("# Tarifs") });
        await Expect(page.GetByText("tarifs-été.md", new() { Exact = true })).ToBeVisibleAsync();
        await Expect(picker).ToHaveAccessibleDescriptionAsync("tarifs-été.md");
        await Expect(page.GetByText(none, new() { Exact = true })).ToHaveCountAsync(0);

        // From the title, Tab reaches the picker, and its box shows the focus ring.
        await page.GetByLabel(titleLabel, new() { Exact = true }).FocusAsync();
        await page.Keyboard.PressAsync("Tab");
        await Expect(picker).ToBeFocusedAsync();
        Assert.NotEqual("none", await picker.EvaluateAsync<string>("e => getComputedStyle(e.parentElement).outlineStyle"));
        Assert.True(await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth - window.innerWidth") <= 0, "the knowledge page scrolls sideways at 375 px");
        await tab.AssertCleanAsync();
    }
}
