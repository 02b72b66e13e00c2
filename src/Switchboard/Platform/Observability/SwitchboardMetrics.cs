using System.Diagnostics;
using System.Diagnostics.Metrics;
using Switchboard.Platform.Database;
using Switchboard.Realtime.Bridge;

namespace Switchboard.Platform.Observability;

/// <summary>
/// Switchboard's instruments on the Meter <c>Switchboard</c> (created through this host's <see cref="IMeterFactory"/>):
/// <list type="bullet">
/// <item><c>switchboard.voice.calls.active</c> (up-down, {call}): media streams bridged right now.</item>
/// <item><c>switchboard.voice.bridge.latency</c> (gauge, s, tag <c>quantile</c> 0.5/0.99): provider audio delta read →
/// frame handed to Twilio, from the bridge's lock-free histogram (the per-frame path records nothing more).</item>
/// <item><c>switchboard.outbox.depth</c> (gauge, {message}, tag <c>state</c> pending/due/dead): rows by state, sampled
/// from the database by <see cref="OutboxGauges"/>.</item>
/// <item><c>switchboard.outbox.oldest_due.age</c> (gauge, s): how long the oldest due, unclaimed-or-expired row has waited.</item>
/// <item><c>switchboard.outbox.dead_letters</c> (counter, {message}, tag <c>kind</c>): rows that became dead letters.</item>
/// <item><c>switchboard.outbox.deferred</c> (counter, {message}, tag <c>kind</c>): runs a handler deferred without an attempt
/// (a webhook endpoint's slots all held).</item>
/// <item><c>switchboard.webhook.delivery.duration</c> (histogram, s, tags <c>http.response.status_code</c>, <c>outcome</c>
/// succeeded/failed): each attempt to deliver to a tenant's endpoint.</item>
/// <item><c>switchboard.signatures.rejected</c> (counter, {request}, tags <c>provider</c> vapi/twilio, <c>reason</c>).</item>
/// <item><c>switchboard.sms</c> (counter, {message}, tag <c>status</c> sent/failed/simulated): SMS settled by the outbox.</item>
/// <item><c>switchboard.vapi.message.phase.duration</c> (histogram, s, tags <c>phase</c>, <c>message</c>
/// request_response/fire_and_forget): where a Vapi server message's time went on this node (<see cref="VapiMessagePhases"/>).</item>
/// </list>
/// In Prometheus text the dots become underscores, counters gain <c>_total</c> and seconds <c>_seconds</c>.
/// </summary>
internal sealed class SwitchboardMetrics
{
    private readonly Counter<long> deadLetters;
    private readonly Counter<long> deferred;
    private readonly Histogram<double> webhookDuration;
    private readonly Counter<long> rejectedSignatures;
    private readonly Counter<long> sms;
    private readonly Histogram<double> vapiPhase;

    public SwitchboardMetrics(IMeterFactory meters, VoiceMetrics voice, OutboxGauges outbox, IServiceProvider services,
        DatabaseExtensions.EffectiveConnection connection)
    {
        var meter = meters.Create(SwitchboardTracing.Name);
        if (!connection.IsPostgres)
        {
            // Resolved at the first scrape: the metrics do not build the group commit (nor its listeners) before anything writes.
            var groupCommit = new Lazy<SqliteGroupCommit>(services.GetRequiredService<SqliteGroupCommit>);
            meter.CreateObservableCounter("switchboard.sqlite.group_commit.batches", () => groupCommit.Value.Batches, "{transaction}",
                "SQLite write transactions the group commit committed (each one COMMIT, its WAL frames appended once).");
            meter.CreateObservableCounter("switchboard.sqlite.group_commit.units", () => groupCommit.Value.Units, "{unit}",
                "Units of work (a webhook's write, an outbox claim or result) those transactions held: units per batch is this over the batches.");
        }
        meter.CreateObservableUpDownCounter("switchboard.voice.calls.active", () => voice.ActiveCalls, "{call}", "Media streams bridged right now.");
        meter.CreateObservableGauge("switchboard.voice.bridge.latency", () => BridgeLatency(voice), "s",
            "Provider audio delta read to frame sent to Twilio, at quantiles 0.5 and 0.99.");
        meter.CreateObservableGauge("switchboard.outbox.depth", () => outbox.Depth(), "{message}",
            "Outbox rows by state: pending (all), due (pending and due now), dead (dead letters kept).");
        meter.CreateObservableGauge("switchboard.outbox.oldest_due.age", () => outbox.OldestDueAgeSeconds(), "s",
            "How long the oldest due outbox row has waited past its due time (0 when none is due).");
        deadLetters = meter.CreateCounter<long>("switchboard.outbox.dead_letters", "{message}", "Outbox rows that became dead letters.");
        deferred = meter.CreateCounter<long>("switchboard.outbox.deferred", "{message}",
            "Outbox runs that did not start (a webhook endpoint's slots all held): the row is due again later, not counted as an attempt.");
        webhookDuration = meter.CreateHistogram("switchboard.webhook.delivery.duration", "s", "Attempts to deliver an event to a tenant's webhook endpoint.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] });
        rejectedSignatures = meter.CreateCounter<long>("switchboard.signatures.rejected", "{request}", "Provider webhooks and media streams refused for their signature.");
        sms = meter.CreateCounter<long>("switchboard.sms", "{message}", "SMS settled by the outbox, by status.");
        vapiPhase = meter.CreateHistogram("switchboard.vapi.message.phase.duration", "s",
            "Where a Vapi server message's time went on this node, by phase (call_order, prepare, writer_wait, write, durable_wait; process on PostgreSQL).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = PhaseBuckets });
    }

    /// <summary>
    /// True in an async flow whose outcomes are not the installation's: the start-up warm-up's rolled-back synthetic call
    /// (<see cref="Vapi.VapiWarmup"/>), whose webhook delivery is refused and whose SMS is simulated for a tenant that never
    /// existed. Set inside an async method, it ends with that method. The counters and histograms below record nothing then.
    /// </summary>
    internal static readonly AsyncLocal<bool> Muted = new();

    public void DeadLettered(string kind)
    {
        if (!Muted.Value)
        {
            deadLetters.Add(1, new KeyValuePair<string, object?>("kind", kind));
        }
    }

    /// <summary>Counts one outbox run its handler deferred (<c>OutboxResult.Defer</c>), by <paramref name="kind"/>.</summary>
    public void Deferred(string kind)
    {
        if (!Muted.Value)
        {
            deferred.Add(1, new KeyValuePair<string, object?>("kind", kind));
        }
    }

    /// <summary>Records one delivery attempt to a tenant's webhook endpoint.</summary>
    /// <param name="statusCode">The receiver's HTTP status, or null when no response came (timeout, refused, blocked): tagged 0.</param>
    /// <param name="succeeded">A 2xx response.</param>
    /// <param name="latencyMs">Request sent to response read (ms).</param>
    public void WebhookDelivered(int? statusCode, bool succeeded, int latencyMs)
    {
        if (Muted.Value)
        {
            return;
        }
        var tags = new TagList
        {
            { "http.response.status_code", statusCode ?? 0 },
            { "outcome", succeeded ? "succeeded" : "failed" },
        };
        webhookDuration.Record(latencyMs / 1000.0, tags);
    }

    /// <param name="provider"><c>vapi</c> or <c>twilio</c>.</param>
    /// <param name="reason"><c>missing</c>, <c>stale</c> or <c>invalid</c>.</param>
    public void SignatureRejected(string provider, string reason)
    {
        if (!Muted.Value)
        {
            rejectedSignatures.Add(1, new KeyValuePair<string, object?>("provider", provider), new KeyValuePair<string, object?>("reason", reason));
        }
    }

    /// <param name="status"><c>sent</c>, <c>failed</c> or <c>simulated</c>.</param>
    public void SmsSettled(string status)
    {
        if (!Muted.Value)
        {
            sms.Add(1, new KeyValuePair<string, object?>("status", status));
        }
    }

    /// <summary>
    /// Bucket bounds (s) of <c>switchboard.vapi.message.phase.duration</c>: fine around issue 13's 25 ms p99 target, where a
    /// phase's tail has to be told apart from the next one's.
    /// </summary>
    internal static readonly double[] PhaseBuckets =
        [0.0005, 0.001, 0.002, 0.003, 0.004, 0.006, 0.008, 0.010, 0.0125, 0.015, 0.0175, 0.020, 0.025, 0.030, 0.040, 0.050, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5];

    /// <summary>
    /// Records where one Vapi server message's time went (<see cref="System.Diagnostics.Stopwatch"/> timestamps), each phase
    /// as one observation of <c>switchboard.vapi.message.phase.duration</c>:
    /// <c>call_order</c> (<paramref name="started"/> → <paramref name="ordered"/>: waiting for the same call's previous message on
    /// this node); on SQLite, from <paramref name="unit"/>, <c>prepare</c> (→ queued for the writer: reads and decisions outside
    /// it), <c>writer_wait</c> (→ handed the writer's connection), <c>write</c> (→ its statements done) and <c>durable_wait</c>
    /// (→ its batch committed and the WAL synced), that last one also in its parts: <c>batch_wait</c> (→ its batch's COMMIT
    /// returned: the units handed the connection after it), <c>sync_wait</c> (→ the WAL holding it synced) and <c>resume</c>
    /// (→ its awaiter running again); on PostgreSQL (<paramref name="unit"/> empty) <c>process</c>
    /// (<paramref name="ordered"/> → <paramref name="ended"/>). <paramref name="requestResponse"/> tags <c>message</c>.
    /// </summary>
    public void VapiMessagePhases(bool requestResponse, long started, long ordered, GroupCommitTimes unit, long ended)
    {
        if (Muted.Value)
        {
            return;
        }
        var message = new KeyValuePair<string, object?>("message", requestResponse ? "request_response" : "fire_and_forget");
        Phase("call_order", started, ordered);
        if (unit.Answered == 0)
        {
            Phase("process", ordered, ended);
            return;
        }
        Phase("prepare", ordered, unit.Queued);
        Phase("writer_wait", unit.Queued, unit.Granted);
        Phase("write", unit.Granted, unit.WorkDone);
        Phase("durable_wait", unit.WorkDone, unit.Answered);
        // durable_wait's three parts: the rest of its batch ran, the WAL sync, the awaiter's resumption.
        Phase("batch_wait", unit.WorkDone, unit.BatchCommitted);
        Phase("sync_wait", unit.BatchCommitted, unit.Synced);
        Phase("resume", unit.Synced, unit.Answered);

        void Phase(string phase, long from, long to) =>
            vapiPhase.Record(Math.Max(0, Stopwatch.GetElapsedTime(from, to).TotalSeconds), message, new KeyValuePair<string, object?>("phase", phase));
    }

    private static IEnumerable<Measurement<double>> BridgeLatency(VoiceMetrics voice)
    {
        if (voice.BridgeLatency.Count == 0)
        {
            yield break;
        }
        yield return new Measurement<double>(voice.BridgeLatency.Quantile(0.5) / 1e6, new KeyValuePair<string, object?>("quantile", "0.5"));
        yield return new Measurement<double>(voice.BridgeLatency.Quantile(0.99) / 1e6, new KeyValuePair<string, object?>("quantile", "0.99"));
    }
}
