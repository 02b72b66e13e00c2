namespace Switchboard.Calls;

/// <summary>
/// The values of <see cref="Call.Channel"/>: how the caller reached the business. The API and the CSV export call the voice
/// channel <c>phone</c> (<see cref="CallFilter"/> accepts both); the database keeps these values.
/// </summary>
internal static class CallChannels
{
    /// <summary>A phone call: Vapi's <c>inboundPhoneCall</c>/<c>outboundPhoneCall</c>, or a native Twilio call.</summary>
    public const string Voice = "voice";

    /// <summary>A web conversation: the chat widget, or Vapi's <c>webCall</c>. It has no caller id.</summary>
    public const string Web = "web";
}
