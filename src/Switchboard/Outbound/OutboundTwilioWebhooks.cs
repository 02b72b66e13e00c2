using System.Xml.Linq;
using Microsoft.EntityFrameworkCore;
using Switchboard.Calls;
using Switchboard.Credentials;
using Switchboard.Platform.Database;
using Switchboard.Platform.Http;
using Switchboard.Tenancy;
using Switchboard.Twilio;

namespace Switchboard.Outbound;

/// <summary>
/// Twilio's callbacks for an outbound native call, each signed (<c>X-Twilio-Signature</c>, checked as for inbound
/// webhooks by <see cref="TwilioVoiceApi.AuthenticateAsync"/>) and carrying Switchboard's call id in its path, so they
/// find the call even before the create response's CallSid was saved:
/// <list type="bullet">
/// <item><c>POST /webhooks/twilio/outbound/{tenantId}/{callId}/answer</c>: the call's <c>Url</c>. With <c>AsyncAmd=true</c>
/// the call is connected before detection ends, so the answer holds the line (<c>&lt;Pause length="40"/&gt;</c>, longer than
/// the 30 s detection timeout) until the AMD result arrives; if it already arrived, the TwiML for it is returned.</item>
/// <item><c>…/amd</c>: the asynchronous AMD result (<c>AnsweredBy</c>, <c>MachineDetectionDuration</c> ms;
/// outbound-and-transfer.md §1, §7): <c>human</c> or <c>unknown</c> → the live call is updated to <c>&lt;Say&gt;</c> the
/// outbound notice (<see cref="VoicePrompts.OutboundNotice"/>: an automated call from the business, recorded or not; never
/// the inbound consent notice) then <c>&lt;Connect&gt;&lt;Stream&gt;</c> (the realtime bridge, with the call's context in
/// its instructions);
/// <c>machine_end_beep</c>, <c>machine_end_silence</c>, <c>machine_end_other</c> (or <c>machine_start</c>) → updated to
/// <c>&lt;Pause length="1"/&gt;&lt;Say&gt;voicemail&lt;/Say&gt;&lt;Hangup/&gt;</c>; <c>fax</c> → hung up. A result that arrives after
/// the call's final status callback is only recorded.</item>
/// <item><c>…/status</c>: status callbacks (initiated, ringing, in-progress, completed, busy, no-answer, failed); a call
/// that ends without reaching the bridge (voicemail, busy, no answer) goes through the post-call pipeline here.</item>
/// </list>
/// Errors in the envelope: 404 unknown tenant or call, 403 bad signature, 413 body too large.
/// The model speaks only after AMD said human: the caller may hear ~1–3 s of silence after "Hello?" (the price of not
/// talking over a voicemail greeting).
/// </summary>
internal static class OutboundTwilioWebhooks
{
    /// <summary>Seconds the answer holds the line waiting for the AMD result.</summary>
    public const int HoldSeconds = 40;

    public static IEndpointRouteBuilder MapOutboundTwilioWebhooks(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/webhooks/twilio/outbound/{tenantId}/{callId}").WithTags("Webhooks").DisableAntiforgery();
        group.MapPost("/answer", AnswerAsync).WithSummary("Twilio outbound call answered (TwiML)")
            .Produces<string>(StatusCodes.Status200OK, "text/xml").Produces<ErrorEnvelope>(403).Produces<ErrorEnvelope>(404).Produces<ErrorEnvelope>(413).Produces<ErrorEnvelope>(503);
        group.MapPost("/amd", AmdAsync).WithSummary("Twilio asynchronous answering-machine detection result")
            .Produces(StatusCodes.Status204NoContent).Produces<ErrorEnvelope>(403).Produces<ErrorEnvelope>(404).Produces<ErrorEnvelope>(413).Produces<ErrorEnvelope>(503);
        group.MapPost("/status", StatusAsync).WithSummary("Twilio outbound call status callback")
            .Produces(StatusCodes.Status204NoContent).Produces<ErrorEnvelope>(403).Produces<ErrorEnvelope>(404).Produces<ErrorEnvelope>(413).Produces<ErrorEnvelope>(503);
        return app;
    }

    private static async Task<(TwilioVoiceApi.Signed? Request, Call? Call, IResult? Error)> LoadAsync(
        string tenantId, string callId, HttpContext http, SwitchboardDbContext db, CancellationToken ct)
    {
        var (request, error) = await TwilioVoiceApi.AuthenticateAsync(tenantId, http, ct);
        if (request is null)
        {
            return (null, null, error);
        }
        var call = await CallOfAsync(request, callId, db, ct);
        return call is null ? (null, null, ApiError.NotFound("CALL_NOT_FOUND", "No such outbound call.")) : (request, call, null);
    }

    /// <summary>The outbound call <paramref name="callId"/>, tracked, with the request's <c>CallSid</c> noted on it; null when there is none.</summary>
    private static async Task<Call?> CallOfAsync(TwilioVoiceApi.Signed request, string callId, SwitchboardDbContext db, CancellationToken ct)
    {
        var call = Guid.TryParse(callId, out var id) ? await db.Calls.FirstOrDefaultAsync(c => c.Id == id && c.Direction == "outbound", ct) : null;
        if (call is not null && request["CallSid"] is { } sid)
        {
            call.CallSid ??= TolerantJson.Cap(sid, 64);
            if (call.ProviderCallId.StartsWith("outbound:", StringComparison.Ordinal))
            {
                call.ProviderCallId = TolerantJson.Cap(sid, 100)!;
            }
        }
        return call;
    }

    private static async Task<IResult> AnswerAsync(string tenantId, string callId, HttpContext http, SwitchboardDbContext db, MediaStreamTokens tokens,
        TwilioWebhookUrls urls, TimeProvider clock, CancellationToken ct)
    {
        var (request, call, error) = await LoadAsync(tenantId, callId, http, db, ct);
        if (request is null || call is null)
        {
            return error!;
        }
        string? twiml = null;
        string? answeredBy = null;
        var loaded = call;
        var saved = await TwilioVoiceApi.SaveReadingAgainAsync(http, db, async attempt =>
        {
            // Read again after a lost race (a second delivery of this request): the AMD result may have come meanwhile.
            var current = attempt == 1 ? loaded : await CallOfAsync(request, callId, db, ct);
            if (current is null)
            {
                return TwilioSave.Nothing;
            }
            await TwilioVoiceApi.AddEventAsync(db, request.Tenant.Id, current.Id, "twilio.outbound.answer", request, http, clock.GetUtcNow(), ct);
            NativeCallStatus.Advance(current, "ringing");
            current.UpdatedAt = clock.GetUtcNow();
            answeredBy = current.AnsweredBy;
            twiml = answeredBy is not null ? await TwimlForAsync(db, tokens, request.Tenant, current, answeredBy, urls.BaseFor(http.Request), ct) : null;
            return TwilioSave.Plain;
        }, ct);
        if (!saved)
        {
            return TwilioVoiceApi.SaveLost(http);
        }
        // Null: no result yet (hold the line for it), or a fax (nothing to say to it: hang up, not 40 s of held line).
        return Results.Content(twiml ?? (answeredBy is null ? Hold() : TwiML.Hangup()), TwiML.ContentType);
    }

    private static async Task<IResult> AmdAsync(string tenantId, string callId, HttpContext http, SwitchboardDbContext db, MediaStreamTokens tokens,
        TwilioWebhookUrls urls, TwilioOutboundClient twilio, TimeProvider clock, ILogger<OutboundTwilioWebhook> logger, CancellationToken ct)
    {
        var (request, call, error) = await LoadAsync(tenantId, callId, http, db, ct);
        if (request is null || call is null)
        {
            return error!;
        }
        string? twiml = null;
        Call? updated = null; // the call whose live TwiML this result changes, once saved
        var loaded = call;
        var saved = await TwilioVoiceApi.SaveReadingAgainAsync(http, db, async attempt =>
        {
            (twiml, updated) = (null, null);
            var current = attempt == 1 ? loaded : await CallOfAsync(request, callId, db, ct);
            if (current is null)
            {
                return TwilioSave.Nothing;
            }
            // A second delivery (not fresh), or a call that already has its result: recorded, nothing played again.
            var fresh = await TwilioVoiceApi.AddEventAsync(db, request.Tenant.Id, current.Id, "twilio.outbound.amd", request, http, clock.GetUtcNow(), ct);
            if (!fresh || current.AnsweredBy is not null || request["AnsweredBy"] is not { } answeredBy)
            {
                return TwilioSave.Plain;
            }
            current.AnsweredBy = TolerantJson.Cap(answeredBy, 32);
            current.UpdatedAt = clock.GetUtcNow();
            if (NativeCallStatus.IsTerminal(current.Status))
            {
                // The callee hung up while detection ran, and the status callback came first: the result is kept, but nothing is
                // left to play (an update answers 21220), and the call already ended and was analysed as it did (no "voicemail").
                return TwilioSave.Plain;
            }
            twiml = await TwimlForAsync(db, tokens, request.Tenant, current, answeredBy, urls.BaseFor(http.Request), ct);
            updated = current;
            return TwilioSave.Plain;
        }, ct);
        // Only the unit that saved this result changes the live call: a unit that lost it to a second delivery of the same
        // result does not update the call again (the callee would hear the notice twice, the bridge started twice).
        var creds = saved && updated is not null ? await http.RequestServices.GetRequiredService<CredentialStore>().GetTwilioAsync(request.Tenant.Id, ct) : null;
        if (creds is not null && updated!.CallSid is { } sid)
        {
            var result = twiml is null
                ? await twilio.HangUpAsync(creds.AccountSid, creds.AuthToken, sid, ct)
                : await twilio.UpdateTwimlAsync(creds.AccountSid, creds.AuthToken, sid, twiml, ct);
            if (result.Outcome != TwilioSendOutcome.Accepted)
            {
                // 21220: the callee hung up meanwhile. The status callback ends the call either way.
                logger.LogWarning("Could not update outbound call {CallId} after AMD {AnsweredBy}: {Error}", updated.Id, updated.AnsweredBy, result.Error);
            }
        }
        return saved ? Results.NoContent() : TwilioVoiceApi.SaveLost(http);
    }

    /// <summary>The TwiML for an AMD result: the bridge for a person, the voicemail for a machine, null (hang up) for a fax.</summary>
    private static async Task<string?> TwimlForAsync(SwitchboardDbContext db, MediaStreamTokens tokens, Tenant tenant, Call call, string answeredBy,
        string baseUrl, CancellationToken ct)
    {
        var assistant = call.AssistantId is { } aid ? await db.Assistants.AsNoTracking().FirstOrDefaultAsync(a => a.Id == aid, ct) : null;
        var language = call.Language ?? tenant.Locale;
        var voice = VoicePrompts.SayFor(language);
        if (answeredBy.StartsWith("machine", StringComparison.Ordinal))
        {
            call.EndedReason ??= "voicemail";
            var text = assistant?.VoicemailMessage ?? VoicePrompts.DefaultVoicemail(language, tenant.Name, tenant.TwilioFromNumber ?? call.BusinessNumber);
            return Write(new XElement("Response",
                new XElement("Pause", new XAttribute("length", 1)),
                TwiML.Say(text, voice),
                new XElement("Hangup")));
        }
        if (answeredBy == "fax" || assistant is null || call.CallSid is null)
        {
            call.EndedReason ??= answeredBy == "fax" ? "fax" : "no-assistant";
            return answeredBy == "fax" ? null : TwiML.Hangup();
        }
        var token = tokens.Issue(tenant.Id, call.Id, call.CallSid, assistant.Id, language);
        // Not the inbound consent notice ("you have reached…"): the callee hears who is calling and that it is automated.
        var notice = VoicePrompts.OutboundNotice(language, tenant.Name, assistant.RecordingEnabled);
        return TwiML.Connect(notice, voice, $"{TwilioWebhookUrls.ToWebSocket(baseUrl)}/media/twilio/{token}",
            [new("tenantId", tenant.Id.ToString()), new("callId", call.Id.ToString()), new("language", language), new("direction", "outbound")],
            $"{baseUrl}/webhooks/twilio/voice/{tenant.Id}/stream-ended");
    }

    /// <summary>
    /// The outbound call status callback. A status only moves forward; a terminal one ends the call, and a call never bridged
    /// (voicemail, busy, no answer, failed) goes through the <see cref="PostCallPipeline"/> here (a bridged one at its stream's
    /// end), saved with the call claimed in the same transaction (<see cref="PostCallPipeline.SaveClaimedAsync"/>), as every
    /// unit that runs a call's pipeline is: a unit that lost the claim (the closer, another delivery of this callback) or a
    /// unique-key race is read again and saves the status alone, so <c>call.ended</c> and <c>call.analyzed</c> go out once.
    /// </summary>
    private static async Task<IResult> StatusAsync(string tenantId, string callId, HttpContext http, SwitchboardDbContext db, PostCallPipeline postCall,
        Webhooks.WebhookEventPublisher webhooks, TimeProvider clock, CancellationToken ct)
    {
        var (request, call, error) = await LoadAsync(tenantId, callId, http, db, ct); // the body is read (and its signature checked) once
        if (request is null || call is null)
        {
            return error!;
        }
        var now = clock.GetUtcNow();
        var loaded = call;
        var saved = await TwilioVoiceApi.SaveReadingAgainAsync(http, db, async attempt =>
        {
            var current = attempt == 1 ? loaded : await CallOfAsync(request, callId, db, ct);
            if (current is null)
            {
                return TwilioSave.Nothing;
            }
            // Delivered again: the CallSid it carries is still bound (a plain save); the first delivery's unit stands.
            var ranPipeline = await TwilioVoiceApi.AddEventAsync(db, request.Tenant.Id, current.Id, "twilio.outbound.status", request, http, now, ct)
                && await ApplyStatusAsync(db, postCall, webhooks, request, current, now, ct);
            return ranPipeline ? TwilioSave.Claiming(current.Id) : TwilioSave.Plain;
        }, ct);
        return saved ? Results.NoContent() : TwilioVoiceApi.SaveLost(http);
    }

    /// <summary>Applies a status callback to <paramref name="call"/>; true when it ran the post-call pipeline (the save must claim the call).</summary>
    private static async Task<bool> ApplyStatusAsync(SwitchboardDbContext db, PostCallPipeline postCall, Webhooks.WebhookEventPublisher webhooks,
        TwilioVoiceApi.Signed request, Call call, DateTimeOffset now, CancellationToken ct)
    {
        var status = request["CallStatus"];
        var before = call.Status;
        if (status == "in-progress" && call.AnsweredBy is null)
        {
            // Answered, but the bridge (and so call.started) waits for the AMD result.
            status = "ringing";
        }
        NativeCallStatus.Advance(call, status);
        await webhooks.CallProgressedAsync(call, before, ct);
        call.UpdatedAt = now;
        if (!NativeCallStatus.IsTerminal(status))
        {
            return false;
        }
        call.EndedAt ??= TwilioRestClient.ParseRfc2822(request["Timestamp"]) ?? now;
        if (request.Int("CallDuration") is { } seconds)
        {
            call.DurationSeconds ??= seconds; // Twilio's own figure, also for a call another unit ended first
        }
        if (status != "completed")
        {
            call.EndedReason ??= status;
        }
        if (call.StartedAt is not null || call.Analyzed)
        {
            return false; // bridged: analysed at its stream's end; or already analysed
        }
        // Never bridged (voicemail, busy, no answer, failed): analysed here.
        var tenant = await db.Tenants.FirstAsync(t => t.Id == request.Tenant.Id, ct);
        var assistant = call.AssistantId is { } aid ? await db.Assistants.FirstOrDefaultAsync(a => a.Id == aid, ct) : null;
        call.Summary ??= call.EndedReason == "voicemail" ? "Outbound call: voicemail left." : $"Outbound call: {call.EndedReason ?? status}.";
        await postCall.RunAsync(tenant, assistant, call, null, null, null, ct, extractLead: false);
        return true;
    }

    private static string Hold() => Write(new XElement("Response", new XElement("Pause", new XAttribute("length", HoldSeconds))));

    private static string Write(XElement response) => "<?xml version=\"1.0\" encoding=\"UTF-8\"?>" + response.ToString(SaveOptions.DisableFormatting);
}

/// <summary>Log category of the outbound Twilio webhooks.</summary>
internal sealed class OutboundTwilioWebhook;
