using Microsoft.EntityFrameworkCore;
using Switchboard.Billing;
using Switchboard.Tenancy;

namespace Switchboard.Platform.Database;

/// <summary>Stripe billing tables (migration 0021): webhook events stored once, the plan→Stripe catalog, reconciliation drift.</summary>
internal sealed partial class SwitchboardDbContext
{
    public DbSet<StripeEventRecord> StripeEvents => Set<StripeEventRecord>();
    public DbSet<BillingCatalogEntry> BillingCatalog => Set<BillingCatalogEntry>();
    public DbSet<BillingDrift> BillingDrift => Set<BillingDrift>();

    private static void ConfigureBilling(ModelBuilder b)
    {
        // Installation-wide: Stripe talks to the platform account, not to a tenant.
        b.Entity<StripeEventRecord>(e =>
        {
            e.ToTable("stripe_events");
            e.Property(x => x.Id).HasMaxLength(255);
            e.Property(x => x.Type).HasMaxLength(100);
            e.Property(x => x.ObjectId).HasMaxLength(255);
            e.Property(x => x.Outcome).HasMaxLength(200);
            e.HasIndex(x => new { x.TenantId, x.Created });
        });

        b.Entity<BillingCatalogEntry>(e =>
        {
            e.ToTable("billing_catalog");
            e.HasKey(x => x.Key);
            e.Property(x => x.Key).HasMaxLength(100);
            e.Property(x => x.StripeId).HasMaxLength(500);
        });

        b.Entity<BillingDrift>(e =>
        {
            e.ToTable("billing_drift");
            e.HasIndex(x => x.CheckedAt);
            e.HasIndex(x => x.TenantId);
            e.Property(x => x.Period).HasMaxLength(7);
            e.Property(x => x.Kind).HasMaxLength(32);
            e.HasOne<Tenant>().WithMany().HasForeignKey(x => x.TenantId).OnDelete(DeleteBehavior.Cascade);
        });
    }
}
