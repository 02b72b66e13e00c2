using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Switchboard.Alerts;
using Switchboard.Assistants;
using Switchboard.Compliance;
using Switchboard.Numbers;
using Switchboard.Platform.Database;
using Switchboard.Platform.Http;
using Switchboard.Platform.Phones;
using Switchboard.Tenancy;

namespace Switchboard.Credentials;

/// <summary>Vapi's private API key.</summary>
public sealed record VapiCredentialRequest(string? ApiKey);

/// <summary>
/// Twilio's account SID (<c>AC</c> + 32 hex) and auth token, and optionally the SMS sender: an E.164 number of the
/// account, or a Messaging Service SID (<c>MG</c> + 32 hex, sent as <c>MessagingServiceSid</c>). <c>SmsSender</c> absent
/// keeps the current one; an empty string clears it, so SMS go out from an attached number that can send SMS.
/// </summary>
public sealed record TwilioCredentialRequest(string? AccountSid, string? AuthToken, string? SmsSender = null);

/// <summary>
/// Twilio's webhook shared key (Twilio Console, or <c>POST /v1/Webhooks/SharedKeys</c>): its secret, and optionally its id
/// as Twilio names it in <c>X-Twilio-Webhooks-Signature-Settings: key=…,algorithm=HMAC_SHA256</c>. With it, webhooks signed
/// with HMAC-SHA256 are accepted alongside those signed with the Auth Token (HMAC-SHA1).
/// </summary>
public sealed record TwilioSigningKeyRequest(string? Secret, string? KeyId = null);

/// <summary>An OpenAI-compatible API key and base URL (default <c>https://api.openai.com/v1</c>).</summary>
public sealed record OpenAiCredentialRequest(string? ApiKey, string? BaseUrl);

/// <summary>
/// <c>/api/v1/credentials</c>: the tenant's provider credentials. Secrets are encrypted at rest and never returned
/// or logged: responses carry previews such as <c>sk_te…9fA2</c>. <c>POST …/{provider}/check</c> tries the
/// credential against the provider. Saving Vapi or Twilio credentials re-queues the provider syncs that waited for them.
/// </summary>
internal static partial class CredentialsApi
{
    public static RouteGroupBuilder MapCredentials(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/credentials").WithTags("Credentials");
        group.MapGet("/", ListAsync).RequirePermission(Permission.Configure).WithSummary("Credentials, as previews");
        group.MapPut("/vapi", PutVapiAsync).RequirePermission(Permission.Configure).WithSummary("Set the Vapi private API key").ProducesErrors(400, 422);
        group.MapPut("/twilio", PutTwilioAsync).RequirePermission(Permission.Configure).WithSummary("Set the Twilio account SID, auth token and SMS sender").ProducesErrors(400, 422);
        group.MapGet("/twilio/signing-key", GetTwilioSigningKeyAsync).RequirePermission(Permission.Configure)
            .WithSummary("The Twilio webhook shared key, as a preview").ProducesErrors(404);
        group.MapPut("/twilio/signing-key", PutTwilioSigningKeyAsync).RequirePermission(Permission.Configure)
            .WithSummary("Set the Twilio webhook shared key (HMAC-SHA256 signatures)").ProducesErrors(400, 422);
        group.MapDelete("/twilio/signing-key", DeleteTwilioSigningKeyAsync).RequirePermission(Permission.Configure)
            .WithSummary("Delete the Twilio webhook shared key").ProducesErrors(404);
        group.MapPut("/openai", PutOpenAiAsync).RequirePermission(Permission.Configure).WithSummary("Set an OpenAI-compatible key and base URL").ProducesErrors(400, 422);
        group.MapPost("/{provider}/check", CheckAsync).RequirePermission(Permission.Configure).WithSummary("Check a credential live against its provider")
            .ProducesErrors(404);
        group.MapDelete("/{provider}", DeleteAsync).RequirePermission(Permission.Configure).WithSummary("Delete a credential").ProducesErrors(404);
        return api;
    }

    [GeneratedRegex("^AC[0-9a-fA-F]{32}$")]
    internal static partial Regex AccountSidPattern();

    /// <summary>
    /// 8 to <paramref name="max"/> characters of printable ASCII (U+0021–U+007E): a key is sent in an HTTP header
    /// (<c>Authorization: Bearer …</c>), where HttpClient refuses anything else, so a key with "é" or a control character
    /// was stored and then every call with it failed, reported as the provider being unreachable. Providers' keys are ASCII.
    /// </summary>
    internal static bool LooksLikeSecret(string? s, int max = 300) => s is { Length: >= 8 } && s.Length <= max && s.All(c => c is > ' ' and < '\x7f');

    private static async Task<Ok<List<CredentialDto>>> ListAsync(CredentialStore store, CancellationToken ct) => TypedResults.Ok(await store.ListAsync(ct));

    private static async Task<Results<Ok<CredentialDto>, JsonHttpResult<ErrorEnvelope>>> PutVapiAsync(
        VapiCredentialRequest body, HttpContext http, CredentialStore store, SwitchboardDbContext db, AuditLog audit, TimeProvider clock, CancellationToken ct)
    {
        if (!LooksLikeSecret(body.ApiKey, 200))
        {
            return new Validation().Add("apiKey", "must be 8 to 200 characters without spaces").Result();
        }
        var caller = Caller.From(http);
        // A concurrent PUT may insert the row first (update it then), a concurrent DELETE remove it after the read (store it again).
        await ConcurrentChange.RetryOnceAsync(db, async () =>
        {
            await store.SetVapiAsync(caller.TenantId!.Value, body.ApiKey!, ct);
            await AssistantSync.RequeueWaitingAsync(db, clock.GetUtcNow(), ct);
            await NumberSync.RequeueWaitingAsync(db, clock.GetUtcNow(), ct);
            await db.SaveChangesAsync(ct);
        });
        await audit.AppendAsync(caller.TenantId, caller.Actor, "credentials.updated", Providers.Vapi, null, ct);
        return TypedResults.Ok((await store.ListAsync(ct)).First(c => c.Provider == Providers.Vapi));
    }

    private static async Task<Results<Ok<CredentialDto>, JsonHttpResult<ErrorEnvelope>>> PutTwilioAsync(
        TwilioCredentialRequest body, HttpContext http, CredentialStore store, SwitchboardDbContext db, AuditLog audit, TimeProvider clock, CancellationToken ct)
    {
        var v = new Validation();
        if (body.AccountSid is null || !AccountSidPattern().IsMatch(body.AccountSid))
        {
            v.Add("accountSid", "must be AC followed by 32 hexadecimal characters");
        }
        if (!LooksLikeSecret(body.AuthToken, 200))
        {
            v.Add("authToken", "must be 8 to 200 characters without spaces");
        }
        var caller = Caller.From(http);
        // A number is read in the tenant's region (Phones) and stored in E.164; a Messaging Service SID as given.
        var smsSender = body.SmsSender;
        if (smsSender is { Length: > 0 })
        {
            var region = Phones.RegionOf(await db.Tenants.IgnoreQueryFilters().Where(t => t.Id == caller.TenantId).Select(t => t.Locale).FirstOrDefaultAsync(ct));
            smsSender = SmsSender.Normalize(smsSender, region);
            if (smsSender is null)
            {
                v.Add("smsSender", "must be a phone number (E.164, or national in the business's country) or a Messaging Service SID (MG followed by 32 hexadecimal characters)");
            }
        }
        if (!v.IsValid)
        {
            return v.Result();
        }
        await ConcurrentChange.RetryOnceAsync(db, async () => // as for Vapi
        {
            await store.SetTwilioAsync(caller.TenantId!.Value, body.AccountSid!, body.AuthToken!, smsSender, ct);
            await NumberSync.RequeueWaitingAsync(db, clock.GetUtcNow(), ct);
            await db.SaveChangesAsync(ct);
        });
        await audit.AppendAsync(caller.TenantId, caller.Actor, "credentials.updated", Providers.Twilio, null, ct);
        return TypedResults.Ok((await store.ListAsync(ct)).First(c => c.Provider == Providers.Twilio));
    }

    [GeneratedRegex("^[A-Za-z0-9_.:-]{1,200}$")]
    private static partial Regex SharedKeyIdPattern();

    private static async Task<Results<Ok<TwilioSigningKeyDto>, JsonHttpResult<ErrorEnvelope>>> GetTwilioSigningKeyAsync(CredentialStore store, CancellationToken ct) =>
        await store.GetTwilioSigningKeyDtoAsync(ct) is { } key ? TypedResults.Ok(key) : ApiError.NotFound("CREDENTIAL_NOT_FOUND", "No Twilio shared key is stored.");

    private static async Task<Results<Ok<TwilioSigningKeyDto>, JsonHttpResult<ErrorEnvelope>>> PutTwilioSigningKeyAsync(
        TwilioSigningKeyRequest body, HttpContext http, CredentialStore store, SwitchboardDbContext db, AuditLog audit, CancellationToken ct)
    {
        var v = new Validation();
        if (!LooksLikeSecret(body.Secret, 500))
        {
            v.Add("secret", "must be 8 to 500 characters without spaces");
        }
        if (body.KeyId is { Length: > 0 } keyId && !SharedKeyIdPattern().IsMatch(keyId))
        {
            v.Add("keyId", "must be 1 to 200 letters, digits, '_', '.', ':' or '-'");
        }
        if (!v.IsValid)
        {
            return v.Result();
        }
        var caller = Caller.From(http);
        await ConcurrentChange.RetryOnceAsync(db, async () => // as for Vapi
        {
            await store.SetTwilioSigningKeyAsync(caller.TenantId!.Value, body.KeyId is { Length: > 0 } ? body.KeyId : null, body.Secret!, ct);
            await db.SaveChangesAsync(ct);
        });
        await audit.AppendAsync(caller.TenantId, caller.Actor, "credentials.updated", Providers.TwilioSigningKey, null, ct);
        return TypedResults.Ok((await store.GetTwilioSigningKeyDtoAsync(ct))!);
    }

    private static async Task<Results<NoContent, JsonHttpResult<ErrorEnvelope>>> DeleteTwilioSigningKeyAsync(
        HttpContext http, CredentialStore store, SwitchboardDbContext db, AuditLog audit, CancellationToken ct)
    {
        var caller = Caller.From(http);
        await using var tx = await TenantRowLock.BeginAsync(db, caller.TenantId!.Value, ct); // read under the lock, as in DeleteAsync
        if (!await store.DeleteAsync(caller.TenantId!.Value, Providers.TwilioSigningKey, ct))
        {
            return ApiError.NotFound("CREDENTIAL_NOT_FOUND", "No Twilio shared key is stored.");
        }
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        await audit.AppendAsync(caller.TenantId, caller.Actor, "credentials.deleted", Providers.TwilioSigningKey, null, ct);
        return TypedResults.NoContent();
    }

    private static async Task<Results<Ok<CredentialDto>, JsonHttpResult<ErrorEnvelope>>> PutOpenAiAsync(
        OpenAiCredentialRequest body, HttpContext http, CredentialStore store, SwitchboardDbContext db, AuditLog audit,
        IOptions<CredentialOptions> options, CancellationToken ct)
    {
        var v = new Validation();
        if (!LooksLikeSecret(body.ApiKey))
        {
            v.Add("apiKey", "must be 8 to 300 characters without spaces");
        }
        var baseUrl = string.IsNullOrWhiteSpace(body.BaseUrl) ? CredentialStore.DefaultOpenAiBaseUrl : body.BaseUrl.Trim().TrimEnd('/');
        if (await BaseUrlGuard.ProblemAsync(baseUrl, options.Value.AllowPrivateBaseUrls, ct) is { } problem)
        {
            v.Add("baseUrl", problem);
        }
        if (!v.IsValid)
        {
            return v.Result();
        }
        var caller = Caller.From(http);
        await ConcurrentChange.RetryOnceAsync(db, async () => // as for Vapi
        {
            await store.SetOpenAiAsync(caller.TenantId!.Value, body.ApiKey!, baseUrl, ct);
            await db.SaveChangesAsync(ct);
        });
        await audit.AppendAsync(caller.TenantId, caller.Actor, "credentials.updated", Providers.OpenAi, new { baseUrl }, ct);
        return TypedResults.Ok((await store.ListAsync(ct)).First(c => c.Provider == Providers.OpenAi));
    }

    private static async Task<Results<Ok<CredentialCheckDto>, JsonHttpResult<ErrorEnvelope>>> CheckAsync(
        string provider, HttpContext http, CredentialStore store, CredentialChecker checker, SwitchboardDbContext db, AuditLog audit, TimeProvider clock, CancellationToken ct)
    {
        var caller = Caller.From(http);
        var result = provider switch
        {
            Providers.Vapi => await store.GetVapiKeyAsync(ct) is { } key ? await checker.CheckVapiAsync(key, ct) : null,
            Providers.Twilio => await store.GetTwilioAsync(caller.TenantId!.Value, ct) is { } tw ? await checker.CheckTwilioAsync(tw, ct) : null,
            Providers.OpenAi => await store.GetOpenAiAsync(ct) is { } oa ? await checker.CheckOpenAiAsync(oa, ct) : null,
            _ => null,
        };
        if (result is not { } r)
        {
            return ApiError.NotFound("CREDENTIAL_NOT_FOUND", "No such credential is stored.");
        }
        await store.RecordCheckAsync(provider, r, ct);
        await db.SaveChangesAsync(ct);
        await audit.AppendAsync(caller.TenantId, caller.Actor, "credentials.checked", provider, new { ok = r.Ok, code = r.Code }, ct);
        return TypedResults.Ok(CredentialCheckDto.Create(r.Ok, r.Code, r.Message, clock.GetUtcNow()));
    }

    private static async Task<Results<NoContent, JsonHttpResult<ErrorEnvelope>>> DeleteAsync(
        string provider, HttpContext http, CredentialStore store, SwitchboardDbContext db, AuditLog audit, CancellationToken ct)
    {
        var caller = Caller.From(http);
        if (!Providers.All.Contains(provider))
        {
            return ApiError.NotFound("CREDENTIAL_NOT_FOUND", "No such credential is stored.");
        }
        // Reads what is stored under the tenant's row lock: of two DELETEs at once the second reads after the first committed,
        // finds nothing and answers 404 as in sequence, instead of deleting the gone row again (a 409) and auditing twice.
        await using var tx = await TenantRowLock.BeginAsync(db, caller.TenantId!.Value, ct);
        if (!await store.DeleteAsync(caller.TenantId.Value, provider, ct))
        {
            return ApiError.NotFound("CREDENTIAL_NOT_FOUND", "No such credential is stored.");
        }
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        await audit.AppendAsync(caller.TenantId, caller.Actor, "credentials.deleted", provider, null, ct);
        return TypedResults.NoContent();
    }
}
