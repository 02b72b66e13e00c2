using Microsoft.EntityFrameworkCore;
using Switchboard.Platform.Database;
using Switchboard.Platform.Http;
using Switchboard.Tenancy;

namespace Switchboard.Credentials;

/// <summary>Provider names of credentials.</summary>
internal static class Providers
{
    public const string Vapi = "vapi";
    public const string Twilio = "twilio";
    public const string OpenAi = "openai";

    /// <summary>Twilio's webhook shared key (HMAC-SHA256 signatures); shown on the Twilio credential, not listed alone.</summary>
    public const string TwilioSigningKey = "twilio-signing";

    public static readonly string[] All = [Vapi, Twilio, OpenAi];
}

/// <summary>
/// A credential as the API shows it: never the secret, only a preview. For Twilio, <c>SmsSender</c> is the explicit SMS
/// sender (E.164 or <c>MG…</c>), or null when SMS go out from an attached number.
/// </summary>
public sealed record CredentialDto(
    string Provider, bool Configured, string? Preview, string? AccountSid, string? BaseUrl, DateTimeOffset? UpdatedAt, CredentialCheckDto? LastCheck,
    string? SmsSender = null);

/// <summary>
/// The result of a live check against the provider. <c>Code</c> is stable, for a dashboard to word it
/// (<c>VAPI_KEY_ACCEPTED</c>, <c>VAPI_KEY_REFUSED</c>, <c>VAPI_UNREACHABLE</c>, <c>TWILIO_CREDENTIALS_ACCEPTED</c>,
/// <c>TWILIO_CREDENTIALS_REFUSED</c>, <c>TWILIO_UNREACHABLE</c>, <c>OPENAI_KEY_ACCEPTED</c>, <c>OPENAI_KEY_REFUSED</c>,
/// <c>OPENAI_HTTP_STATUS</c>, <c>OPENAI_BASE_URL_INVALID</c>, <c>OPENAI_UNREACHABLE</c>; <c>CHECK_PASSED</c>/<c>CHECK_FAILED</c> for a
/// check recorded before codes); <c>Message</c> is the English sentence; <c>Details</c> holds the values it names
/// (<c>status</c> for <c>OPENAI_HTTP_STATUS</c>, <c>problem</c> for <c>OPENAI_BASE_URL_INVALID</c>), else null.
/// </summary>
public sealed partial record CredentialCheckDto(bool Ok, string Code, string Message, DateTimeOffset CheckedAt, IReadOnlyDictionary<string, string>? Details = null)
{
    /// <summary>A check as <see cref="CredentialStore.RecordCheckAsync"/> stores it: <c>[CODE] message</c> (the row has no column of its own for the code).</summary>
    internal static string Stored(string code, string message) => $"[{code}] {message}";

    /// <summary>The DTO of a check as stored: its code read back from <see cref="Stored"/>'s prefix, or a generic one for a check stored without.</summary>
    internal static CredentialCheckDto FromStored(bool ok, string? stored, DateTimeOffset at) =>
        StoredForm().Match(stored ?? "") is { Success: true } m
            ? Create(ok, m.Groups["code"].Value, m.Groups["message"].Value, at)
            : new(ok, ok ? CredentialCheckCodes.Passed : CredentialCheckCodes.Failed, stored ?? "", at);

    /// <summary>The DTO of a check, with the details its code names read from its message.</summary>
    internal static CredentialCheckDto Create(bool ok, string code, string message, DateTimeOffset at)
    {
        Dictionary<string, string>? details = code switch
        {
            CredentialCheckCodes.OpenAiHttpStatus when HttpStatus().Match(message) is { Success: true } s => new() { ["status"] = s.Groups[1].Value },
            CredentialCheckCodes.OpenAiBaseUrlInvalid when message.StartsWith("Base URL ", StringComparison.Ordinal) => new() { ["problem"] = message["Base URL ".Length..].TrimEnd('.') },
            _ => null,
        };
        return new(ok, code, message, at, details);
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^\[(?<code>[A-Z_]{1,64})\] (?<message>.*)$", System.Text.RegularExpressions.RegexOptions.Singleline)]
    private static partial System.Text.RegularExpressions.Regex StoredForm();

    [System.Text.RegularExpressions.GeneratedRegex(@"answered (\d{3})\.$")]
    private static partial System.Text.RegularExpressions.Regex HttpStatus();
}

/// <summary>Decrypted Twilio credentials.</summary>
internal sealed record TwilioCredentials(string AccountSid, string AuthToken);

/// <summary>A decrypted Twilio webhook shared key: its id (<c>key=</c> of the signature settings header; null: any) and secret.</summary>
internal sealed record TwilioSigningKey(string? KeyId, string Secret);

/// <summary>The Twilio webhook shared key as the API shows it: its id and a preview of the secret, never the secret.</summary>
public sealed record TwilioSigningKeyDto(string? KeyId, string Preview, DateTimeOffset UpdatedAt);

/// <summary>Decrypted OpenAI-compatible credentials.</summary>
internal sealed record OpenAiCredentials(string ApiKey, string BaseUrl);

/// <summary>
/// Reads and writes the current tenant's provider credentials, encrypting secrets with <see cref="SecretProtector"/>
/// (Data Protection; the key ring under data/keys is shared by every node). Changes are staged on the caller's
/// context; the caller saves. Twilio's token lives on the tenant (<c>TwilioAuthTokenProtected</c>), where SMS and
/// voice read it.
/// </summary>
internal sealed class CredentialStore(SwitchboardDbContext db, SecretProtector secrets, TimeProvider clock)
{
    public const string DefaultOpenAiBaseUrl = "https://api.openai.com/v1";

    public async Task<List<CredentialDto>> ListAsync(CancellationToken ct)
    {
        var rows = await db.ProviderCredentials.AsNoTracking().ToListAsync(ct);
        var sender = rows.Any(r => r.Provider == Providers.Twilio)
            ? await db.Tenants.AsNoTracking().Where(t => t.Id == db.TenantFilter).Select(t => t.TwilioFromNumber).FirstOrDefaultAsync(ct)
            : null;
        return Providers.All.Select(p => rows.FirstOrDefault(r => r.Provider == p) is { } r
            ? new CredentialDto(p, true, r.Preview, p == Providers.Twilio ? r.PublicValue : null, p == Providers.OpenAi ? r.PublicValue : null, r.UpdatedAt,
                r.CheckedAt is { } at ? CredentialCheckDto.FromStored(r.CheckOk == true, r.CheckMessage, at) : null,
                p == Providers.Twilio ? sender : null)
            : new CredentialDto(p, false, null, null, null, null, null)).ToList();
    }

    public async Task SetVapiAsync(Guid tenantId, string apiKey, CancellationToken ct) =>
        await UpsertAsync(tenantId, Providers.Vapi, secrets.Protect(apiKey), SecretProtector.Preview(apiKey), null, ct);

    public async Task SetOpenAiAsync(Guid tenantId, string apiKey, string baseUrl, CancellationToken ct) =>
        await UpsertAsync(tenantId, Providers.OpenAi, secrets.Protect(apiKey), SecretProtector.Preview(apiKey), baseUrl, ct);

    /// <summary>
    /// Sets the Twilio credentials, and the explicit SMS sender when <paramref name="smsSender"/> is given (validated by
    /// the caller; an empty string clears it, null keeps it).
    /// </summary>
    public async Task SetTwilioAsync(Guid tenantId, string accountSid, string authToken, string? smsSender, CancellationToken ct)
    {
        var tenant = await db.Tenants.FirstAsync(t => t.Id == tenantId, ct);
        tenant.TwilioAccountSid = accountSid;
        tenant.TwilioAuthTokenProtected = secrets.Protect(authToken);
        if (smsSender is not null)
        {
            tenant.TwilioFromNumber = smsSender.Length == 0 ? null : smsSender;
        }
        await UpsertAsync(tenantId, Providers.Twilio, null, SecretProtector.Preview(authToken), accountSid, ct);
    }

    /// <summary>
    /// Sets the secret of the tenant's Twilio webhook shared key (encrypted like every provider secret) and its id
    /// (null: whichever key Twilio names). Webhooks whose <c>X-Twilio-Webhooks-Signature-Settings</c> says
    /// <c>algorithm=HMAC_SHA256</c> are then verified with it.
    /// </summary>
    public async Task SetTwilioSigningKeyAsync(Guid tenantId, string? keyId, string secret, CancellationToken ct) =>
        await UpsertAsync(tenantId, Providers.TwilioSigningKey, secrets.Protect(secret), SecretProtector.Preview(secret), keyId, ct);

    /// <summary>The current tenant's Twilio shared key as shown (no secret), or null.</summary>
    public async Task<TwilioSigningKeyDto?> GetTwilioSigningKeyDtoAsync(CancellationToken ct) =>
        await db.ProviderCredentials.AsNoTracking().Where(r => r.Provider == Providers.TwilioSigningKey)
            .Select(r => new TwilioSigningKeyDto(r.PublicValue, r.Preview, r.UpdatedAt)).FirstOrDefaultAsync(ct);

    /// <summary>The shared key of <paramref name="tenantId"/>, read before any tenant is current (webhooks), or null.</summary>
    public async Task<TwilioSigningKey?> GetTwilioSigningKeyAsync(Guid tenantId, CancellationToken ct)
    {
        var row = await db.ProviderCredentials.IgnoreQueryFilters().AsNoTracking()
            .Where(r => r.TenantId == tenantId && r.Provider == Providers.TwilioSigningKey)
            .Select(r => new { r.PublicValue, r.SecretProtected }).FirstOrDefaultAsync(ct);
        return row is not null && secrets.Unprotect(row.SecretProtected) is { } secret ? new TwilioSigningKey(row.PublicValue, secret) : null;
    }

    /// <summary>Removes a credential; returns false when none was stored. Removing Twilio's also removes its shared key.</summary>
    public async Task<bool> DeleteAsync(Guid tenantId, string provider, CancellationToken ct)
    {
        var row = await db.ProviderCredentials.FirstOrDefaultAsync(r => r.Provider == provider, ct);
        if (provider == Providers.Twilio && await db.ProviderCredentials.FirstOrDefaultAsync(r => r.Provider == Providers.TwilioSigningKey, ct) is { } key)
        {
            db.ProviderCredentials.Remove(key);
        }
        if (provider == Providers.Twilio)
        {
            var tenant = await db.Tenants.FirstAsync(t => t.Id == tenantId, ct);
            var had = tenant.TwilioAccountSid is not null || tenant.TwilioAuthTokenProtected is not null;
            tenant.TwilioAccountSid = null;
            tenant.TwilioAuthTokenProtected = null;
            tenant.TwilioFromNumber = null;
            if (row is null)
            {
                return had;
            }
        }
        if (row is null)
        {
            return false;
        }
        db.ProviderCredentials.Remove(row);
        return true;
    }

    public async Task<string?> GetVapiKeyAsync(CancellationToken ct) =>
        secrets.Unprotect(await db.ProviderCredentials.Where(r => r.Provider == Providers.Vapi).Select(r => r.SecretProtected).FirstOrDefaultAsync(ct));

    public async Task<OpenAiCredentials?> GetOpenAiAsync(CancellationToken ct)
    {
        var row = await db.ProviderCredentials.AsNoTracking().FirstOrDefaultAsync(r => r.Provider == Providers.OpenAi, ct);
        return secrets.Unprotect(row?.SecretProtected) is { } key ? new OpenAiCredentials(key, row!.PublicValue ?? DefaultOpenAiBaseUrl) : null;
    }

    /// <summary>The tenant's Twilio credentials (also set by operators directly on the tenant).</summary>
    public async Task<TwilioCredentials?> GetTwilioAsync(Guid tenantId, CancellationToken ct)
    {
        var tenant = await db.Tenants.AsNoTracking().Where(t => t.Id == tenantId).Select(t => new { t.TwilioAccountSid, t.TwilioAuthTokenProtected }).FirstOrDefaultAsync(ct);
        return tenant?.TwilioAccountSid is { } sid && secrets.Unprotect(tenant.TwilioAuthTokenProtected) is { } token ? new TwilioCredentials(sid, token) : null;
    }

    /// <summary>Records a live check's outcome, its code with its message (<see cref="CredentialCheckDto.Stored"/>, at most 500 characters).</summary>
    public async Task RecordCheckAsync(string provider, CredentialCheckResult result, CancellationToken ct)
    {
        var row = await db.ProviderCredentials.FirstOrDefaultAsync(r => r.Provider == provider, ct);
        if (row is not null)
        {
            var message = CredentialCheckDto.Stored(result.Code, result.Message);
            row.CheckedAt = clock.GetUtcNow();
            row.CheckOk = result.Ok;
            row.CheckMessage = TolerantJson.Cap(message, 500);
        }
    }

    private async Task UpsertAsync(Guid tenantId, string provider, string? protectedSecret, string preview, string? publicValue, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var row = await db.ProviderCredentials.FirstOrDefaultAsync(r => r.Provider == provider, ct);
        if (row is null)
        {
            row = new ProviderCredential { Id = Guid.CreateVersion7(), TenantId = tenantId, Provider = provider, Preview = preview, CreatedAt = now };
            db.ProviderCredentials.Add(row);
        }
        row.SecretProtected = protectedSecret;
        row.Preview = preview;
        row.PublicValue = publicValue;
        row.UpdatedAt = now;
        row.CheckedAt = null;
        row.CheckOk = null;
        row.CheckMessage = null;
    }
}

/// <summary>Redacts known secrets from provider error text before it is stored or logged.</summary>
internal static class Redaction
{
    public static string? Redact(string? text, params string?[] secrets)
    {
        if (text is null)
        {
            return null;
        }
        foreach (var s in secrets)
        {
            if (!string.IsNullOrEmpty(s) && s.Length >= 4)
            {
                text = text.Replace(s, "[redacted]", StringComparison.Ordinal);
            }
        }
        return text;
    }
}
