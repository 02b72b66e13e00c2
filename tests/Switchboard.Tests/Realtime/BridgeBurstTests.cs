using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Realtime.Bridge;
using Switchboard.Simulators;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Realtime;

/// <summary>
/// Many calls starting at once (issue 16: with 400 calls starting at 200/s, calls were lost to the provider connect
/// timeout). A bounded burst here, 100 calls at 200 per second (the rate) through real sockets against the
/// realtime simulator: every call reaches the provider and is greeted within a bounded time, none gets the
/// leave-a-message fallback, however busy the test machine (the connect deadline does not count the node's own backlog).
/// </summary>
[Trait("Category", "Database")]
public sealed class BridgeBurstTests(BridgeBurstTests.BurstFactory factory) : IClassFixture<BridgeBurstTests.BurstFactory>
{
    /// <summary>The voice host with the product's connect timeout (3 s) rather than the suite's shortened 2 s.</summary>
    public sealed class BurstFactory : VoiceFactory
    {
        protected override IDictionary<string, string?> MoreSettings => new Dictionary<string, string?>
        {
            ["Switchboard:Realtime:ConnectTimeoutMs"] = "3000",
        };
    }

    private const int Calls = 100;
    private const int PerSecond = 200;

    /// <summary>Every call greeted within this, from its own start (the connect timeout's wall-clock cap is 20 s).</summary>
    private const int GreetedWithinMs = 30_000;

    [Fact]
    public async Task AHundredCallsStartingAtTwoHundredPerSecondAllConnect()
    {
        var tenant = await factory.CreateTenantAsync(withTwilio: true); // the plan allows 1,000 concurrent calls (VoiceFactory)
        factory.Provider.Script = new ProviderScript
        {
            Greeting = new ScriptedSpeech { Text = "Drain Fortin, bonjour!", AudioMs = 600 },
            FirstAudioDelayMs = 40,
            DeltaMs = 100,
            Pace = 2,
        };
        var sessionsBefore = factory.Provider.Sessions.Count;
        var caller = new CallerScript { Steps = [new() { Listen = true }, new() { Hangup = true }], ListenTimeoutMs = 20000 };
        var twilio = factory.Twilio();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));

        var clock = Stopwatch.StartNew();
        var calls = new List<Task<SimulatedCall>>(Calls);
        for (var i = 0; i < Calls; i++)
        {
            calls.Add(Task.Run(() => twilio.PlaceCallAsync(tenant.Id, caller, cts.Token)));
            var due = TimeSpan.FromSeconds((i + 1) / (double)PerSecond);
            if (due > clock.Elapsed)
            {
                await Task.Delay(due - clock.Elapsed); // pacing the burst, not waiting for a result
            }
        }
        var results = await Task.WhenAll(calls);

        Assert.All(results, call =>
        {
            Assert.False(call.LeftMessage, string.Join('\n', call.Timeline));
            Assert.NotNull(call.GreetingMs);
            Assert.True(call.GreetingMs < GreetedWithinMs, $"greeted after {call.GreetingMs} ms");
        });
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(90), $"the burst took {clock.Elapsed}");
        Assert.Equal(Calls, factory.Provider.Sessions.Count - sessionsBefore);
        foreach (var call in results)
        {
            var stored = await factory.FinishedCallAsync(tenant, call.CallSid);
            Assert.NotEqual(Switchboard.Twilio.NativeCallStatus.ProviderUnreachable, stored.EndedReason);
        }
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (factory.Services.GetRequiredService<BridgeRegistry>().Count > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }
        Assert.Equal(0, factory.Services.GetRequiredService<BridgeRegistry>().Count);
    }
}
