using Switchboard.Outbox;
using Switchboard.Realtime.Bridge;
using Switchboard.Twilio;

namespace Switchboard.Realtime;

/// <summary>Registers this feature's services (called once from Program.cs).</summary>
internal static class VoiceRegistration
{
    /// <summary>Native voice: Twilio webhooks behind proxies, media-stream tokens, recordings, the realtime provider and the media bridge.</summary>
    public static WebApplicationBuilder AddVoice(this WebApplicationBuilder builder)
    {
        // Native voice: Twilio webhooks behind proxies, media-stream tokens, recordings, the realtime provider and the media bridge.
        builder.Services.AddSwitchboardForwardedHeaders(builder.Configuration);
        builder.Services.AddOptions<VoiceOptions>().BindConfiguration(VoiceOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<RealtimeOptions>().BindConfiguration(RealtimeOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<TwilioWebhookUrls>();
        builder.Services.AddSingleton<MediaStreamTokens>();
        builder.Services.AddHttpClient<TwilioCallsClient>((sp, http) =>
            http.Timeout = TimeSpan.FromSeconds(sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<TwilioOptions>>().Value.TimeoutSeconds));
        builder.Services.AddSingleton<RealtimeConnector>();
        builder.Services.AddSingleton<VoiceMetrics>();
        builder.Services.AddSingleton<VoiceCallStore>();
        builder.Services.AddSingleton<BridgeRegistry>();
        builder.Services.AddSingleton(sp => new BridgeServices(
            sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<RealtimeOptions>>(), sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<VoiceOptions>>(),
            sp.GetRequiredService<RealtimeConnector>(), sp.GetRequiredService<TranscriptSink>(), sp.GetRequiredService<VoiceMetrics>(),
            sp.GetRequiredService<VoiceCallStore>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILoggerFactory>()));
        builder.Services.AddSingleton<TranscriptSink>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<TranscriptSink>());
        builder.Services.AddHostedService<BridgeTicker>();
        // Native calls whose end never came (stream and status callback lost) are ended once a minute.
        builder.Services.AddSingleton<NativeCallCloser>();
        builder.Services.AddHostedService<NativeCallCloserWorker>();
        builder.Services.AddOutboxHandler<NativeCallCloseHandler>(NativeCallCloseHandler.Kind); // a stream accepted, its start never saved
        // The first call after a start is as fast as the rest: the bridge path is compiled before /readyz says ready.
        builder.Services.AddSingleton<BridgeWarmup>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<BridgeWarmup>());
        builder.Services.AddSingleton<Switchboard.Platform.IReadinessGate>(sp => sp.GetRequiredService<BridgeWarmup>());
        return builder;
    }
}
