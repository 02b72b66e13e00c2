using System.Globalization;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Switchboard.Assistants;
using Switchboard.Calls;
using Switchboard.Platform;
using Switchboard.Platform.Database;
using Switchboard.Tenancy;

namespace Switchboard.Outbound;

/// <summary>
/// Automatic callbacks (per assistant, <see cref="Assistant.AutoCallbackMinutes"/>; off by default): an inbound phone
/// call shorter than <see cref="ShortCallSeconds"/> that left no lead is called back after that many minutes, or at the
/// next moment both the tenant's business hours and the callee's legal window allow (e.g. a hang-up at 22:00 in Montréal
/// → 9:00 next morning). At most one callback per number per callee-local day: the outbox message's dedupe key is
/// <c>callback:{tenant}:{number}:{date}</c>, and the outbox (a database table) carries it across restarts. The callback
/// knows why it calls: its context variables say the caller hung up without leaving details, and when.
/// </summary>
internal sealed class AutoCallbacks(SwitchboardDbContext db, OutboundCalls outbound, IOptions<PublicUrlOptions> publicUrl, TimeProvider clock,
    ILogger<AutoCallbacks> logger)
{
    /// <summary>A call shorter than this (seconds) with no lead is one to call back.</summary>
    public const int ShortCallSeconds = 60;

    /// <summary>Queues the callback when <paramref name="call"/> qualifies (rows added to the caller's unit of work).</summary>
    public async Task ScheduleIfDueAsync(Tenant tenant, Assistant? assistant, Call call, Lead? lead, CancellationToken ct)
    {
        if (assistant?.AutoCallbackMinutes is not { } minutes || minutes <= 0 || lead is not null || call.Direction != "inbound" || call.Channel != CallChannels.Voice
            || call.DurationSeconds is >= ShortCallSeconds
            || Platform.Phones.Phones.SettingsNumberToE164(call.CustomerNumber, Platform.Phones.Phones.RegionOf(tenant.Locale)) is not { } e164)
        {
            return;
        }
        var now = clock.GetUtcNow();
        var at = now.AddMinutes(minutes);
        var window = CallingWindows.Check(e164, tenant.TimeZone, tenant.BusinessHours, at);
        if (!window.Allowed)
        {
            if (window.NextAllowedAt is not { } next)
            {
                return;
            }
            at = next;
        }
        var localDate = TimeZoneInfo.ConvertTime(at, BusinessHoursCalculator.Zone(window.TimeZone)).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var key = $"callback:{tenant.Id:N}:{e164}:{localDate}";
        if (db.Outbox.Local.Any(o => o.DedupeKey == key) || await db.Outbox.AnyAsync(o => o.Kind == OutboundPlaceHandler.Kind && o.DedupeKey == key, ct))
        {
            return; // already called back (or to be) that day
        }
        var localEnd = TimeZoneInfo.ConvertTime(call.EndedAt ?? now, BusinessHoursCalculator.Zone(tenant.TimeZone));
        var reason = VoicePromptsLanguage(call.Language ?? tenant.Locale) == "fr"
            ? $"Rappel automatique : la personne a appelé le {localEnd:yyyy-MM-dd} à {localEnd:HH:mm} et a raccroché sans laisser ses coordonnées. Demandez-lui comment vous pouvez l'aider."
            : $"Automatic callback: this person called on {localEnd:yyyy-MM-dd} at {localEnd:HH:mm} and hung up without leaving details. Ask how you can help.";
        var variables = new Dictionary<string, string> { ["reason"] = reason, ["callbackOf"] = call.Id.ToString() };
        var (queued, refused) = await outbound.QueueAsync(tenant, new OutboundCallPlan(e164, assistant, variables, at, "callback"), publicUrl.Value.PublicBaseUrl, ct, key);
        if (queued is not null)
        {
            logger.LogInformation("Callback of call {CallId} queued for {At}", call.Id, at);
        }
        else
        {
            logger.LogInformation("No callback of call {CallId}: {Reason}", call.Id, refused?.Reason);
        }
    }

    private static string VoicePromptsLanguage(string tag) => Twilio.VoicePrompts.PrimaryOf(tag);
}
