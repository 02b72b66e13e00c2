using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Switchboard.Assistants;
using Switchboard.Billing;
using Switchboard.Calls;
using Switchboard.Credentials;
using Switchboard.Platform.Database;
using Switchboard.Platform.Http;
using Switchboard.Platform.Observability;
using Switchboard.Tenancy;

namespace Switchboard.Twilio;

/// <summary>
/// Twilio's webhooks for a tenant's numbers (shared/protocols/twilio-voice-sms.md), each checked with
/// <c>X-Twilio-Signature</c> keyed by the tenant's auth token over the URL Twilio saw (<see cref="TwilioWebhookUrls"/>):
/// <list type="bullet">
/// <item><c>POST /webhooks/twilio/voice/{tenantId}</c>: an incoming call → TwiML: consent notice when recording, then
/// <c>&lt;Connect&gt;&lt;Stream url="wss://…/media/twilio/{token}"&gt;</c>; after hours or over the concurrent-call limit,
/// the tenant's behaviour (take a message or a polite notice), never silence.</item>
/// <item><c>POST /webhooks/twilio/voice/{tenantId}/stream-ended</c>: the <c>&lt;Connect action&gt;</c>, requested when the
/// stream ends: a hang-up, or the message-taking fallback when the speech provider was unreachable.</item>
/// <item><c>POST /webhooks/twilio/voice/{tenantId}/recorded</c>: the <c>&lt;Record action&gt;</c> of a message.</item>
/// <item><c>POST /webhooks/twilio/status/{tenantId}</c>: call status callbacks; the call only moves forward.</item>
/// <item><c>POST /webhooks/twilio/recording/{tenantId}</c>: recording status callbacks (sid, URL, duration, channels).</item>
/// <item><c>POST /webhooks/twilio/sms/{tenantId}</c>: inbound SMS → the SMS log; STOP/START keywords → the do-not-call list.</item>
/// <item><c>POST /webhooks/twilio/sms-status/{tenantId}</c>: outbound SMS status callbacks; the status only moves forward.</item>
/// </list>
/// The concurrent-call limit is the plan's (<see cref="CallConcurrencyGate"/>, as for Vapi calls); recording and its consent
/// notice follow the assistant's <c>RecordingEnabled</c>.
/// Errors in the envelope: 404 unknown tenant, 403 bad signature or no Twilio credentials, 413 body over 64 KB,
/// 422 missing <c>CallSid</c>/<c>MessageSid</c>.
/// </summary>
internal static partial class TwilioVoiceApi
{
    private const int MaxBodyBytes = 64 * 1024;

    public static IEndpointRouteBuilder MapTwilioWebhooks(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/webhooks/twilio").WithTags("Webhooks").DisableAntiforgery();
        group.MapPost("/voice/{tenantId}", VoiceAsync).WithSummary("Twilio incoming call (TwiML)")
            .Produces<string>(StatusCodes.Status200OK, "text/xml").ProducesProblemEnvelopes();
        group.MapPost("/voice/{tenantId}/stream-ended", StreamEndedAsync).WithSummary("Twilio <Connect> action: after the media stream (TwiML)")
            .Produces<string>(StatusCodes.Status200OK, "text/xml").ProducesProblemEnvelopes();
        group.MapPost("/voice/{tenantId}/recorded", RecordedAsync).WithSummary("Twilio <Record> action: a message was left (TwiML)")
            .Produces<string>(StatusCodes.Status200OK, "text/xml").ProducesProblemEnvelopes();
        group.MapPost("/status/{tenantId}", StatusAsync).WithSummary("Twilio call status callback")
            .Produces(StatusCodes.Status204NoContent).ProducesProblemEnvelopes();
        group.MapPost("/recording/{tenantId}", RecordingAsync).WithSummary("Twilio recording status callback")
            .Produces(StatusCodes.Status204NoContent).ProducesProblemEnvelopes();
        MapSmsWebhooks(group); // inbound SMS and opt-out keywords, outbound SMS status callbacks (TwilioSmsWebhooks.cs)
        MapTransferWebhooks(group); // warm transfer: the agent's leg status, the whisper (TransferWebhooks.cs)
        return app;
    }

    private static RouteHandlerBuilder ProducesProblemEnvelopes(this RouteHandlerBuilder b) => b
        .Produces<ErrorEnvelope>(StatusCodes.Status403Forbidden)
        .Produces<ErrorEnvelope>(StatusCodes.Status404NotFound)
        .Produces<ErrorEnvelope>(StatusCodes.Status413PayloadTooLarge)
        .Produces<ErrorEnvelope>(StatusCodes.Status422UnprocessableEntity)
        .Produces<ErrorEnvelope>(StatusCodes.Status503ServiceUnavailable);

    /// <summary>
    /// An authenticated Twilio request: the tenant and every decoded form field, already normalised at the edge (see
    /// <see cref="TwilioFieldRules.Normalise"/>), and the names of the fields it carried that could not be used.
    /// </summary>
    internal sealed record Signed(Tenant Tenant, Dictionary<string, StringValues> Form, string RawBody, IReadOnlyList<string> Unusable)
    {
        /// <summary>
        /// The field's value; null when absent, empty, or repeated with different values (Twilio sends each of its webhook
        /// parameters once: two <c>CallSid</c>s name no call, and their comma-joined text must not become one).
        /// </summary>
        public string? this[string name] => Form.TryGetValue(name, out var v) && !StringValues.IsNullOrEmpty(v) && IsSingle(v) ? v[0] : null;

        private static bool IsSingle(StringValues values)
        {
            for (var i = 1; i < values.Count; i++)
            {
                if (!string.Equals(values[i], values[0], StringComparison.Ordinal))
                {
                    return false;
                }
            }
            return true;
        }

        /// <summary>An integer field inside its range (<see cref="TwilioFieldRules"/>); null when absent or unusable.</summary>
        public int? Int(string name) => TwilioFieldRules.ParseInt(this[name], name);
    }

    /// <summary>
    /// Tenant (404), size (413), credentials and signature (403), and an <c>AccountSid</c> other than the tenant's Twilio
    /// account (403 <c>ACCOUNT_MISMATCH</c>); sets the current tenant.
    /// </summary>
    internal static async Task<(Signed? Request, IResult? Error)> AuthenticateAsync(string tenantId, HttpContext http, CancellationToken ct)
    {
        var services = http.RequestServices;
        var db = services.GetRequiredService<SwitchboardDbContext>();
        if (!Guid.TryParse(tenantId, out var id) || await db.Tenants.AsNoTracking().FirstOrDefaultAsync(t => t.Id == id, ct) is not { } tenant)
        {
            return (null, ApiError.NotFound("TENANT_NOT_FOUND", "No such tenant."));
        }
        if (http.Request.ContentLength > MaxBodyBytes)
        {
            return (null, ApiError.TooLarge($"The body exceeds {MaxBodyBytes} bytes."));
        }
        var bytes = await ReadBodyAsync(http.Request, ct);
        if (bytes is null)
        {
            return (null, ApiError.TooLarge($"The body exceeds {MaxBodyBytes} bytes."));
        }
        var raw = Encoding.UTF8.GetString(bytes);
        var isForm = IsForm(http.Request);
        Dictionary<string, StringValues> form;
        try
        {
            form = isForm ? new FormReader(raw).ReadForm() : [];
        }
        catch (InvalidDataException)
        {
            // FormReader's limits: 1,024 fields, keys of 2,048 characters, values of 4 MB. Twilio never comes close.
            return (null, ApiError.TooLarge("The form exceeds 1,024 fields or has a key longer than 2,048 characters."));
        }
        var pairs = form.SelectMany(kv => kv.Value.Select(v => new KeyValuePair<string, string>(kv.Key, v ?? "")));
        var url = services.GetRequiredService<TwilioWebhookUrls>().RequestUrl(http.Request);
        // Auth Token + HMAC-SHA1 unless Twilio says it signed with a shared key (HMAC-SHA256): the one check every Twilio entry point uses.
        var authToken = services.GetRequiredService<SecretProtector>().Unprotect(tenant.TwilioAuthTokenProtected);
        if (await TwilioSignatureCheck.VerifyAsync(http, tenant.Id, authToken, url, pairs, "request", ct) is { } refused)
        {
            return (null, refused);
        }
        // Any other body (application/json) is signed only through its hash: Twilio adds bodySHA256, the hex SHA-256 of the
        // raw bytes, to the signed URL (twilio-signature.md §1; error 57012). Without it, or for another body, it is not Twilio's.
        if (!isForm && bytes.Length > 0 && !TwilioRequestValidator.BodyHashMatches(url, bytes))
        {
            services.GetRequiredService<SwitchboardMetrics>().SignatureRejected("twilio", "invalid");
            return (null, ApiError.Forbidden("INVALID_SIGNATURE", "The body is not the one whose bodySHA256 the request URL signs."));
        }
        // Signed with this tenant's token yet sent for another Twilio account (a subaccount signs with its own token, so this
        // is not Twilio's request for this tenant): refused before anything is read or written.
        if (form.TryGetValue("AccountSid", out var account) && tenant.TwilioAccountSid is { } own
            && (account.Count != 1 || !string.Equals(account[0], own, StringComparison.Ordinal)))
        {
            return (null, ApiError.Forbidden("ACCOUNT_MISMATCH", "AccountSid is not the Twilio account of this tenant."));
        }
        services.GetRequiredService<CurrentTenant>().Set(tenant.Id);
        var unusable = TwilioFieldRules.Normalise(form);
        if (unusable.Count > 0)
        {
            services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(TwilioVoiceApi)).LogWarning(
                "Twilio webhook for tenant {TenantId} at {Path}: unusable fields {Fields}", tenant.Id, http.Request.Path.Value, string.Join(", ", unusable));
        }
        return (new Signed(tenant, form, raw, unusable), null);
    }

    private static bool IsForm(HttpRequest request) =>
        request.ContentType?.StartsWith("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase) == true;

    private static async Task<byte[]?> ReadBodyAsync(HttpRequest request, CancellationToken ct)
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        while (true)
        {
            var read = await request.Body.ReadAsync(buffer.GetMemory(4096), ct);
            if (read == 0)
            {
                return buffer.WrittenSpan.ToArray();
            }
            buffer.Advance(read);
            if (buffer.WrittenCount > MaxBodyBytes)
            {
                return null;
            }
        }
    }

    private static IResult Xml(string twiml) => Results.Content(twiml, TwiML.ContentType);

    private static async Task<IResult> VoiceAsync(
        string tenantId, HttpContext http, SwitchboardDbContext db, MediaStreamTokens tokens, TwilioWebhookUrls urls, CallConcurrencyGate concurrency,
        TenantAccountCache accounts, IOptions<VoiceOptions> options, TimeProvider clock, ILogger<TwilioVoiceWebhook> logger, CancellationToken ct)
    {
        var (request, error) = await AuthenticateAsync(tenantId, http, ct);
        if (request is null)
        {
            return error!;
        }
        if (request["CallSid"] is not { } callSid)
        {
            return ApiError.Unprocessable("INVALID_PAYLOAD", "CallSid is required.");
        }
        var tenant = request.Tenant;
        var now = clock.GetUtcNow();
        // The plan's concurrent-call limit, counted before this call exists (a retried webhook is not counted twice).
        var known = await db.Calls.AsNoTracking().Where(c => c.Provider == NativeCallStatus.Provider && c.ProviderCallId == callSid)
            .Select(c => new { c.EndedReason }).FirstOrDefaultAsync(ct);
        var limit = known is null ? await concurrency.CanStartAsync(tenant.Id, ct) : (Allowed: known.EndedReason != "over-limit", Active: 0, Limit: 0);
        var suspended = (await accounts.GetAsync(tenant.Id, ct)).Status == "suspended";
        var twiml = "";
        // A second delivery of this webhook may create the call between this unit's read and its save:
        // the unit is then made again on that call (its id is the one the stream's token and parameters name).
        var saved = await SaveReadingAgainAsync(http, db, async _ =>
        {
            var call = await FindOrCreateCallAsync(db, tenant.Id, callSid, now, ct);
            call.CustomerNumber ??= Cap(request["From"] ?? request["Caller"], 64);
            call.BusinessNumber ??= Cap(request["To"] ?? request["Called"], 64);
            call.Type ??= request["Direction"] is { } d && d.StartsWith("outbound", StringComparison.Ordinal) ? "outboundPhoneCall" : "inboundPhoneCall";
            NativeCallStatus.Advance(call, request["CallStatus"]);
            call.UpdatedAt = now;
            await AddEventAsync(db, tenant.Id, call.Id, "twilio.voice", request, http, now, ct);

            var assistant = await db.Assistants.OrderByDescending(a => a.IsDefault).ThenBy(a => a.CreatedAt).FirstOrDefaultAsync(ct);
            var languages = (assistant?.Languages ?? []).Append(tenant.Locale).ToList();
            var language = call.Language ?? VoicePrompts.Choose(languages, call.CustomerNumber, request["FromCountry"], request["FromState"]);
            call.Language = language;
            call.AssistantId ??= assistant?.Id;
            var voice = VoicePrompts.SayFor(language);
            var baseUrl = urls.BaseFor(http.Request);

            if (assistant is null || suspended)
            {
                call.EndedReason ??= suspended ? "tenant-suspended" : "no-assistant";
                twiml = TwiML.SayAndHangup(VoicePrompts.Polite(language, tenant.Name, VoiceNoticeReason.Unavailable), voice);
            }
            else if (tenant.VoiceAfterHours != VoiceBehaviour.Answer && !BusinessHoursCalculator.IsOpen(tenant.BusinessHours, tenant.TimeZone, now))
            {
                call.EndedReason ??= "after-hours";
                twiml = NotAnswered(tenant, tenant.VoiceAfterHours, VoiceNoticeReason.AfterHours, language, voice, baseUrl, options.Value);
            }
            else if (!limit.Allowed)
            {
                call.EndedReason ??= "over-limit";
                logger.LogWarning("Tenant {TenantId} is at its plan's limit of {Limit} concurrent calls: call {CallSid} gets the over-limit behaviour",
                    tenant.Id, limit.Limit, callSid);
                twiml = NotAnswered(tenant, tenant.VoiceOverLimit, VoiceNoticeReason.Busy, language, voice, baseUrl, options.Value);
            }
            else
            {
                var token = tokens.Issue(tenant.Id, call.Id, callSid, assistant.Id, language);
                var streamUrl = $"{TwilioWebhookUrls.ToWebSocket(baseUrl)}/media/twilio/{token}";
                var consent = assistant.RecordingEnabled ? VoicePrompts.ConsentNotices(assistant.Languages, language, tenant.Name) : [];
                twiml = TwiML.Connect(consent, streamUrl,
                    [new("tenantId", tenant.Id.ToString()), new("callId", call.Id.ToString()), new("language", language)],
                    $"{baseUrl}/webhooks/twilio/voice/{tenant.Id}/stream-ended");
            }
            return TwilioSave.Plain;
        }, ct);
        return saved ? Xml(twiml) : SaveLost(http);
    }

    private static string NotAnswered(Tenant tenant, string behaviour, VoiceNoticeReason reason, string language, SayVoice voice, string baseUrl, VoiceOptions options) =>
        behaviour == VoiceBehaviour.Polite
            ? TwiML.SayAndHangup(VoicePrompts.Polite(language, tenant.Name, reason), voice)
            : TakeMessage(tenant, reason, language, voice, baseUrl, options);

    private static string TakeMessage(Tenant tenant, VoiceNoticeReason reason, string language, SayVoice voice, string baseUrl, VoiceOptions options) =>
        TwiML.TakeMessage(VoicePrompts.TakeMessage(language, tenant.Name, reason), voice,
            $"{baseUrl}/webhooks/twilio/voice/{tenant.Id}/recorded", $"{baseUrl}/webhooks/twilio/recording/{tenant.Id}",
            options.MessageMaxSeconds, VoicePrompts.Thanks(language));

    private static async Task<IResult> StreamEndedAsync(
        string tenantId, HttpContext http, SwitchboardDbContext db, TwilioWebhookUrls urls, IOptions<VoiceOptions> options, TimeProvider clock, CancellationToken ct)
    {
        var (request, error) = await AuthenticateAsync(tenantId, http, ct);
        if (request is null)
        {
            return error!;
        }
        var callSid = request["CallSid"];
        string? language = null; // set when the call takes a message
        // Only the call's reason is written (no row inserted, so no unique key to race): the one helper all the same.
        var saved = await SaveReadingAgainAsync(http, db, async _ =>
        {
            var call = callSid is null ? null : await db.Calls.FirstOrDefaultAsync(c => c.Provider == NativeCallStatus.Provider && c.ProviderCallId == callSid, ct);
            // The bridge never started (socket refused, node lost) or the speech provider was unreachable: take a message.
            if (call is null || !(call.EndedReason is NativeCallStatus.ProviderUnreachable || (call.StartedAt is null && call.EndedReason is null)))
            {
                language = null;
                return TwilioSave.Nothing;
            }
            call.EndedReason ??= StreamFailedReason;
            call.UpdatedAt = clock.GetUtcNow();
            language = call.Language ?? request.Tenant.Locale;
            return TwilioSave.Plain;
        }, ct);
        if (!saved)
        {
            return SaveLost(http);
        }
        if (language is null)
        {
            return Xml(TwiML.Hangup());
        }
        return Xml(TakeMessage(request.Tenant, VoiceNoticeReason.Unavailable, language, VoicePrompts.SayFor(language), urls.BaseFor(http.Request), options.Value));
    }

    /// <summary>
    /// The <c>&lt;Record action&gt;</c>: the message's recording is stored on the call and, the first time, the call goes through
    /// the <see cref="PostCallPipeline"/> (a message is a lead: the caller's number and where to listen). The pipeline's lead,
    /// alerts and events are saved only if this unit claims the call (<see cref="PostCallPipeline.SaveClaimedAsync"/>), as the
    /// stream's end, the status callback and <see cref="NativeCallCloser"/> do: a recording delivered twice (Twilio retries a
    /// request that timed out) or after another unit ran the pipeline (the closer, on any node) then adds the recording alone.
    /// A unit that lost a unique-key race (the recording status callback inserting the same <c>RecordingSid</c>, another unit
    /// publishing an event of the call) is read and made again rather than dropped, so the message is never lost.
    /// </summary>
    /// <remarks>
    /// Always answered with the thank-you TwiML (200), never a 500: Twilio does not retry an action URL that failed, it speaks
    /// its "application error" to the caller (twilio-voice-sms.md, TwiML verbs). When the pipeline's unit lost such a race on
    /// each of its <see cref="RecordedPipelineAttempts"/> attempts, the recording is saved alone and the call left not analyzed,
    /// with <see cref="NativeCallCloseHandler"/> queued (due <see cref="VoiceOptions.StaleCallMinutes"/> later): the closer then
    /// runs the pipeline once, claimed, and makes the message's lead from the recording as this handler would have. Lost on
    /// every attempt, even alone (logged as an error), it still thanks the caller rather than answer <see cref="SaveLost"/>:
    /// the caller would hear Twilio's "application error" after leaving the message, and the same recording reaches the
    /// recording status callback, whose lost save is answered 503.
    /// </remarks>
    private static async Task<IResult> RecordedAsync(
        string tenantId, HttpContext http, SwitchboardDbContext db, PostCallPipeline postCall, IOptions<VoiceOptions> options,
        TimeProvider clock, ILogger<TwilioVoiceWebhook> logger, CancellationToken ct)
    {
        var (request, error) = await AuthenticateAsync(tenantId, http, ct);
        if (request is null)
        {
            return error!;
        }
        var now = clock.GetUtcNow();
        var callSid = request["CallSid"];
        var language = request.Tenant.Locale;
        await SaveReadingAgainAsync(http, db, async attempt =>
        {
            var call = callSid is null ? null : await db.Calls.FirstOrDefaultAsync(c => c.Provider == NativeCallStatus.Provider && c.ProviderCallId == callSid, ct);
            language = call?.Language ?? request.Tenant.Locale;
            if (call is null || request["RecordingSid"] is not { } sid)
            {
                return TwilioSave.Nothing;
            }
            var recording = await UpsertRecordingAsync(db, request.Tenant.Id, call, sid, now, ct);
            recording.Url ??= Cap(request["RecordingUrl"], 500);
            recording.DurationSeconds ??= request.Int("RecordingDuration");
            recording.Source ??= RecordVerbSource;
            recording.Channels ??= 1;
            call.RecordingUrl ??= recording.Url;
            call.UpdatedAt = now;
            if (call.Analyzed || attempt > RecordedPipelineAttempts)
            {
                // Another unit ran the pipeline (its lead, alerts and events stand: the recording is added on the call as it
                // is now), or this one lost a race on each of its pipeline's attempts: the recording alone.
                if (!call.Analyzed)
                {
                    logger.LogWarning("The message of call {CallSid} lost a race on each save of its pipeline; its recording is saved alone", callSid);
                    await NativeCallCloseHandler.QueueAsync(db, call, now, now.AddMinutes(options.Value.StaleCallMinutes), ct);
                }
                return TwilioSave.Plain;
            }
            // A message is a lead: the caller's number, and where to listen to what they said.
            call.Summary ??= VoicemailSummary(recording);
            var assistant = call.AssistantId is { } aid ? await db.Assistants.FirstOrDefaultAsync(a => a.Id == aid, ct) : null;
            var tenant = await db.Tenants.FirstAsync(t => t.Id == request.Tenant.Id, ct);
            await postCall.RunAsync(tenant, assistant, call, null, null, null, ct);
            return TwilioSave.Claiming(call.Id);
        }, ct, RecordedPipelineAttempts + RecordingAloneAttempts);
        return Xml(TwiML.SayAndHangup(VoicePrompts.Thanks(language), VoicePrompts.SayFor(language)));
    }

    /// <summary>Attempts of the <c>&lt;Record action&gt;</c> to save its message with the pipeline's lead, alerts and events.</summary>
    internal const int RecordedPipelineAttempts = 3;

    /// <summary>Further attempts to save the message's recording alone once the pipeline's are spent (or another unit ran it).</summary>
    private const int RecordingAloneAttempts = 3;

    /// <summary><c>Source</c> of the recording of a message left after a <c>&lt;Record&gt;</c> (Twilio's Recording source enum).</summary>
    internal const string RecordVerbSource = "RecordVerb";

    /// <summary>The summary of a call whose message was recorded: its length (seconds) and where to listen.</summary>
    internal static string VoicemailSummary(CallRecording recording) => $"Voicemail ({recording.DurationSeconds ?? 0} s): {recording.Url}";

    /// <summary>
    /// The call status callback. A status only moves forward; a terminal one ends the call. A call never bridged (busy,
    /// unanswered, a notice) has its end published here, <c>call.ended</c> and <c>call.analyzed</c>, with the call claimed in
    /// the same transaction (<see cref="PostCallPipeline.SaveClaimedAsync"/>), as every unit that publishes a call's end does:
    /// a unit that lost the claim (the <c>&lt;Record action&gt;</c>, the closer) is read again and saves the status alone.
    /// A call taking a message (after hours or over the limit with the <see cref="VoiceBehaviour.Message"/> behaviour, or a
    /// stream that failed) is left to its <c>&lt;Record action&gt;</c>, whose end carries the message's lead and recording;
    /// <see cref="NativeCallCloseHandler"/> is queued in case none comes (the caller hung up before the tone).
    /// <para>
    /// A callback for a <c>CallSid</c> this tenant has no call for creates none: Twilio sends status callbacks only for calls
    /// its account made or received (twilio.com/docs/voice/api/call-resource#statuscallback), and this tenant's calls are created
    /// by its voice webhook, which comes first. Such a callback (another tenant's call whose number points its callbacks here,
    /// an account shared by two tenants, a replay) used to create a call of its own here, listed and, before a terminal status,
    /// counted as live for good. It is now kept as an event of no call (<c>twilio.status</c>, <see cref="CallEvent.CallId"/>
    /// null: what Twilio sent is not lost), logged as a warning, and answered 204 so Twilio does not retry it. It never reaches
    /// another tenant's call: calls are read through the current tenant's filter.
    /// </para>
    /// </summary>
    private static async Task<IResult> StatusAsync(
        string tenantId, HttpContext http, SwitchboardDbContext db, Webhooks.WebhookEventPublisher webhooks, IOptions<VoiceOptions> options,
        TimeProvider clock, ILogger<TwilioVoiceWebhook> logger, CancellationToken ct)
    {
        var (request, error) = await AuthenticateAsync(tenantId, http, ct);
        if (request is null)
        {
            return error!;
        }
        if (request["CallSid"] is not { } callSid)
        {
            return ApiError.Unprocessable("INVALID_PAYLOAD", "CallSid is required.");
        }
        var now = clock.GetUtcNow();
        var unknown = false;
        var saved = await SaveReadingAgainAsync(http, db, async _ =>
        {
            var call = await FindCallAsync(db, callSid, ct);
            unknown = call is null;
            if (!await AddEventAsync(db, request.Tenant.Id, call?.Id, "twilio.status", request, http, now, ct))
            {
                return TwilioSave.Nothing; // delivered again: the first delivery's unit stands
            }
            if (call is null)
            {
                return TwilioSave.Plain; // a CallSid this tenant never saw: its event alone (see above)
            }
            var ends = await ApplyStatusAsync(db, webhooks, request, call, options.Value, now, ct);
            return ends ? TwilioSave.Claiming(call.Id) : TwilioSave.Plain;
        }, ct);
        if (saved && unknown)
        {
            logger.LogWarning("Twilio status callback for tenant {TenantId}: no call of this tenant has CallSid {CallSid} (CallStatus {CallStatus}); kept as an event, no call created",
                request.Tenant.Id, Cap(callSid, 64), Cap(request["CallStatus"], 32));
        }
        return saved ? Results.NoContent() : SaveLost(http);
    }

    /// <summary>Applies a status callback to <paramref name="call"/>; true when it published the call's end (the save must claim the call).</summary>
    private static async Task<bool> ApplyStatusAsync(
        SwitchboardDbContext db, Webhooks.WebhookEventPublisher webhooks, Signed request, Call call, VoiceOptions options, DateTimeOffset now, CancellationToken ct)
    {
        var status = request["CallStatus"];
        call.CustomerNumber ??= Cap(request["From"], 64);
        call.BusinessNumber ??= Cap(request["To"], 64);
        call.UpdatedAt = now;
        var statusBefore = call.Status;
        NativeCallStatus.Advance(call, status);
        await webhooks.CallProgressedAsync(call, statusBefore, ct); // call.started
        if (!NativeCallStatus.IsTerminal(status))
        {
            return false;
        }
        call.EndedAt ??= TwilioRestClient.ParseRfc2822(request["Timestamp"]) ?? now;
        if (request.Int("CallDuration") is { } seconds)
        {
            call.DurationSeconds ??= seconds;
        }
        // Only the terminal status the call holds is its reason: a later, different one ("canceled" after "completed",
        // a callback retried out of order) does not move the status, so it must not contradict it either.
        if (status != "completed" && call.Status == status)
        {
            call.EndedReason ??= status;
        }
        // Never bridged (busy, unanswered, after-hours notice): its end is published here; a bridged call's at the stream's
        // end. So is a call whose stream was accepted (its token used, cluster-wide: StreamTokenLedger) but whose start is not
        // saved yet: its bridge finishes it (VoiceCallStore.FinishAsync, started or not), with its summary and lead; published
        // here, call.ended and call.analyzed went out empty first, and the bridge's, keyed the same, never. A bridge whose
        // node died never finishes it: NativeCallCloser runs its pipeline once the grace has passed (a bridged call), or
        // NativeCallCloseHandler does (a socket accepted whose start was never saved: no StartedAt, nothing else marks it).
        // A call taking a message is the <Record action>'s to end, for the same reason; the handler again if none comes.
        if (call.StartedAt is not null || call.Analyzed)
        {
            return false;
        }
        if (TakesMessage(call, request.Tenant) || await db.StreamTokenUses.AnyAsync(u => u.CallId == call.Id, ct))
        {
            await NativeCallCloseHandler.QueueAsync(db, call, now, now.AddMinutes(options.StaleCallMinutes), ct);
            return false;
        }
        await webhooks.CallEndedAsync(call, ct);
        call.Analyzed = true; // its end is published: claimed in the save, so no other unit publishes it again
        return true;
    }

    /// <summary>
    /// Whether the TwiML answered to <paramref name="call"/> took a message (<c>&lt;Record&gt;</c>): after hours or over the limit
    /// with the tenant's <see cref="VoiceBehaviour.Message"/> behaviour, or a stream that failed (the <c>&lt;Connect action&gt;</c>).
    /// </summary>
    private static bool TakesMessage(Call call, Tenant tenant) => call.EndedReason switch
    {
        "after-hours" => tenant.VoiceAfterHours == VoiceBehaviour.Message,
        "over-limit" => tenant.VoiceOverLimit == VoiceBehaviour.Message,
        StreamFailedReason or NativeCallStatus.ProviderUnreachable => true,
        _ => false,
    };

    /// <summary><c>EndedReason</c> of a call whose stream never started (the <c>&lt;Connect action&gt;</c> then takes a message).</summary>
    internal const string StreamFailedReason = "stream-failed";

    private static async Task<IResult> RecordingAsync(string tenantId, HttpContext http, SwitchboardDbContext db, TimeProvider clock, CancellationToken ct)
    {
        var (request, error) = await AuthenticateAsync(tenantId, http, ct);
        if (request is null)
        {
            return error!;
        }
        if (request["RecordingSid"] is not { } sid)
        {
            return ApiError.Unprocessable("INVALID_PAYLOAD", "RecordingSid is required.");
        }
        var now = clock.GetUtcNow();
        var callSid = request["CallSid"];
        // The <Record action> of a message inserts the same RecordingSid (the two come together): the unit is then made
        // again on its row, so the status, channels and source Twilio sent here are kept.
        var saved = await SaveReadingAgainAsync(http, db, async _ =>
        {
            var call = callSid is null ? null : await db.Calls.FirstOrDefaultAsync(c => c.Provider == NativeCallStatus.Provider && c.ProviderCallId == callSid, ct);
            var recording = await UpsertRecordingAsync(db, request.Tenant.Id, call, sid, now, ct);
            recording.CallSid ??= Cap(callSid, 64);
            var status = request["RecordingStatus"];
            // Statuses only move forward: a late in-progress callback does not undo completed.
            if (status is not null && (recording.Status is not ("completed" or "absent" or "failed") || status is "completed" or "absent" or "failed"))
            {
                recording.Status = Cap(status, 16)!;
            }
            recording.Url = Cap(request["RecordingUrl"], 500) ?? recording.Url;
            recording.DurationSeconds = request.Int("RecordingDuration") ?? recording.DurationSeconds;
            recording.Channels = request.Int("RecordingChannels") ?? recording.Channels;
            recording.Source = Cap(request["RecordingSource"], 64) ?? recording.Source;
            recording.Track = Cap(request["RecordingTrack"], 16) ?? recording.Track;
            recording.ErrorCode = request["ErrorCode"] is { } code && code != "0" ? Cap(code, 32) : recording.ErrorCode;
            recording.UpdatedAt = now;
            if (call is not null && recording.Status == "completed" && recording.Url is { } url)
            {
                if (recording.Channels == 2)
                {
                    call.StereoRecordingUrl = url;
                }
                else
                {
                    call.RecordingUrl ??= url;
                }
                call.UpdatedAt = now;
            }
            await AddEventAsync(db, request.Tenant.Id, call?.Id, "twilio.recording", request, http, now, ct);
            return TwilioSave.Plain;
        }, ct);
        return saved ? Results.NoContent() : SaveLost(http);
    }

    /// <summary>The current tenant's native call whose <c>CallSid</c> is <paramref name="callSid"/> (tracked), or null.</summary>
    private static Task<Call?> FindCallAsync(SwitchboardDbContext db, string callSid, CancellationToken ct) =>
        db.Calls.FirstOrDefaultAsync(c => c.Provider == NativeCallStatus.Provider && c.ProviderCallId == callSid, ct);

    private static async Task<Call> FindOrCreateCallAsync(SwitchboardDbContext db, Guid tenantId, string callSid, DateTimeOffset now, CancellationToken ct)
    {
        var call = await FindCallAsync(db, callSid, ct);
        if (call is not null)
        {
            return call;
        }
        call = new Call
        {
            Id = Guid.CreateVersion7(),
            TenantId = tenantId,
            Channel = "voice",
            Provider = NativeCallStatus.Provider,
            ProviderCallId = Cap(callSid, 100)!,
            CallSid = Cap(callSid, 64),
            CreatedAt = now,
            UpdatedAt = now,
        };
        db.Calls.Add(call);
        return call;
    }

    private static async Task<CallRecording> UpsertRecordingAsync(SwitchboardDbContext db, Guid tenantId, Call? call, string sid, DateTimeOffset now, CancellationToken ct)
    {
        var recording = db.CallRecordings.Local.FirstOrDefault(r => r.RecordingSid == sid)
            ?? await db.CallRecordings.FirstOrDefaultAsync(r => r.RecordingSid == sid, ct);
        if (recording is null)
        {
            recording = new CallRecording
            {
                Id = Guid.CreateVersion7(), TenantId = tenantId, CallId = call?.Id, RecordingSid = Cap(sid, 64)!, CallSid = call?.CallSid,
                Status = "in-progress", CreatedAt = now, UpdatedAt = now,
            };
            db.CallRecordings.Add(recording);
        }
        recording.CallId ??= call?.Id;
        return recording;
    }

    /// <summary>Stores the raw request once; false when the same request was already received (a Twilio retry).</summary>
    internal static async Task<bool> AddEventAsync(
        SwitchboardDbContext db, Guid tenantId, Guid? callId, string type, Signed request, HttpContext http, DateTimeOffset now, CancellationToken ct)
    {
        var rawBody = request.RawBody;
        var key = "twilio:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(http.Request.Path.Value + "\n" + rawBody)));
        if (db.CallEvents.Local.Any(e => e.IdempotencyKey == key) || await db.CallEvents.AnyAsync(e => e.IdempotencyKey == key, ct))
        {
            return false;
        }
        db.CallEvents.Add(new CallEvent
        {
            Id = Guid.CreateVersion7(), TenantId = tenantId, CallId = callId, Provider = NativeCallStatus.Provider, Type = type,
            IdempotencyKey = key, PayloadJson = System.Text.Json.JsonSerializer.Serialize(rawBody), ReceivedAt = now,
            UnusableFields = request.Unusable.Count == 0 ? null : System.Text.Json.JsonSerializer.Serialize(request.Unusable),
        });
        return true;
    }

    private static string? Cap(string? s, int max) => TolerantJson.Cap(s, max);

}

/// <summary>Log category of the Twilio voice webhook.</summary>
internal sealed class TwilioVoiceWebhook;

/// <summary>
/// Status of a native call (<c>Provider = "twilio"</c>, <c>ProviderCallId = CallSid</c>) from Twilio's CallStatus values
/// (twilio-voice-sms.md §1): queued/initiated → ringing → in-progress → completed | busy | no-answer | failed | canceled.
/// A status only moves forward; once terminal it stays.
/// </summary>
internal static class NativeCallStatus
{
    public const string Provider = "twilio";

    /// <summary><c>EndedReason</c> of a call whose speech provider could not be reached.</summary>
    public const string ProviderUnreachable = "provider-unreachable";

    public static int Rank(string? status) => status switch
    {
        "queued" or "initiated" => 0,
        "ringing" => 1,
        "in-progress" => 2,
        "completed" or "busy" or "no-answer" or "failed" or "canceled" or "ended" => 4,
        _ => -1,
    };

    public static bool IsTerminal(string? status) => Rank(status) == 4;

    public static void Advance(Call call, string? status)
    {
        if (status is not null && Rank(status) > Rank(call.Status))
        {
            call.Status = status;
        }
    }
}
