using System.Text;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Switchboard.Billing;
using Switchboard.Compliance;
using Switchboard.Platform.Database;
using Switchboard.Platform.Http;
using Switchboard.Platform.Phones;
using Switchboard.Tenancy;
using Switchboard.Twilio;

namespace Switchboard.Outbound;

/// <summary>
/// An outbound call request: <c>to</c> (a phone number as people write it, read in the tenant's region), the
/// <c>assistantId</c> (the tenant's default assistant when null), <c>variables</c> (≤ 20 strings: why the call is made,
/// names…, given to the assistant) and <c>notBefore</c> (UTC; the call is placed then, at the earliest).
/// </summary>
public sealed record OutboundCallRequest(string? To, Guid? AssistantId, Dictionary<string, string>? Variables, DateTimeOffset? NotBefore);

/// <summary>A queued outbound call: its id (as in <c>/api/v1/calls/{id}</c>), status <c>queued</c>, the E.164 number and when it will be placed.</summary>
public sealed record OutboundCallDto(Guid Id, string Status, string Direction, string To, Guid AssistantId, DateTimeOffset PlaceAt, string CalleeTimeZone);

/// <summary>One number of the do-not-call list: E.164, how (<c>source</c>: api, csv, callee-request or sms-opt-out) and when it was added.</summary>
public sealed record DoNotCallDto(string Number, string Source, string? Note, Guid? CallId, DateTimeOffset AddedAt);

/// <summary>Adds a number to the do-not-call list (<c>note</c> ≤ 500 characters).</summary>
public sealed record DoNotCallRequest(string? Number, string? Note);

/// <summary>A CSV import's outcome: rows added, rows already listed, and one entry per refused row (1-based line, reason).</summary>
public sealed record DoNotCallImportDto(int Added, int AlreadyListed, List<CsvRowError> Errors);

/// <summary>A CSV row that could not be used.</summary>
public sealed record CsvRowError(int Line, string Value, string Reason);

/// <summary>An assistant's outbound settings: the voicemail left on machines (≤ 1000 characters; null = a default naming the business) and the automatic callback delay in minutes (1–1440; null = off).</summary>
public sealed record AssistantOutboundSettings(string? VoicemailMessage, int? AutoCallbackMinutes);

/// <summary>A refused outbound call: number, reason (<c>do-not-call</c>, <c>outside-calling-window</c>…), detail, next allowed time, source.</summary>
public sealed record OutboundRefusalDto(string Number, string Reason, string? Detail, DateTimeOffset? NextAllowedAt, string Source, DateTimeOffset At);

/// <summary>
/// <c>/api/v1/calls/outbound</c> and <c>/api/v1/dnc</c>: place an outbound call (needs the plan's <c>telephony</c>),
/// list the refused ones, and the tenant's do-not-call list (list, add, remove, import a CSV of numbers).
/// Refusals answer 422 with the reason: <c>INVALID_NUMBER</c>, <c>NO_CALLER_ID</c> (no active number to present as caller id,
/// <see cref="OutboundCalls.CheckCallerIdAsync"/>), <c>NUMBER_ON_DO_NOT_CALL_LIST</c>, <c>OUTSIDE_CALLING_WINDOW</c> (details:
/// <c>nextAllowedAt</c>, <c>timeZone</c>); every refusal is recorded.
/// </summary>
internal static class OutboundApi
{
    /// <summary>Largest do-not-call CSV accepted, bytes.</summary>
    public const int MaxCsvBytes = 1024 * 1024;

    public static RouteGroupBuilder MapOutbound(this RouteGroupBuilder api)
    {
        var calls = api.MapGroup("/calls/outbound").WithTags("Outbound calls");
        calls.MapPost("/", PlaceAsync).RequirePermission(Permission.Configure).RequireFeature(Features.Telephony)
            .WithSummary("Place an outbound call (checked against the do-not-call list and calling windows)")
            .WithDescription("Refused with 422: INVALID_NUMBER, NO_CALLER_ID (the organisation has no active number to present as caller id: " +
                             "attached numbers count once verified on its Twilio account), NUMBER_ON_DO_NOT_CALL_LIST, OUTSIDE_CALLING_WINDOW.")
            .ProducesErrors(400, 403, 404, 422);
        calls.MapGet("/refusals", RefusalsAsync).RequirePermission(Permission.Read).WithSummary("Outbound calls refused, newest first (≤ 200)");
        api.MapGet("/assistants/{id:guid}/outbound", GetSettingsAsync).WithTags("Outbound calls").RequirePermission(Permission.Read)
            .WithSummary("An assistant's voicemail message and automatic callback delay").ProducesErrors(404);
        api.MapPut("/assistants/{id:guid}/outbound", PutSettingsAsync).WithTags("Outbound calls").RequirePermission(Permission.Configure)
            .WithSummary("Set an assistant's voicemail message and automatic callback delay (null = off)").ProducesErrors(400, 404, 422);
        var dnc = api.MapGroup("/dnc").WithTags("Do-not-call list");
        dnc.MapGet("/", ListAsync).RequirePermission(Permission.Read).WithSummary("The tenant's do-not-call list");
        dnc.MapPost("/", AddAsync).RequirePermission(Permission.Configure).WithSummary("Add a number to the do-not-call list").ProducesErrors(400, 422);
        dnc.MapDelete("/{number}", RemoveAsync).RequirePermission(Permission.Configure).WithSummary("Remove a number from the do-not-call list").ProducesErrors(404, 422);
        dnc.MapPost("/import", ImportAsync).RequirePermission(Permission.Configure).WithSummary("Import numbers from a CSV (text/csv; first column, header optional)")
            .Accepts<string>("text/csv").WithRequestBodyLimit(MaxCsvBytes, message: $"The CSV exceeds {MaxCsvBytes} bytes.").ProducesErrors(400, 413, 415);
        return api;
    }

    private static async Task<Results<Accepted<OutboundCallDto>, JsonHttpResult<ErrorEnvelope>>> PlaceAsync(
        OutboundCallRequest body, HttpContext http, SwitchboardDbContext db, OutboundCalls outbound, TwilioWebhookUrls urls, AuditLog audit,
        TimeProvider clock, CancellationToken ct)
    {
        var caller = Caller.From(http);
        var tenant = await db.Tenants.AsNoTracking().FirstAsync(t => t.Id == caller.TenantId, ct);
        var now = clock.GetUtcNow();
        if (body.Variables is { } vars && (vars.Count > OutboundContext.MaxVariables
            || vars.Any(v => string.IsNullOrWhiteSpace(v.Key) || v.Key.Length > 64 || v.Value is null || v.Value.Length > 500)))
        {
            return ApiError.Unprocessable("INVALID_VARIABLES", $"variables: at most {OutboundContext.MaxVariables}, names of 1–64 characters, values of at most 500.");
        }
        if (body.NotBefore is { } nb && nb > now.AddDays(CallingWindows.SearchDays))
        {
            return ApiError.Unprocessable("INVALID_NOT_BEFORE", $"notBefore must be within {CallingWindows.SearchDays} days.");
        }
        var assistant = body.AssistantId is { } aid
            ? await db.Assistants.AsNoTracking().FirstOrDefaultAsync(a => a.Id == aid, ct)
            : await db.Assistants.AsNoTracking().OrderByDescending(a => a.IsDefault).ThenBy(a => a.CreatedAt).FirstOrDefaultAsync(ct);
        if (assistant is null)
        {
            return ApiError.NotFound("ASSISTANT_NOT_FOUND", "No such assistant.");
        }
        var region = Phones.RegionOf(tenant.Locale);
        if (Phones.SettingsNumberToE164(body.To, region) is not { } to)
        {
            if (!string.IsNullOrWhiteSpace(body.To))
            {
                outbound.Record(tenant.Id, body.To.Trim(), new OutboundRefused(OutboundRefusalReasons.InvalidNumber, "Not a phone number in " + region + ".", null, null), "api");
                await db.SaveChangesAsync(ct);
            }
            return ApiError.Unprocessable("INVALID_NUMBER", $"to: not a phone number in the tenant's region ({region}).");
        }
        if (await outbound.CheckCallerIdAsync(tenant, assistant, to, "api", ct) is { } noCallerId)
        {
            await db.SaveChangesAsync(ct);
            await audit.AppendAsync(caller.TenantId, caller.Actor, "call.outbound.refused", "number:" + to, new { noCallerId.Reason }, ct);
            return ApiError.Unprocessable("NO_CALLER_ID", noCallerId.Message);
        }
        var at = body.NotBefore is { } when && when > now ? when : now;
        var (call, refused) = await outbound.QueueAsync(tenant, new OutboundCallPlan(to, assistant, body.Variables ?? [], at, "api"), urls.BaseFor(http.Request), ct);
        await db.SaveChangesAsync(ct);
        if (refused is not null)
        {
            await audit.AppendAsync(caller.TenantId, caller.Actor, "call.outbound.refused", "number:" + to, new { refused.Reason, refused.NextAllowedAt }, ct);
            return refused.Reason == OutboundRefusalReasons.DoNotCall
                ? ApiError.Unprocessable("NUMBER_ON_DO_NOT_CALL_LIST", refused.Message)
                : ApiError.Unprocessable("OUTSIDE_CALLING_WINDOW", refused.Message, new { nextAllowedAt = refused.NextAllowedAt, timeZone = refused.TimeZone });
        }
        await audit.AppendAsync(caller.TenantId, caller.Actor, "call.outbound.queued", "call:" + call!.Id, new { to, assistantId = assistant.Id, placeAt = at }, ct);
        return TypedResults.Accepted($"/api/v1/calls/{call.Id}",
            new OutboundCallDto(call.Id, call.Status, call.Direction, to, assistant.Id, at, CallingWindows.ZoneFor(to, tenant.TimeZone)));
    }

    private static async Task<Results<Ok<AssistantOutboundSettings>, JsonHttpResult<ErrorEnvelope>>> GetSettingsAsync(Guid id, SwitchboardDbContext db, CancellationToken ct) =>
        await db.Assistants.AsNoTracking().FirstOrDefaultAsync(a => a.Id == id, ct) is { } a
            ? TypedResults.Ok(new AssistantOutboundSettings(a.VoicemailMessage, a.AutoCallbackMinutes))
            : ApiError.NotFound("ASSISTANT_NOT_FOUND", "No such assistant.");

    private static async Task<Results<Ok<AssistantOutboundSettings>, JsonHttpResult<ErrorEnvelope>>> PutSettingsAsync(
        Guid id, AssistantOutboundSettings body, HttpContext http, SwitchboardDbContext db, AuditLog audit, CancellationToken ct)
    {
        if (body.AutoCallbackMinutes is < 1 or > 1440)
        {
            return ApiError.Unprocessable("INVALID_AUTO_CALLBACK", "autoCallbackMinutes: 1–1440, or null to turn callbacks off.");
        }
        if (body.VoicemailMessage is { } text && (text.Length > 1000 || string.IsNullOrWhiteSpace(text)))
        {
            return ApiError.Unprocessable("INVALID_VOICEMAIL", "voicemailMessage: 1–1000 characters, or null for the default.");
        }
        if (body.VoicemailMessage is { } spoken && Validation.HasUnsafeTextCharacter(spoken))
        {
            // Spoken by the text-to-speech voice and shown to staff: the rule of every multi-line text staff read.
            return ApiError.Unprocessable("INVALID_VOICEMAIL", "voicemailMessage " + Validation.TextProblem + ".",
                new Dictionary<string, string> { ["voicemailMessage"] = Validation.TextProblem });
        }
        var assistant = await db.Assistants.FirstOrDefaultAsync(a => a.Id == id, ct);
        if (assistant is null)
        {
            return ApiError.NotFound("ASSISTANT_NOT_FOUND", "No such assistant.");
        }
        assistant.VoicemailMessage = body.VoicemailMessage?.Trim();
        assistant.AutoCallbackMinutes = body.AutoCallbackMinutes;
        await db.SaveChangesAsync(ct);
        var caller = Caller.From(http);
        await audit.AppendAsync(caller.TenantId, caller.Actor, "assistant.outbound.updated", "assistant:" + id, new { body.AutoCallbackMinutes, voicemail = body.VoicemailMessage is not null }, ct);
        return TypedResults.Ok(new AssistantOutboundSettings(assistant.VoicemailMessage, assistant.AutoCallbackMinutes));
    }

    private static async Task<Ok<List<OutboundRefusalDto>>> RefusalsAsync(SwitchboardDbContext db, CancellationToken ct) =>
        TypedResults.Ok(await db.OutboundRefusals.AsNoTracking().OrderByDescending(r => r.At).Take(200)
            .Select(r => new OutboundRefusalDto(r.Number, r.Reason, r.Detail, r.NextAllowedAt, r.Source, r.At)).ToListAsync(ct));

    private static async Task<Ok<List<DoNotCallDto>>> ListAsync(SwitchboardDbContext db, CancellationToken ct) =>
        TypedResults.Ok(await db.DoNotCall.AsNoTracking().OrderBy(d => d.Number)
            .Select(d => new DoNotCallDto(d.Number, d.Source, d.Note, d.CallId, d.AddedAt)).ToListAsync(ct));

    private static async Task<Results<Created<DoNotCallDto>, Ok<DoNotCallDto>, JsonHttpResult<ErrorEnvelope>>> AddAsync(
        DoNotCallRequest body, HttpContext http, SwitchboardDbContext db, DoNotCallList dnc, AuditLog audit, CancellationToken ct)
    {
        var caller = Caller.From(http);
        var region = await RegionAsync(db, caller.TenantId!.Value, ct);
        if (Phones.SettingsNumberToE164(body.Number, region) is not { } e164)
        {
            return ApiError.Unprocessable("INVALID_NUMBER", $"number: not a phone number in the tenant's region ({region}).");
        }
        if (body.Note is { Length: > 500 })
        {
            return ApiError.Unprocessable("INVALID_NOTE", "note: at most 500 characters.");
        }
        if (body.Note is not null && Validation.HasUnsafeTextCharacter(body.Note))
        {
            return ApiError.Unprocessable("INVALID_NOTE", "note: " + Validation.TextProblem + ".");
        }
        var (entry, added) = await dnc.AddAsync(caller.TenantId.Value, e164, DoNotCallSources.Api, body.Note, null, ct);
        var dto = new DoNotCallDto(entry.Number, entry.Source, entry.Note, entry.CallId, entry.AddedAt);
        if (!added)
        {
            return TypedResults.Ok(dto);
        }
        await UniqueViolation.RetryOnceAsync(db, async () => await db.SaveChangesAsync(ct));
        await audit.AppendAsync(caller.TenantId, caller.Actor, "dnc.added", "number:" + e164, new { source = DoNotCallSources.Api }, ct);
        return TypedResults.Created($"/api/v1/dnc/{Uri.EscapeDataString(e164)}", dto);
    }

    private static async Task<Results<NoContent, JsonHttpResult<ErrorEnvelope>>> RemoveAsync(
        string number, HttpContext http, SwitchboardDbContext db, AuditLog audit, CancellationToken ct)
    {
        var caller = Caller.From(http);
        var region = await RegionAsync(db, caller.TenantId!.Value, ct);
        if (Phones.SettingsNumberToE164(number, region) is not { } e164)
        {
            return ApiError.Unprocessable("INVALID_NUMBER", $"number: not a phone number in the tenant's region ({region}).");
        }
        var removed = await db.DoNotCall.Where(d => d.Number == e164).ExecuteDeleteAsync(ct);
        if (removed == 0)
        {
            return ApiError.NotFound("NUMBER_NOT_LISTED", "This number is not on the do-not-call list.");
        }
        await audit.AppendAsync(caller.TenantId, caller.Actor, "dnc.removed", "number:" + e164, null, ct);
        return TypedResults.NoContent();
    }

    private static async Task<Results<Ok<DoNotCallImportDto>, JsonHttpResult<ErrorEnvelope>>> ImportAsync(
        HttpContext http, SwitchboardDbContext db, DoNotCallList dnc, AuditLog audit, CancellationToken ct)
    {
        var caller = Caller.From(http);
        if (http.Request.ContentType is not { } type || !(type.StartsWith("text/csv", StringComparison.OrdinalIgnoreCase) || type.StartsWith("text/plain", StringComparison.OrdinalIgnoreCase)))
        {
            return ApiError.Create(415, "UNSUPPORTED_MEDIA_TYPE", "Send the CSV as text/csv.");
        }
        if (http.Request.ContentLength > MaxCsvBytes)
        {
            return ApiError.TooLarge($"The CSV exceeds {MaxCsvBytes} bytes.");
        }
        using var reader = new StreamReader(http.Request.Body, Encoding.UTF8);
        var buffer = new char[MaxCsvBytes + 1];
        var length = await reader.ReadBlockAsync(buffer.AsMemory(), ct);
        if (length > MaxCsvBytes)
        {
            return ApiError.TooLarge($"The CSV exceeds {MaxCsvBytes} bytes.");
        }
        var region = await RegionAsync(db, caller.TenantId!.Value, ct);
        var errors = new List<CsvRowError>();
        var numbers = new List<string>();
        var line = 0;
        foreach (var raw in new string(buffer, 0, length).Split('\n'))
        {
            line++;
            var first = raw.Trim().TrimEnd('\r').Split(',', ';')[0].Trim().Trim('"').Trim();
            if (first.Length == 0 || (line == 1 && !first.Any(char.IsAsciiDigit)))
            {
                continue; // blank line or header
            }
            if (Phones.SettingsNumberToE164(first, region) is not { } e164)
            {
                errors.Add(new CsvRowError(line, TolerantJson.Cap(first, 64), "not a phone number"));
                continue;
            }
            numbers.Add(e164);
        }
        // Retried once when an import (or an opt-out) sent at the same moment listed one of these numbers first: the second run
        // counts it as already listed, where the first answered 409.
        var (added, listed) = await UniqueViolation.RetryOnceAsync(db, async () =>
        {
            var counts = await dnc.AddManyAsync(caller.TenantId.Value, numbers, DoNotCallSources.Csv, "CSV import", ct);
            await db.SaveChangesAsync(ct);
            return counts;
        });
        await audit.AppendAsync(caller.TenantId, caller.Actor, "dnc.imported", null, new { added, alreadyListed = listed, refused = errors.Count }, ct);
        return TypedResults.Ok(new DoNotCallImportDto(added, listed, errors));
    }

    private static async Task<string> RegionAsync(SwitchboardDbContext db, Guid tenantId, CancellationToken ct) =>
        Phones.RegionOf(await db.Tenants.AsNoTracking().Where(t => t.Id == tenantId).Select(t => t.Locale).FirstAsync(ct));
}
