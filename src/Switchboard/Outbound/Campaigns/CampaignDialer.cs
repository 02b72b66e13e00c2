using System.ComponentModel.DataAnnotations;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Switchboard.Billing;
using Switchboard.Dashboard;
using Switchboard.Platform;
using Switchboard.Platform.Database;
using Switchboard.Platform.Http;
using Switchboard.Tenancy;

namespace Switchboard.Outbound.Campaigns;

/// <summary>Configuration section <c>Switchboard:Campaigns</c>.</summary>
internal sealed class CampaignOptions
{
    public const string Section = "Switchboard:Campaigns";

    /// <summary>Run the dialer on this node (every node may: ticks take a per-tenant lock). Tests drive <see cref="CampaignDialer.TickAsync"/> themselves.</summary>
    public bool DialerEnabled { get; set; } = true;

    /// <summary>Time between ticks, ms; a tick schedules the calls due before the next one.</summary>
    [Range(100, 60_000)]
    public int TickMilliseconds { get; set; } = 1000;

    /// <summary>Due contacts read per campaign and tick.</summary>
    [Range(1, 10_000)]
    public int BatchSize { get; set; } = 200;
}

/// <summary>
/// The campaign dialer's tick, run by <see cref="CampaignDialerWorker"/> on every node. Per tenant with a running (or due
/// scheduled) campaign, in one transaction that first takes the tenant's row lock (a no-op <c>UPDATE tenants</c>:
/// PostgreSQL's <c>FOR NO KEY UPDATE</c>, which blocks only another tick of the same tenant; SQLite has one writer) so
/// one node at a time spends the tenant's call budget:
/// <list type="number">
/// <item>a scheduled campaign whose <see cref="Campaign.StartAt"/> has come starts running;</item>
/// <item>queued / calling contacts whose call has ended get their result (<see cref="CampaignResults"/>; normally the
/// call-ended hook did it already);</item>
/// <item>due pending contacts (<see cref="CampaignContact.NextAttemptAt"/> ≤ now), oldest first: a closed calling window
/// moves the contact to the window's next opening (a wait, not a refusal; none within 14 days: skipped
/// <c>no-window</c>); a number on the do-not-call list is refused <c>dnc</c>, and in a promotional campaign a number
/// without a consent record is refused <c>no-consent</c>, each recorded in <c>outbound_refusals</c> (source
/// <c>campaign</c>); the rest are queued through <see cref="OutboundCalls.QueueAsync"/> with the dedupe key
/// <c>campaign:{contactId}:{attempt}</c> in the same transaction as the contact's move to <c>queued</c>, so a crash
/// leaves either both or neither and a restart never calls anyone twice;</item>
/// <item>pacing: calls are queued while the tenant's active calls (<see cref="CallConcurrencyGate"/>: not ended, touched
/// in 30 min) are under the plan's <see cref="Plan.ConcurrentCalls"/>, and placed 1/<see cref="Campaign.CallsPerSecond"/>
/// s apart (<see cref="Campaign.NextDialAt"/> carries the pace from tick to tick; only calls due before the next tick
/// are queued);</item>
/// <item>a running campaign with no pending, queued or calling contact completes.</item>
/// </list>
/// The progress events (<c>contact.queued</c>, <c>contact.result</c>, <c>campaign.status</c>, with counts) are published
/// through the dashboard's live-event transport when the transaction commits.
/// </summary>
internal sealed class CampaignDialer(IServiceScopeFactory scopes, IOptions<CampaignOptions> options, TimeProvider clock, ILogger<CampaignDialer> logger)
{
    /// <summary>One tick over every tenant with work; returns how many calls it queued. A tenant's failure is logged and retried next tick.</summary>
    public async Task<int> TickAsync(CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        List<Guid> tenants;
        await using (var scope = scopes.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>();
            tenants = await db.Campaigns.IgnoreQueryFilters().AsNoTracking()
                .Where(c => c.Status == CampaignStatuses.Running || c.Status == CampaignStatuses.Paused
                    || (c.Status == CampaignStatuses.Scheduled && c.StartAt <= now))
                .Select(c => c.TenantId).Distinct().ToListAsync(ct);
        }
        var queued = 0;
        foreach (var tenantId in tenants)
        {
            try
            {
                queued += await TickTenantAsync(tenantId, now, ct);
            }
            catch (Exception e) when (!ct.IsCancellationRequested)
            {
                logger.Log(ExpectedFailures.LevelOf(e), e, "Campaign tick failed for tenant {TenantId}; retried next tick", tenantId);
            }
        }
        return queued;
    }

    private async Task<int> TickTenantAsync(Guid tenantId, DateTimeOffset now, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var sp = scope.ServiceProvider;
        sp.GetRequiredService<CurrentTenant>().Set(tenantId);
        var db = sp.GetRequiredService<SwitchboardDbContext>();
        using var turn = await sp.GetRequiredService<SqliteWriteGate>().EnterAsync(db, WritePriority.Low, ct);
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        if (await db.Tenants.Where(t => t.Id == tenantId).ExecuteUpdateAsync(s => s.SetProperty(t => t.Name, t => t.Name), ct) == 0)
        {
            return 0;
        }
        var campaigns = await db.Campaigns
            .Where(c => c.Status == CampaignStatuses.Running || c.Status == CampaignStatuses.Paused
                || (c.Status == CampaignStatuses.Scheduled && c.StartAt <= now))
            .OrderBy(c => c.CreatedAt).ToListAsync(ct);
        var tenant = await db.Tenants.AsNoTracking().FirstAsync(t => t.Id == tenantId, ct);
        var limit = (await sp.GetRequiredService<TenantAccountCache>().GetAsync(tenantId, ct)).Plan.ConcurrentCalls;
        var free = limit - await sp.GetRequiredService<CallConcurrencyGate>().ActiveCallsAsync(ct);
        var outbound = sp.GetRequiredService<OutboundCalls>();
        var dnc = sp.GetRequiredService<DoNotCallList>();
        var baseUrl = sp.GetRequiredService<IOptions<PublicUrlOptions>>().Value.PublicBaseUrl;
        var horizon = now.AddMilliseconds(options.Value.TickMilliseconds);
        var staged = new List<Func<CampaignCounts, LiveEventDraft>>[campaigns.Count];
        var queued = 0;
        for (var i = 0; i < campaigns.Count; i++)
        {
            var campaign = campaigns[i];
            var events = staged[i] = [];
            if (campaign.Status == CampaignStatuses.Scheduled)
            {
                campaign.Status = CampaignStatuses.Running;
                campaign.StartedAt ??= now;
                campaign.UpdatedAt = now;
                events.Add(counts => CampaignResults.StatusEvent(campaign, counts));
            }
            await ReconcileAsync(db, campaign, events, now, ct);
            if (campaign.Status != CampaignStatuses.Running)
            {
                continue;
            }
            var assistant = await db.Assistants.AsNoTracking().FirstOrDefaultAsync(a => a.Id == campaign.AssistantId, ct);
            if (assistant is null)
            {
                // Deleted since the campaign was made: stop until someone gives it an assistant again (or cancels it).
                campaign.Status = CampaignStatuses.Paused;
                campaign.UpdatedAt = now;
                events.Add(counts => CampaignResults.StatusEvent(campaign, counts));
                logger.LogWarning("Campaign {CampaignId} paused: its assistant no longer exists", campaign.Id);
                continue;
            }
            var next = campaign.NextDialAt is { } at && at > now ? at : now;
            var spacing = TimeSpan.FromSeconds(1.0 / Math.Max(1, campaign.CallsPerSecond));
            if (free <= 0 || next >= horizon)
            {
                continue; // no line free, or not this campaign's turn yet: due contacts (windows, refusals included) wait for one
            }
            var due = await db.CampaignContacts
                .Where(c => c.CampaignId == campaign.Id && c.State == ContactStates.Pending && c.NextAttemptAt <= now)
                .OrderBy(c => c.NextAttemptAt).ThenBy(c => c.Ordinal).Take(options.Value.BatchSize).ToListAsync(ct);
            var consented = campaign.Promotional && due.Count > 0 ? await ConsentedAsync(db, due, now, ct) : [];
            foreach (var contact in due)
            {
                var window = CallingWindows.Check(contact.Number, tenant.TimeZone, tenant.BusinessHours, next);
                if (!window.Allowed)
                {
                    contact.UpdatedAt = now;
                    if (window.NextAllowedAt is { } opening)
                    {
                        contact.NextAttemptAt = opening; // a wait, not a refusal
                        continue;
                    }
                    contact.State = ContactStates.Skipped;
                    contact.Result = ContactResults.NoWindow;
                    events.Add(counts => CampaignResults.ResultEvent(contact, counts));
                    continue;
                }
                if (await dnc.ContainsAsync(contact.Number, ct))
                {
                    Refuse(outbound, contact, ContactResults.Dnc,
                        new OutboundRefused(OutboundRefusalReasons.DoNotCall, $"{contact.Number} is on the do-not-call list.", null, null), events, now);
                    continue;
                }
                if (campaign.Promotional && !consented.Contains(contact.Number))
                {
                    Refuse(outbound, contact, ContactResults.NoConsent, new OutboundRefused(OutboundRefusalReasons.NoConsent,
                        $"{contact.Number} has no consent record, and the campaign '{campaign.Name}' is promotional.", null, null), events, now);
                    continue;
                }
                if (free <= 0 || next >= horizon)
                {
                    break; // the plan's concurrent calls or the pace: the rest wait for a later tick
                }
                var attempt = contact.Attempts + 1;
                var (call, refused) = await outbound.QueueAsync(tenant, new OutboundCallPlan(contact.Number, assistant, Variables(campaign, contact), next, "campaign"),
                    baseUrl, ct, $"campaign:{contact.Id:N}:{attempt}");
                if (call is null)
                {
                    // Checked just above, so only a list changed meanwhile gets here; QueueAsync recorded the refusal.
                    if (refused?.Reason == OutboundRefusalReasons.DoNotCall)
                    {
                        contact.State = ContactStates.Refused;
                        contact.Result = ContactResults.Dnc;
                        events.Add(counts => CampaignResults.ResultEvent(contact, counts));
                    }
                    else
                    {
                        contact.NextAttemptAt = refused?.NextAllowedAt ?? now.AddMinutes(1);
                    }
                    contact.UpdatedAt = now;
                    continue;
                }
                contact.Attempts = attempt;
                contact.State = ContactStates.Queued;
                contact.LastCallId = call.Id;
                contact.UpdatedAt = now;
                var placeAt = next;
                events.Add(counts => CampaignResults.QueuedEvent(contact, call.Id, placeAt, counts));
                free--;
                queued++;
                next += spacing;
                campaign.NextDialAt = next;
                campaign.UpdatedAt = now;
            }
        }
        await db.SaveChangesAsync(ct);
        for (var i = 0; i < campaigns.Count; i++)
        {
            var campaign = campaigns[i];
            if (staged[i].Count == 0 && campaign.Status != CampaignStatuses.Running)
            {
                continue;
            }
            var counts = await CampaignResults.CountsAsync(db, tenantId, campaign.Id, ct);
            if (campaign.Status == CampaignStatuses.Running && counts.Pending + counts.Queued + counts.Calling == 0)
            {
                campaign.Status = CampaignStatuses.Completed;
                campaign.EndedAt = now;
                campaign.UpdatedAt = now;
                staged[i].Add(c => CampaignResults.StatusEvent(campaign, c));
                logger.LogInformation("Campaign {CampaignId} completed", campaign.Id);
            }
            foreach (var make in staged[i])
            {
                db.LiveEvents.Add(make(counts)); // published by the live-events interceptor when the transaction commits
            }
        }
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return queued;
    }

    /// <summary>Queued / calling contacts: calls that ended give their result; calls Twilio has taken make the contact <c>calling</c>.</summary>
    private static async Task ReconcileAsync(SwitchboardDbContext db, Campaign campaign, List<Func<CampaignCounts, LiveEventDraft>> events, DateTimeOffset now, CancellationToken ct)
    {
        var open = await db.CampaignContacts
            .Where(c => c.CampaignId == campaign.Id && (c.State == ContactStates.Queued || c.State == ContactStates.Calling)).ToListAsync(ct);
        if (open.Count == 0)
        {
            return;
        }
        var callIds = open.Where(c => c.LastCallId != null).Select(c => c.LastCallId!.Value).ToList();
        var calls = await db.Calls.AsNoTracking().Where(c => callIds.Contains(c.Id)).ToDictionaryAsync(c => c.Id, ct);
        foreach (var contact in open)
        {
            if (contact.LastCallId is not { } callId || !calls.TryGetValue(callId, out var call))
            {
                CampaignResults.Apply(campaign, contact, ContactResults.Failed, now); // the call row is gone (erased)
                events.Add(counts => CampaignResults.ResultEvent(contact, counts));
            }
            else if (CampaignResults.HasEnded(call))
            {
                CampaignResults.Apply(campaign, contact, CampaignResults.ResultOf(call), now);
                events.Add(counts => CampaignResults.ResultEvent(contact, counts));
            }
            else if (contact.State == ContactStates.Queued && call.Status != "queued")
            {
                contact.State = ContactStates.Calling;
                contact.UpdatedAt = now;
            }
        }
    }

    private static async Task<HashSet<string>> ConsentedAsync(SwitchboardDbContext db, List<CampaignContact> due, DateTimeOffset now, CancellationToken ct)
    {
        var numbers = due.Select(c => c.Number).Distinct().ToList();
        return (await db.Consents.AsNoTracking().Where(c => numbers.Contains(c.Number) && c.ObtainedAt <= now).Select(c => c.Number).ToListAsync(ct))
            .ToHashSet(StringComparer.Ordinal);
    }

    private static void Refuse(OutboundCalls outbound, CampaignContact contact, string result, OutboundRefused refused,
        List<Func<CampaignCounts, LiveEventDraft>> events, DateTimeOffset now)
    {
        outbound.Record(contact.TenantId, contact.Number, refused, "campaign");
        contact.State = ContactStates.Refused;
        contact.Result = result;
        contact.UpdatedAt = now;
        events.Add(counts => CampaignResults.ResultEvent(contact, counts));
    }

    /// <summary>The call's context: the campaign's name, the contact's name and the CSV's variables (≤ 20 in all).</summary>
    internal static Dictionary<string, string> Variables(Campaign campaign, CampaignContact contact)
    {
        var variables = new Dictionary<string, string>(StringComparer.Ordinal) { ["campaign"] = campaign.Name };
        if (contact.Name is { Length: > 0 } name)
        {
            variables["name"] = name;
        }
        foreach (var (key, value) in OutboundContext.Read(contact.VariablesJson))
        {
            if (variables.Count >= OutboundContext.MaxVariables)
            {
                break;
            }
            variables.TryAdd(key, TolerantJson.Cap(value, 500));
        }
        return variables;
    }
}

/// <summary>
/// Runs <see cref="CampaignDialer.TickAsync"/> every <see cref="CampaignOptions.TickMilliseconds"/> of the host's
/// <see cref="TimeProvider"/> on every node (the per-tenant lock makes that safe); state is in the database, so a
/// restarted node carries on where the last tick committed.
/// </summary>
internal sealed class CampaignDialerWorker(CampaignDialer dialer, IOptions<CampaignOptions> options, TimeProvider clock, ILogger<CampaignDialerWorker> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.DialerEnabled)
        {
            return;
        }
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await dialer.TickAsync(stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                logger.Log(ExpectedFailures.LevelOf(e), e, "Campaign tick failed");
            }
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(options.Value.TickMilliseconds), clock, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }
}
