using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Switchboard.Compliance;
using Switchboard.Onboarding;
using Switchboard.Platform.Database;
using Switchboard.Platform.Http;

namespace Switchboard.Tenancy;

/// <summary>
/// Sign-up: the owner's email and password and the organisation's name; optionally the browser's IANA time zone
/// (<c>America/Toronto</c>) and a BCP 47 locale (<c>en-CA</c>) for the organisation, validated as the onboarding
/// profile validates them (422 with the field's problem). Absent, the organisation starts in <c>UTC</c> and <c>en-US</c>.
/// </summary>
public sealed record SignupRequest(string? Email, string? Password, string? Organisation, string? FullName, string? TimeZone = null, string? Locale = null);

/// <summary>Sign-in; <c>TenantId</c> picks the tenant to act for (default: the oldest membership).</summary>
public sealed record LoginRequest(string? Email, string? Password, Guid? TenantId);

/// <summary>Switches the session to another tenant the user belongs to (any tenant for an operator).</summary>
public sealed record SwitchTenantRequest(Guid TenantId);

/// <summary>Accepts an invitation; a new user sets a password, an existing user proves theirs.</summary>
public sealed record AcceptInvitationRequest(string? Token, string? Password, string? FullName);

/// <summary>
/// <c>/api/v1/auth</c>: sign-up, sign-in, sign-out, the current session, tenant switching and invitation acceptance.
/// Sign-up and sign-in set the <c>sb_session</c> cookie (HttpOnly) and the <c>sb_csrf</c> cookie, and return the CSRF
/// token; anonymous calls here are limited per client address.
/// </summary>
internal static class AccountsApi
{
    public static RouteGroupBuilder MapAccounts(this RouteGroupBuilder auth)
    {
        auth.WithTags("Accounts");
        auth.MapPost("/signup", SignupAsync).AllowAnonymous().WithSummary("Create an organisation (tenant) and its owner, and sign in")
            .ProducesErrors(400, 409, 422, 429);
        auth.MapPost("/login", LoginAsync).AllowAnonymous().WithSummary("Sign in with email and password")
            .WithDescription("After repeated failures the account is locked for a while: 429 ACCOUNT_LOCKED with Retry-After.")
            .ProducesErrors(400, 401, 422, 429);
        auth.MapPost("/logout", LogoutAsync).RequireAuthorization(SessionAuthentication.SignedInPolicy).WithSummary("Sign out (revokes the session)")
            .ProducesErrors(401, 403);
        auth.MapGet("/session", SessionAsync).RequireAuthorization(SessionAuthentication.SignedInPolicy).WithSummary("The current session or API key")
            .ProducesErrors(401);
        auth.MapPost("/switch-tenant", SwitchTenantAsync).RequireAuthorization(SessionAuthentication.SignedInPolicy)
            .WithSummary("Act for another tenant").ProducesErrors(400, 401, 403, 404);
        auth.MapPost("/invitations/accept", AcceptInvitationAsync).AllowAnonymous().WithSummary("Accept an invitation and sign in")
            .ProducesErrors(400, 401, 404, 422, 429);
        auth.MapAccountRecovery(); // password reset, email verification, invitation preview
        return auth;
    }

    private static async Task<Results<Created<SessionInfo>, JsonHttpResult<ErrorEnvelope>>> SignupAsync(
        SignupRequest body, HttpContext http, AccountService accounts, AccountRecovery recovery, SwitchboardDbContext db, AuditLog audit, CancellationToken ct)
    {
        var v = new Validation();
        var email = body.Email is null ? null : AccountService.NormalizeEmail(body.Email);
        if (!Validation.IsEmail(email))
        {
            v.Add("email", "must be a valid email address");
        }
        if (accounts.PasswordProblem(body.Password, email) is { } problem)
        {
            v.Add("password", problem);
        }
        v.Require("organisation", body.Organisation?.Trim()).Name("organisation", body.Organisation).Name("fullName", body.FullName, 200);
        var timeZone = OnboardingService.ValidateZoneAndLocale(v, body.TimeZone, body.Locale);
        if (!v.IsValid)
        {
            return v.Result();
        }
        if (await db.Users.AnyAsync(u => u.Email == email, ct))
        {
            return ApiError.Conflict("EMAIL_TAKEN", "An account with this email exists: sign in instead.");
        }
        User user;
        Tenant tenant;
        try
        {
            (user, tenant) = await accounts.SignUpAsync(email!, body.Password!, body.Organisation!.Trim(), body.FullName?.Trim(), timeZone, body.Locale, ct);
        }
        catch (DbUpdateException)
        {
            return ApiError.Conflict("EMAIL_TAKEN", "An account with this email exists: sign in instead.");
        }
        await recovery.SendVerificationAsync(user, tenant.Id, ct);
        var csrf = await accounts.StartSessionAsync(http, user, tenant.Id, ct);
        var caller = Caller.From(http);
        await audit.AppendAsync(tenant.Id, new AuditActor("user", user.Id.ToString(), caller.Ip), "account.signup", "tenant:" + tenant.Id, null, ct);
        return TypedResults.Created("/api/v1/auth/session", await accounts.DescribeAsync(user.Id, tenant.Id, csrf, ct));
    }

    private static async Task<Results<Ok<SessionInfo>, JsonHttpResult<ErrorEnvelope>>> LoginAsync(
        LoginRequest body, HttpContext http, AccountService accounts, SwitchboardDbContext db, AuditLog audit, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(body.Email) || string.IsNullOrEmpty(body.Password))
        {
            return new Validation().Add("email", "email and password are required").Result();
        }
        var user = await AccountService.FindByEmailAsync(db, body.Email, ct);
        var ip = http.Connection.RemoteIpAddress?.ToString();
        var (result, retryAfter) = await accounts.CheckPasswordAsync(user, body.Password, ip, ct);
        switch (result)
        {
            case AccountService.PasswordCheck.Locked:
                http.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
                return ApiError.Create(429, "ACCOUNT_LOCKED", "Too many failed sign-ins: the account is locked for a while.");
            case AccountService.PasswordCheck.Wrong:
                if (user is null)
                {
                    await audit.AppendAsync(null, new AuditActor("anonymous", null, ip), "auth.login_failed", "unknown-email", null, ct);
                }
                return ApiError.Unauthorized("INVALID_CREDENTIALS", "Wrong email or password.");
        }
        var tenantId = await accounts.ChooseTenantAsync(user!, body.TenantId, ct);
        if (body.TenantId is not null && tenantId is null)
        {
            return ApiError.NotFound("TENANT_NOT_FOUND", "You are not a member of that tenant.");
        }
        var csrf = await accounts.StartSessionAsync(http, user!, tenantId, ct);
        await audit.AppendAsync(tenantId, new AuditActor(user!.IsOperator ? "operator" : "user", user.Id.ToString(), ip), "auth.login", null, null, ct);
        return TypedResults.Ok(await accounts.DescribeAsync(user.Id, tenantId, csrf, ct));
    }

    private static async Task<Results<NoContent, JsonHttpResult<ErrorEnvelope>>> LogoutAsync(HttpContext http, AccountService accounts, AuditLog audit, CancellationToken ct)
    {
        var caller = Caller.From(http);
        if (caller.SessionId is not { } sessionId)
        {
            return ApiError.BadRequest("NOT_A_SESSION", "API keys have no session to end: revoke the key instead.");
        }
        await accounts.EndSessionAsync(http, sessionId, ct);
        await audit.AppendAsync(caller.TenantId, caller.Actor, "auth.logout", null, null, ct);
        return TypedResults.NoContent();
    }

    private static async Task<Results<Ok<SessionInfo>, JsonHttpResult<ErrorEnvelope>>> SessionAsync(
        HttpContext http, AccountService accounts, SwitchboardDbContext db, CancellationToken ct)
    {
        var caller = Caller.From(http);
        if (caller.UserId is { } userId)
        {
            return TypedResults.Ok(await accounts.DescribeAsync(userId, caller.TenantId, http.User.FindFirst(SwitchboardClaims.Csrf)?.Value, ct));
        }
        if (caller.TenantId is { } tenantId)
        {
            var name = await db.Tenants.AsNoTracking().Where(t => t.Id == tenantId).Select(t => t.Name).FirstAsync(ct);
            var tenant = new SessionTenant(tenantId, name, caller.Role ?? Roles.Admin);
            return TypedResults.Ok(new SessionInfo(null, tenant, [tenant], false, null, "api_key"));
        }
        return ApiError.Unauthorized("UNAUTHENTICATED", "No session.");
    }

    private static async Task<Results<Ok<SessionInfo>, JsonHttpResult<ErrorEnvelope>>> SwitchTenantAsync(
        SwitchTenantRequest body, HttpContext http, AccountService accounts, SwitchboardDbContext db, AuditLog audit, CancellationToken ct)
    {
        var caller = Caller.From(http);
        if (caller.SessionId is not { } sessionId || caller.UserId is not { } userId)
        {
            return ApiError.BadRequest("NOT_A_SESSION", "Only a signed-in session can switch tenants.");
        }
        var user = await db.Users.FirstAsync(u => u.Id == userId, ct);
        var tenantId = await accounts.ChooseTenantAsync(user, body.TenantId, ct);
        if (tenantId is null)
        {
            return ApiError.NotFound("TENANT_NOT_FOUND", "No such tenant.");
        }
        await db.UserSessions.Where(s => s.Id == sessionId).ExecuteUpdateAsync(s => s.SetProperty(x => x.TenantId, tenantId), ct);
        await audit.AppendAsync(tenantId, caller.Actor, "auth.switch_tenant", null, null, ct);
        return TypedResults.Ok(await accounts.DescribeAsync(userId, tenantId, http.User.FindFirst(SwitchboardClaims.Csrf)?.Value, ct));
    }

    private static async Task<Results<Ok<SessionInfo>, JsonHttpResult<ErrorEnvelope>>> AcceptInvitationAsync(
        AcceptInvitationRequest body, HttpContext http, AccountService accounts, SwitchboardDbContext db, AuditLog audit, TimeProvider clock, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(body.Token) || string.IsNullOrEmpty(body.Password))
        {
            return new Validation().Add("token", "token and password are required").Result();
        }
        if (new Validation().Name("fullName", body.FullName, 200) is { IsValid: false } badName)
        {
            return badName.Result();
        }
        var now = clock.GetUtcNow();
        var hash = ApiKeys.Hash(body.Token.Trim());
        var invitation = await db.Invitations.IgnoreQueryFilters()
            .FirstOrDefaultAsync(i => i.TokenHash == hash && i.AcceptedAt == null && i.RevokedAt == null && i.ExpiresAt > now, ct);
        if (invitation is null)
        {
            return ApiError.NotFound("INVITATION_NOT_FOUND", "This invitation is unknown, used, revoked or expired.");
        }
        var ip = http.Connection.RemoteIpAddress?.ToString();
        var user = await db.Users.FirstOrDefaultAsync(u => u.Email == invitation.Email, ct);
        if (user is null)
        {
            if (accounts.PasswordProblem(body.Password, invitation.Email) is { } problem)
            {
                return new Validation().Add("password", problem).Result();
            }
            user = new User { Id = Guid.CreateVersion7(), Email = invitation.Email, PasswordHash = "", FullName = body.FullName?.Trim(), CreatedAt = now };
            user.PasswordHash = accounts.HashPassword(user, body.Password);
            db.Users.Add(user);
        }
        else
        {
            var (result, retryAfter) = await accounts.CheckPasswordAsync(user, body.Password, ip, ct);
            if (result == AccountService.PasswordCheck.Locked)
            {
                http.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
                return ApiError.Create(429, "ACCOUNT_LOCKED", "Too many failed sign-ins: the account is locked for a while.");
            }
            if (result == AccountService.PasswordCheck.Wrong)
            {
                return ApiError.Unauthorized("INVALID_CREDENTIALS", "This email has an account: give its password to accept.");
            }
        }
        var existing = await db.Memberships.IgnoreQueryFilters().FirstOrDefaultAsync(m => m.TenantId == invitation.TenantId && m.UserId == user.Id, ct);
        if (existing is null)
        {
            db.Memberships.Add(new Membership { Id = Guid.CreateVersion7(), TenantId = invitation.TenantId, UserId = user.Id, Role = invitation.Role, CreatedAt = now });
        }
        invitation.AcceptedAt = now;
        user.EmailVerifiedAt ??= now; // the token came only by mail to this address (never returned to the inviter: TeamApi)
        await db.SaveChangesAsync(ct);
        var csrf = await accounts.StartSessionAsync(http, user, invitation.TenantId, ct);
        await audit.AppendAsync(invitation.TenantId, new AuditActor("user", user.Id.ToString(), ip), "team.invitation_accepted", "invitation:" + invitation.Id,
            new { role = invitation.Role }, ct);
        return TypedResults.Ok(await accounts.DescribeAsync(user.Id, invitation.TenantId, csrf, ct));
    }
}
