using System.ComponentModel.DataAnnotations;

namespace Switchboard.Webhooks;

/// <summary>Configuration section <c>Switchboard:Webhooks</c>: tenant webhook delivery and URL policy.</summary>
internal sealed class WebhookOptions
{
    public const string Section = "Switchboard:Webhooks";

    /// <summary>Allow <c>http://</c> endpoint URLs. Unset: only in the Development environment.</summary>
    public bool? AllowInsecureUrls { get; set; }

    /// <summary>
    /// Allow loopback, private (RFC 1918), link-local, CGNAT and unique-local IPv6 destinations. Unset: only in the
    /// Development environment. Cloud metadata addresses (169.254.169.254, fd00:ec2::254, 168.63.129.16) are never allowed.
    /// </summary>
    public bool? AllowPrivateNetworks { get; set; }

    /// <summary>Per-attempt timeout in seconds, connection to response excerpt (Svix Cloud: 15 s).</summary>
    [Range(1, 120)]
    public int TimeoutSeconds { get; set; } = 15;

    /// <summary>
    /// Requests in flight to one endpoint (per node on SQLite, across nodes on PostgreSQL). Up to as many more deliveries wait
    /// on each node for a slot (<see cref="SlotWaitMilliseconds"/>); the rest are deferred by 1–3 s without counting as an attempt.
    /// </summary>
    [Range(1, 64)]
    public int MaxConcurrencyPerEndpoint { get; set; } = 4;

    /// <summary>
    /// Longest wait, in milliseconds of wall time, of a delivery for one of its endpoint's slots before it is deferred (it holds
    /// an outbox worker slot meanwhile, so this bounds what a saturated endpoint costs the others). 0: never wait (defer at once).
    /// </summary>
    [Range(0, 10_000)]
    public int SlotWaitMilliseconds { get; set; } = 500;

    /// <summary>Bytes of each response body kept in the delivery log.</summary>
    [Range(64, 16_384)]
    public int ResponseExcerptBytes { get; set; } = 1024;

    /// <summary>Default overlap, in hours, during which the previous secret keeps signing after a rotation.</summary>
    [Range(0, 168)]
    public double SecretOverlapHours { get; set; } = 24;

    /// <summary>An endpoint failing every attempt for this many hours is disabled and the tenant alerted (Svix: 5 days).</summary>
    [Range(1, 24 * 60)]
    public int DisableAfterFailingHours { get; set; } = 120;

    /// <summary>Endpoints per tenant.</summary>
    [Range(1, 1000)]
    public int MaxEndpointsPerTenant { get; set; } = 20;

    /// <summary>Random extra delay added to each retry, as a percentage of it (0–25), so retries to one receiver spread out.</summary>
    [Range(0, 25)]
    public int RetryJitterPercent { get; set; } = 10;
}
