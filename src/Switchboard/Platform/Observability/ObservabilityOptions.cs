namespace Switchboard.Platform.Observability;

/// <summary>Settings under <c>Switchboard:Observability</c>.</summary>
internal sealed class ObservabilityOptions
{
    public const string Section = "Switchboard:Observability";

    /// <summary>
    /// OTLP collector for traces, metrics and logs (e.g. <c>http://collector:4317</c>); when empty the standard
    /// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> variable is used; when both are empty nothing is exported.
    /// </summary>
    public string? OtlpEndpoint { get; set; }

    /// <summary><c>grpc</c> (default, port 4317) or <c>http/protobuf</c> (port 4318), as <c>OTEL_EXPORTER_OTLP_PROTOCOL</c>.</summary>
    public string? OtlpProtocol { get; set; }

    /// <summary>
    /// When set, <c>GET /metrics</c> answers only on this port, without authentication (the port must also be in
    /// <c>urls</c>, e.g. <c>http://0.0.0.0:8080;http://0.0.0.0:9464</c>, and kept off the public network). When unset,
    /// <c>/metrics</c> answers on every port to an operator's session or to <see cref="ScrapeToken"/>.
    /// </summary>
    public int? MetricsPort { get; set; }

    /// <summary>A bearer token a Prometheus scraper presents (<c>Authorization: Bearer …</c>); compared in constant time.</summary>
    public string? ScrapeToken { get; set; }

    /// <summary>
    /// Record spans (traces): by default only when an OTLP endpoint is configured (<see cref="OtlpEndpoint"/> or
    /// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>), since nothing else reads them and every request, query-bearing handler and HTTP call
    /// would pay for its span (issue 13). <c>true</c> records them anyway (a processor added in code, as the tests do);
    /// <c>false</c> never does. Without spans, outbox rows carry no <c>traceparent</c> and outgoing calls send none.
    /// </summary>
    public bool? Tracing { get; set; }

    /// <summary>How often the database-held outbox figures are sampled while OTLP export is on (seconds).</summary>
    public int SampleSeconds { get; set; } = 15;
}
