using Microsoft.Extensions.Options;

namespace Switchboard.Billing;

/// <summary>Features a plan may include. Endpoints that need one answer 403 <c>FEATURE_NOT_IN_PLAN</c> without it.</summary>
public static class Features
{
    /// <summary>Attach Twilio numbers (native voice or imported into Vapi).</summary>
    public const string Telephony = "telephony";

    /// <summary>The web chat/voice widget: publishable keys and allowed origins.</summary>
    public const string Widget = "widget";

    /// <summary>Signed webhooks to the tenant's systems.</summary>
    public const string Webhooks = "webhooks";

    /// <summary>Call recording.</summary>
    public const string Recording = "recording";

    /// <summary>The tenant's own branding on the widget.</summary>
    public const string CustomBranding = "custom_branding";

    /// <summary>Secret API keys (<c>sk_…</c>) for server-to-server use of <c>/api/v1</c>.</summary>
    public const string ApiAccess = "api_access";

    /// <summary>Voice in the web widget: the visitor talks to the assistant from the page (<c>/widget/v1/voice</c>), metered as call seconds.</summary>
    public const string WidgetVoice = "widget_voice";

    public static readonly string[] All = [Telephony, Widget, Webhooks, Recording, CustomBranding, ApiAccess, WidgetVoice];
}

/// <summary>
/// A plan: monthly price in USD, included voice minutes per month, concurrent calls, features, and the
/// <c>/api/v1</c> rate limits (requests per minute per tenant, and per API key or signed-in user), and how a call's
/// measured duration is rounded for billing: up to a whole number of <c>BillingIncrementSeconds</c> (60 = per started minute).
/// </summary>
public sealed record Plan(
    string Id,
    string Name,
    decimal MonthlyPriceUsd,
    int IncludedMinutes,
    int ConcurrentCalls,
    IReadOnlyList<string> Features,
    int RequestsPerMinute,
    int RequestsPerMinutePerKey,
    int BillingIncrementSeconds = 60)
{
    /// <summary>Billable seconds of a call lasting <paramref name="seconds"/>: rounded up to the plan's increment.</summary>
    public long BillableSeconds(double seconds)
    {
        if (!double.IsFinite(seconds) || seconds <= 0)
        {
            return 0;
        }
        var increment = Math.Max(1, BillingIncrementSeconds);
        return (long)Math.Ceiling(Math.Round(seconds, 3) / increment) * increment;
    }

    public bool Has(string feature) => Features.Contains(feature);
}

/// <summary>Configuration section <c>Switchboard:Billing</c>.</summary>
internal sealed class BillingOptions
{
    public const string Section = "Switchboard:Billing";

    /// <summary>Plan of a new signup.</summary>
    public string SignupPlan { get; set; } = "free";

    /// <summary>Plan of a tenant with no account row (created by an operator, the demo seeder or before self-service existed).</summary>
    public string DefaultPlan { get; set; } = "pro";

    /// <summary>Per-plan overrides of the rate limits and included minutes, keyed by plan id.</summary>
    public Dictionary<string, PlanOverride> Plans { get; set; } = [];

    /// <summary>Without Stripe billing: whether owners may change their plan themselves (<c>PUT /api/v1/plan</c>); operators always may.</summary>
    public bool OwnersMayChangePlan { get; set; } = true;
}

/// <summary>Overrides of one plan's numbers (tests lower the rate limits).</summary>
internal sealed class PlanOverride
{
    public int? RequestsPerMinute { get; set; }
    public int? RequestsPerMinutePerKey { get; set; }
    public int? IncludedMinutes { get; set; }
    public int? ConcurrentCalls { get; set; }
    public int? BillingIncrementSeconds { get; set; }
}

/// <summary>
/// The plans on offer: <c>free</c>, <c>starter</c>, <c>pro</c> and <c>telephony</c>. Without Stripe a plan change is immediate;
/// with Stripe a paid plan (<see cref="Plan.MonthlyPriceUsd"/> &gt; 0) is reached only through Checkout.
/// </summary>
internal sealed class PlanCatalog(IOptions<BillingOptions> options)
{
    private static readonly Plan[] Defaults =
    [
        new("free", "Free", 0m, 30, 1, [Features.Widget], 60, 30),
        new("starter", "Starter", 49m, 300, 2, [Features.Widget, Features.Webhooks, Features.Recording, Features.ApiAccess], 300, 120),
        new("pro", "Pro", 149m, 1500, 5,
            [Features.Widget, Features.WidgetVoice, Features.Webhooks, Features.Recording, Features.CustomBranding, Features.ApiAccess], 1200, 600, 6),
        new("telephony", "Telephony", 299m, 4000, 10,
            [Features.Telephony, Features.Widget, Features.WidgetVoice, Features.Webhooks, Features.Recording, Features.CustomBranding, Features.ApiAccess], 3000, 1200, 1),
    ];

    private readonly Lazy<IReadOnlyList<Plan>> plans = new(() => Defaults.Select(p =>
        options.Value.Plans.TryGetValue(p.Id, out var o)
            ? p with
            {
                RequestsPerMinute = o.RequestsPerMinute ?? p.RequestsPerMinute,
                RequestsPerMinutePerKey = o.RequestsPerMinutePerKey ?? p.RequestsPerMinutePerKey,
                IncludedMinutes = o.IncludedMinutes ?? p.IncludedMinutes,
                ConcurrentCalls = o.ConcurrentCalls ?? p.ConcurrentCalls,
                BillingIncrementSeconds = o.BillingIncrementSeconds ?? p.BillingIncrementSeconds,
            }
            : p).ToList());

    public IReadOnlyList<Plan> All => plans.Value;

    public Plan? Find(string? id) => All.FirstOrDefault(p => p.Id == id);

    /// <summary>The plan by id, or the default plan for an unknown id (never null).</summary>
    public Plan Get(string? id) => Find(id) ?? Find(options.Value.DefaultPlan) ?? All[^1];

    public string SignupPlanId => Find(options.Value.SignupPlan)?.Id ?? "free";
    public string DefaultPlanId => Get(options.Value.DefaultPlan).Id;
}
