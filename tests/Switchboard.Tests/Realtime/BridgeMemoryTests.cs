using Microsoft.Extensions.DependencyInjection;
using Switchboard.Platform.Database;
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
            // Greeting, a few words from the caller, hang-up: every part of the bridge, in about a third of a second. The caller
            // waits for the greeting to have played (not for a fixed time, which a loaded machine can outlast) before speaking;
            // one that never comes ends the wait after 10 s and fails the call's GreetingMs check below.
            Caller = new CallerScript
            {
                Steps = [new() { Listen = true }, new() { Say = "tone:100" }, new() { Hangup = true }],
                ListenQuietMs = 0,
                ListenTimeoutMs = 10000,
            },
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

        long Heap()
        {
            // The provider simulator keeps every session it served for tests to inspect (each with its socket and what it received):
            // the test's own memory, not the bridge's, and enough over 200 calls to take most of the bound below.
            factory.Provider.Sessions.Clear();
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

    [Fact]
    public async Task ALiveCallHoldsNoLentDatabaseConnection()
    {
        // A media stream's request lasts the whole call: had it rented a context when it came in (the credential-less
        // authentication scheme used to take one in its constructor), each live call would hold an open SQLite connection
        // with its page cache and prepared statements, 1.25 MB of RSS per call at 400 calls.
        var pool = factory.Services.GetRequiredService<SqliteSessionPool>();
        if (!pool.Enabled)
        {
            return; // PostgreSQL: no connections are lent
        }
        var tenant = await factory.CreateTenantAsync(withTwilio: true);
        var script = new CallScript
        {
            Caller = new CallerScript { Steps = [new() { PauseMs = 1500 }, new() { Hangup = true }] },
            Provider = new ProviderScript { Greeting = new ScriptedSpeech { Text = "Hi!", AudioMs = 120 }, FirstAudioDelayMs = 0, DeltaMs = 40, Pace = 4 },
        };
        var registry = factory.Services.GetRequiredService<BridgeRegistry>();
        var call = factory.CallAsync(tenant, script, TimeSpan.FromSeconds(20));
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (registry.Count == 0 && DateTime.UtcNow < deadline && !call.IsCompleted)
        {
            await Task.Delay(10);
        }
        Assert.Equal(1, registry.Count);
        // Sampled over ~400 ms of the live call: the bridge's own short scopes (stream started, transcript turns) may lend
        // one for a moment, never for the whole call.
        var fewest = int.MaxValue;
        for (var i = 0; i < 20 && registry.Count == 1; i++)
        {
            fewest = Math.Min(fewest, pool.LentCount);
            await Task.Delay(20);
        }
        Assert.Equal(0, fewest);
        await call;
    }
}
