using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Switchboard.Platform.Http;
using Switchboard.Tenancy;

namespace Switchboard.Billing;

/// <summary>
/// Whether a tenant may switch its own plan, for every route that can (<c>PUT /api/v1/plan</c> and the onboarding
/// wizard's plan step), so that neither is a way around the other. Operators always may. Otherwise, without Stripe
/// billing, owners may only when <see cref="BillingOptions.OwnersMayChangePlan"/>; with it, a tenant with a live
/// subscription changes it in the Customer Portal and a paid plan is reached only through Checkout
/// (stripe-billing.md §4–5: provision on the webhook, never on the tenant's say-so).
/// </summary>
internal sealed class PlanChangePolicy(StripeGateway stripe, IOptions<BillingOptions> billing)
{
    /// <summary>
    /// Null when <paramref name="caller"/> may move <paramref name="account"/> to <paramref name="plan"/> now; else the
    /// refusal: 403 <c>PLAN_CHANGES_DISABLED</c>, 409 <c>MANAGE_IN_PORTAL</c> or 402 <c>CHECKOUT_REQUIRED</c>.
    /// Staying on the current plan is never refused.
    /// </summary>
    public JsonHttpResult<ErrorEnvelope>? Refusal(Caller caller, TenantAccount account, Plan plan)
    {
        if (account.PlanId == plan.Id || caller.IsOperator)
        {
            return null;
        }
        if (!stripe.Enabled && !billing.Value.OwnersMayChangePlan)
        {
            return ApiError.Forbidden("PLAN_CHANGES_DISABLED", "The operator of this installation sets plans; ask them to change yours.");
        }
        if (stripe.Enabled && StripeEventApplier.Live(account.SubscriptionStatus))
        {
            return ApiError.Conflict("MANAGE_IN_PORTAL", "Your plan is a Stripe subscription: change or cancel it in the billing portal (POST /api/v1/billing/portal).");
        }
        if (stripe.Enabled && plan.MonthlyPriceUsd > 0)
        {
            return ApiError.Create(402, "CHECKOUT_REQUIRED", $"The {plan.Name} plan is paid: subscribe through Stripe Checkout (POST /api/v1/billing/checkout).",
                new { planId = plan.Id, checkout = "/api/v1/billing/checkout" });
        }
        return null;
    }
}
