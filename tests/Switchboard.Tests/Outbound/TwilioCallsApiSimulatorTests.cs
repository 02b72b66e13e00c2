using Switchboard.Simulators;
using Switchboard.Tests.Support;
using Twilio.Clients;
using Twilio.Exceptions;
using Twilio.Rest.Api.V2010.Account;

namespace Switchboard.Tests.Outbound;

/// <summary>The Calls API simulator's wire format, checked with Twilio's own SDK (Twilio 8.2.0) pointed at it.</summary>
public sealed class TwilioCallsApiSimulatorTests
{
    /// <summary>The SDK has no base-URL setting: rewrite api.twilio.com to the simulator (outbound-and-transfer.md §8).</summary>
    private sealed class RedirectToSimulator(Uri target) : DelegatingHandler(new HttpClientHandler())
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            request.RequestUri = new UriBuilder(request.RequestUri!) { Scheme = target.Scheme, Host = target.Host, Port = target.Port }.Uri;
            return base.SendAsync(request, ct);
        }
    }

    private static TwilioRestClient Client(string baseUrl, string token = TwilioSimulator.AuthToken) =>
        new(TwilioSimulator.AccountSid, token, httpClient: new global::Twilio.Http.SystemNetHttpClient(new HttpClient(new RedirectToSimulator(new Uri(baseUrl)))));

    [Fact]
    public async Task TheTwilioSdkCreatesACallWithAnsweringMachineDetection()
    {
        var state = new TwilioCallsApiState(TwilioSimulator.AccountSid, TwilioSimulator.AuthToken) { Callee = _ => CalleeKind.Busy };
        await using var sim = await TwilioCallsApiSimulator.StartAsync(state);
        var options = new CreateCallOptions(new global::Twilio.Types.PhoneNumber("+15145550100"), new global::Twilio.Types.PhoneNumber("+14385550199"))
        {
            Url = new Uri("http://127.0.0.1:9/answer"),
            MachineDetection = "DetectMessageEnd",
            AsyncAmd = "true",
            AsyncAmdStatusCallback = new Uri("http://127.0.0.1:9/amd"),
            Timeout = 25,
        };

        var call = await CallResource.CreateAsync(options, Client(sim.BaseUrl));

        Assert.StartsWith("CA", call.Sid);
        Assert.Equal(34, call.Sid.Length);
        Assert.Equal(CallResource.StatusEnum.Queued, call.Status);
        Assert.Equal("outbound-api", call.Direction);
        Assert.Equal("+15145550100", call.To);
        Assert.NotNull(call.DateCreated);
        var create = Assert.Single(state.TimelineOf(call.Sid), e => e.Event == "create").Detail;
        Assert.Contains("MachineDetection=DetectMessageEnd", create);
        Assert.Contains("AsyncAmd=true", create);
        Assert.Contains("Timeout=25", create);

        var fetched = await CallResource.FetchAsync(new FetchCallOptions(call.Sid), Client(sim.BaseUrl));
        Assert.Equal(call.Sid, fetched.Sid);
    }

    [Fact]
    public async Task ErrorsComeInTwiliosEnvelope()
    {
        var state = new TwilioCallsApiState(TwilioSimulator.AccountSid, TwilioSimulator.AuthToken);
        await using var sim = await TwilioCallsApiSimulator.StartAsync(state);
        var bad = new CreateCallOptions(new global::Twilio.Types.PhoneNumber("not-a-number"), new global::Twilio.Types.PhoneNumber("+14385550199")) { Url = new Uri("http://127.0.0.1:9/a") };
        var invalid = await Assert.ThrowsAsync<ApiException>(() => CallResource.CreateAsync(bad, Client(sim.BaseUrl)));
        Assert.Equal(21211, invalid.Code);
        Assert.Equal(400, invalid.Status);
        var auth = await Assert.ThrowsAsync<ApiException>(() => CallResource.CreateAsync(bad, Client(sim.BaseUrl, "wrong-token")));
        Assert.Equal(20003, auth.Code);
        var missing = await Assert.ThrowsAsync<ApiException>(() =>
            CallResource.UpdateAsync(new UpdateCallOptions("CA" + new string('0', 32)) { Twiml = new global::Twilio.Types.Twiml("<Response><Hangup/></Response>") }, Client(sim.BaseUrl)));
        Assert.Equal(20404, missing.Code);
        Assert.Empty(state.Calls);
    }
}
