using Microsoft.AspNetCore.Http.HttpResults;
using Switchboard.Platform.Http;
using Switchboard.Tenancy;

namespace Switchboard.Templates;

/// <summary>
/// <c>GET /api/v1/assistant-templates?language=en|fr</c>: the receptionist persona gallery (12 trades × English and
/// Québec French) that onboarding and the assistant studio offer. A client applies a template by filling the assistant
/// form with it and saving through <c>/api/v1/assistants</c>; there is no "apply" endpoint. Contract: issue 9 split,
/// "Template gallery contract".
/// </summary>
internal static class AssistantTemplatesApi
{
    /// <summary>Registers the catalogue (read once from the embedded JSON).</summary>
    public static IServiceCollection AddAssistantTemplates(this IServiceCollection services) => services.AddSingleton<AssistantTemplateCatalog>();

    public static RouteGroupBuilder MapAssistantTemplates(this RouteGroupBuilder api)
    {
        api.MapGet("/assistant-templates", List).WithTags("Assistants").RequirePermission(Permission.Read)
            .WithSummary("Receptionist templates for 12 trades in English and French")
            .WithDescription("language: en or fr (optional; both when absent). Any other value is 400 VALIDATION_FAILED.")
            .ProducesErrors(400);
        return api;
    }

    private static Results<Ok<AssistantTemplateList>, JsonHttpResult<ErrorEnvelope>> List(string? language, AssistantTemplateCatalog catalog)
    {
        if (language is not null && !AssistantTemplateCatalog.GalleryLanguages.ContainsKey(language))
        {
            return ApiError.BadRequest("VALIDATION_FAILED", "The request is invalid.", new Dictionary<string, string> { ["language"] = "must be en or fr" });
        }
        return TypedResults.Ok(new AssistantTemplateList([.. catalog.All.Where(t => language is null || t.Language == language)]));
    }
}
