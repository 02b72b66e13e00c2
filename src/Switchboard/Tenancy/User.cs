namespace Switchboard.Tenancy;

/// <summary>
/// A person who signs in to the dashboard. Users are installation-wide (one email, one password); what they may
/// do in a tenant comes from their <see cref="Membership"/>. Passwords are hashed with ASP.NET Core Identity's
/// <c>PasswordHasher</c> (PBKDF2-HMAC-SHA512, 100 000 iterations, format v3).
/// </summary>
internal sealed class User
{
    public Guid Id { get; set; }

    /// <summary>Lower-case, trimmed email; unique.</summary>
    public required string Email { get; set; }

    public required string PasswordHash { get; set; }
    public string? FullName { get; set; }

    /// <summary>Consecutive failed sign-ins since the last success; reset on success.</summary>
    public int FailedLogins { get; set; }

    /// <summary>Sign-in is refused until this time (lockout after repeated failures).</summary>
    public DateTimeOffset? LockedUntil { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? LastLoginAt { get; set; }

    /// <summary>When the user proved the email is theirs (verification link, invitation or password reset); null: not yet.</summary>
    public DateTimeOffset? EmailVerifiedAt { get; set; }

    /// <summary>
    /// An operator of the installation (manages every tenant). Granted only from the server's command line
    /// (<c>switchboard grant-operator &lt;email&gt;</c>), never through the API: emails are not verified, so a
    /// configured email could be claimed by whoever signs up with it first.
    /// </summary>
    public bool IsOperator { get; set; }
}

/// <summary>A user's role in one tenant: <c>owner</c>, <c>admin</c> or <c>member</c> (see <see cref="Roles"/>).</summary>
internal sealed class Membership
{
    public Guid Id { get; set; }
    public Guid TenantId { get; set; }
    public Guid UserId { get; set; }
    public required string Role { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>
/// A signed-in browser session. The cookie carries only this id (in a Data Protection–encrypted ticket) and the
/// CSRF token; the row decides whether the session is alive and which tenant it acts for, so logout and role
/// changes take effect on the next request.
/// </summary>
internal sealed class UserSession
{
    public Guid Id { get; set; }
    public Guid UserId { get; set; }

    /// <summary>The tenant the session acts for; null for an operator outside any tenant.</summary>
    public Guid? TenantId { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset ExpiresAt { get; set; }
    public DateTimeOffset? RevokedAt { get; set; }

    /// <summary>Client address at sign-in (audit).</summary>
    public string? Ip { get; set; }

    public string? UserAgent { get; set; }
}

/// <summary>An invitation to join a tenant. The token is shown once; only its SHA-256 is stored.</summary>
internal sealed class Invitation
{
    public Guid Id { get; set; }
    public Guid TenantId { get; set; }
    public required string Email { get; set; }
    public required string Role { get; set; }
    public required string TokenHash { get; set; }
    public Guid? InvitedByUserId { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset ExpiresAt { get; set; }
    public DateTimeOffset? AcceptedAt { get; set; }
    public DateTimeOffset? RevokedAt { get; set; }
}

/// <summary>
/// Self-service account state of a tenant (one row per tenant): plan, status, profile facts, voice provider,
/// widget origins and retention. Tenants made by an operator or the demo seeder may have no row; readers then use
/// the configured default plan (<c>Switchboard:Billing:DefaultPlan</c>).
/// </summary>
internal sealed class TenantAccount
{
    public Guid TenantId { get; set; }

    /// <summary>Plan id (<c>free</c>, <c>starter</c>, <c>pro</c>, <c>telephony</c>); see <c>Billing.Plans</c>.</summary>
    public required string PlanId { get; set; }

    public DateTimeOffset? PlanChangedAt { get; set; }

    /// <summary><c>active</c> or <c>suspended</c> (by an operator: the API answers 403 TENANT_SUSPENDED).</summary>
    public string Status { get; set; } = "active";

    public string? Industry { get; set; }
    public bool MarketingOptIn { get; set; }

    /// <summary>Version of the terms the owner accepted, and when.</summary>
    public string? TermsVersion { get; set; }

    public DateTimeOffset? TermsAcceptedAt { get; set; }

    /// <summary><c>vapi</c> (managed voice), <c>realtime</c> (native Twilio bridge) or null (not chosen yet).</summary>
    public string? VoiceProvider { get; set; }

    /// <summary>Origins allowed to load the widget with a publishable key: <c>https://host[:port]</c>, at most 10.</summary>
    public List<string> AllowedOrigins { get; set; } = [];

    /// <summary>Days after which call recordings are forgotten; null keeps them.</summary>
    public int? RecordingRetentionDays { get; set; }

    /// <summary>Days after which transcripts (turns, text and raw provider events) are purged; null keeps them.</summary>
    public int? TranscriptRetentionDays { get; set; }

    /// <summary>Stripe customer (<c>cus_…</c>) when Stripe billing is configured and the tenant has been to Checkout (or got a trial credit).</summary>
    public string? StripeCustomerId { get; set; }

    /// <summary>Stripe subscription (<c>sub_…</c>) that sets <see cref="PlanId"/>, if any.</summary>
    public string? StripeSubscriptionId { get; set; }

    /// <summary>Stripe subscription status (<c>trialing</c>, <c>active</c>, <c>past_due</c>, <c>unpaid</c>, <c>canceled</c>…), null without one.</summary>
    public string? SubscriptionStatus { get; set; }

    /// <summary>Time (the event's <c>created</c>) of the subscription state last applied; older events are stale and ignored.</summary>
    public DateTimeOffset? SubscriptionStateAt { get; set; }

    /// <summary>When a past-due tenant's grace ends: from then on its plan's features are suspended until it pays.</summary>
    public DateTimeOffset? GraceEndsAt { get; set; }

    /// <summary>
    /// When the end of the grace period was announced (audited, <c>billing.plan_changed</c> with <c>featuresSuspended</c>):
    /// set once per grace period by <see cref="Billing.BillingSuspensions"/> (the sweep, or the Stripe event that finds it
    /// due), cleared when the tenant pays. Null while not suspended.
    /// </summary>
    public DateTimeOffset? SuspendedAt { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}
