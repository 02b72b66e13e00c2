using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
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
    string? Urgency, DateTimeOffset CreatedAt, Guid? AssistantId = null, string? Direction = null, string? Type = null);

/// <summary>
/// One transcript turn. <c>SecondsFromStart</c> in seconds from the call's start (click-to-seek). Native assistant turns
/// carry their latency in ms: <c>ProviderLatencyMs</c> from the caller's end of speech to the provider's first audio,
/// <c>BridgeLatencyMs</c> from that audio to the first frame sent to Twilio, and <c>LatencyMs</c> their sum (null when not measured).
/// </summary>
public sealed record TurnDto(int Seq, string Role, string Text, double? SecondsFromStart, DateTimeOffset? At,
    double? LatencyMs = null, double? ProviderLatencyMs = null, double? BridgeLatencyMs = null);

/// <summary>A page of calls, newest first (CreatedAt, then Id). <c>NextCursor</c> (opaque) fetches the next page, null on the last;
/// <c>Page</c>, <c>Total</c> and <c>TotalCapped</c> are set only in page-number mode (<c>?page=</c>). The count stops at
/// 10,000: past it <c>Total</c> is 10,000 and <c>TotalCapped</c> true (show "10,000+"), so a page costs the same at any size.</summary>
public sealed record CallPage(IReadOnlyList<CallSummary> Items, int? Page, int PageSize, int? Total, string? NextCursor, bool? TotalCapped = null);

/// <summary>
/// The calls in progress (<c>Status</c> not one of <see cref="CallStatuses.Ended"/>, and not past what closes a call whose end
/// never came: <see cref="CallsApi.Live"/>), newest first: at most
/// <see cref="CallsApi.MaxLiveCalls"/> of them in <c>Items</c>, and <c>Total</c>, how many there are in all. The list's
/// newest page could only tell how many of its own rows were in progress (an in-progress call older than the page was not counted).
/// </summary>
public sealed record LiveCallsDto(IReadOnlyList<CallSummary> Items, int Total);

/// <summary>A webhook event the call caused, with its deliveries' state: <c>DeliveryStatus</c> is <c>none</c> (no endpoint),
/// <c>pending</c>, <c>succeeded</c>, <c>failed</c> or <c>partial</c> (some endpoints failed).</summary>
public sealed record CallWebhookEventDto(Guid Id, string MessageId, string Type, DateTimeOffset CreatedAt, string DeliveryStatus, int Deliveries);

/// <summary>A provider message as received for the call (<c>Body</c> is the raw JSON), for support.</summary>
public sealed record RawEventDto(Guid Id, string Provider, string Type, DateTimeOffset ReceivedAt, DateTimeOffset? ProviderTimestamp, JsonElement Body);

/// <summary>A call's lead, with its workflow status (<c>new</c>, <c>contacted</c>, <c>booked</c>, <c>lost</c>) and notes.</summary>
public sealed record LeadDto(Guid Id, string? Name, string? Phone, string? Address, string? Problem, string Urgency, string Source, DateTimeOffset CreatedAt,
    string Status, string? Notes);

/// <summary>An SMS in the log. Status: scheduled, queued, sending, sent, delivered, failed, simulated, received.</summary>
public sealed record SmsDto(
    Guid Id, Guid? CallId, string Direction, string Purpose, string To, string? From, string Body, string Status,
    string? MessageSid, string? ErrorCode, string? ErrorMessage, int Attempts, DateTimeOffset? SendAfter, DateTimeOffset CreatedAt, DateTimeOffset? SentAt);

/// <summary>
/// Where a web conversation (channel <c>web</c>) came from, read by the widget from the page that opened it: the page URL,
/// the referrer, the UTM parameters and the Google/Meta click ids of the page URL, the allowed origin, the widget's language
/// and the widget's visitor id (the key of an erasure by visitor). Personal data: cleared by the transcript retention
/// policy and erased with the caller.
/// </summary>
public sealed record WebAttributionDto(string Origin, string? PageUrl, string? Referrer, string? UtmSource, string? UtmMedium, string? UtmCampaign,
    string? UtmTerm, string? UtmContent, string? Gclid, string? Fbclid, string Language, string VisitorId);

/// <summary>A call with everything known about it. Cost in USD, duration in seconds. <c>Type</c>: the provider's call type
/// (<c>inboundPhoneCall</c>, <c>outboundPhoneCall</c>, <c>webCall</c>, and the widget's <c>webChat</c> / <c>webVoice</c>);
/// <c>Attribution</c> is set for widget conversations.</summary>
public sealed record CallDetail(
    Guid Id, string Channel, string Provider, string ProviderCallId, string? CallSid, string? Type, string Status,
    string? CustomerNumber, string? BusinessNumber, DateTimeOffset? StartedAt, DateTimeOffset? EndedAt, double? DurationSeconds,
    string? EndedReason, decimal? Cost, string? RecordingUrl, string? StereoRecordingUrl, string? Summary,
    JsonElement? StructuredData, string? SuccessEvaluation, IReadOnlyList<TurnDto> Transcript, LeadDto? Lead,
    IReadOnlyList<SmsDto> Sms, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt,
    IReadOnlyList<CallWebhookEventDto> WebhookEvents, IReadOnlyList<RawEventDto> RawEvents, Guid? AssistantId, string? Language, double? GreetingLatencyMs,
    WebAttributionDto? Attribution = null, IReadOnlyList<CallTransferDto>? Transfers = null);

/// <summary>
/// A live transfer of the call: <c>Provider</c> twilio|vapi, <c>Mode</c> cold|warm, <c>Outcome</c> pending|transferred|no-answer|busy|failed,
/// <c>Number</c> in E.164, <c>AgentCallSid</c> the agent's leg of a warm transfer.
/// </summary>
public sealed record CallTransferDto(Guid Id, string Provider, string Mode, string? Destination, string Number, string? Reason, string Outcome,
    string? AgentCallSid, string? Error, DateTimeOffset CreatedAt, DateTimeOffset? ConnectedAt, DateTimeOffset? EndedAt);

/// <summary><c>/api/v1/calls</c> and <c>/api/v1/sms</c>: the tenant's conversations and SMS log. Reads are scoped to the key's tenant.</summary>
internal static class CallsApi
{
    /// <summary>Page-number mode counts matching calls up to this many (<see cref="CallPage.TotalCapped"/> beyond).</summary>
    internal const int TotalCap = 10_000;

    /// <summary>Most calls in progress <c>GET /calls/live</c> lists (its <c>total</c> counts them all).</summary>
    internal const int MaxLiveCalls = 100;

    /// <summary>Most raw provider events returned with a call (newest kept).</summary>
    private const int MaxRawEvents = 200;

    public static RouteGroupBuilder MapCalls(this RouteGroupBuilder api)
    {
        api.MapGet("/calls", ListCallsAsync).WithTags("Calls").WithName("listCalls").WithSummary("List calls, newest first")
            .WithDescription("Filters (all optional, combined with AND): from/to (ISO-8601, on the call's creation time), status, urgency " +
                "(emergency|urgent|routine), channel (phone|web), direction (inbound|outbound), assistantId, number (3+ digits of the caller's " +
                "number, anywhere in it), hasRecording, minDuration/maxDuration (seconds), endedReason, q (words in the transcript or summary; " +
                "accents and case ignored, whole words). Paging: keyset with cursor (from nextCursor) and pageSize (1-100, " +
                "default 20); or page-number mode with page, which also returns total (counted up to 10,000; totalCapped is then true).")
            .ProducesErrors(422);
        api.MapGet("/calls/live", ListLiveCallsAsync).WithTags("Calls").WithName("listLiveCalls")
            .WithSummary("The calls in progress (not ended), newest first, at most 100, and how many there are in all (total)")
            .WithDescription("A call whose end never came is not in progress once it is past the longest a call can last (12 hours for a " +
                "phone call, 24 hours for a web conversation) or, for a Vapi call, once no message of it came for Switchboard:Vapi:MissingReportMinutes " +
                "(15 by default; the call is then closed without its report).");
        api.MapGet("/calls/export.csv", ExportCallsAsync).WithTags("Calls").WithName("exportCallsCsv")
            .WithSummary("The filtered calls as CSV (same filters as the list), times in the tenant's time zone")
            .Produces<string>(StatusCodes.Status200OK, "text/csv").ProducesErrors(422);
        api.MapGet("/calls/{id:guid}", GetCallAsync).WithTags("Calls").WithName("getCall")
            .WithSummary("A call with its transcript (per-turn timing), lead, SMS, webhook events and raw provider events");
        api.MapGet("/sms", ListSmsAsync).WithTags("SMS").WithName("listSms").WithSummary("The SMS log, newest first").ProducesErrors(422);
        return api;
    }

    private static async Task<Results<Ok<CallPage>, JsonHttpResult<ErrorEnvelope>>> ListCallsAsync(
        HttpContext http, SwitchboardDbContext db, [AsParameters] CallFilter filter, string? cursor, int? page, int? pageSize, CancellationToken ct)
    {
        if (Paging(page, pageSize) is { } error)
        {
            return error;
        }
        if (CallFilter.CommaInDuration(http.Request.Query) is { } comma)
        {
            return comma;
        }
        var (f, invalid) = filter.Validate(await RegionForNumberAsync(db, filter, ct));
        if (invalid is not null)
        {
            return invalid;
        }
        (DateTimeOffset, Guid)? after = null;
        if (!string.IsNullOrEmpty(cursor))
        {
            if (page is not null)
            {
                return ApiError.Unprocessable("INVALID_PAGE", "Use either cursor or page, not both.");
            }
            if (!CallCursor.TryDecode(cursor, out var createdAt, out var lastId))
            {
                return ApiError.Unprocessable("INVALID_CURSOR", "cursor is not a value returned in nextCursor.");
            }
            after = (createdAt, lastId);
        }
        var size = pageSize ?? 20;
        var (offset, beyond) = PageOffset.Of(page, size);
        if (beyond is not null)
        {
            return beyond;
        }
        var query = new CallListQuery(db);
        var tenantId = db.TenantFilter;
        var keys = await query.KeysAsync(tenantId, f!, after, offset, size + 1, ct);
        int? total = page is null ? null : await query.CountAsync(tenantId, f!, TotalCap, ct);
        var more = keys.Count > size;
        if (more)
        {
            keys.RemoveAt(size);
        }
        var ids = keys.Select(k => k.Id).ToList();
        var rows = await db.Calls.AsNoTracking().Where(c => ids.Contains(c.Id))
            .Select(c => new CallSummary(c.Id, c.Channel, c.Provider, c.ProviderCallId, c.Status, c.CustomerNumber, c.StartedAt, c.EndedAt,
                c.DurationSeconds, c.EndedReason, c.Summary, c.Urgency, c.CreatedAt, c.AssistantId,
                c.Type == "outboundPhoneCall" ? "outbound" : "inbound", c.Type))
            .ToListAsync(ct);
        var byId = rows.ToDictionary(r => r.Id);
        var items = ids.Where(byId.ContainsKey).Select(id => byId[id]).ToList();
        var next = more ? CallCursor.Encode(keys[^1].CreatedAt, keys[^1].Id) : null;
        return TypedResults.Ok(new CallPage(items, page, size, total is { } n ? Math.Min(n, TotalCap) : null, next, total is null ? null : total > TotalCap));
    }

    /// <summary>
    /// The longest a phone call can be in progress: Vapi's <c>maxDurationSeconds</c> is at most 43,200 s (12 h; VapiOptions),
    /// Twilio's <c>TimeLimit</c> at most 14,400 s (4 h; twilio-voice-sms.md), and a native call ends at the tenant's
    /// <c>VoiceMaxCallSeconds</c>. A call created longer ago that never got its end is not live.
    /// </summary>
    internal static readonly TimeSpan MaxPhoneCallAge = TimeSpan.FromHours(12);

    /// <summary>
    /// The calls <c>GET /calls/live</c> counts: not ended (<see cref="CallStatuses.Ended"/>), and not past what closes a call
    /// whose end never came. A phone call created more than <see cref="MaxPhoneCallAge"/> ago, or a web conversation older than
    /// its token (<see cref="Widget.WidgetTokens.Lifetime"/>, 24 h: no message can reach it after that), is over whatever its
    /// status says. A Vapi call silent for <see cref="Vapi.VapiOptions.MissingReportMinutes"/> is one
    /// <see cref="Vapi.VapiMissingReportCloser"/> closes at its next pass (once a minute), so Live drops it now rather than a
    /// minute later, and never shows it for ever when the closer is off.
    /// </summary>
    internal static IQueryable<Call> Live(IQueryable<Call> calls, DateTimeOffset now, int vapiSilentMinutes)
    {
        var phoneSince = now - MaxPhoneCallAge;
        var webSince = now - Widget.WidgetTokens.Lifetime;
        var vapiSilentSince = now.AddMinutes(-vapiSilentMinutes);
        // The ended statuses inlined as constants: the condition of the partial index IX_calls_live (CallStatuses.LiveFilterSql).
        return calls.Where(c => !EF.Constant(CallStatuses.Ended).Contains(c.Status))
            .Where(c => c.Channel == CallChannels.Web ? c.CreatedAt > webSince : c.CreatedAt > phoneSince)
            .Where(c => c.Provider != "vapi" || c.UpdatedAt > vapiSilentSince);
    }

    private static async Task<Ok<LiveCallsDto>> ListLiveCallsAsync(SwitchboardDbContext db, TimeProvider clock, IOptions<Vapi.VapiOptions> vapi, CancellationToken ct)
    {
        var live = Live(db.Calls.AsNoTracking(), clock.GetUtcNow(), vapi.Value.MissingReportMinutes);
        var total = await live.CountAsync(ct);
        var items = total == 0 ? [] : await live.OrderByDescending(c => c.CreatedAt).ThenByDescending(c => c.Id).Take(MaxLiveCalls)
            .Select(c => new CallSummary(c.Id, c.Channel, c.Provider, c.ProviderCallId, c.Status, c.CustomerNumber, c.StartedAt, c.EndedAt,
                c.DurationSeconds, c.EndedReason, c.Summary, c.Urgency, c.CreatedAt, c.AssistantId,
                c.Type == "outboundPhoneCall" ? "outbound" : "inbound", c.Type))
            .ToListAsync(ct);
        return TypedResults.Ok(new LiveCallsDto(items, total));
    }

    /// <summary>The tenant's phone region (<see cref="Platform.Phones.Phones.RegionOf"/>), looked up only when the filter names a number.</summary>
    private static async Task<string> RegionForNumberAsync(SwitchboardDbContext db, CallFilter filter, CancellationToken ct) =>
        string.IsNullOrWhiteSpace(filter.Number)
            ? Platform.Phones.Phones.DefaultRegion
            : Platform.Phones.Phones.RegionOf(await db.Tenants.AsNoTracking().Where(t => t.Id == db.TenantFilter).Select(t => t.Locale).FirstOrDefaultAsync(ct));

    private static async Task<Results<EmptyHttpResult, JsonHttpResult<ErrorEnvelope>>> ExportCallsAsync(
        HttpContext http, SwitchboardDbContext db, [AsParameters] CallFilter filter, TimeProvider clock, CancellationToken ct)
    {
        if (CallFilter.CommaInDuration(http.Request.Query) is { } comma)
        {
            return comma;
        }
        var (f, invalid) = filter.Validate(await RegionForNumberAsync(db, filter, ct));
        if (invalid is not null)
        {
            return invalid;
        }
        var timeZone = await db.Tenants.AsNoTracking().Where(t => t.Id == db.TenantFilter).Select(t => t.TimeZone).FirstOrDefaultAsync(ct) ?? "UTC";
        await CallsCsv.WriteAsync(http, new CallListQuery(db), db.TenantFilter, f!, timeZone, clock.GetUtcNow(), ct);
        return TypedResults.Empty;
    }

    private static async Task<Results<Ok<CallDetail>, JsonHttpResult<ErrorEnvelope>>> GetCallAsync(Guid id, SwitchboardDbContext db, CancellationToken ct)
    {
        var call = await db.Calls.AsNoTracking().FirstOrDefaultAsync(c => c.Id == id, ct);
        if (call is null)
        {
            return ApiError.NotFound("CALL_NOT_FOUND", "No such call.");
        }
        var turns = await db.TranscriptTurns.AsNoTracking().Where(t => t.CallId == id).OrderBy(t => t.Seq)
            .Select(t => new TurnDto(t.Seq, t.Role, t.Text, t.SecondsFromStart, t.At,
                t.ProviderLatencyMs == null ? null : t.ProviderLatencyMs + (t.BridgeLatencyMs ?? 0), t.ProviderLatencyMs, t.BridgeLatencyMs))
            .ToListAsync(ct);
        var lead = await db.Leads.AsNoTracking().Where(l => l.CallId == id)
            .Select(l => new LeadDto(l.Id, l.Name, l.Phone, l.Address, l.Problem, l.Urgency, l.Source, l.CreatedAt, l.Status, l.Notes)).FirstOrDefaultAsync(ct);
        var sms = await db.SmsMessages.AsNoTracking().Where(s => s.CallId == id).OrderBy(s => s.CreatedAt).ToListAsync(ct);
        var events = await db.WebhookEvents.AsNoTracking().Where(e => e.CallId == id).OrderBy(e => e.CreatedAt)
            .Select(e => new { e.Id, e.MessageId, e.Type, e.CreatedAt, Statuses = db.WebhookDeliveries.Where(d => d.EventId == e.Id && !d.IsTest).Select(d => d.Status).ToList() })
            .ToListAsync(ct);
        var raw = await db.CallEvents.AsNoTracking().Where(e => e.CallId == id).OrderByDescending(e => e.ReceivedAt).Take(MaxRawEvents)
            .Select(e => new { e.Id, e.Provider, e.Type, e.ReceivedAt, e.ProviderTimestamp, e.PayloadJson }).ToListAsync(ct);
        var attribution = call.Channel == CallChannels.Web
            ? await db.WebConversations.AsNoTracking().Where(w => w.CallId == id)
                .Select(w => new WebAttributionDto(w.Origin, w.PageUrl, w.Referrer, w.UtmSource, w.UtmMedium, w.UtmCampaign, w.UtmTerm, w.UtmContent,
                    w.Gclid, w.Fbclid, w.Language, w.VisitorId)).FirstOrDefaultAsync(ct)
            : null;
        var transfers = await db.CallTransfers.AsNoTracking().Where(t => t.CallId == id).OrderBy(t => t.CreatedAt)
            .Select(t => new CallTransferDto(t.Id, t.Provider, t.Mode, t.Destination, t.Number, t.Reason, t.Outcome, t.AgentCallSid, t.Error, t.CreatedAt, t.ConnectedAt, t.EndedAt))
            .ToListAsync(ct);
        // The recording is served through the host (RecordingsApi): provider URLs and credentials stay server-side.
        JsonElement? structured = call.StructuredDataJson is null ? null : Parse(call.StructuredDataJson);
        return TypedResults.Ok(new CallDetail(call.Id, call.Channel, call.Provider, call.ProviderCallId, call.CallSid, call.Type, call.Status,
            call.CustomerNumber, call.BusinessNumber, call.StartedAt, call.EndedAt, call.DurationSeconds, call.EndedReason, call.Cost,
            call.RecordingUrl is null ? null : Dashboard.RecordingsApi.PathFor(call.Id), null, call.Summary, structured, call.SuccessEvaluation, turns, lead,
            sms.Select(ToDto).ToList(), call.CreatedAt, call.UpdatedAt,
            events.Select(e => new CallWebhookEventDto(e.Id, e.MessageId, e.Type, e.CreatedAt, DeliveryStatus(e.Statuses), e.Statuses.Count)).ToList(),
            raw.OrderBy(e => e.ReceivedAt).Select(e => new RawEventDto(e.Id, e.Provider, e.Type, e.ReceivedAt, e.ProviderTimestamp, Parse(e.PayloadJson))).ToList(),
            call.AssistantId, call.Language, call.GreetingLatencyMs, attribution, transfers));
    }

    private static string DeliveryStatus(List<string> statuses) =>
        statuses.Count == 0 ? "none"
        : statuses.All(s => s == statuses[0]) ? statuses[0]
        : statuses.Contains("failed") ? "partial"
        : "pending";

    /// <summary>Stored JSON as an element, read tolerantly (TolerantJson): text that is not JSON becomes a JSON string.</summary>
    private static JsonElement Parse(string json) => Platform.Http.TolerantJson.ParseOrString(json);

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
            status = status.Trim().ToLowerInvariant();
            if (!SmsStatuses.Contains(status))
            {
                var allowed = string.Join(", ", SmsStatuses);
                return ApiError.Unprocessable("INVALID_FILTER", $"status must be one of {allowed}.", new Dictionary<string, string> { ["status"] = "must be one of " + allowed });
            }
            query = query.Where(s => s.Status == status);
        }
        var (p, size) = (page ?? 1, pageSize ?? 20);
        var (offset, beyond) = PageOffset.Of(p, size);
        if (beyond is not null)
        {
            return beyond;
        }
        var total = await query.CountAsync(ct);
        var rows = await query.OrderByDescending(s => s.CreatedAt).ThenByDescending(s => s.Id).Skip(offset).Take(size).ToListAsync(ct);
        return TypedResults.Ok(new Paged<SmsDto>(rows.Select(ToDto).ToList(), p, size, total));
    }

    /// <summary>Every status an SMS row takes (<see cref="SmsMessage.Status"/>), in the order a text moves through them.</summary>
    private static readonly string[] SmsStatuses =
        ["scheduled", "queued", "sending", "sent", "delivered", "undelivered", "failed", "canceled", "simulated", "received"];

    private static JsonHttpResult<ErrorEnvelope>? Paging(int? page, int? pageSize) =>
        page is < 1 ? ApiError.Unprocessable("INVALID_PAGE", "page starts at 1.")
        : pageSize is < 1 or > 100 ? ApiError.Unprocessable("INVALID_PAGE_SIZE", "pageSize must be between 1 and 100.")
        : null;

    private static SmsDto ToDto(SmsMessage s) => new(s.Id, s.CallId, s.Direction, s.Purpose, s.To, s.From, s.Body, s.Status,
        s.MessageSid, s.ErrorCode, s.ErrorMessage, s.Attempts, s.SendAfter, s.CreatedAt, s.SentAt);
}
