using System.Net;
using System.Net.Http.Json;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Switchboard.Brain;
using Switchboard.Tenancy;
using Switchboard.Tests.Support;
using Switchboard.Widget;

namespace Switchboard.Tests.Widget;

/// <summary>The public widget endpoints refuse bad input with the envelope, change nothing, and keep tenants apart.</summary>
[Trait("Category", "Database")]
public sealed class WidgetEndpointTests(WidgetFactory factory) : IClassFixture<WidgetFactory>
{
    private static async Task<int> TurnsAsync(WidgetFactory f, Guid tenantId) => await f.WithDbAsync(tenantId, db => db.TranscriptTurns.CountAsync());

    [Fact]
    public async Task AnUnsupportedLanguageOrAVisitorNameWithBidiOverridesIsRefused()
    {
        // Probe E, F8: "xx" started a chat, and a visitor name could carry U+202E (displayed reversed in the dashboard).
        var t = await factory.CreateWidgetTenantAsync("Langues", WidgetFactory.SiteOrigin);
        var before = await factory.WithDbAsync(t.Id, db => db.WebConversations.CountAsync());

        var xx = await factory.Browser().PostAsJsonAsync("/widget/v1/conversations" + t.Q, new { visitorId = "visitor-12345678", language = "xx" });
        Assert.Equal(HttpStatusCode.UnprocessableEntity, xx.StatusCode);
        var text = await xx.Content.ReadAsStringAsync();
        Assert.Contains("VALIDATION_FAILED", text, StringComparison.Ordinal);
        Assert.Contains("en, es, fr, he", text, StringComparison.Ordinal); // the supported ones are listed
        var bidi = await factory.Browser().PostAsJsonAsync("/widget/v1/conversations" + t.Q, new { visitorId = "visitor-12345678", language = "fr", name = "\u202eevil" });
        Assert.Equal(HttpStatusCode.UnprocessableEntity, bidi.StatusCode);
        Assert.Contains("\"name\"", await bidi.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(before, await factory.WithDbAsync(t.Id, db => db.WebConversations.CountAsync()));

        foreach (var language in ReceptionistLanguage.All.Keys)
        {
            var ok = await factory.Browser().PostAsJsonAsync("/widget/v1/conversations" + t.Q, new { visitorId = "visitor-" + language + "-123456", language, name = "Marie" });
            Assert.Equal(HttpStatusCode.Created, ok.StatusCode);
        }
    }

    [Fact]
    public async Task AVisitorBodyNamingAPropertyTwiceIsRefusedAndStartsNoChat()
    {
        // An outside probe: {"name":"A","name":"B"} was read as "B". RFC 7493 §2.3: names must be unique.
        var t = await factory.CreateWidgetTenantAsync("Doublons", WidgetFactory.SiteOrigin);

        var response = await factory.Browser().PostAsync("/widget/v1/conversations" + t.Q, new StringContent(
            """{"visitorId":"visitor-12345678","language":"fr","name":"Marie","name":"Mallory"}""", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("MALFORMED_JSON", await response.ErrorCodeAsync());
        Assert.Contains("'name' more than once", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(0, await factory.WithDbAsync(t.Id, db => db.WebConversations.CountAsync()));
        var once = await factory.Browser().PostAsync("/widget/v1/conversations" + t.Q, new StringContent(
            """{"visitorId":"visitor-12345678","language":"fr","name":"Marie"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, once.StatusCode);
    }

    [Fact]
    public async Task AnOriginHeaderThatIsNotASerializedOriginMatchesNoAllowedOrigin()
    {
        // An outside probe: "https://user:pw@www.drainfortin.example" and "…#x" were read as the bare allowed origin. An
        // origin is scheme, host and port only (RFC 6454 §6.1), and a browser sends nothing else in the header.
        var t = await factory.CreateWidgetTenantAsync("Origines strictes", WidgetFactory.SiteOrigin);
        foreach (var origin in new[]
        {
            "https://user:pw@www.drainfortin.example", "https://user@www.drainfortin.example", "https://www.drainfortin.example#x",
            "https://www.drainfortin.example#", "https://www.drainfortin.example?", "https://www.drainfortin.example\\", "https://www.drainfortin.example/",
        })
        {
            var config = await factory.Browser(null).SendAsync(WithOrigin(HttpMethod.Get, "/widget/v1/config" + t.Q, origin));
            Assert.Equal(HttpStatusCode.Forbidden, config.StatusCode);
            Assert.Equal("ORIGIN_NOT_ALLOWED", await config.ErrorCodeAsync());
            Assert.Equal("*", config.Headers.GetValues("Access-Control-Allow-Origin").Single());
            var start = await factory.Browser(null).SendAsync(WithOrigin(HttpMethod.Post, "/widget/v1/conversations" + t.Q, origin,
                JsonContent.Create(new { visitorId = "visitor-12345678", language = "fr" })));
            Assert.Equal("ORIGIN_NOT_ALLOWED", await start.ErrorCodeAsync());
        }
        Assert.Equal(0, await factory.WithDbAsync(t.Id, db => db.WebConversations.CountAsync()));
        var exact = await factory.Browser(null).SendAsync(WithOrigin(HttpMethod.Get, "/widget/v1/config" + t.Q, WidgetFactory.SiteOrigin));
        Assert.Equal(WidgetFactory.SiteOrigin, exact.Headers.GetValues("Access-Control-Allow-Origin").Single());
    }

    private static HttpRequestMessage WithOrigin(HttpMethod method, string url, string origin, HttpContent? content = null)
    {
        var request = new HttpRequestMessage(method, url) { Content = content };
        Assert.True(request.Headers.TryAddWithoutValidation("Origin", origin));
        return request;
    }

    [Fact]
    public async Task AFieldOfTheWrongJsonTypeIsNamedWithTheTypeItTakes()
    {
        // An outside probe: {"text": 5} answered "The body is not valid JSON", though it is; the field and its type were unnamed.
        var t = await factory.CreateWidgetTenantAsync("Types", WidgetFactory.SiteOrigin);
        foreach (var (body, field, expected) in new[]
        {
            ("""{"visitorId":{},"language":"fr"}""", "visitorId", "must be a string"),
            ("""{"visitorId":"visitor-12345678","language":["fr"]}""", "language", "must be a string"),
            ("""{"visitorId":"visitor-12345678","language":"fr","name":true}""", "name", "must be a string"),
        })
        {
            var start = await factory.Browser().PostAsync("/widget/v1/conversations" + t.Q, new StringContent(body, Encoding.UTF8, "application/json"));
            await AssertWrongTypeAsync(start, field, expected);
        }
        Assert.Equal(0, await factory.WithDbAsync(t.Id, db => db.WebConversations.CountAsync()));

        var visitor = new Visitor(factory.Browser(), t);
        Assert.Equal(HttpStatusCode.Created, (await visitor.StartAsync()).StatusCode);
        var message = new HttpRequestMessage(HttpMethod.Post, $"/widget/v1/conversations/{visitor.Id}/messages{t.Q}")
        {
            Content = new StringContent("""{"text": 5}""", Encoding.UTF8, "application/json"),
        };
        message.Headers.Authorization = new("Bearer", visitor.Token);
        await AssertWrongTypeAsync(await factory.Browser().SendAsync(message), "text", "must be a string");
        Assert.Equal(0, await TurnsAsync(factory, t.Id));
    }

    private static async Task AssertWrongTypeAsync(HttpResponseMessage response, string field, string problem)
    {
        var error = (await response.JsonAsync(HttpStatusCode.BadRequest))["error"]!;
        Assert.Equal("MALFORMED_JSON", error["code"]!.GetValue<string>());
        Assert.Equal($"The body is not valid: '{field}' {problem}.", error["message"]!.GetValue<string>());
        Assert.Equal(problem, error["details"]![field]!.GetValue<string>());
    }

    [Fact]
    public async Task AnAllowedOriginGetsCorsAndADisallowedOneGetsNoChat()
    {
        var t = await factory.CreateWidgetTenantAsync("Origines", WidgetFactory.SiteOrigin, "https://*.fortin.example");

        var config = await factory.Browser().GetAsync("/widget/v1/config" + t.Q);
        Assert.Equal(HttpStatusCode.OK, config.StatusCode);
        Assert.Equal(WidgetFactory.SiteOrigin, config.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Contains("Origin", config.Headers.Vary);
        Assert.Contains("\"tenantName\":\"Origines\"", await config.Content.ReadAsStringAsync());

        var preflight = new HttpRequestMessage(HttpMethod.Options, "/widget/v1/conversations" + t.Q);
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        var allowed = await factory.Browser("https://shop.fortin.example").SendAsync(preflight);
        Assert.Equal(HttpStatusCode.NoContent, allowed.StatusCode);
        Assert.Equal("https://shop.fortin.example", allowed.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Equal("7200", allowed.Headers.GetValues("Access-Control-Max-Age").Single());

        foreach (var origin in new[] { "https://evil.example", "http://www.drainfortin.example", "https://fortin.example", "https://www.drainfortin.example:8443" })
        {
            var refused = await new Visitor(factory.Browser(origin), t).StartAsync();
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            Assert.Equal("ORIGIN_NOT_ALLOWED", await refused.ErrorCodeAsync());
            // Readable (so the widget stops at once) but not granted: "*", never the refused origin, and no credentials.
            Assert.Equal("*", refused.Headers.GetValues("Access-Control-Allow-Origin").Single());
            Assert.False(refused.Headers.Contains("Access-Control-Allow-Credentials"));
            Assert.Contains("Origin", refused.Headers.Vary);
            var refusedConfig = await factory.Browser(origin).GetAsync("/widget/v1/config" + t.Q);
            Assert.Equal(HttpStatusCode.Forbidden, refusedConfig.StatusCode);
            Assert.Equal("*", refusedConfig.Headers.GetValues("Access-Control-Allow-Origin").Single());
            Assert.DoesNotContain("Origines", await refusedConfig.Content.ReadAsStringAsync());
            var refusedPreflight = new HttpRequestMessage(HttpMethod.Options, "/widget/v1/conversations" + t.Q);
            refusedPreflight.Headers.Add("Access-Control-Request-Method", "POST");
            var preflightAnswer = await factory.Browser(origin).SendAsync(refusedPreflight);
            Assert.Equal(HttpStatusCode.Forbidden, preflightAnswer.StatusCode); // not ok: the browser sends no POST
            Assert.False(preflightAnswer.Headers.Contains("Access-Control-Allow-Methods"));
        }
        var badKey = await factory.Browser("https://evil.example").GetAsync("/widget/v1/config?key=pk_live_nope");
        Assert.Equal(HttpStatusCode.Unauthorized, badKey.StatusCode);
        Assert.Equal("*", badKey.Headers.GetValues("Access-Control-Allow-Origin").Single());
        var noOrigin = await new Visitor(factory.Browser(null), t).StartAsync();
        Assert.Equal("ORIGIN_REQUIRED", await noOrigin.ErrorCodeAsync());
        Assert.Equal(0, await factory.WithDbAsync(t.Id, db => db.WebConversations.CountAsync()));
    }

    [Fact]
    public async Task BadInputIsAnEnvelopeAndStoresNothing()
    {
        var t = await factory.CreateWidgetTenantAsync("Entrées");
        var visitor = new Visitor(factory.Browser(), t);
        await visitor.StartAsync();
        var before = await TurnsAsync(factory, t.Id);

        var oversize = await visitor.PostAsync(new string('a', 2001));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, oversize.StatusCode);
        Assert.Equal("MESSAGE_TOO_LONG", await oversize.ErrorCodeAsync());
        Assert.Equal(WidgetFactory.SiteOrigin, oversize.Headers.GetValues("Access-Control-Allow-Origin").Single()); // the widget can read why

        var huge = new HttpRequestMessage(HttpMethod.Post, $"/widget/v1/conversations/{visitor.Id}/messages{t.Q}")
        {
            Content = new StringContent("{\"text\":\"" + new string('b', 40_000) + "\"}", Encoding.UTF8, "application/json"),
        };
        huge.Headers.Authorization = new("Bearer", visitor.Token);
        Assert.Equal("PAYLOAD_TOO_LARGE", await (await factory.Browser().SendAsync(huge)).ErrorCodeAsync());

        var malformed = new HttpRequestMessage(HttpMethod.Post, $"/widget/v1/conversations/{visitor.Id}/messages{t.Q}")
        {
            Content = new StringContent("{\"text\": \"unterminated", Encoding.UTF8, "application/json"),
        };
        malformed.Headers.Authorization = new("Bearer", visitor.Token);
        var bad = await factory.Browser().SendAsync(malformed);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("MALFORMED_JSON", await bad.ErrorCodeAsync());

        Assert.Equal("VALIDATION_FAILED", await (await visitor.PostAsync("   ")).ErrorCodeAsync());
        // Text that cannot be stored (U+0000: PostgreSQL text refuses it; a lone surrogate) is refused, readable by the widget.
        var nul = await visitor.PostAsync("Sous-sol inondé\0");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, nul.StatusCode);
        Assert.Equal("VALIDATION_FAILED", await nul.ErrorCodeAsync());
        Assert.Equal(WidgetFactory.SiteOrigin, nul.Headers.GetValues("Access-Control-Allow-Origin").Single());
        var conversations = await factory.WithDbAsync(t.Id, db => db.WebConversations.CountAsync());
        foreach (var raw in new[] { """{"visitorId":"visitor-12345678","referrer":"https://a.example/\u0000"}""", """{"visitorId":"visitor-12345678","pageUrl":"\ud800"}""" })
        {
            var startNul = await factory.Browser().PostAsync("/widget/v1/conversations" + t.Q, new StringContent(raw, Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.UnprocessableEntity, startNul.StatusCode);
            Assert.Equal("VALIDATION_FAILED", await startNul.ErrorCodeAsync());
        }
        Assert.Equal(conversations, await factory.WithDbAsync(t.Id, db => db.WebConversations.CountAsync()));
        var startBad = await factory.Browser().PostAsync("/widget/v1/conversations" + t.Q, new StringContent("[1,2", Encoding.UTF8, "application/json"));
        Assert.Equal("MALFORMED_JSON", await startBad.ErrorCodeAsync());
        var badVisitor = await factory.Browser().PostAsJsonAsync("/widget/v1/conversations" + t.Q, new { visitorId = "<script>", language = "français" });
        Assert.Equal(HttpStatusCode.UnprocessableEntity, badVisitor.StatusCode);

        foreach (var key in new[] { "", "pk_live_doesnotexist", "sk_live_" + new string('x', 32), new string('k', 500) })
        {
            var invalid = await factory.Browser().GetAsync("/widget/v1/config?key=" + Uri.EscapeDataString(key));
            Assert.Equal(HttpStatusCode.Unauthorized, invalid.StatusCode);
            Assert.Equal("INVALID_KEY", await invalid.ErrorCodeAsync());
        }

        var wrongToken = visitor.Token;
        visitor.Token = "not-a-token";
        Assert.Equal("INVALID_TOKEN", await (await visitor.PostAsync("Bonjour")).ErrorCodeAsync());
        visitor.Token = wrongToken;
        Assert.Equal("CONVERSATION_NOT_FOUND", await (await visitor.PostAsync("Bonjour", Guid.NewGuid().ToString())).ErrorCodeAsync());

        Assert.Equal(before, await TurnsAsync(factory, t.Id));
        Assert.Equal(0, await factory.WithDbAsync(t.Id, db => db.UsageRecords.CountAsync()));
    }

    [Fact]
    public async Task AMessageWithoutTheConversationsTokenIs401WhateverItsBody()
    {
        var t = await factory.CreateWidgetTenantAsync("Jeton d'abord");
        var visitor = new Visitor(factory.Browser(), t);
        await visitor.StartAsync();
        var token = visitor.Token;
        foreach (var bearer in new string?[] { null, "not-a-token" })
        {
            visitor.Token = bearer;
            // Blank, oversize and malformed bodies: the token is checked first, so none of them is judged.
            foreach (var body in new[] { """{"text":"   "}""", "{\"text\":\"" + new string('a', 2001) + "\"}", "{\"text\": \"unterminated" })
            {
                var request = new HttpRequestMessage(HttpMethod.Post, $"/widget/v1/conversations/{visitor.Id}/messages{t.Q}")
                {
                    Content = new StringContent(body, Encoding.UTF8, "application/json"),
                };
                if (bearer is not null)
                {
                    request.Headers.Authorization = new("Bearer", bearer);
                }
                var response = await factory.Browser().SendAsync(request);
                Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
                Assert.Equal("INVALID_TOKEN", await response.ErrorCodeAsync());
            }
        }
        visitor.Token = token;
        Assert.Equal("VALIDATION_FAILED", await (await visitor.PostAsync("   ")).ErrorCodeAsync()); // with the token, the body is judged
    }

    [Fact]
    public async Task AnotherTenantsConversationCannotBeReadOrContinued()
    {
        var a = await factory.CreateWidgetTenantAsync("Tenant A");
        var b = await factory.CreateWidgetTenantAsync("Tenant B");
        var visitorB = new Visitor(factory.Browser(), b);
        await visitorB.StartAsync();
        await visitorB.SayAsync("Mon sous-sol est inondé, rappelez-moi au 514 555 0100");

        // B's conversation id and token presented with A's key: A's tenant does not have it.
        var asA = new Visitor(factory.Browser(), a) { Token = visitorB.Token };
        var continued = await asA.PostAsync("Bonjour", visitorB.Id);
        Assert.Equal(HttpStatusCode.NotFound, continued.StatusCode);
        var read = new HttpRequestMessage(HttpMethod.Get, $"/widget/v1/conversations/{visitorB.Id}{a.Q}");
        read.Headers.Authorization = new("Bearer", visitorB.Token);
        Assert.Equal(HttpStatusCode.NotFound, (await factory.Browser().SendAsync(read)).StatusCode);

        // A's own conversation does not accept B's token.
        var visitorA = new Visitor(factory.Browser(), a);
        await visitorA.StartAsync();
        visitorA.Token = visitorB.Token;
        Assert.Equal("INVALID_TOKEN", await (await visitorA.PostAsync("Bonjour")).ErrorCodeAsync());

        // The attribution API: B sees its chat's attribution, A gets 404 for B's call id.
        var callB = await factory.WithDbAsync(b.Id, db => db.WebConversations.Select(c => c.CallId).SingleAsync());
        var attribution = await (await factory.ApiClient(b.Tenant).GetAsync($"/api/v1/widget/conversations/{callB}")).JsonAsync(HttpStatusCode.OK);
        Assert.Equal(("google", "G123", WidgetFactory.SiteOrigin), (attribution["utmSource"]!.GetValue<string>(), attribution["gclid"]!.GetValue<string>(), attribution["origin"]!.GetValue<string>()));
        Assert.Equal(HttpStatusCode.NotFound, (await factory.ApiClient(a.Tenant).GetAsync($"/api/v1/widget/conversations/{callB}")).StatusCode);

        // A's API does not list B's web chat or lead.
        var calls = await factory.ApiClient(a.Tenant).GetStringAsync("/api/v1/calls");
        Assert.DoesNotContain("inondé", calls);
        Assert.Equal(0, await factory.WithDbAsync(a.Id, db => db.Leads.CountAsync()));
        Assert.Equal(1, await factory.WithDbAsync(b.Id, db => db.Leads.CountAsync()));
    }

    [Fact]
    public async Task LocalHttpOriginsAndWildcardsAreAcceptedByTheOriginsApiWhenAllowed()
    {
        Assert.Equal("http://localhost:5173", KeysApi.NormalizeOrigin("http://localhost:5173", allowLocalHttp: true));
        Assert.Equal("http://127.0.0.1:8080", KeysApi.NormalizeOrigin("http://127.0.0.1:8080/", allowLocalHttp: true));
        Assert.Null(KeysApi.NormalizeOrigin("http://localhost:5173"));
        Assert.Null(KeysApi.NormalizeOrigin("http://example.com", allowLocalHttp: true));
        Assert.Equal("https://*.example.com", KeysApi.NormalizeOrigin("https://*.Example.com"));
        Assert.Null(KeysApi.NormalizeOrigin("https://*.com"));
        Assert.True(WidgetOrigins.IsAllowed("https://a.b.example.com", ["https://*.example.com"]));
        Assert.False(WidgetOrigins.IsAllowed("https://example.com", ["https://*.example.com"]));
        Assert.False(WidgetOrigins.IsAllowed("https://evilexample.com", ["https://*.example.com"]));
        Assert.False(WidgetOrigins.IsAllowed("https://a.example.com:8443", ["https://*.example.com"]));
        Assert.Null(WidgetOrigins.Normalize("null"));
        await Task.CompletedTask;
    }

    [Fact]
    public void TheOfflineReceptionistReadsLanguageAndPhoneNumbers()
    {
        Assert.True(OfflineReceptionist.IsFrench("Mon sous-sol est inondé"));
        Assert.False(OfflineReceptionist.IsFrench("My basement is flooded, please call me"));
        Assert.Equal("+15145550142", OfflineReceptionist.FindPhone("rappelez-moi au (514) 555-0142 svp"));
        Assert.Equal("+15145550142", OfflineReceptionist.FindPhone("1-514-555-0142"));
        Assert.Equal("+33612345678", OfflineReceptionist.FindPhone("+33 6 12 34 56 78"));
        Assert.Null(OfflineReceptionist.FindPhone("il y a 3 pouces d'eau depuis 2 heures"));
    }

    [Fact]
    public async Task AttributionFromThePageUrlThatTheDatabaseCannotStoreAsIsStillStartsTheChat()
    {
        var t = await factory.CreateWidgetTenantAsync("Attribution");
        // A 200-unit cut would fall between the halves of 😀 (a lone surrogate); %00 decodes to U+0000. PostgreSQL refuses both.
        var longSource = new string('a', 199) + "%F0%9F%98%80";
        var visitor = new Visitor(factory.Browser(), t);

        var response = await visitor.StartAsync($"https://www.drainfortin.example/?utm_source={longSource}&utm_campaign=hiver%00soldes&gclid=G%00");

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var conversation = await factory.WithDbAsync(t.Id, db => db.WebConversations.SingleAsync());
        Assert.Equal(new string('a', 199), conversation.UtmSource);
        Assert.Equal("hiver\uFFFDsoldes", conversation.UtmCampaign);
        Assert.Equal("G\uFFFD", conversation.Gclid);
    }
}
