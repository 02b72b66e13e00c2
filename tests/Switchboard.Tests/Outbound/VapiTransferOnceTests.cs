using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Outbound;
using Switchboard.Platform.Database;
using Switchboard.Tenancy;
using Switchboard.Tests.Dashboard;
using Switchboard.Tests.Support;
using Switchboard.Vapi;
using Switchboard.Webhooks;

namespace Switchboard.Tests.Outbound;

/// <summary>
/// A transfer Vapi reports (<c>transfer-update</c>) is stored once per call and number, with one <c>call.transferred</c>
/// webhook, even when two deliveries read "not stored" before either saves (two nodes, or Vapi's retry racing the first),
/// and when the destination is a SIP URI longer than the stored column.
/// </summary>
[Trait("Category", "Database")]
public sealed class VapiTransferOnceTests(SwitchboardFactory factory) : IClassFixture<SwitchboardFactory>
{
    private static JsonElement TransferUpdate(string vapiCallId, string destination, long timestamp) => JsonDocument.Parse(new JsonObject
    {
        ["type"] = "transfer-update",
        ["timestamp"] = timestamp,
        ["call"] = new JsonObject { ["id"] = vapiCallId, ["type"] = "inboundPhoneCall" },
        ["destination"] = destination.StartsWith("sip:", StringComparison.Ordinal)
            ? new JsonObject { ["type"] = "sip", ["sipUri"] = destination }
            : new JsonObject { ["type"] = "number", ["number"] = destination },
    }.ToJsonString()).RootElement;

    /// <summary>A tenant with a webhook endpoint (so <c>call.transferred</c> is stored) and a Vapi call in progress; returns the call's id.</summary>
    private async Task<(TestTenant Tenant, Guid CallId, string VapiCallId)> CallAsync()
    {
        var tenant = await factory.CreateTenantAsync();
        var vapiCallId = "vapi-once-" + Guid.NewGuid().ToString("N")[..12];
        Assert.Equal(HttpStatusCode.OK, (await factory.PostVapiAsync(tenant, LiveEventsTests.StatusUpdate(vapiCallId, "in-progress"))).StatusCode);
        var callId = await factory.WithDbAsync(tenant.Id, async db =>
        {
            db.WebhookEndpoints.Add(new WebhookEndpoint
            {
                Id = Guid.NewGuid(),
                TenantId = tenant.Id,
                Url = "https://hooks.example/transfer",
                SecretProtected = "x",
                Enabled = true,
                CreatedAt = factory.Clock.GetUtcNow(),
                UpdatedAt = factory.Clock.GetUtcNow(),
            });
            await db.SaveChangesAsync();
            return await db.Calls.Where(c => c.ProviderCallId == vapiCallId).Select(c => c.Id).SingleAsync();
        });
        return (tenant, callId, vapiCallId);
    }

    /// <summary>A delivery's unit of work on its own scope: reads the call, records the transfer (not yet saved).</summary>
    private async Task<(IServiceScope Scope, SwitchboardDbContext Db)> RecordAsync(Guid tenantId, Guid callId, JsonElement message)
    {
        var scope = factory.Scope();
        scope.ServiceProvider.GetRequiredService<CurrentTenant>().Set(tenantId);
        var db = scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>();
        var call = await db.Calls.SingleAsync(c => c.Id == callId);
        await scope.ServiceProvider.GetRequiredService<TransferService>().RecordVapiTransferAsync(null, call, message, CancellationToken.None);
        return (scope, db);
    }

    private Task<(int Transfers, int Webhooks)> StoredAsync(Guid tenantId, Guid callId) => factory.WithDbAsync(tenantId, async db =>
        (await db.CallTransfers.CountAsync(t => t.CallId == callId),
         await db.WebhookEvents.CountAsync(e => e.CallId == callId && e.Type == WebhookEventTypes.CallTransferred)));

    [Fact]
    public async Task ATransferUpdateRecordedByTwoDeliveriesThatBothReadNoneIsStoredOnce()
    {
        var (tenant, callId, vapiCallId) = await CallAsync();
        var message = TransferUpdate(vapiCallId, "+15145550142", 1763478001000);

        // Both deliveries read "not stored" before either saves.
        var (scopeA, first) = await RecordAsync(tenant.Id, callId, message);
        var (scopeB, second) = await RecordAsync(tenant.Id, callId, message);
        using (scopeA)
        using (scopeB)
        {
            await first.SaveChangesAsync();
            var lost = await Assert.ThrowsAsync<DbUpdateException>(() => second.SaveChangesAsync());
            Assert.True(UniqueViolation.Is(lost));
            Assert.True(VapiWebhookApi.Replayable(lost)); // the webhook path replays the unit on fresh state…
        }
        var (replayScope, replay) = await RecordAsync(tenant.Id, callId, message);
        using (replayScope)
        {
            await replay.SaveChangesAsync(); // …where the transfer is found stored and nothing is added
        }

        Assert.Equal((1, 1), await StoredAsync(tenant.Id, callId));
    }

    [Fact]
    public async Task ATransferToASipUriLongerThanTheColumnIsStoredOnceAcrossDeliveries()
    {
        var (tenant, callId, vapiCallId) = await CallAsync();
        var sipUri = "sip:plombier-de-garde-" + new string('x', 40) + "@pbx.drainfortin.example";
        Assert.True(sipUri.Length > CallTransfer.NumberLength);

        foreach (var timestamp in new[] { 1763478001000, 1763478002000 }) // two messages about one transfer
        {
            var body = new JsonObject { ["message"] = JsonNode.Parse(TransferUpdate(vapiCallId, sipUri, timestamp).GetRawText()) }.ToJsonString();
            Assert.Equal(HttpStatusCode.OK, (await factory.PostVapiAsync(tenant, body)).StatusCode);
        }

        Assert.Equal((1, 1), await StoredAsync(tenant.Id, callId));
        Assert.Equal(sipUri[..CallTransfer.NumberLength], await factory.WithDbAsync(tenant.Id, db => db.CallTransfers.Where(t => t.CallId == callId).Select(t => t.Number).SingleAsync()));
    }

    [Fact]
    public async Task NativeTransfersToOneNumberAgainAreStillStoredEachTime()
    {
        var (tenant, callId, _) = await CallAsync();

        await factory.WithDbAsync(tenant.Id, async db =>
        {
            foreach (var outcome in new[] { TransferOutcomes.NoAnswer, TransferOutcomes.Transferred })
            {
                db.CallTransfers.Add(new CallTransfer
                {
                    Id = Guid.CreateVersion7(),
                    TenantId = tenant.Id,
                    CallId = callId,
                    Provider = "twilio",
                    Number = "+15145550142",
                    Mode = "warm",
                    Outcome = outcome,
                    CreatedAt = factory.Clock.GetUtcNow(),
                });
            }
            return await db.SaveChangesAsync();
        });

        Assert.Equal(2, await factory.WithDbAsync(tenant.Id, db => db.CallTransfers.CountAsync(t => t.CallId == callId)));
    }
}
