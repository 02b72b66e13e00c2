using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Billing;

/// <summary>
/// The onboarding wizard's plan step is held to the same rule as <c>PUT /api/v1/plan</c>: with Stripe billing a paid
/// plan is bought through Checkout and a subscription is changed in the portal, not picked in the wizard.
/// </summary>
[Trait("Category", "Database")]
public sealed class OnboardingPlanStepTests(StripeBillingFactory factory) : IClassFixture<StripeBillingFactory>
{
    [Fact]
    public async Task TheWizardCannotSwitchToAPaidPlanWithoutPaying()
    {
        await factory.EnsureSetUpAsync();
        var owner = await factory.SignUpAsync();

        var result = await (await owner.Client.PatchAsJsonAsync("/api/v1/onboarding", new { plan = new { planId = "telephony" } })).JsonAsync(HttpStatusCode.OK);

        Assert.Equal("free", result["plan"]!["planId"]!.GetValue<string>());
        Assert.Equal("free", (await factory.AccountAsync(owner.TenantId)).PlanId);
        Assert.Contains("CHECKOUT_REQUIRED", PlanWarning(result));
        var features = await owner.Client.GetAsync("/api/v1/webhooks/endpoints");
        Assert.Equal(HttpStatusCode.Forbidden, features.StatusCode); // still the free plan's features
    }

    [Fact]
    public async Task TheWizardCannotChangeAStripeSubscription()
    {
        var (owner, _) = await factory.SubscribeAsync("starter");

        var result = await (await owner.Client.PatchAsJsonAsync("/api/v1/onboarding", new { plan = new { planId = "telephony" } })).JsonAsync(HttpStatusCode.OK);

        Assert.Equal("starter", (await factory.AccountAsync(owner.TenantId)).PlanId);
        Assert.Contains("MANAGE_IN_PORTAL", PlanWarning(result));
    }

    internal static string PlanWarning(JsonObject onboarding) =>
        onboarding["warnings"]!.AsArray().Single(w => w!["step"]!.GetValue<string>() == "plan")!["message"]!.GetValue<string>();
}

/// <summary>Where the operator sets plans, the wizard's plan step does not let an owner pick one.</summary>
[Trait("Category", "Database")]
public sealed class OnboardingPlanStepOperatorSetsPlansTests(OperatorSetsPlansFactory factory) : IClassFixture<OperatorSetsPlansFactory>
{
    [Fact]
    public async Task TheWizardCannotChangeThePlanWhenTheOperatorSetsPlans()
    {
        var owner = await factory.SignUpAsync();

        var result = await (await owner.Client.PatchAsJsonAsync("/api/v1/onboarding", new { plan = new { planId = "pro" } })).JsonAsync(HttpStatusCode.OK);

        Assert.Equal("free", (await (await owner.Client.GetAsync("/api/v1/plan")).JsonAsync(HttpStatusCode.OK))["plan"]!["id"]!.GetValue<string>());
        Assert.Contains("PLAN_CHANGES_DISABLED", OnboardingPlanStepTests.PlanWarning(result));
    }
}
