using Microsoft.AspNetCore.Mvc;
using Switchboard.Platform.Database;

namespace Switchboard.Platform;

/// <summary>
/// Start-up work that must finish before <c>/readyz</c> says ready (the media bridge's warm-up, so the first call after a
/// deploy is not the slow one; the webhook path's warm-up, <see cref="StartupReadiness"/>). Registered as singletons of
/// <see cref="IReadinessGate"/>; <c>/readyz</c> waits up to each gate's <see cref="Wait"/>, then answers 503 with its
/// <see cref="Reason"/>.
/// </summary>
internal interface IReadinessGate
{
    /// <summary>The 503 reason while the gate is closed, e.g. <c>media bridge warm-up in progress</c>.</summary>
    string Reason { get; }

    /// <summary>How long <c>/readyz</c> may wait for the gate before answering 503 (zero: answer at once).</summary>
    TimeSpan Wait { get; }

    /// <summary>Completes (never faults) once the work is done or given up.</summary>
    Task Ready { get; }
}

/// <summary>
/// <c>/healthz</c> (the process is alive) and <c>/readyz</c> (start-up gates passed, database reachable and every migration
/// applied; 503 with a reason otherwise).
/// </summary>
internal static class Health
{
    /// <summary>How long <c>/readyz</c> waits for a start-up gate before answering 503.</summary>
    public static readonly TimeSpan GateWait = TimeSpan.FromSeconds(10);

    public sealed record HealthStatus(string Status, string? Reason = null, IReadOnlyList<string>? PendingMigrations = null);

    public static IEndpointRouteBuilder MapHealth(this IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", () => TypedResults.Ok(new HealthStatus("ok"))).WithTags("Operations").ExcludeFromDescription();
        app.MapGet("/readyz", ReadyAsync).WithTags("Operations").WithSummary("Readiness: database reachable and migrated");
        return app;
    }

    private static async Task<IResult> ReadyAsync(
        Migrator migrator, [FromServices] IEnumerable<IReadinessGate> gates, ILogger<Migrator> logger, CancellationToken ct)
    {
        foreach (var gate in gates)
        {
            try
            {
                await gate.Ready.WaitAsync(gate.Wait, ct);
            }
            catch (TimeoutException)
            {
                return TypedResults.Json(new HealthStatus("unavailable", gate.Reason), statusCode: 503);
            }
        }
        try
        {
            var pending = await migrator.PendingAsync(ct);
            return pending.Count == 0
                ? TypedResults.Ok(new HealthStatus("ready"))
                : TypedResults.Json(new HealthStatus("unavailable", "migrations pending", pending), statusCode: 503);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning(e, "Readiness check failed");
            return TypedResults.Json(new HealthStatus("unavailable", "database unreachable"), statusCode: 503);
        }
    }
}
