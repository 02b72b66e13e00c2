using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Billing;
using Switchboard.Outbound.Campaigns;
using Switchboard.Simulators;
using Switchboard.Tenancy;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Outbound;

/// <summary>
/// The host on a real listener at a fixed 127.0.0.1 port (its public base URL, so calls queued by one host are answered by
/// the next one on the same database: a restart), over a database and key ring that outlive it.
/// </summary>
internal sealed class CampaignHost : SwitchboardFactory
{
    private readonly int port;
    private readonly int concurrentCalls;

    public CampaignHost(TestDatabase database, string keys, string twilioBaseUrl, int port, int concurrentCalls) : base(database, keys)
    {
        this.port = port;
        this.concurrentCalls = concurrentCalls;
        TwilioBaseUrl = twilioBaseUrl;
        UseKestrel(o => o.Listen(IPAddress.Loopback, port));
    }

    public Uri ServerUri => new($"http://127.0.0.1:{port}");

    protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>
    {
        ["Switchboard:PublicBaseUrl"] = ServerUri.ToString().TrimEnd('/'),
        ["Switchboard:Billing:Plans:telephony:ConcurrentCalls"] = concurrentCalls.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Switchboard:Campaigns:TickMilliseconds"] = "1000",
    };

    public HttpClient Api(TestTenant tenant)
    {
        var client = new HttpClient { BaseAddress = ServerUri, Timeout = TimeSpan.FromSeconds(60) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", tenant.ApiKey);
        return client;
    }
}

/// <summary>
/// A campaign test bench: a database, Twilio's Calls API simulator and the host (restartable), with the simulator's calls
/// held ringing until the fake clock reaches their end (<see cref="Duration"/>), and a driver that advances the clock from
/// event to event: one second at a time while the dialer has due contacts and free lines (the pace), else straight to the
/// next call ending or the next contact due.
/// </summary>
internal sealed class CampaignRig : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, (TaskCompletionSource Release, DateTimeOffset At)> held = new();
    private readonly int port = TestPorts.BelowEphemeralRange();

    private CampaignRig(int concurrentCalls) => ConcurrentCalls = concurrentCalls;

    public TestDatabase Database { get; } = new();
    public string Keys { get; } = Path.Combine(Path.GetTempPath(), "switchboard-keys-" + Guid.NewGuid().ToString("N"));
    public RunningTwilioCallsApi Twilio { get; private set; } = null!;
    public CampaignHost Host { get; private set; } = null!;
    public int ConcurrentCalls { get; }

    /// <summary>How long a call rings on the fake clock before its callee answers (or is busy, or lets it ring out).</summary>
    public Func<SimOutboundCall, TimeSpan> Duration { get; set; } = _ => TimeSpan.FromSeconds(30);

    public static async Task<CampaignRig> StartAsync(int concurrentCalls = 3)
    {
        var rig = new CampaignRig(concurrentCalls);
        rig.Twilio = await TwilioCallsApiSimulator.StartAsync(new TwilioCallsApiState(TwilioSimulator.AccountSid, TwilioSimulator.AuthToken));
        rig.Twilio.State.Ringing = rig.RingAsync;
        rig.StartHost(null);
        return rig;
    }

    private Task RingAsync(SimOutboundCall call, CancellationToken ct)
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        held[call.Sid] = (release, Host.Clock.GetUtcNow() + Duration(call));
        return release.Task.WaitAsync(ct);
    }

    /// <summary>Starts a host on the rig's database, its clock at <paramref name="at"/> (a restart: where the last one stopped).</summary>
    public void StartHost(DateTimeOffset? at)
    {
        Host = new CampaignHost(Database, Keys, Twilio.BaseUrl, port, ConcurrentCalls);
        if (at is { } t)
        {
            Host.Clock.Advance(t - Host.Clock.GetUtcNow());
        }
        Twilio.State.Clock = Host.Clock;
        Host.StartServer();
    }

    /// <summary>Stops the host as a crash would between two ticks: whatever the last tick committed stays, nothing else runs.</summary>
    public DateTimeOffset StopHost()
    {
        var at = Host.Clock.GetUtcNow();
        Host.Dispose();
        return at;
    }

    /// <summary>A tenant with Twilio credentials, the telephony plan, a native assistant and the given weekly hours (every day).</summary>
    public async Task<TestTenant> TenantAsync(string hours = "07:00-23:59")
    {
        var tenant = await Host.CreateTenantAsync(withTwilio: true, configure: t => t.BusinessHours = new BusinessHours
        {
            Weekly = Enum.GetValues<DayOfWeek>().ToDictionary(d => d, _ => new List<string> { hours }),
        });
        await Host.WithDbAsync(tenant.Id, async db =>
        {
            var assistant = await db.Assistants.SingleAsync();
            assistant.Provider = "realtime";
            assistant.RecordingEnabled = false;
            var account = await TenantAccounts.GetOrCreateAsync(db, Host.Services.GetRequiredService<PlanCatalog>(), tenant.Id, Host.Clock.GetUtcNow(), CancellationToken.None);
            account.PlanId = "telephony";
            return await db.SaveChangesAsync();
        });
        Host.Services.GetRequiredService<TenantAccountCache>().Invalidate(tenant.Id);
        return tenant;
    }

    /// <summary>One round: calls whose time is up end, the dialer ticks, the outbox places what it queued, and the simulator settles.</summary>
    public async Task<int> StepAsync()
    {
        await ReleaseDueAsync();
        var queued = await Host.Services.GetRequiredService<CampaignDialer>().TickAsync(CancellationToken.None);
        await Host.Outbox.DrainAsync(CancellationToken.None);
        await SettleAsync();
        return queued;
    }

    /// <summary>Ends the held calls whose time has come and waits until the host has taken their final status.</summary>
    public async Task ReleaseDueAsync()
    {
        var now = Host.Clock.GetUtcNow();
        var due = held.Where(h => h.Value.At <= now).Select(h => h.Key).ToList();
        foreach (var sid in due)
        {
            if (held.TryRemove(sid, out var h))
            {
                h.Release.TrySetResult();
            }
        }
        foreach (var sid in due)
        {
            await Twilio.State.Calls[sid].Ended.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    /// <summary>Waits (bounded) until every call the simulator has is either held ringing or over.</summary>
    public async Task SettleAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (Twilio.State.Calls.Values.Any(c => !c.Ended.Task.IsCompleted && !held.ContainsKey(c.Sid)))
        {
            Assert.True(DateTime.UtcNow < deadline, "the simulator's calls did not settle: " + string.Join("; ", Twilio.State.Timeline.TakeLast(10)));
            await Task.Delay(5);
        }
    }

    /// <summary>
    /// Drives the campaign until <paramref name="done"/> (checked after each round) or <paramref name="maxFakeTime"/> of the
    /// fake clock has passed; returns the rounds run.
    /// </summary>
    public async Task<int> RunAsync(Guid tenantId, Guid campaignId, Func<Task<bool>> done, TimeSpan maxFakeTime, int maxRounds = 20_000)
    {
        var end = Host.Clock.GetUtcNow() + maxFakeTime;
        for (var round = 1; round <= maxRounds; round++)
        {
            await StepAsync();
            if (await done())
            {
                return round;
            }
            var now = Host.Clock.GetUtcNow();
            if (now >= end)
            {
                return round;
            }
            var nextDue = await Host.WithDbAsync(tenantId, db => db.CampaignContacts.AsNoTracking()
                .Where(c => c.CampaignId == campaignId && c.State == ContactStates.Pending).OrderBy(c => c.NextAttemptAt)
                .Select(c => (DateTimeOffset?)c.NextAttemptAt).FirstOrDefaultAsync());
            var active = Twilio.State.Calls.Values.Count(c => !c.Ended.Task.IsCompleted);
            DateTimeOffset target;
            if (nextDue <= now && active < ConcurrentCalls)
            {
                target = now.AddSeconds(1); // the dialer's pace
            }
            else
            {
                var nextRelease = held.Values.Select(h => (DateTimeOffset?)h.At).Min();
                target = new[] { nextRelease, nextDue > now ? nextDue : null, end }.Where(t => t is not null).Min()!.Value;
            }
            Host.Clock.Advance(target > now ? target - now : TimeSpan.FromSeconds(1));
        }
        return maxRounds;
    }

    /// <summary>The campaign's status, read from the database (cheaper than the API in a loop).</summary>
    public Task<string> StatusAsync(Guid tenantId, Guid campaignId) =>
        Host.WithDbAsync(tenantId, db => db.Campaigns.AsNoTracking().Where(c => c.Id == campaignId).Select(c => c.Status).SingleAsync());

    /// <summary>Advances the fake clock by <paramref name="span"/> one second at a time, running a round each second.</summary>
    public async Task WaitAsync(TimeSpan span)
    {
        for (var t = TimeSpan.Zero; t < span; t += TimeSpan.FromSeconds(1))
        {
            Host.Clock.Advance(TimeSpan.FromSeconds(1));
            await StepAsync();
        }
    }

    /// <summary>The simulator's <c>create</c> entries: (CallSid, To, At) in order.</summary>
    public List<(string Sid, string To, DateTimeOffset At)> Creates() =>
        Twilio.State.Timeline.Where(e => e.Event == "create").OrderBy(e => e.Seq)
            .Select(e => (e.CallSid, Twilio.State.Calls[e.CallSid].To, e.At)).ToList();

    public async ValueTask DisposeAsync()
    {
        try
        {
            Host.Dispose();
        }
        catch (ObjectDisposedException)
        {
        }
        foreach (var h in held.Values)
        {
            h.Release.TrySetResult(); // their callbacks find no host: the simulator logs them failed
        }
        await Twilio.DisposeAsync();
        Database.Dispose();
        try { Directory.Delete(Keys, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
