using Microsoft.Extensions.Options;
using Switchboard.Outbox;
using Switchboard.Twilio;

namespace Switchboard.Outbound;

/// <summary>Registers this feature's services (called once from Program.cs).</summary>
internal static class OutboundRegistration
{
    /// <summary>Outbound calls: the Twilio Calls client, the do-not-call list, the placer and its outbox handler.</summary>
    public static WebApplicationBuilder AddOutbound(this WebApplicationBuilder builder)
    {
        builder.Services.AddHttpClient<TwilioOutboundClient>((sp, http) =>
            http.Timeout = TimeSpan.FromSeconds(sp.GetRequiredService<IOptions<TwilioOptions>>().Value.TimeoutSeconds));
        builder.Services.AddScoped<DoNotCallList>();
        builder.Services.AddScoped<OutboundCalls>();
        builder.Services.AddScoped<AutoCallbacks>();
        builder.Services.AddOutboxHandler<OutboundPlaceHandler>(OutboundPlaceHandler.Kind);
        return builder;
    }
}
