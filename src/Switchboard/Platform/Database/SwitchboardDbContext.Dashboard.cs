using Microsoft.EntityFrameworkCore;
using Switchboard.Dashboard;
using Switchboard.Tenancy;

namespace Switchboard.Platform.Database;

/// <summary>The dashboard part of the model (migration 0008), and the live events a unit of work has produced.</summary>
internal sealed partial class SwitchboardDbContext
{
    public DbSet<LiveEventSequence> LiveEventSequences => Set<LiveEventSequence>();

    /// <summary>
    /// Live events derived from this context's changes (<see cref="LiveEventsInterceptor"/>): held from SaveChanges until
    /// the changes are committed, then published; dropped when the transaction rolls back.
    /// </summary>
    internal LiveEventBatch LiveEvents { get; } = new();

    /// <summary>
    /// True while this context's unit of work runs inside a <see cref="SqliteGroupCommit"/> batch: its saves are not durable
    /// until the batch commits, so what they announce waits for <see cref="IGroupCommitListener"/>.
    /// </summary>
    internal bool InGroupCommit { get; set; }

    /// <summary>
    /// When this context's last <see cref="SqliteGroupCommit"/> unit was queued, handed the writer's connection, done with its
    /// work, and answered (committed and durable): <see cref="System.Diagnostics.Stopwatch"/> timestamps, 0 before the first
    /// unit. Read by the webhook path to record where a message's time went (<c>switchboard.vapi.message.phase.duration</c>).
    /// </summary>
    internal GroupCommitTimes LastUnitTimes { get; set; }

    private bool? isSqlite;

    /// <summary>
    /// True when this context runs on SQLite, read once per context (pooled contexts keep it: a pool serves one provider).
    /// EF's <c>Database.IsSqlite()</c> compares the provider's name, which it builds from the provider assembly's
    /// <c>AssemblyName</c> at every call (issue 13: ~0.8 % of the server's CPU on the webhook path, which asked per message and per save).
    /// </summary>
    internal bool IsSqlite => isSqlite ??= Database.IsSqlite();

    private static void ConfigureDashboard(ModelBuilder b)
    {
        // One row per tenant on PostgreSQL: the last live-event id handed out, incremented under the row lock so every node
        // draws from the same per-tenant sequence (unused on SQLite, where events stay in one process).
        b.Entity<LiveEventSequence>(e =>
        {
            e.ToTable("live_event_sequences");
            e.HasKey(x => x.TenantId);
            e.HasOne<Tenant>().WithMany().HasForeignKey(x => x.TenantId).OnDelete(DeleteBehavior.Cascade);
        });
    }
}

/// <summary>
/// The moments of one <see cref="SqliteGroupCommit"/> unit (<see cref="System.Diagnostics.Stopwatch"/> timestamps): queued,
/// granted the writer's connection, its work done (its savepoint released or rolled back), its batch's COMMIT returned, the WAL
/// holding that COMMIT synced, and answered (its awaiter resumed). A moment not reached is 0.
/// </summary>
internal readonly record struct GroupCommitTimes(long Queued, long Granted, long WorkDone, long BatchCommitted, long Synced, long Answered);
