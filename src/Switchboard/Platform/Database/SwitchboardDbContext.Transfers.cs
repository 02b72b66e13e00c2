using Microsoft.EntityFrameworkCore;
using Switchboard.Assistants;
using Switchboard.Outbound;

namespace Switchboard.Platform.Database;

/// <summary>Live transfer (migration 0023): the assistants' transfer configuration and the transfers made on calls.</summary>
internal sealed partial class SwitchboardDbContext
{
    public DbSet<CallTransfer> CallTransfers => Set<CallTransfer>();

    private void ConfigureTransfers(ModelBuilder b)
    {
        b.Entity<Assistant>(e =>
        {
            e.Property(x => x.TransferEnabled).HasDefaultValue(false);
            e.Property(x => x.TransferDestinations).HasConversion(NullableJsonConverter<List<TransferDestination>>(), JsonComparer<List<TransferDestination>?>());
        });
        b.Entity<CallTransfer>(e =>
        {
            e.ToTable("call_transfers");
            e.HasIndex(x => new { x.TenantId, x.CallId, x.CreatedAt });
            e.HasIndex(x => new { x.TenantId, x.AgentCallSid });
            e.HasIndex(x => new { x.TenantId, x.CallId, x.Number }, CallTransfer.VapiTransferIndex).IsUnique().HasFilter(CallTransfer.VapiTransferFilterSql); // migration 0039
            e.Property(x => x.Provider).HasMaxLength(16);
            e.Property(x => x.Destination).HasMaxLength(80);
            e.Property(x => x.Number).HasMaxLength(CallTransfer.NumberLength);
            e.Property(x => x.Mode).HasMaxLength(8);
            e.Property(x => x.Reason).HasMaxLength(500);
            e.Property(x => x.Outcome).HasMaxLength(16);
            e.Property(x => x.ConferenceName).HasMaxLength(100);
            e.Property(x => x.AgentCallSid).HasMaxLength(64);
            e.Property(x => x.Error).HasMaxLength(500);
            TenantOwned(e);
        });
    }
}
