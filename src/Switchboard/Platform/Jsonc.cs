using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Switchboard.Platform;

/// <summary>
/// Turns Vapi's documentation examples into strict JSON: comments (<c>/* Call Object */</c>, <c>// optional</c>),
/// bare placeholders (<c>{ Call Object }</c>), elision lines (<c>...</c>) and trailing commas are removed.
/// </summary>
internal static partial class Jsonc
{
    public static JsonNode Parse(string text)
    {
        var cleaned = Placeholder().Replace(text, "{}");
        cleaned = Ellipsis().Replace(cleaned, "");
        var options = new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };
        return JsonNode.Parse(cleaned, documentOptions: options) ?? throw new JsonException("Empty document.");
    }

    public static string ToStrictJson(string text) => Parse(text).ToJsonString();

    [GeneratedRegex(@"\{\s*[A-Za-z][A-Za-z ]*\s*\}")]
    private static partial Regex Placeholder();

    [GeneratedRegex(@"^\s*\.\.\.\s*,?\s*$", RegexOptions.Multiline)]
    private static partial Regex Ellipsis();
}
