using System.Globalization;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;
using Switchboard.Billing;
using Switchboard.Compliance;
using Switchboard.Dashboard;
using Switchboard.Platform.Database;
using Switchboard.Platform.Http;
using Switchboard.Platform.Phones;
using Switchboard.Tenancy;

namespace Switchboard.Outbound.Campaigns;

/// <summary>
/// A new campaign: <c>name</c> (1–100 characters), <c>assistantId</c> (the tenant's default assistant when null),
/// <c>promotional</c> (telemarketing: every contact needs a consent record; default false), <c>maxAttempts</c> (1–10,
/// default 3), <c>retryMinutes</c> (first retry wait, 1–1440, default 30; doubled per retry, capped at 24 h),
/// <c>callsPerSecond</c> (1–50, default 1 — Twilio's default account CPS), <c>startAt</c> (UTC; given: the campaign is
/// scheduled, else it stays a draft until started) and <c>contactsCsv</c> (CSV text: a header with <c>number</c>,
/// optional <c>name</c>, <c>consent_source</c> + <c>consent_at</c>, any other column a variable; ≤ 2 MB, ≤ 10 000 contacts).
/// </summary>
public sealed record CampaignCreateRequest(string? Name, Guid? AssistantId, bool? Promotional, int? MaxAttempts, int? RetryMinutes, int? CallsPerSecond,
    DateTimeOffset? StartAt, string? ContactsCsv);

/// <summary>
/// A campaign: its settings, status (draft, scheduled, running, paused, completed, canceled), times (UTC), its contacts per
/// state (<c>counts</c>) and per result (<c>results</c>: answered-human, voicemail, busy, no-answer, failed, dnc, no-consent,
/// invalid, no-window, canceled).
/// </summary>
public sealed record CampaignDto(Guid Id, string Name, Guid AssistantId, string Status, bool Promotional, int MaxAttempts, int RetryMinutes, int CallsPerSecond,
    DateTimeOffset? StartAt, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, DateTimeOffset? StartedAt, DateTimeOffset? EndedAt,
    CampaignCounts Counts, Dictionary<string, int> Results);

/// <summary>A created campaign and its CSV import: contacts kept, consent records stored, and one entry per refused row (1-based line, value, reason).</summary>
public sealed record CampaignCreatedDto(CampaignDto Campaign, int Imported, int Consents, List<CsvRowError> Errors);

/// <summary>Schedules a campaign to start at <c>startAt</c> (UTC, within a year).</summary>
public sealed record CampaignScheduleRequest(DateTimeOffset? StartAt);

/// <summary>
/// One contact: E.164 number, name, variables, callee's time zone, state (pending, queued, calling, done, failed, refused,
/// skipped), calls made, the next attempt (UTC, when pending), the latest call's id and the result.
/// </summary>
public sealed record CampaignContactDto(Guid Id, int Ordinal, string Number, string? Name, Dictionary<string, string> Variables, string TimeZone, string State,
    int Attempts, DateTimeOffset? NextAttemptAt, Guid? LastCallId, string? Result, DateTimeOffset UpdatedAt);

/// <summary>A page of contacts in CSV order; <c>nextAfter</c> is the <c>after</c> of the next page (null on the last).</summary>
public sealed record CampaignContactPage(List<CampaignContactDto> Items, int? NextAfter);

/// <summary>
/// <c>/api/v1/campaigns</c>: create a campaign from a CSV of contacts (JSON with <c>contactsCsv</c>, or multipart with the
/// fields and a <c>contacts</c> file), list, get (counts per state and result), its contacts with results (paged),
/// schedule, start, pause, resume, cancel, and <c>/events</c> (Server-Sent Events: <c>campaign.status</c> first, then
/// <c>contact.queued</c>, <c>contact.result</c>, <c>campaign.status</c>, each with the counts). Writes need
/// <c>Configure</c> and the plan's <c>telephony</c>; reads need <c>Read</c>. Another tenant's campaign is a 404.
/// Status changes that do not apply to the campaign's status are a 409 <c>INVALID_CAMPAIGN_STATE</c>.
/// </summary>
internal static class CampaignApi
{
    /// <summary>Largest contacts page.</summary>
    public const int MaxPage = 500;

    /// <summary>The create's request body limit, in bytes: the largest CSV (<see cref="CampaignCsv.MaxBytes"/>) and 64 KiB for the other fields or the form's framing.</summary>
    public const int MaxRequestBytes = CampaignCsv.MaxBytes + 64 * 1024;

    public static RouteGroupBuilder MapCampaigns(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/campaigns").WithTags("Campaigns");
        group.MapPost("/", CreateAsync).RequirePermission(Permission.Configure).RequireFeature(Features.Telephony)
            .WithSummary("Create a campaign from a CSV of contacts (number, name, variables)")
            .WithDescription("application/json: CampaignCreateRequest with contactsCsv. multipart/form-data: the same fields, the CSV as the file 'contacts'. " +
                             "Rows that cannot be used (not a phone number, duplicate, value too long, bad consent date) are reported per line; the others are kept. " +
                             "No usable row at all is a 422 NO_VALID_CONTACTS with the report in details.")
            .Accepts<CampaignCreateRequest>("application/json", "multipart/form-data")
            .AddOpenApiOperationTransformer((operation, _, _) => DescribeForm(operation))
            .WithRequestBodyLimit(MaxRequestBytes, message: $"The contacts CSV exceeds {CampaignCsv.MaxBytes} bytes.")
            .ProducesErrors(400, 403, 404, 413, 415, 422);
        group.MapGet("/", ListAsync).RequirePermission(Permission.Read).WithSummary("The tenant's campaigns, newest first (≤ 200)");
        group.MapGet("/{id:guid}", GetAsync).RequirePermission(Permission.Read).WithSummary("One campaign with its counts per state and result").ProducesErrors(404);
        group.MapGet("/{id:guid}/contacts", ContactsAsync).RequirePermission(Permission.Read)
            .WithSummary("A campaign's contacts with their results, in CSV order")
            .WithDescription("state: one of pending, queued, calling, done, failed, refused, skipped. after: the nextAfter of the previous page. limit: 1–500 (default 100).")
            .ProducesErrors(404, 422);
        group.MapPost("/{id:guid}/schedule", ScheduleAsync).RequirePermission(Permission.Configure).RequireFeature(Features.Telephony)
            .WithSummary("Schedule a draft (or rescheduled) campaign to start at startAt").ProducesErrors(400, 403, 404, 409, 422);
        group.MapPost("/{id:guid}/start", (Guid id, HttpContext http, SwitchboardDbContext db, AuditLog audit, TimeProvider clock, CancellationToken ct) =>
                TransitionAsync(id, [CampaignStatuses.Draft, CampaignStatuses.Scheduled], CampaignStatuses.Running, "campaign.started", http, db, audit, clock, ct))
            .RequirePermission(Permission.Configure).RequireFeature(Features.Telephony)
            .WithSummary("Start a draft or scheduled campaign now").ProducesErrors(403, 404, 409);
        group.MapPost("/{id:guid}/pause", (Guid id, HttpContext http, SwitchboardDbContext db, AuditLog audit, TimeProvider clock, CancellationToken ct) =>
                TransitionAsync(id, [CampaignStatuses.Running, CampaignStatuses.Scheduled], CampaignStatuses.Paused, "campaign.paused", http, db, audit, clock, ct))
            .RequirePermission(Permission.Configure)
            .WithSummary("Pause a campaign: no new calls (calls already handed to Twilio finish)").ProducesErrors(403, 404, 409);
        group.MapPost("/{id:guid}/resume", (Guid id, HttpContext http, SwitchboardDbContext db, AuditLog audit, TimeProvider clock, CancellationToken ct) =>
                TransitionAsync(id, [CampaignStatuses.Paused], CampaignStatuses.Running, "campaign.resumed", http, db, audit, clock, ct))
            .RequirePermission(Permission.Configure).RequireFeature(Features.Telephony)
            .WithSummary("Resume a paused campaign").ProducesErrors(403, 404, 409);
        group.MapPost("/{id:guid}/cancel", (Guid id, HttpContext http, SwitchboardDbContext db, AuditLog audit, TimeProvider clock, CancellationToken ct) =>
                TransitionAsync(id, [CampaignStatuses.Draft, CampaignStatuses.Scheduled, CampaignStatuses.Running, CampaignStatuses.Paused], CampaignStatuses.Canceled,
                    "campaign.canceled", http, db, audit, clock, ct))
            .RequirePermission(Permission.Configure)
            .WithSummary("Cancel a campaign: contacts not yet called are skipped (result canceled)").ProducesErrors(403, 404, 409);
        group.MapGet("/{id:guid}/events", EventsAsync).RequirePermission(Permission.Read)
            .WithSummary("A campaign's progress (Server-Sent Events)")
            .WithDescription("Events: campaign.status (first, then on every change), contact.queued, contact.result, ping; each carries the counts per state.")
            .ProducesErrors(404);
        return api;
    }

    private static JsonHttpResult<ErrorEnvelope> NotFound() => ApiError.NotFound("CAMPAIGN_NOT_FOUND", "No such campaign.");

    private static async Task<Results<Created<CampaignCreatedDto>, JsonHttpResult<ErrorEnvelope>>> CreateAsync(
        HttpContext http, SwitchboardDbContext db, AuditLog audit, TimeProvider clock, CancellationToken ct)
    {
        var (body, unreadable) = await ReadCreateAsync(http.Request, ct);
        if (body is null)
        {
            return unreadable!;
        }
        var now = clock.GetUtcNow();
        var validation = new Validation().Require("name", body.Name, 100).Name("name", body.Name, 100);
        if (body.MaxAttempts is < 1 or > 10)
        {
            validation.Add("maxAttempts", "must be 1–10");
        }
        if (body.RetryMinutes is < 1 or > 1440)
        {
            validation.Add("retryMinutes", "must be 1–1440");
        }
        if (body.CallsPerSecond is < 1 or > 50)
        {
            validation.Add("callsPerSecond", "must be 1–50");
        }
        if (body.StartAt is { } start && start > now.AddYears(1))
        {
            validation.Add("startAt", "must be within a year");
        }
        if (string.IsNullOrWhiteSpace(body.ContactsCsv))
        {
            validation.Add("contactsCsv", "give the contacts as CSV text (a header with number, name, … and one line per contact)");
        }
        if (!validation.IsValid)
        {
            return validation.Result();
        }
        if (Encoding.UTF8.GetByteCount(body.ContactsCsv!) > CampaignCsv.MaxBytes)
        {
            return ApiError.TooLarge($"The contacts CSV exceeds {CampaignCsv.MaxBytes} bytes.");
        }
        var caller = Caller.From(http);
        var tenantId = caller.TenantId!.Value;
        var assistant = body.AssistantId is { } aid
            ? await db.Assistants.AsNoTracking().FirstOrDefaultAsync(a => a.Id == aid, ct)
            : await db.Assistants.AsNoTracking().OrderByDescending(a => a.IsDefault).ThenBy(a => a.CreatedAt).FirstOrDefaultAsync(ct);
        if (assistant is null)
        {
            return ApiError.NotFound("ASSISTANT_NOT_FOUND", "No such assistant.");
        }
        var tenant = await db.Tenants.AsNoTracking().FirstAsync(t => t.Id == tenantId, ct);
        var import = CampaignCsv.Read(body.ContactsCsv!, Phones.RegionOf(tenant.Locale), now);
        if (import.FileError is { } fileError)
        {
            return ApiError.Unprocessable("INVALID_CSV", fileError);
        }
        if (import.Contacts.Count == 0)
        {
            return ApiError.Unprocessable("NO_VALID_CONTACTS", "No row of the CSV is a usable contact.", new { errors = import.Errors });
        }
        // Retried once when a campaign created at the same moment inserted the consent of one of these numbers first: the
        // second run reads that row and keeps the later consent, where the first answered 409 for a valid request.
        Campaign campaign = null!;
        var consents = 0;
        await UniqueViolation.RetryOnceAsync(db, async () =>
        {
            campaign = new Campaign
            {
                Id = Guid.CreateVersion7(),
                TenantId = tenantId,
                Name = body.Name!.Trim(),
                AssistantId = assistant.Id,
                Status = body.StartAt is null ? CampaignStatuses.Draft : CampaignStatuses.Scheduled,
                StartAt = body.StartAt?.ToUniversalTime(),
                Promotional = body.Promotional ?? false,
                MaxAttempts = body.MaxAttempts ?? 3,
                RetryMinutes = body.RetryMinutes ?? 30,
                CallsPerSecond = body.CallsPerSecond ?? 1,
                CreatedAt = now,
                UpdatedAt = now,
            };
            db.Campaigns.Add(campaign);
            foreach (var draft in import.Contacts)
            {
                db.CampaignContacts.Add(new CampaignContact
                {
                    Id = Guid.CreateVersion7(),
                    TenantId = tenantId,
                    CampaignId = campaign.Id,
                    Ordinal = draft.Ordinal,
                    Number = draft.Number,
                    Name = draft.Name,
                    VariablesJson = draft.Variables.Count == 0 ? null : JsonSerializer.Serialize(draft.Variables),
                    TimeZone = CallingWindows.ZoneFor(draft.Number, tenant.TimeZone),
                    NextAttemptAt = campaign.StartAt ?? now,
                    CreatedAt = now,
                    UpdatedAt = now,
                });
            }
            consents = await RecordConsentsAsync(db, tenantId, import.Contacts, now, ct);
            await db.SaveChangesAsync(ct);
        });
        await audit.AppendAsync(caller.TenantId, caller.Actor, "campaign.created", "campaign:" + campaign.Id,
            new { campaign.Name, contacts = import.Contacts.Count, refusedRows = import.Errors.Count, campaign.Promotional, campaign.StartAt }, ct);
        var dto = await ToDtoAsync(db, campaign, ct);
        return TypedResults.Created($"/api/v1/campaigns/{campaign.Id}", new CampaignCreatedDto(dto, import.Contacts.Count, consents, import.Errors));
    }

    /// <summary>Stores the consent records the CSV carried (the latest obtained wins per number); returns how many rows were given one.</summary>
    private static async Task<int> RecordConsentsAsync(SwitchboardDbContext db, Guid tenantId, List<ContactDraft> contacts, DateTimeOffset now, CancellationToken ct)
    {
        var given = contacts.Where(c => c.ConsentAt is not null).ToList();
        var existing = new Dictionary<string, Consent>(StringComparer.Ordinal);
        var fresh = new List<Consent>();
        foreach (var chunk in given.Select(c => c.Number).Chunk(500))
        {
            foreach (var consent in await db.Consents.Where(c => chunk.Contains(c.Number)).ToListAsync(ct))
            {
                existing[consent.Number] = consent;
            }
        }
        foreach (var contact in given)
        {
            if (existing.TryGetValue(contact.Number, out var consent))
            {
                if (contact.ConsentAt > consent.ObtainedAt)
                {
                    consent.Source = contact.ConsentSource!;
                    consent.ObtainedAt = contact.ConsentAt!.Value;
                    consent.RecordedAt = now;
                }
                continue;
            }
            fresh.Add(existing[contact.Number] = new Consent
            {
                TenantId = tenantId,
                Number = contact.Number,
                Source = contact.ConsentSource!,
                ObtainedAt = contact.ConsentAt!.Value,
                RecordedAt = now,
            });
        }
        // In one order, whoever creates (InsertOrder): campaigns created at once with consents of the same new numbers cannot
        // deadlock on the (TenantId, Number) unique index; the loser's retry reads the winner's rows.
        foreach (var (consent, id) in InsertOrder.ByKey(fresh, c => c.Number, now))
        {
            consent.Id = id;
            db.Consents.Add(consent);
        }
        return given.Count;
    }

    /// <summary>The create request from JSON or multipart (fields + file <c>contacts</c>); 400 malformed, 413 too large, 415 another type.</summary>
    private static async Task<(CampaignCreateRequest? Body, JsonHttpResult<ErrorEnvelope>? Error)> ReadCreateAsync(HttpRequest request, CancellationToken ct)
    {
        var tooLarge = ApiError.TooLarge($"The contacts CSV exceeds {CampaignCsv.MaxBytes} bytes.");
        if (request.ContentLength > MaxRequestBytes)
        {
            return (null, tooLarge);
        }
        if (request.HasJsonContentType())
        {
            try
            {
                return await request.ReadFromJsonAsync<CampaignCreateRequest>(ct) is { } body
                    ? (body, null)
                    : (null, ApiError.BadRequest("BAD_REQUEST", "The body must be a JSON object."));
            }
            catch (JsonException e)
            {
                return (null, ApiError.BadRequest("BAD_REQUEST", RequestJson.DuplicateProperty(e) is { } duplicate
                    ? $"The body names '{duplicate}' more than once." : "The body is not a valid JSON campaign request."));
            }
        }
        if (!request.HasFormContentType)
        {
            return (null, ApiError.Create(415, "UNSUPPORTED_MEDIA_TYPE", "Send application/json or multipart/form-data."));
        }
        IFormCollection form;
        try
        {
            request.HttpContext.Features.Set<IFormFeature>(new FormFeature(request, new FormOptions
            {
                MultipartBodyLengthLimit = MaxRequestBytes,
                ValueLengthLimit = 4096,
                ValueCountLimit = 16,
            }));
            form = await request.ReadFormAsync(ct);
        }
        catch (InvalidDataException e) when (e.Message.Contains("limit", StringComparison.OrdinalIgnoreCase))
        {
            return (null, tooLarge);
        }
        catch (Exception e) when (e is InvalidDataException or IOException && !ct.IsCancellationRequested)
        {
            return (null, ApiError.BadRequest("INVALID_FORM", "The multipart body is malformed."));
        }
        var file = form.Files.GetFile("contacts") ?? form.Files.FirstOrDefault();
        string? csv = form["contactsCsv"].ToString() is { Length: > 0 } inline ? inline : null;
        if (file is not null)
        {
            if (file.Length > CampaignCsv.MaxBytes)
            {
                return (null, tooLarge);
            }
            using var reader = new StreamReader(file.OpenReadStream(), Encoding.UTF8);
            csv = await reader.ReadToEndAsync(ct);
        }
        var errors = new Validation();
        int? Int(string field)
        {
            var text = form[field].ToString();
            if (text.Length == 0)
            {
                return null;
            }
            if (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n))
            {
                return n;
            }
            errors.Add(field, "must be a whole number");
            return null;
        }
        Guid? assistantId = null;
        if (form["assistantId"].ToString() is { Length: > 0 } a)
        {
            if (Guid.TryParse(a, out var g))
            {
                assistantId = g;
            }
            else
            {
                errors.Add("assistantId", "must be an id");
            }
        }
        bool? promotional = null;
        if (form["promotional"].ToString() is { Length: > 0 } p)
        {
            if (bool.TryParse(p, out var b))
            {
                promotional = b;
            }
            else
            {
                errors.Add("promotional", "must be true or false");
            }
        }
        DateTimeOffset? startAt = null;
        if (form["startAt"].ToString() is { Length: > 0 } s)
        {
            // ISO 8601 only, as for every date of the API: the invariant culture read 01/12/2026 as January 12.
            if (Platform.Http.IsoDates.TryParseInstant(s, out var at))
            {
                startAt = at;
            }
            else
            {
                errors.Add("startAt", "must be an ISO 8601 date and time");
            }
        }
        // The JSON body is checked before the endpoint runs (StorableTextGuardMiddleware); a form's text is checked here.
        if (form["name"].ToString().Contains('\0'))
        {
            errors.Add("name", StorableText.Problem);
        }
        if (csv?.Contains('\0') == true)
        {
            errors.Add(file is null ? "contactsCsv" : "contacts", StorableText.Problem);
        }
        var parsed = new CampaignCreateRequest(form["name"].ToString(), assistantId, promotional, Int("maxAttempts"), Int("retryMinutes"), Int("callsPerSecond"), startAt, csv);
        return errors.IsValid ? (parsed, null) : (null, errors.Result());
    }

    private static Task DescribeForm(OpenApiOperation operation)
    {
        if (operation.RequestBody?.Content is { } content && content.TryGetValue("multipart/form-data", out var form) && form is OpenApiMediaType media)
        {
            OpenApiSchema Text(string description) => new() { Type = JsonSchemaType.String, Description = description };
            media.Schema = new OpenApiSchema
            {
                Type = JsonSchemaType.Object,
                Required = new HashSet<string> { "name", "contacts" },
                Properties = new Dictionary<string, IOpenApiSchema>
                {
                    ["contacts"] = new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary", Description = "The contacts CSV (header: number, name, consent_source, consent_at, variables…)" },
                    ["name"] = Text("1–100 characters"),
                    ["assistantId"] = Text("The assistant (default: the tenant's default)"),
                    ["promotional"] = Text("true or false"),
                    ["maxAttempts"] = Text("1–10"),
                    ["retryMinutes"] = Text("1–1440"),
                    ["callsPerSecond"] = Text("1–50"),
                    ["startAt"] = Text("ISO 8601 (UTC): schedule the campaign"),
                },
            };
        }
        return Task.CompletedTask;
    }

    private static async Task<Ok<List<CampaignDto>>> ListAsync(SwitchboardDbContext db, CancellationToken ct)
    {
        var campaigns = await db.Campaigns.AsNoTracking().OrderByDescending(c => c.CreatedAt).Take(200).ToListAsync(ct);
        var ids = campaigns.Select(c => c.Id).ToList();
        var states = await db.CampaignContacts.AsNoTracking().Where(c => ids.Contains(c.CampaignId))
            .GroupBy(c => new { c.CampaignId, c.State }).Select(g => new { g.Key.CampaignId, g.Key.State, Count = g.Count() }).ToListAsync(ct);
        var results = await db.CampaignContacts.AsNoTracking().Where(c => ids.Contains(c.CampaignId) && c.Result != null)
            .GroupBy(c => new { c.CampaignId, c.Result }).Select(g => new { g.Key.CampaignId, g.Key.Result, Count = g.Count() }).ToListAsync(ct);
        return TypedResults.Ok(campaigns.Select(c => ToDto(c,
            states.Where(s => s.CampaignId == c.Id).ToDictionary(s => s.State, s => s.Count),
            results.Where(r => r.CampaignId == c.Id).ToDictionary(r => r.Result!, r => r.Count))).ToList());
    }

    private static async Task<Results<Ok<CampaignDto>, JsonHttpResult<ErrorEnvelope>>> GetAsync(Guid id, SwitchboardDbContext db, CancellationToken ct) =>
        await db.Campaigns.AsNoTracking().FirstOrDefaultAsync(c => c.Id == id, ct) is { } campaign
            ? TypedResults.Ok(await ToDtoAsync(db, campaign, ct))
            : NotFound();

    private static async Task<Results<Ok<CampaignContactPage>, JsonHttpResult<ErrorEnvelope>>> ContactsAsync(
        Guid id, string? state, int? after, int? limit, SwitchboardDbContext db, CancellationToken ct)
    {
        if (!await db.Campaigns.AnyAsync(c => c.Id == id, ct))
        {
            return NotFound();
        }
        if (state is not null && !ContactStates.All.Contains(state))
        {
            return ApiError.Unprocessable("INVALID_STATE", $"state: one of {string.Join(", ", ContactStates.All)}.");
        }
        if (limit is < 1 or > MaxPage)
        {
            return ApiError.Unprocessable("INVALID_LIMIT", $"limit: 1–{MaxPage}.");
        }
        var take = limit ?? 100;
        var query = db.CampaignContacts.AsNoTracking().Where(c => c.CampaignId == id && c.Ordinal > (after ?? 0));
        if (state is not null)
        {
            query = query.Where(c => c.State == state);
        }
        var rows = await query.OrderBy(c => c.Ordinal).Take(take + 1).ToListAsync(ct);
        var items = rows.Take(take).Select(c => new CampaignContactDto(c.Id, c.Ordinal, c.Number, c.Name, OutboundContext.Read(c.VariablesJson).ToDictionary(), c.TimeZone,
            c.State, c.Attempts, c.State == ContactStates.Pending ? c.NextAttemptAt : null, c.LastCallId, c.Result, c.UpdatedAt)).ToList();
        return TypedResults.Ok(new CampaignContactPage(items, rows.Count > take ? items[^1].Ordinal : null));
    }

    private static async Task<Results<Ok<CampaignDto>, JsonHttpResult<ErrorEnvelope>>> ScheduleAsync(
        Guid id, CampaignScheduleRequest body, HttpContext http, SwitchboardDbContext db, AuditLog audit, TimeProvider clock, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var campaign = await db.Campaigns.FirstOrDefaultAsync(c => c.Id == id, ct);
        if (campaign is null)
        {
            return NotFound();
        }
        if (body.StartAt is not { } startAt || startAt > now.AddYears(1))
        {
            return new Validation().Add("startAt", "give a date and time within a year (UTC)").Result();
        }
        if (campaign.Status is not (CampaignStatuses.Draft or CampaignStatuses.Scheduled))
        {
            return ApiError.Conflict("INVALID_CAMPAIGN_STATE", $"A {campaign.Status} campaign cannot be scheduled (only a draft or scheduled one).");
        }
        await using (var tx = await db.Database.BeginTransactionAsync(ct))
        {
            if (!await ClaimStatusAsync(db, id, campaign.Status, CampaignStatuses.Scheduled, now, ct))
            {
                return ChangedMeanwhile(campaign.Status);
            }
            campaign.Status = CampaignStatuses.Scheduled;
            campaign.StartAt = startAt.ToUniversalTime();
            campaign.UpdatedAt = now;
            // Contacts not yet due wait for the start; the dialer also waits for the campaign's status.
            await db.CampaignContacts.Where(c => c.CampaignId == id && c.State == ContactStates.Pending && c.Attempts == 0)
                .ExecuteUpdateAsync(s => s.SetProperty(c => c.NextAttemptAt, campaign.StartAt.Value), ct);
            db.LiveEvents.Add(CampaignResults.StatusEvent(campaign, await CampaignResults.CountsAsync(db, campaign.TenantId, id, ct)));
            await db.SaveChangesAsync(ct);
            await tx.CommitAsync(ct);
        }
        var caller = Caller.From(http);
        await audit.AppendAsync(caller.TenantId, caller.Actor, "campaign.scheduled", "campaign:" + id, new { campaign.StartAt }, ct);
        return TypedResults.Ok(await ToDtoAsync(db, campaign, ct));
    }

    /// <summary>
    /// Moves the campaign's status from <paramref name="expected"/> (what the request read) to <paramref name="to"/> in one
    /// conditional <c>UPDATE</c>, inside the caller's transaction; false when another request or the dialer changed it since.
    /// Without it, of a cancel and a resume sent together both could pass their check, and the resume's save turned the
    /// canceled campaign (its contacts already skipped) back into a running one.
    /// </summary>
    private static async Task<bool> ClaimStatusAsync(SwitchboardDbContext db, Guid id, string expected, string to, DateTimeOffset now, CancellationToken ct) =>
        await db.Campaigns.Where(c => c.Id == id && c.Status == expected)
            .ExecuteUpdateAsync(s => s.SetProperty(c => c.Status, to).SetProperty(c => c.UpdatedAt, now), ct) == 1;

    private static JsonHttpResult<ErrorEnvelope> ChangedMeanwhile(string read) =>
        ApiError.Conflict("INVALID_CAMPAIGN_STATE", $"The campaign was changed by another request while this one ran (it was {read}); read it again.");

    /// <summary>Moves a campaign from one of <paramref name="from"/> to <paramref name="to"/> (409 otherwise); canceling skips the contacts not yet called.</summary>
    private static async Task<Results<Ok<CampaignDto>, JsonHttpResult<ErrorEnvelope>>> TransitionAsync(
        Guid id, string[] from, string to, string action, HttpContext http, SwitchboardDbContext db, AuditLog audit, TimeProvider clock, CancellationToken ct)
    {
        var campaign = await db.Campaigns.FirstOrDefaultAsync(c => c.Id == id, ct);
        if (campaign is null)
        {
            return NotFound();
        }
        if (!from.Contains(campaign.Status))
        {
            return ApiError.Conflict("INVALID_CAMPAIGN_STATE", $"A {campaign.Status} campaign cannot become {to} (only from {string.Join(" or ", from)}).");
        }
        var now = clock.GetUtcNow();
        var before = campaign.Status;
        await using (var tx = await db.Database.BeginTransactionAsync(ct))
        {
            if (!await ClaimStatusAsync(db, id, before, to, now, ct))
            {
                return ChangedMeanwhile(before);
            }
            campaign.Status = to;
            campaign.UpdatedAt = now;
            if (to == CampaignStatuses.Running)
            {
                campaign.StartedAt ??= now;
                if (before != CampaignStatuses.Paused)
                {
                    // Started early: the contacts waiting for the scheduled start are due now.
                    await db.CampaignContacts.Where(c => c.CampaignId == id && c.State == ContactStates.Pending && c.Attempts == 0 && c.NextAttemptAt > now)
                        .ExecuteUpdateAsync(s => s.SetProperty(c => c.NextAttemptAt, now), ct);
                }
            }
            if (to == CampaignStatuses.Canceled)
            {
                campaign.EndedAt = now;
                await db.CampaignContacts.Where(c => c.CampaignId == id && c.State == ContactStates.Pending)
                    .ExecuteUpdateAsync(s => s.SetProperty(c => c.State, ContactStates.Skipped).SetProperty(c => c.Result, ContactResults.Canceled)
                        .SetProperty(c => c.UpdatedAt, now), ct);
            }
            db.LiveEvents.Add(CampaignResults.StatusEvent(campaign, await CampaignResults.CountsAsync(db, campaign.TenantId, id, ct)));
            await db.SaveChangesAsync(ct);
            await tx.CommitAsync(ct);
        }
        var caller = Caller.From(http);
        await audit.AppendAsync(caller.TenantId, caller.Actor, action, "campaign:" + id, new { from = before, to }, ct);
        return TypedResults.Ok(await ToDtoAsync(db, campaign, ct));
    }

    private static async Task<Results<ServerSentEventsResult<string>, JsonHttpResult<ErrorEnvelope>>> EventsAsync(
        Guid id, HttpContext http, SwitchboardDbContext db, LiveEventHub hub, CancellationToken ct)
    {
        var campaign = await db.Campaigns.AsNoTracking().FirstOrDefaultAsync(c => c.Id == id, ct);
        if (campaign is null)
        {
            return NotFound();
        }
        var caller = Caller.From(http);
        // Subscribe before reading the snapshot, so no change falls between them.
        var subscription = hub.Subscribe(campaign.TenantId, null, null, null, caller);
        var snapshot = CampaignResults.StatusEvent(campaign, await CampaignResults.CountsAsync(db, campaign.TenantId, id, ct));
        http.Response.Headers["X-Accel-Buffering"] = "no";
        return TypedResults.ServerSentEvents(ReadAsync(http, caller, id, snapshot, subscription, ct));
    }

    private static async IAsyncEnumerable<SseItem<string>> ReadAsync(HttpContext http, Caller caller, Guid campaignId, LiveEventDraft snapshot,
        LiveEventHub.Subscription subscription, [EnumeratorCancellation] CancellationToken ct)
    {
        var services = http.RequestServices;
        var clock = services.GetRequiredService<TimeProvider>();
        var interval = TimeSpan.FromSeconds(services.GetRequiredService<IOptions<DashboardOptions>>().Value.PingSeconds);
        using (subscription)
        {
            yield return new SseItem<string>(snapshot.DataJson, snapshot.Type);
            var reader = subscription.Reader;
            Task<bool>? waiting = null;
            var ping = Task.Delay(interval, clock, ct);
            while (!ct.IsCancellationRequested)
            {
                waiting ??= reader.WaitToReadAsync(ct).AsTask();
                var done = await Task.WhenAny(waiting, ping);
                if (subscription.Revoked)
                {
                    yield break; // access revoked (LiveEventHub.Revoke)
                }
                if (done == ping)
                {
                    if (ct.IsCancellationRequested || !await EventsApi.StillAllowedAsync(services, caller, caller.TenantId!.Value, clock, ct))
                    {
                        yield break;
                    }
                    yield return new SseItem<string>($"{{\"at\":\"{clock.GetUtcNow():O}\"}}", LiveEventTypes.Ping);
                    ping = Task.Delay(interval, clock, ct);
                    continue;
                }
                if (!waiting.IsCompletedSuccessfully || !waiting.Result)
                {
                    yield break;
                }
                waiting = null;
                while (!subscription.Revoked && reader.TryRead(out var e))
                {
                    if (CampaignEventTypes.IsCampaignEvent(e.Type) && IsOf(e.DataJson, campaignId))
                    {
                        yield return new SseItem<string>(e.DataJson, e.Type) { EventId = e.Seq.ToString(CultureInfo.InvariantCulture) };
                    }
                }
            }
        }
    }

    private static bool IsOf(string json, Guid campaignId)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.TryGetProperty("campaignId", out var id) && id.TryGetGuid(out var g) && g == campaignId;
    }

    private static async Task<CampaignDto> ToDtoAsync(SwitchboardDbContext db, Campaign campaign, CancellationToken ct)
    {
        var states = await db.CampaignContacts.AsNoTracking().Where(c => c.CampaignId == campaign.Id)
            .GroupBy(c => c.State).Select(g => new { State = g.Key, Count = g.Count() }).ToDictionaryAsync(g => g.State, g => g.Count, ct);
        var results = await db.CampaignContacts.AsNoTracking().Where(c => c.CampaignId == campaign.Id && c.Result != null)
            .GroupBy(c => c.Result).Select(g => new { Result = g.Key!, Count = g.Count() }).ToDictionaryAsync(g => g.Result, g => g.Count, ct);
        return ToDto(campaign, states, results);
    }

    private static CampaignDto ToDto(Campaign c, Dictionary<string, int> states, Dictionary<string, int> results)
    {
        int Of(string s) => states.GetValueOrDefault(s);
        var counts = new CampaignCounts(states.Values.Sum(), Of(ContactStates.Pending), Of(ContactStates.Queued), Of(ContactStates.Calling), Of(ContactStates.Done),
            Of(ContactStates.Failed), Of(ContactStates.Refused), Of(ContactStates.Skipped));
        return new CampaignDto(c.Id, c.Name, c.AssistantId, c.Status, c.Promotional, c.MaxAttempts, c.RetryMinutes, c.CallsPerSecond, c.StartAt,
            c.CreatedAt, c.UpdatedAt, c.StartedAt, c.EndedAt, counts, results);
    }
}
