namespace Switchboard.Outbound.Campaigns;

/// <summary>
/// An outbound campaign: one assistant calling a list of contacts (<see cref="CampaignContact"/>), each inside the
/// callee's legal calling window (<see cref="CallingWindows"/>), never a number on the do-not-call list, paced at
/// <see cref="CallsPerSecond"/> and within the plan's concurrent calls, with retries for busy / no-answer.
/// </summary>
internal sealed class Campaign
{
    public Guid Id { get; set; }
    public Guid TenantId { get; set; }

    /// <summary>1–100 characters.</summary>
    public required string Name { get; set; }

    /// <summary>The tenant's assistant that speaks on every call.</summary>
    public Guid AssistantId { get; set; }

    /// <summary><see cref="CampaignStatuses"/>.</summary>
    public string Status { get; set; } = CampaignStatuses.Draft;

    /// <summary>When a <c>scheduled</c> campaign starts running (UTC).</summary>
    public DateTimeOffset? StartAt { get; set; }

    /// <summary>
    /// Telemarketing / solicitation: every contact needs a consent record (<see cref="Consent"/>) or is refused
    /// <c>no-consent</c> (CRTC ADAD rules and 47 CFR § 64.1200(a)(2): an artificial voice soliciting needs prior express consent).
    /// </summary>
    public bool Promotional { get; set; }

    /// <summary>Calls per contact at most, 1–10 (busy and no-answer are retried until then).</summary>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>Wait before the first retry, minutes (1–1440); each further retry waits twice as long, capped at 24 h.</summary>
    public int RetryMinutes { get; set; } = 30;

    /// <summary>Calls started per second at most, 1–50 (Twilio's default account CPS is 1).</summary>
    public int CallsPerSecond { get; set; } = 1;

    /// <summary>The earliest time the dialer may place the next call (pacing across ticks and nodes).</summary>
    public DateTimeOffset? NextDialAt { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public DateTimeOffset? StartedAt { get; set; }

    /// <summary>When the campaign completed or was canceled.</summary>
    public DateTimeOffset? EndedAt { get; set; }
}

/// <summary>Values of <see cref="Campaign.Status"/>: draft → scheduled → running ⇄ paused → completed; canceled from any but completed.</summary>
internal static class CampaignStatuses
{
    public const string Draft = "draft";
    public const string Scheduled = "scheduled";
    public const string Running = "running";
    public const string Paused = "paused";
    public const string Completed = "completed";
    public const string Canceled = "canceled";

    public static bool IsFinal(string status) => status is Completed or Canceled;
}

/// <summary>
/// One person a campaign calls. Unique per campaign and E.164 number. <see cref="TimeZone"/> is derived from the number
/// (<see cref="CallingWindows.ZoneFor"/>). The dialer moves it pending → queued (call created, placement due) → calling
/// (Twilio has it) → done | failed | refused | skipped, or back to pending with <see cref="NextAttemptAt"/> for a retry.
/// </summary>
internal sealed class CampaignContact
{
    public Guid Id { get; set; }
    public Guid TenantId { get; set; }
    public Guid CampaignId { get; set; }

    /// <summary>The contact's position in the imported CSV (1-based, data rows): the listing order and page key.</summary>
    public int Ordinal { get; set; }

    /// <summary>E.164, e.g. <c>+15145550123</c>.</summary>
    public required string Number { get; set; }

    /// <summary>≤ 200 characters.</summary>
    public string? Name { get; set; }

    /// <summary>The CSV's other columns, a JSON object of strings (given to the assistant with the name).</summary>
    public string? VariablesJson { get; set; }

    /// <summary>The callee's IANA zone, from the number (the tenant's zone when the number maps to none or several).</summary>
    public required string TimeZone { get; set; }

    /// <summary><see cref="ContactStates"/>.</summary>
    public string State { get; set; } = ContactStates.Pending;

    /// <summary>Calls queued so far (the dedupe key of the n-th is <c>campaign:{contactId}:{n}</c>).</summary>
    public int Attempts { get; set; }

    /// <summary>When a pending contact is due next (start, retry backoff, or the next opening of its calling window).</summary>
    public DateTimeOffset NextAttemptAt { get; set; }

    /// <summary>The call of the latest attempt.</summary>
    public Guid? LastCallId { get; set; }

    /// <summary>The latest outcome: <see cref="ContactResults"/>.</summary>
    public string? Result { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>Values of <see cref="CampaignContact.State"/>.</summary>
internal static class ContactStates
{
    public const string Pending = "pending";
    public const string Queued = "queued";
    public const string Calling = "calling";
    public const string Done = "done";
    public const string Failed = "failed";
    public const string Refused = "refused";
    public const string Skipped = "skipped";

    public static readonly string[] All = [Pending, Queued, Calling, Done, Failed, Refused, Skipped];

    /// <summary>States in which the contact still has a call to come or in progress.</summary>
    public static readonly string[] Open = [Pending, Queued, Calling];
}

/// <summary>Values of <see cref="CampaignContact.Result"/>.</summary>
internal static class ContactResults
{
    public const string AnsweredHuman = "answered-human";
    public const string Voicemail = "voicemail";
    public const string Busy = "busy";
    public const string NoAnswer = "no-answer";
    public const string Failed = "failed";
    public const string Dnc = "dnc";
    public const string NoConsent = "no-consent";
    public const string Invalid = "invalid";

    /// <summary>No opening of the calling window within <see cref="CallingWindows.SearchDays"/> days.</summary>
    public const string NoWindow = "no-window";

    /// <summary>The campaign was canceled before the contact was called.</summary>
    public const string Canceled = "canceled";

    public static readonly string[] All = [AnsweredHuman, Voicemail, Busy, NoAnswer, Failed, Dnc, NoConsent, Invalid, NoWindow, Canceled];
}

/// <summary>
/// A consent record: the callee (E.164 number) agreed to be called by the tenant, when and how (<see cref="Source"/>:
/// the form, the recording, the contract). One per tenant and number; the latest import wins. A promotional campaign
/// calls only numbers with a record obtained before the call (CRTC Compliance and Enforcement Regulatory Policy 2014-155:
/// ADAD solicitation needs prior express consent; 47 CFR § 64.1200(a)(2) and FCC 24-17: prior express written consent
/// for telemarketing with an artificial voice). Kept per tenant, not per campaign: consent is given to the business.
/// </summary>
internal sealed class Consent
{
    public Guid Id { get; set; }
    public Guid TenantId { get; set; }

    /// <summary>E.164.</summary>
    public required string Number { get; set; }

    /// <summary>How consent was obtained (≤ 500 characters), e.g. <c>web form 2026-10-02, checkbox "call me"</c>.</summary>
    public required string Source { get; set; }

    /// <summary>When the callee gave it (UTC).</summary>
    public DateTimeOffset ObtainedAt { get; set; }

    /// <summary>When Switchboard recorded it.</summary>
    public DateTimeOffset RecordedAt { get; set; }
}
