namespace Switchboard.Vapi;

/// <summary>Registers this feature's services (called once from Program.cs).</summary>
internal static class VapiRegistration
{
    /// <summary>The Vapi webhook's options, credential cache, per-tenant rate limit, message processor and start-up warm-up.</summary>
    public static WebApplicationBuilder AddVapi(this WebApplicationBuilder builder)
    {
        // Vapi: webhook options, credential cache, per-tenant rate limit, message processor.
        builder.Services.AddOptions<VapiOptions>().BindConfiguration(VapiOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<VapiTenantCache>();
        builder.Services.AddSingleton<VapiRateLimiter>();
        builder.Services.AddKeyedSingleton<Platform.KeyedAsyncLock>(VapiWebhookApi.CallOrder); // one message of a call at a time
        builder.Services.AddSingleton<FireAndForgetSlots>(); // PostgreSQL: request/response messages ahead of fire-and-forget ones
        builder.Services.AddScoped<VapiEventProcessor>();
        builder.Services.AddSingleton<Platform.StartupReadiness>(); // /readyz waits for the warm-up below
        builder.Services.AddSingleton<Platform.IReadinessGate>(sp => sp.GetRequiredService<Platform.StartupReadiness>());
        builder.Services.AddHostedService<VapiWarmup>();
        builder.Services.AddSingleton<VapiMissingReportCloser>(); // calls whose end-of-call report never came
        builder.Services.AddHostedService<VapiMissingReportCloserWorker>();
        return builder;
    }
}
