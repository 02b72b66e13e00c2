using Microsoft.EntityFrameworkCore;
using Switchboard.Widget;

namespace Switchboard.Platform.Database;

/// <summary>Web chat tables (migration 0010): widget conversations and widget settings.</summary>
internal sealed partial class SwitchboardDbContext
{
    public DbSet<WebConversation> WebConversations => Set<WebConversation>();
    public DbSet<WidgetSettings> WidgetSettings => Set<WidgetSettings>();

    private void ConfigureWebChat(ModelBuilder b)
    {
        b.Entity<WebConversation>(e =>
        {
            e.ToTable("web_conversations");
            e.HasIndex(x => new { x.TenantId, x.CallId }).IsUnique();
            e.HasIndex(x => new { x.TenantId, x.CreatedAt });
            e.HasIndex(x => new { x.EndedAt, x.LastMessageAt });
            e.HasOne<Calls.Call>().WithMany().HasForeignKey(x => x.CallId).OnDelete(DeleteBehavior.Cascade);
            e.Property(x => x.VisitorId).HasMaxLength(64);
            e.Property(x => x.Origin).HasMaxLength(300);
            e.Property(x => x.PageUrl).HasMaxLength(2048);
            e.Property(x => x.Referrer).HasMaxLength(2048);
            e.Property(x => x.UtmSource).HasMaxLength(200);
            e.Property(x => x.UtmMedium).HasMaxLength(200);
            e.Property(x => x.UtmCampaign).HasMaxLength(200);
            e.Property(x => x.UtmTerm).HasMaxLength(200);
            e.Property(x => x.UtmContent).HasMaxLength(200);
            e.Property(x => x.Gclid).HasMaxLength(200);
            e.Property(x => x.Fbclid).HasMaxLength(200);
            e.Property(x => x.Language).HasMaxLength(8);
            e.Property(x => x.Brain).HasMaxLength(16);
            TenantOwned(e);
        });

        b.Entity<WidgetSettings>(e =>
        {
            e.ToTable("widget_settings");
            e.HasKey(x => x.TenantId);
            e.Property(x => x.AccentColor).HasMaxLength(7);
            e.Property(x => x.Position).HasMaxLength(8);
            e.Property(x => x.Title).HasMaxLength(100);
            e.Property(x => x.Greeting).HasMaxLength(500);
            e.Property(x => x.AvatarUrl).HasMaxLength(500);
            TenantOwned(e);
        });
    }
}
