using System.Text.Json;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using MimeKit;
using Switchboard.Outbox;
using Switchboard.Platform.Database;

namespace Switchboard.Email;

/// <summary>
/// Delivers one <see cref="EmailMessage"/> (outbox kind <c>email.send</c>): to the local mailbox when
/// <see cref="EmailOptions.LocalMailbox"/> applies, else over SMTP with MailKit (EHLO, STARTTLS per
/// <see cref="EmailOptions.Security"/>, AUTH when a user is configured, MAIL FROM, RCPT TO, DATA; RFC 5321).
/// A 5xx refusal of the sender, recipient or message is permanent (dead letter); connection failures, timeouts and
/// 4xx replies are retried with the outbox's back-off. Delivery is at least once: a crash between the server's 250
/// after DATA and the commit here sends the mail again, with the same Message-Id so mail clients can fold duplicates.
/// </summary>
internal sealed class EmailSendHandler(SwitchboardDbContext db, IOptions<EmailOptions> options, IHostEnvironment environment, TimeProvider clock,
    ILogger<EmailSendHandler> logger) : IOutboxHandler, IOutboxDeadLetterAware
{
    public const string Kind = "email.send";

    /// <summary>What replaces a body once an SMTP server has it: the link inside is not kept at rest.</summary>
    public const string DeliveredPlaceholder = "(delivered by SMTP; the body is not kept)";

    /// <summary>Outbox payload: the email row to deliver.</summary>
    public sealed record Payload(Guid EmailId);

    string IOutboxHandler.Kind => Kind;

    /// <summary>Whether mail goes to the local mailbox instead of SMTP.</summary>
    public static bool UsesLocalMailbox(EmailOptions o, IHostEnvironment env) =>
        o.LocalMailbox ?? (string.IsNullOrWhiteSpace(o.Host) && !env.IsProduction());

    public async Task<OutboxResult> HandleAsync(OutboxMessage message, CancellationToken ct)
    {
        var payload = JsonSerializer.Deserialize<Payload>(message.PayloadJson, JsonSerializerOptions.Web);
        var email = payload is null ? null : await db.EmailMessages.FirstOrDefaultAsync(e => e.Id == payload.EmailId, ct);
        if (email is null)
        {
            return OutboxResult.Dead("Email row not found.");
        }
        if (email.Status is not EmailStatus.Queued)
        {
            return OutboxResult.Done;
        }
        var o = options.Value;
        email.Attempts++;
        email.MessageId ??= $"{email.Id:N}@switchboard";
        if (UsesLocalMailbox(o, environment))
        {
            email.Status = EmailStatus.Mailbox;
            email.SentAt = clock.GetUtcNow();
            // Only the id, purpose and recipient are logged, never the subject, body or links: the links carry password-reset,
            // verification and invitation tokens, and logs are read (and shipped) more widely than the operator mailbox
            // (GET /api/v1/operator/mailbox, /operator/mailbox in the dashboard), where the mail itself is read (probe E, F4).
            logger.LogInformation("Email {EmailId} ({Purpose}) to {To} is in the local mailbox: read it at /operator/mailbox",
                email.Id, email.Purpose, email.To);
            return OutboxResult.Done;
        }
        if (string.IsNullOrWhiteSpace(o.Host))
        {
            email.Status = EmailStatus.Failed;
            email.Error = "SMTP is not configured (Switchboard__Email__Host).";
            return OutboxResult.Dead(email.Error);
        }

        try
        {
            await SendAsync(o, email, ct);
        }
        catch (SmtpCommandException e) when ((int)e.StatusCode >= 500 && e.ErrorCode is SmtpErrorCode.RecipientNotAccepted
                                                 or SmtpErrorCode.SenderNotAccepted or SmtpErrorCode.MessageNotAccepted)
        {
            email.Status = EmailStatus.Failed;
            email.Error = $"SMTP refused the {ErrorTarget(e.ErrorCode)}: {(int)e.StatusCode} {e.Message}";
            logger.LogWarning("Email {EmailId} refused permanently: {Status}", email.Id, (int)e.StatusCode);
            return OutboxResult.Dead(email.Error);
        }
        catch (Exception e) when (!ct.IsCancellationRequested && e is SmtpCommandException or SmtpProtocolException or AuthenticationException
                                      or SslHandshakeException or IOException or System.Net.Sockets.SocketException or TimeoutException
                                      or ServiceNotConnectedException or OperationCanceledException)
        {
            email.Error = e is SmtpCommandException command ? $"SMTP {(int)command.StatusCode}: {e.Message}" : $"{e.GetType().Name}: {e.Message}";
            logger.LogWarning("Email {EmailId} not sent yet: {Error}", email.Id, email.Error);
            return OutboxResult.Retry(email.Error);
        }
        email.Status = EmailStatus.Sent;
        email.SentAt = clock.GetUtcNow();
        email.Error = null;
        email.TextBody = DeliveredPlaceholder;
        return OutboxResult.Done;
    }

    private static string ErrorTarget(SmtpErrorCode code) => code switch
    {
        SmtpErrorCode.RecipientNotAccepted => "recipient",
        SmtpErrorCode.SenderNotAccepted => "sender",
        _ => "message",
    };

    private static async Task SendAsync(EmailOptions o, EmailMessage email, CancellationToken ct)
    {
        var mime = new MimeMessage
        {
            Subject = email.Subject,
            MessageId = email.MessageId ?? $"{email.Id:N}@switchboard",
            Body = new TextPart("plain") { Text = email.TextBody },
        };
        mime.From.Add(MailboxAddress.Parse(o.From));
        mime.To.Add(MailboxAddress.Parse(email.To));
        mime.Date = email.CreatedAt;

        using var smtp = new SmtpClient { Timeout = o.TimeoutSeconds * 1000 };
        await smtp.ConnectAsync(o.Host!, o.Port, Enum.Parse<SecureSocketOptions>(o.Security), ct);
        if (!string.IsNullOrEmpty(o.User))
        {
            await smtp.AuthenticateAsync(o.User, o.Password ?? "", ct);
        }
        await smtp.SendAsync(mime, ct);
        await smtp.DisconnectAsync(true, ct);
    }

    public async Task OnDeadLetterAsync(OutboxMessage message, CancellationToken ct)
    {
        var payload = JsonSerializer.Deserialize<Payload>(message.PayloadJson, JsonSerializerOptions.Web);
        var email = payload is null ? null : await db.EmailMessages.FirstOrDefaultAsync(e => e.Id == payload.EmailId, ct);
        if (email is not null && email.Status == EmailStatus.Queued)
        {
            email.Status = EmailStatus.Failed;
            email.Error ??= "Retries exhausted.";
        }
    }
}
