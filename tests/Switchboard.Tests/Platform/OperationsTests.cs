using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Platform;

[Trait("Category", "Database")]
public sealed class OperationsTests(SwitchboardFactory factory) : IClassFixture<SwitchboardFactory>
{
    [Fact]
    public async Task HealthAndReadinessReportAMigratedDatabase()
    {
        var client = factory.CreateClient();

        var health = await client.GetAsync("/healthz");
        var ready = await client.GetFromJsonAsync<JsonObject>("/readyz");

        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("ready", ready!["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task OpenApiDocumentListsTheWebhookAndTheApiWithBearerAuth()
    {
        var doc = await factory.CreateClient().GetFromJsonAsync<JsonObject>("/openapi/v1.json");

        var paths = doc!["paths"]!.AsObject();
        Assert.Contains("/webhooks/vapi/{tenantId}", paths.Select(p => p.Key));
        Assert.Contains("/api/v1/calls", paths.Select(p => p.Key));
        Assert.Contains("/api/v1/calls/{id}", paths.Select(p => p.Key));
        Assert.Contains("/api/v1/sms", paths.Select(p => p.Key));
        Assert.Equal("bearer", doc["components"]!["securitySchemes"]!["secretKey"]!["scheme"]!.GetValue<string>());
    }
}
