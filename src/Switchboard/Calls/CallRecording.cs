namespace Switchboard.Calls;

/// <summary>
/// A Twilio recording of a native call: the dual-channel call recording started through the REST API, or a
/// message left with <c>&lt;Record&gt;</c>. Filled from RecordingStatusCallback requests
/// (shared/protocols/twilio-voice-sms.md §3); one row per <c>RecordingSid</c>, updated as its status moves.
/// </summary>
internal sealed class CallRecording
{
    public Guid Id { get; set; }
    public Guid TenantId { get; set; }
    public Guid? CallId { get; set; }

    /// <summary>Twilio's recording id, <c>RE…</c>.</summary>
    public required string RecordingSid { get; set; }

    public string? CallSid { get; set; }

    /// <summary><c>in-progress</c>, <c>completed</c>, <c>absent</c> or <c>failed</c>.</summary>
    public required string Status { get; set; }

    /// <summary>Media URL without extension (append <c>.wav</c> or <c>.mp3</c> to download).</summary>
    public string? Url { get; set; }

    /// <summary>Length in seconds.</summary>
    public int? DurationSeconds { get; set; }

    /// <summary>1 (mono) or 2 (dual channel: caller and assistant apart).</summary>
    public int? Channels { get; set; }

    /// <summary><c>StartCallRecordingAPI</c>, <c>RecordVerb</c>…</summary>
    public string? Source { get; set; }

    public string? Track { get; set; }
    public string? ErrorCode { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}
