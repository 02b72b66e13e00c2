using Switchboard.Outbound;
using Switchboard.Platform.Http;

namespace Switchboard.Twilio;

/// <summary>
/// Twilio's callbacks of a warm transfer (shared/protocols/outbound-and-transfer.md §3.2), signed like every Twilio webhook:
/// <list type="bullet">
/// <item><c>POST /webhooks/twilio/transfer/{tenantId}/{transferId}</c>: the agent participant's <c>StatusCallback</c>
/// (<c>CallSid</c>, <c>CallStatus</c>); 204.</item>
/// <item><c>POST /webhooks/twilio/transfer/{tenantId}/{transferId}/whisper</c>: the agent's <c>AnnounceUrl</c>; TwiML
/// <c>&lt;Say&gt;</c> of the assistant's summary, heard by the agent only.</item>
/// <item><c>POST /webhooks/twilio/transfer/{tenantId}/{transferId}/dial-ended</c>: a cold transfer's <c>&lt;Dial action&gt;</c>
/// (<c>DialCallStatus</c>, §3.1); TwiML: <c>&lt;Hangup/&gt;</c> after a conversation, else the callback notice then
/// <c>&lt;Hangup/&gt;</c> (<see cref="TransferService.OnColdDialEndedAsync"/>).</item>
/// </list>
/// </summary>
internal static partial class TwilioVoiceApi
{
    private static void MapTransferWebhooks(RouteGroupBuilder group)
    {
        group.MapPost("/transfer/{tenantId}/{transferId:guid}", TransferStatusAsync).WithSummary("Twilio warm transfer: the agent's leg status callback")
            .Produces(StatusCodes.Status204NoContent).ProducesProblemEnvelopes();
        group.MapPost("/transfer/{tenantId}/{transferId:guid}/whisper", TransferWhisperAsync).WithSummary("Twilio warm transfer: the summary whispered to the agent (TwiML)")
            .Produces<string>(StatusCodes.Status200OK, "text/xml").ProducesProblemEnvelopes();
        group.MapPost("/transfer/{tenantId}/{transferId:guid}/dial-ended", TransferDialEndedAsync).WithSummary("Twilio cold transfer: the <Dial> action (TwiML)")
            .Produces<string>(StatusCodes.Status200OK, "text/xml").ProducesProblemEnvelopes();
    }

    private static async Task<IResult> TransferStatusAsync(string tenantId, Guid transferId, HttpContext http, TransferService transfers, TwilioWebhookUrls urls, CancellationToken ct)
    {
        var (request, error) = await AuthenticateAsync(tenantId, http, ct);
        if (request is null)
        {
            return error!;
        }
        if (request["CallStatus"] is not { } status)
        {
            return ApiError.Unprocessable("INVALID_PAYLOAD", "CallStatus is required.");
        }
        return await transfers.OnAgentStatusAsync(request.Tenant, transferId, request["CallSid"], status, urls.BaseFor(http.Request), ct)
            ? Results.NoContent()
            : ApiError.NotFound("TRANSFER_NOT_FOUND", "No such transfer.");
    }

    private static async Task<IResult> TransferWhisperAsync(string tenantId, Guid transferId, HttpContext http, TransferService transfers, CancellationToken ct)
    {
        var (request, error) = await AuthenticateAsync(tenantId, http, ct);
        if (request is null)
        {
            return error!;
        }
        return await transfers.WhisperAsync(request.Tenant, transferId, ct) is { } twiml
            ? Xml(twiml)
            : ApiError.NotFound("TRANSFER_NOT_FOUND", "No such transfer.");
    }

    private static async Task<IResult> TransferDialEndedAsync(string tenantId, Guid transferId, HttpContext http, TransferService transfers, CancellationToken ct)
    {
        var (request, error) = await AuthenticateAsync(tenantId, http, ct);
        if (request is null)
        {
            return error!;
        }
        if (request["DialCallStatus"] is not { } status)
        {
            return ApiError.Unprocessable("INVALID_PAYLOAD", "DialCallStatus is required.");
        }
        return await transfers.OnColdDialEndedAsync(request.Tenant, transferId, status, ct) is { } twiml
            ? Xml(twiml)
            : ApiError.NotFound("TRANSFER_NOT_FOUND", "No such transfer.");
    }
}
