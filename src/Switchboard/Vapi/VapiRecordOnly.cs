using System.Text.Json;
using Switchboard.Calls;
using Switchboard.Platform.Database;

namespace Switchboard.Vapi;

/// <summary>
/// The record-only fast path of the Vapi webhook (issue 13). Six of a typical call's fifteen messages (speech updates,
/// partial transcripts) change nothing but their own stored event; through <see cref="VapiEventProcessor"/> each still cost a
/// lookup, EF's change tracking and its save pipeline. Here such a message is stored in one statement
/// (<see cref="SwitchboardDbContext.InsertEventOfCallAsync"/>), written only when that is exactly what the full path would do:
/// its call is stored, every call column the message would fill (<see cref="VapiCallFields"/>) is set already, no
/// last-activity touch is due (<see cref="VapiEventProcessor.ActivityTouch"/>) and the message is not stored yet. When
/// any of these fails nothing is written and the caller takes the full path, which decides as before (a new call, a
/// field to fill, a touch, a duplicate). Nothing is cached: every node can take this path.
/// </summary>
internal static class VapiRecordOnly
{
    /// <summary>
    /// True for a message whose only effect on a call already as it should be is its stored event: any fire-and-forget type
    /// (<see cref="VapiWebhookApi.RequestResponseTypes"/> excluded) that <c>VapiEventProcessor.ApplyAsync</c> gives no effect,
    /// such as <c>speech-update</c>, <c>hang</c>, <c>model-output</c>, and a <c>transcript</c> that is not final
    /// (<see cref="VapiEventProcessor.FinalTranscript"/>). Status updates, final transcripts, conversation updates,
    /// end-of-call reports and transfer updates change the call and always take the full path.
    /// </summary>
    internal static bool Applies(JsonElement message, string type) => type switch
    {
        "status-update" or "transfer-update" or "conversation-update" or "end-of-call-report" => false,
        "transcript" or "transcript[transcriptType=\"final\"]" => !VapiEventProcessor.FinalTranscript(message),
        _ => !VapiWebhookApi.RequestResponseTypes.Contains(type),
    };

    /// <summary>
    /// Stores a record-only message's event (the row <see cref="VapiEventProcessor.NewEvent"/> makes, received at
    /// <paramref name="now"/>) when its call (tenant <paramref name="tenantId"/>, Vapi's <c>call.id</c> or <c>callId</c>) is
    /// stored with every field the message carries set and was updated less than <see cref="VapiEventProcessor.ActivityTouch"/>
    /// before <paramref name="now"/>, and the message (<paramref name="idempotencyKey"/>) is not stored yet. On SQLite the
    /// statement goes through <paramref name="groupCommit"/> like every webhook write; on PostgreSQL (<paramref name="groupCommit"/>
    /// null) it is one autocommit round trip. True when stored (the reply is <c>{"ok":true}</c>); false when nothing was
    /// written and the message is to take the full path. Errors are the database's (<see cref="System.Data.Common.DbException"/>).
    /// </summary>
    internal static async Task<bool> TryRecordAsync(SwitchboardDbContext db, SqliteGroupCommit? groupCommit, Guid tenantId, JsonElement message,
        string type, string rawBody, string idempotencyKey, IReadOnlyList<string> unusableFields, DateTimeOffset now, CancellationToken ct)
    {
        if (VapiEventProcessor.ProviderCallIdOf(message) is not { } providerCallId)
        {
            return false; // an event of no call: the full path stores it without one
        }
        var row = VapiEventProcessor.NewEvent(tenantId, null, message, type, rawBody, idempotencyKey, unusableFields, now);
        var set = VapiCallFields.Of(message).Carried();
        // The full path touches the call when now - UpdatedAt >= ActivityTouch; so no touch is due while UpdatedAt > now - ActivityTouch.
        var updatedAfter = now - VapiEventProcessor.ActivityTouch;
        if (groupCommit is null)
        {
            return await db.InsertEventOfCallAsync(row, providerCallId, set, updatedAfter, ct);
        }
        return await groupCommit.RunAsync(db, VapiWebhookApi.PriorityOf(type), () => db.InsertEventOfCallAsync(row, providerCallId, set, updatedAfter, ct), ct);
    }
}

/// <summary>
/// The call fields any Vapi message may carry (shared/protocols/vapi-server-messages.md §2, the <c>call</c> object): <c>call.type</c>,
/// <c>call.phoneCallProviderId</c> (Twilio's CallSid), the customer's number (<c>call.customer.number</c>, else <c>customer.number</c>),
/// the business number (<c>phoneNumber.number</c>, else <c>call.phoneNumber.number</c>), all capped to 64 characters, and
/// <c>call.startedAt</c> / <c>call.endedAt</c> when usable times. Each fills its column of the call while that is null.
/// </summary>
internal readonly record struct VapiCallFields(
    string? Type, string? CallSid, string? CustomerNumber, string? BusinessNumber, DateTimeOffset? StartedAt, DateTimeOffset? EndedAt)
{
    /// <summary>The fields <paramref name="m"/> (a message) carries; null where absent or unusable.</summary>
    public static VapiCallFields Of(JsonElement m)
    {
        var c = m.Prop("call");
        return new VapiCallFields(
            Cap(c?.Prop("type").Str()),
            Cap(c?.Prop("phoneCallProviderId").Str()),
            Cap(c?.Path("customer", "number").Str() ?? m.Path("customer", "number").Str()),
            Cap(m.Path("phoneNumber", "number").Str() ?? c?.Path("phoneNumber", "number").Str()),
            c?.Prop("startedAt").Time(),
            c?.Prop("endedAt").Time());
    }

    /// <summary>The <see cref="Call"/> properties these fields would fill when null (those carried), in declaration order; one shared list per combination.</summary>
    public IReadOnlyList<string> Carried() => CarriedSets[
        (Type is null ? 0 : 1) | (CallSid is null ? 0 : 2) | (CustomerNumber is null ? 0 : 4)
        | (BusinessNumber is null ? 0 : 8) | (StartedAt is null ? 0 : 16) | (EndedAt is null ? 0 : 32)];

    /// <summary>The <see cref="Call"/> property per field, in declaration order (bit i of a <see cref="CarriedSets"/> index).</summary>
    private static readonly string[] FieldProperties =
        [nameof(Call.Type), nameof(Call.CallSid), nameof(Call.CustomerNumber), nameof(Call.BusinessNumber), nameof(Call.StartedAt), nameof(Call.EndedAt)];

    /// <summary>Every subset of <see cref="FieldProperties"/>, indexed by its bit mask.</summary>
    private static readonly string[][] CarriedSets = Enumerable.Range(0, 1 << 6)
        .Select(mask => FieldProperties.Where((_, i) => (mask & (1 << i)) != 0).ToArray()).ToArray();

    private static string? Cap(string? s) => Platform.Http.TolerantJson.Cap(s, 64);
}
