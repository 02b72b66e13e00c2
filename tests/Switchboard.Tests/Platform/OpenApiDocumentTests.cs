using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Platform;

[Trait("Category", "Database")]
public sealed partial class OpenApiDocumentTests(SelfServiceFactory factory) : IClassFixture<SelfServiceFactory>
{
    [GeneratedRegex(@"\{(\w+)(:[^}]*)?\}")]
    private static partial Regex RouteParameter();

    private async Task<JsonObject> DocumentAsync()
    {
        var response = await factory.CreateClient().GetAsync("/openapi/v1.json");
        return await response.JsonAsync(HttpStatusCode.OK);
    }

    [Fact]
    public async Task EveryEndpointIsDocumentedWithASuccessAndEnvelopeErrors()
    {
        var doc = await DocumentAsync();
        var paths = doc["paths"]!.AsObject();
        var endpoints = factory.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<IExcludeFromDescriptionMetadata>()?.ExcludeFromDescription != true)
            .Where(e => e.Metadata.GetMetadata<IHttpMethodMetadata>() is not null)
            .Where(e => !e.RoutePattern.RawText!.StartsWith("/openapi", StringComparison.Ordinal))
            .ToList();
        Assert.True(endpoints.Count > 50, $"only {endpoints.Count} endpoints found");

        var missing = new List<string>();
        foreach (var endpoint in endpoints)
        {
            var path = RouteParameter().Replace(endpoint.RoutePattern.RawText!, "{$1}").TrimEnd('/');
            foreach (var method in endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()!.HttpMethods)
            {
                if (paths[path]?[method.ToLowerInvariant()] is not JsonObject op)
                {
                    missing.Add($"{method} {path}");
                    continue;
                }
                var responses = op["responses"]!.AsObject();
                Assert.Contains(responses, r => r.Key.StartsWith('2'));
                Assert.True(responses.ContainsKey("500"), $"{method} {path} lacks 500");
                foreach (var (status, response) in responses.Where(r => r.Key[0] is '4' or '5'))
                {
                    var schemaRef = response!["content"]?["application/json"]?["schema"]?["$ref"]?.GetValue<string>();
                    Assert.True(schemaRef == "#/components/schemas/ErrorEnvelope", $"{method} {path} {status} is not the error envelope");
                    Assert.False(string.IsNullOrWhiteSpace(response["description"]?.GetValue<string>()));
                }
                if (path.StartsWith("/api/v1", StringComparison.Ordinal) && op["security"] is JsonArray security)
                {
                    var required = security.SelectMany(s => s!.AsObject().Select(p => p.Key)).ToHashSet();
                    Assert.Superset(new HashSet<string> { "secretKey", "session" }, required);
                    Assert.True(responses.ContainsKey("401") && responses.ContainsKey("403") && responses.ContainsKey("429"), $"{method} {path} lacks 401/403/429");
                    Assert.NotNull(responses["429"]!["headers"]?["Retry-After"]);
                    if (method != "GET")
                    {
                        Assert.Contains(op["parameters"]!.AsArray(), p => p!["name"]!.GetValue<string>() == "X-CSRF-Token");
                    }
                    if (op["requestBody"]?["content"]?["application/json"] is not null)
                    {
                        // StorableTextGuardMiddleware refuses any /api/v1 JSON body with text that cannot be stored.
                        Assert.True(responses.ContainsKey("422"), $"{method} {path} takes a JSON body but lacks 422");
                    }
                }
            }
        }
        Assert.True(missing.Count == 0, "Undocumented: " + string.Join(", ", missing));

        var schemes = doc["components"]!["securitySchemes"]!.AsObject();
        Assert.Equal("cookie", schemes["session"]!["in"]!.GetValue<string>());
        Assert.Equal("sb_session", schemes["session"]!["name"]!.GetValue<string>());
        Assert.Equal("bearer", schemes["secretKey"]!["scheme"]!.GetValue<string>());
        Assert.NotNull(schemes["vapiWebhookSecret"]);
        // Request and response bodies have schemas, e.g. the onboarding PATCH.
        var patch = paths["/api/v1/onboarding"]!["patch"]!;
        Assert.Equal("#/components/schemas/OnboardingPatch", patch["requestBody"]!["content"]!["application/json"]!["schema"]!["$ref"]!.GetValue<string>());
        Assert.Equal("#/components/schemas/OnboardingDto", patch["responses"]!["200"]!["content"]!["application/json"]!["schema"]!["$ref"]!.GetValue<string>());
        Assert.NotNull(doc["components"]!["schemas"]!["TenantExport"]);
        Assert.Null(paths["/api/v1/plans"]!["get"]!["security"]);
    }

    [Fact]
    public async Task TheReferencePageAndItsAssetsComeFromThisHostUnderANoncePolicy()
    {
        var client = factory.CreateClient();
        var response = await client.GetAsync("/docs");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType!.MediaType);
        var html = await response.Content.ReadAsStringAsync();
        Assert.Contains("openapi/v1.json", html);
        var csp = response.Headers.GetValues("Content-Security-Policy").Single();
        Assert.Contains("default-src 'none'", csp);
        Assert.Contains("connect-src 'self'", csp);
        Assert.DoesNotContain("unsafe-eval", csp);
        // Every inline script carries this response's nonce, and the nonce changes per response.
        var nonce = Regex.Match(csp, "'nonce-([^']+)'").Groups[1].Value;
        Assert.NotEmpty(nonce);
        var scripts = Regex.Matches(html, "<script[^>]*>").Select(m => m.Value).ToList();
        Assert.NotEmpty(scripts);
        Assert.All(scripts, tag => Assert.Contains($"nonce=\"{nonce}\"", tag));
        var again = (await client.GetAsync("/docs")).Headers.GetValues("Content-Security-Policy").Single();
        Assert.NotEqual(csp, again);

        // Offline: every script and stylesheet the page names is served by this host (no CDN, no web fonts, no telemetry).
        var assets = Regex.Matches(html, "(?:src|href)=\"([^\"]+)\"").Select(m => m.Groups[1].Value).ToList();
        Assert.NotEmpty(assets);
        Assert.DoesNotContain(assets, a => a.Contains("//", StringComparison.Ordinal));
        Assert.DoesNotContain("fonts.scalar.com", html);
        Assert.DoesNotContain("cdn.jsdelivr", html);
        foreach (var asset in assets)
        {
            var path = asset.StartsWith('/') ? asset : "/docs/" + asset.TrimStart('.', '/');
            var loaded = await client.GetAsync(path);
            Assert.True(loaded.StatusCode == HttpStatusCode.OK, $"{path}: {(int)loaded.StatusCode}");
        }
    }

    /// <summary>
    /// A careless client's answers are ones the document lists for the operation (outside probe, 2026-12-06): a typed query
    /// value that does not parse (400), an out-of-range page size or an unknown time zone (422), a body sent as text/plain (415).
    /// Before, none of these statuses was in the operation's responses.
    /// </summary>
    [Fact]
    public async Task CarelessRequestsGetAStatusTheOperationDocuments()
    {
        var doc = await DocumentAsync();
        var owner = await factory.SignUpAsync();
        var probes = new (string Method, string Path, string Url, string? Text, HttpStatusCode Expected)[]
        {
            ("get", "/api/v1/calls", "/api/v1/calls?pageSize=abc", null, HttpStatusCode.BadRequest),
            ("get", "/api/v1/calls", "/api/v1/calls?pageSize=0", null, HttpStatusCode.UnprocessableEntity),
            ("get", "/api/v1/calls/export.csv", "/api/v1/calls/export.csv?from=yesterday", null, HttpStatusCode.BadRequest),
            ("get", "/api/v1/calls/export.csv", "/api/v1/calls/export.csv?minDuration=-1", null, HttpStatusCode.UnprocessableEntity),
            ("get", "/api/v1/sms", "/api/v1/sms?pageSize=1000000000", null, HttpStatusCode.UnprocessableEntity),
            ("get", "/api/v1/analytics", "/api/v1/analytics?tz=Not/AZone", null, HttpStatusCode.UnprocessableEntity),
            ("get", "/api/v1/leads", "/api/v1/leads?pageSize=abc", null, HttpStatusCode.BadRequest),
            ("get", "/api/v1/audit", "/api/v1/audit?page=abc", null, HttpStatusCode.BadRequest),
            ("post", "/api/v1/webhooks/endpoints", "/api/v1/webhooks/endpoints", "{}", HttpStatusCode.UnsupportedMediaType),
            ("patch", "/api/v1/onboarding", "/api/v1/onboarding", "{}", HttpStatusCode.UnsupportedMediaType),
            ("post", "/api/v1/auth/login", "/api/v1/auth/login", "{}", HttpStatusCode.UnsupportedMediaType),
        };
        var undocumented = new List<string>();
        foreach (var (method, path, url, text, expected) in probes)
        {
            using var request = new HttpRequestMessage(new HttpMethod(method.ToUpperInvariant()), url);
            if (text is not null)
            {
                request.Content = new StringContent(text, System.Text.Encoding.UTF8, "text/plain");
            }
            var response = await owner.Client.SendAsync(request);
            Assert.True(response.StatusCode == expected, $"{method} {url}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            var responses = doc["paths"]![path]![method]!["responses"]!.AsObject();
            if (!responses.ContainsKey(((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture)))
            {
                undocumented.Add($"{method.ToUpperInvariant()} {url} answered {(int)response.StatusCode}");
            }
        }
        Assert.True(undocumented.Count == 0, "Not in the operation's responses: " + string.Join("; ", undocumented));

        // Every operation with a body lists 415, and every /widget/v1 operation the 429 of WidgetAccessMiddleware's limits
        // (the resume of a web chat did not).
        foreach (var (path, item) in doc["paths"]!.AsObject())
        {
            foreach (var (method, op) in item!.AsObject())
            {
                var responses = op!["responses"]!.AsObject();
                Assert.True(op["requestBody"] is null || responses.ContainsKey("415"), $"{method} {path} takes a body but lacks 415");
                Assert.True(!path.StartsWith("/widget/v1", StringComparison.Ordinal) || responses.ContainsKey("429"), $"{method} {path} lacks 429");
            }
        }
        // Who may change the plan is in its 403: a secret API key acts as an admin, and only an owner may.
        var plan = doc["paths"]!["/api/v1/plan"]!["put"]!["responses"]!["403"]!["description"]!.GetValue<string>();
        Assert.Contains("secret API key", plan, StringComparison.Ordinal);
        Assert.Contains("owner", plan, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OperationsHaveUniqueIdsNumbersAreNumbersAndFiltersAreEnums()
    {
        var doc = await DocumentAsync();
        var operations = doc["paths"]!.AsObject()
            .SelectMany(p => p.Value!.AsObject().Where(m => m.Key is "get" or "post" or "put" or "patch" or "delete").Select(m => (Path: p.Key, Method: m.Key, Op: m.Value!)))
            .ToList();
        var ids = operations.Select(o => o.Op["operationId"]?.GetValue<string>()).ToList();
        Assert.DoesNotContain(null, ids);
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.Equal("listCalls", paths(doc)["/api/v1/calls"]!["get"]!["operationId"]!.GetValue<string>());
        Assert.Equal("getWebhooksEndpointsById", paths(doc)["/api/v1/webhooks/endpoints/{id}"]!["get"]!["operationId"]!.GetValue<string>());

        // No "integer or string" (System.Text.Json's AllowReadingFromString) anywhere: generated clients get number types.
        var loose = new List<string>();
        Walk(doc, "", loose);
        Assert.True(loose.Count == 0, "String-or-number schemas: " + string.Join(", ", loose.Take(10)));

        var list = paths(doc)["/api/v1/calls"]!["get"]!["parameters"]!.AsArray();
        JsonNode Param(string name) => list.Single(p => p!["name"]!.GetValue<string>() == name)!["schema"]!;
        Assert.Equal(["emergency", "urgent", "routine"], Param("urgency")["enum"]!.AsArray().Select(v => v!.GetValue<string>()));
        Assert.Equal(["phone", "web"], Param("channel")["enum"]!.AsArray().Select(v => v!.GetValue<string>()));
        Assert.Equal("number", Param("minDuration")["type"]!.GetValue<string>());
        Assert.Equal("boolean", Param("hasRecording")["type"]!.GetValue<string>());
        var schemas = doc["components"]!["schemas"]!;
        Assert.Equal(["null", "string"], schemas["CallPage"]!["properties"]!["nextCursor"]!["type"]!.AsArray().Select(t => t!.GetValue<string>()).Order());
        Assert.Equal("integer", schemas["AnalyticsDay"]!["properties"]!["calls"]!["type"]!.GetValue<string>());
        Assert.Equal(["null", "number"], schemas["TurnDto"]!["properties"]!["latencyMs"]!["type"]!.AsArray().Select(t => t!.GetValue<string>()).Order());

        static JsonObject paths(JsonObject d) => d["paths"]!.AsObject();
    }

    private static void Walk(JsonNode? node, string path, List<string> loose)
    {
        switch (node)
        {
            case JsonObject o:
                if (o["type"] is JsonArray types)
                {
                    var names = types.Select(t => t!.GetValue<string>()).ToList();
                    if (names.Contains("string") && (names.Contains("integer") || names.Contains("number")))
                    {
                        loose.Add(path);
                    }
                }
                foreach (var (key, value) in o)
                {
                    Walk(value, path + "/" + key, loose);
                }
                break;
            case JsonArray a:
                for (var i = 0; i < a.Count; i++)
                {
                    Walk(a[i], path + "/" + i, loose);
                }
                break;
        }
    }
}
