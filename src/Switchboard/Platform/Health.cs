using Switchboard.Platform.Database;

namespace Switchboard.Platform;

/// <summary>
/// <c>/healthz</c> (the process is alive) and <c>/readyz</c> (warm-up done, database reachable and every migration applied;
/// 503 with a reason otherwise).
/// </summary>
internal static class Health
{
    public sealed record HealthStatus(string Status, string? Reason = null, IReadOnlyList<string>? PendingMigrations = null);

    public static IEndpointRouteBuilder MapHealth(this IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", () => TypedResults.Ok(new HealthStatus("ok"))).WithTags("Operations").ExcludeFromDescription();
        app.MapGet("/readyz", ReadyAsync).WithTags("Operations").WithSummary("Readiness: database reachable and migrated");
        return app;
    }

    private static async Task<IResult> ReadyAsync(Migrator migrator, StartupReadiness readiness, ILogger<Migrator> logger, CancellationToken ct)
    {
        if (!readiness.IsReady)
        {
            return TypedResults.Json(new HealthStatus("unavailable", "warming up"), statusCode: 503);
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
