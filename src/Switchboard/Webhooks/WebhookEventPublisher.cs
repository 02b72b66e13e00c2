using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Switchboard.Alerts;
using Switchboard.Assistants;
using Switchboard.Calls;
using Switchboard.Outbox;
using Switchboard.Platform.Database;

namespace Switchboard.Webhooks;

/// <summary>
/// Turns facts into tenant webhook events. Each event is fanned out to the tenant's enabled endpoints subscribed
/// to its type as one <see cref="WebhookDelivery"/> plus one outbox row each, all added to the caller's unit of work:
/// they commit with the state change that caused them, or not at all. Nothing here calls SaveChanges.
/// </summary>
/// <remarks>
/// The event id (<c>webhook-id</c>) is derived from the fact: <c>msg_</c> + the first 128 bits of
/// SHA-256(tenant, type, event key), hex. Publishing the same fact again (a provider redelivering a message,
/// a tool call and the end-of-call report both finding the lead) finds the existing event and adds nothing.
/// No endpoint subscribed means no event row.
/// </remarks>
internal sealed class WebhookEventPublisher(SwitchboardDbContext db, WebhookEndpointCache endpointCache, Tenancy.TenantAccountCache accounts, TimeProvider clock)
{
    /// <summary>Body serialisation: camelCase (JSON web defaults), nulls written, so each type's shape is stable.</summary>
    internal static readonly JsonSerializerOptions Json = Platform.Http.FiniteDoubleConverter.AddTo(new(JsonSerializerDefaults.Web));

    private readonly Dictionary<Guid, IReadOnlyList<SubscribedEndpoint>> endpointsByTenant = [];

    /// <summary>Event ids (<c>webhook-id</c>) this unit of work has looked up: true when stored (<see cref="PreloadAsync"/>).</summary>
    private readonly Dictionary<string, bool> storedByMessageId = new(StringComparer.Ordinal);

    /// <summary>Event ids this unit of work has published (queued with <see cref="SwitchboardDbContext.InsertOnSave(object)"/>, so not in <c>WebhookEvents.Local</c>).</summary>
    private readonly HashSet<string> publishedMessageIds = new(StringComparer.Ordinal);

    /// <summary>The <see cref="SwitchboardDbContext.UnitOfWork"/> the lookups above were made in.</summary>
    private int lookupsOf;

    /// <summary>Forgets the lookups of an earlier unit of work (one replayed after a unique-key race must see what is stored now).</summary>
    private void ForgetEarlierUnits()
    {
        if (lookupsOf != db.UnitOfWork)
        {
            lookupsOf = db.UnitOfWork;
            storedByMessageId.Clear();
            endpointsByTenant.Clear();
            publishedMessageIds.Clear();
        }
    }

    private static readonly Dictionary<string, int> StatusRank = new(StringComparer.Ordinal)
    {
        ["scheduled"] = 0,
        ["queued"] = 0,
        ["ringing"] = 1,
        ["in-progress"] = 2,
        ["forwarding"] = 3,
        ["ended"] = 4,
    };

    /// <summary>
    /// Publishes one event; returns true when it was new and at least one endpoint subscribes to it.
    /// </summary>
    /// <param name="tenantId">The tenant whose endpoints receive it.</param>
    /// <param name="type">A type from <see cref="WebhookEventTypes"/>.</param>
    /// <param name="eventKey">What makes the fact unique within its type (e.g. the call id); the event id derives from it.</param>
    /// <param name="data">The type's data record.</param>
    /// <param name="ct">Cancellation.</param>
    /// <param name="callId">The call the event is about, if any (the call detail lists its webhook events).</param>
    public async Task<bool> PublishAsync<TData>(Guid tenantId, string type, string eventKey, TData data, CancellationToken ct, Guid? callId = null)
    {
        ForgetEarlierUnits();
        var messageId = MessageIdFor(tenantId, type, eventKey);
        if (publishedMessageIds.Contains(messageId) || db.Tracked<WebhookEvent>().Any(e => e.TenantId == tenantId && e.MessageId == messageId))
        {
            return false;
        }
        var subscribed = (await EnabledEndpointsAsync(tenantId, ct))
            .Where(e => e.EventTypes.Count == 0 || e.EventTypes.Contains(type)).Select(e => e.Id).ToList();
        if (subscribed.Count == 0)
        {
            return false;
        }
        if (storedByMessageId.TryGetValue(messageId, out var stored)
                ? stored
                : await EventStored(db, tenantId, messageId, ct))
        {
            return false;
        }
        var evt = NewEvent(tenantId, messageId, type, data);
        evt.CallId = callId;
        // Only inserted, and nothing in the unit reads them back: queued rather than tracked (issue 13: EF's change tracking
        // and save pipeline per row were a large part of a status update's and an end-of-call report's CPU); on SQLite in
        // a transaction each type's rows go in one multi-row INSERT after the unit's tracked changes, elsewhere EF saves them.
        db.InsertOnSave(evt);
        publishedMessageIds.Add(messageId);
        foreach (var endpointId in subscribed)
        {
            Enqueue(db, evt, endpointId, isTest: false, evt.CreatedAt, queued: true);
        }
        return true;
    }

    /// <summary>
    /// The tenant's enabled endpoints, taken once per unit of work (an end-of-call report publishes several events, and sees one
    /// set of endpoints throughout) from <see cref="WebhookEndpointCache"/>, which reads them on a miss. Explicitly scoped to the
    /// tenant given: callers run under it, but the outbox and CLI paths must not depend on that. None while the tenant's plan does
    /// not include webhooks (an outside probe: signed events kept reaching a business's endpoints after it moved to the Free
    /// plan), except the billing events; the endpoints stay configured, and events published after an upgrade are delivered again.
    /// </summary>
    private async Task<IReadOnlyList<SubscribedEndpoint>> EnabledEndpointsAsync(Guid tenantId, CancellationToken ct)
    {
        if (!endpointsByTenant.TryGetValue(tenantId, out var endpoints))
        {
            endpoints = await endpointCache.GetAsync(db, tenantId, ct);
            if (endpoints.Count > 0 && !(await accounts.GetAsync(tenantId, db, ct)).Plan.Has(Billing.Features.Webhooks))
            {
                // Billing events still go: the business's systems hear that its features were suspended and restored.
                endpoints = [.. endpoints.Select(e => e with { EventTypes = [.. e.EventTypes.Count == 0 ? WebhookEventTypes.Billing : e.EventTypes.Where(WebhookEventTypes.Billing.Contains)] })
                    .Where(e => e.EventTypes.Count > 0)];
            }
            endpointsByTenant[tenantId] = endpoints;
        }
        return endpoints;
    }

    // The lookup every publishing unit of work runs, compiled once (EF would otherwise build and hash the expression tree per
    // call to find its cached plan). Explicitly scoped to the tenant given, whatever the context's tenant filter.
    private static readonly Func<SwitchboardDbContext, Guid, string, CancellationToken, Task<bool>> EventStored = EF.CompileAsyncQuery(
        (SwitchboardDbContext db, Guid tenantId, string messageId, CancellationToken ct) =>
            db.WebhookEvents.IgnoreQueryFilters().Any(e => e.TenantId == tenantId && e.MessageId == messageId));

    /// <summary>
    /// Looks up in one query which of the facts (type, event key) a unit of work is about to publish are stored already, so
    /// that publishing them needs no lookup each (issue 13: an end-of-call report checked its six events one by one). Does
    /// nothing when no endpoint of the tenant is enabled (nothing is published then) or every fact was looked up already.
    /// </summary>
    internal async Task PreloadAsync(Guid tenantId, IEnumerable<(string Type, string EventKey)> facts, CancellationToken ct)
    {
        ForgetEarlierUnits();
        var ids = facts.Select(f => MessageIdFor(tenantId, f.Type, f.EventKey)).Where(id => !storedByMessageId.ContainsKey(id)).Distinct().ToList();
        if (ids.Count == 0 || (await EnabledEndpointsAsync(tenantId, ct)).Count == 0)
        {
            return;
        }
        foreach (var id in ids)
        {
            storedByMessageId[id] = false;
        }
        await foreach (var id in StoredMessageIds(db, tenantId, ids.ToArray()).WithCancellation(ct))
        {
            storedByMessageId[id] = true;
        }
    }

    /// <summary>Which of <c>ids</c> the tenant's stored events carry (<see cref="PreloadAsync"/>), compiled once like <see cref="EventStored"/>.</summary>
    private static readonly Func<SwitchboardDbContext, Guid, string[], IAsyncEnumerable<string>> StoredMessageIds = EF.CompileAsyncQuery(
        (SwitchboardDbContext db, Guid tenantId, string[] ids) =>
            db.WebhookEvents.IgnoreQueryFilters().Where(e => e.TenantId == tenantId && ids.Contains(e.MessageId)).Select(e => e.MessageId));

    /// <summary>The lead of a call, untracked, scoped to the tenant given (<see cref="CallEndedAsync"/>), compiled once.</summary>
    private static readonly Func<SwitchboardDbContext, Guid, Guid, CancellationToken, Task<Lead?>> StoredLeadOfCall = EF.CompileAsyncQuery(
        (SwitchboardDbContext db, Guid tenantId, Guid callId, CancellationToken ct) =>
            db.Leads.IgnoreQueryFilters().AsNoTracking().FirstOrDefault(l => l.TenantId == tenantId && l.CallId == callId));

    /// <summary>The facts <see cref="CallEndedAsync"/> publishes for <paramref name="call"/>, and <see cref="LeadAsync"/> for its <paramref name="lead"/>.</summary>
    internal static IEnumerable<(string Type, string EventKey)> CallEndFacts(Call call, Lead? lead)
    {
        if (lead is not null)
        {
            yield return (WebhookEventTypes.LeadCreated, lead.Id.ToString("N"));
            if (lead.Urgency == Urgency.Emergency)
            {
                yield return (WebhookEventTypes.LeadUrgent, lead.Id.ToString("N"));
            }
        }
        var key = call.Id.ToString("N");
        yield return (WebhookEventTypes.CallStarted, key);
        yield return (WebhookEventTypes.CallEnded, key);
        if (call.RecordingUrl is not null)
        {
            yield return (WebhookEventTypes.RecordingReady, key);
        }
        yield return (WebhookEventTypes.CallAnalyzed, key);
    }

    /// <summary>
    /// <c>call.started</c> when the call has just reached in-progress (or later) from <paramref name="statusBefore"/>.
    /// Call after applying a provider message.
    /// </summary>
    public async Task CallProgressedAsync(Call call, string statusBefore, CancellationToken ct)
    {
        if (StatusRank.GetValueOrDefault(statusBefore) < 2 && StatusRank.GetValueOrDefault(call.Status) >= 2)
        {
            await CallStartedAsync(call, ct);
        }
    }

    /// <summary>
    /// The end-of-call events: <c>call.started</c> (if the call was never seen live), <c>call.ended</c>,
    /// <c>recording.ready</c> (when a recording URL is known) and <c>call.analyzed</c> (with the call's lead, if any).
    /// </summary>
    public async Task CallEndedAsync(Call call, CancellationToken ct)
    {
        await PreloadAsync(call.TenantId, CallEndFacts(call, lead: null), ct);
        await CallStartedAsync(call, ct);
        var key = call.Id.ToString("N");
        await PublishAsync(call.TenantId, WebhookEventTypes.CallEnded, key, new CallEndedData(
            call.Id, call.Channel, call.Provider, call.ProviderCallId, call.CallSid, call.CustomerNumber, call.BusinessNumber,
            call.StartedAt, call.EndedAt, call.DurationSeconds, call.EndedReason, call.Cost), ct, call.Id);
        if (call.RecordingUrl is { } recording)
        {
            await PublishAsync(call.TenantId, WebhookEventTypes.RecordingReady, key,
                new RecordingReadyData(call.Id, recording, call.StereoRecordingUrl, call.DurationSeconds), ct, call.Id);
        }
        var lead = db.Tracked<Lead>().FirstOrDefault(l => l.CallId == call.Id)
            ?? await StoredLeadOfCall(db, call.TenantId, call.Id, ct);
        JsonElement? structured = call.StructuredDataJson is { } sd ? Platform.Http.TolerantJson.ParseOrString(sd) : null;
        await PublishAsync(call.TenantId, WebhookEventTypes.CallAnalyzed, key,
            new CallAnalyzedData(call.Id, call.Summary, call.SuccessEvaluation, structured, lead?.Id, lead?.Urgency), ct, call.Id);
    }

    /// <summary><c>lead.created</c> the first time a call's lead is seen, and <c>lead.urgent</c> the first time it is an emergency.</summary>
    public async Task LeadAsync(Lead lead, CancellationToken ct)
    {
        var data = new LeadEventData(lead.Id, lead.CallId, lead.Name, lead.Phone, lead.Address, lead.Problem, lead.Urgency, lead.Source, lead.CreatedAt);
        var key = lead.Id.ToString("N");
        if (db.Entry(lead).State == EntityState.Added)
        {
            // A lead this unit adds has an id made here (version 7): no stored event is keyed on it, so nothing is looked up
            // (issue 13: two round trips of a capture_lead tool call on PostgreSQL).
            ForgetEarlierUnits();
            storedByMessageId[MessageIdFor(lead.TenantId, WebhookEventTypes.LeadCreated, key)] = false;
            storedByMessageId[MessageIdFor(lead.TenantId, WebhookEventTypes.LeadUrgent, key)] = false;
        }
        var created = await PublishAsync(lead.TenantId, WebhookEventTypes.LeadCreated, key, data, ct, lead.CallId);
        if (lead.Urgency == Urgency.Emergency)
        {
            await PublishAsync(lead.TenantId, WebhookEventTypes.LeadUrgent, key, data, ct, lead.CallId);
        }
        // A stored lead whose details this unit completed (the caller's name, number or address given after the first
        // capture): the business's systems had only lead.created's first version (an outside probe: name and address null).
        var entry = db.Entry(lead);
        if (!created && entry.State == EntityState.Modified && DetailsChanged(entry))
        {
            if (Changed(entry, nameof(Lead.UpdatedAt)))
            {
                // Keyed by the new UpdatedAt: a unit that stored an event with that key stored the lead with it too, and this unit
                // read another value, so no such event exists (no lookup on the end-of-call report's path).
                storedByMessageId[MessageIdFor(lead.TenantId, WebhookEventTypes.LeadUpdated, LeadUpdatedKey(lead))] = false;
            }
            await LeadUpdatedAsync(lead, lead.Status, ct);
        }
    }

    private static string LeadUpdatedKey(Lead lead) => $"{lead.Id:N}:{lead.UpdatedAt.UtcTicks}";

    /// <summary>True when the lead's name, phone, address, problem or urgency differs from what was read.</summary>
    private static bool DetailsChanged(Microsoft.EntityFrameworkCore.ChangeTracking.EntityEntry<Lead> entry) =>
        Changed(entry, nameof(Lead.Name)) || Changed(entry, nameof(Lead.Phone)) || Changed(entry, nameof(Lead.Address))
        || Changed(entry, nameof(Lead.Problem)) || Changed(entry, nameof(Lead.Urgency));

    private static bool Changed(Microsoft.EntityFrameworkCore.ChangeTracking.EntityEntry<Lead> entry, string property)
    {
        var p = entry.Property(property);
        return !Equals(p.OriginalValue, p.CurrentValue);
    }

    /// <summary><c>lead.updated</c>: one event per change (keyed by the lead and its new <c>UpdatedAt</c>).</summary>
    public Task LeadUpdatedAsync(Lead lead, string previousStatus, CancellationToken ct) =>
        PublishAsync(lead.TenantId, WebhookEventTypes.LeadUpdated, LeadUpdatedKey(lead), new LeadUpdatedData(
            lead.Id, lead.CallId, lead.Name, lead.Phone, lead.Urgency, lead.Status, previousStatus, lead.Notes, lead.AssigneeUserId,
            lead.CreatedAt, lead.UpdatedAt, lead.Address, lead.Problem), ct);

    /// <summary>
    /// <c>sms.sent</c> (status sent, delivered or simulated) or <c>sms.failed</c> (status failed, undelivered or canceled: rejected,
    /// retries exhausted, or Twilio's status callback after it accepted the message); other statuses publish nothing. One event
    /// of each type per SMS (the message id is keyed by the SMS).
    /// </summary>
    public async Task SmsAsync(SmsMessage sms, CancellationToken ct)
    {
        var type = sms.Status switch
        {
            "sent" or "delivered" or "simulated" => WebhookEventTypes.SmsSent,
            "failed" or "undelivered" or "canceled" => WebhookEventTypes.SmsFailed,
            _ => null,
        };
        if (type is null)
        {
            return;
        }
        await PublishAsync(sms.TenantId, type, sms.Id.ToString("N"), new SmsEventData(
            sms.Id, sms.CallId, sms.LeadId, sms.Purpose, sms.To, sms.From, sms.Status, sms.MessageSid, sms.ErrorCode, sms.ErrorMessage), ct, sms.CallId);
    }

    /// <summary>
    /// <c>assistant.updated</c>. <paramref name="version"/> distinguishes successive updates (e.g. the update time):
    /// the same assistant and version publish once.
    /// </summary>
    public Task AssistantUpdatedAsync(Assistant assistant, DateTimeOffset version, CancellationToken ct) =>
        PublishAsync(assistant.TenantId, WebhookEventTypes.AssistantUpdated, $"{assistant.Id:N}:{version.UtcTicks}",
            new AssistantUpdatedData(assistant.Id, assistant.Name, assistant.Provider, assistant.Languages, assistant.VapiAssistantId, assistant.IsDefault), ct);

    private Task CallStartedAsync(Call call, CancellationToken ct) =>
        PublishAsync(call.TenantId, WebhookEventTypes.CallStarted, call.Id.ToString("N"), new CallStartedData(
            call.Id, call.Channel, call.Provider, call.ProviderCallId, call.CallSid, call.CustomerNumber, call.BusinessNumber, call.StartedAt), ct, call.Id);

    /// <summary><c>msg_</c> + 32 lower-case hex characters of SHA-256(<c>{tenant:N}\n{type}\n{eventKey}</c>): no <c>.</c>, as the spec requires of ids.</summary>
    internal static string MessageIdFor(Guid tenantId, string type, string eventKey)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{tenantId:N}\n{type}\n{eventKey}"));
        return "msg_" + Convert.ToHexStringLower(hash.AsSpan(0, 16));
    }

    /// <summary>A new event with its body serialised once; the body is what every attempt sends.</summary>
    internal WebhookEvent NewEvent<TData>(Guid tenantId, string messageId, string type, TData data)
    {
        var now = clock.GetUtcNow();
        return new WebhookEvent
        {
            Id = Guid.CreateVersion7(),
            TenantId = tenantId,
            MessageId = messageId,
            Type = type,
            PayloadJson = JsonSerializer.Serialize(new WebhookEventEnvelope<TData>(type, now, data), Json),
            CreatedAt = now,
        };
    }

    /// <summary>Adds a delivery of <paramref name="evt"/> to one endpoint and the outbox row that performs it, due at <paramref name="now"/>.</summary>
    /// <remarks>
    /// <paramref name="queued"/>: the delivery and its outbox row are queued with <see cref="SwitchboardDbContext.InsertOnSave(object)"/>
    /// (written after the unit's tracked changes, never tracked) rather than added to the change tracker; for callers that
    /// neither read them back in the unit nor need them tracked after the save.
    /// </remarks>
    internal static WebhookDelivery Enqueue(SwitchboardDbContext db, WebhookEvent evt, Guid endpointId, bool isTest, DateTimeOffset now, bool queued = false)
    {
        var delivery = new WebhookDelivery
        {
            Id = Guid.CreateVersion7(),
            TenantId = evt.TenantId,
            EndpointId = endpointId,
            EventId = evt.Id,
            EventType = evt.Type,
            IsTest = isTest,
            NextAttemptAt = now,
            CreatedAt = now,
        };
        if (queued)
        {
            db.InsertOnSave(delivery);
            db.InsertOnSave(AttemptsOf(delivery, now));
        }
        else
        {
            db.WebhookDeliveries.Add(delivery);
            QueueAttempts(db, delivery, now);
        }
        return delivery;
    }

    /// <summary>Adds the outbox row that runs <paramref name="delivery"/>'s retry schedule from <paramref name="now"/>; one per run (replays included).</summary>
    internal static void QueueAttempts(SwitchboardDbContext db, WebhookDelivery delivery, DateTimeOffset now) => db.Outbox.Add(AttemptsOf(delivery, now));

    /// <summary>The outbox row that runs <paramref name="delivery"/>'s retry schedule from <paramref name="now"/>.</summary>
    private static OutboxMessage AttemptsOf(WebhookDelivery delivery, DateTimeOffset now) =>
        new OutboxMessage
        {
            Id = Guid.CreateVersion7(),
            TenantId = delivery.TenantId,
            Kind = WebhookDeliveryHandler.Kind,
            DedupeKey = $"{delivery.Id:N}:{delivery.Replays}",
            PayloadJson = JsonSerializer.Serialize(new WebhookDeliveryHandler.Payload(delivery.Id)),
            NextAttemptAt = now,
            CreatedAt = now,
        };
}
