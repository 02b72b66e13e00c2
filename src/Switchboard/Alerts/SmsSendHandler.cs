using Microsoft.EntityFrameworkCore;
using Switchboard.Credentials;
using Switchboard.Outbox;
using Switchboard.Platform.Database;
using Switchboard.Twilio;
using Switchboard.Webhooks;

namespace Switchboard.Alerts;

/// <summary>
/// Sends one <see cref="SmsMessage"/> through Twilio's Messages API. Exactly-once in effect: before any retry it
/// looks for a message Twilio already created with the same To, From and Body (a lost response or a crash
/// after Twilio accepted), and adopts it instead of sending again. Without Twilio credentials the SMS is
/// recorded as <c>simulated</c>.
/// </summary>
internal sealed class SmsSendHandler(
    SwitchboardDbContext db, TwilioRestClient twilio, SecretProtector secrets, TimeProvider clock, ILogger<SmsSendHandler> logger,
    WebhookEventPublisher webhooks)
    : IOutboxHandler, IOutboxDeadLetterAware
{
    public const string Kind = "sms.send";

    /// <summary>Outbox payload: the SMS row to send.</summary>
    public sealed record Payload(Guid SmsId);

    string IOutboxHandler.Kind => Kind;

    public async Task<OutboxResult> HandleAsync(OutboxMessage message, CancellationToken ct)
    {
        var payload = System.Text.Json.JsonSerializer.Deserialize<Payload>(message.PayloadJson, System.Text.Json.JsonSerializerOptions.Web);
        var sms = payload is null ? null : await db.SmsMessages.FirstOrDefaultAsync(s => s.Id == payload.SmsId, ct);
        if (sms is null)
        {
            return OutboxResult.Dead("SMS row not found.");
        }
        if (sms.Status is "sent" or "delivered" or "failed" or "simulated")
        {
            return OutboxResult.Done;
        }
        var tenant = await db.Tenants.FirstAsync(t => t.Id == sms.TenantId, ct);
        var token = secrets.Unprotect(tenant.TwilioAuthTokenProtected);
        var now = clock.GetUtcNow();
        if (tenant.TwilioAccountSid is null || token is null)
        {
            sms.Status = "simulated";
            sms.SentAt = now;
            logger.LogInformation("SMS {SmsId} recorded as simulated: no Twilio credentials", sms.Id);
            await webhooks.SmsAsync(sms, ct); // sms.sent
            return OutboxResult.Done;
        }
        var from = sms.From ?? tenant.TwilioFromNumber;
        if (from is null)
        {
            sms.Status = "failed";
            sms.ErrorMessage = "No sender number is configured for SMS.";
            await webhooks.SmsAsync(sms, ct); // sms.failed
            return OutboxResult.Dead(sms.ErrorMessage);
        }

        if (sms.Attempts > 0)
        {
            var existing = await twilio.FindSentAsync(tenant.TwilioAccountSid, token, from, sms.To, sms.Body, sms.CreatedAt, ct);
            if (existing is not null)
            {
                sms.Status = "sent";
                sms.MessageSid = existing;
                sms.SentAt ??= now;
                logger.LogInformation("SMS {SmsId} was already accepted by Twilio as {MessageSid}; not resending", sms.Id, existing);
                await webhooks.SmsAsync(sms, ct); // sms.sent
                return OutboxResult.Done;
            }
        }

        // Record the attempt before calling Twilio, so a crash during the call is known to need a lookup.
        sms.Attempts++;
        sms.Status = "sending";
        sms.From = from;
        await db.SaveChangesAsync(ct);

        var result = await twilio.SendSmsAsync(tenant.TwilioAccountSid, token, from, sms.To, sms.Body, ct);
        switch (result.Outcome)
        {
            case TwilioSendOutcome.Accepted:
                sms.Status = "sent";
                sms.MessageSid = result.MessageSid;
                sms.SentAt = clock.GetUtcNow();
                sms.ErrorCode = null;
                sms.ErrorMessage = null;
                await webhooks.SmsAsync(sms, ct); // sms.sent
                return OutboxResult.Done;
            case TwilioSendOutcome.Rejected:
                sms.Status = "failed";
                sms.ErrorCode = result.ErrorCode;
                sms.ErrorMessage = result.ErrorMessage;
                await webhooks.SmsAsync(sms, ct); // sms.failed
                return OutboxResult.Dead($"Twilio rejected the message: {result.ErrorCode} {result.ErrorMessage}");
            default:
                sms.Status = "queued";
                sms.ErrorCode = result.ErrorCode;
                sms.ErrorMessage = result.ErrorMessage;
                return OutboxResult.Retry($"Twilio transient failure: {result.ErrorCode} {result.ErrorMessage}");
        }
    }

    public async Task OnDeadLetterAsync(OutboxMessage message, CancellationToken ct)
    {
        var payload = System.Text.Json.JsonSerializer.Deserialize<Payload>(message.PayloadJson, System.Text.Json.JsonSerializerOptions.Web);
        var sms = payload is null ? null : await db.SmsMessages.FirstOrDefaultAsync(s => s.Id == payload.SmsId, ct);
        if (sms is not null && sms.Status is not ("sent" or "delivered" or "simulated"))
        {
            sms.Status = "failed";
            sms.ErrorMessage ??= "Retries exhausted.";
            await webhooks.SmsAsync(sms, ct); // sms.failed
        }
    }
}
