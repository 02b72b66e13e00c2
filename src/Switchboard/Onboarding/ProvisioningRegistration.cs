using Switchboard.Assistants;
using Switchboard.Numbers;
using Switchboard.Outbox;
using Switchboard.Twilio;
using Switchboard.Vapi;

namespace Switchboard.Onboarding;

/// <summary>Registers this feature's services (called once from Program.cs).</summary>
internal static class ProvisioningRegistration
{
    /// <summary>Provisioning: the Vapi REST client and Twilio's IncomingPhoneNumbers client; assistants and numbers pushed through the outbox; onboarding.</summary>
    public static WebApplicationBuilder AddProvisioning(this WebApplicationBuilder builder)
    {
        // Provisioning: Vapi REST client, Twilio IncomingPhoneNumbers client; assistants and numbers pushed through the outbox.
        builder.Services.AddHttpClient<VapiRestClient>((sp, http) => http.Timeout = TimeSpan.FromSeconds(30));
        builder.Services.AddHttpClient<TwilioNumbersClient>((sp, http) =>
            http.Timeout = TimeSpan.FromSeconds(sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<TwilioOptions>>().Value.TimeoutSeconds));
        builder.Services.AddScoped<AssistantService>();
        builder.Services.AddScoped<NumberService>();
        builder.Services.AddScoped<OnboardingService>();
        builder.Services.AddOutboxHandler<VapiAssistantSyncHandler>(VapiAssistantSyncHandler.Kind);
        builder.Services.AddOutboxHandler<NumberSyncHandler>(NumberSyncHandler.Kind);
        return builder;
    }
}
