using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Switchboard.Assistants;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Platform;

/// <summary>
/// Findings 2026-11-30 A1: two concurrent writes that check, then insert the same unique key (a tenant's first
/// credential; the assistant sync message <c>{id}:v{n}</c>) must end in a transparent retry or a 409, never a 500, and
/// must log no Error (the race is expected).
/// </summary>
[Trait("Category", "Database")]
public sealed class WriteRaceTests(SelfServiceFactory factory) : IClassFixture<SelfServiceFactory>
{
    private const int Pairs = 20;

    private static void AssertNoServerError(IEnumerable<HttpResponseMessage> responses, HttpStatusCode success)
    {
        foreach (var response in responses)
        {
            Assert.True(response.StatusCode == success || response.StatusCode == HttpStatusCode.Conflict,
                $"{(int)response.StatusCode} {response.Content.ReadAsStringAsync().GetAwaiter().GetResult()}");
        }
    }

    private string[] ErrorLines() => factory.LogLines.Where(l => l.StartsWith("Error ", StringComparison.Ordinal) || l.StartsWith("Critical ", StringComparison.Ordinal)).ToArray();

    [Fact]
    public async Task TwoConcurrentFirstOpenAiCredentialsNeverGiveA500()
    {
        var owner = await factory.SignUpAsync();
        var errorsBefore = ErrorLines().Length;

        for (var i = 0; i < Pairs; i++)
        {
            var responses = await Concurrently.PairAsync(
                () => owner.Client.PutAsJsonAsync("/api/v1/credentials/openai", new { apiKey = $"sk-race-a-{i:D4}-0123456789", baseUrl = "http://127.0.0.1:9/v1" }),
                () => owner.Client.PutAsJsonAsync("/api/v1/credentials/openai", new { apiKey = $"sk-race-b-{i:D4}-0123456789", baseUrl = "http://127.0.0.1:9/v1" }));

            AssertNoServerError(responses, HttpStatusCode.OK);
            Assert.Equal(1, await factory.WithDbAsync(owner.TenantId, db => db.ProviderCredentials.CountAsync(c => c.Provider == "openai")));
            (await owner.Client.DeleteAsync("/api/v1/credentials/openai")).EnsureSuccessStatusCode(); // the next pair races for the first row again
        }
        Assert.Equal(errorsBefore, ErrorLines().Length);
    }

    [Fact]
    public async Task TwoConcurrentFirstVapiCredentialsRequeueingTheSameAssistantNeverGiveA500()
    {
        var owner = await factory.SignUpAsync();
        for (var i = 0; i < Pairs; i++)
        {
            var responses = await Concurrently.PairAsync(
                () => owner.Client.PutAsJsonAsync("/api/v1/credentials/vapi", new { apiKey = $"vapi-race-a-{i:D4}" }),
                () => owner.Client.PutAsJsonAsync("/api/v1/credentials/vapi", new { apiKey = $"vapi-race-b-{i:D4}" }));

            AssertNoServerError(responses, HttpStatusCode.OK);
            (await owner.Client.DeleteAsync("/api/v1/credentials/vapi")).EnsureSuccessStatusCode();
        }
    }

    [Fact]
    public async Task TwoConcurrentFirstWizardSavesNeverGiveA500()
    {
        for (var i = 0; i < 10; i++)
        {
            var owner = await factory.SignUpAsync(); // a fresh tenant: both saves create its first wizard rows
            var responses = await Concurrently.PairAsync(
                () => owner.Client.PatchAsJsonAsync("/api/v1/onboarding", new { persona = new { persona = $"Paul {i}" } }),
                () => owner.Client.PatchAsJsonAsync("/api/v1/onboarding", new { persona = new { tone = "warm" } }));

            AssertNoServerError(responses, HttpStatusCode.OK);
        }
    }

    [Fact]
    public async Task TwoConcurrentAssistantChangesNeverGiveA500AndTheLastChangeIsQueued()
    {
        var owner = await factory.SignUpAsync();
        var created = await owner.Client.PostAsJsonAsync("/api/v1/assistants", new { name = "race" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var id = (await created.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();
        var errorsBefore = ErrorLines().Length;

        for (var i = 0; i < Pairs; i++)
        {
            var responses = await Concurrently.PairAsync(
                () => owner.Client.PatchAsJsonAsync($"/api/v1/assistants/{id}", new { name = $"race-a-{i}" }),
                () => owner.Client.PatchAsJsonAsync($"/api/v1/assistants/{id}", new { name = $"race-b-{i}" }));

            AssertNoServerError(responses, HttpStatusCode.OK);
        }

        var assistantId = Guid.Parse(id);
        var (version, queued) = await factory.WithDbAsync(owner.TenantId, async db =>
        {
            var assistant = await db.Assistants.AsNoTracking().SingleAsync(a => a.Id == assistantId);
            var keys = await db.Outbox.AsNoTracking().Where(o => o.Kind == VapiAssistantSyncHandler.Kind && o.TenantId == owner.TenantId)
                .Select(o => o.DedupeKey).ToListAsync();
            return (assistant.Version, keys);
        });
        Assert.Contains($"{assistantId:N}:v{version}", queued); // the latest version has its sync message
        Assert.Equal(errorsBefore, ErrorLines().Length);
    }
}
