using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Stripe;
using Switchboard.Billing;
using Switchboard.Simulators;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Billing;

/// <summary>
/// The fake Stripe cannot drift from the real wire unnoticed: Stripe.net 53.1.0 talks to it (form bodies, Idempotency-Key,
/// Stripe-Version, error envelope), Stripe.net's <c>EventUtility.ConstructEvent</c> parses and verifies its signed events,
/// the npm <c>stripe</c> package verifies its signatures, and Switchboard's verifier agrees with the published vector.
/// </summary>
public sealed class StripeSimulatorTests : IAsyncLifetime
{
    private const string Secret = "whsec_test_switchboard";
    private StripeSimulator sim = null!;
    private IStripeClient client = null!;

    public async Task InitializeAsync()
    {
        sim = await StripeSimulator.StartAsync();
        client = new StripeClient(new StripeClientOptions
        {
            ApiKey = "sk_test_local",
            ApiBase = sim.BaseUrl,
            MeterEventsBase = sim.BaseUrl,
            HttpClient = new SystemNetHttpClient(new HttpClient(), maxNetworkRetries: 0, enableTelemetry: false),
        });
    }

    public async Task DisposeAsync() => await sim.DisposeAsync();

    private async Task<(Customer Customer, Stripe.Billing.Meter Meter)> CustomerAndMeterAsync()
    {
        var customer = await new CustomerService(client).CreateAsync(new CustomerCreateOptions { Email = "owner@example.test" });
        var meter = await new Stripe.Billing.MeterService(client).CreateAsync(new Stripe.Billing.MeterCreateOptions
        {
            DisplayName = "Voice seconds", EventName = "voice_seconds",
            DefaultAggregation = new Stripe.Billing.MeterDefaultAggregationOptions { Formula = "sum" },
        });
        return (customer, meter);
    }

    [Fact]
    public async Task StripeNetSpeaksToTheFakeWithFormBodiesVersionAndIdempotency()
    {
        var (customer, meter) = await CustomerAndMeterAsync();
        Assert.StartsWith("cus_", customer.Id);
        Assert.Equal("voice_seconds", meter.EventName);

        var options = new Stripe.Billing.MeterEventCreateOptions
        {
            EventName = "voice_seconds", Identifier = "call-1", Timestamp = DateTime.UtcNow.AddMinutes(-1),
            Payload = new() { ["stripe_customer_id"] = customer.Id, ["value"] = "125" },
        };
        var accepted = await new Stripe.Billing.MeterEventService(client).CreateAsync(options, new RequestOptions { IdempotencyKey = "meter:1" });
        Assert.Equal("call-1", accepted.Identifier);
        var request = sim.Requests.Last(r => r.Path == "/v1/billing/meter_events");
        Assert.Equal("125", request.Form["payload[value]"]);
        Assert.Equal(customer.Id, request.Form["payload[stripe_customer_id]"]);
        Assert.Equal(StripeSimulator.ApiVersion, request.StripeVersion);
        Assert.Equal(StripeSimulator.ApiVersion, StripeConfiguration.ApiVersion);

        // The same key and body: Stripe's saved answer again (no second event). Another identifier under that key: refused.
        await new Stripe.Billing.MeterEventService(client).CreateAsync(options, new RequestOptions { IdempotencyKey = "meter:1" });
        Assert.Single(sim.MeterEvents);
        options.Identifier = "call-2";
        var reused = await Assert.ThrowsAsync<StripeException>(() => new Stripe.Billing.MeterEventService(client).CreateAsync(options, new RequestOptions { IdempotencyKey = "meter:1" }));
        Assert.Equal("idempotency_error", reused.StripeError.Type);

        // The identifier is unique whatever the key; timestamps older than 35 days are refused as Stripe refuses them.
        options.Identifier = "call-1";
        var duplicate = await Assert.ThrowsAsync<StripeException>(() => new Stripe.Billing.MeterEventService(client).CreateAsync(options));
        Assert.Equal("resource_already_exists", duplicate.StripeError.Code);
        options.Identifier = "call-3";
        options.Timestamp = DateTime.UtcNow.AddDays(-36);
        var old = await Assert.ThrowsAsync<StripeException>(() => new Stripe.Billing.MeterEventService(client).CreateAsync(options));
        Assert.Equal(HttpStatusCode.BadRequest, old.HttpStatusCode);
        Assert.Equal("timestamp_too_far_in_past", old.StripeError.Code);
        Assert.Single(sim.MeterEvents);

        var missing = await Assert.ThrowsAsync<StripeException>(() => new CustomerService(client).GetAsync("cus_nope"));
        Assert.Equal(HttpStatusCode.NotFound, missing.HttpStatusCode);
        Assert.Equal("resource_missing", missing.StripeError.Code);

        var summary = await new Stripe.Billing.MeterEventSummaryService(client).ListAsync(meter.Id, new Stripe.Billing.MeterEventSummaryListOptions
        {
            Customer = customer.Id, StartTime = DateTime.UtcNow.AddDays(-1), EndTime = DateTime.UtcNow.AddDays(1),
        });
        Assert.Equal(125m, Assert.Single(summary.Data).AggregatedValue);
    }

    private async Task<List<JsonObject>> CheckoutEventsAsync()
    {
        var (customer, meter) = await CustomerAndMeterAsync();
        var product = await new ProductService(client).CreateAsync(new ProductCreateOptions { Id = "switchboard_pro", Name = "Pro" });
        var flat = await new PriceService(client).CreateAsync(new PriceCreateOptions
        {
            Product = product.Id, Currency = "usd", UnitAmount = 14900, Recurring = new PriceRecurringOptions { Interval = "month", UsageType = "licensed" },
        });
        var metered = await new PriceService(client).CreateAsync(new PriceCreateOptions
        {
            Product = product.Id, Currency = "usd", UnitAmountDecimal = 5m,
            Recurring = new PriceRecurringOptions { Interval = "month", UsageType = "metered", Meter = meter.Id },
            TransformQuantity = new PriceTransformQuantityOptions { DivideBy = 60, Round = "up" },
        });
        var session = await new Stripe.Checkout.SessionService(client).CreateAsync(new Stripe.Checkout.SessionCreateOptions
        {
            Mode = "subscription", Customer = customer.Id, ClientReferenceId = "tenant-42",
            LineItems = [new() { Price = flat.Id, Quantity = 1 }, new() { Price = metered.Id }],
            SubscriptionData = new Stripe.Checkout.SessionSubscriptionDataOptions { Metadata = new() { ["tenant_id"] = "tenant-42" } },
            SuccessUrl = "https://example.test/done?session_id={CHECKOUT_SESSION_ID}", CancelUrl = "https://example.test/",
        });
        Assert.StartsWith(sim.BaseUrl + "/checkout/", session.Url);
        await sim.CompleteCheckoutAsync(session.Id);
        var subscription = (string)sim.Get(session.Id)!["subscription"]!;
        await sim.FailPaymentAsync(subscription);
        await sim.PayOpenInvoicesAsync(subscription);
        return [.. sim.Events];
    }

    [Fact]
    public async Task StripeNetEventUtilityParsesAndVerifiesTheFakesEvents()
    {
        var events = await CheckoutEventsAsync();
        Assert.Equal(
            ["customer.subscription.created", "checkout.session.completed", "invoice.paid", "invoice.payment_failed", "customer.subscription.updated", "invoice.paid", "customer.subscription.updated"],
            events.Select(e => (string)e["type"]!).ToArray());
        foreach (var json in events.Select(e => e.ToJsonString()))
        {
            var header = StripeSimulator.Sign(json, Secret, DateTimeOffset.UtcNow.ToUnixTimeSeconds());
            var parsed = EventUtility.ConstructEvent(json, header, Secret); // throws on a bad signature or another API release train
            switch (parsed.Data.Object)
            {
                case Subscription sub:
                    Assert.StartsWith("sub_", sub.Id);
                    Assert.Equal("tenant-42", sub.Metadata["tenant_id"]);
                    Assert.Equal(2, sub.Items.Data.Count);
                    Assert.True(sub.Items.Data[0].CurrentPeriodEnd > sub.Items.Data[0].CurrentPeriodStart);
                    Assert.Equal("metered", sub.Items.Data[1].Price.Recurring.UsageType);
                    break;
                case Stripe.Checkout.Session session:
                    Assert.Equal("tenant-42", session.ClientReferenceId);
                    Assert.Equal("complete", session.Status);
                    Assert.StartsWith("sub_", session.SubscriptionId);
                    break;
                case Invoice invoice:
                    Assert.StartsWith("sub_", invoice.Parent.SubscriptionDetails.SubscriptionId);
                    Assert.StartsWith(sim.BaseUrl + "/invoices/", invoice.HostedInvoiceUrl);
                    Assert.Equal(14900, invoice.AmountDue);
                    break;
                default:
                    Assert.Fail($"unexpected data.object {parsed.Data.Object?.GetType().Name} for {parsed.Type}");
                    break;
            }
        }
        var tooOld = StripeSimulator.Sign(events[0].ToJsonString(), Secret, DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 301);
        Assert.Throws<StripeException>(() => EventUtility.ConstructEvent(events[0].ToJsonString(), tooOld, Secret));
    }

    [Fact]
    public void SwitchboardsVerifierAgreesWithThePublishedVector()
    {
        const string payload = """{"id":"evt_test_1","object":"event","api_version":"2026-10-28.endive","created":1767225600,"type":"invoice.paid","livemode":false,"pending_webhooks":1,"request":{"id":null,"idempotency_key":null},"data":{"object":{"id":"in_test_1","object":"invoice"}}}""";
        const string header = "t=1767225600,v1=0e90a33eccd362f88be2aa2753feee25d137ac2036051f2526b796339d7f7f00";
        var body = Encoding.UTF8.GetBytes(payload);
        var t = DateTimeOffset.FromUnixTimeSeconds(1767225600);
        Assert.Equal(header, StripeSimulator.Sign(payload, Secret, 1767225600));
        Assert.Equal(header, StripeSignature.Header(body, Secret, 1767225600));
        Assert.Equal(StripeSignatureResult.Valid, StripeSignature.Verify(header, body, Secret, t.AddSeconds(299), TimeSpan.FromSeconds(300)));
        Assert.Equal(StripeSignatureResult.Stale, StripeSignature.Verify(header, body, Secret, t.AddSeconds(301), TimeSpan.FromSeconds(300)));
        Assert.Equal(StripeSignatureResult.Valid, StripeSignature.Verify("t=1767225600,v1=" + new string('0', 64) + ",v1=0e90a33eccd362f88be2aa2753feee25d137ac2036051f2526b796339d7f7f00", body, Secret, t, TimeSpan.FromSeconds(300)));
        Assert.Equal(StripeSignatureResult.Invalid, StripeSignature.Verify(header, Encoding.UTF8.GetBytes(payload.Replace("in_test_1", "in_test_2")), Secret, t, TimeSpan.FromSeconds(300)));
        Assert.Equal(StripeSignatureResult.Invalid, StripeSignature.Verify(header, body, "whsec_other", t, TimeSpan.FromSeconds(300)));
        Assert.Equal(StripeSignatureResult.Malformed, StripeSignature.Verify("v1=abc", body, Secret, t, TimeSpan.FromSeconds(300)));
        Assert.Equal(StripeSignatureResult.Missing, StripeSignature.Verify(null, body, Secret, t, TimeSpan.FromSeconds(300)));
    }

    [Fact]
    public async Task TheNpmStripePackageVerifiesTheFakesSignatures()
    {
        if (Environment.GetEnvironmentVariable("SWITCHBOARD_SKIP_INTEROP") == "1")
        {
            return; // the PostgreSQL suite skips the npm oracles, as the Standard Webhooks interop does
        }
        var events = await CheckoutEventsAsync();
        var directory = Path.Combine(Fixtures.RepositoryRoot, "tests", "interop");
        Assert.True(Directory.Exists(Path.Combine(directory, "node_modules", "stripe")), "Run `npm ci --prefix tests/interop` (Node 20+), or set SWITCHBOARD_SKIP_INTEROP=1.");
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var input = new StringBuilder();
        foreach (var json in events.Select(e => e.ToJsonString()))
        {
            input.Append(new JsonObject { ["secret"] = Secret, ["header"] = StripeSimulator.Sign(json, Secret, now), ["body"] = json, ["now"] = now }.ToJsonString()).Append('\n');
        }
        // A forged one, which the library must refuse: the oracle can fail.
        input.Append(new JsonObject { ["secret"] = Secret, ["header"] = StripeSimulator.Sign("{}", "whsec_other", now), ["body"] = "{}", ["now"] = now }.ToJsonString()).Append('\n');
        var start = new ProcessStartInfo("node")
        {
            ArgumentList = { Path.Combine(directory, "stripe", "verify.mjs") },
            WorkingDirectory = directory,
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            StandardInputEncoding = new UTF8Encoding(false), StandardOutputEncoding = Encoding.UTF8,
        };
        using var process = Process.Start(start)!;
        await process.StandardInput.WriteAsync(input.ToString());
        process.StandardInput.Close();
        var output = await process.StandardOutput.ReadToEndAsync();
        var errors = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, errors);
        var verdicts = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(events.Count + 1, verdicts.Count);
        Assert.All(verdicts.Take(events.Count), v => Assert.True(v["ok"]!.GetValue<bool>(), v.ToJsonString()));
        Assert.False(verdicts[^1]["ok"]!.GetValue<bool>());
    }
}
