using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Switchboard.Alerts;
using Switchboard.Credentials;
using Switchboard.Outbox;
using Switchboard.Platform.Database;
using Switchboard.Platform.Http;
using Switchboard.Platform.Observability;
using Switchboard.Tenancy;

namespace Switchboard.Webhooks;

/// <summary>
/// Delivers one <see cref="WebhookDelivery"/> (outbox kind <c>webhook.deliver</c>), at least once, signed per
/// Standard Webhooks with every active secret of the endpoint. Each run of the outbox row is one attempt; the
/// schedule follows Svix (shared/protocols/standard-webhooks.md §4): immediately, then after 5 s, 5 min,
/// 30 min, 2 h, 5 h, 10 h and 10 h (8 attempts over about 27.6 h, plus up to
/// <see cref="WebhookOptions.RetryJitterPercent"/> jitter), after which the delivery fails (dead letter).
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>Any 2xx is success and resets the endpoint's failure clock; 3xx, 4xx, 5xx, timeouts and connection errors are failures.</item>
/// <item><c>410 Gone</c> disables the endpoint at once (spec §"Operational considerations").</item>
/// <item>An endpoint whose attempts have all failed for <see cref="WebhookOptions.DisableAfterFailingHours"/> (5 days) is disabled
/// and the tenant is texted through its alert policy (on-call and office numbers). A day with no attempt at all restarts
/// that clock: two failures days apart are not a continuous failure.</item>
/// <item><c>Retry-After</c> on 429/503 lengthens the next delay (never shortens it), capped at 24 h.</item>
/// <item>When the endpoint already has <see cref="WebhookOptions.MaxConcurrencyPerEndpoint"/> requests in flight, the delivery
/// waits for one to end, at most <see cref="WebhookOptions.SlotWaitMilliseconds"/> and only if fewer than that many deliveries
/// already wait for the endpoint on this node; otherwise the row is deferred by 1–3 s without counting as an attempt
/// (<see cref="WebhookEndpointGate"/>). A slow receiver holds at most twice its bound of worker slots, the waiting half briefly.</item>
/// <item>Test-sends get one attempt, reach disabled endpoints, and do not count towards disabling.</item>
/// </list>
/// </remarks>
internal sealed class WebhookDeliveryHandler(
    SwitchboardDbContext db,
    WebhookSender sender,
    WebhookEndpointGate gate,
    SecretProtector secrets,
    WebhookEndpointCache endpoints,
    OutboxBatchRead batchRead,
    IOptions<WebhookOptions> options,
    TimeProvider clock,
    ILogger<WebhookDeliveryHandler> logger,
    SwitchboardMetrics metrics) : IOutboxHandler, IOutboxDeadLetterAware
{
    public const string Kind = "webhook.deliver";

    /// <summary>Delays before attempts 2–8: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (Svix; OSS <c>retry_schedule</c>).</summary>
    public static readonly TimeSpan[] Schedule =
    [
        TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(30), TimeSpan.FromHours(2),
        TimeSpan.FromHours(5), TimeSpan.FromHours(10), TimeSpan.FromHours(10),
    ];

    /// <summary>A gap without any attempt this long restarts an endpoint's failure clock.</summary>
    private static readonly TimeSpan QuietGap = TimeSpan.FromHours(24);

    /// <summary>Attempts per run of the schedule: the first plus one per delay.</summary>
    public static int MaxAttempts => Schedule.Length + 1;

    /// <summary>Outbox payload: the delivery to attempt.</summary>
    public sealed record Payload(Guid DeliveryId);

    string IOutboxHandler.Kind => Kind;

    /// <summary>
    /// The delivery with its endpoint (both tracked: an attempt updates them) and its event's id and body, in one query
    /// (issue 13: three lookups by key were three statements per delivery). The endpoint and event are null when deleted.
    /// </summary>
    private static readonly Func<SwitchboardDbContext, Guid, CancellationToken, Task<DeliveryRow?>> LoadDelivery = EF.CompileAsyncQuery(
        (SwitchboardDbContext db, Guid id, CancellationToken ct) =>
            (from d in db.WebhookDeliveries
             where d.Id == id
             from e in db.WebhookEndpoints.Where(e => e.Id == d.EndpointId).DefaultIfEmpty()
             from v in db.WebhookEvents.Where(v => v.Id == d.EventId).DefaultIfEmpty()
             select new DeliveryRow(d, e, v.MessageId, v.PayloadJson)).FirstOrDefault());

    /// <summary>
    /// One row of <see cref="LoadDelivery"/> or of <see cref="WebhookDeliveryBatchReader"/>: <see cref="MessageId"/> and
    /// <see cref="PayloadJson"/> are null when the event is gone, <see cref="Endpoint"/> when the endpoint is.
    /// </summary>
    internal sealed record DeliveryRow(WebhookDelivery Delivery, WebhookEndpoint? Endpoint, string? MessageId, string? PayloadJson);

    /// <summary>The delivery a <c>webhook.deliver</c> message is for (its <see cref="Payload"/>); null when the payload is JSON <c>null</c>.</summary>
    internal static Guid? DeliveryIdOf(OutboxMessage message) =>
        JsonSerializer.Deserialize<Payload>(message.PayloadJson, JsonSerializerOptions.Web)?.DeliveryId;

    public async Task<OutboxResult> HandleAsync(OutboxMessage message, CancellationToken ct)
    {
        var row = DeliveryIdOf(message) is not { } deliveryId ? null
            : batchRead.Take<DeliveryRow>() is { } read && read.Delivery.Id == deliveryId ? Track(read)
            : await LoadDelivery(db, deliveryId, ct);
        if (row is not { Delivery: { Status: WebhookDeliveryStatus.Pending } delivery })
        {
            // Deleted with its endpoint, or already settled by an earlier run (a replay queued behind it).
            return OutboxResult.Done;
        }
        if (row.Endpoint is not { } endpoint)
        {
            return Fail(delivery, clock.GetUtcNow(), "The endpoint was deleted.");
        }
        if (!endpoint.Enabled && !delivery.IsTest)
        {
            return Fail(delivery, clock.GetUtcNow(), "The endpoint is disabled.");
        }
        if (row is not { MessageId: { } messageId, PayloadJson: { } payloadJson })
        {
            return Fail(delivery, clock.GetUtcNow(), "The event no longer exists.");
        }

        var now = clock.GetUtcNow();
        var signingSecrets = ActiveSecrets(endpoint, now);
        if (signingSecrets.Count == 0)
        {
            return Fail(delivery, now, "The endpoint's secret cannot be decrypted (Data Protection key ring changed).");
        }
        if (!Uri.TryCreate(endpoint.Url, UriKind.Absolute, out var url))
        {
            return Fail(delivery, now, "The endpoint URL is invalid.");
        }

        SendOutcome outcome;
        // The wait for the endpoint's slot and the receiver's answer read nothing: the scope's SQLite connection goes back to
        // the session pool meanwhile (the result is saved on the group commit's).
        db.LendBackWhileWaiting();
        await using (var slot = await gate.EnterAsync(endpoint.Id, ct))
        {
            if (slot is null)
            {
                return OutboxResult.Defer(TimeSpan.FromMilliseconds(1000 + Random.Shared.Next(2000)));
            }
            var body = Encoding.UTF8.GetBytes(payloadJson);
            KeyValuePair<string, string>[] headers =
            [
                new(StandardWebhookSigner.IdHeader, messageId),
                new(StandardWebhookSigner.TimestampHeader, StandardWebhookSigner.FormatTimestamp(now)),
                new(StandardWebhookSigner.SignatureHeader, StandardWebhookSigner.SignAll(signingSecrets, messageId, now, body)),
            ];
            outcome = await sender.SendAsync(url, WebhookHeaders.Read(secrets, endpoint.HeadersProtected), headers, body, ct);
        }
        metrics.WebhookDelivered(outcome.StatusCode, outcome.Succeeded, outcome.LatencyMs);

        var ownPreviousAttempt = delivery.LastAttemptAt;
        delivery.Attempts++;
        delivery.ScheduleAttempts++;
        delivery.LastAttemptAt = now;
        delivery.LastStatusCode = outcome.StatusCode;
        delivery.LastLatencyMs = outcome.LatencyMs;
        var error = outcome.Error ?? $"HTTP {outcome.StatusCode}";
        delivery.LastError = outcome.Succeeded ? null : Cap(error, 500);
        db.WebhookAttempts.Add(new WebhookAttempt
        {
            Id = Guid.CreateVersion7(),
            TenantId = delivery.TenantId,
            EndpointId = endpoint.Id,
            DeliveryId = delivery.Id,
            Number = delivery.Attempts,
            At = now,
            StatusCode = outcome.StatusCode,
            LatencyMs = outcome.LatencyMs,
            Succeeded = outcome.Succeeded,
            Error = outcome.Succeeded ? null : Cap(error, 500),
            ResponseExcerpt = outcome.ResponseExcerpt,
        });

        if (outcome.Succeeded)
        {
            delivery.Status = WebhookDeliveryStatus.Succeeded;
            delivery.CompletedAt = now;
            delivery.NextAttemptAt = null;
            if (!delivery.IsTest && endpoint.FailingSince is not null)
            {
                Changing(endpoint);
                endpoint.FailingSince = null;
            }
            return OutboxResult.Done;
        }

        logger.Log(Vapi.WarmUpTenant.Quiet(delivery.TenantId), "Webhook delivery {DeliveryId} attempt {Attempt} failed: {Error}", delivery.Id, delivery.Attempts, error);
        if (outcome.StatusCode == StatusCodes.Status410Gone)
        {
            await DisableAsync(endpoint, "gone", now, notify: false, ct);
            return Fail(delivery, now, "The receiver answered 410 Gone: the endpoint is disabled.");
        }
        if (delivery.IsTest)
        {
            return Fail(delivery, now, error);
        }
        Changing(endpoint);
        if (endpoint.FailingSince is not null)
        {
            // Failures with a quiet day between them are not one continuous failure (Svix starts its clock only for
            // failures within 24 h of each other): after such a gap the clock restarts. Live retries are at most 10 h apart,
            // so this delivery's own previous attempt (one of the endpoint's attempts) usually settles it without a query.
            var previous = ownPreviousAttempt < now && now - ownPreviousAttempt <= QuietGap
                ? ownPreviousAttempt
                : await db.WebhookAttempts.AsNoTracking().Where(a => a.EndpointId == endpoint.Id && a.At < now)
                    .OrderByDescending(a => a.At).Select(a => (DateTimeOffset?)a.At).FirstOrDefaultAsync(ct);
            if (previous is null || now - previous.Value > QuietGap)
            {
                endpoint.FailingSince = now;
            }
        }
        endpoint.FailingSince ??= now;
        if (endpoint.Enabled && now - endpoint.FailingSince >= TimeSpan.FromHours(options.Value.DisableAfterFailingHours))
        {
            await DisableAsync(endpoint, "failing", now, notify: true, ct);
            return Fail(delivery, now, $"Every attempt failed for {options.Value.DisableAfterFailingHours / 24.0:0.#} days: the endpoint is disabled.");
        }
        if (delivery.ScheduleAttempts >= MaxAttempts)
        {
            return Fail(delivery, now, $"All {MaxAttempts} attempts failed; last: {error}");
        }

        var delay = Schedule[delivery.ScheduleAttempts - 1];
        delay += TimeSpan.FromMilliseconds(delay.TotalMilliseconds * options.Value.RetryJitterPercent / 100.0 * Random.Shared.NextDouble());
        if (outcome.StatusCode is 429 or 503 && outcome.RetryAfter is { } asked && asked > delay)
        {
            delay = asked < TimeSpan.FromHours(24) ? asked : TimeSpan.FromHours(24);
        }
        delivery.NextAttemptAt = now + delay;
        return OutboxResult.Retry(error, delay);
    }

    /// <summary>The endpoint of a batch read, not tracked until <see cref="Changing"/> is first called for it.</summary>
    private WebhookEndpoint? untrackedEndpoint;

    /// <summary>
    /// Tracks the delivery of a batch read (read untracked in another scope), as <see cref="LoadDelivery"/> would have; its
    /// endpoint only once it is about to change (<see cref="Changing"/>): a delivery to a healthy endpoint leaves it as it is,
    /// and an untracked entity costs the result's save nothing (issue 13: attaching it, and detecting no change in it, was
    /// CPU spent on every delivery).
    /// </summary>
    private DeliveryRow Track(DeliveryRow row)
    {
        db.WebhookDeliveries.Attach(row.Delivery);
        untrackedEndpoint = row.Endpoint;
        return row;
    }

    /// <summary>Call before changing <paramref name="endpoint"/>: tracks it if it came untracked from a batch read, so the change is saved.</summary>
    private void Changing(WebhookEndpoint endpoint)
    {
        if (ReferenceEquals(endpoint, untrackedEndpoint))
        {
            db.WebhookEndpoints.Attach(endpoint);
            untrackedEndpoint = null;
        }
    }

    /// <summary>The outbox gave up on the row (its own attempt cap): the delivery has failed.</summary>
    public async Task OnDeadLetterAsync(OutboxMessage message, CancellationToken ct)
    {
        var deliveryId = DeliveryIdOf(message);
        var delivery = deliveryId is null ? null : await db.WebhookDeliveries.FirstOrDefaultAsync(d => d.Id == deliveryId, ct);
        if (delivery is { Status: WebhookDeliveryStatus.Pending })
        {
            Fail(delivery, clock.GetUtcNow(), message.LastError ?? "Retries exhausted.");
        }
    }

    /// <summary>The current secret and, until its overlap ends, the previous one: consumers holding either verify (spec §"Webhook headers").</summary>
    private List<string> ActiveSecrets(WebhookEndpoint endpoint, DateTimeOffset now)
    {
        var list = new List<string>(2);
        if (secrets.Unprotect(endpoint.SecretProtected) is { } current)
        {
            list.Add(current);
        }
        if (endpoint.PreviousSecretExpiresAt > now && secrets.Unprotect(endpoint.PreviousSecretProtected) is { } previous)
        {
            list.Add(previous);
        }
        return list;
    }

    private static OutboxResult Fail(WebhookDelivery delivery, DateTimeOffset now, string error)
    {
        delivery.Status = WebhookDeliveryStatus.Failed;
        delivery.CompletedAt = now;
        delivery.NextAttemptAt = null;
        delivery.LastError = Cap(error, 500);
        return OutboxResult.Dead(error);
    }

    /// <summary>
    /// Disables the endpoint and (when <paramref name="notify"/>) queues the tenant's SMS in one transaction. The
    /// conditional update makes exactly one of several concurrent failing deliveries the one that disables and notifies.
    /// </summary>
    private async Task DisableAsync(WebhookEndpoint endpoint, string reason, DateTimeOffset now, bool notify, CancellationToken ct)
    {
        Changing(endpoint);
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var won = await db.WebhookEndpoints.Where(e => e.Id == endpoint.Id && e.Enabled).ExecuteUpdateAsync(u => u
            .SetProperty(e => e.Enabled, false)
            .SetProperty(e => e.DisabledReason, reason)
            .SetProperty(e => e.DisabledAt, now)
            .SetProperty(e => e.UpdatedAt, now), ct) == 1;
        endpoint.Enabled = false;
        if (won)
        {
            endpoint.DisabledReason = reason;
            endpoint.DisabledAt = now;
            endpoint.UpdatedAt = now;
            logger.LogWarning("Webhook endpoint {EndpointId} disabled: {Reason}", endpoint.Id, reason);
            if (notify)
            {
                await QueueDisabledNoticeAsync(endpoint, now, ct);
            }
        }
        else
        {
            // Another delivery disabled it first: keep its reason and time.
            db.Entry(endpoint).State = EntityState.Detached;
        }
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        endpoints.Invalidate(endpoint.TenantId); // the conditional update bypassed the change tracker
    }

    /// <summary>
    /// Texts the tenant's on-call and office numbers that an endpoint was disabled: one SMS per recipient and
    /// disabling, in the alert policy's language (<see cref="SmsText.WebhookDisabled"/>), through the same SmsMessage +
    /// outbox path as lead alerts (committed with the disabling).
    /// </summary>
    private async Task QueueDisabledNoticeAsync(WebhookEndpoint endpoint, DateTimeOffset now, CancellationToken ct)
    {
        var tenant = await db.Tenants.FirstAsync(t => t.Id == endpoint.TenantId, ct);
        var policy = tenant.AlertPolicy;
        var host = Uri.TryCreate(endpoint.Url, UriKind.Absolute, out var u) ? u.Host : "?";
        var body = SmsText.WebhookDisabled(tenant.Name, host, options.Value.DisableAfterFailingHours / 24.0, policy.Language ?? tenant.Locale);
        foreach (var to in policy.OnCallNumbers.Concat(policy.OfficeNumbers).Distinct())
        {
            var key = $"webhook-disabled:{endpoint.Id:N}:{now.UtcTicks}:{to}";
            var sms = new SmsMessage
            {
                Id = Guid.CreateVersion7(),
                TenantId = tenant.Id,
                Direction = "outbound",
                Purpose = "webhook-disabled",
                To = to,
                Body = body.Length <= 459 ? body : TolerantJson.Cap(body, 458) + "…",
                Status = "queued",
                IdempotencyKey = key,
                CreatedAt = now,
            };
            SmsSendHandler.Queue(db, sms, now);
        }
    }

    private static string? Cap(string? s, int max) => TolerantJson.Cap(s, max);
}

/// <summary>
/// The batch read of <c>webhook.deliver</c> (<see cref="IOutboxBatchReader"/>): the deliveries of a claimed batch, each with its
/// endpoint and its event's id and body, in one query instead of one per delivery (issue 13). Untracked, and one endpoint
/// instance per row (no identity resolution), so each message's scope tracks and updates its own copy.
/// </summary>
internal sealed class WebhookDeliveryBatchReader(SwitchboardDbContext db) : IOutboxBatchReader
{
    /// <summary>
    /// The deliveries <c>ids</c> name, across tenants (no tenant is set in a batch read: each join keeps to the delivery's
    /// tenant, and <see cref="ReadAsync"/> hands a row only to a message of that tenant). Compiled: built and looked up
    /// once, not per batch.
    /// </summary>
    private static readonly Func<SwitchboardDbContext, Guid[], IAsyncEnumerable<WebhookDeliveryHandler.DeliveryRow>> ReadDeliveries = EF.CompileAsyncQuery(
        (SwitchboardDbContext db, Guid[] ids) =>
            from d in db.WebhookDeliveries.IgnoreQueryFilters().AsNoTracking()
            where ids.Contains(d.Id)
            from e in db.WebhookEndpoints.Where(e => e.Id == d.EndpointId && e.TenantId == d.TenantId).DefaultIfEmpty()
            from v in db.WebhookEvents.Where(v => v.Id == d.EventId && v.TenantId == d.TenantId).DefaultIfEmpty()
            select new WebhookDeliveryHandler.DeliveryRow(d, e, v.MessageId, v.PayloadJson));

    /// <inheritdoc />
    public async Task<IReadOnlyDictionary<Guid, object>> ReadAsync(IReadOnlyList<OutboxMessage> messages, CancellationToken ct)
    {
        // A delivery named by two messages of the batch (a replay queued behind its first run) is left to their handlers:
        // the second must see what the first wrote.
        var byDelivery = new Dictionary<Guid, OutboxMessage?>(messages.Count);
        foreach (var message in messages)
        {
            if (WebhookDeliveryHandler.DeliveryIdOf(message) is { } id && !byDelivery.TryAdd(id, message))
            {
                byDelivery[id] = null;
            }
        }
        var ids = byDelivery.Where(d => d.Value is not null).Select(d => d.Key).ToArray();
        var read = new Dictionary<Guid, object>(ids.Length);
        if (ids.Length == 0)
        {
            return read;
        }
        await foreach (var row in ReadDeliveries(db, ids).WithCancellation(ct))
        {
            if (byDelivery[row.Delivery.Id] is { } message && message.TenantId == row.Delivery.TenantId)
            {
                read[message.Id] = row;
            }
        }
        return read;
    }
}

/// <summary>An endpoint's custom headers: a JSON object encrypted with Data Protection (values often carry credentials).</summary>
internal static class WebhookHeaders
{
    private static readonly IReadOnlyDictionary<string, string> Empty = new Dictionary<string, string>();

    public static IReadOnlyDictionary<string, string> Read(SecretProtector secrets, string? protectedJson) =>
        secrets.Unprotect(protectedJson) is { } json && JsonSerializer.Deserialize<Dictionary<string, string>>(json) is { } headers
            ? headers
            : Empty;

    public static string? Protect(SecretProtector secrets, IReadOnlyDictionary<string, string> headers) =>
        headers.Count == 0 ? null : secrets.Protect(JsonSerializer.Serialize(headers));
}
