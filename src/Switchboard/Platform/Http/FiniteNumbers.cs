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
