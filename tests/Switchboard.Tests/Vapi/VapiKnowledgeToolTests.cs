using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Switchboard.Assistants;
using Switchboard.Brain;
using Switchboard.Platform;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Vapi;

/// <summary><c>search_knowledge_base</c> in the Vapi assistant's tools (inline and synced), answered through <c>tool-calls</c>.</summary>
[Trait("Category", "Database")]
public sealed class VapiKnowledgeToolTests(SwitchboardFactory factory) : IClassFixture<SwitchboardFactory>
{
    private static IEnumerable<string> FunctionNames(JsonNode? tools) =>
        tools!.AsArray().Where(t => t!["type"]!.GetValue<string>() == "function").Select(t => t!["function"]!["name"]!.GetValue<string>());

    [Fact]
    public async Task TheInlineAssistantOfAnAssistantRequestOffersSearchKnowledgeBase()
    {
        var tenant = await factory.CreateTenantAsync();
        var json = Jsonc.ToStrictJson(Fixtures.ReadText("vapi/assistant-request.doc.jsonc"));

        var reply = JsonNode.Parse(await (await factory.PostVapiAsync(tenant, json)).Content.ReadAsStringAsync())!;

        var tools = FunctionNames(reply["assistant"]!["model"]!["tools"]).ToList();
        Assert.Contains(ToolRegistry.SearchKnowledgeBase, tools);
        var definition = reply["assistant"]!["model"]!["tools"]!.AsArray().Single(t => t!["function"]?["name"]?.GetValue<string>() == ToolRegistry.SearchKnowledgeBase)!;
        Assert.Equal("query", definition["function"]!["parameters"]!["required"]![0]!.GetValue<string>());
    }

    [Fact]
    public void TheSyncedVapiAssistantOffersSearchKnowledgeBaseWhateverToolsAreEnabled()
    {
        foreach (var enabled in new List<string>?[] { null, [ToolRegistry.CaptureLead], [] })
        {
            var assistant = new Assistant { Id = Guid.NewGuid(), TenantId = Guid.NewGuid(), Name = "Paul", Provider = "vapi", Tools = enabled, Languages = ["fr-CA"] };

            var body = VapiAssistantMapper.ToVapi(assistant, "https://switchboard.example/webhooks/vapi/t", "secret");

            var names = FunctionNames(body["model"]!["tools"]).ToList();
            Assert.Contains(ToolRegistry.SearchKnowledgeBase, names);
            Assert.Equal(enabled is null || enabled.Contains(ToolRegistry.CaptureLead), names.Contains(ToolRegistry.CaptureLead));
            Assert.Contains("tool-calls", body["serverMessages"]!.AsArray().Select(m => m!.GetValue<string>()));
        }
    }

    [Fact]
    public async Task AFixtureShapedToolCallsMessageIsAnsweredFromTheKnowledgeBase()
    {
        var tenant = await factory.CreateTenantAsync();
        var other = await factory.CreateTenantAsync("Plomberie Rivale");
        using var api = factory.ApiClient(tenant);
        Assert.Equal(HttpStatusCode.Created, (await api.PostAsJsonAsync("/api/v1/knowledge",
            new { type = "markdown", content = "# Tarifs\n\n## Déplacement\n\nLe déplacement à Laval coûte 89 $, gratuit avec les travaux." })).StatusCode);
        using var otherApi = factory.ApiClient(other);
        Assert.Equal(HttpStatusCode.Created, (await otherApi.PostAsJsonAsync("/api/v1/knowledge",
            new { type = "text", title = "Rivale", content = "Le déplacement à Laval coûte 500 $ chez Rivale." })).StatusCode);

        // Vapi's captured tool-calls message (toolCalls, toolCallList and toolWithToolCallList), pointed at our tool.
        var message = JsonNode.Parse(Fixtures.ReadText("vapi/tool-calls.json"))!;
        var arguments = new JsonObject { ["query"] = "Combien coûte le déplacement à Laval?" };
        foreach (var list in new[] { "toolCalls", "toolCallList" })
        {
            foreach (var call in message["message"]![list]!.AsArray())
            {
                call!["function"]!["name"] = ToolRegistry.SearchKnowledgeBase;
                call["function"]!["arguments"] = arguments.DeepClone();
            }
        }
        foreach (var item in message["message"]!["toolWithToolCallList"]!.AsArray())
        {
            item!["function"]!["name"] = ToolRegistry.SearchKnowledgeBase;
            item["toolCall"]!["function"]!["name"] = ToolRegistry.SearchKnowledgeBase;
            item["toolCall"]!["function"]!["arguments"] = arguments.DeepClone();
        }
        var id = message["message"]!["toolCallList"]![0]!["id"]!.GetValue<string>();

        var response = await factory.PostVapiAsync(tenant, message.ToJsonString());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var result = Assert.Single(JsonNode.Parse(await response.Content.ReadAsStringAsync())!["results"]!.AsArray())!;
        Assert.Equal((id, ToolRegistry.SearchKnowledgeBase), (result["toolCallId"]!.GetValue<string>(), result["name"]!.GetValue<string>()));
        var found = JsonNode.Parse(result["result"]!.GetValue<string>())!;
        Assert.True(found["found"]!.GetValue<bool>());
        var best = found["results"]![0]!;
        Assert.Equal("Tarifs", best["title"]!.GetValue<string>());
        Assert.Contains("89 $", best["text"]!.GetValue<string>());
        Assert.DoesNotContain(found["results"]!.AsArray(), r => r!["text"]!.GetValue<string>().Contains("500 $", StringComparison.Ordinal));
        var chunkId = best["chunkId"]!.GetValue<long>();
        Assert.True(await factory.WithDbAsync(tenant.Id, db => db.KnowledgeChunks.AnyAsync(c => c.Id == chunkId)), "the citation names the tenant's own chunk");
    }
}
