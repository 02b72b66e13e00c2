using System.Net;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Brain;

/// <summary>The <c>capture_lead</c> tool tells the model what it did, and only what it did.</summary>
[Trait("Category", "Database")]
public sealed class CaptureLeadToolTests(SwitchboardFactory factory) : IClassFixture<SwitchboardFactory>
{
    /// <summary>
    /// A <c>tool-calls</c> message that names no call (Vapi's tool test, a misconfigured server URL) has nothing to attach a
    /// lead to: the model must hear <c>captured: false</c>, not be told the lead was taken while nothing was stored (an outside
    /// probe: it answered <c>captured: true</c> and the assistant promised a callback nobody would make).
    /// </summary>
    [Fact]
    public async Task CaptureLeadWithoutACallSaysNothingWasCaptured()
    {
        var tenant = await factory.CreateTenantAsync();
        const string json = """
        {"message":{"type":"tool-calls",
          "toolCallList":[
            {"id":"call_a","type":"function","function":{"name":"capture_lead","arguments":{"name":"Marie Tremblay","phone":"+15145557777","problem":"Mon sous-sol est inondé"}}}
          ]}}
        """;

        var response = await factory.PostVapiAsync(tenant, json);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var result = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["results"]![0]!;
        Assert.Equal("call_a", result["toolCallId"]!.GetValue<string>());
        var outcome = JsonNode.Parse(result["result"]!.GetValue<string>())!;
        Assert.False(outcome["captured"]!.GetValue<bool>());
        Assert.False(outcome["staffAlerted"]!.GetValue<bool>());
        Assert.Contains("not recorded", outcome["reason"]!.GetValue<string>());
        Assert.Equal(0, await factory.WithDbAsync(tenant.Id, db => db.Leads.CountAsync()));
        Assert.Equal(0, await factory.WithDbAsync(tenant.Id, db => db.SmsMessages.CountAsync()));
    }
}
