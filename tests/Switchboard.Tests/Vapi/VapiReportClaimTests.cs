using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Calls;
using Switchboard.Platform.Database;
using Switchboard.Tenancy;
using Switchboard.Tests.Support;
using Switchboard.Tests.Twilio;
using Switchboard.Vapi;
using Switchboard.Webhooks;

namespace Switchboard.Tests.Vapi;

/// <summary>
/// A Vapi call's post-call pipeline (lead, alerts, <c>call.ended</c>) runs once, whichever of its end-of-call report and
/// <see cref="VapiMissingReportCloser"/> commits first: a report after the closer stores what only Vapi knows (summary,
/// recording, <c>endedReason</c>) and nothing else.
/// </summary>
[Trait("Category", "Database")]
public sealed class VapiReportClaimTests(ClaimRaceFactory factory) : IClassFixture<ClaimRaceFactory>
{
    private const string EmergencyWords = "Mon sous-sol est inondé, rappelez-moi au 514 555 0777.";

    private static string NewNumber() => "+1514" + Random.Shared.Next(2_000_000, 9_999_999);

    private VapiMissingReportCloser Closer => factory.Services.GetRequiredService<VapiMissingReportCloser>();

    /// <summary>
    /// A tenant (on-call number, webhook endpoint) and a call of it, silent for 16 minutes after the caller asked for a quote:
    /// overdue for the closer, which makes a routine lead of it.
    /// </summary>
    /// <param name="endpoint">False for a tenant with no webhook endpoint (no event stored, so no event's unique key to collide on).</param>
    /// <param name="capture">True when the assistant captured the lead during the call (capture_lead): the closer and the
    /// report then complete the same stored lead, no lead's unique key to collide on either.</param>
    private async Task<(TestTenant Tenant, string OnCall, string VapiCallId, Guid CallId)> OverdueCallAsync(bool endpoint = true, bool capture = false)
    {
        var onCall = NewNumber();
        var tenant = await factory.CreateTenantAsync(withTwilio: true,
            configure: t => t.AlertPolicy = new AlertPolicy { OnCallNumbers = [onCall], OfficeNumbers = [NewNumber()] });
        var vapiCallId = Guid.NewGuid().ToString();
        await factory.PostVapiAsync(tenant, """{"message":{"type":"status-update","status":"in-progress","call":{"id":"CALLID","type":"inboundPhoneCall","customer":{"number":"+15145551234"}}}}""".Replace("CALLID", vapiCallId));
        await factory.PostVapiAsync(tenant, """{"message":{"type":"transcript","role":"user","transcriptType":"final","transcript":"Bonjour, j'aimerais une soumission pour un adoucisseur d'eau.","call":{"id":"CALLID"}}}""".Replace("CALLID", vapiCallId));
        if (capture)
        {
            await factory.PostVapiAsync(tenant, """{"message":{"type":"tool-calls","call":{"id":"CALLID"},"toolCallList":[{"id":"t1","type":"function","function":{"name":"capture_lead","arguments":{"problem":"Soumission pour un adoucisseur d'eau","name":"Luc Gagnon","address":"12 rue des Érables, Laval"}}}]}}""".Replace("CALLID", vapiCallId));
        }
        var callId = await factory.WithDbAsync(tenant.Id, async db =>
        {
            if (endpoint)
            {
                db.WebhookEndpoints.Add(new WebhookEndpoint
                {
                    Id = Guid.NewGuid(), TenantId = tenant.Id, Url = "https://hooks.example/calls", SecretProtected = "x", Enabled = true,
                    CreatedAt = factory.Clock.GetUtcNow(), UpdatedAt = factory.Clock.GetUtcNow(),
                });
                await db.SaveChangesAsync();
            }
            return await db.Calls.Where(c => c.ProviderCallId == vapiCallId).Select(c => c.Id).SingleAsync();
        });
        factory.Clock.Advance(TimeSpan.FromMinutes(16));
        return (tenant, onCall, vapiCallId, callId);
    }

    private async Task<(Lead Lead, List<string> SmsPurposes, List<string> EventTypes)> OutcomeAsync(TestTenant tenant, Guid callId) =>
        await factory.WithDbAsync(tenant.Id, async db => (
            await db.Leads.AsNoTracking().SingleAsync(l => l.CallId == callId),
            await db.SmsMessages.Where(s => s.CallId == callId).Select(s => s.Purpose).OrderBy(p => p).ToListAsync(),
            await db.WebhookEvents.Where(e => e.CallId == callId).Select(e => e.Type).OrderBy(t => t).ToListAsync()));

    /// <summary>
    /// The report arrives after the closer ran the pipeline: it replaces the closer's stand-ins with Vapi's summary, recording
    /// and <c>endedReason</c>, but its different reading of the call (an emergency) makes no second lead version, alert or
    /// event (before: the pipeline ran again, the lead turned urgent, the on-call was texted, lead.urgent went out).
    /// </summary>
    [Fact]
    public async Task AReportAfterTheCloserStoresVapisDetailsButRunsThePipelineNoSecondTime()
    {
        var (tenant, onCall, vapiCallId, callId) = await OverdueCallAsync();
        Assert.True(await Closer.CloseAsync(tenant.Id, callId, CancellationToken.None));
        await factory.Outbox.DrainAsync(CancellationToken.None);
        var closed = await OutcomeAsync(tenant, callId);

        var late = await factory.PostVapiAsync(tenant, VapiWebhookTests.EndOfCallReport(vapiCallId, "Sous-sol inondé.", EmergencyWords));
        await factory.Outbox.DrainAsync(CancellationToken.None);

        Assert.True(late.IsSuccessStatusCode);
        await AssertOnceAsync(tenant, onCall, callId, closed);
    }

    /// <summary>
    /// The report's unit reads the call not analyzed and runs the pipeline; before it is written, the closer (another node)
    /// commits its own. The report's save claims the call, loses, and is replayed on the call as stored: Vapi's details alone.
    /// </summary>
    [Fact]
    public async Task AReportWhoseSaveLosesTheRaceToTheCloserRunsThePipelineNoSecondTime()
    {
        var (tenant, onCall, vapiCallId, callId) = await OverdueCallAsync();

        await RaceTheReportAsync(tenant, vapiCallId, callId, EntityState.Added, () => Closer.CloseAsync(tenant.Id, callId, CancellationToken.None));

        var (lead, purposes, types) = await OutcomeAsync(tenant, callId);
        Assert.NotEqual(Urgency.Emergency, lead.Urgency); // the closer's reading
        Assert.DoesNotContain("emergency-alert", purposes);
        Assert.Single(types, t => t == WebhookEventTypes.CallEnded);
        Assert.Single(types, t => t == WebhookEventTypes.LeadCreated);
        Assert.DoesNotContain(WebhookEventTypes.LeadUrgent, types);
        Assert.DoesNotContain(factory.Twilio.Messages, m => m.To == onCall);
        await AssertVapisDetailsAsync(tenant, callId);
    }

    /// <summary>
    /// The same race on a call whose lead was captured during it (both units complete the same stored lead) and a tenant with
    /// no webhook endpoint: the report's lead stays the closer's and nobody is texted (before: the report's save committed
    /// after the closer's, the lead turned urgent and the on-call was texted for a call already analyzed).
    /// </summary>
    [Fact]
    public async Task AReportRacingTheCloserOnACapturedLeadLeavesTheClosersLeadAndTextsNobody()
    {
        var (tenant, onCall, vapiCallId, callId) = await OverdueCallAsync(endpoint: false, capture: true);

        await RaceTheReportAsync(tenant, vapiCallId, callId, EntityState.Modified, () => Closer.CloseAsync(tenant.Id, callId, CancellationToken.None));

        var (lead, purposes, _) = await OutcomeAsync(tenant, callId);
        Assert.Equal(("Luc Gagnon", false), (lead.Name, lead.Urgency == Urgency.Emergency));
        Assert.DoesNotContain("emergency-alert", purposes);
        Assert.DoesNotContain(factory.Twilio.Messages, m => m.To == onCall);
        await AssertVapisDetailsAsync(tenant, callId);
    }

    /// <summary>
    /// The claim alone, nothing else to stop the report: another unit's claim (<see cref="PostCallPipeline.ClaimAsync"/>, the
    /// first statement of the closer's save) commits between the report's read and its save, with no row of the report's to
    /// collide on (no webhook endpoint, no lead stored) and the call's <see cref="Call.Version"/> unchanged (an
    /// <c>UPDATE</c> outside the change tracker), so neither a unique key nor SQLite's version check redoes the report.
    /// The two races above are stopped by those too (the closer inserts the same lead and events; its save bumps the
    /// version): only this one fails when the report's save does not claim the call (a second lead, the on-call texted).
    /// </summary>
    [Fact]
    public async Task AReportWhoseCallWasClaimedBetweenItsReadAndItsSaveStoresVapisDetailsAlone()
    {
        var (tenant, onCall, vapiCallId, callId) = await OverdueCallAsync(endpoint: false);

        await RaceTheReportAsync(tenant, vapiCallId, callId, EntityState.Added, () => factory.WithDbAsync(tenant.Id, async db =>
        {
            await using var tx = await db.Database.BeginTransactionAsync();
            var claimed = await PostCallPipeline.ClaimAsync(db, callId, CancellationToken.None);
            await tx.CommitAsync();
            return claimed;
        }));

        Assert.Equal(0, await factory.WithDbAsync(tenant.Id, db => db.Leads.CountAsync(l => l.CallId == callId)));
        Assert.Empty(await factory.WithDbAsync(tenant.Id, db => db.SmsMessages.Where(s => s.CallId == callId).Select(s => s.Purpose).ToListAsync()));
        Assert.DoesNotContain(factory.Twilio.Messages, m => m.To == onCall);
        await AssertVapisDetailsAsync(tenant, callId);
    }

    /// <summary>
    /// Posts the report (its caller's words an emergency) while another unit runs <paramref name="other"/>: once the report's
    /// unit has read the call and holds the call's lead in <paramref name="leadState"/> (its pipeline running), before its next
    /// query, so the report is still being prepared, outside SQLite's writer. Asserts the report was acknowledged and the other
    /// unit went through.
    /// </summary>
    private async Task RaceTheReportAsync(TestTenant tenant, string vapiCallId, Guid callId, EntityState leadState, Func<Task<bool>> other)
    {
        var otherRan = false;
        factory.Before.Arm(
            context => context is SwitchboardDbContext db && db.ChangeTracker.Entries<Lead>().Any(e => e.State == leadState && e.Entity.CallId == callId),
            async () => otherRan = await other(),
            orBeforeQuery: true);

        var report = await factory.PostVapiAsync(tenant, VapiWebhookTests.EndOfCallReport(vapiCallId, "Sous-sol inondé.", EmergencyWords));
        await factory.Outbox.DrainAsync(CancellationToken.None);

        Assert.True(report.IsSuccessStatusCode);
        Assert.True(otherRan);
    }

    private async Task AssertOnceAsync(TestTenant tenant, string onCall, Guid callId, (Lead Lead, List<string> SmsPurposes, List<string> EventTypes) closed)
    {
        var now = await OutcomeAsync(tenant, callId);
        Assert.Equal((closed.Lead.Id, closed.Lead.Urgency, closed.Lead.Phone, closed.Lead.UpdatedAt), (now.Lead.Id, now.Lead.Urgency, now.Lead.Phone, now.Lead.UpdatedAt));
        Assert.Equal(closed.SmsPurposes, now.SmsPurposes);
        Assert.Equal(closed.EventTypes, now.EventTypes);
        Assert.DoesNotContain(WebhookEventTypes.LeadUrgent, now.EventTypes);
        Assert.DoesNotContain(factory.Twilio.Messages, m => m.To == onCall);
        await AssertVapisDetailsAsync(tenant, callId);
    }

    /// <summary>The report's own details, over the closer's stand-ins.</summary>
    private async Task AssertVapisDetailsAsync(TestTenant tenant, Guid callId)
    {
        var call = await factory.WithDbAsync(tenant.Id, db => db.Calls.SingleAsync(c => c.Id == callId));
        Assert.Equal(("ended", true, "customer-ended-call"), (call.Status, call.Analyzed, call.EndedReason));
        Assert.Equal(("Sous-sol inondé.", "https://storage.vapi.ai/rec.wav"), (call.Summary, call.RecordingUrl));
        Assert.Contains("inondé", call.TranscriptText);
    }
}
