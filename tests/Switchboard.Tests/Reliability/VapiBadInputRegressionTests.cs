using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Platform.Database;
using Switchboard.Tests.Support;
using Switchboard.Tests.Webhooks;

namespace Switchboard.Tests.Reliability;

/// <summary>The outside probe's Vapi reproducers (shared/findings/reliability-2026-11-30.md §1.1, V1–V6), one test each.</summary>
[Trait("Category", "Database")]
public sealed class VapiBadInputRegressionTests(WebhookFactory factory) : IClassFixture<WebhookFactory>
{
    private static string NewId(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    private async Task<(HttpResponseMessage Response, string Text)> PostAsync(TestTenant tenant, byte[] body)
    {
        var response = await BadInput.PostVapiBytesAsync(factory, tenant, body);
        return (response, await response.Content.ReadAsStringAsync());
    }

    private Task<(HttpResponseMessage Response, string Text)> PostAsync(TestTenant tenant, string json) => PostAsync(tenant, Encoding.UTF8.GetBytes(json));

    private Task<global::Switchboard.Calls.Call?> CallAsync(TestTenant tenant, string providerCallId) =>
        factory.WithDbAsync(tenant.Id, db => db.Calls.AsNoTracking().FirstOrDefaultAsync(c => c.ProviderCallId == providerCallId));

    private Task<List<global::Switchboard.Calls.CallEvent>> EventsAsync(TestTenant tenant) =>
        factory.WithDbAsync(tenant.Id, db => db.CallEvents.AsNoTracking().ToListAsync());

    [Theory]
    [InlineData("{\"message\":{\"type\":\"status-update\\ud800\",\"call\":{\"id\":\"ID\"}}}", "$.message.type")]
    [InlineData("{\"message\":{\"type\":\"status-update\",\"timestamp\":\"\\udc00\",\"call\":{\"id\":\"ID\"}}}", "$.message.timestamp")]
    [InlineData("{\"message\":{\"type\":\"status-update\",\"status\":\"ringing\",\"call\":{\"id\":\"ID\",\"customer\":{\"number\":\"+1\\u0000514\"}}}}", "$.message.call.customer.number")]
    public async Task V1LoneSurrogateOrNulInAStringIsStoredOnceAndAcknowledged(string template, string unusablePath)
    {
        var tenant = await factory.CreateTenantAsync();
        var (response, text) = await PostAsync(tenant, template.Replace("ID", NewId("v1")));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var stored = Assert.Single(await EventsAsync(tenant));
        Assert.Contains(unusablePath, JsonSerializer.Deserialize<string[]>(stored.UnusableFields!)!);
        using var payload = JsonDocument.Parse(stored.PayloadJson); // stored as usable JSON text
        Assert.DoesNotContain('\0', stored.PayloadJson);
        await BadInput.AssertEverythingReadableAsync(factory, tenant);
        Assert.Contains("ok", text);
    }

    [Fact]
    public async Task ARawEventNestedOneHundredLevelsDeepLeavesTheCallDetailReadable()
    {
        // Found by the property test once the detail carried the call's raw provider events: the body is written back
        // inside rawEvents, deeper than System.Text.Json's default MaxDepth of 64.
        var tenant = await factory.CreateTenantAsync();
        var id = NewId("deep");
        var deep = string.Concat(Enumerable.Repeat("{\"a\":", 100)) + "1" + new string('}', 100);
        var body = "{\"message\":{\"type\":\"status-update\",\"status\":\"ringing\",\"extra\":" + deep + ",\"call\":{\"id\":\"" + id + "\"}}}";

        var (response, text) = await PostAsync(tenant, body);

        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        Assert.NotNull(await CallAsync(tenant, id));
        await BadInput.AssertEverythingReadableAsync(factory, tenant); // GET /api/v1/calls/{id} was a 500 here
    }

    [Fact]
    public async Task V1LoneSurrogateInsideToolArgumentsGivenAsAJsonStringIsAnsweredNot500()
    {
        var tenant = await factory.CreateTenantAsync();
        var body = "{\"message\":{\"type\":\"function-call\",\"functionCall\":{\"name\":\"capture_lead\",\"parameters\":"
            + "\"{\\\"name\\\":\\\"\\\\ud800\\\",\\\"phone\\\":\\\"+1514\\\\u0000\\\",\\\"problem\\\":\\\"fuite\\\"}\"},"
            + "\"call\":{\"id\":\"" + NewId("v1-args") + "\"}}}";

        var (response, text) = await PostAsync(tenant, body);

        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        Assert.Contains("result", text);
        await BadInput.AssertEverythingReadableAsync(factory, tenant);
    }

    [Fact]
    public async Task V2InvalidUtf8InAStringIsStoredWithReplacementCharacters()
    {
        var tenant = await factory.CreateTenantAsync();
        var id = NewId("v2");
        byte[] body = [.. Encoding.UTF8.GetBytes($"{{\"message\":{{\"type\":\"status-update\",\"status\":\"ringing\",\"call\":{{\"id\":\"{id}\",\"customer\":{{\"number\":\"+1514"),
            0xFF, .. Encoding.UTF8.GetBytes("\"}}}}")];

        var (response, _) = await PostAsync(tenant, body);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var call = await CallAsync(tenant, id);
        Assert.Equal("+1514\uFFFD", call!.CustomerNumber);
        Assert.Contains("$.message.call.customer.number", Assert.Single(await EventsAsync(tenant)).UnusableFields!);
        await BadInput.AssertEverythingReadableAsync(factory, tenant);
    }

    [Theory]
    [InlineData("1e29")]
    [InlineData("\"NaN\"")]
    [InlineData("\"Infinity\"")]
    [InlineData("1e400")]
    [InlineData("-1.79e308")]
    [InlineData("123456789")] // fits a decimal, not the numeric(12,4) column
    public async Task V3CostOutOfRangeIsRecordedUnusableAndTheReportIsKept(string cost)
    {
        var tenant = await factory.CreateTenantAsync();
        var id = NewId("v3");
        var (response, _) = await PostAsync(tenant, $"{{\"message\":{{\"type\":\"end-of-call-report\",\"cost\":{cost},\"summary\":\"Fuite\",\"call\":{{\"id\":\"{id}\"}}}}}}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var call = await CallAsync(tenant, id);
        Assert.Null(call!.Cost);
        Assert.Equal("ended", call.Status);
        Assert.Equal("Fuite", call.Summary);
        Assert.Contains("$.message.cost", Assert.Single(await EventsAsync(tenant)).UnusableFields!);
        await BadInput.AssertEverythingReadableAsync(factory, tenant);
    }

    [Theory]
    [InlineData("durationSeconds", "\"NaN\"")]
    [InlineData("durationMs", "\"NaN\"")]
    [InlineData("durationSeconds", "-5")]
    public async Task V4NaNOrNegativeDurationIsRecordedUnusable(string field, string value)
    {
        var tenant = await factory.CreateTenantAsync();
        var id = NewId("v4");
        var (response, _) = await PostAsync(tenant, $"{{\"message\":{{\"type\":\"end-of-call-report\",\"{field}\":{value},\"call\":{{\"id\":\"{id}\"}}}}}}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Null((await CallAsync(tenant, id))!.DurationSeconds);
        Assert.Contains($"$.message.{field}", Assert.Single(await EventsAsync(tenant)).UnusableFields!);
    }

    [Theory]
    [InlineData(101)]
    [InlineData(150)]
    [InlineData(1000)]
    public async Task V5CallIdLongerThanItsColumnFindsTheSameCallOnEveryLaterMessage(int length)
    {
        var tenant = await factory.CreateTenantAsync();
        var id = string.Concat(Guid.NewGuid().ToString("N"), new string('L', length))[..length];
        var sibling = id[..^1] + "M"; // same first 100 characters, another call

        foreach (var (callId, status) in new[] { (id, "ringing"), (id, "in-progress"), (sibling, "ringing"), (id, "ended") })
        {
            var (response, text) = await PostAsync(tenant, $"{{\"message\":{{\"type\":\"status-update\",\"status\":\"{status}\",\"call\":{{\"id\":\"{callId}\"}}}}}}");
            Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        }

        var calls = await factory.WithDbAsync(tenant.Id, db => db.Calls.AsNoTracking().OrderBy(c => c.CreatedAt).ToListAsync());
        Assert.Equal(2, calls.Count);
        Assert.All(calls, c => Assert.True(c.ProviderCallId.Length <= 100));
        Assert.Equal(["ended", "ringing"], calls.Select(c => c.Status).Order());
        Assert.Equal(3, (await EventsAsync(tenant)).Count(e => e.CallId == calls.Single(c => c.Status == "ended").Id));
    }

    [Theory]
    [InlineData("\"durationSeconds\":\"Infinity\"")]
    [InlineData("\"durationSeconds\":\"1e400\"")]
    [InlineData("\"durationMs\":\"-1e400\"")]
    [InlineData("\"artifact\":{\"messages\":[{\"role\":\"user\",\"message\":\"allo\",\"secondsFromStart\":\"-1e400\"}]}")]
    public async Task V6InfinityIsNeverStoredAndTheCallTheListTheExportAndTheWebhookEventStayReadable(string field)
    {
        var tenant = await factory.CreateTenantAsync();
        var created = await factory.ApiClient(tenant).PostAsJsonAsync("/api/v1/webhooks/endpoints",
            new { url = "http://127.0.0.1:9/h", eventTypes = new[] { "call.ended" } });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var id = NewId("v6");

        var (response, text) = await PostAsync(tenant, $"{{\"message\":{{\"type\":\"end-of-call-report\",{field},\"call\":{{\"id\":\"{id}\"}}}}}}");

        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        var call = await CallAsync(tenant, id);
        Assert.Null(call!.DurationSeconds);
        var turns = await factory.WithDbAsync(tenant.Id, db => db.TranscriptTurns.AsNoTracking().Where(t => t.CallId == call.Id).ToListAsync());
        Assert.All(turns, t => Assert.Null(t.SecondsFromStart));
        var ended = await factory.WithDbAsync(tenant.Id, db => db.WebhookEvents.AsNoTracking().Where(e => e.Type == "call.ended").ToListAsync());
        Assert.Single(ended);
        await BadInput.AssertEverythingReadableAsync(factory, tenant);
    }

    [Fact]
    public async Task V6NonFiniteNumbersAlreadyStoredReadAsNullEverywhere()
    {
        var tenant = await factory.CreateTenantAsync();
        var id = NewId("v6-stored");
        var (response, _) = await PostAsync(tenant,
            $"{{\"message\":{{\"type\":\"end-of-call-report\",\"durationSeconds\":12,\"artifact\":{{\"messages\":[{{\"role\":\"user\",\"message\":\"allo\",\"secondsFromStart\":1}}]}},\"call\":{{\"id\":\"{id}\"}}}}}}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var call = await CallAsync(tenant, id);
        // Rows written before the edge rule existed: ±∞ straight into the columns, past EF.
        await factory.WithDbAsync(tenant.Id, async db =>
        {
            await db.Database.ExecuteSqlAsync($"UPDATE calls SET \"DurationSeconds\" = {double.PositiveInfinity} WHERE \"Id\" = {call!.Id}");
            return await db.Database.ExecuteSqlAsync($"UPDATE transcript_turns SET \"SecondsFromStart\" = {double.NegativeInfinity} WHERE \"CallId\" = {call.Id}");
        });

        using var detail = await BadInput.GetJsonAsync(factory.ApiClient(tenant), $"/api/v1/calls/{call!.Id}");
        Assert.Equal(JsonValueKind.Null, detail.RootElement.GetProperty("durationSeconds").ValueKind);
        await BadInput.AssertEverythingReadableAsync(factory, tenant);

        // A writer touching the row again never writes the stored ∞ back as is.
        using var scope = factory.Scope();
        scope.ServiceProvider.GetRequiredService<global::Switchboard.Tenancy.CurrentTenant>().Set(tenant.Id);
        var db = scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>();
        var row = await db.Calls.FirstAsync(c => c.Id == call.Id);
        Assert.True(double.IsPositiveInfinity(row.DurationSeconds!.Value));
        row.Summary = "touched";
        await db.SaveChangesAsync();
        Assert.Null((await CallAsync(tenant, id))!.DurationSeconds);
    }
}
