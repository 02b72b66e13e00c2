using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Switchboard.Numbers;
using Switchboard.Tenancy;
using Switchboard.Tests.Support;
using Switchboard.Tests.Vapi;

namespace Switchboard.Tests.Alerts;

/// <summary>Self-service with Twilio's Messages, account and IncomingPhoneNumbers APIs all served by <see cref="TwilioSimulator"/>.</summary>
public sealed class SmsSelfServiceFactory : SelfServiceFactory
{
    private readonly Lazy<TwilioSimulator> sms = new(() => TwilioSimulator.StartAsync().GetAwaiter().GetResult());

    internal TwilioSimulator Sms => sms.Value;

    protected override IDictionary<string, string?> MoreSettings => new Dictionary<string, string?>
    {
        ["Switchboard:Twilio:ApiBaseUrl"] = Sms.BaseUrl,
    };

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing && sms.IsValueCreated)
        {
            sms.Value.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }
}

/// <summary>
/// Issue 12 §1 (findings §2.3): a self-service tenant's SMS sender comes from its attached numbers, or from an explicit
/// sender (E.164 or Messaging Service SID) set with its Twilio credentials; without one, the alert fails with the reason.
/// </summary>
[Trait("Category", "Database")]
public sealed class SmsSenderTests(SmsSelfServiceFactory factory) : IClassFixture<SmsSelfServiceFactory>
{
    private const string ServiceSid = "MG0123456789abcdef0123456789abcdef";

    private static string NewNumber(string area = "438") => $"+1{area}" + Random.Shared.Next(2_000_000, 9_999_999);

    private static string EmergencyReport() =>
        VapiWebhookTests.EndOfCallReport(Guid.NewGuid().ToString(), "Burst pipe, water everywhere.", "This is an emergency, a pipe burst and there is water everywhere!");

    [Fact]
    public async Task ANewTenantsEmergencyReportTextsTheOnCallFromTheNumberTheyAttached()
    {
        var number = NewNumber();
        var onCall = NewNumber("514");
        factory.Sms.Own(number);
        factory.Sms.StrictSenders = true; // a From that is not the account's SMS-capable number is refused, as by Twilio
        var owner = await factory.SignUpAsync(organisation: "Plomberie Repentigny");

        // Twilio credentials through the API: a sender is still missing, and onboarding says so.
        var credential = await (await owner.Client.PutAsJsonAsync("/api/v1/credentials/twilio",
            new { accountSid = TwilioSimulator.AccountSid, authToken = TwilioSimulator.AuthToken })).JsonAsync(HttpStatusCode.OK);
        Assert.Null(credential["smsSender"]);
        var before = await (await owner.Client.GetAsync("/api/v1/onboarding")).JsonAsync(HttpStatusCode.OK);
        Assert.Contains(before["missing"]!.AsArray(), m => m!["step"]!.GetValue<string>() == "twilio" && m["field"]!.GetValue<string>() == "smsSender");
        Assert.Null(before["twilio"]!["sms"]!["sender"]);

        // The rest of onboarding: plan, Vapi, an assistant whose on-call is texted about emergencies, the number.
        var patched = await (await owner.Client.PatchAsJsonAsync("/api/v1/onboarding", new
        {
            plan = new { planId = "telephony" },
            voiceProvider = new { provider = "vapi", vapiApiKey = VapiSimulator.PrivateKey },
            assistant = new { name = "Léa", firstMessage = "Plomberie Repentigny, bonjour!", alertPolicy = new { onCallNumbers = new[] { onCall } } },
            telephony = new { number },
        })).JsonAsync(HttpStatusCode.OK);
        Assert.Empty(patched["warnings"]!.AsArray());
        await factory.Outbox.DrainAsync(CancellationToken.None); // the number is found on the Twilio account and imported into Vapi

        var after = await (await owner.Client.GetAsync("/api/v1/onboarding")).JsonAsync(HttpStatusCode.OK);
        Assert.Equal(number, after["twilio"]!["sms"]!["sender"]!.GetValue<string>());
        Assert.Equal("number", after["twilio"]!["sms"]!["source"]!.GetValue<string>());
        Assert.DoesNotContain(after["missing"]!.AsArray(), m => m!["field"]!.GetValue<string>() == "smsSender");

        // Vapi's end-of-call report for an emergency, with the secret Vapi was given for the number.
        var imported = Assert.Single(factory.Vapi.PhoneNumbers.Values, p => p["number"]!.GetValue<string>() == number);
        var path = new Uri(imported["server"]!["url"]!.GetValue<string>()).AbsolutePath;
        using var report = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(EmergencyReport(), Encoding.UTF8, "application/json") };
        report.Headers.Add("x-vapi-secret", imported["server"]!["headers"]!["x-vapi-secret"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, (await factory.CreateClient().SendAsync(report)).StatusCode);
        await factory.Outbox.DrainAsync(CancellationToken.None);

        var sent = Assert.Single(factory.Sms.Messages, m => m.To == onCall);
        Assert.Equal(number, sent.From);
        Assert.Contains("Plomberie Repentigny", sent.Body);
        Assert.DoesNotContain(factory.Sms.Rejections, r => r.Contains(number, StringComparison.Ordinal));
        var log = await (await owner.Client.GetAsync("/api/v1/sms")).JsonAsync(HttpStatusCode.OK);
        var row = Assert.Single(log["items"]!.AsArray());
        Assert.Equal("sent", row!["status"]!.GetValue<string>());
        Assert.Equal(number, row["from"]!.GetValue<string>());
        Assert.Equal(sent.Sid, row["messageSid"]!.GetValue<string>());
    }

    [Fact]
    public async Task CredentialsWithoutASenderFailTheAlertWithTheReasonAndAnotherTenantsNumberIsNeverUsed()
    {
        var onCall = NewNumber("514");
        var other = await factory.CreateTenantAsync("Other Plumbing", withTwilio: true);
        await AddNumberAsync(other.Id, NewNumber(), sms: true);
        var tenant = await factory.CreateTenantAsync(withTwilio: true, configure: t =>
        {
            t.TwilioFromNumber = null;
            t.AlertPolicy = new AlertPolicy { OnCallNumbers = [onCall] };
        });

        await factory.PostVapiAsync(tenant, EmergencyReport());
        await factory.Outbox.DrainAsync(CancellationToken.None);

        var sms = await factory.WithDbAsync(tenant.Id, db => db.SmsMessages.SingleAsync());
        Assert.Equal("failed", sms.Status);
        Assert.Equal("NO_SENDER", sms.ErrorCode);
        Assert.Contains("no number is attached", sms.ErrorMessage);
        Assert.Contains("PUT /api/v1/credentials/twilio", sms.ErrorMessage);
        Assert.DoesNotContain(factory.Sms.Messages, m => m.To == onCall);
    }

    [Fact]
    public async Task ANumberTwilioSaysCannotSendSmsIsPassedOverForOneThatCan()
    {
        var onCall = NewNumber("514");
        var voiceOnly = NewNumber();
        var texting = NewNumber();
        factory.Sms.Own(texting);
        factory.Sms.Own(voiceOnly, sms: false);
        var tenant = await factory.CreateTenantAsync(withTwilio: true, configure: t =>
        {
            t.TwilioFromNumber = null;
            t.AlertPolicy = new AlertPolicy { OnCallNumbers = [onCall] };
        });
        await AddNumberAsync(tenant.Id, voiceOnly, sms: false);
        await AddNumberAsync(tenant.Id, texting, sms: true, status: "pending"); // not yet confirmed on the account
        factory.Clock.Advance(TimeSpan.FromSeconds(1));

        await factory.PostVapiAsync(tenant, EmergencyReport());
        await factory.Outbox.DrainAsync(CancellationToken.None);
        var failed = await factory.WithDbAsync(tenant.Id, db => db.SmsMessages.SingleAsync());

        Assert.Equal("failed", failed.Status);
        Assert.Contains($"{voiceOnly} cannot send SMS", failed.ErrorMessage);
        Assert.Contains($"{texting} is pending", failed.ErrorMessage);
        await factory.WithDbAsync(tenant.Id, db => db.PhoneNumbers.Where(n => n.Number == texting).ExecuteUpdateAsync(u => u.SetProperty(n => n.Status, "active")));
        await factory.PostVapiAsync(tenant, EmergencyReport());
        await factory.Outbox.DrainAsync(CancellationToken.None);
        var sent = Assert.Single(factory.Sms.Messages, m => m.To == onCall);
        Assert.Equal(texting, sent.From);
    }

    [Fact]
    public async Task AMessagingServiceSidSetWithTheCredentialsIsSentAsMessagingServiceSid()
    {
        var onCall = NewNumber("514");
        var tenant = await factory.CreateTenantAsync(withTwilio: true, configure: t =>
        {
            t.TwilioFromNumber = null;
            t.AlertPolicy = new AlertPolicy { OnCallNumbers = [onCall] };
        });
        var api = factory.ApiClient(tenant);
        var saved = await (await api.PutAsJsonAsync("/api/v1/credentials/twilio",
            new { accountSid = TwilioSimulator.AccountSid, authToken = TwilioSimulator.AuthToken, smsSender = ServiceSid })).JsonAsync(HttpStatusCode.OK);
        Assert.Equal(ServiceSid, saved["smsSender"]!.GetValue<string>());

        await factory.PostVapiAsync(tenant, EmergencyReport());
        await factory.Outbox.DrainAsync(CancellationToken.None);

        var sent = Assert.Single(factory.Sms.Messages, m => m.To == onCall);
        Assert.Equal(ServiceSid, sent.MessagingServiceSid);
        Assert.Null(sent.From);
        var sms = await factory.WithDbAsync(tenant.Id, db => db.SmsMessages.SingleAsync());
        Assert.Equal(("sent", ServiceSid, sent.Sid), (sms.Status, sms.From, sms.MessageSid));
    }

    [Fact]
    public async Task TheOnboardingTwilioStepSetsTheSenderAndWarnsAboutAnInvalidOne()
    {
        var owner = await factory.SignUpAsync(organisation: "Plomberie Terrebonne");

        var bad = await (await owner.Client.PatchAsJsonAsync("/api/v1/onboarding", new
        {
            twilio = new { accountSid = TwilioSimulator.AccountSid, authToken = TwilioSimulator.AuthToken, smsSender = "555-0199" }, // no area code
        })).JsonAsync(HttpStatusCode.OK);
        Assert.Contains(bad["warnings"]!.AsArray(), w => w!["field"]!.GetValue<string>() == "smsSender");
        Assert.Null(bad["twilio"]!["sms"]!["sender"]);
        Assert.True(bad["twilio"]!["credential"]!["configured"]!.GetValue<bool>()); // the credentials themselves were saved

        var good = await (await owner.Client.PatchAsJsonAsync("/api/v1/onboarding", new { twilio = new { smsSender = ServiceSid } })).JsonAsync(HttpStatusCode.OK);
        Assert.Empty(good["warnings"]!.AsArray());
        Assert.Equal(ServiceSid, good["twilio"]!["sms"]!["sender"]!.GetValue<string>());
        Assert.Equal("explicit", good["twilio"]!["sms"]!["source"]!.GetValue<string>());
        Assert.DoesNotContain(good["missing"]!.AsArray(), m => m!["field"]!.GetValue<string>() == "smsSender");
    }

    [Fact]
    public async Task TheOnboardingSaysWhyThereIsNoSenderWithACodeAndTheValuesItNames()
    {
        var owner = await factory.SignUpAsync(organisation: "Plomberie Mascouche");
        await (await owner.Client.PutAsJsonAsync("/api/v1/credentials/twilio",
            new { accountSid = TwilioSimulator.AccountSid, authToken = TwilioSimulator.AuthToken })).JsonAsync(HttpStatusCode.OK);
        async Task<JsonNode> SmsAsync() => (await (await owner.Client.GetAsync("/api/v1/onboarding")).JsonAsync(HttpStatusCode.OK))["twilio"]!["sms"]!;
        static Dictionary<string, string> Details(JsonNode sms) =>
            sms["problemDetails"]!.AsObject().ToDictionary(p => p.Key, p => p.Value!.GetValue<string>());

        // No number attached: the code, no values; the English sentence stays for API users.
        var none = await SmsAsync();
        Assert.Equal("SMS_SENDER_MISSING", none["problemCode"]!.GetValue<string>());
        Assert.Empty(Details(none));
        Assert.StartsWith("No SMS sender: no number is attached.", none["problem"]!.GetValue<string>());

        // Numbers that cannot send: each, with why (Twilio says no SMS, or its status).
        var voiceOnly = NewNumber();
        var pending = NewNumber();
        await AddNumberAsync(owner.TenantId, voiceOnly, sms: false);
        await AddNumberAsync(owner.TenantId, pending, sms: true, status: "pending");
        var unusable = await SmsAsync();
        Assert.Equal("SMS_SENDER_MISSING", unusable["problemCode"]!.GetValue<string>());
        Assert.Equal(new Dictionary<string, string> { [voiceOnly] = "sms-incapable", [pending] = "pending" }, Details(unusable));

        // A stored sender that is not one (written before senders were checked): the invalid code names it.
        await factory.WithDbAsync(owner.TenantId, db => db.Tenants.Where(t => t.Id == owner.TenantId).ExecuteUpdateAsync(u => u.SetProperty(t => t.TwilioFromNumber, "555-0199")));
        var invalid = await SmsAsync();
        Assert.Equal("SMS_SENDER_INVALID", invalid["problemCode"]!.GetValue<string>());
        Assert.Equal(new Dictionary<string, string> { ["sender"] = "555-0199" }, Details(invalid));

        // With a sender, no problem at all.
        await factory.WithDbAsync(owner.TenantId, db => db.Tenants.Where(t => t.Id == owner.TenantId).ExecuteUpdateAsync(u => u.SetProperty(t => t.TwilioFromNumber, ServiceSid)));
        var good = await SmsAsync();
        Assert.Equal(ServiceSid, good["sender"]!.GetValue<string>());
        Assert.Null(good["problem"]);
        Assert.Null(good["problemCode"]);
        Assert.Null(good["problemDetails"]);
    }

    [Theory]
    [InlineData("555-0199")]           // no area code
    [InlineData("+0145550199")]
    [InlineData("514 555 01999")]      // a digit too many
    [InlineData("06 12 34 56 78")]     // a French number, written nationally, on a Québec tenant
    [InlineData("MG0123")]
    [InlineData("MG0123456789abcdef0123456789abcdeg")]
    [InlineData("PN0123456789abcdef0123456789abcdef")]
    public async Task AnInvalidSmsSenderIsRefusedAndChangesNothing(string bad)
    {
        var tenant = await factory.CreateTenantAsync(withTwilio: true);
        var api = factory.ApiClient(tenant);
        var response = await api.PutAsJsonAsync("/api/v1/credentials/twilio",
            new { accountSid = TwilioSimulator.AccountSid, authToken = "another-token-value", smsSender = bad });

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal("VALIDATION_FAILED", await response.ErrorCodeAsync());
        var stored = await factory.WithDbAsync(null, db => db.Tenants.AsNoTracking().SingleAsync(t => t.Id == tenant.Id));
        Assert.Equal("+15145550199", stored.TwilioFromNumber);
    }

    [Fact]
    public async Task OneTenantsSenderIsNeitherShownToNorUsedForAnother()
    {
        var a = await factory.CreateTenantAsync("Tenant A", withTwilio: true);
        var b = await factory.CreateTenantAsync("Tenant B");
        var put = await factory.ApiClient(a).PutAsJsonAsync("/api/v1/credentials/twilio",
            new { accountSid = TwilioSimulator.AccountSid, authToken = TwilioSimulator.AuthToken, smsSender = ServiceSid });
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);

        var list = await factory.ApiClient(b).GetFromJsonAsync<JsonArray>("/api/v1/credentials");
        var twilioB = Assert.Single(list!, c => c!["provider"]!.GetValue<string>() == "twilio");
        Assert.False(twilioB!["configured"]!.GetValue<bool>());
        Assert.Null(twilioB["smsSender"]);
        var stored = await factory.WithDbAsync(null, db => db.Tenants.AsNoTracking().SingleAsync(t => t.Id == b.Id));
        Assert.Null(stored.TwilioFromNumber);

        // An empty sender clears A's: A's SMS then go out from its attached numbers.
        var cleared = await (await factory.ApiClient(a).PutAsJsonAsync("/api/v1/credentials/twilio",
            new { accountSid = TwilioSimulator.AccountSid, authToken = TwilioSimulator.AuthToken, smsSender = "" })).JsonAsync(HttpStatusCode.OK);
        Assert.Null(cleared["smsSender"]);
    }

    private async Task AddNumberAsync(Guid tenantId, string number, bool sms, string status = "active")
    {
        await factory.WithDbAsync(tenantId, async db =>
        {
            db.PhoneNumbers.Add(new PhoneNumber
            {
                Id = Guid.CreateVersion7(), TenantId = tenantId, Number = number, Mode = "twilio", Status = status, SmsCapable = sms,
                CreatedAt = factory.Clock.GetUtcNow(), UpdatedAt = factory.Clock.GetUtcNow(),
            });
            return await db.SaveChangesAsync();
        });
    }
}
