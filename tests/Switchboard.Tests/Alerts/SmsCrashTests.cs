using Microsoft.EntityFrameworkCore;
using Switchboard.Tenancy;
using Switchboard.Tests.Support;
using Switchboard.Tests.Vapi;

namespace Switchboard.Tests.Alerts;

/// <summary>
/// Exactly-once SMS across a crash (issue 12 §4; findings §2): a node that dies after Twilio accepted a message but
/// before it recorded the answer. The first host's send is cancelled mid-request (nothing after the POST runs: its row
/// stays <c>sending</c> and its outbox lease held), the host is disposed, and a second host starts on the same database
/// and key ring. Twilio is <see cref="TwilioSimulator"/>, which keeps every message and pages its list as Twilio does.
/// </summary>
[Trait("Category", "Database")]
public sealed class SmsCrashTests : IAsyncLifetime
{
    private const string Sender = "+15145550199"; // CreateTenantAsync(withTwilio: true)
    private readonly TestDatabase database = new();
    private readonly string keys = Path.Combine(Path.GetTempPath(), "switchboard-keys-" + Guid.NewGuid().ToString("N"));
    private TwilioSimulator twilio = null!;

    public async Task InitializeAsync() => twilio = await TwilioSimulator.StartAsync();

    public async Task DisposeAsync()
    {
        await twilio.DisposeAsync();
        database.Dispose();
        try { Directory.Delete(keys, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private SwitchboardFactory Host()
    {
        var host = new SwitchboardFactory(database, keys) { TwilioBaseUrl = twilio.BaseUrl };
        twilio.Clock = host.Clock;
        return host;
    }

    private static string NewNumber() => "+1438" + Random.Shared.Next(2_000_000, 9_999_999);

    private static string Emergency(string problem) =>
        VapiWebhookTests.EndOfCallReport(Guid.NewGuid().ToString(), problem, $"Hi, {problem.ToLowerInvariant()} We have a burst pipe!");

    /// <summary>Runs one outbox pass on <paramref name="host"/> and kills it once <paramref name="held"/> sends are at Twilio.</summary>
    private async Task CrashMidSendAsync(SwitchboardFactory host, int held)
    {
        using var crash = new CancellationTokenSource();
        var pass = host.Outbox.ProcessDueAsync(crash.Token);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (twilio.Held < held)
        {
            Assert.True(DateTime.UtcNow < deadline, $"only {twilio.Held} of {held} sends reached Twilio");
            if (pass.IsCompleted)
            {
                Assert.Fail($"the outbox pass ended before the crash ({twilio.Held} of {held} sends held): {pass.Exception}; "
                    + $"Twilio refused: [{string.Join("; ", twilio.Rejections)}]; outbox: [{await DescribeOutboxAsync(host)}]");
            }
            await Task.Delay(20);
        }
        crash.Cancel(); // the process dies: no answer is read, nothing more is written
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pass);
        host.Dispose();
    }

    private static Task<string> DescribeOutboxAsync(SwitchboardFactory host) =>
        host.WithDbAsync(null, async db => string.Join("; ", await db.Outbox.IgnoreQueryFilters()
            .Select(m => $"{m.Kind} {m.Status} attempts={m.Attempts} next={m.NextAttemptAt:O} error={m.LastError}").ToListAsync()));

    [Fact]
    public async Task AlertsInFlightWhenTheHostDiesAreSentExactlyOnceAfterRestartWithoutWaitingOutTheLease()
    {
        var onCall = NewNumber();
        var first = Host();
        var tenant = await first.CreateTenantAsync(withTwilio: true, configure: t => t.AlertPolicy = new AlertPolicy { OnCallNumbers = [onCall] });
        var problems = new[] { "Burst pipe at 12 Oak Street.", "Burst pipe at 14 Elm Street.", "Burst pipe at 16 Pine Street." };
        foreach (var problem in problems)
        {
            var posted = await first.PostVapiAsync(tenant, Emergency(problem));
            Assert.True(posted.IsSuccessStatusCode, $"the report was refused: {(int)posted.StatusCode} {await posted.Content.ReadAsStringAsync()}");
        }
        Assert.Equal(problems.Length, await first.WithDbAsync(null, db => db.Outbox.IgnoreQueryFilters().CountAsync(m => m.Kind == "sms.send" && m.Status == "pending")));

        twilio.HoldAfterAccept = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await CrashMidSendAsync(first, held: problems.Length);
        twilio.HoldAfterAccept = null;
        // Before the restart, the on-call number got far more than a page of other texts (findings §2.1: 227–318).
        for (var i = 0; i < 120; i++)
        {
            twilio.AddOther(onCall, Sender, $"Other alert {i}");
        }

        using var second = Host();
        second.Clock.Advance(TimeSpan.FromSeconds(5)); // restarted a few seconds later, well inside the 120 s lease
        var listsBefore = twilio.ListRequests;
        await second.Outbox.DrainAsync(CancellationToken.None);

        var rows = await second.WithDbAsync(tenant.Id, db => db.SmsMessages.OrderBy(s => s.CreatedAt).ToListAsync());
        Assert.Equal(problems.Length, rows.Count);
        foreach (var row in rows)
        {
            var sent = Assert.Single(twilio.Messages, m => m.To == onCall && m.Body == row.Body);
            Assert.Equal("sent", row.Status);
            Assert.Equal(sent.Sid, row.MessageSid);
            Assert.Equal(1, row.Attempts);
        }
        Assert.Equal(problems.Length + 120, twilio.Messages.Count(m => m.To == onCall));
        Assert.True(twilio.ListRequests - listsBefore >= problems.Length, "each row looked itself up before any resend");
        Assert.Equal(0, await second.WithDbAsync(null, db => db.Outbox.IgnoreQueryFilters().CountAsync(m => m.Status == "pending")));
    }

    [Fact]
    public async Task TwoIdenticalAlertsAreBothSentEvenWhenTheSecondWasInFlightAtACrash()
    {
        var onCall = NewNumber();
        var first = Host();
        var tenant = await first.CreateTenantAsync(withTwilio: true, configure: t => t.AlertPolicy = new AlertPolicy { OnCallNumbers = [onCall] });
        const string problem = "Burst pipe in the basement.";

        // The same caller calls twice about the same flood: two alerts with the same text.
        Assert.True((await first.PostVapiAsync(tenant, Emergency(problem))).IsSuccessStatusCode);
        await first.Outbox.DrainAsync(CancellationToken.None);
        first.Clock.Advance(TimeSpan.FromSeconds(30));
        Assert.True((await first.PostVapiAsync(tenant, Emergency(problem))).IsSuccessStatusCode);
        twilio.HoldBeforeAcceptNext = 1; // the second POST never reaches Twilio's store: the node dies first
        await CrashMidSendAsync(first, held: 1);

        using var second = Host();
        second.Clock.Advance(TimeSpan.FromSeconds(35));
        await second.Outbox.DrainAsync(CancellationToken.None);

        var rows = await second.WithDbAsync(tenant.Id, db => db.SmsMessages.OrderBy(s => s.CreatedAt).ToListAsync());
        Assert.Equal(2, rows.Count);
        Assert.Equal(rows[0].Body, rows[1].Body);
        var sent = twilio.Messages.Where(m => m.To == onCall).ToList();
        Assert.Equal(2, sent.Count);
        Assert.All(rows, r => Assert.Equal("sent", r.Status));
        Assert.Equal(sent.Select(m => m.Sid).Order(), rows.Select(r => r.MessageSid!).Order());
    }

    [Fact]
    public async Task ALeaseHeldByAnotherNodeIsLeftToExpire()
    {
        var onCall = NewNumber();
        using var host = Host();
        var tenant = await host.CreateTenantAsync(withTwilio: true, configure: t => t.AlertPolicy = new AlertPolicy { OnCallNumbers = [onCall] });
        Assert.True((await host.PostVapiAsync(tenant, Emergency("Burst pipe upstairs."))).IsSuccessStatusCode);
        var leasedUntil = host.Clock.GetUtcNow().AddSeconds(120);
        await host.WithDbAsync(null, db => db.Outbox.IgnoreQueryFilters().Where(m => m.Kind == "sms.send")
            .ExecuteUpdateAsync(u => u.SetProperty(m => m.LockedBy, "another-node|1|0123456789abcdef").SetProperty(m => m.LockedUntil, leasedUntil)));

        await host.Outbox.DrainAsync(CancellationToken.None);
        var whileLeased = twilio.Messages.Count(m => m.To == onCall);
        host.Clock.Advance(TimeSpan.FromSeconds(121));
        await host.Outbox.DrainAsync(CancellationToken.None);

        Assert.Equal(0, whileLeased);
        Assert.Single(twilio.Messages, m => m.To == onCall);
    }
}
