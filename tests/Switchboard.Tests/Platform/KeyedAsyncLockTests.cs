using Switchboard.Platform;

namespace Switchboard.Tests.Platform;

public sealed class KeyedAsyncLockTests
{
    [Fact]
    public async Task WaitersOfAKeyGoOneAtATimeInArrivalOrder()
    {
        var locks = new KeyedAsyncLock();
        var first = await locks.AcquireAsync("call-a", CancellationToken.None);
        var second = locks.AcquireAsync("call-a", CancellationToken.None).AsTask();
        var third = locks.AcquireAsync("call-a", CancellationToken.None).AsTask();
        Assert.False(second.IsCompleted);
        Assert.False(third.IsCompleted);

        first.Dispose();
        var held = await second.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(third.IsCompleted); // the second holds it now
        held.Dispose();
        (await third.WaitAsync(TimeSpan.FromSeconds(10))).Dispose();
        Assert.Equal(0, locks.Count); // nothing kept once nobody holds or waits
    }

    [Fact]
    public async Task OtherKeysDoNotWait()
    {
        var locks = new KeyedAsyncLock();
        using var a = await locks.AcquireAsync("call-a", CancellationToken.None);
        var b = locks.AcquireAsync("call-b", CancellationToken.None);
        Assert.True(b.IsCompletedSuccessfully);
        (await b).Dispose();
        Assert.Equal(1, locks.Count);
    }

    [Fact]
    public async Task ACancelledWaiterHoldsNothingAndLeavesNothingBehind()
    {
        var locks = new KeyedAsyncLock();
        var holder = await locks.AcquireAsync("call-a", CancellationToken.None);
        using var cts = new CancellationTokenSource();
        var waiter = locks.AcquireAsync("call-a", cts.Token).AsTask();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiter);
        holder.Dispose();
        Assert.Equal(0, locks.Count);
        // Free again at once: the cancelled waiter took no turn.
        var again = locks.AcquireAsync("call-a", CancellationToken.None);
        Assert.True(again.IsCompletedSuccessfully);
        (await again).Dispose();
        default(KeyedAsyncLock.Releaser).Dispose(); // holds nothing: a no-op
    }
}
