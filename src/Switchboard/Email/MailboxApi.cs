using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Switchboard.Platform.Database;
using Switchboard.Platform.Http;
using Switchboard.Tenancy;

namespace Switchboard.Email;

/// <summary>
/// An account email as the operator's mailbox shows it. <c>Status</c>: <c>queued</c>, <c>sent</c>, <c>mailbox</c>
/// or <c>failed</c>; <c>TextBody</c> of mail sent by SMTP is a placeholder (links are not kept after delivery).
/// </summary>
public sealed record MailboxItemDto(Guid Id, Guid? TenantId, string To, string Subject, string Purpose, string Status, int Attempts, string? Error,
    string TextBody, DateTimeOffset CreatedAt, DateTimeOffset? SentAt);

/// <summary>A page of mailbox emails, newest first.</summary>
public sealed record MailboxPage(List<MailboxItemDto> Items);

/// <summary>
/// <c>/api/v1/operator/mailbox</c> (operators only): every account email of the installation, newest first; in
/// Development without SMTP this is where invitations, reset and verification links are read.
/// </summary>
internal static class MailboxApi
{
    public static RouteGroupBuilder MapMailbox(this RouteGroupBuilder op)
    {
        op.MapGet("/mailbox", ListAsync).WithTags("Operator").WithSummary("Account emails (the local mailbox)")
            .WithDescription("Filters: to (exact address, case-insensitive), limit (1–200, default 50).").ProducesErrors(400, 401, 403);
        op.MapGet("/mailbox/{id:guid}", GetAsync).WithTags("Operator").WithSummary("One account email").ProducesErrors(401, 403, 404);
        return op;
    }

    private static IQueryable<MailboxItemDto> Project(IQueryable<EmailMessage> q) =>
        q.Select(e => new MailboxItemDto(e.Id, e.TenantId, e.To, e.Subject, e.Purpose, e.Status, e.Attempts, e.Error, e.TextBody, e.CreatedAt, e.SentAt));

    private static async Task<Results<Ok<MailboxPage>, JsonHttpResult<ErrorEnvelope>>> ListAsync(
        string? to, int? limit, SwitchboardDbContext db, CancellationToken ct)
    {
        if (limit is < 1 or > 200)
        {
            return new Validation().Add("limit", "must be between 1 and 200").Result();
        }
        if (to is { Length: > 254 })
        {
            return new Validation().Add("to", "must be at most 254 characters").Result();
        }
        var q = db.EmailMessages.AsNoTracking();
        if (!string.IsNullOrWhiteSpace(to))
        {
            var address = AccountService.NormalizeEmail(to);
            q = q.Where(e => e.To == address);
        }
        var items = await Project(q.OrderByDescending(e => e.CreatedAt).ThenByDescending(e => e.Id).Take(limit ?? 50)).ToListAsync(ct);
        return TypedResults.Ok(new MailboxPage(items));
    }

    private static async Task<Results<Ok<MailboxItemDto>, JsonHttpResult<ErrorEnvelope>>> GetAsync(Guid id, SwitchboardDbContext db, CancellationToken ct) =>
        await Project(db.EmailMessages.AsNoTracking().Where(e => e.Id == id)).FirstOrDefaultAsync(ct) is { } item
            ? TypedResults.Ok(item)
            : ApiError.NotFound("EMAIL_NOT_FOUND", "No such email.");
}
