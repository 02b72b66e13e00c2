using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Calls;
using Switchboard.Outbound;
using Switchboard.Outbox;
using Switchboard.Platform.Database;
using Switchboard.Simulators;
using Switchboard.Tenancy;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Outbound;

/// <summary>
/// Automatic callbacks: a short inbound call with no lead, ended at 22:00 in Montréal, is called back once at 9:00 the
/// next morning (none before), at most once per number per day, only when the assistant asks for it. Its own host: the
/// test moves the clock.
/// </summary>
[Trait("Category", "Database")]
public sealed class AutoCallbackTests(OutboundFactory factory) : IClassFixture<OutboundFactory>
{
    /// <summary>Ends an inbound call of <paramref name="seconds"/> from <paramref name="from"/> now, through the shared post-call pipeline.</summary>
    private async Task<Guid> HangUpAsync(TestTenant tenant, string from, int seconds)
    {
        using var scope = factory.Services.CreateScope();
        scope.ServiceProvider.GetRequiredService<CurrentTenant>().Set(tenant.Id);
        var db = scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>();
        var now = factory.Clock.GetUtcNow();
        var call = new Call
        {
            Id = Guid.CreateVersion7(),
            TenantId = tenant.Id,
            Channel = "voice",
            Provider = "twilio",
            ProviderCallId = "CA" + Guid.NewGuid().ToString("N"),
            Status = "completed",
            CustomerNumber = from,
            BusinessNumber = "+15145550199",
            StartedAt = now.AddSeconds(-seconds),
            EndedAt = now,
            DurationSeconds = seconds,
            Language = "fr-CA",
            CreatedAt = now,
            UpdatedAt = now,
            TranscriptFinal = true,
        };
        db.Calls.Add(call);
        var tenantRow = await db.Tenants.SingleAsync(t => t.Id == tenant.Id);
        var assistant = await db.Assistants.SingleAsync();
        await scope.ServiceProvider.GetRequiredService<PostCallPipeline>().RunAsync(tenantRow, assistant, call, null, null, null, CancellationToken.None, extractLead: false);
        await db.SaveChangesAsync();
        return call.Id;
    }

    private Task<List<OutboxMessage>> CallbacksAsync(TestTenant tenant) =>
        factory.WithDbAsync(tenant.Id, db => db.Outbox.AsNoTracking().Where(o => o.Kind == OutboundPlaceHandler.Kind).ToListAsync());

    [Fact]
    public async Task AHangUpAt22InMontrealIsCalledBackOnceAt9NextMorning()
    {
        var tenant = await factory.NativeTenantAsync();
        var quiet = await factory.NativeTenantAsync(); // its assistant keeps the default: no callbacks
        var assistantId = await factory.WithDbAsync(tenant.Id, db => db.Assistants.Select(a => a.Id).SingleAsync());
        var set = await factory.Api(tenant).PutAsJsonAsync($"/api/v1/assistants/{assistantId}/outbound", new { autoCallbackMinutes = 10 });
        Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        Assert.Null((await factory.Api(quiet).GetFromJsonAsync<JsonElement>(
            $"/api/v1/assistants/{await factory.WithDbAsync(quiet.Id, db => db.Assistants.Select(a => a.Id).SingleAsync())}/outbound")).GetProperty("autoCallbackMinutes").GetInt32OrNull());
        // Another tenant cannot read or change it; bad values get the envelope.
        Assert.Equal(HttpStatusCode.NotFound, (await factory.Api(quiet).PutAsJsonAsync($"/api/v1/assistants/{assistantId}/outbound", new { autoCallbackMinutes = 5 })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await factory.Api(quiet).GetAsync($"/api/v1/assistants/{assistantId}/outbound")).StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await factory.Api(tenant).PutAsJsonAsync($"/api/v1/assistants/{assistantId}/outbound", new { autoCallbackMinutes = 0 })).StatusCode);
        const string Caller = "+15145550777";
        factory.Calls.State.Callee = _ => CalleeKind.Busy;
        // Wednesday 22:00 in Montréal (03:00 UTC Thursday).
        factory.Clock.Advance(new DateTimeOffset(2026, 11, 19, 3, 0, 0, TimeSpan.Zero) - factory.Clock.GetUtcNow());

        var first = await HangUpAsync(tenant, Caller, 8);
        await HangUpAsync(tenant, Caller, 5);       // hangs up again the same evening: still one callback
        await HangUpAsync(quiet, Caller, 8);        // callbacks are off for this assistant
        await HangUpAsync(tenant, "+15145550778", 300); // a long call is not a hang-up without details

        var queued = Assert.Single(await CallbacksAsync(tenant));
        Assert.Equal(new DateTimeOffset(2026, 11, 19, 14, 0, 0, TimeSpan.Zero), queued.NextAttemptAt); // 9:00 in Montréal
        Assert.Empty(await CallbacksAsync(quiet));
        var callback = await factory.WithDbAsync(tenant.Id, db => db.Calls.AsNoTracking().SingleAsync(c => c.Direction == "outbound"));
        Assert.Equal(Caller, callback.CustomerNumber);
        var context = OutboundContext.Read(callback.OutboundContextJson);
        Assert.Contains("à 22:00 et a raccroché sans laisser ses coordonnées", context["reason"]);
        Assert.Equal(first.ToString(), context["callbackOf"]);

        // 22:10: nothing is placed.
        factory.Clock.Advance(TimeSpan.FromMinutes(10));
        await factory.Outbox.DrainAsync(CancellationToken.None);
        Assert.DoesNotContain(factory.Calls.State.Calls.Values, c => c.To == Caller);

        // 9:00 next morning: exactly one call.
        factory.Clock.Advance(new DateTimeOffset(2026, 11, 19, 14, 0, 0, TimeSpan.Zero) - factory.Clock.GetUtcNow());
        await factory.Outbox.DrainAsync(CancellationToken.None);
        await factory.Outbox.DrainAsync(CancellationToken.None);
        var placed = Assert.Single(factory.Calls.State.Calls.Values, c => c.To == Caller);
        Assert.Contains("MachineDetection=DetectMessageEnd", factory.Calls.State.TimelineOf(placed.Sid).First(e => e.Event == "create").Detail);
        await placed.Ended.Task.WaitAsync(TimeSpan.FromSeconds(15));
    }
}

internal static class JsonElementExtensions
{
    public static int? GetInt32OrNull(this JsonElement e) => e.ValueKind == JsonValueKind.Null ? null : e.GetInt32();
}
