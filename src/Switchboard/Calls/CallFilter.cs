using System.Buffers.Text;
using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Switchboard.Platform.Http;

namespace Switchboard.Calls;

/// <summary>
/// The call list's filters, shared by <c>GET /api/v1/calls</c> and <c>GET /api/v1/calls/export.csv</c>. Bound from the
/// query string with <c>[AsParameters]</c> (a value of the wrong type is a 400 envelope); <see cref="Validate"/>
/// normalises the values and rejects bad ones (422 envelope).
/// </summary>
/// <param name="From">Inclusive lower bound on the call's creation time (ISO-8601).</param>
/// <param name="To">Inclusive upper bound on the call's creation time (ISO-8601).</param>
/// <param name="Status">Exact status, one of <see cref="Statuses"/> (<c>queued</c>, <c>ringing</c>, <c>in-progress</c>, <c>forwarding</c>, <c>ended</c>, or a Twilio terminal status); another is a 422.</param>
/// <param name="Urgency"><c>emergency</c>, <c>urgent</c> (stored as <c>soon</c>) or <c>routine</c>: the call's lead urgency.</param>
/// <param name="Channel"><c>phone</c> (stored as <c>voice</c>) or <c>web</c>.</param>
/// <param name="Direction"><c>inbound</c> or <c>outbound</c> (outbound = Vapi type <c>outboundPhoneCall</c>).</param>
/// <param name="AssistantId">The native assistant that took the call.</param>
/// <param name="Number">A fragment (at least 3 digits; other characters ignored) of the caller's number.</param>
/// <param name="HasRecording">True: calls with a recording URL or a Twilio recording; false: the others.</param>
/// <param name="MinDuration">Minimum duration, seconds.</param>
/// <param name="MaxDuration">Maximum duration, seconds.</param>
/// <param name="EndedReason">Exact Vapi <c>endedReason</c> or native reason.</param>
/// <param name="Q">Words to find in the transcript or summary (all of them, whole words). Accents and case are ignored.</param>
internal sealed record CallFilter(
    [FromQuery(Name = "from")] DateTimeOffset? From, [FromQuery(Name = "to")] DateTimeOffset? To, [FromQuery(Name = "status")] string? Status,
    [FromQuery(Name = "urgency")] string? Urgency, [FromQuery(Name = "channel")] string? Channel, [FromQuery(Name = "direction")] string? Direction,
    [FromQuery(Name = "assistantId")] Guid? AssistantId, [FromQuery(Name = "number")] string? Number, [FromQuery(Name = "hasRecording")] bool? HasRecording,
    [FromQuery(Name = "minDuration")] double? MinDuration, [FromQuery(Name = "maxDuration")] double? MaxDuration,
    [FromQuery(Name = "endedReason")] string? EndedReason, [FromQuery(Name = "q")] string? Q)
{
    /// <summary>
    /// Every call status a filter may name: a Vapi call's (<c>scheduled</c>, <c>queued</c>, <c>ringing</c>, <c>in-progress</c>,
    /// <c>forwarding</c>, <c>ended</c>: docs.vapi.ai, Call object), an outbound call's <c>dialing</c>, and a Twilio call's or a web
    /// conversation's (<c>initiated</c>, <c>completed</c>, <c>busy</c>, <c>no-answer</c>, <c>canceled</c>, <c>failed</c>: Twilio's <c>CallStatus</c>).
    /// The status is the provider's own word, so a finished Vapi call is <c>ended</c> and a finished Twilio call <c>completed</c>.
    /// </summary>
    internal static readonly string[] Statuses =
        ["scheduled", "queued", "dialing", "initiated", "ringing", "in-progress", "forwarding", "ended", "completed", "busy", "no-answer", "canceled", "failed"];

    /// <summary>Longest accepted <c>q</c>, in characters, and most words used from it.</summary>
    public const int MaxQueryLength = 200, MaxWords = 8;

    /// <summary>Digits of <see cref="Number"/> after <see cref="Validate"/>.</summary>
    public string? NumberDigits { get; internal init; }

    /// <summary>The words of <see cref="Q"/> (letters and digits only, at most <see cref="MaxWords"/>), after <see cref="Validate"/>.</summary>
    public IReadOnlyList<string> Words { get; internal init; } = [];

    /// <summary>
    /// The 422 envelope when <c>minDuration</c> or <c>maxDuration</c> is written with a comma in <paramref name="query"/> (the
    /// request's raw query), else null. ASP.NET Core binds a <c>double</c> with <c>NumberStyles.AllowThousands</c>, so "1,5"
    /// (a decimal comma, as French writes it) was bound as 15 seconds and the caller silently got another filter.
    /// </summary>
    public static JsonHttpResult<ErrorEnvelope>? CommaInDuration(IQueryCollection query)
    {
        foreach (var name in (ReadOnlySpan<string>)["minDuration", "maxDuration"])
        {
            if (query.TryGetValue(name, out var values) && values.Any(v => v?.Contains(',', StringComparison.Ordinal) == true))
            {
                return ApiError.Unprocessable("INVALID_FILTER",
                    $"{name} is a number of seconds written with a '.' for decimals (1.5) and no thousands separator.",
                    new Dictionary<string, string> { [name] = "no comma: 1.5, not 1,5" });
            }
        }
        return null;
    }

    /// <summary>
    /// Returns the normalised filter, or the 422 envelope naming the first bad value. A <see cref="Number"/> that is a whole
    /// phone number in the tenant's <paramref name="region"/> ("06 12 34 56 78" for a French tenant) is searched by its
    /// national significant number (<c>612345678</c>, inside the stored <c>+33612345678</c>); a partial one by its digits.
    /// </summary>
    public (CallFilter? Filter, JsonHttpResult<ErrorEnvelope>? Error) Validate(string region = Platform.Phones.Phones.DefaultRegion)
    {
        if (MinDuration is < 0 or > 1e9 || MaxDuration is < 0 or > 1e9 || (MinDuration is { } m1 && !double.IsFinite(m1)) || (MaxDuration is { } m2 && !double.IsFinite(m2)))
        {
            return (null, ApiError.Unprocessable("INVALID_FILTER", "minDuration and maxDuration are seconds, 0 or more."));
        }
        var (status, urgencyText, channelText, directionText, number, endedReason, q) =
            (Trimmed(Status), Trimmed(Urgency), Trimmed(Channel), Trimmed(Direction), Trimmed(Number), Trimmed(EndedReason), Trimmed(Q));
        if (From is { } f && To is { } t && f > t)
        {
            return (null, ApiError.Unprocessable("INVALID_RANGE", "'from' must not be after 'to'."));
        }
        if (MinDuration is { } min && MaxDuration is { } max && min > max)
        {
            return (null, ApiError.Unprocessable("INVALID_RANGE", "'minDuration' must not exceed 'maxDuration'."));
        }
        string? urgency = urgencyText?.ToLowerInvariant() switch
        {
            null => null,
            "emergency" => Calls.Urgency.Emergency,
            "urgent" or "soon" => Calls.Urgency.Soon,
            "routine" => Calls.Urgency.Routine,
            _ => "!",
        };
        string? channel = channelText?.ToLowerInvariant() switch { null => null, "phone" or CallChannels.Voice => CallChannels.Voice, CallChannels.Web => CallChannels.Web, _ => "!" };
        string? direction = directionText?.ToLowerInvariant() switch { null => null, "inbound" => "inbound", "outbound" => "outbound", _ => "!" };
        if (urgency == "!" || channel == "!" || direction == "!")
        {
            var field = urgency == "!" ? "urgency" : channel == "!" ? "channel" : "direction";
            var allowed = urgency == "!" ? "emergency, urgent or routine" : channel == "!" ? "phone or web" : "inbound or outbound";
            return (null, ApiError.Unprocessable("INVALID_FILTER", $"{field} must be {allowed}.", new Dictionary<string, string> { [field] = "must be " + allowed }));
        }
        string? digits = null;
        if (number is not null)
        {
            digits = new string(number.Where(char.IsAsciiDigit).ToArray());
            if (digits.Length is < 3 or > 20)
            {
                return (null, ApiError.Unprocessable("INVALID_FILTER", "number must contain 3 to 20 digits.",
                    new Dictionary<string, string> { ["number"] = "3 to 20 digits" }));
            }
            digits = Platform.Phones.Phones.NationalDigits(number, region) ?? digits;
        }
        if (q is { Length: > MaxQueryLength })
        {
            return (null, ApiError.Unprocessable("INVALID_FILTER", $"q is limited to {MaxQueryLength} characters.",
                new Dictionary<string, string> { ["q"] = $"at most {MaxQueryLength} characters" }));
        }
        if (status is not null)
        {
            status = status.ToLowerInvariant();
            if (!Statuses.Contains(status))
            {
                var allowed = string.Join(", ", Statuses);
                return (null, ApiError.Unprocessable("INVALID_FILTER", $"status must be one of {allowed}.",
                    new Dictionary<string, string> { ["status"] = "must be one of " + allowed }));
            }
        }
        if (endedReason is { Length: > 200 })
        {
            return (null, ApiError.Unprocessable("INVALID_FILTER", "endedReason is limited to 200 characters.",
                new Dictionary<string, string> { ["endedReason"] = "at most 200 characters" }));
        }
        return (this with
        {
            Status = status,
            Urgency = urgency,
            Channel = channel,
            Direction = direction,
            Number = number,
            EndedReason = endedReason,
            Q = q,
            NumberDigits = digits,
            Words = SearchText.Words(q, MaxWords)
        }, null);
    }

    private static string? Trimmed(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();
}

/// <summary>
/// The opaque keyset cursor of the call list: the last row's (CreatedAt, Id), base64url of <c>v1:{utcTicks}:{id}</c>.
/// The list is ordered (CreatedAt DESC, Id DESC), so a cursor stays valid and exact while calls are inserted.
/// </summary>
internal static class CallCursor
{
    public static string Encode(DateTimeOffset createdAt, Guid id) =>
        Base64Url.EncodeToString(Encoding.ASCII.GetBytes($"v1:{createdAt.UtcTicks}:{id:N}"));

    /// <summary>Decodes a cursor; false when it is not one of ours.</summary>
    public static bool TryDecode(string value, out DateTimeOffset createdAt, out Guid id)
    {
        createdAt = default;
        id = default;
        if (value.Length > 100)
        {
            return false;
        }
        try
        {
            var parts = Encoding.ASCII.GetString(Base64Url.DecodeFromChars(value)).Split(':');
            if (parts.Length != 3 || parts[0] != "v1" || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks)
                || ticks < DateTimeOffset.MinValue.UtcTicks || ticks > DateTimeOffset.MaxValue.UtcTicks || !System.Guid.TryParseExact(parts[2], "N", out id))
            {
                return false;
            }
            createdAt = new DateTimeOffset(ticks, TimeSpan.Zero);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }
}
