using Microsoft.AspNetCore.Http.HttpResults;
using Switchboard.Platform.Database;
using Switchboard.Platform.Http;
using Switchboard.Tenancy;

namespace Switchboard.Onboarding;

/// <summary>
/// <c>/api/v1/onboarding</c> (the nine-step wizard: profile, voiceProvider, persona, twilio, telephony, integrations,
/// assistant, plan, done) and <c>/api/v1/studio</c> (the persisted studio configuration).
/// </summary>
internal static class OnboardingApi
{
    public static RouteGroupBuilder MapOnboarding(this RouteGroupBuilder api)
    {
        var onboarding = api.MapGroup("/onboarding").WithTags("Onboarding");
        onboarding.MapGet("/", GetAsync).RequirePermission(Permission.Read).WithSummary("The wizard's state, each step's data, and what is missing");
        onboarding.MapPatch("/", PatchAsync).RequirePermission(Permission.Configure).WithSummary("Save any part of the wizard (partial, idempotent)")
            .WithDescription("Only an invalid profile is refused (422 VALIDATION_FAILED: IANA time zone, BCP 47 locale, accepted terms with version and time), " +
                             "and persona text or an assistant name holding control characters or bidirectional overrides (422 VALIDATION_FAILED naming the field). " +
                             "Other problems are returned as warnings and the rest is saved.")
            .ProducesErrors(400, 422);
        onboarding.MapPost("/complete", CompleteAsync).RequirePermission(Permission.Configure).WithSummary("Finish onboarding; returns what is still missing")
            .ProducesErrors(422);

        var studio = api.MapGroup("/studio").WithTags("Onboarding");
        studio.MapGet("/", GetStudioAsync).RequirePermission(Permission.Read).WithSummary("The studio configuration");
        studio.MapPatch("/", PatchStudioAsync).RequirePermission(Permission.Configure).WithSummary("Change the studio configuration (partial)")
            .WithDescription("Persona text holding control characters or bidirectional overrides is refused (422 VALIDATION_FAILED naming the field); " +
                             "other problems are returned as warnings and the rest is saved.")
            .ProducesErrors(400, 422);
        return api;
    }

    private static async Task<Ok<OnboardingDto>> GetAsync(HttpContext http, OnboardingService onboarding, CancellationToken ct) =>
        TypedResults.Ok(await onboarding.GetAsync(Caller.From(http), [], ct));

    // Two concurrent saves may both create the tenant's first wizard rows, or queue the same assistant version: the
    // loser runs again on fresh state (a PATCH of the wizard is idempotent), so a race is never a 500.
    private static async Task<Results<Ok<OnboardingDto>, JsonHttpResult<ErrorEnvelope>>> PatchAsync(
        OnboardingPatch body, HttpContext http, OnboardingService onboarding, SwitchboardDbContext db, CancellationToken ct)
    {
        var (result, error) = await UniqueViolation.RetryOnceAsync(db, () => onboarding.PatchAsync(Caller.From(http), body, ct));
        return result is null ? error! : TypedResults.Ok(result);
    }

    private static async Task<Results<Ok<OnboardingCompletion>, JsonHttpResult<ErrorEnvelope>>> CompleteAsync(
        HttpContext http, OnboardingService onboarding, SwitchboardDbContext db, CancellationToken ct)
    {
        var (result, error) = await UniqueViolation.RetryOnceAsync(db, () => onboarding.CompleteAsync(Caller.From(http), ct));
        return result is null ? error! : TypedResults.Ok(result);
    }

    private static async Task<Ok<StudioDto>> GetStudioAsync(HttpContext http, OnboardingService onboarding, CancellationToken ct) =>
        TypedResults.Ok(await onboarding.GetStudioAsync(Caller.From(http).TenantId!.Value, ct));

    private static async Task<Results<Ok<StudioResult>, JsonHttpResult<ErrorEnvelope>>> PatchStudioAsync(
        StudioPatch body, HttpContext http, OnboardingService onboarding, SwitchboardDbContext db, CancellationToken ct)
    {
        var (result, error) = await UniqueViolation.RetryOnceAsync(db, () => onboarding.PatchStudioAsync(Caller.From(http).TenantId!.Value, body, ct));
        return result is null ? error! : TypedResults.Ok(result);
    }
}
