using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Switchboard.Simulators;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Outbound;

/// <summary>
/// Crash-safe placement of native outbound calls: the "dialing" marker is committed before Twilio is asked, and a retry
/// that finds it without a CallSid asks Twilio (Calls list by To, From and StartTime / queued) before placing again, so a
/// callee is called exactly once whether Twilio created the call (response lost) or not (failed before creating).
/// </summary>
[Trait("Category", "Database")]
public sealed class OutboundPlacementTests(OutboundFactory factory) : IClassFixture<OutboundFactory>
{
    private static int next = 100;

    private static string NewNumber() => $"+1819555{Interlocked.Increment(ref next):D4}";

    private async Task<Guid> PlaceAsync(TestTenant tenant, string to)
    {
        var response = await factory.Api(tenant).PostAsJsonAsync("/api/v1/calls/outbound", new { to });
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, text);
        using var doc = JsonDocument.Parse(text);
        return doc.RootElement.GetProperty("id").GetGuid();
    }

    private Task<global::Switchboard.Calls.Call> RowAsync(TestTenant tenant, Guid id) =>
        factory.WithDbAsync(tenant.Id, db => db.Calls.AsNoTracking().SingleAsync(c => c.Id == id));

    private async Task<global::Switchboard.Calls.Call> AnalyzedAsync(TestTenant tenant, Guid id)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            var call = await RowAsync(tenant, id);
            if (call.Analyzed || DateTime.UtcNow > deadline)
            {
                return call;
            }
            await Task.Delay(30);
        }
    }

    private List<SimOutboundCall> SimCallsTo(string to) => factory.Calls.State.Calls.Values.Where(c => c.To == to).ToList();

    [Fact]
    public async Task ARetryAfterTwilioAcceptedButTheResponseWasLostBindsTheCallInsteadOfPlacingItAgain()
    {
        var tenant = await factory.NativeTenantAsync();
        var to = NewNumber();
        var state = factory.Calls.State;
        state.Callee = n => n == to ? CalleeKind.Busy : CalleeKind.Human;
        state.HoldQueue = true; // no callbacks yet: only the list can tell Switchboard the call exists
        state.AcceptThenFailNextCreates = 1;
        try
        {
            var id = await PlaceAsync(tenant, to);
            await factory.Outbox.DrainAsync(CancellationToken.None);

            var interrupted = await RowAsync(tenant, id);
            Assert.Equal("dialing", interrupted.Status);
            Assert.NotNull(interrupted.DialingAt);
            Assert.StartsWith("outbound:", interrupted.ProviderCallId);
            var created = Assert.Single(SimCallsTo(to));
            Assert.Equal("queued", created.Status);

            factory.Clock.Advance(TimeSpan.FromMinutes(1));
            await factory.Outbox.DrainAsync(CancellationToken.None);

            Assert.Single(SimCallsTo(to)); // not placed again
            var bound = await RowAsync(tenant, id);
            Assert.Equal((created.Sid, created.Sid), (bound.ProviderCallId, bound.CallSid));
            Assert.Contains(state.Timeline, e => e.Event == "list" && e.Detail.Contains(Uri.EscapeDataString(to)) && e.Detail.Contains("Status=queued"));
            Assert.Contains(state.Timeline, e => e.Event == "list" && e.Detail.Contains(Uri.EscapeDataString(to)) && e.Detail.Contains("StartTime%3E="));

            // Twilio dials it: its callbacks land on the same call.
            state.ReleaseQueue();
            await factory.EndedCallAsync(to);
            var ended = await AnalyzedAsync(tenant, id);
            Assert.Equal(("busy", created.Sid), (ended.Status, ended.ProviderCallId));
            Assert.Equal(1, await factory.WithDbAsync(tenant.Id, db => db.Calls.CountAsync(c => c.CustomerNumber == to)));
        }
        finally
        {
            state.HoldQueue = false;
            state.ReleaseQueue();
        }
    }

    [Fact]
    public async Task ARetryAfterTwilioFailedBeforeCreatingPlacesTheCallOnce()
    {
        var tenant = await factory.NativeTenantAsync();
        var to = NewNumber();
        var state = factory.Calls.State;
        state.Callee = n => n == to ? CalleeKind.Busy : CalleeKind.Human;
        state.FailNextCreates = 1;

        var id = await PlaceAsync(tenant, to);
        await factory.Outbox.DrainAsync(CancellationToken.None);
        Assert.Equal("dialing", (await RowAsync(tenant, id)).Status);
        Assert.Empty(SimCallsTo(to));

        factory.Clock.Advance(TimeSpan.FromMinutes(1));
        await factory.Outbox.DrainAsync(CancellationToken.None);
        var sim = await factory.EndedCallAsync(to);
        Assert.Single(SimCallsTo(to));
        var call = await AnalyzedAsync(tenant, id);
        Assert.Equal((sim.Sid, "busy"), (call.ProviderCallId, call.Status));
        Assert.Contains(state.Timeline, e => e.Event == "list" && e.Detail.Contains(Uri.EscapeDataString(to)));
    }
}
