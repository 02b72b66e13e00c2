using System.Globalization;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Stripe;
using Switchboard.Credentials;
using Switchboard.Platform;
using Switchboard.Platform.Database;

namespace Switchboard.Billing;

/// <summary>
/// <c>switchboard stripe-setup [--webhook-url URL]</c>: creates in the configured Stripe account, idempotently (found
/// first by id, lookup key, event name or URL, created only when missing), the billing meters <c>voice_seconds</c> and
/// <c>chat_messages</c> (sum), one product per paid plan (<c>switchboard_{plan}</c>) with three monthly prices (lookup keys
/// <c>switchboard_{plan}_base</c> licensed at the plan's price, <c>_minutes</c> metered on <c>voice_seconds</c> per started
/// minute of the period total, <c>_messages</c> metered on <c>chat_messages</c>), and the webhook endpoint
/// <c>{PublicBaseUrl}/webhooks/stripe</c> pinned to Stripe.net's API version. The ids go to <c>billing_catalog</c>
/// (the endpoint's signing secret encrypted), and each line printed says <c>created</c> or <c>exists</c>.
/// Exit codes: 0 done, 1 Stripe refused, 2 not configured.
/// </summary>
internal static class StripeSetupCommand
{
    public static async Task<int> RunAsync(IServiceProvider services, string[] args, TextWriter output, CancellationToken ct)
    {
        await services.GetRequiredService<Migrator>().MigrateAsync(ct);
        await using var scope = services.CreateAsyncScope();
        var stripe = scope.ServiceProvider.GetRequiredService<StripeGateway>();
        if (!stripe.Enabled)
        {
            await Console.Error.WriteLineAsync("Stripe is not configured: set Switchboard__Stripe__SecretKey first.");
            return 2;
        }
        var db = scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>();
        var plans = scope.ServiceProvider.GetRequiredService<PlanCatalog>();
        var secrets = scope.ServiceProvider.GetRequiredService<SecretProtector>();
        var clock = scope.ServiceProvider.GetRequiredService<TimeProvider>();
        var urlIndex = Array.IndexOf(args, "--webhook-url");
        var webhookUrl = urlIndex >= 0 && urlIndex + 1 < args.Length
            ? args[urlIndex + 1]
            : scope.ServiceProvider.GetRequiredService<IOptions<PublicUrlOptions>>().Value.Url("/webhooks/stripe");
        var o = stripe.Options;
        var client = stripe.Client;

        async Task SaveAsync(string key, string id)
        {
            var row = await db.BillingCatalog.FirstOrDefaultAsync(e => e.Key == key, ct);
            if (row is null)
            {
                db.BillingCatalog.Add(new BillingCatalogEntry { Key = key, StripeId = id, UpdatedAt = clock.GetUtcNow() });
            }
            else if (row.StripeId != id)
            {
                row.StripeId = id;
                row.UpdatedAt = clock.GetUtcNow();
            }
            await db.SaveChangesAsync(ct);
        }

        try
        {
            var meters = await new Stripe.Billing.MeterService(client).ListAsync(new Stripe.Billing.MeterListOptions { Limit = 100 }, null, ct);
            var meterIds = new Dictionary<string, string>();
            foreach (var (eventName, display) in new[] { (StripeNames.VoiceMeter, "Voice seconds"), (StripeNames.ChatMeter, "Chat messages") })
            {
                var meter = meters.Data.FirstOrDefault(m => m.EventName == eventName && m.Status == "active");
                var verb = "exists ";
                if (meter is null)
                {
                    meter = await new Stripe.Billing.MeterService(client).CreateAsync(new Stripe.Billing.MeterCreateOptions
                    {
                        DisplayName = display,
                        EventName = eventName,
                        DefaultAggregation = new Stripe.Billing.MeterDefaultAggregationOptions { Formula = "sum" },
                        CustomerMapping = new Stripe.Billing.MeterCustomerMappingOptions { Type = "by_id", EventPayloadKey = "stripe_customer_id" },
                        ValueSettings = new Stripe.Billing.MeterValueSettingsOptions { EventPayloadKey = "value" },
                    }, new RequestOptions { IdempotencyKey = "setup:meter:" + eventName }, ct);
                    verb = "created";
                }
                meterIds[eventName] = meter.Id;
                await SaveAsync("meter:" + eventName, meter.Id);
                await output.WriteLineAsync($"{verb} meter   {eventName,-28} {meter.Id}");
            }

            foreach (var plan in plans.All.Where(p => p.MonthlyPriceUsd > 0))
            {
                var productId = StripeNames.ProductId(plan.Id);
                var verb = "exists ";
                try
                {
                    await new ProductService(client).GetAsync(productId, null, null, ct);
                }
                catch (StripeException e) when (e.StripeError?.Code == "resource_missing")
                {
                    await new ProductService(client).CreateAsync(new ProductCreateOptions
                    {
                        Id = productId,
                        Name = "Switchboard " + plan.Name,
                        Metadata = new Dictionary<string, string> { ["plan_id"] = plan.Id },
                    }, new RequestOptions { IdempotencyKey = "setup:product:" + productId }, ct);
                    verb = "created";
                }
                await SaveAsync("product:" + plan.Id, productId);
                await output.WriteLineAsync($"{verb} product {plan.Id,-28} {productId}");

                var components = new (string Component, PriceCreateOptions Options)[]
                {
                    ("base", new PriceCreateOptions
                    {
                        UnitAmount = (long)(plan.MonthlyPriceUsd * 100),
                        Recurring = new PriceRecurringOptions { Interval = "month", UsageType = "licensed" },
                    }),
                    ("minutes", new PriceCreateOptions
                    {
                        UnitAmountDecimal = o.MinuteCents,
                        Recurring = new PriceRecurringOptions { Interval = "month", UsageType = "metered", Meter = meterIds[StripeNames.VoiceMeter] },
                        TransformQuantity = new PriceTransformQuantityOptions { DivideBy = 60, Round = "up" },
                    }),
                    ("messages", new PriceCreateOptions
                    {
                        UnitAmountDecimal = o.MessageCents,
                        Recurring = new PriceRecurringOptions { Interval = "month", UsageType = "metered", Meter = meterIds[StripeNames.ChatMeter] },
                    }),
                };
                var keys = components.Select(c => StripeNames.LookupKey(plan.Id, c.Component)).ToList();
                var existing = await new PriceService(client).ListAsync(new PriceListOptions { LookupKeys = keys, Active = true, Limit = 10 }, null, ct);
                foreach (var (component, options) in components)
                {
                    var lookup = StripeNames.LookupKey(plan.Id, component);
                    var price = existing.Data.FirstOrDefault(p => p.LookupKey == lookup);
                    var priceVerb = "exists ";
                    if (price is null)
                    {
                        options.Product = productId;
                        options.Currency = o.Currency;
                        options.LookupKey = lookup;
                        options.Nickname = $"{plan.Name} {component}";
                        options.Metadata = new Dictionary<string, string> { ["plan_id"] = plan.Id, ["component"] = component };
                        price = await new PriceService(client).CreateAsync(options, new RequestOptions { IdempotencyKey = "setup:price:" + lookup }, ct);
                        priceVerb = "created";
                    }
                    await SaveAsync($"price:{plan.Id}:{component}", price.Id);
                    await output.WriteLineAsync($"{priceVerb} price   {lookup,-28} {price.Id}");
                }
            }

            var endpoints = await new WebhookEndpointService(client).ListAsync(new WebhookEndpointListOptions { Limit = 100 }, null, ct);
            var endpoint = endpoints.Data.FirstOrDefault(e => e.Url == webhookUrl);
            var endpointVerb = "exists ";
            if (endpoint is null)
            {
                endpoint = await new WebhookEndpointService(client).CreateAsync(new WebhookEndpointCreateOptions
                {
                    Url = webhookUrl,
                    EnabledEvents = [.. StripeNames.WebhookEvents],
                    ApiVersion = StripeConfiguration.ApiVersion,
                    Description = "Switchboard billing",
                }, new RequestOptions { IdempotencyKey = "setup:webhook:" + webhookUrl }, ct);
                endpointVerb = "created";
                if (!string.IsNullOrEmpty(endpoint.Secret))
                {
                    await SaveAsync("webhook_secret", secrets.Protect(endpoint.Secret)); // shown once by Stripe: kept encrypted
                }
            }
            await SaveAsync("webhook_endpoint", endpoint.Id);
            await output.WriteLineAsync($"{endpointVerb} webhook {webhookUrl} {endpoint.Id} (API version {StripeConfiguration.ApiVersion})");
            if (endpointVerb == "exists " && string.IsNullOrEmpty(o.WebhookSecret) && !await db.BillingCatalog.AnyAsync(e => e.Key == "webhook_secret", ct))
            {
                await output.WriteLineAsync("warning: the endpoint's signing secret is unknown here: set Switchboard__Stripe__WebhookSecret from the Stripe dashboard.");
            }
            return 0;
        }
        catch (StripeException e)
        {
            await Console.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"Stripe refused: {(int)e.HttpStatusCode} {e.StripeError?.Code} {e.StripeError?.Message ?? e.Message}"));
            return 1;
        }
    }
}
