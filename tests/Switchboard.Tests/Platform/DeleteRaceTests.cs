using System.Net;
using System.Net.Http.Json;
using Microsoft.EntityFrameworkCore;
using Switchboard.Tests.Support;
using Switchboard.Tests.Vapi;

namespace Switchboard.Tests.Platform;

/// <summary>
/// Two DELETEs (or revocations) of one thing sent at the same moment must leave what the same two requests in sequence
/// leave: the thing deleted or revoked once, one audit entry, and the answers the sequence gives. A revocation that
/// read the row before the other's save used to act twice: two 204s and two audit entries for one revocation.
/// </summary>
[Trait("Category", "Database")]
public sealed class DeleteRaceTests(SelfServiceFactory factory) : IClassFixture<SelfServiceFactory>
{
    private const int Rounds = 10;

    private async Task<SignedIn> OwnerWithApiAccessAsync()
    {
        var owner = await factory.SignUpAsync();
        await factory.SetPlanAsync(owner.TenantId, "pro"); // API keys are a paid feature
        return owner;
    }

    private Task<int> AuditCountAsync(Guid tenantId, string action, string target) =>
        factory.WithDbAsync(null, db => db.AuditLog.IgnoreQueryFilters().CountAsync(a => a.TenantId == tenantId && a.Action == action && a.Target == target));

    [Fact]
    public async Task TwoRevocationsOfOneKeyAtOnceRevokeItOnce()
    {
        var owner = await OwnerWithApiAccessAsync();
        for (var i = 0; i < Rounds; i++)
        {
            var created = await (await owner.Client.PostAsJsonAsync("/api/v1/keys", new { name = $"race {i}" })).JsonAsync(HttpStatusCode.Created);
            var id = Guid.Parse(created["apiKey"]!["id"]!.GetValue<string>());

            var responses = await Concurrently.PairAsync(() => owner.Client.DeleteAsync($"/api/v1/keys/{id}"), () => owner.Client.DeleteAsync($"/api/v1/keys/{id}"));

            // In sequence, revoking a revoked key is a no-op that answers 204: the key is still listed, as revoked.
            Assert.All(responses, r => Assert.Equal(HttpStatusCode.NoContent, r.StatusCode));
            Assert.Equal(1, await AuditCountAsync(owner.TenantId, "keys.revoked", "key:" + id));
        }
    }

    [Fact]
    public async Task RevokingARevokedKeyAgainWritesNoSecondAuditEntryAndKeepsTheFirstTime()
    {
        var owner = await OwnerWithApiAccessAsync();
        var created = await (await owner.Client.PostAsJsonAsync("/api/v1/keys", new { name = "twice" })).JsonAsync(HttpStatusCode.Created);
        var id = Guid.Parse(created["apiKey"]!["id"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.NoContent, (await owner.Client.DeleteAsync($"/api/v1/keys/{id}")).StatusCode);
        var first = await factory.WithDbAsync(owner.TenantId, db => db.ApiKeys.Where(k => k.Id == id).Select(k => k.RevokedAt).SingleAsync());
        factory.Clock.Advance(TimeSpan.FromMinutes(5));

        Assert.Equal(HttpStatusCode.NoContent, (await owner.Client.DeleteAsync($"/api/v1/keys/{id}")).StatusCode);

        Assert.Equal(1, await AuditCountAsync(owner.TenantId, "keys.revoked", "key:" + id));
        Assert.Equal(first, await factory.WithDbAsync(owner.TenantId, db => db.ApiKeys.Where(k => k.Id == id).Select(k => k.RevokedAt).SingleAsync()));
    }

    [Fact]
    public async Task TwoRevocationsOfOneInvitationAtOnceRevokeItOnce()
    {
        var owner = await factory.SignUpAsync();
        for (var i = 0; i < Rounds; i++)
        {
            var created = await (await owner.Client.PostAsJsonAsync("/api/v1/team/invitations", new { email = $"race-{i}-{Guid.NewGuid():N}@example.test", role = "member" }))
                .JsonAsync(HttpStatusCode.Created);
            var id = Guid.Parse(created["id"]!.GetValue<string>());

            var responses = await Concurrently.PairAsync(
                () => owner.Client.DeleteAsync($"/api/v1/team/invitations/{id}"), () => owner.Client.DeleteAsync($"/api/v1/team/invitations/{id}"));

            Assert.All(responses, r => Assert.Equal(HttpStatusCode.NoContent, r.StatusCode));
            Assert.Equal(1, await AuditCountAsync(owner.TenantId, "team.invitation_revoked", "invitation:" + id));
        }
    }

    [Fact]
    public async Task TwoDeletesOfOneKnowledgeDocumentAtOnceDeleteItOnce()
    {
        var owner = await factory.SignUpAsync();
        for (var i = 0; i < Rounds; i++)
        {
            var created = await (await owner.Client.PostAsJsonAsync("/api/v1/knowledge", new { type = "text", title = $"Race {i}", content = "Open from 8 to 5." }))
                .JsonAsync(HttpStatusCode.Created);
            var id = Guid.Parse(created["id"]!.GetValue<string>());

            var responses = await Concurrently.PairAsync(() => owner.Client.DeleteAsync($"/api/v1/knowledge/{id}"), () => owner.Client.DeleteAsync($"/api/v1/knowledge/{id}"));

            await AssertOnceAsync(responses, "DOCUMENT_NOT_FOUND");
            Assert.Equal(1, await AuditCountAsync(owner.TenantId, "knowledge.document.deleted", "knowledge:" + id));
        }
    }

    [Fact]
    public async Task TwoRemovalsOfOneDoNotCallNumberAtOnceRemoveItOnce()
    {
        var owner = await factory.SignUpAsync();
        for (var i = 0; i < Rounds; i++)
        {
            var number = $"+1514555{i:D4}";
            await (await owner.Client.PostAsJsonAsync("/api/v1/dnc", new { number })).JsonAsync(HttpStatusCode.Created);
            var path = $"/api/v1/dnc/{Uri.EscapeDataString(number)}";

            var responses = await Concurrently.PairAsync(() => owner.Client.DeleteAsync(path), () => owner.Client.DeleteAsync(path));

            await AssertOnceAsync(responses, "NUMBER_NOT_LISTED");
            Assert.Equal(1, await AuditCountAsync(owner.TenantId, "dnc.removed", "number:" + number));
        }
    }

    /// <summary>One 204 and, as the second of two DELETEs in sequence answers, one 404 in the error envelope.</summary>
    internal static async Task AssertOnceAsync(HttpResponseMessage[] responses, string notFoundCode)
    {
        var ordered = responses.OrderBy(r => (int)r.StatusCode).ToArray();
        Assert.Equal(HttpStatusCode.NoContent, ordered[0].StatusCode);
        Assert.True(ordered[1].StatusCode == HttpStatusCode.NotFound, $"{(int)ordered[1].StatusCode} {await ordered[1].Content.ReadAsStringAsync()}");
        Assert.Equal(notFoundCode, (await VapiWebhookTests.ErrorOf(ordered[1]))["code"]!.GetValue<string>());
    }
}
