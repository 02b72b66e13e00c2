using Microsoft.EntityFrameworkCore;
using Switchboard.Email;
using Switchboard.Tenancy;

namespace Switchboard.Platform.Database;

/// <summary>Account email tables (migration 0012): emails (outbox-delivered, the local mailbox) and password-reset / verification tokens.</summary>
internal sealed partial class SwitchboardDbContext
{
    public DbSet<EmailMessage> EmailMessages => Set<EmailMessage>();
    public DbSet<AccountToken> AccountTokens => Set<AccountToken>();

    private static void ConfigureEmail(ModelBuilder b)
    {
        // Installation-wide like users: no tenant filter; the tenant (when known) only scopes erasure.
        b.Entity<EmailMessage>(e =>
        {
            e.ToTable("email_messages");
            e.HasIndex(x => x.CreatedAt);
            e.HasIndex(x => new { x.To, x.CreatedAt });
            e.HasIndex(x => x.TenantId);
            e.Property(x => x.To).HasMaxLength(254);
            e.Property(x => x.Subject).HasMaxLength(300);
            e.Property(x => x.Purpose).HasMaxLength(32);
            e.Property(x => x.Status).HasMaxLength(16);
            e.Property(x => x.Error).HasMaxLength(1000);
            e.Property(x => x.MessageId).HasMaxLength(100);
            e.HasOne<Tenant>().WithMany().HasForeignKey(x => x.TenantId).OnDelete(DeleteBehavior.Cascade);
        });

        b.Entity<AccountToken>(e =>
        {
            e.ToTable("account_tokens");
            e.HasIndex(x => x.TokenHash).IsUnique();
            e.HasIndex(x => new { x.UserId, x.Purpose, x.CreatedAt });
            e.Property(x => x.Purpose).HasMaxLength(32);
            e.Property(x => x.TokenHash).HasMaxLength(64);
            e.Property(x => x.Email).HasMaxLength(254);
            e.HasOne<User>().WithMany().HasForeignKey(x => x.UserId).OnDelete(DeleteBehavior.Cascade);
        });
    }
}
