using System.Buffers.Text;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Switchboard.Compliance;
using Switchboard.Platform.Database;
using Switchboard.Platform.Http;
using Switchboard.Tenancy;
using Switchboard.Webhooks;

namespace Switchboard.Calls;

/// <summary>
/// A lead in the inbox. <c>Urgency</c>: emergency, soon or routine. <c>Status</c>: new, contacted, booked or lost.
/// <c>Source</c>: structured-data, tool, transcript or transfer (a cold transfer nobody answered). <c>Notes</c> ≤ 4000 characters.
/// </summary>
public sealed record LeadItem(
    Guid Id, Guid CallId, string? Name, string? Phone, string? Address, string? Problem, string Urgency, string Status,
    string? Notes, Guid? AssigneeUserId, string Source, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    internal static LeadItem From(Lead l) => new(l.Id, l.CallId, l.Name, l.Phone, l.Address, l.Problem, l.Urgency, l.Status, l.Notes,
        l.AssigneeUserId, l.Source, l.CreatedAt, l.UpdatedAt);
}

/// <summary>One page of leads, newest first; pass <c>NextCursor</c> as <c>cursor</c> for the next page (null on the last).</summary>
public sealed record LeadPage(IReadOnlyList<LeadItem> Items, string? NextCursor);

/// <summary>
/// The changes <c>PATCH /api/v1/leads/{id}</c> accepts; a field left out is left as it is. <c>Status</c>: new, contacted,
/// booked or lost (new → contacted → booked/lost; booked/lost straight from new; reopen to new). <c>Notes</c> ≤ 4000
/// characters (empty clears), multi-line, without bidirectional overrides or control characters other than tab and line
/// breaks (<see cref="Validation.Text"/>; 422 <c>VALIDATION_FAILED</c> naming <c>notes</c>). <c>AssigneeUserId</c>: a member
/// of the tenant, or null to unassign.
/// </summary>
public sealed record LeadPatch(string? Status, string? Notes, Guid? AssigneeUserId);

/// <summary><c>/api/v1/leads</c>: the leads inbox and its workflow (status, notes, assignee), audited and announced.</summary>
internal static class LeadsApi
{
    public const int MaxNotes = 4000;

    public static RouteGroupBuilder MapLeads(this RouteGroupBuilder api)
    {
        api.MapGet("/leads", ListAsync).WithTags("Leads").WithSummary("List leads, newest first (keyset paging)")
            .WithDescription("Filters: status (new|contacted|booked|lost), urgency (emergency|urgent|routine; soon = urgent), q (name, phone, address, problem, notes). " +
                             "pageSize 1–100 (default 20); cursor from the previous page's nextCursor.")
            .RequirePermission(Permission.Read).ProducesErrors(401, 403, 422);
        api.MapGet("/leads/{id:guid}", GetAsync).WithTags("Leads").WithSummary("A lead").RequirePermission(Permission.Read).ProducesErrors(401, 403, 404);
        // Working the inbox is everyday work, not configuration: any member of the tenant may do it.
        api.MapPatch("/leads/{id:guid}", PatchAsync).WithTags("Leads").WithSummary("Change a lead's status, notes or assignee")
            .WithDescription("Writes an audit entry (lead.updated) and emits the webhook and live event lead.updated.")
            .Accepts<LeadPatch>("application/json").RequirePermission(Permission.Read).ProducesErrors(400, 401, 403, 404, 422);
        return api;
    }

    private static async Task<Results<Ok<LeadPage>, JsonHttpResult<ErrorEnvelope>>> ListAsync(
        SwitchboardDbContext db, string? status, string? urgency, string? q, string? cursor, int? pageSize, CancellationToken ct)
    {
        if (status is not null && !LeadStatus.IsKnown(status))
        {
            return ApiError.Unprocessable("INVALID_FILTER", "status must be new, contacted, booked or lost.");
        }
        // As on /api/v1/calls: "urgent" is the middle level (stored "soon"), not an alias of emergency.
        var level = urgency is null ? null : string.Equals(urgency.Trim(), "urgent", StringComparison.OrdinalIgnoreCase) ? Urgency.Soon : Urgency.Normalize(urgency);
        if (urgency is not null && level is null)
        {
            return ApiError.Unprocessable("INVALID_FILTER", "urgency must be emergency, urgent (or soon) or routine.");
        }
        if (pageSize is < 1 or > 100)
        {
            return ApiError.Unprocessable("INVALID_PAGE_SIZE", "pageSize must be between 1 and 100.");
        }
        (DateTimeOffset At, Guid Id)? after = null;
        if (!string.IsNullOrEmpty(cursor))
        {
            if (DecodeCursor(cursor) is not { } decoded)
            {
                return ApiError.Unprocessable("INVALID_CURSOR", "cursor is not one this API returned.");
            }
            after = decoded;
        }
        var query = db.Leads.AsNoTracking();
        if (status is not null)
        {
            query = query.Where(l => l.Status == status);
        }
        if (level is not null)
        {
            query = query.Where(l => l.Urgency == level);
        }
        if (!string.IsNullOrWhiteSpace(q))
        {
            var pattern = "%" + q.Trim().ToLowerInvariant().Replace("\\", "\\\\").Replace("%", "\\%").Replace("_", "\\_") + "%";
            query = query.Where(l => EF.Functions.Like(l.Name!.ToLower(), pattern, "\\") || EF.Functions.Like(l.Phone!.ToLower(), pattern, "\\")
                || EF.Functions.Like(l.Address!.ToLower(), pattern, "\\") || EF.Functions.Like(l.Problem!.ToLower(), pattern, "\\")
                || EF.Functions.Like(l.Notes!.ToLower(), pattern, "\\"));
        }
        if (after is { } a)
        {
            query = query.Where(l => l.CreatedAt < a.At || (l.CreatedAt == a.At && l.Id.CompareTo(a.Id) < 0));
        }
        var size = pageSize ?? 20;
        var rows = await query.OrderByDescending(l => l.CreatedAt).ThenByDescending(l => l.Id).Take(size + 1).ToListAsync(ct);
        var next = rows.Count > size ? EncodeCursor(rows[size - 1].CreatedAt, rows[size - 1].Id) : null;
        return TypedResults.Ok(new LeadPage(rows.Take(size).Select(LeadItem.From).ToList(), next));
    }

    private static async Task<Results<Ok<LeadItem>, JsonHttpResult<ErrorEnvelope>>> GetAsync(Guid id, SwitchboardDbContext db, CancellationToken ct)
    {
        var lead = await db.Leads.AsNoTracking().FirstOrDefaultAsync(l => l.Id == id, ct);
        return lead is null ? ApiError.NotFound("LEAD_NOT_FOUND", "No such lead.") : TypedResults.Ok(LeadItem.From(lead));
    }

    private static async Task<Results<Ok<LeadItem>, JsonHttpResult<ErrorEnvelope>>> PatchAsync(
        Guid id, JsonElement body, HttpContext http, SwitchboardDbContext db, WebhookEventPublisher webhooks, AuditLog audit, TimeProvider clock,
        CancellationToken ct)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            return ApiError.Unprocessable("INVALID_BODY", "The body must be a JSON object.");
        }
        var v = new Validation();
        string? status = null;
        string? notes = null;
        var notesGiven = false;
        Guid? assignee = null;
        var assigneeGiven = false;
        foreach (var p in body.EnumerateObject())
        {
            switch (p.Name)
            {
                case "status":
                    status = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString() : null;
                    if (!LeadStatus.IsKnown(status))
                    {
                        v.Add("status", "must be new, contacted, booked or lost");
                    }
                    break;
                case "notes":
                    notesGiven = true;
                    if (p.Value.ValueKind == JsonValueKind.String)
                    {
                        notes = p.Value.GetString();
                        v.Text("notes", notes, MaxNotes); // staff read them: no bidi overrides or controls (line breaks and tabs are fine)
                    }
                    else if (p.Value.ValueKind != JsonValueKind.Null)
                    {
                        v.Add("notes", "must be a string or null");
                    }
                    break;
                case "assigneeUserId":
                    assigneeGiven = true;
                    if (p.Value.ValueKind == JsonValueKind.String && p.Value.TryGetGuid(out var g))
                    {
                        assignee = g;
                    }
                    else if (p.Value.ValueKind != JsonValueKind.Null)
                    {
                        v.Add("assigneeUserId", "must be a user id or null");
                    }
                    break;
                default:
                    v.Add(p.Name, "is not a field of a lead that can be changed (status, notes, assigneeUserId)");
                    break;
            }
        }
        if (!v.IsValid)
        {
            return v.Result();
        }
        var lead = await db.Leads.FirstOrDefaultAsync(l => l.Id == id, ct);
        if (lead is null)
        {
            return ApiError.NotFound("LEAD_NOT_FOUND", "No such lead.");
        }
        if (status is not null && !LeadStatus.CanMove(lead.Status, status))
        {
            return ApiError.Unprocessable("INVALID_TRANSITION", $"A {lead.Status} lead cannot become {status}: reopen it (status new) first.",
                new { from = lead.Status, to = status });
        }
        if (assigneeGiven && assignee is { } userId
            && !await db.Memberships.IgnoreQueryFilters().AnyAsync(m => m.TenantId == lead.TenantId && m.UserId == userId, ct))
        {
            return ApiError.Unprocessable("INVALID_ASSIGNEE", "The assignee must be a member of this organisation.");
        }
        var before = new { lead.Status, lead.AssigneeUserId, lead.Notes };
        if (status is not null)
        {
            lead.Status = status;
        }
        if (notesGiven)
        {
            lead.Notes = string.IsNullOrWhiteSpace(notes) ? null : notes;
        }
        if (assigneeGiven)
        {
            lead.AssigneeUserId = assignee;
        }
        var changed = new Dictionary<string, object?>();
        if (before.Status != lead.Status)
        {
            changed["status"] = new { from = before.Status, to = lead.Status };
        }
        if (before.AssigneeUserId != lead.AssigneeUserId)
        {
            changed["assigneeUserId"] = new { from = before.AssigneeUserId, to = lead.AssigneeUserId };
        }
        if (before.Notes != lead.Notes)
        {
            changed["notes"] = "changed"; // the audit log is kept after erasure: it never holds the notes themselves
        }
        if (changed.Count == 0)
        {
            return TypedResults.Ok(LeadItem.From(lead));
        }
        if (before.Status == LeadStatus.New && lead.Status != LeadStatus.New)
        {
            // Someone has handled the lead: the routine text held for the next opening would tell the office about a customer
            // already called back or booked (an outside probe: booked on Saturday, texted on Monday 07:30). It is canceled.
            var held = await db.SmsMessages.Where(s => s.LeadId == lead.Id && s.Status == "scheduled").ToListAsync(ct);
            foreach (var sms in held)
            {
                sms.Status = "canceled";
                sms.ErrorCode = Alerts.SmsSendHandler.LeadHandledCode;
                sms.ErrorMessage = $"Not sent: the lead was marked {lead.Status} before the business opened.";
            }
            if (held.Count > 0)
            {
                changed["heldAlertsCanceled"] = held.Count;
            }
        }
        lead.UpdatedAt = clock.GetUtcNow();
        await webhooks.LeadUpdatedAsync(lead, before.Status, ct);
        await db.SaveChangesAsync(ct); // the live event lead.updated follows the commit (LiveEventsInterceptor)
        var caller = Caller.From(http);
        await audit.AppendAsync(lead.TenantId, caller.Actor, "lead.updated", "lead:" + lead.Id, changed, ct);
        return TypedResults.Ok(LeadItem.From(lead));
    }

    /// <summary>Opaque keyset cursor: base64url of <c>{createdAt UTC ticks}.{id}</c>.</summary>
    internal static string EncodeCursor(DateTimeOffset at, Guid id) =>
        Base64Url.EncodeToString(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{at.UtcTicks}.{id:N}")));

    internal static (DateTimeOffset, Guid)? DecodeCursor(string cursor)
    {
        try
        {
            var text = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(cursor));
            var dot = text.IndexOf('.', StringComparison.Ordinal);
            return dot > 0 && long.TryParse(text[..dot], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks)
                && ticks <= DateTimeOffset.MaxValue.UtcTicks && Guid.TryParseExact(text[(dot + 1)..], "N", out var id)
                ? (new DateTimeOffset(ticks, TimeSpan.Zero), id) : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
