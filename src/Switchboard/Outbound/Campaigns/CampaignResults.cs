using Microsoft.EntityFrameworkCore;
using Switchboard.Calls;
using Switchboard.Dashboard;
using Switchboard.Platform.Database;

namespace Switchboard.Outbound.Campaigns;

/// <summary>A campaign's contacts per state (<see cref="ContactStates"/>) and in all.</summary>
public sealed record CampaignCounts(int Total, int Pending, int Queued, int Calling, int Done, int Failed, int Refused, int Skipped);

/// <summary>Data of <c>campaign.status</c>: the campaign's status (draft, scheduled, running, paused, completed, canceled) and counts.</summary>
public sealed record CampaignStatusEventData(Guid CampaignId, string Status, CampaignCounts Counts);

/// <summary>Data of <c>contact.queued</c>: a call was queued for the contact (its <c>attempt</c>-th), to be placed at <c>placeAt</c> (UTC).</summary>
public sealed record ContactQueuedEventData(Guid CampaignId, Guid ContactId, string Number, int Attempt, Guid CallId, DateTimeOffset PlaceAt, CampaignCounts Counts);

/// <summary>
/// Data of <c>contact.result</c>: the contact's new state and result (answered-human, voicemail, busy, no-answer, failed,
/// dnc, no-consent, invalid, no-window, canceled); <c>nextAttemptAt</c> (UTC) when a retry is due.
/// </summary>
public sealed record ContactResultEventData(Guid CampaignId, Guid ContactId, string Number, string State, string? Result, int Attempts,
    DateTimeOffset? NextAttemptAt, CampaignCounts Counts);

/// <summary>
/// The SSE event names of a campaign's progress (<c>GET /api/v1/campaigns/{id}/events</c>; also on the tenant's
/// <c>GET /api/v1/events</c>, as they travel through the same live-event hub).
/// </summary>
internal static class CampaignEventTypes
{
    public const string ContactQueued = "contact.queued";
    public const string ContactResult = "contact.result";
    public const string CampaignStatus = "campaign.status";

    public static bool IsCampaignEvent(string type) => type is ContactQueued or ContactResult or CampaignStatus;
}

/// <summary>
/// What a finished campaign call means for its contact, and the progress events. The result comes from the call
/// (<see cref="ResultOf"/>); answered-human and voicemail are done, busy and no-answer are retried with backoff
/// (<see cref="Campaign.RetryMinutes"/> × 2^(attempt−1), capped at 24 h) until <see cref="Campaign.MaxAttempts"/>, the
/// rest fail. Applied from the call-ended paths (<see cref="PostCallPipeline"/>, <see cref="OutboundPlaceHandler"/>) in
/// the same unit of work as the call's end, and again by the dialer's tick for any call whose end it finds unapplied
/// (the operation is idempotent: only a queued or calling contact whose last call this is changes).
/// </summary>
internal sealed class CampaignResults(SwitchboardDbContext db, TimeProvider clock)
{
    /// <summary>Longest wait between retries.</summary>
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromHours(24);

    /// <summary>
    /// Hook for the end of an outbound call: when it is a campaign contact's latest call, the contact gets its result and a
    /// <c>contact.result</c> event is staged on the unit of work (published when the caller commits). Rows are changed in
    /// the caller's unit of work; the caller saves.
    /// </summary>
    public async Task CallEndedAsync(Call call, CancellationToken ct)
    {
        if (call.Direction != "outbound")
        {
            return;
        }
        var contact = db.CampaignContacts.Local.FirstOrDefault(c => c.LastCallId == call.Id)
            ?? await db.CampaignContacts.IgnoreQueryFilters().FirstOrDefaultAsync(c => c.TenantId == call.TenantId && c.LastCallId == call.Id, ct);
        if (contact is null || contact.State is not (ContactStates.Queued or ContactStates.Calling))
        {
            return;
        }
        var campaign = db.Campaigns.Local.FirstOrDefault(c => c.Id == contact.CampaignId)
            ?? await db.Campaigns.IgnoreQueryFilters().FirstAsync(c => c.TenantId == call.TenantId && c.Id == contact.CampaignId, ct);
        Apply(campaign, contact, ResultOf(call), clock.GetUtcNow());
        db.LiveEvents.Add(ResultEvent(contact, await CountsAsync(db, contact.TenantId, contact.CampaignId, ct)));
    }

    /// <summary>True once the call is over (a terminal status, or the post-call pipeline has run on it).</summary>
    public static bool HasEnded(Call call) => call.Analyzed || CallStatuses.Ended.Contains(call.Status);

    /// <summary>
    /// The contact result of an ended call: <c>dnc</c> (refused at placement: on the do-not-call list), <c>voicemail</c>
    /// (AMD said machine), <c>busy</c>, <c>no-answer</c>, <c>invalid</c> (Twilio 21211/21214/21217: not a callable
    /// number), <c>failed</c> (any other failure or cancellation), else <c>answered-human</c>. A placement refused for
    /// the calling window answers <see cref="RetryNow"/>: not an outcome, a wait.
    /// </summary>
    public static string ResultOf(Call call)
    {
        var reason = call.EndedReason ?? "";
        if (reason == "refused:" + OutboundRefusalReasons.DoNotCall)
        {
            return ContactResults.Dnc;
        }
        if (reason == "refused:" + OutboundRefusalReasons.OutsideWindow)
        {
            return RetryNow;
        }
        if (call.AnsweredBy?.StartsWith("machine", StringComparison.Ordinal) == true || reason == "voicemail")
        {
            return ContactResults.Voicemail;
        }
        if (call.Status == "busy" || reason == "busy")
        {
            return ContactResults.Busy;
        }
        if (call.Status == "no-answer" || reason == "no-answer")
        {
            return ContactResults.NoAnswer;
        }
        if (reason is "twilio-error:21211" or "twilio-error:21214" or "twilio-error:21217")
        {
            return ContactResults.Invalid;
        }
        return call.Status is "failed" or "canceled" || reason.StartsWith("refused:", StringComparison.Ordinal) ? ContactResults.Failed : ContactResults.AnsweredHuman;
    }

    /// <summary>Not a result: the placement found the window closed; the contact is due again at once and the dialer waits for the window.</summary>
    public const string RetryNow = "retry-now";

    /// <summary>Moves <paramref name="contact"/> on from <paramref name="result"/> at <paramref name="now"/> (see the class summary).</summary>
    public static void Apply(Campaign campaign, CampaignContact contact, string result, DateTimeOffset now)
    {
        contact.UpdatedAt = now;
        var retriable = result is ContactResults.Busy or ContactResults.NoAnswer or RetryNow;
        if (retriable && contact.Attempts < campaign.MaxAttempts && !CampaignStatuses.IsFinal(campaign.Status))
        {
            contact.State = ContactStates.Pending;
            contact.NextAttemptAt = result == RetryNow ? now : now + Backoff(campaign, contact.Attempts);
            contact.Result = result == RetryNow ? contact.Result : result;
            return;
        }
        contact.Result = result == RetryNow ? ContactResults.NoWindow : result;
        contact.State = result switch
        {
            ContactResults.AnsweredHuman or ContactResults.Voicemail => ContactStates.Done,
            ContactResults.Dnc or ContactResults.NoConsent => ContactStates.Refused,
            _ => ContactStates.Failed,
        };
    }

    /// <summary>Wait after the <paramref name="attempts"/>-th call: <see cref="Campaign.RetryMinutes"/> × 2^(attempts−1), at most <see cref="MaxBackoff"/>.</summary>
    public static TimeSpan Backoff(Campaign campaign, int attempts)
    {
        var minutes = campaign.RetryMinutes * Math.Pow(2, Math.Clamp(attempts - 1, 0, 20));
        return TimeSpan.FromMinutes(Math.Min(minutes, MaxBackoff.TotalMinutes));
    }

    /// <summary>
    /// The campaign's contacts per state as the unit of work will leave them: what the database holds (including this
    /// transaction's saved writes) adjusted by the context's tracked, unsaved contact changes.
    /// </summary>
    public static async Task<CampaignCounts> CountsAsync(SwitchboardDbContext db, Guid tenantId, Guid campaignId, CancellationToken ct)
    {
        var rows = await db.CampaignContacts.IgnoreQueryFilters().AsNoTracking()
            .Where(c => c.TenantId == tenantId && c.CampaignId == campaignId)
            .GroupBy(c => c.State).Select(g => new { State = g.Key, Count = g.Count() }).ToListAsync(ct);
        var counts = rows.ToDictionary(r => r.State, r => r.Count);
        foreach (var entry in db.ChangeTracker.Entries<CampaignContact>().Where(e => e.Entity.CampaignId == campaignId))
        {
            if (entry.State == EntityState.Added)
            {
                counts[entry.Entity.State] = counts.GetValueOrDefault(entry.Entity.State) + 1;
            }
            else if (entry.State == EntityState.Modified && entry.Property(c => c.State).OriginalValue is { } before && before != entry.Entity.State)
            {
                counts[before] = counts.GetValueOrDefault(before) - 1;
                counts[entry.Entity.State] = counts.GetValueOrDefault(entry.Entity.State) + 1;
            }
        }
        int Of(string state) => Math.Max(0, counts.GetValueOrDefault(state));
        return new CampaignCounts(ContactStates.All.Sum(Of), Of(ContactStates.Pending), Of(ContactStates.Queued), Of(ContactStates.Calling),
            Of(ContactStates.Done), Of(ContactStates.Failed), Of(ContactStates.Refused), Of(ContactStates.Skipped));
    }

    /// <summary>A <c>contact.result</c> event.</summary>
    public static LiveEventDraft ResultEvent(CampaignContact c, CampaignCounts counts) =>
        LiveEventData.Draft(c.TenantId, CampaignEventTypes.ContactResult, new ContactResultEventData(c.CampaignId, c.Id, c.Number, c.State, c.Result, c.Attempts,
            c.State == ContactStates.Pending ? c.NextAttemptAt : null, counts), null);

    /// <summary>A <c>contact.queued</c> event.</summary>
    public static LiveEventDraft QueuedEvent(CampaignContact c, Guid callId, DateTimeOffset placeAt, CampaignCounts counts) =>
        LiveEventData.Draft(c.TenantId, CampaignEventTypes.ContactQueued, new ContactQueuedEventData(c.CampaignId, c.Id, c.Number, c.Attempts, callId, placeAt, counts), null);

    /// <summary>A <c>campaign.status</c> event.</summary>
    public static LiveEventDraft StatusEvent(Campaign campaign, CampaignCounts counts) =>
        LiveEventData.Draft(campaign.TenantId, CampaignEventTypes.CampaignStatus, new CampaignStatusEventData(campaign.Id, campaign.Status, counts), null);
}
