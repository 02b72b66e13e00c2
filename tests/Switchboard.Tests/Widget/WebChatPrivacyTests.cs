using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Compliance;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Widget;

/// <summary>A web chat's attribution in the dashboard API, and its end: erasure (by number or visitor id) and retention.</summary>
[Trait("Category", "Database")]
public sealed class WebChatPrivacyTests(WidgetFactory factory) : IClassFixture<WidgetFactory>
{
    private const string Page = "https://www.drainfortin.example/urgence?utm_source=google&utm_medium=cpc&utm_campaign=hiver&utm_term=plombier&utm_content=ad1&gclid=G123&fbclid=F456";

    /// <summary>Starts a chat for <paramref name="visitorId"/> and sends one message; returns the conversation id.</summary>
    private async Task<Guid> ChatAsync(WidgetTenant tenant, string visitorId, string text)
    {
        using var client = factory.Browser();
        var response = await client.PostAsJsonAsync("/widget/v1/conversations" + tenant.Q, new { visitorId, language = "fr", pageUrl = Page, referrer = "https://www.google.com/" });
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var visitor = new Visitor(client, tenant) { Token = body["token"]!.GetValue<string>() };
        var id = body["id"]!.GetValue<string>();
        var reply = await visitor.PostAsync(text, id);
        Assert.True(reply.IsSuccessStatusCode, await reply.Content.ReadAsStringAsync());
        await reply.Content.ReadAsStringAsync();
        return Guid.Parse(id);
    }

    private Task<Guid> CallIdAsync(Guid tenantId, Guid conversationId) =>
        factory.WithDbAsync(tenantId, db => db.WebConversations.Where(c => c.Id == conversationId).Select(c => c.CallId).SingleAsync());

    [Fact]
    public async Task TheCallsApiMarksAWebChatAndItsDetailCarriesTheAttribution()
    {
        var t = await factory.CreateWidgetTenantAsync("Attribution Co");
        var conversation = await ChatAsync(t, "visitor-attr-0001", "Bonjour, mon drain est bouché");
        var callId = await CallIdAsync(t.Id, conversation);
        using var api = factory.ApiClient(t.Tenant);

        var list = await (await api.GetAsync("/api/v1/calls?channel=web")).JsonAsync(HttpStatusCode.OK);
        var item = Assert.Single(list["items"]!.AsArray())!;
        Assert.Equal(("web", "webChat"), (item["channel"]!.GetValue<string>(), item["type"]!.GetValue<string>()));
        Assert.Empty((await (await api.GetAsync("/api/v1/calls?channel=phone")).JsonAsync(HttpStatusCode.OK))["items"]!.AsArray());

        var detail = await (await api.GetAsync($"/api/v1/calls/{callId}")).JsonAsync(HttpStatusCode.OK);
        var a = detail["attribution"]!;
        Assert.Equal(Page, a["pageUrl"]!.GetValue<string>());
        Assert.Equal("https://www.google.com/", a["referrer"]!.GetValue<string>());
        Assert.Equal(("google", "cpc", "hiver", "plombier", "ad1"), (a["utmSource"]!.GetValue<string>(), a["utmMedium"]!.GetValue<string>(),
            a["utmCampaign"]!.GetValue<string>(), a["utmTerm"]!.GetValue<string>(), a["utmContent"]!.GetValue<string>()));
        Assert.Equal(("G123", "F456"), (a["gclid"]!.GetValue<string>(), a["fbclid"]!.GetValue<string>()));
        Assert.Equal((WidgetFactory.SiteOrigin, "fr", "visitor-attr-0001"), (a["origin"]!.GetValue<string>(), a["language"]!.GetValue<string>(), a["visitorId"]!.GetValue<string>()));
        Assert.Equal(["user", "assistant"], detail["transcript"]!.AsArray().Select(x => x!["role"]!.GetValue<string>()));

        // Another tenant sees neither the call nor its attribution.
        var other = await factory.CreateWidgetTenantAsync("Curieux Co");
        using var otherApi = factory.ApiClient(other.Tenant);
        Assert.Equal("CALL_NOT_FOUND", await (await otherApi.GetAsync($"/api/v1/calls/{callId}")).ErrorCodeAsync());
        Assert.Empty((await (await otherApi.GetAsync("/api/v1/calls?channel=web")).JsonAsync(HttpStatusCode.OK))["items"]!.AsArray());
    }

    [Fact]
    public async Task APhoneCallHasNoAttribution()
    {
        var t = await factory.CreateWidgetTenantAsync("Téléphone Co");
        var report = Fixtures.ReadText("vapi/end-of-call-report.2024-07.json");
        Assert.Equal(HttpStatusCode.OK, (await factory.PostVapiAsync(t.Tenant, report)).StatusCode);
        using var api = factory.ApiClient(t.Tenant);
        var id = (await (await api.GetAsync("/api/v1/calls")).JsonAsync(HttpStatusCode.OK))["items"]![0]!["id"]!.GetValue<string>();
        var detail = await (await api.GetAsync($"/api/v1/calls/{id}")).JsonAsync(HttpStatusCode.OK);
        Assert.Null(detail["attribution"]);
    }

    [Fact]
    public async Task ErasingAVisitorByIdErasesTheirChatsAndAttributionOnly()
    {
        var t = await factory.CreateWidgetTenantAsync("Oubli Visiteur");
        var other = await factory.CreateWidgetTenantAsync("Voisin Visiteur");
        var gone = await ChatAsync(t, "visitor-gone-0001", "Mon drain est bouché, appelez-moi au 514 555 0177");
        var again = await ChatAsync(t, "visitor-gone-0001", "Mon sous-sol est inondé! Rappelez-moi au 514 555 0177");
        // Another tab of the same person (another visitor id) gave the same number: erased with the number the visitor's chat learnt.
        var sameNumber = await ChatAsync(t, "visitor-tab2-0003", "Inondation au sous-sol, 514 555 0177");
        var kept = await ChatAsync(t, "visitor-kept-0002", "Mon évier est bouché");
        var elsewhere = await ChatAsync(other, "visitor-gone-0001", "Même identifiant, autre entreprise");
        var goneCalls = new[] { await CallIdAsync(t.Id, gone), await CallIdAsync(t.Id, again), await CallIdAsync(t.Id, sameNumber) };

        var erased = await (await factory.ApiClient(t.Tenant).PostAsJsonAsync("/api/v1/erasure/caller", new { visitorId = "visitor-gone-0001" })).JsonAsync(HttpStatusCode.OK);

        Assert.Equal(3, erased["calls"]!.GetValue<int>());
        Assert.Equal(3, erased["leads"]!.GetValue<int>()); // each chat that gave a problem and the number left a lead
        await factory.WithDbAsync(t.Id, async db =>
        {
            Assert.Equal([kept], await db.WebConversations.Select(c => c.Id).ToListAsync());
            Assert.False(await db.Calls.AnyAsync(c => goneCalls.Contains(c.Id)));
            Assert.False(await db.TranscriptTurns.AnyAsync(x => goneCalls.Contains(x.CallId)));
            Assert.False(await db.Leads.AnyAsync(l => l.Phone == "+15145550177"));
            Assert.False(await db.SmsMessages.AnyAsync(x => x.Body.Contains("555") && x.Body.Contains("0177")));
            Assert.Equal(1, await db.Calls.CountAsync());
            return 0;
        });
        Assert.True(await factory.WithDbAsync(other.Id, db => db.WebConversations.AnyAsync(c => c.Id == elsewhere)));
    }

    [Fact]
    public async Task BadErasureInputIsAnEnvelopeAndErasesNothing()
    {
        var t = await factory.CreateWidgetTenantAsync("Erreur Visiteur");
        await ChatAsync(t, "visitor-stay-0003", "Mon drain est bouché, appelez-moi au 514 555 0166");
        using var api = factory.ApiClient(t.Tenant);
        foreach (var body in new object[]
        {
            new { visitorId = "short" },
            new { visitorId = "visitor with spaces!" },
            new { visitorId = new string('v', 65) },
            new { visitorId = "visitor-stay-0003", phoneNumber = "+15145550166" },
            new { },
        })
        {
            var response = await api.PostAsJsonAsync("/api/v1/erasure/caller", body);
            Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
            Assert.Equal("VALIDATION_FAILED", await response.ErrorCodeAsync());
        }
        Assert.Equal(1, await factory.WithDbAsync(t.Id, db => db.WebConversations.CountAsync()));
        Assert.Equal(1, await factory.WithDbAsync(t.Id, db => db.Calls.CountAsync()));
    }

    [Fact]
    public async Task TranscriptRetentionClearsOldChatsAttributionAndSlots()
    {
        var t = await factory.CreateWidgetTenantAsync("Rétention Web");
        var old = await ChatAsync(t, "visitor-old-00004", "Mon drain est bouché, je m'appelle Luc Roy");
        var recent = await ChatAsync(t, "visitor-new-00005", "Mon évier est bouché, je m'appelle Ève Roy");
        await factory.WithDbAsync(t.Id, db => db.WebConversations.Where(c => c.Id == old)
            .ExecuteUpdateAsync(s => s.SetProperty(c => c.CreatedAt, factory.Clock.GetUtcNow().AddDays(-40))));
        var oldCall = await CallIdAsync(t.Id, old);
        await factory.WithDbAsync(t.Id, db => db.Calls.Where(c => c.Id == oldCall)
            .ExecuteUpdateAsync(s => s.SetProperty(c => c.CreatedAt, factory.Clock.GetUtcNow().AddDays(-40))));
        await (await factory.ApiClient(t.Tenant).PutAsJsonAsync("/api/v1/retention", new { recordingDays = (int?)null, transcriptDays = 30 })).JsonAsync(HttpStatusCode.OK);

        RetentionResult result;
        using (var scope = factory.Services.CreateScope())
        {
            result = await scope.ServiceProvider.GetRequiredService<RetentionService>().PurgeAsync(factory.Clock.GetUtcNow(), CancellationToken.None);
        }

        Assert.True(result.AttributionsCleared >= 1);
        var (o, r) = await factory.WithDbAsync(t.Id, async db => (
            await db.WebConversations.AsNoTracking().SingleAsync(c => c.Id == old), await db.WebConversations.AsNoTracking().SingleAsync(c => c.Id == recent)));
        Assert.All(new[] { o.PageUrl, o.Referrer, o.UtmSource, o.UtmMedium, o.UtmCampaign, o.UtmTerm, o.UtmContent, o.Gclid, o.Fbclid, o.StateJson }, Assert.Null);
        Assert.Equal((WidgetFactory.SiteOrigin, "fr"), (o.Origin, o.Language)); // the site and language are not personal
        Assert.Equal((Page, "google", "G123"), (r.PageUrl, r.UtmSource, r.Gclid));
        Assert.Equal("Ève Roy", Switchboard.Brain.ReceptionistState.Read(r.StateJson).Name);
        Assert.Equal(0, await factory.WithDbAsync(t.Id, db => db.TranscriptTurns.CountAsync(x => x.CallId == oldCall)));

        // The dashboard shows the old chat without attribution values.
        var detail = await (await factory.ApiClient(t.Tenant).GetAsync($"/api/v1/calls/{oldCall}")).JsonAsync(HttpStatusCode.OK);
        Assert.Null(detail["attribution"]!["pageUrl"]);
    }
}
