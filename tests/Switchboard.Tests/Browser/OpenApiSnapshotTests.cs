using System.Text.Json.Nodes;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Browser;

/// <summary>
/// The dashboard's API types are generated from web/src/lib/api/openapi.json (openapi-typescript). This test fails when
/// the host's document has paths or schemas the snapshot lacks (or the reverse), so the types cannot drift silently.
/// Refresh: <c>SWITCHBOARD_UPDATE_OPENAPI=1 dotnet test --filter OpenApiSnapshot</c>, then <c>npm run --prefix web gen:api</c>.
/// </summary>
public sealed class OpenApiSnapshotTests : IClassFixture<SwitchboardFactory>
{
    private readonly SwitchboardFactory factory;

    public OpenApiSnapshotTests(SwitchboardFactory factory) => this.factory = factory;

    private static string SnapshotPath => Path.Combine(Fixtures.RepositoryRoot, "web", "src", "lib", "api", "openapi.json");

    [Fact]
    public async Task TheDashboardsOpenApiSnapshotMatchesTheHost()
    {
        var live = await factory.CreateClient().GetStringAsync("/openapi/v1.json");
        if (Environment.GetEnvironmentVariable("SWITCHBOARD_UPDATE_OPENAPI") == "1")
        {
            await File.WriteAllTextAsync(SnapshotPath, JsonNode.Parse(live)!.ToJsonString(new() { WriteIndented = true }) + "\n");
        }
        var host = JsonNode.Parse(live)!;
        var snapshot = JsonNode.Parse(await File.ReadAllTextAsync(SnapshotPath))!;
        static string[] Names(JsonNode doc, string section, string? sub = null)
        {
            var node = sub is null ? doc[section] : doc[section]?[sub];
            return node is JsonObject o ? [.. o.Select(p => p.Key).Order(StringComparer.Ordinal)] : [];
        }
        static string Operations(JsonNode doc) => string.Join("\n", Names(doc, "paths").SelectMany(p => doc["paths"]![p]!.AsObject().Select(m => $"{m.Key.ToUpperInvariant()} {p}")));
        Assert.Equal(Operations(host), Operations(snapshot));
        Assert.Equal(Names(host, "components", "schemas"), Names(snapshot, "components", "schemas"));
    }
}
