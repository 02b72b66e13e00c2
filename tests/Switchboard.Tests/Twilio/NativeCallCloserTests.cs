using System.Text.Json.Nodes;
using System.Xml.Linq;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Calls;
using Switchboard.Realtime.Bridge;
using Switchboard.Tenancy;
using Switchboard.Tests.Alerts;
using Switchboard.Tests.Support;
using Switchboard.Twilio;
using Switchboard.Webhooks;

namespace Switchboard.Tests.Twilio;

/// <summary>
/// A native call whose end never came (the node holding its stream died; Twilio's final status callback lost or not
/// configured) is ended server-side by <see cref="NativeCallCloser"/>, as its normal end would have: the caller's emergency
/// texted, <c>call.ended</c> once, the call no longer counted as live.
/// </summary>
[Trait("Category", "Database")]
public sealed class NativeCallCloserTests(TwilioFactory factory) : IClassFixture<TwilioFactory>
{
    private static int sequence;

    private static string NewCallSid() => $"CA{Interlocked.Increment(ref sequence):D8}{Guid.NewGuid():N}"[..34];

    private static string NewNumber() => "+1514" + Random.Shared.Next(2_000_000, 9_999_999);

    private NativeCallCloser Closer => factory.Services.GetRequiredService<NativeCallCloser>();

    private async Task<(TestTenant Tenant, string OnCall)> TenantAsync()
    {
        var onCall = NewNumber();
        var tenant = await factory.CreateTenantAsync(withTwilio: true,
            configure: t => t.AlertPolicy = new AlertPolicy { OnCallNumbers = [onCall], OfficeNumbers = [NewNumber()] });
        await factory.WithDbAsync(tenant.Id, db =>
        {
            db.WebhookEndpoints.Add(new WebhookEndpoint
            {
                Id = Guid.NewGuid(), TenantId = tenant.Id, Url = "https://hooks.example/calls", SecretProtected = "x", Enabled = true,
                CreatedAt = factory.Clock.GetUtcNow(), UpdatedAt = factory.Clock.GetUtcNow(),
            });
            return db.SaveChangesAsync();
        });
        return (tenant, onCall);
    }

    private async Task<HttpResponseMessage> PostSignedAsync(string path, IDictionary<string, string> form)
    {
        var client = factory.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new FormUrlEncodedContent(form) };
        request.Headers.Add("X-Twilio-Signature", TwilioRequestValidator.ComputeSignature(new Uri(client.BaseAddress!, path).ToString(), form, TwilioSimulator.AuthToken));
        return await client.SendAsync(request);
    }

    /// <summary>Twilio's incoming-call webhook; returns the stream's grant read from the TwiML's <c>&lt;Stream url&gt;</c>.</summary>
    private async Task<MediaStreamGrant> IncomingCallAsync(TestTenant tenant, string callSid)
    {
        var response = await PostSignedAsync($"/webhooks/twilio/voice/{tenant.Id}", TwilioVoiceWebhookTests.IncomingCall(callSid));
        response.EnsureSuccessStatusCode();
        var url = XElement.Parse(await response.Content.ReadAsStringAsync()).Descendants("Stream").Single().Attribute("url")!.Value;
        return factory.Services.GetRequiredService<MediaStreamTokens>().Read(url[(url.LastIndexOf('/') + 1)..])!;
    }

    private Task<List<string>> EventTypesAsync(TestTenant tenant, Guid callId) =>
        factory.WithDbAsync(tenant.Id, db => db.WebhookEvents.Where(e => e.CallId == callId).Select(e => e.Type).ToListAsync());

    [Fact]
    public async Task ABridgedCallWhoseEndNeverCameIsEndedFromItsTurnsTheEmergencyTextedAndCallEndedSentOnce()
    {
        var (tenant, onCall) = await TenantAsync();
        var callSid = NewCallSid();
        var grant = await IncomingCallAsync(tenant, callSid);
        // The stream starts (as the bridge marks it), the caller speaks, then the node holding the socket is gone.
        var store = factory.Services.GetRequiredService<VoiceCallStore>();
        var (setup, _) = (await store.LoadSetupAsync(grant, "http://localhost", CancellationToken.None))!.Value;
        var started = factory.Clock.GetUtcNow();
        await store.MarkStartedAsync(setup, started, CancellationToken.None);
        await factory.WithDbAsync(tenant.Id, db =>
        {
            db.TranscriptTurns.Add(new TranscriptTurn { Id = Guid.CreateVersion7(), TenantId = tenant.Id, CallId = grant.CallId, Seq = 0, Role = "assistant", Text = "Drain Fortin, bonjour!", At = started });
            db.TranscriptTurns.Add(new TranscriptTurn
            {
                Id = Guid.CreateVersion7(), TenantId = tenant.Id, CallId = grant.CallId, Seq = 1, Role = "user",
                Text = "Mon sous-sol est inondé, rappelez-moi au 514 555 0777.", At = started.AddSeconds(40),
            });
            return db.SaveChangesAsync();
        });

        factory.Clock.Advance(TimeSpan.FromMinutes(20)); // within the tenant's 15-minute calls and the 15-minute grace
        await Closer.CloseStaleAsync(CancellationToken.None);
        var whileLive = await factory.WithDbAsync(tenant.Id, db => db.Calls.SingleAsync(c => c.Id == grant.CallId));
        factory.Clock.Advance(TimeSpan.FromMinutes(11));
        Assert.True(await Closer.CloseStaleAsync(CancellationToken.None) >= 1);
        await factory.Outbox.DrainAsync(CancellationToken.None);

        Assert.Equal("in-progress", whileLive.Status);
        var call = await factory.WithDbAsync(tenant.Id, db => db.Calls.SingleAsync(c => c.Id == grant.CallId));
        Assert.Equal(("completed", NativeCallCloser.EndedReason, true, true), (call.Status, call.EndedReason, call.Analyzed, call.TranscriptFinal));
        Assert.Equal(started.AddSeconds(40), call.EndedAt); // its last sign of life, not the pass's time
        Assert.Equal(40, call.DurationSeconds);
        Assert.Contains("user: Mon sous-sol est inondé", call.TranscriptText);
        var lead = await factory.WithDbAsync(tenant.Id, db => db.Leads.SingleAsync(l => l.CallId == call.Id));
        Assert.Equal(("emergency", "+15145550777"), (lead.Urgency, lead.Phone));
        Assert.StartsWith("URGENCE", Assert.Single(factory.Twilio.Messages, m => m.To == onCall).Body);
        Assert.False(await Closer.CloseAsync(tenant.Id, call.Id, CancellationToken.None)); // idempotent

        // Twilio's final status comes after all: the call stays as closed, its end is not sent twice.
        var late = await PostSignedAsync($"/webhooks/twilio/status/{tenant.Id}", new Dictionary<string, string>
        {
            ["AccountSid"] = TwilioSimulator.AccountSid, ["CallSid"] = callSid, ["CallStatus"] = "completed", ["CallDuration"] = "2400",
        });
        Assert.True(late.IsSuccessStatusCode);
        var types = await EventTypesAsync(tenant, call.Id);
        Assert.Single(types, t => t == WebhookEventTypes.CallEnded);
        Assert.Contains(WebhookEventTypes.CallAnalyzed, types);
        Assert.Contains(WebhookEventTypes.LeadUrgent, types);
        Assert.Equal(40, (await factory.WithDbAsync(tenant.Id, db => db.Calls.SingleAsync(c => c.Id == grant.CallId))).DurationSeconds);
    }

    /// <summary>
    /// Twilio's final status can arrive once the media socket is accepted but before the stream's <c>start</c> is saved: the
    /// bridge ends that call, and its end is published once, with the summary and the lead (before: call.ended and
    /// call.analyzed went out at the status callback, empty, and the bridge's were dropped as repeats).
    /// </summary>
    [Fact]
    public async Task AFinalStatusBetweenTheStreamsAcceptAndItsStartLeavesTheEndToTheBridgeWithItsSummary()
    {
        var (tenant, _) = await TenantAsync();
        var callSid = NewCallSid();
        var grant = await IncomingCallAsync(tenant, callSid);
        var store = factory.Services.GetRequiredService<VoiceCallStore>();
        var (setup, _) = (await store.LoadSetupAsync(grant, "http://localhost", CancellationToken.None))!.Value;
        Assert.True(await factory.Services.GetRequiredService<global::Switchboard.Platform.Cluster.StreamTokenLedger>().TryUseAsync(grant, CancellationToken.None)); // the socket is accepted

        var status = await PostSignedAsync($"/webhooks/twilio/status/{tenant.Id}", new Dictionary<string, string>
        {
            ["AccountSid"] = TwilioSimulator.AccountSid, ["CallSid"] = callSid, ["CallStatus"] = "completed", ["CallDuration"] = "9",
        });
        Assert.True(status.IsSuccessStatusCode);
        var afterStatus = await EventTypesAsync(tenant, grant.CallId);
        // The stream starts, the caller speaks, the stream stops: the bridge finishes the call.
        var started = await StartAndSpeakAsync(tenant, setup, grant.CallId, "Ma toilette déborde, rappelez-moi au 514 555 0777.", TimeSpan.FromSeconds(3));
        await store.FinishAsync(setup, "caller-hangup", started, null, null, CancellationToken.None);

        Assert.DoesNotContain(WebhookEventTypes.CallEnded, afterStatus);
        var types = await EventTypesAsync(tenant, grant.CallId);
        Assert.Single(types, t => t == WebhookEventTypes.CallEnded);
        var analyzed = JsonNode.Parse(await factory.WithDbAsync(tenant.Id, db => db.WebhookEvents
            .Where(e => e.CallId == grant.CallId && e.Type == WebhookEventTypes.CallAnalyzed).Select(e => e.PayloadJson).SingleAsync()))!;
        var data = analyzed["data"] ?? analyzed;
        Assert.False(string.IsNullOrEmpty((string?)data["summary"]));
        Assert.NotNull(data["leadId"]);
        var call = await factory.WithDbAsync(tenant.Id, db => db.Calls.SingleAsync(c => c.Id == grant.CallId));
        Assert.Equal(("completed", true), (call.Status, call.Analyzed));
    }

    [Fact]
    public async Task ACallWhoseStreamNeverConnectedAndWhoseStatusNeverCameIsEndedWithCallEndedAlone()
    {
        var (tenant, _) = await TenantAsync();
        var grant = await IncomingCallAsync(tenant, NewCallSid());
        var other = await IncomingCallAsync(tenant, NewCallSid()); // rings later: still within its time
        var created = factory.Clock.GetUtcNow();

        factory.Clock.Advance(TimeSpan.FromMinutes(31));
        await factory.WithDbAsync(tenant.Id, async db =>
        {
            (await db.Calls.SingleAsync(c => c.Id == other.CallId)).UpdatedAt = factory.Clock.GetUtcNow().AddMinutes(-1);
            return await db.SaveChangesAsync();
        });
        await Closer.CloseStaleAsync(CancellationToken.None);

        var calls = await factory.WithDbAsync(tenant.Id, db => db.Calls.ToDictionaryAsync(c => c.Id));
        var call = calls[grant.CallId];
        Assert.Equal(("completed", NativeCallCloser.EndedReason, created), (call.Status, call.EndedReason, call.EndedAt));
        Assert.Null(call.DurationSeconds); // never answered by the assistant
        Assert.Equal("ringing", calls[other.CallId].Status);
        Assert.Single(await EventTypesAsync(tenant, call.Id), t => t == WebhookEventTypes.CallEnded);
        Assert.Equal(0, await factory.WithDbAsync(tenant.Id, db => db.Leads.CountAsync(l => l.CallId == call.Id)));
        var data = JsonNode.Parse(await factory.WithDbAsync(tenant.Id, db => db.WebhookEvents.Where(e => e.CallId == call.Id && e.Type == WebhookEventTypes.CallEnded)
            .Select(e => e.PayloadJson).SingleAsync()))!;
        Assert.Equal(NativeCallCloser.EndedReason, (string?)(data["data"] ?? data)["endedReason"]);
    }

    /// <summary>A bridged call: the stream started (as the bridge marks it) and the caller reported an emergency.</summary>
    private async Task<(MediaStreamGrant Grant, VoiceCallSetup Setup, DateTimeOffset Started)> BridgedCallAsync(TestTenant tenant, string callSid)
    {
        var grant = await IncomingCallAsync(tenant, callSid);
        var store = factory.Services.GetRequiredService<VoiceCallStore>();
        var (setup, _) = (await store.LoadSetupAsync(grant, "http://localhost", CancellationToken.None))!.Value;
        var started = await StartAndSpeakAsync(tenant, setup, grant.CallId, "Mon sous-sol est inondé, rappelez-moi au 514 555 0777.", TimeSpan.FromSeconds(5));
        return (grant, setup, started);
    }

    /// <summary>The stream starts now (as the bridge marks it) and the caller says <paramref name="text"/> <paramref name="after"/> later; returns the start.</summary>
    private async Task<DateTimeOffset> StartAndSpeakAsync(TestTenant tenant, VoiceCallSetup setup, Guid callId, string text, TimeSpan after)
    {
        var started = factory.Clock.GetUtcNow();
        await factory.Services.GetRequiredService<VoiceCallStore>().MarkStartedAsync(setup, started, CancellationToken.None);
        await factory.WithDbAsync(tenant.Id, db =>
        {
            db.TranscriptTurns.Add(new TranscriptTurn
            {
                Id = Guid.CreateVersion7(), TenantId = tenant.Id, CallId = callId, Seq = 0, Role = "user", Text = text, At = started + after,
            });
            return db.SaveChangesAsync();
        });
        return started;
    }

    private Task<HttpResponseMessage> CompletedAsync(TestTenant tenant, string callSid) =>
        PostSignedAsync($"/webhooks/twilio/status/{tenant.Id}", new Dictionary<string, string>
        {
            ["AccountSid"] = TwilioSimulator.AccountSid, ["CallSid"] = callSid, ["CallStatus"] = "completed", ["CallDuration"] = "30",
        });

    /// <summary>
    /// The node holding a bridged call's stream dies; Twilio's final status (<c>completed</c>) comes later. The status leaves a
    /// bridged call's end to its stream, which never comes: the closer runs its pipeline once the grace has passed (before: the
    /// call was completed for ever without a lead, an alert or <c>call.ended</c>, as the closer read only calls not ended).
    /// </summary>
    [Fact]
    public async Task ABridgedCallCompletedByItsStatusAfterItsNodeDiedIsAnalyzedOnceByTheCloser()
    {
        var (tenant, onCall) = await TenantAsync();
        var callSid = NewCallSid();
        var (grant, _, _) = await BridgedCallAsync(tenant, callSid);
        Assert.True((await CompletedAsync(tenant, callSid)).IsSuccessStatusCode);
        Assert.DoesNotContain(WebhookEventTypes.CallEnded, await EventTypesAsync(tenant, grant.CallId)); // left to the (dead) bridge

        factory.Clock.Advance(TimeSpan.FromMinutes(5)); // within the grace: the stream's end may still come
        await Closer.CloseStaleAsync(CancellationToken.None);
        Assert.False((await factory.WithDbAsync(tenant.Id, db => db.Calls.SingleAsync(c => c.Id == grant.CallId))).Analyzed);
        factory.Clock.Advance(TimeSpan.FromMinutes(11));
        Assert.True(await Closer.CloseStaleAsync(CancellationToken.None) >= 1);
        Assert.False(await Closer.CloseAsync(tenant.Id, grant.CallId, CancellationToken.None)); // once
        await factory.Outbox.DrainAsync(CancellationToken.None);

        var call = await factory.WithDbAsync(tenant.Id, db => db.Calls.SingleAsync(c => c.Id == grant.CallId));
        Assert.Equal(("completed", NativeCallCloser.StreamEndMissingReason, true, true), (call.Status, call.EndedReason, call.Analyzed, call.TranscriptFinal));
        Assert.Equal(30, call.DurationSeconds); // Twilio's, not made up here
        var lead = await factory.WithDbAsync(tenant.Id, db => db.Leads.SingleAsync(l => l.CallId == call.Id));
        Assert.Equal(("emergency", "+15145550777"), (lead.Urgency, lead.Phone));
        Assert.StartsWith("URGENCE", Assert.Single(factory.Twilio.Messages, m => m.To == onCall).Body);
        Assert.Single(await EventTypesAsync(tenant, call.Id), t => t == WebhookEventTypes.CallEnded);
    }

    /// <summary>
    /// The stream's end and the closer both read the call not analyzed (two nodes: the bridge slow to finish, the closer's
    /// pass): the one that commits second saves no lead, alert or event of its own, and the stream's end still writes its
    /// transcript. The claim is in the database, not in either process.
    /// </summary>
    [Fact]
    public async Task TheStreamsEndAndTheCloserRacingRunThePostCallPipelineOnce()
    {
        var (tenant, onCall) = await TenantAsync();
        var callSid = NewCallSid();
        var (grant, _, _) = await BridgedCallAsync(tenant, callSid);
        Assert.True((await CompletedAsync(tenant, callSid)).IsSuccessStatusCode);
        factory.Clock.Advance(TimeSpan.FromMinutes(16));

        // One racer's unit reads the call and runs the pipeline, but commits last.
        await using var scope = factory.Services.CreateAsyncScope();
        scope.ServiceProvider.GetRequiredService<CurrentTenant>().Set(tenant.Id);
        var db = scope.ServiceProvider.GetRequiredService<global::Switchboard.Platform.Database.SwitchboardDbContext>();
        var call = await db.Calls.SingleAsync(c => c.Id == grant.CallId);
        var tenantRow = await db.Tenants.SingleAsync(t => t.Id == tenant.Id);
        await scope.ServiceProvider.GetRequiredService<PostCallPipeline>()
            .RunAsync(tenantRow, null, call, null, null, "Mon sous-sol est inondé, rappelez-moi au 514 555 0777.", CancellationToken.None);
        // Meanwhile the other racer (here the closer) commits first.
        Assert.True(await Closer.CloseAsync(tenant.Id, grant.CallId, CancellationToken.None));

        var writes = factory.Services.GetRequiredService<global::Switchboard.Platform.Database.SqliteWriteGate>();
        Assert.False(await PostCallPipeline.SaveClaimedAsync(db, writes, grant.CallId, CancellationToken.None));
        await factory.Outbox.DrainAsync(CancellationToken.None);

        Assert.Equal(1, await factory.WithDbAsync(tenant.Id, d => d.Leads.CountAsync(l => l.CallId == grant.CallId)));
        Assert.Single(factory.Twilio.Messages, m => m.To == onCall);
        var types = await EventTypesAsync(tenant, grant.CallId);
        Assert.Single(types, t => t == WebhookEventTypes.CallEnded);
        Assert.Single(types, t => t == WebhookEventTypes.LeadCreated);
    }

    /// <summary>
    /// The closer ran a bridged call's pipeline (its stream's end late, not lost): the stream's end then writes its status and
    /// transcript but makes no second lead, alert or <c>call.ended</c>.
    /// </summary>
    [Fact]
    public async Task AStreamsEndAfterTheCloserRanThePipelineAddsNoSecondLeadOrAlert()
    {
        var (tenant, onCall) = await TenantAsync();
        var callSid = NewCallSid();
        var (grant, setup, started) = await BridgedCallAsync(tenant, callSid);
        Assert.True((await CompletedAsync(tenant, callSid)).IsSuccessStatusCode);
        factory.Clock.Advance(TimeSpan.FromMinutes(16));
        Assert.True(await Closer.CloseAsync(tenant.Id, grant.CallId, CancellationToken.None));

        await factory.Services.GetRequiredService<VoiceCallStore>().FinishAsync(setup, "caller-hangup", started, 420, null, CancellationToken.None);
        await factory.Outbox.DrainAsync(CancellationToken.None);

        var call = await factory.WithDbAsync(tenant.Id, db => db.Calls.SingleAsync(c => c.Id == grant.CallId));
        Assert.Equal((true, 420d), (call.Analyzed, call.GreetingLatencyMs)); // the stream's end still wrote what it alone knows
        Assert.Equal(1, await factory.WithDbAsync(tenant.Id, db => db.Leads.CountAsync(l => l.CallId == grant.CallId)));
        Assert.Single(factory.Twilio.Messages, m => m.To == onCall);
        Assert.Single(await EventTypesAsync(tenant, grant.CallId), t => t == WebhookEventTypes.CallEnded);
    }

    /// <summary>
    /// The node holding a call's socket dies after accepting it (the stream token used) but before saving the stream's start:
    /// the call has no <c>StartedAt</c>, its bridge stored the caller's words (a start whose save failed is only logged), and
    /// Twilio's final status leaves its end to that bridge. Once the grace has passed the call is analyzed once (before: the
    /// closer read it as never bridged and the status callback as its bridge's, so it stayed completed for ever with no lead,
    /// alert or <c>call.ended</c>).
    /// </summary>
    [Fact]
    public async Task ACallWhoseSocketWasAcceptedButWhoseStartWasNeverSavedIsAnalyzedOnceAfterItsFinalStatus()
    {
        var (tenant, onCall) = await TenantAsync();
        var callSid = NewCallSid();
        var grant = await IncomingCallAsync(tenant, callSid);
        Assert.True(await factory.Services.GetRequiredService<global::Switchboard.Platform.Cluster.StreamTokenLedger>().TryUseAsync(grant, CancellationToken.None));
        await factory.WithDbAsync(tenant.Id, db =>
        {
            db.TranscriptTurns.Add(new TranscriptTurn
            {
                Id = Guid.CreateVersion7(), TenantId = tenant.Id, CallId = grant.CallId, Seq = 0, Role = "user",
                Text = "Mon sous-sol est inondé, rappelez-moi au 514 555 0777.", At = factory.Clock.GetUtcNow().AddSeconds(4),
            });
            return db.SaveChangesAsync();
        });
        Assert.True((await CompletedAsync(tenant, callSid)).IsSuccessStatusCode);
        Assert.True((await CompletedAsync(tenant, callSid)).IsSuccessStatusCode); // retried by Twilio

        factory.Clock.Advance(TimeSpan.FromMinutes(5)); // within the grace: the bridge may still finish it
        await factory.Outbox.DrainAsync(CancellationToken.None);
        await Closer.CloseStaleAsync(CancellationToken.None);
        var withinGrace = await factory.WithDbAsync(tenant.Id, db => db.Calls.SingleAsync(c => c.Id == grant.CallId));
        Assert.DoesNotContain(WebhookEventTypes.CallEnded, await EventTypesAsync(tenant, grant.CallId));
        factory.Clock.Advance(TimeSpan.FromMinutes(11));
        await factory.Outbox.DrainAsync(CancellationToken.None);
        await Closer.CloseStaleAsync(CancellationToken.None);
        await factory.Outbox.DrainAsync(CancellationToken.None);

        Assert.Equal(("completed", false), (withinGrace.Status, withinGrace.Analyzed));
        var call = await factory.WithDbAsync(tenant.Id, db => db.Calls.SingleAsync(c => c.Id == grant.CallId));
        Assert.Equal(("completed", NativeCallCloser.StreamEndMissingReason, true, true), (call.Status, call.EndedReason, call.Analyzed, call.TranscriptFinal));
        Assert.Null(call.StartedAt);
        var lead = await factory.WithDbAsync(tenant.Id, db => db.Leads.SingleAsync(l => l.CallId == call.Id));
        Assert.Equal(("emergency", "+15145550777"), (lead.Urgency, lead.Phone));
        Assert.StartsWith("URGENCE", Assert.Single(factory.Twilio.Messages, m => m.To == onCall).Body);
        var types = await EventTypesAsync(tenant, call.Id);
        Assert.Single(types, t => t == WebhookEventTypes.CallEnded);
        Assert.Single(types, t => t == WebhookEventTypes.CallAnalyzed);
    }

    /// <summary>
    /// The same, but the bridge was alive after all and finished the call within the grace: the check finds it analyzed and
    /// changes nothing.
    /// </summary>
    [Fact]
    public async Task TheCheckOfAnAcceptedSocketChangesNothingWhenItsBridgeFinishedTheCall()
    {
        var (tenant, onCall) = await TenantAsync();
        var callSid = NewCallSid();
        var grant = await IncomingCallAsync(tenant, callSid);
        var store = factory.Services.GetRequiredService<VoiceCallStore>();
        var (setup, _) = (await store.LoadSetupAsync(grant, "http://localhost", CancellationToken.None))!.Value;
        Assert.True(await factory.Services.GetRequiredService<global::Switchboard.Platform.Cluster.StreamTokenLedger>().TryUseAsync(grant, CancellationToken.None));
        Assert.True((await CompletedAsync(tenant, callSid)).IsSuccessStatusCode);
        var started = factory.Clock.GetUtcNow();
        await store.MarkStartedAsync(setup, started, CancellationToken.None);
        await factory.WithDbAsync(tenant.Id, db =>
        {
            db.TranscriptTurns.Add(new TranscriptTurn
            {
                Id = Guid.CreateVersion7(), TenantId = tenant.Id, CallId = grant.CallId, Seq = 0, Role = "user",
                Text = "Mon sous-sol est inondé, rappelez-moi au 514 555 0777.", At = started.AddSeconds(3),
            });
            return db.SaveChangesAsync();
        });
        await store.FinishAsync(setup, "caller-hangup", started, null, null, CancellationToken.None);
        var finished = await factory.WithDbAsync(tenant.Id, db => db.Calls.AsNoTracking().SingleAsync(c => c.Id == grant.CallId));

        factory.Clock.Advance(TimeSpan.FromMinutes(16));
        await factory.Outbox.DrainAsync(CancellationToken.None);

        var call = await factory.WithDbAsync(tenant.Id, db => db.Calls.AsNoTracking().SingleAsync(c => c.Id == grant.CallId));
        Assert.Equal(("caller-hangup", true, finished.UpdatedAt), (call.EndedReason, call.Analyzed, call.UpdatedAt));
        Assert.Single(factory.Twilio.Messages, m => m.To == onCall);
        Assert.Single(await EventTypesAsync(tenant, call.Id), t => t == WebhookEventTypes.CallEnded);
    }

    /// <summary>
    /// Calls that ended before migration 0037 (bridged, completed by their final status, never analyzed: the closer then read
    /// only calls not ended) are read by the pass like any other: <see cref="NativeCallCloser.EndedUnanalyzed"/> has no lower
    /// bound on the last write, so the first passes after the upgrade analyze that backlog, oldest first.
    /// </summary>
    [Fact]
    public async Task ABridgedCallEndedLongBeforeTheUpgradeAndNeverAnalyzedIsAnalyzedByThePass()
    {
        var (tenant, _) = await TenantAsync();
        var longAgo = factory.Clock.GetUtcNow().AddDays(-90);
        var callId = Guid.CreateVersion7();
        await factory.WithDbAsync(tenant.Id, db =>
        {
            var sid = NewCallSid();
            db.Calls.Add(new Call
            {
                Id = callId, TenantId = tenant.Id, Channel = CallChannels.Voice, Provider = NativeCallStatus.Provider, ProviderCallId = sid, CallSid = sid,
                Status = "completed", CustomerNumber = "+15145551234", StartedAt = longAgo, EndedAt = longAgo.AddMinutes(2), DurationSeconds = 120,
                CreatedAt = longAgo, UpdatedAt = longAgo.AddMinutes(2),
            });
            return db.SaveChangesAsync();
        });

        Assert.True(await Closer.CloseStaleAsync(CancellationToken.None) >= 1);

        var call = await factory.WithDbAsync(tenant.Id, db => db.Calls.SingleAsync(c => c.Id == callId));
        Assert.Equal((true, NativeCallCloser.StreamEndMissingReason, longAgo.AddMinutes(2)), (call.Analyzed, call.EndedReason, call.EndedAt));
        Assert.Single(await EventTypesAsync(tenant, callId), t => t == WebhookEventTypes.CallEnded);
    }

    /// <summary>
    /// The pass reads the bridged calls not yet analyzed through their partial index (migration 0037), not every native call
    /// never bridged (those stay unanalyzed for ever).
    /// </summary>
    [Fact]
    public async Task ThePassReadsEndedUnanalyzedCallsThroughTheirPartialIndex()
    {
        var (tenant, _) = await TenantAsync();
        using var scope = factory.Scope();
        var db = scope.ServiceProvider.GetRequiredService<global::Switchboard.Platform.Database.SwitchboardDbContext>();
        var now = factory.Clock.GetUtcNow();
        var sql = string.Join('\n', NativeCallCloser.EndedUnanalyzed(db.Calls.IgnoreQueryFilters(), now).Select(c => c.Id).ToQueryString()
            .Split('\n').Where(line => !line.StartsWith(".param", StringComparison.Ordinal) && !line.StartsWith("--", StringComparison.Ordinal)));
        await global::Switchboard.Tests.Billing.LiveCallsIndexTests.AssertPlannedOnIndexAsync(db, tenant.Id, sql, "IX_calls_native_unanalyzed", now);
    }
}
