using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Billing;
using Switchboard.Calls;
using Switchboard.Tenancy;
using Switchboard.Tests.Support;
using Switchboard.Tests.Vapi;

namespace Switchboard.Tests.Calls;

[Trait("Category", "Database")]
public sealed class CallsApiTests(SwitchboardFactory factory) : IClassFixture<SwitchboardFactory>
{
    [Fact]
    public async Task CallsAreListedNewestFirstAndFilteredByStatusUrgencyAndText()
    {
        var tenant = await factory.CreateTenantAsync();
        await factory.PostVapiAsync(tenant, VapiWebhookTests.EndOfCallReport("call-quote", "Wants a quote for a water softener.", "I'd like a quote for a water softener."));
        factory.Clock.Advance(TimeSpan.FromMinutes(5));
        await factory.PostVapiAsync(tenant, VapiWebhookTests.EndOfCallReport("call-flood", "Basement flooded.", "Mon sous-sol est inondé!"));
        factory.Clock.Advance(TimeSpan.FromMinutes(5));
        await factory.PostVapiAsync(tenant, """{"message":{"type":"status-update","status":"in-progress","call":{"id":"call-live"}}}""");
        var client = factory.ApiClient(tenant);

        var all = await client.GetFromJsonAsync<JsonObject>("/api/v1/calls?page=1");
        var emergencies = await client.GetFromJsonAsync<JsonObject>("/api/v1/calls?urgency=emergency");
        var live = await client.GetFromJsonAsync<JsonObject>("/api/v1/calls?status=in-progress");
        var search = await client.GetFromJsonAsync<JsonObject>("/api/v1/calls?q=SOFTENER");
        var paged = await client.GetFromJsonAsync<JsonObject>("/api/v1/calls?page=2&pageSize=2");

        Assert.Equal(["call-live", "call-flood", "call-quote"], Ids(all));
        Assert.Equal(3, all!["total"]!.GetValue<int>());
        Assert.Equal(["call-flood"], Ids(emergencies));
        Assert.Equal("emergency", emergencies!["items"]![0]!["urgency"]!.GetValue<string>());
        Assert.Equal(["call-live"], Ids(live));
        Assert.Equal(["call-quote"], Ids(search));
        Assert.Equal(["call-quote"], Ids(paged));
    }

    [Fact]
    public async Task LiveCallsCountEveryCallInProgressNotOnlyTheNewestPageAndNeverAnotherTenants()
    {
        var tenant = await factory.CreateTenantAsync();
        var other = await factory.CreateTenantAsync("Other Co");
        await factory.PostVapiAsync(tenant, """{"message":{"type":"status-update","status":"in-progress","call":{"id":"call-long"}}}""");
        await factory.PostVapiAsync(other, """{"message":{"type":"status-update","status":"in-progress","call":{"id":"their-live"}}}""");
        // Nine calls end after the long one started: it is no longer among the newest eight calls the overview used to read.
        for (var i = 0; i < 9; i++)
        {
            factory.Clock.Advance(TimeSpan.FromMinutes(1));
            await factory.PostVapiAsync(tenant, VapiWebhookTests.EndOfCallReport($"call-done-{i}", "Quote.", "I'd like a quote."));
        }
        factory.Clock.Advance(TimeSpan.FromMinutes(1));
        await factory.PostVapiAsync(tenant, """{"message":{"type":"status-update","status":"ringing","call":{"id":"call-ringing"}}}""");
        var client = factory.ApiClient(tenant);

        var live = await client.GetFromJsonAsync<JsonObject>("/api/v1/calls/live");
        var theirs = await factory.ApiClient(other).GetFromJsonAsync<JsonObject>("/api/v1/calls/live");
        var newest = await client.GetFromJsonAsync<JsonObject>("/api/v1/calls?pageSize=8");

        Assert.DoesNotContain("call-long", Ids(newest));
        Assert.Equal(2, live!["total"]!.GetValue<int>());
        Assert.Equal(["call-ringing", "call-long"], Ids(live));
        Assert.Equal(1, theirs!["total"]!.GetValue<int>());
        Assert.Equal(["their-live"], Ids(theirs));
    }

    [Fact]
    public async Task ACallWhoseEndNeverCameIsNotLiveOncePastWhatClosesIt()
    {
        var tenant = await factory.CreateTenantAsync();
        await factory.PostVapiAsync(tenant, """{"message":{"type":"status-update","status":"in-progress","call":{"id":"call-silent"}}}""");
        factory.Clock.Advance(TimeSpan.FromMinutes(14));
        await factory.PostVapiAsync(tenant, """{"message":{"type":"status-update","status":"in-progress","call":{"id":"call-talking"}}}""");
        factory.Clock.Advance(TimeSpan.FromMinutes(2)); // call-silent: no message for 16 min, past the closer's 15 (it is off in tests)
        var now = factory.Clock.GetUtcNow();
        // Calls whose status callback never came, inserted as a lost webhook leaves them: in progress, with their last update recent.
        Call Stuck(string id, string channel, string provider, TimeSpan age) => new()
        {
            Id = Guid.CreateVersion7(), TenantId = tenant.Id, Channel = channel, Provider = provider, ProviderCallId = id, Status = "in-progress",
            Type = channel == "web" ? "webChat" : "inboundPhoneCall", CreatedAt = now - age, StartedAt = now - age, UpdatedAt = now,
        };
        await factory.WithDbAsync(tenant.Id, async db =>
        {
            db.Calls.AddRange(
                Stuck("twilio-11h", "voice", "twilio", TimeSpan.FromHours(11)), Stuck("twilio-13h", "voice", "twilio", TimeSpan.FromHours(13)),
                Stuck("chat-23h", "web", "widget", TimeSpan.FromHours(23)), Stuck("chat-25h", "web", "widget", TimeSpan.FromHours(25)));
            return await db.SaveChangesAsync();
        });

        var live = await factory.ApiClient(tenant).GetFromJsonAsync<JsonObject>("/api/v1/calls/live");

        Assert.Equal(["call-talking", "twilio-11h", "chat-23h"], Ids(live));
        Assert.Equal(3, live!["total"]!.GetValue<int>());
        // The list still has them all, with the status they were left in: only Live's reading of "in progress" changed.
        var all = await factory.ApiClient(tenant).GetFromJsonAsync<JsonObject>("/api/v1/calls?status=in-progress&pageSize=10");
        Assert.Equal(6, Ids(all).Count);
    }

    [Fact]
    public async Task CallDetailHasTranscriptLeadAndSms()
    {
        var tenant = await factory.CreateTenantAsync();
        await factory.PostVapiAsync(tenant, VapiWebhookTests.EndOfCallReport("call-burst", "Burst pipe.", "A pipe burst under my sink!"));
        var client = factory.ApiClient(tenant);
        var id = (await client.GetFromJsonAsync<JsonObject>("/api/v1/calls"))!["items"]![0]!["id"]!.GetValue<string>();

        var detail = await client.GetFromJsonAsync<JsonObject>($"/api/v1/calls/{id}");
        var smsLog = await client.GetFromJsonAsync<JsonObject>("/api/v1/sms");

        Assert.Equal(3, detail!["transcript"]!.AsArray().Count);
        Assert.Equal("emergency", detail["lead"]!["urgency"]!.GetValue<string>());
        var sms = Assert.Single(detail["sms"]!.AsArray());
        Assert.Equal("emergency-alert", sms!["purpose"]!.GetValue<string>());
        Assert.Equal(sms["id"]!.GetValue<string>(), smsLog!["items"]![0]!["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task AnotherTenantsCallIsNotFoundAndNeverListed()
    {
        var mine = await factory.CreateTenantAsync();
        var theirs = await factory.CreateTenantAsync("Other Co");
        await factory.PostVapiAsync(theirs, VapiWebhookTests.EndOfCallReport("their-call", "Flooding.", "Flooded basement."));
        var theirClient = factory.ApiClient(theirs);
        var theirId = (await theirClient.GetFromJsonAsync<JsonObject>("/api/v1/calls"))!["items"]![0]!["id"]!.GetValue<string>();
        var myClient = factory.ApiClient(mine);

        var detail = await myClient.GetAsync($"/api/v1/calls/{theirId}");
        var list = await myClient.GetFromJsonAsync<JsonObject>("/api/v1/calls");
        var sms = await myClient.GetFromJsonAsync<JsonObject>("/api/v1/sms");
        var search = await myClient.GetFromJsonAsync<JsonObject>("/api/v1/calls?q=flooded");

        Assert.Equal(HttpStatusCode.NotFound, detail.StatusCode);
        Assert.Equal("CALL_NOT_FOUND", (await VapiWebhookTests.ErrorOf(detail))["code"]!.GetValue<string>());
        Assert.Empty(list!["items"]!.AsArray());
        Assert.Empty(sms!["items"]!.AsArray());
        Assert.Empty(search!["items"]!.AsArray());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("Bearer sk_live_doesnotexist0000000000000000000")]
    [InlineData("Bearer not-a-key")]
    [InlineData("Basic dXNlcjpwYXNz")]
    public async Task ApiRequiresAValidSecretKey(string? authorization)
    {
        var client = factory.CreateClient();
        if (authorization is not null)
        {
            client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", authorization);
        }

        foreach (var path in new[] { "/api/v1/calls", "/api/v1/sms", $"/api/v1/calls/{Guid.NewGuid()}" })
        {
            var response = await client.GetAsync(path);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal("UNAUTHENTICATED", (await VapiWebhookTests.ErrorOf(response))["code"]!.GetValue<string>());
        }
    }

    [Theory]
    [InlineData("/api/v1/calls?pageSize=0", 422, "INVALID_PAGE_SIZE")]
    [InlineData("/api/v1/calls?pageSize=1000", 422, "INVALID_PAGE_SIZE")]
    [InlineData("/api/v1/calls?page=0", 422, "INVALID_PAGE")]
    [InlineData("/api/v1/calls?urgency=whenever", 422, "INVALID_FILTER")]
    [InlineData("/api/v1/calls?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", 422, "INVALID_RANGE")]
    [InlineData("/api/v1/calls?from=yesterday", 400, "BAD_REQUEST")]
    [InlineData("/api/v1/calls/not-a-guid", 404, "NOT_FOUND")]
    [InlineData("/api/v1/nothing-here", 404, "NOT_FOUND")]
    [InlineData("/api/v1/sms?page=2147483647&pageSize=100", 422, "INVALID_PAGE")] // (page - 1) × size wrapped around to page 1
    [InlineData("/api/v1/sms?page=42949673&pageSize=100", 422, "INVALID_PAGE")]
    [InlineData("/api/v1/calls?page=2147483647&pageSize=100", 422, "INVALID_PAGE")]
    [InlineData("/api/v1/audit?page=2147483647&pageSize=200", 422, "INVALID_PAGE")]
    public async Task BadQueriesGetAnEnvelopeNeverA500(string path, int status, string code)
    {
        var tenant = await factory.CreateTenantAsync();

        var response = await factory.ApiClient(tenant).GetAsync(path);

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal(code, (await VapiWebhookTests.ErrorOf(response))["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task ABadQueryValueOrBodyIsNamedInTheClientsWordsWithoutDotNetTypes()
    {
        var tenant = await factory.CreateTenantAsync();
        var api = factory.ApiClient(tenant);

        var date = (await (await api.GetAsync("/api/v1/calls?from=2024-13-45")).JsonAsync(HttpStatusCode.BadRequest))["error"]!;
        Assert.Equal("The parameter 'from' has an invalid value: '2024-13-45'.", date["message"]!.GetValue<string>());
        Assert.Equal(Switchboard.Platform.Http.IsoDates.InstantProblem, date["details"]!["from"]!.GetValue<string>()); // what is expected, in ISO 8601's words

        var status = (await (await api.GetAsync("/api/v1/calls?status=abc")).JsonAsync(HttpStatusCode.UnprocessableEntity))["error"]!;
        Assert.Equal("INVALID_FILTER", status["code"]!.GetValue<string>());
        Assert.Contains("completed", status["details"]!["status"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, (await api.GetAsync("/api/v1/calls?status=In-Progress")).StatusCode);
        Assert.Equal("INVALID_FILTER", await (await api.GetAsync("/api/v1/sms?status=abc")).ErrorCodeAsync());
        Assert.Equal(HttpStatusCode.OK, (await api.GetAsync("/api/v1/sms?status=delivered")).StatusCode);

        // Outbound calls need the plan's telephony feature; on a plan without it the 403 comes before the body is read.
        await factory.WithDbAsync(tenant.Id, async db =>
        {
            var account = await TenantAccounts.GetOrCreateAsync(db, factory.Services.GetRequiredService<PlanCatalog>(), tenant.Id, factory.Clock.GetUtcNow(), CancellationToken.None);
            account.PlanId = "telephony";
            return await db.SaveChangesAsync();
        });
        factory.Services.GetRequiredService<TenantAccountCache>().Invalidate(tenant.Id);
        var body = (await (await api.PostAsync("/api/v1/calls/outbound", new StringContent("{\"to\":\"+15145550100\",\"variables\":{\"a\":{\"b\":1}}}",
            System.Text.Encoding.UTF8, "application/json"))).JsonAsync(HttpStatusCode.BadRequest))["error"]!;
        Assert.Equal("BAD_REQUEST", body["code"]!.GetValue<string>());
        Assert.NotNull(body["details"]!["variables.a"]);
        Assert.DoesNotContain("OutboundCallRequest", body["message"]!.GetValue<string>());
    }

    private static List<string> Ids(JsonObject? page) =>
        page!["items"]!.AsArray().Select(i => i!["providerCallId"]!.GetValue<string>()).ToList();
}
