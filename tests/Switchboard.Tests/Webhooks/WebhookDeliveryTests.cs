using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Outbox;
using Switchboard.Tests.Support;
using Switchboard.Tests.Vapi;
using Switchboard.Webhooks;

namespace Switchboard.Tests.Webhooks;

/// <summary>
/// Delivery through the outbox to real receivers on 127.0.0.1: signatures (checked by the npm library too), the
/// retry schedule on the injected clock, 410, the 5-day rule, rotation, replay, the log, redirects, timeouts,
/// and crash recovery.
/// </summary>
[Trait("Category", "Database")]
public sealed class WebhookDeliveryTests(WebhookFactory factory) : IClassFixture<WebhookFactory>
{
    private const string Endpoints = "/api/v1/webhooks/endpoints";
    private static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public async Task RealDeliveriesOfEveryEventTypeVerifyWithTheStandardWebhooksLibrary()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var tenant = await factory.CreateTenantAsync();
        var (id, secret) = await factory.CreateEndpointAsync(tenant, receiver.Url, headers: new() { ["X-Api-Key"] = "crm-123" });
        var client = factory.ApiClient(tenant);
        foreach (var type in WebhookEventTypes.All.Select(d => d.Type))
        {
            Assert.Equal(HttpStatusCode.Accepted, (await client.PostAsJsonAsync($"{Endpoints}/{id}/test", new { eventType = type })).StatusCode);
        }
        Assert.Equal(HttpStatusCode.Accepted, (await client.PostAsync($"{Endpoints}/{id}/test", null)).StatusCode);

        await factory.DeliverAllAsync();

        var received = receiver.Requests.ToList();
        Assert.Equal(WebhookEventTypes.All.Count + 1, received.Count);
        Assert.Equal(WebhookEventTypes.All.Select(d => d.Type).Append("webhook.test").Order(), received.Select(r => r.Type).Order());
        foreach (var r in received)
        {
            Assert.Equal("/hook", r.Path);
            Assert.Equal("application/json", r.Headers["content-type"]);
            Assert.Equal("crm-123", r.Headers["x-api-key"]);
            Assert.Matches("^msg_[0-9a-f]{32}$", r.Id);
            Assert.InRange(r.Timestamp, factory.Clock.GetUtcNow().AddMinutes(-1).ToUnixTimeSeconds(), factory.Clock.GetUtcNow().ToUnixTimeSeconds());
            Assert.Matches(@"^v1,[A-Za-z0-9+/]{43}=$", r.Headers["webhook-signature"]);
            var body = JsonNode.Parse(r.Text)!.AsObject();
            Assert.Equal(["data", "timestamp", "type"], body.Select(p => p.Key).Order());
        }
        await StandardWebhooksOracle.AssertAllVerifyAsync(secret, received);

        // The oracle can fail: one changed byte, or another endpoint's secret, is rejected.
        var tampered = received[0] with { Body = Encoding.UTF8.GetBytes(received[0].Text.Replace("\"data\":{", "\"data\":{\"x\":1,", StringComparison.Ordinal)) };
        var verdicts = await StandardWebhooksOracle.VerifyWithLibraryAsync([(secret, tampered), (StandardWebhookSigner.GenerateSecret(), received[1])]);
        if (verdicts is not null)
        {
            Assert.All(verdicts, v => Assert.Contains("No matching signature found", v.Error));
        }
        Assert.Equal(VerifyResult.InvalidSignature, StandardWebhookSigner.Verify(secret, tampered.Headers, tampered.Body, DateTimeOffset.FromUnixTimeSeconds(tampered.Timestamp), StandardWebhookSigner.DefaultTolerance));
    }

    [Fact]
    public async Task AReceiverThatIsDownAndThenRecoversReceivesEveryEventWithValidSignatures()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var tenant = await factory.CreateTenantAsync();
        var (id, secret) = await factory.CreateEndpointAsync(tenant, receiver.Url);
        receiver.Abort = true; // down: connections are dropped without an answer
        for (var i = 0; i < 3; i++)
        {
            Assert.True(await factory.PublishAsync(tenant.Id, WebhookEventTypes.LeadCreated, $"down-{i}", WebhookTestExtensions.Lead(i)));
        }

        await factory.Outbox.DrainAsync(None);                 // attempt 1: dropped
        receiver.Abort = false;
        receiver.StatusCode = 503;                              // up, but failing
        factory.Clock.Advance(TimeSpan.FromSeconds(5.5));
        await factory.Outbox.DrainAsync(None);                 // attempt 2, 5 s later
        factory.Clock.Advance(TimeSpan.FromMinutes(5.5));
        await factory.Outbox.DrainAsync(None);                 // attempt 3, 5 min later
        var before = receiver.Requests.Count;
        receiver.StatusCode = 200;                              // recovered
        factory.Clock.Advance(TimeSpan.FromMinutes(20));
        await factory.Outbox.DrainAsync(None);                 // not due yet (30 min)
        Assert.Equal(before, receiver.Requests.Count);
        factory.Clock.Advance(TimeSpan.FromMinutes(13));
        await factory.Outbox.DrainAsync(None);                 // attempt 4, 30 min later: delivered

        var deliveries = await factory.DeliveriesAsync(tenant.Id, id);
        Assert.Equal(3, deliveries.Count);
        Assert.All(deliveries, d =>
        {
            Assert.Equal(WebhookDeliveryStatus.Succeeded, d.Status);
            Assert.Equal(4, d.Attempts);
        });
        var received = receiver.Requests.ToList();
        Assert.Equal(12, received.Count);
        Assert.Equal(3, received.Where(r => r.AnsweredWith == 200).Select(r => r.Id).Distinct().Count());
        foreach (var attempts in received.GroupBy(r => r.Id))
        {
            Assert.Equal(4, attempts.Count());
            Assert.Single(attempts.Select(a => a.Text).Distinct());        // same body on every attempt
            Assert.Equal(4, attempts.Select(a => a.Timestamp).Distinct().Count()); // a fresh webhook-timestamp each time
        }
        await StandardWebhooksOracle.AssertAllVerifyAsync(secret, received);
        var attemptLog = await factory.WithDbAsync(tenant.Id, db => db.WebhookAttempts.Where(a => a.EndpointId == id).ToListAsync());
        Assert.Equal(3, attemptLog.Count(a => a.StatusCode is null && a.Error is not null));
        Assert.Equal(6, attemptLog.Count(a => a.StatusCode == 503));
        Assert.Null((await factory.EndpointAsync(tenant.Id, id)).FailingSince);
    }

    [Fact]
    public async Task RetriesFollowTheSvixScheduleAndTheDeliveryFailsAfterTheEighthAttempt()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.StatusCode = 500;
        var tenant = await factory.CreateTenantAsync();
        var (id, _) = await factory.CreateEndpointAsync(tenant, receiver.Url);
        await factory.PublishAsync(tenant.Id, WebhookEventTypes.LeadCreated, "schedule", WebhookTestExtensions.Lead(1));
        var start = factory.Clock.GetUtcNow();

        await factory.Outbox.DrainAsync(None);
        for (var i = 0; i < WebhookDeliveryHandler.Schedule.Length; i++)
        {
            var delivery = (await factory.DeliveriesAsync(tenant.Id, id)).Single();
            Assert.Equal(WebhookDeliveryStatus.Pending, delivery.Status);
            var delay = delivery.NextAttemptAt!.Value - delivery.LastAttemptAt!.Value;
            Assert.InRange(delay, WebhookDeliveryHandler.Schedule[i], WebhookDeliveryHandler.Schedule[i] * 1.1);
            factory.Clock.Advance(delivery.NextAttemptAt.Value - factory.Clock.GetUtcNow() - TimeSpan.FromMilliseconds(1));
            await factory.Outbox.DrainAsync(None);
            Assert.Equal(i + 1, receiver.Requests.Count); // not a moment early
            factory.Clock.Advance(TimeSpan.FromMilliseconds(1));
            await factory.Outbox.DrainAsync(None);
            Assert.Equal(i + 2, receiver.Requests.Count);
        }

        var failed = (await factory.DeliveriesAsync(tenant.Id, id)).Single();
        Assert.Equal(WebhookDeliveryStatus.Failed, failed.Status);
        Assert.Equal(8, failed.Attempts);
        Assert.StartsWith("All 8 attempts failed", failed.LastError);
        var elapsed = failed.LastAttemptAt!.Value - start;
        var nominal = new TimeSpan(1, 3, 35, 5); // 27:35:05
        Assert.InRange(elapsed, nominal, nominal * 1.1);
        var outbox = await factory.WithDbAsync(tenant.Id, db => db.Outbox.SingleAsync(m => m.Kind == WebhookDeliveryHandler.Kind));
        Assert.Equal(OutboxStatus.Dead, outbox.Status);
        factory.Clock.Advance(TimeSpan.FromDays(1));
        await factory.Outbox.DrainAsync(None);
        Assert.Equal(8, receiver.Requests.Count);
    }

    [Fact]
    public async Task AFailingEndpointsClockStartsAndStopsWhenItsDeliveriesAreReadAsOneBatch()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.StatusCode = 500;
        var tenant = await factory.CreateTenantAsync();
        var (id, _) = await factory.CreateEndpointAsync(tenant, receiver.Url);
        await factory.PublishAsync(tenant.Id, WebhookEventTypes.LeadCreated, "batch-fail-1", WebhookTestExtensions.Lead(1));
        await factory.PublishAsync(tenant.Id, WebhookEventTypes.LeadCreated, "batch-fail-2", WebhookTestExtensions.Lead(2));
        var failedAt = factory.Clock.GetUtcNow();

        await factory.Outbox.ProcessDueAsync(None); // both in one claimed batch: read together, the endpoint untracked until it changes
        Assert.Equal(failedAt, (await factory.EndpointAsync(tenant.Id, id)).FailingSince);

        receiver.StatusCode = 200;
        factory.Clock.Advance(TimeSpan.FromSeconds(6));
        await factory.Outbox.ProcessDueAsync(None);
        Assert.Null((await factory.EndpointAsync(tenant.Id, id)).FailingSince);
        Assert.All(await factory.DeliveriesAsync(tenant.Id, id), d => Assert.Equal(WebhookDeliveryStatus.Succeeded, d.Status));
        Assert.Equal(4, receiver.Requests.Count);
    }

    [Fact]
    public async Task APlanWithoutWebhooksPublishesNothingAndAnUpgradeResumesDelivery()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var tenant = await factory.CreateTenantAsync();
        await factory.CreateEndpointAsync(tenant, receiver.Url);
        async Task PlanAsync(string planId)
        {
            await factory.WithDbAsync(tenant.Id, async db =>
            {
                var now = factory.Clock.GetUtcNow();
                if (await db.TenantAccounts.SingleOrDefaultAsync() is { } account)
                {
                    account.PlanId = planId;
                }
                else
                {
                    db.TenantAccounts.Add(new global::Switchboard.Tenancy.TenantAccount { TenantId = tenant.Id, PlanId = planId, CreatedAt = now, UpdatedAt = now });
                }
                return await db.SaveChangesAsync();
            });
            factory.Services.GetRequiredService<global::Switchboard.Tenancy.TenantAccountCache>().Invalidate(tenant.Id);
        }

        await PlanAsync("free");
        var onFree = await factory.PublishAsync(tenant.Id, WebhookEventTypes.LeadCreated, "plan-free-1", WebhookTestExtensions.Lead(1));
        await PlanAsync("starter");
        var onStarter = await factory.PublishAsync(tenant.Id, WebhookEventTypes.LeadCreated, "plan-starter-1", WebhookTestExtensions.Lead(2));
        await factory.Outbox.DrainAsync(None);

        Assert.False(onFree);
        Assert.True(onStarter);
        Assert.Single(receiver.Requests);
    }

    [Fact]
    public async Task ADeliveryWhoseEndpointIsDeletedWhileItIsSentIsSettledAtOnce()
    {
        // Outside probe (2026-12-07): the endpoint deleted (with its deliveries) while a delivery was being sent. The result's
        // save hit the deleted delivery row; on SQLite the message stayed leased until its lease ran out, an error logged each time.
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var tenant = await factory.CreateTenantAsync();
        var (id, _) = await factory.CreateEndpointAsync(tenant, receiver.Url);
        await factory.PublishAsync(tenant.Id, WebhookEventTypes.LeadCreated, "deleted-while-sent", WebhookTestExtensions.Lead(1));

        var pass = factory.Outbox.ProcessDueAsync(None);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (receiver.InFlight == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }
        Assert.Equal(1, receiver.InFlight);
        (await factory.ApiClient(tenant).DeleteAsync($"/api/v1/webhooks/endpoints/{id}")).EnsureSuccessStatusCode();
        receiver.Hold.TrySetResult();
        await pass; // threw DbUpdateConcurrencyException on SQLite before

        var message = Assert.Single(await factory.WithDbAsync(tenant.Id, db => db.Outbox.Where(m => m.Kind == WebhookDeliveryHandler.Kind).ToListAsync()));
        Assert.Equal((OutboxStatus.Done, (string?)null, 1), (message.Status, message.LockedBy, message.Attempts));
        Assert.Empty(await factory.DeliveriesAsync(tenant.Id, id));
        // On PostgreSQL the send's attempt row was committed beside the failed update and outlived its endpoint.
        Assert.Equal(0, await factory.WithDbAsync(null, db => db.WebhookAttempts.IgnoreQueryFilters().CountAsync(a => a.EndpointId == id)));
    }

    [Fact]
    public async Task GoneDisablesTheEndpointAtOnce()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.StatusCode = 410;
        var tenant = await factory.CreateTenantAsync();
        var (id, _) = await factory.CreateEndpointAsync(tenant, receiver.Url);
        await factory.PublishAsync(tenant.Id, WebhookEventTypes.LeadCreated, "gone-1", WebhookTestExtensions.Lead(1));

        await factory.Outbox.DrainAsync(None);
        var later = await factory.PublishAsync(tenant.Id, WebhookEventTypes.LeadCreated, "gone-2", WebhookTestExtensions.Lead(2));
        factory.Clock.Advance(TimeSpan.FromHours(1));
        await factory.Outbox.DrainAsync(None);

        var endpoint = await factory.EndpointAsync(tenant.Id, id);
        Assert.False(endpoint.Enabled);
        Assert.Equal("gone", endpoint.DisabledReason);
        Assert.False(later);
        Assert.Single(receiver.Requests);
        Assert.Equal(WebhookDeliveryStatus.Failed, (await factory.DeliveriesAsync(tenant.Id, id)).Single().Status);
        Assert.Equal(0, await factory.WithDbAsync(tenant.Id, db => db.SmsMessages.CountAsync()));
    }

    /// <summary>
    /// Publishes an event every 12 h to an endpoint whose receiver fails, the clock moving 1 h at a time so every retry runs on
    /// schedule, until the 5-day rule disables it; then drains the outbox once more (the tenant's SMS).
    /// </summary>
    private async Task FailUntilDisabledAsync(TestTenant tenant, Guid id)
    {
        for (var hour = 0; hour < 5 * 24 + 2 && (await factory.EndpointAsync(tenant.Id, id)).Enabled; hour++)
        {
            if (hour % 12 == 0)
            {
                await factory.PublishAsync(tenant.Id, WebhookEventTypes.LeadCreated, $"five-{hour}", WebhookTestExtensions.Lead(hour));
            }
            await factory.Outbox.DrainAsync(None);
            factory.Clock.Advance(TimeSpan.FromHours(1));
        }
        await factory.Outbox.DrainAsync(None);
    }

    [Fact]
    public async Task ADisabledEndpointIsTextedInTheAlertLanguageTheBusinessChose()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.StatusCode = 500;
        var tenant = await factory.CreateTenantAsync(); // a fr-CA business whose staff read Spanish
        var client = factory.ApiClient(tenant);
        await (await client.PutAsJsonAsync("/api/v1/settings/alerts", new { onCallNumbers = new[] { "514-555-0111" }, language = "es" }))
            .JsonAsync(HttpStatusCode.OK);
        var (id, _) = await factory.CreateEndpointAsync(tenant, receiver.Url);

        await FailUntilDisabledAsync(tenant, id);

        Assert.False((await factory.EndpointAsync(tenant.Id, id)).Enabled);
        var sms = Assert.Single(await factory.WithDbAsync(tenant.Id, db => db.SmsMessages.Where(s => s.Purpose == "webhook-disabled").ToListAsync()));
        Assert.Equal(("+15145550111", "simulated"), (sms.To, sms.Status)); // sent through the outbox (no Twilio account: simulated)
        Assert.Equal("Switchboard Drain Fortin: webhook 127.0.0.1 desactivado tras 5 días de fallos. Reactívelo en Switchboard una vez resuelto.", sms.Body);
    }

    [Fact]
    public async Task AnEndpointFailingForFiveDaysIsDisabledAndTheTenantIsTexted()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.StatusCode = 500;
        var tenant = await factory.CreateTenantAsync();
        var (id, _) = await factory.CreateEndpointAsync(tenant, receiver.Url);
        var firstFailure = factory.Clock.GetUtcNow();

        await FailUntilDisabledAsync(tenant, id);

        var endpoint = await factory.EndpointAsync(tenant.Id, id);
        Assert.False(endpoint.Enabled);
        Assert.Equal("failing", endpoint.DisabledReason);
        Assert.Equal(firstFailure, endpoint.FailingSince);
        Assert.InRange(endpoint.DisabledAt!.Value - firstFailure, TimeSpan.FromDays(5), TimeSpan.FromDays(5) + TimeSpan.FromHours(1));
        var sms = await factory.WithDbAsync(tenant.Id, db => db.SmsMessages.Where(s => s.Purpose == "webhook-disabled").ToListAsync());
        Assert.Equal(["+15145550100", "+15145550111"], sms.Select(s => s.To).Order());
        Assert.All(sms, s =>
        {
            Assert.Equal("simulated", s.Status); // sent through the outbox; no Twilio account, so recorded as simulated
            Assert.Contains("127.0.0.1", s.Body);
            Assert.Contains("désactivé après 5 jours", s.Body); // the tenant's locale is fr-CA
        });
        Assert.False(await factory.PublishAsync(tenant.Id, WebhookEventTypes.LeadCreated, "five-after", WebhookTestExtensions.Lead(0)));
        var sent = receiver.Requests.Count;
        factory.Clock.Advance(TimeSpan.FromHours(11));
        await factory.Outbox.DrainAsync(None);
        Assert.Equal(sent, receiver.Requests.Count); // retries still scheduled end without another request
        Assert.All(await factory.DeliveriesAsync(tenant.Id, id), d => Assert.Equal(WebhookDeliveryStatus.Failed, d.Status));
    }

    [Fact]
    public async Task FailuresDaysApartAreNotFiveDaysOfContinuousFailure()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.StatusCode = 500;
        var tenant = await factory.CreateTenantAsync();
        var (id, _) = await factory.CreateEndpointAsync(tenant, receiver.Url);
        await factory.PublishAsync(tenant.Id, WebhookEventTypes.LeadCreated, "gap-1", WebhookTestExtensions.Lead(1));
        for (var i = 0; i < 8; i++)
        {
            await factory.Outbox.DrainAsync(None);
            factory.Clock.Advance(TimeSpan.FromHours(11)); // past every retry delay: the schedule runs out in ~28 h
        }

        factory.Clock.Advance(TimeSpan.FromDays(5));
        var later = factory.Clock.GetUtcNow();
        await factory.PublishAsync(tenant.Id, WebhookEventTypes.LeadCreated, "gap-2", WebhookTestExtensions.Lead(2));
        await factory.Outbox.DrainAsync(None);

        var endpoint = await factory.EndpointAsync(tenant.Id, id);
        Assert.True(endpoint.Enabled);
        Assert.Equal(later, endpoint.FailingSince);
        Assert.Equal(9, receiver.Requests.Count);
    }

    [Fact]
    public async Task ARotatedSecretSignsAlongsideTheOldOneUntilTheOverlapEnds()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var tenant = await factory.CreateTenantAsync();
        var (id, oldSecret) = await factory.CreateEndpointAsync(tenant, receiver.Url);
        var rotated = await factory.ApiClient(tenant).PostAsJsonAsync($"{Endpoints}/{id}/rotate-secret", new { });
        var newSecret = JsonNode.Parse(await rotated.Content.ReadAsStringAsync())!["secret"]!.GetValue<string>();

        await factory.PublishAsync(tenant.Id, WebhookEventTypes.LeadCreated, "rotate-1", WebhookTestExtensions.Lead(1));
        await factory.Outbox.DrainAsync(None);
        factory.Clock.Advance(TimeSpan.FromHours(24) + TimeSpan.FromSeconds(1));
        await factory.PublishAsync(tenant.Id, WebhookEventTypes.LeadCreated, "rotate-2", WebhookTestExtensions.Lead(2));
        await factory.Outbox.DrainAsync(None);

        var during = await receiver.WaitForAsync(r => r.Data["name"]!.GetValue<string>() == "Caller 1");
        var after = await receiver.WaitForAsync(r => r.Data["name"]!.GetValue<string>() == "Caller 2");
        Assert.Equal(2, during.Headers["webhook-signature"].Split(' ').Length);
        Assert.Single(after.Headers["webhook-signature"].Split(' '));
        await StandardWebhooksOracle.AssertAllVerifyAsync(oldSecret, [during]);
        await StandardWebhooksOracle.AssertAllVerifyAsync(newSecret, [during, after]);
        var old = await StandardWebhooksOracle.VerifyWithLibraryAsync([(oldSecret, after)]);
        if (old is not null)
        {
            Assert.False(old[0].Ok);
        }
        Assert.Equal(VerifyResult.InvalidSignature, StandardWebhookSigner.Verify(oldSecret, after.Headers, after.Body, DateTimeOffset.FromUnixTimeSeconds(after.Timestamp), StandardWebhookSigner.DefaultTolerance));
    }

    [Fact]
    public async Task ReplayResendsTheSameEventAndFailedDeliveriesSinceATimeCanBeRecovered()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var tenant = await factory.CreateTenantAsync();
        var client = factory.ApiClient(tenant);
        var (id, secret) = await factory.CreateEndpointAsync(tenant, receiver.Url);
        await factory.PublishAsync(tenant.Id, WebhookEventTypes.LeadCreated, "replay-1", WebhookTestExtensions.Lead(1));
        await factory.Outbox.DrainAsync(None);
        var first = (await factory.DeliveriesAsync(tenant.Id, id)).Single();

        var replay = await client.PostAsync($"{Endpoints}/{id}/deliveries/{first.Id}/replay", null);
        var pending = await client.PostAsync($"{Endpoints}/{id}/deliveries/{first.Id}/replay", null);
        await factory.Outbox.DrainAsync(None);

        Assert.Equal(HttpStatusCode.Accepted, replay.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, pending.StatusCode);
        Assert.Equal("DELIVERY_PENDING", (await VapiWebhookTests.ErrorOf(pending))["code"]!.GetValue<string>());
        Assert.Equal(2, receiver.Requests.Count);
        Assert.Single(receiver.Requests.Select(r => r.Id).Distinct());
        Assert.Single(receiver.Requests.Select(r => r.Text).Distinct());

        // Two deliveries fail while the endpoint is broken and then disabled.
        factory.Clock.Advance(TimeSpan.FromMinutes(1));
        var since = factory.Clock.GetUtcNow();
        receiver.StatusCode = 500;
        await factory.PublishAsync(tenant.Id, WebhookEventTypes.LeadCreated, "replay-2", WebhookTestExtensions.Lead(2));
        await factory.PublishAsync(tenant.Id, WebhookEventTypes.LeadCreated, "replay-3", WebhookTestExtensions.Lead(3));
        await factory.Outbox.DrainAsync(None);
        await client.PatchAsJsonAsync($"{Endpoints}/{id}", new { enabled = false });
        factory.Clock.Advance(TimeSpan.FromSeconds(6));
        await factory.Outbox.DrainAsync(None);
        var failed = (await factory.DeliveriesAsync(tenant.Id, id)).Where(d => d.Status == WebhookDeliveryStatus.Failed).ToList();
        Assert.Equal(2, failed.Count);
        var whileDisabled = await client.PostAsJsonAsync($"{Endpoints}/{id}/replay-failed", new { since });
        Assert.Equal("ENDPOINT_DISABLED", (await VapiWebhookTests.ErrorOf(whileDisabled))["code"]!.GetValue<string>());

        receiver.StatusCode = 200;
        await client.PatchAsJsonAsync($"{Endpoints}/{id}", new { enabled = true });
        var recover = await client.PostAsJsonAsync($"{Endpoints}/{id}/replay-failed", new { since });
        await factory.Outbox.DrainAsync(None);
        var nothingLeft = await client.PostAsJsonAsync($"{Endpoints}/{id}/replay-failed", new { since });

        Assert.Equal(HttpStatusCode.Accepted, recover.StatusCode);
        Assert.Equal(2, JsonNode.Parse(await recover.Content.ReadAsStringAsync())!["queued"]!.GetValue<int>());
        Assert.Equal(0, JsonNode.Parse(await nothingLeft.Content.ReadAsStringAsync())!["queued"]!.GetValue<int>());
        Assert.All(await factory.DeliveriesAsync(tenant.Id, id), d => Assert.Equal(WebhookDeliveryStatus.Succeeded, d.Status));
        var byName = receiver.Requests.Where(r => r.AnsweredWith == 200).GroupBy(r => r.Data["name"]!.GetValue<string>()).ToDictionary(g => g.Key, g => g.ToList());
        Assert.Equal(["Caller 1", "Caller 2", "Caller 3"], byName.Keys.Order());
        foreach (var name in new[] { "Caller 2", "Caller 3" })
        {
            // The recovered delivery carries the webhook-id of the failed attempt: consumers can deduplicate.
            Assert.Equal(receiver.Requests.First(r => r.Data["name"]!.GetValue<string>() == name).Id, byName[name].Single().Id);
        }
        await StandardWebhooksOracle.AssertAllVerifyAsync(secret, receiver.Requests);
    }

    [Fact]
    public async Task TheDeliveryLogShowsAttemptsStatusCodesLatencyAndATruncatedResponse()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.StatusCode = 500;
        receiver.ResponseBody = new string('é', 3000); // 6000 bytes of UTF-8
        var tenant = await factory.CreateTenantAsync();
        var client = factory.ApiClient(tenant);
        var (id, _) = await factory.CreateEndpointAsync(tenant, receiver.Url);
        await factory.PublishAsync(tenant.Id, WebhookEventTypes.LeadCreated, "log", WebhookTestExtensions.Lead(7));
        await factory.Outbox.DrainAsync(None);
        receiver.StatusCode = 200;
        receiver.ResponseBody = "thanks";
        factory.Clock.Advance(TimeSpan.FromSeconds(6));
        await factory.Outbox.DrainAsync(None);

        var page = JsonNode.Parse(await client.GetStringAsync($"{Endpoints}/{id}/deliveries"))!;
        var item = Assert.Single(page["items"]!.AsArray())!;
        var detail = JsonNode.Parse(await client.GetStringAsync($"{Endpoints}/{id}/deliveries/{item["id"]}"))!;
        var failedOnly = JsonNode.Parse(await client.GetStringAsync($"{Endpoints}/{id}/deliveries?status=failed"))!;
        var otherType = JsonNode.Parse(await client.GetStringAsync($"{Endpoints}/{id}/deliveries?eventType=call.ended"))!;

        Assert.Equal("succeeded", item["status"]!.GetValue<string>());
        Assert.Equal(2, item["attempts"]!.GetValue<int>());
        Assert.Equal(200, item["lastStatusCode"]!.GetValue<int>());
        Assert.InRange(item["lastLatencyMs"]!.GetValue<int>(), 0, 2000);
        Assert.Equal(receiver.Requests.First().Id, item["eventId"]!.GetValue<string>());
        Assert.Equal("lead.created", detail["payload"]!["type"]!.GetValue<string>());
        var attempts = detail["attempts"]!.AsArray();
        Assert.Equal([500, 200], attempts.Select(a => a!["statusCode"]!.GetValue<int>()));
        var excerpt = attempts[0]!["responseExcerpt"]!.GetValue<string>();
        Assert.Equal(512, excerpt.Length);
        Assert.True(Encoding.UTF8.GetByteCount(excerpt) <= 1024);
        Assert.Equal("HTTP 500", attempts[0]!["error"]!.GetValue<string>());
        Assert.Equal("thanks", attempts[1]!["responseExcerpt"]!.GetValue<string>());
        Assert.Equal(0, failedOnly["total"]!.GetValue<int>());
        Assert.Equal(0, otherType["total"]!.GetValue<int>());
    }

    [Fact]
    public async Task AResponseBodyWithNulBytesIsLoggedAsAnAttempt()
    {
        // A receiver answering a binary body: U+0000 cannot be stored in PostgreSQL text, and the attempt's save failed.
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.StatusCode = 500;
        receiver.ResponseBody = "bad\0body";
        var tenant = await factory.CreateTenantAsync();
        var client = factory.ApiClient(tenant);
        var (id, _) = await factory.CreateEndpointAsync(tenant, receiver.Url);
        await factory.PublishAsync(tenant.Id, WebhookEventTypes.LeadCreated, "nul", WebhookTestExtensions.Lead(2));

        await factory.Outbox.DrainAsync(None);

        var delivery = (await factory.DeliveriesAsync(tenant.Id, id)).Single();
        Assert.Equal(WebhookDeliveryStatus.Pending, delivery.Status);
        Assert.Equal(500, delivery.LastStatusCode);
        var detail = JsonNode.Parse(await client.GetStringAsync($"{Endpoints}/{id}/deliveries/{delivery.Id}"))!;
        Assert.Equal("bad\uFFFDbody", Assert.Single(detail["attempts"]!.AsArray())!["responseExcerpt"]!.GetValue<string>());
    }

    [Fact]
    public async Task AReceiverThatAnswers200AndDropsTheConnectionMidBodyHasTheEvent()
    {
        // A real receiver's answer cut short: 200 and a Content-Length it never sends in full. The status is the answer.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var url = $"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/hook";
        var tenant = await factory.CreateTenantAsync();
        var client = factory.ApiClient(tenant);
        var (id, _) = await factory.CreateEndpointAsync(tenant, url);
        await factory.PublishAsync(tenant.Id, WebhookEventTypes.LeadCreated, "cut", WebhookTestExtensions.Lead(3));
        var receiver = AnswerOnceAsync(listener, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nreceived");

        await factory.Outbox.DrainAsync(None);
        await receiver.WaitAsync(TimeSpan.FromSeconds(30));

        var delivery = (await factory.DeliveriesAsync(tenant.Id, id)).Single();
        Assert.Equal(WebhookDeliveryStatus.Succeeded, delivery.Status);
        Assert.Equal(200, delivery.LastStatusCode);
        var detail = JsonNode.Parse(await client.GetStringAsync($"{Endpoints}/{id}/deliveries/{delivery.Id}"))!;
        Assert.Equal("received", Assert.Single(detail["attempts"]!.AsArray())!["responseExcerpt"]!.GetValue<string>());
    }

    /// <summary>Reads one HTTP/1.1 request (headers, then Content-Length bytes of body), writes <paramref name="answer"/> and closes.</summary>
    private static async Task AnswerOnceAsync(TcpListener listener, string answer)
    {
        using var socket = await listener.AcceptSocketAsync();
        var received = new List<byte>();
        var buffer = new byte[8192];
        int headerEnd;
        while ((headerEnd = Encoding.ASCII.GetString([.. received]).IndexOf("\r\n\r\n", StringComparison.Ordinal)) < 0)
        {
            var n = await socket.ReceiveAsync(buffer);
            Assert.NotEqual(0, n);
            received.AddRange(buffer.AsSpan(0, n).ToArray());
        }
        var head = Encoding.ASCII.GetString([.. received], 0, headerEnd);
        var length = int.Parse(head.Split("\r\n").First(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))[15..].Trim(),
            System.Globalization.CultureInfo.InvariantCulture);
        while (received.Count < headerEnd + 4 + length)
        {
            var n = await socket.ReceiveAsync(buffer);
            Assert.NotEqual(0, n);
            received.AddRange(buffer.AsSpan(0, n).ToArray());
        }
        await socket.SendAsync(Encoding.ASCII.GetBytes(answer));
        socket.Shutdown(SocketShutdown.Both);
    }

    [Fact]
    public async Task RedirectsAreNotFollowed()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var elsewhere = await WebhookReceiver.StartAsync();
        receiver.StatusCode = 307;
        receiver.ResponseHeaders["Location"] = elsewhere.Url;
        var tenant = await factory.CreateTenantAsync();
        var (id, _) = await factory.CreateEndpointAsync(tenant, receiver.Url);
        await factory.PublishAsync(tenant.Id, WebhookEventTypes.LeadCreated, "redirect", WebhookTestExtensions.Lead(1));

        await factory.Outbox.DrainAsync(None);

        var delivery = (await factory.DeliveriesAsync(tenant.Id, id)).Single();
        Assert.Equal(WebhookDeliveryStatus.Pending, delivery.Status);
        Assert.Equal(307, delivery.LastStatusCode);
        Assert.Single(receiver.Requests);
        Assert.Empty(elsewhere.Requests);
    }

    [Fact]
    public async Task ARetryAfterDateIsMeasuredFromTheInjectedClock()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.StatusCode = 503;
        // The test clock is weeks away from the real one: only a span measured from it is ten minutes.
        receiver.ResponseHeaders["Retry-After"] = factory.Clock.GetUtcNow().AddMinutes(10).ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        var outcome = await factory.Services.GetRequiredService<WebhookSender>().SendAsync(new Uri(receiver.Url), new Dictionary<string, string>(), [], "{}"u8.ToArray(), None);
        Assert.Equal(503, outcome.StatusCode);
        // An HTTP date has whole seconds: the span is ten minutes less the clock's fraction of a second.
        Assert.InRange(outcome.RetryAfter!.Value, TimeSpan.FromMinutes(10) - TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(10));
    }

    [Fact]
    public async Task ATimeoutIsAFailedAttemptThatIsRetried()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var tenant = await factory.CreateTenantAsync();
        var (id, _) = await factory.CreateEndpointAsync(tenant, receiver.Url);
        await factory.PublishAsync(tenant.Id, WebhookEventTypes.LeadCreated, "timeout", WebhookTestExtensions.Lead(1));

        await factory.Outbox.DrainAsync(None);
        var timedOut = (await factory.DeliveriesAsync(tenant.Id, id)).Single();
        receiver.Hold = null;
        factory.Clock.Advance(TimeSpan.FromSeconds(6));
        await factory.Outbox.DrainAsync(None);

        Assert.Equal("Timed out after 2 s.", timedOut.LastError);
        Assert.Null(timedOut.LastStatusCode);
        Assert.InRange(timedOut.LastLatencyMs!.Value, 1900, 10_000);
        Assert.Equal(WebhookDeliveryStatus.Succeeded, (await factory.DeliveriesAsync(tenant.Id, id)).Single().Status);
    }

    [Fact]
    public async Task AWorkerKilledMidDeliveryRedeliversAfterARestartAndLosesNothing()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var tenant = await factory.CreateTenantAsync();
        var (id, secret) = await factory.CreateEndpointAsync(tenant, receiver.Url);
        for (var i = 0; i < 3; i++)
        {
            await factory.PublishAsync(tenant.Id, WebhookEventTypes.LeadCreated, $"crash-{i}", WebhookTestExtensions.Lead(i));
        }

        // The node dies while the receiver is reading its requests: nothing after the claim is committed.
        using (var kill = new CancellationTokenSource())
        {
            var pass = factory.Outbox.ProcessDueAsync(kill.Token);
            var deadline = DateTime.UtcNow.AddSeconds(5);
            while (receiver.Requests.Count < 3 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(10);
            }
            await kill.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pass);
        }
        receiver.Hold = null;
        Assert.Equal(3, receiver.Requests.Count);
        Assert.All(await factory.DeliveriesAsync(tenant.Id, id), d => Assert.Equal(WebhookDeliveryStatus.Pending, d.Status));

        await using var restarted = new RestartedFactory(factory, WebhookFactory.Settings);
        // The same node, restarted, takes its dead incarnation's leases back at once (no 120 s wait).
        Assert.Equal(3, await restarted.Outbox.DrainAsync(None));

        Assert.All(await restarted.DeliveriesAsync(tenant.Id, id), d => Assert.Equal(WebhookDeliveryStatus.Succeeded, d.Status));
        var received = receiver.Requests.ToList();
        Assert.Equal(6, received.Count);
        Assert.Equal(3, received.Where(r => r.AnsweredWith == 200).Select(r => r.Id).Distinct().Count());
        Assert.All(received.GroupBy(r => r.Id), g => Assert.Equal(2, g.Count())); // at least once: the same webhook-id again
        await StandardWebhooksOracle.AssertAllVerifyAsync(secret, received.Where(r => r.AnsweredWith == 200));
    }

    [Fact]
    public async Task DetailsTheCallerGivesAfterTheFirstCaptureReachTheEndpointAsLeadUpdated()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var tenant = await factory.CreateTenantAsync();
        var (_, secret) = await factory.CreateEndpointAsync(tenant, receiver.Url);
        var callId = Guid.NewGuid().ToString();
        string Capture(string id, string arguments) => ("""
        {"message":{"type":"tool-calls","call":{"id":"CALLID","customer":{"number":"+15145559876"}},
          "toolCallList":[{"id":"TOOLID","type":"function","function":{"name":"capture_lead","arguments":ARGS}}]}}
        """).Replace("CALLID", callId).Replace("TOOLID", id).Replace("ARGS", arguments);

        await factory.PostVapiAsync(tenant, Capture("call_1", """{"problem":"Mon sous-sol est inondé"}"""));
        await factory.PostVapiAsync(tenant, Capture("call_2", """{"problem":"Mon sous-sol est inondé","name":"Marie Tremblay","address":"12 rue des Érables, Laval"}"""));
        await factory.PostVapiAsync(tenant, Capture("call_3", """{"problem":"Mon sous-sol est inondé","name":"Marie Tremblay","address":"12 rue des Érables, Laval"}""")); // nothing new
        await factory.DeliverAllAsync();

        var created = Assert.Single(receiver.Requests, r => r.Type == "lead.created");
        Assert.Null(JsonNode.Parse(created.Text)!["data"]!["name"]);
        var updated = Assert.Single(receiver.Requests, r => r.Type == "lead.updated");
        var data = JsonNode.Parse(updated.Text)!["data"]!;
        Assert.Equal(("Marie Tremblay", "12 rue des Érables, Laval", "new"),
            (data["name"]!.GetValue<string>(), data["address"]!.GetValue<string>(), data["status"]!.GetValue<string>()));
        await StandardWebhooksOracle.AssertAllVerifyAsync(secret, receiver.Requests);
    }

    [Fact]
    public async Task TheSameFactNeverMakesTwoEventsEvenWhenVapiSendsItAgain()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var tenant = await factory.CreateTenantAsync();
        var (id, secret) = await factory.CreateEndpointAsync(tenant, receiver.Url);
        var callId = Guid.NewGuid().ToString();
        var toolCall = """
        {"message":{"type":"tool-calls","call":{"id":"CALLID","customer":{"number":"+15145559876"}},
          "toolCallList":[{"id":"call_a","type":"function","function":{"name":"capture_lead","arguments":{"name":"Marie Tremblay","problem":"Mon sous-sol est inondé"}}}]}}
        """.Replace("CALLID", callId);
        var report = VapiWebhookTests.EndOfCallReport(callId, "Sous-sol inondé, rappeler Marie.", "Bonjour, mon sous-sol est inondé!", "Marie Tremblay, 12 rue des Érables.");
        var redelivered = JsonNode.Parse(report)!;
        redelivered["message"]!["timestamp"] = redelivered["message"]!["timestamp"]!.GetValue<long>() + 30_000; // same fact, new bytes

        Assert.Equal(HttpStatusCode.OK, (await factory.PostVapiAsync(tenant, toolCall)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await factory.PostVapiAsync(tenant, report)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await factory.PostVapiAsync(tenant, report)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await factory.PostVapiAsync(tenant, redelivered.ToJsonString())).StatusCode);
        await factory.DeliverAllAsync();

        var types = receiver.Requests.Select(r => r.Type).Order().ToList();
        // lead.updated: the report completed the lead the tool call captured (its summary's problem), once whatever the redeliveries.
        Assert.Equal(["call.analyzed", "call.ended", "call.started", "lead.created", "lead.updated", "lead.urgent", "recording.ready", "sms.sent"], types);
        Assert.Equal(types.Count, receiver.Requests.Select(r => r.Id).Distinct().Count());
        Assert.Equal(types.Count, await factory.WithDbAsync(tenant.Id, db => db.WebhookEvents.CountAsync()));
        await StandardWebhooksOracle.AssertAllVerifyAsync(secret, receiver.Requests);
        Assert.Single(await factory.DeliveriesAsync(tenant.Id, id), d => d.EventType == "sms.sent");
    }
}
