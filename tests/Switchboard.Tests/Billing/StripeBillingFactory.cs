using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Switchboard.Billing;
using Switchboard.Simulators;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Billing;

/// <summary>
/// The host with Stripe billing pointed at <see cref="StripeSimulator"/> (Stripe.net's own retries off, so the outbox's
/// retries are what a test sees; the billing sweep off, tests drive it), the catalog created by <c>stripe-setup</c>
/// (webhook endpoint <c>http://localhost/webhooks/stripe</c>, delivered through the in-memory host's client), and the
/// fake on the host's clock.
/// </summary>
public sealed class StripeBillingFactory : SelfServiceFactory
{
    private readonly Lazy<StripeSimulator> stripe = new(() => StripeSimulator.StartAsync().GetAwaiter().GetResult());
    private readonly SemaphoreSlim setupGate = new(1, 1);
    private bool setUp;

    internal StripeSimulator Stripe => stripe.Value;

    internal StringWriter SetupOutput { get; } = new();

    protected override IDictionary<string, string?> MoreSettings => new Dictionary<string, string?>
    {
        ["Switchboard:Stripe:SecretKey"] = "sk_test_switchboard",
        ["Switchboard:Stripe:ApiBase"] = Stripe.BaseUrl,
        ["Switchboard:Stripe:MaxNetworkRetries"] = "0",
        ["Switchboard:Stripe:WorkersEnabled"] = "false",
        ["Switchboard:Stripe:GraceDays"] = "7",
        ["Switchboard:Stripe:TrialCreditCents"] = "2500",
        ["Switchboard:Stripe:EventDestinationSecret"] = EventDestinationSecret,
    };

    /// <summary>Runs <c>stripe-setup</c> once and wires the fake's webhook delivery to this host.</summary>
    internal async Task EnsureSetUpAsync()
    {
        await setupGate.WaitAsync();
        try
        {
            if (setUp)
            {
                return;
            }
            Stripe.Clock = Clock;
            Stripe.WebhookClient = CreateClient();
            Assert.Equal(0, await StripeSetupCommand.RunAsync(Services, ["--webhook-url", WebhookUrl], SetupOutput, CancellationToken.None));
            setUp = true;
        }
        finally
        {
            setupGate.Release();
        }
    }

    internal const string WebhookUrl = "http://localhost/webhooks/stripe";

    /// <summary>The secret of the (thin) event destination the host is configured with.</summary>
    internal const string EventDestinationSecret = "whsec_destination_test";

    /// <summary>The signing secret the fake holds for the endpoint <c>stripe-setup</c> created.</summary>
    internal string WebhookSecret => (string)Stripe.All("webhook_endpoint").Single(e => (string?)e["url"] == WebhookUrl)["secret"]!;

    /// <summary>Signs up an owner, sends them through Checkout for <paramref name="planId"/> on the fake, and returns the session and subscription.</summary>
    internal async Task<(SignedIn Owner, string SubscriptionId)> SubscribeAsync(string planId = "pro", SignedIn? owner = null)
    {
        await EnsureSetUpAsync();
        owner ??= await SignUpAsync();
        var checkout = await (await owner.Client.PostAsJsonAsync("/api/v1/billing/checkout", new { planId })).JsonAsync(System.Net.HttpStatusCode.OK);
        var session = await Stripe.CompleteCheckoutAsync(checkout["sessionId"]!.GetValue<string>());
        Clock.Advance(TimeSpan.FromSeconds(1));
        return (owner, (string)session["subscription"]!);
    }

    /// <summary>Posts a raw event to the webhook with a signature made with <paramref name="secret"/> at <paramref name="timestamp"/>.</summary>
    internal async Task<HttpResponseMessage> PostStripeAsync(string body, string secret, long timestamp)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/webhooks/stripe") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.TryAddWithoutValidation("Stripe-Signature", StripeSimulator.Sign(body, secret, timestamp));
        return await CreateClient().SendAsync(request);
    }

    internal Task<Switchboard.Tenancy.TenantAccount> AccountAsync(Guid tenantId) =>
        WithDbAsync(null, db => db.TenantAccounts.IgnoreQueryFilters().AsNoTracking().FirstAsync(a => a.TenantId == tenantId));

    internal static JsonObject Event(JsonObject ev) => ev;

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing && stripe.IsValueCreated)
        {
            stripe.Value.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }
}
