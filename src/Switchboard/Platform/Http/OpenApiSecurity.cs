using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Switchboard.Platform.Http;

/// <summary>Declares the bearer secret-key scheme (<c>Authorization: Bearer sk_…</c>) in the OpenAPI document.</summary>
internal sealed class OpenApiSecurity : IOpenApiDocumentTransformer
{
    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes["secretKey"] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            Description = "A secret API key: Authorization: Bearer sk_live_…",
        };
        document.Info.Title = "Switchboard API";
        document.Info.Description = "Errors use the envelope {\"error\":{\"code\",\"message\",\"details\",\"traceId\"}}.";
        return Task.CompletedTask;
    }
}
