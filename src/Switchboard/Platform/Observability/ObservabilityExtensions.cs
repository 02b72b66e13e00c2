using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Authorization;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Switchboard.Platform.Http;
using Switchboard.Tenancy;

namespace Switchboard.Platform.Observability;

/// <summary>
/// Traces (ASP.NET Core, HttpClient, Npgsql and Switchboard's own spans), metrics (<see cref="SwitchboardMetrics"/>, ASP.NET
/// Core, HttpClient), OTLP export when configured, <c>GET /metrics</c> in Prometheus text format, and console logs
/// (readable in Development, JSON elsewhere).
/// </summary>
internal static class ObservabilityExtensions
{
    /// <summary>Authorization policy of <c>GET /metrics</c>: an operator's session, or the configured scrape token.</summary>
    public const string MetricsPolicy = "metrics-scrape";

    /// <summary>ASP.NET Core 10's server memory-pool meter (<c>aspnetcore.memory_pool.*</c>), not exported (see where it is dropped).</summary>
    private const string KestrelMemoryPoolMeter = "Microsoft.AspNetCore.MemoryPool";

    public static WebApplicationBuilder AddObservability(this WebApplicationBuilder builder)
    {
        var section = builder.Configuration.GetSection(ObservabilityOptions.Section);
        builder.Services.AddOptions<ObservabilityOptions>().BindConfiguration(ObservabilityOptions.Section);
        var settings = section.Get<ObservabilityOptions>() ?? new ObservabilityOptions();

        // Logs: readable lines in Development; structured JSON with scopes (TenantId, CallId) elsewhere. Secrets are never logged.
        builder.Logging.ClearProviders();
        if (builder.Environment.IsDevelopment())
        {
            builder.Logging.AddSimpleConsole(o => { o.IncludeScopes = true; o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; });
        }
        else
        {
            builder.Logging.AddJsonConsole(o =>
            {
                o.IncludeScopes = true;
                o.UseUtcTimestamp = true;
                o.TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z' ";
            });
        }

        builder.Services.AddSingleton<OutboxGauges>();
        builder.Services.AddSingleton<SwitchboardMetrics>();
        builder.Services.AddAuthorization(o => o.AddPolicy(MetricsPolicy, p => p.RequireAssertion(ctx =>
            ctx.User.HasClaim(SwitchboardClaims.Operator, "true")
            || (ctx.Resource is HttpContext http && ScrapeTokenMatches(http, http.RequestServices.GetRequiredService<Microsoft.Extensions.Options.IOptions<ObservabilityOptions>>().Value.ScrapeToken)))));

        var exporting = !string.IsNullOrWhiteSpace(settings.OtlpEndpoint) || !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        var otel = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("switchboard", serviceInstanceId: Environment.MachineName));
        if (settings.Tracing ?? exporting)
        {
            otel.WithTracing(t => t
                .AddSource(SwitchboardTracing.Name)
                .AddSource("Npgsql")
                .AddAspNetCoreInstrumentation(o => o.Filter = http => !IsScrapeOrProbe(http.Request.Path))
                .AddHttpClientInstrumentation());
        }
        otel.WithMetrics(m => m
                .AddMeter(SwitchboardTracing.Name)
                // The runtime's own meter (.NET 9+: learn.microsoft.com/dotnet/core/diagnostics/built-in-metrics-runtime): GC
                // collections and pause time, heap sizes, thread-pool queue, lock contention. Observable instruments, read only when
                // scraped. Issue 13: the p99 at 500 msg/s is made of collector pauses and scheduling, which these show.
                .AddMeter("System.Runtime")
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0));
        // Meters made by an IMeterFactory belong to one host: another host in the same process (tests, tools) stays out.
        // Kestrel's memory-pool meter records every buffer rented and returned, twice per WebSocket frame on a media call:
        // ~1 % of the bridge's CPU in a profile at 200 calls for figures nobody reads (issue 16, bench/results/bridge-cpu-2026-12-01.md).
        builder.Services.ConfigureOpenTelemetryMeterProvider((sp, m) =>
        {
            var own = sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
            m.AddView(instrument => instrument.Meter.Name == KestrelMemoryPoolMeter
                || (instrument.Meter.Scope is not null && !ReferenceEquals(instrument.Meter.Scope, own)) ? MetricStreamConfiguration.Drop : null);
        });

        if (!string.IsNullOrWhiteSpace(settings.OtlpEndpoint))
        {
            var protocol = settings.OtlpProtocol is "http/protobuf" or "http" ? OtlpExportProtocol.HttpProtobuf : OtlpExportProtocol.Grpc;
            otel.UseOtlpExporter(protocol, new Uri(settings.OtlpEndpoint));
            builder.Services.AddHostedService<OutboxGaugeSampler>();
        }
        else if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            otel.UseOtlpExporter(); // endpoint, protocol and headers from the OTEL_EXPORTER_OTLP_* variables
            builder.Services.AddHostedService<OutboxGaugeSampler>();
        }
        return builder;
    }

    /// <summary>
    /// <c>GET /metrics</c> (Prometheus text format 0.0.4): behind <see cref="MetricsPolicy"/>, or anonymous on
    /// <see cref="ObservabilityOptions.MetricsPort"/> only when that is set. Database-held figures are sampled first.
    /// </summary>
    public static WebApplication MapMetrics(this WebApplication app)
    {
        var settings = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<ObservabilityOptions>>().Value;
        app.Use(async (http, next) =>
        {
            if (http.Request.Path.Equals("/metrics", StringComparison.Ordinal))
            {
                // With its own port, /metrics answers on that port only: the connection's local port decides, never the Host
                // header (a request to the public port saying "Host: node:9464" must not get anonymous metrics).
                if (settings.MetricsPort is { } port && http.Connection.LocalPort != port)
                {
                    await ApiError.NotFound("NOT_FOUND", "No such resource.").ExecuteAsync(http);
                    return;
                }
                if (HttpMethods.IsGet(http.Request.Method))
                {
                    await http.RequestServices.GetRequiredService<OutboxGauges>().RefreshAsync(http.RequestAborted);
                }
            }
            await next(http);
        });
        var endpoint = app.MapPrometheusScrapingEndpoint("/metrics");
        if (settings.MetricsPort is not null)
        {
            endpoint.AllowAnonymous(); // reached only through the metrics port (above)
        }
        else
        {
            endpoint.RequireAuthorization(MetricsPolicy);
        }
        return app;
    }

    private static bool IsScrapeOrProbe(PathString path) =>
        path.StartsWithSegments("/metrics") || path.StartsWithSegments("/healthz") || path.StartsWithSegments("/readyz");

    private static bool ScrapeTokenMatches(HttpContext http, string? token)
    {
        if (string.IsNullOrEmpty(token))
        {
            return false;
        }
        var header = http.Request.Headers.Authorization.ToString();
        const string prefix = "Bearer ";
        if (!header.StartsWith(prefix, StringComparison.Ordinal))
        {
            return false;
        }
        return CryptographicOperations.FixedTimeEquals(
            SHA256.HashData(Encoding.UTF8.GetBytes(header[prefix.Length..])), SHA256.HashData(Encoding.UTF8.GetBytes(token)));
    }
}
