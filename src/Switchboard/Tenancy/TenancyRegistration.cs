using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Identity;
using Switchboard.Platform.Database;

namespace Switchboard.Tenancy;

/// <summary>Registers this feature's services (called once from Program.cs).</summary>
internal static class TenancyRegistration
{
    /// <summary>The current tenant per request; authentication by secret API key or dashboard session (cookie), picked per request by a policy scheme; then accounts: users (Identity's password hasher), sessions, lockout, invitations, operators; authorization failures as envelopes.</summary>
    public static WebApplicationBuilder AddTenancy(this WebApplicationBuilder builder)
    {
        // Tenancy: current tenant per request; secret API keys or dashboard sessions (cookie), picked per request by a policy scheme.
        builder.Services.AddScoped<CurrentTenant>();
        builder.Services.AddAuthentication(SessionAuthentication.PolicyScheme)
            .AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null)
            .AddCookie(SessionAuthentication.CookieScheme, o => SessionAuthentication.ConfigureCookie(o, builder.Environment.IsDevelopment()))
            .AddPolicyScheme(SessionAuthentication.PolicyScheme, null, o => o.ForwardDefaultSelector = SessionAuthentication.SelectScheme);
        builder.Services.AddAuthorization(SessionAuthentication.AddPolicies);

        // Accounts: users (Identity's password hasher), sessions, lockout, invitations, operators; authorization failures as envelopes.
        builder.Services.AddOptions<AccountOptions>().BindConfiguration(AccountOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<IPasswordHasher<User>, PasswordHasher<User>>();
        builder.Services.AddScoped<AccountService>();
        builder.Services.AddSingleton<IAuthorizationMiddlewareResultHandler, EnvelopeAuthorizationResultHandler>();
        // Addresses stored before NFKC are rewritten once per database, before the host listens.
        builder.Services.AddHostedService<EmailNormalizationPass>();

        // The webhook path's per-tenant reads (tenant row, default assistant), dropped by any save that touches them.
        builder.Services.AddTenantScopedCache<TenantConfigCache>();
        return builder;
    }
}
