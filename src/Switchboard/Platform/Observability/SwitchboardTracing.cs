using System.Diagnostics;

namespace Switchboard.Platform.Observability;

/// <summary>
/// Switchboard's own spans (ActivitySource <c>Switchboard</c>) and the W3C Trace Context carried across the outbox:
/// a row enqueued while a span is current stores that span's <c>traceparent</c>
/// (<c>00-{32 hex trace-id}-{16 hex parent-id}-{2 hex flags}</c>, W3C Trace Context §3.2), and the handler's span
/// continues that trace, so one Vapi report reads as one trace from the webhook to the tenant's webhook delivery.
/// </summary>
internal static class SwitchboardTracing
{
    /// <summary>Name of the ActivitySource (and of the Meter in <see cref="SwitchboardMetrics"/>).</summary>
    public const string Name = "Switchboard";

    public static readonly ActivitySource Source = new(Name);

    /// <summary>The current span as a W3C <c>traceparent</c> header value, or null when no W3C span is current.</summary>
    public static string? CurrentTraceParent()
    {
        var current = Activity.Current;
        if (current is null || current.IdFormat != ActivityIdFormat.W3C)
        {
            return null;
        }
        var flags = (current.ActivityTraceFlags & ActivityTraceFlags.Recorded) != 0 ? "01" : "00";
        return $"00-{current.TraceId.ToHexString()}-{current.SpanId.ToHexString()}-{flags}";
    }

    /// <summary>
    /// Starts the span of one outbox message's handler (<c>outbox {kind}</c>, kind Consumer), child of the context stored
    /// on the row when it parses, else a root span; null when nobody listens.
    /// </summary>
    public static Activity? StartOutboxSpan(string kind, string? storedTraceParent, Guid messageId, int attempt)
    {
        var parent = storedTraceParent is not null && ActivityContext.TryParse(storedTraceParent, null, isRemote: true, out var parsed)
            ? parsed
            : default;
        var activity = Source.StartActivity($"outbox {kind}", ActivityKind.Consumer, parent);
        activity?.SetTag("messaging.system", "switchboard.outbox");
        activity?.SetTag("messaging.operation.type", "process");
        activity?.SetTag("switchboard.outbox.kind", kind);
        activity?.SetTag("messaging.message.id", messageId.ToString());
        activity?.SetTag("switchboard.outbox.attempt", attempt);
        return activity;
    }
}
