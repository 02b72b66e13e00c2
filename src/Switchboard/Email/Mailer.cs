using System.Text.Json;
using Microsoft.Extensions.Options;
using Switchboard.Outbox;
using Switchboard.Platform;
using Switchboard.Platform.Database;

namespace Switchboard.Email;

/// <summary>
/// Writes account emails and their <c>email.send</c> outbox rows into the caller's unit of work (nothing is sent
/// until the caller saves). Links point under <c>Switchboard:PublicBaseUrl</c>. Bodies are plain text, English then
/// Québec French, since a user has no language of their own yet.
/// </summary>
internal sealed class Mailer(SwitchboardDbContext db, TimeProvider clock, IOptions<PublicUrlOptions> urls, IOptions<EmailOptions> options)
{
    public EmailOptions Options => options.Value;

    /// <summary>The public URL of a dashboard page, e.g. <c>/reset-password?token=…</c>.</summary>
    public string Link(string pathAndQuery) => urls.Value.Url(pathAndQuery);

    /// <summary>Queues an invitation to join <paramref name="tenantName"/> with <paramref name="role"/>.</summary>
    public EmailMessage Invitation(Guid tenantId, string to, string tenantName, string role, string token, DateTimeOffset expiresAt) =>
        Queue(tenantId, to, EmailPurpose.Invitation,
            $"You are invited to join {tenantName} on Switchboard / Invitation à rejoindre {tenantName}",
            $"""
            You are invited to join {tenantName} on Switchboard as {role}.
            Accept the invitation here (the link works until {expiresAt:yyyy-MM-dd HH:mm} UTC):

            {Link("/invitations/accept?token=" + Uri.EscapeDataString(token))}

            ---
            Vous êtes invité·e à rejoindre {tenantName} sur Switchboard (rôle : {FrenchRole(role)}).
            Acceptez l'invitation avec le lien ci-dessus (valide jusqu'au {expiresAt:yyyy-MM-dd HH:mm} UTC).
            """);

    /// <summary>A role (<c>owner</c>, <c>admin</c>, <c>member</c>) as the dashboard's French says it.</summary>
    private static string FrenchRole(string role) => role switch
    {
        "owner" => "propriétaire",
        "admin" => "administrateur",
        "member" => "membre",
        _ => role,
    };

    /// <summary>Queues a password-reset link valid <see cref="EmailOptions.ResetTokenMinutes"/>.</summary>
    public EmailMessage PasswordReset(Guid? tenantId, string to, string token) =>
        Queue(tenantId, to, EmailPurpose.PasswordReset,
            "Reset your Switchboard password / Réinitialiser votre mot de passe",
            $"""
            Someone (hopefully you) asked to reset the password of this Switchboard account.
            Choose a new password here within {options.Value.ResetTokenMinutes} minutes; the link works once:

            {Link("/reset-password?token=" + Uri.EscapeDataString(token))}

            If you did not ask, ignore this email: your password stays as it is.

            ---
            Quelqu'un (vous, on l'espère) a demandé à réinitialiser le mot de passe de ce compte Switchboard.
            Choisissez un nouveau mot de passe avec le lien ci-dessus d'ici {options.Value.ResetTokenMinutes} minutes (une seule fois).
            Si ce n'est pas vous, ignorez ce courriel : votre mot de passe ne change pas.
            """);

    /// <summary>Queues an email-verification link valid <see cref="EmailOptions.VerifyTokenHours"/>.</summary>
    public EmailMessage VerifyEmail(Guid? tenantId, string to, string token) =>
        Queue(tenantId, to, EmailPurpose.VerifyEmail,
            "Confirm your email for Switchboard / Confirmez votre courriel",
            $"""
            Welcome to Switchboard. Confirm that this address is yours:

            {Link("/verify-email?token=" + Uri.EscapeDataString(token))}

            ---
            Bienvenue sur Switchboard. Confirmez que cette adresse est bien la vôtre avec le lien ci-dessus.
            """);

    /// <summary>Queues a billing notice (payment failed, trial ending) to a tenant's owner.</summary>
    public EmailMessage BillingNotice(Guid tenantId, string to, string subject, string body) =>
        Queue(tenantId, to, EmailPurpose.Billing, subject, body);

    private EmailMessage Queue(Guid? tenantId, string to, string purpose, string subject, string body)
    {
        var now = clock.GetUtcNow();
        var email = new EmailMessage
        {
            Id = Guid.CreateVersion7(),
            TenantId = tenantId,
            To = to,
            Subject = subject,
            TextBody = body,
            Purpose = purpose,
            CreatedAt = now,
        };
        db.EmailMessages.Add(email);
        if (tenantId is { } tenant)
        {
            db.Outbox.Add(new OutboxMessage
            {
                Id = Guid.CreateVersion7(),
                TenantId = tenant,
                Kind = EmailSendHandler.Kind,
                DedupeKey = email.Id.ToString("N"),
                PayloadJson = JsonSerializer.Serialize(new EmailSendHandler.Payload(email.Id)),
                NextAttemptAt = now,
                CreatedAt = now,
            });
        }
        else
        {
            // The outbox is per tenant; a user with no membership left (removed everywhere) has none to queue under.
            email.Status = EmailStatus.Failed;
            email.Error = "The user belongs to no tenant: nothing to queue the email under.";
        }
        return email;
    }
}
