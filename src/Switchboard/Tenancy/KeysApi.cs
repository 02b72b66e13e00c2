using System.Security.Cryptography;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Switchboard.Billing;
using Switchboard.Compliance;
using Switchboard.Platform.Database;
using Switchboard.Platform.Http;

namespace Switchboard.Tenancy;

/// <summary>
/// An API key as listed: never the key itself, only its prefix. <c>Kind</c>: <c>secret</c> (<c>sk_live_…</c>) or
/// <c>publishable</c> (<c>pk_live_…</c>). <c>Status</c>: <c>active</c>, <c>expiring</c> (rotated, in its grace period),
/// <c>expired</c> or <c>revoked</c>.
/// </summary>
public sealed record ApiKeyDto(Guid Id, string Name, string Kind, string Prefix, string Status, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt, DateTimeOffset? RevokedAt);

/// <summary>A new key: <c>Key</c> is shown this once (only its SHA-256 is stored).</summary>
public sealed record CreatedApiKey(ApiKeyDto ApiKey, string Key);

/// <summary>Creates a key; <c>Kind</c> defaults to <c>secret</c>.</summary>
public sealed record ApiKeyRequest(string? Name, string? Kind);

/// <summary>
/// Rotates a key: the old one keeps working for <c>GraceHours</c> (0–168, default 24; 0 revokes it now). A key already rotated
/// (in its grace period) is not rotated again: 409 <c>KEY_ALREADY_ROTATED</c>. A key in its grace period counts against the
/// limit of 20 working keys per tenant, so with a grace period a rotation adds a key and is refused at the limit like a
/// creation (409 <c>TOO_MANY_KEYS</c>); with <c>GraceHours</c> 0 it replaces the key and is allowed at the limit.
/// </summary>
public sealed record RotateRequest(int? GraceHours);

/// <summary>The widget's allowed origins: at most 10 <c>https://host[:port]</c> origins or <c>https://*.domain</c> wildcards (Development: also <c>http://localhost[:port]</c>, <c>http://127.0.0.1[:port]</c>). Required in a <c>PUT</c>, never null: <c>[]</c> allows no site.</summary>
public sealed record AllowedOrigins([property: System.Text.Json.Serialization.JsonRequired] List<string> Origins);

/// <summary>Publishable keys (<c>pk_live_</c> + 32 base62 characters) for the widget, checked against allowed origins.</summary>
internal static class PublishableKeys
{
    public const string Prefix = "pk_live_";
    private const string Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    public static (string Plaintext, string Prefix, string Hash) Generate()
    {
        var key = Prefix + RandomNumberGenerator.GetString(Alphabet, 32);
        return (key, key[..(Prefix.Length + 4)], ApiKeys.Hash(key));
    }

    /// <summary>The tenant of an active publishable key, or null.</summary>
    public static async Task<Guid?> ResolveAsync(SwitchboardDbContext db, string key, DateTimeOffset now, CancellationToken ct)
    {
        if (!key.StartsWith(Prefix, StringComparison.Ordinal) || key.Length > 100)
        {
            return null;
        }
        var hash = ApiKeys.Hash(key);
        return await db.ApiKeys.IgnoreQueryFilters().AsNoTracking()
            .Where(k => k.Hash == hash && k.Kind == ApiKeyKinds.Publishable && k.RevokedAt == null && (k.ExpiresAt == null || k.ExpiresAt > now))
            .Select(k => (Guid?)k.TenantId).FirstOrDefaultAsync(ct);
    }
}

/// <summary>
/// <c>/api/v1/keys</c> (create, list, rotate with a grace period, revoke secret and publishable keys) and
/// <c>/api/v1/widget/origins</c>. Secret keys need the plan's <c>api_access</c> feature; publishable keys and origins
/// the <c>widget</c> feature. A tenant has at most 20 working keys (not revoked, not expired; a rotated key in its grace
/// period counts): a creation, or a rotation with a grace period, past that is 409 <c>TOO_MANY_KEYS</c>.
/// </summary>
internal static class KeysApi
{
    private const int MaxActiveKeys = 20;

    public static RouteGroupBuilder MapKeys(this RouteGroupBuilder api)
    {
        var keys = api.MapGroup("/keys").WithTags("API keys");
        keys.MapGet("/", ListAsync).RequirePermission(Permission.Configure).WithSummary("Secret and publishable keys (prefixes only)");
        keys.MapPost("/", CreateAsync).RequirePermission(Permission.Configure).WithSummary("Create a key (shown once)").ProducesErrors(400, 403, 409, 422);
        keys.MapPost("/{id:guid}/rotate", RotateAsync).RequirePermission(Permission.Configure)
            .WithSummary("Replace a key; the old one works for a grace period").ProducesErrors(400, 403, 404, 409, 422);
        keys.MapDelete("/{id:guid}", RevokeAsync).RequirePermission(Permission.Configure).WithSummary("Revoke a key now").ProducesErrors(404);

        var widget = api.MapGroup("/widget").WithTags("Widget");
        widget.MapGet("/origins", GetOriginsAsync).RequirePermission(Permission.Read).WithSummary("The widget's allowed origins");
        widget.MapPut("/origins", PutOriginsAsync).RequirePermission(Permission.Configure).RequireFeature(Features.Widget)
            .WithSummary("Replace the widget's allowed origins (at most 10, https)").ProducesErrors(400, 422);
        return api;
    }

    private static ApiKeyDto ToDto(ApiKey k, DateTimeOffset now) => new(k.Id, k.Name, k.Kind, k.Prefix,
        k.RevokedAt is not null ? "revoked" : k.ExpiresAt is { } e ? (e > now ? "expiring" : "expired") : "active",
        k.CreatedAt, k.ExpiresAt, k.RevokedAt);

    private static async Task<Ok<List<ApiKeyDto>>> ListAsync(SwitchboardDbContext db, TimeProvider clock, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        return TypedResults.Ok((await db.ApiKeys.AsNoTracking().OrderBy(k => k.CreatedAt).ToListAsync(ct)).Select(k => ToDto(k, now)).ToList());
    }

    private static async Task<Results<Created<CreatedApiKey>, JsonHttpResult<ErrorEnvelope>>> CreateAsync(
        ApiKeyRequest body, HttpContext http, SwitchboardDbContext db, TenantAccountCache accounts, AuditLog audit, TimeProvider clock, CancellationToken ct)
    {
        var kind = body.Kind ?? ApiKeyKinds.Secret;
        var v = new Validation().Require("name", body.Name?.Trim(), 200).Name("name", body.Name, 200);
        if (kind is not (ApiKeyKinds.Secret or ApiKeyKinds.Publishable))
        {
            v.Add("kind", "must be secret or publishable");
        }
        if (!v.IsValid)
        {
            return v.Result();
        }
        var caller = Caller.From(http);
        if (await FeatureProblemAsync(accounts, caller.TenantId!.Value, kind, ct) is { } denied)
        {
            return denied;
        }
        // Under the tenant's row lock: two creations at once cannot both pass the limit.
        await using var tx = await TenantRowLock.BeginAsync(db, caller.TenantId.Value, ct);
        var now = clock.GetUtcNow();
        if (await AtLimitAsync(db, now, ct) is { } full)
        {
            return full;
        }
        var (key, created) = Issue(db, caller.TenantId.Value, body.Name!.Trim(), kind, now);
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        await audit.AppendAsync(caller.TenantId, caller.Actor, "keys.created", "key:" + created.Id, new { kind, prefix = created.Prefix }, ct);
        return TypedResults.Created($"/api/v1/keys/{created.Id}", new CreatedApiKey(ToDto(created, now), key));
    }

    private static async Task<Results<Created<CreatedApiKey>, JsonHttpResult<ErrorEnvelope>>> RotateAsync(
        Guid id, RotateRequest? body, HttpContext http, SwitchboardDbContext db, TenantAccountCache accounts, AuditLog audit, TimeProvider clock,
        Dashboard.ILiveEventTransport live, CancellationToken ct)
    {
        var grace = body?.GraceHours ?? 24;
        if (grace is < 0 or > 168)
        {
            return new Validation().Add("graceHours", "must be between 0 and 168").Result();
        }
        var caller = Caller.From(http);
        // Read and changed under the tenant's row lock: of two rotations of one key at once, the second sees the first's
        // grace (409) or revocation (404) instead of issuing a second replacement.
        await using var tx = await TenantRowLock.BeginAsync(db, caller.TenantId!.Value, ct);
        var now = clock.GetUtcNow();
        var old = await db.ApiKeys.FirstOrDefaultAsync(k => k.Id == id && k.RevokedAt == null && (k.ExpiresAt == null || k.ExpiresAt > now), ct);
        if (old is null)
        {
            return ApiError.NotFound("KEY_NOT_FOUND", "No such active key.");
        }
        if (old.ExpiresAt is { } expires)
        {
            // Rotating it again would move its end (a grace renewed at will) and issue a second replacement.
            return ApiError.Conflict("KEY_ALREADY_ROTATED",
                $"This key was already rotated and stops working at {expires:O}: rotate its replacement, or revoke this one now.");
        }
        if (await FeatureProblemAsync(accounts, caller.TenantId.Value, old.Kind, ct) is { } denied)
        {
            return denied;
        }
        // A grace period leaves the old key working beside its replacement: one more working key, so the same limit as a
        // creation. With no grace the replacement takes the old key's place and is allowed at the limit.
        if (grace > 0 && await AtLimitAsync(db, now, ct) is { } full)
        {
            return full;
        }
        if (grace == 0)
        {
            old.RevokedAt = now;
        }
        else
        {
            old.ExpiresAt = now.AddHours(grace);
        }
        var (key, created) = Issue(db, caller.TenantId.Value, old.Name, old.Kind, now);
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        if (grace == 0)
        {
            await live.RevokeAccessAsync(Dashboard.AccessRevocation.ApiKey(old.Id));
        }
        await audit.AppendAsync(caller.TenantId, caller.Actor, "keys.rotated", "key:" + old.Id, new { replacement = created.Id, graceHours = grace }, ct);
        return TypedResults.Created($"/api/v1/keys/{created.Id}", new CreatedApiKey(ToDto(created, now), key));
    }

    private static async Task<Results<NoContent, JsonHttpResult<ErrorEnvelope>>> RevokeAsync(
        Guid id, HttpContext http, SwitchboardDbContext db, AuditLog audit, TimeProvider clock, Dashboard.ILiveEventTransport live, CancellationToken ct)
    {
        // One conditional UPDATE: of two revocations at once (or in sequence) only the one that revoked the key audits it, and
        // the first revocation time stays; revoking a revoked key is a no-op that still answers 204.
        var now = clock.GetUtcNow();
        if (await db.ApiKeys.Where(k => k.Id == id && k.RevokedAt == null).ExecuteUpdateAsync(s => s.SetProperty(k => k.RevokedAt, now), ct) == 0)
        {
            return await db.ApiKeys.AnyAsync(k => k.Id == id, ct) ? TypedResults.NoContent() : ApiError.NotFound("KEY_NOT_FOUND", "No such key.");
        }
        await live.RevokeAccessAsync(Dashboard.AccessRevocation.ApiKey(id)); // its open live-event streams end now, on every node
        var caller = Caller.From(http);
        await audit.AppendAsync(caller.TenantId, caller.Actor, "keys.revoked", "key:" + id, null, ct);
        return TypedResults.NoContent();
    }

    private static async Task<Ok<AllowedOrigins>> GetOriginsAsync(SwitchboardDbContext db, CancellationToken ct) =>
        TypedResults.Ok(new AllowedOrigins(await db.TenantAccounts.AsNoTracking().Select(a => a.AllowedOrigins).FirstOrDefaultAsync(ct) ?? []));

    private static async Task<Results<Ok<AllowedOrigins>, JsonHttpResult<ErrorEnvelope>>> PutOriginsAsync(
        AllowedOrigins body, HttpContext http, SwitchboardDbContext db, Billing.PlanCatalog plans, AuditLog audit, TimeProvider clock,
        Microsoft.Extensions.Options.IOptions<Widget.WidgetOptions> widget, CancellationToken ct)
    {
        var caller = Caller.From(http);
        var v = new Validation();
        var origins = new List<string>();
        if (body.Origins is null)
        {
            // Missing is refused by [JsonRequired] (422 too); null would clear every origin and silently break the widget.
            return v.Add("origins", "is required (an empty list allows no site)").Result();
        }
        var list = body.Origins;
        if (list.Count > 10)
        {
            v.Add("origins", "at most 10 origins");
        }
        for (var i = 0; i < list.Count; i++)
        {
            if (NormalizeOrigin(list[i], widget.Value.AllowLocalHttpOrigins) is { } origin)
            {
                if (!origins.Contains(origin))
                {
                    origins.Add(origin);
                }
            }
            else
            {
                v.Add($"origins[{i}]", widget.Value.AllowLocalHttpOrigins
                    ? "must be an https origin such as https://www.example.com or https://*.example.com, or http://localhost[:port] / http://127.0.0.1[:port] " + OriginParts
                    : "must be an https origin such as https://www.example.com or https://*.example.com " + OriginParts);
            }
        }
        if (!v.IsValid)
        {
            return v.Result();
        }
        var now = clock.GetUtcNow();
        var row = await TenantAccounts.GetOrCreateAsync(db, plans, caller.TenantId!.Value, now, ct);
        row.AllowedOrigins = origins;
        row.UpdatedAt = now;
        await db.SaveChangesAsync(ct);
        await audit.AppendAsync(caller.TenantId, caller.Actor, "widget.origins_updated", null, new { origins }, ct);
        return TypedResults.Ok(new AllowedOrigins(origins));
    }

    /// <summary>What an allowed origin may not hold: an origin is scheme, host and port only (RFC 6454 §6.1).</summary>
    private const string OriginParts = "(scheme, host and port only: no credentials, path, query or fragment)";

    /// <summary>
    /// <c>https://host[:port]</c> or <c>https://*.domain[:port]</c> (any subdomain) in lower case without a default port;
    /// with <paramref name="allowLocalHttp"/> also <c>http://localhost[:port]</c> and <c>http://127.0.0.1[:port]</c>
    /// (Development). Null when not such an origin.
    /// </summary>
    internal static string? NormalizeOrigin(string? value, bool allowLocalHttp = false)
    {
        var trimmed = value?.Trim();
        var wildcard = trimmed is not null && trimmed.StartsWith("https://*.", StringComparison.OrdinalIgnoreCase);
        if (wildcard)
        {
            trimmed = "https://wildcard." + trimmed!["https://*.".Length..];
        }
        var scheme = "https://";
        if (allowLocalHttp && !wildcard && trimmed is not null && trimmed.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
        {
            scheme = "http://";
        }
        if (string.IsNullOrEmpty(trimmed) || trimmed.Length > 253 || trimmed.IndexOfAny(['*', '?', '#', '@', ' ', '\\']) >= 0 || trimmed.Any(char.IsControl)
            || !trimmed.StartsWith(scheme, StringComparison.OrdinalIgnoreCase) || !Uri.TryCreate(trimmed, UriKind.Absolute, out var uri)
            || uri.HostNameType is not (UriHostNameType.Dns or UriHostNameType.IPv4 or UriHostNameType.IPv6))
        {
            return null;
        }
        var slash = trimmed.IndexOf('/', scheme.Length);
        if (slash >= 0 && slash != trimmed.Length - 1)
        {
            return null; // a path
        }
        var host = uri.IdnHost.ToLowerInvariant();
        if (scheme == "http://" && host is not ("localhost" or "127.0.0.1"))
        {
            return null;
        }
        if (wildcard)
        {
            host = "*." + host["wildcard.".Length..];
            if (!host[2..].Contains('.'))
            {
                return null; // https://*.com
            }
        }
        var prefix = scheme == "http://" ? "http" : "https";
        return uri.IsDefaultPort ? $"{prefix}://{host}" : $"{prefix}://{host}:{uri.Port}";
    }

    private static async Task<JsonHttpResult<ErrorEnvelope>?> FeatureProblemAsync(TenantAccountCache accounts, Guid tenantId, string kind, CancellationToken ct)
    {
        var plan = (await accounts.GetAsync(tenantId, ct)).Plan;
        var feature = kind == ApiKeyKinds.Secret ? Features.ApiAccess : Features.Widget;
        return plan.Has(feature) ? null : FeatureGate.NotInPlan(plan, feature, kind == ApiKeyKinds.Secret ? "API access" : "the widget");
    }

    /// <summary>
    /// 409 <c>TOO_MANY_KEYS</c> when the tenant (the current one, through the query filter) already has
    /// <see cref="MaxActiveKeys"/> working keys, counting keys in a rotation's grace period: they authenticate until it ends.
    /// Null when one more key fits. Call it under the tenant's row lock, so two requests at once cannot both pass it. The
    /// message starts "At most N active keys", which the dashboard matches to translate it (web/src/lib/error-text.ts).
    /// </summary>
    private static async Task<JsonHttpResult<ErrorEnvelope>?> AtLimitAsync(SwitchboardDbContext db, DateTimeOffset now, CancellationToken ct) =>
        await db.ApiKeys.CountAsync(k => k.RevokedAt == null && (k.ExpiresAt == null || k.ExpiresAt > now), ct) >= MaxActiveKeys
            ? ApiError.Conflict("TOO_MANY_KEYS",
                $"At most {MaxActiveKeys} active keys, counting rotated keys in their grace period: revoke one first, or rotate with graceHours 0.")
            : null;

    private static (string Key, ApiKey Row) Issue(SwitchboardDbContext db, Guid tenantId, string name, string kind, DateTimeOffset now)
    {
        var (plaintext, prefix, hash) = kind == ApiKeyKinds.Publishable ? PublishableKeys.Generate() : ApiKeys.Generate();
        var row = new ApiKey
        {
            Id = Guid.CreateVersion7(), TenantId = tenantId, Name = name, Prefix = prefix, Hash = hash, Kind = kind, CreatedAt = now,
            PublishableKey = kind == ApiKeyKinds.Publishable ? plaintext : null
        };
        db.ApiKeys.Add(row);
        return (plaintext, row);
    }
}
