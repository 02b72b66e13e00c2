using Switchboard.Tests.Support;
using Twilio.Rest.Api.V2010.Account;
using Twilio.Rest.Api.V2010.Account.Conference;
using Twilio.Types;

namespace Switchboard.Tests.Outbound;

/// <summary>
/// The voice REST simulator's wire format, checked with Twilio's own SDK (8.2.0) as the oracle: <c>CallResource.Update</c>
/// with TwiML, <c>ParticipantResource.Create</c> with coaching and <c>ParticipantResource.Update</c> are sent by the SDK to
/// the simulator (host rewritten by a handler: the SDK has no base-URL setting) and its answers parse as the SDK's resources.
/// </summary>
public sealed class TwilioVoiceRestSimulatorTests
{
    private sealed class RedirectToSimulator(Uri target) : DelegatingHandler(new HttpClientHandler())
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            request.RequestUri = new UriBuilder(request.RequestUri!) { Scheme = target.Scheme, Host = target.Host, Port = target.Port }.Uri;
            return base.SendAsync(request, ct);
        }
    }

    [Fact]
    public async Task TheTwilioSdkUpdatesACallAndDialsAndJoinsAConferenceParticipantOnTheSimulator()
    {
        await using var twilio = await TwilioSimulator.StartAsync();
        using var http = new HttpClient(new RedirectToSimulator(new Uri(twilio.BaseUrl)));
        var client = new global::Twilio.Clients.TwilioRestClient(TwilioSimulator.AccountSid, TwilioSimulator.AuthToken,
            httpClient: new global::Twilio.Http.SystemNetHttpClient(http));
        const string caller = "CA0123456789abcdef0123456789abcdef";

        var call = await CallResource.UpdateAsync(new UpdateCallOptions(caller)
        {
            Twiml = new Twiml("<Response><Dial><Number>+15145550111</Number></Dial></Response>"),
        }, client);
        Assert.Equal(caller, call.Sid);
        var update = Assert.Single(twilio.Voice.CallUpdates);
        Assert.Equal((caller, "<Response><Dial><Number>+15145550111</Number></Dial></Response>"), (update.CallSid, update.Form["Twiml"]));

        var agent = await ParticipantResource.CreateAsync(new CreateParticipantOptions("xfer-" + caller, new PhoneNumber("+14385550199"), new PhoneNumber("+15145550111"))
        {
            Label = "agent",
            Coaching = true,
            CallSidToCoach = caller,
            Timeout = 20,
            StartConferenceOnEnter = true,
        }, client);
        Assert.StartsWith("CA", agent.CallSid);
        Assert.Equal(("agent", true, caller), (agent.Label, agent.Coaching, agent.CallSidToCoach));
        var created = Assert.Single(twilio.Voice.Participants);
        Assert.Equal(("+15145550111", "+14385550199", "true", caller, "20"),
            (created.Form["To"], created.Form["From"], created.Form["Coaching"], created.Form["CallSidToCoach"], created.Form["Timeout"]));

        var joined = await ParticipantResource.UpdateAsync(new UpdateParticipantOptions("xfer-" + caller, agent.CallSid) { Coaching = false }, client);
        Assert.False(joined.Coaching);
        Assert.Equal("false", Assert.Single(created.Updates)["Coaching"]);
        await twilio.Voice.IdleAsync(TimeSpan.FromSeconds(5));
        Assert.Contains(("xfer-" + caller, agent.CallSid), twilio.Voice.Joined);

        // Bad credentials are refused as Twilio does (20003).
        var wrong = new global::Twilio.Clients.TwilioRestClient(TwilioSimulator.AccountSid, "wrong-token", httpClient: new global::Twilio.Http.SystemNetHttpClient(http));
        var refused = await Assert.ThrowsAsync<global::Twilio.Exceptions.ApiException>(() => CallResource.UpdateAsync(new UpdateCallOptions(caller) { Twiml = new Twiml("<Response/>") }, wrong));
        Assert.Equal(20003, refused.Code);
    }
}
