using System.Buffers;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Switchboard.Calls;
using Switchboard.Credentials;
using Switchboard.Realtime;
using Switchboard.Realtime.Bridge;
using Switchboard.Tenancy;
using Switchboard.Twilio;

namespace Switchboard.Tests.Realtime;

/// <summary>
/// The media bridge's parts alone, without sockets: barge-in arithmetic, turn latency, the replayed conversation, one
/// response at a time, the idle/DTMF/hang-up rules and tool execution. The whole calls are in MediaBridgeTests.
/// </summary>
public sealed class BridgePartsTests
{
    private const int BytesPerMs = 8; // μ-law 8 kHz
    private static readonly byte[] ItemA = "item_A"u8.ToArray();
    private static readonly byte[] ItemB = "item_B"u8.ToArray();
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 9, 0, 0, TimeSpan.Zero);

    private static long Ms(double ms) => (long)(ms * Stopwatch.Frequency / 1000);

    // ───── PlaybackMarks ─────

    [Fact]
    public void ABargeInTruncatesAtTheLastEchoedMarkPlusTheTimeSinceIt()
    {
        var marks = new PlaybackMarks(markEveryBytes: 200 * BytesPerMs);
        marks.BeginItem(ItemA, received: 0);
        Assert.True(marks.AddAudio(1600));
        Assert.True(marks.TryNextMark(0, out var first));
        Assert.True(marks.AddAudio(1600));
        Assert.True(marks.TryNextMark(0, out _));
        Assert.Equal(2, marks.Outstanding);

        marks.OnEchoed(first, now: Ms(1000)); // 200 ms of audio has played by t = 1 s

        Assert.True(marks.TryInterrupt(Ms(1100), BytesPerMs, out var item, out var heardMs));
        Assert.Equal(("item_A", 300L), (item, heardMs)); // 200 ms at the mark + 100 ms since
        Assert.Equal(0, marks.Outstanding);
        Assert.False(marks.Playing);
        Assert.True(marks.IsDropped(ItemA)); // its late deltas are dropped
        Assert.False(marks.IsDropped(ItemB));
    }

    [Fact]
    public void WhatWasHeardNeverExceedsWhatWasSent()
    {
        var marks = new PlaybackMarks(1600);
        marks.BeginItem(ItemA, 0);
        marks.AddAudio(2400);
        Assert.True(marks.TryNextMark(0, out var seq));
        marks.AddAudio(800);
        Assert.True(marks.TryNextMark(0, out _)); // still outstanding: the caller may be hearing it
        marks.OnEchoed(seq, Ms(10));

        Assert.True(marks.TryInterrupt(Ms(60_000), BytesPerMs, out _, out var heardMs));
        Assert.Equal(400, heardMs); // 3,200 bytes sent in all
    }

    [Fact]
    public void AnEchoOfThePreviousItemsMarkMeansTheNewItemStartsPlayingThen()
    {
        var marks = new PlaybackMarks(1600);
        marks.BeginItem(ItemA, 0);
        marks.AddAudio(800);
        Assert.True(marks.TryNextMark(0, out var endOfA)); // A's tail, marked when B begins
        marks.BeginItem(ItemB, Ms(500));
        Assert.True(marks.IsCurrent(ItemB));
        marks.AddAudio(1600);
        Assert.True(marks.TryNextMark(Ms(500), out _));

        marks.OnEchoed(endOfA, Ms(2000)); // A finished playing at 2 s: B plays from then

        Assert.True(marks.TryInterrupt(Ms(2050), BytesPerMs, out var item, out var heardMs));
        Assert.Equal(("item_B", 50L), (item, heardMs));
    }

    [Fact]
    public void NothingOutstandingIsNotABargeIn()
    {
        var marks = new PlaybackMarks(1600);
        Assert.False(marks.TryInterrupt(Ms(1), BytesPerMs, out _, out _));
        marks.BeginItem(ItemA, 0);
        marks.AddAudio(100);
        Assert.False(marks.TryInterrupt(Ms(1), BytesPerMs, out _, out _)); // sent, but no mark queued yet
        Assert.True(marks.TryNextMark(0, out var seq));
        marks.OnEchoed(seq, Ms(20));
        Assert.False(marks.TryInterrupt(Ms(30), BytesPerMs, out _, out _)); // everything has played
    }

    [Fact]
    public void AtMostARingOfMarksIsOutstandingAndStalledMarksAreForgotten()
    {
        var marks = new PlaybackMarks(8);
        marks.BeginItem(ItemA, 0);
        for (var i = 0; i < PlaybackMarks.Ring; i++)
        {
            marks.AddAudio(8);
            Assert.True(marks.TryNextMark(Ms(i), out _));
        }
        marks.AddAudio(8);
        Assert.False(marks.TryNextMark(Ms(100), out _));
        Assert.False(marks.TryNextMark(Ms(100), out _));

        Assert.False(marks.DropIfStalled(Ms(9_999), TimeSpan.FromSeconds(10))); // timed from the first mark
        Assert.True(marks.DropIfStalled(Ms(10_000), TimeSpan.FromSeconds(10)));
        Assert.Equal(0, marks.Outstanding);
    }

    [Fact]
    public void AMarkIsDueEveryConfiguredLengthOfAudio()
    {
        var marks = new PlaybackMarks(1600);
        marks.BeginItem(ItemA, 0);
        Assert.False(marks.AddAudio(800));
        Assert.True(marks.AddAudio(800));
        Assert.True(marks.TryNextMark(0, out var one));
        Assert.False(marks.TryNextMark(0, out _)); // nothing new since
        Assert.False(marks.HasUnmarkedAudio);
        marks.AddAudio(1);
        Assert.True(marks.TryNextMark(0, out var two));
        Assert.Equal(one + 1, two);
        Assert.Equal(1601, marks.ItemBytes);
    }

    [Fact]
    public void ThePerFrameMarkBookkeepingAllocatesNothing()
    {
        var marks = new PlaybackMarks(1600);
        marks.BeginItem(ItemA, 0);
        void Frames(int count)
        {
            for (var i = 0; i < count; i++)
            {
                if (!marks.IsDropped(ItemA) && marks.IsCurrent(ItemA) && marks.AddAudio(800) && marks.TryNextMark(i, out var seq))
                {
                    marks.OnEchoed(seq, i);
                }
            }
        }
        Frames(100); // compiled first
        var before = GC.GetAllocatedBytesForCurrentThread();
        Frames(10_000);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    // ───── TurnLatency ─────

    [Fact]
    public void AnAnswersLatenciesAreMeasuredFromTheEndOfSpeechAndTakenOnce()
    {
        var latency = new TurnLatency();
        latency.SpeechStopped(Ms(1000));
        Assert.Equal(Ms(350), latency.FirstAudio(ItemA, Ms(1350)));
        latency.FirstFrameSent(Ms(1350), Ms(1351.5));

        var (providerMs, bridgeMs) = latency.Take("item_A");
        Assert.Equal(350, providerMs!.Value, 3);
        Assert.Equal(1.5, bridgeMs!.Value, 3);
        Assert.Equal((null, null), latency.Take("item_A"));
    }

    [Fact]
    public void AnUnpromptedItemHasNoProviderLatencyAndOtherItemsGetNone()
    {
        var latency = new TurnLatency();
        Assert.Null(latency.FirstAudio(ItemA, Ms(10))); // the greeting: nobody spoke before it
        latency.FirstFrameSent(Ms(999), Ms(1000)); // another item's frame: not this one's
        Assert.Equal((null, null), latency.Take("item_B"));
        Assert.Equal((null, null), latency.Take("item_A"));
    }

    [Fact]
    public void TheGreetingLatencyIsRecordedOnce()
    {
        var latency = new TurnLatency();
        Assert.True(latency.TryRecordGreeting(Ms(0), Ms(280), out var ticks));
        Assert.Equal(Ms(280), ticks);
        Assert.False(latency.TryRecordGreeting(Ms(0), Ms(900), out _));
        Assert.Equal(280, latency.GreetingMs!.Value, 3);
    }

    // ───── Conversation ─────

    [Fact]
    public void TheReplayKeepsTheLastTwoHundredItemsInOrderAsProviderEvents()
    {
        var conversation = new Conversation();
        for (var i = 0; i < Conversation.MaxItems + 5; i++)
        {
            conversation.Add(new HistoryItem("user", $"message {i}"));
        }
        conversation.Add(new HistoryItem("function_call", "{\"a\":1}", "capture_lead", "call_1"));
        conversation.Add(new HistoryItem("function_call_output", "{\"ok\":true}", "capture_lead", "call_1"));
        Assert.Equal(Conversation.MaxItems, conversation.Count);

        var frames = conversation.ReplayFrames();
        var events = frames.Select(f => JsonDocument.Parse(Encoding.UTF8.GetString(f.Buffer, 0, f.Length)).RootElement).ToList();
        frames.ForEach(f => ArrayPool<byte>.Shared.Return(f.Buffer));

        Assert.Equal(Conversation.MaxItems, events.Count);
        Assert.All(events, e => Assert.Equal("conversation.item.create", e.GetProperty("type").GetString()));
        Assert.Contains("message 7", events[0].GetRawText()); // 0 to 6 went first
        Assert.Equal("function_call", events[^2].GetProperty("item").GetProperty("type").GetString());
        Assert.Equal("function_call_output", events[^1].GetProperty("item").GetProperty("type").GetString());
        Assert.Equal("call_1", events[^1].GetProperty("item").GetProperty("call_id").GetString());
    }

    [Fact]
    public void AnInterruptedItemKeepsItsWordsWithAnEllipsis()
    {
        var conversation = new Conversation();
        Assert.False(conversation.AppendAssistantText("item_A", "I'm sorry to ", out _, out _));
        Assert.False(conversation.AppendAssistantText("item_A", "hear that ", out _, out _));

        Assert.True(conversation.AppendAssistantText("item_B", "Of course", out var unfinished, out var item));
        Assert.Equal(("I'm sorry to hear that …", "item_A"), (unfinished, item));

        conversation.CompleteAssistantText("item_B"); // its full transcript arrived: nothing unfinished
        Assert.False(conversation.TakeUnfinished(out _, out _));

        conversation.AppendAssistantText("item_C", "   ", out _, out _);
        Assert.False(conversation.TakeUnfinished(out _, out _)); // blank words are not a turn
    }

    // ───── ResponseQueue ─────

    [Fact]
    public void OneResponseAtATimeAndTheMostImportantWaitingRequestGoesNext()
    {
        var responses = new ResponseQueue();
        Assert.False(responses.TryRequest(ResponseKind.Greeting, null, ready: false, now: 0)); // session not ready: waits
        Assert.True(responses.Done(out var next, out _));
        Assert.Equal(ResponseKind.Greeting, next);

        Assert.True(responses.TryRequest(ResponseKind.Greeting, null, ready: true, now: 0));
        responses.Created();
        Assert.False(responses.TryRequest(ResponseKind.Reprompt, null, true, 0));
        Assert.False(responses.TryRequest(ResponseKind.Goodbye, "idle-timeout", true, 0));
        Assert.False(responses.TryRequest(ResponseKind.Filler, null, true, 0)); // less important than the goodbye
        Assert.True(responses.HasPending);

        Assert.True(responses.Done(out next, out var reason));
        Assert.Equal((ResponseKind.Goodbye, "idle-timeout"), (next, reason));
        Assert.False(responses.HasPending);
        Assert.False(responses.Done(out _, out _));
    }

    [Fact]
    public void AnUnansweredRequestIsForgottenAfterFiveSecondsAndADropResetsTheQueue()
    {
        var responses = new ResponseQueue();
        Assert.True(responses.TryRequest(ResponseKind.Greeting, null, true, Ms(0)));
        responses.ExpireRequest(Ms(5000));
        Assert.True(responses.Requested);
        responses.ExpireRequest(Ms(5001));
        Assert.False(responses.Requested);

        Assert.True(responses.TryRequest(ResponseKind.Reprompt, null, true, Ms(6000)));
        responses.Created();
        Assert.True(responses.Reset()); // it was speaking: the new session continues
        Assert.False(responses.Active);
        Assert.False(responses.Reset());
    }

    // ───── CallPolicy ─────

    private static CallPolicy Policy(int maxCallSeconds = 600) =>
        new(new VoiceOptions { IdleRepromptSeconds = 8, IdleMaxReprompts = 2, HangupGraceSeconds = 15 }, maxCallSeconds);

    [Fact]
    public void DigitsAreGroupedUntilHashOrSevenHundredMillisecondsOfSilence()
    {
        var policy = Policy();
        Assert.Null(policy.AddDigit("4"u8, T0));
        Assert.Null(policy.AddDigit("2"u8, T0.AddMilliseconds(300)));
        Assert.Null(policy.TakeDigitsIfDue(T0.AddMilliseconds(999)));
        Assert.Equal("[DTMF] 4 2", policy.TakeDigitsIfDue(T0.AddMilliseconds(1000)));
        Assert.Null(policy.TakeDigitsIfDue(T0.AddMilliseconds(5000)));

        Assert.Null(policy.AddDigit("1"u8, T0.AddSeconds(6)));
        Assert.Equal("[DTMF] 1 #", policy.AddDigit("#"u8, T0.AddSeconds(6.1)));
    }

    [Fact]
    public void AQuietCallerIsRepromptedTwiceThenToldGoodbye()
    {
        var policy = Policy();
        policy.Activity(T0);
        Assert.Equal(IdleAction.None, policy.Idle(T0.AddSeconds(7.9), quiet: true));
        Assert.Equal(IdleAction.None, policy.Idle(T0.AddSeconds(30), quiet: false)); // someone speaks or a tool runs
        Assert.Equal(IdleAction.Reprompt, policy.Idle(T0.AddSeconds(30), quiet: true));
        Assert.Equal(IdleAction.None, policy.Idle(T0.AddSeconds(37), quiet: true));
        Assert.Equal(IdleAction.Reprompt, policy.Idle(T0.AddSeconds(38), quiet: true));
        Assert.Equal(IdleAction.Goodbye, policy.Idle(T0.AddSeconds(46), quiet: true));
    }

    [Fact]
    public void TheCallerSpeakingResetsTheReprompts()
    {
        var policy = Policy();
        policy.Activity(T0);
        Assert.Equal(IdleAction.Reprompt, policy.Idle(T0.AddSeconds(8), true));
        Assert.Equal(IdleAction.Reprompt, policy.Idle(T0.AddSeconds(16), true));
        policy.CallerActivity(T0.AddSeconds(20));
        Assert.Equal(IdleAction.Reprompt, policy.Idle(T0.AddSeconds(28), true));
        Assert.Equal(IdleAction.Reprompt, policy.Idle(T0.AddSeconds(36), true));
        Assert.Equal(IdleAction.Goodbye, policy.Idle(T0.AddSeconds(44), true));
    }

    [Fact]
    public void TheMaximumLengthFiresOnceAndAHangupHasAGraceDeadline()
    {
        var policy = Policy(maxCallSeconds: 60);
        Assert.False(policy.MaxDurationReached(T0.AddSeconds(59.9), T0));
        Assert.True(policy.MaxDurationReached(T0.AddSeconds(60), T0));
        Assert.False(policy.MaxDurationReached(T0.AddSeconds(61), T0));

        Assert.False(policy.HangupOverdue(T0.AddSeconds(100)));
        Assert.True(policy.RequestHangup(T0.AddSeconds(60)));
        Assert.False(policy.RequestHangup(T0.AddSeconds(61))); // the first reason stays
        Assert.True(policy.HangupRequested);
        Assert.False(policy.HangupOverdue(T0.AddSeconds(74.9)));
        Assert.True(policy.HangupOverdue(T0.AddSeconds(75)));
    }

    // ───── ToolRunner ─────

    [Fact]
    public async Task AFastToolGetsNoFillerAndASlowOneGetsExactlyOne()
    {
        using var fast = new ToolRunner((_, _, _) => Task.FromResult("{\"ok\":true}"), fillerMs: 30_000);
        var fillers = 0;
        Assert.Equal("{\"ok\":true}", await fast.RunAsync("check_availability", "{}", () => fillers++, CancellationToken.None));
        Assert.Equal(0, fillers);

        var release = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var slow = new ToolRunner((_, _, _) => release.Task, fillerMs: 20);
        var filled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var run = slow.RunAsync("capture_lead", "{}", () => { Interlocked.Increment(ref fillers); filled.TrySetResult(); }, CancellationToken.None);
        await filled.Task.WaitAsync(TimeSpan.FromSeconds(10)); // the filler comes while the tool still runs
        Assert.False(run.IsCompleted);
        release.SetResult("{\"saved\":true}");
        Assert.Equal("{\"saved\":true}", await run);
        Assert.Equal(1, fillers);
    }

    [Fact]
    public async Task ACallsToolsRunOneAfterTheOther()
    {
        var first = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var firstStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        bool? secondStartedAfterFirstEnded = null;
        using var runner = new ToolRunner((name, _, _) =>
        {
            if (name == "one")
            {
                firstStarted.TrySetResult();
                return first.Task;
            }
            secondStartedAfterFirstEnded = first.Task.IsCompleted;
            return Task.FromResult("two done");
        }, fillerMs: 30_000);

        var one = runner.RunAsync("one", "{}", () => { }, CancellationToken.None);
        await firstStarted.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var two = runner.RunAsync("two", "{}", () => { }, CancellationToken.None);
        first.SetResult("one done");

        Assert.Equal(("one done", "two done"), (await one, await two));
        Assert.True(secondStartedAfterFirstEnded);
    }

    [Fact]
    public void ACapturedLeadKeepsEarlierFieldsAndTheHighestUrgency()
    {
        var rules = UrgencyRules.Generic;
        var lead = ToolRunner.MergeCapturedLead(null, """{"name":"Marc Tremblay","problem":"Basement flooding","urgency":"emergency"}""", rules);
        lead = ToolRunner.MergeCapturedLead(lead, """{"address":"12 rue Principale, Laval","urgency":"routine"}""", rules);
        lead = ToolRunner.MergeCapturedLead(lead, "not json", rules);

        Assert.NotNull(lead);
        Assert.Equal(("Marc Tremblay", "12 rue Principale, Laval", "Basement flooding", Urgency.Emergency, "tool"),
            (lead.Name, lead.Address, lead.Problem, lead.Urgency, lead.Source));
    }

    [Fact]
    public void ACapturedProblemIsReadAgainstTheTenantsUrgencyCues()
    {
        const string arguments = """{"name":"Marc Tremblay","problem":"Le drain refoule depuis ce matin"}""";

        Assert.Equal(Urgency.Emergency, ToolRunner.MergeCapturedLead(null, arguments, UrgencyRules.Plumbing)!.Urgency);
        Assert.Equal(Urgency.Routine, ToolRunner.MergeCapturedLead(null, arguments, UrgencyRules.Generic)!.Urgency);
    }

    // ───── Connect queue ─────

    [Fact]
    public async Task ProviderConnectsAreBoundedPerNodeAndAWaitingCallGetsTheNextTurn()
    {
        using var full = new RealtimeConnector(Options.Create(new RealtimeOptions { MaxConcurrentConnects = 1, ConnectQueueMs = 50 }),
            Options.Create(new CredentialOptions()));
        Assert.True(await full.AcquireSlotAsync(CancellationToken.None));
        Assert.False(await full.AcquireSlotAsync(CancellationToken.None)); // no turn within 50 ms: the call falls back

        using var queue = new RealtimeConnector(Options.Create(new RealtimeOptions { MaxConcurrentConnects = 2, ConnectQueueMs = 30_000 }),
            Options.Create(new CredentialOptions()));
        Assert.True(await queue.AcquireSlotAsync(CancellationToken.None));
        Assert.True(await queue.AcquireSlotAsync(CancellationToken.None));
        var waiting = queue.AcquireSlotAsync(CancellationToken.None);
        Assert.False(waiting.IsCompleted);
        queue.ReleaseSlot();
        Assert.True(await waiting.WaitAsync(TimeSpan.FromSeconds(10)));
    }
}
