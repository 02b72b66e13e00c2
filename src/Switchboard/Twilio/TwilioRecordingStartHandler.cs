using Microsoft.EntityFrameworkCore;
using Switchboard.Calls;
using Switchboard.Credentials;
using Switchboard.Outbox;
using Switchboard.Platform.Database;

namespace Switchboard.Twilio;

/// <summary>
/// Starts the dual-channel recording of a native call through Twilio's REST API, queued by the media bridge when the
/// stream starts (after the consent notice has played). Without Twilio credentials the recording is skipped (demo,
/// simulated tenants). 4xx is a dead letter (e.g. the call already ended); 429/5xx and network errors are retried.
/// </summary>
internal sealed class TwilioRecordingStartHandler(
    SwitchboardDbContext db, TwilioCallsClient twilio, SecretProtector secrets, TimeProvider clock, ILogger<TwilioRecordingStartHandler> logger)
    : IOutboxHandler
{
    public const string Kind = "twilio.recording.start";

    /// <summary>Outbox payload: the call, and the absolute URL of <c>/webhooks/twilio/recording/{tenantId}</c>.</summary>
    public sealed record Payload(Guid CallId, string StatusCallbackUrl);

    string IOutboxHandler.Kind => Kind;

    public async Task<OutboxResult> HandleAsync(OutboxMessage message, CancellationToken ct)
    {
        var payload = System.Text.Json.JsonSerializer.Deserialize<Payload>(message.PayloadJson, System.Text.Json.JsonSerializerOptions.Web);
        var call = payload is null ? null : await db.Calls.FirstOrDefaultAsync(c => c.Id == payload.CallId, ct);
        if (payload is null || call?.CallSid is null)
        {
            return OutboxResult.Dead("Call not found.");
        }
        var tenant = await db.Tenants.FirstAsync(t => t.Id == call.TenantId, ct);
        var token = secrets.Unprotect(tenant.TwilioAuthTokenProtected);
        if (tenant.TwilioAccountSid is null || token is null)
        {
            logger.LogInformation("Recording of call {CallId} skipped: no Twilio account credentials", call.Id);
            return OutboxResult.Done;
        }
        var result = await twilio.StartRecordingAsync(tenant.TwilioAccountSid, token, call.CallSid, payload.StatusCallbackUrl, ct);
        switch (result.Outcome)
        {
            case TwilioSendOutcome.Accepted:
                if (result.RecordingSid is { } sid && !await db.CallRecordings.AnyAsync(r => r.RecordingSid == sid, ct))
                {
                    var now = clock.GetUtcNow();
                    db.CallRecordings.Add(new CallRecording
                    {
                        Id = Guid.CreateVersion7(), TenantId = call.TenantId, CallId = call.Id, RecordingSid = sid, CallSid = call.CallSid,
                        Status = result.Status ?? "in-progress", Channels = result.Channels ?? 2, Source = "StartCallRecordingAPI", Track = "both",
                        CreatedAt = now, UpdatedAt = now,
                    });
                }
                return OutboxResult.Done;
            case TwilioSendOutcome.Rejected:
                logger.LogWarning("Twilio refused to record call {CallId}: {Error}", call.Id, result.Error);
                return OutboxResult.Dead(result.Error ?? "rejected");
            default:
                return OutboxResult.Retry(result.Error ?? "transient");
        }
    }
}
