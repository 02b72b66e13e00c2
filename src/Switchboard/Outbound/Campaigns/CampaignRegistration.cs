namespace Switchboard.Outbound.Campaigns;

/// <summary>Registers the campaigns feature (called once from Program.cs).</summary>
internal static class CampaignRegistration
{
    /// <summary>Campaigns: options, the result hook, the dialer and its worker.</summary>
    public static WebApplicationBuilder AddCampaigns(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<CampaignOptions>().BindConfiguration(CampaignOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddScoped<CampaignResults>();
        builder.Services.AddSingleton<CampaignDialer>();
        builder.Services.AddHostedService<CampaignDialerWorker>();
        return builder;
    }
}
