using Microsoft.AspNetCore.Http.HttpResults;
using Switchboard.Platform.Http;
using Switchboard.Tenancy;

namespace Switchboard.Billing;

/// <summary>
/// Refuses a request whose tenant's plan lacks a feature: 403 <c>FEATURE_NOT_IN_PLAN</c> with <c>details {feature, plan}</c>.
/// Usage: <c>endpoint.RequireFeature(Features.Webhooks)</c>. On <c>/api/v1</c> the refusal comes before the body is read
/// (<see cref="StorableTextGuardMiddleware"/> asks <see cref="RefusalAsync"/> first), so a caller without the feature gets the
/// 403 whatever the body holds, as a role without the route's permission does from authorization; the endpoint filter
/// answers the same for any other route.
/// </summary>
internal static class FeatureGate
{
    /// <summary>Endpoint metadata: the plan feature a route needs (one per <see cref="RequireFeature"/>).</summary>
    internal sealed record RequiredFeature(string Feature);

    public static TBuilder RequireFeature<TBuilder>(this TBuilder builder, string feature) where TBuilder : IEndpointConventionBuilder
    {
        builder.WithMetadata(new RequiredFeature(feature));
        builder.AddEndpointFilter(async (context, next) => (object?)await RefusalAsync(context.HttpContext) ?? await next(context));
        return builder.ProducesErrors(403);
    }

    /// <summary>
    /// The 403 <c>FEATURE_NOT_IN_PLAN</c> for the first feature the endpoint of <paramref name="http"/> requires that its
    /// tenant's plan lacks; null when it requires none, has them all, or the caller acts for no tenant (authorization answers that).
    /// </summary>
    public static async Task<JsonHttpResult<ErrorEnvelope>?> RefusalAsync(HttpContext http)
    {
        var required = http.GetEndpoint()?.Metadata.GetOrderedMetadata<RequiredFeature>();
        if (required is not { Count: > 0 } || Caller.From(http).TenantId is not { } tenantId)
        {
            return null;
        }
        var plan = (await http.RequestServices.GetRequiredService<TenantAccountCache>().GetAsync(tenantId, http.RequestAborted)).Plan;
        return required.FirstOrDefault(f => !plan.Has(f.Feature)) is { } missing
            ? NotInPlan(plan, missing.Feature)
            : null;
    }

    /// <summary>
    /// The 403 <c>FEATURE_NOT_IN_PLAN</c> every refusal for a missing feature answers, wherever it is checked. The message is
    /// English, "The {plan name} plan does not include {phrase}." (<paramref name="phrase"/>, else the feature id with spaces);
    /// <c>details</c> is <see cref="NotInPlanDetails"/>: what a client needs to word the refusal in its own language
    /// without parsing the message (the plan's name is the operator's English label, not a translation key).
    /// </summary>
    public static JsonHttpResult<ErrorEnvelope> NotInPlan(Plan plan, string feature, string? phrase = null) =>
        ApiError.Create(403, "FEATURE_NOT_IN_PLAN", NotInPlanMessage(plan, feature, phrase), NotInPlanDetails(plan, feature));

    /// <summary>The English message of <see cref="NotInPlan"/>, for middleware that writes the envelope itself.</summary>
    public static string NotInPlanMessage(Plan plan, string feature, string? phrase = null) =>
        $"The {plan.Name} plan does not include {phrase ?? feature.Replace('_', ' ')}.";

    /// <summary>
    /// The <c>details</c> of <c>FEATURE_NOT_IN_PLAN</c>: <c>{"feature": id from <see cref="Features"/>, "plan": <see cref="Plan.Id"/>
    /// as <c>GET /api/v1/plans</c> lists it}</c>.
    /// </summary>
    public static object NotInPlanDetails(Plan plan, string feature) => new { feature, plan = plan.Id };
}
