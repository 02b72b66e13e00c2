using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Stripe;
using Switchboard.Platform;
using Switchboard.Platform.Database;
using Switchboard.Platform.Http;
using Switchboard.Tenancy;

namespace Switchboard.Billing;

/// <summary>Starts Stripe Checkout for a paid plan.</summary>
public sealed record CheckoutRequest(string? PlanId);

/// <summary>A Stripe-hosted page to send the owner to (Checkout or the Customer Portal).</summary>
public sealed record BillingRedirect(string Url, string? SessionId);

/// <summary>An invoice line: description and amount in the currency's minor unit (cents).</summary>
public sealed record InvoiceLineDto(string? Description, long Amount);

/// <summary>The invoice Stripe would issue now for the current period (<c>amountDue</c> in minor units).</summary>
public sealed record UpcomingInvoiceDto(long AmountDue, string Currency, DateTimeOffset? PeriodStart, DateTimeOffset? PeriodEnd, IReadOnlyList<InvoiceLineDto> Lines);

/// <summary>A past invoice with its Stripe-hosted page.</summary>
public sealed record InvoiceDto(string Id, string? Number, string? Status, long AmountDue, long AmountPaid, string Currency, DateTimeOffset Created, string? HostedInvoiceUrl);

/// <summary>
/// The tenant's billing: <c>mode</c> (<c>stripe</c> or <c>self_hosted</c>), plan, subscription status, grace end and
/// suspension, whether owners may change plans (self-hosted), credit left (minor units), usage this period, the
/// upcoming invoice and past invoices. Stripe values are null when Stripe is off, the tenant has no customer yet, or
/// Stripe could not be reached (<c>stripeError</c> then says so).
/// </summary>
public sealed record BillingOverview(
    string Mode, string PlanId, string? SubscriptionStatus, DateTimeOffset? GraceEndsAt, bool FeaturesSuspended, bool OwnersMayChangePlan, bool HasCustomer,
    long? CreditLeft, string Currency, string Period, double CallSeconds, int ChatMessages, UpcomingInvoiceDto? UpcomingInvoice,
    IReadOnlyList<InvoiceDto> Invoices, string? StripeError);

/// <summary><c>/api/v1/billing</c>: the billing overview, Stripe Checkout for a paid plan and the Customer Portal.</summary>
internal static class StripeBillingApi
{
    public static RouteGroupBuilder MapStripeBilling(this RouteGroupBuilder api)
    {
        api.MapGet("/billing", OverviewAsync).RequirePermission(Permission.Read).WithTags("Billing")
            .WithSummary("Billing: plan, subscription, credit left, usage this period, upcoming and past invoices");
        api.MapPost("/billing/checkout", CheckoutAsync).RequirePermission(Permission.ManagePlan).WithTags("Billing")
            .WithSummary("Start Stripe Checkout for a paid plan (owner)")
            .WithDescription("Returns the Checkout URL. The plan changes when Stripe's webhook confirms the subscription.")
            .ProducesErrors(400, 403, 404, 409, 422, 502);
        api.MapPost("/billing/portal", PortalAsync).RequirePermission(Permission.ManagePlan).WithTags("Billing")
            .WithSummary("Open the Stripe Customer Portal (card, invoices, plan change, cancellation)")
            .ProducesErrors(403, 404, 409, 502);
        return api;
    }

    private static async Task<Ok<BillingOverview>> OverviewAsync(
        HttpContext http, SwitchboardDbContext db, StripeGateway stripe, TenantAccountCache accounts, PlanCatalog plans, UsageMeter meter,
        IOptions<BillingOptions> billing, TimeProvider clock, ILogger<StripeGateway> logger, CancellationToken ct)
    {
        var caller = Caller.From(http);
        var tenantId = caller.TenantId!.Value;
        var now = clock.GetUtcNow();
        var period = UsageMeter.PeriodOf(now);
        UsageMeter.TryParsePeriod(period, out var start);
        await meter.MeterEndedCallsAsync(start, ct);
        var (seconds, messages) = await meter.TotalsAsync(period, ct);
        var account = await db.TenantAccounts.AsNoTracking().FirstOrDefaultAsync(ct);
        var plan = (await accounts.GetAsync(tenantId, ct)).Plan;
        var suspended = account?.GraceEndsAt is { } ends && ends <= now;
        long? credit = null;
        UpcomingInvoiceDto? upcoming = null;
        var invoices = new List<InvoiceDto>();
        string? error = null;
        if (stripe.Enabled && account?.StripeCustomerId is { } customer)
        {
            try
            {
                var client = stripe.Client;
                var balance = await new Stripe.Billing.CreditBalanceSummaryService(client).GetAsync(new Stripe.Billing.CreditBalanceSummaryGetOptions
                {
                    Customer = customer,
                    Filter = new Stripe.Billing.CreditBalanceSummaryFilterOptions
                    {
                        Type = "applicability_scope",
                        ApplicabilityScope = new Stripe.Billing.CreditBalanceSummaryFilterApplicabilityScopeOptions { PriceType = "metered" },
                    },
                }, null, ct);
                credit = balance.Balances?.Sum(b => b.AvailableBalance?.Monetary?.Value ?? 0);
                var list = await new InvoiceService(client).ListAsync(new InvoiceListOptions { Customer = customer, Limit = 24 }, null, ct);
                invoices.AddRange(list.Data.Select(i => new InvoiceDto(i.Id, i.Number, i.Status, i.AmountDue, i.AmountPaid, i.Currency, i.Created, i.HostedInvoiceUrl)));
                if (StripeEventApplier.Live(account.SubscriptionStatus))
                {
                    var preview = await new InvoiceService(client).CreatePreviewAsync(new InvoiceCreatePreviewOptions { Customer = customer }, null, ct);
                    upcoming = new UpcomingInvoiceDto(preview.AmountDue, preview.Currency, preview.PeriodStart, preview.PeriodEnd,
                        preview.Lines?.Data?.Select(l => new InvoiceLineDto(l.Description, l.Amount)).ToList() ?? []);
                }
            }
            catch (StripeException e)
            {
                logger.LogWarning(e, "Stripe could not be read for the billing overview");
                error = e.StripeError?.Message ?? e.Message;
            }
            catch (HttpRequestException e)
            {
                logger.LogWarning(e, "Stripe could not be reached for the billing overview");
                error = "Stripe could not be reached.";
            }
        }
        return TypedResults.Ok(new BillingOverview(
            stripe.Enabled ? "stripe" : "self_hosted", plan.Id, account?.SubscriptionStatus, account?.GraceEndsAt, suspended,
            !stripe.Enabled && billing.Value.OwnersMayChangePlan, account?.StripeCustomerId is not null, credit, stripe.Options.Currency, period,
            Math.Round(seconds, 3), messages, upcoming, invoices, error));
    }

    private static async Task<Results<Ok<BillingRedirect>, JsonHttpResult<ErrorEnvelope>>> CheckoutAsync(
        CheckoutRequest body, HttpContext http, SwitchboardDbContext db, StripeGateway stripe, PlanCatalog plans, IOptions<PublicUrlOptions> urls,
        TimeProvider clock, ILogger<StripeGateway> logger, CancellationToken ct)
    {
        if (!stripe.Enabled)
        {
            return ApiError.NotFound("STRIPE_NOT_CONFIGURED", "Stripe billing is not configured on this installation: the operator sets plans.");
        }
        if (plans.Find(body.PlanId) is not { MonthlyPriceUsd: > 0 } plan)
        {
            return new Validation().Add("planId", "a paid plan: " + string.Join(", ", plans.All.Where(p => p.MonthlyPriceUsd > 0).Select(p => p.Id))).Result();
        }
        var tenantId = Caller.From(http).TenantId!.Value;
        var account = await TenantAccounts.GetOrCreateAsync(db, plans, tenantId, clock.GetUtcNow(), ct);
        if (StripeEventApplier.Live(account.SubscriptionStatus))
        {
            return ApiError.Conflict("ALREADY_SUBSCRIBED", "This organisation already has a subscription: change it in the billing portal (POST /api/v1/billing/portal).");
        }
        var catalog = await StripeGateway.CatalogAsync(db, ct);
        if (!catalog.TryGetValue($"price:{plan.Id}:base", out var basePrice))
        {
            return ApiError.Conflict("STRIPE_NOT_SET_UP", $"No Stripe price for the {plan.Name} plan: the operator must run `switchboard stripe-setup`.");
        }
        try
        {
            var customer = await StripeCustomers.EnsureAsync(db, stripe, account, ct);
            await ExpireOpenSessionsAsync(stripe, customer, ct);
            var items = new List<Stripe.Checkout.SessionLineItemOptions> { new() { Price = basePrice, Quantity = 1 } };
            foreach (var component in new[] { "minutes", "messages" })
            {
                if (catalog.TryGetValue($"price:{plan.Id}:{component}", out var metered))
                {
                    items.Add(new() { Price = metered }); // no quantity for a metered price
                }
            }
            var metadata = new Dictionary<string, string> { ["tenant_id"] = tenantId.ToString(), ["plan_id"] = plan.Id };
            var session = await new Stripe.Checkout.SessionService(stripe.Client).CreateAsync(new Stripe.Checkout.SessionCreateOptions
            {
                Mode = "subscription",
                Customer = customer,
                ClientReferenceId = tenantId.ToString(),
                LineItems = items,
                Metadata = metadata,
                SubscriptionData = new Stripe.Checkout.SessionSubscriptionDataOptions
                {
                    Metadata = metadata,
                    TrialPeriodDays = stripe.Options.TrialDays > 0 ? stripe.Options.TrialDays : null,
                },
                SuccessUrl = urls.Value.Url("/settings/plan?checkout=success&session_id={CHECKOUT_SESSION_ID}"),
                CancelUrl = urls.Value.Url("/settings/plan?checkout=canceled"),
            }, null, ct);
            return TypedResults.Ok(new BillingRedirect(session.Url, session.Id));
        }
        catch (StripeException e)
        {
            logger.LogWarning(e, "Stripe Checkout could not be started");
            return ApiError.Create(502, "STRIPE_ERROR", "Stripe refused the request: " + (e.StripeError?.Message ?? e.Message));
        }
    }

    /// <summary>
    /// Expires the customer's Checkout Sessions still open (an earlier upgrade left in another tab), so only the newest can be
    /// paid: each completed session is a subscription of its own, and two would both be charged. A session completed meanwhile
    /// cannot be expired (Stripe answers 400) and is skipped: its subscription arrives by webhook, and a second live one is
    /// cancelled there (<see cref="DuplicateSubscriptionHandler"/>). Other Stripe errors propagate (the caller answers 502).
    /// </summary>
    private static async Task ExpireOpenSessionsAsync(StripeGateway stripe, string customer, CancellationToken ct)
    {
        var sessions = new Stripe.Checkout.SessionService(stripe.Client);
        await foreach (var open in sessions.ListAutoPagingAsync(new Stripe.Checkout.SessionListOptions { Customer = customer, Status = "open", Limit = 100 }, null, ct))
        {
            try
            {
                await sessions.ExpireAsync(open.Id, null, null, ct);
            }
            catch (StripeException e) when (e.HttpStatusCode == System.Net.HttpStatusCode.BadRequest)
            {
                // completed (or expired) since it was listed
            }
        }
    }

    private static async Task<Results<Ok<BillingRedirect>, JsonHttpResult<ErrorEnvelope>>> PortalAsync(
        HttpContext http, SwitchboardDbContext db, StripeGateway stripe, IOptions<PublicUrlOptions> urls, ILogger<StripeGateway> logger, CancellationToken ct)
    {
        if (!stripe.Enabled)
        {
            return ApiError.NotFound("STRIPE_NOT_CONFIGURED", "Stripe billing is not configured on this installation: the operator sets plans.");
        }
        var account = await db.TenantAccounts.AsNoTracking().FirstOrDefaultAsync(ct);
        if (account?.StripeCustomerId is not { } customer)
        {
            return ApiError.Conflict("NO_SUBSCRIPTION", "This organisation has no Stripe customer yet: upgrade first (POST /api/v1/billing/checkout).");
        }
        try
        {
            var portal = await new Stripe.BillingPortal.SessionService(stripe.Client).CreateAsync(new Stripe.BillingPortal.SessionCreateOptions
            {
                Customer = customer,
                ReturnUrl = urls.Value.Url("/settings/plan"),
            }, null, ct);
            return TypedResults.Ok(new BillingRedirect(portal.Url, portal.Id));
        }
        catch (StripeException e)
        {
            logger.LogWarning(e, "Stripe portal could not be opened");
            return ApiError.Create(502, "STRIPE_ERROR", "Stripe refused the request: " + (e.StripeError?.Message ?? e.Message));
        }
    }
}

/// <summary>One Stripe customer per tenant, created on first need with <c>metadata[tenant_id]</c>, plus the configured starter credit.</summary>
internal static class StripeCustomers
{
    /// <summary>The tenant's customer id, creating it (and its trial credit grant) first if needed; saves the link.</summary>
    public static async Task<string> EnsureAsync(SwitchboardDbContext db, StripeGateway stripe, TenantAccount account, CancellationToken ct)
    {
        if (account.StripeCustomerId is { } existing)
        {
            return existing;
        }
        var tenant = await db.Tenants.IgnoreQueryFilters().AsNoTracking().FirstAsync(t => t.Id == account.TenantId, ct);
        var owner = await db.Memberships.IgnoreQueryFilters().Where(m => m.TenantId == account.TenantId && m.Role == Roles.Owner)
            .Join(db.Users, m => m.UserId, u => u.Id, (m, u) => u.Email).FirstOrDefaultAsync(ct);
        // A deterministic key: a retry (or a concurrent click) gets the same customer back instead of a second one.
        var customer = await new CustomerService(stripe.Client).CreateAsync(new CustomerCreateOptions
        {
            Name = tenant.Name,
            Email = owner,
            Metadata = new Dictionary<string, string> { ["tenant_id"] = account.TenantId.ToString() },
        }, new RequestOptions { IdempotencyKey = $"customer:{account.TenantId:N}" }, ct);
        if (stripe.Options.TrialCreditCents > 0)
        {
            await new Stripe.Billing.CreditGrantService(stripe.Client).CreateAsync(new Stripe.Billing.CreditGrantCreateOptions
            {
                Customer = customer.Id,
                Name = "Trial credit",
                Category = "promotional",
                Amount = new Stripe.Billing.CreditGrantAmountOptions
                {
                    Type = "monetary",
                    Monetary = new Stripe.Billing.CreditGrantAmountMonetaryOptions { Value = stripe.Options.TrialCreditCents, Currency = stripe.Options.Currency },
                },
                ApplicabilityConfig = new Stripe.Billing.CreditGrantApplicabilityConfigOptions
                {
                    Scope = new Stripe.Billing.CreditGrantApplicabilityConfigScopeOptions { PriceType = "metered" },
                },
                Metadata = new Dictionary<string, string> { ["tenant_id"] = account.TenantId.ToString() },
            }, new RequestOptions { IdempotencyKey = $"trial-credit:{account.TenantId:N}" }, ct);
        }
        account.StripeCustomerId = customer.Id;
        await db.SaveChangesAsync(ct);
        return customer.Id;
    }
}
