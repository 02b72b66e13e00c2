namespace Switchboard.Tests.Support;

/// <summary>Starts requests at the same moment, for tests of what two concurrent requests leave behind.</summary>
internal static class Concurrently
{
    /// <summary>
    /// Runs <paramref name="a"/> and <paramref name="b"/> on the thread pool, both held by one gate and released together, and
    /// returns their responses in that order. Exceptions are the requests' own.
    /// </summary>
    public static async Task<HttpResponseMessage[]> PairAsync(Func<Task<HttpResponseMessage>> a, Func<Task<HttpResponseMessage>> b)
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var first = Task.Run(async () => { await gate.Task; return await a(); });
        var second = Task.Run(async () => { await gate.Task; return await b(); });
        gate.SetResult();
        return await Task.WhenAll(first, second);
    }
}
