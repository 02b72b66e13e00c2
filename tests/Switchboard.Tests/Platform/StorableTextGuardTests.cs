using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Platform;

/// <summary>
/// <c>/api/v1</c> input holding text that cannot be stored (U+0000, which PostgreSQL <c>text</c> refuses; a lone
/// surrogate; invalid UTF-8) is a 422 <c>VALIDATION_FAILED</c> naming the field, on every provider, and changes nothing.
/// </summary>
[Trait("Category", "Database")]
public sealed class StorableTextGuardTests(SelfServiceFactory factory) : IClassFixture<SelfServiceFactory>
{
    private static StringContent Json(string raw) => new(raw, Encoding.UTF8, "application/json");

    private static async Task AssertRefusedAsync(HttpResponseMessage response, string field)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.UnprocessableEntity, $"{response.RequestMessage?.RequestUri}: {(int)response.StatusCode} {text}");
        var error = JsonNode.Parse(text)!["error"]!;
        Assert.Equal("VALIDATION_FAILED", error["code"]!.GetValue<string>());
        Assert.NotNull(error["details"]![field]);
    }

    [Fact]
    public async Task NulInAJsonStringIsRefusedAndChangesNothing()
    {
        var owner = await factory.SignUpAsync();
        var keysBefore = (await owner.Client.GetFromJsonAsync<JsonArray>("/api/v1/keys"))!.Count;
        var settingsBefore = await owner.Client.GetStringAsync("/api/v1/widget/settings");

        await AssertRefusedAsync(await owner.Client.PostAsync("/api/v1/keys", Json("""{"name":"a\u0000b","kind":"publishable"}""")), "name");
        await AssertRefusedAsync(await owner.Client.PutAsync("/api/v1/widget/settings", Json("""{"title":"ok","greeting":"x\u0000"}""")), "greeting");
        await AssertRefusedAsync(await owner.Client.PostAsync("/api/v1/dnc", Json("""{"number":"+15145550199","note":"\u0000"}""")), "note");
        await AssertRefusedAsync(await owner.Client.PutAsync("/api/v1/widget/origins", Json("""{"origins":["https://ok.example.com","\ud800"]}""")), "origins[1]");

        Assert.Equal(keysBefore, (await owner.Client.GetFromJsonAsync<JsonArray>("/api/v1/keys"))!.Count);
        Assert.Equal(settingsBefore, await owner.Client.GetStringAsync("/api/v1/widget/settings"));
        Assert.Empty((await owner.Client.GetFromJsonAsync<JsonArray>("/api/v1/dnc"))!);
    }

    [Fact]
    public async Task NulInAnAnonymousSignInOrSignUpIsRefused()
    {
        var anonymous = factory.CookieClient();

        await AssertRefusedAsync(await anonymous.PostAsync("/api/v1/auth/signup",
            Json("""{"email":"a\u0000b@example.test","password":"correct horse battery","organisation":"Plomberie"}""")), "email");
        await AssertRefusedAsync(await anonymous.PostAsync("/api/v1/auth/login", Json("""{"email":"a\u0000b@example.test","password":"x"}""")), "email");
        await AssertRefusedAsync(await anonymous.PostAsync("/api/v1/auth/password-reset", Json("""{"email":"a\u0000b@example.test"}""")), "email");
    }

    [Theory]
    [InlineData("/api/v1/calls?status=%00", "status")]
    [InlineData("/api/v1/calls?endedReason=a%00b", "endedReason")]
    [InlineData("/api/v1/calls/export.csv?endedReason=%00", "endedReason")]
    [InlineData("/api/v1/sms?status=sent%00", "status")]
    [InlineData("/api/v1/leads?q=fuite%00", "q")]
    [InlineData("/api/v1/audit?actorId=%00", "actorId")]
    public async Task NulInAQueryValueIsRefused(string url, string field)
    {
        var owner = await factory.SignUpAsync();

        await AssertRefusedAsync(await owner.Client.GetAsync(url), field);
    }

    [Fact]
    public async Task TextThatCanBeStoredStillPasses()
    {
        var owner = await factory.SignUpAsync();

        // Escaped accents and a surrogate pair are text; "\\u0000" is a backslash and the letters u0000.
        var saved = await owner.Client.PutAsync("/api/v1/widget/settings", Json("""{"title":"cl\u00e9 \ud83d\ude00 C:\\u0000","accentColor":null,"position":null,"greeting":null,"avatarUrl":null}"""));

        await saved.JsonAsync(HttpStatusCode.OK);
        var settings = await owner.Client.GetFromJsonAsync<JsonObject>("/api/v1/widget/settings");
        Assert.Equal("clé 😀 C:\\u0000", settings!["title"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, (await owner.Client.GetAsync("/api/v1/calls?q=fuite")).StatusCode);
    }
}
