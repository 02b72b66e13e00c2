using Switchboard.Alerts;
using Switchboard.Twilio;
using Switchboard.Webhooks;

namespace Switchboard.Outbox;

/// <summary>Registers this feature's services (called once from Program.cs).</summary>
internal static class OutboxRegistration
{
    /// <summary>The outbox: options, the SMS, recording and webhook handlers, the processor and its worker.</summary>
    public static WebApplicationBuilder AddOutbox(this WebApplicationBuilder builder)
    {
        // Outbox: handlers, processor, worker.
        builder.Services.AddOptions<OutboxOptions>().BindConfiguration(OutboxOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddScoped<IOutboxHandler, SmsSendHandler>();
        builder.Services.AddScoped<IOutboxHandler, TwilioRecordingStartHandler>();
        builder.Services.AddScoped<IOutboxHandler, WebhookDeliveryHandler>();
        builder.Services.AddSingleton<OutboxProcessor>();
        builder.Services.AddHostedService<OutboxWorker>();
        return builder;
    }
}
