using Switchboard.Platform.Database;
using Switchboard.Tenancy;

namespace Switchboard.Compliance;

/// <summary>Registers this feature's services (called once from Program.cs).</summary>
internal static class ComplianceRegistration
{
    /// <summary>The append-only, hash-chained audit log; export, erasure (caller, tenant) and the retention worker.</summary>
    public static WebApplicationBuilder AddCompliance(this WebApplicationBuilder builder)
    {
        // Compliance: the append-only, hash-chained audit log.
        builder.Services.AddSingleton<AuditLog>();
        builder.Services.ConfigureDbContext<SwitchboardDbContext>(o => o.AddInterceptors(new AppendOnlyAuditInterceptor()));

        // Compliance: export, erasure (caller, tenant), retention worker.
        builder.Services.AddScoped<ExportWriter>();
        builder.Services.AddScoped<ErasureService>();
        builder.Services.AddSingleton<TenantCaches>();
        builder.Services.AddOptions<RetentionOptions>().BindConfiguration(RetentionOptions.Section);
        builder.Services.AddScoped<RetentionService>();
        builder.Services.AddHostedService<RetentionWorker>();
        return builder;
    }
}
