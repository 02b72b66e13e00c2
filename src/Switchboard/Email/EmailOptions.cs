using System.ComponentModel.DataAnnotations;

namespace Switchboard.Email;

/// <summary>
/// Configuration section <c>Switchboard:Email</c> (environment: <c>Switchboard__Email__Host</c>, <c>__Port</c>,
/// <c>__Security</c>, <c>__User</c>, <c>__Password</c>, <c>__From</c>): the SMTP relay every account email goes
/// through. Without a <see cref="Host"/>, outside Production, mail is delivered to the local mailbox (the
/// <c>email_messages</c> table) that operators read at <c>/operator/mailbox</c>.
/// </summary>
internal sealed class EmailOptions
{
    public const string Section = "Switchboard:Email";

    /// <summary>SMTP host name; empty: no SMTP.</summary>
    public string? Host { get; set; }

    /// <summary>SMTP port: 587 (submission, STARTTLS) by default; 465 with <c>SslOnConnect</c>; 25 for a local relay.</summary>
    [Range(1, 65535)]
    public int Port { get; set; } = 587;

    /// <summary>
    /// TLS mode (MailKit's <c>SecureSocketOptions</c>): <c>StartTls</c> (default: required), <c>StartTlsWhenAvailable</c>,
    /// <c>SslOnConnect</c>, <c>None</c> (plain text: local relays only) or <c>Auto</c>.
    /// </summary>
    [RegularExpression("^(StartTls|StartTlsWhenAvailable|SslOnConnect|None|Auto)$")]
    public string Security { get; set; } = "StartTls";

    /// <summary>SMTP user (AUTH); empty: no authentication.</summary>
    public string? User { get; set; }

    public string? Password { get; set; }

    /// <summary>The From header, e.g. <c>Switchboard &lt;no-reply@example.com&gt;</c>.</summary>
    [Required]
    public string From { get; set; } = "Switchboard <no-reply@switchboard.localhost>";

    /// <summary>Connect, send and quit timeout in seconds.</summary>
    [Range(1, 300)]
    public int TimeoutSeconds { get; set; } = 30;

    /// <summary>
    /// Deliver to the local mailbox instead of SMTP. Unset: on when <see cref="Host"/> is empty and the environment is
    /// not Production (in Production without SMTP, mail is dead-lettered with the reason, visible in the mailbox).
    /// </summary>
    public bool? LocalMailbox { get; set; }

    /// <summary>Password-reset link lifetime, in minutes.</summary>
    [Range(5, 24 * 60)]
    public int ResetTokenMinutes { get; set; } = 60;

    /// <summary>Email-verification link lifetime, in hours.</summary>
    [Range(1, 24 * 30)]
    public int VerifyTokenHours { get; set; } = 48;

    /// <summary>Password-reset or verification emails sent to one address per hour; more requests are answered the same and send nothing.</summary>
    [Range(1, 100)]
    public int MaxTokenEmailsPerHour { get; set; } = 3;
}
