using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Switchboard.Tests.Support;
using Switchboard.Tests.Vapi;

namespace Switchboard.Tests.Webhooks;

/// <summary>
/// The "done when": a tenant registers an endpoint, a call happens, and the receiver gets call.ended,
/// call.analyzed and lead.* events that verify with the standardwebhooks library.
/// </summary>
[Trait("Category", "Database")]
public sealed class WebhookEndToEndTests(WebhookFactory factory) : IClassFixture<WebhookFactory>
{
    [Fact]
    public async Task ATenantsEndpointReceivesTheCallAndLeadEventsOfAVapiCallSignedPerStandardWebhooks()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var bystander = await WebhookReceiver.StartAsync();
        var tenant = await factory.CreateTenantAsync();
        var other = await factory.CreateTenantAsync("Plomberie Voisine");
        var created = await factory.ApiClient(tenant).PostAsJsonAsync("/api/v1/webhooks/endpoints", new
        {
            url = receiver.Url,
            description = "CRM",
            eventTypes = new[] { "call.ended", "call.analyzed", "lead.created", "lead.urgent" },
        });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var secret = JsonNode.Parse(await created.Content.ReadAsStringAsync())!["secret"]!.GetValue<string>();
        await factory.CreateEndpointAsync(other, bystander.Url);
        var callId = Guid.NewGuid().ToString();

        var vapi = await factory.PostVapiAsync(tenant, VapiWebhookTests.EndOfCallReport(callId,
            "Sous-sol inondé chez Marie Tremblay, 12 rue des Érables, Laval.",
            "Bonjour, mon sous-sol est inondé, il y a de l'eau partout!", "Marie Tremblay, 12 rue des Érables à Laval."));
        await factory.DeliverAllAsync();

        Assert.Equal(HttpStatusCode.OK, vapi.StatusCode);
        var received = receiver.Requests.ToDictionary(r => r.Type);
        Assert.Equal(["call.analyzed", "call.ended", "lead.created", "lead.urgent"], received.Keys.Order());
        var call = JsonNode.Parse(await factory.ApiClient(tenant).GetStringAsync("/api/v1/calls"))!["items"]![0]!;
        var ended = received["call.ended"].Data;
        Assert.Equal(call["id"]!.GetValue<Guid>(), ended["callId"]!.GetValue<Guid>());
        Assert.Equal(callId, ended["providerCallId"]!.GetValue<string>());
        Assert.Equal("customer-ended-call", ended["endedReason"]!.GetValue<string>());
        Assert.Equal("+15145559876", ended["customerNumber"]!.GetValue<string>());
        var analyzed = received["call.analyzed"].Data;
        Assert.StartsWith("Sous-sol inondé", analyzed["summary"]!.GetValue<string>());
        Assert.Equal("emergency", analyzed["urgency"]!.GetValue<string>());
        var lead = received["lead.urgent"].Data;
        Assert.Equal(analyzed["leadId"]!.GetValue<Guid>(), lead["leadId"]!.GetValue<Guid>());
        Assert.Equal(lead.ToJsonString(), received["lead.created"].Data.ToJsonString());
        Assert.Equal("emergency", lead["urgency"]!.GetValue<string>());
        Assert.Equal(4, receiver.Requests.Select(r => r.Id).Distinct().Count());
        await StandardWebhooksOracle.AssertAllVerifyAsync(secret, receiver.Requests);
        Assert.Empty(bystander.Requests);
    }

    [Fact]
    public async Task TheRealJuly2024EndOfCallReportProducesEveryCallEvent()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var tenant = await factory.CreateTenantAsync();
        var (_, secret) = await factory.CreateEndpointAsync(tenant, receiver.Url);

        var vapi = await factory.PostVapiAsync(tenant, Fixtures.ReadText("vapi/end-of-call-report.2024-07.json"));
        await factory.DeliverAllAsync();

        Assert.Equal(HttpStatusCode.OK, vapi.StatusCode);
        var received = receiver.Requests.ToDictionary(r => r.Type);
        Assert.Equal(["call.analyzed", "call.ended", "call.started", "lead.created", "recording.ready", "sms.sent"], received.Keys.Order());
        Assert.StartsWith("https://auth.vapi.ai/storage/v1/object/public/recordings/", received["recording.ready"].Data["recordingUrl"]!.GetValue<string>());
        Assert.Equal(34.086, received["call.ended"].Data["durationSeconds"]!.GetValue<double>(), 3);
        Assert.Equal("CAddff8dcc320080e68c5f1ecf0c97ab23", received["call.started"].Data["callSid"]!.GetValue<string>());
        Assert.Equal("simulated", received["sms.sent"].Data["status"]!.GetValue<string>());
        await StandardWebhooksOracle.AssertAllVerifyAsync(secret, receiver.Requests);
    }
}
