using Switchboard.Platform.Http;
using Switchboard.Tenancy;

namespace Switchboard.Billing;

/// <summary>Registers this feature's services (called once from Program.cs).</summary>
internal static class BillingRegistration
{
    /// <summary>Plans and feature gates, the per-tenant account cache, /api/v1 rate limits by plan, usage metering and the concurrent-call gate.</summary>
    public static WebApplicationBuilder AddBilling(this WebApplicationBuilder builder)
    {
        // Billing: plans and feature gates, the per-tenant account cache, /api/v1 rate limits by plan.
        builder.Services.AddOptions<BillingOptions>().BindConfiguration(BillingOptions.Section);
        builder.Services.AddSingleton<PlanCatalog>();
        builder.Services.AddSingleton<TenantAccountCache>();
        builder.Services.AddSingleton<ApiRateLimiter>();
        builder.Services.AddScoped<UsageMeter>();
        builder.Services.AddScoped<CallConcurrencyGate>();
        return builder;
    }
}
