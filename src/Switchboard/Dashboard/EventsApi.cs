using System.Globalization;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Switchboard.Platform.Database;
using Switchboard.Tenancy;

namespace Switchboard.Dashboard;

/// <summary>
/// <c>GET /api/v1/events</c>: the tenant's live events as Server-Sent Events (dashboard contract, issue 8;
/// frontends.md §5.2). Each event has <c>id:</c> = the tenant's event id (an integer, increasing), <c>event:</c> = its name
/// (<see cref="LiveEventTypes"/>) and <c>data:</c> = JSON. <c>Last-Event-ID</c> (header, or <c>?lastEventId=</c>) resumes
/// within the replay window, else the stream starts with <c>reset</c> (<c>{}</c>) and the client refetches.
/// <c>ping</c> (<c>{"at":iso}</c>) every <see cref="DashboardOptions.PingSeconds"/>.
/// <para>
/// The stream ends (the response completes; no final event, and the client's reconnect is then refused 401) as soon as the
/// access that opened it is revoked, on whichever node it is open: a logout or password reset (its session), an API key's
/// revocation or rotation without grace, its user's removal from the tenant, or the tenant's erasure. Each of these sends an
/// access-revoked signal (<see cref="AccessRevocation"/>, ids only) through <see cref="ILiveEventTransport.RevokeAccessAsync"/>
/// (in process on SQLite, PostgreSQL <c>NOTIFY</c> to every node otherwise); the hub finds the streams by principal
/// (<see cref="LiveEventHub.Revoke"/>), and events still queued for them are not sent. The signal itself is never an event.
/// No role lacks <see cref="Permission.Read"/>, so a role change ends nothing. As a safety net (a signal lost, a node that
/// was not listening), the session or API key is also checked again at each ping, and the stream ends once it is revoked,
/// expired, no longer acting for this tenant, or its user is no longer a member of the tenant.
/// </para>
/// </summary>
internal static class EventsApi
{
    public static RouteGroupBuilder MapLiveEvents(this RouteGroupBuilder api)
    {
        api.MapGet("/events", Stream).WithTags("Live events").WithSummary("The tenant's live events (Server-Sent Events)")
            .WithDescription("Events: call.started, call.updated, call.ended, transcript.turn, lead.created, lead.updated, sms.updated, ping, reset. " +
                             "callId limits transcript.turn to one call. Resume with the Last-Event-ID header.")
            .RequirePermission(Permission.Read);
        return api;
    }

    private static async Task<ServerSentEventsResult<string>> Stream(
        HttpContext http, Guid? callId, string? lastEventId, LiveEventHub hub, ILiveEventTransport transport, CancellationToken ct)
    {
        var caller = Caller.From(http);
        var tenantId = caller.TenantId!.Value;
        var header = http.Request.Headers["Last-Event-ID"].FirstOrDefault() ?? lastEventId;
        long? resumeFrom = null;
        var unreadable = false;
        if (!string.IsNullOrWhiteSpace(header))
        {
            if (long.TryParse(header, NumberStyles.None, CultureInfo.InvariantCulture, out var n))
            {
                resumeFrom = n;
            }
            else
            {
                unreadable = true;
            }
        }
        var stored = resumeFrom is null ? null : await transport.LatestAsync(tenantId, ct);
        var subscription = hub.Subscribe(tenantId, callId, resumeFrom, stored, caller);
        if (unreadable)
        {
            subscription.Dispose();
            subscription = hub.Subscribe(tenantId, callId, -1, null, caller); // an id we cannot read is an id we cannot resume from
        }
        http.Response.Headers["X-Accel-Buffering"] = "no"; // nginx: do not buffer the stream
        // The stream also ends when the server starts shutting down: otherwise it stays open (silent, no pings) for the
        // whole shutdown timeout while Kestrel refuses new requests, and the dashboard keeps showing "Live".
        var stopping = CancellationTokenSource.CreateLinkedTokenSource(ct, http.RequestServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping);
        http.Response.RegisterForDispose(stopping);
        return TypedResults.ServerSentEvents(ReadAsync(http, caller, tenantId, subscription, stopping.Token));
    }

    private static async IAsyncEnumerable<SseItem<string>> ReadAsync(
        HttpContext http, Caller caller, Guid tenantId, LiveEventHub.Subscription subscription, [EnumeratorCancellation] CancellationToken ct)
    {
        var services = http.RequestServices;
        var clock = services.GetRequiredService<TimeProvider>();
        var interval = TimeSpan.FromSeconds(services.GetRequiredService<IOptions<DashboardOptions>>().Value.PingSeconds);
        using (subscription)
        {
            var reader = subscription.Reader;
            Task<bool>? waiting = null;
            var ping = Task.Delay(interval, clock, ct);
            // A first ping at once sends the response headers, so the browser's EventSource opens (and shows "live")
            // without waiting for the first event or the first heartbeat.
            yield return new SseItem<string>($"{{\"at\":\"{clock.GetUtcNow():O}\"}}", LiveEventTypes.Ping);
            while (!ct.IsCancellationRequested)
            {
                waiting ??= reader.WaitToReadAsync(ct).AsTask();
                var done = await Task.WhenAny(waiting, ping);
                if (subscription.Revoked)
                {
                    yield break; // access revoked (LiveEventHub.Revoke): not one more event, not even those already queued
                }
                if (done == ping)
                {
                    if (ct.IsCancellationRequested || !await StillAllowedAsync(services, caller, tenantId, clock, ct))
                    {
                        yield break;
                    }
                    yield return new SseItem<string>($"{{\"at\":\"{clock.GetUtcNow():O}\"}}", LiveEventTypes.Ping);
                    ping = Task.Delay(interval, clock, ct);
                    continue;
                }
                if (!waiting.IsCompletedSuccessfully || !waiting.Result)
                {
                    yield break;
                }
                waiting = null;
                while (!subscription.Revoked && reader.TryRead(out var e))
                {
                    if (subscription.TakeLostImportant())
                    {
                        yield return new SseItem<string>("{}", LiveEventTypes.Reset);
                    }
                    yield return e.Type == LiveEventTypes.Reset
                        ? new SseItem<string>("{}", LiveEventTypes.Reset)
                        : new SseItem<string>(e.DataJson, e.Type) { EventId = e.Seq.ToString(CultureInfo.InvariantCulture) };
                }
            }
        }
    }

    /// <summary>
    /// True while the session (not revoked, not expired, still acting for this tenant, its user still a member of the tenant or
    /// an operator) or the API key is valid.
    /// </summary>
    internal static async Task<bool> StillAllowedAsync(IServiceProvider requestServices, Caller caller, Guid tenantId, TimeProvider clock, CancellationToken ct)
    {
        await using var scope = requestServices.GetRequiredService<IServiceScopeFactory>().CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>();
        var now = clock.GetUtcNow();
        try
        {
            if (caller.SessionId is { } sessionId)
            {
                // A member removed from the team keeps a valid session (it may act for another tenant); each request checks the
                // membership (SessionAuthentication), so the stream does too, with the same exception for an operator.
                return await db.UserSessions.AsNoTracking()
                    .Where(s => s.Id == sessionId && s.RevokedAt == null && s.ExpiresAt > now && s.TenantId == tenantId)
                    .Join(db.Users, s => s.UserId, u => u.Id, (s, u) => u)
                    .AnyAsync(u => db.Memberships.IgnoreQueryFilters().Any(m => m.TenantId == tenantId && m.UserId == u.Id)
                        || (u.IsOperator && db.Tenants.Any(t => t.Id == tenantId)), ct);
            }
            if (caller.ApiKeyId is { } keyId)
            {
                return await db.ApiKeys.IgnoreQueryFilters().AsNoTracking()
                    .AnyAsync(k => k.Id == keyId && k.TenantId == tenantId && k.RevokedAt == null && (k.ExpiresAt == null || k.ExpiresAt > now), ct);
            }
            return false;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
