using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Switchboard.Platform.Database;

namespace Switchboard.Compliance;

/// <summary>Configuration section <c>Switchboard:Retention</c>.</summary>
internal sealed class RetentionOptions
{
    public const string Section = "Switchboard:Retention";

    /// <summary>Run the retention worker on this node (tests call <see cref="RetentionService.PurgeAsync"/> directly).</summary>
    public bool WorkerEnabled { get; set; } = true;

    /// <summary>Minutes between passes.</summary>
    public int IntervalMinutes { get; set; } = 60;
}

/// <summary>What one retention pass did: recordings forgotten, transcript turns and texts purged, raw events deleted, web
/// conversations' attribution cleared, tenants seen, phone numbers attached but never verified deleted, <c>Idempotency-Key</c>s
/// past their 24 hours deleted.</summary>
public sealed record RetentionResult(int Tenants, int RecordingsForgotten, int TranscriptTurnsDeleted, int TranscriptsCleared, int CallEventsDeleted,
    int AttributionsCleared = 0, int UnverifiedNumbersExpired = 0, int IdempotencyKeysExpired = 0);

/// <summary>
/// Enforces each tenant's retention settings (<c>TenantAccount.RecordingRetentionDays</c> and
/// <c>TranscriptRetentionDays</c>): calls older than the limit lose their recording URLs (theirs and their Twilio recordings'), or their transcript
/// (turns and text) and, for web conversations, the attribution (page URL, referrer, UTM parameters, click ids) and the
/// offline receptionist's slots (name, phone, address); their raw provider events, which carry both, are deleted at the
/// earlier of the two limits.
/// Summaries, leads and usage are kept. Works across tenants explicitly (IgnoreQueryFilters with a TenantId predicate).
/// Each pass also deletes phone numbers attached more than 7 days ago that never verified on the tenant's Twilio account
/// (<see cref="Numbers.NumberClaims.ExpireUnverifiedAsync"/>), for every tenant whatever its retention settings, and the
/// <c>Idempotency-Key</c>s older than 24 hours (<see cref="Platform.Http.IdempotencyMiddleware"/>).
/// </summary>
internal sealed class RetentionService(SwitchboardDbContext db)
{
    /// <summary>
    /// <see cref="Calls.CallRecording.Status"/> of a recording whose media retention forgot: Twilio's own status for a deleted
    /// recording (twilio.com/docs/voice/api/recording, <c>status</c>). The call list's <c>hasRecording</c> filter skips such rows.
    /// </summary>
    internal const string DeletedRecording = "deleted";

    public async Task<RetentionResult> PurgeAsync(DateTimeOffset now, CancellationToken ct)
    {
        var policies = await db.TenantAccounts.IgnoreQueryFilters().AsNoTracking()
            .Where(a => a.RecordingRetentionDays != null || a.TranscriptRetentionDays != null)
            .Select(a => new { a.TenantId, a.RecordingRetentionDays, a.TranscriptRetentionDays }).ToListAsync(ct);
        int recordings = 0, turns = 0, texts = 0, events = 0, attributions = 0;
        foreach (var p in policies)
        {
            var calls = db.Calls.IgnoreQueryFilters().Where(c => c.TenantId == p.TenantId);
            if (p.RecordingRetentionDays is { } rd)
            {
                var cutoff = now.AddDays(-rd);
                recordings += await calls.Where(c => c.CreatedAt < cutoff && (c.RecordingUrl != null || c.StereoRecordingUrl != null))
                    .ExecuteUpdateAsync(s => s.SetProperty(c => c.RecordingUrl, (string?)null).SetProperty(c => c.StereoRecordingUrl, (string?)null), ct);
                // The Twilio recording rows of those calls hold the same media URL (call_recordings, no foreign key to calls): the
                // URL is forgotten and the row marked deleted (Twilio's own recording status for media that is gone), which the
                // call list's "has a recording" filter reads.
                var expired = calls.Where(c => c.CreatedAt < cutoff).Select(c => c.Id);
                await db.CallRecordings.IgnoreQueryFilters()
                    .Where(r => r.TenantId == p.TenantId && (r.Url != null || r.Status != DeletedRecording) && r.CallId != null && expired.Contains(r.CallId.Value))
                    .ExecuteUpdateAsync(s => s.SetProperty(r => r.Url, (string?)null).SetProperty(r => r.Status, DeletedRecording), ct);
            }
            if (p.TranscriptRetentionDays is { } td)
            {
                var cutoff = now.AddDays(-td);
                var old = calls.Where(c => c.CreatedAt < cutoff).Select(c => c.Id);
                turns += await db.TranscriptTurns.IgnoreQueryFilters().Where(t => t.TenantId == p.TenantId && old.Contains(t.CallId)).ExecuteDeleteAsync(ct);
                texts += await calls.Where(c => c.CreatedAt < cutoff && c.TranscriptText != null)
                    .ExecuteUpdateAsync(s => s.SetProperty(c => c.TranscriptText, (string?)null), ct);
                attributions += await db.WebConversations.IgnoreQueryFilters()
                    .Where(w => w.TenantId == p.TenantId && w.CreatedAt < cutoff && (w.PageUrl != null || w.Referrer != null || w.UtmSource != null
                        || w.UtmMedium != null || w.UtmCampaign != null || w.UtmTerm != null || w.UtmContent != null || w.Gclid != null || w.Fbclid != null
                        || w.StateJson != null))
                    .ExecuteUpdateAsync(s => s.SetProperty(w => w.PageUrl, (string?)null).SetProperty(w => w.Referrer, (string?)null)
                        .SetProperty(w => w.UtmSource, (string?)null).SetProperty(w => w.UtmMedium, (string?)null).SetProperty(w => w.UtmCampaign, (string?)null)
                        .SetProperty(w => w.UtmTerm, (string?)null).SetProperty(w => w.UtmContent, (string?)null)
                        .SetProperty(w => w.Gclid, (string?)null).SetProperty(w => w.Fbclid, (string?)null).SetProperty(w => w.StateJson, (string?)null), ct);
            }
            var days = new[] { p.RecordingRetentionDays, p.TranscriptRetentionDays }.Where(d => d is not null).Min()!.Value;
            var eventCutoff = now.AddDays(-days);
            events += await db.CallEvents.IgnoreQueryFilters().Where(e => e.TenantId == p.TenantId && e.ReceivedAt < eventCutoff).ExecuteDeleteAsync(ct);
        }
        var numbers = await Numbers.NumberClaims.ExpireUnverifiedAsync(db, now, ct);
        var keyCutoff = now - Platform.Http.IdempotencyMiddleware.Lifetime;
        var keys = await db.IdempotencyKeys.IgnoreQueryFilters().Where(k => k.CreatedAt <= keyCutoff).ExecuteDeleteAsync(ct);
        return new RetentionResult(policies.Count, recordings, turns, texts, events, attributions, numbers, keys);
    }
}

/// <summary>Runs <see cref="RetentionService.PurgeAsync"/> every <see cref="RetentionOptions.IntervalMinutes"/>, one DI scope per pass.</summary>
internal sealed class RetentionWorker(IServiceScopeFactory scopes, IOptions<RetentionOptions> options, TimeProvider clock, ILogger<RetentionWorker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.WorkerEnabled)
        {
            return;
        }
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                var result = await scope.ServiceProvider.GetRequiredService<RetentionService>().PurgeAsync(clock.GetUtcNow(), stoppingToken);
                logger.LogInformation("Retention pass: {Tenants} tenants, {Recordings} recordings forgotten, {Turns} transcript turns and {Texts} transcripts purged, {Events} raw events deleted, {Attributions} web attributions cleared, {Numbers} unverified numbers expired, {Keys} idempotency keys expired",
                    result.Tenants, result.RecordingsForgotten, result.TranscriptTurnsDeleted, result.TranscriptsCleared, result.CallEventsDeleted, result.AttributionsCleared,
                    result.UnverifiedNumbersExpired, result.IdempotencyKeysExpired);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                logger.Log(ExpectedFailures.LevelOf(e), e, "Retention pass failed"); // retried at the next pass
            }
            try
            {
                await Task.Delay(TimeSpan.FromMinutes(Math.Max(1, options.Value.IntervalMinutes)), clock, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }
}
