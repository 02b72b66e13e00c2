using System.Collections.Frozen;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Extensions.Options;

namespace Switchboard.Platform.Http;

/// <summary>
/// The rule for the names in a JSON request body on <c>/api/v1</c>: a top-level property the request type has no field for
/// is a 400 <c>UNKNOWN_FIELD</c> that names it and lists the fields the request takes, and nothing is changed. A misspelt
/// field would otherwise bind as its default without a word: <c>"events"</c> for <c>"eventTypes"</c> subscribes a webhook
/// endpoint to every event type, <c>"enable": false</c> leaves it sending, <c>"nmae"</c> on a key leaves it unnamed.
/// Names compare without regard to case, as the binding does (<see cref="JsonSerializerDefaults.Web"/>). Only the top level is
/// checked; a type whose body is not an object of known fields (a dictionary, <see cref="JsonElement"/>, a type with
/// <c>[JsonExtensionData]</c>) takes any name. Applied by <see cref="StorableTextGuardMiddleware"/> to the body it has already
/// buffered, before the endpoint runs, for every route that declares a JSON request type (<see cref="IAcceptsMetadata"/>:
/// the body parameter ASP.NET Core binds, or <c>.Accepts&lt;T&gt;("application/json")</c> on the routes that read it themselves).
/// </summary>
internal static class UnknownFields
{
    /// <summary>The envelope's code.</summary>
    public const string Code = "UNKNOWN_FIELD";

    /// <summary>What <c>details</c> says of the unknown field.</summary>
    public const string Problem = "is not a field of this request";

    // Keyed weakly by the type info, so an options instance dropped (tests build many hosts) takes its sets with it.
    private static readonly ConditionalWeakTable<JsonTypeInfo, FrozenSet<string>> Known = new();

    /// <summary>
    /// The JSON type the endpoint of <paramref name="http"/> reads its body as, resolved with the API's serializer options, or
    /// null when it declares none, declares it for another media type only, or takes any name (see <see cref="UnknownFields"/>).
    /// </summary>
    public static JsonTypeInfo? RequestTypeOf(HttpContext http) => RequestTypeOf(http, http.GetEndpoint());

    /// <summary>
    /// As <see cref="RequestTypeOf(HttpContext)"/>, for <paramref name="endpoint"/>: the exception handler's, which the
    /// exception-handling middleware has taken off the context (<see cref="Microsoft.AspNetCore.Diagnostics.IExceptionHandlerFeature.Endpoint"/>).
    /// </summary>
    public static JsonTypeInfo? RequestTypeOf(HttpContext http, Endpoint? endpoint)
    {
        var accepts = endpoint?.Metadata.GetOrderedMetadata<IAcceptsMetadata>()
            .LastOrDefault(a => a.RequestType is not null && a.ContentTypes.Any(t => t.StartsWith("application/json", StringComparison.OrdinalIgnoreCase)));
        if (accepts?.RequestType is not { } type)
        {
            return null;
        }
        var info = http.RequestServices.GetRequiredService<IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value.SerializerOptions.GetTypeInfo(type);
        return info.Kind == JsonTypeInfoKind.Object && !info.Properties.Any(p => p.IsExtensionData) ? info : null;
    }

    /// <summary>
    /// The first top-level property of <paramref name="json"/> that <paramref name="type"/> has no field for, at most 100
    /// characters; null when every name is known, the body is not an object, or it is not well-formed JSON (the endpoint's
    /// reader answers that).
    /// </summary>
    public static string? Find(ReadOnlySpan<byte> json, JsonTypeInfo type)
    {
        var known = KnownNames(type);
        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }
            string? unknown = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString()!;
                if (unknown is null && !known.Contains(name))
                {
                    unknown = TolerantJson.Cap(name, 100);
                }
                reader.Read();
                reader.Skip();
            }
            while (reader.Read())
            {
                // to the end: a body that is not well-formed JSON is answered as such, whatever it names
            }
            return unknown;
        }
        catch (JsonException)
        {
            return null;
        }
        catch (InvalidOperationException)
        {
            return null; // a name that is not valid UTF-8 text; StorableText answers that first
        }
    }

    /// <summary>
    /// The JSON names of <paramref name="type"/>'s properties, compared without regard to case: built once per
    /// <see cref="JsonTypeInfo"/> and kept while it lives (the API's serializer options cache one per request type, so
    /// this is once per route type). Read-only and safe to share between threads.
    /// </summary>
    internal static FrozenSet<string> KnownNames(JsonTypeInfo type) =>
        Known.GetValue(type, static t => t.Properties.Select(p => p.Name).ToFrozenSet(StringComparer.OrdinalIgnoreCase));

    /// <summary>Writes the 400 <c>UNKNOWN_FIELD</c> for <paramref name="field"/>, listing the fields of <paramref name="type"/>.</summary>
    public static Task WriteAsync(HttpContext http, string field, JsonTypeInfo type)
    {
        var fields = string.Join(", ", type.Properties.Select(p => p.Name));
        return ApiError.WriteAsync(http, 400, Code, $"The body names '{field}', which this request does not take (its fields: {fields}).",
            new Dictionary<string, string>(StringComparer.Ordinal) { [field] = Problem });
    }
}
