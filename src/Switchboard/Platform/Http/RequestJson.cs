using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using System.Text.RegularExpressions;

namespace Switchboard.Platform.Http;

/// <summary>
/// How Switchboard's own API reads a JSON request body (<c>/api/v1</c>, bound by ASP.NET Core or read with
/// <c>ReadFromJsonAsync</c>, and the widget's <c>/widget/v1</c> and the webhook-endpoint readers, which deserialize a
/// buffered body themselves): an object that names the same property twice (<c>{"name":"A","name":"B"}</c>, also
/// <c>"name"</c> and <c>"Name"</c>, which bind to one property) is refused with 400 in the error envelope, where the
/// serializer used to keep the last value silently. RFC 8259 §4 says only that names SHOULD be unique and leaves the
/// behaviour to each parser, so the field a client, a proxy or an audit log reads can differ from the one stored;
/// RFC 7493 (I-JSON) §2.3 says names MUST NOT be duplicated, and that is the rule here. The check is System.Text.Json's
/// own (<see cref="JsonSerializerOptions.AllowDuplicateProperties"/>, .NET 9+), which throws a <see cref="JsonException"/>
/// that the existing bad-JSON answers turn into 400 (<c>BAD_REQUEST</c> for bound bodies, <c>MALFORMED_JSON</c> for the
/// widget and webhook-endpoint readers), named by <see cref="DuplicateProperty"/>.
/// The providers' webhooks (<c>/webhooks/vapi</c>, <c>/webhooks/twilio/…</c>, <c>/webhooks/stripe</c>) do not use these
/// options and stay tolerant: they parse with <see cref="JsonDocument"/> and keep the raw body, and a provider's
/// message is never refused for a duplicate name.
/// </summary>
internal static partial class RequestJson
{
    /// <summary>
    /// The options for readers that deserialize a request body themselves: <see cref="JsonSerializerDefaults.Web"/>
    /// (camelCase, case-insensitive names, numbers as JSON numbers) with duplicate property names refused.
    /// </summary>
    public static JsonSerializerOptions Options { get; } = RefuseDuplicateProperties(new JsonSerializerOptions(JsonSerializerDefaults.Web));

    /// <summary>Sets <see cref="JsonSerializerOptions.AllowDuplicateProperties"/> to false on <paramref name="options"/> and returns it.</summary>
    public static JsonSerializerOptions RefuseDuplicateProperties(JsonSerializerOptions options)
    {
        options.AllowDuplicateProperties = false;
        return options;
    }

    /// <summary>
    /// The property <paramref name="json"/> reports as named twice, as a path without the leading <c>$.</c>
    /// (<c>name</c>, <c>persona.tone</c>; at most 100 characters), or null when the exception is about something else.
    /// The serializer names the property in its message for an object or a <see cref="JsonElement"/>
    /// (<c>Duplicate property 'name' encountered…</c>, path <c>$</c> for an element) and only in the path for a dictionary.
    /// </summary>
    public static string? DuplicateProperty(JsonException json)
    {
        if (Duplicate().Match(json.Message) is not { Success: true } m)
        {
            return null;
        }
        var name = json.Path is { Length: > 2 } p && p.StartsWith("$.", StringComparison.Ordinal) ? p[2..]
            : m.Groups["name"].Success ? m.Groups["name"].Value : "body";
        return TolerantJson.Cap(name, 100);
    }

    /// <summary>
    /// The field <paramref name="json"/> reports a value of the wrong JSON type for (<c>{"text": 5}</c> where a string is
    /// taken): the path without the leading <c>$.</c> (<c>text</c>, <c>persona.tone</c>, <c>origins[1]</c>; at most 100
    /// characters) and what the field takes, in the client's words (<c>a string</c>, <c>true or false</c>, <c>an array</c>…;
    /// null when that has no plain JSON name, such as an enum). The field's type is looked up along the path in
    /// <paramref name="body"/> (the request type): System.Text.Json's message (<c>The JSON value could not be converted to
    /// R. Path: $.text | …</c>) names the record for a constructor parameter, and the field's own type only otherwise, so the
    /// message's type is the fallback, and only when it is a framework type. Null when the exception is about something else,
    /// or about the body as a whole (path <c>$</c>).
    /// </summary>
    public static (string Field, string? Expected)? WrongType(JsonException json, JsonTypeInfo? body)
    {
        if (WrongTypeMessage().Match(json.Message) is not { Success: true } m || json.Path is not { Length: > 2 } path
            || !path.StartsWith("$.", StringComparison.Ordinal))
        {
            return null;
        }
        var expected = body is null ? null : ExpectedAt(body, path);
        if (expected is null && m.Groups["type"].Value is var named && named.StartsWith("System.", StringComparison.Ordinal)
            && Type.GetType(named) is { } framework && framework.Assembly == typeof(object).Assembly)
        {
            expected = ExpectedJson(framework, body?.Options ?? Options);
        }
        return (TolerantJson.Cap(path[2..], 100)!, expected);
    }

    /// <summary>What the member at <paramref name="path"/> (<c>$.a.b[1]</c>) of <paramref name="info"/> takes, or null when the path leaves the type.</summary>
    private static string? ExpectedAt(JsonTypeInfo info, string path)
    {
        foreach (Match segment in PathSegment().Matches(path, 1))
        {
            if (segment.Groups["index"].Success)
            {
                if (info.Kind != JsonTypeInfoKind.Enumerable || info.ElementType is not { } element)
                {
                    return null;
                }
                info = info.Options.GetTypeInfo(element);
                continue;
            }
            var name = segment.Groups["name"].Success ? segment.Groups["name"].Value : segment.Groups["quoted"].Value;
            var property = info.Kind == JsonTypeInfoKind.Object
                ? info.Properties.FirstOrDefault(p => string.Equals(p.Name, name, info.Options.PropertyNameCaseInsensitive ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal))
                : null;
            if (property is null)
            {
                return null;
            }
            info = info.Options.GetTypeInfo(property.PropertyType);
        }
        return ExpectedJson(info.Type, info.Options);
    }

    /// <summary>The JSON a value of <paramref name="type"/> is written as, in the client's words, or null when it has no plain name.</summary>
    private static string? ExpectedJson(Type type, JsonSerializerOptions options)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(string) || type == typeof(char))
        {
            return "a string";
        }
        if (type == typeof(bool))
        {
            return "true or false";
        }
        if (type == typeof(byte) || type == typeof(sbyte) || type == typeof(short) || type == typeof(ushort) || type == typeof(int) || type == typeof(uint)
            || type == typeof(long) || type == typeof(ulong))
        {
            return "an integer";
        }
        if (type == typeof(float) || type == typeof(double) || type == typeof(decimal))
        {
            return "a number";
        }
        if (type == typeof(Guid))
        {
            return "a UUID string";
        }
        if (type == typeof(DateTimeOffset) || type == typeof(DateTime))
        {
            return "an ISO 8601 date and time string";
        }
        if (type == typeof(DateOnly))
        {
            return "an ISO 8601 date string (yyyy-MM-dd)";
        }
        if (type.IsEnum || type == typeof(object) || type == typeof(JsonElement) || typeof(System.Text.Json.Nodes.JsonNode).IsAssignableFrom(type))
        {
            return null;
        }
        return options.GetTypeInfo(type).Kind switch
        {
            JsonTypeInfoKind.Enumerable => "an array",
            JsonTypeInfoKind.Dictionary or JsonTypeInfoKind.Object => "an object",
            _ => null,
        };
    }

    [GeneratedRegex(@"^The JSON value could not be converted to (?<type>\S+)\. Path: ", RegexOptions.CultureInvariant)]
    private static partial Regex WrongTypeMessage();

    [GeneratedRegex(@"\.(?<name>[^.\[]+)|\['(?<quoted>(?:[^']|'')*)'\]|\[(?<index>\d+)\]", RegexOptions.CultureInvariant)]
    private static partial Regex PathSegment();

    [GeneratedRegex("^Duplicate propert(y '(?<name>[^']{1,100})'|ies)", RegexOptions.CultureInvariant)]
    private static partial Regex Duplicate();
}
