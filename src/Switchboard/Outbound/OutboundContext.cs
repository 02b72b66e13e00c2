using System.Text;
using System.Text.Json;
using Switchboard.Calls;

namespace Switchboard.Outbound;

/// <summary>
/// What an outbound call adds to the realtime session's instructions: that the assistant placed the call, that it must
/// say at once who it is (an automated assistant of the business) and why it calls (CRTC 2014-155 and 47 CFR
/// § 64.1200(b): identify the caller and state the purpose at the start), and the context variables, one per line.
/// </summary>
internal static class OutboundContext
{
    /// <summary>At most this many variables (keys ≤ 64 characters, values ≤ 500).</summary>
    public const int MaxVariables = 20;

    /// <summary>The instructions' outbound paragraph; empty for an inbound call.</summary>
    public static string Instructions(Call call, string tenantName)
    {
        if (call.Direction != "outbound")
        {
            return "";
        }
        var sb = new StringBuilder();
        sb.Append("\n\nThis is an OUTBOUND call: you called ").Append(call.CustomerNumber ?? "the customer").Append(" on behalf of ").Append(tenantName)
            .Append(". As soon as they answer, say that you are the automated assistant of ").Append(tenantName)
            .Append(" and why you are calling, in one or two short sentences. If they ask not to be called again, apologise, confirm they will not be called again, and end the call.");
        var variables = Read(call.OutboundContextJson);
        if (variables.Count > 0)
        {
            sb.Append("\nContext of this call:");
            foreach (var (key, value) in variables)
            {
                sb.Append("\n- ").Append(key).Append(": ").Append(value);
            }
        }
        return sb.ToString();
    }

    /// <summary>The variables stored on a call (a JSON object of strings); empty when none or unreadable.</summary>
    public static IReadOnlyDictionary<string, string> Read(string? json)
    {
        if (string.IsNullOrEmpty(json))
        {
            return new Dictionary<string, string>();
        }
        try
        {
            return JsonSerializer.Deserialize<Dictionary<string, string>>(json) ?? [];
        }
        catch (JsonException)
        {
            return new Dictionary<string, string>();
        }
    }
}
