using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Switchboard.Calls;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Platform;

/// <summary>
/// An outside probe: <c>{"name":"A","name":"B"}</c> sent to the API was stored as "B", silently. A body of Switchboard's own
/// API that names a property twice is now a 400 in the error envelope naming the property (RFC 7493 §2.3), and nothing
/// changes; the providers' webhooks stay tolerant of it.
/// </summary>
[Trait("Category", "Database")]
public sealed class DuplicateJsonPropertiesTests(SelfServiceFactory factory) : IClassFixture<SelfServiceFactory>
{
    private static StringContent Json(string raw) => new(raw, Encoding.UTF8, "application/json");

    private static async Task AssertDuplicateAsync(HttpResponseMessage response, string field)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri}: {(int)response.StatusCode} {text}");
        var error = JsonNode.Parse(text)!["error"]!;
        Assert.Equal("BAD_REQUEST", error["code"]!.GetValue<string>());
        Assert.Contains("more than once", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.True(error["details"]?[field] is not null, $"{field} not named: {text}");
    }

    private async Task<Guid> AddLeadAsync(Guid tenantId, string notes) => await factory.WithDbAsync(tenantId, async db =>
    {
        var at = factory.Clock.GetUtcNow();
        var call = new Call
        {
            Id = Guid.CreateVersion7(), TenantId = tenantId, Channel = "voice", Provider = "vapi", ProviderCallId = "c-" + Guid.NewGuid(),
            Status = "ended", CustomerNumber = "+15145550123", CreatedAt = at, UpdatedAt = at,
        };
        var lead = new Lead
        {
            Id = Guid.CreateVersion7(), TenantId = tenantId, CallId = call.Id, Name = "Marie Tremblay", Phone = "+15145550123", Problem = "Drain bouché",
            Urgency = "routine", Source = "tool", Notes = notes, CreatedAt = at, UpdatedAt = at,
        };
        db.Calls.Add(call);
        db.Leads.Add(lead);
        await db.SaveChangesAsync();
        return lead.Id;
    });

    [Fact]
    public async Task ABodyNamingAPropertyTwiceIsRefusedAndChangesNothing()
    {
        var owner = await factory.SignUpAsync();
        var leadId = await AddLeadAsync(owner.TenantId, "Rappeler demain");
        var assistants = await owner.Client.GetStringAsync("/api/v1/assistants");
        var studio = await owner.Client.GetStringAsync("/api/v1/studio");

        // A JsonElement body (the lead's PATCH reads it property by property).
        await AssertDuplicateAsync(await owner.Client.PatchAsync($"/api/v1/leads/{leadId}", Json("""{"notes":"Vu","notes":"Payé comptant"}""")), "notes");
        // A bound record: the same name twice, and two spellings that bind to one property.
        await AssertDuplicateAsync(await owner.Client.PostAsync("/api/v1/assistants", Json("""{"name":"Paul","name":"Mallory"}""")), "name");
        await AssertDuplicateAsync(await owner.Client.PostAsync("/api/v1/assistants", Json("""{"name":"Paul","Name":"Mallory"}""")), "Name");
        // Nested objects too.
        await AssertDuplicateAsync(await owner.Client.PatchAsync("/api/v1/studio", Json("""{"persona":{"tone":"calm","tone":"rude"}}""")), "persona.tone");
        // Anonymous endpoints too.
        var email = $"dup-{Guid.NewGuid():N}@example.test";
        await AssertDuplicateAsync(await factory.CookieClient().PostAsync("/api/v1/auth/signup",
            Json($$"""{"email":"{{email}}","password":"correct horse battery staple","organisation":"Plomberie","organisation":"Autre","fullName":"X"}""")), "organisation");

        Assert.Equal("Rappeler demain", await factory.WithDbAsync(owner.TenantId, db => db.Leads.Where(l => l.Id == leadId).Select(l => l.Notes).SingleAsync()));
        Assert.Equal(assistants, await owner.Client.GetStringAsync("/api/v1/assistants"));
        Assert.Equal(studio, await owner.Client.GetStringAsync("/api/v1/studio"));
        Assert.False(await factory.WithDbAsync(null, db => db.Users.AnyAsync(u => u.Email == email)));

        // The same bodies with each name once still work.
        var patched = await (await owner.Client.PatchAsync($"/api/v1/leads/{leadId}", Json("""{"notes":"Payé comptant"}"""))).JsonAsync(HttpStatusCode.OK);
        Assert.Equal("Payé comptant", patched["notes"]!.GetValue<string>());
        await (await owner.Client.PostAsync("/api/v1/assistants", Json("""{"name":"Paul"}"""))).JsonAsync(HttpStatusCode.Created);
    }

    [Fact]
    public async Task AProviderWebhookNamingAPropertyTwiceIsStillAccepted()
    {
        var tenant = await factory.CreateTenantAsync();
        var callId = Guid.NewGuid().ToString();

        var response = await factory.PostVapiAsync(tenant,
            """{"message":{"type":"status-update","status":"ringing","status":"in-progress","call":{"id":"CALLID","type":"inboundPhoneCall","customer":{"number":"+15145551234"}}}}"""
                .Replace("CALLID", callId));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(await factory.WithDbAsync(tenant.Id, db => db.Calls.AnyAsync(c => c.ProviderCallId == callId)));
    }
}
