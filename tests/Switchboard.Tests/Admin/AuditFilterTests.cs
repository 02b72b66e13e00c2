using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Admin;

/// <summary>The audit log's filters (action, actor, time range) behind Settings → Audit log: scoped to the tenant, bad filters refused.</summary>
[Trait("Category", "Database")]
public sealed class AuditFilterTests(SelfServiceFactory factory) : IClassFixture<SelfServiceFactory>
{
    private static List<string> Actions(JsonObject page) => page["items"]!.AsArray().Select(e => e!["action"]!.GetValue<string>()).ToList();

    private static string Iso(DateTimeOffset at) => Uri.EscapeDataString(at.ToString("O", CultureInfo.InvariantCulture));

    [Fact]
    public async Task TheAuditLogFiltersByActionPrefixActorAndTimeRange()
    {
        var owner = await factory.SignUpAsync();
        await factory.SetPlanAsync(owner.TenantId, "pro");
        var before = factory.Clock.GetUtcNow();
        factory.Clock.Advance(TimeSpan.FromMinutes(1));
        await (await owner.Client.PostAsJsonAsync("/api/v1/keys", new { name = "first" })).JsonAsync(HttpStatusCode.Created);
        var second = await (await owner.Client.PostAsJsonAsync("/api/v1/keys", new { name = "second" })).JsonAsync(HttpStatusCode.Created);
        factory.Clock.Advance(TimeSpan.FromMinutes(1));
        var middle = factory.Clock.GetUtcNow();
        factory.Clock.Advance(TimeSpan.FromMinutes(1));
        var id = second["apiKey"]!["id"]!.GetValue<string>();
        (await owner.Client.DeleteAsync($"/api/v1/keys/{id}")).EnsureSuccessStatusCode();
        await (await owner.Client.PutAsJsonAsync("/api/v1/retention", new { recordingDays = 30, transcriptDays = (int?)null })).JsonAsync(HttpStatusCode.OK);

        var created = await owner.Client.GetFromJsonAsync<JsonObject>("/api/v1/audit?action=keys.created");
        Assert.Equal(["keys.created", "keys.created"], Actions(created!));
        Assert.Equal(2, created!["total"]!.GetValue<int>());

        var keys = await owner.Client.GetFromJsonAsync<JsonObject>("/api/v1/audit?action=keys.");
        Assert.Equal(["keys.revoked", "keys.created", "keys.created"], Actions(keys!));

        var early = await owner.Client.GetFromJsonAsync<JsonObject>($"/api/v1/audit?action=keys.&from={Iso(before)}&to={Iso(middle)}");
        Assert.Equal(["keys.created", "keys.created"], Actions(early!));
        var late = await owner.Client.GetFromJsonAsync<JsonObject>($"/api/v1/audit?from={Iso(middle)}");
        Assert.Equal(["retention.updated", "keys.revoked"], Actions(late!));

        var byUser = await owner.Client.GetFromJsonAsync<JsonObject>($"/api/v1/audit?actorType=user&actorId={owner.UserId}&pageSize=2&page=2");
        Assert.Equal(2, byUser!["items"]!.AsArray().Count);
        Assert.All(byUser["items"]!.AsArray(), e => Assert.Equal(owner.UserId.ToString(), e!["actorId"]!.GetValue<string>()));
        var none = await owner.Client.GetFromJsonAsync<JsonObject>("/api/v1/audit?actorType=system&action=keys.created");
        Assert.Empty(none!["items"]!.AsArray());
    }

    [Fact]
    public async Task AnotherTenantsEntriesNeverMatchAFilter()
    {
        var ours = await factory.SignUpAsync();
        var theirs = await factory.SignUpAsync();
        await factory.SetPlanAsync(theirs.TenantId, "pro");
        await (await theirs.Client.PostAsJsonAsync("/api/v1/keys", new { name = "theirs" })).JsonAsync(HttpStatusCode.Created);

        var page = await ours.Client.GetFromJsonAsync<JsonObject>($"/api/v1/audit?action=keys.created&actorId={theirs.UserId}");
        Assert.Empty(page!["items"]!.AsArray());
        Assert.Equal(0, page["total"]!.GetValue<int>());
        var all = await ours.Client.GetFromJsonAsync<JsonObject>("/api/v1/audit?pageSize=200");
        Assert.DoesNotContain(all!["items"]!.AsArray(), e => e!["actorId"]?.GetValue<string>() == theirs.UserId.ToString());
    }

    [Theory]
    [InlineData("actorType=robot", "actorType")]
    [InlineData("from=yesterday", "from")]
    [InlineData("to=2026-13-45", "to")]
    [InlineData("from=01/12/2026", "from")] // US month/day: not ISO 8601, never read as January 12
    [InlineData("to=2026-12-01%2010:00", "to")]
    [InlineData("from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z", "to")]
    public async Task ABadAuditFilterIsA422NamingTheField(string query, string field)
    {
        var owner = await factory.SignUpAsync();
        var response = await owner.Client.GetAsync("/api/v1/audit?" + query);
        var body = await response.JsonAsync(HttpStatusCode.UnprocessableEntity);
        Assert.Equal("INVALID_FILTER", body["error"]!["code"]!.GetValue<string>());
        Assert.NotNull(body["error"]!["details"]![field]);
    }

    [Fact]
    public async Task AnIsoDateIsMidnightUtcAndATimestampWithAnOffsetIsThatInstant()
    {
        var owner = await factory.SignUpAsync();
        var day = factory.Clock.GetUtcNow().ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var next = factory.Clock.GetUtcNow().AddDays(1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var today = await owner.Client.GetFromJsonAsync<JsonObject>($"/api/v1/audit?from={day}&to={next}");
        Assert.NotEmpty(today!["items"]!.AsArray()); // the sign-up's own entries
        var later = await owner.Client.GetFromJsonAsync<JsonObject>($"/api/v1/audit?from={next}T00:00:00%2B05:00");
        Assert.DoesNotContain(later!["items"]!.AsArray(), e => e!["actorId"]?.GetValue<string>() == owner.UserId.ToString());
    }

    /// <summary>Every date or time query parameter of /api/v1 that ASP.NET Core binds itself takes ISO 8601 only, the rest is a 400 naming it.</summary>
    [Theory]
    [InlineData("/api/v1/calls?from=01/12/2026", "from")]
    [InlineData("/api/v1/calls?to=12/1/2026%2010:00%20PM", "to")]
    [InlineData("/api/v1/calls/export.csv?from=1%20Dec%202026", "from")]
    [InlineData("/api/v1/analytics?from=01/12/2026&to=2026-12-31", "from")]
    [InlineData("/api/v1/analytics?from=2026-12-01&to=2026-12-31T00:00:00Z", "to")]
    public async Task ADateQueryParameterNotInIsoFormIsA400NamingIt(string url, string field)
    {
        var owner = await factory.SignUpAsync();
        var response = await owner.Client.GetAsync(url);
        var body = await response.JsonAsync(HttpStatusCode.BadRequest);
        Assert.Equal("BAD_REQUEST", body["error"]!["code"]!.GetValue<string>());
        Assert.Contains("ISO 8601", body["error"]!["details"]![field]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, (await owner.Client.GetAsync(url.Split('?')[0])).StatusCode); // the same route without it answers
    }

    [Fact]
    public async Task AnOverlongActionFilterIsRefused()
    {
        var owner = await factory.SignUpAsync();
        var response = await owner.Client.GetAsync("/api/v1/audit?action=" + new string('a', 101));
        Assert.Equal("INVALID_FILTER", await response.ErrorCodeAsync());
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
    }
}
