using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Credentials;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.AssistantSync;

[Trait("Category", "Database")]
public sealed class AssistantSyncTests(SelfServiceFactory factory) : IClassFixture<SelfServiceFactory>
{
    private async Task<SignedIn> VapiTenantAsync()
    {
        var owner = await factory.SignUpAsync();
        await factory.SetPlanAsync(owner.TenantId, "pro");
        await (await owner.Client.PutAsJsonAsync("/api/v1/credentials/vapi", new { apiKey = VapiSimulator.PrivateKey })).JsonAsync(HttpStatusCode.OK);
        return owner;
    }

    private static object Paul(string name = "Paul") => new
    {
        name,
        firstMessage = "Drain Fortin, bonjour!",
        instructions = "Tu es Paul.",
        languages = new[] { "fr-CA", "en-US" },
        voice = new { provider = "11labs", voiceId = "sarah" },
        model = new { provider = "openai", model = "gpt-4o-mini", temperature = 0.3 },
        tools = new[] { "capture_lead", "end_call" },
        alertPolicy = new { onCallNumbers = new[] { "+15145550111" } },
        recordingEnabled = true,
    };

    private JsonObject? AtVapi(Guid assistantId) =>
        factory.Vapi.Assistants.Values.SingleOrDefault(a => a["metadata"]?["switchboardAssistantId"]?.GetValue<string>() == assistantId.ToString());

    [Fact]
    public async Task AssistantIsCreatedUpdatedAndDeletedAtVapiWithServerUrlAndSecret()
    {
        var owner = await VapiTenantAsync();
        var created = await (await owner.Client.PostAsJsonAsync("/api/v1/assistants", Paul())).JsonAsync(HttpStatusCode.Created);
        var id = Guid.Parse(created["id"]!.GetValue<string>());
        Assert.Equal("pending", created["syncStatus"]!.GetValue<string>());

        await factory.Outbox.DrainAsync(CancellationToken.None);

        var remote = AtVapi(id);
        Assert.NotNull(remote);
        Assert.Equal($"{SelfServiceFactory.PublicBaseUrl}/webhooks/vapi/{owner.TenantId}", remote!["server"]!["url"]!.GetValue<string>());
        var secret = await factory.WithDbAsync(null, db => db.Tenants.Where(t => t.Id == owner.TenantId).Select(t => t.VapiWebhookSecretProtected).FirstAsync());
        Assert.Equal(factory.Services.GetRequiredService<SecretProtector>().Unprotect(secret), remote["server"]!["headers"]!["x-vapi-secret"]!.GetValue<string>());
        Assert.Equal("gpt-4o-mini", remote["model"]!["model"]!.GetValue<string>());
        Assert.Equal("Tu es Paul.", remote["model"]!["messages"]![0]!["content"]!.GetValue<string>());
        var toolTypes = remote["model"]!["tools"]!.AsArray().Select(t => t!["type"]!.GetValue<string>() == "function" ? t["function"]!["name"]!.GetValue<string>() : t["type"]!.GetValue<string>()).ToList();
        Assert.Equal(["capture_lead", "search_knowledge_base", "endCall"], toolTypes); // the knowledge base is always searchable
        Assert.True(remote["artifactPlan"]!["recordingEnabled"]!.GetValue<bool>());
        Assert.Equal("sarah", remote["voice"]!["voiceId"]!.GetValue<string>());
        var synced = await owner.Client.GetFromJsonAsync<JsonObject>($"/api/v1/assistants/{id}");
        Assert.Equal("synced", synced!["syncStatus"]!.GetValue<string>());
        Assert.Equal(remote["id"]!.GetValue<string>(), synced["vapiAssistantId"]!.GetValue<string>());

        await (await owner.Client.PatchAsJsonAsync($"/api/v1/assistants/{id}", new { name = "Paul 2", recordingEnabled = false })).JsonAsync(HttpStatusCode.OK);
        await factory.Outbox.DrainAsync(CancellationToken.None);
        Assert.Equal("Paul 2", AtVapi(id)!["name"]!.GetValue<string>());
        Assert.False(AtVapi(id)!["artifactPlan"]!["recordingEnabled"]!.GetValue<bool>());
        Assert.Equal(remote["id"]!.GetValue<string>(), AtVapi(id)!["id"]!.GetValue<string>());

        Assert.Equal(HttpStatusCode.NoContent, (await owner.Client.DeleteAsync($"/api/v1/assistants/{id}")).StatusCode);
        await factory.Outbox.DrainAsync(CancellationToken.None);
        Assert.Null(AtVapi(id));
        Assert.Equal(HttpStatusCode.NotFound, (await owner.Client.GetAsync($"/api/v1/assistants/{id}")).StatusCode);
    }

    [Fact]
    public async Task AVapiOutageDelaysButNeverLosesAChange()
    {
        var owner = await VapiTenantAsync();
        factory.Vapi.Outage = true;
        try
        {
            var id = Guid.Parse((await (await owner.Client.PostAsJsonAsync("/api/v1/assistants", Paul("Outage v1"))).JsonAsync(HttpStatusCode.Created))["id"]!.GetValue<string>());
            await factory.Outbox.DrainAsync(CancellationToken.None);
            var during = await owner.Client.GetFromJsonAsync<JsonObject>($"/api/v1/assistants/{id}");
            Assert.Equal("retrying", during!["syncStatus"]!.GetValue<string>());
            Assert.Contains("503", during["syncError"]!.GetValue<string>());
            Assert.Null(AtVapi(id));

            await (await owner.Client.PatchAsJsonAsync($"/api/v1/assistants/{id}", new { name = "Outage v2" })).JsonAsync(HttpStatusCode.OK);
            await factory.Outbox.DrainAsync(CancellationToken.None);
            Assert.Null(AtVapi(id));

            factory.Vapi.Outage = false;
            factory.Clock.Advance(TimeSpan.FromHours(1));
            await factory.Outbox.DrainAsync(CancellationToken.None);

            Assert.Equal("Outage v2", AtVapi(id)!["name"]!.GetValue<string>());
            var after = await owner.Client.GetFromJsonAsync<JsonObject>($"/api/v1/assistants/{id}");
            Assert.Equal("synced", after!["syncStatus"]!.GetValue<string>());
            var pending = await factory.WithDbAsync(owner.TenantId, db => db.Outbox.CountAsync(m => m.Status == "pending"));
            Assert.Equal(0, pending);
        }
        finally
        {
            factory.Vapi.Outage = false;
        }
    }

    [Fact]
    public async Task ABurstOfIdenticalAndChangedSavesPushesOnce()
    {
        var owner = await VapiTenantAsync();
        var id = Guid.Parse((await (await owner.Client.PostAsJsonAsync("/api/v1/assistants", Paul("Burst"))).JsonAsync(HttpStatusCode.Created))["id"]!.GetValue<string>());
        for (var i = 0; i < 5; i++)
        {
            await (await owner.Client.PatchAsJsonAsync($"/api/v1/assistants/{id}", new { firstMessage = "Bonjour " + (i / 2) })).JsonAsync(HttpStatusCode.OK);
        }
        var version = await factory.WithDbAsync(owner.TenantId, db => db.Assistants.Where(a => a.Id == id).Select(a => a.Version).FirstAsync());
        Assert.Equal(3, version); // 0 at creation, then "Bonjour 0", "Bonjour 1", "Bonjour 2": repeated saves change nothing.
        var before = factory.Vapi.Requests.Count(r => r.Method is "POST" or "PATCH");
        await factory.Outbox.DrainAsync(CancellationToken.None);
        Assert.Equal(1, factory.Vapi.Requests.Count(r => r.Method is "POST" or "PATCH") - before);
        Assert.Equal("Bonjour 2", AtVapi(id)!["firstMessage"]!.GetValue<string>());
    }

    [Fact]
    public async Task ALostCreateResponseDoesNotMakeADuplicate()
    {
        var owner = await VapiTenantAsync();
        factory.Vapi.AcceptThenFailNext = 1;
        var id = Guid.Parse((await (await owner.Client.PostAsJsonAsync("/api/v1/assistants", Paul("Lost"))).JsonAsync(HttpStatusCode.Created))["id"]!.GetValue<string>());
        await factory.Outbox.DrainAsync(CancellationToken.None);
        factory.Clock.Advance(TimeSpan.FromMinutes(5));
        await factory.Outbox.DrainAsync(CancellationToken.None);
        var remote = AtVapi(id); // Single: throws if duplicated.
        Assert.NotNull(remote);
        Assert.Equal(remote!["id"]!.GetValue<string>(), (await owner.Client.GetFromJsonAsync<JsonObject>($"/api/v1/assistants/{id}"))!["vapiAssistantId"]!.GetValue<string>());
    }

    [Fact]
    public async Task WithoutAVapiKeyTheAssistantWaitsAndSyncsOnceTheKeyArrives()
    {
        var owner = await factory.SignUpAsync();
        var id = Guid.Parse((await (await owner.Client.PostAsJsonAsync("/api/v1/assistants", new { name = "Waiting" })).JsonAsync(HttpStatusCode.Created))["id"]!.GetValue<string>());
        await factory.Outbox.DrainAsync(CancellationToken.None);
        Assert.Equal("waiting-for-credentials", (await owner.Client.GetFromJsonAsync<JsonObject>($"/api/v1/assistants/{id}"))!["syncStatus"]!.GetValue<string>());

        await (await owner.Client.PutAsJsonAsync("/api/v1/credentials/vapi", new { apiKey = VapiSimulator.PrivateKey })).JsonAsync(HttpStatusCode.OK);
        await factory.Outbox.DrainAsync(CancellationToken.None);
        Assert.Equal("synced", (await owner.Client.GetFromJsonAsync<JsonObject>($"/api/v1/assistants/{id}"))!["syncStatus"]!.GetValue<string>());
        Assert.NotNull(AtVapi(id));
    }

    [Fact]
    public async Task ARefusedKeyDeadLettersTheSyncWithAReason()
    {
        var owner = await factory.SignUpAsync();
        await (await owner.Client.PutAsJsonAsync("/api/v1/credentials/vapi", new { apiKey = "wrong-vapi-key-000000" })).JsonAsync(HttpStatusCode.OK);
        var id = Guid.Parse((await (await owner.Client.PostAsJsonAsync("/api/v1/assistants", new { name = "Refused" })).JsonAsync(HttpStatusCode.Created))["id"]!.GetValue<string>());
        await factory.Outbox.DrainAsync(CancellationToken.None);
        var a = await owner.Client.GetFromJsonAsync<JsonObject>($"/api/v1/assistants/{id}");
        Assert.Equal("failed", a!["syncStatus"]!.GetValue<string>());
        Assert.Contains("401", a["syncError"]!.GetValue<string>());
        Assert.DoesNotContain("wrong-vapi-key", a.ToJsonString());
    }

    [Fact]
    public async Task InvalidAssistantsAreRejectedAndRecordingNeedsThePlan()
    {
        var owner = await factory.SignUpAsync(); // free plan: no recording
        var bad = await owner.Client.PostAsJsonAsync("/api/v1/assistants", new { name = "X", languages = new[] { "not a locale" }, tools = new[] { "launch_rockets" } });
        var details = (await bad.JsonAsync(HttpStatusCode.UnprocessableEntity))["error"]!["details"]!.AsObject();
        Assert.True(details.ContainsKey("languages") && details.ContainsKey("tools"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await owner.Client.PostAsJsonAsync("/api/v1/assistants", new { firstMessage = "no name" })).StatusCode);
        var recording = await owner.Client.PostAsJsonAsync("/api/v1/assistants", new { name = "Rec", recordingEnabled = true });
        Assert.Equal(HttpStatusCode.Forbidden, recording.StatusCode);
        Assert.Equal("FEATURE_NOT_IN_PLAN", await recording.ErrorCodeAsync());
        var plain = await (await owner.Client.PostAsJsonAsync("/api/v1/assistants", new { name = "Plain" })).JsonAsync(HttpStatusCode.Created);
        Assert.False(plain["recordingEnabled"]!.GetValue<bool>());
    }
}
