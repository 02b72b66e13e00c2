using System.Text.RegularExpressions;
using Microsoft.EntityFrameworkCore;
using Switchboard.Numbers;
using Switchboard.Platform.Database;
using Switchboard.Platform.Phones;
using Switchboard.Tenancy;

namespace Switchboard.Alerts;

/// <summary>
/// Who an SMS is sent from. Twilio's Messages API takes either <c>From</c> (an E.164 number of the account) or
/// <c>MessagingServiceSid</c> (<c>MG</c> + 32 hex; Twilio picks the number from the service's pool), never both
/// being needed (shared/protocols/twilio-voice-sms.md §4).
/// </summary>
/// <param name="Value">The E.164 number or the <c>MG…</c> SID, as stored in <see cref="SmsMessage.From"/>.</param>
internal sealed partial record SmsSender(string Value)
{
    /// <summary>True when <see cref="Value"/> is a Messaging Service SID (sent as <c>MessagingServiceSid</c>).</summary>
    public bool IsMessagingService => MessagingServiceSidPattern().IsMatch(Value);

    /// <summary>
    /// <paramref name="value"/> as a sender: a Messaging Service SID as given, or a phone number read in the tenant's
    /// <paramref name="region"/> (<see cref="Phones.SettingsNumberToE164"/>: "06 12 34 56 78" in France, "(514) 555-0100" in
    /// Québec, "+44 20 7946 0958" anywhere) in E.164; null when it is neither.
    /// </summary>
    public static string? Normalize(string? value, string region) =>
        value is null ? null
        : MessagingServiceSidPattern().IsMatch(value.Trim()) ? value.Trim()
        : Phones.SettingsNumberToE164(value, region);

    [GeneratedRegex("^MG[0-9a-fA-F]{32}$")]
    private static partial Regex MessagingServiceSidPattern();
}

/// <summary>Where a tenant's SMS sender comes from: <c>explicit</c> (set with the credentials) or <c>number</c> (an attached number).</summary>
/// <param name="Sender">The sender, or null when the tenant has none.</param>
/// <param name="Source"><c>explicit</c>, <c>number</c>, or null.</param>
/// <param name="Problem">Why there is no sender, in English (shown on the failed SMS and in onboarding's <c>twilio.sms</c>), or null.</param>
/// <param name="ProblemCode">
/// The same reason as a stable code for a client to word in its user's language, or null with a sender: the onboarding
/// checklist's codes, <c>SMS_SENDER_INVALID</c> (the explicit sender is neither a phone number nor a Messaging Service SID)
/// or <c>SMS_SENDER_MISSING</c> (no explicit sender, and no attached number can send).
/// </param>
/// <param name="ProblemDetails">
/// The values the reason names: for <c>SMS_SENDER_INVALID</c> <c>{"sender": "…"}</c> (as stored); for <c>SMS_SENDER_MISSING</c>
/// one entry per attached number that cannot send, keyed by the number in E.164, valued <c>sms-incapable</c> (Twilio's
/// <c>capabilities.sms</c> is false) or the number's status (<c>pending</c>, <c>failed</c>, <c>waiting-for-credentials</c>…),
/// empty when no number is attached. Null with a sender.
/// </param>
internal sealed record SmsSenderResolution(
    SmsSender? Sender, string? Source, string? Problem, string? ProblemCode = null, IReadOnlyDictionary<string, string>? ProblemDetails = null);

/// <summary>
/// The one rule for a tenant's SMS sender, used by every SMS the platform sends (alerts, texts to callers, operational
/// notices) and by onboarding: first the explicit sender set with <c>PUT /api/v1/credentials/twilio</c>
/// (<c>smsSender</c>: a phone number, stored in E.164 after reading it in the tenant's region, or a Messaging Service SID), else the tenant's oldest attached number that
/// Twilio confirmed on the tenant's account (status <c>active</c>) and that can send SMS (Twilio's
/// <c>capabilities.sms</c> not false). The sender is resolved when an SMS is first sent, not when it is queued, so a
/// held alert goes out from the number attached by then.
/// </summary>
internal sealed class SmsSenderResolver(SwitchboardDbContext db)
{
    public const string Explicit = "explicit";
    public const string Number = "number";

    /// <summary><see cref="SmsSenderResolution.ProblemCode"/>: the explicit sender cannot be read as a sender.</summary>
    public const string InvalidCode = "SMS_SENDER_INVALID";

    /// <summary><see cref="SmsSenderResolution.ProblemCode"/>: no explicit sender and no attached number that can send.</summary>
    public const string MissingCode = "SMS_SENDER_MISSING";

    /// <summary>Resolves <paramref name="tenant"/>'s sender; never throws for a missing one (see <see cref="SmsSenderResolution.Problem"/>).</summary>
    public async Task<SmsSenderResolution> ResolveAsync(Tenant tenant, CancellationToken ct)
    {
        if (tenant.TwilioFromNumber is { Length: > 0 } configured)
        {
            // Stored normalised since the number went through libphonenumber; an older row written as the tenant typed
            // it ("(514) 555-0100", "06 12 34 56 78") is read in the tenant's region, not as North American.
            return SmsSender.Normalize(configured, Phones.RegionOf(tenant.Locale)) is { } sender
                ? new SmsSenderResolution(new SmsSender(sender), Explicit, null)
                : new SmsSenderResolution(null, null, $"The SMS sender '{configured}' is neither an E.164 number nor a Messaging Service SID (MG…); set it again with PUT /api/v1/credentials/twilio.",
                    InvalidCode, new Dictionary<string, string>(StringComparer.Ordinal) { ["sender"] = configured });
        }
        var numbers = await db.PhoneNumbers.IgnoreQueryFilters().AsNoTracking()
            .Where(n => n.TenantId == tenant.Id)
            .OrderBy(n => n.CreatedAt)
            .Select(n => new { n.Number, n.Status, n.SmsCapable })
            .ToListAsync(ct);
        var usable = numbers.FirstOrDefault(n => n.Status == "active" && n.SmsCapable != false);
        if (usable is not null)
        {
            return new SmsSenderResolution(new SmsSender(usable.Number), Number, null);
        }
        var why = numbers.Count == 0
            ? "no number is attached"
            : string.Join("; ", numbers.Select(n => n.SmsCapable == false ? $"{n.Number} cannot send SMS" : $"{n.Number} is {n.Status}"));
        var unusable = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var n in numbers)
        {
            unusable.TryAdd(n.Number, n.SmsCapable == false ? "sms-incapable" : n.Status);
        }
        return new SmsSenderResolution(null, null,
            $"No SMS sender: {why}. Attach a Twilio number that can send SMS, or set smsSender (an E.164 number or a Messaging Service SID) with PUT /api/v1/credentials/twilio.",
            MissingCode, unusable);
    }
}
