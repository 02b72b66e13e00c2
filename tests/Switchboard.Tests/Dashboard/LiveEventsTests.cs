using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Switchboard.Calls;
using Switchboard.Dashboard;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Dashboard;

/// <summary><c>GET /api/v1/events</c> on one host: what Vapi and other writers announce, tenant isolation, resume, pings, logout.</summary>
[Trait("Category", "Database")]
public sealed class LiveEventsTests : IClassFixture<LiveEventsTests.Factory>
{
    public sealed class Factory : SelfServiceFactory
    {
        protected override bool RealTimePasses => true; // pings every 0.3 s of the host's clock

        protected override IDictionary<string, string?> MoreSettings => new Dictionary<string, string?>
        {
            ["Switchboard:Dashboard:PingSeconds"] = "0.3",
        };
    }

    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);
    private readonly Factory factory;

    public LiveEventsTests(Factory factory) => this.factory = factory;

    internal static string StatusUpdate(string vapiCallId, string status, string? endedReason = null) => JsonSerializer.Serialize(new
    {
        message = new
        {
            type = "status-update", status, endedReason,
            call = new { id = vapiCallId, type = "inboundPhoneCall", customer = new { number = "+15145551234" } },
        },
    });

    internal static string Transcript(string vapiCallId, string text, string role = "user") => JsonSerializer.Serialize(new
    {
        message = new { type = "transcript", role, transcriptType = "final", transcript = text, call = new { id = vapiCallId } },
    });

    private async Task PostAsync(TestTenant tenant, string json)
    {
        var response = await factory.PostVapiAsync(tenant, json);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task VapiCallIsAnnouncedAsItProgresses()
    {
        var tenant = await factory.CreateTenantAsync();
        await using var stream = await SseStream.OpenAsync(factory.ApiClient(tenant));
        var vapiCall = "call-" + Guid.NewGuid();

        await PostAsync(tenant, StatusUpdate(vapiCall, "ringing"));
        var started = await stream.NextNonPingAsync(Deadline);
        Assert.Equal("call.started", started.Type);
        Assert.Equal("ringing", started.Json["status"]!.GetValue<string>());
        Assert.Equal("vapi", started.Json["provider"]!.GetValue<string>());
        Assert.Equal("inbound", started.Json["direction"]!.GetValue<string>());
        Assert.Equal("+15145551234", started.Json["fromNumber"]!.GetValue<string>());
        var callId = started.Json["callId"]!.GetValue<Guid>();

        await PostAsync(tenant, StatusUpdate(vapiCall, "in-progress"));
        var updated = await stream.NextNonPingAsync(Deadline);
        Assert.Equal("call.updated", updated.Type);
        Assert.Equal("in-progress", updated.Json["status"]!.GetValue<string>());

        await PostAsync(tenant, Transcript(vapiCall, "Mon sous-sol est inondé!"));
        var turn = await stream.NextNonPingAsync(Deadline);
        Assert.Equal("transcript.turn", turn.Type);
        Assert.Equal(callId, turn.Json["callId"]!.GetValue<Guid>());
        Assert.Equal("Mon sous-sol est inondé!", turn.Json["text"]!.GetValue<string>());
        Assert.Equal("user", turn.Json["role"]!.GetValue<string>());
        Assert.Equal(0, turn.Json["seq"]!.GetValue<int>());

        await PostAsync(tenant, StatusUpdate(vapiCall, "ended", "customer-ended-call"));
        var ended = await stream.NextNonPingAsync(Deadline);
        Assert.Equal("call.ended", ended.Type);
        Assert.Equal("customer-ended-call", ended.Json["endedReason"]!.GetValue<string>());

        // Ids are the tenant's sequence: integers, increasing.
        var ids = new[] { started, updated, turn, ended }.Select(e => long.Parse(e.Id!)).ToList();
        Assert.Equal(ids.Order(), ids);
        Assert.Equal(4, ids.Distinct().Count());
    }

    /// <summary>
    /// A lead captured mid-call (capture_lead) changes none of the call's own columns, yet its urgency is what the Live page
    /// shows on the call's card: the same save announces the call again with it (an outside probe: lead.created came alone,
    /// and every call event of the call said urgency null until the call ended).
    /// </summary>
    [Fact]
    public async Task LeadCapturedMidCallAnnouncesTheCallWithItsUrgency()
    {
        var tenant = await factory.CreateTenantAsync();
        await using var stream = await SseStream.OpenAsync(factory.ApiClient(tenant));
        var vapiCall = "call-" + Guid.NewGuid();
        await PostAsync(tenant, StatusUpdate(vapiCall, "in-progress"));
        Assert.Equal("call.started", (await stream.NextNonPingAsync(Deadline)).Type);

        await PostAsync(tenant, JsonSerializer.Serialize(new
        {
            message = new
            {
                type = "tool-calls", call = new { id = vapiCall },
                toolCallList = new[] { new { id = "t1", function = new { name = "capture_lead", arguments = new { name = "Marc", problem = "Le sous-sol est plein d'eau" } } } },
            },
        }));
        var seen = new List<SseEvent>();
        while (!seen.Any(e => e.Type == "lead.created") || !seen.Any(e => e.Type == "call.updated"))
        {
            seen.Add(await stream.NextNonPingAsync(Deadline));
        }
        var updated = seen.Single(e => e.Type == "call.updated");
        Assert.Equal("emergency", updated.Json["urgency"]!.GetValue<string>());
        Assert.Equal("in-progress", updated.Json["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task ReplayedEndOfCallReportArrivesWithItsTranscript()
    {
        var tenant = await factory.CreateTenantAsync();
        await using var stream = await SseStream.OpenAsync(factory.ApiClient(tenant));

        await PostAsync(tenant, Fixtures.ReadText("vapi/end-of-call-report.2024-07.json"));

        var seen = new List<SseEvent>();
        while (seen.Count(e => e.Type == "transcript.turn") < 15 || !seen.Any(e => e.Type == "call.ended"))
        {
            seen.Add(await stream.NextNonPingAsync(Deadline));
        }
        var ended = seen.Single(e => e.Type == "call.ended");
        Assert.Equal("ended", ended.Json["status"]!.GetValue<string>());
        Assert.Equal(34.086, ended.Json["durationSeconds"]!.GetValue<double>(), 3);
        Assert.StartsWith("The user inquired about the weather", ended.Json["summary"]!.GetValue<string>());
        Assert.Equal(Enumerable.Range(0, 15), seen.Where(e => e.Type == "transcript.turn").Select(e => e.Json["seq"]!.GetValue<int>()).Order());
        Assert.DoesNotContain(seen, e => e.Data.Contains("auth.vapi.ai", StringComparison.Ordinal)); // no provider URL reaches the browser
    }

    [Fact]
    public async Task AnotherTenantsEventsNeverArrive()
    {
        var mine = await factory.CreateTenantAsync("Mine");
        var other = await factory.CreateTenantAsync("Other");
        await using var stream = await SseStream.OpenAsync(factory.ApiClient(mine));

        await PostAsync(other, StatusUpdate("other-" + Guid.NewGuid(), "ringing"));
        await PostAsync(other, Transcript("other-" + Guid.NewGuid(), "secret of the other tenant"));
        await PostAsync(mine, StatusUpdate("mine-" + Guid.NewGuid(), "ringing"));

        var first = await stream.NextNonPingAsync(Deadline);
        Assert.Equal("call.started", first.Type);
        Assert.Equal(await factory.WithDbAsync(mine.Id, db => db.Calls.Select(c => c.Id).SingleAsync()), first.Json["callId"]!.GetValue<Guid>());
    }

    [Fact]
    public async Task LastEventIdResumesWithTheMissedEventsAndAnUnknownIdResets()
    {
        var tenant = await factory.CreateTenantAsync();
        var vapiCall = "call-" + Guid.NewGuid();
        string lastId;
        await using (var stream = await SseStream.OpenAsync(factory.ApiClient(tenant)))
        {
            await PostAsync(tenant, StatusUpdate(vapiCall, "in-progress"));
            await PostAsync(tenant, Transcript(vapiCall, "one"));
            await stream.WaitForAsync(e => e.Type == "transcript.turn", Deadline);
        }
        await using (var stream = await SseStream.OpenAsync(factory.ApiClient(tenant)))
        {
            await PostAsync(tenant, Transcript(vapiCall, "two"));
            lastId = (await stream.WaitForAsync(e => e.Type == "transcript.turn", Deadline)).Id!;
        }
        await PostAsync(tenant, Transcript(vapiCall, "three"));
        await PostAsync(tenant, Transcript(vapiCall, "four"));

        await using (var resumed = await SseStream.OpenAsync(factory.ApiClient(tenant), lastEventId: lastId))
        {
            var three = await resumed.NextNonPingAsync(Deadline);
            var four = await resumed.NextNonPingAsync(Deadline);
            Assert.Equal(["three", "four"], new[] { three, four }.Select(e => e.Json["text"]!.GetValue<string>()));
            Assert.Equal(long.Parse(lastId) + 1, long.Parse(three.Id!));
            await PostAsync(tenant, Transcript(vapiCall, "five"));
            Assert.Equal("five", (await resumed.NextNonPingAsync(Deadline)).Json["text"]!.GetValue<string>());
        }
        await using (var bad = await SseStream.OpenAsync(factory.ApiClient(tenant), lastEventId: "not-a-number"))
        {
            Assert.Equal("reset", (await bad.NextNonPingAsync(Deadline)).Type);
        }
        await using (var future = await SseStream.OpenAsync(factory.ApiClient(tenant), lastEventId: (long.Parse(lastId) + 1000).ToString()))
        {
            var reset = await future.NextNonPingAsync(Deadline);
            Assert.Equal("reset", reset.Type);
            Assert.Equal("{}", reset.Data);
        }
    }

    [Fact]
    public async Task EventsOlderThanTheReplayWindowCannotBeResumed()
    {
        var tenant = await factory.CreateTenantAsync();
        var vapiCall = "call-" + Guid.NewGuid();
        await using var live = await SseStream.OpenAsync(factory.ApiClient(tenant)); // waits for each event to reach this node
        await PostAsync(tenant, StatusUpdate(vapiCall, "in-progress"));
        var id = (await live.NextNonPingAsync(Deadline)).Id!;
        await PostAsync(tenant, Transcript(vapiCall, "said within the window"));
        await live.NextNonPingAsync(Deadline);
        factory.Clock.Advance(TimeSpan.FromMinutes(10));
        await PostAsync(tenant, Transcript(vapiCall, "said ten minutes later"));
        await live.NextNonPingAsync(Deadline);

        await using var resumed = await SseStream.OpenAsync(factory.ApiClient(tenant), lastEventId: id);
        Assert.Equal("reset", (await resumed.NextNonPingAsync(Deadline)).Type);
    }

    [Fact]
    public async Task CallIdLimitsTranscriptTurnsToThatCall()
    {
        var tenant = await factory.CreateTenantAsync();
        var watched = "watched-" + Guid.NewGuid();
        var other = "other-" + Guid.NewGuid();
        await PostAsync(tenant, StatusUpdate(watched, "in-progress"));
        var callId = await factory.WithDbAsync(tenant.Id, db => db.Calls.Select(c => c.Id).SingleAsync());
        await using var stream = await SseStream.OpenAsync(factory.ApiClient(tenant), $"/api/v1/events?callId={callId}");

        await PostAsync(tenant, Transcript(other, "not this call"));
        await PostAsync(tenant, Transcript(watched, "this call"));

        var turn = await stream.WaitForAsync(e => e.Type == "transcript.turn", Deadline);
        Assert.Equal("this call", turn.Json["text"]!.GetValue<string>());
    }

    [Fact]
    public async Task StreamPingsAndEndsOnLogout()
    {
        var owner = await factory.SignUpAsync();
        await using var stream = await SseStream.OpenAsync(owner.Client);
        var ping = await stream.NextAsync(Deadline);
        Assert.Equal("ping", ping!.Type);
        Assert.True(DateTimeOffset.TryParse(ping.Json["at"]!.GetValue<string>(), out _));

        Assert.Equal(HttpStatusCode.NoContent, (await owner.Client.PostAsync("/api/v1/auth/logout", null)).StatusCode);

        var deadline = DateTime.UtcNow + Deadline;
        SseEvent? next;
        do
        {
            next = await stream.NextAsync(deadline - DateTime.UtcNow);
        }
        while (next is not null);
    }

    [Fact]
    public async Task StoppingTheServerEndsTheStreamAtOnce()
    {
        await using var host = new Factory(); // its own host: this test stops it
        var tenant = await host.CreateTenantAsync();
        await using var stream = await SseStream.OpenAsync(host.ApiClient(tenant));
        Assert.Equal("ping", (await stream.NextAsync(Deadline))!.Type);

        host.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication();

        // Pings come every 0.3 s: a stream that outlived the stop would still be pinging after 3 s.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(3);
        while (await stream.NextAsync(deadline - DateTime.UtcNow) is not null)
        {
        }
    }

    /// <summary>
    /// Probe 10: a member removed from the team kept their session (valid for other tenants), and their open stream kept
    /// receiving the tenant's calls and callers' numbers, on every node, for as long as it stayed open.
    /// </summary>
    [Fact]
    public async Task RemovedMembersStreamEnds()
    {
        var owner = await factory.SignUpAsync();
        var email = $"member-{Guid.NewGuid():N}@example.test";
        var token = await factory.InviteAsync(owner.Client, email, "member");
        var member = factory.CookieClient();
        var accepted = await (await member.PostAsJsonAsync("/api/v1/auth/invitations/accept", new { token, password = "stream watched by a member 9" }))
            .JsonAsync(HttpStatusCode.OK);
        member.DefaultRequestHeaders.Add("X-CSRF-Token", accepted["csrfToken"]!.GetValue<string>());
        var memberId = accepted["user"]!["id"]!.GetValue<string>();
        await using var stream = await SseStream.OpenAsync(member);
        Assert.Equal("ping", (await stream.NextAsync(Deadline))!.Type);
        Assert.Equal("ping", (await stream.NextAsync(Deadline))!.Type); // still allowed at a ping while a member

        Assert.Equal(HttpStatusCode.NoContent, (await owner.Client.DeleteAsync($"/api/v1/team/members/{memberId}")).StatusCode);

        var deadline = DateTime.UtcNow + Deadline;
        while (await stream.NextAsync(deadline - DateTime.UtcNow) is not null)
        {
        }
    }

    [Fact]
    public async Task RevokedKeyEndsTheStream()
    {
        var tenant = await factory.CreateTenantAsync();
        await using var stream = await SseStream.OpenAsync(factory.ApiClient(tenant));
        Assert.Equal("ping", (await stream.NextAsync(Deadline))!.Type);

        await factory.WithDbAsync(tenant.Id, db => db.ApiKeys.ExecuteUpdateAsync(u => u.SetProperty(k => k.RevokedAt, factory.Clock.GetUtcNow())));

        var deadline = DateTime.UtcNow + Deadline;
        while (await stream.NextAsync(deadline - DateTime.UtcNow) is not null)
        {
        }
    }

    [Fact]
    public async Task StreamNeedsAuthentication()
    {
        var response = await factory.CreateClient().GetAsync("/api/v1/events");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("UNAUTHENTICATED", await response.ErrorCodeAsync());
        var bad = await factory.ApiClient(await factory.CreateTenantAsync()).GetAsync("/api/v1/events?callId=nope");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }

    [Fact]
    public async Task TurnsStoredOutsideAWebhookAreAnnouncedAfterCommitOnly()
    {
        // The native bridge's TranscriptSink stores turns in its own scope and unit of work, as here.
        var tenant = await factory.CreateTenantAsync();
        var vapiCall = "call-" + Guid.NewGuid();
        await PostAsync(tenant, StatusUpdate(vapiCall, "in-progress"));
        var callId = await factory.WithDbAsync(tenant.Id, db => db.Calls.Select(c => c.Id).SingleAsync());
        await using var stream = await SseStream.OpenAsync(factory.ApiClient(tenant));

        await factory.WithDbAsync(tenant.Id, async db =>
        {
            // A unit of work rolled back, then retried on the same context (as the Vapi webhook retries): only the retry is announced.
            await using (var tx = await db.Database.BeginTransactionAsync())
            {
                db.TranscriptTurns.Add(new TranscriptTurn { Id = Guid.CreateVersion7(), TenantId = tenant.Id, CallId = callId, Seq = 0, Role = "assistant", Text = "rolled back" });
                await db.SaveChangesAsync();
                await tx.RollbackAsync();
            }
            db.ChangeTracker.Clear();
            db.TranscriptTurns.Add(new TranscriptTurn { Id = Guid.CreateVersion7(), TenantId = tenant.Id, CallId = callId, Seq = 0, Role = "assistant", Text = "Drain Fortin, bonjour!" });
            return await db.SaveChangesAsync();
        });

        var turn = await stream.WaitForAsync(e => e.Type == "transcript.turn", Deadline);
        Assert.Equal("Drain Fortin, bonjour!", turn.Json["text"]!.GetValue<string>());
        await PostAsync(tenant, StatusUpdate(vapiCall, "ended"));
        Assert.Equal("call.ended", (await stream.NextNonPingAsync(Deadline)).Type); // nothing stale in between
    }

    [Fact]
    public async Task ClosingTheStreamUnsubscribes()
    {
        var hub = factory.Services.GetRequiredService<LiveEventHub>();
        var tenant = await factory.CreateTenantAsync();
        var before = hub.SubscriberCount;
        var stream = await SseStream.OpenAsync(factory.ApiClient(tenant));
        Assert.Equal(before + 1, hub.SubscriberCount);

        await stream.DisposeAsync();

        var deadline = DateTime.UtcNow + Deadline;
        while (hub.SubscriberCount > before && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }
        Assert.Equal(before, hub.SubscriberCount);
    }

    [Fact]
    public async Task SlowSubscriberThatLosesACallEventGetsReset()
    {
        var hub = factory.Services.GetRequiredService<LiveEventHub>();
        var tenantId = Guid.NewGuid();
        using var subscription = hub.Subscribe(tenantId, null, null, null);
        for (var i = 1; i <= 2000; i++)
        {
            hub.Deliver(new LiveEvent(tenantId, i, i == 1 ? "call.started" : "transcript.turn", "{}", null));
        }
        Assert.True(subscription.TakeLostImportant());
        Assert.False(subscription.TakeLostImportant());
    }
}
