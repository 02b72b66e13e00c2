using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Switchboard.Platform.Database;
using Switchboard.Platform.Http;

namespace Switchboard.Tenancy;

/// <summary>Asks for a password-reset link by email.</summary>
public sealed record PasswordResetRequest(string? Email);

/// <summary>Sets a new password with the mailed reset token.</summary>
public sealed record PasswordResetConfirm(string? Token, string? Password);

/// <summary>A mailed link token (email verification, invitation preview).</summary>
public sealed record TokenRequest(string? Token);

/// <summary>The same answer for every reset request, known email or not.</summary>
public sealed record AcceptedDto(string Message);

/// <summary>The result of verifying an email.</summary>
public sealed record EmailVerifiedDto(string Email, bool EmailVerified);

/// <summary>
/// What an invitation link is for: the invited email, tenant and role, its expiry, and whether the email already
/// has an account (then the invitee proves its password; else they choose one). Known only to the token's holder.
/// </summary>
public sealed record InvitationPreviewDto(string Email, string TenantName, string Role, DateTimeOffset ExpiresAt, bool ExistingAccount);

/// <summary>
/// <c>/api/v1/auth</c>: password reset (request → mailed single-use link → new password, every session revoked),
/// email verification and the invitation preview. Anonymous calls are limited per client address
/// (<see cref="AccountOptions.AuthRequestsPerMinutePerIp"/>: 429 <c>RATE_LIMITED</c>) and mail per address per hour.
/// </summary>
internal static class AccountRecoveryApi
{
    private const string ResetAnswer = "If an account uses this email, a link to reset its password is on its way.";

    public static RouteGroupBuilder MapAccountRecovery(this RouteGroupBuilder auth)
    {
        auth.MapPost("/password-reset", RequestResetAsync).AllowAnonymous().WithSummary("Email a password-reset link")
            .WithDescription("Answers 202 with the same body whether or not the email has an account (no enumeration); at most "
                + "Switchboard:Email:MaxTokenEmailsPerHour mails per address per hour.")
            .ProducesErrors(400, 422, 429);
        auth.MapPost("/password-reset/confirm", ConfirmResetAsync).AllowAnonymous().WithSummary("Set a new password with a reset link's token")
            .WithDescription("The token works once and expires (Switchboard:Email:ResetTokenMinutes); success revokes every session of the user. "
                + "400 TOKEN_INVALID for an unknown, used or expired token.")
            .ProducesErrors(400, 422, 429);
        auth.MapPost("/verify-email", VerifyEmailAsync).AllowAnonymous().WithSummary("Confirm an email with the verification link's token")
            .ProducesErrors(400, 429);
        auth.MapPost("/verify-email/resend", ResendVerificationAsync).RequireAuthorization(SessionAuthentication.SignedInPolicy)
            .WithSummary("Email a new verification link to the signed-in user").ProducesErrors(400, 401, 403, 409, 429);
        auth.MapPost("/invitations/preview", PreviewInvitationAsync).AllowAnonymous().WithSummary("What an invitation token is for")
            .ProducesErrors(400, 404, 429);
        return auth;
    }

    private static async Task<Results<Accepted<AcceptedDto>, JsonHttpResult<ErrorEnvelope>>> RequestResetAsync(
        PasswordResetRequest body, HttpContext http, AccountRecovery recovery, CancellationToken ct)
    {
        var email = body.Email is null ? null : AccountService.NormalizeEmail(body.Email);
        if (!Validation.IsEmail(email))
        {
            return new Validation().Add("email", "must be a valid email address").Result();
        }
        // As typed: an account that kept an older form of its address at the NFKC pass is found by that form (AccountService.FindByEmailAsync).
        await recovery.RequestPasswordResetAsync(body.Email!, http.Connection.RemoteIpAddress?.ToString(), ct);
        return TypedResults.Accepted((string?)null, new AcceptedDto(ResetAnswer));
    }

    private static async Task<Results<NoContent, JsonHttpResult<ErrorEnvelope>>> ConfirmResetAsync(
        PasswordResetConfirm body, HttpContext http, AccountRecovery recovery, AccountService accounts, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(body.Token) || body.Token.Length > 200)
        {
            return ApiError.BadRequest("TOKEN_INVALID", "This reset link is unknown, used or expired: ask for a new one.");
        }
        if (accounts.PasswordProblem(body.Password, null) is { } problem)
        {
            return new Validation().Add("password", problem).Result();
        }
        var (result, _) = await recovery.ResetPasswordAsync(body.Token, body.Password!, http.Connection.RemoteIpAddress?.ToString(), ct);
        return result == AccountRecovery.TokenUse.Ok
            ? TypedResults.NoContent()
            : ApiError.BadRequest("TOKEN_INVALID", "This reset link is unknown, used or expired: ask for a new one.");
    }

    private static async Task<Results<Ok<EmailVerifiedDto>, JsonHttpResult<ErrorEnvelope>>> VerifyEmailAsync(
        TokenRequest body, AccountRecovery recovery, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(body.Token) || body.Token.Length > 200)
        {
            return ApiError.BadRequest("TOKEN_INVALID", "This verification link is unknown, used or expired.");
        }
        var (result, user) = await recovery.VerifyEmailAsync(body.Token, ct);
        return result == AccountRecovery.TokenUse.Ok
            ? TypedResults.Ok(new EmailVerifiedDto(user!.Email, true))
            : ApiError.BadRequest("TOKEN_INVALID", "This verification link is unknown, used or expired.");
    }

    private static async Task<Results<Accepted<AcceptedDto>, JsonHttpResult<ErrorEnvelope>>> ResendVerificationAsync(
        HttpContext http, AccountRecovery recovery, SwitchboardDbContext db, CancellationToken ct)
    {
        var caller = Caller.From(http);
        if (caller.UserId is not { } userId)
        {
            return ApiError.BadRequest("NOT_A_SESSION", "Only a signed-in user has an email to verify.");
        }
        var user = await db.Users.FirstAsync(u => u.Id == userId, ct);
        if (user.EmailVerifiedAt is not null)
        {
            return ApiError.Conflict("ALREADY_VERIFIED", "This email is already verified.");
        }
        if (!await recovery.SendVerificationAsync(user, caller.TenantId, ct))
        {
            return ApiError.Create(429, "TOO_MANY_EMAILS", "Several links were sent in the last hour: check your inbox, or try again later.");
        }
        return TypedResults.Accepted((string?)null, new AcceptedDto("A verification link is on its way."));
    }

    private static async Task<Results<Ok<InvitationPreviewDto>, JsonHttpResult<ErrorEnvelope>>> PreviewInvitationAsync(
        TokenRequest body, SwitchboardDbContext db, TimeProvider clock, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(body.Token))
        {
            return new Validation().Add("token", "is required").Result();
        }
        if (body.Token.Length > 200)
        {
            return ApiError.NotFound("INVITATION_NOT_FOUND", "This invitation is unknown, used, revoked or expired."); // no token is that long
        }
        var now = clock.GetUtcNow();
        var hash = ApiKeys.Hash(body.Token.Trim());
        var invitation = await db.Invitations.IgnoreQueryFilters().AsNoTracking()
            .Where(i => i.TokenHash == hash && i.AcceptedAt == null && i.RevokedAt == null && i.ExpiresAt > now)
            .Join(db.Tenants, i => i.TenantId, t => t.Id, (i, t) => new { i.Email, t.Name, i.Role, i.ExpiresAt })
            .FirstOrDefaultAsync(ct);
        if (invitation is null)
        {
            return ApiError.NotFound("INVITATION_NOT_FOUND", "This invitation is unknown, used, revoked or expired.");
        }
        var existing = await db.Users.AnyAsync(u => u.Email == invitation.Email, ct);
        return TypedResults.Ok(new InvitationPreviewDto(invitation.Email, invitation.Name, invitation.Role, invitation.ExpiresAt, existing));
    }
}
