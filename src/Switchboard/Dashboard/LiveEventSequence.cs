namespace Switchboard.Dashboard;

/// <summary>The last live-event id handed out for a tenant (PostgreSQL; see <see cref="PostgresLiveEventTransport"/>).</summary>
internal sealed class LiveEventSequence
{
    public Guid TenantId { get; set; }
    public long LastSeq { get; set; }
}
