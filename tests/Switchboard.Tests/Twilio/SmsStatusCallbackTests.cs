using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Alerts;
using Switchboard.Billing;
using Switchboard.Outbox;
using Switchboard.Tenancy;
using Switchboard.Tests.Support;
using Switchboard.Tests.Vapi;
using Switchboard.Twilio;
using Switchboard.Webhooks;

namespace Switchboard.Tests.Twilio;

/// <summary>
/// The host on a real 127.0.0.1 listener that is also its <c>Switchboard:PublicBaseUrl</c>, so alert SMS carry a
/// <c>StatusCallback</c> and <see cref="TwilioSimulator"/> calls it back signed, as Twilio does.
/// </summary>
public sealed class SmsDeliveryFactory : SwitchboardFactory, IAsyncLifetime
{
    internal int Port { get; } = TestPorts.BelowEphemeralRange();

    internal string PublicBaseUrl => $"http://127.0.0.1:{Port}";

    internal TwilioSimulator Twilio { get; private set; } = null!;

    public SmsDeliveryFactory() => UseKestrel(o => o.Listen(IPAddress.Loopback, Port));

    protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?> { ["Switchboard:PublicBaseUrl"] = PublicBaseUrl };

    public async Task InitializeAsync()
    {
        Twilio = await TwilioSimulator.StartAsync();
        TwilioBaseUrl = Twilio.BaseUrl;
    }

    async Task IAsyncLifetime.DisposeAsync() => await Twilio.DisposeAsync();

}

/// <summary>
/// Twilio's status callbacks for outbound SMS (<c>/webhooks/twilio/sms-status/{tenantId}</c>) and opt-out keywords on
/// inbound SMS (<c>/webhooks/twilio/sms/{tenantId}</c>).
/// </summary>
[Trait("Category", "Database")]
public sealed class SmsStatusCallbackTests(SmsDeliveryFactory factory) : IClassFixture<SmsDeliveryFactory>
{
    private static int sequence;

    private static string NewSid() => $"SM{Interlocked.Increment(ref sequence):D8}{Guid.NewGuid():N}"[..34];

    private static string NewNumber() => "+1514" + Random.Shared.Next(2_000_000, 9_999_999);

    private HttpClient Client()
    {
        factory.StartServer();
        return new HttpClient { BaseAddress = new Uri(factory.PublicBaseUrl) };
    }

    /// <summary>POSTs a form signed with <paramref name="token"/> over the public URL, as Twilio does.</summary>
    private async Task<HttpResponseMessage> PostSignedAsync(string path, IDictionary<string, string> form, string token = TwilioSimulator.AuthToken)
    {
        using var client = Client();
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new FormUrlEncodedContent(form) };
        request.Headers.Add("X-Twilio-Signature", TwilioRequestValidator.ComputeSignature(factory.PublicBaseUrl + path, form, token));
        return await client.SendAsync(request);
    }

    private static Dictionary<string, string> Callback(string sid, string status, string? errorCode = null)
    {
        var form = new Dictionary<string, string>
        {
            ["AccountSid"] = TwilioSimulator.AccountSid, ["ApiVersion"] = "2010-04-01", ["From"] = "+15145550199", ["To"] = "+15145550111",
            ["MessageSid"] = sid, ["SmsSid"] = sid, ["MessageStatus"] = status, ["SmsStatus"] = status,
        };
        if (errorCode is not null)
        {
            form["ErrorCode"] = errorCode;
        }
        return form;
    }

    private Task<HttpResponseMessage> StatusAsync(TestTenant tenant, string sid, string status, string? errorCode = null, string token = TwilioSimulator.AuthToken) =>
        PostSignedAsync($"/webhooks/twilio/sms-status/{tenant.Id}", Callback(sid, status, errorCode), token);

    /// <summary>A tenant with Twilio credentials and an enabled webhook endpoint (so <c>sms.*</c> events are stored).</summary>
    private async Task<(TestTenant Tenant, string OnCall)> TenantAsync()
    {
        var onCall = NewNumber();
        var tenant = await factory.CreateTenantAsync(withTwilio: true,
            configure: t => t.AlertPolicy = new AlertPolicy { OnCallNumbers = [onCall], OfficeNumbers = [NewNumber()] });
        await factory.WithDbAsync(tenant.Id, async db =>
        {
            db.WebhookEndpoints.Add(new WebhookEndpoint
            {
                Id = Guid.NewGuid(), TenantId = tenant.Id, Url = "https://hooks.example/sms", SecretProtected = "x", Enabled = true,
                CreatedAt = factory.Clock.GetUtcNow(), UpdatedAt = factory.Clock.GetUtcNow(),
            });
            return await db.SaveChangesAsync();
        });
        return (tenant, onCall);
    }

    /// <summary>An emergency alert Twilio accepted as <paramref name="sid"/> (status <c>sent</c>), straight in the database.</summary>
    private async Task<Guid> SentAlertAsync(TestTenant tenant, string sid, string status = "sent")
    {
        var id = Guid.CreateVersion7();
        await factory.WithDbAsync(tenant.Id, async db =>
        {
            db.SmsMessages.Add(new SmsMessage
            {
                Id = id, TenantId = tenant.Id, Direction = "outbound", Purpose = AlertService.EmergencyPurpose, To = "+15145550111",
                From = "+15145550199", Body = "URGENCE Drain Fortin", Status = status, MessageSid = sid, Attempts = 1,
                IdempotencyKey = "test:" + sid, CreatedAt = factory.Clock.GetUtcNow(), SentAt = factory.Clock.GetUtcNow(),
            });
            return await db.SaveChangesAsync();
        });
        return id;
    }

    private Task<SmsMessage> SmsAsync(TestTenant tenant, Guid id) =>
        factory.WithDbAsync(tenant.Id, db => db.SmsMessages.AsNoTracking().SingleAsync(s => s.Id == id));

    private Task<List<string>> SmsEventTypesAsync(TestTenant tenant) =>
        factory.WithDbAsync(tenant.Id, db => db.WebhookEvents.AsNoTracking().Where(e => e.Type.StartsWith("sms.")).Select(e => e.Type).ToListAsync());

    [Fact]
    public async Task SignedCallbacksMoveAnAlertToDeliveredAndALateSentDoesNotUndoIt()
    {
        var (tenant, _) = await TenantAsync();
        var sid = NewSid();
        var id = await SentAlertAsync(tenant, sid);

        var delivered = await StatusAsync(tenant, sid, "delivered");
        var lateSent = await StatusAsync(tenant, sid, "sent");
        var lateQueued = await StatusAsync(tenant, sid, "queued");
        var undeliveredAfter = await StatusAsync(tenant, sid, "undelivered", "30006");

        Assert.Equal([HttpStatusCode.NoContent, HttpStatusCode.NoContent, HttpStatusCode.NoContent, HttpStatusCode.NoContent],
            new[] { delivered.StatusCode, lateSent.StatusCode, lateQueued.StatusCode, undeliveredAfter.StatusCode });
        var sms = await SmsAsync(tenant, id);
        Assert.Equal("delivered", sms.Status);
        Assert.Null(sms.ErrorCode);
        Assert.DoesNotContain(WebhookEventTypes.SmsFailed, await SmsEventTypesAsync(tenant));
    }

    [Fact]
    public async Task UndeliveredToALandlineIsRecordedWithItsErrorCodeAndPublishedOnceAsSmsFailed()
    {
        var (tenant, _) = await TenantAsync();
        var sid = NewSid();
        var id = await SentAlertAsync(tenant, sid);

        var sending = await StatusAsync(tenant, sid, "sending");
        var undelivered = await StatusAsync(tenant, sid, "undelivered", "30006");
        var repeated = await StatusAsync(tenant, sid, "undelivered", "30006");
        var lateDelivered = await StatusAsync(tenant, sid, "delivered");

        Assert.True(sending.IsSuccessStatusCode && undelivered.IsSuccessStatusCode && repeated.IsSuccessStatusCode && lateDelivered.IsSuccessStatusCode);
        var sms = await SmsAsync(tenant, id);
        Assert.Equal(("undelivered", "30006", "Landline or unreachable carrier"), (sms.Status, sms.ErrorCode, sms.ErrorMessage));
        Assert.Equal([WebhookEventTypes.SmsFailed], await SmsEventTypesAsync(tenant));
        using var client = factory.ApiClient(tenant);
        var log = await client.GetFromJsonAsync<JsonObject>("/api/v1/sms?status=undelivered");
        var row = Assert.Single(log!["items"]!.AsArray());
        Assert.Equal("30006", row!["errorCode"]!.GetValue<string>());
    }

    [Fact]
    public async Task AForgedSignatureIsRefusedAndChangesNothing()
    {
        var (tenant, _) = await TenantAsync();
        var sid = NewSid();
        var id = await SentAlertAsync(tenant, sid);

        var forged = await StatusAsync(tenant, sid, "undelivered", "30006", token: "not-the-auth-token");
        using var unsignedContent = new FormUrlEncodedContent(Callback(sid, "failed", "30007"));
        using var client = Client();
        var unsigned = await client.PostAsync($"/webhooks/twilio/sms-status/{tenant.Id}", unsignedContent);

        Assert.Equal(HttpStatusCode.Forbidden, forged.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, unsigned.StatusCode);
        using var envelope = JsonDocument.Parse(await forged.Content.ReadAsStringAsync());
        Assert.Equal("INVALID_SIGNATURE", envelope.RootElement.GetProperty("error").GetProperty("code").GetString());
        var sms = await SmsAsync(tenant, id);
        Assert.Equal(("sent", null), (sms.Status, sms.ErrorCode));
    }

    [Fact]
    public async Task AnUnknownMessageSidOrAnotherTenantsSidChangesNothing()
    {
        var (tenant, _) = await TenantAsync();
        var (other, _) = await TenantAsync();
        var sid = NewSid();
        var id = await SentAlertAsync(tenant, sid);

        var unknown = await StatusAsync(tenant, NewSid(), "failed", "30003");
        var crossTenant = await StatusAsync(other, sid, "failed", "30003"); // signed with the same account's token, for the other tenant
        var missing = await PostSignedAsync($"/webhooks/twilio/sms-status/{tenant.Id}", new Dictionary<string, string> { ["MessageStatus"] = "failed" });

        Assert.Equal(HttpStatusCode.NoContent, unknown.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, crossTenant.StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, missing.StatusCode);
        Assert.Equal("sent", (await SmsAsync(tenant, id)).Status);
        Assert.Empty(await SmsEventTypesAsync(tenant));
    }

    [Fact]
    public async Task AnEmergencyAlertThroughTwilioEndsDelivered()
    {
        var (tenant, onCall) = await TenantAsync();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        factory.Twilio.CallbackGate = gate;
        try
        {
            await factory.PostVapiAsync(tenant, VapiWebhookTests.EndOfCallReport(Guid.NewGuid().ToString(), "Le sous-sol est inondé.", "Mon sous-sol est inondé!"));
            await factory.Outbox.DrainAsync(CancellationToken.None);
            var accepted = await factory.WithDbAsync(tenant.Id, db => db.SmsMessages.AsNoTracking().SingleAsync(s => s.To == onCall));
            gate.SetResult();
            var sms = await SettledAsync(tenant, accepted.Id);

            var sent = Assert.Single(factory.Twilio.Messages, m => m.To == onCall);
            Assert.Equal($"{factory.PublicBaseUrl}/webhooks/twilio/sms-status/{tenant.Id}?sms={accepted.Id:N}", sent.StatusCallback);
            Assert.Equal("sent", accepted.Status);
            Assert.Equal("delivered", sms.Status);
            Assert.Equal(sent.Sid, sms.MessageSid);
            Assert.Equal(new[] { (sent.Sid, "sent", 204), (sent.Sid, "delivered", 204) }, factory.Twilio.StatusCallbacks.Where(c => c.Sid == sent.Sid));
        }
        finally
        {
            factory.Twilio.CallbackGate = null;
        }
    }

    [Fact]
    public async Task AnEmergencyAlertToALandlineEndsUndeliveredWithTwiliosCodeAndSmsFailed()
    {
        var (tenant, onCall) = await TenantAsync();
        factory.Twilio.Outcomes[onCall] = new TwilioSimulator.Outcome("undelivered", "30006");
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        factory.Twilio.CallbackGate = gate;
        try
        {
            await factory.PostVapiAsync(tenant, VapiWebhookTests.EndOfCallReport(Guid.NewGuid().ToString(), "Sewer backup.", "We have a sewer backup in the basement."));
            await factory.Outbox.DrainAsync(CancellationToken.None);
            var accepted = await factory.WithDbAsync(tenant.Id, db => db.SmsMessages.AsNoTracking().SingleAsync(s => s.To == onCall));
            gate.SetResult();
            var sms = await SettledAsync(tenant, accepted.Id);

            Assert.Equal(("undelivered", "30006"), (sms.Status, sms.ErrorCode));
            Assert.Contains(WebhookEventTypes.SmsFailed, await SmsEventTypesAsync(tenant));
        }
        finally
        {
            factory.Twilio.CallbackGate = null;
        }
    }

    [Fact]
    public async Task CallbacksThatComeBeforeTheSendRecordedTwiliosAnswerAreKept()
    {
        var (tenant, onCall) = await TenantAsync();
        var hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        factory.Twilio.HoldAfterAccept = hold; // Twilio has the message and calls back; its API answer is still on the way
        try
        {
            await factory.PostVapiAsync(tenant, VapiWebhookTests.EndOfCallReport(Guid.NewGuid().ToString(), "Le sous-sol est inondé.", "Mon sous-sol est inondé!"));
            var drain = factory.Outbox.DrainAsync(CancellationToken.None);
            var deadline = DateTime.UtcNow.AddSeconds(15);
            TwilioSimulator.SentMessage? sent;
            while ((sent = factory.Twilio.Messages.FirstOrDefault(m => m.To == onCall)) is null
                   || factory.Twilio.StatusCallbacks.Count(c => c.Sid == sent.Sid) < 2)
            {
                Assert.True(DateTime.UtcNow < deadline, "Twilio's callbacks were not answered");
                await Task.Delay(20);
            }
            var early = await factory.WithDbAsync(tenant.Id, db => db.SmsMessages.AsNoTracking().SingleAsync(s => s.To == onCall));
            Assert.Equal(("delivered", sent.Sid), (early.Status, early.MessageSid)); // found by the row id in the callback's URL

            hold.SetResult();
            await drain;

            var sms = await SmsAsync(tenant, early.Id);
            Assert.Equal(("delivered", sent.Sid), (sms.Status, sms.MessageSid)); // the send's own save did not put it back to "sent"
            Assert.NotNull(sms.SentAt);
            Assert.Equal(new[] { (sent.Sid, "sent", 204), (sent.Sid, "delivered", 204) }, factory.Twilio.StatusCallbacks.Where(c => c.Sid == sent.Sid));
            Assert.Equal(OutboxStatus.Done, await factory.WithDbAsync(tenant.Id, db => db.Outbox.AsNoTracking()
                .Where(o => o.Kind == SmsSendHandler.Kind).Select(o => o.Status).SingleAsync()));
            Assert.Single(factory.Twilio.Messages, m => m.To == onCall); // sent once
        }
        finally
        {
            hold.TrySetResult();
            factory.Twilio.HoldAfterAccept = null;
        }
    }

    [Fact]
    public async Task ManyCallbacksHandledAtOnceEndOnTheLastStatusWithSmsFailedOnce()
    {
        var (tenant, _) = await TenantAsync();
        var sids = Enumerable.Range(0, 6).Select(_ => NewSid()).ToList();
        var ids = new List<Guid>();
        foreach (var sid in sids)
        {
            ids.Add(await SentAlertAsync(tenant, sid, status: "sending"));
        }

        // Per text: the carrier's failure three times over (Twilio repeats callbacks) and two late "sent", all at once.
        var answers = await Task.WhenAll(sids.SelectMany(sid => new[] { "undelivered", "sent", "undelivered", "sent", "undelivered" }
            .Select(status => StatusAsync(tenant, sid, status, status == "undelivered" ? "30003" : null))));

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.NoContent, a.StatusCode));
        foreach (var id in ids)
        {
            var sms = await SmsAsync(tenant, id);
            Assert.Equal(("undelivered", "30003"), (sms.Status, sms.ErrorCode));
        }
        Assert.Equal(Enumerable.Repeat(WebhookEventTypes.SmsFailed, sids.Count), await SmsEventTypesAsync(tenant)); // one per text
    }

    [Theory]
    [InlineData("undelivered", "sent", "undelivered")] // a failure recorded meanwhile is not overwritten by an earlier status
    [InlineData("sent", "delivered", "delivered")]     // the status moved meanwhile, and this one still moves it on from there
    public async Task AStatusWrittenBetweenTheReadAndTheUpdateIsNotUndone(string meanwhile, string arriving, string expected)
    {
        var (tenant, _) = await TenantAsync();
        var sid = NewSid();
        var id = await SentAlertAsync(tenant, sid, status: "sending");
        var interleaved = 0;

        var stored = await factory.WithDbAsync(tenant.Id, db => SmsDeliveryStatus.AdvanceStoredAsync(db, id, sid, arriving,
            arriving == "undelivered" ? "30003" : null, null, CancellationToken.None, afterRead: async () =>
            {
                if (Interlocked.Increment(ref interleaved) == 1) // another callback's write, on a connection of its own
                {
                    await factory.WithDbAsync(tenant.Id, other => other.SmsMessages.Where(s => s.Id == id).ExecuteUpdateAsync(u => u
                        .SetProperty(s => s.Status, meanwhile).SetProperty(s => s.ErrorCode, meanwhile == "undelivered" ? "30006" : null)));
                }
            }));

        var sms = await SmsAsync(tenant, id);
        Assert.Equal(expected, sms.Status);
        Assert.Equal(expected == "undelivered" ? "30006" : null, sms.ErrorCode);
        Assert.Equal(expected == meanwhile ? null : expected, stored?.Status); // null: this callback changed nothing
    }

    /// <summary>The SMS once a final status arrived (delivered, undelivered, failed), polling with a deadline.</summary>
    private async Task<SmsMessage> SettledAsync(TestTenant tenant, Guid id)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            var sms = await SmsAsync(tenant, id);
            if (SmsDeliveryStatus.Rank(sms.Status) >= 3 || DateTime.UtcNow > deadline)
            {
                return sms;
            }
            await Task.Delay(50);
        }
    }

    private Task<HttpResponseMessage> InboundAsync(TestTenant tenant, string from, string body, string? optOutType = null)
    {
        var sid = NewSid();
        var form = new Dictionary<string, string>
        {
            ["ToCountry"] = "CA", ["SmsMessageSid"] = sid, ["NumMedia"] = "0", ["SmsSid"] = sid, ["SmsStatus"] = "received", ["Body"] = body,
            ["To"] = "+15145550199", ["MessageSid"] = sid, ["AccountSid"] = TwilioSimulator.AccountSid, ["From"] = from,
            ["ApiVersion"] = "2010-04-01", ["NumSegments"] = "1",
        };
        if (optOutType is not null)
        {
            form["OptOutType"] = optOutType;
        }
        return PostSignedAsync($"/webhooks/twilio/sms/{tenant.Id}", form);
    }

    private static async Task<List<(string Number, string Source)>> DncAsync(HttpClient api)
    {
        var list = await api.GetFromJsonAsync<JsonArray>("/api/v1/dnc");
        return list!.Select(e => (e!["number"]!.GetValue<string>(), e["source"]!.GetValue<string>())).ToList();
    }

    private async Task TelephonyPlanAsync(TestTenant tenant)
    {
        await factory.WithDbAsync(tenant.Id, async db =>
        {
            var account = await TenantAccounts.GetOrCreateAsync(db, factory.Services.GetRequiredService<PlanCatalog>(), tenant.Id, factory.Clock.GetUtcNow(), CancellationToken.None);
            account.PlanId = "telephony";
            return await db.SaveChangesAsync();
        });
        factory.Services.GetRequiredService<TenantAccountCache>().Invalidate(tenant.Id);
    }

    [Fact]
    public async Task TextingStopPutsTheNumberOnTheDoNotCallListAndAnOutboundCallToItIsRefused()
    {
        var (tenant, _) = await TenantAsync();
        await TelephonyPlanAsync(tenant);
        var texter = NewNumber();
        using var api = factory.ApiClient(tenant);

        var stop = await InboundAsync(tenant, texter, "  Stop ");
        var again = await InboundAsync(tenant, texter, "STOP");
        var call = await api.PostAsJsonAsync("/api/v1/calls/outbound", new { to = texter });

        Assert.Equal(HttpStatusCode.OK, stop.StatusCode);
        Assert.Equal("<Response />", System.Xml.Linq.XElement.Parse(await stop.Content.ReadAsStringAsync()).ToString());
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal([(texter, "sms-opt-out")], await DncAsync(api));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, call.StatusCode);
        Assert.Contains("NUMBER_ON_DO_NOT_CALL_LIST", await call.Content.ReadAsStringAsync());
        var log = await factory.WithDbAsync(tenant.Id, db => db.SmsMessages.CountAsync(s => s.Direction == "inbound" && s.From == texter));
        Assert.Equal(2, log);
    }

    [Fact]
    public async Task StopTextedSeveralTimesAtOnceKeepsEveryTextAndAddsTheNumberOnce()
    {
        var (tenant, _) = await TenantAsync();
        var texter = NewNumber();
        using var api = factory.ApiClient(tenant);

        var answers = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => InboundAsync(tenant, texter, i % 2 == 0 ? "STOP" : "Stop")));

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.StatusCode));
        Assert.Equal([(texter, "sms-opt-out")], await DncAsync(api));
        Assert.Equal(6, await factory.WithDbAsync(tenant.Id, db => db.SmsMessages.CountAsync(s => s.Direction == "inbound" && s.From == texter)));
        var audited = await factory.WithDbAsync(tenant.Id, db => db.AuditLog.CountAsync(a => a.Action == "dnc.added" && a.Target == "number:" + texter));
        Assert.Equal(1, audited);
    }

    [Fact]
    public async Task TextingStartTakesOffOnlyAnEntryAnSmsOptOutAdded()
    {
        var (tenant, _) = await TenantAsync();
        var (optedOut, listedByApi, advanced, chatty) = (NewNumber(), NewNumber(), NewNumber(), NewNumber());
        using var api = factory.ApiClient(tenant);
        Assert.Equal(HttpStatusCode.Created, (await api.PostAsJsonAsync("/api/v1/dnc", new { number = listedByApi, note = "asked by phone" })).StatusCode);

        await InboundAsync(tenant, optedOut, "unsubscribe");
        await InboundAsync(tenant, advanced, "ARRET", optOutType: "STOP"); // Advanced Opt-Out: the service's own keyword
        await InboundAsync(tenant, chatty, "Stop by tomorrow please");
        var afterStop = await DncAsync(api);
        await InboundAsync(tenant, optedOut, "START");
        await InboundAsync(tenant, listedByApi, "start");
        await InboundAsync(tenant, advanced, "REPRENDRE", optOutType: "START");

        Assert.Equal(new[] { (optedOut, "sms-opt-out"), (listedByApi, "api"), (advanced, "sms-opt-out") }.Order(), afterStop.Order());
        Assert.Equal([(listedByApi, "api")], await DncAsync(api));
    }

    [Fact]
    public async Task AnOnCallPhoneThatTextedStopIsNotTextedUntilItTextsStart()
    {
        var (tenant, onCall) = await TenantAsync();
        Assert.Equal(HttpStatusCode.OK, (await InboundAsync(tenant, onCall, "Stop")).StatusCode);

        await factory.PostVapiAsync(tenant, VapiWebhookTests.EndOfCallReport(Guid.NewGuid().ToString(), "Le sous-sol est inondé.", "Mon sous-sol est inondé!"));
        await factory.Outbox.DrainAsync(CancellationToken.None);

        var refused = await factory.WithDbAsync(tenant.Id, db => db.SmsMessages.AsNoTracking().SingleAsync(s => s.To == onCall && s.Direction == "outbound"));
        Assert.Equal(("failed", SmsSendHandler.OptedOutCode), (refused.Status, refused.ErrorCode));
        Assert.DoesNotContain(factory.Twilio.Messages, m => m.To == onCall);
        Assert.Contains(WebhookEventTypes.SmsFailed, await SmsEventTypesAsync(tenant));

        Assert.Equal(HttpStatusCode.OK, (await InboundAsync(tenant, onCall, "START")).StatusCode);
        await factory.PostVapiAsync(tenant, VapiWebhookTests.EndOfCallReport(Guid.NewGuid().ToString(), "Tuyau éclaté.", "Un tuyau a éclaté dans la cuisine!"));
        await factory.Outbox.DrainAsync(CancellationToken.None);

        Assert.Single(factory.Twilio.Messages, m => m.To == onCall);
    }

    [Fact]
    public async Task AStopFromANumberAlreadyListedIsRecordedAndHonouredAndStartLiftsOnlyIt()
    {
        var (tenant, onCall) = await TenantAsync();
        var calledFirst = NewNumber();
        using var api = factory.ApiClient(tenant);
        // Listed first for another reason: the STOP used to be dropped ("already listed"), and the on-call phone was still texted.
        Assert.Equal(HttpStatusCode.Created, (await api.PostAsJsonAsync("/api/v1/dnc", new { number = onCall, note = "asked by phone" })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await InboundAsync(tenant, onCall, "STOP")).StatusCode);
        // Opted out by SMS first, then listed by the API: START must not take the API's listing off.
        Assert.Equal(HttpStatusCode.OK, (await InboundAsync(tenant, calledFirst, "STOP")).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await api.PostAsJsonAsync("/api/v1/dnc", new { number = calledFirst })).StatusCode);
        var imported = NewNumber(); // the same through a CSV import
        Assert.Equal(HttpStatusCode.OK, (await InboundAsync(tenant, imported, "STOP")).StatusCode);
        Assert.True((await api.PostAsync("/api/v1/dnc/import", new StringContent("number\n" + imported + "\n", System.Text.Encoding.UTF8, "text/csv"))).IsSuccessStatusCode);

        Assert.Equal(new[] { (onCall, "api+sms-opt-out"), (calledFirst, "api+sms-opt-out"), (imported, "csv+sms-opt-out") }.Order(), (await DncAsync(api)).Order());
        var audited = await factory.WithDbAsync(tenant.Id, db => db.AuditLog.CountAsync(a => a.Action == "dnc.added" && a.Target == "number:" + onCall));
        Assert.Equal(2, audited); // the API's listing, then the SMS opt-out
        await factory.PostVapiAsync(tenant, VapiWebhookTests.EndOfCallReport(Guid.NewGuid().ToString(), "Le sous-sol est inondé.", "Mon sous-sol est inondé!"));
        await factory.Outbox.DrainAsync(CancellationToken.None);
        var refused = await factory.WithDbAsync(tenant.Id, db => db.SmsMessages.AsNoTracking().SingleAsync(s => s.To == onCall && s.Direction == "outbound"));
        Assert.Equal(("failed", SmsSendHandler.OptedOutCode), (refused.Status, refused.ErrorCode));
        Assert.DoesNotContain(factory.Twilio.Messages, m => m.To == onCall);

        Assert.Equal(HttpStatusCode.OK, (await InboundAsync(tenant, onCall, "START")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await InboundAsync(tenant, calledFirst, "START")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await InboundAsync(tenant, imported, "START")).StatusCode);

        Assert.Equal(new[] { (onCall, "api"), (calledFirst, "api"), (imported, "csv") }.Order(), (await DncAsync(api)).Order());
        await factory.PostVapiAsync(tenant, VapiWebhookTests.EndOfCallReport(Guid.NewGuid().ToString(), "Tuyau éclaté.", "Un tuyau a éclaté dans la cuisine!"));
        await factory.Outbox.DrainAsync(CancellationToken.None);
        Assert.Single(factory.Twilio.Messages, m => m.To == onCall); // texts again; still not called (the API's listing stays)
    }

    [Theory]
    [InlineData("STOP", null, "OptOut")]
    [InlineData(" stopall\n", null, "OptOut")]
    [InlineData("Cancel", null, "OptOut")]
    [InlineData("end", null, "OptOut")]
    [InlineData("QUIT", null, "OptOut")]
    [InlineData("Revoke", null, "OptOut")]
    [InlineData("optout ", null, "OptOut")]
    [InlineData("unstop", null, "OptIn")]
    [InlineData("Yes", null, "OptIn")]
    [InlineData("please stop", null, "None")]
    [InlineData("HELP", null, "None")]
    [InlineData("", null, "None")]
    [InlineData("STOP.", null, "OptOut")]   // punctuation after the keyword (FCC 2024: any reasonable means)
    [InlineData("Stop!", null, "OptOut")]
    [InlineData("ARRET", null, "OptOut")]   // CWTA: the French STOP of Canadian programs
    [InlineData("Arrêt.", null, "OptOut")]
    [InlineData("...", null, "None")]
    [InlineData("stop?!", null, "OptOut")]
    [InlineData("Stop it", null, "None")]
    [InlineData("ARRET", "STOP", "OptOut")]
    [InlineData("STOP", "HELP", "None")]
    [InlineData("whatever", "start", "OptIn")]
    public void OptOutKeywordsAreTwiliosDefaultsWithPunctuationAndFrench(string body, string? optOutType, string expected) =>
        Assert.Equal(expected, SmsOptOutKeywords.Classify(body, optOutType).ToString());

    [Fact]
    public void AStatusOnlyMovesForwardAndFinalStatusesStay()
    {
        var sms = new SmsMessage { Direction = "outbound", Purpose = "lead-alert", To = "+15145550111", Body = "x", Status = "sent", IdempotencyKey = "k" };

        Assert.False(SmsDeliveryStatus.Advance(sms, "queued", null, null));
        Assert.False(SmsDeliveryStatus.Advance(sms, "receiving", null, null));
        Assert.True(SmsDeliveryStatus.Advance(sms, "read", null, null));
        Assert.Equal("delivered", sms.Status);
        Assert.False(SmsDeliveryStatus.Advance(sms, "failed", "30008", null));
        Assert.Equal("delivered", sms.Status);

        var simulated = new SmsMessage { Direction = "outbound", Purpose = "lead-alert", To = "+15145550111", Body = "x", Status = "simulated", IdempotencyKey = "k" };
        Assert.False(SmsDeliveryStatus.Advance(simulated, "delivered", null, null));
    }
}
