using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Authorization;
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
        await factory.SetPlanAsync(ops.TenantId, "telephony"); // every feature: a plan without one is refused first (403)
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

    [Fact]
    public async Task ACallerWithoutTheRoutesPermissionIsForbiddenWhateverTheBodyHolds()
    {
        var owner = await factory.SignUpAsync();
        var token = await factory.InviteAsync(owner.Client, $"m-{Guid.NewGuid():N}@example.test", "member");
        var member = factory.CookieClient();
        var accepted = await (await member.PostAsJsonAsync("/api/v1/auth/invitations/accept", new { token, password = "a member may only read", fullName = "Mem Ber" }))
            .JsonAsync(HttpStatusCode.OK);
        member.DefaultRequestHeaders.Add("X-CSRF-Token", accepted["csrfToken"]!.GetValue<string>());

        // Every write route with a JSON body whose permission a member lacks (configuration, team, plan…).
        var routes = factory.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText is { } raw && raw.StartsWith("/api/v1", StringComparison.Ordinal))
            .Where(e => e.Metadata.GetOrderedMetadata<IAcceptsMetadata>().Any(a => a.RequestType is not null && a.ContentTypes.Contains("application/json")))
            .Where(e => e.Metadata.GetOrderedMetadata<IAuthorizeData>().Any(a => a.Policy is { } policy
                && Enum.GetValues<Switchboard.Tenancy.Permission>().Any(p => Switchboard.Tenancy.SessionAuthentication.PolicyFor(p) == policy
                    && !Switchboard.Tenancy.Roles.Allows(Switchboard.Tenancy.Roles.Member, p))))
            .SelectMany(e => e.Metadata.GetMetadata<HttpMethodMetadata>()!.HttpMethods.Select(m => (Method: m, Path: Parameter().Replace(e.RoutePattern.RawText!, p =>
                p.Value.Contains(":guid", StringComparison.Ordinal) ? Guid.NewGuid().ToString() : p.Value.Contains(":int", StringComparison.Ordinal) || p.Value.Contains(":long", StringComparison.Ordinal) ? "1" : "x"))))
            .Where(r => r.Method is "POST" or "PUT" or "PATCH")
            .ToList();
        Assert.True(routes.Count > 20, $"only {routes.Count} routes");

        var failures = new List<string>();
        foreach (var (method, path) in routes)
        {
            // A field the route does not take, and text that cannot be stored: neither is looked at before the 403.
            foreach (var body in new[] { """{"zzNotAField":1}""", """{"name":"a\u0000b"}""" })
            {
                using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = Json(body) };
                var response = await member.SendAsync(request);
                if (response.StatusCode != HttpStatusCode.Forbidden || await response.ErrorCodeAsync() != "INSUFFICIENT_ROLE")
                {
                    failures.Add($"{method} {path} {body}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                }
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public async Task APlanWithoutTheRoutesFeatureIsForbiddenWhateverTheRequestHolds()
    {
        var free = await factory.SignUpAsync(); // the free plan: no webhooks, no telephony
        var failures = new List<string>();
        foreach (var (method, path) in new[] { ("POST", "/api/v1/webhooks/endpoints"), ("POST", "/api/v1/numbers"), ("POST", "/api/v1/calls/outbound") })
        {
            // A field the route does not take, text that cannot be stored, a body that is not JSON, the wrong JSON type.
            foreach (var body in new[] { """{"zzNotAField":1}""", """{"url":"a\u0000b"}""", """{"url":""", """[1,2]""" })
            {
                using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = Json(body) };
                var response = await free.Client.SendAsync(request);
                if (response.StatusCode != HttpStatusCode.Forbidden || await response.ErrorCodeAsync() != "FEATURE_NOT_IN_PLAN")
                {
                    failures.Add($"{method} {path} {body}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                }
            }
        }
        var query = await free.Client.GetAsync("/api/v1/webhooks/endpoints?cursor=a%00b");
        if (query.StatusCode != HttpStatusCode.Forbidden)
        {
            failures.Add($"GET /api/v1/webhooks/endpoints?cursor=a%00b: {(int)query.StatusCode} {await query.Content.ReadAsStringAsync()}");
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.Empty(await free.Client.GetFromJsonAsync<JsonArray>("/api/v1/numbers") ?? []);
    }

    [Fact]
    public async Task TheKnownNamesOfARequestTypeAreBuiltOnceAndGiveTheSameAnswers()
    {
        var owner = await factory.SignUpAsync();
        Assert.Equal("UNKNOWN_FIELD", await (await owner.Client.PostAsync("/api/v1/keys", Json("""{"nmae":"CRM"}"""))).ErrorCodeAsync());

        // The type info the guard resolves for a route, as each request resolves it: one instance, so one set of names.
        var options = factory.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value.SerializerOptions;
        var type = options.GetTypeInfo(typeof(Switchboard.Tenancy.ApiKeyRequest));
        Assert.Same(type, options.GetTypeInfo(typeof(Switchboard.Tenancy.ApiKeyRequest)));
        var names = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => Switchboard.Platform.Http.UnknownFields.KnownNames(type))));
        Assert.All(names, n => Assert.Same(names[0], n));
        Assert.Equal(["kind", "name"], names[0].Order(StringComparer.Ordinal));
        Assert.Contains("NAME", (IReadOnlySet<string>)names[0]);

        Assert.Equal("nmae", Switchboard.Platform.Http.UnknownFields.Find("""{"Name":"a","nmae":"b"}"""u8, type));
        Assert.Null(Switchboard.Platform.Http.UnknownFields.Find("""{"NAME":"a","kind":"secret"}"""u8, type));
        Assert.Null(Switchboard.Platform.Http.UnknownFields.Find("""{"nmae":"""u8, type));
    }

    [GeneratedRegex(@"\{[^}]+\}")]
    private static partial Regex Parameter();
}
