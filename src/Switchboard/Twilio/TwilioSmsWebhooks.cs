using Microsoft.EntityFrameworkCore;
using Switchboard.Alerts;
using Switchboard.Compliance;
using Switchboard.Outbound;
using Switchboard.Platform.Database;
using Switchboard.Platform.Http;
using Switchboard.Platform.Phones;
using Switchboard.Webhooks;

namespace Switchboard.Twilio;

/// <summary>
/// Twilio's SMS webhooks for a tenant (shared/protocols/twilio-voice-sms.md), signed like every Twilio webhook
/// (<see cref="AuthenticateAsync"/>: 404 unknown tenant, 403 bad signature or no Twilio credentials, 413 body over 64 KB):
/// <list type="bullet">
/// <item><c>POST /webhooks/twilio/sms/{tenantId}</c>: an inbound SMS (the number's <c>SmsUrl</c>) → the SMS log, once per
/// <c>MessageSid</c>; an opt-out keyword (<see cref="SmsOptOutKeywords"/>) puts the sender on the tenant's do-not-call list
/// (source <see cref="DoNotCallSources.SmsOptOut"/>), an opt-in keyword takes off an entry that an SMS opt-out added (never one
/// added otherwise). Empty TwiML: Twilio sends the opt-out confirmation itself. 422 without <c>MessageSid</c>.</item>
/// <item><c>POST /webhooks/twilio/sms-status/{tenantId}</c>: the <c>StatusCallback</c> of an outbound SMS (Twilio docs, "Track
/// the Message Status of Outbound Messages": form fields <c>MessageSid</c>, <c>MessageStatus</c>, <c>ErrorCode</c> when it
/// failed, <c>To</c>, <c>From</c>, <c>AccountSid</c>) → the tenant's SMS with that sid moves forward
/// (<see cref="SmsDeliveryStatus"/>); an <c>undelivered</c>/<c>failed</c>/<c>canceled</c> text publishes <c>sms.failed</c> and an
/// alert's logs a warning. 204 also for a sid the tenant does not have, or a status that does not move it (callbacks repeat
/// and arrive out of order); 422 without <c>MessageSid</c>. The text is found by its sid, or, when the callback comes before the
/// send recorded Twilio's answer, by the row id in the URL's <c>sms</c> parameter (<see cref="SmsSendHandler.StatusCallbackUrl"/>);
/// the status is written with a compare-and-set (<see cref="SmsDeliveryStatus.AdvanceStoredAsync"/>), so callbacks handled
/// at once never undo one another.</item>
/// </list>
/// </summary>
internal static partial class TwilioVoiceApi
{
    private static void MapSmsWebhooks(RouteGroupBuilder group)
    {
        group.MapPost("/sms/{tenantId}", SmsAsync).WithSummary("Twilio inbound SMS (TwiML)")
            .Produces<string>(StatusCodes.Status200OK, "text/xml").ProducesProblemEnvelopes();
        group.MapPost("/sms-status/{tenantId}", SmsStatusAsync).WithSummary("Twilio outbound SMS status callback")
            .Produces(StatusCodes.Status204NoContent).ProducesProblemEnvelopes();
    }

    private static async Task<IResult> SmsAsync(
        string tenantId, HttpContext http, SwitchboardDbContext db, DoNotCallList dnc, AuditLog audit, TimeProvider clock, CancellationToken ct)
    {
        var (request, error) = await AuthenticateAsync(tenantId, http, ct);
        if (request is null)
        {
            return error!;
        }
        if ((request["MessageSid"] ?? request["SmsSid"]) is not { } sid)
        {
            return ApiError.Unprocessable("INVALID_PAYLOAD", "MessageSid is required.");
        }
        var key = "inbound:" + sid;
        // A save lost to a concurrent delivery is redone on what is stored now (SaveReadingAgainAsync). Two texts of one sender
        // at once (STOP sent twice) both add the do-not-call entry; the second's save fails on its unique number, and on the
        // retry finds the entry and stores only its text.
        (string Action, string Number)? optOut = null;
        var saved = await SaveReadingAgainAsync(http, db, async _ =>
        {
            optOut = null;
            if (await db.SmsMessages.AnyAsync(s => s.IdempotencyKey == key, ct))
            {
                return TwilioSave.Nothing; // delivered again: the first delivery's text stands
            }
            var now = clock.GetUtcNow();
            var body = request["Body"] ?? "";
            var media = request.Int("NumMedia") ?? 0;
            if (media > 0)
            {
                body += (body.Length > 0 ? " " : "") + string.Join(' ', Enumerable.Range(0, Math.Min(media, 10)).Select(i => request[$"MediaUrl{i}"]).Where(u => u is not null));
            }
            db.SmsMessages.Add(new SmsMessage
            {
                Id = Guid.CreateVersion7(),
                TenantId = request.Tenant.Id,
                Direction = "inbound",
                Purpose = "inbound",
                To = Cap(request["To"], 64) ?? "",
                From = Cap(request["From"], 64),
                Body = Cap(body, 1600)!,
                Status = "received",
                MessageSid = Cap(sid, 64),
                IdempotencyKey = key.Length > 200 ? key[..200] : key,
                CreatedAt = now,
                SentAt = now,
            });
            optOut = await OptOutAsync(request, db, dnc, ct);
            return TwilioSave.Plain;
        }, ct);
        // Audited once saved: a unit lost to a concurrent delivery changed nothing.
        if (saved && optOut is { } change)
        {
            await audit.AppendAsync(request.Tenant.Id, AuditActor.System, change.Action, "number:" + change.Number,
                new { source = DoNotCallSources.SmsOptOut, messageSid = sid }, ct);
        }
        return saved ? Xml(TwiML.Empty()) : SaveLost(http);
    }

    /// <summary>
    /// The do-not-call change an opt-out or opt-in keyword asks for, added to the unit of work: the audit action
    /// (<c>dnc.added</c>, <c>dnc.removed</c>) and the sender's E.164 number, or null when nothing changes.
    /// </summary>
    private static async Task<(string Action, string Number)?> OptOutAsync(Signed request, SwitchboardDbContext db, DoNotCallList dnc, CancellationToken ct)
    {
        var ask = SmsOptOutKeywords.Classify(request["Body"], request["OptOutType"]);
        if (ask == SmsOptOutRequest.None
            || Phones.SettingsNumberToE164(request["From"], Phones.RegionOf(request.Tenant.Locale)) is not { } e164)
        {
            return null;
        }
        if (ask == SmsOptOutRequest.OptOut)
        {
            var word = request["Body"]?.Trim() is { Length: > 0 and <= 32 } w ? w : request["OptOutType"];
            var (_, added) = await dnc.AddAsync(request.Tenant.Id, e164, DoNotCallSources.SmsOptOut, $"Texted \"{word}\"", null, ct);
            return added ? ("dnc.added", e164) : null;
        }
        // Only the SMS opt-out: a number added by the API, a CSV or the callee's own words stays listed.
        return await dnc.RemoveSmsOptOutAsync(e164, ct) ? ("dnc.removed", e164) : null;
    }

    private static async Task<IResult> SmsStatusAsync(
        string tenantId, HttpContext http, SwitchboardDbContext db, WebhookEventPublisher webhooks, ILogger<TwilioSmsStatusWebhook> logger, CancellationToken ct)
    {
        var (request, error) = await AuthenticateAsync(tenantId, http, ct);
        if (request is null)
        {
            return error!;
        }
        if ((request["MessageSid"] ?? request["SmsSid"]) is not { } sid)
        {
            return ApiError.Unprocessable("INVALID_PAYLOAD", "MessageSid is required.");
        }
        var status = request["MessageStatus"] ?? request["SmsStatus"];
        // The text: by its sid; else, for a callback that came before the send recorded Twilio's answer (Twilio can call back
        // while its API response is still on the way), by the row id the StatusCallback URL carries, if that row has no sid yet.
        var smsId = await db.SmsMessages.AsNoTracking().Where(s => s.MessageSid == sid && s.Direction == "outbound").Select(s => (Guid?)s.Id).FirstOrDefaultAsync(ct);
        if (smsId is null && Guid.TryParse(http.Request.Query["sms"], out var rowId))
        {
            smsId = await db.SmsMessages.AsNoTracking().Where(s => s.Id == rowId && s.Direction == "outbound" && s.MessageSid == null)
                .Select(s => (Guid?)s.Id).FirstOrDefaultAsync(ct);
        }
        if (smsId is not { } id)
        {
            logger.LogInformation("SMS status callback for tenant {TenantId}: no outbound SMS {MessageSid} ({Status})", request.Tenant.Id, sid, status);
            return Results.NoContent();
        }
        using var turn = await http.RequestServices.GetRequiredService<SqliteWriteGate>().EnterAsync(db, ct);
        await SqliteBusyRetry.RunAsync(async () =>
        {
            db.ChangeTracker.Clear();
            await using var tx = await db.Database.BeginTransactionAsync(ct);
            var sms = await SmsDeliveryStatus.AdvanceStoredAsync(db, id, Cap(sid, 64)!, status, request["ErrorCode"], request["ErrorMessage"], ct);
            if (sms is null)
            {
                return; // the status does not move it: nothing written (the transaction is rolled back with nothing in it)
            }
            if (SmsDeliveryStatus.IsNotDelivered(sms.Status))
            {
                if (sms.Purpose is AlertService.EmergencyPurpose or AlertService.LeadPurpose)
                {
                    logger.LogWarning("Alert SMS {SmsId} ({Purpose}) was {Status} after Twilio accepted it: {ErrorCode} {ErrorMessage}",
                        sms.Id, sms.Purpose, sms.Status, sms.ErrorCode, sms.ErrorMessage);
                }
                else
                {
                    logger.LogInformation("SMS {SmsId} was {Status}: {ErrorCode} {ErrorMessage}", sms.Id, sms.Status, sms.ErrorCode, sms.ErrorMessage);
                }
                await webhooks.SmsAsync(sms, ct); // sms.failed, in the transaction that recorded the status
                await db.SaveChangesAsync(ct);
            }
            else
            {
                logger.LogDebug("SMS {SmsId}: now {Status}", sms.Id, sms.Status);
            }
            await tx.CommitAsync(ct);
        }, ct);
        return Results.NoContent();
    }
}

/// <summary>Log category of the SMS status callback.</summary>
internal sealed class TwilioSmsStatusWebhook;
