using Microsoft.Extensions.DependencyInjection;
using Switchboard.Realtime.Bridge;
using Switchboard.Simulators;

namespace Switchboard.Tests.Realtime;

/// <summary>Runs alone: it measures the process's managed heap, which parallel tests would disturb.</summary>
[CollectionDefinition(nameof(BridgeMemoryTests), DisableParallelization = true)]
public sealed class BridgeMemoryCollection;

[Collection(nameof(BridgeMemoryTests))]
[Trait("Category", "Database")]
public sealed class BridgeMemoryTests(VoiceFactory factory) : IClassFixture<VoiceFactory>
{
    [Fact]
    public async Task MemoryReturnsToItsBaselineAfter200SequentialCalls()
    {
        var tenant = await factory.CreateTenantAsync(withTwilio: true);
        var script = new CallScript
        {
            // Greeting, a few words from the caller, hang-up: every part of the bridge, in about a third of a second.
            Caller = new CallerScript { Steps = [new() { PauseMs = 150 }, new() { Say = "tone:100" }, new() { Hangup = true }] },
            Provider = new ProviderScript { Greeting = new ScriptedSpeech { Text = "Hi!", AudioMs = 120 }, FirstAudioDelayMs = 0, DeltaMs = 40, Pace = 4 },
        };
        var registry = factory.Services.GetRequiredService<BridgeRegistry>();
        var metrics = factory.Services.GetRequiredService<VoiceMetrics>();

        async Task RunCallsAsync(int count)
        {
            for (var i = 0; i < count; i++)
            {
                var call = await factory.CallAsync(tenant, script, TimeSpan.FromSeconds(20));
                Assert.True(call.GreetingMs is not null, string.Join('\n', call.Timeline));
            }
            // Every bridge has finished and let go of its call.
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while ((registry.Count > 0 || metrics.ActiveCalls > 0) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20);
            }
            Assert.Equal(0, registry.Count);
            Assert.Equal(0, metrics.ActiveCalls);
        }

        static long Heap()
        {
            for (var i = 0; i < 3; i++)
            {
                GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
                GC.WaitForPendingFinalizers();
            }
            return GC.GetTotalMemory(forceFullCollection: true);
        }

        await RunCallsAsync(20); // warm-up: JIT, pools, EF model and query caches
        var baseline = Heap();
        await RunCallsAsync(200);
        var after = Heap();

        var growth = after - baseline;
        // Bounded: less than 20 KB per call would be a leak of every call's state; allow noise of pools and caches.
        Assert.True(growth < 4 * 1024 * 1024, $"Managed heap grew by {growth / 1024} KB over 200 calls ({growth / 200} bytes per call): baseline {baseline / 1024} KB, after {after / 1024} KB");
    }
}
