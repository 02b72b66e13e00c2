using Switchboard.Platform.Database;

namespace Switchboard.Tests.Platform;

/// <summary>The SQLite writer queue's order: priorities, the bound on bypassing a lower priority, cancellation.</summary>
public sealed class SqliteWriteGateTests
{
    [Fact]
    public async Task AHighPriorityWaiterGoesAheadOfEarlierNormalAndLowOnes()
    {
        var gate = new SqliteWriteGate();
        var order = new List<string>();
        var held = await gate.EnterAsync(WritePriority.Normal, CancellationToken.None);
        var low = Take(gate, WritePriority.Low, "low", order);
        var normal = Take(gate, WritePriority.Normal, "normal", order);
        var high = Take(gate, WritePriority.High, "high", order);
        Assert.Equal(3, gate.Waiting);

        held.Dispose();
        await Task.WhenAll(low, normal, high);

        Assert.Equal(["high", "normal", "low"], order);
    }

    [Fact]
    public async Task ALowPriorityWaiterIsNotStarvedByAStreamOfHigherOnes()
    {
        var gate = new SqliteWriteGate();
        var order = new List<string>();
        var held = await gate.EnterAsync(WritePriority.High, CancellationToken.None);
        var low = Take(gate, WritePriority.Low, "low", order);
        var highs = Enumerable.Range(0, SqliteWriteGate.MaxBypass * 3).Select(i => Take(gate, WritePriority.High, "high", order)).ToList();

        held.Dispose();
        await Task.WhenAll(highs.Append(low));

        Assert.Equal(SqliteWriteGate.MaxBypass, order.IndexOf("low"));
    }

    [Fact]
    public async Task ACancelledWaiterIsSkippedAndTheGateStaysUsable()
    {
        var gate = new SqliteWriteGate();
        var held = await gate.EnterAsync(WritePriority.Normal, CancellationToken.None);
        using var cts = new CancellationTokenSource();
        var cancelled = gate.EnterAsync(WritePriority.High, cts.Token).AsTask();
        var next = gate.EnterAsync(WritePriority.Low, CancellationToken.None).AsTask();

        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        held.Dispose();
        (await next).Dispose();

        (await gate.EnterAsync(WritePriority.Normal, CancellationToken.None)).Dispose();
        Assert.Equal(0, gate.Waiting);
    }

    /// <summary>Waits for a turn, records its name, and gives the turn back.</summary>
    private static async Task Take(SqliteWriteGate gate, WritePriority priority, string name, List<string> order)
    {
        using var turn = await gate.EnterAsync(priority, CancellationToken.None);
        lock (order)
        {
            order.Add(name);
        }
    }
}
