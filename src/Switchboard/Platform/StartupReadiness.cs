namespace Switchboard.Platform;

/// <summary>
/// Whether this node has finished warming up (<see cref="Vapi.VapiWarmup"/>): until then <c>/readyz</c> answers 503
/// <c>{"status":"unavailable","reason":"warming up"}</c>, so a load balancer sends no webhook to a node whose first
/// deliveries would pay for JIT compilation, EF Core query compilation and empty caches (issue 13: a multi-second tail
/// in the first seconds after a start).
/// </summary>
internal sealed class StartupReadiness : IReadinessGate
{
    private readonly TaskCompletionSource ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>True once warm-up has finished (or was skipped, or failed: a failure is logged, never fatal).</summary>
    public bool IsReady => ready.Task.IsCompleted;

    /// <summary>Completes when <see cref="IsReady"/> becomes true.</summary>
    public Task WhenReady => ready.Task;

    /// <inheritdoc />
    public string Reason => "warming up";

    /// <inheritdoc />
    /// <remarks>Zero: the webhook warm-up can take seconds, and a load balancer's probe wants an answer, not a wait.</remarks>
    public TimeSpan Wait => TimeSpan.Zero;

    /// <inheritdoc />
    public Task Ready => ready.Task;

    /// <summary>Marks the node ready; later calls do nothing.</summary>
    public void MarkReady() => ready.TrySetResult();
}
