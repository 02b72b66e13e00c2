using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Switchboard.Alerts;
using Switchboard.Calls;
using Switchboard.Tests.Support;
using Switchboard.Tests.Vapi;

namespace Switchboard.Tests.Calls;

/// <summary>
/// <c>GET /api/v1/analytics</c> on a known data set around the spring-forward day in America/Toronto (2026-03-08,
/// a Sunday of 23 hours: 00:00 EST = 05:00Z, the next midnight 00:00 EDT = 04:00Z on the 9th).
/// </summary>
[Trait("Category", "Database")]
public sealed class AnalyticsTests(SwitchboardFactory factory) : IClassFixture<SwitchboardFactory>
{
    private static DateTimeOffset Utc(int month, int day, int hour, int minute) => new(2026, month, day, hour, minute, 0, TimeSpan.Zero);

    [Fact]
    public async Task DaysFollowTheTenantsTimeZoneAcrossDstAndCountOutcomesUrgencyDurationLatencyAndSms()
    {
        var tenant = await factory.CreateTenantAsync(); // America/Toronto, Monday–Friday 08:00–17:00
        var seeder = new CallsReadSideTests(factory);
        // Saturday 2026-03-07 23:30 EST: the day before; after hours (weekend).
        await seeder.AddCallAsync(tenant, Utc(3, 8, 4, 30), c => { c.DurationSeconds = 10; c.EndedReason = "customer-ended-call"; c.Cost = 0.5m; });
        // Sunday 2026-03-08 00:30 EST and 23:30 EDT: both on the 8th (a fixed −05:00 would put the second on the 9th).
        await seeder.AddCallAsync(tenant, Utc(3, 8, 5, 30), c => { c.DurationSeconds = 20; c.EndedReason = "customer-ended-call"; }, urgency: Urgency.Emergency);
        var late = await seeder.AddCallAsync(tenant, Utc(3, 9, 3, 30), c => { c.Status = "no-answer"; c.DurationSeconds = 0; c.EndedReason = "customer-did-not-answer"; });
        // Monday 2026-03-09 00:30 EDT (after hours) and 10:00 EDT (open), a missed Vapi call with no duration, and a native call with latency.
        await seeder.AddCallAsync(tenant, Utc(3, 9, 4, 30), c => c.DurationSeconds = 30, urgency: Urgency.Soon);
        var native = await seeder.AddCallAsync(tenant, Utc(3, 9, 14, 0), c => { c.Provider = "twilio"; c.Status = "completed"; c.DurationSeconds = 40; c.Cost = 0.25m; }, urgency: Urgency.Routine);
        await seeder.AddCallAsync(tenant, Utc(3, 9, 15, 0), c => { c.DurationSeconds = null; c.Status = "ended"; c.EndedReason = "customer-did-not-answer"; });
        // Outside the period: 2026-03-10 00:30 EDT.
        await seeder.AddCallAsync(tenant, Utc(3, 10, 4, 30), c => c.DurationSeconds = 999);
        await factory.WithDbAsync(tenant.Id, async db =>
        {
            var latencies = new[] { 500.0, 700.0, 900.0, 1100.0 };
            for (var i = 0; i < latencies.Length; i++)
            {
                db.TranscriptTurns.Add(new TranscriptTurn
                {
                    Id = Guid.NewGuid(), TenantId = tenant.Id, CallId = native, Seq = i, Role = "assistant", Text = "…", At = Utc(3, 9, 14, i),
                    ProviderLatencyMs = latencies[i], BridgeLatencyMs = 1,
                });
            }
            db.SmsMessages.Add(Sms(tenant.Id, late, "delivered", Utc(3, 9, 3, 31)));
            db.SmsMessages.Add(Sms(tenant.Id, late, "failed", Utc(3, 9, 3, 32)));
            db.SmsMessages.Add(Sms(tenant.Id, native, "sent", Utc(3, 9, 14, 5)));
            return await db.SaveChangesAsync();
        });
        var client = factory.ApiClient(tenant);

        var response = await client.GetAsync("/api/v1/analytics?from=2026-03-07&to=2026-03-09");
        var a = await response.Content.ReadFromJsonAsync<JsonObject>();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("America/Toronto", a!["timeZone"]!.GetValue<string>());
        var days = a["days"]!.AsArray();
        Assert.Equal(["2026-03-07", "2026-03-08", "2026-03-09"], days.Select(d => d!["date"]!.GetValue<string>()));
        Assert.Equal([1, 2, 3], days.Select(d => d!["calls"]!.GetValue<int>()));
        Assert.Equal([0, 1, 1], days.Select(d => d!["missed"]!.GetValue<int>()));
        Assert.Equal([1, 1, 2], days.Select(d => d!["answered"]!.GetValue<int>()));
        Assert.Equal([1, 2, 1], days.Select(d => d!["afterHours"]!.GetValue<int>())); // weekend all day; Monday 00:30 only
        Assert.Equal([0, 1, 0], days.Select(d => d!["emergency"]!.GetValue<int>()));
        Assert.Equal([0, 0, 1], days.Select(d => d!["urgent"]!.GetValue<int>()));
        Assert.Equal([0, 1, 2], days.Select(d => d!["leads"]!.GetValue<int>()));
        Assert.Equal([0, 1, 1], days.Select(d => d!["smsSent"]!.GetValue<int>()));
        var totals = a["totals"]!;
        Assert.Equal(6, totals["calls"]!.GetValue<int>());
        Assert.Equal(2, totals["missed"]!.GetValue<int>());
        Assert.Equal(4, totals["afterHours"]!.GetValue<int>());
        Assert.Equal(3, totals["leads"]!.GetValue<int>());
        Assert.Equal(2, totals["smsSent"]!.GetValue<int>());
        Assert.Equal(20.0, totals["averageDurationSeconds"]!.GetValue<double>()); // (10+20+0+30+40)/5
        // Percentiles: the middle of the fixed bin (AnalyticsBins) holding the nearest-rank value.
        Assert.Equal(40.5, totals["p95DurationSeconds"]!.GetValue<double>()); // 40 s, in the 1 s bin [40, 41)
        Assert.Equal(702.5, totals["latencyP50Ms"]!.GetValue<double>()); // nearest rank 2 of 4: 701 ms, in the 5 ms bin [700, 705)
        Assert.Equal(1105.0, totals["latencyP95Ms"]!.GetValue<double>()); // 1101 ms, in the 10 ms bin [1100, 1110)
        Assert.Equal(0.75m, totals["costTotal"]!.GetValue<decimal>());
        Assert.Equal(1, a["urgencyMix"]!["emergency"]!.GetValue<int>());
        Assert.Equal(1, a["urgencyMix"]!["urgent"]!.GetValue<int>());
        Assert.Equal(1, a["urgencyMix"]!["routine"]!.GetValue<int>());
        var reasons = a["endedReasons"]!.AsArray();
        Assert.Equal("customer-did-not-answer", reasons[0]!["reason"]!.GetValue<string>());
        Assert.Equal(2, reasons[0]!["count"]!.GetValue<int>());
        Assert.Equal(2, reasons[1]!["count"]!.GetValue<int>());
    }

    [Fact]
    public async Task AnotherTimeZoneMovesTheDayBoundariesAndAnEmptyPeriodIsZeros()
    {
        var tenant = await factory.CreateTenantAsync();
        await new CallsReadSideTests(factory).AddCallAsync(tenant, Utc(3, 9, 3, 30));
        var client = factory.ApiClient(tenant);

        var utc = await client.GetFromJsonAsync<JsonObject>("/api/v1/analytics?from=2026-03-08&to=2026-03-09&tz=UTC");
        var empty = await client.GetFromJsonAsync<JsonObject>("/api/v1/analytics?from=2025-01-01&to=2025-01-31");

        Assert.Equal([0, 1], utc!["days"]!.AsArray().Select(d => d!["calls"]!.GetValue<int>()));
        Assert.Equal(31, empty!["days"]!.AsArray().Count);
        Assert.Equal(0, empty["totals"]!["calls"]!.GetValue<int>());
        Assert.Null(empty["totals"]!["p95DurationSeconds"]?.GetValue<double>());
        Assert.Null(empty["totals"]!["latencyP50Ms"]?.GetValue<double>());
        Assert.Null(empty["totals"]!["costTotal"]?.GetValue<decimal>());
    }

    [Theory]
    [InlineData("right/America/Toronto")]
    [InlineData("posix/America/Toronto")]
    [InlineData("SystemV/EST5EDT")]
    [InlineData("Eastern Standard Time")]
    public async Task ATimeZoneTheSignUpRefusesIsRefusedNamingTz(string tz)
    {
        var tenant = await factory.CreateTenantAsync();

        var response = await factory.ApiClient(tenant).GetAsync("/api/v1/analytics?from=2026-03-08&to=2026-03-09&tz=" + Uri.EscapeDataString(tz));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        var error = await VapiWebhookTests.ErrorOf(response);
        Assert.Equal("INVALID_TIME_ZONE", error["code"]!.GetValue<string>());
        Assert.NotNull(error["details"]!["tz"]);
    }

    [Fact]
    public async Task ALinkIsReadAsTheZoneItNames()
    {
        var tenant = await factory.CreateTenantAsync();
        var client = factory.ApiClient(tenant);

        var linked = await client.GetFromJsonAsync<JsonObject>("/api/v1/analytics?from=2026-03-08&to=2026-03-09&tz=us/eastern");

        Assert.Equal("America/New_York", linked!["timeZone"]!.GetValue<string>());
    }

    [Fact]
    public async Task TheFirstAndLastDatesOfTheCalendarAreZerosAndDatesBeyondThemAreRefused()
    {
        var tenant = await factory.CreateTenantAsync();
        var client = factory.ApiClient(tenant);

        // The zones furthest ahead of and behind UTC put a day's bounds furthest from its date.
        foreach (var url in new[]
        {
            "/api/v1/analytics?from=0001-01-02&to=0001-01-02&tz=Pacific/Kiritimati", "/api/v1/analytics?from=0001-01-02&to=0001-01-03&tz=Etc/GMT%2B12",
            "/api/v1/analytics?from=9999-12-30&to=9999-12-30&tz=Etc/GMT%2B12", "/api/v1/analytics?from=9999-12-29&to=9999-12-30&tz=Pacific/Kiritimati",
            "/api/v1/analytics?to=0001-01-05",
        })
        {
            var response = await client.GetAsync(url);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{url}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            var a = await response.Content.ReadFromJsonAsync<JsonObject>();
            Assert.Equal(0, a!["totals"]!["calls"]!.GetValue<int>());
        }
        foreach (var url in new[]
        {
            "/api/v1/analytics?from=0001-01-01&to=0001-01-01", "/api/v1/analytics?from=0001-01-01&to=0001-01-02&tz=Pacific/Pago_Pago",
            "/api/v1/analytics?from=9999-12-31&to=9999-12-31&tz=UTC", "/api/v1/analytics?to=9999-12-31&tz=Pacific/Kiritimati",
            "/api/v1/analytics?from=9999-12-31",
        })
        {
            var response = await client.GetAsync(url);
            Assert.True(response.StatusCode == HttpStatusCode.UnprocessableEntity, $"{url}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            Assert.Equal("INVALID_RANGE", (await VapiWebhookTests.ErrorOf(response))["code"]!.GetValue<string>());
        }
    }

    private static SmsMessage Sms(Guid tenantId, Guid callId, string status, DateTimeOffset at) => new()
    {
        Id = Guid.NewGuid(), TenantId = tenantId, CallId = callId, Direction = "outbound", Purpose = "emergency-alert", To = "+15145550111",
        Body = "x", Status = status, IdempotencyKey = Guid.NewGuid().ToString(), CreatedAt = at,
    };
}
