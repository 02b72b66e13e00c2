using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Calls;
using Switchboard.Outbound;
using Switchboard.Outbox;
using Switchboard.Platform.Database;
using Switchboard.Tenancy;
using Switchboard.Tests.Support;
using Switchboard.Tests.Twilio;
using Switchboard.Twilio;
using Switchboard.Webhooks;

namespace Switchboard.Tests.Outbound;

/// <summary>
/// An outbound call that its placement ends without placing it (<see cref="OutboundPlaceHandler"/>: refused, no assistant, the
/// provider's 4xx) publishes its end claimed, as every unit that publishes a call's end does
/// (<see cref="PostCallPipeline.SaveClaimedAsync"/>), so a status callback or the closer ending it meanwhile is not contradicted.
/// </summary>
[Trait("Category", "Database")]
public sealed class OutboundEndClaimTests(ClaimRaceFactory factory) : IClassFixture<ClaimRaceFactory>
{
    /// <summary>
    /// The placement of a queued call finds no assistant and ends it; meanwhile, before it saves, another unit (the status
    /// callback of a call an interrupted attempt created, on another node) ends the call <c>no-answer</c> and publishes that
    /// end, claimed. Before: the placement saved without claiming, overwriting the status and reason <c>call.ended</c> had
    /// already told the tenant (its event, keyed by call, was not sent again). Now it loses the claim and that end stands.
    /// </summary>
    [Fact]
    public async Task APlacementThatEndsACallAnotherUnitEndedMeanwhileLeavesThatEnd()
    {
        var tenant = await factory.CreateTenantAsync(withTwilio: true);
        var callId = Guid.CreateVersion7();
        await factory.WithDbAsync(tenant.Id, async db =>
        {
            var now = factory.Clock.GetUtcNow();
            db.WebhookEndpoints.Add(new WebhookEndpoint
            {
                Id = Guid.NewGuid(), TenantId = tenant.Id, Url = "https://hooks.example/calls", SecretProtected = "x", Enabled = true, CreatedAt = now, UpdatedAt = now,
            });
            AddQueuedCall(db, tenant.Id, callId, "+15145550177", now); // no assistant: the placement ends it "failed"
            return await db.SaveChangesAsync();
        });
        var raced = false;
        factory.Before.Arm(
            context => context is SwitchboardDbContext db && db.ChangeTracker.Entries<Call>().Any(e => e.Entity.Id == callId && e.Entity.Status == "failed"),
            async () =>
            {
                raced = true;
                await using var scope = factory.Services.CreateAsyncScope();
                scope.ServiceProvider.GetRequiredService<CurrentTenant>().Set(tenant.Id);
                var db = scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>();
                var call = await db.Calls.SingleAsync(c => c.Id == callId);
                (call.Status, call.EndedReason) = ("no-answer", "no-answer");
                await scope.ServiceProvider.GetRequiredService<WebhookEventPublisher>().CallEndedAsync(call, CancellationToken.None);
                call.Analyzed = true;
                await using var tx = await db.Database.BeginTransactionAsync();
                Assert.True(await PostCallPipeline.ClaimAsync(db, callId, CancellationToken.None));
                await db.SaveChangesAsync();
                await tx.CommitAsync();
            },
            orBeforeQuery: true);

        await factory.Outbox.DrainAsync(CancellationToken.None);

        Assert.True(raced);
        var ended = await factory.WithDbAsync(tenant.Id, db => db.Calls.SingleAsync(c => c.Id == callId));
        Assert.Equal(("no-answer", "no-answer", true), (ended.Status, ended.EndedReason, ended.Analyzed));
        Assert.Single(await factory.WithDbAsync(tenant.Id, db => db.WebhookEvents.Where(e => e.CallId == callId).Select(e => e.Type).ToListAsync()),
            t => t == WebhookEventTypes.CallEnded);
        Assert.Equal(OutboxStatus.Done, await factory.WithDbAsync(tenant.Id, db => db.Outbox
            .Where(m => m.Kind == OutboundPlaceHandler.Kind && m.DedupeKey == $"{callId:N}:place").Select(m => m.Status).SingleAsync()));
    }

    /// <summary>
    /// The placement ends a call no other unit touches: its end is published once and the call claimed, so a status callback
    /// that comes later (Twilio's final status of a call an interrupted attempt created) runs no pipeline on it again.
    /// </summary>
    [Fact]
    public async Task APlacementThatEndsACallClaimsItSoALaterStatusCallbackLeavesItAlone()
    {
        var tenant = await factory.CreateTenantAsync(withTwilio: true);
        var callId = Guid.CreateVersion7();
        await factory.WithDbAsync(tenant.Id, async db =>
        {
            var now = factory.Clock.GetUtcNow();
            AddQueuedCall(db, tenant.Id, callId, "+15145550178", now);
            return await db.SaveChangesAsync();
        });

        await factory.Outbox.DrainAsync(CancellationToken.None);
        var response = await factory.PostSignedAsync($"/webhooks/twilio/outbound/{tenant.Id}/{callId}/status", new Dictionary<string, string>
        {
            ["AccountSid"] = TwilioSimulator.AccountSid, ["CallSid"] = ("CA" + Guid.NewGuid().ToString("N"))[..34], ["CallStatus"] = "no-answer", ["CallDuration"] = "0",
        });

        Assert.Equal(System.Net.HttpStatusCode.NoContent, response.StatusCode);
        var ended = await factory.WithDbAsync(tenant.Id, db => db.Calls.SingleAsync(c => c.Id == callId));
        Assert.Equal(("failed", "no-assistant", true), (ended.Status, ended.EndedReason, ended.Analyzed));
        Assert.Null(ended.Summary); // the status callback's pipeline (its "Outbound call: …" summary) did not run again
    }

    /// <summary>Adds a queued outbound call to <paramref name="customerNumber"/>, not placed yet and with no assistant, and its placement's outbox message.</summary>
    private static void AddQueuedCall(SwitchboardDbContext db, Guid tenantId, Guid callId, string customerNumber, DateTimeOffset now)
    {
        db.Calls.Add(new Call
        {
            Id = callId, TenantId = tenantId, Channel = CallChannels.Voice, Provider = NativeCallStatus.Provider,
            ProviderCallId = OutboundCalls.UnplacedPrefix + callId.ToString("N"), Type = "outboundPhoneCall", Direction = "outbound", Status = "queued",
            CustomerNumber = customerNumber, CreatedAt = now, UpdatedAt = now,
        });
        db.Outbox.Add(new OutboxMessage
        {
            Id = Guid.CreateVersion7(), TenantId = tenantId, Kind = OutboundPlaceHandler.Kind, DedupeKey = $"{callId:N}:place",
            PayloadJson = JsonSerializer.Serialize(new OutboundPlaceHandler.Payload(callId, "https://switchboard.example", "api"), JsonSerializerOptions.Web),
            NextAttemptAt = now, CreatedAt = now,
        });
    }
}
