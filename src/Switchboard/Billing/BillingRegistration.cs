using Switchboard.Outbox;
using Switchboard.Platform.Http;
using Switchboard.Tenancy;

namespace Switchboard.Billing;

/// <summary>Registers this feature's services (called once from Program.cs).</summary>
internal static class BillingRegistration
{
    /// <summary>Plans and feature gates, the per-tenant account cache, /api/v1 rate limits by plan, usage metering, the concurrent-call gate, and Stripe billing.</summary>
    public static WebApplicationBuilder AddBilling(this WebApplicationBuilder builder)
    {
        // Billing: plans and feature gates, the per-tenant account cache, /api/v1 rate limits by plan.
        builder.Services.AddOptions<BillingOptions>().BindConfiguration(BillingOptions.Section);
        builder.Services.AddSingleton<PlanCatalog>();
        builder.Services.AddSingleton<TenantAccountCache>();
        builder.Services.AddSingleton<ApiRateLimiter>();
        builder.Services.AddScoped<UsageMeter>();
        builder.Services.AddScoped<CallConcurrencyGate>();
        // Stripe billing (off without Switchboard:Stripe:SecretKey): client, webhook applier, meter events through the outbox, sweep and reconciliation.
        builder.Services.AddOptions<StripeOptions>().BindConfiguration(StripeOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddHttpClient("stripe");
        builder.Services.AddSingleton<StripeGateway>();
        builder.Services.AddSingleton<PlanChangePolicy>();
        builder.Services.AddScoped<StripeEventApplier>();
        builder.Services.AddScoped<BillingReconciler>();
        builder.Services.AddOutboxHandler<MeterEventHandler>(MeterEventHandler.Kind);
        builder.Services.AddOutboxHandler<DuplicateSubscriptionHandler>(DuplicateSubscriptionHandler.Kind);
        builder.Services.AddScoped<BillingSuspensions>();
        builder.Services.AddScoped<MeterErrorReports>();
        builder.Services.AddHostedService<BillingWorker>();
        builder.Services.AddHostedService<BillingSuspensionWorker>();
        return builder;
    }
}
