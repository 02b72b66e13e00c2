using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Switchboard.Assistants;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Templates;

/// <summary>
/// <c>GET /api/v1/assistant-templates</c> (issue 9 split, template gallery contract): 12 trades × en/fr, each with
/// instructions, first message, urgency cues and tools the assistants API accepts; applying one is a plain assistant create.
/// </summary>
[Trait("Category", "Database")]
public sealed class AssistantTemplatesTests(SelfServiceFactory factory) : IClassFixture<SelfServiceFactory>
{
    private static readonly string[] Trades =
        ["plumbing", "hvac", "electrician", "locksmith", "roofing", "dental-clinic", "veterinary-clinic", "notary", "law-firm", "real-estate", "hair-salon", "restaurant"];

    private static async Task<JsonArray> ItemsAsync(HttpClient client, string query = "")
    {
        var response = await client.GetAsync("/api/v1/assistant-templates" + query);
        return (await response.JsonAsync(HttpStatusCode.OK))["items"]!.AsArray();
    }

    [Fact]
    public async Task TheGalleryHasEveryTradeInEnglishAndFrenchWithEveryFieldFilled()
    {
        var owner = await factory.SignUpAsync();
        var items = await ItemsAsync(owner.Client);
        var ids = items.Select(i => i!["id"]!.GetValue<string>()).ToList();
        Assert.Equal(Trades.SelectMany(t => new[] { $"{t}-en", $"{t}-fr" }).Order(), ids.Order());
        foreach (var item in items)
        {
            var id = item!["id"]!.GetValue<string>();
            var language = item["language"]!.GetValue<string>();
            Assert.Equal($"{item["trade"]!.GetValue<string>()}-{language}", id);
            foreach (var field in new[] { "name", "assistantName", "firstMessage", "instructions" })
            {
                Assert.False(string.IsNullOrWhiteSpace(item[field]?.GetValue<string>()), $"{id}.{field} is empty");
            }
            Assert.True(item["instructions"]!.GetValue<string>().Length > 400, $"{id}: instructions too thin to be useful");
            Assert.Contains("capture_lead", item["instructions"]!.GetValue<string>());
            Assert.True(item["urgencyCues"]!.AsArray().Count >= 4, $"{id}: too few urgency cues");
            Assert.StartsWith(language, item["languages"]!.AsArray()[0]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task EveryTemplateUsesOnlyToolsTheAssistantsApiKnows()
    {
        var owner = await factory.SignUpAsync();
        foreach (var item in await ItemsAsync(owner.Client))
        {
            var tools = item!["tools"]!.AsArray().Select(t => t!.GetValue<string>()).ToList();
            Assert.NotEmpty(tools);
            Assert.Contains("capture_lead", tools);
            Assert.All(tools, t => Assert.Contains(t, VapiAssistantMapper.KnownTools));
        }
    }

    [Fact]
    public async Task ThePlumbingTemplateIsDrainFortinsPaulWhoNeverTransfersAndTextsOnCallForFloods()
    {
        var owner = await factory.SignUpAsync();
        var items = await ItemsAsync(owner.Client);
        var fr = items.Single(i => i!["id"]!.GetValue<string>() == "plumbing-fr")!;
        var en = items.Single(i => i!["id"]!.GetValue<string>() == "plumbing-en")!;
        Assert.Equal("Paul", fr["assistantName"]!.GetValue<string>());
        Assert.Equal("Paul", en["assistantName"]!.GetValue<string>());
        Assert.Equal(["fr-CA", "en-US"], fr["languages"]!.AsArray().Select(l => l!.GetValue<string>()));
        Assert.Contains("Ne transfère jamais l'appel", fr["instructions"]!.GetValue<string>());
        Assert.Contains("plombier de garde est texté", fr["instructions"]!.GetValue<string>());
        Assert.Contains("Never transfer the call", en["instructions"]!.GetValue<string>());
        Assert.Contains("on-call plumber is texted", en["instructions"]!.GetValue<string>());
        var cues = fr["urgencyCues"]!.AsArray().Select(c => c!.GetValue<string>()).ToList();
        Assert.Contains("sous-sol inondé", cues);
        Assert.Contains("tuyau éclaté", cues);
        Assert.Contains("burst pipe", en["urgencyCues"]!.AsArray().Select(c => c!.GetValue<string>()));
    }

    [Fact]
    public async Task TheLanguageFilterReturnsOneLanguageAndAnUnknownOneIsABadRequest()
    {
        var owner = await factory.SignUpAsync();
        var fr = await ItemsAsync(owner.Client, "?language=fr");
        Assert.Equal(12, fr.Count);
        Assert.All(fr, i => Assert.Equal("fr", i!["language"]!.GetValue<string>()));
        Assert.Equal(12, (await ItemsAsync(owner.Client, "?language=en")).Count);

        var bad = await owner.Client.GetAsync("/api/v1/assistant-templates?language=de");
        var error = (await bad.JsonAsync(HttpStatusCode.BadRequest))["error"]!;
        Assert.Equal("VALIDATION_FAILED", error["code"]!.GetValue<string>());
        Assert.NotNull(error["details"]!["language"]);
    }

    [Fact]
    public async Task ApplyingATemplateIsAnAssistantCreateThatTheApiAccepts()
    {
        var owner = await factory.SignUpAsync();
        var t = (await ItemsAsync(owner.Client, "?language=fr")).Single(i => i!["trade"]!.GetValue<string>() == "plumbing")!;
        var response = await owner.Client.PostAsJsonAsync("/api/v1/assistants", new
        {
            name = t["assistantName"]!.GetValue<string>(),
            firstMessage = t["firstMessage"]!.GetValue<string>(),
            instructions = t["instructions"]!.GetValue<string>(),
            languages = t["languages"]!.AsArray().Select(l => l!.GetValue<string>()).ToList(),
            tools = t["tools"]!.AsArray().Select(l => l!.GetValue<string>()).ToList(),
        });
        var created = await response.JsonAsync(HttpStatusCode.Created);
        Assert.Equal("Paul", created["name"]!.GetValue<string>());
        Assert.Equal(t["instructions"]!.GetValue<string>(), created["instructions"]!.GetValue<string>());
    }

    [Fact]
    public async Task EveryTenantSeesTheSameGalleryAndAnonymousCallersNone()
    {
        var a = await factory.SignUpAsync();
        var b = await factory.SignUpAsync();
        Assert.Equal((await ItemsAsync(a.Client)).ToJsonString(), (await ItemsAsync(b.Client)).ToJsonString());
        var anonymous = await factory.CookieClient().GetAsync("/api/v1/assistant-templates");
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
    }
}
