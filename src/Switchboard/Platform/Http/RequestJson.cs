using System.Text.Json;
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

    [GeneratedRegex("^Duplicate propert(y '(?<name>[^']{1,100})'|ies)", RegexOptions.CultureInvariant)]
    private static partial Regex Duplicate();
}
