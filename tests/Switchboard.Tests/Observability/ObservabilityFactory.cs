using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using OpenTelemetry;
using OpenTelemetry.Trace;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Observability;

/// <summary>
/// The self-service host (operator sessions, private webhook receivers allowed) with a scrape token for <c>/metrics</c>
/// and every finished span kept by OpenTelemetry's in-memory exporter. Activity listeners are process-wide, so
/// <see cref="Spans"/> also holds other hosts' spans: tests pick theirs by trace id.
/// </summary>
public sealed class ObservabilityFactory : SelfServiceFactory
{
    public const string ScrapeToken = "scrape-token-for-tests-0123456789";

    internal ConcurrentQueue<Activity> Spans { get; } = new();

    protected override IDictionary<string, string?> MoreSettings => new Dictionary<string, string?>
    {
        ["Switchboard:Observability:ScrapeToken"] = ScrapeToken,
        ["Switchboard:Observability:Tracing"] = "true", // spans go to Spans, not to an OTLP collector
        ["Switchboard:Webhooks:TimeoutSeconds"] = "2",
    };

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.ConfigureTestServices(services => services.ConfigureOpenTelemetryTracerProvider(t => t.AddProcessor(new SimpleActivityExportProcessor(new QueueExporter(Spans)))));
    }

    /// <summary>Like the in-memory exporter, into a concurrent queue (spans end on several threads at once).</summary>
    private sealed class QueueExporter(ConcurrentQueue<Activity> into) : BaseExporter<Activity>
    {
        public override ExportResult Export(in Batch<Activity> batch)
        {
            foreach (var activity in batch)
            {
                into.Enqueue(activity);
            }
            return ExportResult.Success;
        }
    }
}
