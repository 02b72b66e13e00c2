using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Stripe;
using Switchboard.Credentials;
using Switchboard.Platform.Database;

namespace Switchboard.Billing;

/// <summary>
/// The Stripe client (Stripe.net 53.1.0, API version <c>2026-10-28.endive</c>) built from <see cref="StripeOptions"/>, over a
/// factory <see cref="HttpClient"/> (traced), pointed at <see cref="StripeOptions.ApiBase"/> when set; and the catalog
/// (plan → price ids, meters, the webhook secret) that <c>stripe-setup</c> stored.
/// </summary>
internal sealed class StripeGateway(IOptions<StripeOptions> options, IHttpClientFactory httpClients)
{
    private readonly Lazy<IStripeClient> client = new(() =>
    {
        var o = options.Value;
        var http = httpClients.CreateClient("stripe");
        return new StripeClient(new StripeClientOptions
        {
            ApiKey = o.SecretKey,
            ApiBase = string.IsNullOrWhiteSpace(o.ApiBase) ? null : o.ApiBase.TrimEnd('/'),
            MeterEventsBase = string.IsNullOrWhiteSpace(o.ApiBase) ? null : o.ApiBase.TrimEnd('/'),
            HttpClient = new SystemNetHttpClient(http, o.MaxNetworkRetries, enableTelemetry: false),
        });
    });

    public StripeOptions Options => options.Value;

    public bool Enabled => options.Value.Enabled;

    /// <summary>The client; only when <see cref="Enabled"/>.</summary>
    public IStripeClient Client => Enabled ? client.Value : throw new InvalidOperationException("Stripe billing is not configured.");

    /// <summary>The catalog as stored by <c>stripe-setup</c>: key → Stripe id.</summary>
    public static async Task<Dictionary<string, string>> CatalogAsync(SwitchboardDbContext db, CancellationToken ct) =>
        await db.BillingCatalog.AsNoTracking().ToDictionaryAsync(e => e.Key, e => e.StripeId, StringComparer.Ordinal, ct);

    /// <summary>The webhook secret: configuration first, else the one <c>stripe-setup</c> stored (encrypted).</summary>
    public async Task<string?> WebhookSecretAsync(SwitchboardDbContext db, SecretProtector secrets, CancellationToken ct)
    {
        if (!string.IsNullOrWhiteSpace(options.Value.WebhookSecret))
        {
            return options.Value.WebhookSecret;
        }
        var stored = await db.BillingCatalog.AsNoTracking().Where(e => e.Key == "webhook_secret").Select(e => e.StripeId).FirstOrDefaultAsync(ct);
        return secrets.Unprotect(stored);
    }
}
