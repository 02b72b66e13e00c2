using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Switchboard.Realtime.Bridge;
using Switchboard.Simulators;
using Switchboard.Tests.Support;
using Switchboard.Twilio;
using TwilioSdkValidator = Twilio.Security.RequestValidator;

namespace Switchboard.Tests.Realtime;

/// <summary>Whole native calls through real sockets: Twilio simulator → Kestrel → media bridge → realtime simulator.</summary>
[Trait("Category", "Database")]
public sealed class MediaBridgeTests(VoiceFactory factory) : IClassFixture<VoiceFactory>
{
    private static readonly string FloodWav = Path.Combine(Fixtures.RepositoryRoot, "samples", "audio", "flood-en.wav");
    private const string FloodWords = "Hi, my basement is flooding. I'm Marc Tremblay, at 12 rue Principale in Laval.";

    private static JsonElement Json(object value) => JsonSerializer.SerializeToElement(value);

    private static ProviderScript Provider(params ScriptedTurn[] turns) => new()
    {
        Greeting = new ScriptedSpeech { Text = "Drain Fortin, bonjour! Ici Paul.", AudioMs = 800 },
        FirstAudioDelayMs = 40,
        DeltaMs = 60,
        Pace = 2,
        Turns = [.. turns],
    };

    private static ScriptedTurn FloodTurn(int answerMs = 4000) => new()
    {
        Hears = FloodWords,
        Tool = new ScriptedTool
        {
            Name = "capture_lead",
            Arguments = Json(new { name = "Marc Tremblay", address = "12 rue Principale, Laval", problem = "Basement flooding", urgency = "emergency" }),
        },
        Says = new ScriptedSpeech { Text = "I'm sorry to hear that, Marc. The on-call plumber has been alerted.", AudioMs = answerMs },
    };

    private async Task<TestTenant> TenantAsync(Action<global::Switchboard.Tenancy.Tenant>? configure = null) =>
        await factory.CreateTenantAsync(configure: configure, withTwilio: true);

    private static async Task EventuallyAsync(Func<bool> condition, int timeoutMs = 5000)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (!condition() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }
        Assert.True(condition(), "condition not met in time");
    }

    [Fact]
    public async Task AFloodCallLeavesTheCallItsTranscriptALeadAndOneSms()
    {
        var tenant = await TenantAsync();
        await factory.WithDbAsync(tenant.Id, async db =>
        {
            (await db.Assistants.SingleAsync()).RecordingEnabled = true;
            return await db.SaveChangesAsync();
        });
        var script = new CallScript
        {
            Caller = new CallerScript
            {
                From = "+15145550123", Country = "CA", State = "QC",
                Steps =
                [
                    new() { Listen = true },
                    new() { Say = FloodWav, Text = FloodWords },
                    new() { Say = "tone:900", Text = "Sorry, one more thing.", InterruptAfterMs = 600 },
                    new() { Listen = true },
                    new() { Say = "tone:700", Text = "No, that's all, goodbye." },
                    new() { WaitForHangup = true },
                ],
            },
            Provider = Provider(
                FloodTurn(),
                new ScriptedTurn { Hears = "Sorry, one more thing.", Says = new ScriptedSpeech { Text = "Of course, go ahead.", AudioMs = 1000 } },
                new ScriptedTurn
                {
                    Hears = "No, that's all, goodbye.",
                    Tool = new ScriptedTool { Name = "end_call", Arguments = Json(new { reason = "done" }) },
                    Says = new ScriptedSpeech { Text = "Goodbye, Marc!", AudioMs = 600 },
                }),
        };
        var sessionsBefore = factory.Provider.Sessions.Count;

        var twilio = await factory.CallAsync(tenant, script);

        // What the caller experienced.
        Assert.Contains(twilio.Said, s => s.Contains("Cet appel est enregistré")); // consent, in Québec French
        Assert.True(twilio.ServerEnded, string.Join('\n', twilio.Timeline)); // the assistant hung up after its goodbye
        // The barge-in flushed Twilio's buffer, once. The timeline says when a second one came (seen once under the full
        // suite's load, stop 26: 2 clears; not reproduced since).
        Assert.True(twilio.Clears == 1, $"clears: {twilio.Clears}\n" + string.Join('\n', twilio.Timeline));
        Assert.True(twilio.MarksEchoed > 0);
        Assert.Contains("<Hangup", twilio.ActionTwiML);
        Assert.True(twilio.TurnLatenciesMs.Count == 3, string.Join("\n", twilio.Timeline));

        // The call record.
        var call = await factory.FinishedCallAsync(tenant, twilio.CallSid);
        Assert.Equal(("completed", "assistant-hangup", "fr-CA"), (call.Status, call.EndedReason, call.Language));
        Assert.True(call.Analyzed);
        // Recorded and plausible; the latency target itself is measured in bench/ (voice mode) on a quiet machine: this
        // suite now runs beside the browser tests on 2 cores, where 300 ms was exceeded by scheduling alone (310–690 ms seen).
        Assert.InRange(call.GreetingLatencyMs!.Value, 1, 2000);
        Assert.NotNull(call.StartedAt);
        Assert.Contains("user: " + FloodWords, call.TranscriptText);

        // Transcript turns, both sides, in order, with latencies on the assistant's answers.
        var turns = await factory.WithDbAsync(tenant.Id, db => db.TranscriptTurns.Where(t => t.CallId == call.Id).OrderBy(t => t.Seq).ToListAsync());
        Assert.Equal(Enumerable.Range(0, turns.Count), turns.Select(t => t.Seq));
        Assert.Equal("assistant", turns[0].Role);
        Assert.Equal("Drain Fortin, bonjour! Ici Paul.", turns[0].Text);
        var flood = turns.FindIndex(t => t.Role == "user" && t.Text == FloodWords);
        Assert.True(flood > 0);
        Assert.StartsWith("capture_lead(", turns[flood + 1].Text);
        Assert.Equal("tool_result", turns[flood + 2].Role);
        var answer = turns[flood + 3];
        Assert.Equal("assistant", answer.Role);
        Assert.EndsWith("…", answer.Text); // interrupted by the caller
        Assert.InRange(answer.ProviderLatencyMs!.Value, 0, 2000);
        Assert.InRange(answer.BridgeLatencyMs!.Value, 0, 50);
        Assert.Contains(turns, t => t.Role == "user" && t.Text == "Sorry, one more thing.");
        Assert.Contains(turns, t => t.Role == "tool_call" && t.Text.StartsWith("end_call("));
        Assert.Equal("Goodbye, Marc!", turns[^1].Text);

        // The provider session: configured once, truncated at what the caller heard.
        var session = Assert.Single(factory.Provider.Sessions.Skip(sessionsBefore));
        Assert.Equal(("audio/pcmu", Switchboard.Brain.ToolRegistry.Definitions().Count, "Bearer sk-test-realtime"), (session.Format, session.ToolCount, session.Authorization));
        Assert.Contains("Tu es Paul.", session.Instructions);
        var (item, heardMs) = Assert.Single(session.Truncations);
        Assert.False(string.IsNullOrEmpty(item));
        Assert.InRange(heardMs, 300, 2500); // interrupted ~600 ms into a 4 s answer; never past what was sent
        Assert.Contains(session.ToolOutputs, o => o.Output.Contains("\"urgency\":\"emergency\""));

        // The lead, and exactly one SMS to the on-call plumber (texted during the call, not again after it).
        var lead = await factory.WithDbAsync(tenant.Id, db => db.Leads.SingleAsync(l => l.CallId == call.Id));
        Assert.Equal(("emergency", "Marc Tremblay", "+15145550123", "tool"), (lead.Urgency, lead.Name, lead.Phone, lead.Source));
        await factory.Outbox.DrainAsync(CancellationToken.None);
        var sms = await factory.WithDbAsync(tenant.Id, db => db.SmsMessages.Where(s => s.CallId == call.Id).ToListAsync());
        var alert = Assert.Single(sms);
        Assert.Equal(("emergency-alert", "+15145550111", "sent"), (alert.Purpose, alert.To, alert.Status));
        Assert.Single(factory.TwilioRest.Messages, m => m.Body == alert.Body);

        // The dual-channel recording was started through Twilio's REST API once the stream began.
        var started = Assert.Single(factory.TwilioRest.Recordings, r => r.CallSid == twilio.CallSid);
        Assert.Equal("dual", started.Form["RecordingChannels"]);
        Assert.EndsWith($"/webhooks/twilio/recording/{tenant.Id}", started.Form["RecordingStatusCallback"]);
        var recording = await factory.WithDbAsync(tenant.Id, db => db.CallRecordings.SingleAsync(r => r.CallId == call.Id));
        Assert.Equal((2, "StartCallRecordingAPI"), (recording.Channels, recording.Source));
    }

    [Fact]
    public async Task ACallerWhoHangsUpRightAfterSpeakingIsStillHeardAndTheirEmergencyTexted()
    {
        const string words = "Sewage is backing up in my basement, call me back at 514 555 0166.";
        var tenant = await TenantAsync();
        var script = new CallScript
        {
            Caller = new CallerScript
            {
                From = "+15145550124", Country = "CA", State = "QC",
                // No pause after the words: the provider's voice activity detection never sees the end of the turn.
                Steps = [new() { Listen = true }, new() { Say = "tone:1500", Text = words }, new() { Hangup = true }],
            },
            Provider = Provider(new ScriptedTurn { Hears = words, Says = new ScriptedSpeech { Text = "I'm texting the plumber now.", AudioMs = 900 } }),
        };

        var twilio = await factory.CallAsync(tenant, script);

        var call = await factory.FinishedCallAsync(tenant, twilio.CallSid);
        Assert.Contains("user: " + words, call.TranscriptText);
        var lead = await factory.WithDbAsync(tenant.Id, db => db.Leads.SingleAsync(l => l.CallId == call.Id));
        Assert.Equal(("emergency", "+15145550166"), (lead.Urgency, lead.Phone));
        Assert.True(await factory.WithDbAsync(tenant.Id, db => db.SmsMessages.AnyAsync(m => m.CallId == call.Id && m.Purpose == "emergency-alert")));
    }

    [Fact]
    public async Task AProviderSessionThatExpiresMidCallIsReplacedAndTheConversationReplayed()
    {
        var tenant = await TenantAsync();
        var script = new CallScript
        {
            Caller = new CallerScript
            {
                Steps =
                [
                    new() { Listen = true },
                    new() { Say = "tone:1200", Text = FloodWords },
                    new() { Listen = true },
                    new() { Say = "tone:800", Text = "Is someone coming tonight?" },
                    new() { Listen = true },
                    new() { Hangup = true },
                ],
            },
            Provider = Provider(
                FloodTurn(answerMs: 1200),
                new ScriptedTurn { Hears = "Is someone coming tonight?", Says = new ScriptedSpeech { Text = "Yes, within the hour.", AudioMs = 900 } }) with
            {
                DropAfterTurn = 1,
            },
        };
        var sessionsBefore = factory.Provider.Sessions.Count;

        var twilio = await factory.CallAsync(tenant, script);

        var sessions = factory.Provider.Sessions.Skip(sessionsBefore).ToList();
        Assert.Equal(2, sessions.Count);
        // The new session got the same configuration, then the whole conversation so far.
        Assert.Equal(sessions[0].Instructions, sessions[1].Instructions);
        Assert.Contains(sessions[1].Messages, m => m.Role == "user" && m.Text == FloodWords);
        Assert.Contains(sessions[1].Messages, m => m.Role == "assistant" && m.Text.StartsWith("I'm sorry to hear that"));
        Assert.Contains(sessions[1].Received, t => t == "conversation.item.create");
        Assert.True(sessions[1].AudioBytesReceived > 0);
        // The caller noticed nothing: their next question was answered, the call ended normally.
        Assert.Equal(2, twilio.TurnLatenciesMs.Count); // both questions answered
        var call = await factory.FinishedCallAsync(tenant, twilio.CallSid);
        Assert.Equal("caller-hangup", call.EndedReason);
        var turns = await factory.WithDbAsync(tenant.Id, db => db.TranscriptTurns.Where(t => t.CallId == call.Id).OrderBy(t => t.Seq).Select(t => t.Text).ToListAsync());
        Assert.Contains("Yes, within the hour.", turns);
    }

    [Fact]
    public async Task WhenTheProviderIsUnreachableTheCallerLeavesAMessageAndStaffAreAlerted()
    {
        var tenant = await TenantAsync(t => t.RealtimeBaseUrl = "ws://127.0.0.1:9/v1/realtime");
        var script = new CallScript { Caller = new CallerScript { Steps = [new() { WaitForHangup = true }] }, Provider = Provider() };

        var twilio = await factory.CallAsync(tenant, script);

        Assert.True(twilio.ServerEnded);
        Assert.True(twilio.LeftMessage, string.Join('\n', twilio.Timeline));
        Assert.Contains(twilio.Said, s => s.Contains("Notre assistant n'est pas disponible"));
        var call = await factory.FinishedCallAsync(tenant, twilio.CallSid);
        Assert.Equal(NativeCallStatus.ProviderUnreachable, call.EndedReason);
        var alert = await factory.WithDbAsync(tenant.Id, db => db.SmsMessages.SingleAsync(s => s.Purpose == "voice-failure"));
        Assert.Equal("+15145550111", alert.To);
        var message = await factory.WithDbAsync(tenant.Id, db => db.CallRecordings.SingleAsync(r => r.CallId == call.Id));
        Assert.Equal("RecordVerb", message.Source);
    }

    [Fact]
    public async Task WhenTheProviderIsUnreachableStaffWhoReadGermanAreTextedInGerman()
    {
        var tenant = await TenantAsync(t =>
        {
            t.RealtimeBaseUrl = "ws://127.0.0.1:9/v1/realtime";
            t.AlertPolicy = new() { OnCallNumbers = ["+15145550133"], Language = "de-DE" }; // a fr-CA business whose on-call plumber reads German
        });
        var script = new CallScript { Caller = new CallerScript { Steps = [new() { WaitForHangup = true }] }, Provider = Provider() };

        var twilio = await factory.CallAsync(tenant, script);
        await factory.FinishedCallAsync(tenant, twilio.CallSid);
        await factory.Outbox.DrainAsync(CancellationToken.None);

        var alert = await factory.WithDbAsync(tenant.Id, db => db.SmsMessages.SingleAsync(s => s.Purpose == "voice-failure"));
        var sent = Assert.Single(factory.TwilioRest.Messages, m => m.To == "+15145550133" && m.Body == alert.Body); // the voicemail's lead alert goes too
        Assert.StartsWith("Switchboard Drain Fortin: Der Sprachassistent konnte seinen Anbieter nicht erreichen (", sent.Body);
        Assert.EndsWith("). Anrufer werden gebeten, eine Nachricht zu hinterlassen.", sent.Body);
    }

    [Fact]
    public async Task AProviderThatRefusesMuLawGetsTranscodedAudioBothWays()
    {
        var tenant = await TenantAsync();
        var script = new CallScript
        {
            Caller = new CallerScript { Steps = [new() { Listen = true }, new() { Say = "tone:1000", Text = "Hello?" }, new() { Listen = true }, new() { Hangup = true }] },
            Provider = Provider(new ScriptedTurn { Hears = "Hello?", Says = new ScriptedSpeech { Text = "Yes, I can hear you.", AudioMs = 800 } }) with { AcceptPcmu = false },
        };
        var sessionsBefore = factory.Provider.Sessions.Count;

        var twilio = await factory.CallAsync(tenant, script);

        var session = Assert.Single(factory.Provider.Sessions.Skip(sessionsBefore));
        Assert.Equal("audio/pcm", session.Format);
        Assert.True(session.AudioBytesReceived > 48_000, $"{session.AudioBytesReceived} bytes of 24 kHz PCM16"); // > 1 s at 48 bytes/ms
        Assert.Single(twilio.TurnLatenciesMs); // the caller's 24 kHz speech was detected and answered
        Assert.InRange(twilio.AudioBytesHeard, 12000, 13600); // 0.8 s greeting + 0.8 s answer at 8 bytes/ms, resampled from 24 kHz
    }

    [Fact]
    public async Task DtmfDigitsReachTheModelAsText()
    {
        var tenant = await TenantAsync();
        var script = new CallScript
        {
            Caller = new CallerScript { Steps = [new() { Listen = true }, new() { Dtmf = "42#" }, new() { Listen = true }, new() { Hangup = true }] },
            Provider = Provider(),
        };
        var sessionsBefore = factory.Provider.Sessions.Count;

        var twilio = await factory.CallAsync(tenant, script);

        var session = Assert.Single(factory.Provider.Sessions.Skip(sessionsBefore));
        Assert.Contains(session.Messages, m => m == ("user", "[DTMF] 4 2 #"));
        var call = await factory.FinishedCallAsync(tenant, twilio.CallSid);
        var turns = await factory.WithDbAsync(tenant.Id, db => db.TranscriptTurns.Where(t => t.CallId == call.Id).OrderBy(t => t.Seq)
            .Select(t => new { t.Role, t.Text }).ToListAsync());
        Assert.Contains(turns, t => t.Text == "You pressed 4 2 #.");
        // A French business reads the keys, not English: the stored turn is the protocol token and the keys only.
        var keys = Assert.Single(turns, t => t.Role == "user");
        Assert.Equal("[DTMF] 4 2 #", keys.Text);
        Assert.DoesNotContain("pressed", call.TranscriptText!.Split('\n').Single(l => l.StartsWith("user:", StringComparison.Ordinal)));
        // The keys are not the caller's words: no lead is read from them.
        Assert.False(await factory.WithDbAsync(tenant.Id, db => db.Leads.AnyAsync(l => l.CallId == call.Id)));
    }

    [Fact]
    public async Task ACallbackNumberKeyedOnThePhoneIsTheLeadsNumber()
    {
        var tenant = await TenantAsync();
        var script = new CallScript
        {
            Caller = new CallerScript { Steps = [new() { Listen = true }, new() { Dtmf = "5145550777#" }, new() { Listen = true }, new() { Hangup = true }] },
            Provider = Provider(),
        };

        var twilio = await factory.CallAsync(tenant, script);

        var call = await factory.FinishedCallAsync(tenant, twilio.CallSid);
        Assert.Contains("user: [DTMF] 5 1 4 5 5 5 0 7 7 7 #", call.TranscriptText);
        // Before: the keys were skipped as not words, and the call left no lead at all (or the caller id as its number).
        var lead = await factory.WithDbAsync(tenant.Id, db => db.Leads.SingleAsync(l => l.CallId == call.Id));
        Assert.Equal("+15145550777", lead.Phone);
    }

    [Theory]
    [InlineData("[DTMF] 5 1 4 5 5 5 0 7 7 7 #", "CA", "+15145550777")]
    [InlineData("[DTMF] 0 1 1 3 3 6 1 2 3 4 5 6 7 8", "CA", "+33612345678")]
    [InlineData("[DTMF] 0 6 1 2 3 4 5 6 7 8 #", "FR", "+33612345678")]
    [InlineData("[DTMF] 1 #", "CA", null)]
    [InlineData("[DTMF] 1 2 3 4 5 6 7 8 9 #", "CA", null)]
    [InlineData("5 1 4 5 5 5 0 7 7 7", "CA", null)]
    public void OnlyAValidNumberKeyedOnThePhoneIsACallbackNumber(string turn, string region, string? expected) =>
        Assert.Equal(expected, CallPolicy.KeyedPhoneNumber(["Bonjour", turn], region));

    /// <summary>Holds a write lock on the leads table (both databases) until disposed: capture_lead then waits on it.</summary>
    private async Task<IAsyncDisposable> LockLeadsAsync()
    {
        var options = factory.Services.GetRequiredService<IOptions<global::Switchboard.Platform.Database.DatabaseOptions>>().Value;
        System.Data.Common.DbConnection connection = options.IsPostgres
            ? new Npgsql.NpgsqlConnection(options.ConnectionString)
            : new Microsoft.Data.Sqlite.SqliteConnection(options.ConnectionString);
        await connection.OpenAsync();
        var transaction = await connection.BeginTransactionAsync();
        await using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            // SQLite: any write takes the database's write lock; PostgreSQL: block inserts into leads.
            command.CommandText = options.IsPostgres ? "LOCK TABLE leads IN SHARE ROW EXCLUSIVE MODE" : "DELETE FROM leads WHERE 0";
            await command.ExecuteNonQueryAsync();
        }
        return new Held(connection, transaction);
    }

    private sealed class Held(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction transaction) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await transaction.RollbackAsync();
            await connection.DisposeAsync();
        }
    }

    [Fact]
    public async Task AToolSlowerThanASecondGetsASpokenFillerAndTheModelAlwaysSpeaksAfterIt()
    {
        var tenant = await TenantAsync();
        var script = new CallScript
        {
            Caller = new CallerScript { Steps = [new() { Listen = true }, new() { Say = "tone:1000", Text = FloodWords }, new() { Listen = true }, new() { Hangup = true }] },
            Provider = Provider(FloodTurn(answerMs: 900)),
        };
        var sessionsBefore = factory.Provider.Sessions.Count;

        var calling = factory.CallAsync(tenant, script);
        // While the caller speaks, the database gets slow: capture_lead will wait for the lock.
        await EventuallyAsync(() => factory.Provider.Sessions.Skip(sessionsBefore).FirstOrDefault()?.SpeechStarts > 0, 10000);
        var session = factory.Provider.Sessions.Skip(sessionsBefore).First();
        await using (await LockLeadsAsync())
        {
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (session.OutOfBandResponses == 0 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20);
            }
            Assert.True(session.OutOfBandResponses > 0, "no filler; the provider received: " + string.Join(", ", session.Received));
        }
        var twilio = await calling;

        Assert.Contains(session.ToolOutputs, o => o.Output.Contains("\"captured\":true"));
        var call = await factory.FinishedCallAsync(tenant, twilio.CallSid);
        var turns = await factory.WithDbAsync(tenant.Id, db => db.TranscriptTurns.Where(t => t.CallId == call.Id).OrderBy(t => t.Seq).Select(t => t.Text).ToListAsync());
        var filler = turns.IndexOf("One moment please.");
        Assert.True(filler > 0, string.Join(" | ", turns));
        Assert.True(turns.FindIndex(t => t.StartsWith("I'm sorry to hear that")) > filler, string.Join(" | ", turns)); // then the answer, no dead air
    }

    [Fact]
    public async Task AnIdleCallerIsRepromptedThenPolitelyHungUpOn()
    {
        var tenant = await TenantAsync();
        var script = new CallScript
        {
            Caller = new CallerScript { ListenTimeoutMs = 30000, Steps = [new() { Listen = true }, new() { WaitForHangup = true }] },
            Provider = Provider(),
        };
        using var stop = new CancellationTokenSource();
        // Silence passes on the server's clock: 3 s every 300 ms of real time, until the assistant hangs up.
        var clock = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await Task.Delay(300);
                factory.Clock.Advance(TimeSpan.FromSeconds(3));
            }
        });
        SimulatedCall twilio;
        try
        {
            twilio = await factory.CallAsync(tenant, script);
        }
        finally
        {
            await stop.CancelAsync();
            await clock;
        }

        Assert.True(twilio.ServerEnded, string.Join('\n', twilio.Timeline));
        var call = await factory.FinishedCallAsync(tenant, twilio.CallSid);
        Assert.Equal("idle-timeout", call.EndedReason);
        var said = await factory.WithDbAsync(tenant.Id, db => db.TranscriptTurns.Where(t => t.CallId == call.Id).OrderBy(t => t.Seq).Select(t => t.Text).ToListAsync());
        Assert.Equal(["Drain Fortin, bonjour! Ici Paul.", "Are you still there?", "Are you still there?", "Goodbye!"], said);
    }

    [Fact]
    public async Task AtItsMaximumLengthTheCallEndsWithAGoodbye()
    {
        var tenant = await TenantAsync(t => t.VoiceMaxCallSeconds = 60);
        var script = new CallScript
        {
            Caller = new CallerScript { Steps = [new() { Listen = true }, new() { WaitForHangup = true }] },
            Provider = Provider(),
        };
        var calling = factory.CallAsync(tenant, script);
        await EventuallyAsync(() => factory.Services.GetRequiredService<BridgeRegistry>().Count > 0);
        await Task.Delay(1500); // the greeting plays
        factory.Clock.Advance(TimeSpan.FromSeconds(61));

        var twilio = await calling;

        Assert.True(twilio.ServerEnded);
        var call = await factory.FinishedCallAsync(tenant, twilio.CallSid);
        Assert.Equal("max-duration", call.EndedReason);
        var last = await factory.WithDbAsync(tenant.Id, db => db.TranscriptTurns.Where(t => t.CallId == call.Id).OrderByDescending(t => t.Seq).Select(t => t.Text).FirstAsync());
        Assert.Equal("Goodbye!", last);
    }

    [Fact]
    public async Task AGarbageFrameOnOneSocketLeavesTwentyOtherCallsUndisturbed()
    {
        var tenant = await TenantAsync(); // the plan allows 1,000 concurrent calls here (VoiceFactory)
        factory.Provider.Script = Provider(new ScriptedTurn { Hears = "Hello?", Says = new ScriptedSpeech { Text = "Hello, I hear you.", AudioMs = 700 } });
        var normal = new CallerScript { Steps = [new() { Listen = true }, new() { Say = "tone:800", Text = "Hello?" }, new() { Listen = true }, new() { Hangup = true }] };
        var broken = new CallerScript
        {
            // Mid-call, while the other calls talk: a truncated frame, then binary-looking garbage past the tolerance.
            Steps = [new() { Listen = true }, new() { PauseMs = 300 }, new() { Raw = "{\"event\":\"media\",\"media\":{\"payload\":" },
                new() { Raw = "\u0000\u0001garbage", Repeat = 25 }, new() { WaitForHangup = true }],
        };
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var twilio = factory.Twilio();

        var calls = Enumerable.Range(0, 20).Select(_ => twilio.PlaceCallAsync(tenant.Id, normal, cts.Token)).ToList();
        var bad = twilio.PlaceCallAsync(tenant.Id, broken, cts.Token);
        var results = await Task.WhenAll(calls);
        var garbage = await bad;

        Assert.True(garbage.ServerEnded); // the malformed stream was closed (1007)…
        Assert.Equal("stream-error", (await factory.FinishedCallAsync(tenant, garbage.CallSid)).EndedReason);
        foreach (var call in results) // …and every other call went on as if nothing happened.
        {
            Assert.NotNull(call.GreetingMs);
            Assert.True(call.TurnLatenciesMs is [< 3000], string.Join('\n', call.Timeline));
            Assert.Equal(0, call.Clears);
            Assert.False(call.ServerEnded);
            var stored = await factory.FinishedCallAsync(tenant, call.CallSid);
            Assert.Equal(("completed", "caller-hangup"), (stored.Status, stored.EndedReason));
        }
        await EventuallyAsync(() => factory.Services.GetRequiredService<BridgeRegistry>().Count == 0);
    }

    [Fact]
    public async Task AStreamIsRefusedBeforeTheUpgradeWithoutAValidTokenAndSignature()
    {
        var tenant = await TenantAsync();
        var server = factory.ServerUri;
        var ws = $"ws://{server.Authority}/media/twilio/";

        async Task<HttpStatusCode> UpgradeAsync(string url, string? signature)
        {
            using var socket = new ClientWebSocket();
            socket.Options.CollectHttpResponseDetails = true;
            if (signature is not null)
            {
                socket.Options.SetRequestHeader("X-Twilio-Signature", signature);
            }
            try
            {
                await socket.ConnectAsync(new Uri(url), CancellationToken.None);
                return HttpStatusCode.SwitchingProtocols;
            }
            catch (WebSocketException)
            {
                return socket.HttpStatusCode;
            }
        }

        var call = await factory.WithDbAsync(tenant.Id, async db =>
        {
            var c = new global::Switchboard.Calls.Call
            {
                Id = Guid.CreateVersion7(), TenantId = tenant.Id, Channel = "voice", Provider = "twilio", ProviderCallId = "CA-token-test", CallSid = "CA-token-test",
                CreatedAt = factory.Clock.GetUtcNow(), UpdatedAt = factory.Clock.GetUtcNow(),
            };
            db.Calls.Add(c);
            await db.SaveChangesAsync();
            return c;
        });
        var token = factory.Services.GetRequiredService<MediaStreamTokens>().Issue(tenant.Id, call.Id, "CA-token-test", null, "fr-CA");
        var good = TwilioRequestValidator.ComputeSignature(ws + token, null, TwilioSimulator.AuthToken);

        Assert.Equal(HttpStatusCode.Forbidden, await UpgradeAsync(ws + "forged", good));
        Assert.Equal(HttpStatusCode.Forbidden, await UpgradeAsync(ws + token, null)); // the signature is required here
        Assert.Equal(HttpStatusCode.Forbidden, await UpgradeAsync(ws + token, TwilioRequestValidator.ComputeSignature(ws + token, null, "wrong")));
        var plain = await factory.CreateClient().GetAsync($"/media/twilio/{token}");
        Assert.Equal(HttpStatusCode.BadRequest, plain.StatusCode);
        Assert.Contains("WEBSOCKET_REQUIRED", await plain.Content.ReadAsStringAsync());
        factory.Clock.Advance(TimeSpan.FromMinutes(3));
        Assert.Equal(HttpStatusCode.Forbidden, await UpgradeAsync(ws + token, good)); // expired
    }

    /// <summary>
    /// The WebSocket upgrade takes Twilio's shared-key scheme (HMAC-SHA256 with <c>X-Twilio-Webhooks-Signature-Settings</c>)
    /// exactly as the webhooks do; the Twilio SDK's <c>RequestValidator</c> is the oracle for every signature sent.
    /// </summary>
    [Fact]
    public async Task AStreamUpgradeSignedWithTheSharedKeyIsAcceptedAsTheWebhooksAre()
    {
        const string secret = "whsk_test_stream_0123456789abcdefAB";
        const string keyId = "webhooks_sharedkey_stream0001";
        var tenant = await TenantAsync();
        (await factory.ApiClient(tenant).PutAsJsonAsync("/api/v1/credentials/twilio/signing-key", new { secret, keyId })).EnsureSuccessStatusCode();
        var call = await factory.WithDbAsync(tenant.Id, async db =>
        {
            var c = new global::Switchboard.Calls.Call
            {
                Id = Guid.CreateVersion7(), TenantId = tenant.Id, Channel = "voice", Provider = "twilio", ProviderCallId = "CA-shared-key", CallSid = "CA-shared-key",
                CreatedAt = factory.Clock.GetUtcNow(), UpdatedAt = factory.Clock.GetUtcNow(),
            };
            db.Calls.Add(c);
            await db.SaveChangesAsync();
            return c;
        });
        var token = factory.Services.GetRequiredService<MediaStreamTokens>().Issue(tenant.Id, call.Id, "CA-shared-key", null, "fr-CA");
        var url = $"ws://{factory.ServerUri.Authority}/media/twilio/{token}";
        // Twilio's signed string for an upgrade is the URL alone; HMAC-SHA256 written here, independently of the host.
        var sha256 = Convert.ToBase64String(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(url)));
        var sdk = new TwilioSdkValidator(secret);
        Assert.True(sdk.Validate(url, new Dictionary<string, string>(), sha256, TwilioSdkValidator.HmacSha256));
        var forged = Convert.ToBase64String(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret + "x"), Encoding.UTF8.GetBytes(url)));
        Assert.False(sdk.Validate(url, new Dictionary<string, string>(), forged, TwilioSdkValidator.HmacSha256));

        // Refused before the token is spent: a SHA-256 signature announced as SHA-1 (no settings header), another key's id,
        // an unknown algorithm, a signature the SDK refuses, and the settings header with no signature at all.
        Assert.Equal(HttpStatusCode.Forbidden, await UpgradeAsync(url, sha256, null));
        Assert.Equal(HttpStatusCode.Forbidden, await UpgradeAsync(url, sha256, "key=webhooks_sharedkey_other,algorithm=HMAC_SHA256"));
        Assert.Equal(HttpStatusCode.Forbidden, await UpgradeAsync(url, sha256, $"key={keyId},algorithm=HMAC_SHA512"));
        Assert.Equal(HttpStatusCode.Forbidden, await UpgradeAsync(url, forged, $"key={keyId},algorithm=HMAC_SHA256"));
        Assert.Equal(HttpStatusCode.Forbidden, await UpgradeAsync(url, null, $"key={keyId},algorithm=HMAC_SHA256"));

        // Accepted: the stream opens.
        Assert.Equal(HttpStatusCode.SwitchingProtocols, await UpgradeAsync(url, sha256, $"key={keyId},algorithm=HMAC_SHA256"));
        await EventuallyAsync(() => factory.Services.GetRequiredService<BridgeRegistry>().Count == 0);
    }

    /// <summary>Opens (and at once closes) a media-stream socket; returns 101 when accepted, else the refusal's status.</summary>
    private static async Task<HttpStatusCode> UpgradeAsync(string url, string? signature, string? settings)
    {
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        if (signature is not null)
        {
            socket.Options.SetRequestHeader("X-Twilio-Signature", signature);
        }
        if (settings is not null)
        {
            socket.Options.SetRequestHeader(TwilioRequestValidator.SignatureSettingsHeader, settings);
        }
        try
        {
            await socket.ConnectAsync(new Uri(url), CancellationToken.None);
        }
        catch (WebSocketException)
        {
            return socket.HttpStatusCode;
        }
        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
        return HttpStatusCode.SwitchingProtocols;
    }
}
