using System.Diagnostics;
using System.Net;
using Microsoft.EntityFrameworkCore;
using Switchboard.Outbox;
using Switchboard.Tests.Support;
using Switchboard.Tests.Vapi;
using Switchboard.Tests.Webhooks;
using Switchboard.Webhooks;

namespace Switchboard.Tests.Observability;

/// <summary>
/// One Vapi end-of-call report is one trace: the webhook's server span, the outbox rows it wrote (each carrying the
/// span's W3C traceparent), the handlers' spans that continue it, and the HTTP calls to the tenant's webhook endpoint,
/// whose receiver sees the same trace id in its <c>traceparent</c> header.
/// </summary>
[Trait("Category", "Database")]
public sealed class TracingTests(ObservabilityFactory factory) : IClassFixture<ObservabilityFactory>
{
    [Fact]
    public async Task AVapiEndOfCallReportIsOneTraceFromTheWebhookToTheTenantsWebhookDelivery()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var tenant = await factory.CreateTenantAsync();
        await factory.CreateEndpointAsync(tenant, receiver.Url, ["call.ended", "call.analyzed"]);

        var vapi = await factory.PostVapiAsync(tenant, VapiWebhookTests.EndOfCallReport(Guid.NewGuid().ToString(),
            "Chauffe-eau qui fuit au sous-sol.", "Bonjour, mon chauffe-eau coule, pouvez-vous passer demain?"));
        Assert.Equal(HttpStatusCode.OK, vapi.StatusCode);

        var rows = await factory.WithDbAsync(tenant.Id, db => db.Outbox.Where(m => m.Kind == WebhookDeliveryHandler.Kind).ToListAsync());
        Assert.Equal(2, rows.Count);
        Assert.All(rows, r => Assert.Matches("^00-[0-9a-f]{32}-[0-9a-f]{16}-01$", r.TraceParent));
        Assert.Single(rows.Select(r => r.TraceParent).Distinct());
        var stored = ActivityContext.Parse(rows[0].TraceParent!, null);
        var trace = stored.TraceId;

        await factory.DeliverAllAsync();

        // The stored parent is the webhook's own server span (it ends just after the response: poll for it briefly).
        var server = await EventuallyAsync(() => factory.Spans.FirstOrDefault(s => s.SpanId == stored.SpanId && s.TraceId == trace));
        Assert.Equal(ActivityKind.Server, server.Kind);
        Assert.Equal($"/webhooks/vapi/{tenant.Id}", server.GetTagItem("url.path"));

        var ofTrace = factory.Spans.Where(s => s.TraceId == trace).ToList();
        var handlers = ofTrace.Where(s => s.Source.Name == "Switchboard" && s.DisplayName == $"outbox {WebhookDeliveryHandler.Kind}").ToList();
        Assert.Equal(2, handlers.Count); // call.ended and call.analyzed
        Assert.All(handlers, h => Assert.Equal(ActivityKind.Consumer, h.Kind));
        var clientCalls = ofTrace.Where(s => s.Kind == ActivityKind.Client && (s.GetTagItem("url.full") as string ?? "").StartsWith(receiver.Url, StringComparison.Ordinal)).ToList();
        Assert.Equal(2, clientCalls.Count);
        Assert.All(clientCalls, c => Assert.Contains(handlers, h => h.SpanId == c.ParentSpanId));
        Assert.Equal(2, receiver.Requests.Count);
        Assert.All(receiver.Requests, r => Assert.Equal(trace.ToHexString(), r.Headers["traceparent"].Split('-')[1]));
    }

    [Fact]
    public async Task AnOutboxRowWrittenOutsideAnySpanStartsItsOwnTraceAndAGarbledTraceparentDoesNotStopDelivery()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var tenant = await factory.CreateTenantAsync();
        await factory.CreateEndpointAsync(tenant, receiver.Url, ["call.ended"]);
        Assert.Null(Activity.Current);

        await factory.PublishAsync(tenant.Id, "call.ended", "obs-" + Guid.NewGuid(), new { callId = Guid.NewGuid() });
        var row = await factory.WithDbAsync(tenant.Id, db => db.Outbox.SingleAsync(m => m.Kind == WebhookDeliveryHandler.Kind));
        Assert.Null(row.TraceParent);
        await factory.WithDbAsync(tenant.Id, db => db.Outbox.Where(m => m.Id == row.Id)
            .ExecuteUpdateAsync(u => u.SetProperty(m => m.TraceParent, "00-not-a-trace-01")));

        await factory.DeliverAllAsync();

        var received = Assert.Single(receiver.Requests);
        var trace = received.Headers["traceparent"].Split('-')[1];
        Assert.Matches("^[0-9a-f]{32}$", trace);
        Assert.Contains(factory.Spans, s => s.TraceId.ToHexString() == trace && s.DisplayName == $"outbox {WebhookDeliveryHandler.Kind}" && s.ParentSpanId == default);
        Assert.Equal(OutboxStatus.Done, (await factory.WithDbAsync(tenant.Id, db => db.Outbox.SingleAsync(m => m.Id == row.Id))).Status);
    }

    private static async Task<T> EventuallyAsync<T>(Func<T?> probe) where T : class
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            if (probe() is { } found)
            {
                return found;
            }
            Assert.True(DateTime.UtcNow < deadline, "Not observed within 10 s.");
            await Task.Delay(20);
        }
    }
}
