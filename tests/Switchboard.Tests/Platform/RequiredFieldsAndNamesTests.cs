using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Platform;

/// <summary>
/// Probe E, F8: a replacing <c>PUT</c> without its field silently cleared the setting, an address that is not one was
/// invited, and names held control characters and bidirectional overrides. Each is now a 422 <c>VALIDATION_FAILED</c>
/// naming the field, and nothing changes.
/// </summary>
[Trait("Category", "Database")]
public sealed class RequiredFieldsAndNamesTests(SelfServiceFactory factory) : IClassFixture<SelfServiceFactory>
{
    private static StringContent Json(string raw) => new(raw, Encoding.UTF8, "application/json");

    private static async Task AssertRefusedAsync(HttpResponseMessage response, string field)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.UnprocessableEntity, $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri}: {(int)response.StatusCode} {text}");
        var error = JsonNode.Parse(text)!["error"]!;
        Assert.Equal("VALIDATION_FAILED", error["code"]!.GetValue<string>());
        Assert.True(error["details"]?[field] is not null, $"{field} not named: {text}");
    }

    [Fact]
    public async Task AReplacingPutWithoutItsFieldIsRefusedAndClearsNothing()
    {
        var owner = await factory.SignUpAsync();
        await (await owner.Client.PutAsJsonAsync("/api/v1/widget/origins", new { origins = new[] { "https://www.fortin.example" } })).JsonAsync(HttpStatusCode.OK);
        await (await owner.Client.PutAsJsonAsync("/api/v1/widget/settings",
            new { accentColor = "#112233", position = "start", title = "Drain Fortin", greeting = "Bonjour", avatarUrl = (string?)null })).JsonAsync(HttpStatusCode.OK);
        await (await owner.Client.PutAsJsonAsync("/api/v1/retention", new { recordingDays = 30, transcriptDays = 90 })).JsonAsync(HttpStatusCode.OK);
        var origins = await owner.Client.GetStringAsync("/api/v1/widget/origins");
        var settings = await owner.Client.GetStringAsync("/api/v1/widget/settings");
        var retention = await owner.Client.GetStringAsync("/api/v1/retention");

        await AssertRefusedAsync(await owner.Client.PutAsync("/api/v1/widget/origins", Json("{}")), "origins");
        await AssertRefusedAsync(await owner.Client.PutAsync("/api/v1/widget/origins", Json("""{"origins":null}""")), "origins");
        await AssertRefusedAsync(await owner.Client.PutAsync("/api/v1/widget/settings", Json("{}")), "title");
        await AssertRefusedAsync(await owner.Client.PutAsync("/api/v1/widget/settings", Json("""{"accentColor":"#000000","position":"end","title":"x","greeting":"y"}""")), "avatarUrl");
        await AssertRefusedAsync(await owner.Client.PutAsync("/api/v1/retention", Json("{}")), "recordingDays");
        await AssertRefusedAsync(await owner.Client.PutAsync("/api/v1/retention", Json("""{"recordingDays":7}""")), "transcriptDays");

        Assert.Equal(origins, await owner.Client.GetStringAsync("/api/v1/widget/origins"));
        Assert.Equal(settings, await owner.Client.GetStringAsync("/api/v1/widget/settings"));
        Assert.Equal(retention, await owner.Client.GetStringAsync("/api/v1/retention"));
        // An explicit empty list and explicit nulls are still how a client clears them.
        Assert.Empty((await (await owner.Client.PutAsJsonAsync("/api/v1/widget/origins", new { origins = Array.Empty<string>() })).JsonAsync(HttpStatusCode.OK))["origins"]!.AsArray());
        var cleared = await (await owner.Client.PutAsJsonAsync("/api/v1/retention", new { recordingDays = (int?)null, transcriptDays = (int?)null })).JsonAsync(HttpStatusCode.OK);
        Assert.Null(cleared["recordingDays"]);
    }

    [Fact]
    public async Task AnAddressThatIsNotOneIsRefusedBySignUpAndInvitationsAlike()
    {
        var owner = await factory.SignUpAsync();
        foreach (var email in new[] { "<script>@x.com", "a b@x.com", "\"q\"@x.com", "a@x", "a@-x.com", "a..b@x.com" })
        {
            await AssertRefusedAsync(await owner.Client.PostAsJsonAsync("/api/v1/team/invitations", new { email, role = "member" }), "email");
            await AssertRefusedAsync(await factory.CookieClient().PostAsJsonAsync("/api/v1/auth/signup",
                new { email, password = "correct horse battery staple", organisation = "Plomberie", fullName = "X" }), "email");
        }
        Assert.DoesNotContain("x.com", await owner.Client.GetStringAsync("/api/v1/team/invitations"), StringComparison.Ordinal);
        foreach (var email in new[] { $"o'brien+{Guid.NewGuid():N}@example.test", $"josé.{Guid.NewGuid():N}@exemple.québec" })
        {
            await (await owner.Client.PostAsJsonAsync("/api/v1/team/invitations", new { email, role = "member" })).JsonAsync(HttpStatusCode.Created);
        }
    }

    [Theory]
    [InlineData("\u202eniatroF niarD")]
    [InlineData("evil\u202c")]
    [InlineData("\u2066x\u2069")]
    [InlineData("bell\u0007")]
    [InlineData("esc\u001b[31m")]
    public async Task NamesWithControlOrBidiCharactersAreRefused(string name)
    {
        await AssertRefusedAsync(await factory.CookieClient().PostAsJsonAsync("/api/v1/auth/signup",
            new { email = $"n-{Guid.NewGuid():N}@example.test", password = "correct horse battery staple", organisation = name, fullName = "X" }), "organisation");
        await AssertRefusedAsync(await factory.CookieClient().PostAsJsonAsync("/api/v1/auth/signup",
            new { email = $"n-{Guid.NewGuid():N}@example.test", password = "correct horse battery staple", organisation = "Plomberie", fullName = name }), "fullName");

        var owner = await factory.SignUpAsync();
        var assistants = await owner.Client.GetStringAsync("/api/v1/assistants");
        await AssertRefusedAsync(await owner.Client.PostAsJsonAsync("/api/v1/assistants", new { name }), "name");
        Assert.Equal(assistants, await owner.Client.GetStringAsync("/api/v1/assistants"));

        var email = $"invitee-{Guid.NewGuid():N}@example.test";
        var token = await factory.InviteAsync(owner.Client, email, "member");
        await AssertRefusedAsync(await factory.CookieClient().PostAsJsonAsync("/api/v1/auth/invitations/accept",
            new { token, password = "correct horse battery staple", fullName = name }), "fullName");
        // The invitation is still usable with a clean name.
        await (await factory.CookieClient().PostAsJsonAsync("/api/v1/auth/invitations/accept",
            new { token, password = "correct horse battery staple", fullName = "Marie Tremblay" })).JsonAsync(HttpStatusCode.OK);
    }

    [Fact]
    public async Task NamesInAnyScriptWithTabsOrNewlinesAreStillAccepted()
    {
        var owner = await factory.SignUpAsync(organisation: "שרברבות תל אביב");
        await (await owner.Client.PostAsJsonAsync("/api/v1/assistants", new { name = "مساعد\tAccueil" })).JsonAsync(HttpStatusCode.Created);
    }
}
