using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Switchboard.Credentials;
using Switchboard.Outbox;
using Switchboard.Platform;
using Switchboard.Platform.Database;
using Switchboard.Platform.Http;
using Switchboard.Twilio;
using Switchboard.Vapi;

namespace Switchboard.Numbers;

/// <summary>Queues phone-number provider changes (kind <see cref="NumberSyncHandler.Kind"/>; only the latest version is pushed).</summary>
internal static class NumberSync
{
    /// <summary>Outbox payload. <c>Op</c>: <c>upsert</c> (read the row) or <c>detach</c> (with the provider ids captured at removal).</summary>
    public sealed record Payload(Guid NumberId, int Version, string Op, string? Mode, string? Number, string? TwilioSid, string? VapiPhoneNumberId);

    public static void EnqueueUpsert(SwitchboardDbContext db, PhoneNumber number, DateTimeOffset now)
    {
        number.Status = "pending";
        number.LastError = null;
        Add(db, number.TenantId, $"{number.Id:N}:v{number.Version}", new Payload(number.Id, number.Version, "upsert", null, null, null, null), now);
    }

    public static void EnqueueDetach(SwitchboardDbContext db, PhoneNumber number, DateTimeOffset now) =>
        Add(db, number.TenantId, $"{number.Id:N}:detach",
            new Payload(number.Id, number.Version, "detach", number.Mode, number.Number, number.TwilioSid, number.VapiPhoneNumberId), now);

    /// <summary>After credentials arrive: re-queues numbers that waited for them or failed.</summary>
    public static async Task RequeueWaitingAsync(SwitchboardDbContext db, DateTimeOffset now, CancellationToken ct)
    {
        foreach (var number in await db.PhoneNumbers.Where(n => n.Status == "waiting-for-credentials" || n.Status == "failed").ToListAsync(ct))
        {
            number.Version++;
            EnqueueUpsert(db, number, now);
        }
    }

    private static void Add(SwitchboardDbContext db, Guid tenantId, string dedupe, Payload payload, DateTimeOffset now) =>
        db.Outbox.Add(new OutboxMessage
        {
            Id = Guid.CreateVersion7(),
            TenantId = tenantId,
            Kind = NumberSyncHandler.Kind,
            DedupeKey = dedupe,
            PayloadJson = JsonSerializer.Serialize(payload, JsonSerializerOptions.Web),
            NextAttemptAt = now,
            CreatedAt = now,
        });
}

/// <summary>
/// Points a tenant's Twilio number at Switchboard. Both modes first find the number on the tenant's Twilio account
/// (<c>IncomingPhoneNumbers.json?PhoneNumber=</c>), so only a number the tenant owns can be attached.
/// <list type="bullet">
/// <item><c>twilio</c> (native voice): <c>POST IncomingPhoneNumbers/{PN…}.json</c> with <c>VoiceUrl</c> =
/// <c>{PublicBaseUrl}/webhooks/twilio/voice/{tenantId}</c>, <c>StatusCallback</c> = <c>…/webhooks/twilio/status/{tenantId}</c>,
/// <c>SmsUrl</c> = <c>…/webhooks/twilio/sms/{tenantId}</c>, all POST.</item>
/// <item><c>vapi</c> (managed voice): imports it into Vapi with <c>POST /phone-number</c>
/// <c>{"provider":"twilio","number","twilioAccountSid","twilioAuthToken","name","server":{"url":…/webhooks/vapi/{tenantId},"headers":{"x-vapi-secret":…}}}</c>
/// (vapi-rest.md "Phone numbers"): no assistant is pinned, so each inbound call sends <c>assistant-request</c> to
/// Switchboard, which answers with the tenant's assistant.</item>
/// </list>
/// A number found on the tenant's account but active for another tenant is refused before any provider write; becoming
/// active releases the other tenants' unverified claims on the number (<see cref="NumberClaims"/>).
/// Detaching clears the Twilio webhooks or deletes the Vapi phone number. 429/5xx/network failures retry with backoff.
/// </summary>
internal sealed class NumberSyncHandler(
    SwitchboardDbContext db,
    TwilioNumbersClient twilio,
    VapiRestClient vapi,
    CredentialStore credentials,
    SecretProtector secrets,
    IOptions<PublicUrlOptions> publicUrl,
    TimeProvider clock) : IOutboxHandler, IOutboxDeadLetterAware
{
    public const string Kind = "number.sync";

    string IOutboxHandler.Kind => Kind;

    public async Task<OutboxResult> HandleAsync(OutboxMessage message, CancellationToken ct)
    {
        var payload = JsonSerializer.Deserialize<NumberSync.Payload>(message.PayloadJson, JsonSerializerOptions.Web);
        if (payload is null)
        {
            return OutboxResult.Dead("Unreadable payload.");
        }
        return payload.Op == "detach" ? await DetachAsync(message.TenantId, payload, ct) : await UpsertAsync(payload, ct);
    }

    private async Task<OutboxResult> UpsertAsync(NumberSync.Payload payload, CancellationToken ct)
    {
        var number = await db.PhoneNumbers.FirstOrDefaultAsync(n => n.Id == payload.NumberId, ct);
        if (number is null || number.Version != payload.Version)
        {
            return OutboxResult.Done;
        }
        var tw = await credentials.GetTwilioAsync(number.TenantId, ct);
        if (tw is null)
        {
            return Waiting(number, "Add the Twilio account SID and auth token to attach this number.");
        }
        var vapiKey = number.Mode == "vapi" ? await credentials.GetVapiKeyAsync(ct) : null;
        if (number.Mode == "vapi" && vapiKey is null)
        {
            return Waiting(number, "Add the Vapi private API key to import this number into Vapi.");
        }

        var found = await twilio.FindNumberAsync(tw.AccountSid, tw.AuthToken, number.Number, ct);
        if (found.Outcome != TwilioOutcome.Ok)
        {
            return Fail(number, found.Outcome == TwilioOutcome.Transient, Redaction.Redact(found.Error, tw.AuthToken) ?? "Twilio lookup failed");
        }
        if (await NumberClaims.HeldElsewhereAsync(db, number, ct))
        {
            // Active for another tenant: refused before any provider write (a Vapi import would be repointed). The reason
            // does not say another tenant holds it (NumberClaims.NotVerified).
            return Refused(number, NumberClaims.NotVerified);
        }
        number.TwilioSid = found.Sid;
        number.SmsCapable = found.SmsCapable; // read by SmsSenderResolver
        var tenantPath = number.TenantId.ToString();

        if (number.Mode == "twilio")
        {
            if (number.VapiPhoneNumberId is { } oldVapi && await credentials.GetVapiKeyAsync(ct) is { } key)
            {
                var removed = await vapi.DeletePhoneNumberAsync(key, oldVapi, ct);
                if (removed.Outcome == VapiOutcome.Transient)
                {
                    return Fail(number, true, removed.Error ?? "Vapi unavailable");
                }
                number.VapiPhoneNumberId = null;
            }
            var updated = await twilio.UpdateNumberAsync(tw.AccountSid, tw.AuthToken, found.Sid!,
            [
                new("VoiceUrl", publicUrl.Value.Url($"/webhooks/twilio/voice/{tenantPath}")), new("VoiceMethod", "POST"),
                new("StatusCallback", publicUrl.Value.Url($"/webhooks/twilio/status/{tenantPath}")), new("StatusCallbackMethod", "POST"),
                new("SmsUrl", publicUrl.Value.Url($"/webhooks/twilio/sms/{tenantPath}")), new("SmsMethod", "POST"),
            ], ct);
            return updated.Outcome == TwilioOutcome.Ok
                ? await ActiveAsync(number, ct)
                : Fail(number, updated.Outcome == TwilioOutcome.Transient, Redaction.Redact(updated.Error, tw.AuthToken) ?? "Twilio update failed");
        }

        var tenant = await db.Tenants.AsNoTracking().FirstAsync(t => t.Id == number.TenantId, ct);
        var secret = secrets.Unprotect(tenant.VapiWebhookSecretProtected);
        if (secret is null)
        {
            return OutboxResult.Dead("The tenant's webhook secret cannot be decrypted (key ring lost?).");
        }
        var server = new JsonObject { ["url"] = publicUrl.Value.Url($"/webhooks/vapi/{tenantPath}"), ["headers"] = new JsonObject { ["x-vapi-secret"] = secret } };
        var name = TolerantJson.Cap(tenant.Name, 30) + " (Switchboard)";
        number.VapiPhoneNumberId ??= await FindImportedAsync(vapiKey!, number.Number, ct);
        VapiResult result;
        if (number.VapiPhoneNumberId is { } vapiId)
        {
            result = await vapi.UpdatePhoneNumberAsync(vapiKey!, vapiId, new JsonObject { ["name"] = name, ["server"] = server }, ct);
            if (result.Outcome == VapiOutcome.NotFound)
            {
                number.VapiPhoneNumberId = null;
            }
        }
        else
        {
            result = new VapiResult(VapiOutcome.NotFound, 404, null, null);
        }
        if (number.VapiPhoneNumberId is null)
        {
            result = await vapi.CreatePhoneNumberAsync(vapiKey!, new JsonObject
            {
                ["provider"] = "twilio",
                ["number"] = number.Number,
                ["twilioAccountSid"] = tw.AccountSid,
                ["twilioAuthToken"] = tw.AuthToken,
                ["name"] = name,
                ["server"] = server,
            }, ct);
            if (result.Outcome == VapiOutcome.Ok && result.Body?["id"]?.GetValue<string>() is { } id)
            {
                number.VapiPhoneNumberId = id;
            }
        }
        return result.Outcome == VapiOutcome.Ok
            ? await ActiveAsync(number, ct)
            : Fail(number, result.Outcome == VapiOutcome.Transient, Redaction.Redact(result.Error, vapiKey, tw.AuthToken, secret) ?? "Vapi import failed");
    }

    private async Task<OutboxResult> DetachAsync(Guid tenantId, NumberSync.Payload payload, CancellationToken ct)
    {
        // Attached again since by this tenant, or active for another: that attachment owns the provider settings now. Another
        // tenant's unverified claim does not stop the owner's detach (NumberClaims).
        if (payload.Number is { } e164 && await db.PhoneNumbers.IgnoreQueryFilters()
                .AnyAsync(n => n.Number == e164 && (n.TenantId == tenantId || n.Status == NumberClaims.Active), ct))
        {
            return OutboxResult.Done;
        }
        if (payload.Mode == "vapi" && payload.VapiPhoneNumberId is { } vapiId)
        {
            if (await credentials.GetVapiKeyAsync(ct) is not { } key)
            {
                return OutboxResult.Dead("No Vapi API key: the number stays imported at Vapi.");
            }
            var removed = await vapi.DeletePhoneNumberAsync(key, vapiId, ct);
            return removed.Outcome switch
            {
                VapiOutcome.Ok or VapiOutcome.NotFound => OutboxResult.Done,
                VapiOutcome.Transient => OutboxResult.Retry(removed.Error ?? "Vapi unavailable"),
                _ => OutboxResult.Dead(Redaction.Redact(removed.Error, key) ?? "Vapi refused"),
            };
        }
        if (payload.Mode == "twilio" && payload.TwilioSid is { } sid && await credentials.GetTwilioAsync(tenantId, ct) is { } tw)
        {
            var cleared = await twilio.UpdateNumberAsync(tw.AccountSid, tw.AuthToken, sid,
                [new("VoiceUrl", ""), new("StatusCallback", ""), new("SmsUrl", "")], ct);
            return cleared.Outcome switch
            {
                TwilioOutcome.Ok or TwilioOutcome.NotFound => OutboxResult.Done,
                TwilioOutcome.Transient => OutboxResult.Retry(cleared.Error ?? "Twilio unavailable"),
                _ => OutboxResult.Dead(Redaction.Redact(cleared.Error, tw.AuthToken) ?? "Twilio refused"),
            };
        }
        return OutboxResult.Done;
    }

    public async Task OnDeadLetterAsync(OutboxMessage message, CancellationToken ct)
    {
        var payload = JsonSerializer.Deserialize<NumberSync.Payload>(message.PayloadJson, JsonSerializerOptions.Web);
        var number = payload is null ? null : await db.PhoneNumbers.FirstOrDefaultAsync(n => n.Id == payload.NumberId && n.Version == payload.Version, ct);
        if (number is not null)
        {
            number.Status = "failed";
            number.LastError ??= "The provider could not be reached after repeated attempts.";
        }
    }

    private async Task<string?> FindImportedAsync(string key, string e164, CancellationToken ct)
    {
        var list = await vapi.ListPhoneNumbersAsync(key, ct);
        return list.Outcome == VapiOutcome.Ok && list.Body is JsonArray items
            ? items.FirstOrDefault(p => p?["number"]?.GetValue<string>() == e164)?["id"]?.GetValue<string>()
            : null;
    }

    /// <summary>
    /// The number is the tenant's now: the other tenants' unverified claims on it are released in the same save. Two
    /// activations racing for one number cannot both be saved (<c>IX_phone_numbers_Number_active</c>); the loser's save
    /// fails, its message is claimed again after the lease and then refused by <see cref="NumberClaims.HeldElsewhereAsync"/>.
    /// </summary>
    private async Task<OutboxResult> ActiveAsync(PhoneNumber number, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        number.Status = NumberClaims.Active;
        number.LastError = null;
        number.UpdatedAt = now;
        await NumberClaims.ReleaseOthersAsync(db, number, now, ct);
        return OutboxResult.Done;
    }

    /// <summary>Failed for good, but not a provider fault to dead-letter: the tenant sees the reason on the number.</summary>
    private OutboxResult Refused(PhoneNumber number, string why)
    {
        number.Status = "failed";
        number.LastError = why;
        number.UpdatedAt = clock.GetUtcNow();
        return OutboxResult.Done;
    }

    private static OutboxResult Waiting(PhoneNumber number, string why)
    {
        number.Status = "waiting-for-credentials";
        number.LastError = why;
        return OutboxResult.Done;
    }

    private static OutboxResult Fail(PhoneNumber number, bool transient, string error)
    {
        number.LastError = TolerantJson.Cap(error, 1000);
        if (transient)
        {
            number.Status = "pending";
            return OutboxResult.Retry(error);
        }
        number.Status = "failed";
        return OutboxResult.Dead(error);
    }
}
