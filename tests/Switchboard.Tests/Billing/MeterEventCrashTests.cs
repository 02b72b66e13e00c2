using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Billing;
using Switchboard.Calls;
using Switchboard.Simulators;
using Switchboard.Tenancy;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Billing;

/// <summary>
/// Exactly-once metering across a 500 and a crash (issue 10 "Tests"): a 30-minute native call and 12 chat messages become
/// 13 meter events. The first POST gets a 500; the other 12 are accepted by Stripe but the host dies before reading the
/// answers (their outbox leases held, nothing recorded). A second host on the same database takes the leases back at
/// once and retries with the same Idempotency-Key: Stripe ends up with exactly one event per call and per message.
/// </summary>
[Trait("Category", "Database")]
public sealed class MeterEventCrashTests : IAsyncLifetime
{
    private const string Customer = "cus_crash_test";
    private readonly TestDatabase database = new();
    private readonly string keys = Path.Combine(Path.GetTempPath(), "switchboard-keys-" + Guid.NewGuid().ToString("N"));
    private StripeSimulator stripe = null!;

    public async Task InitializeAsync() => stripe = await StripeSimulator.StartAsync();

    public async Task DisposeAsync()
    {
        stripe.HoldAfterAccept?.TrySetResult();
        await stripe.DisposeAsync();
        database.Dispose();
        try { Directory.Delete(keys, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private sealed class Node(TestDatabase database, string keys, StripeSimulator stripe) : SwitchboardFactory(database, keys)
    {
        protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>
        {
            ["Switchboard:Stripe:SecretKey"] = "sk_test_crash",
            ["Switchboard:Stripe:ApiBase"] = stripe.BaseUrl,
            ["Switchboard:Stripe:MaxNetworkRetries"] = "0",
            ["Switchboard:Stripe:WorkersEnabled"] = "false",
        };
    }

    private Node Host()
    {
        var host = new Node(database, keys, stripe);
        stripe.Clock = host.Clock;
        return host;
    }

    [Fact]
    public async Task ACallAndTwelveMessagesAreMeteredOnceEachDespiteA500AndAHostKilledMidDelivery()
    {
        var first = Host();
        var tenant = await first.CreateTenantAsync();
        var now = first.Clock.GetUtcNow();
        var callId = Guid.CreateVersion7();
        await first.WithDbAsync(tenant.Id, async db =>
        {
            db.TenantAccounts.Add(new TenantAccount { TenantId = tenant.Id, PlanId = "starter", StripeCustomerId = Customer, SubscriptionStatus = "active", CreatedAt = now, UpdatedAt = now });
            db.Calls.Add(new Call
            {
                Id = callId, TenantId = tenant.Id, Channel = "voice", Provider = "realtime", ProviderCallId = "CA" + Guid.NewGuid().ToString("N"),
                Status = "ended", DurationSeconds = 1800, StartedAt = now.AddMinutes(-30), EndedAt = now, CreatedAt = now.AddMinutes(-30), UpdatedAt = now,
            });
            return await db.SaveChangesAsync();
        });
        var messages = Enumerable.Range(0, 12).Select(_ => Guid.CreateVersion7().ToString()).ToList();
        using (var scope = first.Scope())
        {
            scope.ServiceProvider.GetRequiredService<CurrentTenant>().Set(tenant.Id);
            var meter = scope.ServiceProvider.GetRequiredService<UsageMeter>();
            Assert.Equal(1, await meter.MeterEndedCallsOfAllTenantsAsync(now.AddDays(-1), now.AddMinutes(1), CancellationToken.None));
            foreach (var id in messages)
            {
                await meter.RecordChatMessageAsync(tenant.Id, id, now, CancellationToken.None);
            }
        }

        stripe.FailNext("/v1/billing/meter_events", 1, 500);
        stripe.HoldAfterAccept = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (var crash = new CancellationTokenSource())
        {
            var pass = first.Outbox.ProcessDueAsync(crash.Token);
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (stripe.Held < 12)
            {
                Assert.True(DateTime.UtcNow < deadline && !pass.IsCompleted, $"only {stripe.Held} of 12 meter events reached Stripe: {pass.Exception}");
                await Task.Delay(20);
            }
            crash.Cancel(); // the process dies: no answer is read, nothing more is written
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pass);
        }
        first.Dispose();
        stripe.HoldAfterAccept.SetResult();
        stripe.HoldAfterAccept = null;
        Assert.Equal(12, stripe.MeterEvents.Count); // at Stripe already, unknown to Switchboard

        using var second = Host();
        second.Clock.Advance(TimeSpan.FromMinutes(1)); // past the 500's backoff, well within the 120 s lease
        await second.Outbox.DrainAsync(CancellationToken.None);

        var events = stripe.MeterEvents;
        Assert.Equal(13, events.Count);
        var voice = Assert.Single(events, e => (string?)e["event_name"] == "voice_seconds");
        Assert.Equal(callId.ToString(), (string?)voice["identifier"]);
        Assert.Equal("1800", (string?)voice["payload"]!["value"]);
        Assert.Equal(messages.Order(), events.Where(e => (string?)e["event_name"] == "chat_messages").Select(e => (string)e["identifier"]!).Order());
        Assert.Equal(0, await second.WithDbAsync(tenant.Id, db => db.UsageRecords.CountAsync(u => u.ReportedAt == null)));
        Assert.Equal(13, await second.WithDbAsync(tenant.Id, db => db.Outbox.CountAsync(m => m.Kind == MeterEventHandler.Kind && m.Status == "done")));
        var replayed = stripe.Requests.Count(r => r.Path == "/v1/billing/meter_events");
        Assert.Equal(1 + 12 + 13, replayed); // the 500, the 12 unanswered, and 13 on the second host (12 of them replays)
    }
}
