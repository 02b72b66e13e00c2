using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Platform;

/// <summary>
/// A JSON body on <c>/api/v1</c> that names a top-level field its route does not take is a 400 <c>UNKNOWN_FIELD</c> naming
/// the field, on every write route alike, and changes nothing (it used to be ignored everywhere but the webhook-endpoint routes).
/// </summary>
[Trait("Category", "Database")]
public sealed partial class UnknownFieldsTests(SelfServiceFactory factory) : IClassFixture<SelfServiceFactory>
{
    private static StringContent Json(string raw) => new(raw, Encoding.UTF8, "application/json");

    [Fact]
    public async Task EveryWriteRouteWithAJsonBodyRefusesAFieldItDoesNotTake()
    {
        var ops = await factory.OperatorAsync();
        var routes = factory.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText is { } raw && raw.StartsWith("/api/v1", StringComparison.Ordinal))
            .Where(e => e.Metadata.GetOrderedMetadata<IAcceptsMetadata>().Any(a => a.RequestType is not null && a.ContentTypes.Contains("application/json")))
            .SelectMany(e => e.Metadata.GetMetadata<HttpMethodMetadata>()!.HttpMethods.Select(m => (Method: m, Path: Parameter().Replace(e.RoutePattern.RawText!, p =>
                p.Value.Contains(":guid", StringComparison.Ordinal) ? Guid.NewGuid().ToString() : p.Value.Contains(":int", StringComparison.Ordinal) || p.Value.Contains(":long", StringComparison.Ordinal) ? "1" : "x"))))
            .Where(r => r.Method is "POST" or "PUT" or "PATCH")
            .ToList();
        Assert.True(routes.Count > 30, $"only {routes.Count} routes");

        var failures = new List<string>();
        foreach (var (method, path) in routes)
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = Json("""{"zzNotAField":1}""") };
            var response = await ops.Client.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            if (response.StatusCode != HttpStatusCode.BadRequest || JsonNode.Parse(text)!["error"]!["code"]!.GetValue<string>() != "UNKNOWN_FIELD"
                || JsonNode.Parse(text)!["error"]!["details"]!["zzNotAField"] is null)
            {
                failures.Add($"{method} {path}: {(int)response.StatusCode} {text}");
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public async Task AMisspeltFieldIsNamedWithTheFieldsTheRouteTakesAndChangesNothing()
    {
        var owner = await factory.SignUpAsync();
        var keysBefore = (await owner.Client.GetFromJsonAsync<JsonArray>("/api/v1/keys"))!.Count;
        var settingsBefore = await owner.Client.GetStringAsync("/api/v1/widget/settings");

        var key = await owner.Client.PostAsync("/api/v1/keys", Json("""{"nmae":"CRM","kind":"secret"}"""));
        var settings = await owner.Client.PutAsync("/api/v1/widget/settings", Json("""{"title":"Hello","colour":"#ff0000"}"""));

        Assert.Equal(HttpStatusCode.BadRequest, key.StatusCode);
        var error = (await key.Content.ReadFromJsonAsync<JsonObject>())!["error"]!;
        Assert.Equal("UNKNOWN_FIELD", error["code"]!.GetValue<string>());
        Assert.Contains("'nmae'", error["message"]!.GetValue<string>());
        Assert.Contains("name", error["message"]!.GetValue<string>().Split("its fields:")[1]);
        Assert.Equal(HttpStatusCode.BadRequest, settings.StatusCode);
        Assert.NotNull((await settings.Content.ReadFromJsonAsync<JsonObject>())!["error"]!["details"]!["colour"]);
        Assert.Equal(keysBefore, (await owner.Client.GetFromJsonAsync<JsonArray>("/api/v1/keys"))!.Count);
        Assert.Equal(settingsBefore, await owner.Client.GetStringAsync("/api/v1/widget/settings"));

        // Known names still bind without regard to case, and malformed JSON keeps its own answer.
        Assert.Equal(HttpStatusCode.Created, (await owner.Client.PostAsync("/api/v1/keys", Json("""{"Name":"CRM","Kind":"publishable"}"""))).StatusCode);
        var malformed = await owner.Client.PostAsync("/api/v1/keys", Json("""{"nmae":"""));
        Assert.Equal("BAD_REQUEST", (await malformed.Content.ReadFromJsonAsync<JsonObject>())!["error"]!["code"]!.GetValue<string>());
    }

    [GeneratedRegex(@"\{[^}]+\}")]
    private static partial Regex Parameter();
}
