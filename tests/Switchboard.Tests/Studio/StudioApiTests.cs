using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Studio;

/// <summary>
/// The API behind the dashboard's studio pages: the widget install snippet (script URL, kept publishable key, origins),
/// its tenant isolation, and assistant alert-policy errors reported per field so the form shows them at the field.
/// </summary>
[Trait("Category", "Database")]
public sealed class StudioApiTests(SelfServiceFactory factory) : IClassFixture<SelfServiceFactory>
{
    [Fact]
    public async Task InstallSnippetHasNoKeyUntilAPublishableKeyIsCreatedThenTheNewestActiveOne()
    {
        var owner = await factory.SignUpAsync();
        await factory.SetPlanAsync(owner.TenantId, "pro");
        var before = await (await owner.Client.GetAsync("/api/v1/widget/install")).JsonAsync(HttpStatusCode.OK);
        Assert.Equal(SelfServiceFactory.PublicBaseUrl + "/widget.js", before["scriptUrl"]!.GetValue<string>());
        Assert.Null(before["publishableKey"]);

        // A secret key is never shown there.
        await (await owner.Client.PostAsJsonAsync("/api/v1/keys", new { name = "CRM" })).JsonAsync(HttpStatusCode.Created);
        Assert.Null((await (await owner.Client.GetAsync("/api/v1/widget/install")).JsonAsync(HttpStatusCode.OK))["publishableKey"]);

        var created = await (await owner.Client.PostAsJsonAsync("/api/v1/keys", new { name = "Site", kind = "publishable" })).JsonAsync(HttpStatusCode.Created);
        var key = created["key"]!.GetValue<string>();
        await (await owner.Client.PutAsJsonAsync("/api/v1/widget/origins", new { origins = new[] { "https://www.drainfortin.ca" } })).JsonAsync(HttpStatusCode.OK);
        var after = await (await owner.Client.GetAsync("/api/v1/widget/install")).JsonAsync(HttpStatusCode.OK);
        Assert.Equal(key, after["publishableKey"]!.GetValue<string>());
        Assert.Equal(["https://www.drainfortin.ca"], after["allowedOrigins"]!.AsArray().Select(o => o!.GetValue<string>()));

        // Rotated: the replacement is the one to paste; revoked: none.
        var rotated = await (await owner.Client.PostAsJsonAsync($"/api/v1/keys/{created["apiKey"]!["id"]}/rotate", new { graceHours = 2 })).JsonAsync(HttpStatusCode.Created);
        Assert.Equal(rotated["key"]!.GetValue<string>(), (await (await owner.Client.GetAsync("/api/v1/widget/install")).JsonAsync(HttpStatusCode.OK))["publishableKey"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.NoContent, (await owner.Client.DeleteAsync($"/api/v1/keys/{rotated["apiKey"]!["id"]}")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await owner.Client.DeleteAsync($"/api/v1/keys/{created["apiKey"]!["id"]}")).StatusCode);
        Assert.Null((await (await owner.Client.GetAsync("/api/v1/widget/install")).JsonAsync(HttpStatusCode.OK))["publishableKey"]);
    }

    [Fact]
    public async Task AnotherTenantsPublishableKeyAndOriginsAreNeverInTheSnippet()
    {
        var a = await factory.SignUpAsync();
        var b = await factory.SignUpAsync();
        await factory.SetPlanAsync(a.TenantId, "pro");
        var key = (await (await a.Client.PostAsJsonAsync("/api/v1/keys", new { name = "A", kind = "publishable" })).JsonAsync(HttpStatusCode.Created))["key"]!.GetValue<string>();
        await (await a.Client.PutAsJsonAsync("/api/v1/widget/origins", new { origins = new[] { "https://a.example.com" } })).JsonAsync(HttpStatusCode.OK);
        var seenByB = await b.Client.GetStringAsync("/api/v1/widget/install");
        Assert.DoesNotContain(key, seenByB);
        Assert.DoesNotContain("a.example.com", seenByB);
        Assert.Equal(HttpStatusCode.Unauthorized, (await factory.CreateClient().GetAsync("/api/v1/widget/install")).StatusCode);
    }

    [Fact]
    public async Task AlertPolicyNumbersAreRefusedPerFieldAndNothingChanges()
    {
        var owner = await factory.SignUpAsync();
        var assistant = await (await owner.Client.PostAsJsonAsync("/api/v1/assistants", new { name = "Paul" })).JsonAsync(HttpStatusCode.Created);
        var id = assistant["id"]!.GetValue<string>();
        var bad = await owner.Client.PatchAsJsonAsync($"/api/v1/assistants/{id}", new
        {
            name = "Paul 2",
            alertPolicy = new { onCallNumbers = new[] { "514-555-01" }, officeNumbers = new[] { "+15145550100" }, language = "not a tag!" }, // too short for a Canadian number (a national "514-555-0111" is valid since numbers are read in the tenant's region)
        });
        var error = (await bad.JsonAsync(HttpStatusCode.UnprocessableEntity))["error"]!;
        Assert.Equal("VALIDATION_FAILED", error["code"]!.GetValue<string>());
        var details = error["details"]!.AsObject();
        Assert.Contains("alertPolicy.onCallNumbers", details.Select(d => d.Key));
        Assert.Contains("alertPolicy.language", details.Select(d => d.Key));
        Assert.DoesNotContain("alertPolicy.officeNumbers", details.Select(d => d.Key));
        var after = await owner.Client.GetFromJsonAsync<JsonObject>($"/api/v1/assistants/{id}");
        Assert.Equal("Paul", after!["name"]!.GetValue<string>());

        var office = await owner.Client.PatchAsJsonAsync($"/api/v1/assistants/{id}", new { alertPolicy = new { officeNumbers = new[] { "+1" } } });
        Assert.Contains("alertPolicy.officeNumbers", (await office.JsonAsync(HttpStatusCode.UnprocessableEntity))["error"]!["details"]!.AsObject().Select(d => d.Key));

        var good = await (await owner.Client.PatchAsJsonAsync($"/api/v1/assistants/{id}", new
        {
            alertPolicy = new { onCallNumbers = new[] { "+15145550111" }, officeNumbers = new[] { "+15145550100" }, nonUrgentDelivery = "none", language = "fr-CA" },
        })).JsonAsync(HttpStatusCode.OK);
        Assert.Equal("+15145550111", good["alertPolicy"]!["onCallNumbers"]![0]!.GetValue<string>());
        Assert.Equal("none", good["alertPolicy"]!["nonUrgentDelivery"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("he-IL")]
    [InlineData("ar")]
    [InlineData("es-MX")]
    [InlineData("de-DE")]
    public async Task AnAlertPolicyCanTextInEveryLanguageTheAlertsAreWrittenIn(string language)
    {
        var owner = await factory.SignUpAsync();
        var assistant = await (await owner.Client.PostAsJsonAsync("/api/v1/assistants", new { name = "Paul" })).JsonAsync(HttpStatusCode.Created);

        var saved = await (await owner.Client.PatchAsJsonAsync($"/api/v1/assistants/{assistant["id"]!.GetValue<string>()}", new
        {
            alertPolicy = new { onCallNumbers = new[] { "+15145550111" }, language },
        })).JsonAsync(HttpStatusCode.OK);

        Assert.Equal(language, saved["alertPolicy"]!["language"]!.GetValue<string>());
    }
}
