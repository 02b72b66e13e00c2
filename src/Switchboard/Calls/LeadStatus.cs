namespace Switchboard.Calls;

/// <summary>
/// A lead's workflow: <c>new</c> → <c>contacted</c> → <c>booked</c> or <c>lost</c>. A lead may be marked booked or lost
/// straight from <c>new</c> (the caller booked on the first callback), and any lead may be reopened to <c>new</c>;
/// nothing else moves backwards (a booked lead is not "contacted" again: reopen it first).
/// </summary>
internal static class LeadStatus
{
    public const string New = "new";
    public const string Contacted = "contacted";
    public const string Booked = "booked";
    public const string Lost = "lost";

    public static readonly IReadOnlyList<string> All = [New, Contacted, Booked, Lost];

    public static bool IsKnown(string? status) => status is New or Contacted or Booked or Lost;

    /// <summary>True when a lead in <paramref name="from"/> may move to <paramref name="to"/> (staying put is allowed).</summary>
    public static bool CanMove(string from, string to) =>
        from == to || to == New || (from, to) switch
        {
            (New, Contacted or Booked or Lost) => true,
            (Contacted, Booked or Lost) => true,
            _ => false,
        };
}
