using System.Text.Json.Nodes;
using System.Xml.Linq;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Calls;
using Switchboard.Platform.Database;
using Switchboard.Tenancy;
using Switchboard.Tests.Support;
using Switchboard.Twilio;
using Switchboard.Webhooks;

namespace Switchboard.Tests.Twilio;

/// <summary>
/// The host of the tests of the post-call pipeline's claim (<see cref="VoicemailClaimTests"/>, <see cref="Vapi.VapiReportClaimTests"/>):
/// Twilio's REST simulator, and a hook that runs a test's work just before a chosen unit of work begins its save's transaction,
/// or runs a query (a Vapi message on SQLite is prepared, then written in the group commit, whose transaction is its own); that
/// unit holds no database lock or write turn then.
/// </summary>
public sealed class ClaimRaceFactory : SwitchboardFactory, IAsyncLifetime
{
    internal TwilioSimulator Twilio { get; private set; } = null!;

    internal BeforeTransaction Before { get; } = new();

    public async Task InitializeAsync()
    {
        Twilio = await TwilioSimulator.StartAsync();
        TwilioBaseUrl = Twilio.BaseUrl;
    }

    async Task IAsyncLifetime.DisposeAsync() => await Twilio.DisposeAsync();

    /// <summary>Posts <paramref name="form"/> to <paramref name="path"/> signed with the simulator's auth token, as Twilio does.</summary>
    internal async Task<HttpResponseMessage> PostSignedAsync(string path, IDictionary<string, string> form)
    {
        var client = CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new FormUrlEncodedContent(form) };
        request.Headers.Add("X-Twilio-Signature", TwilioRequestValidator.ComputeSignature(new Uri(client.BaseAddress!, path).ToString(), form, TwilioSimulator.AuthToken));
        return await client.SendAsync(request);
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.ConfigureTestServices(services => services.ConfigureDbContext<SwitchboardDbContext>(o => o.AddInterceptors(Before)));
    }

    /// <summary>
    /// Once armed, runs its work before the next transaction of a context the predicate picks, or, armed with
    /// <c>orBeforeQuery</c>, before such a context's next query if that comes first; then disarms.
    /// </summary>
    internal sealed class BeforeTransaction : DbTransactionInterceptor, IDbCommandInterceptor
    {
        private (Func<DbContext, bool> Picks, Func<Task> Work, bool OrBeforeQuery)? armed;
        private readonly Lock sync = new();

        public void Arm(Func<DbContext, bool> picks, Func<Task> work, bool orBeforeQuery = false)
        {
            lock (sync)
            {
                armed = (picks, work, orBeforeQuery);
            }
        }

        public override async ValueTask<InterceptionResult<System.Data.Common.DbTransaction>> TransactionStartingAsync(
            System.Data.Common.DbConnection connection, TransactionStartingEventData eventData, InterceptionResult<System.Data.Common.DbTransaction> result,
            CancellationToken ct = default)
        {
            await RunIfPickedAsync(eventData.Context, query: false);
            return result;
        }

        async ValueTask<InterceptionResult<System.Data.Common.DbDataReader>> IDbCommandInterceptor.ReaderExecutingAsync(System.Data.Common.DbCommand command,
            CommandEventData eventData, InterceptionResult<System.Data.Common.DbDataReader> result, CancellationToken ct)
        {
            await RunIfPickedAsync(eventData.Context, query: true);
            return result;
        }

        private async Task RunIfPickedAsync(DbContext? context, bool query)
        {
            Func<Task>? work = null;
            lock (sync)
            {
                if (armed is { } a && (!query || a.OrBeforeQuery) && context is not null && a.Picks(context))
                {
                    work = a.Work;
                    armed = null;
                }
            }
            if (work is not null)
            {
                await work();
            }
        }
    }
}

/// <summary>
/// A message recorded after the speech provider failed (the <c>&lt;Record action&gt;</c>) runs the post-call pipeline only if
/// it claims the call, as the stream's end and <see cref="NativeCallCloser"/> do: whichever unit commits first makes the
/// lead, the alerts and <c>call.ended</c>, and the recording is kept whatever the order.
/// </summary>
[Trait("Category", "Database")]
public sealed class VoicemailClaimTests(ClaimRaceFactory factory) : IClassFixture<ClaimRaceFactory>
{
    private const string RecordingUrl = "https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/RE0001";

    private static string NewNumber() => "+1514" + Random.Shared.Next(2_000_000, 9_999_999);

    private static string NewSid(string prefix) => (prefix + Guid.NewGuid().ToString("N"))[..34];

    private Task<HttpResponseMessage> PostSignedAsync(string path, IDictionary<string, string> form) => factory.PostSignedAsync(path, form);

    /// <summary>
    /// A tenant with an on-call number and a webhook endpoint, and a call of it bridged then left without its speech provider
    /// (<c>provider-unreachable</c>: the <c>&lt;Connect action&gt;</c> takes a message).
    /// </summary>
    private async Task<(TestTenant Tenant, string OnCall, string CallSid, Guid CallId)> CallTakingAMessageAsync()
    {
        var onCall = NewNumber();
        var tenant = await factory.CreateTenantAsync(withTwilio: true,
            configure: t => t.AlertPolicy = new AlertPolicy { OnCallNumbers = [onCall], OfficeNumbers = [NewNumber()] });
        var callSid = NewSid("CA");
        var response = await PostSignedAsync($"/webhooks/twilio/voice/{tenant.Id}", TwilioVoiceWebhookTests.IncomingCall(callSid));
        response.EnsureSuccessStatusCode();
        Assert.Single(XElement.Parse(await response.Content.ReadAsStringAsync()).Descendants("Stream"));
        var callId = await factory.WithDbAsync(tenant.Id, async db =>
        {
            db.WebhookEndpoints.Add(new WebhookEndpoint
            {
                Id = Guid.NewGuid(), TenantId = tenant.Id, Url = "https://hooks.example/calls", SecretProtected = "x", Enabled = true,
                CreatedAt = factory.Clock.GetUtcNow(), UpdatedAt = factory.Clock.GetUtcNow(),
            });
            var call = await db.Calls.SingleAsync(c => c.ProviderCallId == callSid);
            call.Status = "in-progress";
            call.StartedAt = factory.Clock.GetUtcNow();
            call.EndedReason = NativeCallStatus.ProviderUnreachable;
            await db.SaveChangesAsync();
            return call.Id;
        });
        return (tenant, onCall, callSid, callId);
    }

    /// <summary>
    /// A tenant closed now whose after-hours behaviour takes a message, and a call of it answered so: a notice, then
    /// <c>&lt;Record&gt;</c>, never bridged (no <c>StartedAt</c>, no stream).
    /// </summary>
    private async Task<(TestTenant Tenant, string CallSid, Guid CallId)> AfterHoursCallTakingAMessageAsync()
    {
        var (tenant, _, callSid, callId) = await CallTakingAMessageAsync();
        await factory.WithDbAsync(tenant.Id, async db =>
        {
            var tenantRow = await db.Tenants.SingleAsync(t => t.Id == tenant.Id);
            tenantRow.VoiceAfterHours = VoiceBehaviour.Message;
            var call = await db.Calls.SingleAsync(c => c.Id == callId);
            (call.StartedAt, call.EndedReason) = (null, "after-hours");
            await db.SaveChangesAsync();
            return 0;
        });
        return (tenant, callSid, callId);
    }

    private Task<HttpResponseMessage> StatusAsync(TestTenant tenant, string callSid, string status) =>
        PostSignedAsync($"/webhooks/twilio/status/{tenant.Id}", new Dictionary<string, string>
        {
            ["AccountSid"] = TwilioSimulator.AccountSid, ["CallSid"] = callSid, ["CallStatus"] = status, ["CallDuration"] = "31",
            ["From"] = "+15145550123", ["To"] = "+15145550199", ["Direction"] = "inbound",
        });

    private Task<HttpResponseMessage> RecordedAsync(TestTenant tenant, string callSid, string recordingSid) =>
        PostSignedAsync($"/webhooks/twilio/voice/{tenant.Id}/recorded", new Dictionary<string, string>
        {
            ["AccountSid"] = TwilioSimulator.AccountSid, ["CallSid"] = callSid, ["RecordingSid"] = recordingSid,
            ["RecordingUrl"] = RecordingUrl, ["RecordingDuration"] = "14", ["Digits"] = "hangup",
        });

    /// <summary>
    /// Arms the hook: just before the unit that saves a <paramref name="eventType"/> event begins its transaction, another unit
    /// ends the call (<paramref name="status"/>, the closer's reason) and publishes its end, claimed. By hand: in-process on SQLite
    /// the closer would wait for the write gate.
    /// </summary>
    private void EndClaimedByAnotherUnitBefore(TestTenant tenant, Guid callId, string eventType, string status) => factory.Before.Arm(
        context => context is SwitchboardDbContext db && db.ChangeTracker.Entries<CallEvent>().Any(e => e.Entity.Type == eventType),
        async () =>
        {
            await using var scope = factory.Services.CreateAsyncScope();
            scope.ServiceProvider.GetRequiredService<CurrentTenant>().Set(tenant.Id);
            var db = scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>();
            var call = await db.Calls.SingleAsync(c => c.Id == callId);
            (call.Status, call.EndedReason) = (status, NativeCallCloser.EndedReason);
            await scope.ServiceProvider.GetRequiredService<WebhookEventPublisher>().CallEndedAsync(call, CancellationToken.None);
            call.Analyzed = true;
            await using var tx = await db.Database.BeginTransactionAsync();
            Assert.True(await PostCallPipeline.ClaimAsync(db, callId, CancellationToken.None));
            await db.SaveChangesAsync();
            await tx.CommitAsync();
        });

    private Task<List<string>> EventTypesAsync(TestTenant tenant, Guid callId) =>
        factory.WithDbAsync(tenant.Id, db => db.WebhookEvents.Where(e => e.CallId == callId).Select(e => e.Type).ToListAsync());

    /// <summary>
    /// The recording's unit reads the call not analyzed and runs the pipeline; before it saves, another unit (the closer, on
    /// another node, from the caller's words) runs it and commits. The recording's unit then saves the recording alone (before:
    /// it saved without claiming, hit the lead's unique key and was dropped whole, the message's recording with it; with no key
    /// to hit, its lead, alerts and events were a second set).
    /// </summary>
    [Fact]
    public async Task AMessageRecordedWhileAnotherUnitRanThePipelineKeepsItsRecordingAndMakesNoSecondLeadAlertOrEnd()
    {
        var (tenant, onCall, callSid, callId) = await CallTakingAMessageAsync();
        var recordingSid = NewSid("RE");
        factory.Before.Arm(
            context => context is SwitchboardDbContext db && db.ChangeTracker.Entries<CallRecording>().Any(e => e.Entity.RecordingSid == recordingSid),
            async () =>
            {
                // The other unit, by hand: in-process on SQLite the closer would wait for the write gate the recording's unit
                // holds now, so this stands for a writer on another node (PostgreSQL has no gate).
                await using var scope = factory.Services.CreateAsyncScope();
                scope.ServiceProvider.GetRequiredService<CurrentTenant>().Set(tenant.Id);
                var db = scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>();
                var call = await db.Calls.SingleAsync(c => c.Id == callId);
                call.Status = "completed";
                var tenantRow = await db.Tenants.SingleAsync(t => t.Id == tenant.Id);
                await scope.ServiceProvider.GetRequiredService<PostCallPipeline>()
                    .RunAsync(tenantRow, null, call, null, null, "Mon sous-sol est inondé, rappelez-moi au 514 555 0777.", CancellationToken.None);
                await using var tx = await db.Database.BeginTransactionAsync();
                Assert.True(await PostCallPipeline.ClaimAsync(db, callId, CancellationToken.None));
                await db.SaveChangesAsync();
                await tx.CommitAsync();
            });

        var response = await RecordedAsync(tenant, callSid, recordingSid);
        await factory.Outbox.DrainAsync(CancellationToken.None);

        Assert.True(response.IsSuccessStatusCode);
        Assert.Single(XElement.Parse(await response.Content.ReadAsStringAsync()).Descendants("Hangup"));
        var call = await factory.WithDbAsync(tenant.Id, db => db.Calls.SingleAsync(c => c.Id == callId));
        Assert.Equal((RecordingUrl, true), (call.RecordingUrl, call.Analyzed));
        var recording = await factory.WithDbAsync(tenant.Id, db => db.CallRecordings.SingleAsync(r => r.RecordingSid == recordingSid));
        Assert.Equal((callId, 14), (recording.CallId, recording.DurationSeconds));
        var lead = await factory.WithDbAsync(tenant.Id, db => db.Leads.SingleAsync(l => l.CallId == callId));
        Assert.Equal(("emergency", "+15145550777"), (lead.Urgency, lead.Phone)); // the other unit's
        // The other unit's emergency alert alone: no routine alert for a lead from the voicemail.
        Assert.All(await factory.WithDbAsync(tenant.Id, db => db.SmsMessages.Where(s => s.CallId == callId).Select(s => s.Purpose).ToListAsync()),
            purpose => Assert.Equal("emergency-alert", purpose));
        Assert.Single(factory.Twilio.Messages, m => m.To == onCall);
        var types = await EventTypesAsync(tenant, callId);
        Assert.Single(types, t => t == WebhookEventTypes.CallEnded);
        Assert.Single(types, t => t == WebhookEventTypes.LeadCreated);
    }

    /// <summary>Twilio delivers the <c>&lt;Record action&gt;</c> twice (a retried request): one lead, one alert, one end, one recording.</summary>
    [Fact]
    public async Task AMessageRecordedTwiceMakesOneLeadOneAlertAndOneEnd()
    {
        var (tenant, _, callSid, callId) = await CallTakingAMessageAsync();
        var recordingSid = NewSid("RE");

        var first = await RecordedAsync(tenant, callSid, recordingSid);
        var second = await RecordedAsync(tenant, callSid, recordingSid);
        await factory.Outbox.DrainAsync(CancellationToken.None);

        Assert.True(first.IsSuccessStatusCode && second.IsSuccessStatusCode);
        var call = await factory.WithDbAsync(tenant.Id, db => db.Calls.SingleAsync(c => c.Id == callId));
        Assert.Equal((RecordingUrl, true), (call.RecordingUrl, call.Analyzed));
        Assert.StartsWith("Voicemail (14 s)", call.Summary);
        Assert.Equal(1, await factory.WithDbAsync(tenant.Id, db => db.CallRecordings.CountAsync(r => r.CallId == callId)));
        Assert.Equal(1, await factory.WithDbAsync(tenant.Id, db => db.Leads.CountAsync(l => l.CallId == callId)));
        var types = await EventTypesAsync(tenant, callId);
        Assert.Single(types, t => t == WebhookEventTypes.CallEnded);
        Assert.Single(types, t => t == WebhookEventTypes.LeadCreated);
    }

    /// <summary>
    /// The <c>&lt;Record action&gt;</c>'s pipeline loses a unique-key race on each of its attempts (another unit inserts, just
    /// before each save, an event of the call this unit also publishes). Before: the last attempt's error went out as a 500,
    /// and Twilio spoke its application error to the caller; the recording was kept only by its status callback. Now the
    /// caller hears the thanks, the recording is saved alone on the call, and the closer queued with it runs the pipeline
    /// once: the message's lead, and no second <c>call.ended</c>.
    /// </summary>
    [Fact]
    public async Task AMessageWhosePipelineLosesARaceOnEveryAttemptIsThankedAndKeptAndItsLeadMadeOnceByTheCloser()
    {
        var (tenant, _, callSid, callId) = await CallTakingAMessageAsync();
        var recordingSid = NewSid("RE");
        string[] raced = [WebhookEventTypes.CallEnded, WebhookEventTypes.RecordingReady, WebhookEventTypes.CallAnalyzed];
        var races = 0;
        void ArmNextRace() => factory.Before.Arm(
            context => context is SwitchboardDbContext db && db.ChangeTracker.Entries<CallRecording>().Any(e => e.Entity.RecordingSid == recordingSid),
            async () =>
            {
                var type = raced[races++];
                await factory.WithDbAsync(tenant.Id, async db =>
                {
                    db.WebhookEvents.Add(new WebhookEvent
                    {
                        Id = Guid.CreateVersion7(), TenantId = tenant.Id, Type = type, PayloadJson = "{}", CallId = callId, CreatedAt = factory.Clock.GetUtcNow(),
                        MessageId = WebhookEventPublisher.MessageIdFor(tenant.Id, type, callId.ToString("N")),
                    });
                    return await db.SaveChangesAsync();
                });
                if (races < raced.Length)
                {
                    ArmNextRace();
                }
            });
        ArmNextRace();

        var response = await RecordedAsync(tenant, callSid, recordingSid);

        Assert.Equal(raced.Length, races);
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        Assert.Single(XElement.Parse(await response.Content.ReadAsStringAsync()).Descendants("Hangup"));
        var recording = await factory.WithDbAsync(tenant.Id, db => db.CallRecordings.SingleAsync(r => r.RecordingSid == recordingSid));
        Assert.Equal((callId, 14, TwilioVoiceApi.RecordVerbSource), (recording.CallId, recording.DurationSeconds, recording.Source));
        var kept = await factory.WithDbAsync(tenant.Id, db => db.Calls.SingleAsync(c => c.Id == callId));
        Assert.Equal((RecordingUrl, false), (kept.RecordingUrl, kept.Analyzed));
        Assert.Equal(0, await factory.WithDbAsync(tenant.Id, db => db.Leads.CountAsync(l => l.CallId == callId)));
        Assert.True(await factory.WithDbAsync(tenant.Id, db => db.Outbox.AnyAsync(o => o.Kind == NativeCallCloseHandler.Kind && o.DedupeKey == $"{callId:N}:close")));

        // The queued close, as NativeCallCloseHandler runs it once due.
        Assert.True(await factory.Services.GetRequiredService<NativeCallCloser>().CloseAsync(tenant.Id, callId, CancellationToken.None, streamAccepted: true));

        var call = await factory.WithDbAsync(tenant.Id, db => db.Calls.SingleAsync(c => c.Id == callId));
        Assert.True(call.Analyzed);
        Assert.StartsWith("Voicemail (14 s)", call.Summary);
        var lead = await factory.WithDbAsync(tenant.Id, db => db.Leads.SingleAsync(l => l.CallId == callId));
        Assert.Equal("+15145550123", lead.Phone);
        var types = await EventTypesAsync(tenant, callId);
        Assert.Single(types, t => t == WebhookEventTypes.CallEnded);
        Assert.Single(types, t => t == WebhookEventTypes.LeadCreated);
    }

    /// <summary>
    /// A call answered after hours with a message, whichever of Twilio's final status and the <c>&lt;Record action&gt;</c> comes
    /// first: one <c>call.ended</c>, one lead, and <c>call.analyzed</c> names that lead. Before: the status, first, published
    /// the call's end without claiming it, so <c>call.analyzed</c> went out without the message's lead, for good.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AnAfterHoursMessageHasOneEndNamingItsLeadWhicheverOfTheStatusAndTheRecordingComesFirst(bool statusFirst)
    {
        var (tenant, callSid, callId) = await AfterHoursCallTakingAMessageAsync();
        var recordingSid = NewSid("RE");

        var first = statusFirst ? await StatusAsync(tenant, callSid, "completed") : await RecordedAsync(tenant, callSid, recordingSid);
        var second = statusFirst ? await RecordedAsync(tenant, callSid, recordingSid) : await StatusAsync(tenant, callSid, "completed");

        Assert.True(first.IsSuccessStatusCode && second.IsSuccessStatusCode);
        var call = await factory.WithDbAsync(tenant.Id, db => db.Calls.SingleAsync(c => c.Id == callId));
        Assert.Equal(("completed", 31d, true, RecordingUrl), (call.Status, call.DurationSeconds, call.Analyzed, call.RecordingUrl));
        var lead = await factory.WithDbAsync(tenant.Id, db => db.Leads.SingleAsync(l => l.CallId == callId));
        var types = await EventTypesAsync(tenant, callId);
        Assert.Single(types, t => t == WebhookEventTypes.CallEnded);
        Assert.Single(types, t => t == WebhookEventTypes.LeadCreated);
        var analyzed = JsonNode.Parse(await factory.WithDbAsync(tenant.Id, db => db.WebhookEvents
            .Where(e => e.CallId == callId && e.Type == WebhookEventTypes.CallAnalyzed).Select(e => e.PayloadJson).SingleAsync()))!;
        Assert.Equal(lead.Id.ToString(), (string?)(analyzed["data"] ?? analyzed)["leadId"]);
    }

    /// <summary>
    /// The caller hangs up during the after-hours notice, before the tone: no <c>&lt;Record action&gt;</c> comes. The final status
    /// leaves the end to the closer it queues, which publishes it once; a status delivered again changes nothing.
    /// </summary>
    [Fact]
    public async Task AnAfterHoursCallLeftBeforeTheToneIsEndedOnceByTheCloserTheStatusQueued()
    {
        var (tenant, callSid, callId) = await AfterHoursCallTakingAMessageAsync();

        Assert.True((await StatusAsync(tenant, callSid, "completed")).IsSuccessStatusCode);
        Assert.DoesNotContain(WebhookEventTypes.CallEnded, await EventTypesAsync(tenant, callId));
        Assert.True(await factory.Services.GetRequiredService<NativeCallCloser>().CloseAsync(tenant.Id, callId, CancellationToken.None, streamAccepted: true));
        Assert.True((await StatusAsync(tenant, callSid, "completed")).IsSuccessStatusCode);

        var call = await factory.WithDbAsync(tenant.Id, db => db.Calls.SingleAsync(c => c.Id == callId));
        Assert.Equal(("completed", "after-hours", true), (call.Status, call.EndedReason, call.Analyzed));
        Assert.Equal(0, await factory.WithDbAsync(tenant.Id, db => db.Leads.CountAsync(l => l.CallId == callId)));
        Assert.Single(await EventTypesAsync(tenant, callId), t => t == WebhookEventTypes.CallEnded);
    }

    /// <summary>
    /// A call never bridged (a busy signal) whose end another unit publishes, claimed, between the status callback's read and its
    /// save (the closer on another node). Before: the status callback published the end again without claiming, lost the
    /// unique-key race on <c>call.ended</c>, and its save was dropped whole: the call's duration and the callback's record were
    /// lost, answered 204. Now it loses the claim, reads the call again and saves the status alone.
    /// </summary>
    [Fact]
    public async Task AStatusWhoseCallWasEndedMeanwhileByAnotherUnitSavesItsStatusAndPublishesNoSecondEnd()
    {
        var (tenant, _, callSid, callId) = await CallTakingAMessageAsync();
        await factory.WithDbAsync(tenant.Id, async db =>
        {
            var call = await db.Calls.SingleAsync(c => c.Id == callId);
            (call.Status, call.StartedAt, call.EndedReason) = ("ringing", null, null);
            return await db.SaveChangesAsync();
        });
        EndClaimedByAnotherUnitBefore(tenant, callId, "twilio.status", "completed");

        var response = await StatusAsync(tenant, callSid, "busy");

        Assert.True(response.IsSuccessStatusCode);
        var ended = await factory.WithDbAsync(tenant.Id, db => db.Calls.SingleAsync(c => c.Id == callId));
        Assert.Equal((31d, true), (ended.DurationSeconds, ended.Analyzed));
        Assert.Equal(1, await factory.WithDbAsync(tenant.Id, db => db.CallEvents.CountAsync(e => e.CallId == callId && e.Type == "twilio.status")));
        Assert.Single(await EventTypesAsync(tenant, callId), t => t == WebhookEventTypes.CallEnded);
    }
    /// <summary>
    /// An outbound call never bridged (no answer): Twilio's final status runs its pipeline, and before it saves, another unit
    /// (the closer, on another node) ends the call, claimed. The status then saves its duration alone: before, it saved
    /// without claiming, hit the <c>call.ended</c> already stored and was dropped whole, the callback's record with it.
    /// </summary>
    [Fact]
    public async Task AnOutboundStatusWhoseCallWasEndedMeanwhileByAnotherUnitSavesItsStatusAndPublishesNoSecondEnd()
    {
        var (tenant, _, _, _) = await CallTakingAMessageAsync(); // a tenant with Twilio and a webhook endpoint
        var now = factory.Clock.GetUtcNow();
        var callId = Guid.CreateVersion7();
        await factory.WithDbAsync(tenant.Id, async db =>
        {
            db.Calls.Add(new Call
            {
                Id = callId, TenantId = tenant.Id, Channel = "phone", Provider = NativeCallStatus.Provider, ProviderCallId = "outbound:" + callId.ToString("N"),
                Type = "outboundPhoneCall", Direction = "outbound", Status = "ringing", CustomerNumber = NewNumber(), CreatedAt = now, UpdatedAt = now,
            });
            return await db.SaveChangesAsync();
        });
        EndClaimedByAnotherUnitBefore(tenant, callId, "twilio.outbound.status", "no-answer");

        var response = await PostSignedAsync($"/webhooks/twilio/outbound/{tenant.Id}/{callId}/status", new Dictionary<string, string>
        {
            ["AccountSid"] = TwilioSimulator.AccountSid, ["CallSid"] = NewSid("CA"), ["CallStatus"] = "no-answer", ["CallDuration"] = "0",
        });

        Assert.True(response.StatusCode == System.Net.HttpStatusCode.NoContent, await response.Content.ReadAsStringAsync());
        var ended = await factory.WithDbAsync(tenant.Id, db => db.Calls.SingleAsync(c => c.Id == callId));
        Assert.Equal((0d, true), (ended.DurationSeconds, ended.Analyzed));
        Assert.Equal(1, await factory.WithDbAsync(tenant.Id, db => db.CallEvents.CountAsync(e => e.CallId == callId && e.Type == "twilio.outbound.status")));
        Assert.Single(await EventTypesAsync(tenant, callId), t => t == WebhookEventTypes.CallEnded);
    }
}
