using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Tenancy;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Keys;

[Trait("Category", "Database")]
public sealed class KeysTests(SelfServiceFactory factory) : IClassFixture<SelfServiceFactory>
{
    private HttpClient Bearer(string key)
    {
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = Http.Bearer(key);
        return client;
    }

    private async Task<SignedIn> ProTenantAsync()
    {
        var owner = await factory.SignUpAsync();
        await factory.SetPlanAsync(owner.TenantId, "pro");
        return owner;
    }

    [Fact]
    public async Task ASecretKeyIsShownOnceWorksAndStopsWhenRevoked()
    {
        var owner = await ProTenantAsync();
        var created = await (await owner.Client.PostAsJsonAsync("/api/v1/keys", new { name = "CRM sync" })).JsonAsync(HttpStatusCode.Created);
        var key = created["key"]!.GetValue<string>();
        Assert.StartsWith("sk_live_", key);
        var id = created["apiKey"]!["id"]!.GetValue<string>();
        var listed = await owner.Client.GetStringAsync("/api/v1/keys");
        Assert.DoesNotContain(key, listed);
        Assert.Contains(key[..12], listed);

        Assert.Equal(HttpStatusCode.OK, (await Bearer(key).GetAsync("/api/v1/calls")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await owner.Client.DeleteAsync($"/api/v1/keys/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Bearer(key).GetAsync("/api/v1/calls")).StatusCode);
        var status = (await owner.Client.GetFromJsonAsync<JsonArray>("/api/v1/keys"))!.First(k => k!["id"]!.GetValue<string>() == id)!["status"]!.GetValue<string>();
        Assert.Equal("revoked", status);
    }

    [Fact]
    public async Task ARotatedKeyKeepsWorkingForItsGracePeriodOnly()
    {
        var owner = await ProTenantAsync();
        var created = await (await owner.Client.PostAsJsonAsync("/api/v1/keys", new { name = "Zapier" })).JsonAsync(HttpStatusCode.Created);
        var oldKey = created["key"]!.GetValue<string>();
        var rotated = await (await owner.Client.PostAsJsonAsync($"/api/v1/keys/{created["apiKey"]!["id"]}/rotate", new { graceHours = 1 })).JsonAsync(HttpStatusCode.Created);
        var newKey = rotated["key"]!.GetValue<string>();
        Assert.NotEqual(oldKey, newKey);
        Assert.Equal("Zapier", rotated["apiKey"]!["name"]!.GetValue<string>());

        Assert.Equal(HttpStatusCode.OK, (await Bearer(oldKey).GetAsync("/api/v1/calls")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Bearer(newKey).GetAsync("/api/v1/calls")).StatusCode);
        // The old key, in its grace, cannot be rotated again (that would renew its grace and issue another replacement).
        var again = await owner.Client.PostAsJsonAsync($"/api/v1/keys/{created["apiKey"]!["id"]}/rotate", new { graceHours = 168 });
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal("KEY_ALREADY_ROTATED", await again.ErrorCodeAsync());
        Assert.Equal(2, System.Text.Json.Nodes.JsonNode.Parse(await owner.Client.GetStringAsync("/api/v1/keys"))!.AsArray().Count(k => (string?)k!["name"] == "Zapier"));
        factory.Clock.Advance(TimeSpan.FromMinutes(61));
        Assert.Equal(HttpStatusCode.Unauthorized, (await Bearer(oldKey).GetAsync("/api/v1/calls")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Bearer(newKey).GetAsync("/api/v1/calls")).StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await owner.Client.PostAsJsonAsync($"/api/v1/keys/{rotated["apiKey"]!["id"]}/rotate", new { graceHours = 500 })).StatusCode);
    }

    [Fact]
    public async Task ConcurrentRotationsOfOneKeyIssueOneReplacementAndConcurrentCreationsStopAtTheLimit()
    {
        var owner = await ProTenantAsync();
        var created = await (await owner.Client.PostAsJsonAsync("/api/v1/keys", new { name = "Race" })).JsonAsync(HttpStatusCode.Created);
        var id = created["apiKey"]!["id"]!.GetValue<string>();
        var rotations = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ =>
            owner.Client.PostAsJsonAsync($"/api/v1/keys/{id}/rotate", new { graceHours = 2 })));
        Assert.Equal(1, rotations.Count(r => r.StatusCode == HttpStatusCode.Created));
        Assert.All(rotations.Where(r => r.StatusCode != HttpStatusCode.Created), r => Assert.Equal(HttpStatusCode.Conflict, r.StatusCode));
        var keys = JsonNode.Parse(await owner.Client.GetStringAsync("/api/v1/keys"))!.AsArray();
        Assert.Equal(2, keys.Count(k => (string?)k!["name"] == "Race"));

        // Up to one below the limit of 20 active keys, then six creations at once: exactly one fits.
        var active = keys.Count(k => (string?)k!["status"] is "active" or "expiring");
        for (var i = active; i < 19; i++)
        {
            await (await owner.Client.PostAsJsonAsync("/api/v1/keys", new { name = $"Fill {i}" })).JsonAsync(HttpStatusCode.Created);
        }
        var creations = await Task.WhenAll(Enumerable.Range(0, 6).Select(i =>
            owner.Client.PostAsJsonAsync("/api/v1/keys", new { name = $"Last {i}" })));
        Assert.Equal(1, creations.Count(r => r.StatusCode == HttpStatusCode.Created));
        foreach (var refused in creations.Where(r => r.StatusCode != HttpStatusCode.Created))
        {
            Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
            Assert.Equal("TOO_MANY_KEYS", await refused.ErrorCodeAsync());
        }
        Assert.Equal(20, JsonNode.Parse(await owner.Client.GetStringAsync("/api/v1/keys"))!.AsArray()
            .Count(k => (string?)k!["status"] is "active" or "expiring"));
    }

    [Fact]
    public async Task AtTheLimitARotationWithAGracePeriodIsRefusedLikeACreationAndOneWithoutIsAllowed()
    {
        var owner = await ProTenantAsync();
        var ids = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            ids.Add((await (await owner.Client.PostAsJsonAsync("/api/v1/keys", new { name = $"Key {i}" })).JsonAsync(HttpStatusCode.Created))["apiKey"]!["id"]!.GetValue<string>());
        }
        async Task<int> WorkingAsync() => JsonNode.Parse(await owner.Client.GetStringAsync("/api/v1/keys"))!.AsArray()
            .Count(k => (string?)k!["status"] is "active" or "expiring");

        // A grace period would leave the old key working beside its replacement: 21 working keys.
        var refused = await owner.Client.PostAsJsonAsync($"/api/v1/keys/{ids[0]}/rotate", new { graceHours = 24 });
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Equal("TOO_MANY_KEYS", await refused.ErrorCodeAsync());
        var defaulted = await owner.Client.PostAsync($"/api/v1/keys/{ids[1]}/rotate", JsonContent.Create(new { }));
        Assert.Equal("TOO_MANY_KEYS", await defaulted.ErrorCodeAsync());
        Assert.Equal(20, await WorkingAsync());
        Assert.Equal("active", (string?)JsonNode.Parse(await owner.Client.GetStringAsync("/api/v1/keys"))!.AsArray()
            .First(k => (string?)k!["id"] == ids[0])!["status"]);

        // Without one, the replacement takes the old key's place.
        await (await owner.Client.PostAsJsonAsync($"/api/v1/keys/{ids[0]}/rotate", new { graceHours = 0 })).JsonAsync(HttpStatusCode.Created);
        Assert.Equal(20, await WorkingAsync());

        // Below the limit a rotation may use a grace period, and its old key then counts against creations until it ends.
        Assert.Equal(HttpStatusCode.NoContent, (await owner.Client.DeleteAsync($"/api/v1/keys/{ids[2]}")).StatusCode);
        await (await owner.Client.PostAsJsonAsync($"/api/v1/keys/{ids[3]}/rotate", new { graceHours = 1 })).JsonAsync(HttpStatusCode.Created);
        Assert.Equal(20, await WorkingAsync());
        Assert.Equal("TOO_MANY_KEYS", await (await owner.Client.PostAsJsonAsync("/api/v1/keys", new { name = "One more" })).ErrorCodeAsync());
        factory.Clock.Advance(TimeSpan.FromMinutes(61));
        await (await owner.Client.PostAsJsonAsync("/api/v1/keys", new { name = "One more" })).JsonAsync(HttpStatusCode.Created);
        Assert.Equal(20, await WorkingAsync());
    }

    [Fact]
    public async Task PlansGateSecretKeysAndPublishableKeysAreNotSecretKeys()
    {
        var owner = await factory.SignUpAsync(); // free: widget, no API access
        var secret = await owner.Client.PostAsJsonAsync("/api/v1/keys", new { name = "nope" });
        Assert.Equal(HttpStatusCode.Forbidden, secret.StatusCode);
        Assert.Equal("FEATURE_NOT_IN_PLAN", await secret.ErrorCodeAsync());
        var publishable = await (await owner.Client.PostAsJsonAsync("/api/v1/keys", new { name = "site", kind = "publishable" })).JsonAsync(HttpStatusCode.Created);
        var pk = publishable["key"]!.GetValue<string>();
        Assert.StartsWith("pk_live_", pk);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Bearer(pk).GetAsync("/api/v1/calls")).StatusCode);
        var resolved = await factory.WithDbAsync(null, db => PublishableKeys.ResolveAsync(db, pk, factory.Clock.GetUtcNow(), CancellationToken.None));
        Assert.Equal(owner.TenantId, resolved);

        // A key made on a plan with API access stops authenticating when the plan loses it.
        await factory.SetPlanAsync(owner.TenantId, "starter");
        var key = (await (await owner.Client.PostAsJsonAsync("/api/v1/keys", new { name = "ok now" })).JsonAsync(HttpStatusCode.Created))["key"]!.GetValue<string>();
        Assert.Equal(HttpStatusCode.OK, (await Bearer(key).GetAsync("/api/v1/calls")).StatusCode);
        await factory.SetPlanAsync(owner.TenantId, "free");
        var gated = await Bearer(key).GetAsync("/api/v1/calls");
        Assert.Equal(HttpStatusCode.Forbidden, gated.StatusCode);
        Assert.Equal("FEATURE_NOT_IN_PLAN", await gated.ErrorCodeAsync());
    }

    [Fact]
    public async Task AllowedOriginsAreValidatedHttpsOriginsAtMostTen()
    {
        var owner = await factory.SignUpAsync();
        var bad = await owner.Client.PutAsJsonAsync("/api/v1/widget/origins", new
        {
            origins = new[] { "http://shop.example.com", "https://shop.example.com/path", "https://*.com", "javascript:alert(1)", "https://ok.example.com" },
        });
        var details = (await bad.JsonAsync(HttpStatusCode.UnprocessableEntity))["error"]!["details"]!.AsObject();
        Assert.Equal(4, details.Count);
        var tooMany = await owner.Client.PutAsJsonAsync("/api/v1/widget/origins", new { origins = Enumerable.Range(0, 11).Select(i => $"https://s{i}.example.com").ToArray() });
        Assert.Equal(HttpStatusCode.UnprocessableEntity, tooMany.StatusCode);

        var saved = await (await owner.Client.PutAsJsonAsync("/api/v1/widget/origins", new
        {
            origins = new[] { "https://Shop.Example.com/", "https://shop.example.com:443", "https://shop.example.com:8443" },
        })).JsonAsync(HttpStatusCode.OK);
        Assert.Equal(["https://shop.example.com", "https://shop.example.com:8443"], saved["origins"]!.AsArray().Select(o => o!.GetValue<string>()));
        Assert.Equal(2, (await owner.Client.GetFromJsonAsync<JsonObject>("/api/v1/widget/origins"))!["origins"]!.AsArray().Count);
    }

    [Fact]
    public async Task AnAllowedOriginWithCredentialsOrAFragmentIsRefusedByName()
    {
        // An origin is scheme, host and port (RFC 6454 §6.1): userinfo or a fragment is not part of one, and dropping it
        // silently would allow a site other than the one the owner typed.
        var owner = await factory.SignUpAsync();
        await (await owner.Client.PutAsJsonAsync("/api/v1/widget/origins", new { origins = new[] { "https://kept.example.com" } })).JsonAsync(HttpStatusCode.OK);
        var bad = await owner.Client.PutAsJsonAsync("/api/v1/widget/origins", new
        {
            origins = new[] { "https://user:pw@shop.example.com", "https://shop.example.com#x", "https://shop.example.com\\", "https://ok.example.com" },
        });
        var error = (await bad.JsonAsync(HttpStatusCode.UnprocessableEntity))["error"]!;
        Assert.Equal("VALIDATION_FAILED", error["code"]!.GetValue<string>());
        var details = error["details"]!.AsObject();
        Assert.Equal(["origins[0]", "origins[1]", "origins[2]"], details.Select(d => d.Key).Order(StringComparer.Ordinal));
        Assert.Contains("credentials", details["origins[0]"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("fragment", details["origins[1]"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(["https://kept.example.com"], (await owner.Client.GetFromJsonAsync<JsonObject>("/api/v1/widget/origins"))!["origins"]!.AsArray()
            .Select(o => o!.GetValue<string>()));
    }

    [Fact]
    public async Task ConcurrentFirstOriginPutsOfATenantWithoutAnAccountRowAllSucceed()
    {
        var owner = await factory.SignUpAsync();
        // A tenant from before accounts existed: its row is created on first use, here by twelve requests at once.
        await factory.WithDbAsync(null, db => db.TenantAccounts.IgnoreQueryFilters().Where(a => a.TenantId == owner.TenantId).ExecuteDeleteAsync());
        factory.Services.GetRequiredService<TenantAccountCache>().Invalidate(owner.TenantId);
        var puts = await Task.WhenAll(Enumerable.Range(0, 12).Select(i =>
            owner.Client.PutAsJsonAsync("/api/v1/widget/origins", new { origins = new[] { $"https://s{i}.example.com" } })));
        Assert.All(puts, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Single((await owner.Client.GetFromJsonAsync<JsonObject>("/api/v1/widget/origins"))!["origins"]!.AsArray());
        Assert.Equal(1, await factory.WithDbAsync(null, db => db.TenantAccounts.IgnoreQueryFilters().CountAsync(a => a.TenantId == owner.TenantId)));
    }

    [Fact]
    public async Task ConcurrentFirstWidgetSettingsPutsAllSucceed()
    {
        var owner = await ProTenantAsync();
        var puts = await Task.WhenAll(Enumerable.Range(0, 12).Select(i =>
            owner.Client.PutAsJsonAsync("/api/v1/widget/settings", new { accentColor = "#112233", position = "start", title = $"Shop {i}", greeting = (string?)null, avatarUrl = (string?)null })));
        Assert.All(puts, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.StartsWith("Shop ", (await owner.Client.GetFromJsonAsync<JsonObject>("/api/v1/widget/settings"))!["title"]!.GetValue<string>());
    }

    [Fact]
    public async Task AnotherTenantsKeysCannotBeSeenRotatedOrRevoked()
    {
        var a = await ProTenantAsync();
        var b = await ProTenantAsync();
        var created = await (await a.Client.PostAsJsonAsync("/api/v1/keys", new { name = "A's" })).JsonAsync(HttpStatusCode.Created);
        var id = created["apiKey"]!["id"]!.GetValue<string>();
        Assert.DoesNotContain(id, await b.Client.GetStringAsync("/api/v1/keys"));
        Assert.Equal(HttpStatusCode.NotFound, (await b.Client.PostAsJsonAsync($"/api/v1/keys/{id}/rotate", new { graceHours = 1 })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await b.Client.DeleteAsync($"/api/v1/keys/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Bearer(created["key"]!.GetValue<string>()).GetAsync("/api/v1/calls")).StatusCode);
    }
}
