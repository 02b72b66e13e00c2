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
        builder.Services.AddOutboxHandler<SmsSendHandler>(SmsSendHandler.Kind);
        builder.Services.AddOutboxHandler<TwilioRecordingStartHandler>(TwilioRecordingStartHandler.Kind);
        builder.Services.AddOutboxHandler<WebhookDeliveryHandler>(WebhookDeliveryHandler.Kind);
        builder.Services.AddOutboxBatchReader<WebhookDeliveryBatchReader>(WebhookDeliveryHandler.Kind);
        builder.Services.AddScoped<OutboxBatchRead>();
        builder.Services.AddSingleton<OutboxProcessor>();
        builder.Services.AddHostedService<OutboxWorker>();
        return builder;
    }
}

/// <summary>How a feature registers the handler of one outbox message kind.</summary>
internal static class OutboxHandlerRegistration
{
    /// <summary>
    /// Registers <typeparamref name="THandler"/> (scoped) as the handler of outbox messages whose <see cref="OutboxMessage.Kind"/> is
    /// <paramref name="kind"/> (the handler's own <see cref="IOutboxHandler.Kind"/>): keyed by the kind, so the processor
    /// builds only the one handler a message needs (issue 13: building every handler, typed HTTP clients included, for each
    /// message was a tenth of the outbox's per-message CPU), and in the <see cref="IOutboxHandler"/> list as before.
    /// </summary>
    public static IServiceCollection AddOutboxHandler<THandler>(this IServiceCollection services, string kind)
        where THandler : class, IOutboxHandler
    {
        services.AddKeyedScoped<IOutboxHandler, THandler>(kind);
        services.AddScoped(sp => sp.GetRequiredKeyedService<IOutboxHandler>(kind));
        return services;
    }

    /// <summary>
    /// Registers <typeparamref name="TReader"/> (scoped) as the batch reader of outbox messages whose kind is <paramref name="kind"/>:
    /// the processor runs it once per claimed batch holding two or more of them (<see cref="IOutboxBatchReader"/>).
    /// </summary>
    public static IServiceCollection AddOutboxBatchReader<TReader>(this IServiceCollection services, string kind)
        where TReader : class, IOutboxBatchReader
    {
        services.AddKeyedScoped<IOutboxBatchReader, TReader>(kind);
        return services;
    }
}
