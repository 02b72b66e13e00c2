using System.Text.Json;
using Switchboard.Alerts;
using Switchboard.Calls;

namespace Switchboard.Dashboard;

/// <summary>
/// One live event as it travels: the tenant, its per-tenant id (<c>Seq</c>, the SSE <c>id:</c>), the SSE event name,
/// the data as JSON text (serialised once, sent as is), and the call it concerns (to route <c>?callId=</c> streams).
/// </summary>
internal sealed record LiveEvent(Guid TenantId, long Seq, string Type, string DataJson, Guid? CallId);

/// <summary>An event before it has an id: what a node publishes.</summary>
internal sealed record LiveEventDraft(Guid TenantId, string Type, string DataJson, Guid? CallId);

/// <summary>The SSE event names of <c>GET /api/v1/events</c> (dashboard contract, issue 8).</summary>
internal static class LiveEventTypes
{
    public const string CallStarted = "call.started";
    public const string CallUpdated = "call.updated";
    public const string CallEnded = "call.ended";
    public const string TranscriptTurn = "transcript.turn";
    public const string LeadCreated = "lead.created";
    public const string LeadUpdated = "lead.updated";
    public const string SmsUpdated = "sms.updated";
    public const string Ping = "ping";
    public const string Reset = "reset";
}

/// <summary>
/// Data of <c>call.started</c>, <c>call.updated</c> and <c>call.ended</c>. <c>Channel</c>: voice or web (as stored and listed
/// by <c>/api/v1/calls</c>); <c>Direction</c>: inbound or outbound; <c>Urgency</c>: emergency, soon or routine once a lead
/// exists; <c>DurationSeconds</c> in seconds; <c>Type</c>: the call's type as <c>/api/v1/calls</c> lists it
/// (<c>inboundPhoneCall</c>, <c>outboundPhoneCall</c>, Vapi's <c>webCall</c>, the widget's <c>webChat</c> / <c>webVoice</c>), so
/// Live tells a web chat, which is no call, from a web voice call.
/// </summary>
public sealed record LiveCallData(
    Guid CallId, string Status, string Channel, string Provider, string Direction, string? FromNumber, string? ToNumber,
    Guid? AssistantId, DateTimeOffset? StartedAt, DateTimeOffset? EndedAt, double? DurationSeconds, string? Urgency,
    string? EndedReason, string? Summary, string? Type);

/// <summary>Data of <c>transcript.turn</c>: one final turn. <c>Seq</c> is the turn's 0-based order in the call; <c>SecondsFromStart</c> in seconds.</summary>
public sealed record LiveTurnData(Guid CallId, int Seq, string Role, string Text, double? SecondsFromStart, DateTimeOffset? At);

/// <summary>Data of <c>sms.updated</c>. <c>Kind</c> is the SMS purpose (emergency-alert, lead-alert…); <c>Error</c> Twilio's code and message.</summary>
public sealed record LiveSmsData(Guid Id, Guid? CallId, string To, string Status, string? Kind, DateTimeOffset CreatedAt, DateTimeOffset? SentAt, string? Error);

/// <summary>Builds event data from entities, serialised with the API's JSON conventions (camelCase).</summary>
internal static class LiveEventData
{
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static LiveCallData Call(Call c, string? urgency) => new(
        c.Id, c.Status, c.Channel, c.Provider, c.Type is { } t && t.StartsWith("outbound", StringComparison.OrdinalIgnoreCase) ? "outbound" : "inbound",
        c.CustomerNumber, c.BusinessNumber, c.AssistantId, c.StartedAt, c.EndedAt, c.DurationSeconds, urgency, c.EndedReason, c.Summary, c.Type);

    public static LiveTurnData Turn(TranscriptTurn t) => new(t.CallId, t.Seq, t.Role, t.Text, t.SecondsFromStart, t.At);

    public static LiveSmsData Sms(SmsMessage s) => new(s.Id, s.CallId, s.To, s.Status, s.Purpose, s.CreatedAt, s.SentAt,
        s.ErrorCode is null && s.ErrorMessage is null ? null : string.Join(": ", new[] { s.ErrorCode, s.ErrorMessage }.Where(x => x is not null)));

    public static LiveEventDraft Draft<T>(Guid tenantId, string type, T data, Guid? callId) =>
        new(tenantId, type, JsonSerializer.Serialize(data, Json), callId);
}
