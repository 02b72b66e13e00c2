using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Switchboard.Credentials;
using Switchboard.Knowledge;
using Switchboard.Tenancy;

namespace Switchboard.Tests.Knowledge;

/// <summary>Optional embeddings through the tenant's OpenAI-compatible endpoint, fused with keyword results (RRF).</summary>
[Trait("Category", "Database")]
public sealed class KnowledgeEmbeddingsTests(KnowledgeFactory factory) : IClassFixture<KnowledgeFactory>
{
    [Fact]
    public async Task WithAnEmbeddingsEndpointAChunkWithNoSharedWordIsFoundBySimilarity()
    {
        await using var sim = await EmbeddingsSimulator.StartAsync();
        var tenant = await factory.CreateTenantAsync();
        await SetCredentialAsync(tenant.Id, sim.BaseUrl + "/v1");
        using var api = factory.ApiClient(tenant);

        var created = await KnowledgeFactory.AddAsync(api, new { type = "text", title = "WC", content = "WC obstrué : nous intervenons le jour même." });
        var doc = JsonNode.Parse(await created.Content.ReadAsStringAsync())!;
        Assert.Equal(doc["chunkCount"]!.GetValue<int>(), doc["embeddedChunks"]!.GetValue<int>());
        Assert.Equal("Bearer sk-test-embeddings", sim.Authorization);

        var hits = await KnowledgeFactory.SearchAsync(api, "my toilet is clogged"); // no word in common with the chunk
        Assert.Equal("WC", hits[0]!["documentTitle"]!.GetValue<string>());
        Assert.Equal(0, hits[0]!["matchedTerms"]!.GetValue<int>());

        // The endpoint failing at query time leaves keyword search working.
        sim.Fail = true;
        Assert.Equal("WC", (await KnowledgeFactory.SearchAsync(api, "WC obstrué"))[0]!["documentTitle"]!.GetValue<string>());
        var plain = await KnowledgeFactory.AddAsync(api, new { type = "text", title = "Autre", content = "Chauffe-eau au gaz." });
        Assert.Equal(HttpStatusCode.Created, plain.StatusCode);
        Assert.Equal(0, JsonNode.Parse(await plain.Content.ReadAsStringAsync())!["embeddedChunks"]!.GetValue<int>());
    }

    private async Task SetCredentialAsync(Guid tenantId, string baseUrl)
    {
        using var scope = factory.Scope();
        scope.ServiceProvider.GetRequiredService<CurrentTenant>().Set(tenantId);
        await scope.ServiceProvider.GetRequiredService<CredentialStore>().SetOpenAiAsync(tenantId, "sk-test-embeddings", baseUrl, CancellationToken.None);
        await scope.ServiceProvider.GetRequiredService<Switchboard.Platform.Database.SwitchboardDbContext>().SaveChangesAsync(); // the store leaves the commit to its caller
    }

    /// <summary>
    /// An OpenAI-compatible <c>POST /v1/embeddings</c> on 127.0.0.1: a word's vector is its concept's axis (toilet = WC,
    /// clogged = obstrué), so meaning matches across languages without shared words.
    /// </summary>
    private sealed class EmbeddingsSimulator : IAsyncDisposable
    {
        private static readonly string[][] Concepts =
        [
            ["wc", "toilet", "toilette"], ["obstrue", "clogged", "bouche", "blocked"], ["chauffe", "heater"], ["gaz", "gas"], ["eau", "water"],
        ];

        private readonly WebApplication app;
        public string BaseUrl { get; }
        public volatile bool Fail;
        public string? Authorization;

        private EmbeddingsSimulator(WebApplication app, string baseUrl)
        {
            this.app = app;
            BaseUrl = baseUrl;
        }

        public static async Task<EmbeddingsSimulator> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            var app = builder.Build();
            EmbeddingsSimulator? sim = null;
            app.MapPost("/v1/embeddings", async (HttpContext http) =>
            {
                sim!.Authorization = http.Request.Headers.Authorization.ToString();
                if (sim.Fail)
                {
                    return Results.Json(new { error = new { message = "down", type = "server_error" } }, statusCode: 500);
                }
                using var body = await JsonDocument.ParseAsync(http.Request.Body);
                var inputs = body.RootElement.GetProperty("input").EnumerateArray().Select(e => e.GetString()!).ToList();
                return Results.Json(new
                {
                    @object = "list",
                    model = body.RootElement.GetProperty("model").GetString(),
                    data = inputs.Select((text, i) => new { @object = "embedding", index = i, embedding = Vector(text) }),
                    usage = new { prompt_tokens = 1, total_tokens = 1 },
                });
            });
            await app.StartAsync();
            sim = new EmbeddingsSimulator(app, app.Urls.First().TrimEnd('/'));
            return sim;
        }

        private static float[] Vector(string text)
        {
            var v = new float[Concepts.Length + 1];
            foreach (var word in TextFolding.Fold(text).Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                var concept = Array.FindIndex(Concepts, c => c.Contains(word));
                v[concept < 0 ? Concepts.Length : concept] += concept < 0 ? 0.1f : 1f;
            }
            return v;
        }

        public async ValueTask DisposeAsync()
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
