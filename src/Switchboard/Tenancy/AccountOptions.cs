using System.ComponentModel.DataAnnotations;

namespace Switchboard.Tenancy;

/// <summary>Configuration section <c>Switchboard:Accounts</c>: sign-in, sessions, lockout, invitations, operators.</summary>
internal sealed class AccountOptions
{
    public const string Section = "Switchboard:Accounts";

    /// <summary>Failed sign-ins in a row before the account is locked.</summary>
    [Range(1, 100)]
    public int MaxFailedLogins { get; set; } = 5;

    /// <summary>How long a lockout lasts, in minutes.</summary>
    [Range(1, 1440)]
    public int LockoutMinutes { get; set; } = 15;

    /// <summary>Session lifetime in hours (absolute, not sliding).</summary>
    [Range(1, 24 * 90)]
    public int SessionHours { get; set; } = 24 * 7;

    /// <summary>Invitation lifetime in days.</summary>
    [Range(1, 90)]
    public int InvitationDays { get; set; } = 7;

    [Range(8, 128)]
    public int MinPasswordLength { get; set; } = 10;

    /// <summary>Anonymous requests to <c>/api/v1/auth/*</c> per minute per client address.</summary>
    [Range(1, 100_000)]
    public int AuthRequestsPerMinutePerIp { get; set; } = 30;

    /// <summary>
    /// Requests to <c>/api/v1</c> per minute per signed-in dashboard user (cookie session). The plan's limits
    /// (<c>Plan.RequestsPerMinute</c>, <c>RequestsPerMinutePerKey</c>) size the API's windows for keys; the dashboard is the
    /// product's own page, which asks several endpoints per page (the Free plan's 30 a minute were used up by clicking through
    /// the menu), so a session has one window of its own, this size or the plan's per-key size if larger, and does not use up
    /// the tenant's API window.
    /// </summary>
    [Range(1, 100_000)]
    public int SessionRequestsPerMinute { get; set; } = 600;

    /// <summary>The current terms of service version, which the profile step must accept.</summary>
    public string TermsVersion { get; set; } = "2026-01";
}
