using Switchboard.Platform;
using Switchboard.Platform.Cluster;
using Switchboard.Platform.Net;

namespace Switchboard.Credentials;

/// <summary>Registers this feature's services (called once from Program.cs).</summary>
internal static class CredentialsRegistration
{
    /// <summary>The Data Protection key ring and <see cref="SecretProtector"/>, then tenants' provider secrets (encrypted, previews only) and their live checks against tenant-supplied base URLs (SSRF policy at connect time, no redirects).</summary>
    public static WebApplicationBuilder AddCredentials(this WebApplicationBuilder builder)
    {
        // Cluster: the Data Protection key ring in the database, encrypted with the master key (config, else data/master.key); data/keys imported.
        builder.Services.AddSharedKeyRing();
        builder.Services.AddClusterLimits(); // rate windows and concurrency leases (cluster-wide on PostgreSQL), one-use stream tokens
        builder.Services.AddSingleton<SecretProtector>();

        // Credentials: tenants' provider secrets (encrypted, previews only), live checks against configurable base URLs.
        builder.Services.AddOptions<CredentialOptions>().BindConfiguration(CredentialOptions.Section)
            .PostConfigure(o => o.AllowPrivateBaseUrls |= builder.Environment.IsDevelopment());
        builder.Services.AddScoped<CredentialStore>();
        builder.Services.AddScoped<CredentialChecker>();
        builder.Services.AddHttpClient(CredentialChecker.HttpClientName)  // tenant-supplied hosts: SSRF policy at connect time, no redirects
            .ConfigurePrimaryHttpMessageHandler(sp => OutboundPolicy.CreateHandler(
                () => sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<CredentialOptions>>().Value.AllowPrivateBaseUrls, TimeSpan.FromSeconds(10)));
        builder.Services.AddOptions<PublicUrlOptions>().BindConfiguration(PublicUrlOptions.Section)
            .PostConfigure<IConfiguration>((options, config) => options.DefaultToListeningUrl(config));
        return builder;
    }
}
