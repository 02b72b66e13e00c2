namespace Switchboard.Outbound;

/// <summary>
/// One number on a tenant's internal do-not-call list (CRTC Unsolicited Telecommunications Rules: added within 14 days,
/// kept 3 years and 14 days; TCPA 47 CFR § 64.1200(d): honoured within 10 business days). Switchboard adds a callee's
/// request at once. Unique per tenant and E.164 number.
/// </summary>
internal sealed class DoNotCallEntry
{
    public Guid Id { get; set; }
    public Guid TenantId { get; set; }

    /// <summary>E.164, e.g. <c>+15145550123</c>.</summary>
    public required string Number { get; set; }

    /// <summary>How it was added: <see cref="DoNotCallSources"/>.</summary>
    public required string Source { get; set; }

    /// <summary>Free text (≤ 500 characters): who asked, the import file, the words the callee used.</summary>
    public string? Note { get; set; }

    /// <summary>The call in which the callee asked not to be called, when that is how it was added.</summary>
    public Guid? CallId { get; set; }

    /// <summary>When the number was added (the date the rules require kept).</summary>
    public DateTimeOffset AddedAt { get; set; }
}

/// <summary>Values of <see cref="DoNotCallEntry.Source"/>.</summary>
internal static class DoNotCallSources
{
    public const string Api = "api";
    public const string Csv = "csv";

    /// <summary>The callee said "ne m'appelez plus" / "don't call me again" during a call.</summary>
    public const string CalleeRequest = "callee-request";

    /// <summary>
    /// The number texted an opt-out keyword (STOP, UNSUBSCRIBE…) to a tenant number (<see cref="Twilio.SmsOptOutKeywords"/>);
    /// the only entries an opt-in keyword (START) takes off again. A number listed for another reason as well has both, as
    /// <c>{other}+sms-opt-out</c> (<see cref="WithSmsOptOut"/>): <c>api+sms-opt-out</c>, <c>callee-request+sms-opt-out</c>.
    /// </summary>
    public const string SmsOptOut = "sms-opt-out";

    /// <summary>What ends the source of an entry listed for another reason and by an SMS opt-out.</summary>
    public const string AndSmsOptOut = "+" + SmsOptOut;

    /// <summary>
    /// True when an entry's source includes an SMS opt-out (<c>sms-opt-out</c> or <c>{other}+sms-opt-out</c>): the number
    /// is not texted. Translates to SQL (an equality and a <c>LIKE '%+sms-opt-out'</c>).
    /// </summary>
    public static readonly System.Linq.Expressions.Expression<Func<DoNotCallEntry, bool>> HasSmsOptOut =
        d => d.Source == SmsOptOut || d.Source.EndsWith(AndSmsOptOut);

    /// <summary>
    /// The source of an entry of source <paramref name="existing"/> to which <paramref name="added"/> comes: both reasons, the SMS
    /// opt-out last (<c>api</c> + <c>sms-opt-out</c> → <c>api+sms-opt-out</c>, and the same the other way round); the same
    /// source when it already says <paramref name="added"/> or neither is an SMS opt-out (the first reason stays, as before).
    /// </summary>
    public static string WithSmsOptOut(string existing, string added)
    {
        var existingOptOut = existing == SmsOptOut || existing.EndsWith(AndSmsOptOut, StringComparison.Ordinal);
        return (existingOptOut, added == SmsOptOut) switch
        {
            (false, true) => existing + AndSmsOptOut,
            (true, false) when existing == SmsOptOut => added + AndSmsOptOut,
            _ => existing,
        };
    }

    /// <summary>
    /// The source once an opt-in keyword (START) lifts the SMS opt-out: <c>api+sms-opt-out</c> → <c>api</c>; null when the SMS
    /// opt-out was the only reason (the entry goes) or there is none to lift.
    /// </summary>
    public static string? WithoutSmsOptOut(string source) =>
        source.EndsWith(AndSmsOptOut, StringComparison.Ordinal) ? source[..^AndSmsOptOut.Length] : null;
}

/// <summary>An outbound call Switchboard refused to place, and why (<see cref="OutboundRefusalReasons"/>).</summary>
internal sealed class OutboundRefusal
{
    public Guid Id { get; set; }
    public Guid TenantId { get; set; }

    /// <summary>The number as asked for (E.164 when it parsed).</summary>
    public required string Number { get; set; }

    public required string Reason { get; set; }
    public string? Detail { get; set; }

    /// <summary>The next time the law and the tenant's hours allow a call, for window refusals.</summary>
    public DateTimeOffset? NextAllowedAt { get; set; }

    /// <summary>What asked for the call: <c>api</c>, <c>callback</c>, <c>campaign</c>.</summary>
    public required string Source { get; set; }

    public DateTimeOffset At { get; set; }
}

/// <summary>Values of <see cref="OutboundRefusal.Reason"/>.</summary>
internal static class OutboundRefusalReasons
{
    public const string DoNotCall = "do-not-call";
    public const string OutsideWindow = "outside-calling-window";
    public const string InvalidNumber = "invalid-number";
    public const string UnknownTimeZone = "unknown-time-zone";

    /// <summary>A promotional campaign's contact without a consent record (Campaign.Promotional).</summary>
    public const string NoConsent = "no-consent";

    /// <summary>The tenant has no active number the call could present as caller id (<see cref="OutboundCalls.CheckCallerIdAsync"/>).</summary>
    public const string NoCallerId = "no-caller-id";
}
