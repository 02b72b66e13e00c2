using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Unicode;

namespace Switchboard.Platform.Http;

/// <summary>
/// Provider JSON whose strings cannot be used as text: a lone UTF-16 surrogate escape (<c>"\ud800"</c>), invalid UTF-8
/// bytes inside a string, or U+0000 (<c>"\u0000"</c>, which PostgreSQL <c>text</c> refuses). <c>JsonElement.GetString</c>
/// throws on the first two, so such a body is rewritten once at the edge into an equivalent document where each bad
/// code unit or byte sequence is U+FFFD, and the JSON path of every string (or property name) that was changed is
/// reported so the event can record it as unusable. A body with none of these is left byte-for-byte as it came.
/// </summary>
internal static class TolerantJson
{
    /// <summary>At most this many changed paths are reported per body.</summary>
    public const int MaxReportedPaths = 50;

    private static readonly JsonWriterOptions WriterOptions = new()
    {
        Encoder = JavaScriptEncoder.Create(UnicodeRanges.All),
        MaxDepth = 1000,
        SkipValidation = true,
    };

    /// <summary>
    /// Returns a sanitized copy of <paramref name="json"/> (already known to be well-formed JSON within
    /// <paramref name="maxDepth"/>), or null when every string is usable as it is. <paramref name="changedPaths"/>
    /// lists the paths (<c>$.message.call.id</c>, <c>$.message.messages[2]</c>…) whose text was replaced.
    /// </summary>
    public static byte[]? Sanitize(ReadOnlySpan<byte> json, int maxDepth, out List<string> changedPaths)
    {
        changedPaths = [];
        // Fast path: every byte is valid UTF-8 and no \u escape names a surrogate or U+0000, so no string can hold either.
        if (Utf8.IsValid(json) && !HasSuspectEscape(json))
        {
            return null;
        }

        var output = new ArrayBufferWriter<byte>(json.Length + 64);
        using var writer = new Utf8JsonWriter(output, WriterOptions);
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = maxDepth });
        var path = new List<PathFrame>();
        var changed = false;
        while (reader.Read())
        {
            if (reader.TokenType is not (JsonTokenType.EndObject or JsonTokenType.EndArray or JsonTokenType.PropertyName) && path.Count > 0 && path[^1].IsArray)
            {
                path[^1] = path[^1] with { Index = path[^1].Index + 1 };
            }
            switch (reader.TokenType)
            {
                case JsonTokenType.StartObject:
                    writer.WriteStartObject();
                    path.Add(new PathFrame(false, -1, null));
                    break;
                case JsonTokenType.StartArray:
                    writer.WriteStartArray();
                    path.Add(new PathFrame(true, -1, null));
                    break;
                case JsonTokenType.EndObject:
                    writer.WriteEndObject();
                    path.RemoveAt(path.Count - 1);
                    break;
                case JsonTokenType.EndArray:
                    writer.WriteEndArray();
                    path.RemoveAt(path.Count - 1);
                    break;
                case JsonTokenType.PropertyName:
                {
                    var (name, clean) = Decode(reader.HasValueSequence ? reader.ValueSequence.ToArray() : reader.ValueSpan, reader.ValueIsEscaped);
                    path[^1] = path[^1] with { Property = name };
                    if (!clean)
                    {
                        changed = true;
                        Report(changedPaths, path);
                    }
                    writer.WritePropertyName(name);
                    break;
                }
                case JsonTokenType.String:
                {
                    var (text, clean) = Decode(reader.HasValueSequence ? reader.ValueSequence.ToArray() : reader.ValueSpan, reader.ValueIsEscaped);
                    if (!clean)
                    {
                        changed = true;
                        Report(changedPaths, path);
                    }
                    writer.WriteStringValue(text);
                    break;
                }
                case JsonTokenType.Number:
                    writer.WriteRawValue(reader.ValueSpan, skipInputValidation: true);
                    break;
                case JsonTokenType.True:
                    writer.WriteBooleanValue(true);
                    break;
                case JsonTokenType.False:
                    writer.WriteBooleanValue(false);
                    break;
                case JsonTokenType.Null:
                    writer.WriteNullValue();
                    break;
            }
        }
        writer.Flush();
        return changed ? output.WrittenSpan.ToArray() : null;
    }

    /// <summary>
    /// Whether <paramref name="json"/> holds a <c>\uXXXX</c> escape that may decode to a UTF-16 surrogate (D800–DFFF, lone
    /// or paired: the full pass decides) or to U+0000, or a <c>\u</c> not followed by four hex digits. Conservative: a
    /// <c>\u</c> that is really text after an escaped backslash (<c>"\\u0000"</c>) also counts, and only costs the full
    /// pass. Real bodies escape accents and apostrophes (<c>\u00e9</c>, <c>\u0027</c>), which need no rewrite: without this
    /// test every such body took the full pass (a reader, a writer and a string per value: 6 % of the server's allocations
    /// under the ingest bench).
    /// </summary>
    internal static bool HasSuspectEscape(ReadOnlySpan<byte> json)
    {
        for (var i = json.IndexOf("\\u"u8); i >= 0; i = json.IndexOf("\\u"u8))
        {
            var digits = json[(i + 2)..];
            if (digits.Length < 4 || !System.Buffers.Text.Utf8Parser.TryParse(digits[..4], out ushort unit, out var read, 'X') || read != 4)
            {
                return true;
            }
            if (unit == 0 || unit is >= 0xD800 and <= 0xDFFF)
            {
                return true;
            }
            json = digits[4..];
        }
        return false;
    }

    /// <summary>
    /// Parses stored JSON text for re-serialisation (export, webhook events), sanitizing unusable strings first; text
    /// that is not JSON comes back as a JSON string element. Never throws.
    /// </summary>
    public static JsonElement ParseOrString(string json)
    {
        try
        {
            var bytes = Encoding.UTF8.GetBytes(json);
            var clean = Sanitize(bytes, 256, out _) ?? bytes;
            using var doc = JsonDocument.Parse(clean, new JsonDocumentOptions { MaxDepth = 256 });
            return doc.RootElement.Clone();
        }
        catch (JsonException)
        {
            return JsonSerializer.SerializeToElement(json.Replace('\0', '\uFFFD'));
        }
    }

    /// <summary>
    /// Decodes a JSON string token's raw bytes (between the quotes). Invalid UTF-8, a lone surrogate escape and
    /// U+0000 each become U+FFFD; <c>Clean</c> is false when any replacement was made.
    /// </summary>
    internal static (string Text, bool Clean) Decode(ReadOnlySpan<byte> raw, bool escaped)
    {
        var clean = Utf8.IsValid(raw);
        if (!escaped)
        {
            var plain = Encoding.UTF8.GetString(raw); // the default UTF8 encoding replaces invalid sequences with U+FFFD
            return (plain, clean);
        }
        var sb = new StringBuilder(raw.Length);
        var i = 0;
        while (i < raw.Length)
        {
            var slash = raw[i..].IndexOf((byte)'\\');
            if (slash < 0)
            {
                sb.Append(Encoding.UTF8.GetString(raw[i..]));
                break;
            }
            sb.Append(Encoding.UTF8.GetString(raw.Slice(i, slash)));
            i += slash;
            if (i + 1 >= raw.Length)
            {
                break;
            }
            var c = raw[i + 1];
            i += 2;
            switch (c)
            {
                case (byte)'n': sb.Append('\n'); break;
                case (byte)'r': sb.Append('\r'); break;
                case (byte)'t': sb.Append('\t'); break;
                case (byte)'b': sb.Append('\b'); break;
                case (byte)'f': sb.Append('\f'); break;
                case (byte)'u' when i + 4 <= raw.Length && TryHex(raw.Slice(i, 4), out var unit):
                    i += 4;
                    if (char.IsHighSurrogate(unit) && i + 6 <= raw.Length && raw[i] == '\\' && raw[i + 1] == 'u'
                        && TryHex(raw.Slice(i + 2, 4), out var low) && char.IsLowSurrogate(low))
                    {
                        sb.Append(unit).Append(low);
                        i += 6;
                    }
                    else if (char.IsSurrogate(unit) || unit == '\0')
                    {
                        sb.Append('\uFFFD');
                        clean = false;
                    }
                    else
                    {
                        sb.Append(unit);
                    }
                    break;
                default: sb.Append((char)c); break; // \" \\ \/
            }
        }
        return (sb.ToString(), clean);
    }

    private static bool TryHex(ReadOnlySpan<byte> four, out char unit)
    {
        var ok = int.TryParse(Encoding.ASCII.GetString(four), System.Globalization.NumberStyles.AllowHexSpecifier,
            System.Globalization.CultureInfo.InvariantCulture, out var value);
        unit = (char)value;
        return ok;
    }

    private static void Report(List<string> paths, List<PathFrame> frames)
    {
        if (paths.Count >= MaxReportedPaths)
        {
            return;
        }
        var sb = new StringBuilder("$");
        foreach (var f in frames)
        {
            if (f.IsArray)
            {
                sb.Append('[').Append(f.Index).Append(']');
            }
            else if (f.Property is { } p)
            {
                sb.Append('.').Append(Cap(p, 100));
            }
        }
        paths.Add(sb.ToString());
    }

    /// <summary>
    /// <paramref name="s"/> cut to at most <paramref name="max"/> UTF-16 units without splitting a surrogate pair (a lone
    /// half cannot be encoded as UTF-8: PostgreSQL's driver refuses it).
    /// </summary>
    [return: System.Diagnostics.CodeAnalysis.NotNullIfNotNull(nameof(s))]
    public static string? Cap(string? s, int max)
    {
        if (s is null || s.Length <= max)
        {
            return s;
        }
        return char.IsHighSurrogate(s[max - 1]) ? s[..(max - 1)] : s[..max];
    }

    private readonly record struct PathFrame(bool IsArray, int Index, string? Property);
}
