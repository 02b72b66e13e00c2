using Microsoft.AspNetCore.Http.Json;
using Switchboard.Calls;
using Switchboard.Platform.Database;
using Switchboard.Platform.Http;
using Switchboard.Vapi;
using Switchboard.Webhooks;

namespace Switchboard.Platform;

/// <summary>Registers this feature's services (called once from Program.cs).</summary>
internal static class PlatformRegistration
{
    /// <summary>Time, database, native heap trimming, the error envelope (also on Kestrel's own 400s), JSON rules, OpenAPI document transformers, caching, and the CORS policy of the Vapi webhook.</summary>
    public static WebApplicationBuilder AddPlatform(this WebApplicationBuilder builder)
    {
        // Platform: time, database, errors, JSON, OpenAPI, caching.
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSwitchboardDatabase();
        builder.Services.AddExceptionHandler<EnvelopeExceptionHandler>();
        builder.WebHost.ConfigureKestrel(o => o.ConfigureEndpointDefaults(l => l.UseRejectedRequestEnvelope())); // Kestrel's own 400s (%00 in a path) carry the envelope too
        builder.Services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(o => o.ThrowOnBadRequest = true); // binding errors reach the envelope with their reason
        builder.Services.Configure<JsonOptions>(o =>
        {
            o.SerializerOptions.DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.Never;
            o.SerializerOptions.NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.Strict; // numbers are JSON numbers (and typed so in OpenAPI)
            o.SerializerOptions.MaxDepth = 256; // a call's raw provider events (accepted up to 128 deep) are written back inside the detail
            RequestJson.RefuseDuplicateProperties(o.SerializerOptions); // {"name":"A","name":"B"} is a 400, not the last value (RFC 7493 §2.3; see RequestJson)
        });
        builder.Services.Configure<JsonOptions>(o => FiniteDoubleConverter.AddTo(o.SerializerOptions)); // NaN/±∞ already stored reads as null, never a 500
        builder.Services.AddOpenApi("v1", o => o.AddDocumentTransformer<OpenApiSecurity>().AddDocumentTransformer<WebhookEventsOpenApi>());
        builder.Services.Configure<Microsoft.AspNetCore.OpenApi.OpenApiOptions>("v1", o => o  // session scheme; auth, 401/403/429/500 and CSRF on every operation
            .AddDocumentTransformer<OpenApiConventions>().AddOperationTransformer<OpenApiConventions>()
            .AddOperationTransformer<CallsOpenApi>()   // the call list's enumerated filters
            .AddSchemaTransformer(FiniteDoubleSchema.TransformAsync)); // doubles stay typed numbers despite FiniteDoubleConverter
        builder.Services.AddMemoryCache();
        builder.Services.AddHostedService<NativeHeapTrimmer>(); // free native heap pages (closed SQLite connections) go back to the OS
        builder.Services.AddCors(o => o.AddPolicy(VapiWebhookApi.CorsPolicy, p => p
            .WithOrigins(builder.Configuration.GetSection($"{VapiOptions.Section}:AllowedOrigins").Get<string[]>() ?? new VapiOptions().AllowedOrigins)
            .WithMethods("POST").WithHeaders("content-type", "x-vapi-secret", "x-vapi-signature", "x-signature", "x-timestamp", "authorization")));
        return builder;
    }
}
