using Switchboard.Realtime.Bridge;

namespace Switchboard.Tests.Realtime;

/// <summary>
/// The provider connect deadline counts only the time the node keeps up with its own work (issue 16): a probe tick that
/// runs late (the thread pool behind a burst) advances the clock by one period, not by the wall time it took.
/// Driven tick by tick with a manual clock: no timers, no sleeps.
/// </summary>
public sealed class ConnectDeadlinesTests
{
    /// <summary>Wall time in ms that only the test moves; timers never fire by themselves (the test calls Tick).</summary>
    private sealed class ManualClock : TimeProvider
    {
        public long NowMs { get; set; }

        public override long TimestampFrequency => 1000;

        public override long GetTimestamp() => NowMs;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) => new Idle();

        private sealed class Idle : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period) => true;

            public void Dispose()
            {
            }

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }

    /// <summary>Ticks every (period + lag) ms of wall time until the target is cancelled; returns the wall ms it took.</summary>
    private static long RunUntilCancelled(ManualClock clock, ConnectDeadlines deadlines, CancellationTokenSource target, int lagMs, long limitMs = 120_000)
    {
        var start = clock.NowMs;
        while (!target.IsCancellationRequested && clock.NowMs - start < limitMs)
        {
            clock.NowMs += ConnectDeadlines.TickMs + lagMs;
            deadlines.Tick();
        }
        return clock.NowMs - start;
    }

    [Fact]
    public void OnAnIdleNodeTheTimeoutIsWallTime()
    {
        var clock = new ManualClock();
        using var deadlines = new ConnectDeadlines(clock);
        using var target = new CancellationTokenSource();
        using var _ = deadlines.Start(target, timeoutMs: 3000, capMs: 20_000);

        var took = RunUntilCancelled(clock, deadlines, target, lagMs: 0);

        Assert.True(target.IsCancellationRequested);
        Assert.Equal(3000, took);
    }

    [Fact]
    public void ABusyNodeDoesNotCountItsOwnBacklogAgainstTheProvider()
    {
        var clock = new ManualClock();
        using var deadlines = new ConnectDeadlines(clock);
        using var target = new CancellationTokenSource();
        using var _ = deadlines.Start(target, timeoutMs: 3000, capMs: 20_000);

        // The thread pool is 150 ms behind: each 50 ms tick takes 200 ms of wall time, so 3 s of progress take 12 s.
        clock.NowMs += 6000;
        for (var i = 0; i < 30; i++)
        {
            clock.NowMs += 150;
            deadlines.Tick();
        }
        Assert.False(target.IsCancellationRequested, "3 s of wall time behind the node's own queue is not the provider's silence");

        var took = RunUntilCancelled(clock, deadlines, target, lagMs: 150);
        Assert.True(target.IsCancellationRequested);
        Assert.InRange(deadlines.ProgressMs, 3000, 3000 + ConnectDeadlines.TickMs);
        Assert.True(took < 20_000, $"cancelled after {took} ms more");
    }

    [Fact]
    public void TheWallClockCapHoldsHoweverBusyTheNode()
    {
        var clock = new ManualClock();
        using var deadlines = new ConnectDeadlines(clock);
        using var target = new CancellationTokenSource();
        using var _ = deadlines.Start(target, timeoutMs: 3000, capMs: 20_000);

        var took = RunUntilCancelled(clock, deadlines, target, lagMs: 950); // a tick a second: 50 ms of progress per second

        Assert.True(target.IsCancellationRequested);
        Assert.InRange(took, 20_000, 21_000);
        Assert.True(deadlines.ProgressMs < 3000);
    }

    [Fact]
    public void AFinishedConnectIsNeverCancelledLater()
    {
        var clock = new ManualClock();
        using var deadlines = new ConnectDeadlines(clock);
        using var done = new CancellationTokenSource();
        using var other = new CancellationTokenSource();
        deadlines.Start(done, timeoutMs: 100, capMs: 1000).Dispose(); // connected before its deadline
        using var __ = deadlines.Start(other, timeoutMs: 200, capMs: 1000);

        RunUntilCancelled(clock, deadlines, other, lagMs: 0);

        Assert.True(other.IsCancellationRequested);
        Assert.False(done.IsCancellationRequested);
    }
}
