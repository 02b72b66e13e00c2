using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Brain;
using Switchboard.Calls;
using Switchboard.Outbound;
using Switchboard.Platform.Database;
using Switchboard.Realtime.Bridge;
using Switchboard.Tenancy;
using Switchboard.Tests.Realtime;
using Switchboard.Tests.Support;
using Switchboard.Twilio;

namespace Switchboard.Tests.Outbound;

/// <summary>The host of <see cref="TransferBusyRetryTests"/>: its saves can be made to meet SQLite's "database is locked" once.</summary>
public sealed class BusyOnceVoiceFactory : VoiceFactory
{
    internal BusyOnce Busy { get; } = new();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.ConfigureTestServices(services => services.ConfigureDbContext<SwitchboardDbContext>(o => o.AddInterceptors(Busy)));
    }

    /// <summary>
    /// Once armed, the next save fails as SQLite fails a write it could not take the lock for (<c>SQLITE_BUSY</c>, error 5:
    /// WAL mode answers it at once when a read has to become a write; sqlite.org/rescode.html#busy), before anything is written.
    /// </summary>
    internal sealed class BusyOnce : SaveChangesInterceptor
    {
        private int armed;

        public void Arm() => Interlocked.Exchange(ref armed, 1);

        public override ValueTask<InterceptionResult<int>> SavingChangesAsync(DbContextEventData eventData, InterceptionResult<int> result, CancellationToken ct = default) =>
            Interlocked.Exchange(ref armed, 0) == 1 ? throw new SqliteException("SQLite Error 5: 'database is locked'.", 5) : ValueTask.FromResult(result);
    }
}

/// <summary>
/// SQLite busy after Twilio was asked to transfer a call: the save is retried, not the whole tool call, so Twilio is asked once
/// (before: the tool ran again, a second transfer row, a second call update).
/// </summary>
[Trait("Category", "Database")]
public sealed class TransferBusyRetryTests(BusyOnceVoiceFactory factory) : IClassFixture<BusyOnceVoiceFactory>
{
    [Fact]
    public async Task ABusySaveAfterTwilioWasAskedDoesNotAskTwilioForTheTransferAgain()
    {
        var tenant = await factory.CreateTenantAsync(withTwilio: true);
        var callSid = "CA" + Guid.NewGuid().ToString("N");
        var callId = Guid.CreateVersion7();
        var now = factory.Clock.GetUtcNow();
        var assistantId = await factory.WithDbAsync(tenant.Id, async db =>
        {
            var paul = await db.Assistants.SingleAsync();
            paul.TransferEnabled = true;
            paul.TransferDestinations = [new TransferDestination { Name = "Bureau", Number = "+15145550100" }];
            db.Calls.Add(new Call
            {
                Id = callId, TenantId = tenant.Id, Channel = CallChannels.Voice, Provider = NativeCallStatus.Provider, ProviderCallId = callSid, CallSid = callSid,
                Status = "in-progress", CustomerNumber = "+15145550123", Language = "fr-CA", AssistantId = paul.Id, StartedAt = now, CreatedAt = now, UpdatedAt = now,
            });
            await db.SaveChangesAsync();
            return paul.Id;
        });
        var store = factory.Services.GetRequiredService<VoiceCallStore>();
        var (setup, _) = (await store.LoadSetupAsync(new MediaStreamGrant(tenant.Id, callId, callSid, assistantId, "fr-CA", DateTimeOffset.MaxValue),
            factory.ServerUri.ToString().TrimEnd('/'), CancellationToken.None))!.Value;
        Assert.Contains(ToolRegistry.TransferCall, setup.Tools);
        // Twilio takes the update; the host's next save then finds SQLite busy.
        factory.TwilioRest.Voice.BeforeUpdateResponse = (_, _) =>
        {
            factory.Busy.Arm();
            return Task.CompletedTask;
        };
        string output;
        try
        {
            output = await store.InvokeToolAsync(setup, ToolRegistry.TransferCall,
                JsonSerializer.Serialize(new { destination = "Bureau", reason = "Facture", mode = "cold" }), CancellationToken.None);
        }
        finally
        {
            factory.TwilioRest.Voice.BeforeUpdateResponse = null;
        }

        Assert.Single(factory.TwilioRest.Voice.CallUpdates, u => u.CallSid == callSid);
        Assert.Contains("\"transferred\":true", output);
        var transfer = await factory.WithDbAsync(tenant.Id, db => db.CallTransfers.SingleAsync(t => t.CallId == callId));
        Assert.Equal(TransferOutcomes.Transferred, transfer.Outcome);
    }
}
