namespace Switchboard.Twilio;

/// <summary>Registers this feature's services (called once from Program.cs).</summary>
internal static class TwilioRegistration
{
    /// <summary>Twilio's options and REST client for SMS.</summary>
    public static WebApplicationBuilder AddTwilioSms(this WebApplicationBuilder builder)
    {
        // Twilio: REST client for SMS.
        builder.Services.AddOptions<TwilioOptions>().BindConfiguration(TwilioOptions.Section);
        builder.Services.AddHttpClient<TwilioRestClient>((sp, http) =>
            http.Timeout = TimeSpan.FromSeconds(sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<TwilioOptions>>().Value.TimeoutSeconds));
        return builder;
    }
}
