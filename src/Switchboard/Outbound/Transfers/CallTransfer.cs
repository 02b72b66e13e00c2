namespace Switchboard.Outbound;

/// <summary>
/// One live transfer of a call (issue 11), native or reported by Vapi. <see cref="Mode"/> is <c>cold</c> (the caller's call
/// is updated to <c>&lt;Dial&gt;</c>) or <c>warm</c> (caller on hold in a conference, the agent dialled in, briefed, then
/// joined). <see cref="Outcome"/>: <c>pending</c> (warm: the agent is being dialled), <c>transferred</c> (cold: handed to
/// <c>&lt;Dial&gt;</c>; warm: agent joined), <c>no-answer</c>, <c>busy</c>, <c>failed</c> (Twilio refused the update or
/// the agent's leg failed; the caller went back to the assistant).
/// </summary>
internal sealed class CallTransfer
{
    public Guid Id { get; set; }
    public Guid TenantId { get; set; }
    public Guid CallId { get; set; }

    /// <summary><c>twilio</c> (native bridge) or <c>vapi</c>.</summary>
    public required string Provider { get; set; }

    /// <summary>The destination's name in the assistant's configuration (null when Vapi reports a number we do not know).</summary>
    public string? Destination { get; set; }

    /// <summary>E.164 number dialled (Vapi: the reported number or SIP URI), at most <see cref="NumberLength"/> characters.</summary>
    public required string Number { get; set; }

    public required string Mode { get; set; }
    public string? Reason { get; set; }
    public required string Outcome { get; set; }

    /// <summary>
    /// Warm transfers: the conference's FriendlyName (<c>xfer-{CallSid}</c>); null again when moving the caller there failed
    /// (the caller was never on hold).
    /// </summary>
    public string? ConferenceName { get; set; }

    /// <summary>Warm transfers: the agent's leg (<c>CA…</c>), from the Participants API.</summary>
    public string? AgentCallSid { get; set; }

    /// <summary>Why the transfer failed (Twilio error code and message), at most 500 characters.</summary>
    public string? Error { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>When the agent answered (warm) or the call was handed to <c>&lt;Dial&gt;</c> (cold).</summary>
    public DateTimeOffset? ConnectedAt { get; set; }

    /// <summary>When the outcome became final.</summary>
    public DateTimeOffset? EndedAt { get; set; }

    /// <summary>Longest <see cref="Number"/> stored (the column's length).</summary>
    public const int NumberLength = 40;

    /// <summary>
    /// The partial unique index (migration 0039) that stores a transfer Vapi reports once per call and number: on
    /// (<c>TenantId</c>, <c>CallId</c>, <c>Number</c>) where <see cref="VapiTransferFilterSql"/>. Native transfers are not in
    /// it: a call may be transferred to one number again after a failed attempt, each attempt its own row.
    /// </summary>
    public const string VapiTransferIndex = "IX_call_transfers_TenantId_CallId_Number_vapi";

    /// <summary>The filter of <see cref="VapiTransferIndex"/>, written exactly as in migration 0039.</summary>
    public const string VapiTransferFilterSql = "\"Provider\" = 'vapi'";
}

/// <summary>Outcomes of <see cref="CallTransfer"/>.</summary>
internal static class TransferOutcomes
{
    public const string Pending = "pending";
    public const string Transferred = "transferred";
    public const string NoAnswer = "no-answer";
    public const string Busy = "busy";
    public const string Failed = "failed";
}
