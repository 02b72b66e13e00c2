using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Switchboard.Tests.Support;
using Switchboard.Tests.Vapi;

namespace Switchboard.Tests.Platform;

/// <summary>
/// The DELETE routes <see cref="DeleteRaceTests"/> left out (credentials, the Twilio shared key, numbers, assistants), and a
/// change sent while its resource is deleted. Two identical DELETEs at once must leave what the same two in sequence leave:
/// one acts (its usual answer, one audit entry, one provider call), the other answers the route's 404; a change that loses
/// to the DELETE answers 404 or its usual answer, never a 409 or a 500, and never brings the row back. Before the fix the
/// losing DELETE answered 409 <c>CONFLICT</c> (its save deleted a row that was gone, or queued the winner's outbox message
/// again), and so did a PATCH or PUT whose row was deleted between its read and its save; a knowledge reindex whose document
/// was deleted meanwhile answered 500 (its new chunks named a document that was gone).
/// </summary>
[Trait("Category", "Database")]
public sealed class MoreDeleteRaceTests(SelfServiceFactory factory) : IClassFixture<SelfServiceFactory>
{
    private const int Rounds = 8;
    private static int next = 7000;

    private static string NewNumber() => "+1438555" + Interlocked.Increment(ref next).ToString("D4");

    private Task<int> AuditCountAsync(Guid tenantId, string action, string target) =>
        factory.WithDbAsync(null, db => db.AuditLog.IgnoreQueryFilters().CountAsync(a => a.TenantId == tenantId && a.Action == action && a.Target == target));

    private static async Task AssertStatusAsync(HttpResponseMessage response, params HttpStatusCode[] allowed) =>
        Assert.True(allowed.Contains(response.StatusCode), $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");

    private async Task<SignedIn> TelephonyTenantAsync()
    {
        var owner = await factory.SignUpAsync();
        await factory.SetPlanAsync(owner.TenantId, "telephony");
        await (await owner.Client.PutAsJsonAsync("/api/v1/credentials/twilio",
            new { accountSid = TwilioNumbersSimulator.AccountSid, authToken = TwilioNumbersSimulator.AuthToken })).JsonAsync(HttpStatusCode.OK);
        await (await owner.Client.PutAsJsonAsync("/api/v1/credentials/vapi", new { apiKey = VapiSimulator.PrivateKey })).JsonAsync(HttpStatusCode.OK);
        return owner;
    }

    private async Task<(SignedIn Owner, Guid Id, string VapiId)> SyncedAssistantAsync(SignedIn? owner = null, string name = "Race")
    {
        if (owner is null)
        {
            owner = await factory.SignUpAsync();
            await factory.SetPlanAsync(owner.TenantId, "pro");
            await (await owner.Client.PutAsJsonAsync("/api/v1/credentials/vapi", new { apiKey = VapiSimulator.PrivateKey })).JsonAsync(HttpStatusCode.OK);
        }
        var created = await (await owner.Client.PostAsJsonAsync("/api/v1/assistants", new { name })).JsonAsync(HttpStatusCode.Created);
        var id = Guid.Parse(created["id"]!.GetValue<string>());
        await factory.Outbox.DrainAsync(CancellationToken.None);
        var vapiId = (await owner.Client.GetFromJsonAsync<JsonObject>($"/api/v1/assistants/{id}"))!["vapiAssistantId"]!.GetValue<string>();
        return (owner, id, vapiId);
    }

    private object CredentialBody(string provider, int i) => provider switch
    {
        "vapi" => new { apiKey = $"vapi-delete-race-{i:D4}" },
        "openai" => new { apiKey = $"sk-delete-race-{i:D4}-0123456789", baseUrl = "http://127.0.0.1:9/v1" },
        _ => new { accountSid = TwilioNumbersSimulator.AccountSid, authToken = $"twilio-delete-race-{i:D4}" },
    };

    [Theory]
    [InlineData("vapi")]
    [InlineData("twilio")]
    [InlineData("openai")]
    public async Task TwoDeletesOfOneCredentialAtOnceDeleteItOnce(string provider)
    {
        var owner = await factory.SignUpAsync();
        for (var i = 0; i < Rounds; i++)
        {
            await (await owner.Client.PutAsJsonAsync($"/api/v1/credentials/{provider}", CredentialBody(provider, i))).JsonAsync(HttpStatusCode.OK);
            if (provider == "twilio")
            {
                await (await owner.Client.PutAsJsonAsync("/api/v1/credentials/twilio/signing-key", new { secret = $"shared-key-secret-{i:D4}" })).JsonAsync(HttpStatusCode.OK);
            }

            var responses = await Concurrently.PairAsync(
                () => owner.Client.DeleteAsync($"/api/v1/credentials/{provider}"), () => owner.Client.DeleteAsync($"/api/v1/credentials/{provider}"));

            await DeleteRaceTests.AssertOnceAsync(responses, "CREDENTIAL_NOT_FOUND");
            Assert.Equal(i + 1, await AuditCountAsync(owner.TenantId, "credentials.deleted", provider));
            var left = await owner.Client.GetFromJsonAsync<JsonArray>("/api/v1/credentials");
            Assert.DoesNotContain(left!, c => c!["provider"]!.GetValue<string>() == provider && c["configured"]!.GetValue<bool>());
            Assert.Equal(0, await factory.WithDbAsync(owner.TenantId, db => db.ProviderCredentials.CountAsync(c => c.Provider.StartsWith(provider))));
            if (provider == "twilio")
            {
                var tenant = await factory.WithDbAsync(null, db => db.Tenants.IgnoreQueryFilters().Where(t => t.Id == owner.TenantId)
                    .Select(t => new { t.TwilioAccountSid, t.TwilioAuthTokenProtected }).SingleAsync());
                Assert.Null(tenant.TwilioAccountSid);
                Assert.Null(tenant.TwilioAuthTokenProtected);
            }
        }
    }

    [Fact]
    public async Task TwoDeletesOfTheTwilioSharedKeyAtOnceDeleteItOnce()
    {
        var owner = await factory.SignUpAsync();
        for (var i = 0; i < Rounds; i++)
        {
            await (await owner.Client.PutAsJsonAsync("/api/v1/credentials/twilio/signing-key", new { secret = $"shared-key-secret-{i:D4}", keyId = "HK-race" }))
                .JsonAsync(HttpStatusCode.OK);

            var responses = await Concurrently.PairAsync(
                () => owner.Client.DeleteAsync("/api/v1/credentials/twilio/signing-key"), () => owner.Client.DeleteAsync("/api/v1/credentials/twilio/signing-key"));

            await DeleteRaceTests.AssertOnceAsync(responses, "CREDENTIAL_NOT_FOUND");
            Assert.Equal(i + 1, await AuditCountAsync(owner.TenantId, "credentials.deleted", "twilio-signing"));
            Assert.Equal(HttpStatusCode.NotFound, (await owner.Client.GetAsync("/api/v1/credentials/twilio/signing-key")).StatusCode);
        }
    }

    [Fact]
    public async Task SettingACredentialWhileItIsDeletedIsNeverAConflictOrA500()
    {
        var owner = await factory.SignUpAsync();
        for (var i = 0; i < Rounds * 2; i++)
        {
            var provider = i % 2 == 0 ? "vapi" : "twilio/signing-key";
            var body = i % 2 == 0 ? CredentialBody("vapi", i) : new { secret = $"shared-key-secret-{i:D4}" };
            await (await owner.Client.PutAsJsonAsync($"/api/v1/credentials/{provider}", body)).JsonAsync(HttpStatusCode.OK);

            var responses = await Concurrently.PairAsync(
                () => owner.Client.PutAsJsonAsync($"/api/v1/credentials/{provider}", body), () => owner.Client.DeleteAsync($"/api/v1/credentials/{provider}"));

            // In either order the PUT stores the key (200), and the DELETE removes what is there (204) or finds nothing (404).
            await AssertStatusAsync(responses[0], HttpStatusCode.OK);
            await AssertStatusAsync(responses[1], HttpStatusCode.NoContent, HttpStatusCode.NotFound);
            await owner.Client.DeleteAsync($"/api/v1/credentials/{provider}");
        }
    }

    [Fact]
    public async Task TwoDetachesOfOneNumberAtOnceDetachItOnceAtTheProvider()
    {
        var owner = await TelephonyTenantAsync();
        for (var i = 0; i < Rounds; i++)
        {
            var e164 = NewNumber();
            var owned = factory.Twilio.Own(e164);
            var mode = i % 2 == 0 ? "twilio" : "vapi";
            var attached = await (await owner.Client.PostAsJsonAsync("/api/v1/numbers", new { number = e164, mode })).JsonAsync(HttpStatusCode.Accepted);
            var id = Guid.Parse(attached["id"]!.GetValue<string>());
            await factory.Outbox.DrainAsync(CancellationToken.None);
            var number = (await owner.Client.GetFromJsonAsync<JsonObject>($"/api/v1/numbers/{id}"))!;
            Assert.Equal("active", number["status"]!.GetValue<string>());
            var vapiId = number["vapiPhoneNumberId"]?.GetValue<string>();
            int TwilioClears() => factory.Twilio.Requests.Count(r => r.StartsWith("POST ", StringComparison.Ordinal) && r.Contains(owned.Sid, StringComparison.Ordinal));
            int VapiDeletes() => factory.Vapi.Requests.Count(r => r.Method == "DELETE" && r.Path == "/phone-number/" + vapiId);
            var (twilioBefore, vapiBefore) = (TwilioClears(), VapiDeletes());

            var responses = await Concurrently.PairAsync(() => owner.Client.DeleteAsync($"/api/v1/numbers/{id}"), () => owner.Client.DeleteAsync($"/api/v1/numbers/{id}"));
            await factory.Outbox.DrainAsync(CancellationToken.None);

            // As in sequence: 202 (the provider is changed through the outbox), then 404; one audit entry, one provider call.
            var ordered = responses.OrderBy(r => (int)r.StatusCode).ToArray();
            await AssertStatusAsync(ordered[0], HttpStatusCode.Accepted);
            await AssertStatusAsync(ordered[1], HttpStatusCode.NotFound);
            Assert.Equal("NUMBER_NOT_FOUND", (await VapiWebhookTests.ErrorOf(ordered[1]))["code"]!.GetValue<string>());
            Assert.Equal(1, await AuditCountAsync(owner.TenantId, "number.detached", "number:" + id));
            Assert.Equal(0, await factory.WithDbAsync(owner.TenantId, db => db.PhoneNumbers.CountAsync(n => n.Id == id)));
            if (mode == "twilio")
            {
                Assert.Equal(1, TwilioClears() - twilioBefore);
                Assert.Equal("", owned.VoiceUrl);
            }
            else
            {
                Assert.NotNull(vapiId);
                Assert.Equal(1, VapiDeletes() - vapiBefore);
                Assert.False(factory.Vapi.PhoneNumbers.ContainsKey(vapiId!));
            }
        }
    }

    [Fact]
    public async Task ChangingANumberWhileItIsDetachedIsNeverA500AndDoesNotBringItBack()
    {
        var owner = await TelephonyTenantAsync();
        for (var i = 0; i < Rounds; i++)
        {
            var e164 = NewNumber();
            factory.Twilio.Own(e164);
            var attached = await (await owner.Client.PostAsJsonAsync("/api/v1/numbers", new { number = e164, mode = "twilio" })).JsonAsync(HttpStatusCode.Accepted);
            var id = attached["id"]!.GetValue<string>();

            var responses = await Concurrently.PairAsync(
                () => owner.Client.PatchAsJsonAsync($"/api/v1/numbers/{id}", new { afterHours = new { action = "voicemail", message = $"Round {i}" } }),
                () => owner.Client.DeleteAsync($"/api/v1/numbers/{id}"));

            await AssertStatusAsync(responses[1], HttpStatusCode.Accepted);
            await AssertStatusAsync(responses[0], HttpStatusCode.OK, HttpStatusCode.NotFound);
            if (responses[0].StatusCode == HttpStatusCode.NotFound)
            {
                Assert.Equal("NUMBER_NOT_FOUND", (await VapiWebhookTests.ErrorOf(responses[0]))["code"]!.GetValue<string>());
            }
            Assert.Equal(HttpStatusCode.NotFound, (await owner.Client.GetAsync($"/api/v1/numbers/{id}")).StatusCode);
            await factory.Outbox.DrainAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task TwoDeletesOfOneAssistantAtOnceDeleteItOnceAtVapi()
    {
        SignedIn? owner = null;
        for (var i = 0; i < Rounds; i++)
        {
            (owner, var id, var vapiId) = await SyncedAssistantAsync(owner, $"Race {i}");
            int VapiDeletes() => factory.Vapi.Requests.Count(r => r.Method == "DELETE" && r.Path == "/assistant/" + vapiId);

            var responses = await Concurrently.PairAsync(() => owner.Client.DeleteAsync($"/api/v1/assistants/{id}"), () => owner.Client.DeleteAsync($"/api/v1/assistants/{id}"));
            await factory.Outbox.DrainAsync(CancellationToken.None);

            await DeleteRaceTests.AssertOnceAsync(responses, "ASSISTANT_NOT_FOUND");
            Assert.Equal(1, await AuditCountAsync(owner.TenantId, "assistant.deleted", "assistant:" + id));
            Assert.Equal(1, VapiDeletes());
            Assert.False(factory.Vapi.Assistants.ContainsKey(vapiId));
            Assert.Equal(0, await factory.WithDbAsync(owner.TenantId, db => db.Assistants.CountAsync(a => a.Id == id)));
        }
    }

    [Fact]
    public async Task RenamingAnAssistantWhileItIsDeletedIsNeverA500AndDoesNotBringItBack()
    {
        SignedIn? owner = null;
        for (var i = 0; i < Rounds; i++)
        {
            (owner, var id, var vapiId) = await SyncedAssistantAsync(owner, $"Rename {i}");

            var responses = await Concurrently.PairAsync(
                () => owner.Client.PatchAsJsonAsync($"/api/v1/assistants/{id}", new { name = $"Renamed {i}" }), () => owner.Client.DeleteAsync($"/api/v1/assistants/{id}"));
            await factory.Outbox.DrainAsync(CancellationToken.None);

            await AssertStatusAsync(responses[1], HttpStatusCode.NoContent);
            await AssertStatusAsync(responses[0], HttpStatusCode.OK, HttpStatusCode.NotFound);
            if (responses[0].StatusCode == HttpStatusCode.NotFound)
            {
                Assert.Equal("ASSISTANT_NOT_FOUND", (await VapiWebhookTests.ErrorOf(responses[0]))["code"]!.GetValue<string>());
            }
            Assert.Equal(HttpStatusCode.NotFound, (await owner.Client.GetAsync($"/api/v1/assistants/{id}")).StatusCode);
            Assert.DoesNotContain(factory.Vapi.Assistants.Values, a => a["metadata"]?["switchboardAssistantId"]?.GetValue<string>() == id.ToString());
            Assert.False(factory.Vapi.Assistants.ContainsKey(vapiId));
        }
    }

    [Fact]
    public async Task TwoDeletesOfOneKnowledgeDocumentAtOnceLeaveNoChunks()
    {
        var owner = await factory.SignUpAsync();
        for (var i = 0; i < Rounds; i++)
        {
            var created = await (await owner.Client.PostAsJsonAsync("/api/v1/knowledge", new { type = "text", title = $"Chunks {i}", content = $"Round {i}. Open from 8 to 5, closed on Sundays." }))
                .JsonAsync(HttpStatusCode.Created);
            var id = Guid.Parse(created["id"]!.GetValue<string>());
            Assert.True(await factory.WithDbAsync(owner.TenantId, db => db.KnowledgeChunks.CountAsync(c => c.DocumentId == id)) > 0);

            var responses = await Concurrently.PairAsync(() => owner.Client.DeleteAsync($"/api/v1/knowledge/{id}"), () => owner.Client.DeleteAsync($"/api/v1/knowledge/{id}"));

            await DeleteRaceTests.AssertOnceAsync(responses, "DOCUMENT_NOT_FOUND");
            Assert.Equal(0, await factory.WithDbAsync(owner.TenantId, db => db.KnowledgeChunks.CountAsync(c => c.DocumentId == id)));
            Assert.Equal(0, await factory.WithDbAsync(owner.TenantId, db => db.KnowledgeDocuments.CountAsync(d => d.Id == id)));
        }
    }

    [Fact]
    public async Task ReindexingAKnowledgeDocumentWhileItIsDeletedIsNeverA500AndDoesNotBringItBack()
    {
        var owner = await factory.SignUpAsync();
        for (var i = 0; i < Rounds; i++)
        {
            var created = await (await owner.Client.PostAsJsonAsync("/api/v1/knowledge", new { type = "text", title = $"Reindex {i}", content = $"Round {i}. Open from 8 to 5." }))
                .JsonAsync(HttpStatusCode.Created);
            var id = Guid.Parse(created["id"]!.GetValue<string>());

            var responses = await Concurrently.PairAsync(
                () => owner.Client.PostAsync($"/api/v1/knowledge/{id}/reindex", null), () => owner.Client.DeleteAsync($"/api/v1/knowledge/{id}"));

            await AssertStatusAsync(responses[1], HttpStatusCode.NoContent);
            await AssertStatusAsync(responses[0], HttpStatusCode.OK, HttpStatusCode.NotFound);
            Assert.Equal(0, await factory.WithDbAsync(owner.TenantId, db => db.KnowledgeChunks.CountAsync(c => c.DocumentId == id)));
            Assert.Equal(HttpStatusCode.NotFound, (await owner.Client.GetAsync($"/api/v1/knowledge/{id}")).StatusCode);
        }
    }
}
