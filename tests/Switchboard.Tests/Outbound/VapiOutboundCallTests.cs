using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Outbound;

/// <summary>
/// Outbound calls for an assistant that lives at Vapi: the API → the outbox → Vapi's <c>POST /call</c> (the simulator checks
/// the wire shape) → the call row carries Vapi's call id, and Vapi's later server messages for that call land on the same
/// row (direction outbound). Vapi's 4xx fails the call; its 5xx is retried.
/// </summary>
[Trait("Category", "Database")]
public sealed class VapiOutboundCallTests(OutboundFactory factory) : IClassFixture<OutboundFactory>
{
    private static int next = 100;

    private static string NewNumber() => $"+1438555{Interlocked.Increment(ref next):D4}";

    private static async Task<Guid> IdOf(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, text);
        using var doc = JsonDocument.Parse(text);
        return doc.RootElement.GetProperty("id").GetGuid();
    }

    private Task<global::Switchboard.Calls.Call> RowAsync(TestTenant tenant, Guid id) =>
        factory.WithDbAsync(tenant.Id, db => db.Calls.AsNoTracking().SingleAsync(c => c.Id == id));

    private List<JsonObject> CreatesFor(string to) =>
        factory.Vapi.Requests.Where(r => r.Method == "POST" && r.Path == "/call" && r.Body is not null)
            .Select(r => JsonNode.Parse(r.Body!)!.AsObject()).Where(b => b["customer"]?["number"]?.GetValue<string>() == to).ToList();

    private static string Message(string type, string vapiCallId, Guid switchboardCallId, string to, Action<JsonObject>? more = null)
    {
        var message = new JsonObject
        {
            ["type"] = type,
            ["timestamp"] = 1763478000000,
            ["call"] = new JsonObject
            {
                ["id"] = vapiCallId,
                ["orgId"] = "org-simulated",
                ["type"] = "outboundPhoneCall",
                ["customer"] = new JsonObject { ["number"] = to },
                ["metadata"] = new JsonObject { ["switchboardCallId"] = switchboardCallId.ToString() },
            },
        };
        more?.Invoke(message);
        return new JsonObject { ["message"] = message }.ToJsonString();
    }

    [Fact]
    public async Task AnOutboundCallAtVapiIsPlacedWithItsContextAndVapisMessagesLandOnTheSameCall()
    {
        var (tenant, vapiAssistantId, phoneNumberId) = await factory.VapiTenantAsync();
        var to = NewNumber();

        var id = await IdOf(await factory.Api(tenant).PostAsJsonAsync("/api/v1/calls/outbound",
            new { to, variables = new { reason = "Confirmer le rendez-vous de jeudi 10 h", name = "Marc" } }));
        await factory.Outbox.DrainAsync(CancellationToken.None);

        var body = Assert.Single(CreatesFor(to));
        Assert.All(factory.Vapi.Requests.Where(r => r.Path == "/call"), r => Assert.Equal("Bearer " + VapiSimulator.PrivateKey, r.Authorization));
        Assert.Equal(vapiAssistantId, body["assistantId"]!.GetValue<string>());
        Assert.Equal(phoneNumberId, body["phoneNumberId"]!.GetValue<string>());
        Assert.Equal(to, body["customer"]!["number"]!.GetValue<string>());
        Assert.Equal("Confirmer le rendez-vous de jeudi 10 h", body["assistantOverrides"]!["variableValues"]!["reason"]!.GetValue<string>());
        Assert.Equal("Marc", body["assistantOverrides"]!["variableValues"]!["name"]!.GetValue<string>());
        Assert.Equal(id.ToString(), body["metadata"]!["switchboardCallId"]!.GetValue<string>());

        var vapiCall = Assert.Single(factory.Vapi.Calls.Values, c => c["customer"]!["number"]!.GetValue<string>() == to);
        Assert.Equal("outboundPhoneCall", vapiCall["type"]!.GetValue<string>());
        var vapiCallId = vapiCall["id"]!.GetValue<string>();
        var placed = await RowAsync(tenant, id);
        Assert.Equal(("vapi", vapiCallId, "outbound", "queued"), (placed.Provider, placed.ProviderCallId, placed.Direction, placed.Status));

        // Vapi's messages for that call: status-update, then the end-of-call report.
        Assert.Equal(HttpStatusCode.OK, (await factory.PostVapiAsync(tenant, Message("status-update", vapiCallId, id, to, m => m["status"] = "in-progress"))).StatusCode);
        Assert.Equal("in-progress", (await RowAsync(tenant, id)).Status);
        var report = Message("end-of-call-report", vapiCallId, id, to, m =>
        {
            m["endedReason"] = "customer-ended-call";
            m["analysis"] = new JsonObject { ["summary"] = "Rendez-vous de jeudi confirmé." };
            m["artifact"] = new JsonObject
            {
                ["messages"] = new JsonArray
                {
                    new JsonObject { ["role"] = "bot", ["message"] = "Bonjour, ici l'assistant de Drain Fortin.", ["time"] = 1763478000000, ["secondsFromStart"] = 0.4 },
                    new JsonObject { ["role"] = "user", ["message"] = "Oui, c'est Marc.", ["time"] = 1763478003000, ["secondsFromStart"] = 3.0 },
                },
            };
        });
        Assert.Equal(HttpStatusCode.OK, (await factory.PostVapiAsync(tenant, report)).StatusCode);

        var calls = await factory.WithDbAsync(tenant.Id, db => db.Calls.AsNoTracking().ToListAsync());
        var call = Assert.Single(calls);
        Assert.Equal(id, call.Id);
        Assert.Equal(("outbound", "outboundPhoneCall", "ended", "customer-ended-call"), (call.Direction, call.Type, call.Status, call.EndedReason));
        Assert.True(call.TranscriptFinal);
        Assert.True(call.Analyzed);
        Assert.Contains("Oui, c'est Marc.", call.TranscriptText);
        var events = await factory.WithDbAsync(tenant.Id, db => db.CallEvents.AsNoTracking().Where(e => e.Provider == "vapi").Select(e => e.CallId).ToListAsync());
        Assert.Equal(2, events.Count);
        Assert.All(events, e => Assert.Equal(id, e));
    }

    [Fact]
    public async Task VapisFirstMessageBeforeTheCreateResponseWasSavedFindsTheCallByItsMetadata()
    {
        var (tenant, _, _) = await factory.VapiTenantAsync();
        var to = NewNumber();
        var id = await IdOf(await factory.Api(tenant).PostAsJsonAsync("/api/v1/calls/outbound", new { to }));

        // Vapi accepted the call and sends status-update while Switchboard has not yet saved Vapi's id on the row.
        var vapiCallId = Guid.NewGuid().ToString();
        Assert.Equal(HttpStatusCode.OK, (await factory.PostVapiAsync(tenant, Message("status-update", vapiCallId, id, to, m => m["status"] = "ringing"))).StatusCode);

        var call = Assert.Single(await factory.WithDbAsync(tenant.Id, db => db.Calls.AsNoTracking().ToListAsync()));
        Assert.Equal((id, vapiCallId, "outbound", "ringing"), (call.Id, call.ProviderCallId, call.Direction, call.Status));

        // Another tenant's message naming this call id in its metadata does not touch it.
        var (other, _, _) = await factory.VapiTenantAsync();
        Assert.Equal(HttpStatusCode.OK, (await factory.PostVapiAsync(other, Message("status-update", Guid.NewGuid().ToString(), id, to, m => m["status"] = "in-progress"))).StatusCode);
        Assert.Equal("ringing", (await RowAsync(tenant, id)).Status);
        var stray = Assert.Single(await factory.WithDbAsync(other.Id, db => db.Calls.AsNoTracking().ToListAsync()));
        Assert.NotEqual(id, stray.Id);
        Assert.Equal("outbound", stray.Direction); // a Vapi outboundPhoneCall Switchboard did not place is still outbound
    }

    [Fact]
    public async Task AVapi4xxFailsTheCallAndA5xxIsRetriedWithoutCallingTwice()
    {
        var (rejected, _, _) = await factory.VapiTenantAsync(knownNumber: false);
        var to = NewNumber();
        var failedId = await IdOf(await factory.Api(rejected).PostAsJsonAsync("/api/v1/calls/outbound", new { to }));
        await factory.Outbox.DrainAsync(CancellationToken.None);
        var failed = await RowAsync(rejected, failedId);
        Assert.Equal(("failed", "vapi-error:400"), (failed.Status, failed.EndedReason));
        Assert.DoesNotContain(factory.Vapi.Calls.Values, c => c["customer"]!["number"]!.GetValue<string>() == to);

        var (tenant, _, _) = await factory.VapiTenantAsync();
        var to2 = NewNumber();
        var id = await IdOf(await factory.Api(tenant).PostAsJsonAsync("/api/v1/calls/outbound", new { to = to2 }));
        factory.Vapi.FailNext = 1;
        await factory.Outbox.DrainAsync(CancellationToken.None);
        var waiting = await RowAsync(tenant, id);
        Assert.Equal("queued", waiting.Status);
        Assert.StartsWith("outbound:", waiting.ProviderCallId);
        Assert.Single(CreatesFor(to2));
        Assert.DoesNotContain(factory.Vapi.Calls.Values, c => c["customer"]!["number"]!.GetValue<string>() == to2); // the 500 came before Vapi created it

        factory.Clock.Advance(TimeSpan.FromMinutes(1));
        await factory.Outbox.DrainAsync(CancellationToken.None);
        var vapiCall = Assert.Single(factory.Vapi.Calls.Values, c => c["customer"]!["number"]!.GetValue<string>() == to2);
        Assert.Equal(vapiCall["id"]!.GetValue<string>(), (await RowAsync(tenant, id)).ProviderCallId);
        Assert.Equal(2, CreatesFor(to2).Count);

        // Vapi created the call but its answer was lost (502): the retry finds it by its metadata instead of calling twice.
        var to3 = NewNumber();
        var id3 = await IdOf(await factory.Api(tenant).PostAsJsonAsync("/api/v1/calls/outbound", new { to = to3 }));
        factory.Vapi.AcceptThenFailNext = 1;
        await factory.Outbox.DrainAsync(CancellationToken.None);
        Assert.StartsWith("outbound:", (await RowAsync(tenant, id3)).ProviderCallId);
        factory.Clock.Advance(TimeSpan.FromMinutes(1));
        await factory.Outbox.DrainAsync(CancellationToken.None);
        var once = Assert.Single(factory.Vapi.Calls.Values, c => c["customer"]!["number"]!.GetValue<string>() == to3);
        Assert.Single(CreatesFor(to3));
        Assert.Equal(once["id"]!.GetValue<string>(), (await RowAsync(tenant, id3)).ProviderCallId);
    }
}
