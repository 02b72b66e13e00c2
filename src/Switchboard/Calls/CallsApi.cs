using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Switchboard.Alerts;
using Switchboard.Platform.Database;
using Switchboard.Platform.Http;

namespace Switchboard.Calls;

/// <summary>One page of results, newest first.</summary>
public sealed record Paged<T>(IReadOnlyList<T> Items, int Page, int PageSize, int Total);

/// <summary>A call in a list.</summary>
public sealed record CallSummary(
    Guid Id, string Channel, string Provider, string ProviderCallId, string Status, string? CustomerNumber,
    DateTimeOffset? StartedAt, DateTimeOffset? EndedAt, double? DurationSeconds, string? EndedReason, string? Summary,
    string? Urgency, DateTimeOffset CreatedAt);

/// <summary>One transcript turn. <c>SecondsFromStart</c> in seconds.</summary>
public sealed record TurnDto(int Seq, string Role, string Text, double? SecondsFromStart, DateTimeOffset? At);

/// <summary>A call's lead.</summary>
public sealed record LeadDto(Guid Id, string? Name, string? Phone, string? Address, string? Problem, string Urgency, string Source, DateTimeOffset CreatedAt);

/// <summary>An SMS in the log. Status: scheduled, queued, sending, sent, delivered, failed, simulated, received.</summary>
public sealed record SmsDto(
    Guid Id, Guid? CallId, string Direction, string Purpose, string To, string? From, string Body, string Status,
    string? MessageSid, string? ErrorCode, string? ErrorMessage, int Attempts, DateTimeOffset? SendAfter, DateTimeOffset CreatedAt, DateTimeOffset? SentAt);

/// <summary>A call with everything known about it. Cost in USD, duration in seconds.</summary>
public sealed record CallDetail(
    Guid Id, string Channel, string Provider, string ProviderCallId, string? CallSid, string? Type, string Status,
    string? CustomerNumber, string? BusinessNumber, DateTimeOffset? StartedAt, DateTimeOffset? EndedAt, double? DurationSeconds,
    string? EndedReason, decimal? Cost, string? RecordingUrl, string? StereoRecordingUrl, string? Summary,
    JsonElement? StructuredData, string? SuccessEvaluation, IReadOnlyList<TurnDto> Transcript, LeadDto? Lead,
    IReadOnlyList<SmsDto> Sms, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

/// <summary><c>/api/v1/calls</c> and <c>/api/v1/sms</c>: the tenant's conversations and SMS log. Reads are scoped to the key's tenant.</summary>
internal static class CallsApi
{
    public static RouteGroupBuilder MapCalls(this RouteGroupBuilder api)
    {
        api.MapGet("/calls", ListCallsAsync).WithTags("Calls").WithSummary("List calls, newest first")
            .WithDescription("Filters: from/to (ISO-8601, on the call's creation time), status, urgency (emergency|soon|routine), q (text in transcript or summary).");
        api.MapGet("/calls/{id:guid}", GetCallAsync).WithTags("Calls").WithSummary("A call with its transcript, lead and SMS");
        api.MapGet("/sms", ListSmsAsync).WithTags("SMS").WithSummary("The SMS log, newest first");
        return api;
    }

    private static async Task<Results<Ok<Paged<CallSummary>>, JsonHttpResult<ErrorEnvelope>>> ListCallsAsync(
        SwitchboardDbContext db, DateTimeOffset? from, DateTimeOffset? to, string? status, string? urgency, string? q,
        int? page, int? pageSize, CancellationToken ct)
    {
        if (Paging(page, pageSize) is { } error)
        {
            return error;
        }
        if (from is { } f && to is { } t && f > t)
        {
            return ApiError.Unprocessable("INVALID_RANGE", "'from' must not be after 'to'.");
        }
        if (urgency is not null && Urgency.Normalize(urgency) is null)
        {
            return ApiError.Unprocessable("INVALID_FILTER", "urgency must be emergency, soon or routine.");
        }
        var query = db.Calls.AsNoTracking();
        if (from is { } start)
        {
            query = query.Where(c => c.CreatedAt >= start.ToUniversalTime());
        }
        if (to is { } end)
        {
            query = query.Where(c => c.CreatedAt <= end.ToUniversalTime());
        }
        if (!string.IsNullOrWhiteSpace(status))
        {
            query = query.Where(c => c.Status == status);
        }
        if (urgency is not null)
        {
            var level = Urgency.Normalize(urgency);
            query = query.Where(c => db.Leads.Any(l => l.CallId == c.Id && l.Urgency == level));
        }
        if (!string.IsNullOrWhiteSpace(q))
        {
            var pattern = "%" + q.Trim().ToLowerInvariant().Replace("\\", "\\\\").Replace("%", "\\%").Replace("_", "\\_") + "%";
            query = query.Where(c => EF.Functions.Like(c.TranscriptText!.ToLower(), pattern, "\\") || EF.Functions.Like(c.Summary!.ToLower(), pattern, "\\"));
        }
        var (p, size) = (page ?? 1, pageSize ?? 20);
        var total = await query.CountAsync(ct);
        var items = await query.OrderByDescending(c => c.CreatedAt).ThenByDescending(c => c.Id)
            .Skip((p - 1) * size).Take(size)
            .Select(c => new CallSummary(c.Id, c.Channel, c.Provider, c.ProviderCallId, c.Status, c.CustomerNumber, c.StartedAt, c.EndedAt,
                c.DurationSeconds, c.EndedReason, c.Summary, db.Leads.Where(l => l.CallId == c.Id).Select(l => l.Urgency).FirstOrDefault(), c.CreatedAt))
            .ToListAsync(ct);
        return TypedResults.Ok(new Paged<CallSummary>(items, p, size, total));
    }

    private static async Task<Results<Ok<CallDetail>, JsonHttpResult<ErrorEnvelope>>> GetCallAsync(Guid id, SwitchboardDbContext db, CancellationToken ct)
    {
        var call = await db.Calls.AsNoTracking().FirstOrDefaultAsync(c => c.Id == id, ct);
        if (call is null)
        {
            return ApiError.NotFound("CALL_NOT_FOUND", "No such call.");
        }
        var turns = await db.TranscriptTurns.AsNoTracking().Where(t => t.CallId == id).OrderBy(t => t.Seq)
            .Select(t => new TurnDto(t.Seq, t.Role, t.Text, t.SecondsFromStart, t.At)).ToListAsync(ct);
        var lead = await db.Leads.AsNoTracking().Where(l => l.CallId == id)
            .Select(l => new LeadDto(l.Id, l.Name, l.Phone, l.Address, l.Problem, l.Urgency, l.Source, l.CreatedAt)).FirstOrDefaultAsync(ct);
        var sms = await db.SmsMessages.AsNoTracking().Where(s => s.CallId == id).OrderBy(s => s.CreatedAt).ToListAsync(ct);
        // The recording is served through the host (RecordingsApi): provider URLs and credentials stay server-side.
        JsonElement? structured = call.StructuredDataJson is null ? null : JsonDocument.Parse(call.StructuredDataJson).RootElement.Clone();
        return TypedResults.Ok(new CallDetail(call.Id, call.Channel, call.Provider, call.ProviderCallId, call.CallSid, call.Type, call.Status,
            call.CustomerNumber, call.BusinessNumber, call.StartedAt, call.EndedAt, call.DurationSeconds, call.EndedReason, call.Cost,
            call.RecordingUrl is null ? null : Dashboard.RecordingsApi.PathFor(call.Id), null, call.Summary, structured, call.SuccessEvaluation, turns, lead,
            sms.Select(ToDto).ToList(), call.CreatedAt, call.UpdatedAt));
    }

    private static async Task<Results<Ok<Paged<SmsDto>>, JsonHttpResult<ErrorEnvelope>>> ListSmsAsync(
        SwitchboardDbContext db, string? status, int? page, int? pageSize, CancellationToken ct)
    {
        if (Paging(page, pageSize) is { } error)
        {
            return error;
        }
        var query = db.SmsMessages.AsNoTracking();
        if (!string.IsNullOrWhiteSpace(status))
        {
            query = query.Where(s => s.Status == status);
        }
        var (p, size) = (page ?? 1, pageSize ?? 20);
        var total = await query.CountAsync(ct);
        var rows = await query.OrderByDescending(s => s.CreatedAt).ThenByDescending(s => s.Id).Skip((p - 1) * size).Take(size).ToListAsync(ct);
        return TypedResults.Ok(new Paged<SmsDto>(rows.Select(ToDto).ToList(), p, size, total));
    }

    private static JsonHttpResult<ErrorEnvelope>? Paging(int? page, int? pageSize) =>
        page is < 1 ? ApiError.Unprocessable("INVALID_PAGE", "page starts at 1.")
        : pageSize is < 1 or > 100 ? ApiError.Unprocessable("INVALID_PAGE_SIZE", "pageSize must be between 1 and 100.")
        : null;

    private static SmsDto ToDto(SmsMessage s) => new(s.Id, s.CallId, s.Direction, s.Purpose, s.To, s.From, s.Body, s.Status,
        s.MessageSid, s.ErrorCode, s.ErrorMessage, s.Attempts, s.SendAfter, s.CreatedAt, s.SentAt);
}
