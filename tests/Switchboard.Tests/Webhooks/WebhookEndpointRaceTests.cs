using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Credentials;
using Switchboard.Tests.Support;
using Switchboard.Tests.Vapi;

namespace Switchboard.Tests.Webhooks;

/// <summary>
/// Probe 9: requests on one webhook endpoint sent at the same moment. A change or a secret rotation racing the endpoint's
/// DELETE answered 500 (the save updated a row that was gone); two rotations at once both answered 200, and the secret
/// handed to one of them was never stored, so its caller verified every delivery against a secret that never signed.
/// </summary>
[Trait("Category", "Database")]
public sealed class WebhookEndpointRaceTests(WebhookFactory factory) : IClassFixture<WebhookFactory>
{
    private const string Endpoints = "/api/v1/webhooks/endpoints";
    private const int Rounds = 15;

    [Fact]
    public async Task ChangingOrRotatingAnEndpointWhileItIsDeletedIsNeverA500()
    {
        var tenant = await factory.CreateTenantAsync();
        var client = factory.ApiClient(tenant);

        for (var i = 0; i < Rounds; i++)
        {
            var (id, _) = await factory.CreateEndpointAsync(tenant, $"http://127.0.0.1:9/race-{i}");
            Func<Task<HttpResponseMessage>> change = i % 2 == 0
                ? () => client.PatchAsJsonAsync($"{Endpoints}/{id}", new { description = $"round {i}" })
                : () => client.PostAsJsonAsync($"{Endpoints}/{id}/rotate-secret", new { overlapHours = 1 });
            var responses = await Concurrently.PairAsync(change, () => client.DeleteAsync($"{Endpoints}/{id}"));

            Assert.Equal(HttpStatusCode.NoContent, responses[1].StatusCode);
            var changed = responses[0];
            Assert.True(changed.StatusCode is HttpStatusCode.OK or HttpStatusCode.NotFound or HttpStatusCode.Conflict,
                $"round {i}: {(int)changed.StatusCode} {await changed.Content.ReadAsStringAsync()}");
            if (changed.StatusCode != HttpStatusCode.OK)
            {
                var code = (await VapiWebhookTests.ErrorOf(changed))["code"]!.GetValue<string>();
                Assert.Equal(changed.StatusCode == HttpStatusCode.Conflict ? "CONFLICT" : "WEBHOOK_ENDPOINT_NOT_FOUND", code);
            }
            Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"{Endpoints}/{id}")).StatusCode);
        }
        Assert.Equal("[]", await client.GetStringAsync(Endpoints));
    }

    [Fact]
    public async Task TwoDeletesOfOneEndpointAtOnceDeleteItOnce()
    {
        var tenant = await factory.CreateTenantAsync();
        var client = factory.ApiClient(tenant);

        for (var i = 0; i < Rounds; i++)
        {
            var (id, _) = await factory.CreateEndpointAsync(tenant, $"http://127.0.0.1:9/deletes-{i}");

            var responses = await Concurrently.PairAsync(() => client.DeleteAsync($"{Endpoints}/{id}"), () => client.DeleteAsync($"{Endpoints}/{id}"));

            // As the same two DELETEs in sequence: one 204, then 404 in the error envelope; one audit entry.
            await Platform.DeleteRaceTests.AssertOnceAsync(responses, "WEBHOOK_ENDPOINT_NOT_FOUND");
            Assert.Equal(1, await factory.WithDbAsync(null, db => db.AuditLog.IgnoreQueryFilters()
                .CountAsync(a => a.TenantId == tenant.Id && a.Action == "webhooks.endpoint_deleted" && a.Target == "webhook_endpoint:" + id)));
        }
    }

    [Fact]
    public async Task TwoRotationsAtOnceEachHandOutASecretThatStillSigns()
    {
        var tenant = await factory.CreateTenantAsync();
        var client = factory.ApiClient(tenant);
        var (id, _) = await factory.CreateEndpointAsync(tenant, "http://127.0.0.1:9/rotations");
        var secrets = factory.Services.GetRequiredService<SecretProtector>();

        for (var i = 0; i < Rounds; i++)
        {
            var responses = await Concurrently.PairAsync(
                () => client.PostAsJsonAsync($"{Endpoints}/{id}/rotate-secret", new { overlapHours = 2 }),
                () => client.PostAsJsonAsync($"{Endpoints}/{id}/rotate-secret", new { overlapHours = 2 }));

            var endpoint = await factory.EndpointAsync(tenant.Id, id);
            var signing = new[] { secrets.Unprotect(endpoint.SecretProtected), secrets.Unprotect(endpoint.PreviousSecretProtected) };
            foreach (var response in responses)
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                var handedOut = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["secret"]!.GetValue<string>();
                Assert.True(signing.Contains(handedOut), $"round {i}: a secret handed out by a 200 is neither the current nor the previous one");
            }
        }
    }
}
