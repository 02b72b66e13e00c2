using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.EntityFrameworkCore;
using Switchboard.Email;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Accounts;

/// <summary>The host with SMTP pointed at <see cref="SmtpSimulator"/> (plain text, AUTH PLAIN).</summary>
public sealed class SmtpEmailFactory : SelfServiceFactory
{
    internal SmtpSimulator Smtp { get; } = SmtpSimulator.Start();

    protected override IDictionary<string, string?> MoreSettings => new Dictionary<string, string?>
    {
        ["Switchboard:Email:Host"] = "127.0.0.1",
        ["Switchboard:Email:Port"] = Smtp.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Switchboard:Email:Security"] = "None",
        ["Switchboard:Email:User"] = "relay-user",
        ["Switchboard:Email:Password"] = "relay-pass",
        ["Switchboard:Email:From"] = "Switchboard <no-reply@switchboard.test>",
        ["Switchboard:Email:TimeoutSeconds"] = "5",
    };

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            Smtp.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }
}

/// <summary>Invitation emails over real SMTP (MailKit against the simulator): delivery, permanent refusal, transient retry.</summary>
[Trait("Category", "Database")]
public sealed class SmtpEmailTests(SmtpEmailFactory factory) : IClassFixture<SmtpEmailFactory>
{
    [Fact]
    public async Task AnInvitationIsMailedOverSmtpWithItsAcceptLinkAndTheBodyIsNotKept()
    {
        var owner = await factory.SignUpAsync();
        var invitee = $"invitee-{Guid.NewGuid():N}@example.test";
        var created = await (await owner.Client.PostAsJsonAsync("/api/v1/team/invitations", new { email = invitee, role = "admin" })).JsonAsync(HttpStatusCode.Created);

        await factory.Outbox.ProcessDueAsync(CancellationToken.None);

        var mail = Assert.Single(factory.Smtp.Delivered, d => d.To.Contains(invitee));
        Assert.Equal("no-reply@switchboard.test", mail.From);
        Assert.Equal("relay-user:relay-pass", mail.AuthUser);
        var parsed = mail.Parse();
        Assert.Contains("Plomberie Test", parsed.Subject);
        var body = parsed.TextBody ?? "";
        var token = Regex.Match(body, @"/invitations/accept\?token=(\S+)").Groups[1].Value;
        Assert.StartsWith(SelfServiceFactory.PublicBaseUrl + "/invitations/accept?token=", Regex.Match(body, @"https://\S+").Value);
        Assert.Null(created["token"]); // only the invitee's mailbox holds it (probe E, F3)

        var row = await factory.WithDbAsync(null, db => db.EmailMessages.SingleAsync(e => e.To == invitee));
        Assert.Equal(EmailStatus.Sent, row.Status);
        Assert.Equal(EmailSendHandler.DeliveredPlaceholder, row.TextBody); // the link is not kept at rest

        var accepted = await factory.CookieClient().PostAsJsonAsync("/api/v1/auth/invitations/accept",
            new { token = Uri.UnescapeDataString(token), password = "a brand new password", fullName = "Invitee" });
        var session = await accepted.JsonAsync(HttpStatusCode.OK);
        Assert.Equal("admin", session["tenant"]!["role"]!.GetValue<string>());
        Assert.True(session["user"]!["emailVerified"]!.GetValue<bool>()); // the link came to this address
    }

    [Fact]
    public async Task ARefusedRecipientIsADeadLetterAndATemporaryFailureIsRetried()
    {
        var owner = await factory.SignUpAsync();
        var refused = $"nobody-{Guid.NewGuid():N}@example.test";
        factory.Smtp.RefusedRecipients[refused] = true;
        await (await owner.Client.PostAsJsonAsync("/api/v1/team/invitations", new { email = refused, role = "member" })).JsonAsync(HttpStatusCode.Created);
        await factory.Outbox.ProcessDueAsync(CancellationToken.None);
        var dead = await factory.WithDbAsync(null, db => db.EmailMessages.SingleAsync(e => e.To == refused));
        Assert.Equal(EmailStatus.Failed, dead.Status);
        Assert.Contains("550", dead.Error);
        Assert.Equal("dead", await factory.WithDbAsync(owner.TenantId, db => db.Outbox.Where(o => o.Kind == "email.send" && o.DedupeKey == dead.Id.ToString("N")).Select(o => o.Status).SingleAsync()));

        var later = $"later-{Guid.NewGuid():N}@example.test";
        factory.Smtp.TransientFailures = 1;
        await (await owner.Client.PostAsJsonAsync("/api/v1/team/invitations", new { email = later, role = "member" })).JsonAsync(HttpStatusCode.Created);
        await factory.Outbox.ProcessDueAsync(CancellationToken.None);
        var waiting = await factory.WithDbAsync(null, db => db.EmailMessages.SingleAsync(e => e.To == later));
        Assert.Equal(EmailStatus.Queued, waiting.Status);
        Assert.Contains("451", waiting.Error);
        Assert.DoesNotContain(factory.Smtp.Delivered, d => d.To.Contains(later));

        factory.Clock.Advance(TimeSpan.FromMinutes(1)); // past the back-off
        await factory.Outbox.ProcessDueAsync(CancellationToken.None);
        Assert.Equal(EmailStatus.Sent, await factory.WithDbAsync(null, db => db.EmailMessages.Where(e => e.To == later).Select(e => e.Status).SingleAsync()));
        Assert.Single(factory.Smtp.Delivered, d => d.To.Contains(later));
    }
}

/// <summary>Password reset and email verification through the local mailbox (no SMTP configured, not Production).</summary>
[Trait("Category", "Database")]
public sealed class AccountRecoveryTests(SelfServiceFactory factory) : IClassFixture<SelfServiceFactory>
{
    private async Task<JsonObject?> LatestMailAsync(string to, string purpose)
    {
        await factory.Outbox.ProcessDueAsync(CancellationToken.None);
        var ops = await factory.OperatorAsync();
        var page = await (await ops.Client.GetAsync($"/api/v1/operator/mailbox?to={Uri.EscapeDataString(to)}")).JsonAsync(HttpStatusCode.OK);
        return page["items"]!.AsArray().Select(i => i!.AsObject()).FirstOrDefault(i => i["purpose"]!.GetValue<string>() == purpose);
    }

    private static string TokenIn(JsonObject mail, string path) =>
        Uri.UnescapeDataString(Regex.Match(mail["textBody"]!.GetValue<string>(), Regex.Escape(path) + @"\?token=(\S+)").Groups[1].Value);

    [Fact]
    public async Task PasswordResetByMailSetsTheNewPasswordRevokesEverySessionAndWorksOnce()
    {
        var owner = await factory.SignUpAsync();
        var other = await factory.LoginAsync(owner.Email, owner.Password);
        var anonymous = factory.CookieClient();

        var asked = await (await anonymous.PostAsJsonAsync("/api/v1/auth/password-reset", new { email = owner.Email.ToUpperInvariant() })).JsonAsync(HttpStatusCode.Accepted);
        var mail = await LatestMailAsync(owner.Email, "password_reset");
        Assert.NotNull(mail);
        Assert.Equal("mailbox", mail["status"]!.GetValue<string>());
        var token = TokenIn(mail, "/reset-password");
        Assert.StartsWith("rst_", token);
        Assert.False(await factory.WithDbAsync(null, db => db.AccountTokens.AnyAsync(t => t.TokenHash == token))); // only the hash is stored

        var done = await anonymous.PostAsJsonAsync("/api/v1/auth/password-reset/confirm", new { token, password = "a completely new password" });
        Assert.Equal(HttpStatusCode.NoContent, done.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await owner.Client.GetAsync("/api/v1/auth/session")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await other.Client.GetAsync("/api/v1/auth/session")).StatusCode);
        var oldPassword = await factory.CookieClient().PostAsJsonAsync("/api/v1/auth/login", new { email = owner.Email, password = owner.Password });
        Assert.Equal("INVALID_CREDENTIALS", await oldPassword.ErrorCodeAsync());
        var signedIn = await factory.LoginAsync(owner.Email, "a completely new password");
        var session = await (await signedIn.Client.GetAsync("/api/v1/auth/session")).JsonAsync(HttpStatusCode.OK);
        Assert.True(session["user"]!["emailVerified"]!.GetValue<bool>());

        var again = await anonymous.PostAsJsonAsync("/api/v1/auth/password-reset/confirm", new { token, password = "yet another password here" });
        Assert.Equal(HttpStatusCode.BadRequest, again.StatusCode);
        Assert.Equal("TOKEN_INVALID", await again.ErrorCodeAsync());
        Assert.Equal(asked["message"]!.GetValue<string>(), (await (await anonymous.PostAsJsonAsync("/api/v1/auth/password-reset", new { email = "x@y.test" })).JsonAsync(HttpStatusCode.Accepted))["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task TheLocalMailboxLogsNoLinkOrTokenOnlyTheEmailIdPurposeAndRecipient()
    {
        // Probe E, F4: the local mailbox printed every email's links, so whoever read the server log could reset any password.
        var owner = await factory.SignUpAsync();
        Assert.Equal(HttpStatusCode.Accepted, (await factory.CookieClient().PostAsJsonAsync("/api/v1/auth/password-reset", new { email = owner.Email })).StatusCode);
        var invitee = $"logged-{Guid.NewGuid():N}@example.test";
        await (await owner.Client.PostAsJsonAsync("/api/v1/team/invitations", new { email = invitee, role = "member" })).JsonAsync(HttpStatusCode.Created);
        var reset = (await LatestMailAsync(owner.Email, "password_reset"))!;
        var invitation = (await LatestMailAsync(invitee, "invitation"))!;
        var tokens = new[] { TokenIn(reset, "/reset-password"), TokenIn(invitation, "/invitations/accept") };
        Assert.All(tokens, t => Assert.True(t.Length > 10));

        var lines = factory.LogLines;
        foreach (var token in tokens)
        {
            Assert.DoesNotContain(lines, l => l.Contains(token, StringComparison.Ordinal) || l.Contains(Uri.EscapeDataString(token), StringComparison.Ordinal));
        }
        Assert.DoesNotContain(lines, l => l.Contains("?token=", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains(reset["id"]!.GetValue<string>(), StringComparison.Ordinal) && l.Contains("/operator/mailbox", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains(invitation["id"]!.GetValue<string>(), StringComparison.Ordinal) && l.Contains(invitee, StringComparison.Ordinal));
    }

    [Fact]
    public async Task AResetLinkExpiresAndAResetClearsALockout()
    {
        var owner = await factory.SignUpAsync();
        var client = factory.CookieClient();
        await client.PostAsJsonAsync("/api/v1/auth/password-reset", new { email = owner.Email });
        var token = TokenIn((await LatestMailAsync(owner.Email, "password_reset"))!, "/reset-password");
        factory.Clock.Advance(TimeSpan.FromMinutes(61));
        var expired = await client.PostAsJsonAsync("/api/v1/auth/password-reset/confirm", new { token, password = "a completely new password" });
        Assert.Equal("TOKEN_INVALID", await expired.ErrorCodeAsync());

        for (var i = 0; i < 5; i++)
        {
            await client.PostAsJsonAsync("/api/v1/auth/login", new { email = owner.Email, password = "wrong password " + i });
        }
        Assert.Equal("ACCOUNT_LOCKED", await (await client.PostAsJsonAsync("/api/v1/auth/login", new { email = owner.Email, password = owner.Password })).ErrorCodeAsync());
        await client.PostAsJsonAsync("/api/v1/auth/password-reset", new { email = owner.Email });
        var fresh = TokenIn((await LatestMailAsync(owner.Email, "password_reset"))!, "/reset-password");
        Assert.NotEqual(token, fresh);
        Assert.Equal(HttpStatusCode.NoContent, (await client.PostAsJsonAsync("/api/v1/auth/password-reset/confirm", new { token = fresh, password = "unlocked new password" })).StatusCode);
        await factory.LoginAsync(owner.Email, "unlocked new password");
    }

    [Fact]
    public async Task ResetRequestsAnswerTheSameForUnknownAndCappedEmailsAndMailNothingThen()
    {
        var owner = await factory.SignUpAsync();
        var client = factory.CookieClient();
        var unknown = $"nobody-{Guid.NewGuid():N}@example.test";
        var forUnknown = await client.PostAsJsonAsync("/api/v1/auth/password-reset", new { email = unknown });
        var forKnown = await client.PostAsJsonAsync("/api/v1/auth/password-reset", new { email = owner.Email });
        Assert.Equal(HttpStatusCode.Accepted, forUnknown.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, forKnown.StatusCode);
        Assert.Equal(await forKnown.Content.ReadAsStringAsync(), await forUnknown.Content.ReadAsStringAsync());
        Assert.False(await factory.WithDbAsync(null, db => db.EmailMessages.AnyAsync(e => e.To == unknown)));

        for (var i = 0; i < 4; i++)
        {
            var capped = await client.PostAsJsonAsync("/api/v1/auth/password-reset", new { email = owner.Email });
            Assert.Equal(await forKnown.Content.ReadAsStringAsync(), await capped.Content.ReadAsStringAsync());
        }
        Assert.Equal(3, await factory.WithDbAsync(null, db => db.EmailMessages.CountAsync(e => e.To == owner.Email && e.Purpose == "password_reset")));
    }

    [Fact]
    public async Task SignUpMailsAVerificationLinkThatVerifiesOnceWithoutBlockingSignIn()
    {
        var owner = await factory.SignUpAsync();
        var before = await (await owner.Client.GetAsync("/api/v1/auth/session")).JsonAsync(HttpStatusCode.OK);
        Assert.False(before["user"]!["emailVerified"]!.GetValue<bool>());
        var token = TokenIn((await LatestMailAsync(owner.Email, "verify_email"))!, "/verify-email");

        var anonymous = factory.CookieClient();
        var verified = await (await anonymous.PostAsJsonAsync("/api/v1/auth/verify-email", new { token })).JsonAsync(HttpStatusCode.OK);
        Assert.Equal(owner.Email, verified["email"]!.GetValue<string>());
        var after = await (await owner.Client.GetAsync("/api/v1/auth/session")).JsonAsync(HttpStatusCode.OK);
        Assert.True(after["user"]!["emailVerified"]!.GetValue<bool>());
        Assert.Equal("TOKEN_INVALID", await (await anonymous.PostAsJsonAsync("/api/v1/auth/verify-email", new { token })).ErrorCodeAsync());
        Assert.Equal("ALREADY_VERIFIED", await (await owner.Client.PostAsync("/api/v1/auth/verify-email/resend", null)).ErrorCodeAsync());

        var second = await factory.SignUpAsync();
        Assert.Equal(HttpStatusCode.Accepted, (await second.Client.PostAsync("/api/v1/auth/verify-email/resend", null)).StatusCode);
        Assert.Equal(2, await factory.WithDbAsync(null, db => db.EmailMessages.CountAsync(e => e.To == second.Email && e.Purpose == "verify_email")));
    }

    [Fact]
    public async Task BadInputIsRefusedWithTheEnvelopeAndChangesNothing()
    {
        var ops = await factory.OperatorAsync();
        var client = factory.CookieClient();
        var emails = await factory.WithDbAsync(null, db => db.EmailMessages.CountAsync());
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await client.PostAsJsonAsync("/api/v1/auth/password-reset", new { email = "not an email" })).StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await client.PostAsJsonAsync("/api/v1/auth/password-reset", new { })).StatusCode);
        Assert.Equal("TOKEN_INVALID", await (await client.PostAsJsonAsync("/api/v1/auth/password-reset/confirm", new { password = "long enough password" })).ErrorCodeAsync());
        Assert.Equal("TOKEN_INVALID", await (await client.PostAsJsonAsync("/api/v1/auth/password-reset/confirm", new { token = new string('x', 500), password = "long enough password" })).ErrorCodeAsync());
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await client.PostAsJsonAsync("/api/v1/auth/password-reset/confirm", new { token = "rst_x", password = "short" })).StatusCode);
        Assert.Equal("TOKEN_INVALID", await (await client.PostAsJsonAsync("/api/v1/auth/verify-email", new { token = "vfy_nope" })).ErrorCodeAsync());
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await client.PostAsJsonAsync("/api/v1/auth/invitations/preview", new { token = "" })).StatusCode);
        Assert.Equal("INVITATION_NOT_FOUND", await (await client.PostAsJsonAsync("/api/v1/auth/invitations/preview", new { token = "inv_nope" })).ErrorCodeAsync());
        var malformed = await client.PostAsync("/api/v1/auth/password-reset", new StringContent("{nope", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await ops.Client.GetAsync("/api/v1/operator/mailbox?limit=0")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await ops.Client.GetAsync("/api/v1/operator/mailbox?limit=abc")).StatusCode);
        Assert.Equal("EMAIL_NOT_FOUND", await (await ops.Client.GetAsync($"/api/v1/operator/mailbox/{Guid.NewGuid()}")).ErrorCodeAsync());
        Assert.Equal(emails, await factory.WithDbAsync(null, db => db.EmailMessages.CountAsync()));
    }

    [Fact]
    public async Task OnlyOperatorsReadTheMailboxAndAnInvitationPreviewShowsOnlyItsOwnTenant()
    {
        var a = await factory.SignUpAsync(organisation: "Tenant A");
        var b = await factory.SignUpAsync(organisation: "Tenant B");
        Assert.Equal(HttpStatusCode.Forbidden, (await a.Client.GetAsync("/api/v1/operator/mailbox")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await a.Client.GetAsync($"/api/v1/operator/mailbox/{Guid.NewGuid()}")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await factory.CookieClient().GetAsync("/api/v1/operator/mailbox")).StatusCode);

        var invitee = $"shared-{Guid.NewGuid():N}@example.test";
        var created = await (await a.Client.PostAsJsonAsync("/api/v1/team/invitations", new { email = invitee, role = "member" })).JsonAsync(HttpStatusCode.Created);
        var token = TokenIn((await LatestMailAsync(invitee, "invitation"))!, "/invitations/accept");
        var preview = await (await factory.CookieClient().PostAsJsonAsync("/api/v1/auth/invitations/preview", new { token })).JsonAsync(HttpStatusCode.OK);
        Assert.Equal("Tenant A", preview["tenantName"]!.GetValue<string>());
        Assert.False(preview["existingAccount"]!.GetValue<bool>());
        var bInvitations = await (await b.Client.GetAsync("/api/v1/team/invitations")).Content.ReadAsStringAsync();
        Assert.DoesNotContain(invitee, bInvitations);
        Assert.Equal(HttpStatusCode.NotFound, (await b.Client.DeleteAsync($"/api/v1/team/invitations/{created["id"]}")).StatusCode);
    }
}
