namespace Switchboard.Calls;

/// <summary>Call status values shared by the providers.</summary>
internal static class CallStatuses
{
    /// <summary>
    /// A conversation that is over: Vapi's <c>ended</c>, and Twilio's terminal CallStatus values, which native calls keep
    /// (<c>completed</c>, <c>busy</c>, <c>no-answer</c>, <c>failed</c>, <c>canceled</c>; twilio-voice-sms.md §1).
    /// </summary>
    public static readonly string[] Ended = ["ended", "completed", "busy", "no-answer", "failed", "canceled"];

    /// <summary>
    /// The filter of the partial index <c>IX_calls_live</c> (migrations 0029, 0031): a call that has not ended. A query uses the index
    /// only when its own condition is this same expression, so it is written with <see cref="Ended"/> inlined in the same order
    /// (<c>!EF.Constant(CallStatuses.Ended).Contains(c.Status)</c>; sqlite.org/partialindex.html §2.1).
    /// </summary>
    public const string LiveFilterSql = "\"Status\" NOT IN ('ended', 'completed', 'busy', 'no-answer', 'failed', 'canceled')";
}
