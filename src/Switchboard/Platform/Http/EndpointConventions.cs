namespace Switchboard.Platform.Http;

/// <summary>OpenAPI conventions shared by the self-service endpoints.</summary>
internal static class EndpointConventions
{
    /// <summary>Documents the error envelope for each of <paramref name="statusCodes"/>.</summary>
    public static TBuilder ProducesErrors<TBuilder>(this TBuilder builder, params int[] statusCodes) where TBuilder : IEndpointConventionBuilder
    {
        foreach (var code in statusCodes)
        {
            builder.WithMetadata(new Microsoft.AspNetCore.Http.ProducesResponseTypeMetadata(code, typeof(ErrorEnvelope), ["application/json"]));
        }
        return builder;
    }
}
