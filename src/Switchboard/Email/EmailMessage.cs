namespace Switchboard.Email;

/// <summary>
/// One account email (invitation, password reset, email verification), written with its <c>email.send</c> outbox row.
/// Installation-wide (no tenant filter): reset and verification mail belongs to a user, not a tenant. The body keeps
/// the link only until delivery: after an SMTP send it is replaced by a placeholder; mail delivered to the local
/// mailbox keeps it so operators can read it.
/// </summary>
internal sealed class EmailMessage
{
    public Guid Id { get; set; }

    /// <summary>The tenant the mail concerns (the inviting tenant, or the user's oldest membership); erased with it.</summary>
    public Guid? TenantId { get; set; }

    public required string To { get; set; }
    public required string Subject { get; set; }
    public required string TextBody { get; set; }

    /// <summary><c>invitation</c>, <c>password_reset</c> or <c>verify_email</c>.</summary>
    public required string Purpose { get; set; }

    /// <summary><c>queued</c>, <c>sent</c> (SMTP accepted it), <c>mailbox</c> (local mailbox) or <c>failed</c> (dead letter).</summary>
    public string Status { get; set; } = EmailStatus.Queued;

    public int Attempts { get; set; }
    public string? Error { get; set; }

    /// <summary>The Message-Id header given to the mail.</summary>
    public string? MessageId { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? SentAt { get; set; }
}

internal static class EmailStatus
{
    public const string Queued = "queued";
    public const string Sent = "sent";
    public const string Mailbox = "mailbox";
    public const string Failed = "failed";
}

internal static class EmailPurpose
{
    public const string Invitation = "invitation";
    public const string PasswordReset = "password_reset";
    public const string VerifyEmail = "verify_email";
    public const string Billing = "billing";
}
