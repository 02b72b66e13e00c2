using System.Text.Json.Nodes;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Switchboard.Calls;

/// <summary>
/// Documents the call list's and export's enumerated query filters as string enums (the binder takes strings so that
/// a bad value is a 422 envelope naming the allowed values, not a binding failure).
/// </summary>
internal sealed class CallsOpenApi : IOpenApiOperationTransformer
{
    private static readonly Dictionary<string, string[]> Enums = new(StringComparer.Ordinal)
    {
        ["urgency"] = ["emergency", "urgent", "routine"],
        ["channel"] = ["phone", "web"],
        ["direction"] = ["inbound", "outbound"],
    };

    public Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        var path = context.Description.RelativePath ?? "";
        if (!path.StartsWith("api/v1/calls", StringComparison.Ordinal) || operation.Parameters is null)
        {
            return Task.CompletedTask;
        }
        foreach (var parameter in operation.Parameters.OfType<OpenApiParameter>())
        {
            if (parameter.Name is { } name && Enums.TryGetValue(name, out var values) && parameter.Schema is OpenApiSchema schema)
            {
                schema.Enum = values.Select(v => (JsonNode)JsonValue.Create(v)).ToList();
            }
        }
        return Task.CompletedTask;
    }
}
