using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Switchboard.Simulators;

/// <summary>The fake's hosted pages (Checkout, portal, invoices), subscription lifecycle and signed webhook delivery.</summary>
internal sealed partial class StripeSimulator
{
    private void MapPages(WebApplication web)
    {
        web.MapGet("/checkout/{id}", (string id) =>
        {
            var session = Get(id);
            if (session is null || (string?)session["object"] != "checkout.session")
            {
                return Results.NotFound();
            }
            var lines = string.Join("", session["line_items_requested"]!.AsArray().Select(i =>
                $"<li>{WebUtility.HtmlEncode(ProductName((string)i!["price"]!))}</li>"));
            return Results.Content($"""
                <!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Stripe Checkout (simulator)</title></head>
                <body><h1>Subscribe</h1><ul>{lines}</ul>
                <form method="post" action="/checkout/{WebUtility.HtmlEncode(id)}/complete"><button type="submit">Pay and subscribe</button></form>
                <a href="{WebUtility.HtmlEncode((string?)session["cancel_url"] ?? "/")}">Cancel</a></body></html>
                """, "text/html");
        });
        web.MapPost("/checkout/{id}/complete", async (string id, CancellationToken ct) =>
        {
            var session = await CompleteCheckoutAsync(id, ct);
            var success = ((string?)session["success_url"] ?? "/").Replace("{CHECKOUT_SESSION_ID}", id, StringComparison.Ordinal);
            return Results.Redirect(success);
        });
        web.MapGet("/portal/{id}", (string id) =>
        {
            var portal = Get(id);
            if (portal is null || (string?)portal["object"] != "billing_portal.session")
            {
                return Results.NotFound();
            }
            return Results.Content($"""
                <!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Billing portal (simulator)</title></head>
                <body><h1>Manage your subscription</h1>
                <form method="post" action="/portal/{WebUtility.HtmlEncode(id)}/cancel"><button type="submit">Cancel subscription</button></form>
                <a href="{WebUtility.HtmlEncode((string?)portal["return_url"] ?? "/")}">Return</a></body></html>
                """, "text/html");
        });
        web.MapPost("/portal/{id}/cancel", async (string id, CancellationToken ct) =>
        {
            var portal = Get(id) ?? throw new InvalidOperationException("no such portal session");
            foreach (var sub in All("subscription").Where(s => (string?)s["customer"] == (string?)portal["customer"] && (string?)s["status"] != "canceled"))
            {
                await SetSubscriptionStatusAsync((string)sub["id"]!, "canceled", ct);
            }
            return Results.Redirect((string?)portal["return_url"] ?? "/");
        });
        web.MapGet("/invoices/{id}", (string id) => Get(id) is { } invoice
            ? Results.Content($"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><link rel=\"icon\" href=\"data:,\"><title>Invoice {WebUtility.HtmlEncode(id)}</title></head><body><h1>Invoice</h1><p>{invoice["amount_due"]} {invoice["currency"]} — {invoice["status"]}</p></body></html>", "text/html")
            : Results.NotFound());
    }

    private string ProductName(string priceId)
    {
        lock (gate)
        {
            return objects.TryGetValue(priceId, out var price) && objects.TryGetValue((string)price["product"]!, out var product) ? (string?)product["name"] ?? priceId : priceId;
        }
    }

    /// <summary>
    /// Completes an open Checkout Session as a paying customer would: creates the customer (when the session named
    /// none), the subscription (<c>trialing</c> with a trial, else <c>active</c>) and, without a trial, a paid invoice;
    /// then delivers <c>customer.subscription.created</c>, <c>checkout.session.completed</c> and (no trial) <c>invoice.paid</c>.
    /// </summary>
    public async Task<JsonObject> CompleteCheckoutAsync(string sessionId, CancellationToken ct = default)
    {
        var events = new List<JsonObject>();
        JsonObject result;
        lock (gate)
        {
            var session = Find(sessionId, "checkout.session");
            if ((string?)session["status"] != "open")
            {
                return session.DeepClone().AsObject();
            }
            var customerId = (string?)session["customer"];
            if (customerId is null)
            {
                customerId = NewId("cus");
                Store(new JsonObject { ["id"] = customerId, ["object"] = "customer", ["email"] = (string?)session["customer_email"], ["created"] = Now, ["livemode"] = false, ["metadata"] = new JsonObject() });
            }
            var now = Now;
            var trialDays = (int?)session["trial_period_days"];
            var periodEnd = trialDays is { } days ? now + (days * 86400L) : DateTimeOffset.FromUnixTimeSeconds(now).AddMonths(1).ToUnixTimeSeconds();
            var items = new JsonArray();
            foreach (var line in session["line_items_requested"]!.AsArray())
            {
                var item = new JsonObject
                {
                    ["id"] = NewId("si"), ["object"] = "subscription_item", ["price"] = objects[(string)line!["price"]!].DeepClone(),
                    ["current_period_start"] = now, ["current_period_end"] = periodEnd, ["created"] = now,
                };
                if (line["quantity"] is { } quantity)
                {
                    item["quantity"] = quantity.DeepClone(); // metered items carry none
                }
                items.Add(item);
            }
            var sub = Store(new JsonObject
            {
                ["id"] = NewId("sub"), ["object"] = "subscription", ["customer"] = customerId, ["status"] = trialDays is null ? "active" : "trialing",
                ["created"] = now, ["start_date"] = now, ["cancel_at_period_end"] = false, ["canceled_at"] = null, ["ended_at"] = null,
                ["trial_start"] = trialDays is null ? null : now, ["trial_end"] = trialDays is null ? null : periodEnd,
                ["items"] = new JsonObject { ["object"] = "list", ["data"] = items, ["has_more"] = false, ["url"] = "/v1/subscription_items" },
                ["metadata"] = session["subscription_metadata"]!.DeepClone(), ["livemode"] = false, ["currency"] = (string?)objects[(string)items[0]!["price"]!["id"]!]["currency"],
            });
            session["status"] = "complete";
            session["payment_status"] = trialDays is null ? "paid" : "no_payment_required";
            session["customer"] = customerId;
            session["subscription"] = (string)sub["id"]!;
            events.Add(NewEvent("customer.subscription.created", sub));
            events.Add(NewEvent("checkout.session.completed", session));
            if (trialDays is null)
            {
                events.Add(NewEvent("invoice.paid", NewInvoice(sub, "paid", "subscription_create")));
            }
            result = session.DeepClone().AsObject();
        }
        await DeliverAsync(events, ct);
        return result;
    }

    /// <summary>Sets a subscription's status (<c>active</c>, <c>past_due</c>, <c>unpaid</c>, <c>canceled</c>…) and delivers <c>customer.subscription.updated</c> (or <c>.deleted</c>).</summary>
    public async Task<JsonObject> SetSubscriptionStatusAsync(string subscriptionId, string status, CancellationToken ct = default)
    {
        List<JsonObject> events;
        JsonObject sub;
        lock (gate)
        {
            sub = Find(subscriptionId, "subscription");
            events = SetStatus(sub, status);
            sub = sub.DeepClone().AsObject();
        }
        await DeliverAsync(events, ct);
        return sub;
    }

    /// <summary>The renewal invoice fails: an open invoice, <c>invoice.payment_failed</c>, and the subscription becomes <c>past_due</c>.</summary>
    public async Task<JsonObject> FailPaymentAsync(string subscriptionId, CancellationToken ct = default)
    {
        var events = new List<JsonObject>();
        JsonObject invoice;
        lock (gate)
        {
            var sub = Find(subscriptionId, "subscription");
            invoice = NewInvoice(sub, "open", "subscription_cycle");
            invoice["attempt_count"] = 1;
            invoice["next_payment_attempt"] = Now + (3 * 86400);
            events.Add(NewEvent("invoice.payment_failed", invoice));
            events.AddRange(SetStatus(sub, "past_due"));
        }
        await DeliverAsync(events, ct);
        return invoice;
    }

    /// <summary>The customer pays the open invoices: each becomes paid (<c>invoice.paid</c>) and the subscription <c>active</c>.</summary>
    public async Task PayOpenInvoicesAsync(string subscriptionId, CancellationToken ct = default)
    {
        var events = new List<JsonObject>();
        lock (gate)
        {
            var sub = Find(subscriptionId, "subscription");
            foreach (var invoice in objects.Values.Where(o => (string?)o["object"] == "invoice" && (string?)o["status"] == "open"
                && (string?)o["parent"]?["subscription_details"]?["subscription"] == subscriptionId).ToList())
            {
                invoice["status"] = "paid";
                invoice["amount_paid"] = invoice["amount_due"]!.DeepClone();
                RecordPayment(invoice);
                events.Add(NewEvent("invoice.paid", invoice));
            }
            events.AddRange(SetStatus(sub, "active"));
        }
        await DeliverAsync(events, ct);
    }

    private List<JsonObject> SetStatus(JsonObject sub, string status)
    {
        sub["status"] = status;
        if (status == "canceled")
        {
            sub["canceled_at"] = Now;
            sub["ended_at"] = Now;
            return [NewEvent("customer.subscription.deleted", sub)];
        }
        return [NewEvent("customer.subscription.updated", sub)];
    }

    private JsonObject NewInvoice(JsonObject sub, string status, string reason)
    {
        var lines = Lines(sub);
        var total = lines.Sum(l => l.Amount);
        var id = NewId("in");
        var item = sub["items"]!["data"]![0]!;
        var invoice = Store(new JsonObject
        {
            ["id"] = id, ["object"] = "invoice", ["customer"] = (string)sub["customer"]!, ["status"] = status, ["billing_reason"] = reason,
            ["currency"] = (string?)sub["currency"] ?? "usd", ["amount_due"] = total, ["amount_paid"] = status == "paid" ? total : 0, ["total"] = total,
            ["attempt_count"] = status == "paid" ? 1 : 0, ["created"] = Now, ["livemode"] = false,
            ["period_start"] = (long)item["current_period_start"]!, ["period_end"] = (long)item["current_period_end"]!,
            ["hosted_invoice_url"] = $"{BaseUrl}/invoices/{id}", ["number"] = "SIM-" + id[^6..].ToUpperInvariant(),
            ["parent"] = new JsonObject
            {
                ["type"] = "subscription_details",
                ["subscription_details"] = new JsonObject { ["subscription"] = (string)sub["id"]!, ["metadata"] = sub["metadata"]?.DeepClone() },
            },
        });
        if (status == "paid")
        {
            RecordPayment(invoice);
        }
        return invoice;
    }

    /// <summary>
    /// The card payment of a paid invoice, as the 2025+ API versions model it: a <c>payment_intent</c> (succeeded, with its
    /// <c>latest_charge</c>) and an <c>invoice_payment</c> joining it to the invoice (<c>payment.type = payment_intent</c>),
    /// listed by <c>GET /v1/invoice_payments?invoice=</c>. A zero total pays nothing and records no payment.
    /// </summary>
    private void RecordPayment(JsonObject invoice)
    {
        var amount = (long)invoice["amount_paid"]!;
        if (amount <= 0)
        {
            return;
        }
        var intent = Store(new JsonObject
        {
            ["id"] = NewId("pi"), ["object"] = "payment_intent", ["amount"] = amount, ["amount_received"] = amount, ["currency"] = invoice["currency"]!.DeepClone(),
            ["customer"] = invoice["customer"]!.DeepClone(), ["status"] = "succeeded", ["latest_charge"] = NewId("ch"), ["created"] = Now, ["livemode"] = false,
        });
        Store(new JsonObject
        {
            ["id"] = NewId("inpay"), ["object"] = "invoice_payment", ["invoice"] = invoice["id"]!.DeepClone(), ["amount_paid"] = amount,
            ["amount_requested"] = amount, ["currency"] = invoice["currency"]!.DeepClone(), ["is_default"] = true, ["status"] = "paid", ["livemode"] = false,
            ["payment"] = new JsonObject { ["type"] = "payment_intent", ["payment_intent"] = intent["id"]!.DeepClone() },
            ["created"] = Now, ["status_transitions"] = new JsonObject { ["paid_at"] = Now, ["canceled_at"] = null },
        });
    }

    /// <summary>
    /// <c>POST /v1/refunds</c>: refunds a succeeded payment intent (<c>payment_intent</c>, or its charge as <c>charge</c>), all of
    /// what is left of it or <c>amount</c> (smallest currency unit). Stripe's refusals: an amount above what is left is
    /// <c>amount_too_large</c>, a payment refunded in full already <c>charge_already_refunded</c>. Emits <c>refund.created</c>.
    /// </summary>
    private JsonObject Refund(Dictionary<string, string> form, List<JsonObject> events)
    {
        var intent = Opt(form, "payment_intent") is { } pi ? Find(pi, "payment_intent")
            : Opt(form, "charge") is { } ch ? objects.Values.FirstOrDefault(o => (string?)o["object"] == "payment_intent" && (string?)o["latest_charge"] == ch) ?? throw Missing(ch, "charge")
            : throw Invalid("One of the following params should be provided for this request: payment_intent or charge.", null, "parameter_missing");
        var charge = (string)intent["latest_charge"]!;
        var refunded = objects.Values.Where(o => (string?)o["object"] == "refund" && (string?)o["charge"] == charge).Sum(o => (long)o["amount"]!);
        var left = (long)intent["amount_received"]! - refunded;
        if (left <= 0)
        {
            throw Invalid($"Charge {charge} has already been refunded.", null, "charge_already_refunded");
        }
        var amount = Opt(form, "amount") is { } a ? long.Parse(a, CultureInfo.InvariantCulture) : left;
        if (amount <= 0 || amount > left)
        {
            throw Invalid($"Refund amount ({amount}) is greater than unrefunded amount on charge ({left})", "amount", "amount_too_large");
        }
        var refund = Store(new JsonObject
        {
            ["id"] = NewId("re"), ["object"] = "refund", ["amount"] = amount, ["currency"] = intent["currency"]!.DeepClone(), ["charge"] = charge,
            ["payment_intent"] = intent["id"]!.DeepClone(), ["reason"] = Opt(form, "reason"), ["status"] = "succeeded", ["created"] = Now,
            ["metadata"] = Sub(form, "metadata"),
        });
        events.Add(NewEvent("refund.created", refund));
        return refund;
    }

    /// <summary>A new event around a copy of <paramref name="data"/>, recorded in <see cref="Events"/> (not yet delivered).</summary>
    public JsonObject NewEvent(string type, JsonObject data)
    {
        var ev = new JsonObject
        {
            ["id"] = NewId("evt"), ["object"] = "event", ["api_version"] = ApiVersion, ["created"] = Now, ["type"] = type, ["livemode"] = false,
            ["pending_webhooks"] = 1, ["request"] = new JsonObject { ["id"] = null, ["idempotency_key"] = null },
            ["data"] = new JsonObject { ["object"] = data.DeepClone() },
        };
        Events.Enqueue(ev);
        return ev;
    }

    /// <summary><c>Stripe-Signature</c> for <paramref name="payload"/>: <c>t={unix},v1={hex HMAC-SHA256(secret, "{t}.{payload}")}</c> (§6.1; the key includes <c>whsec_</c>).</summary>
    public static string Sign(string payload, string secret, long timestamp)
    {
        var mac = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(timestamp.ToString(CultureInfo.InvariantCulture) + "." + payload));
        return $"t={timestamp.ToString(CultureInfo.InvariantCulture)},v1={Convert.ToHexStringLower(mac)}";
    }

    /// <summary>POSTs each event, signed, to every enabled webhook endpoint; returns the statuses.</summary>
    public async Task<IReadOnlyList<int>> DeliverAsync(IEnumerable<JsonObject> events, CancellationToken ct = default)
    {
        List<(string Url, string Secret)> endpoints;
        lock (gate)
        {
            endpoints = objects.Values.Where(o => (string?)o["object"] == "webhook_endpoint" && (string?)o["status"] == "enabled")
                .Select(o => ((string)o["url"]!, (string)o["secret"]!)).ToList();
        }
        var statuses = new List<int>();
        foreach (var ev in events)
        {
            foreach (var (url, secret) in endpoints)
            {
                var payload = ev.ToJsonString();
                using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(payload, Encoding.UTF8, "application/json") };
                request.Headers.TryAddWithoutValidation("Stripe-Signature", Sign(payload, secret, Now));
                request.Headers.UserAgent.ParseAdd("Stripe/1.0 (+https://stripe.com/docs/webhooks)");
                var client = WebhookClient ?? Shared;
                using var response = await client.SendAsync(request, ct);
                Deliveries.Enqueue(((string)ev["id"]!, (int)response.StatusCode));
                statuses.Add((int)response.StatusCode);
            }
        }
        return statuses;
    }

    /// <summary>Registers a webhook endpoint with a known secret (tests; <c>stripe-setup</c> creates its own).</summary>
    public void AddWebhookEndpoint(string url, string secret)
    {
        lock (gate)
        {
            Store(new JsonObject
            {
                ["id"] = NewId("we"), ["object"] = "webhook_endpoint", ["url"] = url, ["status"] = "enabled", ["api_version"] = ApiVersion,
                ["enabled_events"] = new JsonArray("*"), ["created"] = Now, ["livemode"] = false, ["secret"] = secret,
            });
        }
    }

    private static readonly HttpClient Shared = new();

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
