using Switchboard.Calls;
using Switchboard.Platform.Database;

namespace Switchboard.Dashboard;

/// <summary>Registers the dashboard's services and maps its API.</summary>
internal static class DashboardServices
{
    /// <summary>Live events (hub, transport per database provider, the change-tracker interceptor) and the recordings proxy client.</summary>
    public static IServiceCollection AddDashboard(this IServiceCollection services)
    {
        services.AddOptions<DashboardOptions>().BindConfiguration(DashboardOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<LiveEventHub>();
        services.AddSingleton<InProcessLiveEventTransport>();
        services.AddSingleton<PostgresLiveEventTransport>();
        services.AddHostedService(sp => sp.GetRequiredService<PostgresLiveEventTransport>()); // idle on SQLite
        services.AddSingleton<ILiveEventTransport>(sp => sp.GetRequiredService<DatabaseExtensions.EffectiveConnection>().IsPostgres
            ? sp.GetRequiredService<PostgresLiveEventTransport>()
            : sp.GetRequiredService<InProcessLiveEventTransport>());
        services.AddSingleton<LiveEventsInterceptor>();
        services.AddSingleton<IGroupCommitListener>(sp => sp.GetRequiredService<LiveEventsInterceptor>());
        services.ConfigureDbContext<SwitchboardDbContext>((sp, o) => o.AddInterceptors(sp.GetRequiredService<LiveEventsInterceptor>()));
        services.AddRecordingsProxy();
        return services;
    }

    /// <summary><c>/api/v1/events</c>, <c>/api/v1/leads</c>, <c>/api/v1/calls/{id}/recording</c>.</summary>
    public static RouteGroupBuilder MapDashboard(this RouteGroupBuilder api) => api.MapLiveEvents().MapLeads().MapRecordings();
}
