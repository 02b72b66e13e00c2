using Microsoft.Extensions.Options;
using Switchboard.Platform.Cluster;
using Switchboard.Platform.Http;
using Switchboard.Platform.Observability;
using Switchboard.Twilio;

namespace Switchboard.Realtime.Bridge;

/// <summary>
/// WebSocket <c>/media/twilio/{token}</c>: Twilio's bidirectional media stream for one call
/// (shared/protocols/twilio-media-streams.md). Everything is checked before the socket is accepted, with errors in the
/// envelope: 400 not a WebSocket request, 403 bad or expired token or bad <c>X-Twilio-Signature</c> (checked when
/// present, required when <see cref="VoiceOptions.RequireStreamSignature"/>), 404 call gone, 409 the call's stream is
/// already connected, 409 <c>STREAM_TOKEN_USED</c> the token already opened a stream (on any node: a token is
/// accepted once, cluster-wide, <see cref="StreamTokenLedger"/>). Then the call is bridged by its own <see cref="MediaBridge"/>. Also <c>GET /metrics/voice</c> (operator sessions only).
/// </summary>
internal static class MediaStreamEndpoint
{
    /// <summary>Longest wait for the call's previous stream, ending on this node, to finish (its shutdown takes at most ~5 s).</summary>
    private static readonly TimeSpan PreviousStreamWait = TimeSpan.FromSeconds(8);

    public static IEndpointRouteBuilder MapTwilioMediaStreams(this IEndpointRouteBuilder app)
    {
        app.Map("/media/twilio/{token}", HandleAsync).WithTags("Webhooks").WithSummary("Twilio Media Streams WebSocket (one call)")
            .ExcludeFromDescription();
        app.MapGet("/metrics/voice", (VoiceMetrics metrics, IOptions<VoiceOptions> options, bool? collect) =>
            {
                if (collect == true && options.Value.MetricsMayCollect)
                {
                    // Benchmarks only (Switchboard:Voice:MetricsMayCollect): live memory, not heap plus garbage.
                    GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
                    GC.WaitForPendingFinalizers();
                }
                return Results.Text(metrics.ToPrometheus(), "text/plain; version=0.0.4");
            })
            .RequireAuthorization(Switchboard.Tenancy.SessionAuthentication.OperatorPolicy) // operators only: call volumes and latencies of every tenant
            .WithTags("Operations").WithSummary("Media bridge metrics (Prometheus text format; operators only)");
        return app;
    }

    private static async Task<IResult> HandleAsync(
        string token, HttpContext http, MediaStreamTokens tokens, VoiceCallStore store, TwilioWebhookUrls urls, BridgeRegistry registry,
        BridgeServices services, StreamTokenLedger ledger, IOptions<VoiceOptions> options, ILogger<MediaBridge> logger)
    {
        if (!http.WebSockets.IsWebSocketRequest)
        {
            return ApiError.BadRequest("WEBSOCKET_REQUIRED", "This endpoint takes a WebSocket upgrade from Twilio Media Streams.");
        }
        if (tokens.Read(token) is not { } grant)
        {
            logger.LogWarning("Media stream refused: invalid or expired token");
            return ApiError.Forbidden("INVALID_STREAM_TOKEN", "The stream token is invalid or expired.");
        }
        if (await store.LoadSetupAsync(grant, urls.BaseFor(http.Request), http.RequestAborted) is not { } loaded)
        {
            return ApiError.NotFound("CALL_NOT_FOUND", "No such call.");
        }
        // Checked as every Twilio webhook is (Auth Token HMAC-SHA1 or shared-key HMAC-SHA256), over the wss:// URL with no params.
        var signed = http.Request.Headers.ContainsKey("X-Twilio-Signature") || http.Request.Headers.ContainsKey(TwilioRequestValidator.SignatureSettingsHeader);
        if ((signed || options.Value.RequireStreamSignature)
            && await TwilioSignatureCheck.VerifyAsync(http, grant.TenantId, loaded.AuthToken, urls.WebSocketRequestUrl(http.Request), null, "stream", http.RequestAborted) is { } refused)
        {
            logger.LogWarning("Media stream refused for call {CallId}: bad X-Twilio-Signature", grant.CallId);
            return refused;
        }
        if (!await ledger.TryUseAsync(grant, http.RequestAborted))
        {
            logger.LogWarning("Media stream refused for call {CallId}: the stream token was already used", grant.CallId);
            return ApiError.Conflict("STREAM_TOKEN_USED", "This stream token has already been used.");
        }
        // A caller back from a transfer that did not go through may come back while the previous stream's bridge is still
        // finishing here (an agent leg busy or unanswered at once): wait for it rather than refuse the caller.
        var reservation = await registry.TryReserveAsync(grant.CallId, PreviousStreamWait, http.RequestAborted);
        if (reservation == Reservation.Busy)
        {
            return ApiError.Conflict("STREAM_ALREADY_CONNECTED", "This call's stream is already connected.");
        }
        try
        {
            var setup = loaded.Setup;
            if (setup.FirstTurnSeq > 0 || reservation == Reservation.AfterPrevious)
            {
                // The call has turns from a previous stream: number this stream's after every one of them. The setup was
                // loaded before the previous bridge (released by now, its turns flushed) stored its last turns, and a
                // turn numbered like one of them would be refused by the unique (call, seq) index and lost.
                setup = setup with { FirstTurnSeq = await store.NextTurnSeqAsync(setup.TenantId, setup.CallId, http.RequestAborted) };
            }
            using var socket = await http.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext { KeepAliveInterval = TimeSpan.FromSeconds(20) });
            using var bridge = new MediaBridge(setup, socket, services, registry.Aborting);
            registry.Attach(grant.CallId, bridge);
            await bridge.RunAsync();
        }
        finally
        {
            registry.Release(grant.CallId);
        }
        return Results.Empty;
    }
}
