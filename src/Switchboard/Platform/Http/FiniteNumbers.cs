using System.Text.Json;
using System.Text.Json.Serialization;

namespace Switchboard.Platform.Http;

/// <summary>
/// Writes a non-finite double (NaN, ±∞) as JSON <c>null</c>, which is what it means to a reader: no usable value.
/// Such values are refused at the edge and by <see cref="Database.NonFiniteGuardInterceptor"/>, but rows stored before
/// those rules (or by hand) must not make a call's detail, a list page, the export or a webhook event fail: every
/// serializer that writes stored numbers (HTTP responses, export, webhook events) carries this converter.
/// </summary>
internal sealed class FiniteDoubleConverter : JsonConverter<double>
{
    public override bool HandleNull => false;

    public override double Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.GetDouble();

    public override void Write(Utf8JsonWriter writer, double value, JsonSerializerOptions options)
    {
        if (double.IsFinite(value))
        {
            writer.WriteNumberValue(value);
        }
        else
        {
            writer.WriteNullValue();
        }
    }

    /// <summary>Adds the converter to <paramref name="options"/> and returns them.</summary>
    public static JsonSerializerOptions AddTo(JsonSerializerOptions options)
    {
        options.Converters.Add(new FiniteDoubleConverter());
        return options;
    }
}

/// <summary>
/// Keeps <c>double</c> properties typed as JSON numbers in the OpenAPI document. A custom converter
/// (<see cref="FiniteDoubleConverter"/>) hides the CLR type from the schema generator, which then emits an untyped
/// schema; this transformer restores <c>number</c> (plus <c>null</c> for <c>double?</c>), format <c>double</c>.
/// </summary>
internal static class FiniteDoubleSchema
{
    /// <summary>An OpenAPI schema transformer: see the class summary.</summary>
    public static Task TransformAsync(Microsoft.OpenApi.OpenApiSchema schema, Microsoft.AspNetCore.OpenApi.OpenApiSchemaTransformerContext context, CancellationToken ct)
    {
        var type = context.JsonTypeInfo.Type;
        if (schema.Type is not null)
        {
            return Task.CompletedTask; // already typed (query parameters, other converters): leave it
        }
        if (type == typeof(double) || type == typeof(float))
        {
            schema.Type = Microsoft.OpenApi.JsonSchemaType.Number;
            schema.Format ??= type == typeof(double) ? "double" : "float";
        }
        else if ((type == typeof(double?) || type == typeof(float?)) && context.ParameterDescription is not null)
        {
            schema.Type = Microsoft.OpenApi.JsonSchemaType.Number; // an optional query parameter: absent, never null
            schema.Format ??= type == typeof(double?) ? "double" : "float";
        }
        else if (type == typeof(double?) || type == typeof(float?))
        {
            schema.Type = Microsoft.OpenApi.JsonSchemaType.Number | Microsoft.OpenApi.JsonSchemaType.Null;
            schema.Format ??= type == typeof(double?) ? "double" : "float";
        }
        return Task.CompletedTask;
    }
}
