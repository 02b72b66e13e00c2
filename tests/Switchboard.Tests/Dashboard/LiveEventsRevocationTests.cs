using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Dashboard;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Dashboard;

/// <summary>
/// Revoking access ends the live-event streams it authorised at once (an access-revoked signal through the live-event
/// transport), not at the next ping: pings here come every 300 s of a clock that does not move, so only the signal can end
/// a stream within the tests' bound. Before, a logout, a revoked key or a removed member kept receiving the tenant's calls,
/// callers' numbers and transcripts until the next ping (15 s).
/// </summary>
[Trait("Category", "Database")]
public sealed class LiveEventsRevocationTests : IClassFixture<LiveEventsRevocationTests.Factory>
{
    /// <summary>Pings (and their re-check) every 300 s of the factory's clock, which stands still: never, in these tests.</summary>
    public sealed class Factory : SelfServiceFactory
    {
        protected override IDictionary<string, string?> MoreSettings => new Dictionary<string, string?>
        {
            ["Switchboard:Dashboard:PingSeconds"] = "300",
        };
    }

    /// <summary>How long a revoked stream may stay open: a few seconds, far below the ping interval.</summary>
    internal static readonly TimeSpan Bound = TimeSpan.FromSeconds(5);

    private readonly Factory factory;

    public LiveEventsRevocationTests(Factory factory) => this.factory = factory;

    [Fact]
    public async Task LogoutEndsTheStreamAtOnce()
    {
        var owner = await factory.SignUpAsync();
        await using var stream = await OpenAsync(owner.Client);

        Assert.Equal(HttpStatusCode.NoContent, (await owner.Client.PostAsync("/api/v1/auth/logout", null)).StatusCode);

        await EndsAsync(stream);
        Assert.Equal(HttpStatusCode.Unauthorized, (await owner.Client.GetAsync("/api/v1/events")).StatusCode); // the dashboard's reconnect
    }

    [Fact]
    public async Task RevokingAKeyEndsItsStreamAtOnce()
    {
        var owner = await factory.SignUpAsync();
        await factory.SetPlanAsync(owner.TenantId, "pro"); // API access
        var (keyId, key) = await CreateKeyAsync(owner.Client, "revoked");
        var (rotatedId, rotated) = await CreateKeyAsync(owner.Client, "rotated");
        await using var stream = await OpenAsync(KeyClient(factory, key));
        await using var rotatedStream = await OpenAsync(KeyClient(factory, rotated));

        Assert.Equal(HttpStatusCode.NoContent, (await owner.Client.DeleteAsync($"/api/v1/keys/{keyId}")).StatusCode);

        await EndsAsync(stream);
        Assert.Equal(HttpStatusCode.Unauthorized, (await KeyClient(factory, key).GetAsync("/api/v1/events")).StatusCode);

        // A rotation without grace revokes the old key now: its stream ends too.
        var rotation = await owner.Client.PostAsJsonAsync($"/api/v1/keys/{rotatedId}/rotate", new { graceHours = 0 });
        Assert.Equal(HttpStatusCode.Created, rotation.StatusCode);
        await EndsAsync(rotatedStream);
    }

    [Fact]
    public async Task RemovedMembersStreamEndsAtOnce()
    {
        var owner = await factory.SignUpAsync();
        var (member, memberId) = await JoinAsync(factory, owner.Client);
        await using var stream = await OpenAsync(member);

        Assert.Equal(HttpStatusCode.NoContent, (await owner.Client.DeleteAsync($"/api/v1/team/members/{memberId}")).StatusCode);

        await EndsAsync(stream);
        // The session is still valid (for other tenants) but no longer for this one: refused, as after the ping's re-check.
        Assert.Equal(HttpStatusCode.Forbidden, (await member.GetAsync("/api/v1/events")).StatusCode);
    }

    [Fact]
    public async Task APasswordResetEndsTheStreamsOfEverySessionOfTheUser()
    {
        var owner = await factory.SignUpAsync();
        var elsewhere = await factory.LoginAsync(owner.Email, owner.Password);
        await using var stream = await OpenAsync(owner.Client);
        await using var other = await OpenAsync(elsewhere.Client);
        var anonymous = factory.CookieClient();
        Assert.Equal(HttpStatusCode.Accepted, (await anonymous.PostAsJsonAsync("/api/v1/auth/password-reset", new { email = owner.Email })).StatusCode);
        var token = await factory.WithDbAsync(null, async db =>
        {
            var mail = (await db.EmailMessages.IgnoreQueryFilters().AsNoTracking()
                .Where(e => e.To == owner.Email && e.Purpose == Switchboard.Email.EmailPurpose.PasswordReset).ToListAsync()).OrderBy(e => e.CreatedAt).Last();
            return Uri.UnescapeDataString(Regex.Match(mail.TextBody, @"/reset-password\?token=(\S+)").Groups[1].Value);
        });

        var done = await anonymous.PostAsJsonAsync("/api/v1/auth/password-reset/confirm", new { token, password = "a completely new password" });
        Assert.Equal(HttpStatusCode.NoContent, done.StatusCode);

        await EndsAsync(stream);
        await EndsAsync(other);
    }

    [Fact]
    public async Task ErasingTheTenantEndsAllItsStreams()
    {
        var owner = await factory.SignUpAsync(organisation: "Effacée Inc");
        await factory.SetPlanAsync(owner.TenantId, "pro");
        var (_, key) = await CreateKeyAsync(owner.Client, "erased");
        await using var byKey = await OpenAsync(KeyClient(factory, key));
        var bystander = await factory.SignUpAsync(organisation: "Still Here");
        await using var theirs = await OpenAsync(bystander.Client);

        var erased = await owner.Client.PostAsJsonAsync("/api/v1/tenant/erase", new { confirm = "Effacée Inc" });
        Assert.Equal(HttpStatusCode.OK, erased.StatusCode);

        await EndsAsync(byKey);
        await PublishAsync(factory, bystander.TenantId, "still here");
        await ReceivesAsync(theirs, "still here");
    }

    /// <summary>
    /// A revocation ends the streams of what it names and no other: another key, another member, another session of the same
    /// user keep their streams, and those go on receiving events, the signal never among them.
    /// </summary>
    [Fact]
    public async Task RevokingAnotherKeyMemberOrSessionLeavesTheStreamOpenAndDelivering()
    {
        var owner = await factory.SignUpAsync();
        await factory.SetPlanAsync(owner.TenantId, "pro");
        var (_, key) = await CreateKeyAsync(owner.Client, "kept");
        var (otherKeyId, _) = await CreateKeyAsync(owner.Client, "revoked");
        var (member, _) = await JoinAsync(factory, owner.Client);
        var (_, otherMemberId) = await JoinAsync(factory, owner.Client);
        var otherSession = await factory.LoginAsync(owner.Email, owner.Password);
        await using var byKey = await OpenAsync(KeyClient(factory, key));
        await using var byMember = await OpenAsync(member);
        await using var byOwner = await OpenAsync(owner.Client);

        Assert.Equal(HttpStatusCode.NoContent, (await owner.Client.DeleteAsync($"/api/v1/keys/{otherKeyId}")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await owner.Client.DeleteAsync($"/api/v1/team/members/{otherMemberId}")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await otherSession.Client.PostAsync("/api/v1/auth/logout", null)).StatusCode);
        await PublishAsync(factory, owner.TenantId, "after the revocations");

        // Each stream's very next event is the one published after the revocations: nothing ended it, nothing came before it.
        await ReceivesAsync(byKey, "after the revocations");
        await ReceivesAsync(byMember, "after the revocations");
        await ReceivesAsync(byOwner, "after the revocations");
    }

    /// <summary>Opens the stream and reads its first ping: from then on the stream is subscribed (and indexed by principal).</summary>
    internal static async Task<SseStream> OpenAsync(HttpClient client)
    {
        var stream = await SseStream.OpenAsync(client);
        Assert.Equal("ping", (await stream.NextAsync(Bound))!.Type);
        return stream;
    }

    /// <summary>Asserts the server ends the stream within <see cref="Bound"/>, with no event before the end (no ping can come).</summary>
    internal static async Task EndsAsync(SseStream stream)
    {
        var next = await stream.NextAsync(Bound); // throws TimeoutException when the stream is still open at the bound
        Assert.True(next is null, $"expected the end of the stream, got {next?.Type} {next?.Data}");
    }

    /// <summary>Asserts the stream's next event is the lead update <see cref="PublishAsync"/> sent with <paramref name="note"/>.</summary>
    internal static async Task ReceivesAsync(SseStream stream, string note)
    {
        var next = await stream.NextAsync(Bound);
        Assert.NotNull(next);
        Assert.Equal(LiveEventTypes.LeadUpdated, next.Type);
        Assert.Equal(note, next.Json["note"]!.GetValue<string>());
    }

    internal static Task PublishAsync(SwitchboardFactory node, Guid tenantId, string note) =>
        node.Services.GetRequiredService<ILiveEventTransport>().PublishAsync(
            [new LiveEventDraft(tenantId, LiveEventTypes.LeadUpdated, System.Text.Json.JsonSerializer.Serialize(new { note }), null)]);

    internal static async Task<(Guid Id, string Key)> CreateKeyAsync(HttpClient owner, string name)
    {
        var created = await (await owner.PostAsJsonAsync("/api/v1/keys", new { name })).JsonAsync(HttpStatusCode.Created);
        return (created["apiKey"]!["id"]!.GetValue<Guid>(), created["key"]!.GetValue<string>());
    }

    internal static HttpClient KeyClient(SwitchboardFactory node, string key)
    {
        var client = node.CreateClient();
        client.DefaultRequestHeaders.Authorization = Http.Bearer(key);
        return client;
    }

    /// <summary>Invites a new member and accepts: their signed-in client (cookie jar, CSRF header) and user id.</summary>
    private static async Task<(HttpClient Client, Guid UserId)> JoinAsync(SelfServiceFactory node, HttpClient owner)
    {
        var email = $"member-{Guid.NewGuid():N}@example.test";
        var token = await node.InviteAsync(owner, email, "member");
        var member = node.CookieClient();
        var accepted = await (await member.PostAsJsonAsync("/api/v1/auth/invitations/accept", new { token, password = "stream watched by a member 9" }))
            .JsonAsync(HttpStatusCode.OK);
        member.DefaultRequestHeaders.Add("X-CSRF-Token", accepted["csrfToken"]!.GetValue<string>());
        return (member, accepted["user"]!["id"]!.GetValue<Guid>());
    }
}

/// <summary>
/// Three hosts on one PostgreSQL database (as three nodes behind a load balancer; on SQLite, one process by design, the same
/// test runs on one node): a revocation made through node A ends the streams it authorised on nodes B and C at once
/// (PostgreSQL <c>NOTIFY</c>), and no other stream.
/// </summary>
[Trait("Category", "Database")]
public sealed class LiveEventsRevocationAcrossNodesTests : IDisposable
{
    private readonly LiveEventsRevocationTests.Factory nodeA = new();
    private readonly LiveEventsRevocationTests.Factory nodeB;
    private readonly LiveEventsRevocationTests.Factory nodeC;

    public LiveEventsRevocationAcrossNodesTests()
    {
        _ = nodeA.Services; // node A migrates before the others start
        nodeB = TestDatabase.IsPostgres ? new LiveEventsRevocationTests.Factory { Twin = nodeA } : nodeA;
        nodeC = TestDatabase.IsPostgres ? new LiveEventsRevocationTests.Factory { Twin = nodeA } : nodeA;
    }

    public void Dispose()
    {
        foreach (var node in new[] { nodeC, nodeB }.Where(n => !ReferenceEquals(n, nodeA)))
        {
            node.Dispose();
        }
        nodeA.Dispose();
    }

    [Fact]
    public async Task ARevocationThroughNodeAEndsItsStreamsOnNodesBAndC()
    {
        var owner = await SignUpAsync(nodeA);
        var ownerOnA = On(nodeA, owner.Cookie, owner.Csrf);
        await nodeA.SetPlanAsync(owner.TenantId, "pro");
        var (keyId, key) = await LiveEventsRevocationTests.CreateKeyAsync(ownerOnA, "revoked");
        var (_, otherKey) = await LiveEventsRevocationTests.CreateKeyAsync(ownerOnA, "kept");
        var memberEmail = $"member-{Guid.NewGuid():N}@example.test";
        var token = await nodeA.InviteAsync(ownerOnA, memberEmail, "member");
        var (memberCookie, memberCsrf, memberId) = await AcceptAsync(nodeA, token);

        await using var keyOnB = await LiveEventsRevocationTests.OpenAsync(LiveEventsRevocationTests.KeyClient(nodeB, key));
        await using var keyOnC = await LiveEventsRevocationTests.OpenAsync(LiveEventsRevocationTests.KeyClient(nodeC, key));
        await using var memberOnB = await LiveEventsRevocationTests.OpenAsync(On(nodeB, memberCookie, memberCsrf));
        await using var memberOnC = await LiveEventsRevocationTests.OpenAsync(On(nodeC, memberCookie, memberCsrf));
        await using var ownerOnB = await LiveEventsRevocationTests.OpenAsync(On(nodeB, owner.Cookie, owner.Csrf));
        await using var keptOnC = await LiveEventsRevocationTests.OpenAsync(LiveEventsRevocationTests.KeyClient(nodeC, otherKey));

        Assert.Equal(HttpStatusCode.NoContent, (await ownerOnA.DeleteAsync($"/api/v1/keys/{keyId}")).StatusCode);
        await LiveEventsRevocationTests.EndsAsync(keyOnB);
        await LiveEventsRevocationTests.EndsAsync(keyOnC);

        Assert.Equal(HttpStatusCode.NoContent, (await ownerOnA.DeleteAsync($"/api/v1/team/members/{memberId}")).StatusCode);
        await LiveEventsRevocationTests.EndsAsync(memberOnB);
        await LiveEventsRevocationTests.EndsAsync(memberOnC);

        Assert.Equal(HttpStatusCode.NoContent, (await ownerOnA.PostAsync("/api/v1/auth/logout", null)).StatusCode);
        await LiveEventsRevocationTests.EndsAsync(ownerOnB);

        // What nothing revoked still streams, whichever node publishes; and each reconnect of the others is refused.
        await LiveEventsRevocationTests.PublishAsync(nodeB, owner.TenantId, "still streaming");
        await LiveEventsRevocationTests.ReceivesAsync(keptOnC, "still streaming");
        Assert.Equal(HttpStatusCode.Unauthorized, (await LiveEventsRevocationTests.KeyClient(nodeB, key).GetAsync("/api/v1/events")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await On(nodeC, memberCookie, memberCsrf).GetAsync("/api/v1/events")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await On(nodeB, owner.Cookie, owner.Csrf).GetAsync("/api/v1/events")).StatusCode);
    }

    /// <summary>A client of <paramref name="node"/> that sends a session cookie taken on another node (no cookie jar).</summary>
    private static HttpClient On(SwitchboardFactory node, string cookie, string csrf)
    {
        var client = node.CreateClient(new WebApplicationFactoryClientOptions { BaseAddress = new Uri("https://localhost"), HandleCookies = false });
        client.DefaultRequestHeaders.Add("Cookie", cookie);
        client.DefaultRequestHeaders.Add("X-CSRF-Token", csrf);
        return client;
    }

    private static string Cookies(HttpResponseMessage response) =>
        string.Join("; ", response.Headers.GetValues("Set-Cookie").Select(c => c.Split(';')[0]));

    private static async Task<(string Cookie, string Csrf, Guid TenantId)> SignUpAsync(SwitchboardFactory node)
    {
        using var client = node.CreateClient(new WebApplicationFactoryClientOptions { BaseAddress = new Uri("https://localhost"), HandleCookies = false });
        var response = await client.PostAsJsonAsync("/api/v1/auth/signup",
            new { email = $"owner-{Guid.NewGuid():N}@example.test", password = "correct horse battery", organisation = "Plomberie Trois Nœuds", fullName = "Test Owner" });
        var body = await response.JsonAsync(HttpStatusCode.Created);
        return (Cookies(response), body["csrfToken"]!.GetValue<string>(), body["tenant"]!["id"]!.GetValue<Guid>());
    }

    private static async Task<(string Cookie, string Csrf, Guid UserId)> AcceptAsync(SwitchboardFactory node, string token)
    {
        using var client = node.CreateClient(new WebApplicationFactoryClientOptions { BaseAddress = new Uri("https://localhost"), HandleCookies = false });
        var response = await client.PostAsJsonAsync("/api/v1/auth/invitations/accept", new { token, password = "stream watched by a member 9" });
        var body = await response.JsonAsync(HttpStatusCode.OK);
        return (Cookies(response), body["csrfToken"]!.GetValue<string>(), body["user"]!["id"]!.GetValue<Guid>());
    }
}
