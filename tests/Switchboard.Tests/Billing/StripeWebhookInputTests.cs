using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Switchboard.Billing;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Billing;

/// <summary>
/// Well-signed Stripe events whose content is not what the applier expects (the outside probe of 2026-12-07): a field of
/// the wrong JSON type, a time outside what a <see cref="DateTimeOffset"/> holds, text that cannot be read or stored.
/// Each was a 500, which Stripe retries for three days (stripe-billing.md §6.2); each is now a 2xx or a 400 that says why.
/// </summary>
[Trait("Category", "Database")]
public sealed class StripeWebhookInputTests(StripeBillingFactory factory) : IClassFixture<StripeBillingFactory>
{
    [Theory]
    [InlineData("\"x\"")]
    [InlineData("[{\"object\":{\"id\":\"sub_1\"}}]")]
    [InlineData("7")]
    public async Task ASignedEventWhoseDataIsNotAnObjectIsAcknowledgedAndChangesNothing(string data)
    {
        var (owner, subscription) = await factory.SubscribeAsync("starter");
        var id = "evt_" + Guid.NewGuid().ToString("N");
        var body = $"{{\"id\":\"{id}\",\"object\":\"event\",\"type\":\"customer.subscription.deleted\",\"created\":{Now()},\"data\":{data}}}";

        var response = await PostAsync(Encoding.UTF8.GetBytes(body));

        Assert.Equal("ignored: no data.object", (await response.JsonAsync(HttpStatusCode.OK))["outcome"]!.GetValue<string>());
        var account = await factory.AccountAsync(owner.TenantId);
        Assert.Equal(("starter", subscription), (account.PlanId, account.StripeSubscriptionId));
        Assert.Equal(1, await factory.WithDbAsync(null, db => db.StripeEvents.CountAsync(e => e.Id == id)));
    }

    [Theory]
    [InlineData("\"x\"")]
    [InlineData("[]")]
    [InlineData("{\"data\":[\"price_1\",5,null,[]]}")]
    public async Task ASubscriptionWhoseItemsAreMalformedIsAppliedWithItsPlanKept(string items)
    {
        var (owner, subscription) = await factory.SubscribeAsync("starter");
        var sub = factory.Stripe.Get(subscription)!.DeepClone().AsObject();
        sub.Remove("metadata"); // the plan is then read from the items
        sub["items"] = JsonNode.Parse(items);
        factory.Clock.Advance(TimeSpan.FromSeconds(1));
        var ev = factory.Stripe.NewEvent("customer.subscription.updated", sub);

        var response = await PostAsync(Encoding.UTF8.GetBytes(ev.ToJsonString()));

        Assert.Equal("applied", (await response.JsonAsync(HttpStatusCode.OK))["outcome"]!.GetValue<string>());
        Assert.Equal("starter", (await factory.AccountAsync(owner.TenantId)).PlanId);
    }

    [Fact]
    public async Task APaymentFailureWithATextAttemptCountAndAFarNextAttemptStillStartsTheGrace()
    {
        var (owner, _) = await factory.SubscribeAsync("starter");
        var customer = (await factory.AccountAsync(owner.TenantId)).StripeCustomerId!;
        var invoice = new JsonObject
        {
            ["id"] = "in_" + Guid.NewGuid().ToString("N"), ["object"] = "invoice", ["customer"] = customer, ["amount_due"] = 4900, ["currency"] = "usd",
            ["attempt_count"] = "3", ["next_payment_attempt"] = 99_999_999_999_999,
        };
        var ev = factory.Stripe.NewEvent("invoice.payment_failed", invoice);

        var response = await PostAsync(Encoding.UTF8.GetBytes(ev.ToJsonString()));

        Assert.Equal("applied", (await response.JsonAsync(HttpStatusCode.OK))["outcome"]!.GetValue<string>());
        Assert.NotNull((await factory.AccountAsync(owner.TenantId)).GraceEndsAt);
    }

    [Theory]
    [InlineData("99999999999999")]
    [InlineData("-99999999999999")]
    [InlineData("\"\\ud800\"")]
    public async Task AnEventCreatedOutsideTheCalendarIsAcknowledged(string created)
    {
        await factory.EnsureSetUpAsync();
        var id = "evt_" + Guid.NewGuid().ToString("N");
        var body = $"{{\"id\":\"{id}\",\"type\":\"invoice.paid\",\"created\":{created},\"data\":{{\"object\":{{\"id\":\"in_1\",\"customer\":\"cus_nobody\"}}}}}}";

        var response = await PostAsync(Encoding.UTF8.GetBytes(body));

        Assert.Equal("ignored: unknown customer", (await response.JsonAsync(HttpStatusCode.OK))["outcome"]!.GetValue<string>());
        Assert.Equal(1, await factory.WithDbAsync(null, db => db.StripeEvents.CountAsync(e => e.Id == id)));
    }

    [Theory]
    [InlineData("\"evt_\\ud800\"", "\"invoice.paid\"")]
    [InlineData("\"evt_nul\\u0000\"", "\"invoice.paid\"")]
    [InlineData("\"evt_bad_utf8_\xFF\"", "\"invoice.paid\"")]
    [InlineData("\"evt_ok\"", "\"invoice.paid\\udc00\"")]
    public async Task AnEventWhoseIdOrTypeIsNotUsableTextIsMalformedAndNotStored(string id, string type)
    {
        await factory.EnsureSetUpAsync();
        var before = await factory.WithDbAsync(null, db => db.StripeEvents.CountAsync());
        var body = Encoding.Latin1.GetBytes($"{{\"id\":{id},\"type\":{type},\"created\":{Now()},\"data\":{{\"object\":{{\"id\":\"in_1\"}}}}}}");

        var response = await PostAsync(body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("MALFORMED_EVENT", await response.ErrorCodeAsync());
        Assert.Equal(before, await factory.WithDbAsync(null, db => db.StripeEvents.CountAsync()));
    }

    [Fact]
    public async Task UnusableTextInsideTheObjectIsReplacedAndTheEventApplied()
    {
        await factory.EnsureSetUpAsync();
        var id = "evt_" + Guid.NewGuid().ToString("N");
        var body = Encoding.Latin1.GetBytes(
            $"{{\"id\":\"{id}\",\"type\":\"invoice.paid\",\"created\":{Now()},\"data\":{{\"object\":{{\"id\":\"in_\\u0000\\ud800\",\"customer\":\"cus_\xFF\"}}}}}}");

        var response = await PostAsync(body);

        Assert.Equal("ignored: unknown customer", (await response.JsonAsync(HttpStatusCode.OK))["outcome"]!.GetValue<string>());
        Assert.Equal("in_\uFFFD\uFFFD", await factory.WithDbAsync(null, db => db.StripeEvents.Where(e => e.Id == id).Select(e => e.ObjectId).SingleAsync()));
    }

    private long Now() => factory.Clock.GetUtcNow().ToUnixTimeSeconds();

    /// <summary>Posts the raw bytes (not re-encoded) with the endpoint's signature.</summary>
    private async Task<HttpResponseMessage> PostAsync(byte[] body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/webhooks/stripe") { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new("application/json");
        request.Headers.TryAddWithoutValidation("Stripe-Signature", StripeSignature.Header(body, factory.WebhookSecret, Now()));
        return await factory.CreateClient().SendAsync(request);
    }
}

/// <summary>A thin event whose full form cannot be fetched because Stripe cannot be reached at all (connection refused).</summary>
[Trait("Category", "Database")]
public sealed class StripeUnreachableTests(StripeUnreachableTests.Factory factory) : IClassFixture<StripeUnreachableTests.Factory>
{
    /// <summary>The host with Stripe on a port where nothing listens, and the webhook secret configured directly.</summary>
    public sealed class Factory : SelfServiceFactory
    {
        internal const string Secret = "whsec_unreachable_test";

        protected override IDictionary<string, string?> MoreSettings => new Dictionary<string, string?>
        {
            ["Switchboard:Stripe:SecretKey"] = "sk_test_switchboard",
            ["Switchboard:Stripe:ApiBase"] = "http://127.0.0.1:9",
            ["Switchboard:Stripe:MaxNetworkRetries"] = "0",
            ["Switchboard:Stripe:WorkersEnabled"] = "false",
            ["Switchboard:Stripe:WebhookSecret"] = Secret,
        };
    }

    [Fact]
    public async Task AThinEventWhenStripeCannotBeReachedIsA503AndNotStored()
    {
        var id = "evt_thin_" + Guid.NewGuid().ToString("N");
        var body = Encoding.UTF8.GetBytes($"{{\"id\":\"{id}\",\"object\":\"v2.core.event\",\"type\":\"v1.billing.meter.error_report_triggered\","
            + $"\"created\":\"{factory.Clock.GetUtcNow():O}\",\"related_object\":{{\"id\":\"mtr_1\",\"type\":\"billing.meter\"}}}}");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/webhooks/stripe") { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new("application/json");
        request.Headers.TryAddWithoutValidation("Stripe-Signature", StripeSignature.Header(body, Factory.Secret, factory.Clock.GetUtcNow().ToUnixTimeSeconds()));

        var response = await factory.CreateClient().SendAsync(request);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("STRIPE_UNAVAILABLE", await response.ErrorCodeAsync());
        Assert.False(await factory.WithDbAsync(null, db => db.StripeEvents.AnyAsync(e => e.Id == id)));
    }
}
