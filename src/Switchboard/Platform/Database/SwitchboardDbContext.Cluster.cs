using Microsoft.AspNetCore.DataProtection.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;
using Switchboard.Platform.Cluster;

namespace Switchboard.Platform.Database;

/// <summary>
/// What the nodes of one installation share besides tenants' data (migration 0017): the Data Protection key ring
/// (each key's secret encrypted with the master key, <see cref="MasterKeyXmlEncryptor"/>), fixed-window rate-limit
/// counters and concurrency leases (PostgreSQL only; SQLite is one node), and the media-stream tokens already used.
/// </summary>
internal sealed partial class SwitchboardDbContext : IDataProtectionKeyContext
{
    /// <summary>The shared Data Protection key ring (read and written by <c>EntityFrameworkCoreXmlRepository</c>).</summary>
    public DbSet<DataProtectionKey> DataProtectionKeys => Set<DataProtectionKey>();

    public DbSet<RateLimitCounter> RateLimitCounters => Set<RateLimitCounter>();
    public DbSet<ConcurrencyLease> ConcurrencyLeases => Set<ConcurrencyLease>();
    public DbSet<StreamTokenUse> StreamTokenUses => Set<StreamTokenUse>();

    private static void ConfigureCluster(ModelBuilder b)
    {
        b.Entity<DataProtectionKey>(e => e.ToTable("data_protection_keys"));
        b.Entity<RateLimitCounter>(e =>
        {
            e.ToTable("rate_limit_counters");
            e.HasKey(x => new { x.Key, x.WindowStart });
            e.Property(x => x.Key).HasMaxLength(200);
            e.HasIndex(x => x.ExpiresAt);
        });
        b.Entity<ConcurrencyLease>(e =>
        {
            e.ToTable("concurrency_leases");
            e.HasKey(x => new { x.Key, x.Slot });
            e.Property(x => x.Key).HasMaxLength(200);
        });
        b.Entity<StreamTokenUse>(e =>
        {
            e.ToTable("stream_token_uses");
            e.HasKey(x => x.Nonce);
            e.Property(x => x.Nonce).HasMaxLength(32);
            e.HasIndex(x => x.ExpiresAt);
        });
    }
}
