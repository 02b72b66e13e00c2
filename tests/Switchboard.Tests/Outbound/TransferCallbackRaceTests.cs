using System.Net;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Brain;
using Switchboard.Calls;
using Switchboard.Outbound;
using Switchboard.Realtime.Bridge;
using Switchboard.Simulators;
using Switchboard.Tests.Realtime;
using Switchboard.Tests.Support;
using Switchboard.Twilio;
using Switchboard.Webhooks;

namespace Switchboard.Tests.Outbound;

/// <summary>
/// Twilio's callbacks of one transfer handled at once, as real parallel requests to the listening host: a callback delivered
/// again (Twilio retries a request that timed out), or two of the agent's leg out of order (their arrival order is not
/// guaranteed: twilio-voice-sms.md §2). Before, each read the transfer pending (or transferred) and acted: the agent was
/// whispered to and joined once per delivery, <c>call.transferred</c> and <c>call.transfer_failed</c> both went out, a cold
/// transfer's lead alert was queued twice, or a delivery failed with a 500 on the webhook event's unique key.
/// </summary>
[Trait("Category", "Database")]
public sealed class TransferCallbackRaceTests(VoiceFactory factory) : IClassFixture<VoiceFactory>
{
    private const string OfficeNumber = TransferringCall.OfficeNumber;

    [Fact]
    public async Task TheAgentsAnswerDeliveredFourTimesAtOnceJoinsTheAgentOnceAndPublishesCallTransferredOnce()
    {
        var (tenant, callId, callSid) = await WarmTransferRingingAsync(SimAgentBehaviour.Answer, async (callback, agentSid) =>
        {
            var responses = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => PostSignedAsync(callback, AgentStatus(agentSid, "in-progress"))));
            Assert.All(responses, r => Assert.Equal(HttpStatusCode.NoContent, r.StatusCode));
        });

        var agent = Assert.Single(factory.TwilioRest.Voice.Participants, p => p.Conference == $"xfer-{callSid}");
        Assert.Single(agent.Updates, u => u.GetValueOrDefault("Coaching") == "false");
        Assert.Single(agent.Updates, u => u.ContainsKey("AnnounceUrl"));
        Assert.Equal([WebhookEventTypes.CallTransferred], await TransferEventsAsync(tenant.Id, callId));
        var transfer = await factory.WithDbAsync(tenant.Id, db => db.CallTransfers.SingleAsync(t => t.CallId == callId));
        Assert.Equal(TransferOutcomes.Transferred, transfer.Outcome);
        Assert.NotNull(transfer.ConnectedAt);
    }

    [Fact]
    public async Task TheAgentsAnswerAndABusyLegAtOnceLeaveOneOutcomeAndOneWebhook()
    {
        var (tenant, callId, callSid) = await WarmTransferRingingAsync(SimAgentBehaviour.Answer, async (callback, agentSid) =>
        {
            var responses = await Task.WhenAll(
                PostSignedAsync(callback, AgentStatus(agentSid, "in-progress")), PostSignedAsync(callback, AgentStatus(agentSid, "busy")),
                PostSignedAsync(callback, AgentStatus(agentSid, "in-progress")), PostSignedAsync(callback, AgentStatus(agentSid, "busy")));
            Assert.All(responses, r => Assert.Equal(HttpStatusCode.NoContent, r.StatusCode));
        });

        var transfer = await factory.WithDbAsync(tenant.Id, db => db.CallTransfers.SingleAsync(t => t.CallId == callId));
        var events = await TransferEventsAsync(tenant.Id, callId);
        var agent = Assert.Single(factory.TwilioRest.Voice.Participants, p => p.Conference == $"xfer-{callSid}");
        var resumed = factory.TwilioRest.Voice.CallUpdates.Count(u => u.CallSid == callSid && u.Form.GetValueOrDefault("Twiml")?.Contains("transfer-failed") == true);
        if (transfer.Outcome == TransferOutcomes.Transferred)
        {
            Assert.Equal([WebhookEventTypes.CallTransferred], events);
            Assert.Single(agent.Updates, u => u.GetValueOrDefault("Coaching") == "false");
            Assert.Equal(0, resumed);
        }
        else
        {
            Assert.Equal(TransferOutcomes.Busy, transfer.Outcome);
            Assert.Equal([WebhookEventTypes.CallTransferFailed], events);
            Assert.DoesNotContain(agent.Updates, u => u.GetValueOrDefault("Coaching") == "false");
            Assert.Equal(1, resumed);
        }
    }

    [Fact]
    public async Task ACompletedLegBeforeItsAnswerLeavesTheTransferFailedAloneWhenTheAnswerComesLate()
    {
        var (tenant, callId, callSid) = await WarmTransferRingingAsync(SimAgentBehaviour.Answer, async (callback, agentSid) =>
        {
            Assert.Equal(HttpStatusCode.NoContent, (await PostSignedAsync(callback, AgentStatus(agentSid, "completed"))).StatusCode);
            Assert.Equal(HttpStatusCode.NoContent, (await PostSignedAsync(callback, AgentStatus(agentSid, "in-progress"))).StatusCode);
        });

        var transfer = await factory.WithDbAsync(tenant.Id, db => db.CallTransfers.SingleAsync(t => t.CallId == callId));
        Assert.Equal((TransferOutcomes.NoAnswer, (DateTimeOffset?)null), (transfer.Outcome, transfer.ConnectedAt));
        Assert.Equal([WebhookEventTypes.CallTransferFailed], await TransferEventsAsync(tenant.Id, callId));
        Assert.DoesNotContain(Assert.Single(factory.TwilioRest.Voice.Participants, p => p.Conference == $"xfer-{callSid}").Updates,
            u => u.GetValueOrDefault("Coaching") == "false");
    }

    /// <summary>
    /// The caller hangs up on hold (their status callback ends the call), then the agent answers. Before: the agent was joined
    /// to a conference nobody was in, <c>call.transferred</c> went out and the call's reason became "transferred". Now the
    /// agent's leg is hung up and the transfer failed, with <c>call.transfer_failed</c> alone.
    /// </summary>
    [Fact]
    public async Task AnAgentWhoAnswersAfterTheCallerHungUpOnHoldIsHungUpAndTheTransferFails()
    {
        string? agentCallSid = null;
        var (tenant, callId, callSid) = await WarmTransferRingingAsync(SimAgentBehaviour.Answer, async (callback, agentSid) =>
        {
            agentCallSid = agentSid;
            // The caller's leg is the one the agent coaches; the tenant is in the callback's path (…/transfer/{tenantId}/{transferId}).
            var caller = Assert.Single(factory.TwilioRest.Voice.Participants, p => p.CallSid == agentSid).Form["CallSidToCoach"];
            var ended = await PostSignedAsync($"{factory.ServerUri.ToString().TrimEnd('/')}/webhooks/twilio/status/{callback.Split('/')[^2]}", new Dictionary<string, string>
            {
                ["AccountSid"] = TwilioSimulator.AccountSid, ["CallSid"] = caller, ["CallStatus"] = "completed", ["CallDuration"] = "40",
            });
            Assert.Equal(HttpStatusCode.NoContent, ended.StatusCode);
            Assert.Equal(HttpStatusCode.NoContent, (await PostSignedAsync(callback, AgentStatus(agentSid, "in-progress"))).StatusCode);
        });

        var transfer = await factory.WithDbAsync(tenant.Id, db => db.CallTransfers.SingleAsync(t => t.CallId == callId));
        Assert.Equal(TransferOutcomes.Failed, transfer.Outcome);
        Assert.Equal([WebhookEventTypes.CallTransferFailed], await TransferEventsAsync(tenant.Id, callId));
        Assert.DoesNotContain(Assert.Single(factory.TwilioRest.Voice.Participants, p => p.Conference == $"xfer-{callSid}").Updates,
            u => u.GetValueOrDefault("Coaching") == "false");
        Assert.Contains(factory.TwilioRest.Voice.CallUpdates, u => u.CallSid == agentCallSid && u.Form.GetValueOrDefault("Twiml")?.Contains("<Hangup") == true);
        var call = await factory.WithDbAsync(tenant.Id, db => db.Calls.SingleAsync(c => c.Id == callId));
        Assert.NotEqual(TransferService.TransferredReason, call.EndedReason);
    }

    [Fact]
    public async Task AColdTransfersBusyDialActionDeliveredThreeTimesAtOnceFailsTheTransferOnceWithOneLeadAndOneWebhook()
    {
        var live = await TransferringCallAsync();
        var (tenant, callId) = (live.Tenant, live.CallId);
        var (transferId, action, form) = await live.StartColdTransferAsync(factory);

        var responses = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => PostSignedAsync(action, form)));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Equal(TransferOutcomes.Busy, (await factory.WithDbAsync(tenant.Id, db => db.CallTransfers.SingleAsync(t => t.Id == transferId))).Outcome);
        Assert.Single(await factory.WithDbAsync(tenant.Id, db => db.Leads.Where(l => l.CallId == callId).ToListAsync()));
        Assert.Single(await factory.WithDbAsync(tenant.Id, db => db.WebhookEvents.Where(e => e.CallId == callId && e.Type == WebhookEventTypes.CallTransferFailed).ToListAsync()));
    }

    private static Dictionary<string, string> AgentStatus(string agentSid, string status) => new()
    {
        ["AccountSid"] = TwilioSimulator.AccountSid, ["CallSid"] = agentSid, ["CallStatus"] = status, ["To"] = OfficeNumber,
        ["Direction"] = "outbound-api", ["ApiVersion"] = "2010-04-01", ["CallbackSource"] = "call-progress-events",
    };

    /// <summary>
    /// A warm transfer to "Bureau" started by the assistant, the agent's leg ringing; <paramref name="deliver"/> gets the leg's
    /// status callback URL and CallSid while the simulator holds its own answer, which it sends (a late repeat) once
    /// <paramref name="deliver"/> is done. Waits for every simulated callback to be sent.
    /// </summary>
    private async Task<(TestTenant Tenant, Guid CallId, string CallSid)> WarmTransferRingingAsync(
        SimAgentBehaviour agent, Func<string, string, Task> deliver)
    {
        var (tenant, callId, callSid, setup) = await TransferringCallAsync();
        factory.TwilioRest.Voice.Agents[OfficeNumber] = agent;
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        factory.TwilioRest.Voice.AgentGate = gate;
        try
        {
            var output = await factory.Services.GetRequiredService<VoiceCallStore>().InvokeToolAsync(setup, ToolRegistry.TransferCall,
                JsonSerializer.Serialize(new { destination = "Bureau", reason = "Facture", mode = "warm" }), CancellationToken.None);
            Assert.Contains("\"transferring\":true", output);
            var participant = Assert.Single(factory.TwilioRest.Voice.Participants, p => p.Conference == $"xfer-{callSid}");
            await deliver(participant.Form["StatusCallback"], participant.CallSid);
        }
        finally
        {
            factory.TwilioRest.Voice.AgentGate = null;
            gate.TrySetResult();
        }
        await factory.TwilioRest.Voice.IdleAsync(TimeSpan.FromSeconds(30));
        return (tenant, callId, callSid);
    }

    private Task<List<string>> TransferEventsAsync(Guid tenantId, Guid callId) =>
        factory.WithDbAsync(tenantId, db => db.WebhookEvents.Where(e => e.CallId == callId && e.Type.StartsWith("call.transfer")).OrderBy(e => e.CreatedAt)
            .Select(e => e.Type).ToListAsync());

    /// <summary>POSTs a form to the listening host signed as Twilio signs webhooks (every test tenant has the simulator's auth token).</summary>
    private static async Task<HttpResponseMessage> PostSignedAsync(string url, Dictionary<string, string> form)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new FormUrlEncodedContent(form) };
        request.Headers.Add("X-Twilio-Signature", TwilioRequestValidator.ComputeSignature(url, form, TwilioSimulator.AuthToken));
        return await http.SendAsync(request);
    }

    private Task<TransferringCall> TransferringCallAsync() => TransferringCall.CreateAsync(factory, businessNumber: "+15145550199");
}
