using System.Net;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Vapi;

/// <summary>
/// Variations of Vapi's server messages a probe sends (shared/protocols/vapi-server-messages.md): values we do not know,
/// several tool calls in one message, a report without analysis, messages of a call never announced. Each is acknowledged
/// (200, the reply its type calls for) and recorded, never a 500, never lost.
/// </summary>
[Trait("Category", "Database")]
public sealed class VapiMessageVariationTests(SwitchboardFactory factory) : IClassFixture<SwitchboardFactory>
{
    private static string Of(string json, string callId) => json.Replace("CALLID", callId);

    private async Task<JsonObject> PostOkAsync(TestTenant tenant, string json)
    {
        var response = await factory.PostVapiAsync(tenant, json);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {body}");
        return JsonNode.Parse(body)!.AsObject();
    }

    /// <summary>
    /// <c>tool-calls</c> with two calls, one to a tool no assistant has (§3: every <c>toolCallId</c> gets a result or an error):
    /// one result per call, in order, the known tool run (its lead captured), the unknown one answered with a result or an error.
    /// </summary>
    [Fact]
    public async Task SeveralToolCallsWithAnUnknownToolAreEachAnsweredAndTheKnownOneRuns()
    {
        var tenant = await factory.CreateTenantAsync();
        var callId = Guid.NewGuid().ToString();

        var reply = await PostOkAsync(tenant, Of("""
            {"message":{"type":"tool-calls","call":{"id":"CALLID","type":"inboundPhoneCall","customer":{"number":"+15145551234"}},"toolCallList":[
              {"id":"call_unknown","type":"function","function":{"name":"book_spaceship","arguments":{"destination":"Mars"}}},
              {"id":"call_lead","type":"function","function":{"name":"capture_lead","arguments":"{\"name\":\"Luc Gagnon\",\"problem\":\"Drain bouché\"}"}}]}}
            """, callId));

        var results = reply["results"]!.AsArray();
        Assert.Equal(["call_unknown", "call_lead"], results.Select(r => (string?)r!["toolCallId"]));
        Assert.All(results, r => Assert.True(r!["result"] is not null || r["error"] is not null));
        var lead = await factory.WithDbAsync(tenant.Id, db => db.Leads.SingleAsync(l => db.Calls.Any(c => c.Id == l.CallId && c.ProviderCallId == callId)));
        Assert.Equal("Luc Gagnon", lead.Name);
    }

    /// <summary>
    /// Messages of a call never announced (no <c>assistant-request</c>, no <c>status-update</c>), with an <c>endedReason</c> we do
    /// not know, then its <c>end-of-call-report</c> without <c>analysis</c> and with <c>artifact.messages</c> only: the call is
    /// made from the first, ended with Vapi's reason as given, and its transcript read from the messages.
    /// </summary>
    [Fact]
    public async Task AnUnannouncedCallWithAnUnknownEndedReasonAndAReportWithoutAnalysisIsKeptWhole()
    {
        var tenant = await factory.CreateTenantAsync();
        var callId = Guid.NewGuid().ToString();

        await PostOkAsync(tenant, Of("""{"message":{"type":"hang","call":{"id":"CALLID"}}}""", callId));
        await PostOkAsync(tenant, Of("""{"message":{"type":"phone-call-control","request":"hang-up","call":{"id":"CALLID"}}}""", callId));
        await PostOkAsync(tenant, Of("""{"message":{"type":"status-update","status":"ended","endedReason":"call.in-progress.error-some-new-2027-reason","call":{"id":"CALLID"}}}""", callId));
        await PostOkAsync(tenant, Of("""
            {"message":{"type":"end-of-call-report","call":{"id":"CALLID"},"artifact":{"messages":[
              {"role":"bot","message":"Drain Fortin, bonjour!","time":1749546450909,"secondsFromStart":0},
              {"role":"user","message":"Mon drain est bouché, rappelez-moi.","time":1749546455909,"secondsFromStart":5}]}}}
            """, callId));

        var call = await factory.WithDbAsync(tenant.Id, db => db.Calls.SingleAsync(c => c.ProviderCallId == callId));
        Assert.Equal(("ended", "call.in-progress.error-some-new-2027-reason", true, true), (call.Status, call.EndedReason, call.TranscriptFinal, call.Analyzed));
        Assert.Contains("Mon drain est bouché", call.TranscriptText);
        Assert.Equal(4, await factory.WithDbAsync(tenant.Id, db => db.CallEvents.CountAsync(e => e.CallId == call.Id)));
    }
}
