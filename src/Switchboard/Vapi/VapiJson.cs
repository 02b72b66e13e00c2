using System.Globalization;
using System.Text.Json;

namespace Switchboard.Vapi;

/// <summary>
/// Tolerant readers for Vapi's JSON, which differs from its spec in real traffic
/// (shared/fixtures/SOURCES.md): timestamps as ISO strings or epoch milliseconds, numbers sent as strings,
/// tool arguments as an object or a JSON string.
/// </summary>
internal static class VapiJson
{
    public static JsonElement? Prop(this JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    public static JsonElement? Path(this JsonElement e, params string[] names)
    {
        JsonElement? current = e;
        foreach (var n in names)
        {
            current = current?.Prop(n);
            if (current is null)
            {
                return null;
            }
        }
        return current;
    }

    /// <summary>A string property, or a number/bool rendered as text; null when absent or empty.</summary>
    public static string? Str(this JsonElement? e)
    {
        if (e is not { } v)
        {
            return null;
        }
        var s = v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => v.GetRawText(),
            _ => null,
        };
        return string.IsNullOrWhiteSpace(s) ? null : s;
    }

    /// <summary>
    /// A number (JSON number or numeric string) that is finite and within [<paramref name="min"/>, <paramref name="max"/>];
    /// null when absent, not a number, non-finite (<c>NaN</c>, <c>Infinity</c>, <c>1e400</c>) or out of range. The rule for
    /// every provider number (see <see cref="VapiFieldRules"/>): an unusable value is never stored, the field stays unset.
    /// </summary>
    public static double? Num(this JsonElement? e, double min = double.MinValue, double max = double.MaxValue)
    {
        if (e is not { } v)
        {
            return null;
        }
        double d;
        if (v.ValueKind == JsonValueKind.Number)
        {
            if (!v.TryGetDouble(out d))
            {
                return null;
            }
        }
        else if (v.ValueKind != JsonValueKind.String || !double.TryParse(v.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out d))
        {
            return null;
        }
        return double.IsFinite(d) && d >= min && d <= max ? d : null;
    }

    /// <summary>True when the element is present (not null) but <see cref="Num"/> would not accept it.</summary>
    public static bool IsUnusableNumber(this JsonElement? e, double min, double max) => e is not null && e.Num(min, max) is null;

    /// <summary>True when the element is present (not null) but <see cref="Time"/> would not accept it.</summary>
    public static bool IsUnusableTime(this JsonElement? e) => e is not null && e.Time() is null;

    /// <summary>A time as ISO-8601 text or epoch milliseconds (number or numeric string), in UTC.</summary>
    public static DateTimeOffset? Time(this JsonElement? e)
    {
        if (e is not { } v)
        {
            return null;
        }
        if (v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out var ms) && double.IsFinite(ms))
        {
            return FromEpochMs(ms);
        }
        if (v.ValueKind == JsonValueKind.String)
        {
            var s = v.GetString();
            if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out ms))
            {
                return double.IsFinite(ms) ? FromEpochMs(ms) : null;
            }
            if (DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at)
                && at >= VapiFieldRules.EarliestTime && at <= VapiFieldRules.LatestTime)
            {
                return at.ToUniversalTime();
            }
        }
        return null;
    }

    private static DateTimeOffset? FromEpochMs(double ms)
    {
        // Epoch seconds would be below 10^11; treat those as seconds so a mis-typed sender still lands in the right year.
        if (ms < 100_000_000_000)
        {
            ms *= 1000;
        }
        if (!double.IsFinite(ms) || ms < VapiFieldRules.EarliestTime.ToUnixTimeMilliseconds() || ms > VapiFieldRules.LatestTime.ToUnixTimeMilliseconds())
        {
            return null;
        }
        return DateTimeOffset.FromUnixTimeMilliseconds((long)ms).AddTicks((long)((ms - Math.Floor(ms)) * TimeSpan.TicksPerMillisecond));
    }

    /// <summary>
    /// Tool arguments: an object (what Vapi really sends), or a JSON string (what the spec says), under
    /// <c>arguments</c> or <c>parameters</c>. Returns an empty object when absent or unparsable.
    /// </summary>
    public static JsonElement Arguments(this JsonElement? holder)
    {
        var raw = holder?.Prop("arguments") ?? holder?.Prop("parameters");
        if (raw is { ValueKind: JsonValueKind.Object } obj)
        {
            return obj;
        }
        if (raw is { ValueKind: JsonValueKind.String } s && s.GetString() is { Length: > 0 } text)
        {
            try
            {
                // A JSON string holding JSON: its inner strings get the same tolerant reading as the body's.
                var bytes = System.Text.Encoding.UTF8.GetBytes(text);
                using var doc = JsonDocument.Parse(Platform.Http.TolerantJson.Sanitize(bytes, 64, out _) ?? bytes);
                if (doc.RootElement.ValueKind == JsonValueKind.Object)
                {
                    return doc.RootElement.Clone();
                }
            }
            catch (JsonException)
            {
                // fall through: arguments that are not JSON are treated as none.
            }
        }
        return EmptyObject;
    }

    private static readonly JsonElement EmptyObject = JsonDocument.Parse("{}").RootElement.Clone();
}
