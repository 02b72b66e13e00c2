using Switchboard.Platform.Http;
using Switchboard.Tenancy;

namespace Switchboard.Billing;

/// <summary>
/// An endpoint filter that refuses a request whose tenant's plan lacks a feature: 403 <c>FEATURE_NOT_IN_PLAN</c> with
/// <c>details {feature, plan}</c>. Usage: <c>endpoint.RequireFeature(Features.Webhooks)</c>.
/// </summary>
internal static class FeatureGate
{
    public static TBuilder RequireFeature<TBuilder>(this TBuilder builder, string feature) where TBuilder : IEndpointConventionBuilder
    {
        builder.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            if (Caller.From(http).TenantId is { } tenantId)
            {
                var plan = (await http.RequestServices.GetRequiredService<TenantAccountCache>().GetAsync(tenantId, http.RequestAborted)).Plan;
                if (!plan.Has(feature))
                {
                    return ApiError.Create(403, "FEATURE_NOT_IN_PLAN", $"The {plan.Name} plan does not include {feature.Replace('_', ' ')}.", new { feature, plan = plan.Id });
                }
            }
            return await next(context);
        });
        return builder.ProducesErrors(403);
    }
}
