namespace Switchboard.Outbound;

/// <summary>Registers live transfer (called once from Program.cs).</summary>
internal static class TransferRegistration
{
    /// <summary>Transfer options (validated at start-up), Twilio's call-control client, the transfer service.</summary>
    public static WebApplicationBuilder AddTransfers(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<TransferOptions>().BindConfiguration(TransferOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddHttpClient<TwilioCallControl>((sp, http) =>
            http.Timeout = TimeSpan.FromSeconds(sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<Twilio.TwilioOptions>>().Value.TimeoutSeconds));
        builder.Services.AddScoped<TransferService>();
        return builder;
    }
}
