using System.Net;
using System.Net.Http.Json;
using Microsoft.EntityFrameworkCore;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Accounts;

/// <summary>
/// Sign-up, sign-in and the team as an attacker (or two hurried owners) drives them: parallel guesses, the same email
/// written another way, two owners removing each other at once, and one address invited twice at once.
/// </summary>
[Trait("Category", "Database")]
public sealed class AccountAbuseTests(SelfServiceFactory factory) : IClassFixture<SelfServiceFactory>
{
    [Fact]
    public async Task WrongPasswordsSentInParallelStillLockTheAccount()
    {
        var owner = await factory.SignUpAsync();

        // Twenty guesses at once (four times the limit of five): each one counts, none is lost to a concurrent one.
        var guesses = await Task.WhenAll(Enumerable.Range(0, 20).Select(i =>
            factory.CookieClient().PostAsJsonAsync("/api/v1/auth/login", new { email = owner.Email, password = "wrong password " + i })));

        Assert.All(guesses, g => Assert.True(g.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.TooManyRequests, $"{(int)g.StatusCode}"));
        var right = await factory.CookieClient().PostAsJsonAsync("/api/v1/auth/login", new { email = owner.Email, password = owner.Password });
        Assert.Equal(HttpStatusCode.TooManyRequests, right.StatusCode);
        Assert.Equal("ACCOUNT_LOCKED", await right.ErrorCodeAsync());
    }

    [Fact]
    public async Task SignupRefusesAnEmailAlreadyTakenInAnotherUnicodeForm()
    {
        var tag = Guid.NewGuid().ToString("N");
        var composed = $"jos\u00e9-{tag}@example.test"; // é as one code point (NFC)
        var decomposed = $"Jose\u0301-{tag}@example.test"; // e + combining acute accent (NFD), and a capital
        var owner = await factory.SignUpAsync(composed);

        var again = await factory.CookieClient().PostAsJsonAsync("/api/v1/auth/signup",
            new { email = decomposed, password = "another long password", organisation = "Look-alike" });

        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal("EMAIL_TAKEN", await again.ErrorCodeAsync());
        Assert.Equal(1, await factory.WithDbAsync(null, db => db.Users.CountAsync(u => u.Email.EndsWith(tag + "@example.test"))));
        // The owner signs in with the address however it is written.
        var login = await factory.CookieClient().PostAsJsonAsync("/api/v1/auth/login", new { email = decomposed, password = owner.Password });
        Assert.Equal(owner.UserId.ToString(), (await login.JsonAsync(HttpStatusCode.OK))["user"]!["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task AFullwidthLookAlikeEmailIsTheSameAccountAtSignupSigninInvitationAndReset()
    {
        var tag = Guid.NewGuid().ToString("N")[..8];
        var ascii = $"owner-{tag}@example.test";
        // Fullwidth letters, digits, hyphen and at sign (U+FF01 – U+FF5E): NFKC folds each to its ASCII form.
        var fullwidth = new string(ascii.Select(c => c is > ' ' and < '\u007f' ? (char)(c - 0x21 + 0xFF01) : c).ToArray());
        Assert.NotEqual(ascii, fullwidth.ToLowerInvariant());
        var owner = await factory.SignUpAsync(ascii);

        var again = await factory.CookieClient().PostAsJsonAsync("/api/v1/auth/signup",
            new { email = fullwidth, password = "another long password", organisation = "Look-alike" });
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal("EMAIL_TAKEN", await again.ErrorCodeAsync());
        Assert.Equal(1, await factory.WithDbAsync(null, db => db.Users.CountAsync(u => u.Email.Contains(tag))));

        var login = await factory.CookieClient().PostAsJsonAsync("/api/v1/auth/login", new { email = fullwidth, password = owner.Password });
        Assert.Equal(owner.UserId.ToString(), (await login.JsonAsync(HttpStatusCode.OK))["user"]!["id"]!.GetValue<string>());

        await factory.CookieClient().PostAsJsonAsync("/api/v1/auth/password-reset", new { email = fullwidth });
        Assert.Equal(1, await factory.WithDbAsync(null, db => db.EmailMessages.IgnoreQueryFilters()
            .CountAsync(e => e.To == ascii && e.Purpose == Switchboard.Email.EmailPurpose.PasswordReset)));

        var invitee = $"staff-{tag}@example.test";
        var invited = new string(invitee.Select(c => c is > ' ' and < '\u007f' ? (char)(c - 0x21 + 0xFF01) : c).ToArray());
        Assert.Equal(HttpStatusCode.Created, (await owner.Client.PostAsJsonAsync("/api/v1/team/invitations", new { email = invited, role = "member" })).StatusCode);
        Assert.Equal([invitee], await factory.WithDbAsync(owner.TenantId, db => db.Invitations.Select(i => i.Email).ToListAsync()));
    }

    [Fact]
    public async Task TwoOwnersRemovingEachOtherAtOnceLeaveTheTenantAnOwner()
    {
        for (var round = 0; round < 5; round++)
        {
            var first = await factory.SignUpAsync();
            var email = $"co-owner-{Guid.NewGuid():N}@example.test";
            var token = await factory.InviteAsync(first.Client, email, "owner");
            var secondClient = factory.CookieClient();
            var second = await (await secondClient.PostAsJsonAsync("/api/v1/auth/invitations/accept", new { token, password = "co-owner password 123" })).JsonAsync(HttpStatusCode.OK);
            secondClient.DefaultRequestHeaders.Add("X-CSRF-Token", second["csrfToken"]!.GetValue<string>());
            var secondId = second["user"]!["id"]!.GetValue<string>();

            var answers = await Task.WhenAll(
                first.Client.DeleteAsync($"/api/v1/team/members/{secondId}"),
                secondClient.DeleteAsync($"/api/v1/team/members/{first.UserId}"));

            Assert.All(answers, a => Assert.True(a.StatusCode is HttpStatusCode.NoContent or HttpStatusCode.Conflict or HttpStatusCode.Forbidden, $"{(int)a.StatusCode}"));
            Assert.Equal(1, await factory.WithDbAsync(first.TenantId, db => db.Memberships.CountAsync(m => m.Role == "owner")));
        }
    }

    [Fact]
    public async Task InvitingOneAddressTwiceAtOnceLeavesOneLiveInvitation()
    {
        var owner = await factory.SignUpAsync();
        for (var round = 0; round < 8; round++)
        {
            var email = $"twice-{Guid.NewGuid():N}@example.test";

            // A double click, or a resend with another role while the first is on its way: both read "nothing pending"
            // and both links stayed live (7 rounds of 10 on SQLite), so accepting one left the other usable, with its role.
            var answers = await Task.WhenAll(
                owner.Client.PostAsJsonAsync("/api/v1/team/invitations", new { email, role = "admin" }),
                owner.Client.PostAsJsonAsync("/api/v1/team/invitations", new { email, role = "member" }));

            Assert.All(answers, a => Assert.Equal(HttpStatusCode.Created, a.StatusCode));
            Assert.Equal(1, await factory.WithDbAsync(owner.TenantId,
                db => db.Invitations.CountAsync(i => i.Email == email && i.AcceptedAt == null && i.RevokedAt == null)));
        }
    }
}
