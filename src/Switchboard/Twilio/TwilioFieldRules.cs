using System.Globalization;
using Microsoft.Extensions.Primitives;
using Switchboard.Calls;
using Switchboard.Platform.Http;

namespace Switchboard.Twilio;

/// <summary>
/// The one rule for Twilio numbers and times (same as Vapi's, <c>VapiFieldRules</c>): a value is used only when it
/// parses and lies in its range; anything else (<c>1e400</c>, <c>NaN</c>, hex, negative durations, a
/// <c>Timestamp</c> whose offset is past ±14 h or whose instant falls outside the calendar) is treated as absent and
/// its name recorded in the event's <c>UnusableFields</c>.
/// </summary>
internal static class TwilioFieldRules
{
    /// <summary>Integer fields Twilio sends, with the range in which each is usable.</summary>
    internal static readonly Dictionary<string, (int Min, int Max)> IntegerFields = new(StringComparer.Ordinal)
    {
        ["CallDuration"] = (0, 30 * 24 * 3600),
        ["Duration"] = (0, 30 * 24 * 60),
        ["RecordingDuration"] = (0, 30 * 24 * 3600),
        ["RecordingChannels"] = (1, 2),
        ["NumMedia"] = (0, 10),
        ["NumSegments"] = (0, 1000),
        ["SequenceNumber"] = (0, int.MaxValue),
    };

    /// <summary>The integer in <paramref name="value"/> when it parses and lies in the range of field <paramref name="name"/>; else null.</summary>
    internal static int? ParseInt(string? value, string name) =>
        value is not null && int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n)
        && IntegerFields.TryGetValue(name, out var range) && n >= range.Min && n <= range.Max ? n : null;

    /// <summary>
    /// Edge normalisation, after the signature was checked over the fields as sent: U+0000 in any value becomes U+FFFD
    /// (PostgreSQL text refuses it), and every <c>…Sid</c> field takes its canonical form (<see cref="ProviderIds"/>:
    /// real SIDs are 34 characters; a longer one is stored and found again under the same hash-suffixed form, never
    /// dropped). Returns the names of the fields that could not be used as sent.
    /// </summary>
    internal static List<string> Normalise(Dictionary<string, StringValues> form)
    {
        var unusable = new List<string>();
        foreach (var key in form.Keys.ToList())
        {
            var values = form[key];
            var changed = false;
            var fixedValues = new string?[values.Count];
            for (var i = 0; i < values.Count; i++)
            {
                var v = values[i];
                if (v is not null && v.Contains('\0'))
                {
                    v = v.Replace('\0', '\uFFFD');
                }
                if (v is not null && key.EndsWith("Sid", StringComparison.Ordinal))
                {
                    v = ProviderIds.Canonical(v, ProviderIds.SidLength);
                }
                changed |= !string.Equals(v, values[i], StringComparison.Ordinal);
                fixedValues[i] = v;
            }
            if (changed)
            {
                form[key] = new StringValues(fixedValues);
                unusable.Add(TolerantJson.Cap(key, 100)!);
            }
            if (values.Count > 1 && values.Distinct(StringComparer.Ordinal).Skip(1).Any())
            {
                unusable.Add(TolerantJson.Cap(key, 100)!); // repeated with different values: read as absent (TwilioVoiceApi.Signed)
            }
            var first = values.Count > 0 ? values[0] : null;
            if (string.IsNullOrEmpty(first))
            {
                continue;
            }
            if (IntegerFields.ContainsKey(key) && ParseInt(first, key) is null)
            {
                unusable.Add(key);
            }
            if (key == "Timestamp" && TwilioRestClient.ParseRfc2822(first) is null)
            {
                unusable.Add(key);
            }
        }
        return unusable.Distinct(StringComparer.Ordinal).Take(TolerantJson.MaxReportedPaths).ToList();
    }
}
