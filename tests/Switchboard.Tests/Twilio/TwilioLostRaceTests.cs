using System.Xml.Linq;
using Microsoft.EntityFrameworkCore;
using Switchboard.Calls;
using Switchboard.Platform.Database;
using Switchboard.Tests.Support;
using Switchboard.Twilio;

namespace Switchboard.Tests.Twilio;

/// <summary>
/// Twilio handlers whose save loses a unique-key race to another unit (a status callback creating the same call, the
/// <c>&lt;Record action&gt;</c> inserting the same <c>RecordingSid</c>, a second delivery of the same callback) read again and
/// save what Twilio sent (<see cref="TwilioVoiceApi.SaveReadingAgainAsync"/>). Before, <see cref="TwilioVoiceApi.SaveAsync"/>
/// cleared the unit and the handler answered as if it had been saved. The other unit is written by hand, just before the
/// handler's save begins its transaction (<see cref="ClaimRaceFactory.BeforeTransaction"/>): in-process on SQLite it would
/// wait for the write gate the handler holds, so it stands for a writer on another node.
/// </summary>
[Trait("Category", "Database")]
public sealed class TwilioLostRaceTests(ClaimRaceFactory factory) : IClassFixture<ClaimRaceFactory>
{
    private static string NewSid(string prefix) => (prefix + Guid.NewGuid().ToString("N"))[..34];

    /// <summary>Arms the hook before the save of the unit that adds a <paramref name="eventType"/> event; hands the work that event's idempotency key.</summary>
    private void BeforeSaveOf(string eventType, Func<string, Task> work)
    {
        string? key = null;
        factory.Before.Arm(
            context =>
            {
                key = (context as SwitchboardDbContext)?.ChangeTracker.Entries<CallEvent>().Where(e => e.Entity.Type == eventType)
                    .Select(e => e.Entity.IdempotencyKey).FirstOrDefault();
                return key is not null;
            },
            () => work(key!));
    }

    /// <summary>
    /// A writer that wins every save of the unit adding a <paramref name="eventType"/> event: just before each save begins its
    /// transaction it commits that event's row (same idempotency key, as a second delivery on another node would), and removes
    /// it again before the unit reads again, so each attempt of <see cref="TwilioVoiceApi.SaveReadingAgainAsync"/> is lost.
    /// Returns how many saves it took; its last row is removed by <see cref="StopWinningAsync"/>.
    /// </summary>
    private Func<int> WinEverySaveOf(Guid tenantId, string eventType)
    {
        var won = 0;
        void ArmInsert() => BeforeSaveOf(eventType, async key =>
        {
            await factory.WithDbAsync(tenantId, db =>
            {
                db.CallEvents.Add(new CallEvent
                {
                    Id = Guid.CreateVersion7(), TenantId = tenantId, Provider = NativeCallStatus.Provider, Type = eventType, IdempotencyKey = key,
                    PayloadJson = "\"\"", ReceivedAt = factory.Clock.GetUtcNow(),
                });
                return db.SaveChangesAsync();
            });
            won++;
            factory.Before.Arm(
                context => context is SwitchboardDbContext db && db.TenantFilter == tenantId && !db.ChangeTracker.Entries().Any(),
                async () =>
                {
                    await RemoveEventsAsync(tenantId, key);
                    ArmInsert();
                },
                orBeforeQuery: true);
        });
        ArmInsert();
        return () => won;
    }

    /// <summary>Disarms the writer of <see cref="WinEverySaveOf"/> and removes the row of its last win.</summary>
    private async Task StopWinningAsync(Guid tenantId, string eventType)
    {
        factory.Before.Arm(_ => false, () => Task.CompletedTask);
        await factory.WithDbAsync(tenantId, db => db.CallEvents.Where(e => e.Type == eventType && e.PayloadJson == "\"\"").ExecuteDeleteAsync());
    }

    private Task<int> RemoveEventsAsync(Guid tenantId, string key) =>
        factory.WithDbAsync(tenantId, db => db.CallEvents.Where(e => e.IdempotencyKey == key).ExecuteDeleteAsync());

    /// <summary>
    /// A call status callback loses its save on every attempt. Before: the loss was only logged and Twilio got 204, as if the
    /// status were stored (Twilio does not send a status callback again: the call stayed ringing for good, silently). Now it is
    /// answered 503 with <c>Retry-After</c> and the error envelope, and the call is as it was.
    /// </summary>
    [Fact]
    public async Task ACallStatusCallbackWhoseEverySaveIsLostIsAnswered503AndChangesNothing()
    {
        var tenant = await factory.CreateTenantAsync(withTwilio: true);
        var callSid = NewSid("CA");
        (await factory.PostSignedAsync($"/webhooks/twilio/voice/{tenant.Id}", TwilioVoiceWebhookTests.IncomingCall(callSid))).EnsureSuccessStatusCode();
        var won = WinEverySaveOf(tenant.Id, "twilio.status");

        var response = await factory.PostSignedAsync($"/webhooks/twilio/status/{tenant.Id}", new Dictionary<string, string>
        {
            ["AccountSid"] = TwilioSimulator.AccountSid, ["CallSid"] = callSid, ["CallStatus"] = "in-progress", ["From"] = "+15145550123", ["To"] = "+15145550199",
        });
        await StopWinningAsync(tenant.Id, "twilio.status");

        Assert.Equal(TwilioVoiceApi.SaveAttempts, won());
        Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(TwilioVoiceApi.SaveLostRetryAfterSeconds), response.Headers.RetryAfter?.Delta);
        Assert.Contains("\"SAVE_CONFLICT\"", await response.Content.ReadAsStringAsync());
        var call = await factory.WithDbAsync(tenant.Id, db => db.Calls.SingleAsync(c => c.ProviderCallId == callSid));
        Assert.Equal("ringing", call.Status);
        Assert.Equal(0, await factory.WithDbAsync(tenant.Id, db => db.CallEvents.CountAsync(e => e.Type == "twilio.status")));
    }

    /// <summary>
    /// An incoming call's voice webhook loses its save on every attempt. Before: it answered a <c>&lt;Stream&gt;</c> whose token
    /// and <c>callId</c> named a call never stored. Now it is answered 503 (Twilio requests the number's fallback URL) and no
    /// call is stored.
    /// </summary>
    [Fact]
    public async Task AVoiceWebhookWhoseEverySaveIsLostIsAnswered503WithoutAStream()
    {
        var tenant = await factory.CreateTenantAsync(withTwilio: true);
        var callSid = NewSid("CA");
        var won = WinEverySaveOf(tenant.Id, "twilio.voice");

        var response = await factory.PostSignedAsync($"/webhooks/twilio/voice/{tenant.Id}", TwilioVoiceWebhookTests.IncomingCall(callSid));
        await StopWinningAsync(tenant.Id, "twilio.voice");

        Assert.Equal(TwilioVoiceApi.SaveAttempts, won());
        Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.DoesNotContain("<Stream", await response.Content.ReadAsStringAsync());
        Assert.False(await factory.WithDbAsync(tenant.Id, db => db.Calls.AnyAsync(c => c.ProviderCallId == callSid)));
    }

    /// <summary>
    /// The status callback of a call is handled while its voice webhook runs, and creates the call first. Before: the voice
    /// webhook's unit was dropped, yet it answered a stream whose token and <c>callId</c> named a call that was never stored,
    /// and the call had no language, no assistant and no record of the webhook. Now the webhook is made again on the stored call.
    /// </summary>
    [Fact]
    public async Task AVoiceWebhookWhoseCallAStatusCallbackCreatedMeanwhileBridgesThatCall()
    {
        var tenant = await factory.CreateTenantAsync(withTwilio: true);
        var callSid = NewSid("CA");
        var raced = false;
        BeforeSaveOf("twilio.voice", async _ =>
        {
            raced = true;
            await factory.WithDbAsync(tenant.Id, db =>
            {
                var now = factory.Clock.GetUtcNow();
                db.Calls.Add(new Call
                {
                    Id = Guid.CreateVersion7(), TenantId = tenant.Id, Channel = "voice", Provider = NativeCallStatus.Provider, ProviderCallId = callSid,
                    CallSid = callSid, Status = "ringing", CreatedAt = now, UpdatedAt = now,
                });
                return db.SaveChangesAsync();
            });
        });

        var response = await factory.PostSignedAsync($"/webhooks/twilio/voice/{tenant.Id}", TwilioVoiceWebhookTests.IncomingCall(callSid));

        Assert.True(raced);
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        var stream = Assert.Single(XElement.Parse(await response.Content.ReadAsStringAsync()).Descendants("Stream"));
        var call = await factory.WithDbAsync(tenant.Id, db => db.Calls.SingleAsync(c => c.ProviderCallId == callSid));
        Assert.Equal(call.Id.ToString(), stream.Elements("Parameter").Single(p => (string?)p.Attribute("name") == "callId").Attribute("value")!.Value);
        Assert.Equal(("fr-CA", "+15145550123", "inboundPhoneCall"), (call.Language, call.CustomerNumber, call.Type));
        Assert.NotNull(call.AssistantId);
        Assert.Equal(1, await factory.WithDbAsync(tenant.Id, db => db.CallEvents.CountAsync(e => e.CallId == call.Id && e.Type == "twilio.voice")));
    }

    /// <summary>
    /// A message's <c>&lt;Record action&gt;</c> and its recording status callback come together; the action inserts the
    /// <c>RecordingSid</c> first. Before: the status callback's unit was dropped (answered 204), so the recording stayed
    /// <c>in-progress</c> for good, without its channels, source or final duration. Now the callback completes the action's row.
    /// </summary>
    [Fact]
    public async Task ARecordingStatusCallbackThatLosesItsInsertToTheRecordActionCompletesThatRecording()
    {
        var tenant = await factory.CreateTenantAsync(withTwilio: true);
        var callSid = NewSid("CA");
        (await factory.PostSignedAsync($"/webhooks/twilio/voice/{tenant.Id}", TwilioVoiceWebhookTests.IncomingCall(callSid))).EnsureSuccessStatusCode();
        var callId = await factory.WithDbAsync(tenant.Id, db => db.Calls.Where(c => c.ProviderCallId == callSid).Select(c => c.Id).SingleAsync());
        var recordingSid = NewSid("RE");
        const string url = "https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/RE0002";
        var raced = false;
        BeforeSaveOf("twilio.recording", async _ =>
        {
            raced = true;
            await factory.WithDbAsync(tenant.Id, db =>
            {
                var now = factory.Clock.GetUtcNow();
                db.CallRecordings.Add(new CallRecording
                {
                    Id = Guid.CreateVersion7(), TenantId = tenant.Id, CallId = callId, RecordingSid = recordingSid, CallSid = callSid, Status = "in-progress",
                    Url = url, DurationSeconds = 14, Source = TwilioVoiceApi.RecordVerbSource, Channels = 1, CreatedAt = now, UpdatedAt = now,
                });
                return db.SaveChangesAsync();
            });
        });

        var response = await factory.PostSignedAsync($"/webhooks/twilio/recording/{tenant.Id}", new Dictionary<string, string>
        {
            ["AccountSid"] = TwilioSimulator.AccountSid, ["CallSid"] = callSid, ["RecordingSid"] = recordingSid, ["RecordingStatus"] = "completed",
            ["RecordingUrl"] = url, ["RecordingDuration"] = "15", ["RecordingChannels"] = "1", ["RecordingSource"] = "RecordVerb", ["ErrorCode"] = "0",
        });

        Assert.True(raced);
        Assert.Equal(System.Net.HttpStatusCode.NoContent, response.StatusCode);
        var recording = await factory.WithDbAsync(tenant.Id, db => db.CallRecordings.SingleAsync(r => r.RecordingSid == recordingSid));
        Assert.Equal(("completed", 15, callId), (recording.Status, recording.DurationSeconds, recording.CallId));
        Assert.Equal(url, (await factory.WithDbAsync(tenant.Id, db => db.Calls.SingleAsync(c => c.Id == callId))).RecordingUrl);
        Assert.Equal(1, await factory.WithDbAsync(tenant.Id, db => db.CallEvents.CountAsync(e => e.CallId == callId && e.Type == "twilio.recording")));
    }

    /// <summary>
    /// Twilio delivers the asynchronous AMD result twice at once (a retried request), and the other delivery saves first. Before:
    /// this one's save was dropped, yet it updated the live call again (a second stream token: the callee heard the outbound
    /// notice twice and the bridge restarted). Now only the delivery whose save stood updates the call (here the other one, by hand).
    /// </summary>
    [Fact]
    public async Task AnAmdResultDeliveredTwiceAtOnceUpdatesTheLiveCallOnlyFromTheDeliveryThatWasSaved()
    {
        var tenant = await factory.CreateTenantAsync(withTwilio: true);
        var callSid = NewSid("CA");
        var callId = Guid.CreateVersion7();
        await factory.WithDbAsync(tenant.Id, async db =>
        {
            var now = factory.Clock.GetUtcNow();
            db.Calls.Add(new Call
            {
                Id = callId, TenantId = tenant.Id, Channel = "voice", Provider = NativeCallStatus.Provider, ProviderCallId = callSid, CallSid = callSid,
                Type = "outboundPhoneCall", Direction = "outbound", Status = "ringing", CustomerNumber = "+15145550177", Language = "fr-CA",
                AssistantId = await db.Assistants.Select(a => a.Id).SingleAsync(), CreatedAt = now, UpdatedAt = now,
            });
            return await db.SaveChangesAsync();
        });
        var raced = false;
        BeforeSaveOf("twilio.outbound.amd", async key =>
        {
            raced = true;
            await factory.WithDbAsync(tenant.Id, async db =>
            {
                db.CallEvents.Add(new CallEvent
                {
                    Id = Guid.CreateVersion7(), TenantId = tenant.Id, CallId = callId, Provider = NativeCallStatus.Provider, Type = "twilio.outbound.amd",
                    IdempotencyKey = key, PayloadJson = "\"\"", ReceivedAt = factory.Clock.GetUtcNow(),
                });
                (await db.Calls.SingleAsync(c => c.Id == callId)).AnsweredBy = "human";
                return await db.SaveChangesAsync();
            });
        });

        var response = await factory.PostSignedAsync($"/webhooks/twilio/outbound/{tenant.Id}/{callId}/amd", new Dictionary<string, string>
        {
            ["AccountSid"] = TwilioSimulator.AccountSid, ["CallSid"] = callSid, ["AnsweredBy"] = "human", ["MachineDetectionDuration"] = "2400",
        });

        Assert.True(raced);
        Assert.Equal(System.Net.HttpStatusCode.NoContent, response.StatusCode);
        Assert.DoesNotContain(factory.Twilio.Voice.CallUpdates, u => u.CallSid == callSid);
        Assert.Equal("human", (await factory.WithDbAsync(tenant.Id, db => db.Calls.SingleAsync(c => c.Id == callId))).AnsweredBy);
        Assert.Equal(1, await factory.WithDbAsync(tenant.Id, db => db.CallEvents.CountAsync(e => e.CallId == callId && e.Type == "twilio.outbound.amd")));
    }
}
