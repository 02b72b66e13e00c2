using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Credentials;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Tenancy;

/// <summary>
/// Every <c>/api/v1</c> endpoint, found from the host's route table (so new endpoints are covered without editing
/// this test): tenant B gets 404 for each of tenant A's resources, whatever the method, and no list, singleton or
/// export B can read contains anything of A's. A's resources are unchanged afterwards.
/// </summary>
[Trait("Category", "Database")]
public sealed partial class TenantIsolationTests(SelfServiceFactory factory) : IClassFixture<SelfServiceFactory>
{
    [GeneratedRegex(@"\{(\w+)(:[^}]*)?\}")]
    private static partial Regex RouteParameter();

    [Fact]
    public async Task AnotherTenantSeesNothingAndTouchesNothingOnAnyEndpoint()
    {
        // Tenant A, with one of everything.
        const string marker = "ZebraMarker";
        const string number = "+14385550188";
        factory.Twilio.Own(number);
        var a = await factory.SignUpAsync(email: $"a-{marker.ToLowerInvariant()}@example.test", organisation: "A " + marker);
        await factory.SetPlanAsync(a.TenantId, "telephony");
        await (await a.Client.PutAsJsonAsync("/api/v1/credentials/vapi", new { apiKey = VapiSimulator.PrivateKey })).JsonAsync(HttpStatusCode.OK);
        await (await a.Client.PutAsJsonAsync("/api/v1/credentials/twilio", new { accountSid = TwilioNumbersSimulator.AccountSid, authToken = TwilioNumbersSimulator.AuthToken })).JsonAsync(HttpStatusCode.OK);
        const string sharedKey = "SharedKey" + marker + "0123456789";
        await (await a.Client.PutAsJsonAsync("/api/v1/credentials/twilio/signing-key", new { secret = sharedKey, keyId = "KeyId" + marker })).JsonAsync(HttpStatusCode.OK);
        await (await a.Client.PatchAsJsonAsync("/api/v1/studio", new { persona = new { persona = "Persona " + marker } })).JsonAsync(HttpStatusCode.OK);
        var assistantId = (await (await a.Client.PostAsJsonAsync("/api/v1/assistants", new { name = "Assistant " + marker })).JsonAsync(HttpStatusCode.Created))["id"]!.GetValue<string>();
        var numberId = (await (await a.Client.PostAsJsonAsync("/api/v1/numbers", new { number, mode = "vapi" })).JsonAsync(HttpStatusCode.Accepted))["id"]!.GetValue<string>();
        var invitationId = (await (await a.Client.PostAsJsonAsync("/api/v1/team/invitations", new { email = $"invitee-{marker.ToLowerInvariant()}@example.test", role = "member" })).JsonAsync(HttpStatusCode.Created))["id"]!.GetValue<string>();
        var created = await (await a.Client.PostAsJsonAsync("/api/v1/keys", new { name = "Key " + marker })).JsonAsync(HttpStatusCode.Created);
        var keyId = created["apiKey"]!["id"]!.GetValue<string>();
        var secretKey = created["key"]!.GetValue<string>();
        const string doNotCall = "+14385550177";
        await (await a.Client.PostAsJsonAsync("/api/v1/dnc", new { number = doNotCall, note = "Note " + marker })).JsonAsync(HttpStatusCode.Created);
        await (await a.Client.PutAsJsonAsync("/api/v1/settings/alerts", new { onCallNumbers = new[] { "+14385550155" } })).JsonAsync(HttpStatusCode.OK);
        var campaignId = (await (await a.Client.PostAsJsonAsync("/api/v1/campaigns", new { name = "Campaign " + marker, contactsCsv = "number,name\n+14385550166,Contact " + marker }))
            .JsonAsync(HttpStatusCode.Created))["campaign"]!["id"]!.GetValue<string>();
        await factory.Outbox.DrainAsync(CancellationToken.None);
        var webhookSecret = factory.Services.GetRequiredService<SecretProtector>().Unprotect(
            await factory.WithDbAsync(null, db => db.Tenants.Where(t => t.Id == a.TenantId).Select(t => t.VapiWebhookSecretProtected).FirstAsync()))!;
        var report = Fixtures.ReadText("vapi/end-of-call-report.2024-07.json");
        using (var message = new HttpRequestMessage(HttpMethod.Post, $"/webhooks/vapi/{a.TenantId}") { Content = new StringContent(report, Encoding.UTF8, "application/json") })
        {
            message.Headers.Add("x-vapi-secret", webhookSecret);
            Assert.Equal(HttpStatusCode.OK, (await factory.CreateClient().SendAsync(message)).StatusCode);
        }
        var callId = (await a.Client.GetFromJsonAsync<JsonObject>("/api/v1/calls"))!["items"]![0]!["id"]!.GetValue<string>();

        // Tenant B, on the same plan.
        var b = await factory.SignUpAsync();
        await factory.SetPlanAsync(b.TenantId, "telephony");

        var ids = new Dictionary<string, string>
        {
            ["/api/v1/assistants/{id}"] = assistantId,
            ["/api/v1/numbers/{id}"] = numberId,
            ["/api/v1/team/invitations/{id}"] = invitationId,
            ["/api/v1/team/members/{userId}"] = a.UserId.ToString(),
            ["/api/v1/keys/{id}"] = keyId,
            ["/api/v1/keys/{id}/rotate"] = keyId,
            ["/api/v1/calls/{id}"] = callId,
            ["/api/v1/calls/{id}/recording"] = callId,
            ["/api/v1/credentials/{provider}"] = "vapi",
            ["/api/v1/credentials/{provider}/check"] = "vapi",
            ["/api/v1/dnc/{number}"] = Uri.EscapeDataString(doNotCall), // on A's list only: B removing it finds nothing
            ["/api/v1/campaigns/{id}"] = campaignId,
            ["/api/v1/campaigns/{id}/contacts"] = campaignId,
            ["/api/v1/campaigns/{id}/events"] = campaignId,
            ["/api/v1/campaigns/{id}/schedule"] = campaignId,
            ["/api/v1/campaigns/{id}/start"] = campaignId,
            ["/api/v1/campaigns/{id}/pause"] = campaignId,
            ["/api/v1/campaigns/{id}/resume"] = campaignId,
            ["/api/v1/campaigns/{id}/cancel"] = campaignId,
        };
        var bodies = new Dictionary<string, object>
        {
            ["PATCH /api/v1/assistants/{id}"] = new { name = "hijacked" },
            ["PATCH /api/v1/numbers/{id}"] = new { mode = "twilio" },
            ["PATCH /api/v1/team/members/{userId}"] = new { role = "member" },
            ["POST /api/v1/keys/{id}/rotate"] = new { graceHours = 0 },
        };
        var secrets = new[] { a.TenantId.ToString(), campaignId, "4385550166", assistantId, numberId, number, invitationId, keyId, callId, a.Email, marker, "4566836490", "4385550177", "4385550155", secretKey, VapiSimulator.PrivateKey, sharedKey };
        // Singletons B has not set: 404 for B (never A's), checked for leaks like the rest.
        var absentForB = new HashSet<string> { "/api/v1/credentials/twilio/signing-key" };

        var endpoints = factory.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText!.StartsWith("/api/v1/", StringComparison.Ordinal) && e.Metadata.GetMetadata<IHttpMethodMetadata>() is not null)
            .Where(e => !e.RoutePattern.RawText!.StartsWith("/api/v1/auth", StringComparison.Ordinal) && !e.RoutePattern.RawText!.StartsWith("/api/v1/operator", StringComparison.Ordinal))
            .Where(e => e.RoutePattern.RawText != "/api/v1/events") // a stream that never ends: LiveEventsTests.AnotherTenantsEventsNeverArrive covers it
            .ToList();
        var checkedRoutes = 0;
        foreach (var endpoint in endpoints)
        {
            var template = RouteParameter().Replace(endpoint.RoutePattern.RawText!, "{$1}").TrimEnd('/');
            foreach (var method in endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()!.HttpMethods)
            {
                var hasId = template.Contains('{', StringComparison.Ordinal);
                if (hasId)
                {
                    var id = ids.GetValueOrDefault(template) ?? Guid.NewGuid().ToString(); // another feature's resource: a random id must be 404 too
                    var url = RouteParameter().Replace(template, id);
                    using var request = new HttpRequestMessage(new HttpMethod(method), url);
                    if (method != "GET" && method != "DELETE")
                    {
                        request.Content = JsonContent.Create(bodies.GetValueOrDefault($"{method} {template}") ?? new { });
                    }
                    var response = await b.Client.SendAsync(request);
                    Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"{method} {url} as tenant B: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                    checkedRoutes++;
                }
                else if (method == "GET")
                {
                    var response = await b.Client.GetAsync(template);
                    var text = await response.Content.ReadAsStringAsync();
                    Assert.True(absentForB.Contains(template) ? response.StatusCode == HttpStatusCode.NotFound : response.IsSuccessStatusCode,
                        $"GET {template}: {(int)response.StatusCode} {text}");
                    foreach (var secret in secrets)
                    {
                        Assert.False(text.Contains(secret, StringComparison.OrdinalIgnoreCase), $"GET {template} as tenant B shows A's {secret}");
                    }
                    checkedRoutes++;
                }
            }
        }
        Assert.True(checkedRoutes >= 30, $"only {checkedRoutes} routes checked");

        // A is intact.
        var assistant = await a.Client.GetFromJsonAsync<JsonObject>($"/api/v1/assistants/{assistantId}");
        Assert.Equal("Assistant " + marker, assistant!["name"]!.GetValue<string>());
        Assert.Equal("vapi", (await a.Client.GetFromJsonAsync<JsonObject>($"/api/v1/numbers/{numberId}"))!["mode"]!.GetValue<string>());
        var keyed = factory.CreateClient();
        keyed.DefaultRequestHeaders.Authorization = Http.Bearer(secretKey);
        Assert.Equal(HttpStatusCode.OK, (await keyed.GetAsync("/api/v1/calls")).StatusCode);
        Assert.Equal("owner", (await a.Client.GetFromJsonAsync<JsonArray>("/api/v1/team/members"))!.First(m => m!["userId"]!.GetValue<string>() == a.UserId.ToString())!["role"]!.GetValue<string>());
        Assert.True((await a.Client.GetFromJsonAsync<JsonArray>("/api/v1/credentials"))!.First(c => c!["provider"]!.GetValue<string>() == "vapi")!["configured"]!.GetValue<bool>());
        Assert.Equal("draft", (await a.Client.GetFromJsonAsync<JsonObject>($"/api/v1/campaigns/{campaignId}"))!["status"]!.GetValue<string>());
        Assert.True((await a.Client.GetFromJsonAsync<JsonObject>("/api/v1/audit/verify"))!["valid"]!.GetValue<bool>());
    }
}
