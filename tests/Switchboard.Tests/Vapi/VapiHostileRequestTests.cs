using System.Net;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Vapi;

/// <summary>
/// Vapi's request/response messages (<c>tool-calls</c>, <c>transfer-destination-request</c>, <c>assistant-request</c>) with
/// fields missing, of the wrong JSON type, empty arrays, unknown tools and huge arguments. Each is answered 200 with the
/// shape its type documents (vapi-server-messages.md: <c>{"results":[…]}</c>; <c>{"destination"}</c> or <c>{"error"}</c>;
/// <c>{"assistant"}</c>, <c>{"assistantId"}</c> or <c>{"error"}</c>), never a 500, and no lead or transfer comes of it
/// (a number where text is expected is read as its text by design, <c>VapiJson.Str</c>: not a case here).
/// </summary>
[Trait("Category", "Database")]
public sealed class VapiHostileRequestTests(SwitchboardFactory factory) : IClassFixture<SwitchboardFactory>
{
    private static readonly string Huge = new('x', 200_000);

    /// <summary>Message bodies (inside <c>message</c>) by case; <c>CALL</c> is a fresh call id.</summary>
    public static TheoryData<string, string> Probes() => new()
    {
        { "tool-calls", """{"type":"tool-calls","call":{"id":"CALL"},"toolCallList":[]}""" },
        { "tool-calls", """{"type":"tool-calls","call":{"id":"CALL"}}""" },
        { "tool-calls", """{"type":"tool-calls","call":{"id":"CALL"},"toolCallList":"capture_lead"}""" },
        { "tool-calls", """{"type":"tool-calls","call":{"id":"CALL"},"toolCallList":[null,1,"x",[],{}]}""" },
        { "tool-calls", """{"type":"tool-calls","call":{"id":"CALL"},"toolCallList":[{"id":42,"function":{"name":7,"arguments":[1,2]}}]}""" },
        { "tool-calls", """{"type":"tool-calls","call":{"id":"CALL"},"toolCallList":[{"id":"t1","function":{"name":"no_such_tool","arguments":{"a":"HUGE"}}}]}""" },
        { "tool-calls", """{"type":"tool-calls","call":{"id":"CALL"},"toolCallList":[{"id":"t1","function":{"name":"capture_lead","arguments":"{not json"}}]}""" },
        { "tool-calls", """{"type":"tool-calls","call":{"id":"CALL"},"toolCallList":[{"id":"t1","function":{"name":"capture_lead","arguments":{"name":{},"phone":[],"problem":{"text":"x"},"urgency":[]}}}]}""" },
        { "tool-calls", """{"type":"tool-calls","call":"CALL","toolCalls":{"id":"t1"}}""" },
        { "transfer-destination-request", """{"type":"transfer-destination-request","call":{"id":"CALL"}}""" },
        { "transfer-destination-request", """{"type":"transfer-destination-request","call":{"id":"CALL"},"messages":"x","artifact":5}""" },
        { "transfer-destination-request", """{"type":"transfer-destination-request","call":{"id":"CALL"},"artifact":{"messages":[{"toolCalls":[{"function":{"name":"transferCall","arguments":"HUGE"}}]}]}}""" },
        { "transfer-destination-request", """{"type":"transfer-destination-request","call":{"id":"CALL"},"messages":[{"toolCalls":[{"function":{"name":"transferCall","arguments":"{\"destination\":[1]}"}}]},null,[]]}""" },
        { "transfer-destination-request", """{"type":"transfer-destination-request","call":[]}""" },
        { "assistant-request", """{"type":"assistant-request"}""" },
        { "assistant-request", """{"type":"assistant-request","call":"CALL"}""" },
        { "assistant-request", """{"type":"assistant-request","call":{"id":12,"customer":{"number":[]}},"phoneNumber":"HUGE"}""" },
    };

    [Theory]
    [MemberData(nameof(Probes))]
    public async Task AHostileRequestMessageIsAnsweredWithItsDocumentedShape(string type, string message)
    {
        var tenant = await factory.CreateTenantAsync();
        var json = "{\"message\":" + message.Replace("CALL", Guid.NewGuid().ToString()).Replace("HUGE", Huge) + "}";

        var response = await factory.PostVapiAsync(tenant, json);

        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {body[..Math.Min(body.Length, 500)]}");
        var reply = JsonNode.Parse(body)!.AsObject();
        switch (type)
        {
            case "tool-calls":
                Assert.All(Assert.IsType<JsonArray>(reply["results"]), r => Assert.True(r!["toolCallId"] is not null && (r["result"] is not null || r["error"] is not null), r.ToJsonString()));
                break;
            case "transfer-destination-request":
                Assert.True(reply["destination"] is JsonObject || reply["error"] is JsonValue, body);
                break;
            default:
                Assert.True(reply["assistant"] is JsonObject || reply["assistantId"] is JsonValue || reply["error"] is JsonValue, body[..Math.Min(body.Length, 500)]);
                break;
        }
        Assert.Equal(0, await factory.WithDbAsync(tenant.Id, db => db.Leads.CountAsync()));
        Assert.Equal(0, await factory.WithDbAsync(tenant.Id, db => db.CallTransfers.CountAsync()));
    }
}
