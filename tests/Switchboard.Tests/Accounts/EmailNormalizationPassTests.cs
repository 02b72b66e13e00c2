using System.Net;
using System.Net.Http.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Tenancy;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Accounts;

/// <summary>
/// Addresses stored before e-mails were NFKC-normalised (a decomposed accent before NFC, a fullwidth look-alike before
/// NFKC) are rewritten by the next start (<see cref="EmailNormalizationPass"/>), so their accounts sign in again; when two
/// accounts normalise alike, neither is lost.
/// </summary>
[Trait("Category", "Database")]
public sealed class EmailNormalizationPassTests
{
    private static string Fullwidth(string ascii) => new(ascii.Select(c => c is > ' ' and < '\u007f' ? (char)(c - 0x21 + 0xFF01) : c).ToArray());

    [Fact]
    public async Task AccountsStoredBeforeNfkcSignInAfterTheNextStartAndCollidingAccountsAreBothKept()
    {
        var tag = Guid.NewGuid().ToString("N")[..8];
        using var a = new SelfServiceFactory();
        var decomposed = await a.SignUpAsync($"jose-{tag}@example.test");
        var wide = await a.SignUpAsync($"owner-{tag}@example.test");
        var olderOfTwo = await a.SignUpAsync($"rene-a-{tag}@example.test");
        var newerOfTwo = await a.SignUpAsync($"rene-b-{tag}@example.test");
        var holder = await a.SignUpAsync($"held-{tag}@example.test");
        var olderThanHolder = await a.SignUpAsync($"held-old-{tag}@example.test");
        await a.InviteAsync(decomposed.Client, $"staff-{tag}@example.test", "member");
        await a.InviteAsync(decomposed.Client, $"kept-{tag}@example.test", "member");

        // The rows as older releases stored them: trimmed and lower-cased only (a decomposed é), or NFC (fullwidth letters).
        var stored = new Dictionary<Guid, (string Email, int DaysOld)>
        {
            [decomposed.UserId] = ($"jose\u0301-{tag}@example.test", 9),
            [wide.UserId] = (Fullwidth($"owner-{tag}@example.test").ToLowerInvariant(), 8),
            [olderOfTwo.UserId] = ($"rene\u0301-{tag}@example.test", 7),            // both become rené-…: the older gets it
            [newerOfTwo.UserId] = (Fullwidth("rene") + $"\u0301-{tag}@example.test", 6),
            [olderThanHolder.UserId] = (Fullwidth($"held-{tag}@example.test"), 5),  // its form is held by a newer account
            [holder.UserId] = ($"held-{tag}@example.test", 1),
        };
        await a.WithDbAsync(null, async db =>
        {
            var now = a.Clock.GetUtcNow();
            foreach (var user in await db.Users.Where(u => stored.Keys.Contains(u.Id)).ToListAsync())
            {
                (user.Email, var days) = stored[user.Id];
                user.CreatedAt = now.AddDays(-days);
            }
            await db.SaveChangesAsync();
            await db.AccountTokens.Where(t => t.UserId == wide.UserId).ExecuteUpdateAsync(s => s.SetProperty(t => t.Email, stored[wide.UserId].Email));
            await db.Invitations.IgnoreQueryFilters().Where(i => i.Email == $"staff-{tag}@example.test")
                .ExecuteUpdateAsync(s => s.SetProperty(i => i.Email, Fullwidth($"staff-{tag}@example.test")));
            await db.Invitations.IgnoreQueryFilters().Where(i => i.Email == $"kept-{tag}@example.test")
                .ExecuteUpdateAsync(s => s.SetProperty(i => i.Email, stored[newerOfTwo.UserId].Email));
            return await db.Database.ExecuteSqlAsync($"DELETE FROM __switchboard_migrations WHERE id = {EmailNormalizationPass.Marker}");
        });
        // Before the pass: the account stored with a decomposed accent cannot sign in with its address.
        Assert.Equal(HttpStatusCode.Unauthorized, (await a.CookieClient().PostAsJsonAsync("/api/v1/auth/login",
            new { email = $"jos\u00e9-{tag}@example.test", password = decomposed.Password })).StatusCode);

        using var restarted = new SelfServiceFactory { Twin = a }; // the next start of the installation
        _ = restarted.Services;

        async Task<Guid> SignInAsync(string email)
        {
            var response = await restarted.CookieClient().PostAsJsonAsync("/api/v1/auth/login", new { email, password = "correct horse battery" });
            return Guid.Parse((await response.JsonAsync(HttpStatusCode.OK))["user"]!["id"]!.GetValue<string>());
        }
        Assert.Equal(decomposed.UserId, await SignInAsync($"jos\u00e9-{tag}@example.test"));
        Assert.Equal(decomposed.UserId, await SignInAsync($"Jose\u0301-{tag}@example.test"));
        Assert.Equal(wide.UserId, await SignInAsync($"owner-{tag}@example.test"));
        Assert.Equal(olderOfTwo.UserId, await SignInAsync($"ren\u00e9-{tag}@example.test"));
        Assert.Equal(holder.UserId, await SignInAsync($"held-{tag}@example.test"));
        // The accounts that kept their address sign in by typing it as stored.
        Assert.Equal(newerOfTwo.UserId, await SignInAsync(stored[newerOfTwo.UserId].Email));
        Assert.Equal(olderThanHolder.UserId, await SignInAsync(stored[olderThanHolder.UserId].Email));

        var emails = await restarted.WithDbAsync(null, db => db.Users.Where(u => stored.Keys.Contains(u.Id)).ToDictionaryAsync(u => u.Id, u => u.Email));
        Assert.Equal($"jos\u00e9-{tag}@example.test", emails[decomposed.UserId]);
        Assert.Equal($"owner-{tag}@example.test", emails[wide.UserId]);
        Assert.Equal($"ren\u00e9-{tag}@example.test", emails[olderOfTwo.UserId]);
        Assert.Equal(stored[newerOfTwo.UserId].Email, emails[newerOfTwo.UserId]);
        Assert.Equal(stored[olderThanHolder.UserId].Email, emails[olderThanHolder.UserId]);
        Assert.Equal([$"owner-{tag}@example.test"], await restarted.WithDbAsync(null, db =>
            db.AccountTokens.Where(t => t.UserId == wide.UserId).Select(t => t.Email).Distinct().ToListAsync()));
        var invited = await restarted.WithDbAsync(null, db => db.Invitations.IgnoreQueryFilters()
            .Where(i => i.TenantId == decomposed.TenantId && i.AcceptedAt == null).Select(i => i.Email).ToListAsync());
        Assert.Equal([$"staff-{tag}@example.test", stored[newerOfTwo.UserId].Email], invited.Order(StringComparer.Ordinal));
        Assert.Contains(restarted.LogLines, l => l.StartsWith("Warning", StringComparison.Ordinal) && l.Contains(newerOfTwo.UserId.ToString(), StringComparison.Ordinal));
        Assert.Contains(restarted.LogLines, l => l.StartsWith("Warning", StringComparison.Ordinal) && l.Contains(olderThanHolder.UserId.ToString(), StringComparison.Ordinal));
        Assert.Equal(1, await restarted.WithDbAsync(null, db => db.Database.SqlQuery<int>(
            $"""SELECT COUNT(*) AS "Value" FROM __switchboard_migrations WHERE id = {EmailNormalizationPass.Marker}""").SingleAsync()));

        // A kept account also asks for a password reset by typing its address as stored: the link is for it, not for the
        // account that holds the normalised form.
        var reset = await restarted.CookieClient().PostAsJsonAsync("/api/v1/auth/password-reset", new { email = stored[newerOfTwo.UserId].Email });
        Assert.Equal(HttpStatusCode.Accepted, reset.StatusCode);
        Assert.Equal([newerOfTwo.UserId], await restarted.WithDbAsync(null, db => db.AccountTokens
            .Where(t => t.Purpose == Switchboard.Email.EmailPurpose.PasswordReset && (t.UserId == newerOfTwo.UserId || t.UserId == olderOfTwo.UserId))
            .Select(t => t.UserId).ToListAsync()));
    }

    [Fact]
    public async Task AStartAfterACompletedPassReadsItsMarkerAndRewritesNothing()
    {
        using var host = new SelfServiceFactory();
        var owner = await host.SignUpAsync();
        var wide = Fullwidth(owner.Email);
        await host.WithDbAsync(null, db => db.Users.Where(u => u.Id == owner.UserId).ExecuteUpdateAsync(s => s.SetProperty(u => u.Email, wide)));

        using (var scope = host.Scope())
        {
            Assert.Null(await EmailNormalizationPass.RunOnceAsync(scope.ServiceProvider, CancellationToken.None)); // the host's start recorded the pass
        }

        Assert.Equal(wide, await host.WithDbAsync(null, db => db.Users.Where(u => u.Id == owner.UserId).Select(u => u.Email).SingleAsync()));
        await host.WithDbAsync(null, db => db.Database.ExecuteSqlAsync($"DELETE FROM __switchboard_migrations WHERE id = {EmailNormalizationPass.Marker}"));
        using (var scope = host.Scope())
        {
            var outcome = await EmailNormalizationPass.RunOnceAsync(scope.ServiceProvider, CancellationToken.None);
            Assert.Equal(1, outcome!.UsersRewritten);
        }
        Assert.Equal(owner.Email, await host.WithDbAsync(null, db => db.Users.Where(u => u.Id == owner.UserId).Select(u => u.Email).SingleAsync()));
    }
}
