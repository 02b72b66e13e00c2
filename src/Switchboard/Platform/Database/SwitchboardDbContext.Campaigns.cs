using Microsoft.EntityFrameworkCore;
using Switchboard.Outbound.Campaigns;

namespace Switchboard.Platform.Database;

/// <summary>Outbound campaigns (migration 0025): campaigns, their contacts, and the tenants' consent records.</summary>
internal sealed partial class SwitchboardDbContext
{
    public DbSet<Campaign> Campaigns => Set<Campaign>();
    public DbSet<CampaignContact> CampaignContacts => Set<CampaignContact>();
    public DbSet<Consent> Consents => Set<Consent>();

    private void ConfigureCampaigns(ModelBuilder b)
    {
        b.Entity<Campaign>(e =>
        {
            e.ToTable("campaigns");
            e.HasIndex(x => new { x.TenantId, x.CreatedAt });
            // The dialer looks for running and due scheduled campaigns across tenants.
            e.HasIndex(x => new { x.Status, x.StartAt });
            e.Property(x => x.Name).HasMaxLength(100);
            e.Property(x => x.Status).HasMaxLength(16);
            TenantOwned(e);
        });
        b.Entity<CampaignContact>(e =>
        {
            e.ToTable("campaign_contacts");
            e.HasIndex(x => new { x.TenantId, x.CampaignId, x.Number }).IsUnique();
            e.HasIndex(x => new { x.TenantId, x.CampaignId, x.Ordinal });
            e.HasIndex(x => new { x.TenantId, x.CampaignId, x.State, x.NextAttemptAt });
            e.HasIndex(x => new { x.TenantId, x.LastCallId });
            e.Property(x => x.Number).HasMaxLength(32);
            e.Property(x => x.Name).HasMaxLength(200);
            e.Property(x => x.TimeZone).HasMaxLength(64);
            e.Property(x => x.State).HasMaxLength(16);
            e.Property(x => x.Result).HasMaxLength(32);
            e.HasOne<Campaign>().WithMany().HasForeignKey(x => x.CampaignId).OnDelete(DeleteBehavior.Cascade);
            TenantOwned(e);
        });
        b.Entity<Consent>(e =>
        {
            e.ToTable("consents");
            e.HasIndex(x => new { x.TenantId, x.Number }).IsUnique();
            e.Property(x => x.Number).HasMaxLength(32);
            e.Property(x => x.Source).HasMaxLength(500);
            TenantOwned(e);
        });
    }
}
