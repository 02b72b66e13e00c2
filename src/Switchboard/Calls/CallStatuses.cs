namespace Switchboard.Calls;

/// <summary>Call status values shared by the providers.</summary>
internal static class CallStatuses
{
    /// <summary>
    /// A conversation that is over: Vapi's <c>ended</c>, and Twilio's terminal CallStatus values, which native calls keep
    /// (<c>completed</c>, <c>busy</c>, <c>no-answer</c>, <c>failed</c>, <c>canceled</c>; twilio-voice-sms.md §1).
    /// </summary>
    public static readonly string[] Ended = ["ended", "completed", "busy", "no-answer", "failed", "canceled"];
}
