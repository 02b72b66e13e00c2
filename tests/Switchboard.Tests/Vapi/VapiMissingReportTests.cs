using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Calls;
using Switchboard.Platform.Database;
using Switchboard.Tenancy;
using Switchboard.Tests.Alerts;
using Switchboard.Tests.Billing;
using Switchboard.Tests.Support;
using Switchboard.Vapi;

namespace Switchboard.Tests.Vapi;

/// <summary>
/// A Vapi call whose end-of-call report never came (Vapi does not resend a fire-and-forget message) is closed from what was
/// stored during it and goes through the post-call pipeline: the caller's emergency is texted, the call stops showing as live.
/// </summary>
[Trait("Category", "Database")]
public sealed class VapiMissingReportTests(TwilioFactory factory) : IClassFixture<TwilioFactory>
{
    private static string NewNumber() => "+1514" + Random.Shared.Next(2_000_000, 9_999_999);

    private VapiMissingReportCloser Closer => factory.Services.GetRequiredService<VapiMissingReportCloser>();

    private async Task<(TestTenant Tenant, string OnCall)> TenantAsync()
    {
        var onCall = NewNumber();
        var tenant = await factory.CreateTenantAsync(withTwilio: true, configure: t => t.AlertPolicy = new AlertPolicy { OnCallNumbers = [onCall], OfficeNumbers = [NewNumber()] });
        return (tenant, onCall);
    }

    private async Task LiveCallAsync(TestTenant tenant, string callId, string callerWords)
    {
        await factory.PostVapiAsync(tenant, """{"message":{"type":"status-update","status":"in-progress","call":{"id":"CALLID","type":"inboundPhoneCall","customer":{"number":"+15145551234"}}}}""".Replace("CALLID", callId));
        await factory.PostVapiAsync(tenant, """{"message":{"type":"transcript","role":"assistant","transcriptType":"final","transcript":"Drain Fortin, bonjour!","call":{"id":"CALLID"}}}""".Replace("CALLID", callId));
        await factory.PostVapiAsync(tenant, """{"message":{"type":"transcript","role":"user","transcriptType":"final","transcript":"WORDS","call":{"id":"CALLID"}}}""".Replace("CALLID", callId).Replace("WORDS", callerWords));
    }

    [Fact]
    public async Task ACallWhoseReportNeverCameIsClosedFromItsTranscriptAndTheEmergencyTextedOnceEvenWhenTheReportComesLate()
    {
        var (tenant, onCall) = await TenantAsync();
        var callId = Guid.NewGuid().ToString();
        await LiveCallAsync(tenant, callId, "Mon sous-sol est inondé, rappelez-moi au 514 555 0777.");

        factory.Clock.Advance(TimeSpan.FromMinutes(5));
        await Closer.CloseOverdueAsync(CancellationToken.None); // 5 minutes of silence: still a live call
        var whileLive = await factory.WithDbAsync(tenant.Id, db => db.Calls.SingleAsync());
        factory.Clock.Advance(TimeSpan.FromMinutes(11));
        await Closer.CloseOverdueAsync(CancellationToken.None);
        await factory.Outbox.DrainAsync(CancellationToken.None);

        Assert.Equal("in-progress", whileLive.Status);
        Assert.False(whileLive.Analyzed);
        var call = await factory.WithDbAsync(tenant.Id, db => db.Calls.SingleAsync());
        Assert.Equal("ended", call.Status);
        Assert.Equal(VapiMissingReportCloser.EndedReason, call.EndedReason);
        Assert.True(call.Analyzed);
        Assert.True(call.TranscriptFinal);
        Assert.Contains("user: Mon sous-sol est inondé", call.TranscriptText);
        var lead = await factory.WithDbAsync(tenant.Id, db => db.Leads.SingleAsync());
        Assert.Equal("emergency", lead.Urgency);
        Assert.Equal("+15145550777", lead.Phone);
        var text = Assert.Single(factory.Twilio.Messages, m => m.To == onCall);
        Assert.StartsWith("URGENCE", text.Body);

        // The report arrives after all: it completes the call, and the plumber is not texted twice.
        var late = await factory.PostVapiAsync(tenant, VapiWebhookTests.EndOfCallReport(callId, "Sous-sol inondé.", "Mon sous-sol est inondé, rappelez-moi au 514 555 0777."));
        await factory.Outbox.DrainAsync(CancellationToken.None);
        Assert.True(late.IsSuccessStatusCode);
        Assert.Single(factory.Twilio.Messages, m => m.To == onCall);
        var completed = await factory.WithDbAsync(tenant.Id, db => db.Calls.SingleAsync());
        Assert.Equal("customer-ended-call", completed.EndedReason);
        Assert.Equal("Sous-sol inondé.", completed.Summary);
    }

    [Fact]
    public async Task AnEndedStatusWithoutAReportIsClosedAfterFiveMinutesKeepingVapisEndedReasonAndTheCapturedLead()
    {
        var (tenant, onCall) = await TenantAsync();
        var callId = Guid.NewGuid().ToString();
        await LiveCallAsync(tenant, callId, "Bonjour, j'aimerais une soumission pour un chauffe-eau.");
        await factory.PostVapiAsync(tenant, """{"message":{"type":"tool-calls","call":{"id":"CALLID"},"toolCallList":[{"id":"t1","type":"function","function":{"name":"capture_lead","arguments":{"problem":"Remplacer le chauffe-eau","name":"Luc Gagnon","address":"12 rue des Érables, Laval"}}}]}}""".Replace("CALLID", callId));
        await factory.PostVapiAsync(tenant, """{"message":{"type":"status-update","status":"ended","endedReason":"customer-ended-call","call":{"id":"CALLID"}}}""".Replace("CALLID", callId));
        var otherCall = Guid.NewGuid().ToString();
        factory.Clock.Advance(TimeSpan.FromMinutes(4));
        await LiveCallAsync(tenant, otherCall, "J'ai une question sur vos tarifs."); // a call still going on

        factory.Clock.Advance(TimeSpan.FromMinutes(2));
        await Closer.CloseOverdueAsync(CancellationToken.None);

        var calls = await factory.WithDbAsync(tenant.Id, db => db.Calls.ToDictionaryAsync(c => c.ProviderCallId));
        Assert.Equal("ended", calls[callId].Status);
        Assert.Equal("customer-ended-call", calls[callId].EndedReason);
        Assert.True(calls[callId].Analyzed);
        Assert.Equal("in-progress", calls[otherCall].Status);
        Assert.False(calls[otherCall].Analyzed);
        var lead = await factory.WithDbAsync(tenant.Id, db => db.Leads.SingleAsync(l => l.CallId == calls[callId].Id));
        Assert.Equal("Luc Gagnon", lead.Name);
        Assert.Equal("Remplacer le chauffe-eau", lead.Problem);
        Assert.Equal("12 rue des Érables, Laval", lead.Address);
        Assert.False(await Closer.CloseAsync(tenant.Id, calls[callId].Id, CancellationToken.None)); // idempotent
        await factory.Outbox.DrainAsync(CancellationToken.None);
        Assert.DoesNotContain(factory.Twilio.Messages, m => m.To == onCall); // a routine lead: no emergency text
    }

    /// <summary>
    /// Before <see cref="VapiEventProcessor.CallMessageTypes"/>, a message of any type (a chat or session lifecycle message, a type
    /// Vapi added) created its call when none was stored: a phantom left in <c>queued</c>, never reported on, counted as live.
    /// The rows stored then are closed like any call whose report never came, and leave no lead.
    /// </summary>
    [Fact]
    public async Task APhantomCallAMessageOutsideACallLeftQueuedIsClosedWithoutALead()
    {
        var (tenant, onCall) = await TenantAsync();
        var now = factory.Clock.GetUtcNow();
        var phantom = new Call
        {
            Id = Guid.CreateVersion7(), TenantId = tenant.Id, Channel = CallChannels.Voice, Provider = "vapi", ProviderCallId = Guid.NewGuid().ToString(),
            CreatedAt = now, UpdatedAt = now,
        };
        await factory.WithDbAsync(tenant.Id, db =>
        {
            db.Calls.Add(phantom);
            return db.SaveChangesAsync();
        });

        factory.Clock.Advance(TimeSpan.FromMinutes(16));
        await Closer.CloseOverdueAsync(CancellationToken.None);
        await factory.Outbox.DrainAsync(CancellationToken.None);

        var call = await factory.WithDbAsync(tenant.Id, db => db.Calls.SingleAsync(c => c.Id == phantom.Id));
        Assert.Equal(("ended", VapiMissingReportCloser.EndedReason, true), (call.Status, call.EndedReason, call.Analyzed));
        Assert.False(await factory.WithDbAsync(tenant.Id, db => db.Leads.AnyAsync(l => l.CallId == phantom.Id)));
        Assert.DoesNotContain(factory.Twilio.Messages, m => m.To == onCall);
        Assert.False(await factory.WithDbAsync(tenant.Id, db => CallsApi.Live(db.Calls, factory.Clock.GetUtcNow(), 15).AnyAsync(c => c.Id == phantom.Id)));
    }

    /// <summary>The pass reads the calls not yet analyzed through their partial index (migration 0036), not every call ever taken.</summary>
    [Fact]
    public async Task ThePassReadsThePartialIndexOfCallsNotYetAnalyzed()
    {
        var tenant = await factory.CreateTenantAsync();
        using var scope = factory.Scope();
        var db = scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>();
        var now = factory.Clock.GetUtcNow();
        var sql = string.Join('\n', VapiMissingReportCloser.Overdue(db.Calls.IgnoreQueryFilters(), now, now).Select(c => c.Id).ToQueryString()
            .Split('\n').Where(line => !line.StartsWith(".param", StringComparison.Ordinal) && !line.StartsWith("--", StringComparison.Ordinal)));
        await LiveCallsIndexTests.AssertPlannedOnIndexAsync(db, tenant.Id, sql, "IX_calls_unanalyzed", now);
    }
}
