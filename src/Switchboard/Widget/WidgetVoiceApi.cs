using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Switchboard.Billing;
using Switchboard.Platform.Database;
using Switchboard.Platform.Http;
using Switchboard.Realtime.Bridge;
using Switchboard.Tenancy;

namespace Switchboard.Widget;

/// <summary>
/// A started widget voice conversation: its id, the short-lived token for its media socket, and the socket's path and
/// query (<c>/widget/v1/voice?key=…&amp;token=…</c>, relative to the host; the widget turns it into <c>wss://</c>).
/// </summary>
public sealed record VoiceSessionStarted(Guid Id, string Token, DateTimeOffset ExpiresAt, string Url);

/// <summary>
/// Widget voice (DESIGN.md flow 3, frontends.md §3.4; plan feature <see cref="Features.WidgetVoice"/>), behind
/// <see cref="WidgetAccessMiddleware"/> (publishable key, allowed <c>Origin</c>, per-origin rate limit):
/// <list type="bullet">
/// <item><c>POST /widget/v1/voice/sessions</c>: body as <see cref="StartConversationRequest"/>; stores a conversation and
/// its call (channel <c>web</c>, type <c>webVoice</c>); 201 <see cref="VoiceSessionStarted"/>. 403
/// <c>FEATURE_NOT_IN_PLAN</c> when the plan has no voice (the widget stays in text), 429 <c>RATE_LIMITED</c> per visitor.</item>
/// <item><c>GET /widget/v1/voice?key=…&amp;token=…</c>: the WebSocket. Everything is checked before the upgrade, with the
/// envelope: 400 <c>WEBSOCKET_REQUIRED</c>, 403 <c>ORIGIN_REQUIRED</c>/<c>FEATURE_NOT_IN_PLAN</c>, 401
/// <c>INVALID_TOKEN</c>, 404 <c>CONVERSATION_NOT_FOUND</c>, 409 <c>CONVERSATION_CLOSED</c>/<c>VOICE_ALREADY_CONNECTED</c>,
/// 429 <c>RATE_LIMITED</c>/<c>CONCURRENT_CALL_LIMIT</c>. Then the socket is a <see cref="MediaBridge"/> leg
/// (<see cref="MediaLeg.BrowserPcm16"/>): the Twilio Media Streams framing with base64 PCM16 mono 24 kHz audio.
/// Client → server: <c>{"event":"start","start":{"streamSid":"…"}}</c>, <c>media</c> <c>{payload}</c>, <c>mark</c> echoes
/// (each once the audio before it has played), <c>stop</c>. Server → client: <c>media</c>, <c>mark</c>, <c>clear</c> (barge-in:
/// drop all queued playback) and <c>transcript</c> <c>{role, text}</c>.</item>
/// </list>
/// The call goes through the same post-call pipeline as a phone call (lead, urgency, SMS, webhooks) and its seconds are
/// metered as call seconds.
/// </summary>
internal static class WidgetVoiceApi
{
    public static IEndpointRouteBuilder MapWidgetVoice(this IEndpointRouteBuilder app)
    {
        var widget = app.MapGroup(WidgetAccessMiddleware.PathPrefix).WithTags("Widget (public)");
        widget.MapPost("/voice/sessions", StartAsync).WithSummary("Start a widget voice conversation (Origin must be allowed; plan feature widget_voice)")
            .ProducesErrors(400, 401, 403, 413, 415, 429);
        widget.Map("/voice", ConnectAsync).WithSummary("Widget voice WebSocket (PCM16 24 kHz in Twilio Media Streams framing)").ExcludeFromDescription();
        return app;
    }

    private static async Task<Results<Created<VoiceSessionStarted>, JsonHttpResult<ErrorEnvelope>>> StartAsync(
        HttpContext http, SwitchboardDbContext db, WidgetVoiceTokens tokens, ApiRateLimiter limiter, IOptions<WidgetOptions> options,
        TenantAccountCache accounts, Webhooks.WebhookEventPublisher webhooks, SqliteWriteGate writes, TimeProvider clock, CancellationToken ct)
    {
        var caller = WidgetCaller.From(http);
        if (await NoVoiceAsync(accounts, caller, ct) is { } refused)
        {
            return refused;
        }
        var (conversation, problem) = await WidgetApi.CreateConversationAsync(http, db, limiter, options.Value, webhooks, writes, clock, voice: true, ct);
        if (problem is not null)
        {
            return problem;
        }
        var id = conversation!.Id;
        var token = tokens.Issue(caller.TenantId, id);
        var key = http.Request.Query["key"].ToString();
        var url = $"{WidgetAccessMiddleware.PathPrefix}/voice?key={Uri.EscapeDataString(key)}&token={Uri.EscapeDataString(token)}";
        return TypedResults.Created(url, new VoiceSessionStarted(id, token, clock.GetUtcNow() + WidgetVoiceTokens.Lifetime, url));
    }

    private static async Task<IResult> ConnectAsync(
        HttpContext http, string? token, SwitchboardDbContext db, WidgetVoiceTokens tokens, ApiRateLimiter limiter, IOptions<WidgetOptions> options,
        TenantAccountCache accounts, CallConcurrencyGate concurrency, VoiceCallStore store, BridgeRegistry registry, BridgeServices services,
        SqliteWriteGate writes, TimeProvider clock, ILogger<MediaBridge> logger)
    {
        var ct = http.RequestAborted;
        if (!http.WebSockets.IsWebSocketRequest)
        {
            return ApiError.BadRequest("WEBSOCKET_REQUIRED", "This endpoint takes a WebSocket upgrade from the widget.");
        }
        var caller = WidgetCaller.From(http);
        if (caller.Origin is null)
        {
            return ApiError.Forbidden("ORIGIN_REQUIRED", "Voice must come from a browser on an allowed origin.");
        }
        if (await NoVoiceAsync(accounts, caller, ct) is { } refused)
        {
            return refused;
        }
        if (tokens.Read(token, caller.TenantId) is not { } conversationId)
        {
            return ApiError.Unauthorized("INVALID_TOKEN", "The voice token is missing, expired or not this site's.");
        }
        var conversation = await db.WebConversations.AsNoTracking().FirstOrDefaultAsync(c => c.Id == conversationId, ct);
        if (conversation is null)
        {
            return ApiError.NotFound("CONVERSATION_NOT_FOUND", "No such conversation.");
        }
        if (conversation.EndedAt is not null)
        {
            return ApiError.Conflict("CONVERSATION_CLOSED", "This conversation is over; start a new one.");
        }
        if (await WidgetApi.LimitedAsync(http, limiter, options.Value, caller, conversation.VisitorId) is { } limited)
        {
            return limited;
        }
        var (allowed, _, limit) = await concurrency.CanStartAsync(caller.TenantId, ct);
        if (!allowed)
        {
            return ApiError.Create(429, "CONCURRENT_CALL_LIMIT", $"All {limit} of this business's lines are busy; try the chat.", new { limit });
        }
        var call = await db.Calls.AsNoTracking().FirstAsync(c => c.Id == conversation.CallId, ct);
        if (await store.LoadWebSetupAsync(caller.TenantId, call.Id, call.AssistantId, conversation.Language, ct) is not { } setup)
        {
            return ApiError.NotFound("CONVERSATION_NOT_FOUND", "No such conversation.");
        }
        if (!registry.TryReserve(call.Id))
        {
            return ApiError.Conflict("VOICE_ALREADY_CONNECTED", "This conversation's voice is already connected.");
        }
        try
        {
            using var socket = await http.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext { KeepAliveInterval = TimeSpan.FromSeconds(20) });
            using var bridge = new MediaBridge(setup, socket, services, registry.Aborting, MediaLeg.BrowserPcm16);
            registry.Attach(call.Id, bridge);
            logger.LogInformation("Widget voice connected for conversation {ConversationId} from {Origin}", conversationId, caller.Origin);
            await bridge.RunAsync();
        }
        finally
        {
            registry.Release(call.Id);
        }
        // The bridge finished the call (status, transcript, post-call pipeline): the idle closer must leave it alone.
        await db.WebConversations.Where(c => c.Id == conversationId)
            .ExecuteUpdateAsync(u => u.SetProperty(c => c.EndedAt, clock.GetUtcNow()), CancellationToken.None);
        return Results.Empty;
    }

    private static async Task<JsonHttpResult<ErrorEnvelope>?> NoVoiceAsync(TenantAccountCache accounts, WidgetCaller caller, CancellationToken ct)
    {
        var plan = (await accounts.GetAsync(caller.TenantId, ct)).Plan;
        return plan.Has(Features.WidgetVoice) ? null
            : FeatureGate.NotInPlan(plan, Features.WidgetVoice, "voice in the widget");
    }
}

/// <summary>
/// Voice socket tokens: <c>{tenantId:N}.{conversationId:N}.{issued unix seconds}</c> protected with Data Protection
/// (purpose <c>Switchboard.Widget.Voice.v1</c>, distinct from chat tokens), valid for <see cref="Lifetime"/>: the widget
/// opens its socket right after <c>POST /voice/sessions</c>. A token in a URL may be logged, hence the short life.
/// </summary>
internal sealed class WidgetVoiceTokens(IDataProtectionProvider provider, TimeProvider clock)
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(2);
    private readonly IDataProtector protector = provider.CreateProtector("Switchboard.Widget.Voice.v1");

    public string Issue(Guid tenantId, Guid conversationId) =>
        protector.Protect($"{tenantId:N}.{conversationId:N}.{clock.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)}");

    /// <summary>The conversation id when <paramref name="token"/> was issued for this tenant and has not expired; else null.</summary>
    public Guid? Read(string? token, Guid tenantId)
    {
        if (string.IsNullOrEmpty(token) || token.Length > 1000)
        {
            return null;
        }
        string plain;
        try
        {
            plain = protector.Unprotect(token);
        }
        catch (CryptographicException)
        {
            return null;
        }
        var parts = plain.Split('.');
        return parts.Length == 3
            && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(parts[0]), Encoding.ASCII.GetBytes($"{tenantId:N}"))
            && Guid.TryParseExact(parts[1], "N", out var id)
            && long.TryParse(parts[2], CultureInfo.InvariantCulture, out var issued)
            && clock.GetUtcNow() - DateTimeOffset.FromUnixTimeSeconds(issued) < Lifetime
            ? id : null;
    }
}

/// <summary>Registers and maps widget voice.</summary>
internal static class WidgetVoiceSetup
{
    public static WebApplicationBuilder AddWidgetVoice(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<WidgetVoiceTokens>();
        return builder;
    }
}
