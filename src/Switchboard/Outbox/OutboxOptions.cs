using System.ComponentModel.DataAnnotations;

namespace Switchboard.Outbox;

/// <summary>Configuration section <c>Switchboard:Outbox</c>.</summary>
internal sealed class OutboxOptions
{
    public const string Section = "Switchboard:Outbox";

    /// <summary>Run the background worker on this node (tests drive <see cref="OutboxProcessor"/> directly).</summary>
    public bool WorkerEnabled { get; set; } = true;

    /// <summary>Idle poll interval in milliseconds.</summary>
    [Range(10, 60_000)]
    public int PollIntervalMs { get; set; } = 500;

    /// <summary>Rows claimed per poll.</summary>
    [Range(1, 1000)]
    public int BatchSize { get; set; } = 20;

    /// <summary>
    /// Messages processed concurrently per node. Most handlers wait on the network (webhooks, Twilio), not the CPU, and each
    /// then waits for its result's commit, which a writer saturated by webhooks makes tens of milliseconds: with 16 the worker
    /// delivered about a third of what the webhook path gave it at full load (bench ingest closed loop: 18 s behind after
    /// 25 s); with 64 it keeps up (1 – 3 s). Each one holds a DI scope and, while sending, a per-endpoint slot
    /// (<c>Switchboard:Webhooks:MaxConcurrencyPerEndpoint</c>).
    /// </summary>
    [Range(1, 256)]
    public int MaxDegreeOfParallelism { get; set; } = 64;

    /// <summary>Attempts before a message becomes a dead letter.</summary>
    [Range(1, 100)]
    public int MaxAttempts { get; set; } = 10;

    /// <summary>
    /// This node's name in claims (<c>LockedBy</c> is <c>{NodeId}|{process id}|{boot id}</c>); the machine name when empty.
    /// Nodes sharing a database must have distinct names: on start-up a node takes back at once the leases its own
    /// previous incarnations held (same name, a process that is no longer running, or this process's earlier host),
    /// and leaves every other node's leases to expire.
    /// </summary>
    [MaxLength(50)]
    public string? NodeId { get; set; }

    /// <summary>How long a claim lasts, in seconds; a crashed worker's rows are retried after it.</summary>
    [Range(5, 3600)]
    public int LeaseSeconds { get; set; } = 120;
}
