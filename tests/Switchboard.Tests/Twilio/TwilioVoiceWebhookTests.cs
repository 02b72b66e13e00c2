using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using System.Xml.Linq;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Tests.Support;
using Switchboard.Twilio;

namespace Switchboard.Tests.Twilio;

[Trait("Category", "Database")]
public sealed class TwilioVoiceWebhookTests(SwitchboardFactory factory) : IClassFixture<SwitchboardFactory>
{
    private static int sequence;

    private static string NewCallSid() => $"CA{Interlocked.Increment(ref sequence):D8}{Guid.NewGuid():N}"[..34];

    internal static Dictionary<string, string> IncomingCall(string callSid, string from = "+15145550123", string? country = null, string? state = null)
    {
        var form = new Dictionary<string, string>
        {
            ["AccountSid"] = TwilioSimulator.AccountSid, ["ApiVersion"] = "2010-04-01", ["CallSid"] = callSid, ["CallStatus"] = "ringing",
            ["Called"] = "+15145550199", ["Caller"] = from, ["Direction"] = "inbound", ["From"] = from, ["To"] = "+15145550199",
            ["CallToken"] = "", ["ToCity"] = "",
        };
        if (country is not null)
        {
            form["FromCountry"] = country;
        }
        if (state is not null)
        {
            form["FromState"] = state;
        }
        return form;
    }

    private async Task<HttpResponseMessage> PostSignedAsync(
        string path, IDictionary<string, string> form, string token = TwilioSimulator.AuthToken, string? signedUrl = null,
        Action<HttpRequestMessage>? headers = null)
    {
        var client = factory.CreateClient();
        var url = signedUrl ?? new Uri(client.BaseAddress!, path).ToString();
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new FormUrlEncodedContent(form) };
        request.Headers.Add("X-Twilio-Signature", TwilioRequestValidator.ComputeSignature(url, form, token));
        headers?.Invoke(request);
        return await client.SendAsync(request);
    }

    /// <summary>Changes the tenant's (only) assistant.</summary>
    private Task UpdateAssistantAsync(TestTenant tenant, Action<global::Switchboard.Assistants.Assistant> change) =>
        factory.WithDbAsync(tenant.Id, async db =>
        {
            change(await db.Assistants.SingleAsync());
            return await db.SaveChangesAsync();
        });

    /// <summary>Puts the tenant on a plan (its account row), as the operator API would.</summary>
    private async Task SetPlanAsync(TestTenant tenant, string planId)
    {
        await factory.WithDbAsync(tenant.Id, async db =>
        {
            db.TenantAccounts.Add(new global::Switchboard.Tenancy.TenantAccount
            {
                TenantId = tenant.Id, PlanId = planId, CreatedAt = factory.Clock.GetUtcNow(), UpdatedAt = factory.Clock.GetUtcNow(),
            });
            return await db.SaveChangesAsync();
        });
        factory.Services.GetRequiredService<global::Switchboard.Tenancy.TenantAccountCache>().Invalidate(tenant.Id);
    }

    private static async Task<XElement> TwiMLOf(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/xml", response.Content.Headers.ContentType!.ToString());
        return XElement.Parse(await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task IncomingCallIsBridgedToAShortLivedSignedStream()
    {
        var tenant = await factory.CreateTenantAsync(withTwilio: true);
        await UpdateAssistantAsync(tenant, a => a.RecordingEnabled = false);
        var callSid = NewCallSid();

        var twiml = await TwiMLOf(await PostSignedAsync($"/webhooks/twilio/voice/{tenant.Id}", IncomingCall(callSid)));

        Assert.Empty(twiml.Elements("Say")); // the assistant does not record: no consent notice
        var connect = Assert.Single(twiml.Elements("Connect"));
        Assert.Equal($"http://localhost/webhooks/twilio/voice/{tenant.Id}/stream-ended", connect.Attribute("action")!.Value);
        var stream = Assert.Single(connect.Elements("Stream"));
        var url = stream.Attribute("url")!.Value;
        Assert.StartsWith("ws://localhost/media/twilio/", url);
        var grant = factory.Services.GetRequiredService<MediaStreamTokens>().Read(url[(url.LastIndexOf('/') + 1)..]);
        Assert.NotNull(grant);
        Assert.Equal(tenant.Id, grant.TenantId);
        Assert.Equal(callSid, grant.CallSid);
        Assert.Contains(stream.Elements("Parameter"), p => p.Attribute("name")!.Value == "tenantId" && p.Attribute("value")!.Value == tenant.Id.ToString());
        var call = await factory.WithDbAsync(tenant.Id, db => db.Calls.SingleAsync(c => c.ProviderCallId == callSid));
        Assert.Equal(("twilio", "ringing", "+15145550123"), (call.Provider, call.Status, call.CustomerNumber));
        Assert.Equal(grant.CallId, call.Id);
        Assert.NotNull(call.AssistantId);
    }

    [Fact]
    public async Task AStreamTokenExpiresAndCannotBeForged()
    {
        var tokens = factory.Services.GetRequiredService<MediaStreamTokens>();
        var token = tokens.Issue(Guid.NewGuid(), Guid.NewGuid(), "CA1", null, "fr-CA");
        Assert.NotNull(tokens.Read(token));
        Assert.Null(tokens.Read(token[..^2] + (token[^2] == 'A' ? "B" : "A") + token[^1]));
        Assert.Null(tokens.Read("not-a-token"));
        // FakeTimeProvider never goes back; two minutes later is still Wednesday morning for this class's other tests.
        factory.Clock.Advance(TimeSpan.FromSeconds(121));
        Assert.Null(tokens.Read(token));
    }

    [Theory]
    [InlineData("fr-CA", "+15145550123", "CA", "QC", "fr-CA", "Cet appel est enregistré")]
    [InlineData("es-MX", "+525512345678", null, null, "es-MX", "Esta llamada es grabada")]
    [InlineData("ar-SA", "+966501234567", null, null, "arb", "يتم تسجيل هذه المكالمة")]
    [InlineData("he-IL", "+972501234567", null, null, "he-IL", "השיחה מוקלטת")]
    public async Task ConsentNoticeIsInTheCallersLanguage(string language, string from, string? country, string? state, string sayLanguage, string expected)
    {
        var tenant = await factory.CreateTenantAsync(withTwilio: true);
        // The business speaks French (its default) and the caller's language; calls are recorded.
        await UpdateAssistantAsync(tenant, a =>
        {
            a.Languages = ["fr-CA", language];
            a.RecordingEnabled = true;
        });

        var twiml = await TwiMLOf(await PostSignedAsync($"/webhooks/twilio/voice/{tenant.Id}", IncomingCall(NewCallSid(), from, country, state)));

        var say = Assert.Single(twiml.Elements("Say"));
        Assert.Contains(expected, say.Value);
        Assert.Contains("Drain Fortin", say.Value);
        Assert.Equal(sayLanguage, say.Attribute("language")!.Value);
        Assert.Single(twiml.Elements("Connect")); // the consent comes first, then the stream
        Assert.True(twiml.Elements().First().Name == "Say");
    }

    [Fact]
    public async Task ACallerFromACountryTheTenantDoesNotServeHearsTheTenantsDefault()
    {
        var tenant = await factory.CreateTenantAsync(withTwilio: true);
        await UpdateAssistantAsync(tenant, a =>
        {
            a.Languages = ["fr-CA"];
            a.RecordingEnabled = true;
        });

        var twiml = await TwiMLOf(await PostSignedAsync($"/webhooks/twilio/voice/{tenant.Id}", IncomingCall(NewCallSid(), "+972501234567")));

        var say = Assert.Single(twiml.Elements("Say"));
        Assert.Equal("fr-CA", say.Attribute("language")!.Value);
        Assert.Contains("Cet appel est enregistré", say.Value);
    }

    [Theory]
    [InlineData("+15145550123", "CA", "QC")]  // a Québec caller
    [InlineData("+14165550123", "CA", "ON")]  // an Ontario caller, who may not speak French
    [InlineData("+15145550123", null, null)]  // a North American number that says nothing of its caller's language
    [InlineData("+972501234567", null, null)] // a caller from a country the business does not serve: its default
    public async Task ABusinessThatSpeaksFrenchAndEnglishSaysTheConsentInFrenchThenEnglish(string from, string? country, string? state)
    {
        var tenant = await factory.CreateTenantAsync(withTwilio: true);
        await UpdateAssistantAsync(tenant, a =>
        {
            a.Languages = ["fr-CA", "en-US"];
            a.RecordingEnabled = true;
        });

        var twiml = await TwiMLOf(await PostSignedAsync($"/webhooks/twilio/voice/{tenant.Id}", IncomingCall(NewCallSid(), from, country, state)));

        var says = twiml.Elements("Say").ToList();
        Assert.Equal(2, says.Count);
        Assert.Equal(("fr-CA", "Bonjour, vous avez joint Drain Fortin. Cet appel est enregistré et traité par un assistant virtuel."),
            (says[0].Attribute("language")!.Value, says[0].Value));
        Assert.Equal(("en-US", "Hello, this call is recorded and handled by a virtual assistant."), (says[1].Attribute("language")!.Value, says[1].Value));
        Assert.Equal(["Say", "Say", "Connect"], twiml.Elements().Select(e => e.Name.LocalName)); // both before the stream
    }

    [Fact]
    public async Task AnEnglishOnlyBusinessSaysTheConsentInEnglishOnly()
    {
        var tenant = await factory.CreateTenantAsync(withTwilio: true, configure: t => t.Locale = "en-CA");
        await UpdateAssistantAsync(tenant, a =>
        {
            a.Languages = ["en-US"];
            a.RecordingEnabled = true;
        });

        var twiml = await TwiMLOf(await PostSignedAsync($"/webhooks/twilio/voice/{tenant.Id}", IncomingCall(NewCallSid(), "+14165550123", "CA", "ON")));

        var say = Assert.Single(twiml.Elements("Say"));
        Assert.Equal("en-US", say.Attribute("language")!.Value);
        Assert.StartsWith("Hello, you have reached Drain Fortin. This call is recorded", say.Value);
    }

    [Fact]
    public async Task AfterHoursTheCallerCanLeaveAMessage()
    {
        var tenant = await factory.CreateTenantAsync(configure: t =>
        {
            t.BusinessHours = new global::Switchboard.Tenancy.BusinessHours(); // closed every day
            t.VoiceAfterHours = global::Switchboard.Tenancy.VoiceBehaviour.Message;
        }, withTwilio: true);
        var callSid = NewCallSid();

        var twiml = await TwiMLOf(await PostSignedAsync($"/webhooks/twilio/voice/{tenant.Id}", IncomingCall(callSid)));

        Assert.Empty(twiml.Elements("Connect"));
        Assert.Contains("fermés", twiml.Elements("Say").First().Value);
        var record = Assert.Single(twiml.Elements("Record"));
        Assert.Equal($"http://localhost/webhooks/twilio/voice/{tenant.Id}/recorded", record.Attribute("action")!.Value);
        Assert.Equal($"http://localhost/webhooks/twilio/recording/{tenant.Id}", record.Attribute("recordingStatusCallback")!.Value);

        // The message is left: the recording is stored, the caller thanked, and the message becomes a lead.
        var done = await TwiMLOf(await PostSignedAsync($"/webhooks/twilio/voice/{tenant.Id}/recorded", new Dictionary<string, string>
        {
            ["CallSid"] = callSid, ["RecordingSid"] = "RE00000000000000000000000000000001", ["RecordingDuration"] = "14",
            ["RecordingUrl"] = "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE00000000000000000000000000000001", ["Digits"] = "hangup",
        }));
        Assert.Single(done.Elements("Hangup"));
        var recording = await factory.WithDbAsync(tenant.Id, db => db.CallRecordings.SingleAsync());
        Assert.Equal((14, "RecordVerb"), (recording.DurationSeconds, recording.Source));
        var lead = await factory.WithDbAsync(tenant.Id, db => db.Leads.SingleAsync());
        Assert.Equal("+15145550123", lead.Phone);
        var call = await factory.WithDbAsync(tenant.Id, db => db.Calls.SingleAsync());
        Assert.Equal("after-hours", call.EndedReason);
    }

    [Fact]
    public async Task AfterHoursAPoliteNoticeNeverLeavesSilence()
    {
        var tenant = await factory.CreateTenantAsync(configure: t =>
        {
            t.BusinessHours = new global::Switchboard.Tenancy.BusinessHours();
            t.VoiceAfterHours = global::Switchboard.Tenancy.VoiceBehaviour.Polite;
        }, withTwilio: true);

        var twiml = await TwiMLOf(await PostSignedAsync($"/webhooks/twilio/voice/{tenant.Id}", IncomingCall(NewCallSid(), "+14165550123", "CA", "ON")));

        Assert.Equal(["Say", "Hangup"], twiml.Elements().Select(e => e.Name.LocalName));
        Assert.False(string.IsNullOrWhiteSpace(twiml.Element("Say")!.Value));
    }

    [Fact]
    public async Task AfterHoursTheAssistantAnswersWhenConfiguredTo()
    {
        var tenant = await factory.CreateTenantAsync(configure: t => t.BusinessHours = new global::Switchboard.Tenancy.BusinessHours(), withTwilio: true);

        var twiml = await TwiMLOf(await PostSignedAsync($"/webhooks/twilio/voice/{tenant.Id}", IncomingCall(NewCallSid())));

        Assert.Single(twiml.Elements("Connect"));
    }

    [Fact]
    public async Task OverThePlansConcurrentCallLimitTheCallerIsToldPolitely()
    {
        var tenant = await factory.CreateTenantAsync(configure: t => t.VoiceOverLimit = global::Switchboard.Tenancy.VoiceBehaviour.Polite, withTwilio: true);
        await SetPlanAsync(tenant, "free"); // one concurrent call

        var first = await TwiMLOf(await PostSignedAsync($"/webhooks/twilio/voice/{tenant.Id}", IncomingCall(NewCallSid())));
        var second = await TwiMLOf(await PostSignedAsync($"/webhooks/twilio/voice/{tenant.Id}", IncomingCall(NewCallSid())));

        Assert.Single(first.Elements("Connect"));
        Assert.Empty(second.Elements("Connect"));
        Assert.Contains("Nous ne pouvons pas prendre votre appel", second.Element("Say")!.Value);
        Assert.Single(second.Elements("Hangup"));
    }

    [Fact]
    public async Task ABusinessNameHoldingAControlCharacterStillHasItsCallsAnswered()
    {
        // U+000B is the line break Word's Shift+Enter pastes into a name; XML 1.0 cannot carry it.
        var tenant = await factory.CreateTenantAsync("Drain\vFortin", withTwilio: true);

        var twiml = await TwiMLOf(await PostSignedAsync($"/webhooks/twilio/voice/{tenant.Id}", IncomingCall(NewCallSid())));

        Assert.Contains("Drain Fortin", twiml.Element("Say")!.Value); // the consent notice, then the stream
        Assert.Single(twiml.Elements("Connect"));
    }

    [Fact]
    public async Task ABadSignatureIsForbiddenInTheEnvelope()
    {
        var tenant = await factory.CreateTenantAsync(withTwilio: true);
        var other = await factory.CreateTenantAsync("Other", withTwilio: true);
        await factory.WithDbAsync(other.Id, async db =>
        {
            var t = await db.Tenants.SingleAsync(x => x.Id == other.Id);
            t.TwilioAuthTokenProtected = factory.Services.GetRequiredService<global::Switchboard.Credentials.SecretProtector>().Protect("another-token");
            return await db.SaveChangesAsync();
        });

        var forged = await PostSignedAsync($"/webhooks/twilio/voice/{tenant.Id}", IncomingCall(NewCallSid()), token: "wrong-token");
        var wrongUrl = await PostSignedAsync($"/webhooks/twilio/voice/{tenant.Id}", IncomingCall(NewCallSid()), signedUrl: "http://localhost/other");
        var crossTenant = await PostSignedAsync($"/webhooks/twilio/voice/{other.Id}", IncomingCall(NewCallSid()));
        var unknown = await PostSignedAsync($"/webhooks/twilio/voice/{Guid.NewGuid()}", IncomingCall(NewCallSid()));

        foreach (var response in new[] { forged, wrongUrl, crossTenant })
        {
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            var body = await response.Content.ReadFromJsonAsync<JsonObject>();
            Assert.Equal("INVALID_SIGNATURE", body!["error"]!["code"]!.GetValue<string>());
        }
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(0, await factory.WithDbAsync(tenant.Id, db => db.Calls.CountAsync()));
    }

    [Fact]
    public async Task WithoutATwilioAuthTokenWebhooksAreRefused()
    {
        var tenant = await factory.CreateTenantAsync(withTwilio: false);

        var response = await PostSignedAsync($"/webhooks/twilio/voice/{tenant.Id}", IncomingCall(NewCallSid()));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("TWILIO_NOT_CONFIGURED", (await response.Content.ReadFromJsonAsync<JsonObject>())!["error"]!["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task TheSignedUrlIsTheOneThePublicProxySaw()
    {
        var tenant = await factory.CreateTenantAsync(withTwilio: true);
        var path = $"/webhooks/twilio/voice/{tenant.Id}";

        // Behind a TLS-terminating proxy, Twilio signed https://switchboard.example.com/…; the proxy forwards the original scheme and host.
        var response = await PostSignedAsync(path, IncomingCall(NewCallSid()), signedUrl: "https://switchboard.example.com" + path,
            headers: r =>
            {
                r.Headers.Add("X-Forwarded-Proto", "https");
                r.Headers.Add("X-Forwarded-Host", "switchboard.example.com");
            });

        var twiml = await TwiMLOf(response);
        Assert.StartsWith("wss://switchboard.example.com/media/twilio/", twiml.Element("Connect")!.Element("Stream")!.Attribute("url")!.Value);
    }

    [Fact]
    public async Task AJsonBodyIsTrustedOnlyWhenTheSignedBodySha256IsItsHash()
    {
        var tenant = await factory.CreateTenantAsync(withTwilio: true);
        var client = factory.CreateClient();
        async Task<HttpResponseMessage> PostJsonAsync(string body, string? hashed)
        {
            // Twilio signs a JSON webhook's URL alone, with bodySHA256 (hex SHA-256 of the raw body) in its query string.
            var path = $"/webhooks/twilio/voice/{tenant.Id}/stream-ended"
                + (hashed is null ? "" : "?bodySHA256=" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(hashed))));
            using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            request.Headers.Add("X-Twilio-Signature", TwilioRequestValidator.ComputeSignature(new Uri(client.BaseAddress!, path).ToString(), null, TwilioSimulator.AuthToken));
            return await client.SendAsync(request);
        }
        var genuine = $"{{\"CallSid\":\"{NewCallSid()}\"}}";

        var accepted = await PostJsonAsync(genuine, hashed: genuine);
        var tampered = await PostJsonAsync($"{{\"CallSid\":\"{NewCallSid()}\"}}", hashed: genuine);
        var unhashed = await PostJsonAsync(genuine, hashed: null);

        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        foreach (var refused in new[] { tampered, unhashed })
        {
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            Assert.Equal("INVALID_SIGNATURE", (await refused.Content.ReadFromJsonAsync<JsonObject>())!["error"]!["code"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task StatusCallbacksMoveTheCallForwardOnlyAndOnce()
    {
        var tenant = await factory.CreateTenantAsync(withTwilio: true);
        var callSid = NewCallSid();
        await PostSignedAsync($"/webhooks/twilio/voice/{tenant.Id}", IncomingCall(callSid));
        Dictionary<string, string> Status(string status, string sequence) => new()
        {
            ["CallSid"] = callSid, ["CallStatus"] = status, ["SequenceNumber"] = sequence, ["From"] = "+15145550123", ["To"] = "+15145550199",
            ["CallDuration"] = status == "completed" ? "42" : "", ["Timestamp"] = "Wed, 18 Nov 2026 15:01:00 +0000",
        };

        foreach (var (status, seq) in new[] { ("in-progress", "1"), ("completed", "2"), ("completed", "2"), ("ringing", "0") })
        {
            var response = await PostSignedAsync($"/webhooks/twilio/status/{tenant.Id}", Status(status, seq));
            Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        }

        var call = await factory.WithDbAsync(tenant.Id, db => db.Calls.SingleAsync(c => c.ProviderCallId == callSid));
        Assert.Equal("completed", call.Status);
        Assert.Equal(42, call.DurationSeconds);
        Assert.Null(call.EndedReason);
        var events = await factory.WithDbAsync(tenant.Id, db => db.CallEvents.CountAsync(e => e.CallId == call.Id && e.Type == "twilio.status"));
        Assert.Equal(3, events); // the duplicate "completed" was not stored twice
    }

    /// <summary>
    /// A terminal callback after another one (an outside probe: "canceled" after "completed") leaves the call as the first made
    /// it: completed, with no ended reason, not a completed call whose reason says canceled. An unknown status changes nothing.
    /// </summary>
    [Fact]
    public async Task ALaterTerminalStatusDoesNotRewriteHowTheCallEnded()
    {
        var tenant = await factory.CreateTenantAsync(withTwilio: true);
        var callSid = NewCallSid();
        await PostSignedAsync($"/webhooks/twilio/voice/{tenant.Id}", IncomingCall(callSid));

        foreach (var status in new[] { "ringing", "in-progress", "completed", "canceled", "some-new-status", "" })
        {
            var response = await PostSignedAsync($"/webhooks/twilio/status/{tenant.Id}", new Dictionary<string, string> { ["CallSid"] = callSid, ["CallStatus"] = status });
            Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        }

        var call = await factory.WithDbAsync(tenant.Id, db => db.Calls.SingleAsync(c => c.ProviderCallId == callSid));
        Assert.Equal(("completed", null), (call.Status, call.EndedReason));
    }

    /// <summary>
    /// A status callback signed with this tenant's token but carrying a CallSid only another tenant has (its number's callbacks
    /// pointed here, an account shared by both). Before: it created a call of its own here, listed, and live for good after a
    /// non-terminal status. Now it creates nothing, is kept as an event of no call, is answered 204 (Twilio does not retry),
    /// and the other tenant's call is left as it was.
    /// </summary>
    [Fact]
    public async Task AStatusCallbackForAnotherTenantsCallSidCreatesNoCallAndLeavesThatCallAlone()
    {
        var owner = await factory.CreateTenantAsync(withTwilio: true);
        var receiver = await factory.CreateTenantAsync(withTwilio: true);
        var callSid = NewCallSid();
        Assert.Equal(HttpStatusCode.OK, (await PostSignedAsync($"/webhooks/twilio/voice/{owner.Id}", IncomingCall(callSid))).StatusCode);

        foreach (var status in new[] { "in-progress", "completed", "completed" })
        {
            var response = await PostSignedAsync($"/webhooks/twilio/status/{receiver.Id}", new Dictionary<string, string>
            {
                ["AccountSid"] = TwilioSimulator.AccountSid, ["CallSid"] = callSid, ["CallStatus"] = status,
                ["From"] = "+15145550123", ["To"] = "+15145550199", ["CallDuration"] = status == "completed" ? "42" : "",
            });
            Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        }

        Assert.False(await factory.WithDbAsync(receiver.Id, db => db.Calls.AnyAsync()));
        using var api = factory.ApiClient(receiver);
        Assert.Empty(JsonNode.Parse(await api.GetStringAsync("/api/v1/calls"))!["items"]!.AsArray());
        // What Twilio sent is kept, once per delivery, attached to no call.
        Assert.Equal(2, await factory.WithDbAsync(receiver.Id, db => db.CallEvents.CountAsync(e => e.Type == "twilio.status" && e.CallId == null)));
        var call = await factory.WithDbAsync(owner.Id, db => db.Calls.AsNoTracking().SingleAsync(c => c.ProviderCallId == callSid));
        Assert.Equal(("ringing", null, null), (call.Status, call.EndedAt, call.DurationSeconds));
        Assert.Equal(0, await factory.WithDbAsync(owner.Id, db => db.CallEvents.CountAsync(e => e.Type == "twilio.status")));
    }

    [Theory]
    [InlineData("busy")]
    [InlineData("no-answer")]
    [InlineData("failed")]
    public async Task AnUnansweredCallEndsWithItsStatus(string status)
    {
        var tenant = await factory.CreateTenantAsync(withTwilio: true);
        var callSid = NewCallSid();
        await PostSignedAsync($"/webhooks/twilio/voice/{tenant.Id}", IncomingCall(callSid));

        await PostSignedAsync($"/webhooks/twilio/status/{tenant.Id}", new Dictionary<string, string> { ["CallSid"] = callSid, ["CallStatus"] = "ringing" });
        await PostSignedAsync($"/webhooks/twilio/status/{tenant.Id}", new Dictionary<string, string> { ["CallSid"] = callSid, ["CallStatus"] = status });
        await PostSignedAsync($"/webhooks/twilio/status/{tenant.Id}", new Dictionary<string, string> { ["CallSid"] = callSid, ["CallStatus"] = "in-progress" });

        var call = await factory.WithDbAsync(tenant.Id, db => db.Calls.SingleAsync(c => c.ProviderCallId == callSid));
        Assert.Equal((status, status), (call.Status, call.EndedReason));
    }

    [Fact]
    public async Task RecordingCallbacksStoreSidUrlDurationAndChannels()
    {
        var tenant = await factory.CreateTenantAsync(withTwilio: true);
        var callSid = NewCallSid();
        await PostSignedAsync($"/webhooks/twilio/voice/{tenant.Id}", IncomingCall(callSid));
        Dictionary<string, string> Recording(string status) => new()
        {
            ["AccountSid"] = TwilioSimulator.AccountSid, ["CallSid"] = callSid, ["RecordingSid"] = "RE0000000000000000000000000000000a",
            ["RecordingStatus"] = status, ["RecordingChannels"] = "2", ["RecordingSource"] = "StartCallRecordingAPI", ["RecordingTrack"] = "both",
            ["RecordingDuration"] = status == "completed" ? "61" : "", ["ErrorCode"] = "0",
            ["RecordingUrl"] = "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE0000000000000000000000000000000a",
        };

        Assert.Equal(HttpStatusCode.NoContent, (await PostSignedAsync($"/webhooks/twilio/recording/{tenant.Id}", Recording("in-progress"))).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await PostSignedAsync($"/webhooks/twilio/recording/{tenant.Id}", Recording("completed"))).StatusCode);

        var recording = await factory.WithDbAsync(tenant.Id, db => db.CallRecordings.SingleAsync());
        Assert.Equal(("completed", 61, 2, "StartCallRecordingAPI"), (recording.Status, recording.DurationSeconds, recording.Channels, recording.Source));
        Assert.EndsWith("/Recordings/RE0000000000000000000000000000000a", recording.Url);
        var call = await factory.WithDbAsync(tenant.Id, db => db.Calls.SingleAsync(c => c.ProviderCallId == callSid));
        Assert.Equal(recording.Url, call.StereoRecordingUrl);
        Assert.Equal(call.Id, recording.CallId);
    }

    [Fact]
    public async Task AnInboundSmsLandsInTheSmsLogOnce()
    {
        var tenant = await factory.CreateTenantAsync(withTwilio: true);
        var form = new Dictionary<string, string>
        {
            ["ToCountry"] = "CA", ["SmsMessageSid"] = "SM0000000000000000000000000000abcd", ["NumMedia"] = "0", ["ToCity"] = "",
            ["SmsSid"] = "SM0000000000000000000000000000abcd", ["SmsStatus"] = "received", ["Body"] = "Mon sous-sol est inondé, rappelez-moi",
            ["To"] = "+15145550199", ["MessageSid"] = "SM0000000000000000000000000000abcd", ["AccountSid"] = TwilioSimulator.AccountSid,
            ["From"] = "+15145550123", ["ApiVersion"] = "2010-04-01", ["NumSegments"] = "1",
        };

        var first = await PostSignedAsync($"/webhooks/twilio/sms/{tenant.Id}", form);
        var again = await PostSignedAsync($"/webhooks/twilio/sms/{tenant.Id}", form);

        Assert.Empty((await TwiMLOf(first)).Elements());
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        var log = await factory.ApiClient(tenant).GetFromJsonAsync<JsonObject>("/api/v1/sms");
        var sms = Assert.Single(log!["items"]!.AsArray());
        Assert.Equal(("inbound", "received", "+15145550123"), (sms!["direction"]!.GetValue<string>(), sms["status"]!.GetValue<string>(), sms["from"]!.GetValue<string>()));
        Assert.Equal("Mon sous-sol est inondé, rappelez-moi", sms["body"]!.GetValue<string>());
    }
}
