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
    private readonly ConcurrentDictionary<Guid, MediaBridge?> bridges = new();
    private readonly CancellationTokenSource abort = new();

    /// <summary>Cancelled when the node stops waiting for its calls to end (shutdown drain over).</summary>
    public CancellationToken Aborting => abort.Token;

    /// <summary>Ends every call still bridged here.</summary>
    public void AbortAll() => abort.Cancel();

    public int Count => bridges.Count;

    /// <summary>Reserves the call's slot; false when a stream for this call is already bridged here.</summary>
    public bool TryReserve(Guid callId) => bridges.TryAdd(callId, null);

    public void Attach(Guid callId, MediaBridge bridge) => bridges[callId] = bridge;

    public void Release(Guid callId) => bridges.TryRemove(callId, out _);

    public IEnumerable<MediaBridge> Active => bridges.Values.Where(b => b is not null)!;
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
