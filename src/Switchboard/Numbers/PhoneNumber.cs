using Switchboard.Tenancy;

namespace Switchboard.Numbers;

/// <summary>
/// A Twilio number the tenant owns, attached to Switchboard. <c>twilio</c> mode points the number's VoiceUrl,
/// StatusCallback and SmsUrl at Switchboard (native voice); <c>vapi</c> mode imports it into Vapi with its server
/// URL pointing at <c>/webhooks/vapi/{tenantId}</c> (managed voice). Provider changes go through the outbox.
/// </summary>
internal sealed class PhoneNumber
{
    public Guid Id { get; set; }
    public Guid TenantId { get; set; }

    /// <summary>E.164. Unique per tenant; unique across the installation among <c>active</c> rows only (<see cref="NumberClaims"/>).</summary>
    public required string Number { get; set; }

    /// <summary><c>twilio</c> or <c>vapi</c>.</summary>
    public required string Mode { get; set; }

    /// <summary>Assistant answering this number; the tenant's default when null.</summary>
    public Guid? AssistantId { get; set; }

    /// <summary>Twilio IncomingPhoneNumber sid (<c>PN…</c>).</summary>
    public string? TwilioSid { get; set; }

    /// <summary>Vapi phone-number id (vapi mode).</summary>
    public string? VapiPhoneNumberId { get; set; }

    /// <summary>Opening hours of this number; the tenant's when null.</summary>
    public BusinessHours? BusinessHours { get; set; }

    /// <summary>What happens outside opening hours.</summary>
    public AfterHoursPolicy AfterHours { get; set; } = new();

    /// <summary>
    /// <c>pending</c>, <c>waiting-for-credentials</c>, <c>active</c> or <c>failed</c>. Only <c>active</c> (verified on the
    /// tenant's Twilio account) holds the number exclusively; unverified rows expire after 7 days (<see cref="NumberClaims"/>).
    /// </summary>
    public string Status { get; set; } = "pending";

    public string? LastError { get; set; }

    /// <summary>Twilio's <c>capabilities.sms</c> for this number, read when it is found on the tenant's account; null until then.</summary>
    public bool? SmsCapable { get; set; }

    /// <summary>Bumped on every change that must reach the provider; the outbox syncs only the latest.</summary>
    public int Version { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>
/// After-hours behaviour of a number: <c>assistant</c> (answer as usual and take a message), <c>voicemail</c>
/// (play <see cref="Message"/> then record), or <c>forward</c> (dial <see cref="ForwardTo"/>, E.164).
/// </summary>
public sealed record AfterHoursPolicy
{
    public string Action { get; init; } = "assistant";
    public string? ForwardTo { get; init; }
    public string? Message { get; init; }
}
