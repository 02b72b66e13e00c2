using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Numbers;

[Trait("Category", "Database")]
public sealed class NumbersTests(SelfServiceFactory factory) : IClassFixture<SelfServiceFactory>
{
    private static int next = 100;

    private static string NewNumber() => "+1514555" + Interlocked.Increment(ref next).ToString("D4");

    private async Task<SignedIn> TelephonyTenantAsync(bool vapi = false)
    {
        var owner = await factory.SignUpAsync();
        await factory.SetPlanAsync(owner.TenantId, "telephony");
        await (await owner.Client.PutAsJsonAsync("/api/v1/credentials/twilio",
            new { accountSid = TwilioNumbersSimulator.AccountSid, authToken = TwilioNumbersSimulator.AuthToken })).JsonAsync(HttpStatusCode.OK);
        if (vapi)
        {
            await (await owner.Client.PutAsJsonAsync("/api/v1/credentials/vapi", new { apiKey = VapiSimulator.PrivateKey })).JsonAsync(HttpStatusCode.OK);
        }
        return owner;
    }

    [Fact]
    public async Task AttachingInTwilioModePointsTheNumbersWebhooksAtSwitchboard()
    {
        var owner = await TelephonyTenantAsync();
        var e164 = NewNumber();
        var owned = factory.Twilio.Own(e164);

        var attached = await (await owner.Client.PostAsJsonAsync("/api/v1/numbers", new { number = e164, mode = "twilio" })).JsonAsync(HttpStatusCode.Accepted);
        Assert.Equal("pending", attached["status"]!.GetValue<string>());
        await factory.Outbox.DrainAsync(CancellationToken.None);

        var number = await owner.Client.GetFromJsonAsync<JsonObject>($"/api/v1/numbers/{attached["id"]}");
        Assert.Equal("active", number!["status"]!.GetValue<string>());
        Assert.Equal(owned.Sid, number["twilioSid"]!.GetValue<string>());
        Assert.Equal($"{SelfServiceFactory.PublicBaseUrl}/webhooks/twilio/voice/{owner.TenantId}", owned.VoiceUrl);
        Assert.Equal($"{SelfServiceFactory.PublicBaseUrl}/webhooks/twilio/status/{owner.TenantId}", owned.StatusCallback);
        Assert.Equal($"{SelfServiceFactory.PublicBaseUrl}/webhooks/twilio/sms/{owner.TenantId}", owned.SmsUrl);
        Assert.Equal("POST", owned.VoiceMethod);

        Assert.Equal(HttpStatusCode.Accepted, (await owner.Client.DeleteAsync($"/api/v1/numbers/{attached["id"]}")).StatusCode);
        await factory.Outbox.DrainAsync(CancellationToken.None);
        Assert.Equal("", owned.VoiceUrl);
        Assert.Equal("", owned.SmsUrl);
    }

    [Fact]
    public async Task ANumberTheTenantDoesNotOwnFailsWithAReason()
    {
        var owner = await TelephonyTenantAsync();
        var attached = await (await owner.Client.PostAsJsonAsync("/api/v1/numbers", new { number = NewNumber(), mode = "twilio" })).JsonAsync(HttpStatusCode.Accepted);
        await factory.Outbox.DrainAsync(CancellationToken.None);
        var number = await owner.Client.GetFromJsonAsync<JsonObject>($"/api/v1/numbers/{attached["id"]}");
        Assert.Equal("failed", number!["status"]!.GetValue<string>());
        Assert.Contains("is not a number of Twilio account", number["lastError"]!.GetValue<string>());
    }

    [Fact]
    public async Task VapiModeImportsTheNumberIntoVapiWithTheWebhookServer()
    {
        var owner = await TelephonyTenantAsync(vapi: true);
        var e164 = NewNumber();
        factory.Twilio.Own(e164);
        var attached = await (await owner.Client.PostAsJsonAsync("/api/v1/numbers", new { number = e164, mode = "vapi" })).JsonAsync(HttpStatusCode.Accepted);
        await factory.Outbox.DrainAsync(CancellationToken.None);

        var imported = Assert.Single(factory.Vapi.PhoneNumbers.Values, p => p["number"]!.GetValue<string>() == e164);
        Assert.Equal("twilio", imported["provider"]!.GetValue<string>());
        Assert.Equal(TwilioNumbersSimulator.AccountSid, imported["twilioAccountSid"]!.GetValue<string>());
        Assert.Equal($"{SelfServiceFactory.PublicBaseUrl}/webhooks/vapi/{owner.TenantId}", imported["server"]!["url"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(imported["server"]!["headers"]!["x-vapi-secret"]!.GetValue<string>()));
        var create = factory.Vapi.Requests.Last(r => r.Method == "POST" && r.Path == "/phone-number");
        Assert.Contains(TwilioNumbersSimulator.AuthToken, create.Body!); // Vapi needs the token to drive the number.
        var number = await owner.Client.GetFromJsonAsync<JsonObject>($"/api/v1/numbers/{attached["id"]}");
        Assert.Equal("active", number!["status"]!.GetValue<string>());
        Assert.Equal(imported["id"]!.GetValue<string>(), number["vapiPhoneNumberId"]!.GetValue<string>());
        Assert.DoesNotContain(TwilioNumbersSimulator.AuthToken, number.ToJsonString());

        Assert.Equal(HttpStatusCode.Accepted, (await owner.Client.DeleteAsync($"/api/v1/numbers/{attached["id"]}")).StatusCode);
        await factory.Outbox.DrainAsync(CancellationToken.None);
        Assert.DoesNotContain(factory.Vapi.PhoneNumbers.Values, p => p["number"]!.GetValue<string>() == e164);
    }

    [Fact]
    public async Task PerNumberHoursAndAfterHoursAreValidatedAndKept()
    {
        var owner = await TelephonyTenantAsync();
        var e164 = NewNumber();
        factory.Twilio.Own(e164);
        var id = (await (await owner.Client.PostAsJsonAsync("/api/v1/numbers", new { number = e164, mode = "twilio" })).JsonAsync(HttpStatusCode.Accepted))["id"]!.GetValue<string>();
        await factory.Outbox.DrainAsync(CancellationToken.None); // call flows read the settings of active numbers only

        var bad = await owner.Client.PatchAsJsonAsync($"/api/v1/numbers/{id}", new
        {
            businessHours = new { weekly = new Dictionary<string, string[]> { ["funday"] = ["09:00-17:00"], ["monday"] = ["17:00-09:00"] } },
            afterHours = new { action = "forward", forwardTo = "514" },
        });
        var details = (await bad.JsonAsync(HttpStatusCode.UnprocessableEntity))["error"]!["details"]!.AsObject();
        Assert.True(details.ContainsKey("businessHours") && details.ContainsKey("afterHours.forwardTo"));

        var good = await (await owner.Client.PatchAsJsonAsync($"/api/v1/numbers/{id}", new
        {
            businessHours = new { weekly = new Dictionary<string, string[]> { ["monday"] = ["08:00-12:00", "13:00-17:00"] }, holidays = new[] { "2026-12-25" } },
            afterHours = new { action = "forward", forwardTo = "+15145550199", message = "Nous sommes fermés." },
        })).JsonAsync(HttpStatusCode.OK);
        Assert.Equal("13:00-17:00", good["businessHours"]!["weekly"]!["monday"]![1]!.GetValue<string>());
        Assert.Equal("+15145550199", good["afterHours"]!["forwardTo"]!.GetValue<string>());

        // Call flows read them: the clock's Wednesday 10:00 in Montréal is closed for this number (Mondays only), open for the tenant.
        var decision = await factory.WithDbAsync(owner.TenantId, async db =>
        {
            var tenant = await db.Tenants.FirstAsync(t => t.Id == owner.TenantId);
            tenant.TimeZone = "America/Toronto";
            return (Number: await Switchboard.Numbers.NumberSchedule.DecideAsync(db, tenant, e164, factory.Clock.GetUtcNow(), CancellationToken.None),
                Other: await Switchboard.Numbers.NumberSchedule.DecideAsync(db, tenant, "+15145550000", factory.Clock.GetUtcNow(), CancellationToken.None));
        });
        Assert.False(decision.Number.Open);
        Assert.Equal("forward", decision.Number.AfterHours.Action);
        Assert.Equal(DayOfWeek.Monday, decision.Number.NextOpening!.Value.ToOffset(TimeSpan.FromHours(-5)).DayOfWeek);
        Assert.True(decision.Other.Open);
        Assert.Equal("assistant", decision.Other.AfterHours.Action);
    }

    [Fact]
    public async Task PlansWithoutTelephonyCannotAttachAndTenantsSeeOnlyTheirOwnNumbers()
    {
        var free = await factory.SignUpAsync();
        var denied = await free.Client.PostAsJsonAsync("/api/v1/numbers", new { number = NewNumber() });
        Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);
        Assert.Equal("FEATURE_NOT_IN_PLAN", await denied.ErrorCodeAsync());

        var a = await TelephonyTenantAsync();
        var b = await TelephonyTenantAsync();
        var e164 = NewNumber();
        var id = (await (await a.Client.PostAsJsonAsync("/api/v1/numbers", new { number = e164, mode = "twilio" })).JsonAsync(HttpStatusCode.Accepted))["id"]!.GetValue<string>();
        // B's attach is B's own claim (NumberClaims): neither refused because of A nor able to reach A's row.
        var bId = (await (await b.Client.PostAsJsonAsync("/api/v1/numbers", new { number = e164, mode = "twilio" })).JsonAsync(HttpStatusCode.Accepted))["id"]!.GetValue<string>();
        Assert.NotEqual(id, bId);
        Assert.Equal(HttpStatusCode.NotFound, (await b.Client.GetAsync($"/api/v1/numbers/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await b.Client.PatchAsJsonAsync($"/api/v1/numbers/{id}", new { mode = "vapi" })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await b.Client.DeleteAsync($"/api/v1/numbers/{id}")).StatusCode);
        Assert.Equal([bId], (await b.Client.GetFromJsonAsync<JsonArray>("/api/v1/numbers"))!.Select(n => n!["id"]!.GetValue<string>()));
        Assert.Equal(HttpStatusCode.OK, (await a.Client.GetAsync($"/api/v1/numbers/{id}")).StatusCode);
    }

    [Fact]
    public async Task NumbersTypedAsPeopleWriteThemAreStoredInE164AndBadOnesNameTheirField()
    {
        var owner = await TelephonyTenantAsync();
        var digits = Interlocked.Increment(ref next).ToString("D4");
        var e164 = "+1514555" + digits;
        factory.Twilio.Own(e164);

        // The business number, written the way a plumber writes it, read in the tenant's region.
        var attached = await (await owner.Client.PostAsJsonAsync("/api/v1/numbers", new { number = $"(514) 555-{digits}", mode = "twilio" })).JsonAsync(HttpStatusCode.Accepted);
        Assert.Equal(e164, attached["number"]!.GetValue<string>());
        var again = await owner.Client.PostAsJsonAsync("/api/v1/numbers", new { number = $"514.555.{digits}", mode = "twilio" });
        Assert.Equal("NUMBER_TAKEN", (await again.JsonAsync(HttpStatusCode.Conflict))["error"]!["code"]!.GetValue<string>());
        var tooShort = await owner.Client.PostAsJsonAsync("/api/v1/numbers", new { number = "555-0123", mode = "twilio" });
        Assert.True((await tooShort.JsonAsync(HttpStatusCode.UnprocessableEntity))["error"]!["details"]!.AsObject().ContainsKey("number"));

        var forwarded = await (await owner.Client.PatchAsJsonAsync($"/api/v1/numbers/{attached["id"]}", new
        {
            afterHours = new { action = "forward", forwardTo = "1 (514) 555-0188" },
        })).JsonAsync(HttpStatusCode.OK);
        Assert.Equal("+15145550188", forwarded["afterHours"]!["forwardTo"]!.GetValue<string>());

        // Alert recipients: stored in E.164, duplicates written two ways kept once; a bad one names its list.
        var created = await (await owner.Client.PostAsJsonAsync("/api/v1/assistants", new
        {
            name = "Paul",
            alertPolicy = new { onCallNumbers = new[] { "(514) 555-0111", "514-555-0111", "+1 456 555 0142" }, officeNumbers = new[] { "514 555 0100" } },
        })).JsonAsync(HttpStatusCode.Created);
        Assert.Equal(["+15145550111", "+14565550142"], created["alertPolicy"]!["onCallNumbers"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal(["+15145550100"], created["alertPolicy"]!["officeNumbers"]!.AsArray().Select(n => n!.GetValue<string>()));
        var bad = await owner.Client.PatchAsJsonAsync($"/api/v1/assistants/{created["id"]}", new
        {
            alertPolicy = new { onCallNumbers = new[] { "+15145550111", "555-0111" }, officeNumbers = new[] { "plombier" } },
        });
        var details = (await bad.JsonAsync(HttpStatusCode.UnprocessableEntity))["error"]!["details"]!.AsObject();
        Assert.Contains("555-0111", details["alertPolicy.onCallNumbers"]!.ToJsonString());
        Assert.True(details.ContainsKey("alertPolicy.officeNumbers"));
        var unchanged = await owner.Client.GetFromJsonAsync<JsonObject>($"/api/v1/assistants/{created["id"]}");
        Assert.Equal(2, unchanged!["alertPolicy"]!["onCallNumbers"]!.AsArray().Count);
    }

    private async Task<SignedIn> TelephonyTenantWithoutTwilioAsync()
    {
        var owner = await factory.SignUpAsync();
        await factory.SetPlanAsync(owner.TenantId, "telephony");
        return owner;
    }

    private async Task<JsonObject> NumberAsync(SignedIn tenant, string id) => (await tenant.Client.GetFromJsonAsync<JsonObject>($"/api/v1/numbers/{id}"))!;

    private static async Task<string> AttachAsync(SignedIn tenant, string e164) =>
        (await (await tenant.Client.PostAsJsonAsync("/api/v1/numbers", new { number = e164, mode = "twilio" })).JsonAsync(HttpStatusCode.Accepted))["id"]!.GetValue<string>();

    [Fact]
    public async Task ATenantWithoutTheNumberCannotKeepItsOwnerFromAttachingIt()
    {
        // Probe F2: B (telephony plan, no Twilio account) attaches a number it does not own before C, its owner, does.
        var squatter = await TelephonyTenantWithoutTwilioAsync();
        var e164 = NewNumber();
        var squatted = await AttachAsync(squatter, e164);
        await factory.Outbox.DrainAsync(CancellationToken.None);
        Assert.Equal("waiting-for-credentials", (await NumberAsync(squatter, squatted))["status"]!.GetValue<string>());
        var again = await squatter.Client.PostAsJsonAsync("/api/v1/numbers", new { number = e164, mode = "twilio" });
        Assert.Equal("NUMBER_TAKEN", (await again.JsonAsync(HttpStatusCode.Conflict))["error"]!["code"]!.GetValue<string>()); // its own duplicate
        await (await squatter.Client.PatchAsJsonAsync($"/api/v1/numbers/{squatted}", new { afterHours = new { action = "forward", forwardTo = "+15145550177" } }))
            .JsonAsync(HttpStatusCode.OK);

        var owner = await TelephonyTenantAsync();
        var owned = factory.Twilio.Own(e164);
        var attached = await AttachAsync(owner, e164);
        await factory.Outbox.DrainAsync(CancellationToken.None);
        Assert.Equal("active", (await NumberAsync(owner, attached))["status"]!.GetValue<string>());
        Assert.Equal($"{SelfServiceFactory.PublicBaseUrl}/webhooks/twilio/voice/{owner.TenantId}", owned.VoiceUrl);

        // The squatter's claim is released, with a reason that does not say who holds the number.
        var released = await NumberAsync(squatter, squatted);
        Assert.Equal("failed", released["status"]!.GetValue<string>());
        Assert.Equal(Switchboard.Numbers.NumberClaims.NotVerified, released["lastError"]!.GetValue<string>());
        Assert.DoesNotContain(owner.TenantId.ToString(), released.ToJsonString());

        // Call flows read only the active owner's number: the squatter's forward rule never applies.
        var (ownerDecision, squatterDecision) = (await DecideAsync(owner.TenantId, e164), await DecideAsync(squatter.TenantId, e164));
        Assert.Equal("assistant", ownerDecision.AfterHours.Action);
        Assert.Equal("assistant", squatterDecision.AfterHours.Action);
        await (await owner.Client.PatchAsJsonAsync($"/api/v1/numbers/{attached}", new { afterHours = new { action = "voicemail", message = "Laissez un message." } }))
            .JsonAsync(HttpStatusCode.OK);
        Assert.Equal("voicemail", (await DecideAsync(owner.TenantId, e164)).AfterHours.Action);

        // The squatter's detach of its own claim leaves the owner's Twilio webhooks alone.
        Assert.Equal(HttpStatusCode.Accepted, (await squatter.Client.DeleteAsync($"/api/v1/numbers/{squatted}")).StatusCode);
        await factory.Outbox.DrainAsync(CancellationToken.None);
        Assert.Equal($"{SelfServiceFactory.PublicBaseUrl}/webhooks/twilio/voice/{owner.TenantId}", owned.VoiceUrl);
    }

    [Fact]
    public async Task AttachingANumberActiveElsewhereLooksLikeAttachingAnyNumberAndFailsVerification()
    {
        var owner = await TelephonyTenantAsync();
        var held = NewNumber();
        var owned = factory.Twilio.Own(held);
        var ownerId = await AttachAsync(owner, held);
        await factory.Outbox.DrainAsync(CancellationToken.None);
        Assert.Equal("active", (await NumberAsync(owner, ownerId))["status"]!.GetValue<string>());

        // No oracle: another tenant's attach of the held number answers exactly as that of a number nobody holds.
        var other = await TelephonyTenantWithoutTwilioAsync();
        var heldResponse = await other.Client.PostAsJsonAsync("/api/v1/numbers", new { number = held, mode = "twilio" });
        var freeResponse = await other.Client.PostAsJsonAsync("/api/v1/numbers", new { number = NewNumber(), mode = "twilio" });
        Assert.Equal(HttpStatusCode.Accepted, heldResponse.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, freeResponse.StatusCode);
        var heldId = (await heldResponse.JsonAsync(HttpStatusCode.Accepted))["id"]!.GetValue<string>();
        var freeId = (await freeResponse.JsonAsync(HttpStatusCode.Accepted))["id"]!.GetValue<string>();
        await factory.Outbox.DrainAsync(CancellationToken.None);
        Assert.Equal("waiting-for-credentials", (await NumberAsync(other, heldId))["status"]!.GetValue<string>());
        Assert.Equal("waiting-for-credentials", (await NumberAsync(other, freeId))["status"]!.GetValue<string>());

        // A tenant whose Twilio account answers for the number still cannot take it from the active owner.
        var rival = await TelephonyTenantAsync();
        var rivalId = await AttachAsync(rival, held);
        await factory.Outbox.DrainAsync(CancellationToken.None);
        var refused = await NumberAsync(rival, rivalId);
        Assert.Equal("failed", refused["status"]!.GetValue<string>());
        Assert.Equal(Switchboard.Numbers.NumberClaims.NotVerified, refused["lastError"]!.GetValue<string>());
        Assert.Equal($"{SelfServiceFactory.PublicBaseUrl}/webhooks/twilio/voice/{owner.TenantId}", owned.VoiceUrl);
        Assert.Equal("active", (await NumberAsync(owner, ownerId))["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task UnverifiedNumbersExpireAfterSevenDaysAndActiveOnesStay()
    {
        var squatter = await TelephonyTenantWithoutTwilioAsync();
        var owner = await TelephonyTenantAsync();
        var e164 = NewNumber();
        factory.Twilio.Own(e164);
        var ownerId = await AttachAsync(owner, e164);
        await factory.Outbox.DrainAsync(CancellationToken.None);
        var squatted = await AttachAsync(squatter, e164); // after the owner's activation: never released, only expired
        await factory.Outbox.DrainAsync(CancellationToken.None);
        Assert.Equal("waiting-for-credentials", (await NumberAsync(squatter, squatted))["status"]!.GetValue<string>());

        await PurgeAsync(factory.Clock.GetUtcNow().AddDays(6));
        Assert.Equal(HttpStatusCode.OK, (await squatter.Client.GetAsync($"/api/v1/numbers/{squatted}")).StatusCode);
        var result = await PurgeAsync(factory.Clock.GetUtcNow().AddDays(8));
        Assert.True(result.UnverifiedNumbersExpired >= 1);
        Assert.Equal(HttpStatusCode.NotFound, (await squatter.Client.GetAsync($"/api/v1/numbers/{squatted}")).StatusCode);
        Assert.Equal("active", (await NumberAsync(owner, ownerId))["status"]!.GetValue<string>());
    }

    private async Task<Switchboard.Compliance.RetentionResult> PurgeAsync(DateTimeOffset now)
    {
        using var scope = factory.Services.CreateScope();
        return await scope.ServiceProvider.GetRequiredService<Switchboard.Compliance.RetentionService>().PurgeAsync(now, CancellationToken.None);
    }

    private Task<Switchboard.Numbers.NumberScheduleDecision> DecideAsync(Guid tenantId, string e164) => factory.WithDbAsync(tenantId, async db =>
    {
        var tenant = await db.Tenants.FirstAsync(t => t.Id == tenantId);
        return await Switchboard.Numbers.NumberSchedule.DecideAsync(db, tenant, e164, factory.Clock.GetUtcNow(), CancellationToken.None);
    });
}
