using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Switchboard.Numbers;
using Switchboard.Outbound;
using Switchboard.Simulators;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Outbound;

/// <summary>
/// An outside probe: without an explicit sender, an outbound call presented the tenant's oldest attached number as caller
/// id whatever its status, so a number only claimed (never verified on the tenant's Twilio account, possibly another
/// business's) could be shown to the callee. Only <c>active</c> numbers qualify, for Twilio's <c>From</c> and for Vapi's
/// <c>phoneNumberId</c>; with none the call is refused (422 <c>NO_CALLER_ID</c>, recorded) and, if a number stops being
/// active after the call was queued, the call ends without being dialled.
/// </summary>
[Trait("Category", "Database")]
public sealed class OutboundCallerIdTests(OutboundFactory factory) : IClassFixture<OutboundFactory>
{
    private static int next = 100;

    private static string NewNumber() => $"+1873555{Interlocked.Increment(ref next):D4}";

    /// <summary>A business number no other tenant of this class holds.</summary>
    private static string NewBusinessNumber() => $"+1367555{Interlocked.Increment(ref next):D4}";

    private Task<HttpResponseMessage> PlaceAsync(TestTenant tenant, object body) => factory.Api(tenant).PostAsJsonAsync("/api/v1/calls/outbound", body);

    private Task<global::Switchboard.Calls.Call> RowAsync(TestTenant tenant, Guid id) =>
        factory.WithDbAsync(tenant.Id, db => db.Calls.AsNoTracking().SingleAsync(c => c.Id == id));

    private static async Task<Guid> IdOf(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, text);
        using var doc = JsonDocument.Parse(text);
        return doc.RootElement.GetProperty("id").GetGuid();
    }

    private static async Task AssertNoCallerIdAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.UnprocessableEntity, text);
        var error = JsonNode.Parse(text)!["error"]!;
        Assert.Equal("NO_CALLER_ID", error["code"]!.GetValue<string>());
        Assert.Contains("active", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    /// <summary>A native tenant with no explicit sender and one attached <c>twilio</c>-mode number in <paramref name="status"/>.</summary>
    private async Task<(TestTenant Tenant, string Business)> NativeTenantWithNumberAsync(string status)
    {
        var tenant = await factory.NativeTenantAsync();
        var business = NewBusinessNumber();
        await factory.WithDbAsync(tenant.Id, async db =>
        {
            var row = await db.Tenants.SingleAsync(t => t.Id == tenant.Id);
            row.TwilioFromNumber = null;
            var now = factory.Clock.GetUtcNow();
            db.PhoneNumbers.Add(new PhoneNumber
            {
                Id = Guid.CreateVersion7(), TenantId = tenant.Id, Number = business, Mode = "twilio", Status = status, CreatedAt = now, UpdatedAt = now,
            });
            return await db.SaveChangesAsync();
        });
        return (tenant, business);
    }

    private Task SetStatusAsync(Guid tenantId, string status) => factory.WithDbAsync(tenantId, async db =>
    {
        foreach (var n in await db.PhoneNumbers.ToListAsync())
        {
            n.Status = status;
        }
        return await db.SaveChangesAsync();
    });

    [Theory]
    [InlineData("pending")]
    [InlineData("waiting-for-credentials")]
    [InlineData("failed")]
    public async Task ANativeCallIsRefusedWhenTheOnlyNumberIsNotActive(string status)
    {
        var (tenant, _) = await NativeTenantWithNumberAsync(status);
        var to = NewNumber();

        await AssertNoCallerIdAsync(await PlaceAsync(tenant, new { to }));

        Assert.Equal(0, await factory.WithDbAsync(tenant.Id, db => db.Calls.CountAsync(c => c.CustomerNumber == to)));
        Assert.Equal(0, await factory.WithDbAsync(tenant.Id, db => db.Outbox.CountAsync(o => o.Kind == OutboundPlaceHandler.Kind)));
        var refusals = await factory.Api(tenant).GetFromJsonAsync<JsonElement>("/api/v1/calls/outbound/refusals");
        Assert.Contains(refusals.EnumerateArray(), r => r.GetProperty("number").GetString() == to && r.GetProperty("reason").GetString() == "no-caller-id");
        await factory.Outbox.DrainAsync(CancellationToken.None);
        Assert.DoesNotContain(factory.Calls.State.Calls.Values, c => c.To == to);
    }

    [Fact]
    public async Task ANativeCallPresentsTheActiveNumberAndIsNeverDialledOnceItStopsBeingActive()
    {
        var (tenant, business) = await NativeTenantWithNumberAsync(NumberClaims.Active);
        var to = NewNumber();
        factory.Calls.State.Callee = n => n == to ? CalleeKind.Busy : CalleeKind.Human;

        await IdOf(await PlaceAsync(tenant, new { to }));
        await factory.Outbox.DrainAsync(CancellationToken.None);
        var placed = await factory.EndedCallAsync(to);
        Assert.Equal(business, placed.From);

        // Queued for later while the number is active; by then the number failed its verification.
        var later = NewNumber();
        var id = await IdOf(await PlaceAsync(tenant, new { to = later, notBefore = factory.Clock.GetUtcNow().AddHours(1) }));
        await SetStatusAsync(tenant.Id, "failed");
        factory.Clock.Advance(TimeSpan.FromHours(1));
        await factory.Outbox.DrainAsync(CancellationToken.None);

        var ended = await RowAsync(tenant, id);
        Assert.Equal(("failed", "no-caller-id"), (ended.Status, ended.EndedReason));
        Assert.DoesNotContain(factory.Calls.State.Calls.Values, c => c.To == later);
    }

    [Fact]
    public async Task ACallTwilioCreatedBeforeItsNumberStoppedBeingActiveIsStillBoundNotLost()
    {
        var (tenant, business) = await NativeTenantWithNumberAsync(NumberClaims.Active);
        var to = NewNumber();
        var state = factory.Calls.State;
        state.Callee = n => n == to ? CalleeKind.Busy : CalleeKind.Human;
        state.HoldQueue = true; // no callbacks yet: only the list can tell Switchboard the call exists
        state.AcceptThenFailNextCreates = 1;
        try
        {
            var id = await IdOf(await PlaceAsync(tenant, new { to }));
            await factory.Outbox.DrainAsync(CancellationToken.None);
            Assert.Equal(("dialing", business), ((await RowAsync(tenant, id)).Status, (await RowAsync(tenant, id)).BusinessNumber));
            var created = Assert.Single(factory.Calls.State.Calls.Values, c => c.To == to);

            await SetStatusAsync(tenant.Id, "failed");
            factory.Clock.Advance(TimeSpan.FromMinutes(1));
            await factory.Outbox.DrainAsync(CancellationToken.None);

            var bound = await RowAsync(tenant, id);
            Assert.Equal((created.Sid, "dialing"), (bound.ProviderCallId, bound.Status));
            Assert.Single(factory.Calls.State.Calls.Values, c => c.To == to); // listed by the number it was asked from, not placed again
        }
        finally
        {
            state.HoldQueue = false;
            state.ReleaseQueue();
        }
    }

    [Fact]
    public async Task AVapiCallIsRefusedWithoutAnActiveVapiNumberAndNeverPlacedFromOneThatStoppedBeingActive()
    {
        var (tenant, _, _) = await factory.VapiTenantAsync();
        await SetStatusAsync(tenant.Id, "pending");
        var to = NewNumber();

        await AssertNoCallerIdAsync(await PlaceAsync(tenant, new { to }));
        Assert.Equal(0, await factory.WithDbAsync(tenant.Id, db => db.Calls.CountAsync(c => c.CustomerNumber == to)));

        await SetStatusAsync(tenant.Id, NumberClaims.Active);
        var id = await IdOf(await PlaceAsync(tenant, new { to, notBefore = factory.Clock.GetUtcNow().AddHours(1) }));
        await SetStatusAsync(tenant.Id, "failed");
        factory.Clock.Advance(TimeSpan.FromHours(1));
        await factory.Outbox.DrainAsync(CancellationToken.None);

        var ended = await RowAsync(tenant, id);
        Assert.Equal(("failed", "no-vapi-number"), (ended.Status, ended.EndedReason));
        Assert.DoesNotContain(factory.Vapi.Requests, r => r.Method == "POST" && r.Path == "/call" && r.Body?.Contains(to, StringComparison.Ordinal) == true);
    }
}
