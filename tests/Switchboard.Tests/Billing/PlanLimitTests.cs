using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Billing;
using Switchboard.Calls;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Billing;

/// <summary>
/// A host whose plans have small rate limits: free 6/min per tenant and 4/min per user; starter 5/min per key;
/// anonymous sign-in 8/min per address. A request's client address can be set with <c>X-Test-Client-Ip</c>
/// (TestServer has none), so the per-address test does not use up the others' budget.
/// </summary>
public sealed class LowLimitFactory : SelfServiceFactory
{
    protected override void ConfigureWebHost(Microsoft.AspNetCore.Hosting.IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.ConfigureServices(services => services.AddSingleton<Microsoft.AspNetCore.Hosting.IStartupFilter, ClientIpFilter>());
    }

    private sealed class ClientIpFilter : Microsoft.AspNetCore.Hosting.IStartupFilter
    {
        public Action<Microsoft.AspNetCore.Builder.IApplicationBuilder> Configure(Action<Microsoft.AspNetCore.Builder.IApplicationBuilder> next) => app =>
        {
            app.Use(async (http, nextMiddleware) =>
            {
                if (System.Net.IPAddress.TryParse(http.Request.Headers["X-Test-Client-Ip"].ToString(), out var ip))
                {
                    http.Connection.RemoteIpAddress = ip;
                }
                await nextMiddleware(http);
            });
            next(app);
        };
    }

    protected override IDictionary<string, string?> MoreSettings => new Dictionary<string, string?>
    {
        ["Switchboard:Billing:Plans:free:RequestsPerMinute"] = "6",
        ["Switchboard:Billing:Plans:free:RequestsPerMinutePerKey"] = "4",
        ["Switchboard:Billing:Plans:starter:RequestsPerMinute"] = "1000",
        ["Switchboard:Billing:Plans:starter:RequestsPerMinutePerKey"] = "5",
        ["Switchboard:Accounts:AuthRequestsPerMinutePerIp"] = "8",
        ["Switchboard:Accounts:SessionRequestsPerMinute"] = "4",
    };
}

[Trait("Category", "Database")]
public sealed class PlanLimitTests(LowLimitFactory factory) : IClassFixture<LowLimitFactory>
{
    [Fact]
    public async Task PerUserAndPerTenantLimitsAnswer429WithRetryAfter()
    {
        var owner = await factory.SignUpAsync();
        var token = await factory.InviteAsync(owner.Client, $"m-{Guid.NewGuid():N}@example.test", "member");
        var memberClient = factory.CookieClient();
        await (await memberClient.PostAsJsonAsync("/api/v1/auth/invitations/accept", new { token, password = "ledger read by a member 7" })).JsonAsync(HttpStatusCode.OK);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await owner.Client.GetAsync("/api/v1/onboarding")).StatusCode);
        }
        var limited = await owner.Client.GetAsync("/api/v1/onboarding"); // the owner's 5th request: over 4 per session user
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.Equal("RATE_LIMITED", await limited.ErrorCodeAsync());
        var retryAfter = int.Parse(limited.Headers.GetValues("Retry-After").Single());
        Assert.InRange(retryAfter, 1, 60);

        // Another user of the same tenant has a window of their own; the dashboard does not use up the tenant's API window
        // (free: 6/min here), so the tenant's API key still gets its requests.
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await memberClient.GetAsync("/api/v1/onboarding")).StatusCode);
        }
        Assert.Equal(HttpStatusCode.TooManyRequests, (await memberClient.GetAsync("/api/v1/onboarding")).StatusCode);

        // Another tenant is not affected.
        var other = await factory.SignUpAsync();
        Assert.Equal(HttpStatusCode.OK, (await other.Client.GetAsync("/api/v1/onboarding")).StatusCode);
    }

    [Fact]
    public async Task EachSecretKeyHasItsOwnWindowSizedByThePlan()
    {
        var tenant = await factory.CreateTenantAsync("Keyed starter");
        await factory.SetPlanAsync(tenant.Id, "starter");
        var api = factory.ApiClient(tenant);
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await api.GetAsync("/api/v1/calls")).StatusCode);
        }
        Assert.Equal(HttpStatusCode.TooManyRequests, (await api.GetAsync("/api/v1/calls")).StatusCode);
    }

    [Fact]
    public async Task AnonymousSignInAttemptsAreLimitedPerAddress()
    {
        var client = factory.CookieClient();
        client.DefaultRequestHeaders.Add("X-Test-Client-Ip", "203.0.113.7");
        var codes = new List<HttpStatusCode>();
        for (var i = 0; i < 12; i++)
        {
            codes.Add((await client.PostAsJsonAsync("/api/v1/auth/login", new { email = "nobody@example.test", password = "whatever it is" })).StatusCode);
        }
        Assert.Equal(8, codes.Count(c => c == HttpStatusCode.Unauthorized));
        Assert.Equal(4, codes.Count(c => c == HttpStatusCode.TooManyRequests));
    }
}

[Trait("Category", "Database")]
public sealed class PlanAndUsageTests(SelfServiceFactory factory) : IClassFixture<SelfServiceFactory>
{
    [Fact]
    public async Task OnlyOwnersChangeThePlanAndFeaturesFollowAtOnce()
    {
        var plans = (await factory.CreateClient().GetFromJsonAsync<JsonArray>("/api/v1/plans"))!;
        Assert.Equal(["free", "starter", "pro", "telephony"], plans.Select(p => p!["id"]!.GetValue<string>()));
        Assert.Contains("telephony", plans[^1]!["features"]!.AsArray().Select(f => f!.GetValue<string>()).ToList());

        var owner = await factory.SignUpAsync();
        var denied = await owner.Client.PostAsJsonAsync("/api/v1/numbers", new { number = "+15145557777" });
        Assert.Equal("FEATURE_NOT_IN_PLAN", await denied.ErrorCodeAsync());
        var changed = await (await owner.Client.PutAsJsonAsync("/api/v1/plan", new { planId = "telephony" })).JsonAsync(HttpStatusCode.OK);
        Assert.Equal("telephony", changed["plan"]!["id"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.Accepted, (await owner.Client.PostAsJsonAsync("/api/v1/numbers", new { number = "+15145557777" })).StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await owner.Client.PutAsJsonAsync("/api/v1/plan", new { planId = "gold" })).StatusCode);

        var token = await factory.InviteAsync(owner.Client, $"a-{Guid.NewGuid():N}@example.test", "admin");
        var adminClient = factory.CookieClient();
        var admin = await (await adminClient.PostAsJsonAsync("/api/v1/auth/invitations/accept", new { token, password = "keys kept by the admin 42" })).JsonAsync(HttpStatusCode.OK);
        adminClient.DefaultRequestHeaders.Add("X-CSRF-Token", admin["csrfToken"]!.GetValue<string>());
        Assert.Equal("INSUFFICIENT_ROLE", await (await adminClient.PutAsJsonAsync("/api/v1/plan", new { planId = "free" })).ErrorCodeAsync());
    }

    [Fact]
    public async Task UsageCountsCallSecondsAndChatMessagesAgainstThePlan()
    {
        var owner = await factory.SignUpAsync();
        var now = factory.Clock.GetUtcNow();
        await factory.WithDbAsync(owner.TenantId, async db =>
        {
            foreach (var (seconds, status) in new[] { (95.5, "ended"), (1200.0, "ended"), (30.0, "in-progress") })
            {
                db.Calls.Add(new Call
                {
                    Id = Guid.CreateVersion7(),
                    TenantId = owner.TenantId,
                    Channel = "voice",
                    Provider = "vapi",
                    ProviderCallId = Guid.NewGuid().ToString(),
                    Status = status,
                    DurationSeconds = seconds,
                    StartedAt = now.AddHours(-1),
                    CreatedAt = now.AddHours(-1),
                    UpdatedAt = now,
                });
            }
            // An open web chat is not a call: it does not use up the plan's simultaneous calls (six refused phone callers).
            db.Calls.Add(new Call
            {
                Id = Guid.CreateVersion7(), TenantId = owner.TenantId, Channel = "web", Provider = "widget", Type = "webChat",
                ProviderCallId = Guid.NewGuid().ToString("N"), Status = "in-progress", StartedAt = now, CreatedAt = now, UpdatedAt = now,
            });
            return await db.SaveChangesAsync();
        });
        using (var scope = factory.Services.CreateScope())
        {
            scope.ServiceProvider.GetRequiredService<Switchboard.Tenancy.CurrentTenant>().Set(owner.TenantId);
            var meter = scope.ServiceProvider.GetRequiredService<UsageMeter>();
            await meter.RecordChatMessageAsync(owner.TenantId, "msg-1", now, CancellationToken.None);
            await meter.RecordChatMessageAsync(owner.TenantId, "msg-1", now, CancellationToken.None);
            await meter.RecordChatMessageAsync(owner.TenantId, "msg-2", now, CancellationToken.None);
        }

        var usage = await owner.Client.GetFromJsonAsync<JsonObject>("/api/v1/usage");
        Assert.Equal("2026-11", usage!["period"]!.GetValue<string>());
        Assert.Equal(1295.5, usage["callSeconds"]!.GetValue<double>(), 3);
        Assert.Equal(22, usage["callMinutes"]!.GetValue<int>());
        Assert.Equal(2, usage["chatMessages"]!.GetValue<int>());
        Assert.Equal(30, usage["includedMinutes"]!.GetValue<int>());
        Assert.Equal(1, usage["activeCalls"]!.GetValue<int>());
        Assert.Equal(1, usage["concurrentCallLimit"]!.GetValue<int>());
        var again = await owner.Client.GetFromJsonAsync<JsonObject>("/api/v1/usage");
        Assert.Equal(1295.5, again!["callSeconds"]!.GetValue<double>(), 3);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await owner.Client.GetAsync("/api/v1/usage?period=November")).StatusCode);
        var other = await factory.SignUpAsync();
        Assert.Equal(0, (await other.Client.GetFromJsonAsync<JsonObject>("/api/v1/usage"))!["callSeconds"]!.GetValue<double>());
    }

    [Fact]
    public async Task UsageOfTheFirstAndLastMonthsOfTheCalendarIsRefusedAndTheMonthsWithinAreZeros()
    {
        var owner = await factory.SignUpAsync();

        foreach (var period in new[] { "0001-02", "9999-11" })
        {
            var usage = await (await owner.Client.GetAsync("/api/v1/usage?period=" + period)).JsonAsync(HttpStatusCode.OK);
            Assert.Equal(period, usage["period"]!.GetValue<string>());
            Assert.Equal(0, usage["callSeconds"]!.GetValue<double>());
        }
        // Metering reads a day either side of the month: these months have no representable neighbour.
        foreach (var period in new[] { "0001-01", "9999-12" })
        {
            var response = await owner.Client.GetAsync("/api/v1/usage?period=" + period);
            Assert.True(response.StatusCode == HttpStatusCode.UnprocessableEntity, $"{period}: {(int)response.StatusCode}");
            Assert.Equal("INVALID_PERIOD", await response.ErrorCodeAsync());
        }
    }

    [Fact]
    public async Task AssistantRequestsBeyondThePlansConcurrentCallsAreRefused()
    {
        var tenant = await factory.CreateTenantAsync("Busy lines");
        await factory.SetPlanAsync(tenant.Id, "free"); // one concurrent call
        var first = """{"message":{"type":"status-update","status":"in-progress","call":{"id":"call-busy-1","type":"inboundPhoneCall"}}}""";
        Assert.Equal(HttpStatusCode.OK, (await factory.PostVapiAsync(tenant, first)).StatusCode);
        var second = """{"message":{"type":"assistant-request","call":{"id":"call-busy-2","type":"inboundPhoneCall"}}}""";
        var reply = await (await factory.PostVapiAsync(tenant, second)).JsonAsync(HttpStatusCode.OK);
        Assert.Contains("lines are busy", reply["error"]!.GetValue<string>());
        Assert.DoesNotMatch(@"\d", reply["error"]!.GetValue<string>()); // how many lines the business has is its own affair
        var locale = await factory.WithDbAsync(tenant.Id, db => db.Tenants.Where(t => t.Id == tenant.Id).Select(t => t.Locale).SingleAsync());
        Assert.Equal(locale.StartsWith("fr", StringComparison.Ordinal), reply["error"]!.GetValue<string>().StartsWith("Toutes nos lignes", StringComparison.Ordinal));

        await factory.SetPlanAsync(tenant.Id, "pro");
        var accepted = await (await factory.PostVapiAsync(tenant, second)).JsonAsync(HttpStatusCode.OK);
        Assert.Equal("Paul", accepted["assistant"]!["name"]!.GetValue<string>());
    }
}
