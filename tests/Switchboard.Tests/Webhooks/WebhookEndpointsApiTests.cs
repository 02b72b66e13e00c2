using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Switchboard.Tests.Support;
using Switchboard.Tests.Vapi;
using Switchboard.Webhooks;

namespace Switchboard.Tests.Webhooks;

[Trait("Category", "Database")]
public sealed class WebhookEndpointsApiTests(WebhookFactory factory) : IClassFixture<WebhookFactory>
{
    private const string Endpoints = "/api/v1/webhooks/endpoints";

    [Fact]
    public async Task CreatingAnEndpointShowsItsSecretOnceAndOnlyAPreviewAfterwards()
    {
        var tenant = await factory.CreateTenantAsync();
        var client = factory.ApiClient(tenant);

        var created = await client.PostAsJsonAsync(Endpoints, new
        {
            url = "http://127.0.0.1:9/hooks/switchboard",
            description = "CRM",
            eventTypes = new[] { "lead.urgent", "call.ended", "lead.urgent" },
            headers = new Dictionary<string, string> { ["Authorization"] = "Bearer crm-token-123456", ["X-Source"] = "switchboard" },
        });

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var body = JsonNode.Parse(await created.Content.ReadAsStringAsync())!;
        var secret = body["secret"]!.GetValue<string>();
        Assert.StartsWith("whsec_", secret);
        Assert.Equal(32, Convert.FromBase64String(secret["whsec_".Length..]).Length);
        var id = body["endpoint"]!["id"]!.GetValue<Guid>();
        Assert.Equal($"/api/v1/webhooks/endpoints/{id}", created.Headers.Location!.OriginalString);
        Assert.Equal(["call.ended", "lead.urgent"], body["endpoint"]!["eventTypes"]!.AsArray().Select(t => t!.GetValue<string>()));
        Assert.True(body["endpoint"]!["enabled"]!.GetValue<bool>());

        var fetched = await client.GetStringAsync($"{Endpoints}/{id}");
        var listed = await client.GetStringAsync(Endpoints);
        Assert.DoesNotContain(secret, fetched);
        Assert.DoesNotContain(secret, listed);
        Assert.DoesNotContain("crm-token-123456", fetched);
        var endpoint = JsonNode.Parse(fetched)!;
        Assert.Equal($"{secret[..5]}…{secret[^4..]}", endpoint["secretPreview"]!.GetValue<string>());
        Assert.Equal(["Authorization", "X-Source"], endpoint["headers"]!.AsObject().Select(h => h.Key).Order());
        Assert.Single(JsonNode.Parse(listed)!.AsArray());
    }

    [Fact]
    public async Task UpdatingChangesOnlyTheGivenFieldsAndReEnablingClearsTheFailureClock()
    {
        var tenant = await factory.CreateTenantAsync();
        var client = factory.ApiClient(tenant);
        var (id, _) = await factory.CreateEndpointAsync(tenant, "http://127.0.0.1:9/a", ["call.ended"]);
        await factory.WithDbAsync(tenant.Id, async db =>
        {
            var e = await db.WebhookEndpoints.FindAsync(id);
            e!.Enabled = false;
            e.DisabledReason = "failing";
            e.FailingSince = factory.Clock.GetUtcNow().AddDays(-5);
            return await db.SaveChangesAsync();
        });

        var response = await client.PatchAsJsonAsync($"{Endpoints}/{id}", new { description = "new", enabled = true });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var endpoint = await factory.EndpointAsync(tenant.Id, id);
        Assert.Equal("new", endpoint.Description);
        Assert.Equal("http://127.0.0.1:9/a", endpoint.Url);
        Assert.Equal(["call.ended"], endpoint.EventTypes);
        Assert.True(endpoint.Enabled);
        Assert.Null(endpoint.DisabledReason);
        Assert.Null(endpoint.FailingSince);

        var disabled = await client.PatchAsJsonAsync($"{Endpoints}/{id}", new { enabled = false, eventTypes = Array.Empty<string>() });
        Assert.Equal(HttpStatusCode.OK, disabled.StatusCode);
        endpoint = await factory.EndpointAsync(tenant.Id, id);
        Assert.Equal("manual", endpoint.DisabledReason);
        Assert.Empty(endpoint.EventTypes);
    }

    [Fact]
    public async Task DeletingAnEndpointRemovesItAndItsDeliveryLog()
    {
        var tenant = await factory.CreateTenantAsync();
        var client = factory.ApiClient(tenant);
        var (id, _) = await factory.CreateEndpointAsync(tenant, "http://127.0.0.1:9/gone");
        await client.PostAsJsonAsync($"{Endpoints}/{id}/test", new { });

        var deleted = await client.DeleteAsync($"{Endpoints}/{id}");
        var again = await client.DeleteAsync($"{Endpoints}/{id}");
        await factory.Outbox.DrainAsync(CancellationToken.None);

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        Assert.Empty(await factory.DeliveriesAsync(tenant.Id, id));
    }

    /// <summary>
    /// The tenant's endpoints are cached between events (<see cref="WebhookEndpointCache"/>): each change through the API is
    /// seen by the very next event, well within the cache's lifetime.
    /// </summary>
    [Fact]
    public async Task TheNextEventAfterAnEndpointChangesGoesWhereTheChangeSays()
    {
        var tenant = await factory.CreateTenantAsync();
        var client = factory.ApiClient(tenant);
        var (first, _) = await factory.CreateEndpointAsync(tenant, "http://127.0.0.1:9/first", ["lead.created"]);
        var n = 0;
        async Task<bool> PublishLeadAsync() =>
            await factory.PublishAsync(tenant.Id, WebhookEventTypes.LeadCreated, $"cache-{++n}", WebhookTestExtensions.Lead(n));

        Assert.True(await PublishLeadAsync()); // reads and caches the endpoints

        Assert.Equal(HttpStatusCode.OK, (await client.PatchAsJsonAsync($"{Endpoints}/{first}", new { eventTypes = new[] { "call.ended" } })).StatusCode);
        Assert.False(await PublishLeadAsync()); // no longer subscribed

        Assert.Equal(HttpStatusCode.OK, (await client.PatchAsJsonAsync($"{Endpoints}/{first}", new { eventTypes = Array.Empty<string>(), enabled = false })).StatusCode);
        Assert.False(await PublishLeadAsync()); // subscribed to everything, but disabled

        var (second, _) = await factory.CreateEndpointAsync(tenant, "http://127.0.0.1:9/second");
        Assert.True(await PublishLeadAsync()); // the new endpoint

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"{Endpoints}/{second}")).StatusCode);
        Assert.False(await PublishLeadAsync()); // deleted

        Assert.Single(await factory.DeliveriesAsync(tenant.Id, first));
        Assert.Empty(await factory.DeliveriesAsync(tenant.Id, second));
    }

    [Fact]
    public async Task RotatingTheSecretReturnsANewOneAndKeepsTheOldOneForTheOverlap()
    {
        var tenant = await factory.CreateTenantAsync();
        var client = factory.ApiClient(tenant);
        var (id, first) = await factory.CreateEndpointAsync(tenant, "http://127.0.0.1:9/r");

        var rotated = JsonNode.Parse(await (await client.PostAsJsonAsync($"{Endpoints}/{id}/rotate-secret", new { overlapHours = 2 })).Content.ReadAsStringAsync())!;
        var immediate = await client.PostAsync($"{Endpoints}/{id}/rotate-secret", JsonContent.Create(new { overlapHours = 0 }));

        var second = rotated["secret"]!.GetValue<string>();
        Assert.StartsWith("whsec_", second);
        Assert.NotEqual(first, second);
        Assert.Equal(factory.Clock.GetUtcNow().AddHours(2), rotated["previousSecretExpiresAt"]!.GetValue<DateTimeOffset>());
        Assert.Equal(HttpStatusCode.OK, immediate.StatusCode);
        var endpoint = await factory.EndpointAsync(tenant.Id, id);
        Assert.Null(endpoint.PreviousSecretProtected);
        Assert.Null(endpoint.PreviousSecretExpiresAt);
    }

    [Fact]
    public async Task EveryEndpointOfAnotherTenantIsNotFound()
    {
        var owner = await factory.CreateTenantAsync("Owner");
        var stranger = await factory.CreateTenantAsync("Stranger");
        var (id, _) = await factory.CreateEndpointAsync(owner, "http://127.0.0.1:9/owner");
        await factory.ApiClient(owner).PostAsJsonAsync($"{Endpoints}/{id}/test", new { });
        var delivery = (await factory.DeliveriesAsync(owner.Id, id)).Single().Id;
        var client = factory.ApiClient(stranger);

        var attempts = new List<(string What, HttpResponseMessage Response)>
        {
            ("get", await client.GetAsync($"{Endpoints}/{id}")),
            ("patch", await client.PatchAsJsonAsync($"{Endpoints}/{id}", new { description = "mine" })),
            ("rotate", await client.PostAsJsonAsync($"{Endpoints}/{id}/rotate-secret", new { })),
            ("test", await client.PostAsJsonAsync($"{Endpoints}/{id}/test", new { })),
            ("deliveries", await client.GetAsync($"{Endpoints}/{id}/deliveries")),
            ("delivery", await client.GetAsync($"{Endpoints}/{id}/deliveries/{delivery}")),
            ("replay", await client.PostAsync($"{Endpoints}/{id}/deliveries/{delivery}/replay", null)),
            ("replay-failed", await client.PostAsJsonAsync($"{Endpoints}/{id}/replay-failed", new { since = "2020-01-01T00:00:00Z" })),
            ("delete", await client.DeleteAsync($"{Endpoints}/{id}")),
        };

        foreach (var (what, response) in attempts)
        {
            Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"{what}: {response.StatusCode}");
            Assert.StartsWith("WEBHOOK_", (await VapiWebhookTests.ErrorOf(response))["code"]!.GetValue<string>());
        }
        Assert.Equal("[]", await client.GetStringAsync(Endpoints));
        var endpoint = await factory.EndpointAsync(owner.Id, id);
        Assert.Equal("test receiver", endpoint.Description);
        Assert.Single(await factory.DeliveriesAsync(owner.Id, id));
    }

    [Fact]
    public async Task ADeliveryOfAnotherEndpointOfTheSameTenantIsNotFoundUnderThisOne()
    {
        var tenant = await factory.CreateTenantAsync();
        var client = factory.ApiClient(tenant);
        var (a, _) = await factory.CreateEndpointAsync(tenant, "http://127.0.0.1:9/a");
        var (b, _) = await factory.CreateEndpointAsync(tenant, "http://127.0.0.1:9/b");
        await client.PostAsJsonAsync($"{Endpoints}/{a}/test", new { });
        var delivery = (await factory.DeliveriesAsync(tenant.Id, a)).Single().Id;

        var response = await client.GetAsync($"{Endpoints}/{b}/deliveries/{delivery}");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    public static TheoryData<string, string, string, int, string> BadRequests() => new()
    {
        { "POST", Endpoints, "{\"url\":", 400, "MALFORMED_JSON" },
        { "POST", Endpoints, "[1,2]", 400, "MALFORMED_JSON" },
        { "POST", Endpoints, "{\"url\":\"http://127.0.0.1:9/\",\"enabled\":\"yes\"}", 400, "MALFORMED_JSON" },
        { "POST", Endpoints, "{\"url\":\"http://127.0.0.1:9/a\",\"url\":\"http://127.0.0.1:9/b\"}", 400, "MALFORMED_JSON" },
        { "PATCH", "{endpoint}", "{\"enabled\":true,\"enabled\":false}", 400, "MALFORMED_JSON" },
        { "POST", Endpoints, "", 400, "MISSING_BODY" },
        { "POST", Endpoints, "null", 400, "MISSING_BODY" },
        { "POST", Endpoints, "{}", 422, "INVALID_URL" },
        { "POST", Endpoints, "{\"url\":\"not a url\"}", 422, "INVALID_URL" },
        { "POST", Endpoints, "{\"url\":\"ftp://127.0.0.1/x\"}", 422, "INVALID_URL" },
        { "POST", Endpoints, "{\"url\":\"http://127.0.0.1:9/#frag\"}", 422, "INVALID_URL" },
        { "POST", Endpoints, "{\"url\":\"http://127.0.0.1:9/\",\"eventTypes\":[\"call.exploded\"]}", 422, "UNKNOWN_EVENT_TYPE" },
        { "POST", Endpoints, "{\"url\":\"http://127.0.0.1:9/\",\"eventTypes\":[null]}", 422, "UNKNOWN_EVENT_TYPE" },
        { "POST", Endpoints, "{\"url\":\"http://127.0.0.1:9/\",\"headers\":{\"webhook-signature\":\"v1,forged\"}}", 422, "RESERVED_HEADER" },
        { "POST", Endpoints, "{\"url\":\"http://127.0.0.1:9/\",\"headers\":{\"Host\":\"evil\"}}", 422, "RESERVED_HEADER" },
        { "POST", Endpoints, "{\"url\":\"http://127.0.0.1:9/\",\"headers\":{\"Bad Name\":\"x\"}}", 422, "INVALID_HEADERS" },
        { "POST", Endpoints, "{\"url\":\"http://127.0.0.1:9/\",\"headers\":{\"X-A\":\"a\\r\\nX-Injected: 1\"}}", 422, "INVALID_HEADERS" },
        { "POST", Endpoints, "{\"url\":\"http://127.0.0.1:9/\",\"headers\":{\"X-A\":null}}", 422, "INVALID_HEADERS" },
        { "POST", Endpoints, "{\"url\":\"http://127.0.0.1:9/\",\"description\":\"" + new string('d', 501) + "\"}", 422, "INVALID_DESCRIPTION" },
        { "POST", Endpoints, "{\"url\":\"http://127.0.0.1:9/" + new string('p', 2100) + "\"}", 422, "INVALID_URL" },
        { "POST", Endpoints, "{\"url\":\"https://169.254.169.254/latest/meta-data/\"}", 422, "URL_BLOCKED" },
        { "POST", Endpoints, "{\"url\":\"https://[fd00:ec2::254]/\"}", 422, "URL_BLOCKED" },
        { "POST", Endpoints, "{\"url\":\"https://no-such-host.invalid/\"}", 422, "URL_UNRESOLVABLE" },
        { "PATCH", "{endpoint}", "{\"url\":\"gopher://x\"}", 422, "INVALID_URL" },
        { "PATCH", "{endpoint}", "{\"eventTypes\":\"call.ended\"}", 400, "MALFORMED_JSON" },
        { "POST", "{endpoint}/rotate-secret", "{\"overlapHours\":500}", 422, "INVALID_OVERLAP" },
        { "POST", "{endpoint}/rotate-secret", "{\"overlapHours\":-1}", 422, "INVALID_OVERLAP" },
        { "POST", "{endpoint}/test", "{\"eventType\":\"nope\"}", 422, "UNKNOWN_EVENT_TYPE" },
        { "POST", "{endpoint}/replay-failed", "{}", 422, "INVALID_RANGE" },
        { "POST", "{endpoint}/replay-failed", "{\"since\":\"yesterday\"}", 400, "MALFORMED_JSON" },
        { "POST", "{endpoint}/replay-failed", "{\"since\":\"2026-11-18T00:00:00Z\",\"until\":\"2026-11-17T00:00:00Z\"}", 422, "INVALID_RANGE" },
        { "POST", Endpoints, "{\"url\":\"http://127.0.0.1:9/\",\"events\":[\"lead.urgent\"]}", 400, "UNKNOWN_FIELD" },
        { "PATCH", "{endpoint}", "{\"enable\":false}", 400, "UNKNOWN_FIELD" },
        { "POST", "{endpoint}/rotate-secret", "{\"graceHours\":0}", 400, "UNKNOWN_FIELD" },
        { "POST", "{endpoint}/test", "{\"type\":\"lead.urgent\"}", 400, "UNKNOWN_FIELD" },
        { "POST", "{endpoint}/replay-failed", "{\"from\":\"2026-11-18T00:00:00Z\"}", 400, "UNKNOWN_FIELD" },
        { "GET", "{endpoint}/deliveries?status=lost", "", 422, "INVALID_FILTER" },
        { "GET", "{endpoint}/deliveries?page=0", "", 422, "INVALID_PAGE" },
        { "GET", "{endpoint}/deliveries?pageSize=1000", "", 422, "INVALID_PAGE_SIZE" },
        { "GET", "{endpoint}/deliveries?page=abc", "", 400, "" },
        { "GET", Endpoints + "/not-a-guid", "", 404, "NOT_FOUND" },
        { "POST", "{endpoint}/deliveries/00000000-0000-0000-0000-000000000001/replay", "", 404, "WEBHOOK_DELIVERY_NOT_FOUND" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task BadInputIsA4xxInTheErrorEnvelopeNeverA500(string method, string path, string body, int status, string code)
    {
        var tenant = await factory.CreateTenantAsync();
        var (id, _) = await factory.CreateEndpointAsync(tenant, "http://127.0.0.1:9/ok");
        using var request = new HttpRequestMessage(new HttpMethod(method), path.Replace("{endpoint}", $"{Endpoints}/{id}"));
        if (method != "GET")
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        var response = await factory.ApiClient(tenant).SendAsync(request);

        Assert.Equal(status, (int)response.StatusCode);
        var error = await VapiWebhookTests.ErrorOf(response);
        if (code.Length > 0)
        {
            Assert.Equal(code, error["code"]!.GetValue<string>());
        }
        Assert.False(string.IsNullOrEmpty(error["message"]!.GetValue<string>()));
    }

    [Theory]
    [InlineData("café")]
    [InlineData("Bearer tok\u00A0en")]
    [InlineData("clé-🔑")]
    public async Task AHeaderValueThatIsNotAsciiIsRefusedInsteadOfFailingEveryDelivery(string value)
    {
        var tenant = await factory.CreateTenantAsync();
        var client = factory.ApiClient(tenant);
        var headers = new Dictionary<string, string> { ["X-Token"] = value };

        // Accepted with 201 before, and then every delivery failed: "Request headers must contain only ASCII characters."
        var created = await client.PostAsJsonAsync(Endpoints, new { url = "http://127.0.0.1:9/crm", headers });

        Assert.Equal(HttpStatusCode.UnprocessableEntity, created.StatusCode);
        Assert.Equal("INVALID_HEADERS", (await VapiWebhookTests.ErrorOf(created))["code"]!.GetValue<string>());
        Assert.Empty(JsonNode.Parse(await client.GetStringAsync(Endpoints))!.AsArray());

        var (id, _) = await factory.CreateEndpointAsync(tenant, "http://127.0.0.1:9/crm", ["call.ended"]);
        var patched = await client.PatchAsJsonAsync($"{Endpoints}/{id}", new { headers });
        Assert.Equal(HttpStatusCode.UnprocessableEntity, patched.StatusCode);
        Assert.Equal("INVALID_HEADERS", (await VapiWebhookTests.ErrorOf(patched))["code"]!.GetValue<string>());
        Assert.Empty(JsonNode.Parse(await client.GetStringAsync($"{Endpoints}/{id}"))!["headers"]!.AsObject());
    }

    [Fact]
    public async Task AMisspeltFieldIsRefusedAndNamedInsteadOfSubscribingToEverything()
    {
        var tenant = await factory.CreateTenantAsync();
        var client = factory.ApiClient(tenant);

        // "events" for "eventTypes": ignored, it left eventTypes empty, which subscribes to every event type.
        var misspelt = await client.PostAsync(Endpoints,
            new StringContent("{\"url\":\"http://127.0.0.1:9/crm\",\"events\":[\"lead.urgent\"]}", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, misspelt.StatusCode);
        var error = await VapiWebhookTests.ErrorOf(misspelt);
        Assert.Equal("UNKNOWN_FIELD", error["code"]!.GetValue<string>());
        Assert.Contains("'events'", error["message"]!.GetValue<string>());
        Assert.Contains("eventTypes", error["message"]!.GetValue<string>());
        Assert.Empty(JsonNode.Parse(await client.GetStringAsync(Endpoints))!.AsArray());

        // "enable": false answered 200 and the endpoint went on receiving events.
        var (id, _) = await factory.CreateEndpointAsync(tenant, "http://127.0.0.1:9/crm", ["lead.urgent"]);
        var disable = await client.PatchAsync($"{Endpoints}/{id}", new StringContent("{\"enable\":false}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, disable.StatusCode);
        Assert.Equal("UNKNOWN_FIELD", (await VapiWebhookTests.ErrorOf(disable))["code"]!.GetValue<string>());
        Assert.True(JsonNode.Parse(await client.GetStringAsync($"{Endpoints}/{id}"))!["enabled"]!.GetValue<bool>());

        // Names still bind without regard to case, as before.
        var capitalised = await client.PatchAsync($"{Endpoints}/{id}", new StringContent("{\"Enabled\":false,\"EventTypes\":[\"call.ended\"]}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, capitalised.StatusCode);
        var changed = JsonNode.Parse(await capitalised.Content.ReadAsStringAsync())!;
        Assert.False(changed["enabled"]!.GetValue<bool>());
        Assert.Equal(["call.ended"], changed["eventTypes"]!.AsArray().Select(t => t!.GetValue<string>()));
    }

    [Fact]
    public async Task AnOversizedBodyIsRejectedWith413()
    {
        var tenant = await factory.CreateTenantAsync();
        var huge = "{\"url\":\"http://127.0.0.1:9/\",\"description\":\"" + new string('x', 70_000) + "\"}";

        var response = await factory.ApiClient(tenant).PostAsync(Endpoints, new StringContent(huge, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("PAYLOAD_TOO_LARGE", (await VapiWebhookTests.ErrorOf(response))["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task WithoutAnApiKeyEveryRouteIs401()
    {
        var response = await factory.CreateClient().GetAsync(Endpoints);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("UNAUTHENTICATED", (await VapiWebhookTests.ErrorOf(response))["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task ATenantCannotCreateMoreThanTheEndpointLimit()
    {
        var tenant = await factory.CreateTenantAsync();
        for (var i = 0; i < 20; i++)
        {
            await factory.CreateEndpointAsync(tenant, $"http://127.0.0.1:9/{i}");
        }

        var response = await factory.ApiClient(tenant).PostAsJsonAsync(Endpoints, new { url = "http://127.0.0.1:9/21" });

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Equal("ENDPOINT_LIMIT_REACHED", (await VapiWebhookTests.ErrorOf(response))["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task EventTypesAreListedAndEachBodyIsDocumentedInTheOpenApiDocument()
    {
        var tenant = await factory.CreateTenantAsync();

        var types = JsonNode.Parse(await factory.ApiClient(tenant).GetStringAsync("/api/v1/webhooks/event-types"))!.AsArray();
        var openApi = JsonNode.Parse(await factory.CreateClient().GetStringAsync("/openapi/v1.json"))!;

        string[] expected = ["call.started", "call.ended", "call.analyzed", "lead.created", "lead.urgent", "lead.updated", "sms.sent", "sms.failed", "recording.ready", "assistant.updated", "billing.plan_changed", "billing.payment_failed", "call.transferred", "call.transfer_failed"];
        Assert.Equal(expected.Order(), types.Select(t => t!["type"]!.GetValue<string>()).Order());
        var webhooks = openApi["webhooks"]!.AsObject();
        Assert.Equal(expected.Order(), webhooks.Select(w => w.Key).Order());
        var callEnded = openApi["components"]!["schemas"]!["CallEndedEvent"]!;
        Assert.Equal(["data", "timestamp", "type"], callEnded["properties"]!.AsObject().Select(p => p.Key).Order());
        var ref_ = webhooks["call.ended"]!["post"]!["requestBody"]!["content"]!["application/json"]!["schema"]!["$ref"]!.GetValue<string>();
        Assert.Equal("#/components/schemas/CallEndedEvent", ref_);
        var json = openApi.ToJsonString();
        foreach (var field in new[] { "endedReason", "durationSeconds", "recordingUrl", "successEvaluation", "messageSid", "urgency" })
        {
            Assert.Contains($"\"{field}\"", json);
        }
        Assert.Contains(openApi["paths"]!.AsObject(), p => p.Key == "/api/v1/webhooks/endpoints/{id}/replay-failed");
    }

    [Fact]
    public async Task ConcurrentCreationsNeverPassTheEndpointLimitTogether()
    {
        var tenant = await factory.CreateTenantAsync();
        for (var i = 0; i < 17; i++)
        {
            await factory.CreateEndpointAsync(tenant, $"http://127.0.0.1:9/{i}");
        }

        // Eight at once for the last three places: each used to count 17 before any had saved, and all eight were created.
        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
            factory.ApiClient(tenant).PostAsJsonAsync(Endpoints, new { url = $"http://127.0.0.1:9/race-{i}" })));

        Assert.Equal(3, responses.Count(r => r.StatusCode == HttpStatusCode.Created));
        foreach (var refused in responses.Where(r => r.StatusCode != HttpStatusCode.Created))
        {
            Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
            Assert.Equal("ENDPOINT_LIMIT_REACHED", (await VapiWebhookTests.ErrorOf(refused))["code"]!.GetValue<string>());
        }
        Assert.Equal(20, JsonNode.Parse(await factory.ApiClient(tenant).GetStringAsync(Endpoints))!.AsArray().Count);
    }

    [Fact]
    public async Task EveryChangeToAnEndpointIsInTheAuditLogWithoutItsSecretOrHeaderValues()
    {
        var tenant = await factory.CreateTenantAsync();
        var client = factory.ApiClient(tenant);
        var created = JsonNode.Parse(await (await client.PostAsJsonAsync(Endpoints, new
        {
            url = "http://127.0.0.1:9/audited",
            eventTypes = new[] { "call.ended" },
            headers = new Dictionary<string, string> { ["Authorization"] = "Bearer audit-token-98765" },
        })).Content.ReadAsStringAsync())!;
        var id = created["endpoint"]!["id"]!.GetValue<Guid>();
        var secret = created["secret"]!.GetValue<string>();
        Assert.Equal(HttpStatusCode.OK, (await client.PatchAsJsonAsync($"{Endpoints}/{id}", new
        {
            eventTypes = new[] { "lead.urgent" },
            headers = new Dictionary<string, string> { ["Authorization"] = "Bearer audit-token-11111" },
            enabled = false,
        })).StatusCode);
        var rotated = JsonNode.Parse(await (await client.PostAsJsonAsync($"{Endpoints}/{id}/rotate-secret", new { overlapHours = 2 })).Content.ReadAsStringAsync())!;
        // A refused change is not audited.
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await client.PatchAsJsonAsync($"{Endpoints}/{id}", new { eventTypes = new[] { "no.such.event" } })).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"{Endpoints}/{id}")).StatusCode);

        var text = await client.GetStringAsync("/api/v1/audit?action=webhooks.");
        var entries = JsonNode.Parse(text)!["items"]!.AsArray();
        Assert.Equal(["webhooks.endpoint_deleted", "webhooks.secret_rotated", "webhooks.endpoint_updated", "webhooks.endpoint_created"],
            entries.Select(e => e!["action"]!.GetValue<string>()));
        Assert.All(entries, e => Assert.Equal($"webhook_endpoint:{id}", e!["target"]!.GetValue<string>()));
        Assert.Contains("lead.urgent", text);
        Assert.DoesNotContain(secret, text);
        Assert.DoesNotContain(rotated["secret"]!.GetValue<string>(), text);
        Assert.DoesNotContain("audit-token", text);
    }
}
