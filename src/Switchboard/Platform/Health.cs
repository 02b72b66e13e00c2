using Microsoft.AspNetCore.Mvc;
using Switchboard.Platform.Database;

namespace Switchboard.Platform;

/// <summary>
/// Start-up work that must finish before <c>/readyz</c> says ready (e.g. the media bridge's warm-up, so the first call after
/// a deploy is not the slow one). Registered as a singleton <see cref="IReadinessGate"/>; <c>/readyz</c> waits up to
/// <see cref="Health.GateWait"/> for each, then answers 503 with its <see cref="Name"/>.
/// </summary>
internal interface IReadinessGate
{
    /// <summary>For the 503 reason, e.g. <c>media bridge warm-up</c>.</summary>
    string Name { get; }

    /// <summary>Completes (never faults) once the work is done or given up.</summary>
    Task Ready { get; }
}

/// <summary>
/// <c>/healthz</c> (the process is alive) and <c>/readyz</c> (start-up gates passed, database reachable and every migration
/// applied).
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
                await gate.Ready.WaitAsync(GateWait, ct);
            }
            catch (TimeoutException)
            {
                return TypedResults.Json(new HealthStatus("unavailable", gate.Name + " in progress"), statusCode: 503);
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
