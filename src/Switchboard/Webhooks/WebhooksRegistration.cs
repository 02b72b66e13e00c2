using Switchboard.Platform.Database;

namespace Switchboard.Webhooks;

/// <summary>Registers this feature's services (called once from Program.cs).</summary>
internal static class WebhooksRegistration
{
    /// <summary>Outgoing webhooks: options, SSRF policy, the shared HTTP client, the per-endpoint concurrency bound, the event publisher and its endpoint cache.</summary>
    public static WebApplicationBuilder AddWebhooks(this WebApplicationBuilder builder)
    {
        // Webhooks: options, SSRF policy, the shared HTTP client, per-endpoint concurrency bound, event publisher, endpoint cache.
        builder.Services.AddOptions<WebhookOptions>().BindConfiguration(WebhookOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<WebhookUrlPolicy>();
        builder.Services.AddSingleton<WebhookSender>();
        builder.Services.AddSingleton<WebhookEndpointGate>();
        builder.Services.AddScoped<WebhookEventPublisher>();
        builder.Services.AddTenantScopedCache<WebhookEndpointCache>();
        return builder;
    }
}
