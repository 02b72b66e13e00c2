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
using Switchboard.Webhooks;

namespace Switchboard.Tests.Outbound;

/// <summary>The host of <see cref="TransferBusyRetryTests"/>: its saves can be made to meet SQLite's "database is locked" once.</summary>
public sealed class BusyOnceVoiceFactory : VoiceFactory
{
    internal BusyOnce Busy { get; } = new();

    internal BeforeTransaction Before { get; } = new();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.ConfigureTestServices(services => services.ConfigureDbContext<SwitchboardDbContext>(o => o.AddInterceptors(Busy, Before)));
    }

    /// <summary>
    /// Once armed, runs its work before the next transaction of the context given begins (that context holds no lock then),
    /// then disarms.
    /// </summary>
    internal sealed class BeforeTransaction : DbTransactionInterceptor
    {
        private (DbContext Context, Func<Task> Work)? armed;
        private readonly Lock sync = new();

        public void Arm(DbContext context, Func<Task> work)
        {
            lock (sync)
            {
                armed = (context, work);
            }
        }

        public override async ValueTask<InterceptionResult<System.Data.Common.DbTransaction>> TransactionStartingAsync(
            System.Data.Common.DbConnection connection, TransactionStartingEventData eventData, InterceptionResult<System.Data.Common.DbTransaction> result,
            CancellationToken ct = default)
        {
            Func<Task>? work = null;
            lock (sync)
            {
                if (armed is { } a && a.Context == eventData.Context)
                {
                    work = a.Work;
                    armed = null;
                }
            }
            if (work is not null)
            {
                await work();
            }
            return result;
        }
    }

    /// <summary>
    /// Once armed, the next save fails as SQLite fails a write it could not take the lock for (<c>SQLITE_BUSY</c>, error 5:
    /// WAL mode answers it at once when a read has to become a write; sqlite.org/rescode.html#busy), before anything is written.
    /// </summary>
    internal sealed class BusyOnce : SaveChangesInterceptor
    {
        private int armed;
        private Guid? tenantId;
        private Action<DbContext>? onBusy;

        /// <summary>
        /// Arms it for the next save, or, given <paramref name="tenant"/>, the next save of that tenant's unit in a transaction (not
        /// a background worker's: on PostgreSQL the cluster's workers save too); <paramref name="then"/> runs with the refused
        /// save's context, as it is refused.
        /// </summary>
        public void Arm(Guid? tenant = null, Action<DbContext>? then = null)
        {
            tenantId = tenant;
            Interlocked.Exchange(ref onBusy, then);
            Interlocked.Exchange(ref armed, 1);
        }

        public override ValueTask<InterceptionResult<int>> SavingChangesAsync(DbContextEventData eventData, InterceptionResult<int> result, CancellationToken ct = default)
        {
            if (tenantId is { } tenant && (eventData.Context is not SwitchboardDbContext db || db.TenantFilter != tenant || db.Database.CurrentTransaction is null))
            {
                return ValueTask.FromResult(result);
            }
            if (Interlocked.Exchange(ref armed, 0) != 1)
            {
                return ValueTask.FromResult(result);
            }
            Interlocked.Exchange(ref onBusy, null)?.Invoke(eventData.Context!);
            throw new SqliteException("SQLite Error 5: 'database is locked'.", 5);
        }
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
        var (tenant, callId, _, setup) = await TransferringCallAsync();
        var callSid = setup.CallSid;
        var store = factory.Services.GetRequiredService<VoiceCallStore>();
        Assert.Contains(ToolRegistry.TransferCall, setup.Tools);
        // Twilio takes the update; the host's next save then finds SQLite busy.
        factory.TwilioRest.Voice.BeforeUpdateResponse = (_, _) =>
        {
            factory.Busy.Arm(tenant.Id);
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
        // The save retried queued the event again (before: the refused attempt's event was rolled back, and the retry, in the
        // same unit, took it for already published: call.transferred was never sent).
        Assert.Single(await TransferEventsAsync(tenant, callId), t => t == WebhookEventTypes.CallTransferred);
    }

    /// <summary>
    /// SQLite busy while <c>call.transferred</c> is saved, and Twilio's <c>&lt;Dial action&gt;</c> (busy) lands before the retry:
    /// the transfer has one outcome, <c>call.transfer_failed</c>; nothing of the refused attempt is saved later by the tool's unit.
    /// </summary>
    [Fact]
    public async Task ADialActionLandingWhileCallTransferredIsRetriedLeavesTheTransferFailedAlone()
    {
        var (tenant, callId, _, setup) = await TransferringCallAsync();
        var store = factory.Services.GetRequiredService<VoiceCallStore>();
        factory.TwilioRest.Voice.BeforeUpdateResponse = (_, _) =>
        {
            // Between the refused attempt and its retry, the destination's line is busy: the <Dial action> fails the transfer.
            factory.Busy.Arm(tenant.Id, refused => factory.Before.Arm(refused, async () =>
            {
                await using var scope = factory.Services.CreateAsyncScope();
                scope.ServiceProvider.GetRequiredService<CurrentTenant>().Set(tenant.Id);
                var db = scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>();
                // As the <Dial action> does (TransferService.OnColdDialEndedAsync: the outcome, then call.transfer_failed), by hand:
                // in-process on SQLite it would wait for the write gate the retry holds, so this stands for a writer the gate
                // does not order (PostgreSQL has no gate).
                var transfer = await db.CallTransfers.SingleAsync(t => t.CallId == callId);
                transfer.Outcome = TransferOutcomes.Busy;
                transfer.EndedAt = factory.Clock.GetUtcNow();
                await scope.ServiceProvider.GetRequiredService<WebhookEventPublisher>().PublishAsync(tenant.Id, WebhookEventTypes.CallTransferFailed,
                    $"{transfer.Id:N}:{transfer.Outcome}", new { callId, transferId = transfer.Id, outcome = transfer.Outcome }, CancellationToken.None, callId);
                await db.SaveChangesAsync();
            }));
            return Task.CompletedTask;
        };
        try
        {
            await store.InvokeToolAsync(setup, ToolRegistry.TransferCall,
                JsonSerializer.Serialize(new { destination = "Bureau", reason = "Facture", mode = "cold" }), CancellationToken.None);
        }
        finally
        {
            factory.TwilioRest.Voice.BeforeUpdateResponse = null;
        }

        var transfer = await factory.WithDbAsync(tenant.Id, db => db.CallTransfers.SingleAsync(t => t.CallId == callId));
        Assert.Equal(TransferOutcomes.Busy, transfer.Outcome);
        var types = await TransferEventsAsync(tenant, callId);
        Assert.Single(types, t => t == WebhookEventTypes.CallTransferFailed);
        Assert.DoesNotContain(WebhookEventTypes.CallTransferred, types);
    }

    /// <summary>
    /// SQLite busy when an unanswered cold transfer's <c>&lt;Dial action&gt;</c> saves the transfer's failure (a writer the write
    /// gate does not order: another process on the file). Before: the claim was not retried, the action was answered 503, and
    /// the caller heard nothing of a callback. Now the attempt is rolled back whole and run again: one outcome, one lead, one
    /// <c>call.transfer_failed</c>, and the TwiML that says the business will call back.
    /// </summary>
    [Fact]
    public async Task AnUnansweredColdTransfersDialActionThatMeetsABusyDatabaseIsRetriedAndFailsTheTransferOnce()
    {
        var live = await TransferringCallAsync();
        var (tenant, callId) = (live.Tenant, live.CallId);
        var (transferId, action, form) = await live.StartColdTransferAsync(factory);
        factory.Busy.Arm(tenant.Id); // the action's transaction is the tenant's next one to save

        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, action) { Content = new FormUrlEncodedContent(form) };
        request.Headers.Add("X-Twilio-Signature", TwilioRequestValidator.ComputeSignature(action, form, TwilioSimulator.AuthToken));
        using var response = await http.SendAsync(request);

        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("<Hangup", await response.Content.ReadAsStringAsync());
        Assert.Equal(TransferOutcomes.Busy, (await factory.WithDbAsync(tenant.Id, db => db.CallTransfers.SingleAsync(t => t.Id == transferId))).Outcome);
        Assert.Equal("transfer-busy", (await factory.WithDbAsync(tenant.Id, db => db.Calls.SingleAsync(c => c.Id == callId))).EndedReason);
        Assert.Single(await factory.WithDbAsync(tenant.Id, db => db.Leads.Where(l => l.CallId == callId).ToListAsync()));
        Assert.Single(await TransferEventsAsync(tenant, callId), t => t == WebhookEventTypes.CallTransferFailed);
    }

    private Task<List<string>> TransferEventsAsync(TestTenant tenant, Guid callId) =>
        factory.WithDbAsync(tenant.Id, db => db.WebhookEvents.Where(e => e.CallId == callId && e.Type.StartsWith("call.transfer")).Select(e => e.Type).ToListAsync());

    private Task<TransferringCall> TransferringCallAsync() => TransferringCall.CreateAsync(factory);
}

