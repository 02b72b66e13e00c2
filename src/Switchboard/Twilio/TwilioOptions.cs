namespace Switchboard.Twilio;

/// <summary>Configuration section <c>Switchboard:Twilio</c>.</summary>
internal sealed class TwilioOptions
{
    public const string Section = "Switchboard:Twilio";

    /// <summary>Base URL of Twilio's REST API (a simulator on 127.0.0.1 in tests).</summary>
    public string ApiBaseUrl { get; set; } = "https://api.twilio.com";

    /// <summary>Per-request timeout in seconds.</summary>
    public int TimeoutSeconds { get; set; } = 15;
}
