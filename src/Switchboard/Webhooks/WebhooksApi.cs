using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Switchboard.Billing;
using Switchboard.Calls;
using Switchboard.Compliance;
using Switchboard.Credentials;
using Switchboard.Platform.Database;
using Switchboard.Platform.Http;
using Switchboard.Platform.Net;
using Switchboard.Tenancy;

namespace Switchboard.Webhooks;

/// <summary>
/// Creates an endpoint. <c>Url</c>: absolute https URL (http only where the operator allows it). <c>EventTypes</c>:
/// types from <c>GET /api/v1/webhooks/event-types</c>; null or empty subscribes to every type. <c>Enabled</c>: default true.
/// <c>Headers</c>: up to 20 custom request headers (not <c>webhook-*</c>, <c>host</c>, <c>content-*</c>…), values of ASCII text (HttpClient sends no other), stored encrypted.
/// </summary>
public sealed record CreateWebhookEndpointRequest(
    string? Url, string? Description, IReadOnlyList<string>? EventTypes, bool? Enabled, IReadOnlyDictionary<string, string>? Headers);

/// <summary>Changes an endpoint; null fields are left as they are. <c>Headers</c> replaces the whole set (<c>{}</c> clears it). Enabling clears the failure clock.</summary>
public sealed record UpdateWebhookEndpointRequest(
    string? Url, string? Description, IReadOnlyList<string>? EventTypes, bool? Enabled, IReadOnlyDictionary<string, string>? Headers);

/// <summary><c>OverlapHours</c>: how long the previous secret keeps signing alongside the new one (0–168; default 24).</summary>
public sealed record RotateWebhookSecretRequest(double? OverlapHours);

/// <summary>Replays every failed delivery of the endpoint whose event was created in [<c>Since</c>, <c>Until</c>] (Until defaults to now).</summary>
public sealed record ReplayFailedWebhooksRequest(DateTimeOffset? Since, DateTimeOffset? Until);

/// <summary>Sends a test event: the example of <c>EventType</c> (any catalogue type), or a <c>webhook.test</c> event when null.</summary>
public sealed record TestWebhookRequest(string? EventType);

/// <summary>
/// A webhook endpoint. Header values are shown as previews only; the secret never, except once on creation and rotation.
/// <c>DisabledReason</c>: manual, gone (the receiver answered 410) or failing (every attempt failed for 5 days).
/// <c>FailingSince</c>: first failed attempt since the last success.
/// </summary>
public sealed record WebhookEndpointDto(
    Guid Id, string Url, string? Description, IReadOnlyList<string> EventTypes, bool Enabled, string? DisabledReason,
    DateTimeOffset? DisabledAt, IReadOnlyDictionary<string, string> Headers, string SecretPreview, DateTimeOffset? PreviousSecretExpiresAt,
    DateTimeOffset? FailingSince, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

/// <summary>A new endpoint and its signing secret (<c>whsec_…</c>), shown this once.</summary>
public sealed record WebhookEndpointCreated(WebhookEndpointDto Endpoint, string Secret);

/// <summary>The new secret, shown this once; the previous one signs too until <c>PreviousSecretExpiresAt</c> (null: it stopped at once).</summary>
public sealed record WebhookSecretRotated(string Secret, DateTimeOffset? PreviousSecretExpiresAt);

/// <summary>
/// One event's delivery to one endpoint. <c>EventId</c> is the <c>webhook-id</c> header. <c>Status</c>: pending,
/// succeeded or failed. <c>LastLatencyMs</c> in milliseconds.
/// </summary>
public sealed record WebhookDeliveryDto(
    Guid Id, string EventId, string EventType, string Status, int Attempts, int? LastStatusCode, int? LastLatencyMs,
    string? LastError, DateTimeOffset? LastAttemptAt, DateTimeOffset? NextAttemptAt, bool Test, DateTimeOffset CreatedAt, DateTimeOffset? CompletedAt);

/// <summary>One HTTP attempt. <c>StatusCode</c> null: no response (timeout, refused, blocked). <c>ResponseExcerpt</c>: first 1 KB of the body.</summary>
public sealed record WebhookAttemptDto(int Number, DateTimeOffset At, int? StatusCode, int LatencyMs, bool Succeeded, string? Error, string? ResponseExcerpt);

/// <summary>A delivery with the exact body sent and every attempt, oldest first.</summary>
public sealed record WebhookDeliveryDetail(WebhookDeliveryDto Delivery, JsonElement Payload, IReadOnlyList<WebhookAttemptDto> Attempts);

/// <summary>How many failed deliveries were queued again; <c>More</c> when the 1000-per-request cap left some (call again).</summary>
public sealed record WebhookReplayResult(int Queued, bool More);

/// <summary>
/// <c>/api/v1/webhooks</c>: the tenant's webhook endpoints, their delivery log, replay and test-send
/// (shared/protocols/standard-webhooks.md §3–4). Every route is scoped to the API key's tenant; another tenant's
/// endpoint or delivery is a 404.
/// </summary>
internal static class WebhooksApi
{
    private const int MaxBodyBytes = 64 * 1024;
    private const int MaxHeaders = 20;
    private const int ReplayBatch = 1000;

    private static readonly string[] ReservedHeaders =
    [
        "host", "content-length", "content-type", "content-encoding", "transfer-encoding", "connection", "keep-alive",
        "upgrade", "te", "trailer", "expect", "user-agent", "cookie",
    ];

    private static readonly string[] ReservedHeaderPrefixes = ["webhook-", "svix-", "proxy-", "sec-"];

    public static RouteGroupBuilder MapWebhooks(this RouteGroupBuilder api)
    {
        var g = api.MapGroup("/webhooks").WithTags("Webhooks").RequireFeature(Features.Webhooks);
        g.MapGet("/event-types", ListEventTypes).WithSummary("The event types endpoints can subscribe to")
            .WithDescription("Each type's body is {\"type\",\"timestamp\",\"data\"}; the data schemas are under 'webhooks' in this document.");
        g.MapGet("/endpoints", ListEndpointsAsync).WithSummary("List webhook endpoints");
        g.MapPost("/endpoints", CreateEndpointAsync).RequirePermission(Permission.Configure).WithSummary("Create a webhook endpoint; the response holds its secret, shown once")
            .Accepts<CreateWebhookEndpointRequest>("application/json").Errors(400, 409, 413, 422);
        g.MapGet("/endpoints/{id:guid}", GetEndpointAsync).WithSummary("A webhook endpoint").Errors(404);
        g.MapPatch("/endpoints/{id:guid}", UpdateEndpointAsync).RequirePermission(Permission.Configure).WithSummary("Change a webhook endpoint")
            .Accepts<UpdateWebhookEndpointRequest>("application/json").Errors(400, 404, 413, 422);
        g.MapDelete("/endpoints/{id:guid}", DeleteEndpointAsync).RequirePermission(Permission.Configure).WithSummary("Delete a webhook endpoint and its delivery log").Errors(404);
        g.MapPost("/endpoints/{id:guid}/rotate-secret", RotateSecretAsync).RequirePermission(Permission.Configure).WithSummary("Rotate the signing secret; the old one keeps signing for the overlap")
            .Accepts<RotateWebhookSecretRequest>("application/json").Errors(400, 404, 422);
        g.MapPost("/endpoints/{id:guid}/test", TestAsync).RequirePermission(Permission.Configure).WithSummary("Send a test event now (also to a disabled endpoint)")
            .Accepts<TestWebhookRequest>("application/json").Errors(400, 404, 422);
        g.MapGet("/endpoints/{id:guid}/deliveries", ListDeliveriesAsync).WithSummary("The endpoint's delivery log, newest first")
            .WithDescription("Filters: status (pending|succeeded|failed), eventType.").Errors(404, 422);
        g.MapGet("/endpoints/{id:guid}/deliveries/{deliveryId:guid}", GetDeliveryAsync).WithSummary("A delivery with its body and attempts").Errors(404);
        g.MapPost("/endpoints/{id:guid}/deliveries/{deliveryId:guid}/replay", ReplayAsync).RequirePermission(Permission.Configure).WithSummary("Deliver this event to the endpoint again")
            .Errors(404, 409);
        g.MapPost("/endpoints/{id:guid}/replay-failed", ReplayFailedAsync).RequirePermission(Permission.Configure).WithSummary("Replay every failed delivery since a time")
            .Accepts<ReplayFailedWebhooksRequest>("application/json").Errors(400, 404, 409, 422);
        return api;
    }

    private static Ok<IReadOnlyList<WebhookEventTypeDto>> ListEventTypes() =>
        TypedResults.Ok<IReadOnlyList<WebhookEventTypeDto>>(WebhookEventTypes.All.Select(d => new WebhookEventTypeDto(d.Type, d.Description)).ToList());

    private static async Task<Ok<IReadOnlyList<WebhookEndpointDto>>> ListEndpointsAsync(SwitchboardDbContext db, SecretProtector secrets, CancellationToken ct)
    {
        var rows = await db.WebhookEndpoints.AsNoTracking().OrderBy(e => e.CreatedAt).ThenBy(e => e.Id).ToListAsync(ct);
        return TypedResults.Ok<IReadOnlyList<WebhookEndpointDto>>(rows.Select(e => ToDto(e, secrets)).ToList());
    }

    private static async Task<Results<Created<WebhookEndpointCreated>, JsonHttpResult<ErrorEnvelope>>> CreateEndpointAsync(
        HttpRequest request, SwitchboardDbContext db, CurrentTenant tenant, SecretProtector secrets, WebhookUrlPolicy policy,
        IOptions<WebhookOptions> options, AuditLog audit, TimeProvider clock, CancellationToken ct)
    {
        var (body, bad) = await ReadBodyAsync<CreateWebhookEndpointRequest>(request, required: true, ct);
        if (bad is not null)
        {
            return bad;
        }
        var (url, refusal) = await policy.ValidateAsync(body!.Url, ct);
        if (refusal is not null)
        {
            return Refused(refusal);
        }
        if (ValidateFields(body.Description, body.EventTypes, body.Headers) is { } invalid)
        {
            return invalid;
        }
        // Counted under the tenant's row lock, so concurrent creations cannot pass the limit together.
        await using var tx = await TenantRowLock.BeginAsync(db, tenant.TenantId!.Value, ct);
        if (await db.WebhookEndpoints.CountAsync(ct) >= options.Value.MaxEndpointsPerTenant)
        {
            return ApiError.Conflict("ENDPOINT_LIMIT_REACHED", $"A tenant may have at most {options.Value.MaxEndpointsPerTenant} webhook endpoints.");
        }
        var now = clock.GetUtcNow();
        var secret = StandardWebhookSigner.GenerateSecret();
        var enabled = body.Enabled ?? true;
        var endpoint = new WebhookEndpoint
        {
            Id = Guid.CreateVersion7(),
            TenantId = tenant.TenantId!.Value,
            Url = url!.AbsoluteUri,
            Description = NullIfBlank(body.Description),
            EventTypes = NormalizeTypes(body.EventTypes),
            Enabled = enabled,
            DisabledReason = enabled ? null : "manual",
            DisabledAt = enabled ? null : now,
            HeadersProtected = WebhookHeaders.Protect(secrets, body.Headers ?? new Dictionary<string, string>()),
            SecretProtected = secrets.Protect(secret),
            CreatedAt = now,
            UpdatedAt = now,
        };
        db.WebhookEndpoints.Add(endpoint);
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        await AuditAsync(audit, request.HttpContext, "webhooks.endpoint_created", endpoint,
            new { url = endpoint.Url, eventTypes = endpoint.EventTypes, enabled = endpoint.Enabled }, ct);
        return TypedResults.Created($"/api/v1/webhooks/endpoints/{endpoint.Id}", new WebhookEndpointCreated(ToDto(endpoint, secrets), secret));
    }

    private static async Task<Results<Ok<WebhookEndpointDto>, JsonHttpResult<ErrorEnvelope>>> GetEndpointAsync(
        Guid id, SwitchboardDbContext db, SecretProtector secrets, CancellationToken ct) =>
        await db.WebhookEndpoints.AsNoTracking().FirstOrDefaultAsync(e => e.Id == id, ct) is { } endpoint
            ? TypedResults.Ok(ToDto(endpoint, secrets))
            : EndpointNotFound();

    private static async Task<Results<Ok<WebhookEndpointDto>, JsonHttpResult<ErrorEnvelope>>> UpdateEndpointAsync(
        Guid id, HttpRequest request, SwitchboardDbContext db, SecretProtector secrets, WebhookUrlPolicy policy, AuditLog audit, TimeProvider clock, CancellationToken ct)
    {
        var endpoint = await db.WebhookEndpoints.FirstOrDefaultAsync(e => e.Id == id, ct);
        if (endpoint is null)
        {
            return EndpointNotFound();
        }
        var (body, bad) = await ReadBodyAsync<UpdateWebhookEndpointRequest>(request, required: true, ct);
        if (bad is not null)
        {
            return bad;
        }
        if (ValidateFields(body!.Description, body.EventTypes, body.Headers) is { } invalid)
        {
            return invalid;
        }
        var now = clock.GetUtcNow();
        if (body.Url is not null)
        {
            var (url, refusal) = await policy.ValidateAsync(body.Url, ct);
            if (refusal is not null)
            {
                return Refused(refusal);
            }
            endpoint.Url = url!.AbsoluteUri;
        }
        if (body.Description is not null)
        {
            endpoint.Description = NullIfBlank(body.Description);
        }
        if (body.EventTypes is not null)
        {
            endpoint.EventTypes = NormalizeTypes(body.EventTypes);
        }
        if (body.Headers is not null)
        {
            endpoint.HeadersProtected = WebhookHeaders.Protect(secrets, body.Headers);
        }
        if (body.Enabled is { } enabled && enabled != endpoint.Enabled)
        {
            endpoint.Enabled = enabled;
            endpoint.DisabledReason = enabled ? null : "manual";
            endpoint.DisabledAt = enabled ? null : now;
            // A re-enabled endpoint starts with a clean failure clock.
            endpoint.FailingSince = null;
        }
        endpoint.UpdatedAt = now;
        await db.SaveChangesAsync(ct);
        // What changed, by name (header values are secrets: only that they changed).
        await AuditAsync(audit, request.HttpContext, "webhooks.endpoint_updated", endpoint, new
        {
            url = body.Url is null ? null : endpoint.Url,
            eventTypes = body.EventTypes is null ? null : endpoint.EventTypes,
            description = body.Description is not null,
            headers = body.Headers is not null,
            enabled = body.Enabled,
        }, ct);
        return TypedResults.Ok(ToDto(endpoint, secrets));
    }

    private static async Task<Results<NoContent, JsonHttpResult<ErrorEnvelope>>> DeleteEndpointAsync(Guid id, HttpContext http, SwitchboardDbContext db,
        WebhookEndpointCache endpoints, AuditLog audit, CancellationToken ct)
    {
        if (await db.WebhookEndpoints.AsNoTracking().FirstOrDefaultAsync(e => e.Id == id, ct) is not { } deleted)
        {
            return EndpointNotFound();
        }
        var tenantId = deleted.TenantId;
        // Pending outbox rows of its deliveries find nothing and complete without sending.
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        await db.WebhookAttempts.Where(a => a.EndpointId == id).ExecuteDeleteAsync(ct);
        await db.WebhookDeliveries.Where(d => d.EndpointId == id).ExecuteDeleteAsync(ct);
        // Of two DELETEs at once both read the endpoint; only the one whose statement removed the row answers 204 and
        // audits, the other answers 404 as it would have in sequence (its transaction rolls back, having removed nothing).
        if (await db.WebhookEndpoints.Where(e => e.Id == id).ExecuteDeleteAsync(ct) == 0)
        {
            return EndpointNotFound();
        }
        await tx.CommitAsync(ct);
        endpoints.Invalidate(tenantId); // bypassed the change tracker: no interceptor saw it
        await AuditAsync(audit, http, "webhooks.endpoint_deleted", deleted, new { url = deleted.Url }, ct);
        return TypedResults.NoContent();
    }

    private static async Task<Results<Ok<WebhookSecretRotated>, JsonHttpResult<ErrorEnvelope>>> RotateSecretAsync(
        Guid id, HttpRequest request, SwitchboardDbContext db, SecretProtector secrets, IOptions<WebhookOptions> options, WebhookEndpointCache endpoints,
        AuditLog audit, TimeProvider clock, CancellationToken ct)
    {
        if (!await db.WebhookEndpoints.AnyAsync(e => e.Id == id, ct))
        {
            return EndpointNotFound();
        }
        var (body, bad) = await ReadBodyAsync<RotateWebhookSecretRequest>(request, required: false, ct);
        if (bad is not null)
        {
            return bad;
        }
        var hours = body?.OverlapHours ?? options.Value.SecretOverlapHours;
        if (double.IsNaN(hours) || hours is < 0 or > 168)
        {
            return ApiError.Unprocessable("INVALID_OVERLAP", "overlapHours must be between 0 and 168.");
        }
        // Read and changed under the tenant's row lock: of two rotations at once, the second replaces the first's secret
        // (kept as the previous one for the overlap) instead of both replacing the same one, which lost the first's secret
        // while its caller was told it signs.
        await using var tx = await TenantRowLock.BeginAsync(db, Caller.From(request.HttpContext).TenantId!.Value, ct);
        var endpoint = await db.WebhookEndpoints.FirstOrDefaultAsync(e => e.Id == id, ct);
        if (endpoint is null)
        {
            return EndpointNotFound();
        }
        var now = clock.GetUtcNow();
        var secret = StandardWebhookSigner.GenerateSecret();
        // Only the secret being replaced keeps signing: an older one still in its overlap stops now.
        endpoint.PreviousSecretProtected = hours > 0 ? endpoint.SecretProtected : null;
        endpoint.PreviousSecretExpiresAt = hours > 0 ? now.AddHours(hours) : null;
        endpoint.SecretProtected = secrets.Protect(secret);
        endpoint.UpdatedAt = now;
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        endpoints.Invalidate(endpoint.TenantId); // the save's own invalidation ran before the commit: a read in between cached the old secret
        await AuditAsync(audit, request.HttpContext, "webhooks.secret_rotated", endpoint, new { overlapHours = hours }, ct);
        return TypedResults.Ok(new WebhookSecretRotated(secret, endpoint.PreviousSecretExpiresAt));
    }

    private static async Task<Results<Accepted<WebhookDeliveryDto>, JsonHttpResult<ErrorEnvelope>>> TestAsync(
        Guid id, HttpRequest request, SwitchboardDbContext db, WebhookEventPublisher publisher, TimeProvider clock, CancellationToken ct)
    {
        var endpoint = await db.WebhookEndpoints.AsNoTracking().FirstOrDefaultAsync(e => e.Id == id, ct);
        if (endpoint is null)
        {
            return EndpointNotFound();
        }
        var (body, bad) = await ReadBodyAsync<TestWebhookRequest>(request, required: false, ct);
        if (bad is not null)
        {
            return bad;
        }
        WebhookEvent evt;
        var messageId = "msg_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        if (body?.EventType is { } type)
        {
            if (WebhookEventTypes.Find(type) is not { } definition)
            {
                return UnknownType(type);
            }
            evt = publisher.NewEvent(endpoint.TenantId, messageId, type, definition.Example());
        }
        else
        {
            evt = publisher.NewEvent(endpoint.TenantId, messageId, WebhookEventTypes.Test,
                new WebhookTestData(endpoint.Id, "This is a test event from Switchboard."));
        }
        db.WebhookEvents.Add(evt);
        var delivery = WebhookEventPublisher.Enqueue(db, evt, endpoint.Id, isTest: true, clock.GetUtcNow());
        await db.SaveChangesAsync(ct);
        return TypedResults.Accepted($"/api/v1/webhooks/endpoints/{id}/deliveries/{delivery.Id}", ToDto(delivery, evt.MessageId));
    }

    private static async Task<Results<Ok<Paged<WebhookDeliveryDto>>, JsonHttpResult<ErrorEnvelope>>> ListDeliveriesAsync(
        Guid id, SwitchboardDbContext db, string? status, string? eventType, int? page, int? pageSize, CancellationToken ct)
    {
        if (page is < 1)
        {
            return ApiError.Unprocessable("INVALID_PAGE", "page starts at 1.");
        }
        if (pageSize is < 1 or > 100)
        {
            return ApiError.Unprocessable("INVALID_PAGE_SIZE", "pageSize must be between 1 and 100.");
        }
        if (status is not (null or WebhookDeliveryStatus.Pending or WebhookDeliveryStatus.Succeeded or WebhookDeliveryStatus.Failed))
        {
            return ApiError.Unprocessable("INVALID_FILTER", "status must be pending, succeeded or failed.");
        }
        if (!await db.WebhookEndpoints.AnyAsync(e => e.Id == id, ct))
        {
            return EndpointNotFound();
        }
        var query = db.WebhookDeliveries.AsNoTracking().Where(d => d.EndpointId == id);
        if (status is not null)
        {
            query = query.Where(d => d.Status == status);
        }
        if (!string.IsNullOrWhiteSpace(eventType))
        {
            query = query.Where(d => d.EventType == eventType);
        }
        var (p, size) = (page ?? 1, pageSize ?? 20);
        var (offset, beyond) = PageOffset.Of(p, size);
        if (beyond is not null)
        {
            return beyond;
        }
        var total = await query.CountAsync(ct);
        var rows = await query.OrderByDescending(d => d.CreatedAt).ThenByDescending(d => d.Id).Skip(offset).Take(size)
            .Join(db.WebhookEvents, d => d.EventId, e => e.Id, (d, e) => new { Delivery = d, e.MessageId })
            .ToListAsync(ct);
        return TypedResults.Ok(new Paged<WebhookDeliveryDto>(rows.Select(r => ToDto(r.Delivery, r.MessageId)).ToList(), p, size, total));
    }

    private static async Task<Results<Ok<WebhookDeliveryDetail>, JsonHttpResult<ErrorEnvelope>>> GetDeliveryAsync(
        Guid id, Guid deliveryId, SwitchboardDbContext db, CancellationToken ct)
    {
        var delivery = await db.WebhookDeliveries.AsNoTracking().FirstOrDefaultAsync(d => d.Id == deliveryId && d.EndpointId == id, ct);
        var evt = delivery is null ? null : await db.WebhookEvents.AsNoTracking().FirstOrDefaultAsync(e => e.Id == delivery.EventId, ct);
        if (delivery is null || evt is null)
        {
            return DeliveryNotFound();
        }
        var attempts = await db.WebhookAttempts.AsNoTracking().Where(a => a.DeliveryId == deliveryId).OrderBy(a => a.Number)
            .Select(a => new WebhookAttemptDto(a.Number, a.At, a.StatusCode, a.LatencyMs, a.Succeeded, a.Error, a.ResponseExcerpt))
            .ToListAsync(ct);
        using var payload = JsonDocument.Parse(evt.PayloadJson);
        return TypedResults.Ok(new WebhookDeliveryDetail(ToDto(delivery, evt.MessageId), payload.RootElement.Clone(), attempts));
    }

    private static async Task<Results<Accepted<WebhookDeliveryDto>, JsonHttpResult<ErrorEnvelope>>> ReplayAsync(
        Guid id, Guid deliveryId, SwitchboardDbContext db, TimeProvider clock, CancellationToken ct)
    {
        var endpoint = await db.WebhookEndpoints.AsNoTracking().FirstOrDefaultAsync(e => e.Id == id, ct);
        var delivery = endpoint is null ? null : await db.WebhookDeliveries.FirstOrDefaultAsync(d => d.Id == deliveryId && d.EndpointId == id, ct);
        var evt = delivery is null ? null : await db.WebhookEvents.AsNoTracking().FirstOrDefaultAsync(e => e.Id == delivery.EventId, ct);
        if (endpoint is null)
        {
            return EndpointNotFound();
        }
        if (delivery is null || evt is null)
        {
            return DeliveryNotFound();
        }
        if (delivery.Status == WebhookDeliveryStatus.Pending)
        {
            return ApiError.Conflict("DELIVERY_PENDING", "This delivery is still being attempted.");
        }
        if (!endpoint.Enabled && !delivery.IsTest)
        {
            return EndpointDisabled();
        }
        Requeue(db, delivery, clock.GetUtcNow());
        return await SaveReplayAsync(db, ct) ?? (Results<Accepted<WebhookDeliveryDto>, JsonHttpResult<ErrorEnvelope>>)
            TypedResults.Accepted($"/api/v1/webhooks/endpoints/{id}/deliveries/{delivery.Id}", ToDto(delivery, evt.MessageId));
    }

    private static async Task<Results<Accepted<WebhookReplayResult>, JsonHttpResult<ErrorEnvelope>>> ReplayFailedAsync(
        Guid id, HttpRequest request, SwitchboardDbContext db, TimeProvider clock, CancellationToken ct)
    {
        var endpoint = await db.WebhookEndpoints.AsNoTracking().FirstOrDefaultAsync(e => e.Id == id, ct);
        if (endpoint is null)
        {
            return EndpointNotFound();
        }
        var (body, bad) = await ReadBodyAsync<ReplayFailedWebhooksRequest>(request, required: true, ct);
        if (bad is not null)
        {
            return bad;
        }
        var now = clock.GetUtcNow();
        if (body!.Since is not { } since)
        {
            return ApiError.Unprocessable("INVALID_RANGE", "since is required (ISO-8601).");
        }
        var until = body.Until ?? now;
        if (since > until)
        {
            return ApiError.Unprocessable("INVALID_RANGE", "since must not be after until.");
        }
        if (!endpoint.Enabled)
        {
            return EndpointDisabled();
        }
        var (from, to) = (since.ToUniversalTime(), until.ToUniversalTime());
        var failed = await db.WebhookDeliveries
            .Where(d => d.EndpointId == id && d.Status == WebhookDeliveryStatus.Failed && !d.IsTest && d.CreatedAt >= from && d.CreatedAt <= to)
            .OrderBy(d => d.CreatedAt).ThenBy(d => d.Id).Take(ReplayBatch + 1).ToListAsync(ct);
        var batch = failed.Take(ReplayBatch).ToList();
        foreach (var delivery in batch)
        {
            Requeue(db, delivery, now);
        }
        return await SaveReplayAsync(db, ct) ?? (Results<Accepted<WebhookReplayResult>, JsonHttpResult<ErrorEnvelope>>)
            TypedResults.Accepted((string?)null, new WebhookReplayResult(batch.Count, failed.Count > ReplayBatch));
    }

    /// <summary>Starts a new run of the retry schedule for a settled delivery (same event, same <c>webhook-id</c>).</summary>
    private static void Requeue(SwitchboardDbContext db, WebhookDelivery delivery, DateTimeOffset now)
    {
        delivery.Status = WebhookDeliveryStatus.Pending;
        delivery.ScheduleAttempts = 0;
        delivery.Replays++;
        delivery.NextAttemptAt = now;
        delivery.CompletedAt = null;
        WebhookEventPublisher.QueueAttempts(db, delivery, now);
    }

    /// <summary>Saves a replay; a concurrent replay of the same delivery loses on the outbox dedupe key and gets a 409.</summary>
    private static async Task<JsonHttpResult<ErrorEnvelope>?> SaveReplayAsync(SwitchboardDbContext db, CancellationToken ct)
    {
        try
        {
            await db.SaveChangesAsync(ct);
            return null;
        }
        catch (DbUpdateException)
        {
            return ApiError.Conflict("REPLAY_CONFLICT", "The delivery was replayed concurrently; reload and try again.");
        }
    }

    private static JsonHttpResult<ErrorEnvelope>? ValidateFields(string? description, IReadOnlyList<string>? eventTypes, IReadOnlyDictionary<string, string>? headers)
    {
        if (description is { Length: > 500 })
        {
            return ApiError.Unprocessable("INVALID_DESCRIPTION", "description must be at most 500 characters.");
        }
        if (eventTypes is not null)
        {
            if (eventTypes.Count > WebhookEventTypes.All.Count)
            {
                return ApiError.Unprocessable("INVALID_EVENT_TYPES", "Too many event types.");
            }
            foreach (var type in eventTypes)
            {
                if (type is null || !WebhookEventTypes.IsKnown(type))
                {
                    return UnknownType(type);
                }
            }
        }
        if (headers is not null)
        {
            if (headers.Count > MaxHeaders)
            {
                return ApiError.Unprocessable("INVALID_HEADERS", $"At most {MaxHeaders} custom headers.");
            }
            var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (var (name, value) in headers)
            {
                if (!IsToken(name) || name.Length > 100)
                {
                    return ApiError.Unprocessable("INVALID_HEADERS", $"'{Truncate(name, 100)}' is not a valid header name.");
                }
                var lower = name.ToLowerInvariant();
                if (ReservedHeaders.Contains(lower) || ReservedHeaderPrefixes.Any(p => lower.StartsWith(p, StringComparison.Ordinal)))
                {
                    return ApiError.Unprocessable("RESERVED_HEADER", $"The header '{name}' is set by Switchboard and cannot be customised.");
                }
                if (!seen.Add(name))
                {
                    return ApiError.Unprocessable("INVALID_HEADERS", $"The header '{name}' is given twice.");
                }
                // ASCII only: HttpClient refuses any other character in a request header ("Request headers must contain only
                // ASCII characters"), so such a value was accepted here and then failed every delivery to the endpoint.
                // RFC 9110 §5.5 leaves anything past US-ASCII (obs-text) as legacy, without a defined encoding.
                if (value is null || value.Length > 2000 || value.Any(c => c is '\r' or '\n' or '\0' || !char.IsAscii(c) || (char.IsControl(c) && c != '\t')))
                {
                    return ApiError.Unprocessable("INVALID_HEADERS",
                        $"The value of '{name}' must be at most 2000 ASCII characters with no line breaks or control characters.");
                }
            }
        }
        return null;
    }

    /// <summary>RFC 9110 §5.6.2 token.</summary>
    private static bool IsToken(string? name) =>
        !string.IsNullOrEmpty(name) && name.All(c => c < 127 && (char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c)));

    /// <summary>
    /// Appends a change to a webhook endpoint to the tenant's audit chain (<see cref="AuditLog"/>): the actor, <paramref name="action"/>
    /// (<c>webhooks.endpoint_created</c>, <c>webhooks.endpoint_updated</c>, <c>webhooks.endpoint_deleted</c>, <c>webhooks.secret_rotated</c>),
    /// target <c>webhook_endpoint:{id}</c> and <paramref name="details"/>. Secrets and header values are never part of it.
    /// </summary>
    private static Task AuditAsync(AuditLog audit, HttpContext http, string action, WebhookEndpoint endpoint, object details, CancellationToken ct)
    {
        var caller = Caller.From(http);
        return audit.AppendAsync(endpoint.TenantId, caller.Actor, action, "webhook_endpoint:" + endpoint.Id, details, ct);
    }

    /// <summary>
    /// Reads a JSON body of at most 64 KB. An empty body is a 400 when <paramref name="required"/>, else yields null. A
    /// top-level field <typeparamref name="T"/> does not have was already refused before the endpoint (400 <c>UNKNOWN_FIELD</c>,
    /// <see cref="UnknownFields"/>, from the route's <c>.Accepts&lt;T&gt;</c>).
    /// </summary>
    private static async Task<(T? Body, JsonHttpResult<ErrorEnvelope>? Error)> ReadBodyAsync<T>(HttpRequest request, bool required, CancellationToken ct)
        where T : class
    {
        if (request.ContentLength > MaxBodyBytes)
        {
            return (null, ApiError.TooLarge($"The body exceeds {MaxBodyBytes} bytes."));
        }
        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, ct)) > 0)
        {
            buffer.Write(chunk, 0, read);
            if (buffer.Length > MaxBodyBytes)
            {
                return (null, ApiError.TooLarge($"The body exceeds {MaxBodyBytes} bytes."));
            }
        }
        if (buffer.Length == 0)
        {
            return required ? (null, ApiError.BadRequest("MISSING_BODY", "A JSON body is required.")) : (null, null);
        }
        try
        {
            var body = JsonSerializer.Deserialize<T>(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), RequestJson.Options);
            if (body is null)
            {
                return required ? (null, ApiError.BadRequest("MISSING_BODY", "A JSON object is required.")) : (null, null);
            }
            return (body, null);
        }
        catch (JsonException e)
        {
            if (RequestJson.DuplicateProperty(e) is { } duplicate)
            {
                return (null, ApiError.BadRequest("MALFORMED_JSON", $"The body names '{duplicate}' more than once."));
            }
            var where = string.IsNullOrEmpty(e.Path) || e.Path == "$" ? "" : $" (at {e.Path})";
            return (null, ApiError.BadRequest("MALFORMED_JSON", $"The body is not valid JSON of the expected shape{where}."));
        }
    }

    private static List<string> NormalizeTypes(IReadOnlyList<string>? types) => types?.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList() ?? [];

    private static string? NullIfBlank(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();

    private static string Truncate(string? s, int max) => TolerantJson.Cap(s, max) ?? "";

    private static JsonHttpResult<ErrorEnvelope> Refused(UrlRefusal refusal) =>
        ApiError.Unprocessable(refusal.Code, refusal.Message, refusal.Address is null ? null : new { address = refusal.Address, reason = refusal.Reason });

    private static JsonHttpResult<ErrorEnvelope> UnknownType(string? type) =>
        ApiError.Unprocessable("UNKNOWN_EVENT_TYPE", $"'{Truncate(type, 100)}' is not an event type.",
            new { eventTypes = WebhookEventTypes.All.Select(d => d.Type).ToList() });

    private static JsonHttpResult<ErrorEnvelope> EndpointNotFound() => ApiError.NotFound("WEBHOOK_ENDPOINT_NOT_FOUND", "No such webhook endpoint.");

    private static JsonHttpResult<ErrorEnvelope> DeliveryNotFound() => ApiError.NotFound("WEBHOOK_DELIVERY_NOT_FOUND", "No such delivery.");

    private static JsonHttpResult<ErrorEnvelope> EndpointDisabled() =>
        ApiError.Conflict("ENDPOINT_DISABLED", "The endpoint is disabled: enable it (PATCH enabled=true) before replaying.");

    private static WebhookEndpointDto ToDto(WebhookEndpoint e, SecretProtector secrets) => new(
        e.Id, e.Url, e.Description, e.EventTypes, e.Enabled, e.DisabledReason, e.DisabledAt,
        WebhookHeaders.Read(secrets, e.HeadersProtected).ToDictionary(h => h.Key, h => SecretProtector.Preview(h.Value)),
        secrets.Unprotect(e.SecretProtected) is { } s ? SecretProtector.Preview(s) : "(unreadable)",
        e.PreviousSecretExpiresAt, e.FailingSince, e.CreatedAt, e.UpdatedAt);

    private static WebhookDeliveryDto ToDto(WebhookDelivery d, string messageId) => new(
        d.Id, messageId, d.EventType, d.Status, d.Attempts, d.LastStatusCode, d.LastLatencyMs, d.LastError, d.LastAttemptAt,
        d.NextAttemptAt, d.IsTest, d.CreatedAt, d.CompletedAt);

    /// <summary>Declares the error envelope for each status in the OpenAPI document.</summary>
    private static RouteHandlerBuilder Errors(this RouteHandlerBuilder builder, params int[] statuses)
    {
        foreach (var status in statuses)
        {
            builder.Produces<ErrorEnvelope>(status);
        }
        return builder;
    }
}
