using Microsoft.EntityFrameworkCore;
using Switchboard.Platform.Database;
using Switchboard.Tenancy;

namespace Switchboard.Platform.Cli;

/// <summary>
/// <c>switchboard grant-operator &lt;email&gt; [--revoke]</c>: makes an existing user an operator of the installation
/// (or no longer one). Only someone with the server's command line can do it: the API never grants it.
/// Exit codes: 0 done, 1 no such user, 2 usage.
/// </summary>
internal static class GrantOperatorCommand
{
    public static async Task<int> RunAsync(IServiceProvider services, string email, bool revoke, CancellationToken ct)
    {
        await services.GetRequiredService<Migrator>().MigrateAsync(ct);
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>();
        var normalized = AccountService.NormalizeEmail(email);
        var user = await db.Users.FirstOrDefaultAsync(u => u.Email == normalized, ct);
        if (user is null)
        {
            Console.Error.WriteLine($"No user {normalized}: sign up first (POST /api/v1/auth/signup), then grant.");
            return 1;
        }
        user.IsOperator = !revoke;
        await db.SaveChangesAsync(ct);
        await scope.ServiceProvider.GetRequiredService<Compliance.AuditLog>().AppendAsync(null, new Compliance.AuditActor("system", "cli", null),
            revoke ? "operator.revoked" : "operator.granted", "user:" + user.Id, null, ct);
        Console.WriteLine(revoke ? $"{normalized} is no longer an operator." : $"{normalized} is now an operator.");
        return 0;
    }
}
