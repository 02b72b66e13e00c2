using Microsoft.EntityFrameworkCore;
using Switchboard.Compliance;
using Switchboard.Email;
using Switchboard.Platform.Database;

namespace Switchboard.Tenancy;

/// <summary>
/// Password resets and email verification by mailed, single-use, expiring links (tokens stored as SHA-256 only).
/// Requests never reveal whether an email has an account: an unknown address, a capped address
/// (<see cref="EmailOptions.MaxTokenEmailsPerHour"/>) and a known one get the same answer; only the known, uncapped
/// one gets mail. A successful reset revokes every session of the user, clears the lockout and proves the email.
/// </summary>
internal sealed class AccountRecovery(
    SwitchboardDbContext db, Mailer mailer, AccountService accounts, AuditLog audit, TimeProvider clock, Dashboard.ILiveEventTransport live)
{
    /// <summary>Outcome of using a link token.</summary>
    public enum TokenUse
    {
        Ok,
        Invalid,
    }

    /// <summary>
    /// Mails a reset link to the account <paramref name="email"/> (as typed) names (<see cref="AccountService.FindByEmailAsync"/>:
    /// its normalised form, or an older form an account kept at the NFKC pass), if any and not capped; silent otherwise.
    /// </summary>
    public async Task RequestPasswordResetAsync(string email, string? ip, CancellationToken ct)
    {
        var user = await AccountService.FindByEmailAsync(db, email, ct);
        if (user is null || !await UnderCapAsync(user.Id, EmailPurpose.PasswordReset, ct))
        {
            return;
        }
        var token = Issue(user, EmailPurpose.PasswordReset, TimeSpan.FromMinutes(mailer.Options.ResetTokenMinutes), "rst_");
        var tenantId = await HomeTenantAsync(user.Id, ct);
        mailer.PasswordReset(tenantId, user.Email, token);
        await db.SaveChangesAsync(ct);
        await audit.AppendAsync(tenantId, new AuditActor("anonymous", null, ip), "auth.password_reset_requested", "user:" + user.Id, null, ct);
    }

    /// <summary>Sets <paramref name="password"/> (already checked against the password rules) if <paramref name="token"/> is a live reset token.</summary>
    public async Task<(TokenUse Result, User? User)> ResetPasswordAsync(string token, string password, string? ip, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var row = await FindLiveAsync(token, EmailPurpose.PasswordReset, now, ct);
        if (row is null)
        {
            return (TokenUse.Invalid, null);
        }
        var user = await db.Users.FirstAsync(u => u.Id == row.UserId, ct);
        // Claim the token first: of two concurrent uses only one updates the row.
        var claimed = await db.AccountTokens.Where(t => t.Id == row.Id && t.UsedAt == null).ExecuteUpdateAsync(s => s.SetProperty(t => t.UsedAt, now), ct);
        if (claimed == 0)
        {
            return (TokenUse.Invalid, null);
        }
        await db.AccountTokens.Where(t => t.UserId == user.Id && t.Purpose == EmailPurpose.PasswordReset && t.UsedAt == null)
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.UsedAt, now), ct);
        user.PasswordHash = accounts.HashPassword(user, password);
        user.FailedLogins = 0;
        user.LockedUntil = null;
        if (string.Equals(row.Email, user.Email, StringComparison.Ordinal))
        {
            user.EmailVerifiedAt ??= now;
        }
        await db.SaveChangesAsync(ct);
        await db.UserSessions.Where(s => s.UserId == user.Id && s.RevokedAt == null).ExecuteUpdateAsync(s => s.SetProperty(x => x.RevokedAt, now), ct);
        await live.RevokeAccessAsync(Dashboard.AccessRevocation.User(user.Id)); // its sessions' open streams end too
        await audit.AppendAsync(await HomeTenantAsync(user.Id, ct), new AuditActor("user", user.Id.ToString(), ip), "auth.password_reset", "user:" + user.Id, null, ct);
        return (TokenUse.Ok, user);
    }

    /// <summary>Mails a verification link to the user's email (in <paramref name="tenantId"/>'s outbox, or their oldest membership's). False when capped.</summary>
    public async Task<bool> SendVerificationAsync(User user, Guid? tenantId, CancellationToken ct)
    {
        if (!await UnderCapAsync(user.Id, EmailPurpose.VerifyEmail, ct))
        {
            return false;
        }
        var token = Issue(user, EmailPurpose.VerifyEmail, TimeSpan.FromHours(mailer.Options.VerifyTokenHours), "vfy_");
        mailer.VerifyEmail(tenantId ?? await HomeTenantAsync(user.Id, ct), user.Email, token);
        await db.SaveChangesAsync(ct);
        return true;
    }

    /// <summary>Marks the email verified if <paramref name="token"/> is a live verification token for the user's current email.</summary>
    public async Task<(TokenUse Result, User? User)> VerifyEmailAsync(string token, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var row = await FindLiveAsync(token, EmailPurpose.VerifyEmail, now, ct);
        if (row is null)
        {
            return (TokenUse.Invalid, null);
        }
        var user = await db.Users.FirstAsync(u => u.Id == row.UserId, ct);
        if (!string.Equals(row.Email, user.Email, StringComparison.Ordinal))
        {
            return (TokenUse.Invalid, null);
        }
        row.UsedAt = now;
        user.EmailVerifiedAt ??= now;
        await db.SaveChangesAsync(ct);
        await audit.AppendAsync(await HomeTenantAsync(user.Id, ct), new AuditActor("user", user.Id.ToString(), null), "auth.email_verified", "user:" + user.Id, null, ct);
        return (TokenUse.Ok, user);
    }

    private async Task<AccountToken?> FindLiveAsync(string token, string purpose, DateTimeOffset now, CancellationToken ct)
    {
        var hash = ApiKeys.Hash(token.Trim());
        return await db.AccountTokens.FirstOrDefaultAsync(t => t.TokenHash == hash && t.Purpose == purpose && t.UsedAt == null && t.ExpiresAt > now, ct);
    }

    private string Issue(User user, string purpose, TimeSpan lifetime, string prefix)
    {
        var now = clock.GetUtcNow();
        var token = prefix + ApiKeys.GenerateWebhookSecret();
        db.AccountTokens.Add(new AccountToken
        {
            Id = Guid.CreateVersion7(),
            UserId = user.Id,
            Purpose = purpose,
            TokenHash = ApiKeys.Hash(token),
            Email = user.Email,
            CreatedAt = now,
            ExpiresAt = now + lifetime,
        });
        return token;
    }

    private async Task<bool> UnderCapAsync(Guid userId, string purpose, CancellationToken ct)
    {
        var since = clock.GetUtcNow().AddHours(-1);
        return await db.AccountTokens.CountAsync(t => t.UserId == userId && t.Purpose == purpose && t.CreatedAt > since, ct) < mailer.Options.MaxTokenEmailsPerHour;
    }

    /// <summary>The user's oldest membership: the tenant whose outbox carries their personal mail.</summary>
    private async Task<Guid?> HomeTenantAsync(Guid userId, CancellationToken ct) =>
        await db.Memberships.IgnoreQueryFilters().Where(m => m.UserId == userId).OrderBy(m => m.CreatedAt).Select(m => (Guid?)m.TenantId).FirstOrDefaultAsync(ct);
}
