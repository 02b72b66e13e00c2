using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ChangeTracking;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Switchboard.Alerts;
using Switchboard.Calls;
using Switchboard.Platform.Database;

namespace Switchboard.Dashboard;

/// <summary>
/// The live events a unit of work produced, waiting for its commit. Code that knows better than the change tracker
/// (a Vapi conversation snapshot re-inserting turns already sent) marks entities to leave out with <see cref="Skip"/>.
/// </summary>
internal sealed class LiveEventBatch
{
    private readonly List<LiveEventDraft> pending = [];
    private readonly HashSet<Guid> skipped = [];

    /// <summary>Leaves the entity with this id out of the next save's events (e.g. a transcript turn re-stored unchanged).</summary>
    public void Skip(Guid entityId) => skipped.Add(entityId);

    internal bool IsSkipped(Guid entityId) => skipped.Contains(entityId);

    internal void Add(LiveEventDraft draft) => pending.Add(draft);

    internal List<LiveEventDraft> Take()
    {
        var taken = pending.ToList();
        pending.Clear();
        skipped.Clear();
        return taken;
    }

    internal void Clear()
    {
        pending.Clear();
        skipped.Clear();
    }
}

/// <summary>
/// Derives the dashboard's live events from what a unit of work saves, so every writer publishes them without knowing
/// about the dashboard (Vapi event processing, the native media bridge and its transcript sink, the post-call pipeline,
/// SMS sending and status callbacks, the leads API): a call added → <c>call.started</c> (or <c>call.ended</c> when first
/// seen over), a call changed → <c>call.updated</c> / <c>call.ended</c>, a transcript turn added → <c>transcript.turn</c>,
/// a lead added/changed → <c>lead.created</c>/<c>lead.updated</c>, an SMS added or its status changed → <c>sms.updated</c>.
/// Data is captured when SaveChanges starts; events are published only once the changes are durable: after SaveChanges
/// when no transaction is open, else when the transaction commits (dropped on rollback). The async paths wait for the
/// events to be numbered and sent (so a webhook's 200 follows its events); the synchronous ones hand them to the background. Bulk
/// <c>ExecuteUpdate</c>/<c>ExecuteDelete</c> statements are not seen. The same pass over the changed entries bumps
/// <see cref="Call.Version"/> of every modified call.
/// </summary>
internal sealed class LiveEventsInterceptor(ILiveEventTransport publisher) : SaveChangesInterceptor, IDbTransactionInterceptor, IGroupCommitListener
{
    private static readonly HashSet<string> QuietCallProperties = new(StringComparer.Ordinal)
    {
        nameof(Call.UpdatedAt), nameof(Call.TranscriptText), nameof(Call.TranscriptFinal), nameof(Call.Analyzed), nameof(Call.GreetingLatencyMs), nameof(Call.Version),
    };

    public override ValueTask<InterceptionResult<int>> SavingChangesAsync(DbContextEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
    {
        Capture(eventData.Context);
        return ValueTask.FromResult(result);
    }

    public override InterceptionResult<int> SavingChanges(DbContextEventData eventData, InterceptionResult<int> result)
    {
        Capture(eventData.Context);
        return result;
    }

    public override async ValueTask<int> SavedChangesAsync(SaveChangesCompletedEventData eventData, int result, CancellationToken cancellationToken = default)
    {
        if (eventData.Context is SwitchboardDbContext db && db.Database.CurrentTransaction is null && !db.InGroupCommit)
        {
            await publisher.PublishAsync(db.LiveEvents.Take());
        }
        return result;
    }

    public override int SavedChanges(SaveChangesCompletedEventData eventData, int result)
    {
        FlushUnlessInTransaction(eventData.Context);
        return result;
    }

    public override void SaveChangesFailed(DbContextErrorEventData eventData) => Discard(eventData.Context);

    public override Task SaveChangesFailedAsync(DbContextErrorEventData eventData, CancellationToken cancellationToken = default)
    {
        Discard(eventData.Context);
        return Task.CompletedTask;
    }

    public void TransactionCommitted(DbTransaction transaction, TransactionEndEventData eventData) => Flush(eventData.Context);

    public Task TransactionCommittedAsync(DbTransaction transaction, TransactionEndEventData eventData, CancellationToken cancellationToken = default) =>
        eventData.Context is SwitchboardDbContext db ? publisher.PublishAsync(db.LiveEvents.Take()) : Task.CompletedTask;

    public void TransactionRolledBack(DbTransaction transaction, TransactionEndEventData eventData) => Discard(eventData.Context);

    /// <summary>A <see cref="SqliteGroupCommit"/> batch holding <paramref name="db"/>'s saves committed: announce them.</summary>
    public Task CommittedAsync(SwitchboardDbContext db) => publisher.PublishAsync(db.LiveEvents.Take());

    /// <summary>A <see cref="SqliteGroupCommit"/> unit was undone: nothing to announce.</summary>
    public void RolledBack(SwitchboardDbContext db) => Discard(db);

    public Task TransactionRolledBackAsync(DbTransaction transaction, TransactionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        Discard(eventData.Context);
        return Task.CompletedTask;
    }

    public void TransactionFailed(DbTransaction transaction, TransactionErrorEventData eventData) => Discard(eventData.Context);

    public Task TransactionFailedAsync(DbTransaction transaction, TransactionErrorEventData eventData, CancellationToken cancellationToken = default)
    {
        Discard(eventData.Context);
        return Task.CompletedTask;
    }

    private void FlushUnlessInTransaction(DbContext? context)
    {
        if (context is SwitchboardDbContext db && db.Database.CurrentTransaction is null && !db.InGroupCommit)
        {
            Flush(db);
        }
    }

    private void Flush(DbContext? context)
    {
        if (context is SwitchboardDbContext db)
        {
            foreach (var draft in db.LiveEvents.Take())
            {
                publisher.Publish(draft);
            }
        }
    }

    /// <summary>A failed save or an ended transaction leaves nothing to announce (a retried unit of work captures again).</summary>
    private static void Discard(DbContext? context)
    {
        if (context is SwitchboardDbContext db)
        {
            db.LiveEvents.Clear();
        }
    }


    /// <summary>Reads the change tracker before the save: what changed, and the data each event will carry.</summary>
    private static void Capture(DbContext? context)
    {
        if (context is not SwitchboardDbContext db)
        {
            return;
        }
        var batch = db.LiveEvents;
        foreach (var entry in db.ChangeTracker.Entries())
        {
            if (entry.State is not (EntityState.Added or EntityState.Modified))
            {
                continue;
            }
            switch (entry.Entity)
            {
                case Call call:
                    CaptureCall(db, batch, entry, call);
                    if (entry.State == EntityState.Modified)
                    {
                        // The same pass keeps the call's version (issue 13: what a prepared Vapi message checks before it is written).
                        // Through the entry, which marks it modified: changes are detected once, before the interceptors run.
                        var version = entry.Property(nameof(Call.Version));
                        version.CurrentValue = (long)version.OriginalValue! + 1;
                    }
                    break;
                case TranscriptTurn turn when entry.State == EntityState.Added && !batch.IsSkipped(turn.Id):
                    batch.Add(LiveEventData.Draft(turn.TenantId, LiveEventTypes.TranscriptTurn, LiveEventData.Turn(turn), turn.CallId));
                    break;
                case Lead lead:
                    batch.Add(LiveEventData.Draft(lead.TenantId, entry.State == EntityState.Added ? LiveEventTypes.LeadCreated : LiveEventTypes.LeadUpdated,
                        LeadItem.From(lead), lead.CallId));
                    // A call left unchanged by this save (a changed call is announced by its own entry, with the urgency) still
                    // gets its call.updated when the lead's urgency is new: the Live page reads a call's urgency from call events.
                    if (UrgencyChanged(entry) && db.Tracked<Call>().FirstOrDefault(c => c.Id == lead.CallId) is { } leadCall
                        && db.Entry(leadCall).State == EntityState.Unchanged)
                    {
                        batch.Add(LiveEventData.Draft(leadCall.TenantId, LiveEventTypes.CallUpdated, LiveEventData.Call(leadCall, lead.Urgency), leadCall.Id));
                    }
                    break;
                case SmsMessage sms when entry.State == EntityState.Added || entry.Property(nameof(SmsMessage.Status)).IsModified:
                    batch.Add(LiveEventData.Draft(sms.TenantId, LiveEventTypes.SmsUpdated, LiveEventData.Sms(sms), sms.CallId));
                    break;
            }
        }
    }

    /// <summary>True when the lead entry is new, or its <see cref="Lead.Urgency"/> changed in this save.</summary>
    private static bool UrgencyChanged(EntityEntry entry) =>
        entry.State == EntityState.Added
        || (entry.State == EntityState.Modified && entry.Property(nameof(Lead.Urgency)) is { IsModified: true } u && !Equals(u.OriginalValue, u.CurrentValue));

    private static void CaptureCall(SwitchboardDbContext db, LiveEventBatch batch, EntityEntry entry, Call call)
    {
        string type;
        if (entry.State == EntityState.Added)
        {
            type = CallStatuses.Ended.Contains(call.Status) ? LiveEventTypes.CallEnded : LiveEventTypes.CallStarted;
        }
        else
        {
            var changed = entry.Properties.Where(p => p.IsModified && !Equals(p.OriginalValue, p.CurrentValue)).Select(p => p.Metadata.Name).ToList();
            // A lead saved with the call whose urgency is new (a capture_lead tool call mid-call) is news for the call, even when
            // its own columns only moved quietly: without it the Live page never learned the urgency until the call ended.
            if (changed.All(QuietCallProperties.Contains)
                && !db.Tracked<Lead>().Any(l => l.CallId == call.Id && UrgencyChanged(db.Entry(l))))
            {
                return;
            }
            var endedNow = changed.Contains(nameof(Call.Status)) && CallStatuses.Ended.Contains(call.Status);
            type = endedNow ? LiveEventTypes.CallEnded : LiveEventTypes.CallUpdated;
        }
        var urgency = db.Leads.Local.FirstOrDefault(l => l.CallId == call.Id)?.Urgency;
        batch.Add(LiveEventData.Draft(call.TenantId, type, LiveEventData.Call(call, urgency), call.Id));
    }
}
