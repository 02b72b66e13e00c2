using System.Collections.Concurrent;

namespace Switchboard.Realtime.Bridge;

/// <summary>
/// The media bridges running on this node, by call. A call's stream can be connected once at a time (a replayed
/// token is refused with 409); the <see cref="BridgeTicker"/> drives each bridge's timers from here.
/// </summary>
internal sealed class BridgeRegistry
{
    private readonly ConcurrentDictionary<Guid, MediaBridge?> bridges = new();

    public int Count => bridges.Count;

    /// <summary>Reserves the call's slot; false when a stream for this call is already bridged here.</summary>
    public bool TryReserve(Guid callId) => bridges.TryAdd(callId, null);

    public void Attach(Guid callId, MediaBridge bridge) => bridges[callId] = bridge;

    public void Release(Guid callId) => bridges.TryRemove(callId, out _);

    public IEnumerable<MediaBridge> Active => bridges.Values.Where(b => b is not null)!;
}

/// <summary>
/// One timer for every call on the node (100 ms): idle re-prompts, DTMF grouping, the maximum call length and
/// hang-up deadlines. A bridge's tick only reads its own state and queues frames; it never waits.
/// </summary>
internal sealed class BridgeTicker(BridgeRegistry registry, ILogger<BridgeTicker> logger) : BackgroundService
{
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
