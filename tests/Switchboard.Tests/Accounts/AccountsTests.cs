using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Credentials;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Accounts;

[Trait("Category", "Database")]
public sealed class AccountsTests(SelfServiceFactory factory) : IClassFixture<SelfServiceFactory>
{
    [Fact]
    public async Task SignupCreatesTenantOwnerWebhookSecretAndSecureSessionCookie()
    {
        var client = factory.CookieClient();
        var email = $"Marie.{Guid.NewGuid():N}@Example.test";

        var response = await client.PostAsJsonAsync("/api/v1/auth/signup", new { email, password = "a long enough password", organisation = "Drain Test", fullName = "Marie" });

        var body = await response.JsonAsync(HttpStatusCode.Created);
        Assert.Equal(email.ToLowerInvariant(), body["user"]!["email"]!.GetValue<string>());
        Assert.Equal("owner", body["tenant"]!["role"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(body["csrfToken"]!.GetValue<string>()));
        var cookies = response.Headers.GetValues("Set-Cookie").ToList();
        var session = Assert.Single(cookies, c => c.StartsWith("sb_session=", StringComparison.Ordinal));
        Assert.Contains("httponly", session, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("secure", session, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=lax", session, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("expires=", session, StringComparison.OrdinalIgnoreCase);
        var csrfCookie = Assert.Single(cookies, c => c.StartsWith("sb_csrf=", StringComparison.Ordinal));
        Assert.DoesNotContain("httponly", csrfCookie, StringComparison.OrdinalIgnoreCase);

        var tenantId = Guid.Parse(body["tenant"]!["id"]!.GetValue<string>());
        var secret = await factory.WithDbAsync(null, db => db.Tenants.Where(t => t.Id == tenantId).Select(t => t.VapiWebhookSecretProtected).FirstAsync());
        Assert.NotNull(factory.Services.GetRequiredService<SecretProtector>().Unprotect(secret));
        var me = await (await client.GetAsync("/api/v1/auth/session")).JsonAsync(HttpStatusCode.OK);
        Assert.Equal(tenantId.ToString(), me["tenant"]!["id"]!.GetValue<string>());
        Assert.Equal("session", me["authenticatedBy"]!.GetValue<string>());
    }

    [Fact]
    public async Task SignupStartsTheOrganisationInTheBrowsersTimeZoneAndLocale()
    {
        var client = factory.CookieClient();
        var email = $"dentiste.{Guid.NewGuid():N}@example.test";
        var body = await (await client.PostAsJsonAsync("/api/v1/auth/signup", new
        {
            email,
            password = "a long enough password",
            organisation = "Clinique Dentaire Yonge",
            timeZone = "America/Toronto",
            locale = "en-CA",
        })).JsonAsync(HttpStatusCode.Created);

        var tenantId = Guid.Parse(body["tenant"]!["id"]!.GetValue<string>());
        var tenant = await factory.WithDbAsync(null, db => db.Tenants.Where(t => t.Id == tenantId).Select(t => new { t.TimeZone, t.Locale }).FirstAsync());
        Assert.Equal(("America/Toronto", "en-CA"), (tenant.TimeZone, tenant.Locale));
        // The wizard's profile and phone steps start from them.
        var onboarding = await (await client.GetAsync("/api/v1/onboarding")).JsonAsync(HttpStatusCode.OK);
        Assert.Equal("America/Toronto", onboarding["profile"]!["timeZone"]!.GetValue<string>());
        Assert.Equal("en-CA", onboarding["profile"]!["locale"]!.GetValue<string>());
        Assert.Equal("America/Toronto", onboarding["telephony"]!["timeZone"]!.GetValue<string>());

        // Without them, the defaults.
        var plain = await factory.SignUpAsync();
        var defaults = await factory.WithDbAsync(null, db => db.Tenants.Where(t => t.Id == plain.TenantId).Select(t => new { t.TimeZone, t.Locale }).FirstAsync());
        Assert.Equal(("UTC", "en-US"), (defaults.TimeZone, defaults.Locale));
    }

    [Theory]
    [InlineData("America/Toronto", "America/Toronto")]
    [InlineData("america/toronto", "America/Toronto")]
    [InlineData("America/Montreal", "America/Toronto")] // a backward-compatible link, stored as the zone it names
    [InlineData("US/Eastern", "America/New_York")]
    [InlineData("Etc/UTC", "UTC")]
    public async Task SignupStoresTheCanonicalIdOfALinkedTimeZone(string timeZone, string stored)
    {
        var body = await (await factory.CookieClient().PostAsJsonAsync("/api/v1/auth/signup", new
        {
            email = $"zone.{Guid.NewGuid():N}@example.test",
            password = "a long enough password",
            organisation = "Plomberie Fuseau",
            timeZone,
        })).JsonAsync(HttpStatusCode.Created);

        var tenantId = Guid.Parse(body["tenant"]!["id"]!.GetValue<string>());
        Assert.Equal(stored, await factory.WithDbAsync(null, db => db.Tenants.Where(t => t.Id == tenantId).Select(t => t.TimeZone).FirstAsync()));
    }

    [Theory]
    [InlineData("Mars/Olympus_Mons", null, "timeZone")]
    [InlineData("Eastern Standard Time", null, "timeZone")]
    [InlineData("right/America/Montreal", null, "timeZone")] // the leap-second copy: 27 s off civil time
    [InlineData("posix/America/Montreal", null, "timeZone")]
    [InlineData("SystemV/EST5EDT", null, "timeZone")]
    [InlineData("EST5EDT", null, "timeZone")]
    [InlineData(null, "not a locale", "locale")]
    [InlineData(null, "xx-QQ", "locale")]
    public async Task SignupWithAnUnknownTimeZoneOrLocaleIsRefusedAndCreatesNothing(string? timeZone, string? locale, string field)
    {
        var email = $"bogus.{Guid.NewGuid():N}@example.test";
        var response = await factory.CookieClient().PostAsJsonAsync("/api/v1/auth/signup", new
        {
            email,
            password = "a long enough password",
            organisation = "Bogus Zone Inc",
            timeZone,
            locale,
        });

        var error = (await response.JsonAsync(HttpStatusCode.UnprocessableEntity))["error"]!;
        Assert.Equal("VALIDATION_FAILED", error["code"]!.GetValue<string>());
        Assert.Equal([field], error["details"]!.AsObject().Select(d => d.Key));
        Assert.False(await factory.WithDbAsync(null, db => db.Users.AnyAsync(u => u.Email == email)));
        Assert.False(await factory.WithDbAsync(null, db => db.Tenants.AnyAsync(t => t.Name == "Bogus Zone Inc")));
    }

    [Fact]
    public async Task SignupRejectsBadInputAndDuplicateEmails()
    {
        var client = factory.CookieClient();
        var bad = await client.PostAsJsonAsync("/api/v1/auth/signup", new { email = "not-an-email", password = "short", organisation = "" });
        Assert.Equal(HttpStatusCode.UnprocessableEntity, bad.StatusCode);
        var details = (await bad.JsonAsync(HttpStatusCode.UnprocessableEntity))["error"]!["details"]!.AsObject();
        Assert.True(details.ContainsKey("email") && details.ContainsKey("password") && details.ContainsKey("organisation"));

        var first = await factory.SignUpAsync();
        var again = await factory.CookieClient().PostAsJsonAsync("/api/v1/auth/signup", new { email = first.Email, password = "another long password", organisation = "Other" });
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal("EMAIL_TAKEN", await again.ErrorCodeAsync());

        var malformed = await client.PostAsync("/api/v1/auth/signup", new StringContent("{not json", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
    }

    [Theory]
    [InlineData("password123")]
    [InlineData("qwertyuiop")]
    [InlineData("1234567890")]
    [InlineData("aaaaaaaaaaaa")]
    [InlineData("plomberie2024")]
    public async Task SignupRejectsAGuessablePasswordAndCreatesNothing(string password)
    {
        var email = $"plomberie-{Guid.NewGuid():N}@example.test";
        var response = await factory.CookieClient().PostAsJsonAsync("/api/v1/auth/signup", new { email, password, organisation = "Plomberie Nord" });

        var error = (await response.JsonAsync(HttpStatusCode.UnprocessableEntity))["error"]!;
        Assert.Contains("too easy to guess", error["details"]!["password"]!.ToString());
        Assert.False(await factory.WithDbAsync(null, db => db.Users.AnyAsync(u => u.Email == email)));
        var fine = await factory.CookieClient().PostAsJsonAsync("/api/v1/auth/signup", new { email, password = "copper kettle on the roof", organisation = "Plomberie Nord" });
        Assert.Equal(HttpStatusCode.Created, fine.StatusCode);
    }

    [Fact]
    public async Task UnsafeCookieRequestsNeedTheCsrfTokenButBearerRequestsDoNot()
    {
        var owner = await factory.SignUpAsync();
        var invite = new { email = $"x-{Guid.NewGuid():N}@example.test", role = "member" };

        owner.Client.DefaultRequestHeaders.Remove("X-CSRF-Token");
        var missing = await owner.Client.PostAsJsonAsync("/api/v1/team/invitations", invite);
        Assert.Equal(HttpStatusCode.Forbidden, missing.StatusCode);
        Assert.Equal("CSRF_TOKEN_INVALID", await missing.ErrorCodeAsync());
        owner.Client.DefaultRequestHeaders.Add("X-CSRF-Token", owner.Csrf + "x");
        var wrong = await owner.Client.PostAsJsonAsync("/api/v1/team/invitations", invite);
        Assert.Equal("CSRF_TOKEN_INVALID", await wrong.ErrorCodeAsync());
        Assert.Equal(HttpStatusCode.OK, (await owner.Client.GetAsync("/api/v1/team/members")).StatusCode);
        owner.Client.DefaultRequestHeaders.Remove("X-CSRF-Token");
        owner.Client.DefaultRequestHeaders.Add("X-CSRF-Token", owner.Csrf);
        Assert.Equal(HttpStatusCode.Created, (await owner.Client.PostAsJsonAsync("/api/v1/team/invitations", invite)).StatusCode);

        var keyed = await factory.CreateTenantAsync("Keyed");
        var api = factory.ApiClient(keyed);
        Assert.Equal(HttpStatusCode.Created, (await api.PostAsJsonAsync("/api/v1/knowledge", new { type = "text", title = "Keyed", content = "Written with a key, no CSRF token." })).StatusCode);
    }

    [Fact]
    public async Task SecretApiKeysCannotManageTheTeamAndInvitationTokensGoOnlyToTheInvitee()
    {
        // Probe E, F3: a key invited a person it controlled, accepted the returned token and became a lasting admin login.
        var owner = await factory.SignUpAsync();
        using var key = factory.ApiClient(await factory.CreateTenantAsync("Keyed team"));
        var someone = Guid.NewGuid(); // authorization answers before the member is looked up
        var email = $"persist-{Guid.NewGuid():N}@example.test";

        foreach (var response in new[]
                 {
                     await key.PostAsJsonAsync("/api/v1/team/invitations", new { email, role = "admin" }),
                     await key.GetAsync("/api/v1/team/invitations"),
                     await key.PatchAsJsonAsync($"/api/v1/team/members/{someone}", new { role = "member" }),
                     await key.DeleteAsync($"/api/v1/team/members/{someone}"),
                     await key.DeleteAsync($"/api/v1/team/invitations/{someone}"),
                 })
        {
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            Assert.Equal("INSUFFICIENT_ROLE", await response.ErrorCodeAsync());
        }
        Assert.Equal(HttpStatusCode.OK, (await key.GetAsync("/api/v1/team/members")).StatusCode); // reading stays allowed
        Assert.Empty(await factory.WithDbAsync(null, db => db.Invitations.IgnoreQueryFilters().Where(i => i.Email == email).ToListAsync()));

        // A signed-in owner invites; the response carries no token, so the inviter cannot accept in the invitee's name.
        var created = await (await owner.Client.PostAsJsonAsync("/api/v1/team/invitations", new { email, role = "admin" })).JsonAsync(HttpStatusCode.Created);
        Assert.False(created.ContainsKey("token"));
        var listed = await (await owner.Client.GetAsync("/api/v1/team/invitations")).Content.ReadAsStringAsync();
        Assert.DoesNotContain("inv_", listed, StringComparison.Ordinal);
        Assert.DoesNotContain("\"token\"", listed, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExistingCallsEndpointsWorkWithASessionAndWithAKey()
    {
        var owner = await factory.SignUpAsync();
        Assert.Equal(HttpStatusCode.OK, (await owner.Client.GetAsync("/api/v1/calls")).StatusCode);
        var keyed = await factory.CreateTenantAsync("Keyed calls");
        Assert.Equal(HttpStatusCode.OK, (await factory.ApiClient(keyed).GetAsync("/api/v1/calls")).StatusCode);
        var anonymous = await factory.CookieClient().GetAsync("/api/v1/calls");
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal("UNAUTHENTICATED", await anonymous.ErrorCodeAsync());
    }

    [Fact]
    public async Task LogoutRevokesTheSessionEvenIfTheCookieIsReplayed()
    {
        var owner = await factory.SignUpAsync();
        var login = factory.CookieClient();
        var response = await login.PostAsJsonAsync("/api/v1/auth/login", new { email = owner.Email, password = owner.Password });
        await response.JsonAsync(HttpStatusCode.OK);
        var cookie = response.Headers.GetValues("Set-Cookie").First(c => c.StartsWith("sb_session=", StringComparison.Ordinal)).Split(';')[0];

        Assert.Equal(HttpStatusCode.NoContent, (await owner.Client.PostAsync("/api/v1/auth/logout", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await owner.Client.GetAsync("/api/v1/auth/session")).StatusCode);

        // The second session (same user) still works; after its logout the captured cookie is dead too.
        var replay = factory.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { BaseAddress = new Uri("https://localhost"), HandleCookies = false });
        replay.DefaultRequestHeaders.Add("Cookie", cookie);
        Assert.Equal(HttpStatusCode.OK, (await replay.GetAsync("/api/v1/auth/session")).StatusCode);
        var csrf = (await (await replay.GetAsync("/api/v1/auth/session")).JsonAsync(HttpStatusCode.OK))["csrfToken"]!.GetValue<string>();
        var logout = new HttpRequestMessage(HttpMethod.Post, "/api/v1/auth/logout");
        logout.Headers.Add("X-CSRF-Token", csrf);
        Assert.Equal(HttpStatusCode.NoContent, (await replay.SendAsync(logout)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await replay.GetAsync("/api/v1/auth/session")).StatusCode);
    }

    [Fact]
    public async Task RepeatedFailuresLockTheAccountUntilTheLockoutEnds()
    {
        var owner = await factory.SignUpAsync();
        var client = factory.CookieClient();
        for (var i = 0; i < 4; i++)
        {
            var wrong = await client.PostAsJsonAsync("/api/v1/auth/login", new { email = owner.Email, password = "wrong password " + i });
            Assert.Equal("INVALID_CREDENTIALS", await wrong.ErrorCodeAsync());
        }
        var fifth = await client.PostAsJsonAsync("/api/v1/auth/login", new { email = owner.Email, password = "wrong again" });
        Assert.Equal(HttpStatusCode.TooManyRequests, fifth.StatusCode);
        Assert.Equal("ACCOUNT_LOCKED", await fifth.ErrorCodeAsync());
        var right = await client.PostAsJsonAsync("/api/v1/auth/login", new { email = owner.Email, password = owner.Password });
        Assert.Equal(HttpStatusCode.TooManyRequests, right.StatusCode);
        Assert.True(int.Parse(right.Headers.GetValues("Retry-After").Single()) > 0);

        factory.Clock.Advance(TimeSpan.FromMinutes(16));
        var later = await client.PostAsJsonAsync("/api/v1/auth/login", new { email = owner.Email, password = owner.Password });
        Assert.Equal(HttpStatusCode.OK, later.StatusCode);
    }

    [Fact]
    public async Task UnknownEmailAndWrongPasswordAnswerTheSame()
    {
        var owner = await factory.SignUpAsync();
        var client = factory.CookieClient();
        var unknown = await client.PostAsJsonAsync("/api/v1/auth/login", new { email = "nobody@example.test", password = "whatever password" });
        var wrong = await client.PostAsJsonAsync("/api/v1/auth/login", new { email = owner.Email, password = "whatever password" });
        Assert.Equal(HttpStatusCode.Unauthorized, unknown.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal((await unknown.JsonAsync(HttpStatusCode.Unauthorized))["error"]!["message"]!.ToString(),
            (await wrong.JsonAsync(HttpStatusCode.Unauthorized))["error"]!["message"]!.ToString());
    }

    [Fact]
    public async Task InvitedMemberCanReadButNotConfigure()
    {
        var owner = await factory.SignUpAsync();
        var email = $"member-{Guid.NewGuid():N}@example.test";
        // Inviting the same address twice is a resend: the first link stops working, one invitation stays pending.
        var firstToken = await factory.InviteAsync(owner.Client, email, "admin");
        var token = await factory.InviteAsync(owner.Client, email, "member");
        Assert.NotEqual(firstToken, token);
        var listed = await (await owner.Client.GetAsync("/api/v1/team/invitations")).Content.ReadAsStringAsync();
        Assert.DoesNotContain(token, listed);
        Assert.Single(System.Text.Json.Nodes.JsonNode.Parse(listed)!.AsArray(), i => (string?)i!["email"] == email && i["revokedAt"] is null && i["acceptedAt"] is null);
        var stale = await factory.CookieClient().PostAsJsonAsync("/api/v1/auth/invitations/preview", new { token = firstToken });
        Assert.Equal(HttpStatusCode.NotFound, stale.StatusCode);

        var memberClient = factory.CookieClient();
        var accepted = await (await memberClient.PostAsJsonAsync("/api/v1/auth/invitations/accept", new { token, password = "ledger read by a member 7", fullName = "Mem Ber" }))
            .JsonAsync(HttpStatusCode.OK);
        Assert.Equal(owner.TenantId.ToString(), accepted["tenant"]!["id"]!.GetValue<string>());
        Assert.Equal("member", accepted["tenant"]!["role"]!.GetValue<string>());
        memberClient.DefaultRequestHeaders.Add("X-CSRF-Token", accepted["csrfToken"]!.GetValue<string>());

        Assert.Equal(HttpStatusCode.OK, (await memberClient.GetAsync("/api/v1/team/members")).StatusCode);
        var denied = await memberClient.PostAsJsonAsync("/api/v1/team/invitations", new { email = "z@example.test", role = "member" });
        Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);
        Assert.Equal("INSUFFICIENT_ROLE", await denied.ErrorCodeAsync());

        var reuse = await factory.CookieClient().PostAsJsonAsync("/api/v1/auth/invitations/accept", new { token, password = "ledger read by a member 7" });
        Assert.Equal(HttpStatusCode.NotFound, reuse.StatusCode);
    }

    [Fact]
    public async Task AdminsCannotTouchOwnersAndTheLastOwnerStays()
    {
        var owner = await factory.SignUpAsync();
        var email = $"admin-{Guid.NewGuid():N}@example.test";
        var token = await factory.InviteAsync(owner.Client, email, "admin");
        var adminClient = factory.CookieClient();
        var admin = await (await adminClient.PostAsJsonAsync("/api/v1/auth/invitations/accept", new { token, password = "keys kept by the admin 42" })).JsonAsync(HttpStatusCode.OK);
        adminClient.DefaultRequestHeaders.Add("X-CSRF-Token", admin["csrfToken"]!.GetValue<string>());

        Assert.Equal("INSUFFICIENT_ROLE", await (await adminClient.PatchAsJsonAsync($"/api/v1/team/members/{owner.UserId}", new { role = "member" })).ErrorCodeAsync());
        Assert.Equal("INSUFFICIENT_ROLE", await (await adminClient.PostAsJsonAsync("/api/v1/team/invitations", new { email = "o@example.test", role = "owner" })).ErrorCodeAsync());
        Assert.Equal("INSUFFICIENT_ROLE", await (await adminClient.DeleteAsync($"/api/v1/team/members/{owner.UserId}")).ErrorCodeAsync());
        var lastOwner = await owner.Client.PatchAsJsonAsync($"/api/v1/team/members/{owner.UserId}", new { role = "admin" });
        Assert.Equal(HttpStatusCode.Conflict, lastOwner.StatusCode);
        Assert.Equal("LAST_OWNER", await lastOwner.ErrorCodeAsync());
    }

    [Fact]
    public async Task OperatorManagesEveryTenantAndOthersCannot()
    {
        var ops = await factory.OperatorAsync();
        var customer = await factory.SignUpAsync(organisation: "Customer Co");

        var list = await (await ops.Client.GetAsync("/api/v1/operator/tenants")).Content.ReadFromJsonAsync<JsonArray>();
        Assert.Contains(list!, t => t!["id"]!.GetValue<string>() == customer.TenantId.ToString());
        var denied = await customer.Client.GetAsync("/api/v1/operator/tenants");
        Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);
        Assert.Equal(1, await Switchboard.Platform.Cli.GrantOperatorCommand.RunAsync(factory.Services, "nobody@example.test", revoke: false, CancellationToken.None));

        var switched = await (await ops.Client.PostAsJsonAsync("/api/v1/auth/switch-tenant", new { tenantId = customer.TenantId })).JsonAsync(HttpStatusCode.OK);
        Assert.Equal("owner", switched["tenant"]!["role"]!.GetValue<string>());
        var members = await (await ops.Client.GetAsync("/api/v1/team/members")).Content.ReadFromJsonAsync<JsonArray>();
        Assert.Contains(members!, m => m!["email"]!.GetValue<string>() == customer.Email);
        Assert.Equal(HttpStatusCode.OK, (await ops.Client.PostAsJsonAsync("/api/v1/auth/switch-tenant", new { tenantId = ops.TenantId })).StatusCode);

        var suspend = await ops.Client.PatchAsJsonAsync($"/api/v1/operator/tenants/{customer.TenantId}", new { status = "suspended" });
        Assert.Equal("suspended", (await suspend.JsonAsync(HttpStatusCode.OK))["status"]!.GetValue<string>());
        var blocked = await customer.Client.GetAsync("/api/v1/team/members");
        Assert.Equal(HttpStatusCode.Forbidden, blocked.StatusCode);
        Assert.Equal("TENANT_SUSPENDED", await blocked.ErrorCodeAsync());
        await ops.Client.PatchAsJsonAsync($"/api/v1/operator/tenants/{customer.TenantId}", new { status = "active" });
        Assert.Equal(HttpStatusCode.OK, (await customer.Client.GetAsync("/api/v1/team/members")).StatusCode);
    }
}
