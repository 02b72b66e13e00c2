using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Switchboard.Alerts;
using Switchboard.Email;
using Switchboard.Outbox;
using Switchboard.Platform.Database;
using Switchboard.Tenancy;
using Switchboard.Webhooks;

namespace Switchboard.Billing;

/// <summary>What applying one Stripe event did: its outcome, the tenant, and the plan change (if any) to audit.</summary>
internal sealed record StripeEventOutcome(string Outcome, Guid? TenantId, string? ObjectId, object? AuditDetails = null)
{
    /// <summary>
    /// More audit entries to append once saved: <c>billing.features_suspended</c> / <c>billing.features_restored</c> (tenant
    /// null: <see cref="TenantId"/>'s log) and <c>billing.meter_error</c> (on the named tenant's log), with their details.
    /// </summary>
    public List<(Guid? TenantId, string Action, object Details)> MoreAudit { get; } = [];
}

/// <summary>
/// Applies a verified Stripe event to the tenant it is about (stripe-billing.md §6.3), staging every change on the
/// scope's context (the caller saves them with the event row, in one transaction). Subscription state is applied in the
/// order of the object's state, not of arrival: a state older than the one applied (event <c>created</c>), or as old
/// but of lower precedence (<see cref="StatusRank"/>), is stale and ignored. Status → plan: <c>trialing</c>/<c>active</c>
/// → the subscribed plan; <c>past_due</c> → grace of <see cref="StripeOptions.GraceDays"/> (owner alerted by SMS and
/// email), then features suspended (<see cref="TenantAccountCache"/> answers the signup plan); <c>unpaid</c> → suspended
/// at once; <c>canceled</c>/<c>incomplete_expired</c> → the signup (free) plan. Tenant webhook events:
/// <c>billing.plan_changed</c>, <c>billing.payment_failed</c>. The end of a grace is announced once by
/// <see cref="BillingSuspensions"/> (the sweep, or here when an event finds it due first); a payment that brings the
/// subscription back to <c>active</c> restores the features: <c>billing.plan_changed</c> with <c>featuresSuspended: false</c>,
/// audited <c>billing.features_restored</c>. Thin events (meter error reports) go to <see cref="MeterErrorReports"/>.
/// </summary>
internal sealed class StripeEventApplier(
    SwitchboardDbContext db, PlanCatalog plans, StripeGateway stripe, WebhookEventPublisher webhooks, Mailer mailer, CurrentTenant current,
    BillingSuspensions suspensions, MeterErrorReports meterErrors, TimeProvider clock, ILogger<StripeEventApplier> logger)
{
    private readonly List<(Guid? TenantId, string Action, object Details)> moreAudit = [];

    /// <summary>Precedence of statuses created in the same second: the later step of the lifecycle wins.</summary>
    internal static int StatusRank(string? status) => status switch
    {
        "incomplete" => 0,
        "incomplete_expired" => 1,
        "trialing" => 2,
        "active" => 3,
        "paused" => 4,
        "past_due" => 5,
        "unpaid" => 6,
        "canceled" => 7,
        _ => -1,
    };

    public async Task<StripeEventOutcome> ApplyAsync(JsonElement ev, CancellationToken ct)
    {
        moreAudit.Clear();
        var outcome = await ApplyCoreAsync(ev, ct);
        outcome.MoreAudit.AddRange(moreAudit);
        return outcome;
    }

    private async Task<StripeEventOutcome> ApplyCoreAsync(JsonElement ev, CancellationToken ct)
    {
        var type = ev.GetProperty("type").GetString()!;
        var at = CreatedOf(ev) ?? clock.GetUtcNow();
        if (MeterErrorReports.Handles(type))
        {
            // A thin event (v2 event destination): no data.object, the full event is fetched from Stripe.
            var (reportOutcome, audits) = await meterErrors.ApplyAsync(ev.GetProperty("id").GetString()!, type, ct);
            moreAudit.AddRange(audits.Select(a => ((Guid?)a.TenantId, a.Action, a.Details)));
            return new(reportOutcome, null, ev.TryGetProperty("related_object", out var related) ? Str(related, "id") : null);
        }
        if (!ev.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Object || !data.TryGetProperty("object", out var obj)
            || obj.ValueKind != JsonValueKind.Object)
        {
            return new("ignored: no data.object", null, null);
        }
        var objectId = Str(obj, "id");
        switch (type)
        {
            case "checkout.session.completed":
            {
                if (Str(obj, "mode") != "subscription")
                {
                    return new("ignored: not a subscription checkout", null, objectId);
                }
                var account = await FindAccountAsync(Guid.TryParse(Str(obj, "client_reference_id"), out var t) ? t : MetadataTenant(obj), Str(obj, "customer"), ct);
                if (account is null)
                {
                    return new("ignored: unknown tenant", null, objectId);
                }
                account.StripeCustomerId ??= Str(obj, "customer");
                var status = Str(obj, "payment_status") == "no_payment_required" ? "trialing" : "active";
                var planId = obj.TryGetProperty("metadata", out var md) ? Str(md, "plan_id") : null;
                if (await OtherSubscriptionIsCurrentAsync(account, Str(obj, "subscription"), status, ct) is { } other)
                {
                    return other with { ObjectId = objectId };
                }
                return await ApplySubscriptionAsync(account, Str(obj, "subscription"), status, planId, at, type, objectId, ct);
            }
            case "customer.subscription.created" or "customer.subscription.updated" or "customer.subscription.deleted":
            {
                var account = await FindAccountAsync(MetadataTenant(obj), Str(obj, "customer"), ct);
                if (account is null)
                {
                    return new("ignored: unknown tenant", null, objectId);
                }
                account.StripeCustomerId ??= Str(obj, "customer");
                var status = type == "customer.subscription.deleted" ? "canceled" : Str(obj, "status") ?? "incomplete";
                if (await OtherSubscriptionIsCurrentAsync(account, objectId, status, ct) is { } other)
                {
                    return other;
                }
                return await ApplySubscriptionAsync(account, objectId, status, await PlanOfAsync(obj, ct), at, type, objectId, ct);
            }
            case "invoice.paid":
            {
                var account = await FindAccountAsync(null, Str(obj, "customer"), ct);
                if (account is null)
                {
                    return new("ignored: unknown customer", null, objectId);
                }
                if (account.SubscriptionStatus is "past_due" or "unpaid" && SubscriptionOfInvoice(obj) is { } sub && sub == account.StripeSubscriptionId)
                {
                    // Paying the overdue invoice makes the subscription active again (the subscription.updated that says so may come later or earlier).
                    return await ApplySubscriptionAsync(account, sub, "active", null, at, type, objectId, ct);
                }
                return new("applied", account.TenantId, objectId);
            }
            case "invoice.payment_failed":
            {
                var account = await FindAccountAsync(null, Str(obj, "customer"), ct);
                if (account is null)
                {
                    return new("ignored: unknown customer", null, objectId);
                }
                var now = clock.GetUtcNow();
                if (account.SubscriptionStatus is not ("canceled" or "incomplete_expired"))
                {
                    account.GraceEndsAt ??= now.AddDays(stripe.Options.GraceDays);
                    account.UpdatedAt = now;
                }
                var attempt = obj.TryGetProperty("attempt_count", out var a) && a.ValueKind == JsonValueKind.Number && a.TryGetInt32(out var n) ? n : 1;
                await webhooks.PublishAsync(account.TenantId, WebhookEventTypes.BillingPaymentFailed, $"{objectId}:{attempt}",
                    new BillingPaymentFailedData(objectId ?? "", Long(obj, "amount_due"), Str(obj, "currency") ?? stripe.Options.Currency, attempt,
                        UnixTime(Long(obj, "next_payment_attempt")) is { } next && next > DateTimeOffset.UnixEpoch ? next : null,
                        Str(obj, "hosted_invoice_url"), account.GraceEndsAt), ct);
                await AlertOwnerAsync(account, $"payment-failed:{objectId}:{attempt}", Str(obj, "hosted_invoice_url"), ct);
                return new("applied", account.TenantId, objectId, new { invoice = objectId, attempt, graceEndsAt = account.GraceEndsAt });
            }
            case "customer.subscription.trial_will_end":
            {
                var account = await FindAccountAsync(MetadataTenant(obj), Str(obj, "customer"), ct);
                if (account is null)
                {
                    return new("ignored: unknown tenant", null, objectId);
                }
                foreach (var owner in await OwnerEmailsAsync(account.TenantId, ct))
                {
                    mailer.BillingNotice(account.TenantId, owner, "Your Switchboard trial ends soon / Votre essai Switchboard se termine bientôt",
                        $"""
                        Your Switchboard trial ends in 3 days. Your card will then be charged for your plan; manage it here:
                        {mailer.Link("/settings/plan")}

                        ---
                        Votre essai Switchboard se termine dans 3 jours. Votre carte sera ensuite débitée; gérez votre forfait ici :
                        {mailer.Link("/settings/plan")}
                        """);
                }
                return new("applied", account.TenantId, objectId);
            }
            default:
                return new("ignored: type not handled", null, objectId);
        }
    }

    /// <summary>
    /// Statuses in which a subscription bills the customer (or will, once paid): the tenant changes plan in the portal, not through
    /// Checkout (ALREADY_SUBSCRIBED) or the plan API, and a second live subscription is a duplicate.
    /// </summary>
    internal static bool Live(string? status) => status is "trialing" or "active" or "past_due" or "unpaid";

    /// <summary>
    /// When the tenant's current subscription is live and the event is about another one, the event does not move the tenant:
    /// an older subscription's cancellation or expiry is history, and a second live one is a duplicate (two Checkout Sessions
    /// completed; Checkout refuses a tenant with a live subscription, so no other flow makes one), which is cancelled through
    /// the outbox (<see cref="DuplicateSubscriptionHandler"/>, staged once per subscription) and audited
    /// <c>billing.duplicate_subscription</c>. Null when the event is about the current subscription, or there is none live.
    /// </summary>
    private async Task<StripeEventOutcome?> OtherSubscriptionIsCurrentAsync(TenantAccount account, string? subscriptionId, string status, CancellationToken ct)
    {
        if (subscriptionId is null || account.StripeSubscriptionId is not { } current || current == subscriptionId || !Live(account.SubscriptionStatus))
        {
            return null;
        }
        if (!Live(status))
        {
            return new("ignored: another subscription is current", account.TenantId, subscriptionId);
        }
        var staged = db.Outbox.Local.Any(m => m.Kind == DuplicateSubscriptionHandler.Kind && m.DedupeKey == subscriptionId)
            || await db.Outbox.IgnoreQueryFilters().AnyAsync(m => m.Kind == DuplicateSubscriptionHandler.Kind && m.DedupeKey == subscriptionId, ct);
        if (!staged)
        {
            db.Outbox.Add(DuplicateSubscriptionHandler.NewMessage(account.TenantId, subscriptionId, current, clock.GetUtcNow()));
            moreAudit.Add((account.TenantId, "billing.duplicate_subscription", new { subscription = subscriptionId, status, kept = current }));
            logger.LogWarning("Tenant {TenantId} has a second live Stripe subscription {SubscriptionId} ({Status}) beside {Kept}: cancelling it",
                account.TenantId, subscriptionId, status, current);
        }
        return new("ignored: duplicate subscription, cancelled through the outbox", account.TenantId, subscriptionId);
    }

    private async Task<StripeEventOutcome> ApplySubscriptionAsync(
        TenantAccount account, string? subscriptionId, string status, string? planId, DateTimeOffset at, string type, string? objectId, CancellationToken ct)
    {
        if (account.SubscriptionStateAt is { } last && (at < last || (at == last && StatusRank(status) <= StatusRank(account.SubscriptionStatus))))
        {
            logger.LogInformation("Stripe {Type} for tenant {TenantId} is stale ({Status} at {At:O}; applied: {Current} at {Last:O})",
                type, account.TenantId, status, at, account.SubscriptionStatus, last);
            return new("stale", account.TenantId, objectId);
        }
        var now = clock.GetUtcNow();
        // A grace that ended before the sweep announced it (the host was down) is announced first, so a restore always follows its suspension.
        if (await suspensions.StageSuspensionAsync(account, now, ct) is { } caughtUp)
        {
            moreAudit.Add((null, BillingSuspensions.SuspendedAction, caughtUp));
        }
        var beforePlan = account.PlanId;
        var beforeStatus = account.SubscriptionStatus;
        var wasSuspended = account.SuspendedAt is not null;
        account.SubscriptionStatus = status;
        account.SubscriptionStateAt = at;
        account.StripeSubscriptionId = subscriptionId ?? account.StripeSubscriptionId;
        account.UpdatedAt = now;
        switch (status)
        {
            case "trialing" or "active":
                if (planId is not null && plans.Find(planId) is { } plan)
                {
                    account.PlanId = plan.Id;
                }
                account.GraceEndsAt = null;
                break;
            case "past_due":
                if (account.GraceEndsAt is null)
                {
                    account.GraceEndsAt = now.AddDays(stripe.Options.GraceDays);
                    await AlertOwnerAsync(account, $"past-due:{subscriptionId}:{at.ToUnixTimeSeconds()}", null, ct);
                }
                break;
            case "unpaid":
                account.GraceEndsAt = account.GraceEndsAt is { } ends && ends < now ? ends : now;
                break;
            case "canceled" or "incomplete_expired":
                account.PlanId = plans.SignupPlanId;
                account.GraceEndsAt = null;
                account.SuspendedAt = null; // nothing suspended any more: the tenant is on the free plan (billing.plan_changed says so)
                break;
        }
        if (account.PlanId != beforePlan)
        {
            account.PlanChangedAt = now;
        }
        var suspended = account.GraceEndsAt is { } e && e <= now;
        if (suspended && await suspensions.StageSuspensionAsync(account, now, ct) is { } atOnce)
        {
            moreAudit.Add((null, BillingSuspensions.SuspendedAction, atOnce)); // unpaid: no grace left
        }
        var restored = !suspended && wasSuspended && status is "trialing" or "active"; // canceled: the plan change to free says it
        if (restored)
        {
            account.SuspendedAt = null;
            moreAudit.Add((null, BillingSuspensions.RestoredAction, new { plan = account.PlanId, status, subscription = subscriptionId }));
        }
        if (account.PlanId != beforePlan || restored)
        {
            await webhooks.PublishAsync(account.TenantId, WebhookEventTypes.BillingPlanChanged, $"{objectId}:{type}:{at.ToUnixTimeSeconds()}:{status}",
                new BillingPlanChangedData(account.PlanId, restored ? plans.SignupPlanId : beforePlan, status, suspended, at), ct);
        }
        return new("applied", account.TenantId, objectId, new { from = beforePlan, to = account.PlanId, statusBefore = beforeStatus, status, subscription = subscriptionId });
    }

    private async Task<TenantAccount?> FindAccountAsync(Guid? tenantId, string? customerId, CancellationToken ct)
    {
        TenantAccount? account = null;
        if (customerId is not null)
        {
            account = await db.TenantAccounts.IgnoreQueryFilters().FirstOrDefaultAsync(a => a.StripeCustomerId == customerId, ct);
        }
        if (account is null && tenantId is { } id)
        {
            if (!await db.Tenants.IgnoreQueryFilters().AnyAsync(t => t.Id == id, ct))
            {
                return null;
            }
            current.Set(id);
            account = await TenantAccounts.GetOrCreateAsync(db, plans, id, clock.GetUtcNow(), ct);
            if (account.StripeCustomerId is { } linked && customerId is not null && linked != customerId)
            {
                return null; // metadata naming a tenant that is linked to another customer: not this tenant's subscription
            }
        }
        if (account is not null && current.TenantId is null)
        {
            current.Set(account.TenantId);
        }
        return account;
    }

    /// <summary>An event's <c>created</c>: Unix seconds (v1 snapshot events) or an ISO 8601 time (v2 thin events); null when absent or not such a time.</summary>
    internal static DateTimeOffset? CreatedOf(JsonElement ev) =>
        !ev.TryGetProperty("created", out var c) ? null
        : c.ValueKind == JsonValueKind.Number && c.TryGetInt64(out var unix) ? UnixTime(unix)
        : c.ValueKind == JsonValueKind.String && DateTimeOffset.TryParse(c.GetString(), System.Globalization.CultureInfo.InvariantCulture,
            System.Globalization.DateTimeStyles.AssumeUniversal, out var iso) ? iso.ToUniversalTime()
        : null;

    /// <summary>Unix seconds as a time, or null outside the range a <see cref="DateTimeOffset"/> holds (years 1–9999).</summary>
    private static DateTimeOffset? UnixTime(long seconds) =>
        seconds is >= -62135596800 and <= 253402300799 ? DateTimeOffset.FromUnixTimeSeconds(seconds) : null;

    private static Guid? MetadataTenant(JsonElement obj) =>
        obj.TryGetProperty("metadata", out var md) && md.ValueKind == JsonValueKind.Object && Guid.TryParse(Str(md, "tenant_id"), out var id) ? id : null;

    private static string? SubscriptionOfInvoice(JsonElement invoice) =>
        invoice.TryGetProperty("parent", out var p) && p.ValueKind == JsonValueKind.Object && p.TryGetProperty("subscription_details", out var d)
            && d.ValueKind == JsonValueKind.Object ? Str(d, "subscription") : null;

    /// <summary>The plan of a subscription: its <c>metadata[plan_id]</c>, else a price's <c>metadata[plan_id]</c>, else the catalog's price ids.</summary>
    private async Task<string?> PlanOfAsync(JsonElement sub, CancellationToken ct)
    {
        if (sub.TryGetProperty("metadata", out var md) && md.ValueKind == JsonValueKind.Object && plans.Find(Str(md, "plan_id")) is { } byMetadata)
        {
            return byMetadata.Id;
        }
        if (!sub.TryGetProperty("items", out var items) || items.ValueKind != JsonValueKind.Object || !items.TryGetProperty("data", out var list)
            || list.ValueKind != JsonValueKind.Array)
        {
            return null;
        }
        Dictionary<string, string>? catalog = null;
        foreach (var item in list.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object || !item.TryGetProperty("price", out var price) || price.ValueKind != JsonValueKind.Object)
            {
                continue;
            }
            if (price.TryGetProperty("metadata", out var pm) && pm.ValueKind == JsonValueKind.Object && plans.Find(Str(pm, "plan_id")) is { } byPrice)
            {
                return byPrice.Id;
            }
            catalog ??= await StripeGateway.CatalogAsync(db, ct);
            var priceId = Str(price, "id");
            var entry = catalog.FirstOrDefault(p => p.Value == priceId && p.Key.StartsWith("price:", StringComparison.Ordinal) && p.Key.EndsWith(":base", StringComparison.Ordinal));
            if (entry.Key is not null)
            {
                return entry.Key.Split(':')[1];
            }
        }
        return null;
    }

    private async Task<List<string>> OwnerEmailsAsync(Guid tenantId, CancellationToken ct) =>
        await db.Memberships.IgnoreQueryFilters().Where(m => m.TenantId == tenantId && m.Role == Roles.Owner)
            .Join(db.Users, m => m.UserId, u => u.Id, (m, u) => u.Email).ToListAsync(ct);

    /// <summary>
    /// Texts the tenant's office numbers (else on-call numbers) in the alert policy's language (<see cref="SmsText.PaymentFailed"/>)
    /// and emails its owners (English then French) that a payment failed; once per <paramref name="key"/>.
    /// </summary>
    private async Task AlertOwnerAsync(TenantAccount account, string key, string? invoiceUrl, CancellationToken ct)
    {
        var tenant = await db.Tenants.IgnoreQueryFilters().FirstAsync(t => t.Id == account.TenantId, ct);
        var now = clock.GetUtcNow();
        var graceEnds = account.GraceEndsAt ?? now.AddDays(stripe.Options.GraceDays);
        var lastDay = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(graceEnds, BusinessHoursCalculator.Zone(tenant.TimeZone)).DateTime);
        var smsBody = SmsText.PaymentFailed(tenant.Name, lastDay, tenant.AlertPolicy.Language ?? tenant.Locale);
        var numbers = tenant.AlertPolicy.OfficeNumbers.Count > 0 ? tenant.AlertPolicy.OfficeNumbers : tenant.AlertPolicy.OnCallNumbers;
        foreach (var to in numbers.Distinct())
        {
            var idempotencyKey = $"billing:{key}:{to}";
            if (await db.SmsMessages.IgnoreQueryFilters().AnyAsync(m => m.TenantId == tenant.Id && m.IdempotencyKey == idempotencyKey, ct))
            {
                continue;
            }
            var sms = new SmsMessage
            {
                Id = Guid.CreateVersion7(),
                TenantId = tenant.Id,
                Direction = "outbound",
                Purpose = "billing-payment-failed",
                To = to,
                Body = smsBody,
                Status = "queued",
                IdempotencyKey = idempotencyKey,
                CreatedAt = now,
            };
            SmsSendHandler.Queue(db, sms, now);
        }
        foreach (var owner in await OwnerEmailsAsync(tenant.Id, ct))
        {
            mailer.BillingNotice(tenant.Id, owner, "Payment failed for your Switchboard plan / Paiement refusé pour votre forfait Switchboard",
                $"""
                The payment for your Switchboard subscription ({tenant.Name}) failed. Your plan's features stay on until {graceEnds:yyyy-MM-dd} (UTC);
                after that they are suspended until the invoice is paid.
                {(invoiceUrl is null ? "" : "Pay the invoice: " + invoiceUrl)}
                Update your card: {mailer.Link("/settings/plan")}

                ---
                Le paiement de votre abonnement Switchboard ({tenant.Name}) a été refusé. Les fonctions de votre forfait restent actives
                jusqu'au {graceEnds:yyyy-MM-dd} (UTC), puis elles seront suspendues jusqu'au paiement de la facture.
                """);
        }
    }

    private static string? Str(JsonElement obj, string name) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static long Long(JsonElement obj, string name) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var n) ? n : 0;
}
