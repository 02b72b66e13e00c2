using System.Collections.Concurrent;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Switchboard.Billing;
using Switchboard.Brain;
using Switchboard.Calls;
using Switchboard.Platform.Database;
using Switchboard.Platform.Http;
using Switchboard.Platform.Phones;
using Switchboard.Tenancy;

namespace Switchboard.Widget;

/// <summary>The widget's configuration: branding, languages and whether the business is open now.</summary>
public sealed record WidgetConfigDto(string TenantName, string? Title, string? Greeting, string? AccentColor, string Position, string? AvatarUrl,
    string DefaultLanguage, IReadOnlyList<string> Languages, bool Open, IReadOnlyList<string> Modes);

/// <summary>
/// Starts a conversation. <c>VisitorId</c>: the tab's random id (8–64 of <c>[A-Za-z0-9_-]</c>); <c>Language</c>: two
/// letters; <c>PageUrl</c>/<c>Referrer</c>: the page's, for attribution (UTM, gclid, fbclid are read from <c>PageUrl</c>);
/// <c>Name</c>/<c>Phone</c>: what the host page passed to <c>Switchboard.identify</c>, if anything.
/// </summary>
public sealed record StartConversationRequest(string? VisitorId, string? Language, string? PageUrl, string? Referrer, string? Name = null, string? Phone = null);

/// <summary>A started conversation: its id and the bearer token for its messages.</summary>
public sealed record ConversationStarted(Guid Id, string Token, DateTimeOffset ExpiresAt);

/// <summary>A visitor message: at most <c>Switchboard:Widget:MaxMessageChars</c> characters.</summary>
public sealed record ChatMessageRequest(string? Text);

/// <summary>One message of a conversation as the widget shows it (<c>Role</c>: <c>user</c> or <c>assistant</c>).</summary>
public sealed record WidgetMessageDto(string Role, string Text, DateTimeOffset? At);

/// <summary>A conversation resumed after a page navigation.</summary>
public sealed record ConversationDto(Guid Id, bool Closed, IReadOnlyList<WidgetMessageDto> Messages);

/// <summary>
/// The public widget endpoints (<c>/widget/v1</c>, behind <see cref="WidgetAccessMiddleware"/>): <c>GET /config</c>,
/// <c>POST /conversations</c>, <c>GET /conversations/{id}</c> (resume) and <c>POST /conversations/{id}/messages</c>,
/// whose answer is a <c>text/event-stream</c> (events <c>delta</c>, <c>tool</c>, <c>lead</c>, <c>done</c>, <c>error</c>).
/// Bodies are read by hand (at most 16 KB) so oversize or malformed input is an envelope that changes nothing.
/// </summary>
internal static class WidgetApi
{
    private const int MaxBodyBytes = 16 * 1024;
    private static readonly ConcurrentDictionary<Guid, byte> Busy = new();
    private static readonly string[] Languages = ["en", "fr", "es", "de", "ar", "he"];

    public static IEndpointRouteBuilder MapWidget(this IEndpointRouteBuilder app)
    {
        var widget = app.MapGroup(WidgetAccessMiddleware.PathPrefix).WithTags("Widget (public)");
        widget.MapGet("/config", ConfigAsync).WithSummary("The widget's branding and languages for a publishable key (?key=pk_live_…)").ProducesErrors(401, 403, 429);
        widget.MapPost("/conversations", StartAsync).WithSummary("Start a web chat (Origin must be allowed)").ProducesErrors(400, 401, 403, 413, 415, 429);
        widget.MapGet("/conversations/{id:guid}", ResumeAsync).WithSummary("Resume a web chat (Authorization: Bearer <token>)").ProducesErrors(401, 403, 404);
        widget.MapPost("/conversations/{id:guid}/messages", MessageAsync)
            .WithSummary("Send a visitor message; the answer streams as text/event-stream").ProducesErrors(400, 401, 403, 404, 409, 413, 415, 429);
        return app;
    }

    private static async Task<Ok<WidgetConfigDto>> ConfigAsync(HttpContext http, SwitchboardDbContext db, TenantAccountCache accounts, TimeProvider clock, CancellationToken ct)
    {
        var caller = WidgetCaller.From(http);
        var tenant = await db.Tenants.AsNoTracking().FirstAsync(t => t.Id == caller.TenantId, ct);
        var settings = await db.WidgetSettings.AsNoTracking().FirstOrDefaultAsync(ct);
        var plan = (await accounts.GetAsync(caller.TenantId, ct)).Plan;
        var branded = plan.Has(Features.CustomBranding);
        return TypedResults.Ok(new WidgetConfigDto(
            tenant.Name, settings?.Title, settings?.Greeting, branded ? settings?.AccentColor : null, settings?.Position ?? "end",
            branded ? settings?.AvatarUrl : null, tenant.Locale[..2].ToLowerInvariant(), Languages,
            BusinessHoursCalculator.IsOpen(tenant.BusinessHours, tenant.TimeZone, clock.GetUtcNow()), plan.Has(Features.WidgetVoice) ? ["chat", "voice"] : ["chat"]));
    }

    private static async Task<Results<Created<ConversationStarted>, JsonHttpResult<ErrorEnvelope>>> StartAsync(
        HttpContext http, SwitchboardDbContext db, WidgetTokens tokens, ApiRateLimiter limiter, IOptions<WidgetOptions> options,
        Webhooks.WebhookEventPublisher webhooks, SqliteWriteGate writes, TimeProvider clock, CancellationToken ct)
    {
        var (conversation, problem) = await CreateConversationAsync(http, db, limiter, options.Value, webhooks, writes, clock, voice: false, ct);
        if (problem is not null)
        {
            return problem;
        }
        var id = conversation!.Id;
        return TypedResults.Created($"{WidgetAccessMiddleware.PathPrefix}/conversations/{id}",
            new ConversationStarted(id, tokens.Issue(conversation.TenantId, id), conversation.CreatedAt + WidgetTokens.Lifetime));
    }

    /// <summary>
    /// Validates a <see cref="StartConversationRequest"/> body, applies the per-visitor rate limit, and stores a conversation
    /// and its call (channel <c>web</c>, provider <c>widget</c>). A chat (<c>type webChat</c>) is in progress at once
    /// (<c>call.started</c> now); a voice conversation (<c>type webVoice</c>) is <c>queued</c> until its media socket starts.
    /// </summary>
    internal static async Task<(WebConversation? Conversation, JsonHttpResult<ErrorEnvelope>? Problem)> CreateConversationAsync(
        HttpContext http, SwitchboardDbContext db, ApiRateLimiter limiter, WidgetOptions options,
        Webhooks.WebhookEventPublisher webhooks, SqliteWriteGate writes, TimeProvider clock, bool voice, CancellationToken ct)
    {
        var (body, problem) = await ReadAsync<StartConversationRequest>(http, ct);
        if (problem is not null)
        {
            return (null, problem);
        }
        var v = new Validation();
        var visitor = body!.VisitorId?.Trim();
        if (visitor is null || visitor.Length is < 8 or > 64 || !visitor.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
        {
            v.Add("visitorId", "8 to 64 letters, digits, - or _");
        }
        var language = (body.Language ?? "en").Trim().ToLowerInvariant();
        if (!Brain.ReceptionistLanguage.All.ContainsKey(language))
        {
            v.Add("language", "one of " + string.Join(", ", Brain.ReceptionistLanguage.All.Keys.Order(StringComparer.Ordinal)));
        }
        v.Max("pageUrl", body.PageUrl, 2048).Max("referrer", body.Referrer, 2048).Name("name", body.Name, 100).Max("phone", body.Phone, 32);
        string? phone = null;
        if (body.Phone is not null)
        {
            // Read in the tenant's region: "06 12 34 56 78" on a French tenant's site, "(514) 555-0142" on a Québec one.
            var tenantId = WidgetCaller.From(http).TenantId;
            var region = Phones.RegionOf(await db.Tenants.IgnoreQueryFilters().Where(t => t.Id == tenantId).Select(t => t.Locale).FirstOrDefaultAsync(ct));
            phone = OfflineReceptionist.FindPhone(body.Phone, region);
            if (phone is null)
            {
                v.Add("phone", "a phone number, national (in the business's country) or international (+ and country code)");
            }
        }
        if (!v.IsValid)
        {
            return (null, v.Result());
        }
        var caller = WidgetCaller.From(http);
        if (await LimitedAsync(http, limiter, options, caller, visitor!) is { } limited)
        {
            return (null, limited);
        }
        var now = clock.GetUtcNow();
        var assistantId = await db.Assistants.AsNoTracking().Where(a => a.IsDefault).Select(a => (Guid?)a.Id).FirstOrDefaultAsync(ct);
        var id = Guid.CreateVersion7();
        var call = new Call
        {
            Id = Guid.CreateVersion7(),
            TenantId = caller.TenantId,
            Channel = CallChannels.Web,
            Provider = "widget",
            ProviderCallId = id.ToString("N"),
            Type = voice ? "webVoice" : "webChat",
            Status = voice ? "queued" : "in-progress",
            StartedAt = voice ? null : now,
            CreatedAt = now,
            UpdatedAt = now,
            AssistantId = assistantId,
            Language = language,
            CustomerNumber = phone,
        };
        db.Calls.Add(call);
        var query = Query(body.PageUrl);
        var conversation = new WebConversation
        {
            Id = id,
            TenantId = caller.TenantId,
            CallId = call.Id,
            VisitorId = visitor!,
            Origin = caller.Origin!,
            PageUrl = body.PageUrl,
            Referrer = string.IsNullOrWhiteSpace(body.Referrer) ? null : body.Referrer,
            UtmSource = query("utm_source"),
            UtmMedium = query("utm_medium"),
            UtmCampaign = query("utm_campaign"),
            UtmTerm = query("utm_term"),
            UtmContent = query("utm_content"),
            Gclid = query("gclid"),
            Fbclid = query("fbclid"),
            Language = language,
            StateJson = body.Name is null && phone is null ? null : new ReceptionistState { Name = body.Name?.Trim(), Phone = phone }.Write(),
            CreatedAt = now,
            LastMessageAt = now,
        };
        db.WebConversations.Add(conversation);
        if (!voice)
        {
            await webhooks.CallProgressedAsync(call, "queued", ct); // call.started (a voice call's is sent when its stream starts)
        }
        using (await writes.EnterAsync(db, ct))
        {
            await db.SaveChangesAsync(ct);
        }
        return (conversation, null);
    }

    private static async Task<Results<Ok<ConversationDto>, JsonHttpResult<ErrorEnvelope>>> ResumeAsync(
        Guid id, HttpContext http, SwitchboardDbContext db, WidgetTokens tokens, IOptions<WidgetOptions> options, TimeProvider clock, CancellationToken ct)
    {
        var caller = WidgetCaller.From(http);
        var conversation = await db.WebConversations.AsNoTracking().FirstOrDefaultAsync(c => c.Id == id, ct);
        if (conversation is null || !tokens.Validate(WidgetTokens.FromRequest(http.Request), caller.TenantId, id))
        {
            return conversation is null ? ApiError.NotFound("CONVERSATION_NOT_FOUND", "No such conversation.") : ApiError.Unauthorized("INVALID_TOKEN", "The conversation token is missing, expired or not this conversation's.");
        }
        var messages = await db.TranscriptTurns.AsNoTracking().Where(t => t.CallId == conversation.CallId && (t.Role == "user" || t.Role == "assistant"))
            .OrderBy(t => t.Seq).Select(t => new WidgetMessageDto(t.Role, t.Text, t.At)).ToListAsync(ct);
        return TypedResults.Ok(new ConversationDto(id, Closed(conversation, options.Value, clock), messages));
    }

    private static async Task<Results<ServerSentEventsResult<object>, JsonHttpResult<ErrorEnvelope>>> MessageAsync(
        Guid id, HttpContext http, SwitchboardDbContext db, WidgetTokens tokens, ApiRateLimiter limiter, IOptions<WidgetOptions> options,
        TenantAccountCache accounts, UsageMeter usage, WebChatService chat, SqliteWriteGate writes, TimeProvider clock, CancellationToken ct)
    {
        var o = options.Value;
        var caller = WidgetCaller.From(http);
        var conversation = await db.WebConversations.FirstOrDefaultAsync(c => c.Id == id, ct);
        if (conversation is null)
        {
            return ApiError.NotFound("CONVERSATION_NOT_FOUND", "No such conversation.");
        }
        if (!tokens.Validate(WidgetTokens.FromRequest(http.Request), caller.TenantId, id))
        {
            return ApiError.Unauthorized("INVALID_TOKEN", "The conversation token is missing, expired or not this conversation's.");
        }
        // The body is looked at only once the caller holds this conversation's token: without one the answer is 401 (404 for
        // a conversation this key's tenant does not have), whatever was sent.
        var (body, problem) = await ReadAsync<ChatMessageRequest>(http, ct);
        if (problem is not null)
        {
            return problem;
        }
        var text = body!.Text?.Trim();
        if (string.IsNullOrEmpty(text))
        {
            return new Validation().Add("text", "required").Result();
        }
        if (text.Length > o.MaxMessageChars)
        {
            return ApiError.Create(413, "MESSAGE_TOO_LONG", $"A message is at most {o.MaxMessageChars} characters.", new { max = o.MaxMessageChars });
        }
        if (await LimitedAsync(http, limiter, o, caller, conversation.VisitorId) is { } limited)
        {
            return limited;
        }
        if (Closed(conversation, o, clock))
        {
            return ApiError.Conflict("CONVERSATION_CLOSED", "This conversation is over; start a new one.");
        }
        if (conversation.MessageCount >= o.MaxMessagesPerConversation)
        {
            return ApiError.Create(429, "CONVERSATION_LIMIT", $"A conversation holds at most {o.MaxMessagesPerConversation} messages.");
        }
        var now = clock.GetUtcNow();
        var plan = (await accounts.GetAsync(caller.TenantId, ct)).Plan;
        var quota = o.MonthlyMessagesByPlan.TryGetValue(plan.Id, out var q) ? q : int.MaxValue;
        var period = UsageMeter.PeriodOf(now);
        if (await db.UsageRecords.CountAsync(u => u.Kind == UsageKinds.ChatMessages && u.Period == period, ct) >= quota)
        {
            return ApiError.Create(429, "CHAT_QUOTA_EXCEEDED", $"The {plan.Name} plan's {quota} chat messages this month are used up.", new { quota, period, plan = plan.Id });
        }
        if (!Busy.TryAdd(id, 0))
        {
            return ApiError.Conflict("CONVERSATION_BUSY", "The previous message is still being answered.");
        }
        try
        {
            var call = await db.Calls.FirstAsync(c => c.Id == conversation.CallId, ct);
            var tenant = await db.Tenants.FirstAsync(t => t.Id == caller.TenantId, ct);
            await WebChatService.AddTurnAsync(db, call, "user", text, now, ct);
            conversation.MessageCount++;
            conversation.LastMessageAt = now;
            call.UpdatedAt = now;
            var messageId = Guid.CreateVersion7().ToString();
            // The visitor's words and the metered message commit before any model is asked.
            using (await writes.EnterAsync(db, ct))
            {
                await usage.RecordChatMessageAsync(caller.TenantId, messageId, now, ct);
            }
            http.Response.Headers.CacheControl = "no-cache";
            http.Response.Headers["X-Accel-Buffering"] = "no";
            // The reply runs on the host's lifetime, not the request's: a visitor who leaves mid-answer still gets it on resume.
            var stopping = http.RequestServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
            return TypedResults.ServerSentEvents(Guarded(chat.ReplyAsync(tenant, conversation, call, text, messageId, stopping), id, http.RequestServices, stopping, ct));
        }
        catch
        {
            Busy.TryRemove(id, out _);
            throw;
        }
    }

    /// <summary>
    /// Streams <paramref name="inner"/> (the reply, which runs on <paramref name="stopping"/>) to the visitor and releases the
    /// conversation when it ends; a failure after the headers went out becomes an <c>error</c> event. A visitor who leaves
    /// before the reply is complete (<paramref name="ct"/>, the request's abort, fires, or a write to the dead connection
    /// fails) does not stop it: the visitor's message is already stored and metered, so the reply is still produced to the end
    /// and stored as the assistant turn (tools included, e.g. an emergency lead and its SMS), and a visitor who comes back sees
    /// it in <c>GET /conversations/{id}</c>; an orphan user turn without an answer is never left behind. Only the host's
    /// shutdown (<paramref name="stopping"/>) or the model's own timeout ends a reply early; the conversation stays busy
    /// (409 <c>CONVERSATION_BUSY</c>) until the reply is stored.
    /// </summary>
    private static async IAsyncEnumerable<SseItem<object>> Guarded(IAsyncEnumerable<SseItem<object>> inner, Guid id, IServiceProvider services,
        CancellationToken stopping, [EnumeratorCancellation] CancellationToken ct)
    {
        var logger = services.GetRequiredService<ILogger<WebChatService>>();
        using var left = ct.Register(() => logger.LogDebug("The visitor left conversation {ConversationId} before the reply; it is finished and stored", id));
        var e = inner.GetAsyncEnumerator(stopping);
        var over = false;
        try
        {
            while (true)
            {
                SseItem<object>? item;
                try
                {
                    item = await e.MoveNextAsync() ? e.Current : null;
                }
                catch (Exception ex) when (Failed(ex, stopping))
                {
                    over = true;
                    logger.LogError(ex, "Web chat reply failed on conversation {ConversationId}", id);
                    item = new SseItem<object>(new { code = "REPLY_FAILED", message = "The answer could not be completed; your message was kept." }, "error");
                }
                if (item is null)
                {
                    over = true;
                    yield break;
                }
                yield return item.Value;
                if (over)
                {
                    yield break;
                }
            }
        }
        finally
        {
            try
            {
                // The visitor went away mid-reply (the enumeration was abandoned): the rest is produced and stored, unseen.
                while (!over)
                {
                    try
                    {
                        over = !await e.MoveNextAsync();
                    }
                    catch (Exception ex) when (Failed(ex, stopping))
                    {
                        over = true;
                        logger.LogError(ex, "Web chat reply failed on conversation {ConversationId} after the visitor left", id);
                    }
                }
            }
            finally
            {
                await e.DisposeAsync();
                Busy.TryRemove(id, out _);
            }
        }
    }

    /// <summary>A reply's failure (reported), as opposed to the host shutting down or memory running out.</summary>
    private static bool Failed(Exception ex, CancellationToken stopping) =>
        ex is not OutOfMemoryException && !(ex is OperationCanceledException && stopping.IsCancellationRequested);

    private static bool Closed(WebConversation c, WidgetOptions o, TimeProvider clock) =>
        c.EndedAt is not null || clock.GetUtcNow() - c.LastMessageAt > TimeSpan.FromMinutes(o.IdleMinutes);

    /// <summary>The per-visitor and per-address limits of chat requests: null when allowed, else 429 <c>RATE_LIMITED</c> (with <c>Retry-After</c>).</summary>
    internal static async Task<JsonHttpResult<ErrorEnvelope>?> LimitedAsync(HttpContext http, ApiRateLimiter limiter, WidgetOptions o, WidgetCaller caller, string visitor)
    {
        var ip = http.Connection.RemoteIpAddress?.ToString() ?? "-";
        var perVisitor = await limiter.AcquireAsync($"widget-visitor:{caller.TenantId:N}:{ip}:{visitor}", o.RequestsPerMinutePerVisitor, http.RequestAborted);
        var perAddress = await limiter.AcquireAsync($"widget-ip:{caller.TenantId:N}:{ip}", o.RequestsPerMinutePerVisitor * 4, http.RequestAborted);
        if (perVisitor.Acquired && perAddress.Acquired)
        {
            return null;
        }
        http.Response.Headers.RetryAfter = "60";
        return ApiError.Create(429, "RATE_LIMITED", "Too many messages; wait a minute.");
    }

    private static async Task<(T? Body, JsonHttpResult<ErrorEnvelope>? Problem)> ReadAsync<T>(HttpContext http, CancellationToken ct) where T : class
    {
        if (http.Request.ContentLength > MaxBodyBytes)
        {
            return (null, ApiError.TooLarge($"The body is at most {MaxBodyBytes} bytes."));
        }
        if (http.Request.ContentType?.StartsWith("application/json", StringComparison.OrdinalIgnoreCase) != true)
        {
            return (null, ApiError.Create(415, "UNSUPPORTED_MEDIA_TYPE", "Send application/json."));
        }
        using var buffer = new MemoryStream();
        var chunk = new byte[4096];
        int read;
        while ((read = await http.Request.Body.ReadAsync(chunk, ct)) > 0)
        {
            if (buffer.Length + read > MaxBodyBytes)
            {
                return (null, ApiError.TooLarge($"The body is at most {MaxBodyBytes} bytes."));
            }
            buffer.Write(chunk, 0, read);
        }
        if (StorableText.JsonProblems(buffer.GetBuffer().AsSpan(0, (int)buffer.Length)) is { } unstorable)
        {
            return (null, ApiError.Unprocessable("VALIDATION_FAILED", StorableText.Message, unstorable));
        }
        try
        {
            var body = JsonSerializer.Deserialize<T>(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), RequestJson.Options);
            return body is null ? (null, ApiError.BadRequest("MALFORMED_JSON", "The body must be a JSON object.")) : (body, null);
        }
        catch (JsonException e)
        {
            if (RequestJson.WrongType(e, RequestJson.Options.GetTypeInfo(typeof(T))) is var (field, expected))
            {
                // Valid JSON, a value of the wrong type: named as the /api/v1 binding names it (ErrorHandling.Describe).
                var problem = expected is null ? "is of the wrong type" : "must be " + expected;
                return (null, ApiError.BadRequest("MALFORMED_JSON", $"The body is not valid: '{field}' {problem}.", new Dictionary<string, string> { [field] = problem }));
            }
            var message = RequestJson.DuplicateProperty(e) is { } duplicate ? $"The body names '{duplicate}' more than once." : "The body is not valid JSON.";
            return (null, ApiError.BadRequest("MALFORMED_JSON", message, new { e.Path, e.LineNumber, e.BytePositionInLine }));
        }
    }

    private static Func<string, string?> Query(string? pageUrl)
    {
        var parsed = Uri.TryCreate(pageUrl, UriKind.Absolute, out var uri)
            ? Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(uri.Query) : [];
        // Decoded from the page's URL (%00, any UTF-8), so made storable: U+0000 as U+FFFD, and a cut never splits a surrogate pair.
        return name => parsed.TryGetValue(name, out var v) && v.ToString() is { Length: > 0 } s ? TolerantJson.Cap(s.Replace('\0', '\uFFFD'), 200) : null;
    }
}
