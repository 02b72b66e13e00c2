using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Compliance;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Platform;

/// <summary>
/// <c>Idempotency-Key</c> on <c>/api/v1</c> POSTs, Stripe's rules (docs.stripe.com/api/idempotent_requests): a retry replays
/// the first success; the key with another request is a 400; a key in flight a 409; kept 24 hours, per tenant and caller.
/// </summary>
[Trait("Category", "Database")]
public sealed class IdempotencyTests(SelfServiceFactory factory) : IClassFixture<SelfServiceFactory>
{
    private static HttpRequestMessage Post(string path, string json, string? key)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (key is not null)
        {
            request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
        }
        return request;
    }

    private static async Task<int> CountKeysAsync(HttpClient client, string name) =>
        JsonNode.Parse(await client.GetStringAsync("/api/v1/keys"))!.AsArray().Count(k => (string?)k!["name"] == name);

    private async Task<HttpClient> ApiKeyClientAsync(SignedIn owner)
    {
        var created = await (await owner.Client.PostAsJsonAsync("/api/v1/keys", new { name = "server" })).JsonAsync(HttpStatusCode.Created);
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = Http.Bearer(created["key"]!.GetValue<string>());
        return client;
    }

    [Fact]
    public async Task ARetriedCreateWithTheSameKeyReplaysTheFirstResponseAndCreatesOnce()
    {
        var owner = await factory.SignUpAsync();
        await factory.SetPlanAsync(owner.TenantId, "pro");
        var key = Guid.NewGuid().ToString();
        var first = await owner.Client.SendAsync(Post("/api/v1/keys", """{"name":"Retry"}""", key));
        var firstBody = await first.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.False(first.Headers.Contains("Idempotent-Replayed"));

        var retry = await owner.Client.SendAsync(Post("/api/v1/keys", """{"name":"Retry"}""", key));
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal("true", retry.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(firstBody, await retry.Content.ReadAsStringAsync()); // the same secret, shown again to the one who created it
        // …kept encrypted: the stored answer does not hold the secret in clear.
        var secret = JsonNode.Parse(firstBody)!["key"]!.GetValue<string>();
        var stored = await factory.WithDbAsync(owner.TenantId, db => db.IdempotencyKeys.IgnoreQueryFilters().AsNoTracking().SingleAsync(k => k.Key == key));
        Assert.NotNull(stored.Body);
        Assert.DoesNotContain(secret, stored.Body);
        Assert.DoesNotContain(secret[^12..], stored.Body);
        Assert.Equal(first.Headers.Location, retry.Headers.Location);
        Assert.Equal(1, await CountKeysAsync(owner.Client, "Retry"));

        // Without a key, the same body is a new request.
        Assert.Equal(HttpStatusCode.Created, (await owner.Client.SendAsync(Post("/api/v1/keys", """{"name":"Retry"}""", null))).StatusCode);
        Assert.Equal(2, await CountKeysAsync(owner.Client, "Retry"));
    }

    [Fact]
    public async Task TheSameKeyWithAnotherBodyOrPathIsRefusedAndRunsNothing()
    {
        var owner = await factory.SignUpAsync();
        await factory.SetPlanAsync(owner.TenantId, "pro");
        var key = "order-" + Guid.NewGuid();
        Assert.Equal(HttpStatusCode.Created, (await owner.Client.SendAsync(Post("/api/v1/keys", """{"name":"First"}""", key))).StatusCode);

        var otherBody = await owner.Client.SendAsync(Post("/api/v1/keys", """{"name":"Second"}""", key));
        Assert.Equal(HttpStatusCode.BadRequest, otherBody.StatusCode);
        Assert.Equal("IDEMPOTENCY_KEY_REUSED", await otherBody.ErrorCodeAsync());
        var otherPath = await owner.Client.SendAsync(Post("/api/v1/assistants", """{"name":"First"}""", key));
        Assert.Equal(HttpStatusCode.BadRequest, otherPath.StatusCode);
        Assert.Equal("IDEMPOTENCY_KEY_REUSED", await otherPath.ErrorCodeAsync());
        Assert.Equal(0, await CountKeysAsync(owner.Client, "Second"));
        Assert.Empty(JsonNode.Parse(await owner.Client.GetStringAsync("/api/v1/assistants"))!.AsArray());
    }

    [Fact]
    public async Task AnInvalidKeyIsA400AndARefusedRequestReleasesItsKey()
    {
        var owner = await factory.SignUpAsync();
        await factory.SetPlanAsync(owner.TenantId, "pro");
        foreach (var bad in new[] { new string('k', 256), "clé-é", "two words" })
        {
            var response = await owner.Client.SendAsync(Post("/api/v1/keys", """{"name":"Bad key"}""", bad));
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal("IDEMPOTENCY_KEY_INVALID", await response.ErrorCodeAsync());
        }
        Assert.Equal(0, await CountKeysAsync(owner.Client, "Bad key"));

        // A 422 keeps nothing: the corrected request may use the same key.
        var key = new string('k', 255);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await owner.Client.SendAsync(Post("/api/v1/keys", """{"name":""}""", key))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await owner.Client.SendAsync(Post("/api/v1/keys", """{"name":"Fixed"}""", key))).StatusCode);
        Assert.Equal(1, await CountKeysAsync(owner.Client, "Fixed"));
    }

    [Fact]
    public async Task KeysAreScopedToTheTenantAndTheCaller()
    {
        var a = await factory.SignUpAsync();
        var b = await factory.SignUpAsync();
        await factory.SetPlanAsync(a.TenantId, "pro");
        await factory.SetPlanAsync(b.TenantId, "pro");
        var key = "shared-" + Guid.NewGuid();
        var fromA = await owner(a).SendAsync(Post("/api/v1/keys", """{"name":"Scoped"}""", key));
        var fromB = await owner(b).SendAsync(Post("/api/v1/keys", """{"name":"Scoped"}""", key));
        Assert.Equal(HttpStatusCode.Created, fromA.StatusCode);
        Assert.Equal(HttpStatusCode.Created, fromB.StatusCode);
        Assert.False(fromB.Headers.Contains("Idempotent-Replayed")); // not A's response, nor A's secret
        Assert.NotEqual(await fromA.Content.ReadAsStringAsync(), await fromB.Content.ReadAsStringAsync());
        Assert.Equal(1, await CountKeysAsync(a.Client, "Scoped"));
        Assert.Equal(1, await CountKeysAsync(b.Client, "Scoped"));

        // The same tenant's API key is another caller: its key is its own.
        using var api = await ApiKeyClientAsync(a);
        var fromKey = await api.SendAsync(Post("/api/v1/keys", """{"name":"Scoped"}""", key));
        Assert.Equal(HttpStatusCode.Created, fromKey.StatusCode);
        Assert.False(fromKey.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(2, await CountKeysAsync(a.Client, "Scoped"));

        static HttpClient owner(SignedIn s) => s.Client;
    }

    [Fact]
    public async Task ConcurrentRetriesCreateOnceAndTheOthersReplayOrAreToldItIsInFlight()
    {
        var owner = await factory.SignUpAsync();
        await factory.SetPlanAsync(owner.TenantId, "pro");
        var key = Guid.NewGuid().ToString();
        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => owner.Client.SendAsync(Post("/api/v1/keys", """{"name":"Burst"}""", key))));
        Assert.Single(responses, r => r.StatusCode == HttpStatusCode.Created && !r.Headers.Contains("Idempotent-Replayed"));
        foreach (var r in responses.Where(r => r.StatusCode != HttpStatusCode.Created))
        {
            Assert.Equal(HttpStatusCode.Conflict, r.StatusCode);
            Assert.Equal("IDEMPOTENCY_KEY_IN_USE", await r.ErrorCodeAsync());
            Assert.Equal("1", r.Headers.RetryAfter!.ToString());
        }
        Assert.Equal(1, await CountKeysAsync(owner.Client, "Burst"));
    }

    [Fact]
    public async Task AKeyIsKeptTwentyFourHoursThenTheRetentionPassForgetsIt()
    {
        var owner = await factory.SignUpAsync();
        await factory.SetPlanAsync(owner.TenantId, "pro");
        using var api = await ApiKeyClientAsync(owner); // a session would idle out over the day
        var key = Guid.NewGuid().ToString();
        const string Body = """{"url":"http://127.0.0.1:9/hooks"}""";
        var first = await api.SendAsync(Post("/api/v1/webhooks/endpoints", Body, key));
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        factory.Clock.Advance(TimeSpan.FromHours(23));
        var replay = await api.SendAsync(Post("/api/v1/webhooks/endpoints", Body, key));
        Assert.Equal(HttpStatusCode.Created, replay.StatusCode);
        Assert.True(replay.Headers.Contains("Idempotent-Replayed"));
        Assert.Single(JsonNode.Parse(await api.GetStringAsync("/api/v1/webhooks/endpoints"))!.AsArray());

        factory.Clock.Advance(TimeSpan.FromHours(1));
        using (var scope = factory.Services.CreateScope())
        {
            var result = await scope.ServiceProvider.GetRequiredService<RetentionService>().PurgeAsync(factory.Clock.GetUtcNow(), CancellationToken.None);
            Assert.True(result.IdempotencyKeysExpired >= 1);
        }
        Assert.Equal(0, await factory.WithDbAsync(null, db => db.IdempotencyKeys.IgnoreQueryFilters().CountAsync(k => k.TenantId == owner.TenantId && k.Key == key)));
        var again = await api.SendAsync(Post("/api/v1/webhooks/endpoints", Body, key));
        Assert.Equal(HttpStatusCode.Created, again.StatusCode);
        Assert.False(again.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(2, JsonNode.Parse(await api.GetStringAsync("/api/v1/webhooks/endpoints"))!.AsArray().Count);
    }

    [Fact]
    public async Task ASuccessLargerThanTheStoredCapIsAnsweredInFullButNotKeptAndItsKeyIsFreed()
    {
        var owner = await factory.SignUpAsync();
        await factory.SetPlanAsync(owner.TenantId, "telephony"); // room for two assistants
        var key = Guid.NewGuid().ToString();
        // 20,000 and 2,000 euro signs (the limits), each written as the six bytes of \u20AC: well over 64 KiB of answer.
        var json = new JsonObject { ["name"] = "Large", ["instructions"] = new string('€', 20_000), ["firstMessage"] = new string('€', 2_000) }.ToJsonString();
        var first = await owner.Client.SendAsync(Post("/api/v1/assistants", json, key));
        var body = await first.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.True(Encoding.UTF8.GetByteCount(body) > Switchboard.Platform.Http.IdempotencyMiddleware.MaxStoredBody, $"the answer is {body.Length} characters");
        Assert.Equal(20_000, JsonNode.Parse(body)!["instructions"]!.GetValue<string>().Length); // answered whole
        Assert.Equal(0, await factory.WithDbAsync(owner.TenantId, db => db.IdempotencyKeys.IgnoreQueryFilters().CountAsync(k => k.Key == key)));

        // The key is free again: the same request runs again (as documented), it is not replayed.
        var again = await owner.Client.SendAsync(Post("/api/v1/assistants", json, key));
        Assert.Equal(HttpStatusCode.Created, again.StatusCode);
        Assert.False(again.Headers.Contains("Idempotent-Replayed"));
    }
}
