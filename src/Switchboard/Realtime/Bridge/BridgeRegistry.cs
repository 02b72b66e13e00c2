using System.Collections.Concurrent;

namespace Switchboard.Realtime.Bridge;

/// <summary>
/// The media bridges running on this node, by call. A call's stream can be connected once at a time (a replayed
/// token is refused with 409); the <see cref="BridgeTicker"/> drives each bridge's timers from here.
/// Not disposable on purpose: its token source has no timer or linked registrations to release, and the container
/// may dispose singletons before the ticker's StopAsync calls <see cref="AbortAll"/> (a shutdown race that threw
/// ObjectDisposedException out of host disposal).
/// </summary>
internal sealed class BridgeRegistry
{
    private readonly ConcurrentDictionary<Guid, Slot> bridges = new();
    private readonly CancellationTokenSource abort = new();

    /// <summary>A call's place: its bridge once attached, and a signal set when it is released.</summary>
    private sealed class Slot
    {
        public volatile MediaBridge? Bridge;
        public readonly TaskCompletionSource Released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>Cancelled when the node stops waiting for its calls to end (shutdown drain over).</summary>
    public CancellationToken Aborting => abort.Token;

    /// <summary>Ends every call still bridged here.</summary>
    public void AbortAll() => abort.Cancel();

    public int Count => bridges.Count;

    /// <summary>Reserves the call's slot; false when a stream for this call is already bridged here.</summary>
    public bool TryReserve(Guid callId) => bridges.TryAdd(callId, new Slot());

    /// <summary>
    /// Reserves the call's slot, first waiting up to <paramref name="wait"/> for a stream of this call that is ending here
    /// to be released: a caller back from a transfer that did not go through gets a new stream while the previous one's
    /// bridge still stores its last turns and finishes (its shutdown is bounded by a few seconds). A stream still live, or
    /// being accepted, is not waited for. <see cref="Reservation.AfterPrevious"/> says a previous stream ended meanwhile.
    /// </summary>
    public async Task<Reservation> TryReserveAsync(Guid callId, TimeSpan wait, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + wait;
        var waited = false;
        while (true)
        {
            if (bridges.TryAdd(callId, new Slot()))
            {
                return waited ? Reservation.AfterPrevious : Reservation.Reserved;
            }
            if (!bridges.TryGetValue(callId, out var current))
            {
                continue; // released between the two lookups
            }
            var remaining = deadline - DateTime.UtcNow;
            if (current.Bridge is not { IsEnding: true } || remaining <= TimeSpan.Zero)
            {
                return Reservation.Busy;
            }
            try
            {
                await current.Released.Task.WaitAsync(remaining, ct);
            }
            catch (TimeoutException)
            {
                return Reservation.Busy;
            }
            waited = true;
        }
    }

    public void Attach(Guid callId, MediaBridge bridge)
    {
        if (bridges.TryGetValue(callId, out var slot))
        {
            slot.Bridge = bridge;
        }
    }

    public void Release(Guid callId)
    {
        if (bridges.TryRemove(callId, out var slot))
        {
            slot.Released.TrySetResult();
        }
    }

    public IEnumerable<MediaBridge> Active => bridges.Values.Select(s => s.Bridge).Where(b => b is not null)!;
}

/// <summary>The outcome of <see cref="BridgeRegistry.TryReserveAsync"/>.</summary>
internal enum Reservation
{
    /// <summary>Another stream of the call is bridged here and not ending: refused.</summary>
    Busy,

    /// <summary>Reserved at once.</summary>
    Reserved,

    /// <summary>Reserved once the call's previous stream on this node was released (its turns are stored).</summary>
    AfterPrevious,
}

/// <summary>
/// One timer for every call on the node (100 ms): idle re-prompts, DTMF grouping, the maximum call length and
/// hang-up deadlines. A bridge's tick only reads its own state and queues frames; it never waits. At shutdown it
/// drains: calls in progress may finish for up to <see cref="Twilio.VoiceOptions.DrainSeconds"/>, then are ended.
/// </summary>
internal sealed class BridgeTicker(BridgeRegistry registry, Microsoft.Extensions.Options.IOptions<Twilio.VoiceOptions> options, ILogger<BridgeTicker> logger)
    : BackgroundService
{
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        if (registry.Count > 0)
        {
            logger.LogInformation("Draining {Count} calls before stopping (up to {Seconds} s)", registry.Count, options.Value.DrainSeconds);
            var deadline = DateTime.UtcNow.AddSeconds(options.Value.DrainSeconds);
            while (registry.Count > 0 && DateTime.UtcNow < deadline && !cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(200, CancellationToken.None);
            }
        }
        registry.AbortAll();
        await base.StopAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                foreach (var bridge in registry.Active)
                {
                    try
                    {
                        bridge.OnTick();
                    }
                    catch (Exception e)
                    {
                        logger.LogError(e, "Tick of call {CallId} failed", bridge.CallId);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
