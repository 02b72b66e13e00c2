using System.ComponentModel.DataAnnotations;

namespace Switchboard.Outbound;

/// <summary>Configuration section <c>Switchboard:Transfer</c>: live transfer timings and hold audio.</summary>
internal sealed class TransferOptions
{
    public const string Section = "Switchboard:Transfer";

    /// <summary>Seconds the agent's phone rings before a warm transfer counts as no-answer (Twilio participant <c>Timeout</c>, 5–600).</summary>
    [Range(5, 600)]
    public int AgentRingSeconds { get; set; } = 20;

    /// <summary>Seconds a cold <c>&lt;Dial&gt;</c> rings (5–600).</summary>
    [Range(5, 600)]
    public int DialTimeoutSeconds { get; set; } = 30;

    /// <summary>The conference <c>waitUrl</c> the caller hears on hold (Twilio's own classical hold music twimlet by default).</summary>
    [Required]
    public string HoldMusicUrl { get; set; } = "https://twimlets.com/holdmusic?Bucket=com.twilio.music.classical";
}
