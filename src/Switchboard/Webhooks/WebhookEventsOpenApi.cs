using System.Net.Http;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Switchboard.Webhooks;

/// <summary>
/// Documents every tenant webhook event in the OpenAPI 3.1 <c>webhooks</c> section: one POST per event type with
/// its body schema (<c>{"type","timestamp","data"}</c>, data per <see cref="WebhookEventTypes"/>) under
/// <c>components/schemas/{Type}Event</c>, and the Standard Webhooks headers (<c>webhook-id</c>,
/// <c>webhook-timestamp</c>, <c>webhook-signature</c>).
/// </summary>
internal sealed class WebhookEventsOpenApi : IOpenApiDocumentTransformer
{
    public async Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken ct)
    {
        document.Components ??= new OpenApiComponents();
        document.Components.Schemas ??= new Dictionary<string, IOpenApiSchema>();
        document.Webhooks ??= new Dictionary<string, IOpenApiPathItem>();
        foreach (var definition in WebhookEventTypes.All)
        {
            var envelope = typeof(WebhookEventEnvelope<>).MakeGenericType(definition.DataType);
            var schema = await context.GetOrCreateSchemaAsync(envelope, null, ct);
            var name = SchemaName(definition.Type);
            schema.Description = $"{definition.Type}: {definition.Description}";
            document.Components.Schemas[name] = schema;

            var operation = new OpenApiOperation
            {
                OperationId = "webhook_" + name,
                Summary = definition.Description,
                Description = $"POSTed to every enabled endpoint subscribed to '{definition.Type}'. Verify the signature over the raw body " +
                              "(Standard Webhooks v1: HMAC-SHA256 of '{webhook-id}.{webhook-timestamp}.{body}' with the endpoint secret), " +
                              "deduplicate on webhook-id, and answer 2xx within 15 s.",
                Tags = new HashSet<OpenApiTagReference> { new("Webhooks", document) },
                Parameters =
                [
                    Header(StandardWebhookSigner.IdHeader, "Event id, the same on every retry and replay: the idempotency key."),
                    Header(StandardWebhookSigner.TimestampHeader, "Unix seconds of this attempt."),
                    Header(StandardWebhookSigner.SignatureHeader, "Space-separated 'v1,<base64>' signatures, one per active secret (two during a rotation)."),
                ],
                RequestBody = new OpenApiRequestBody
                {
                    Required = true,
                    Content = new Dictionary<string, OpenApiMediaType>
                    {
                        ["application/json"] = new() { Schema = new OpenApiSchemaReference(name, document) },
                    },
                },
                Responses = new OpenApiResponses
                {
                    ["2XX"] = new OpenApiResponse { Description = "Received. Anything else (or no answer within 15 s) is retried; 410 disables the endpoint." },
                },
            };
            var path = new OpenApiPathItem();
            path.AddOperation(HttpMethod.Post, operation);
            document.Webhooks[definition.Type] = path;
        }
    }

    /// <summary><c>call.ended</c> → <c>CallEndedEvent</c>.</summary>
    internal static string SchemaName(string type) =>
        string.Concat(type.Split('.', '_').Select(p => p.Length == 0 ? p : char.ToUpperInvariant(p[0]) + p[1..])) + "Event";

    private static OpenApiParameter Header(string name, string description) => new()
    {
        Name = name,
        In = ParameterLocation.Header,
        Required = true,
        Description = description,
        Schema = new OpenApiSchema { Type = JsonSchemaType.String },
    };
}
