namespace Switchboard.Tenancy;

/// <summary>
/// A single-use, expiring link token of a user: <c>password_reset</c> or <c>verify_email</c>. The token is mailed
/// once; only its SHA-256 (hex) is stored. Used tokens keep <see cref="UsedAt"/> so a second use is refused.
/// </summary>
internal sealed class AccountToken
{
    public Guid Id { get; set; }
    public Guid UserId { get; set; }

    /// <summary><c>password_reset</c> or <c>verify_email</c> (see <c>Email.EmailPurpose</c>).</summary>
    public required string Purpose { get; set; }

    public required string TokenHash { get; set; }

    /// <summary>The address the link was sent to (verification proves this one, even if the user's email changes later).</summary>
    public required string Email { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset ExpiresAt { get; set; }
    public DateTimeOffset? UsedAt { get; set; }
}
