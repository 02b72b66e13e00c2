using Microsoft.EntityFrameworkCore;
using Switchboard.Credentials;
using Switchboard.Outbox;
using Switchboard.Platform.Database;
using Switchboard.Platform.Observability;
using Switchboard.Tenancy;
using Switchboard.Twilio;
using Switchboard.Webhooks;

namespace Switchboard.Alerts;

/// <summary>
/// Sends one <see cref="SmsMessage"/> through Twilio's Messages API, exactly once in effect. The first attempt pins the
/// sender (<see cref="SmsSenderResolver"/>) and its time (<see cref="SmsMessage.FirstAttemptAt"/>) on the row before
/// the POST. Any later attempt (a lost response, a 5xx, a crash mid-send) first reads Twilio's list of messages from
/// that sender to that recipient back to the first attempt, every page of it, and adopts a message with the same body
/// that no other SMS row owns, instead of sending again; when Twilio cannot be read, it waits and asks again rather
/// than risk a second text. Without Twilio credentials the SMS is recorded as <c>simulated</c>; with credentials but
/// no sender it fails with the reason. When <c>Switchboard:PublicBaseUrl</c> is set, the send asks Twilio for status callbacks
/// at <c>/webhooks/twilio/sms-status/{tenantId}</c> (<see cref="TwilioVoiceApi"/>), which carry the row on to
/// <c>delivered</c> or <c>undelivered</c>/<c>failed</c> (<see cref="SmsDeliveryStatus"/>).
/// </summary>
internal sealed class SmsSendHandler(
    SwitchboardDbContext db, TwilioRestClient twilio, SecretProtector secrets, SmsSenderResolver senders, TimeProvider clock, ILogger<SmsSendHandler> logger,
    WebhookEventPublisher webhooks, SwitchboardMetrics metrics, TwilioWebhookUrls urls)
    : IOutboxHandler, IOutboxDeadLetterAware
{
    public const string Kind = "sms.send";

    /// <summary>Purpose of a text the assistant sends to the caller (tool <c>send_sms</c>).</summary>
    public const string CallerPurpose = "caller-sms";

    /// <summary><see cref="SmsMessage.ErrorCode"/> of an SMS that failed because the tenant has no sender.</summary>
    public const string NoSenderCode = "NO_SENDER";

    /// <summary>
    /// <see cref="SmsMessage.ErrorCode"/> of an SMS not sent because its recipient texted an opt-out keyword to the tenant: Twilio's
    /// own code for a send to an unsubscribed recipient (twilio.com/docs/api/errors/21610), which the dashboard already explains.
    /// </summary>
    public const string OptedOutCode = "21610";

    /// <summary>
    /// <see cref="SmsMessage.ErrorCode"/> of an SMS whose sends kept failing without Twilio naming why (no response, a network
    /// error) until the outbox gave up (dead letter). When the last attempt's answer carried Twilio's code (e.g. <c>20500</c>),
    /// that code is kept instead.
    /// </summary>
    public const string RetriesExhaustedCode = "RETRIES_EXHAUSTED";

    /// <summary>
    /// <see cref="SmsMessage.ErrorCode"/> of an SMS waiting for its next attempt after a send that failed without Twilio naming
    /// why (no response, a network error, a timeout): status <c>queued</c> with this code beside the English message until it
    /// settles, then <c>sent</c> (code cleared) or, once the outbox gives up, <see cref="RetriesExhaustedCode"/>. An answer
    /// that carried Twilio's code (e.g. <c>20500</c>) keeps that code instead.
    /// </summary>
    public const string RetryPendingCode = "RETRY_PENDING";

    /// <summary>
    /// <see cref="SmsMessage.ErrorCode"/> of a text held until business hours and canceled (status <c>canceled</c>) because its
    /// lead was handled before the opening (<see cref="Calls.LeadsApi"/>).
    /// </summary>
    public const string LeadHandledCode = "LEAD_HANDLED";

    /// <summary>Outbox payload: the SMS row to send.</summary>
    public sealed record Payload(Guid SmsId);

    /// <summary>
    /// Adds <paramref name="sms"/> and the outbox row that sends it to the caller's unit of work: kind <see cref="Kind"/>,
    /// dedupe key <c>{tenantId:N}:{IdempotencyKey}</c> (so the same alert is never queued twice), due at
    /// <paramref name="sendAt"/> (now, or a held alert's next opening).
    /// </summary>
    public static void Queue(SwitchboardDbContext db, SmsMessage sms, DateTimeOffset sendAt)
    {
        db.SmsMessages.Add(sms);
        db.Outbox.Add(new OutboxMessage
        {
            Id = Guid.CreateVersion7(),
            TenantId = sms.TenantId,
            Kind = Kind,
            DedupeKey = $"{sms.TenantId:N}:{sms.IdempotencyKey}",
            PayloadJson = System.Text.Json.JsonSerializer.Serialize(new Payload(sms.Id)),
            NextAttemptAt = sendAt,
            CreatedAt = sms.CreatedAt,
        });
    }

    string IOutboxHandler.Kind => Kind;

    /// <summary>The SMS row, tracked (the send updates it). Compiled, as the tenant's read: issue 13 found each SMS's two LINQ queries, built and looked up per message, the larger part of this handler's CPU.</summary>
    private static readonly Func<SwitchboardDbContext, Guid, CancellationToken, Task<SmsMessage?>> LoadSms = EF.CompileAsyncQuery(
        (SwitchboardDbContext db, Guid id, CancellationToken ct) => db.SmsMessages.FirstOrDefault(s => s.Id == id));

    /// <summary>
    /// The SMS's tenant, untracked (the handler only reads it: credentials, sender, so the result's save need not check it for
    /// changes), and whether <c>to</c> texted an opt-out keyword (STOP, ARRET with Advanced Opt-Out…) to the tenant and has not
    /// opted back in: a do-not-call entry whose source includes <see cref="Outbound.DoNotCallSources.SmsOptOut"/>
    /// (<see cref="Outbound.DoNotCallSources.HasSmsOptOut"/>, also when the number was listed for another reason first).
    /// Compiled, and one round trip for both (the opt-out was a query of its own per SMS).
    /// </summary>
    private static readonly Func<SwitchboardDbContext, Guid, string, CancellationToken, Task<TenantToText>> LoadTenant = EF.CompileAsyncQuery(
        (SwitchboardDbContext db, Guid id, string to, CancellationToken ct) => db.Tenants.AsNoTracking().Where(t => t.Id == id)
            .Select(t => new TenantToText(t, db.DoNotCall.Any(d => d.TenantId == t.Id && d.Number == to
                && (d.Source == Outbound.DoNotCallSources.SmsOptOut || d.Source.EndsWith(Outbound.DoNotCallSources.AndSmsOptOut)))))
            .First());

    /// <summary>What <see cref="LoadTenant"/> reads: the tenant, and whether the SMS's recipient opted out of its texts.</summary>
    private sealed record TenantToText(Tenant Tenant, bool OptedOut);

    public async Task<OutboxResult> HandleAsync(OutboxMessage message, CancellationToken ct)
    {
        var payload = System.Text.Json.JsonSerializer.Deserialize<Payload>(message.PayloadJson, System.Text.Json.JsonSerializerOptions.Web);
        var sms = payload is null ? null : await LoadSms(db, payload.SmsId, ct);
        if (sms is null)
        {
            return OutboxResult.Dead("SMS row not found.");
        }
        if (sms.Status is "sent" or "delivered" or "undelivered" or "failed" or "canceled" or "simulated")
        {
            return OutboxResult.Done;
        }
        var (tenant, optedOut) = await LoadTenant(db, sms.TenantId, sms.To, ct);
        var token = secrets.Unprotect(tenant.TwilioAuthTokenProtected);
        var now = clock.GetUtcNow();
        // Someone who texted STOP is not texted again, whoever they are (an on-call phone, a caller), and from whichever
        // sender: Twilio's own block covers only the number they texted (error 21610), not another number of the tenant nor
        // the simulated path. A row already attempted first looks for the earlier send below, which may have reached them.
        if (optedOut && sms.Attempts == 0)
        {
            return await RefuseOptedOutAsync(sms, ct);
        }
        if (tenant.TwilioAccountSid is null || token is null)
        {
            sms.Status = "simulated";
            sms.SentAt = now;
            logger.Log(Vapi.WarmUpTenant.Quiet(sms.TenantId), "SMS {SmsId} recorded as simulated: no Twilio credentials", sms.Id);
            await webhooks.SmsAsync(sms, ct); // sms.sent
            metrics.SmsSettled("simulated");
            return OutboxResult.Done;
        }

        // A row that was attempted keeps its sender: the lookup below must ask about the one it was sent from.
        var from = sms.Attempts > 0 && sms.From is not null ? sms.From : null;
        if (from is null)
        {
            var resolved = await senders.ResolveAsync(tenant, ct);
            if (resolved.Sender is null)
            {
                sms.Status = "failed";
                sms.ErrorCode = NoSenderCode;
                sms.ErrorMessage = resolved.Problem;
                logger.LogWarning("SMS {SmsId} not sent: {Problem}", sms.Id, resolved.Problem);
                await webhooks.SmsAsync(sms, ct); // sms.failed
                metrics.SmsSettled("failed");
                return OutboxResult.Dead(resolved.Problem ?? "No SMS sender.");
            }
            from = resolved.Sender.Value;
        }

        if (sms.Attempts > 0)
        {
            // Rows attempted before FirstAttemptAt existed (migration 0005) were attempted after they were created.
            var lookup = await FindAlreadySentAsync(sms, tenant.TwilioAccountSid, token, from, sms.FirstAttemptAt ?? sms.CreatedAt, ct);
            if (lookup.Error is { } error)
            {
                // Not knowing whether Twilio has it, a resend could text the on-call twice: ask again later.
                return OutboxResult.Retry(error);
            }
            if (lookup.MessageSid is { } existing)
            {
                RecordAccepted(sms, existing, now);
                logger.LogInformation("SMS {SmsId} was already accepted by Twilio as {MessageSid}; not resending", sms.Id, existing);
                await webhooks.SmsAsync(sms, ct); // sms.sent
                metrics.SmsSettled("sent");
                return OutboxResult.Done;
            }
        }

        if (optedOut)
        {
            return await RefuseOptedOutAsync(sms, ct);
        }

        // Record the attempt before calling Twilio, so a crash during the call is known to need a lookup.
        sms.Attempts++;
        sms.Status = "sending";
        sms.From = from;
        sms.FirstAttemptAt ??= now;
        await db.SaveChangesAsync(ct);

        var result = await twilio.SendSmsAsync(tenant.TwilioAccountSid, token, from, sms.To, sms.Body, StatusCallbackUrl(urls, sms.TenantId, sms.Id), ct);
        switch (result.Outcome)
        {
            case TwilioSendOutcome.Accepted:
                RecordAccepted(sms, result.MessageSid!, clock.GetUtcNow());
                await webhooks.SmsAsync(sms, ct); // sms.sent
                metrics.SmsSettled("sent");
                return OutboxResult.Done;
            case TwilioSendOutcome.Rejected:
                sms.Status = "failed";
                sms.ErrorCode = result.ErrorCode;
                sms.ErrorMessage = result.ErrorMessage;
                await webhooks.SmsAsync(sms, ct); // sms.failed
                metrics.SmsSettled("failed");
                return OutboxResult.Dead($"Twilio rejected the message: {result.ErrorCode} {result.ErrorMessage}");
            default:
                sms.Status = "queued";
                sms.ErrorCode = result.ErrorCode ?? RetryPendingCode; // a stable code for the dashboard to word while it waits
                sms.ErrorMessage = result.ErrorMessage;
                return OutboxResult.Retry($"Twilio transient failure: {result.ErrorCode} {result.ErrorMessage}");
        }
    }

    /// <summary>Settles an SMS to a recipient who opted out: <c>failed</c> with <see cref="OptedOutCode"/>, <c>sms.failed</c>, and Twilio never asked.</summary>
    private async Task<OutboxResult> RefuseOptedOutAsync(SmsMessage sms, CancellationToken ct)
    {
        sms.Status = "failed";
        sms.ErrorCode = OptedOutCode;
        sms.ErrorMessage = "Not sent: the recipient texted STOP to this business and has not texted START since.";
        logger.LogWarning("SMS {SmsId} ({Purpose}) not sent: the recipient opted out by SMS", sms.Id, sms.Purpose);
        await webhooks.SmsAsync(sms, ct); // sms.failed
        metrics.SmsSettled("failed");
        return OutboxResult.Dead("The recipient opted out by SMS (STOP).");
    }

    /// <summary>
    /// <c>{PublicBaseUrl}/webhooks/twilio/sms-status/{tenantId}?sms={smsId:N}</c>, or null (no status callbacks) when no public
    /// base URL is configured: a localhost default is not an address Twilio can reach. The row id lets a callback that arrives
    /// before this handler has recorded Twilio's answer find its text all the same (Twilio signs the whole URL, query included).
    /// </summary>
    internal static string? StatusCallbackUrl(TwilioWebhookUrls urls, Guid tenantId, Guid smsId) =>
        urls.PublicUrl($"/webhooks/twilio/sms-status/{tenantId}?sms={smsId:N}");

    /// <summary>
    /// Records that Twilio accepted <paramref name="sms"/> as <paramref name="messageSid"/>: in memory for the <c>sms.sent</c>
    /// event, and in the database with one UPDATE in the save of this result (a deferred write) that sets the sid and moves
    /// only a status that has not moved past <c>sending</c>. A status callback may have moved the row on already (it finds the
    /// row by the id in its URL while Twilio's answer is on its way here): a save of the tracked row would put it back to
    /// <c>sent</c> and clear a delivery failure's code.
    /// </summary>
    private void RecordAccepted(SmsMessage sms, string messageSid, DateTimeOffset now)
    {
        var id = sms.Id;
        db.DeferWrite(token => db.SmsMessages.Where(s => s.Id == id).ExecuteUpdateAsync(u => u
            .SetProperty(s => s.MessageSid, s => s.MessageSid ?? messageSid)
            .SetProperty(s => s.SentAt, s => s.SentAt ?? now)
            .SetProperty(s => s.ErrorCode, s => s.Status == "sending" || s.Status == "queued" ? null : s.ErrorCode)
            .SetProperty(s => s.ErrorMessage, s => s.Status == "sending" || s.Status == "queued" ? null : s.ErrorMessage)
            .SetProperty(s => s.Status, s => s.Status == "sending" || s.Status == "queued" ? "sent" : s.Status), token));
        sms.Status = "sent";
        sms.MessageSid = messageSid;
        sms.SentAt ??= now;
        sms.ErrorCode = null;
        sms.ErrorMessage = null;
        db.Entry(sms).State = EntityState.Unchanged; // written by the UPDATE above, not as a tracked change
    }

    /// <summary>
    /// Twilio's message for this row, if an earlier attempt reached it. Messages that other rows of the tenant already
    /// own (same recipient, recorded since the first attempt's window) are skipped, so an identical alert is not
    /// mistaken for this one.
    /// </summary>
    private async Task<TwilioLookup> FindAlreadySentAsync(SmsMessage sms, string accountSid, string token, string from, DateTimeOffset firstAttempt, CancellationToken ct)
    {
        var windowStart = firstAttempt - TwilioRestClient.ClockSkew;
        var owned = await db.SmsMessages.AsNoTracking()
            .Where(s => s.Id != sms.Id && s.To == sms.To && s.MessageSid != null && (s.SentAt == null || s.SentAt >= windowStart))
            .Select(s => s.MessageSid!)
            .ToListAsync(ct);
        return await twilio.FindSentAsync(accountSid, token, from, sms.To, sms.Body, firstAttempt, owned.ToHashSet(StringComparer.Ordinal), ct);
    }

    public async Task OnDeadLetterAsync(OutboxMessage message, CancellationToken ct)
    {
        var payload = System.Text.Json.JsonSerializer.Deserialize<Payload>(message.PayloadJson, System.Text.Json.JsonSerializerOptions.Web);
        var sms = payload is null ? null : await LoadSms(db, payload.SmsId, ct);
        if (sms is not null && sms.Status is not ("sent" or "delivered" or "undelivered" or "canceled" or "simulated"))
        {
            sms.Status = "failed";
            // A stable code beside the English message, for the dashboard to word (Twilio's, if its last answer gave one).
            sms.ErrorCode = sms.ErrorCode is null or RetryPendingCode ? RetriesExhaustedCode : sms.ErrorCode;
            sms.ErrorMessage ??= "Retries exhausted.";
            await webhooks.SmsAsync(sms, ct); // sms.failed
            metrics.SmsSettled("failed");
        }
    }
}
