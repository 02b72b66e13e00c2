using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Billing;
using Switchboard.Calls;
using Switchboard.Tenancy;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Billing;

/// <summary>
/// Stripe billing end to end against <see cref="Switchboard.Simulators.StripeSimulator"/> (issue 10 "Tests"): Checkout →
/// signed webhook → plan; forged and stale signatures; redelivered and out-of-order events; payment failure → grace →
/// suspension → payment; cancellation; the owner's plan change without payment; metering through the outbox;
/// reconciliation; tenant isolation and bad input on every billing route.
/// </summary>
[Trait("Category", "Database")]
public sealed class StripeBillingTests(StripeBillingFactory factory) : IClassFixture<StripeBillingFactory>
{
    [Fact]
    public async Task UpgradeThroughCheckoutActivatesThePlanWithItsFeaturesAndShowsTheInvoice()
    {
        await factory.EnsureSetUpAsync();
        var owner = await factory.SignUpAsync();
        Assert.Equal(HttpStatusCode.Forbidden, (await owner.Client.GetAsync("/api/v1/webhooks/endpoints")).StatusCode); // free: no webhooks

        var checkout = await (await owner.Client.PostAsJsonAsync("/api/v1/billing/checkout", new { planId = "pro" })).JsonAsync(HttpStatusCode.OK);
        var url = checkout["url"]!.GetValue<string>();
        Assert.StartsWith(factory.Stripe.BaseUrl + "/checkout/cs_", url);
        Assert.Equal("free", (await (await owner.Client.GetAsync("/api/v1/plan")).JsonAsync(HttpStatusCode.OK))["plan"]!["id"]!.GetValue<string>());

        var session = await factory.Stripe.CompleteCheckoutAsync(checkout["sessionId"]!.GetValue<string>());
        Assert.All(factory.Stripe.Deliveries.Where(d => factory.Stripe.Events.Any(e => (string?)e["id"] == d.EventId && e["data"]?["object"]?["id"]?.ToString() == (string)session["id"]!)),
            d => Assert.Equal(200, d.Status));

        var plan = await (await owner.Client.GetAsync("/api/v1/plan")).JsonAsync(HttpStatusCode.OK);
        Assert.Equal("pro", plan["plan"]!["id"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, (await owner.Client.GetAsync("/api/v1/webhooks/endpoints")).StatusCode); // pro: webhooks on

        var account = await factory.AccountAsync(owner.TenantId);
        Assert.Equal("active", account.SubscriptionStatus);
        Assert.Equal((string)session["subscription"]!, account.StripeSubscriptionId);
        Assert.Equal((string)session["customer"]!, account.StripeCustomerId);

        var billing = await (await owner.Client.GetAsync("/api/v1/billing")).JsonAsync(HttpStatusCode.OK);
        Assert.Equal("stripe", billing["mode"]!.GetValue<string>());
        Assert.Equal(2500, billing["creditLeft"]!.GetValue<long>()); // the starter credit grant
        Assert.Equal(14900, billing["upcomingInvoice"]!["amountDue"]!.GetValue<long>()); // no usage yet: the flat fee
        var invoice = Assert.Single(billing["invoices"]!.AsArray());
        Assert.Equal("paid", invoice!["status"]!.GetValue<string>());
        Assert.StartsWith(factory.Stripe.BaseUrl + "/invoices/in_", invoice["hostedInvoiceUrl"]!.GetValue<string>());
        Assert.Null(billing["stripeError"]);

        var audit = await factory.WithDbAsync(owner.TenantId, db => db.AuditLog.Where(a => a.Action.StartsWith("billing.")).Select(a => a.Action).ToListAsync());
        Assert.Contains("billing.customer.subscription.created", audit); // the state change; checkout.session.completed said the same thing at the same second
    }

    [Fact]
    public async Task OwnerCannotSwitchToAPaidPlanWithoutPaying()
    {
        await factory.EnsureSetUpAsync();
        var owner = await factory.SignUpAsync();
        var refused = await owner.Client.PutAsJsonAsync("/api/v1/plan", new { planId = "telephony" });
        Assert.Equal(HttpStatusCode.PaymentRequired, refused.StatusCode);
        Assert.Equal("CHECKOUT_REQUIRED", await refused.ErrorCodeAsync());
        Assert.Equal("free", (await factory.AccountAsync(owner.TenantId)).PlanId);

        await factory.SubscribeAsync("starter", owner);
        var portalOnly = await owner.Client.PutAsJsonAsync("/api/v1/plan", new { planId = "free" });
        Assert.Equal(HttpStatusCode.Conflict, portalOnly.StatusCode);
        Assert.Equal("MANAGE_IN_PORTAL", await portalOnly.ErrorCodeAsync());
        Assert.Equal("starter", (await factory.AccountAsync(owner.TenantId)).PlanId);

        var again = await owner.Client.PostAsJsonAsync("/api/v1/billing/checkout", new { planId = "pro" });
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal("ALREADY_SUBSCRIBED", await again.ErrorCodeAsync());
    }

    [Fact]
    public async Task StartingCheckoutAgainExpiresTheEarlierSessionSoOnlyOneCanBePaid()
    {
        await factory.EnsureSetUpAsync();
        var owner = await factory.SignUpAsync();
        var first = (await (await owner.Client.PostAsJsonAsync("/api/v1/billing/checkout", new { planId = "starter" })).JsonAsync(HttpStatusCode.OK))["sessionId"]!.GetValue<string>();
        var second = (await (await owner.Client.PostAsJsonAsync("/api/v1/billing/checkout", new { planId = "pro" })).JsonAsync(HttpStatusCode.OK))["sessionId"]!.GetValue<string>();

        Assert.Equal("expired", (string?)factory.Stripe.Get(first)!["status"]);
        Assert.Equal("open", (string?)factory.Stripe.Get(second)!["status"]);
        var stale = await factory.Stripe.CompleteCheckoutAsync(first); // the first tab's Pay button: nothing to pay
        Assert.Null((string?)stale["subscription"]);
        var paid = await factory.Stripe.CompleteCheckoutAsync(second);

        var customer = (await factory.AccountAsync(owner.TenantId)).StripeCustomerId;
        Assert.Equal((string)paid["subscription"]!, Assert.Single(factory.Stripe.All("subscription"), s => (string?)s["customer"] == customer)["id"]!.GetValue<string>());
        Assert.Equal("pro", (await factory.AccountAsync(owner.TenantId)).PlanId);
    }

    [Fact]
    public async Task ASecondLiveSubscriptionIsCancelledAndRefundedAndTheFirstIsKept()
    {
        var (owner, kept) = await factory.SubscribeAsync("starter");
        var customer = (await factory.AccountAsync(owner.TenantId)).StripeCustomerId!;
        // A second session paid before the first one's webhook arrived (two tabs, both open before either was paid), made as
        // the API makes one: Stripe creates a second subscription for the same customer.
        var price = (string)factory.Stripe.All("checkout.session").Single(s => (string?)s["subscription"] == kept)["line_items_requested"]![0]!["price"]!;
        var metadata = new Dictionary<string, string> { ["tenant_id"] = owner.TenantId.ToString(), ["plan_id"] = "pro" };
        var session = await new Stripe.Checkout.SessionService(factory.Services.GetRequiredService<StripeGateway>().Client).CreateAsync(new()
        {
            Mode = "subscription", Customer = customer, ClientReferenceId = owner.TenantId.ToString(), Metadata = metadata,
            LineItems = [new() { Price = price, Quantity = 1 }], SubscriptionData = new() { Metadata = metadata },
        });
        var duplicate = (string)(await factory.Stripe.CompleteCheckoutAsync(session.Id))["subscription"]!;

        var account = await factory.AccountAsync(owner.TenantId);
        Assert.Equal((kept, "active", "starter"), (account.StripeSubscriptionId, account.SubscriptionStatus, account.PlanId));
        await factory.Outbox.DrainAsync(CancellationToken.None);

        Assert.Equal("canceled", (string?)factory.Stripe.Get(duplicate)!["status"]);
        Assert.Equal("active", (string?)factory.Stripe.Get(kept)!["status"]);
        var cancel = Assert.Single(factory.Stripe.Requests, r => r.Method == "DELETE" && r.Path == "/v1/subscriptions/" + duplicate);
        Assert.Equal("false", cancel.Form["prorate"]); // refunded instead: a proration credit as well would pay back twice
        // The duplicate's payment is refunded in full, once; the kept subscription's is not touched.
        var duplicateIntent = PaymentIntentOf(duplicate);
        var refund = Assert.Single(factory.Stripe.All("refund"));
        Assert.Equal((duplicateIntent, "duplicate", "succeeded"), ((string?)refund["payment_intent"], (string?)refund["reason"], (string?)refund["status"]));
        Assert.Equal((long)factory.Stripe.Get(duplicateIntent)!["amount_received"]!, (long)refund["amount"]!);
        Assert.True((long)refund["amount"]! > 0);
        Assert.NotEqual(duplicateIntent, PaymentIntentOf(kept));
        account = await factory.AccountAsync(owner.TenantId); // the duplicate's cancellation event changed nothing either
        Assert.Equal((kept, "active", "starter"), (account.StripeSubscriptionId, account.SubscriptionStatus, account.PlanId));
        var staged = await factory.WithDbAsync(owner.TenantId, db => db.Outbox.Where(m => m.Kind == DuplicateSubscriptionHandler.Kind).Select(m => new { m.DedupeKey, m.Status }).ToListAsync());
        Assert.Equal(duplicate, Assert.Single(staged).DedupeKey); // once, though three events named it (created, checkout completed, invoice paid)
        Assert.Equal("done", staged[0].Status);
        var audit = await factory.WithDbAsync(owner.TenantId, db => db.AuditLog.Where(a => a.Action == "billing.duplicate_subscription").Select(a => a.DetailsJson).ToListAsync());
        Assert.Contains(kept, Assert.Single(audit));
        var refunded = await factory.WithDbAsync(owner.TenantId, db => db.AuditLog.Where(a => a.Action == "billing.duplicate_refunded").Select(a => a.DetailsJson).ToListAsync());
        Assert.Contains((string)refund["id"]!, Assert.Single(refunded));

        // The same message handled again (a retry after a lost answer): nothing cancelled or refunded twice.
        var handler = factory.Services.GetServices<Switchboard.Outbox.IOutboxHandler>().Single(h => h.Kind == DuplicateSubscriptionHandler.Kind);
        var again = await handler.HandleAsync(DuplicateSubscriptionHandler.NewMessage(owner.TenantId, duplicate, kept, factory.Clock.GetUtcNow()), CancellationToken.None);
        Assert.Equal(Switchboard.Outbox.OutboxResultKind.Done, again.Kind);
        Assert.Single(factory.Stripe.All("refund"));
        Assert.Single(factory.Stripe.Requests, r => r.Method == "DELETE" && r.Path == "/v1/subscriptions/" + duplicate);
        // As Stripe refuses them (through Stripe.net): a payment refunded in full, and more than is left of one.
        var refunds = new Stripe.RefundService(factory.Services.GetRequiredService<StripeGateway>().Client);
        var twice = await Assert.ThrowsAsync<Stripe.StripeException>(() => refunds.CreateAsync(new Stripe.RefundCreateOptions { PaymentIntent = duplicateIntent }));
        Assert.Equal("charge_already_refunded", twice.StripeError.Code);
        var keptIntent = PaymentIntentOf(kept);
        var tooMuch = await Assert.ThrowsAsync<Stripe.StripeException>(() => refunds.CreateAsync(new Stripe.RefundCreateOptions { PaymentIntent = keptIntent, Amount = 1_000_000_000 }));
        Assert.Equal(("amount_too_large", HttpStatusCode.BadRequest), (tooMuch.StripeError.Code, tooMuch.HttpStatusCode));
    }

    private string PaymentIntentOf(string subscriptionId)
    {
        var invoice = (string)factory.Stripe.All("invoice").Single(i => (string?)i["parent"]?["subscription_details"]?["subscription"] == subscriptionId)["id"]!;
        return (string)factory.Stripe.All("invoice_payment").Single(p => (string?)p["invoice"] == invoice)["payment"]!["payment_intent"]!;
    }

    [Fact]
    public async Task ErasingATenantCancelsItsStripeSubscriptionFirst()
    {
        var owner = await factory.SignUpAsync(organisation: "Erased Plumbing");
        var (_, subscription) = await factory.SubscribeAsync("starter", owner);
        Assert.NotEqual("canceled", (string?)factory.Stripe.Get(subscription)!["status"]);

        var erased = await owner.Client.PostAsJsonAsync("/api/v1/tenant/erase", new { confirm = "Erased Plumbing" });

        Assert.Equal(HttpStatusCode.OK, erased.StatusCode);
        Assert.Equal("canceled", (string?)factory.Stripe.Get(subscription)!["status"]);
        Assert.Contains(factory.Stripe.Requests, r => r.Method == "DELETE" && r.Path == "/v1/subscriptions/" + subscription);
        Assert.False(await factory.WithDbAsync(null, db => db.Tenants.AnyAsync(t => t.Id == owner.TenantId)));
    }

    [Fact]
    public async Task WhenStripeCannotCancelTheSubscriptionNothingIsErased()
    {
        var owner = await factory.SignUpAsync(organisation: "Still Billed");
        var (_, subscription) = await factory.SubscribeAsync("starter", owner);
        factory.Stripe.FailNext("/v1/subscriptions/", status: 500);

        var refused = await owner.Client.PostAsJsonAsync("/api/v1/tenant/erase", new { confirm = "Still Billed" });

        Assert.Equal(HttpStatusCode.BadGateway, refused.StatusCode);
        Assert.Equal("STRIPE_ERROR", await refused.ErrorCodeAsync());
        Assert.NotEqual("canceled", (string?)factory.Stripe.Get(subscription)!["status"]);
        Assert.True(await factory.WithDbAsync(null, db => db.Tenants.AnyAsync(t => t.Id == owner.TenantId)));
        Assert.Equal(HttpStatusCode.OK, (await owner.Client.GetAsync("/api/v1/auth/session")).StatusCode);

        var retried = await owner.Client.PostAsJsonAsync("/api/v1/tenant/erase", new { confirm = "Still Billed" });
        Assert.Equal(HttpStatusCode.OK, retried.StatusCode);
        Assert.Equal("canceled", (string?)factory.Stripe.Get(subscription)!["status"]);
    }

    [Fact]
    public async Task ForgedOrStaleSignatureIsRefusedAndChangesNothing()
    {
        var (owner, subscription) = await factory.SubscribeAsync("starter");
        var sub = factory.Stripe.Get(subscription)!;
        sub["status"] = "canceled";
        var ev = factory.Stripe.NewEvent("customer.subscription.deleted", sub);
        var body = ev.ToJsonString();
        var now = factory.Clock.GetUtcNow().ToUnixTimeSeconds();

        var forged = await factory.PostStripeAsync(body, "whsec_not_the_secret", now);
        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        Assert.Equal("INVALID_SIGNATURE", await forged.ErrorCodeAsync());

        var stale = await factory.PostStripeAsync(body, factory.WebhookSecret, now - 301);
        Assert.Equal(HttpStatusCode.BadRequest, stale.StatusCode);
        Assert.Equal("STALE_SIGNATURE", await stale.ErrorCodeAsync());

        using var unsigned = new HttpRequestMessage(HttpMethod.Post, "/webhooks/stripe") { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") };
        var missing = await factory.CreateClient().SendAsync(unsigned);
        Assert.Equal("INVALID_SIGNATURE", await missing.ErrorCodeAsync());

        var tampered = await factory.PostStripeAsync(body, factory.WebhookSecret, now);
        Assert.Equal(HttpStatusCode.OK, tampered.StatusCode); // control: the same body, rightly signed, is accepted…
        Assert.Equal("free", (await factory.AccountAsync(owner.TenantId)).PlanId); // …and is what changed the plan

        Assert.Equal(1, await factory.WithDbAsync(null, db => db.StripeEvents.CountAsync(e => e.Id == (string)ev["id"]!)));
    }

    [Fact]
    public async Task AcceptedAtTheToleranceEdgeAndRefusedJustPastIt()
    {
        var (owner, subscription) = await factory.SubscribeAsync("starter");
        var now = factory.Clock.GetUtcNow().ToUnixTimeSeconds();
        var first = factory.Stripe.NewEvent("customer.subscription.trial_will_end", factory.Stripe.Get(subscription)!).ToJsonString();
        Assert.Equal(HttpStatusCode.OK, (await factory.PostStripeAsync(first, factory.WebhookSecret, now - 300)).StatusCode);
        var second = factory.Stripe.NewEvent("customer.subscription.trial_will_end", factory.Stripe.Get(subscription)!).ToJsonString();
        Assert.Equal(HttpStatusCode.BadRequest, (await factory.PostStripeAsync(second, factory.WebhookSecret, now + 301)).StatusCode);
        Assert.Equal("starter", (await factory.AccountAsync(owner.TenantId)).PlanId);
    }

    [Fact]
    public async Task SameEventThreeTimesAndEventsOutOfOrderMakeOneStateChange()
    {
        var (owner, subscription) = await factory.SubscribeAsync("pro");
        var sub = factory.Stripe.Get(subscription)!;
        factory.Clock.Advance(TimeSpan.FromSeconds(5));
        sub["status"] = "active";
        var older = factory.Stripe.NewEvent("customer.subscription.updated", sub);
        factory.Clock.Advance(TimeSpan.FromSeconds(5));
        sub["status"] = "canceled";
        var newer = factory.Stripe.NewEvent("customer.subscription.deleted", sub);

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal([200], await factory.Stripe.DeliverAsync([newer]));
        }
        Assert.Equal([200], await factory.Stripe.DeliverAsync([older])); // arrives last, describes an earlier state

        var account = await factory.AccountAsync(owner.TenantId);
        Assert.Equal("free", account.PlanId);
        Assert.Equal("canceled", account.SubscriptionStatus);
        var outcomes = await factory.WithDbAsync(null, db => db.StripeEvents.Where(e => e.Id == (string)newer["id"]! || e.Id == (string)older["id"]!)
            .ToDictionaryAsync(e => e.Id, e => e.Outcome));
        Assert.Equal("applied", outcomes[(string)newer["id"]!]);
        Assert.Equal("stale", outcomes[(string)older["id"]!]);
        var changes = await factory.WithDbAsync(owner.TenantId, db => db.AuditLog.CountAsync(a => a.Action == "billing.customer.subscription.deleted"));
        Assert.Equal(1, changes);
    }

    [Fact]
    public async Task PaymentFailureGivesGraceThenSuspendsFeaturesUntilPaid()
    {
        var (owner, subscription) = await factory.SubscribeAsync("pro");
        await factory.WithDbAsync(owner.TenantId, async db =>
        {
            var tenant = await db.Tenants.FirstAsync(t => t.Id == owner.TenantId);
            tenant.AlertPolicy = new AlertPolicy { OfficeNumbers = ["+15145550177"] };
            return await db.SaveChangesAsync();
        });
        await (await owner.Client.PostAsJsonAsync("/api/v1/webhooks/endpoints", new { url = "http://127.0.0.1:9/billing-hook", eventTypes = new[] { "billing.plan_changed", "billing.payment_failed" } }))
            .JsonAsync(HttpStatusCode.Created);

        factory.Clock.Advance(TimeSpan.FromMinutes(1));
        await factory.Stripe.FailPaymentAsync(subscription);
        var account = await factory.AccountAsync(owner.TenantId);
        Assert.Equal("past_due", account.SubscriptionStatus);
        Assert.Equal(factory.Clock.GetUtcNow().AddDays(7), account.GraceEndsAt);
        Assert.Equal("pro", (await (await owner.Client.GetAsync("/api/v1/plan")).JsonAsync(HttpStatusCode.OK))["plan"]!["id"]!.GetValue<string>());

        // The owner is told once, by SMS and by email, although two events (invoice.payment_failed, subscription past_due) said so.
        var sms = await factory.WithDbAsync(owner.TenantId, db => db.SmsMessages.Where(m => m.Purpose == "billing-payment-failed").Select(m => m.To).ToListAsync());
        Assert.Equal(["+15145550177"], sms);
        var emails = await factory.WithDbAsync(null, db => db.EmailMessages.Where(m => m.TenantId == owner.TenantId && m.Purpose == "billing").Select(m => m.To).ToListAsync());
        Assert.Equal([owner.Email], emails);

        factory.Clock.Advance(TimeSpan.FromDays(7).Add(TimeSpan.FromSeconds(1)));
        // The suspension sweep (BillingSuspensionWorker, on the host's clock) announces the end of the grace once.
        await WaitUntilAsync(async () => (await factory.AccountAsync(owner.TenantId)).SuspendedAt is not null, "the sweep to announce the suspension");
        owner = await factory.LoginAsync(owner.Email, owner.Password); // a week later: a new session
        Assert.Equal("free", (await (await owner.Client.GetAsync("/api/v1/plan")).JsonAsync(HttpStatusCode.OK))["plan"]!["id"]!.GetValue<string>());
        var gated = await owner.Client.GetAsync("/api/v1/webhooks/endpoints");
        Assert.Equal(HttpStatusCode.Forbidden, gated.StatusCode);
        Assert.Equal("FEATURE_NOT_IN_PLAN", await gated.ErrorCodeAsync());
        Assert.True((await (await owner.Client.GetAsync("/api/v1/billing")).JsonAsync(HttpStatusCode.OK))["featuresSuspended"]!.GetValue<bool>());

        factory.Clock.Advance(TimeSpan.FromMinutes(1));
        await factory.Stripe.PayOpenInvoicesAsync(subscription);
        account = await factory.AccountAsync(owner.TenantId);
        Assert.Equal("active", account.SubscriptionStatus);
        Assert.Null(account.GraceEndsAt);
        Assert.Equal("pro", (await (await owner.Client.GetAsync("/api/v1/plan")).JsonAsync(HttpStatusCode.OK))["plan"]!["id"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, (await owner.Client.GetAsync("/api/v1/webhooks/endpoints")).StatusCode);

        Assert.Null(account.SuspendedAt);

        // The tenant's own systems heard it: one payment failure, the features suspended once, and coming back once.
        var events = await factory.WithDbAsync(owner.TenantId, db => db.WebhookEvents.OrderBy(e => e.CreatedAt).ThenBy(e => e.Id).Select(e => new { e.Type, e.PayloadJson }).ToListAsync());
        Assert.Equal(1, events.Count(e => e.Type == "billing.payment_failed"));
        var changes = events.Where(e => e.Type == "billing.plan_changed").Select(e => JsonNode.Parse(e.PayloadJson)!).ToList();
        Assert.Equal(2, changes.Count);
        var suspendedData = changes[0]["data"] ?? changes[0];
        Assert.True(suspendedData["featuresSuspended"]!.GetValue<bool>());
        Assert.Equal("free", suspendedData["planId"]!.GetValue<string>());
        Assert.Equal("pro", suspendedData["previousPlanId"]!.GetValue<string>());
        var restoredData = changes[1]["data"] ?? changes[1];
        Assert.False(restoredData["featuresSuspended"]!.GetValue<bool>());
        Assert.Equal("pro", restoredData["planId"]!.GetValue<string>());

        // And both are on the tenant's audit log, once each; another sweep changes nothing.
        using (var scope = factory.Scope())
        {
            Assert.Equal(0, await scope.ServiceProvider.GetRequiredService<BillingSuspensions>().SweepAsync(CancellationToken.None));
        }
        var audit = await factory.WithDbAsync(owner.TenantId, db => db.AuditLog.Where(a => a.Action.StartsWith("billing.features_")).Select(a => a.Action).ToListAsync());
        Assert.Equal(["billing.features_restored", "billing.features_suspended"], audit.Order());
    }

    /// <summary>Bounded polling for a background worker's effect (the host's timers fire when the fake clock is advanced).</summary>
    internal static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task APaymentFailureIsTextedInTheAlertLanguageWithTheDateLeftToRight()
    {
        var (owner, subscription) = await factory.SubscribeAsync("pro");
        await factory.WithDbAsync(owner.TenantId, async db =>
        {
            var tenant = await db.Tenants.FirstAsync(t => t.Id == owner.TenantId);
            tenant.TimeZone = "Asia/Jerusalem";
            tenant.AlertPolicy = new AlertPolicy { OfficeNumbers = ["+972545550177"], Language = "he-IL" };
            return await db.SaveChangesAsync();
        });

        factory.Clock.Advance(TimeSpan.FromMinutes(1));
        await factory.Stripe.FailPaymentAsync(subscription);

        var graceEnds = (await factory.AccountAsync(owner.TenantId)).GraceEndsAt!.Value;
        var lastDay = TimeZoneInfo.ConvertTime(graceEnds, TimeZoneInfo.FindSystemTimeZoneById("Asia/Jerusalem")).ToString("dd/MM/yyyy", System.Globalization.CultureInfo.InvariantCulture);
        var sms = Assert.Single(await factory.WithDbAsync(owner.TenantId, db => db.SmsMessages.Where(m => m.Purpose == "billing-payment-failed").ToListAsync()));
        Assert.Equal("+972545550177", sms.To);
        Assert.Equal($"התראת \u200ESwitchboard – Plomberie Test: התשלום על המנוי נכשל. יש לעדכן את כרטיס האשראי לפני \u200E{lastDay} כדי לשמור על החבילה.", sms.Body);

        // Paid: no grace left running in the shared host, whose other tests count the suspensions its sweeps announce.
        factory.Clock.Advance(TimeSpan.FromMinutes(1));
        await factory.Stripe.PayOpenInvoicesAsync(subscription);
        Assert.Null((await factory.AccountAsync(owner.TenantId)).GraceEndsAt);
    }

    [Fact]
    public async Task StripeMeterErrorReportsDeadLetterTheUsageAndShowAsDrift()
    {
        var (owner, _) = await factory.SubscribeAsync("starter");
        var now = factory.Clock.GetUtcNow();
        var ids = new[] { "msg-ok-" + Guid.NewGuid().ToString("N"), "msg-bad-" + Guid.NewGuid().ToString("N") };
        using (var scope = factory.Scope())
        {
            scope.ServiceProvider.GetRequiredService<CurrentTenant>().Set(owner.TenantId);
            foreach (var id in ids)
            {
                await scope.ServiceProvider.GetRequiredService<UsageMeter>().RecordChatMessageAsync(owner.TenantId, id, now, CancellationToken.None);
            }
        }
        await factory.Outbox.DrainAsync(CancellationToken.None);
        Assert.Equal(2, factory.Stripe.MeterEvents.Count(e => ids.Contains((string?)e["identifier"])));

        // Stripe took the event (200) and rejects it later: a thin event, whose full form Switchboard fetches with Stripe.net.
        // The first fetch fails: 503, nothing stored, and Stripe's next delivery applies it.
        factory.Stripe.FailNext("/v2/core/events/", 1, 500);
        var report = await factory.Stripe.RejectMeterEventAsync(ids[1], "meter_event_customer_not_found", "No customer matches cus_x.");
        var thinId = (string)report["id"]!;
        Assert.Equal([503], factory.Stripe.Deliveries.Where(d => d.EventId == thinId).Select(d => d.Status));
        Assert.False(await factory.WithDbAsync(null, db => db.StripeEvents.AnyAsync(e => e.Id == thinId)));
        Assert.Equal([200], await factory.Stripe.DeliverAsync([factory.Stripe.Events.Single(e => (string?)e["id"] == thinId)]));
        Assert.Contains(factory.Stripe.Deliveries, d => d.EventId == thinId && d.Status == 200);
        Assert.Contains(factory.Stripe.Requests, r => r.Method == "GET" && r.Path == "/v2/core/events/" + thinId);

        var stored = await factory.WithDbAsync(owner.TenantId, db => db.UsageRecords.Where(u => ids.Contains(u.SourceId)).Select(u => new { u.Id, u.SourceId }).ToListAsync());
        var outbox = await factory.WithDbAsync(owner.TenantId, db => db.Outbox.Where(m => m.Kind == MeterEventHandler.Kind).Select(m => new { m.DedupeKey, m.Status, m.LastError }).ToListAsync());
        var bad = Assert.Single(outbox, m => m.DedupeKey == "meter:" + stored.Single(u => u.SourceId == ids[1]).Id.ToString("N"));
        Assert.Equal("dead", bad.Status);
        Assert.StartsWith("meter_event_customer_not_found: No customer matches cus_x.", bad.LastError);
        Assert.Contains(thinId, bad.LastError);
        Assert.Equal("done", Assert.Single(outbox, m => m.DedupeKey == "meter:" + stored.Single(u => u.SourceId == ids[0]).Id.ToString("N")).Status);
        var audited = await factory.WithDbAsync(owner.TenantId, db => db.AuditLog.Where(a => a.Action == MeterErrorReports.AuditAction).Select(a => a.DetailsJson).ToListAsync());
        Assert.Contains(ids[1], Assert.Single(audited));
        Assert.Contains(factory.LogLines, l => l.StartsWith("Warning") && l.Contains("meter_event_customer_not_found") && l.Contains(ids[1]));

        // The same thin event again changes nothing; the reconciliation shows the lost message as drift.
        var again = await factory.Stripe.DeliverAsync([factory.Stripe.Events.Single(e => (string?)e["id"] == thinId)]);
        Assert.Equal([200], again);
        var thinBody = factory.Stripe.Events.Single(e => (string?)e["id"] == thinId).ToJsonString();
        var viaDestination = await factory.PostStripeAsync(thinBody, StripeBillingFactory.EventDestinationSecret, factory.Clock.GetUtcNow().ToUnixTimeSeconds());
        Assert.True((await viaDestination.JsonAsync(HttpStatusCode.OK))["duplicate"]!.GetValue<bool>()); // the event destination's own secret is accepted too
        var forged = await factory.PostStripeAsync(thinBody, "whsec_someone_else", factory.Clock.GetUtcNow().ToUnixTimeSeconds());
        Assert.Equal("INVALID_SIGNATURE", await forged.ErrorCodeAsync());
        Assert.Single(await factory.WithDbAsync(owner.TenantId, db => db.AuditLog.Where(a => a.Action == MeterErrorReports.AuditAction).ToListAsync()));
        var ops = await factory.OperatorAsync();
        var reconciled = await (await ops.Client.PostAsync($"/api/v1/operator/billing/reconcile?period={UsageMeter.PeriodOf(now)}", null)).JsonAsync(HttpStatusCode.OK);
        var drift = Assert.Single(reconciled["drift"]!.AsArray(), d => d!["tenantId"]!.GetValue<Guid>() == owner.TenantId);
        Assert.Equal("chat_messages", drift!["kind"]!.GetValue<string>());
        Assert.Equal(2, drift["local"]!.GetValue<double>());
        Assert.Equal(1, drift["reported"]!.GetValue<double>());
    }

    [Fact]
    public async Task CancellingInThePortalMovesTheTenantToTheFreePlan()
    {
        var (owner, _) = await factory.SubscribeAsync("starter");
        var portal = await (await owner.Client.PostAsync("/api/v1/billing/portal", null)).JsonAsync(HttpStatusCode.OK);
        var url = portal["url"]!.GetValue<string>();
        Assert.StartsWith(factory.Stripe.BaseUrl + "/portal/bps_", url);

        using var browser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        var cancel = await browser.PostAsync(url + "/cancel", null); // the portal's Cancel button
        Assert.Equal(HttpStatusCode.Redirect, cancel.StatusCode);
        Assert.Equal(SelfServiceFactory.PublicBaseUrl + "/settings/plan", cancel.Headers.Location!.ToString());

        var account = await factory.AccountAsync(owner.TenantId);
        Assert.Equal("free", account.PlanId);
        Assert.Equal("canceled", account.SubscriptionStatus);
    }

    [Fact]
    public async Task BillingRoutesAreTenantIsolated()
    {
        var (subscribed, _) = await factory.SubscribeAsync("pro");
        var other = await factory.SignUpAsync();

        var billing = await (await other.Client.GetAsync("/api/v1/billing")).JsonAsync(HttpStatusCode.OK);
        Assert.False(billing["hasCustomer"]!.GetValue<bool>());
        Assert.Empty(billing["invoices"]!.AsArray());
        Assert.Null(billing["subscriptionStatus"]);
        var portal = await other.Client.PostAsync("/api/v1/billing/portal", null);
        Assert.Equal(HttpStatusCode.Conflict, portal.StatusCode);
        Assert.Equal("NO_SUBSCRIPTION", await portal.ErrorCodeAsync());

        // A checkout for the other tenant makes its own customer; completing it never touches the first tenant.
        var checkout = await (await other.Client.PostAsJsonAsync("/api/v1/billing/checkout", new { planId = "starter" })).JsonAsync(HttpStatusCode.OK);
        await factory.Stripe.CompleteCheckoutAsync(checkout["sessionId"]!.GetValue<string>());
        var a = await factory.AccountAsync(subscribed.TenantId);
        var b = await factory.AccountAsync(other.TenantId);
        Assert.NotEqual(a.StripeCustomerId, b.StripeCustomerId);
        Assert.Equal("pro", a.PlanId);
        Assert.Equal("starter", b.PlanId);

        // A subscription event naming tenant A in its metadata but for B's customer applies to B only.
        factory.Clock.Advance(TimeSpan.FromSeconds(2));
        var subOfB = factory.Stripe.Get(b.StripeSubscriptionId!)!;
        subOfB["metadata"]!["tenant_id"] = subscribed.TenantId.ToString();
        subOfB["status"] = "canceled";
        await factory.Stripe.DeliverAsync([factory.Stripe.NewEvent("customer.subscription.deleted", subOfB)]);
        Assert.Equal("pro", (await factory.AccountAsync(subscribed.TenantId)).PlanId);
        Assert.Equal("free", (await factory.AccountAsync(other.TenantId)).PlanId);

        // /plan and /usage answer each tenant its own; the operator's billing routes are not a tenant's.
        using (var scope = factory.Scope())
        {
            scope.ServiceProvider.GetRequiredService<CurrentTenant>().Set(subscribed.TenantId);
            await scope.ServiceProvider.GetRequiredService<UsageMeter>().RecordChatMessageAsync(subscribed.TenantId, "iso-" + Guid.NewGuid().ToString("N"), factory.Clock.GetUtcNow(), CancellationToken.None);
        }
        Assert.Equal("pro", (await (await subscribed.Client.GetAsync("/api/v1/plan")).JsonAsync(HttpStatusCode.OK))["plan"]!["id"]!.GetValue<string>());
        Assert.Equal("free", (await (await other.Client.GetAsync("/api/v1/plan")).JsonAsync(HttpStatusCode.OK))["plan"]!["id"]!.GetValue<string>());
        Assert.Equal(1, (await (await subscribed.Client.GetAsync("/api/v1/usage")).JsonAsync(HttpStatusCode.OK))["chatMessages"]!.GetValue<int>());
        Assert.Equal(0, (await (await other.Client.GetAsync("/api/v1/usage")).JsonAsync(HttpStatusCode.OK))["chatMessages"]!.GetValue<int>());
        Assert.Equal(HttpStatusCode.Forbidden, (await other.Client.GetAsync("/api/v1/operator/billing/drift")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await other.Client.PostAsync("/api/v1/operator/billing/reconcile", null)).StatusCode);
        var anonymous = factory.CreateClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/v1/billing")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsJsonAsync("/api/v1/billing/checkout", new { planId = "pro" })).StatusCode);
    }

    [Fact]
    public async Task CheckoutRefusesBadInputAndNonOwners()
    {
        await factory.EnsureSetUpAsync();
        var owner = await factory.SignUpAsync();
        foreach (var planId in new[] { "free", "nope", "" })
        {
            var response = await owner.Client.PostAsJsonAsync("/api/v1/billing/checkout", new { planId });
            Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        }
        var garbage = await owner.Client.PostAsync("/api/v1/billing/checkout", new StringContent("{not json", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, garbage.StatusCode);

        var token = await factory.InviteAsync(owner.Client, $"m-{Guid.NewGuid():N}@example.test", "admin");
        var admin = factory.CookieClient();
        var session = await (await admin.PostAsJsonAsync("/api/v1/auth/invitations/accept", new { token, password = "keys kept by the admin 42" })).JsonAsync(HttpStatusCode.OK);
        admin.DefaultRequestHeaders.Add("X-CSRF-Token", session["csrfToken"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.Forbidden, (await admin.PostAsJsonAsync("/api/v1/billing/checkout", new { planId = "pro" })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await admin.PostAsync("/api/v1/billing/portal", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/api/v1/billing")).StatusCode);
        Assert.Null((await factory.AccountAsync(owner.TenantId)).StripeCustomerId);

        var malformed = await factory.PostStripeAsync("[1,2]", factory.WebhookSecret, factory.Clock.GetUtcNow().ToUnixTimeSeconds());
        Assert.Equal("MALFORMED_EVENT", await malformed.ErrorCodeAsync());
    }

    [Theory]
    [InlineData("{\"id\":12345,\"type\":\"customer.subscription.updated\",\"data\":{\"object\":{}}}")]
    [InlineData("{\"id\":\"evt_typed\",\"type\":{\"name\":\"invoice.paid\"},\"data\":{\"object\":{}}}")]
    [InlineData("{\"id\":null,\"type\":null}")]
    public async Task ASignedEventWhoseIdOrTypeIsNotAStringIsMalformedNotA500(string body)
    {
        await factory.EnsureSetUpAsync();

        var response = await factory.PostStripeAsync(body, factory.WebhookSecret, factory.Clock.GetUtcNow().ToUnixTimeSeconds());

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("MALFORMED_EVENT", await response.ErrorCodeAsync());
    }

    [Fact]
    public async Task ACallAndChatMessagesBecomeExactlyTheExpectedMeterEventsEvenAfterA500()
    {
        var (owner, _) = await factory.SubscribeAsync("starter"); // starter: per started minute
        var customer = (await factory.AccountAsync(owner.TenantId)).StripeCustomerId!;
        var callId = Guid.CreateVersion7();
        var now = factory.Clock.GetUtcNow();
        await factory.WithDbAsync(owner.TenantId, async db =>
        {
            db.Calls.Add(new Call
            {
                Id = callId, TenantId = owner.TenantId, Channel = "voice", Provider = "realtime", ProviderCallId = "CA" + Guid.NewGuid().ToString("N"),
                Status = "ended", DurationSeconds = 1790.4, StartedAt = now.AddMinutes(-30), EndedAt = now, CreatedAt = now.AddMinutes(-30), UpdatedAt = now,
            });
            return await db.SaveChangesAsync();
        });
        var messageIds = Enumerable.Range(0, 12).Select(_ => Guid.CreateVersion7().ToString()).ToList();
        using (var scope = factory.Scope())
        {
            scope.ServiceProvider.GetRequiredService<CurrentTenant>().Set(owner.TenantId);
            var meter = scope.ServiceProvider.GetRequiredService<UsageMeter>();
            foreach (var id in messageIds)
            {
                await meter.RecordChatMessageAsync(owner.TenantId, id, now, CancellationToken.None);
            }
            Assert.Equal(1, await meter.MeterEndedCallsOfAllTenantsAsync(now.AddDays(-1), now.AddMinutes(1), CancellationToken.None));
            Assert.Equal(0, await meter.MeterEndedCallsOfAllTenantsAsync(now.AddDays(-1), now.AddMinutes(1), CancellationToken.None)); // idempotent
        }

        factory.Stripe.FailNext("/v1/billing/meter_events", 1, 500);
        await factory.Outbox.DrainAsync(CancellationToken.None);
        var retried = await factory.WithDbAsync(owner.TenantId, db => db.Outbox.Where(m => m.Kind == MeterEventHandler.Kind && m.Status == "pending").ToListAsync());
        Assert.Single(retried);
        Assert.Contains("500", retried[0].LastError);
        factory.Clock.Advance(TimeSpan.FromMinutes(1));
        await factory.Outbox.DrainAsync(CancellationToken.None);

        var events = factory.Stripe.MeterEvents.Where(e => (string?)e["payload"]!["stripe_customer_id"] == customer).ToList();
        var voice = Assert.Single(events, e => (string?)e["event_name"] == "voice_seconds");
        Assert.Equal(callId.ToString(), (string?)voice["identifier"]);
        Assert.Equal("1800", (string?)voice["payload"]!["value"]); // 1790.4 s rounded up to whole minutes
        var chats = events.Where(e => (string?)e["event_name"] == "chat_messages").ToList();
        Assert.Equal(messageIds.Order(), chats.Select(e => (string)e["identifier"]!).Order());
        Assert.All(chats, e => Assert.Equal("1", (string?)e["payload"]!["value"]));
        Assert.Equal(0, await factory.WithDbAsync(owner.TenantId, db => db.UsageRecords.CountAsync(u => u.ReportedAt == null)));

        // The invoice preview carries the usage: 30 minutes × 5 ¢ + 12 messages × 0.5 ¢ on top of the 49 $ fee.
        var billing = await (await owner.Client.GetAsync("/api/v1/billing")).JsonAsync(HttpStatusCode.OK);
        Assert.Equal(4900 + 150 + 6, billing["upcomingInvoice"]!["amountDue"]!.GetValue<long>());

        // Reconciliation finds no drift; a meter event Stripe holds that Switchboard does not is reported as drift.
        var ops = await factory.OperatorAsync();
        var clean = await (await ops.Client.PostAsync($"/api/v1/operator/billing/reconcile?period={UsageMeter.PeriodOf(now)}", null)).JsonAsync(HttpStatusCode.OK);
        Assert.DoesNotContain(clean["drift"]!.AsArray(), d => d!["tenantId"]!.GetValue<Guid>() == owner.TenantId);
        using (var stripe = new HttpClient())
        {
            stripe.DefaultRequestHeaders.Authorization = new("Bearer", "sk_test_other_client");
            var extra = await stripe.PostAsync(factory.Stripe.BaseUrl + "/v1/billing/meter_events", new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["event_name"] = "chat_messages", ["identifier"] = "stray-" + Guid.NewGuid().ToString("N"), ["payload[stripe_customer_id]"] = customer,
                ["payload[value]"] = "1", ["timestamp"] = now.ToUnixTimeSeconds().ToString(),
            }));
            Assert.Equal(HttpStatusCode.OK, extra.StatusCode);
        }
        var drifted = await (await ops.Client.PostAsync($"/api/v1/operator/billing/reconcile?period={UsageMeter.PeriodOf(now)}", null)).JsonAsync(HttpStatusCode.OK);
        var drift = Assert.Single(drifted["drift"]!.AsArray(), d => d!["tenantId"]!.GetValue<Guid>() == owner.TenantId);
        Assert.Equal("chat_messages", drift!["kind"]!.GetValue<string>());
        Assert.Equal(12, drift["local"]!.GetValue<double>());
        Assert.Equal(13, drift["reported"]!.GetValue<double>());
        var listed = JsonNode.Parse(await ops.Client.GetStringAsync("/api/v1/operator/billing/drift"))!.AsArray();
        Assert.Contains(listed, d => d!["tenantId"]!.GetValue<Guid>() == owner.TenantId && d["kind"]!.GetValue<string>() == "chat_messages");
        Assert.Equal(HttpStatusCode.Forbidden, (await owner.Client.GetAsync("/api/v1/operator/billing/drift")).StatusCode);
    }

    [Fact]
    public async Task UsageOlderThanStripeAcceptsBecomesADeadLetter()
    {
        var (owner, _) = await factory.SubscribeAsync("starter");
        var old = factory.Clock.GetUtcNow().AddDays(-36);
        using (var scope = factory.Scope())
        {
            scope.ServiceProvider.GetRequiredService<CurrentTenant>().Set(owner.TenantId);
            await scope.ServiceProvider.GetRequiredService<UsageMeter>().RecordChatMessageAsync(owner.TenantId, "old-" + Guid.NewGuid().ToString("N"), old, CancellationToken.None);
        }
        await factory.Outbox.DrainAsync(CancellationToken.None);
        var dead = await factory.WithDbAsync(owner.TenantId, db => db.Outbox.SingleAsync(m => m.Kind == MeterEventHandler.Kind));
        Assert.Equal("dead", dead.Status);
        Assert.StartsWith("timestamp_too_far_in_past", dead.LastError);
        Assert.Contains(factory.LogLines, l => l.StartsWith("Warning") && l.Contains("dead-lettered") && l.Contains("timestamp_too_far_in_past"));
        var customer = (await factory.AccountAsync(owner.TenantId)).StripeCustomerId;
        Assert.Equal(0, factory.Stripe.Requests.Count(r => r.Path == "/v1/billing/meter_events" && r.Form.GetValueOrDefault("payload[stripe_customer_id]") == customer));

        // More than 5 minutes ahead (Stripe: timestamp_in_future): not dropped, not dead, sent once it is within Stripe's window.
        var ahead = "ahead-" + Guid.NewGuid().ToString("N");
        using (var scope = factory.Scope())
        {
            scope.ServiceProvider.GetRequiredService<CurrentTenant>().Set(owner.TenantId);
            await scope.ServiceProvider.GetRequiredService<UsageMeter>().RecordChatMessageAsync(owner.TenantId, ahead, factory.Clock.GetUtcNow().AddHours(1), CancellationToken.None);
        }
        await factory.Outbox.DrainAsync(CancellationToken.None);
        var waiting = await factory.WithDbAsync(owner.TenantId, db => db.Outbox.Where(m => m.Kind == MeterEventHandler.Kind && m.Status == "pending").ToListAsync());
        Assert.StartsWith("timestamp_in_future", Assert.Single(waiting).LastError);
        Assert.DoesNotContain(factory.Stripe.MeterEvents, e => (string?)e["identifier"] == ahead);
        factory.Clock.Advance(TimeSpan.FromMinutes(57));
        await factory.Outbox.DrainAsync(CancellationToken.None);
        Assert.Single(factory.Stripe.MeterEvents, e => (string?)e["identifier"] == ahead);
    }

    [Fact]
    public async Task StripeSetupIsIdempotent()
    {
        await factory.EnsureSetUpAsync();
        Assert.Contains("created meter   voice_seconds", factory.SetupOutput.ToString());
        Assert.Contains("created price   switchboard_pro_minutes", factory.SetupOutput.ToString());
        var prices = factory.Stripe.All("price").Count;
        var catalog = await factory.WithDbAsync(null, db => db.BillingCatalog.AsNoTracking().ToDictionaryAsync(e => e.Key, e => e.StripeId));
        using var again = new StringWriter();
        Assert.Equal(0, await StripeSetupCommand.RunAsync(factory.Services, ["--webhook-url", StripeBillingFactory.WebhookUrl], again, CancellationToken.None));
        Assert.DoesNotContain("created", again.ToString());
        Assert.Contains("exists  price   switchboard_telephony_base", again.ToString());
        Assert.Equal(prices, factory.Stripe.All("price").Count);
        Assert.Equal(3 * 3, prices); // starter, pro, telephony × base, minutes, messages
        Assert.Single(factory.Stripe.All("webhook_endpoint"));
        Assert.Equal(catalog, await factory.WithDbAsync(null, db => db.BillingCatalog.AsNoTracking().ToDictionaryAsync(e => e.Key, e => e.StripeId)));
        var endpoint = Assert.Single(factory.Stripe.All("webhook_endpoint"));
        Assert.Equal(Stripe.StripeConfiguration.ApiVersion, (string?)endpoint["api_version"]);
    }
}

/// <summary>Without Stripe settings nothing changes for a self-hoster: owners change plans at once (unless the operator forbids it), Stripe routes say so.</summary>
[Trait("Category", "Database")]
public sealed class SelfHostedBillingTests(SelfServiceFactory factory) : IClassFixture<SelfServiceFactory>
{
    [Fact]
    public async Task WithoutStripeThePlanApiIsUnchangedAndStripeRoutesAreNotConfigured()
    {
        var owner = await factory.SignUpAsync();
        var changed = await (await owner.Client.PutAsJsonAsync("/api/v1/plan", new { planId = "pro" })).JsonAsync(HttpStatusCode.OK);
        Assert.Equal("pro", changed["plan"]!["id"]!.GetValue<string>());
        var billing = await (await owner.Client.GetAsync("/api/v1/billing")).JsonAsync(HttpStatusCode.OK);
        Assert.Equal("self_hosted", billing["mode"]!.GetValue<string>());
        Assert.True(billing["ownersMayChangePlan"]!.GetValue<bool>());
        Assert.Equal("STRIPE_NOT_CONFIGURED", await (await owner.Client.PostAsJsonAsync("/api/v1/billing/checkout", new { planId = "pro" })).ErrorCodeAsync());
        Assert.Equal("STRIPE_NOT_CONFIGURED", await (await owner.Client.PostAsync("/api/v1/billing/portal", null)).ErrorCodeAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await factory.CreateClient().PostAsync("/webhooks/stripe", new StringContent("{}", System.Text.Encoding.UTF8, "application/json"))).StatusCode);

        // Usage is still counted against the plan, but nothing is queued for Stripe and there is nothing to reconcile.
        using (var scope = factory.Scope())
        {
            scope.ServiceProvider.GetRequiredService<CurrentTenant>().Set(owner.TenantId);
            await scope.ServiceProvider.GetRequiredService<UsageMeter>().RecordChatMessageAsync(owner.TenantId, "self-" + Guid.NewGuid().ToString("N"), factory.Clock.GetUtcNow(), CancellationToken.None);
            var report = await scope.ServiceProvider.GetRequiredService<BillingReconciler>().RunAsync(UsageMeter.PeriodOf(factory.Clock.GetUtcNow()), CancellationToken.None);
            Assert.Equal("Stripe billing is not configured.", report.Error);
        }
        Assert.Equal(1, (await (await owner.Client.GetAsync("/api/v1/usage")).JsonAsync(HttpStatusCode.OK))["chatMessages"]!.GetValue<int>());
        Assert.Equal(0, await factory.WithDbAsync(owner.TenantId, db => db.Outbox.CountAsync(m => m.Kind == MeterEventHandler.Kind)));
        var ops = await factory.OperatorAsync();
        Assert.Equal("STRIPE_NOT_CONFIGURED", await (await ops.Client.PostAsync("/api/v1/operator/billing/reconcile", null)).ErrorCodeAsync());
    }
}

/// <summary>A host whose operator sets plans: owners may not.</summary>
public sealed class OperatorSetsPlansFactory : SelfServiceFactory
{
    protected override IDictionary<string, string?> MoreSettings => new Dictionary<string, string?> { ["Switchboard:Billing:OwnersMayChangePlan"] = "false" };
}

[Trait("Category", "Database")]
public sealed class OperatorSetsPlansTests(OperatorSetsPlansFactory factory) : IClassFixture<OperatorSetsPlansFactory>
{
    [Fact]
    public async Task OwnersCannotChangeTheirPlanWhenTheOperatorSetsPlans()
    {
        var owner = await factory.SignUpAsync();
        var refused = await owner.Client.PutAsJsonAsync("/api/v1/plan", new { planId = "pro" });
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal("PLAN_CHANGES_DISABLED", await refused.ErrorCodeAsync());
        await factory.SetPlanAsync(owner.TenantId, "pro"); // the operator can
        Assert.Equal("pro", (await (await owner.Client.GetAsync("/api/v1/plan")).JsonAsync(HttpStatusCode.OK))["plan"]!["id"]!.GetValue<string>());
    }
}
