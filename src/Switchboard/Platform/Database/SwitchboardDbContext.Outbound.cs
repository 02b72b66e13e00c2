using Microsoft.EntityFrameworkCore;
using Switchboard.Outbound;

namespace Switchboard.Platform.Database;

internal sealed partial class SwitchboardDbContext
{
    public DbSet<DoNotCallEntry> DoNotCall => Set<DoNotCallEntry>();
    public DbSet<OutboundRefusal> OutboundRefusals => Set<OutboundRefusal>();

    private void ConfigureOutbound(ModelBuilder b)
    {
        b.Entity<DoNotCallEntry>(e =>
        {
            e.ToTable("do_not_call");
            e.HasIndex(x => new { x.TenantId, x.Number }).IsUnique();
            e.Property(x => x.Number).HasMaxLength(32);
            e.Property(x => x.Source).HasMaxLength(32);
            e.Property(x => x.Note).HasMaxLength(500);
            TenantOwned(e);
        });
        b.Entity<OutboundRefusal>(e =>
        {
            e.ToTable("outbound_refusals");
            e.HasIndex(x => new { x.TenantId, x.At });
            e.Property(x => x.Number).HasMaxLength(64);
            e.Property(x => x.Reason).HasMaxLength(32);
            e.Property(x => x.Detail).HasMaxLength(500);
            e.Property(x => x.Source).HasMaxLength(32);
            TenantOwned(e);
        });
    }
}
