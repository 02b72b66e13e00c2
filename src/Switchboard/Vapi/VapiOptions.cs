using System.ComponentModel.DataAnnotations;

namespace Switchboard.Vapi;

/// <summary>Configuration section <c>Switchboard:Vapi</c>.</summary>
internal sealed class VapiOptions
{
    public const string Section = "Switchboard:Vapi";

    /// <summary>
    /// Least number of throttled webhook messages per tenant per minute (Paul's contract: 100), whatever the plan; the window
    /// is <see cref="RateLimitPerLinePerMinute"/> × the plan's concurrent lines when that is more (<see cref="VapiRateLimiter"/>).
    /// </summary>
    [Range(1, 1_000_000)]
    public int RateLimitPerMinute { get; set; } = 100;

    /// <summary>
    /// Throttled webhook messages (speech-updates, transcripts, conversation-updates…) per minute per concurrent line of the
    /// tenant's plan: 600 (10 a second for each live call, above what a call with every server message turned on sends). 0
    /// leaves <see cref="RateLimitPerMinute"/> alone.
    /// </summary>
    [Range(0, 1_000_000)]
    public int RateLimitPerLinePerMinute { get; set; } = 600;

    /// <summary>
    /// Largest accepted body in bytes (default 16 MiB). An end-of-call report carries the conversation several times over
    /// (<c>artifact.messages</c>, <c>messagesOpenAIFormatted</c>, the transcript text): about 1 MB an hour of talk, and Vapi
    /// lets a call last up to 12 hours (<c>maxDurationSeconds</c> ≤ 43,200). A report refused here is a call lost with its
    /// lead and its emergency text, and Vapi does not resend it: an outside probe's 2.6 MB report got 413 against the
    /// former 2 MiB. Below Kestrel's own limit (30,000,000 bytes), which applies first.
    /// </summary>
    [Range(1024, 64 * 1024 * 1024)]
    public int MaxBodyBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>How far a signed timestamp may be from now, in seconds.</summary>
    [Range(1, 86_400)]
    public int ReplayWindowSeconds { get; set; } = 300;

    /// <summary>Origins answered on CORS preflight for the webhook (browser-side tools, Vapi's dashboard).</summary>
    public string[] AllowedOrigins { get; set; } = ["https://dashboard.vapi.ai"];

    /// <summary>Warm the webhook path before <c>/readyz</c> reports ready (<see cref="VapiWarmup"/>); the test host turns it off.</summary>
    public bool WarmUpOnStart { get; set; } = true;

    /// <summary>Longest warm-up, in seconds; past it the node becomes ready anyway.</summary>
    [Range(1, 600)]
    public int WarmUpTimeoutSeconds { get; set; } = 60;

    /// <summary>
    /// Longest time, in seconds, the warm-up repeats its synthetic call and HTTP requests after the first pass so that the
    /// runtime recompiles the hot path with its final code before ready (<see cref="VapiWarmup.WarmTieringAsync"/>); it stops
    /// sooner when the JIT has settled. 0: one pass only. Counted inside <see cref="WarmUpTimeoutSeconds"/>.
    /// </summary>
    [Range(0, 600)]
    public int WarmUpTieringSeconds { get; set; } = 30;

    /// <summary>
    /// PostgreSQL: most fire-and-forget messages (status updates, transcripts, reports…) written at once by this node; more
    /// wait for a slot, while request/response messages (<see cref="VapiWebhookApi.RequestResponseTypes"/>: the call waits on
    /// the answer) never do, so under load they reach the database ahead of the queue (issue 13; SQLite orders its single
    /// writer by the same priority instead). 0: no limit. Default: two fewer than the connection pool's <c>Maximum Pool
    /// Size</c>, 1 – 16 (<see cref="FireAndForgetSlots.DefaultSlots"/>), so those two stay free for request/response messages.
    /// </summary>
    [Range(0, 10_000)]
    public int? PostgresFireAndForgetConcurrency { get; set; }

    /// <summary>
    /// Whether <see cref="VapiMissingReportCloser"/> runs once a minute, closing Vapi calls whose end-of-call report never came.
    /// Default true.
    /// </summary>
    public bool MissingReportCloserEnabled { get; set; } = true;

    /// <summary>Minutes without any message of a Vapi call after which it is closed without its report. Default 15.</summary>
    [Range(1, 24 * 60)]
    public int MissingReportMinutes { get; set; } = 15;

    /// <summary>Minutes after a <c>status-update</c> said a Vapi call ended, without its report, after which it is closed. Default 5.</summary>
    [Range(1, 24 * 60)]
    public int MissingReportAfterEndedMinutes { get; set; } = 5;

    /// <summary>Base URL of Vapi's REST API (a simulator in tests).</summary>
    public string ApiBaseUrl { get; set; } = "https://api.vapi.ai";
}
