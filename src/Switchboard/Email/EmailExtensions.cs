using Switchboard.Outbox;
using Switchboard.Tenancy;

namespace Switchboard.Email;

/// <summary>Registration of account email: options, the mailer, the <c>email.send</c> outbox handler, resets and verification.</summary>
internal static class EmailExtensions
{
    public static IServiceCollection AddEmail(this IServiceCollection services)
    {
        services.AddOptions<EmailOptions>().BindConfiguration(EmailOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddScoped<Mailer>();
        services.AddScoped<AccountRecovery>();
        services.AddOutboxHandler<EmailSendHandler>(EmailSendHandler.Kind);
        return services;
    }

    /// <summary>The operator's mailbox under <c>/api/v1/operator</c>.</summary>
    public static IEndpointRouteBuilder MapEmail(this IEndpointRouteBuilder app)
    {
        app.MapGroup("/api/v1/operator").RequireAuthorization(SessionAuthentication.OperatorPolicy).MapMailbox();
        return app;
    }
}
