using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Threading.RateLimiting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Switchboard.Calls;
using Switchboard.Credentials;
using Switchboard.Platform;
using Switchboard.Platform.Cluster;
using Switchboard.Platform.Database;
using Switchboard.Platform.Http;
using Switchboard.Platform.Observability;
using Switchboard.Tenancy;

namespace Switchboard.Vapi;

/// <summary>
/// <c>POST /webhooks/vapi/{tenantId}</c>: Vapi's server messages (shared/protocols/vapi-server-messages.md).
/// Order of checks: body size (413), authentication (401, also for an unknown tenant id: no tenant oracle), per-tenant rate limit (429),
/// JSON shape (400/422); then the raw message is stored once and applied in one transaction, and only
/// then acknowledged.
/// </summary>
internal static class VapiWebhookApi
{
    public const string CorsPolicy = "vapi-webhook";

    /// <summary>Deepest JSON nesting accepted (deeper bodies are 400 MALFORMED_JSON).</summary>
    internal const int MaxDepth = 128;

    public static IEndpointRouteBuilder MapVapiWebhooks(this IEndpointRouteBuilder app)
    {
        app.MapPost("/webhooks/vapi/{tenantId}", HandleAsync)
            .RequireCors(CorsPolicy)
            .WithTags("Webhooks")
            .WithSummary("Vapi server messages")
            .WithDescription("Receives every Vapi server message type. Request/response types (assistant-request, tool-calls, function-call, " +
                             "transfer-destination-request, knowledge-base-request…) are answered inline; others are acknowledged with {\"ok\":true}.")
            .Accepts<JsonElement>("application/json")
            .Produces<JsonElement>(StatusCodes.Status200OK)
            .Produces<ErrorEnvelope>(StatusCodes.Status400BadRequest)
            .Produces<ErrorEnvelope>(StatusCodes.Status401Unauthorized)
            .Produces<ErrorEnvelope>(StatusCodes.Status413PayloadTooLarge)
            .Produces<ErrorEnvelope>(StatusCodes.Status422UnprocessableEntity)
            .Produces<ErrorEnvelope>(StatusCodes.Status429TooManyRequests);
        return app;
    }

    /// <summary>The credentials an unknown tenant id is checked against: a fresh random secret nobody holds, default headers.</summary>
    private static VapiTenantAuth UnknownTenant() =>
        new(Guid.Empty, Convert.ToHexString(RandomNumberGenerator.GetBytes(32)), "x-vapi-signature", null);

    private static async Task<IResult> HandleAsync(
        string tenantId,
        HttpContext http,
        VapiTenantCache tenants,
        VapiRateLimiter rateLimiter,
        IOptions<VapiOptions> options,
        CurrentTenant currentTenant,
        IServiceProvider services,
        TimeProvider clock,
        CancellationToken ct)
    {
        // An unknown tenant id is checked against a stand-in with a random secret and the default headers, so it answers exactly
        // what a known tenant answers to a wrong signature (413, then 401 MISSING_SIGNATURE / INVALID_SIGNATURE): the path is no
        // oracle for which tenant ids exist (probe E, F5).
        var known = Guid.TryParse(tenantId, out var id) ? await tenants.GetAsync(id, ct) : null;
        var tenant = known ?? UnknownTenant();
        var warmUp = WarmUpTenant.Is(id);
        if (warmUp)
        {
            SwitchboardMetrics.Muted.Value = true; // the start-up warm-up's live calls (this request and what it runs) are not counted
        }

        var max = options.Value.MaxBodyBytes;
        if (http.Request.ContentLength > max)
        {
            return ApiError.TooLarge($"The body exceeds {max} bytes.");
        }
        var body = await ReadBodyAsync(http.Request, max, ct);
        if (body is null)
        {
            return ApiError.TooLarge($"The body exceeds {max} bytes.");
        }

        var auth = VapiSignatureVerifier.Verify(
            name => http.Request.Headers.TryGetValue(name, out var v) ? v.ToString() : null,
            body, tenant.Secret, tenant.SignatureHeader, tenant.TimestampHeader, clock.GetUtcNow(),
            TimeSpan.FromSeconds(options.Value.ReplayWindowSeconds));
        if (auth is VapiAuthResult.Missing or VapiAuthResult.Stale or VapiAuthResult.Invalid)
        {
            services.GetRequiredService<SwitchboardMetrics>().SignatureRejected("vapi", auth.ToString().ToLowerInvariant());
        }
        switch (auth)
        {
            case VapiAuthResult.Missing:
                return ApiError.Unauthorized("MISSING_SIGNATURE", $"Missing {tenant.SignatureHeader} header");
            case VapiAuthResult.Stale:
                return ApiError.Unauthorized("INVALID_SIGNATURE", "Signature timestamp is outside the replay window");
            case VapiAuthResult.Invalid:
                return ApiError.Unauthorized("INVALID_SIGNATURE", "Invalid signature");
        }
        if (known is null)
        {
            return ApiError.Unauthorized("INVALID_SIGNATURE", "Invalid signature");
        }

        JsonDocument document;
        byte[]? sanitized;
        List<string> unusable;
        try
        {
            document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = MaxDepth });
            // Strings that cannot be text (lone surrogates, invalid UTF-8, U+0000) are replaced with U+FFFD once, here,
            // so every reader below sees usable text; the paths changed are recorded on the event.
            sanitized = TolerantJson.Sanitize(body, MaxDepth, out unusable);
            if (sanitized is not null)
            {
                document.Dispose();
                document = JsonDocument.Parse(sanitized, new JsonDocumentOptions { MaxDepth = MaxDepth });
            }
        }
        catch (JsonException)
        {
            return ApiError.BadRequest("MALFORMED_JSON", "The body is not valid JSON.");
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("message", out var message) || message.ValueKind != JsonValueKind.Object
                || !message.TryGetProperty("type", out var typeElement) || typeElement.ValueKind != JsonValueKind.String
                || typeElement.GetString() is not { Length: > 0 } type)
            {
                return ApiError.Unprocessable("INVALID_PAYLOAD", "Expected {\"message\":{\"type\":\"…\",…}}.");
            }

            // The warm-up's live calls (signed with a secret only this process holds) send several hundred messages a minute for
            // their one tenant, past the per-tenant limit; the limiter itself is warmed by its other requests. Messages a call
            // cannot do without (VapiRateLimiter.Unthrottled) are neither counted nor refused.
            if (!warmUp && !VapiRateLimiter.Unthrottled.Contains(type)
                && await rateLimiter.AcquireAsync(id, http.RequestAborted) is { Acquired: false } decision)
            {
                http.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(decision.RetryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
                return ApiError.Create(429, "RATE_LIMITED", $"More than {decision.Limit} messages per minute for this tenant.", new { limit = decision.Limit });
            }

            currentTenant.Set(id);
            // Plan limit on concurrent calls: a new call is refused (Vapi speaks the error and hangs up) before anything is stored.
            if (type == "assistant-request"
                && await services.GetRequiredService<Billing.CallConcurrencyGate>().CanStartAsync(id, ct) is { Allowed: false } gate)
            {
                // Vapi speaks it to the caller: in the business's language (French first for a French-speaking one, which
                // callers may also reach in English), without telling how many lines the business has.
                var locale = await services.GetRequiredService<SwitchboardDbContext>().Tenants.AsNoTracking()
                    .Where(t => t.Id == id).Select(t => t.Locale).FirstOrDefaultAsync(ct);
                return TypedResults.Json(new System.Text.Json.Nodes.JsonObject { ["error"] = LinesBusy(locale) });
            }
            // The event stores the body as received, or its sanitized form when some text was unusable (PostgreSQL text
            // cannot hold invalid UTF-8 or U+0000); the idempotency key is always that of the bytes received.
            var raw = VapiEventProcessor.Utf8(sanitized ?? body);
            var key = VapiEventProcessor.KeyOf(body);
            unusable.AddRange(VapiFieldRules.UnusableFields(message));
            if (unusable.Count > 0)
            {
                services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(VapiWebhookApi)).LogWarning(
                    "Vapi message {VapiType} for tenant {TenantId}: {Count} unusable fields, left unset: {Fields}",
                    TolerantJson.Cap(type, 100), tenant.Id, unusable.Count, string.Join(", ", unusable.Take(10)));
            }
            System.Text.Json.Nodes.JsonNode reply;
            try
            {
                reply = await ProcessWithRetryAsync(services, tenant.Id, message, type, raw, key, unusable, ct);
            }
            catch (Exception e) when (e is DbUpdateException or System.Data.Common.DbException or InvalidOperationException && !ct.IsCancellationRequested)
            {
                // A tenant erased through another node is still known here until this node's caches expire (credentials 30 s,
                // configuration 5 s): its message fails on the missing tenant row (a foreign key, a configuration read). It is
                // answered as any unknown tenant's message is, and this node forgets the tenant at once.
                if (await TenantExistsAsync(services, id, ct))
                {
                    throw;
                }
                services.GetRequiredService<Compliance.TenantCaches>().Invalidate(id);
                return ApiError.Unauthorized("INVALID_SIGNATURE", "Invalid signature");
            }
            return TypedResults.Json(reply);
        }
    }

    /// <summary>Whether the tenant's row still exists, read through a context of its own (the request's may hold a failed unit of work).</summary>
    private static async Task<bool> TenantExistsAsync(IServiceProvider services, Guid tenantId, CancellationToken ct)
    {
        await using var scope = services.GetRequiredService<IServiceScopeFactory>().CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>().Tenants.IgnoreQueryFilters().AsNoTracking()
            .AnyAsync(t => t.Id == tenantId, ct);
    }

    /// <summary>
    /// Stores a record-only message in one statement when that is all the full path would do (<see cref="VapiRecordOnly"/>), else
    /// runs the processor and saves its unit of work atomically (PostgreSQL: the reads on one connection, the save in one round
    /// trip, <see cref="SwitchboardDbContext.SaveInOneRoundTripAsync"/>); a unique-key race with a concurrent delivery of the same call or
    /// message (two nodes, or Vapi retrying) is retried on fresh state, where it becomes an update or a duplicate, and so is
    /// a transaction PostgreSQL aborted to break a deadlock (<see cref="Replayable"/>; up to <see cref="MaxAttempts"/> attempts).
    /// On SQLite the first attempt is prepared outside the single writer and written inside it if the calls it read are
    /// unchanged (<see cref="Call.Version"/>), else redone inside it: the same outcome as running it all inside the writer,
    /// with the reads and decisions of many messages running in parallel.
    /// </summary>
    private static async Task<System.Text.Json.Nodes.JsonNode> ProcessWithRetryAsync(
        IServiceProvider services, Guid tenantId, JsonElement message, string type, string raw, string key, IReadOnlyList<string> unusable, CancellationToken ct)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        // One message of a call at a time on this node, in arrival order (see CallOrder).
        using var callTurn = VapiEventProcessor.ProviderCallIdOf(message) is { } providerCallId
            ? await services.GetRequiredKeyedService<KeyedAsyncLock>(CallOrder).AcquireAsync(CallOrderKey(tenantId, providerCallId), ct)
            : default;
        var ordered = System.Diagnostics.Stopwatch.GetTimestamp();
        var db = services.GetRequiredService<SwitchboardDbContext>();
        var configs = services.GetRequiredService<TenantConfigCache>();
        // A failure replays the whole unit of work below, so EF's savepoint around SaveChanges (two more statements) buys nothing.
        db.Database.AutoSavepointsEnabled = false;
        var sqlite = db.IsSqlite;
        // PostgreSQL: a fire-and-forget message waits for one of a bounded number of slots; a request/response one goes ahead.
        using var slot = sqlite || RequestResponseTypes.Contains(type) ? null : await services.GetRequiredService<FireAndForgetSlots>().EnterAsync(ct);
        var groupCommit = sqlite ? services.GetRequiredService<SqliteGroupCommit>() : null;
        // A message that only records its event, for a call that needs nothing else from it: one INSERT … SELECT, no change
        // tracking; when it writes nothing (no such call yet, a field to fill, a touch due, a duplicate) the full path decides.
        if (VapiRecordOnly.Applies(message, type)
            && await VapiRecordOnly.TryRecordAsync(db, groupCommit, tenantId, message, type, raw, key, unusable, services.GetRequiredService<TimeProvider>().GetUtcNow(), ct))
        {
            Timed();
            return new System.Text.Json.Nodes.JsonObject { ["ok"] = true };
        }
        // Resolved only here: the processor's scoped graph (post-call pipeline, tools, webhooks, knowledge search, transfers)
        // is a few dozen objects per message that a record-only message never uses.
        var processor = services.GetRequiredService<VapiEventProcessor>();
        for (var attempt = 1; ; attempt++)
        {
            db.ResetUnitOfWork();
            try
            {
                if (groupCommit is not null && attempt == 1)
                {
                    // SQLite: one writer, one fsync per COMMIT; units of work queued together share a transaction. The message
                    // is prepared here, in parallel with other requests (reads on this context's own connection, changes
                    // tracked); only its writes wait for the writer.
                    System.Text.Json.Nodes.JsonNode prepared;
                    await db.Database.OpenConnectionAsync(ct); // one pooled reader connection for all the reads, not one per query
                    try
                    {
                        var config = await configs.GetAsync(db, tenantId, ct);
                        prepared = await processor.ProcessAsync(config, message, type, raw, key, unusable, ct);
                    }
                    finally
                    {
                        await db.Database.CloseConnectionAsync();
                    }
                    var read = db.CallVersionsRead();
                    var written = await groupCommit.RunAsync(db, PriorityOf(type), async () =>
                    {
                        if (await db.CallVersionsUnchangedAsync(read))
                        {
                            await db.SaveChangesAsync(acceptAllChangesOnSuccess: false, ct); // see UnitOfWorkAsync
                            return prepared;
                        }
                        // The call changed since it was read (another message of it was written first): redo the message
                        // on what is stored now, inside the writer.
                        db.ResetUnitOfWork();
                        return await UnitOfWorkAsync(db, configs, processor, tenantId, message, type, raw, key, unusable, ct);
                    }, ct);
                    Timed();
                    return written;
                }
                if (groupCommit is not null)
                {
                    // A retry (a unique-key race: a call or message inserted by a unit not yet visible when this one was
                    // prepared) is prepared and written inside the writer, where every earlier write is visible.
                    return await groupCommit.RunAsync(db, PriorityOf(type), () => UnitOfWorkAsync(db, configs, processor, tenantId, message, type, raw, key, unusable, ct), ct);
                }
                // PostgreSQL: the reads on one connection, each its own statement (READ COMMITTED: a transaction around them would
                // give each the same fresh snapshot and take no lock), then the save in one round trip (SaveInOneRoundTripAsync).
                var strategy = db.Database.CreateExecutionStrategy();
                var saved = await strategy.ExecuteAsync(async () =>
                {
                    await db.Database.OpenConnectionAsync(ct);
                    try
                    {
                        var config = await configs.GetAsync(db, tenantId, ct);
                        var reply = await processor.ProcessAsync(config, message, type, raw, key, unusable, ct);
                        await db.SaveInOneRoundTripAsync(acceptAllChangesOnSuccess: false, ct); // see UnitOfWorkAsync
                        return reply;
                    }
                    finally
                    {
                        await db.Database.CloseConnectionAsync();
                    }
                });
                if (attempt == 1)
                {
                    Timed();
                }
                return saved;
            }
            catch (Exception e) when (attempt < MaxAttempts && Replayable(e))
            {
                await Task.Delay(attempt * 10 + Random.Shared.Next(10), ct); // jittered: the units that collided do not collide again
            }
        }

        // Where the message's time went (switchboard.vapi.message.phase.duration): its first attempt only (a replay's phases
        // would count the pause and the earlier attempt as preparing). PostgreSQL has no writer to wait for: call order, then the rest.
        void Timed() => services.GetRequiredService<SwitchboardMetrics>().VapiMessagePhases(
            RequestResponseTypes.Contains(type), started, ordered, sqlite ? db.LastUnitTimes : default, System.Diagnostics.Stopwatch.GetTimestamp());
    }

    /// <summary>
    /// Service key of the <see cref="KeyedAsyncLock"/> that applies the messages of one call (tenant and Vapi call id) one at a
    /// time on a node, from before the record-only attempt until the answer. Two messages of a call prepared side by side
    /// collide: both create the call (a unique-key race, replayed after a pause) or both change it (the second redone inside
    /// SQLite's writer, holding it for the whole message). Under overload a call's messages overlap more (Vapi does not wait
    /// for fire-and-forget answers), the replays and redos slow the writer further, and the node did not recover: bench ingest
    /// from a cold start at 300 msg/s fell to 260–280 msg/s with p99 rising to 7–11 s. Waiting for the call's previous message
    /// instead costs only that call's messages, only when they overlap.
    /// </summary>
    internal const string CallOrder = "vapi-call-order";

    /// <summary>The <see cref="CallOrder"/> key of a call: the tenant and Vapi's call id (canonical form).</summary>
    internal static string CallOrderKey(Guid tenantId, string providerCallId) => $"{tenantId:N}/{providerCallId}";

    /// <summary>Attempts of one delivery's unit of work before its error reaches the caller (a 409, or a 500 for anything else).</summary>
    internal const int MaxAttempts = 6;

    /// <summary>
    /// True for a failure the unit of work is replayed after: a unique-key race with a concurrent delivery of the same call or
    /// message (<see cref="DbUpdateException"/>), or a transaction PostgreSQL chose to abort to break a deadlock (40P01) or a
    /// serialization failure (40001), which it asks the client to retry (postgresql.org/docs/current/mvcc-serialization-failure-handling.html).
    /// EF's execution strategy hands the latter over wrapped in an <see cref="InvalidOperationException"/>. Under a burst of
    /// one call's messages (issue 13's PostgreSQL bench) those deadlocks were answered 500, and Vapi does not resend
    /// fire-and-forget messages.
    /// </summary>
    internal static bool Replayable(Exception e)
    {
        if (e is DbUpdateException)
        {
            return true;
        }
        for (var inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is Npgsql.PostgresException { SqlState: Npgsql.PostgresErrorCodes.DeadlockDetected or Npgsql.PostgresErrorCodes.SerializationFailure })
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// One delivery's unit of work: the tenant and its default assistant from a short-lived cache (read in the unit of
    /// work on a miss: one pooled-connection checkout per request, as Npgsql resets the connection at each checkout),
    /// the processor, one <c>SaveChanges</c> (which leaves the tracked entities in their saved-from state). The caller owns the
    /// transaction (SQLite: the group commit's).
    /// </summary>
    private static async Task<System.Text.Json.Nodes.JsonNode> UnitOfWorkAsync(SwitchboardDbContext db, TenantConfigCache configs, VapiEventProcessor processor,
        Guid tenantId, JsonElement message, string type, string raw, string key, IReadOnlyList<string> unusable, CancellationToken ct)
    {
        var config = await configs.GetAsync(db, tenantId, ct);
        var reply = await processor.ProcessAsync(config, message, type, raw, key, unusable, ct);
        // The unit's tracked entities are not accepted as saved (EF's AcceptAllChanges copies every saved entity's values
        // into its original snapshot: ~2 % of the server's CPU in the ingest bench's closed loop): nothing reads or saves them
        // again. The unit ends here; a replay starts with ResetUnitOfWork, and the pooled context is reset when its scope ends.
        await db.SaveChangesAsync(acceptAllChangesOnSuccess: false, ct);
        return reply;
    }

    /// <summary>What a caller hears when every line of the plan is in use: French then English for a French locale.</summary>
    internal static string LinesBusy(string? locale) =>
        locale?.StartsWith("fr", StringComparison.OrdinalIgnoreCase) == true
            ? "Toutes nos lignes sont occupées en ce moment. Merci de rappeler dans quelques minutes. All our lines are busy right now. Please call back in a few minutes."
            : "All our lines are busy right now. Please call back in a few minutes.";

    /// <summary>
    /// Vapi's request/response messages (shared/protocols/vapi-server-messages.md §3: the call waits on the answer;
    /// <c>assistant-request</c> within 7.5 s, tool calls within the tool's timeout), which take the SQLite writer ahead
    /// of fire-and-forget ones (issue 13).
    /// </summary>
    internal static readonly IReadOnlySet<string> RequestResponseTypes = new HashSet<string>(StringComparer.Ordinal)
    {
        "assistant-request", "tool-calls", "function-call", "transfer-destination-request", "handoff-destination-request",
        "knowledge-base-request", "call.endpointing.request", "campaign.predial",
    };

    /// <summary>The writer-gate priority of a message type: request/response ahead of fire-and-forget.</summary>
    internal static WritePriority PriorityOf(string type) => RequestResponseTypes.Contains(type) ? WritePriority.High : WritePriority.Normal;

    /// <summary>
    /// Reads the whole body into an array; null when it exceeds <paramref name="max"/> bytes. With a <c>Content-Length</c> (how
    /// Vapi sends), straight into an array of that length, the only copy (Kestrel ends the body there, and fails a request
    /// whose body stops short); a chunked body grows a buffer and is copied out once.
    /// </summary>
    private static async Task<byte[]?> ReadBodyAsync(HttpRequest request, int max, CancellationToken ct)
    {
        if (request.ContentLength is { } length && length <= max)
        {
            var body = new byte[length];
            var filled = 0;
            while (filled < body.Length)
            {
                var read = await request.Body.ReadAsync(body.AsMemory(filled), ct);
                if (read == 0)
                {
                    return body.AsSpan(0, filled).ToArray();
                }
                filled += read;
            }
            return body;
        }
        var buffer = new ArrayBufferWriter<byte>(16 * 1024);
        while (true)
        {
            var read = await request.Body.ReadAsync(buffer.GetMemory(), ct);
            if (read == 0)
            {
                return buffer.WrittenSpan.ToArray();
            }
            buffer.Advance(read);
            if (buffer.WrittenCount > max)
            {
                return null;
            }
        }
    }
}

/// <summary>The webhook view of a tenant: its decrypted secret and header settings.</summary>
internal sealed record VapiTenantAuth(Guid Id, string Secret, string SignatureHeader, string? TimestampHeader);

/// <summary>
/// Caches each tenant's webhook credentials for 30 s so the hot path does one query per tenant per 30 s,
/// not per request. Unknown tenants are cached briefly too, so a flood of bad ids costs little.
/// </summary>
internal sealed class VapiTenantCache(IMemoryCache cache, IServiceScopeFactory scopes, SecretProtector secrets)
{
    public async Task<VapiTenantAuth?> GetAsync(Guid tenantId, CancellationToken ct)
    {
        if (cache.TryGetValue(("vapi-auth", tenantId), out VapiTenantAuth? hit))
        {
            return hit;
        }
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>();
        var row = await db.Tenants.AsNoTracking().Where(t => t.Id == tenantId)
            .Select(t => new { t.Id, t.VapiWebhookSecretProtected, t.VapiSignatureHeader, t.VapiTimestampHeader })
            .FirstOrDefaultAsync(ct);
        var secret = row is null ? null : secrets.Unprotect(row.VapiWebhookSecretProtected);
        var auth = row is null || secret is null ? null : new VapiTenantAuth(row.Id, secret, row.VapiSignatureHeader, row.VapiTimestampHeader);
        cache.Set(("vapi-auth", tenantId), auth, auth is null ? TimeSpan.FromSeconds(5) : TimeSpan.FromSeconds(30));
        return auth;
    }

    /// <summary>Loads the credentials of up to <paramref name="max"/> tenants in one query (start-up warm-up); returns how many.</summary>
    public async Task<int> WarmAsync(int max, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>();
        var rows = await db.Tenants.AsNoTracking().OrderBy(t => t.Id).Take(max)
            .Select(t => new { t.Id, t.VapiWebhookSecretProtected, t.VapiSignatureHeader, t.VapiTimestampHeader })
            .ToListAsync(ct);
        foreach (var row in rows)
        {
            if (secrets.Unprotect(row.VapiWebhookSecretProtected) is { } secret)
            {
                cache.Set(("vapi-auth", row.Id), new VapiTenantAuth(row.Id, secret, row.VapiSignatureHeader, row.VapiTimestampHeader), TimeSpan.FromSeconds(30));
            }
        }
        return rows.Count;
    }

    /// <summary>
    /// Holds credentials for <paramref name="ttl"/> for a tenant that exists only in memory: the start-up warm-up's
    /// throwaway tenant (<see cref="VapiWarmup"/>), whose deliveries are refused before the database is reached.
    /// </summary>
    internal void Remember(VapiTenantAuth auth, TimeSpan ttl) => cache.Set(("vapi-auth", auth.Id), auth, ttl);

    /// <summary>Drops a tenant's cached credentials (after a secret rotation).</summary>
    public void Invalidate(Guid tenantId) => cache.Remove(("vapi-auth", tenantId));
}

/// <summary>
/// Per-tenant fixed-window limit on authenticated webhook messages, cluster-wide on PostgreSQL and in memory on SQLite
/// (<see cref="ClusterRateLimiter"/>), counted after authentication so forged requests cannot use up a tenant's budget. The
/// window is sized by the plan, like the API's (DESIGN.md, Security): <see cref="VapiOptions.RateLimitPerLinePerMinute"/> per
/// concurrent line of the tenant's plan, at least <see cref="VapiOptions.RateLimitPerMinute"/>. A Vapi call with the default
/// server messages sends speech-updates, transcripts and conversation-updates several times a turn (about six messages a
/// turn: two calls of a minute passed the flat 100 a minute, and their end-of-call reports, with the emergency in them, were
/// refused). Only those chatty messages count: <see cref="Unthrottled"/> ones are never refused.
/// </summary>
internal sealed class VapiRateLimiter(ClusterRateLimiter cluster, Tenancy.TenantAccountCache accounts, IOptions<VapiOptions> options)
{
    /// <summary>
    /// Messages a call cannot do without, neither counted nor refused: the request/response ones (the call waits on the answer:
    /// <see cref="VapiWebhookApi.RequestResponseTypes"/>), the status updates and the end-of-call report (the call's outcome,
    /// its lead and its alerts; Vapi does not retry a refused one unless the assistant sets a backoff plan).
    /// </summary>
    public static readonly IReadOnlySet<string> Unthrottled =
        new HashSet<string>([.. VapiWebhookApi.RequestResponseTypes, "status-update", "end-of-call-report"], StringComparer.Ordinal);

    /// <summary>Takes one message of <paramref name="tenantId"/>'s window; the decision carries the window's size.</summary>
    public async ValueTask<VapiRateDecision> AcquireAsync(Guid tenantId, CancellationToken ct)
    {
        var o = options.Value;
        var lines = (await accounts.GetAsync(tenantId, ct)).Plan.ConcurrentCalls;
        var limit = (int)Math.Clamp((long)lines * o.RateLimitPerLinePerMinute, o.RateLimitPerMinute, 10_000_000);
        var decision = await cluster.TryAcquireAsync($"vapi:{tenantId:N}|{limit}", limit, ct);
        return new(decision.Acquired, decision.RetryAfter, limit);
    }
}

/// <summary>A <see cref="VapiRateLimiter"/> decision: admitted, else the wait before the window reopens; the window's size per minute.</summary>
internal readonly record struct VapiRateDecision(bool Acquired, TimeSpan RetryAfter, int Limit);

/// <summary>
/// PostgreSQL's admission of fire-and-forget Vapi messages (issue 13: request/response messages answered ahead of them under
/// load): at most <see cref="VapiOptions.PostgresFireAndForgetConcurrency"/> of them run their unit of work at once on this
/// node, the rest wait, oldest first (System.Threading.RateLimiting's <see cref="ConcurrencyLimiter"/>); request/response
/// messages do not take a slot. Without it every message queued for the same connections and the same database CPU, and an
/// <c>assistant-request</c> or a tool call waited behind dozens of transcripts. Bench ingest, PostgreSQL at 500 msg/s on a 2-core host (70 – 95 % of its capacity), three pairs:
/// request/response p99 310 / 510 / 654 ms with 16 slots against 2,503 / 864 / 1,477 ms without, fire-and-forget 412 / 604 /
/// 986 against 3,198 / 1,074 / 1,997 ms, the closed-loop maximum unchanged (bench/results/stop43-2026-12-04.md).
/// </summary>
internal sealed class FireAndForgetSlots(IOptions<VapiOptions> options, Platform.Database.DatabaseExtensions.EffectiveConnection connection) : IDisposable
{
    private readonly ConcurrencyLimiter? limiter = (options.Value.PostgresFireAndForgetConcurrency ?? DefaultSlots(connection)) is > 0 and var n
        ? new ConcurrencyLimiter(new ConcurrencyLimiterOptions { PermitLimit = n, QueueLimit = int.MaxValue, QueueProcessingOrder = QueueProcessingOrder.OldestFirst })
        : null;

    /// <summary>
    /// Slots when <see cref="VapiOptions.PostgresFireAndForgetConcurrency"/> is not set: the webhook path's pool (<c>Maximum
    /// Pool Size</c> of <see cref="Platform.Database.DatabaseExtensions.EffectiveConnection.Value"/>) less two, 1 – 16. With
    /// more slots than connections, fire-and-forget messages holding a slot took every connection, and a request/response
    /// message skipped the slots only to queue in Npgsql's pool behind them; two connections kept free let it through. 16
    /// is the figure stop 43 measured with Npgsql's pool of 100. On SQLite the slots are not used (16).
    /// </summary>
    internal static int DefaultSlots(Platform.Database.DatabaseExtensions.EffectiveConnection connection) =>
        connection.IsPostgres ? Math.Clamp(new Npgsql.NpgsqlConnectionStringBuilder(connection.Value).MaxPoolSize - 2, 1, 16) : 16;

    /// <summary>Messages waiting for a slot now.</summary>
    public long Waiting => limiter?.GetStatistics()?.CurrentQueuedCount ?? 0;

    /// <summary>
    /// Waits for a slot; dispose the lease to give it back (null when unlimited: nothing to give back). Throws
    /// <see cref="OperationCanceledException"/> on <paramref name="ct"/>.
    /// </summary>
    public async ValueTask<RateLimitLease?> EnterAsync(CancellationToken ct) => limiter is null ? null : await limiter.AcquireAsync(1, ct);

    /// <inheritdoc />
    public void Dispose() => limiter?.Dispose();
}
