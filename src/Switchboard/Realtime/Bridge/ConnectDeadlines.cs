using System.Diagnostics;

namespace Switchboard.Realtime.Bridge;

/// <summary>
/// Deadlines for opening provider sessions that count only the time this node was keeping up with its own work (issue 16).
/// <para>
/// A provider connect is several hops through the thread pool: the WebSocket upgrade's response, the send of
/// <c>session.update</c>, the receive loop reading <c>session.updated</c>, the handshake's continuation. When a burst of
/// calls starts (webhooks, stream set-up and the audio of every live call in the same queue), each hop waits behind that
/// queue, and a wall-clock timeout of 3 s took our own backlog for an unreachable provider: calls were lost to the
/// leave-a-message fallback although the provider answered in milliseconds.
/// </para>
/// <para>
/// So the clock here is a probe of the node's own lag: a one-shot timer of <see cref="TickMs"/> that re-arms itself from
/// its callback. Timer callbacks run on the thread pool like every socket completion, so when the pool is behind by L ms
/// a tick takes <see cref="TickMs"/> + L ms of wall time but advances the clock by only <see cref="TickMs"/>. A session
/// is given up when the clock has advanced by its timeout (a provider that does not answer while the node keeps up), or
/// when a wall-clock cap has passed whatever the load (so no call waits forever). On an idle node the clock runs at wall
/// speed and an unreachable provider still fails after the configured timeout. The timer runs only while a deadline is
/// pending.
/// </para>
/// </summary>
internal sealed class ConnectDeadlines : IDisposable
{
    /// <summary>The probe's period, in ms: the resolution of every deadline.</summary>
    public const int TickMs = 50;

    private readonly Lock sync = new();
    private readonly List<Deadline> pending = [];
    private readonly ITimer timer;
    private readonly TimeProvider clock;
    private long progressMs; // the lag-free clock, in ms
    private long lastTick; // TimeProvider timestamp of the last tick (or of arming the timer)
    private bool armed;

    /// <param name="clock">Wall time; <see cref="TimeProvider.System"/> in the product (a fake one drives the ticks in tests).</param>
    public ConnectDeadlines(TimeProvider clock)
    {
        this.clock = clock;
        timer = clock.CreateTimer(static s => ((ConnectDeadlines)s!).Tick(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Milliseconds the lag-free clock has advanced so far (tests and logs).</summary>
    public long ProgressMs
    {
        get
        {
            lock (sync)
            {
                return progressMs;
            }
        }
    }

    /// <summary>
    /// Cancels <paramref name="target"/> once the node has kept up for <paramref name="timeoutMs"/> ms, or after
    /// <paramref name="capMs"/> ms of wall time, whichever comes first. Dispose the result when the work is done.
    /// </summary>
    public IDisposable Start(CancellationTokenSource target, int timeoutMs, int capMs)
    {
        var deadline = new Deadline(this, target, timeoutMs, clock.GetTimestamp() + (long)(capMs * (double)clock.TimestampFrequency / 1000));
        lock (sync)
        {
            deadline.ProgressDue = progressMs + timeoutMs;
            pending.Add(deadline);
            if (!armed)
            {
                armed = true;
                lastTick = clock.GetTimestamp();
                timer.Change(TimeSpan.FromMilliseconds(TickMs), Timeout.InfiniteTimeSpan);
            }
        }
        return deadline;
    }

    /// <summary>One probe tick: advances the clock by at most one period and fires the deadlines that are due.</summary>
    internal void Tick()
    {
        List<CancellationTokenSource>? due = null;
        lock (sync)
        {
            var now = clock.GetTimestamp();
            var elapsedMs = (long)((now - lastTick) * 1000.0 / clock.TimestampFrequency);
            lastTick = now;
            // A late tick counts one period: the rest of the interval the node spent behind its own queue.
            progressMs += Math.Min(elapsedMs, TickMs);
            for (var i = pending.Count - 1; i >= 0; i--)
            {
                var d = pending[i];
                if (progressMs >= d.ProgressDue || now >= d.WallDue)
                {
                    (due ??= []).Add(d.Target);
                    pending.RemoveAt(i);
                }
            }
            armed = pending.Count > 0;
            if (armed)
            {
                timer.Change(TimeSpan.FromMilliseconds(TickMs), Timeout.InfiniteTimeSpan);
            }
        }
        if (due is not null)
        {
            foreach (var target in due)
            {
                try
                {
                    target.Cancel();
                }
                catch (ObjectDisposedException)
                {
                }
            }
        }
    }

    private void Remove(Deadline deadline)
    {
        lock (sync)
        {
            pending.Remove(deadline);
        }
    }

    public void Dispose() => timer.Dispose();

    [DebuggerDisplay("due at {ProgressDue} ms of progress")]
    private sealed class Deadline(ConnectDeadlines owner, CancellationTokenSource target, int timeoutMs, long wallDue) : IDisposable
    {
        public CancellationTokenSource Target { get; } = target;

        public int TimeoutMs { get; } = timeoutMs;

        public long ProgressDue { get; set; }

        public long WallDue { get; } = wallDue;

        public void Dispose() => owner.Remove(this);
    }
}
