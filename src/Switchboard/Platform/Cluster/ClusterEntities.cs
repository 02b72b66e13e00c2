namespace Switchboard.Platform.Cluster;

/// <summary>
/// One fixed-window counter (PostgreSQL): requests counted for <see cref="Key"/> (e.g. <c>api:tenant:{id}</c>) in the
/// window starting at <see cref="WindowStart"/> (Unix seconds). Incremented with one UPSERT … RETURNING; rows past
/// <see cref="ExpiresAt"/> are deleted.
/// </summary>
internal sealed class RateLimitCounter
{
    public required string Key { get; set; }
    public long WindowStart { get; set; }
    public int Count { get; set; }
    public DateTimeOffset ExpiresAt { get; set; }
}

/// <summary>
/// One slot of a cluster-wide concurrency bound (PostgreSQL): slot <see cref="Slot"/> (0 … limit−1) of <see cref="Key"/>
/// held by <see cref="Holder"/> until released or <see cref="ExpiresAt"/> (so a crashed node's slot frees itself).
/// </summary>
internal sealed class ConcurrencyLease
{
    public required string Key { get; set; }
    public int Slot { get; set; }
    public Guid Holder { get; set; }
    public DateTimeOffset ExpiresAt { get; set; }
}

/// <summary>A media-stream token already accepted by some node (its nonce), kept until the token would have expired anyway.</summary>
internal sealed class StreamTokenUse
{
    public required string Nonce { get; set; }
    public Guid CallId { get; set; }
    public DateTimeOffset ExpiresAt { get; set; }
}
