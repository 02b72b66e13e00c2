using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Alerts;

/// <summary>
/// <c>GET/PUT /api/v1/settings/alerts</c>, the business's own SMS alert policy (an outside probe: it could be read or edited
/// nowhere): numbers typed as owners type them, read in the business's region and stored in E.164; junk refused per field
/// with nothing changed; members read but do not write; each change audited with the numbers before and after.
/// </summary>
[Trait("Category", "Database")]
public sealed class AlertSettingsApiTests(SelfServiceFactory factory) : IClassFixture<SelfServiceFactory>
{
    /// <summary>A new business in Québec (fr-CA: numbers are read as Canadian).</summary>
    private async Task<SignedIn> QuebecBusinessAsync()
    {
        var owner = await factory.SignUpAsync();
        await (await owner.Client.PatchAsJsonAsync("/api/v1/onboarding", new { profile = new { locale = "fr-CA", timeZone = "America/Toronto" } }))
            .JsonAsync(HttpStatusCode.OK);
        return owner;
    }

    private async Task<JsonObject> PolicyAsync(HttpClient client) => await (await client.GetAsync("/api/v1/settings/alerts")).JsonAsync(HttpStatusCode.OK);

    private Task<List<Switchboard.Compliance.AuditEntry>> BusinessUpdatesAsync(Guid tenantId) =>
        factory.WithDbAsync(null, db => db.AuditLog.IgnoreQueryFilters().Where(a => a.TenantId == tenantId && a.Action == "business.updated").ToListAsync());

    private static string[] Strings(JsonNode? array) => array!.AsArray().Select(n => n!.GetValue<string>()).ToArray();

    [Fact]
    public async Task NumbersTypedAsOwnersTypeThemAreStoredInE164ForAQuebecBusinessAndTheChangeIsAudited()
    {
        var owner = await QuebecBusinessAsync();
        var empty = await PolicyAsync(owner.Client);
        Assert.Empty(Strings(empty["onCallNumbers"]));
        Assert.Empty(Strings(empty["officeNumbers"]));
        Assert.Equal("business-hours", empty["nonUrgentDelivery"]!.GetValue<string>());
        Assert.Null(empty["language"]);

        var body = new
        {
            onCallNumbers = new[] { "514-555-0111", "+1 514 555 0111", "(438) 555-0122" }, // the second is the first again
            officeNumbers = new[] { "514.555.0100" },
            nonUrgentDelivery = "none",
            language = "fr-CA",
        };
        var saved = await (await owner.Client.PutAsJsonAsync("/api/v1/settings/alerts", body)).JsonAsync(HttpStatusCode.OK);
        Assert.Equal(["+15145550111", "+14385550122"], Strings(saved["onCallNumbers"]));
        Assert.Equal(["+15145550100"], Strings(saved["officeNumbers"]));
        Assert.Equal("none", saved["nonUrgentDelivery"]!.GetValue<string>());
        Assert.Equal("fr-CA", saved["language"]!.GetValue<string>());
        Assert.Equal(saved.ToJsonString(), (await PolicyAsync(owner.Client)).ToJsonString());
        var stored = await factory.WithDbAsync(null, db => db.Tenants.Where(t => t.Id == owner.TenantId).Select(t => t.AlertPolicy).FirstAsync());
        Assert.Equal(["+15145550111", "+14385550122"], stored.OnCallNumbers);

        var entry = Assert.Single(await BusinessUpdatesAsync(owner.TenantId), e => e.DetailsJson!.Contains("alertPolicy", StringComparison.Ordinal));
        var details = JsonNode.Parse(entry.DetailsJson!)!;
        Assert.Equal(["alertPolicy"], Strings(details["changed"]));
        Assert.Empty(Strings(details["alertPolicy"]!["from"]!["onCallNumbers"]));
        Assert.Equal(["+15145550111", "+14385550122"], Strings(details["alertPolicy"]!["to"]!["onCallNumbers"]));
        Assert.Equal(["+15145550100"], Strings(details["alertPolicy"]!["to"]!["officeNumbers"]));
        Assert.Equal("user", entry.ActorType);

        // Saving the same policy again (as typed, or as stored) changes nothing and logs nothing.
        await (await owner.Client.PutAsJsonAsync("/api/v1/settings/alerts", body)).JsonAsync(HttpStatusCode.OK);
        await (await owner.Client.PutAsJsonAsync("/api/v1/settings/alerts", saved)).JsonAsync(HttpStatusCode.OK);
        Assert.Single(await BusinessUpdatesAsync(owner.TenantId), e => e.DetailsJson!.Contains("alertPolicy", StringComparison.Ordinal));

        // Emptied: nothing left to text (the checklist and the studio's hint see it the same way).
        var cleared = await (await owner.Client.PutAsJsonAsync("/api/v1/settings/alerts", new { })).JsonAsync(HttpStatusCode.OK);
        Assert.Empty(Strings(cleared["onCallNumbers"]));
        Assert.Equal("business-hours", cleared["nonUrgentDelivery"]!.GetValue<string>());
        Assert.Null(cleared["language"]);
    }

    [Fact]
    public async Task JunkIsRefusedFieldByFieldAndNothingChanges()
    {
        var owner = await QuebecBusinessAsync();
        var good = await (await owner.Client.PutAsJsonAsync("/api/v1/settings/alerts", new { onCallNumbers = new[] { "514-555-0111" } })).JsonAsync(HttpStatusCode.OK);
        var audited = (await BusinessUpdatesAsync(owner.TenantId)).Count;

        var junk = await owner.Client.PutAsJsonAsync("/api/v1/settings/alerts", new
        {
            onCallNumbers = new[] { "+15145550199", "call Marc" },
            officeNumbers = Enumerable.Range(0, 11).Select(i => $"+1514555{i:0000}").ToArray(),
            nonUrgentDelivery = "sometimes",
            language = "ja-JP", // a real language, but alert texts are not written in Japanese
        });
        var error = (await junk.JsonAsync(HttpStatusCode.UnprocessableEntity))["error"]!;
        Assert.Equal("VALIDATION_FAILED", error["code"]!.GetValue<string>());
        var details = error["details"]!.AsObject();
        Assert.Equal(["language", "nonUrgentDelivery", "officeNumbers", "onCallNumbers"], details.Select(d => d.Key).Order());
        Assert.Contains("'call Marc' is not a phone number in CA", details["onCallNumbers"]!.GetValue<string>());
        Assert.Contains("at most 10", details["officeNumbers"]!.GetValue<string>());

        // A number of another country without its prefix ("06 12 34 56 78" is French), and a language that is no tag.
        var foreign = await owner.Client.PutAsJsonAsync("/api/v1/settings/alerts", new { officeNumbers = new[] { "06 12 34 56 78" }, language = "not a tag!" });
        Assert.Equal(["language", "officeNumbers"], (await foreign.JsonAsync(HttpStatusCode.UnprocessableEntity))["error"]!["details"]!.AsObject().Select(d => d.Key).Order());

        // Wrong JSON types are the envelope's 400, not a 500.
        using var wrongType = new StringContent("""{"onCallNumbers":"+15145550111"}""", System.Text.Encoding.UTF8, "application/json");
        Assert.Equal(HttpStatusCode.BadRequest, (await owner.Client.PutAsync("/api/v1/settings/alerts", wrongType)).StatusCode);

        Assert.Equal(good.ToJsonString(), (await PolicyAsync(owner.Client)).ToJsonString());
        Assert.Equal(audited, (await BusinessUpdatesAsync(owner.TenantId)).Count);
    }

    [Fact]
    public async Task AMemberReadsTheBusinessPolicyButCannotChangeIt()
    {
        var owner = await QuebecBusinessAsync();
        await (await owner.Client.PutAsJsonAsync("/api/v1/settings/alerts", new { onCallNumbers = new[] { "514-555-0111" } })).JsonAsync(HttpStatusCode.OK);
        var token = await factory.InviteAsync(owner.Client, $"m-{Guid.NewGuid():N}@example.test", "member"); // read from the invitee's mail
        var member = factory.CookieClient();
        var accepted = await (await member.PostAsJsonAsync("/api/v1/auth/invitations/accept", new
        {
            token,
            password = "a member reads the alert numbers",
            fullName = "Mem Ber",
        })).JsonAsync(HttpStatusCode.OK);
        member.DefaultRequestHeaders.Add("X-CSRF-Token", accepted["csrfToken"]!.GetValue<string>());

        Assert.Equal(["+15145550111"], Strings((await PolicyAsync(member))["onCallNumbers"]));
        var refused = await member.PutAsJsonAsync("/api/v1/settings/alerts", new { onCallNumbers = new[] { "514-555-0999" } });
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal("INSUFFICIENT_ROLE", await refused.ErrorCodeAsync());
        Assert.Equal(["+15145550111"], Strings((await PolicyAsync(owner.Client))["onCallNumbers"]));

        Assert.Equal(HttpStatusCode.Unauthorized, (await factory.CreateClient().GetAsync("/api/v1/settings/alerts")).StatusCode);
    }
}
