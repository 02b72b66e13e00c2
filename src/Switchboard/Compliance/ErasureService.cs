using System.Linq.Expressions;
using Microsoft.EntityFrameworkCore;
using Switchboard.Alerts;
using Switchboard.Billing;
using Switchboard.Calls;
using Switchboard.Platform.Database;
using Switchboard.Platform.Http;
using Switchboard.Platform.Phones;
using Switchboard.Tenancy;
using Switchboard.Vapi;

namespace Switchboard.Compliance;

/// <summary>What one caller's erasure removed, per table.</summary>
/// <param name="Calls">The caller's calls deleted.</param>
/// <param name="TranscriptTurns">Their transcript turns deleted.</param>
/// <param name="Leads">The caller's leads deleted.</param>
/// <param name="SmsMessages">SMS to, from or about the caller's calls deleted.</param>
/// <param name="CallEvents">Raw provider events of the caller's calls deleted.</param>
/// <param name="OutboxMessages">Pending outbox messages carrying the number deleted.</param>
/// <param name="WebhookEvents">Webhook events (with deliveries) carrying the number or one of the calls deleted.</param>
/// <param name="LeadNotesCleared">Notes on other leads that mentioned the number (the number is replaced in them).</param>
/// <param name="RecordsRedacted">Rows of other people's records (turns, calls, events, leads, SMS) in which the number was replaced with "[erased]".</param>
public sealed record CallerErasureResult(int Calls, int TranscriptTurns, int Leads, int SmsMessages, int CallEvents, int OutboxMessages, int WebhookEvents,
    int LeadNotesCleared, int RecordsRedacted);

/// <summary>What a tenant's erasure removed, and the provider-side resources an operator should still remove (ids only).</summary>
public sealed record TenantErasureResult(Guid TenantId, int UsersDeleted, int AuditEntriesDeleted, IReadOnlyList<string> RemoteResources);

/// <summary>
/// GDPR article 17 erasure. A caller is found by phone number in every form Switchboard stores it (E.164, digits,
/// the national number, national and international formats inside raw JSON, transcripts and message bodies): their calls (with transcripts,
/// recording references, analysis), leads, SMS and raw provider events are deleted, and pending outbox messages that carry the
/// number; other people's records that only mention the number are kept with the number replaced (notes, another caller's
/// transcript or alert); the web conversations of those calls (page URLs, referrers, UTM: attribution), and the number's
/// campaign contacts and consent records (the do-not-call list is kept: the rules require it). A web
/// visitor can also be erased by the widget's visitor id (<see cref="EraseVisitorAsync"/>). Call seconds are metered first, so usage survives without personal data.
/// A tenant's erasure deletes the tenant row (every tenant-owned table cascades), its audit chain, and users left
/// without any membership; an installation-level audit entry records it.
/// </summary>
internal sealed class ErasureService(SwitchboardDbContext db, TimeProvider clock)
{
    /// <summary>
    /// The strings that identify <paramref name="e164"/> in stored text (libphonenumber): E.164, its digits, the national
    /// number, and the national and international formats with their usual separators (see <see cref="Phones.Forms"/>).
    /// </summary>
    public static IReadOnlyList<string> Needles(string e164) => Phones.Forms(e164);

    public Task<CallerErasureResult> EraseCallerAsync(string e164, CancellationToken ct) => EraseAsync([e164], null, ct);

    /// <summary>
    /// Erases a web visitor (the widget's <c>visitorId</c>): their web conversations (page URLs, referrers, UTM and click ids)
    /// with their calls, and, for each phone number those conversations learnt, everything under that number too.
    /// </summary>
    public async Task<CallerErasureResult> EraseVisitorAsync(string visitorId, CancellationToken ct)
    {
        var numbers = await db.WebConversations.Where(w => w.VisitorId == visitorId)
            .Join(db.Calls, w => w.CallId, c => c.Id, (w, c) => c.CustomerNumber).Where(n => n != null).Distinct().ToListAsync(ct);
        return await EraseAsync(numbers.Where(Phones.IsE164).Select(n => n!).ToList(), visitorId, ct);
    }

    private async Task<CallerErasureResult> EraseAsync(IReadOnlyList<string> numbers, string? visitorId, CancellationToken ct)
    {
        var exact = numbers.SelectMany(Needles).Distinct(StringComparer.Ordinal).ToList();
        var patterns = TextSearch.Patterns(exact);

        var strategy = db.Database.CreateExecutionStrategy();
        return await strategy.ExecuteAsync(async () =>
        {
            await db.Database.OpenConnectionAsync(ct);
            try
            {
                await using var tx = await db.Database.BeginTransactionAsync(ct);
                await SecureDeleteAsync(true, ct);
                var result = await EraseInTransactionAsync(exact, patterns, visitorId, ct);
                await PurgeSearchIndexesAsync(ct);
                await tx.CommitAsync(ct);
                await SecureDeleteAsync(false, ct);
                await TruncateWalAsync(ct);
                return result;
            }
            finally
            {
                await db.Database.CloseConnectionAsync();
            }
        });
    }

    /// <summary>
    /// The caller's own records are deleted: the calls from their number (or whose lead is theirs, or the visitor's
    /// conversations) with everything hanging off them, their SMS and events. Other people's records that only mention the
    /// number (a caller giving a neighbour's number, a note "rappeler au 514…", an alert texted about another call) keep
    /// their row and lose the number: each of its forms is replaced with <see cref="Redaction"/>.
    /// </summary>
    private async Task<CallerErasureResult> EraseInTransactionAsync(List<string> exact, IReadOnlyList<string> patterns, string? visitorId, CancellationToken ct)
    {
        var callIds = await db.Calls.Where(c => exact.Contains(c.CustomerNumber!)).Select(c => c.Id).ToListAsync(ct);
        callIds.AddRange(await db.Leads.Where(l => exact.Contains(l.Phone!)).Select(l => l.CallId).ToListAsync(ct));
        if (visitorId is not null)
        {
            callIds.AddRange(await db.WebConversations.Where(w => w.VisitorId == visitorId).Select(w => w.CallId).ToListAsync(ct));
        }
        callIds = callIds.Distinct().ToList();

        await MeterAsync(callIds, ct);
        var turns = await db.TranscriptTurns.Where(t => callIds.Contains(t.CallId)).ExecuteDeleteAsync(ct);
        var leads = await db.Leads.Where(l => callIds.Contains(l.CallId) || exact.Contains(l.Phone!)).ExecuteDeleteAsync(ct);
        var sms = await db.SmsMessages.Where(s => (s.CallId != null && callIds.Contains(s.CallId.Value)) || exact.Contains(s.To) || exact.Contains(s.From!))
            .ExecuteDeleteAsync(ct);
        var events = await db.CallEvents.Where(e => e.CallId != null && callIds.Contains(e.CallId.Value)).ExecuteDeleteAsync(ct);
        var outbox = await db.Outbox.Where(m => m.Status == "pending").Where(TextSearch.Mentions<Outbox.OutboxMessage>(m => m.PayloadJson, patterns)).ExecuteDeleteAsync(ct);
        var webhookEvents = await EraseWebhookEventsAsync(patterns, callIds, ct);
        // Web conversations cascade with their calls; deleted explicitly so the attribution goes whatever the provider's FK handling.
        await db.WebConversations.Where(w => callIds.Contains(w.CallId) || (visitorId != null && w.VisitorId == visitorId)).ExecuteDeleteAsync(ct);
        // Live transfers of the erased calls (their reason is the caller's need, in the assistant's words).
        await db.CallTransfers.Where(t => callIds.Contains(t.CallId)).ExecuteDeleteAsync(ct);
        // Twilio recordings of the erased calls (the media URL of the caller's voice, its CallSid): call_recordings has no
        // foreign key to calls, so nothing cascades and the rows outlived the call.
        await db.CallRecordings.Where(r => r.CallId != null && callIds.Contains(r.CallId.Value)).ExecuteDeleteAsync(ct);
        var calls = await db.Calls.Where(c => callIds.Contains(c.Id)).ExecuteDeleteAsync(ct);
        // Campaign contacts (number, name, the tenant's variables about them) and consent records of the number.
        await db.CampaignContacts.Where(c => exact.Contains(c.Number)).ExecuteDeleteAsync(ct);
        await db.Consents.Where(c => exact.Contains(c.Number)).ExecuteDeleteAsync(ct);

        // What is left mentions the number only inside someone else's record.
        var forms = exact.OrderByDescending(f => f.Length).ToList(); // "+15145550950" before "5145550950"
        var redacted = 0;
        redacted += await db.TranscriptTurns.Where(TextSearch.Mentions<TranscriptTurn>(t => t.Text, patterns))
            .ExecuteUpdateAsync(u => u.SetProperty(t => t.Text, Redact((TranscriptTurn t) => t.Text, forms)), ct);
        redacted += await db.Calls.Where(TextSearch.Or(TextSearch.Mentions<Call>(c => c.TranscriptText, patterns),
                TextSearch.Mentions<Call>(c => c.Summary, patterns), TextSearch.Mentions<Call>(c => c.StructuredDataJson, patterns)))
            .ExecuteUpdateAsync(u => u
                .SetProperty(c => c.TranscriptText, Redact((Call c) => c.TranscriptText, forms))
                .SetProperty(c => c.Summary, Redact((Call c) => c.Summary, forms))
                .SetProperty(c => c.StructuredDataJson, Redact((Call c) => c.StructuredDataJson, forms)), ct);
        redacted += await db.CallEvents.Where(TextSearch.Mentions<CallEvent>(e => e.PayloadJson, patterns))
            .ExecuteUpdateAsync(u => u.SetProperty(e => e.PayloadJson, Redact((CallEvent e) => e.PayloadJson, forms)), ct);
        var notes = await db.Leads.Where(TextSearch.Mentions<Lead>(l => l.Notes, patterns))
            .ExecuteUpdateAsync(u => u.SetProperty(l => l.Notes, Redact((Lead l) => l.Notes, forms)), ct);
        redacted += notes;
        redacted += await db.Leads.Where(TextSearch.Or(TextSearch.Mentions<Lead>(l => l.Problem, patterns), TextSearch.Mentions<Lead>(l => l.Address, patterns),
                TextSearch.Mentions<Lead>(l => l.Name, patterns)))
            .ExecuteUpdateAsync(u => u
                .SetProperty(l => l.Problem, Redact((Lead l) => l.Problem, forms))
                .SetProperty(l => l.Address, Redact((Lead l) => l.Address, forms))
                .SetProperty(l => l.Name, Redact((Lead l) => l.Name, forms)), ct);
        redacted += await db.SmsMessages.Where(TextSearch.Mentions<SmsMessage>(s => s.Body, patterns))
            .ExecuteUpdateAsync(u => u.SetProperty(s => s.Body, Redact((SmsMessage s) => s.Body, forms)), ct);
        return new CallerErasureResult(calls, turns, leads, sms, events, outbox, webhookEvents, notes, redacted);
    }

    /// <summary>What an erased number becomes inside a record that is not the caller's.</summary>
    public const string Redaction = "[erased]";

    /// <summary><c>REPLACE(REPLACE(field, form1, '[erased]'), form2, '[erased]')…</c> over <paramref name="forms"/>, longest first.</summary>
    private static Expression<Func<T, TText>> Redact<T, TText>(Expression<Func<T, TText>> field, IReadOnlyList<string> forms)
    {
        var replace = typeof(string).GetMethod(nameof(string.Replace), [typeof(string), typeof(string)])!;
        var body = field.Body;
        foreach (var form in forms)
        {
            body = Expression.Call(body, replace, Expression.Constant(form),
                Expression.Constant(Redaction));
        }
        return Expression.Lambda<Func<T, TText>>(body, field.Parameters);
    }

    /// <summary>
    /// SQLite: <c>PRAGMA secure_delete</c> on this connection while the erasure runs, so the cells and pages it frees are
    /// overwritten with zeros rather than left readable in the file (sqlite.org/pragma.html#pragma_secure_delete; a file copy
    /// is SQLite's usual backup). PostgreSQL leaves dead tuples until VACUUM reuses their space: no equivalent setting.
    /// </summary>
    private async Task SecureDeleteAsync(bool on, CancellationToken ct)
    {
        if (db.IsSqlite)
        {
            await db.Database.ExecuteSqlRawAsync(on ? "PRAGMA secure_delete=ON" : "PRAGMA secure_delete=FAST", ct); // FAST: the connections' own (SqliteCheckpointer.ConfigureConnection)
        }
    }

    /// <summary>
    /// SQLite: the full-text indexes of calls (FTS5, external content) keep a deleted row's words in their segments until a
    /// merge; <c>optimize</c> merges them into one segment without the deleted entries, its old pages freed (and zeroed).
    /// </summary>
    private async Task PurgeSearchIndexesAsync(CancellationToken ct)
    {
        if (db.IsSqlite)
        {
            await db.Database.ExecuteSqlRawAsync("INSERT INTO \"calls_search\"(\"calls_search\") VALUES('optimize')", ct);
            await db.Database.ExecuteSqlRawAsync("INSERT INTO \"calls_number\"(\"calls_number\") VALUES('optimize')", ct);
        }
    }

    /// <summary>
    /// SQLite: copies the WAL into the database and truncates it (<c>wal_checkpoint(TRUNCATE)</c>), so the pages the erasure
    /// zeroed replace the old ones in the file and no frame of the erased rows stays in the WAL. Best effort: a reader on an
    /// older snapshot makes it stop short; the next checkpoint completes it.
    /// </summary>
    private async Task TruncateWalAsync(CancellationToken ct)
    {
        if (db.IsSqlite)
        {
            await db.Database.ExecuteSqlRawAsync("PRAGMA wal_checkpoint(TRUNCATE)", ct);
        }
    }

    /// <summary>
    /// Webhook events that carry the caller's number or one of the erased calls, with their deliveries and attempts
    /// (whose response excerpts may echo the payload). A delivery still queued is dropped with its event: erased data
    /// is not pushed to the tenant's tools afterwards.
    /// </summary>
    private async Task<int> EraseWebhookEventsAsync(IReadOnlyList<string> patterns, List<Guid> callIds, CancellationToken ct)
    {
        var eventIds = await db.WebhookEvents.Where(TextSearch.Mentions<Webhooks.WebhookEvent>(e => e.PayloadJson, patterns)).Select(e => e.Id).ToListAsync(ct);
        foreach (var callId in callIds)
        {
            var byCall = "%" + callId.ToString("D") + "%";
            eventIds.AddRange(await db.WebhookEvents.Where(e => EF.Functions.Like(e.PayloadJson, byCall)).Select(e => e.Id).ToListAsync(ct));
        }
        eventIds = eventIds.Distinct().ToList();
        if (eventIds.Count == 0)
        {
            return 0;
        }
        var deliveryIds = await db.WebhookDeliveries.Where(d => eventIds.Contains(d.EventId)).Select(d => d.Id).ToListAsync(ct);
        await db.WebhookAttempts.Where(a => deliveryIds.Contains(a.DeliveryId)).ExecuteDeleteAsync(ct);
        await db.WebhookDeliveries.Where(d => deliveryIds.Contains(d.Id)).ExecuteDeleteAsync(ct);
        return await db.WebhookEvents.Where(e => eventIds.Contains(e.Id)).ExecuteDeleteAsync(ct);
    }

    /// <summary>Erases the tenant and everything it owns. The caller has checked the confirmation.</summary>
    public async Task<TenantErasureResult> EraseTenantAsync(Guid tenantId, CancellationToken ct)
    {
        var remote = new List<string>();
        remote.AddRange((await db.Assistants.Where(a => a.VapiAssistantId != null).Select(a => a.VapiAssistantId!).ToListAsync(ct)).Select(id => "vapi assistant " + id));
        remote.AddRange((await db.PhoneNumbers.Select(n => new { n.Mode, n.Number, n.VapiPhoneNumberId }).ToListAsync(ct))
            .Select(n => n.Mode == "vapi" ? $"vapi phone-number {n.VapiPhoneNumberId}" : $"twilio webhooks of {n.Number}"));
        var memberIds = await db.Memberships.Select(m => m.UserId).ToListAsync(ct);

        var strategy = db.Database.CreateExecutionStrategy();
        return await strategy.ExecuteAsync(async () =>
        {
            await using var tx = await db.Database.BeginTransactionAsync(ct);
            var audit = await db.AuditLog.IgnoreQueryFilters().Where(a => a.TenantId == tenantId).ExecuteDeleteAsync(ct);
            await db.UserSessions.Where(s => s.TenantId == tenantId).ExecuteUpdateAsync(s => s.SetProperty(x => x.RevokedAt, clock.GetUtcNow()), ct);
            // Every tenant-owned table references tenants ON DELETE CASCADE.
            await db.Tenants.Where(t => t.Id == tenantId).ExecuteDeleteAsync(ct);
            // The analytics rollup (migration 0019) has no foreign key: the cascade's triggers leave its rows at zero.
            if (db.Database.IsNpgsql())
            {
                // With its pending deltas (0033), under the fold's lock: no fold adds the tenant's rows back.
                await db.Database.SqlQuery<int>($"SELECT analytics_forget({tenantId}) AS \"Value\"").SingleAsync(ct);
            }
            else
            {
                await db.Set<AnalyticsQuarter>().Where(q => q.TenantId == tenantId).ExecuteDeleteAsync(ct);
                await db.Set<AnalyticsHistogramBin>().Where(h => h.TenantId == tenantId).ExecuteDeleteAsync(ct);
                await db.Set<AnalyticsEndedReason>().Where(r => r.TenantId == tenantId).ExecuteDeleteAsync(ct);
            }
            var orphans = await db.Users.Where(u => memberIds.Contains(u.Id) && !db.Memberships.IgnoreQueryFilters().Any(m => m.UserId == u.Id))
                .ExecuteDeleteAsync(ct);
            await tx.CommitAsync(ct);
            return new TenantErasureResult(tenantId, orphans, audit, remote);
        });
    }

    private async Task MeterAsync(List<Guid> callIds, CancellationToken ct)
    {
        var ended = await db.Calls.AsNoTracking().Where(c => callIds.Contains(c.Id) && Calls.CallStatuses.Ended.Contains(c.Status) && c.DurationSeconds != null)
            .Select(c => new { c.Id, c.TenantId, c.DurationSeconds, c.StartedAt, c.CreatedAt, c.EndedAt }).ToListAsync(ct);
        var ids = ended.Select(c => c.Id.ToString()).ToList();
        var metered = await db.UsageRecords.Where(u => u.Kind == UsageKinds.CallSeconds && ids.Contains(u.SourceId)).Select(u => u.SourceId).ToListAsync(ct);
        foreach (var c in ended.Where(c => !metered.Contains(c.Id.ToString())))
        {
            db.UsageRecords.Add(new UsageRecord
            {
                Id = Guid.CreateVersion7(),
                TenantId = c.TenantId,
                Kind = UsageKinds.CallSeconds,
                Quantity = double.IsFinite(c.DurationSeconds!.Value) ? Math.Max(0, c.DurationSeconds.Value) : 0,
                SourceId = c.Id.ToString(),
                Period = UsageMeter.PeriodOf(c.StartedAt ?? c.CreatedAt),
                OccurredAt = c.EndedAt ?? clock.GetUtcNow(),
            });
        }
        await db.SaveChangesAsync(ct);
    }
}

/// <summary>
/// Drops caches that would otherwise outlive an erased tenant on this node: the account and Vapi credential caches, and every
/// per-tenant read cache of the webhook path (each <see cref="ITenantScopedCache"/> registered, so a new one is never forgotten).
/// </summary>
internal sealed class TenantCaches(TenantAccountCache accounts, VapiTenantCache vapi, IEnumerable<ITenantScopedCache> scoped)
{
    private readonly ITenantScopedCache[] scoped = scoped.ToArray();

    public void Invalidate(Guid tenantId)
    {
        accounts.Invalidate(tenantId);
        vapi.Invalidate(tenantId);
        foreach (var cache in scoped)
        {
            cache.Invalidate(tenantId);
        }
    }
}
