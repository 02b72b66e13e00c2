using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.Options;
using Switchboard.Compliance;
using Switchboard.Platform.Database;
using Switchboard.Platform.Http;

namespace Switchboard.Tenancy;

/// <summary>A member of the tenant.</summary>
public sealed record MemberDto(Guid UserId, string Email, string? FullName, string Role, DateTimeOffset JoinedAt);

/// <summary>Changes a member's role: <c>owner</c>, <c>admin</c> or <c>member</c>.</summary>
public sealed record RoleChange(string? Role);

/// <summary>Invites someone by email with a role.</summary>
public sealed record InvitationRequest(string? Email, string? Role);

/// <summary>
/// An invitation. Its token is only emailed to the invitee (a link to <c>/invitations/accept?token=…</c>), never returned to
/// the inviter: accepting it proves the invitee reads that mailbox, so the new account's email is verified.
/// </summary>
public sealed record InvitationDto(Guid Id, string Email, string Role, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt, DateTimeOffset? AcceptedAt, DateTimeOffset? RevokedAt);

/// <summary>
/// <c>/api/v1/team</c>: members and invitations. Admins manage admins and members; only owners grant, change or
/// remove the owner role; the last owner cannot be demoted or removed (409 <c>LAST_OWNER</c>), even by two owners at once.
/// Team management is for signed-in people: a secret API key gets 403 on every <see cref="Permission.ManageTeam"/> route.
/// </summary>
internal static class TeamApi
{
    public static RouteGroupBuilder MapTeam(this RouteGroupBuilder api)
    {
        var team = api.MapGroup("/team").WithTags("Team");
        team.MapGet("/members", ListMembersAsync).RequirePermission(Permission.Read).WithSummary("The tenant's members");
        team.MapPatch("/members/{userId:guid}", ChangeRoleAsync).RequirePermission(Permission.ManageTeam).WithSummary("Change a member's role")
            .ProducesErrors(400, 403, 404, 409, 422);
        team.MapDelete("/members/{userId:guid}", RemoveMemberAsync).RequirePermission(Permission.ManageTeam).WithSummary("Remove a member")
            .ProducesErrors(403, 404, 409);
        team.MapGet("/invitations", ListInvitationsAsync).RequirePermission(Permission.ManageTeam).WithSummary("Pending and past invitations");
        team.MapPost("/invitations", InviteAsync).RequirePermission(Permission.ManageTeam).WithSummary("Invite someone by email")
            .ProducesErrors(400, 403, 409, 422);
        team.MapDelete("/invitations/{id:guid}", RevokeInvitationAsync).RequirePermission(Permission.ManageTeam).WithSummary("Revoke an invitation")
            .ProducesErrors(403, 404);
        return api;
    }

    private static async Task<Ok<List<MemberDto>>> ListMembersAsync(SwitchboardDbContext db, CancellationToken ct) =>
        TypedResults.Ok(await db.Memberships.AsNoTracking().OrderBy(m => m.CreatedAt)
            .Join(db.Users, m => m.UserId, u => u.Id, (m, u) => new MemberDto(u.Id, u.Email, u.FullName, m.Role, m.CreatedAt))
            .ToListAsync(ct));

    private static async Task<Results<Ok<MemberDto>, JsonHttpResult<ErrorEnvelope>>> ChangeRoleAsync(
        Guid userId, RoleChange body, HttpContext http, SwitchboardDbContext db, AuditLog audit, CancellationToken ct)
    {
        if (!Roles.IsValid(body.Role))
        {
            return new Validation().Add("role", "must be owner, admin or member").Result();
        }
        var caller = Caller.From(http);
        await using var tx = await LockOwnersAsync(db, caller.TenantId!.Value, ct);
        var membership = await db.Memberships.FirstOrDefaultAsync(m => m.UserId == userId, ct);
        if (membership is null)
        {
            return ApiError.NotFound("MEMBER_NOT_FOUND", "No such member.");
        }
        if ((membership.Role == Roles.Owner || body.Role == Roles.Owner) && !caller.Can(Permission.ManageOwners))
        {
            return ApiError.Forbidden("INSUFFICIENT_ROLE", "Only an owner can grant or change the owner role.");
        }
        if (membership.Role == Roles.Owner && body.Role != Roles.Owner && await db.Memberships.CountAsync(m => m.Role == Roles.Owner, ct) <= 1)
        {
            return ApiError.Conflict("LAST_OWNER", "The tenant needs at least one owner.");
        }
        var before = membership.Role;
        membership.Role = body.Role!;
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        await audit.AppendAsync(caller.TenantId, caller.Actor, "team.role_changed", "user:" + userId, new { from = before, to = body.Role }, ct);
        var user = await db.Users.AsNoTracking().FirstAsync(u => u.Id == userId, ct);
        return TypedResults.Ok(new MemberDto(user.Id, user.Email, user.FullName, membership.Role, membership.CreatedAt));
    }

    private static async Task<Results<NoContent, JsonHttpResult<ErrorEnvelope>>> RemoveMemberAsync(
        Guid userId, HttpContext http, SwitchboardDbContext db, AuditLog audit, Dashboard.ILiveEventTransport live, CancellationToken ct)
    {
        var caller = Caller.From(http);
        await using var tx = await LockOwnersAsync(db, caller.TenantId!.Value, ct);
        var membership = await db.Memberships.FirstOrDefaultAsync(m => m.UserId == userId, ct);
        if (membership is null)
        {
            return ApiError.NotFound("MEMBER_NOT_FOUND", "No such member.");
        }
        if (membership.Role == Roles.Owner && !caller.Can(Permission.ManageOwners))
        {
            return ApiError.Forbidden("INSUFFICIENT_ROLE", "Only an owner can remove an owner.");
        }
        if (membership.Role == Roles.Owner && await db.Memberships.CountAsync(m => m.Role == Roles.Owner, ct) <= 1)
        {
            return ApiError.Conflict("LAST_OWNER", "The tenant needs at least one owner.");
        }
        db.Memberships.Remove(membership);
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        await live.RevokeAccessAsync(Dashboard.AccessRevocation.Member(caller.TenantId.Value, userId)); // their open streams of this tenant end now
        await audit.AppendAsync(caller.TenantId, caller.Actor, "team.member_removed", "user:" + userId, null, ct);
        return TypedResults.NoContent();
    }

    /// <summary>
    /// Begins the transaction of a role change or removal holding the tenant's row lock (<see cref="TenantRowLock"/>), so the
    /// owners are counted after any concurrent change has committed: two owners demoting or removing each other at once leave
    /// one owner (the second gets 409 <c>LAST_OWNER</c>), where both counts used to see two owners and the tenant was left with none.
    /// </summary>
    private static Task<IDbContextTransaction> LockOwnersAsync(SwitchboardDbContext db, Guid tenantId, CancellationToken ct) =>
        TenantRowLock.BeginAsync(db, tenantId, ct);

    private static async Task<Ok<List<InvitationDto>>> ListInvitationsAsync(SwitchboardDbContext db, CancellationToken ct) =>
        TypedResults.Ok(await db.Invitations.AsNoTracking().OrderByDescending(i => i.CreatedAt)
            .Select(i => new InvitationDto(i.Id, i.Email, i.Role, i.CreatedAt, i.ExpiresAt, i.AcceptedAt, i.RevokedAt)).ToListAsync(ct));

    private static async Task<Results<Created<InvitationDto>, JsonHttpResult<ErrorEnvelope>>> InviteAsync(
        InvitationRequest body, HttpContext http, SwitchboardDbContext db, AuditLog audit, TimeProvider clock, IOptions<AccountOptions> options,
        Switchboard.Email.Mailer mailer, CancellationToken ct)
    {
        var email = body.Email is null ? null : AccountService.NormalizeEmail(body.Email);
        var v = new Validation();
        if (!Validation.IsEmail(email))
        {
            v.Add("email", "must be a valid email address");
        }
        if (!Roles.IsValid(body.Role))
        {
            v.Add("role", "must be owner, admin or member");
        }
        if (!v.IsValid)
        {
            return v.Result();
        }
        var caller = Caller.From(http);
        if (body.Role == Roles.Owner && !caller.Can(Permission.ManageOwners))
        {
            return ApiError.Forbidden("INSUFFICIENT_ROLE", "Only an owner can invite an owner.");
        }
        // Under the tenant's row lock: of two invitations of one address at once (a double click, a resend with another role),
        // the second sees and revokes the first; without it both read "nothing pending" and both links stayed live.
        await using var tx = await TenantRowLock.BeginAsync(db, caller.TenantId!.Value, ct);
        if (await db.Memberships.Join(db.Users, m => m.UserId, u => u.Id, (m, u) => u.Email).AnyAsync(e => e == email, ct))
        {
            return ApiError.Conflict("ALREADY_MEMBER", "This person is already a member.");
        }
        var now = clock.GetUtcNow();
        // Inviting the same address again is a resend: the pending invitation is revoked and this one replaces it, so one
        // address never has two live links (accepting one left the other pending, with its own role).
        var pending = await db.Invitations.Where(i => i.Email == email && i.AcceptedAt == null && i.RevokedAt == null && i.ExpiresAt > now).ToListAsync(ct);
        foreach (var old in pending)
        {
            old.RevokedAt = now;
        }
        var token = "inv_" + ApiKeys.GenerateWebhookSecret();
        var invitation = new Invitation
        {
            Id = Guid.CreateVersion7(),
            TenantId = caller.TenantId!.Value,
            Email = email!,
            Role = body.Role!,
            TokenHash = ApiKeys.Hash(token),
            InvitedByUserId = caller.UserId,
            CreatedAt = now,
            ExpiresAt = now.AddDays(options.Value.InvitationDays),
        };
        db.Invitations.Add(invitation);
        var tenantName = await db.Tenants.Where(t => t.Id == invitation.TenantId).Select(t => t.Name).FirstAsync(ct);
        mailer.Invitation(invitation.TenantId, invitation.Email, tenantName, invitation.Role, token, invitation.ExpiresAt); // same transaction: email.send outbox row
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        await audit.AppendAsync(caller.TenantId, caller.Actor, "team.invited", "invitation:" + invitation.Id,
            new { role = invitation.Role, replaced = pending.Select(i => i.Id).ToList() }, ct);
        return TypedResults.Created($"/api/v1/team/invitations/{invitation.Id}",
            new InvitationDto(invitation.Id, invitation.Email, invitation.Role, invitation.CreatedAt, invitation.ExpiresAt, null, null));
    }

    private static async Task<Results<NoContent, JsonHttpResult<ErrorEnvelope>>> RevokeInvitationAsync(
        Guid id, HttpContext http, SwitchboardDbContext db, AuditLog audit, TimeProvider clock, CancellationToken ct)
    {
        // One conditional UPDATE, as for API keys: only the revocation that revoked it audits it; again is a 204 no-op.
        var now = clock.GetUtcNow();
        if (await db.Invitations.Where(i => i.Id == id && i.RevokedAt == null).ExecuteUpdateAsync(s => s.SetProperty(i => i.RevokedAt, now), ct) == 0)
        {
            return await db.Invitations.AnyAsync(i => i.Id == id, ct) ? TypedResults.NoContent() : ApiError.NotFound("INVITATION_NOT_FOUND", "No such invitation.");
        }
        var caller = Caller.From(http);
        await audit.AppendAsync(caller.TenantId, caller.Actor, "team.invitation_revoked", "invitation:" + id, null, ct);
        return TypedResults.NoContent();
    }
}
