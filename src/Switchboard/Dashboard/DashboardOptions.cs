using System.ComponentModel.DataAnnotations;

namespace Switchboard.Dashboard;

/// <summary>Live events settings (<c>Switchboard:Dashboard</c>).</summary>
internal sealed class DashboardOptions
{
    public const string Section = "Switchboard:Dashboard";

    /// <summary>Seconds between <c>ping</c> events; the session is re-checked at each (frontends.md §5.2: 15 s keeps proxies open).</summary>
    [Range(0.05, 300)]
    public double PingSeconds { get; set; } = 15;

    /// <summary>Minutes of events kept per tenant for <c>Last-Event-ID</c> resume (the contract promises at least 5).</summary>
    [Range(5, 1440)]
    public double ReplayMinutes { get; set; } = 6;

    /// <summary>Cap on the events kept per tenant, whatever their age (memory bound).</summary>
    [Range(100, 1_000_000)]
    public int ReplayMaxEventsPerTenant { get; set; } = 20_000;

    /// <summary>Events queued per SSE subscriber before the oldest are dropped (a dropped non-transcript event makes the stream send <c>reset</c>).</summary>
    [Range(16, 100_000)]
    public int SubscriberQueue { get; set; } = 1024;
}
