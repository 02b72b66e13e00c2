using Microsoft.EntityFrameworkCore;
using Switchboard.Calls;
using Switchboard.Platform.Database;
using Switchboard.Platform.Http;

namespace Switchboard.Twilio;

/// <summary>
/// How <see cref="TwilioVoiceApi.SaveReadingAgainAsync"/> ends one attempt of a Twilio handler's unit of work: nothing to
/// write (<see cref="Nothing"/>), a plain save (<see cref="Plain"/>), or a save that claims the call because the unit ran its
/// post-call pipeline or published its end (<see cref="Claiming"/>, <see cref="PostCallPipeline.SaveClaimedAsync"/>).
/// </summary>
internal readonly record struct TwilioSave(bool Skip, Guid? ClaimedCallId)
{
    /// <summary>The unit has nothing to write (no call, an unknown sid): it ends without a save.</summary>
    public static TwilioSave Nothing => new(true, null);

    /// <summary>The unit is saved as it is (<see cref="TwilioVoiceApi.SaveAsync"/>).</summary>
    public static TwilioSave Plain => new(false, null);

    /// <summary>The unit is saved only if it claims the call <paramref name="callId"/> (<see cref="TwilioVoiceApi.TrySaveClaimedAsync"/>).</summary>
    public static TwilioSave Claiming(Guid callId) => new(false, callId);
}

internal static partial class TwilioVoiceApi
{
    /// <summary>Attempts of a Twilio handler to save its unit of work (<see cref="SaveReadingAgainAsync"/>).</summary>
    internal const int SaveAttempts = 3;

    /// <summary>
    /// Runs a Twilio handler's unit of work and saves it; when the save is lost, reads again and runs the unit again, up to
    /// <paramref name="attempts"/> times. <paramref name="unit"/> gets the attempt (1-based), reads what it changes (tracked:
    /// the call, the recording, the raw callback's record through <see cref="AddEventAsync"/>), makes its changes, and says how
    /// its save ends (<see cref="TwilioSave"/>). A save is lost when another unit committed first a row this one also inserts
    /// (a concurrent delivery of the same callback, the status callback or the voice webhook creating the same call, the
    /// <c>&lt;Record action&gt;</c> and the recording status callback inserting the same <c>RecordingSid</c>, an event of the
    /// call) or claimed the call first (<see cref="PostCallPipeline.SaveClaimedAsync"/>): the unit is reset
    /// (<see cref="SwitchboardDbContext.ResetUnitOfWork"/>) and made again on what is stored now, so what Twilio sent is kept
    /// and what the other unit made (the call, its lead, its end) is not made a second time.
    /// </summary>
    /// <returns>True once an attempt was saved or had nothing to save; false when every attempt was lost (logged as an error;
    /// nothing of this unit is saved then): the handler answers <see cref="SaveLost"/>, never as if it had been saved.</returns>
    /// <remarks>
    /// A unit must be idempotent on what it reads: a retried attempt finds the other unit's rows (its call, its recording, the
    /// callback's record when the other unit was a second delivery) and adds to them. SQLite's busy errors are retried inside
    /// the save (<see cref="SqliteBusyRetry"/>) and are not a lost race.
    /// </remarks>
    internal static async Task<bool> SaveReadingAgainAsync(
        HttpContext http, SwitchboardDbContext db, Func<int, Task<TwilioSave>> unit, CancellationToken ct, int attempts = SaveAttempts)
    {
        for (var attempt = 1; attempt <= attempts; attempt++)
        {
            var save = await unit(attempt);
            if (save.Skip)
            {
                return true;
            }
            if (save.ClaimedCallId is { } callId
                ? await TrySaveClaimedAsync(db, http.RequestServices.GetRequiredService<SqliteWriteGate>(), callId, ct)
                : await SaveAsync(http, db, ct))
            {
                return true;
            }
            db.ResetUnitOfWork(); // another unit inserted a row this one also adds, or claimed the call, since this one read it
        }
        http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(TwilioVoiceApi)).LogError(
            "Twilio webhook at {Path}: its save lost a race on each of {Attempts} attempts; nothing of it was saved, Twilio is answered 503",
            http.Request.Path.Value, attempts);
        return false;
    }

    /// <summary>Seconds a Twilio request whose every save was lost is told to wait before it is sent again (<c>Retry-After</c>).</summary>
    internal const int SaveLostRetryAfterSeconds = 1;

    /// <summary>
    /// The answer to a Twilio request whose unit lost its save on every attempt (<see cref="SaveReadingAgainAsync"/> returned
    /// false): <c>503</c> with <c>Retry-After</c> and the error envelope (<c>SAVE_CONFLICT</c>), never the TwiML or the 204 of a
    /// request that was saved. Nothing of the request was kept, so it is not acknowledged: on a voice webhook (the incoming
    /// call, an outbound call's answer, the <c>&lt;Connect action&gt;</c>) and an inbound SMS Twilio then requests the number's
    /// fallback URL (its "application error" message without one) rather than bridge a call that was never stored; a status
    /// callback is not retried by Twilio, but the failure stays visible in its debugger (error 11200) and in this host's error
    /// log, instead of a 204 for a status that was dropped (twilio-voice-sms.md §2; twilio.com/docs/usage/webhooks/webhooks-connection-overrides).
    /// </summary>
    internal static IResult SaveLost(HttpContext http)
    {
        http.Response.Headers.RetryAfter = SaveLostRetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return ApiError.Create(StatusCodes.Status503ServiceUnavailable, "SAVE_CONFLICT",
            "Another request changed this call while this one was saved, on every attempt; nothing of it was kept. Send it again.");
    }

    /// <summary>
    /// <see cref="PostCallPipeline.SaveClaimedAsync"/> (again when SQLite was busy); false when another unit claimed the call
    /// first or the save lost a unique-key race: the caller resets its unit and reads again.
    /// </summary>
    internal static async Task<bool> TrySaveClaimedAsync(SwitchboardDbContext db, SqliteWriteGate writes, Guid callId, CancellationToken ct)
    {
        try
        {
            return await SqliteBusyRetry.RunAsync(() => PostCallPipeline.SaveClaimedAsync(db, writes, callId, ct), ct);
        }
        catch (DbUpdateException e) when (!SqliteBusyRetry.IsBusy(e))
        {
            return false;
        }
    }

    /// <summary>
    /// Saves (again when SQLite was busy); a unique-key race with a concurrent delivery of the same callback leaves the
    /// first one's row. Returns false when the save was lost to such a race (the unit is cleared then, nothing written):
    /// handlers save through <see cref="SaveReadingAgainAsync"/>, which reads again and makes the unit again.
    /// </summary>
    internal static async Task<bool> SaveAsync(HttpContext http, SwitchboardDbContext db, CancellationToken ct)
    {
        try
        {
            using var turn = await http.RequestServices.GetRequiredService<SqliteWriteGate>().EnterAsync(db, ct);
            await SqliteBusyRetry.RunAsync(() => db.SaveChangesAsync(ct), ct);
            return true;
        }
        catch (DbUpdateException e) when (!SqliteBusyRetry.IsBusy(e))
        {
            db.ChangeTracker.Clear();
            return false;
        }
    }
}
