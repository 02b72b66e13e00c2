using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Brain;
using Switchboard.Compliance;
using Switchboard.Knowledge;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Knowledge;

/// <summary>The knowledge base end to end: every document type in, found by search, cited, isolated per tenant.</summary>
[Trait("Category", "Database")]
public sealed class KnowledgeApiTests(KnowledgeFactory factory) : IClassFixture<KnowledgeFactory>
{
    private const string Markdown = """
        # Services

        ## Sous-sol inondé
        Un sous-sol inondé est une urgence : le plombier de garde est texté immédiatement, jour et nuit.
        Coupez l'eau à l'entrée principale en attendant.

        ## Chauffe-eau
        Remplacement de chauffe-eau de 40 et 60 gallons, électriques ou au gaz.
        """;

    private const string Html = """
        <html><head><title>Territoire desservi</title><style>p{color:red}</style><script>var secret="do-not-index";</script></head>
        <body><nav>Accueil | Contact</nav>
        <h1>Territoire</h1><p>Nous desservons Laval, Longueuil et Brossard.</p><div>Service 24/7</div>
        <footer>© Drain Fortin</footer></body></html>
        """;

    [Fact]
    public async Task EachDocumentTypeIsIngestedAndFoundWithItsCitation()
    {
        var tenant = await factory.CreateTenantAsync();
        using var api = factory.ApiClient(tenant);
        await using var pages = await PageServer.StartAsync();
        pages.Pages["/tarifs.html"] = (200, "text/html; charset=utf-8",
            Encoding.UTF8.GetBytes("<html><head><title>Tarifs</title></head><body><h2>Déplacement d'urgence</h2><p>Le déplacement d'urgence coûte 175 $ la fin de semaine.</p></body></html>"),
            new Dictionary<string, string> { ["ETag"] = "\"v1\"" });

        var pdf = KnowledgeFactory.Pdf("Garantie", "Garantie de deux ans sur la main-d'œuvre.", "Les pièces sont garanties par le fabricant, même à Québec.");
        var added = new Dictionary<string, JsonNode>();
        foreach (var (type, body) in new (string, object)[]
        {
            ("text", new { type = "text", title = "Paiement", content = "Nous acceptons le paiement par carte, virement Interac ou chèque." }),
            ("markdown", new { type = "markdown", content = Markdown }),
            ("html", new { type = "html", content = Html }),
            ("pdf", new { type = "pdf", contentBase64 = Convert.ToBase64String(pdf), fileName = "garantie.pdf" }),
            ("url", new { type = "url", url = pages.BaseUrl + "/tarifs.html" }),
        })
        {
            var response = await KnowledgeFactory.AddAsync(api, body);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.Created, $"{type}: {(int)response.StatusCode} {text}");
            added[type] = JsonNode.Parse(text)!;
            Assert.Equal(type, added[type]["sourceType"]!.GetValue<string>());
            Assert.True(added[type]["chunkCount"]!.GetValue<int>() >= 1);
        }
        Assert.Equal("Services", added["markdown"]["title"]!.GetValue<string>());   // the first heading
        Assert.Equal("Territoire desservi", added["html"]["title"]!.GetValue<string>()); // <title>
        Assert.Equal("Garantie", added["pdf"]["title"]!.GetValue<string>());         // PDF metadata
        Assert.Equal("Tarifs", added["url"]["title"]!.GetValue<string>());

        await AssertTopHitAsync(api, "virement interac", added["text"]);
        await AssertTopHitAsync(api, "Mon sous-sol est inonde!", added["markdown"], heading: "Services › Sous-sol inondé"); // no accent in the query
        await AssertTopHitAsync(api, "chauffe-eau 60 gallons", added["markdown"], heading: "Services › Chauffe-eau");
        await AssertTopHitAsync(api, "Desservez-vous Longueuil?", added["html"]);
        await AssertTopHitAsync(api, "main d'oeuvre garantie", added["pdf"]);  // œ folded, accents folded
        await AssertTopHitAsync(api, "Québec", added["pdf"]);
        await AssertTopHitAsync(api, "déplacement urgence fin de semaine", added["url"]);

        // HTML: scripts, styles, navigation and footers are not indexed; block elements are not glued together.
        Assert.Empty(await KnowledgeFactory.SearchAsync(api, "do-not-index"));
        Assert.Empty(await KnowledgeFactory.SearchAsync(api, "Accueil"));
        var html = JsonNode.Parse(await api.GetStringAsync($"/api/v1/knowledge/{added["html"]["id"]}"))!;
        Assert.Contains("Brossard.\n\nService 24/7", html["text"]!.GetValue<string>());
        Assert.Equal(pages.BaseUrl + "/tarifs.html", added["url"]["sourceUrl"]!.GetValue<string>());

        var list = JsonNode.Parse(await api.GetStringAsync("/api/v1/knowledge"))!.AsArray();
        Assert.Equal(5, list.Count);
    }

    [Fact]
    public async Task HebrewArabicAndOtherNonLatinDocumentsAreFoundByQueriesInTheirLanguage()
    {
        var tenant = await factory.CreateTenantAsync();
        using var api = factory.ApiClient(tenant);
        var documents = new Dictionary<string, JsonNode>();
        foreach (var (key, body) in new (string, object)[]
        {
            ("he", new { type = "markdown", content = """
                # שאלות נפוצות

                ## מחירים
                ביקור טכנאי עולה 250 ש״ח, כולל מע״מ. עבודה בשבת ובחגים בתוספת של חמישים אחוז.

                ## אזור שירות
                אנחנו עובדים בתל אביב, רמת גן וגבעתיים.

                ## אחריות
                כל עבודת חשמל מגיעה עם אחריות לשנה.
                """ }),
            ("ar", new { type = "markdown", content = """
                # الأسئلة الشائعة

                ## الأسعار
                زيارة الفني تكلف 250 شيكل. العمل يوم السبت بزيادة خمسين بالمئة.

                ## منطقة الخدمة
                نعمل في يافا وتل أبيب والناصرة.
                """ }),
            ("ru", new { type = "text", title = "Часы работы", content = "Мы работаем по субботам с 9 до 14 часов." }),
            ("el", new { type = "text", title = "Ωράριο", content = "Δουλεύουμε και το Σάββατο το πρωί." }),
            ("en", new { type = "text", title = "Hours", content = "We are open on Saturday mornings for emergencies." }),
        })
        {
            var response = await KnowledgeFactory.AddAsync(api, body);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.Created, $"{key}: {(int)response.StatusCode} {text}");
            documents[key] = JsonNode.Parse(text)!;
        }

        // Hebrew: exact words, a whole question, words with attached prefixes or with niqqud.
        await AssertTopHitAsync(api, "ביקור טכנאי", documents["he"], heading: "שאלות נפוצות › מחירים");
        await AssertTopHitAsync(api, "כמה עולה ביקור טכנאי?", documents["he"], heading: "שאלות נפוצות › מחירים");
        await AssertTopHitAsync(api, "מתי מגיע הטכנאי?", documents["he"], heading: "שאלות נפוצות › מחירים");   // ה + טכנאי
        await AssertTopHitAsync(api, "אתם עובדים ברמת גן?", documents["he"], heading: "שאלות נפוצות › אזור שירות"); // ב + רמת
        await AssertTopHitAsync(api, "שבת", documents["he"], heading: "שאלות נפוצות › מחירים");               // indexed as בשבת
        await AssertTopHitAsync(api, "יש אַחְרָיוּת?", documents["he"], heading: "שאלות נפוצות › אחריות");

        // Arabic: exact words, the article on either side, harakat.
        await AssertTopHitAsync(api, "كم تكلف زيارة الفني؟", documents["ar"], heading: "الأسئلة الشائعة › الأسعار");
        await AssertTopHitAsync(api, "فني", documents["ar"], heading: "الأسئلة الشائعة › الأسعار");
        await AssertTopHitAsync(api, "هل تعملون في الناصرة؟", documents["ar"], heading: "الأسئلة الشائعة › منطقة الخدمة");
        await AssertTopHitAsync(api, "زِيَارَة", documents["ar"], heading: "الأسئلة الشائعة › الأسعار");

        await AssertTopHitAsync(api, "Вы работаете по субботам?", documents["ru"]);
        await AssertTopHitAsync(api, "σαββατο", documents["el"]);
        await AssertTopHitAsync(api, "open saturday", documents["en"]);

        var search = JsonNode.Parse(await api.GetStringAsync($"/api/v1/knowledge/search?q={Uri.EscapeDataString("ביקור טכנאי")}"))!;
        Assert.Equal(["יקור", "טכנאי"], search["terms"]!.AsArray().Select(t => t!.GetValue<string>()));
    }

    [Fact]
    public async Task SearchQuotesEveryUserInputAndNeverFails()
    {
        var tenant = await factory.CreateTenantAsync();
        using var api = factory.ApiClient(tenant);
        Assert.Equal(HttpStatusCode.Created, (await KnowledgeFactory.AddAsync(api, new { type = "markdown", content = Markdown })).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await KnowledgeFactory.AddAsync(api, new { type = "text", title = "Eau", content = "Plus d'eau chaude? Vérifiez le disjoncteur du chauffe-eau." })).StatusCode);

        // FTS5 reads sous-sol as column "sous" minus "sol", and l'eau as an unterminated string: both must just search.
        Assert.Contains("Sous-sol", (await KnowledgeFactory.SearchAsync(api, "sous-sol"))[0]!["heading"]!.GetValue<string>());
        Assert.Contains("eau", (await KnowledgeFactory.SearchAsync(api, "l'eau chaude"))[0]!["text"]!.GetValue<string>());
        foreach (var hostile in new[]
        {
            "\"sous-sol", "sous\"sol\"\"", "'", "\"", "NEAR(sous sol, 2)", "sous AND OR NOT sol", "SearchText:inondé", "{SearchText}: eau",
            "inond*", "^sous", "-garage +sol", "sous-sol)(", "(((", "a & b | !c", "eau:* & !", "<-> sol", "\\", "%_", "'; DROP TABLE knowledge_chunks; --",
            "   ", "le la les de", "🙂🚰", new string('x', 5000), "ÉTÉ À L'ÎLE", "kbtaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        })
        {
            var response = await api.GetAsync($"/api/v1/knowledge/search?q={Uri.EscapeDataString(hostile)}");
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"'{hostile}' answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
        Assert.NotEmpty(await KnowledgeFactory.SearchAsync(api, "\"sous-sol inondé"));          // unbalanced quote
        Assert.NotEmpty(await KnowledgeFactory.SearchAsync(api, "NEAR(chauffe-eau gallons)")); // operators are plain words
        Assert.Empty(await KnowledgeFactory.SearchAsync(api, "le la les de"));                  // only stop words: nothing to search

        var bad = await api.GetAsync("/api/v1/knowledge/search?q=eau&limit=500");
        await AssertEnvelopeAsync(bad, HttpStatusCode.UnprocessableEntity, "VALIDATION_FAILED");
    }

    [Fact]
    public async Task VapiKnowledgeBaseRequestIsAnsweredWithDocumentsFromTheTenantsKnowledgeBase()
    {
        var tenant = await factory.CreateTenantAsync();
        using var api = factory.ApiClient(tenant);
        Assert.Equal(HttpStatusCode.Created, (await KnowledgeFactory.AddAsync(api, new { type = "markdown", title = "Tarifs", content = """
            ## Appel d'urgence
            Le déplacement d'urgence coûte 175 $ la fin de semaine, plus 145 $ de l'heure.

            ## Territoire
            Laval, Longueuil, Brossard.
            """ })).StatusCode);

        // Vapi's spec puts the text in messages[].message; messagesOpenAIFormatted has it in content (read first).
        var json = """
            {"message":{"type":"knowledge-base-request","timestamp":1767225600000,"call":{"id":"kb-call-1"},
              "messages":[{"role":"bot","message":"Drain Fortin, bonjour!"},{"role":"user","message":"Combien coûte un appel d'urgence la fin de semaine?"}],
              "messagesOpenAIFormatted":[{"role":"assistant","content":"Drain Fortin, bonjour!"},{"role":"user","content":"Combien coûte un appel d'urgence la fin de semaine?"}]}}
            """;
        var response = await factory.PostVapiAsync(tenant, json);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var documents = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["documents"]!.AsArray();
        Assert.NotEmpty(documents);
        Assert.True(documents.Count <= 3);
        var best = documents[0]!;
        Assert.Contains("175 $", best["content"]!.GetValue<string>());
        Assert.StartsWith("[Tarifs › Appel d'urgence]", best["content"]!.GetValue<string>());
        var similarity = best["similarity"]!.GetValue<double>();
        Assert.InRange(similarity, 0.01, 1.0);
        Assert.True(long.TryParse(best["uuid"]!.GetValue<string>(), out _));

        // The docs' example shape (content in messages[]) and a question the knowledge base cannot answer.
        var docsShape = """{"message":{"type":"knowledge-base-request","messages":[{"role":"user","content":"Do you serve Brossard?"}]}}""";
        var docsReply = JsonNode.Parse(await (await factory.PostVapiAsync(tenant, docsShape)).Content.ReadAsStringAsync())!["documents"]!.AsArray();
        Assert.Contains("Brossard", docsReply[0]!["content"]!.GetValue<string>());
        var nothing = """{"message":{"type":"knowledge-base-request","messages":[{"role":"user","message":"zzyzx qwerty"}]}}""";
        Assert.Empty(JsonNode.Parse(await (await factory.PostVapiAsync(tenant, nothing)).Content.ReadAsStringAsync())!["documents"]!.AsArray());
        var noUser = """{"message":{"type":"knowledge-base-request","messages":[]}}""";
        Assert.Empty(JsonNode.Parse(await (await factory.PostVapiAsync(tenant, noUser)).Content.ReadAsStringAsync())!["documents"]!.AsArray());
    }

    [Fact]
    public async Task SearchKnowledgeBaseToolAnswersThroughVapiToolCallsAndTheRegistry()
    {
        var tenant = await factory.CreateTenantAsync();
        using var api = factory.ApiClient(tenant);
        Assert.Equal(HttpStatusCode.Created, (await KnowledgeFactory.AddAsync(api, new { type = "text", title = "Hours", content = "Emergencies (flooding, sewer backup, burst pipe) are handled 24/7 by the on-call plumber." })).StatusCode);

        var json = """
            {"message":{"type":"tool-calls","call":{"id":"kb-tool-1"},"toolCallList":[
              {"id":"call_kb","type":"function","function":{"name":"search_knowledge_base","arguments":{"query":"Is a burst pipe handled at night?"}}},
              {"id":"call_none","type":"function","function":{"name":"search_knowledge_base","arguments":{"query":"zzyzx"}}},
              {"id":"call_bad","type":"function","function":{"name":"search_knowledge_base","arguments":{}}}]}}
            """;
        var results = JsonNode.Parse(await (await factory.PostVapiAsync(tenant, json)).Content.ReadAsStringAsync())!["results"]!.AsArray();
        var found = JsonNode.Parse(results[0]!["result"]!.GetValue<string>())!;
        Assert.True(found["found"]!.GetValue<bool>());
        var first = found["results"]![0]!;
        Assert.Equal("Hours", first["title"]!.GetValue<string>());
        Assert.Contains("24/7", first["text"]!.GetValue<string>());
        Assert.True(first["chunkId"]!.GetValue<long>() > 0);
        Assert.False(JsonNode.Parse(results[1]!["result"]!.GetValue<string>())!["found"]!.GetValue<bool>());
        Assert.Equal("Give the question to search for.", results[2]!["error"]!.GetValue<string>());

        // The registry is what native calls and web chat use; the tool is in the definitions they send to the model.
        Assert.Contains(ToolRegistry.Definitions(), d => d!["name"]!.GetValue<string>() == ToolRegistry.SearchKnowledgeBase);
        using var scope = factory.Scope();
        var db = scope.ServiceProvider.GetRequiredService<Switchboard.Platform.Database.SwitchboardDbContext>();
        var t = await db.Tenants.AsNoTracking().SingleAsync(x => x.Id == tenant.Id);
        var outcome = await scope.ServiceProvider.GetRequiredService<ToolRegistry>().InvokeAsync(ToolRegistry.SearchKnowledgeBase,
            System.Text.Json.JsonDocument.Parse("""{"query":"sewer backup"}""").RootElement, new ToolContext(t, null, null), CancellationToken.None);
        Assert.Null(outcome.Error);
        Assert.Contains("on-call plumber", outcome.Result);
    }

    [Fact]
    public async Task AnotherTenantsDocumentsAndChunksAreNeverSeen()
    {
        var a = await factory.CreateTenantAsync("Drain Fortin");
        var b = await factory.CreateTenantAsync("Plomberie Rivale");
        using var apiA = factory.ApiClient(a);
        using var apiB = factory.ApiClient(b);
        var created = await KnowledgeFactory.AddAsync(apiA, new { type = "text", title = "Secret A", content = "Le code de la porte du garage est 4321, inondation." });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var id = JsonNode.Parse(await created.Content.ReadAsStringAsync())!["id"]!.GetValue<string>();
        // B holds the very same text: a duplicate only within a tenant, and B's copy stays B's.
        Assert.Equal(HttpStatusCode.Created, (await KnowledgeFactory.AddAsync(apiB, new { type = "text", title = "Copie B", content = "Le code de la porte du garage est 4321, inondation." })).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await KnowledgeFactory.AddAsync(apiB, new { type = "text", title = "B only", content = "Plomberie Rivale répare les chauffe-eau." })).StatusCode);

        Assert.DoesNotContain(JsonNode.Parse(await apiB.GetStringAsync("/api/v1/knowledge"))!.AsArray(), d => d!["id"]!.GetValue<string>() == id);
        await AssertEnvelopeAsync(await apiB.GetAsync($"/api/v1/knowledge/{id}"), HttpStatusCode.NotFound, "DOCUMENT_NOT_FOUND");
        await AssertEnvelopeAsync(await apiB.PostAsync($"/api/v1/knowledge/{id}/reindex", null), HttpStatusCode.NotFound, "DOCUMENT_NOT_FOUND");
        await AssertEnvelopeAsync(await apiB.DeleteAsync($"/api/v1/knowledge/{id}"), HttpStatusCode.NotFound, "DOCUMENT_NOT_FOUND");

        var hitsB = await KnowledgeFactory.SearchAsync(apiB, "code porte garage 4321");
        Assert.All(hitsB, h => Assert.Equal("Copie B", h!["documentTitle"]!.GetValue<string>()));
        Assert.DoesNotContain(await KnowledgeFactory.SearchAsync(apiA, "chauffe-eau Rivale"), h => h!["documentTitle"]!.GetValue<string>() == "B only");
        var vapi = """{"message":{"type":"knowledge-base-request","messages":[{"role":"user","message":"chauffe-eau Rivale"}]}}""";
        var docs = JsonNode.Parse(await (await factory.PostVapiAsync(a, vapi)).Content.ReadAsStringAsync())!["documents"]!.AsArray();
        Assert.DoesNotContain(docs, d => d!["content"]!.GetValue<string>().Contains("Rivale", StringComparison.Ordinal));

        // Every chunk belongs to its document's tenant, and A's document is untouched by B's attempts.
        var (orphans, chunksA) = await factory.WithDbAsync(null, async db => (
            await db.KnowledgeChunks.IgnoreQueryFilters().CountAsync(c => !db.KnowledgeDocuments.IgnoreQueryFilters().Any(d => d.Id == c.DocumentId && d.TenantId == c.TenantId)),
            await db.KnowledgeChunks.IgnoreQueryFilters().CountAsync(c => c.TenantId == a.Id)));
        Assert.Equal(0, orphans);
        Assert.Equal(1, chunksA);
        Assert.Equal(HttpStatusCode.OK, (await apiA.GetAsync($"/api/v1/knowledge/{id}")).StatusCode);
    }

    [Fact]
    public async Task AnotherTenantsWordsDoNotChangeATenantsSearchResults()
    {
        // Probe E, F1: the terms sent to the index were picked by installation-wide rarity, so a word held only by another
        // tenant took a slot and pushed the caller's own term out: hits:[] revealed that the word exists elsewhere.
        var word = (string stem) => stem + TextFolding.TenantTerm(Guid.NewGuid())[3..15] + "k";
        var (probe, alpha, beta, gamma, secret, absent) = (word("probe"), word("alpha"), word("beta"), word("gamma"), word("secret"), word("absent"));
        var a = await factory.CreateTenantAsync("Victim");
        var b = await factory.CreateTenantAsync("Attacker B");
        var c = await factory.CreateTenantAsync("Attacker C");
        using var apiA = factory.ApiClient(a);
        using var apiB = factory.ApiClient(b);
        using var apiC = factory.ApiClient(c);
        Assert.Equal(HttpStatusCode.Created, (await KnowledgeFactory.AddAsync(apiC, new { type = "markdown", title = "c", content = $"{alpha} {beta} {gamma}" })).StatusCode);
        for (var i = 1; i <= 3; i++)
        {
            Assert.Equal(HttpStatusCode.Created, (await KnowledgeFactory.AddAsync(apiB, new { type = "markdown", title = $"b{i}", content = $"{probe} number {i}" })).StatusCode);
        }
        var query = $"{probe} {alpha} {beta} {gamma} {secret}";
        static List<string> Titles(JsonArray hits) => hits.Select(h => h!["documentTitle"]!.GetValue<string>()).Order(StringComparer.Ordinal).ToList();

        var before = Titles(await KnowledgeFactory.SearchAsync(apiB, query));
        Assert.Equal(HttpStatusCode.Created, (await KnowledgeFactory.AddAsync(apiA, new { type = "markdown", title = "a", content = $"Our price list: {secret} costs 40 dollars." })).StatusCode);
        var after = Titles(await KnowledgeFactory.SearchAsync(apiB, query));
        var control = Titles(await KnowledgeFactory.SearchAsync(apiB, $"{probe} {alpha} {beta} {gamma} {absent}"));

        Assert.Equal(["b1", "b2", "b3"], before);
        Assert.Equal(before, after);
        Assert.Equal(before, control);
        // The owner still finds its own word.
        Assert.Equal(["a"], Titles(await KnowledgeFactory.SearchAsync(apiA, secret)));
    }

    [Fact]
    public async Task AnotherTenantsDocumentsDoNotReorderATenantsResults()
    {
        // SQLite's bm25() took its statistics (chunk count, average length, how many chunks hold a term) from the whole FTS
        // table: B uploading chunks that hold A's word made that word "common", and A's best answer for it dropped below another.
        var word = (string stem) => stem + TextFolding.TenantTerm(Guid.NewGuid())[3..15] + "k";
        var (leak, valve) = (word("leak"), word("valve"));
        var a = await factory.CreateTenantAsync("Ranked A");
        var b = await factory.CreateTenantAsync("Crowding B");
        using var apiA = factory.ApiClient(a);
        using var apiB = factory.ApiClient(b);
        Assert.Equal(HttpStatusCode.Created, (await KnowledgeFactory.AddAsync(apiA, new { type = "text", title = "a-leak", content = $"{leak} repair: {leak} fixed the same day." })).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await KnowledgeFactory.AddAsync(apiA, new { type = "text", title = "a-valve", content = $"A {valve} is replaced the same day." })).StatusCode);
        foreach (var filler in new[] { "Opening hours are eight to five.", "We serve Laval and Longueuil.", "Estimates are free." })
        {
            Assert.Equal(HttpStatusCode.Created, (await KnowledgeFactory.AddAsync(apiA, new { type = "text", title = filler, content = filler })).StatusCode);
        }
        var query = $"{leak} {valve}";
        static List<string> Titles(JsonArray hits) => hits.Select(h => h!["documentTitle"]!.GetValue<string>()).ToList();
        var before = Titles(await KnowledgeFactory.SearchAsync(apiA, query));

        for (var i = 1; i <= 20; i++)
        {
            Assert.Equal(HttpStatusCode.Created, (await KnowledgeFactory.AddAsync(apiB, new { type = "text", title = $"b{i}", content = $"{leak} note {i}" })).StatusCode);
        }
        var after = Titles(await KnowledgeFactory.SearchAsync(apiA, query));

        Assert.Equal(["a-leak", "a-valve"], before); // the chunk holding the word twice first
        Assert.Equal(before, after);
    }

    [Fact]
    public async Task ChunksIndexedByTheOldAsciiTokenizerAreIndexedAgainAndFoundInHebrewAndArabic()
    {
        // Before 27a8dab the tokenizer kept ASCII letters only: a Hebrew or Arabic chunk was stored with nothing but its tenant's
        // term and stayed unsearchable. Such rows are found and indexed again (once after start; here the same pass, run directly).
        var tenant = await factory.CreateTenantAsync();
        using var api = factory.ApiClient(tenant);
        var he = JsonNode.Parse(await (await KnowledgeFactory.AddAsync(api, new { type = "text", title = "מחירון", content = "בִּיקּוּר טֶכְנַאי עולה 250 ש״ח." })).Content.ReadAsStringAsync())!;
        var ar = JsonNode.Parse(await (await KnowledgeFactory.AddAsync(api, new { type = "text", title = "الأسعار", content = "زِيَارَةُ الفنّـــي تكلف 250 شيكل." })).Content.ReadAsStringAsync())!;
        var latin = JsonNode.Parse(await (await KnowledgeFactory.AddAsync(api, new { type = "text", title = "Prix", content = "Une visite coûte 95 $ « en semaine »." })).Content.ReadAsStringAsync())!;
        var tenantTerm = TextFolding.TenantTerm(tenant.Id);
        var latinTerms = await factory.WithDbAsync(tenant.Id, async db =>
        {
            // What the old tokenizer stored for the Hebrew and Arabic chunks: the tenant's term and the digits.
            await db.Database.ExecuteSqlAsync($"""UPDATE knowledge_chunks SET "SearchText" = {tenantTerm + " 250"} WHERE "TenantId" = {tenant.Id} AND "DocumentId" <> {Guid.Parse(latin["id"]!.GetValue<string>())}""");
            return await db.KnowledgeChunks.Where(c => c.DocumentId == Guid.Parse(latin["id"]!.GetValue<string>())).Select(c => c.SearchText).SingleAsync();
        });
        Assert.Empty(await KnowledgeFactory.SearchAsync(api, "ביקור טכנאי"));
        Assert.Empty(await KnowledgeFactory.SearchAsync(api, "زيارة الفني"));

        int refreshed;
        using (var scope = factory.Scope())
        {
            refreshed = await KnowledgeTermsRefresh.RefreshAsync(scope.ServiceProvider, CancellationToken.None);
        }

        Assert.True(refreshed >= 2, $"{refreshed} chunks re-indexed"); // other tests' stale-looking rows may be counted too
        await AssertTopHitAsync(api, "ביקור טכנאי", he);
        await AssertTopHitAsync(api, "زيارة الفني", ar);
        Assert.Equal(latinTerms, await factory.WithDbAsync(tenant.Id, db =>
            db.KnowledgeChunks.Where(c => c.DocumentId == Guid.Parse(latin["id"]!.GetValue<string>())).Select(c => c.SearchText).SingleAsync()));
        using (var scope = factory.Scope())
        {
            Assert.Equal(0, await KnowledgeTermsRefresh.RefreshAsync(scope.ServiceProvider, CancellationToken.None)); // nothing left to do
        }
    }

    [Fact]
    public async Task AStartAfterACompletedRefreshPassReadsItsMarkerInsteadOfScanningTheChunks()
    {
        var tenant = await factory.CreateTenantAsync();
        using var api = factory.ApiClient(tenant);
        var he = JsonNode.Parse(await (await KnowledgeFactory.AddAsync(api, new { type = "text", title = "שעות", content = "ביקור טכנאי בשבת בתוספת תשלום." })).Content.ReadAsStringAsync())!;
        var marker = KnowledgeTermsRefresh.Marker;
        Task<int> MarkersAsync() => factory.WithDbAsync(null, db =>
            db.Database.SqlQuery<int>($"""SELECT COUNT(*) AS "Value" FROM __switchboard_migrations WHERE id = {marker}""").SingleAsync());
        Task<int> ForgetAsync() => factory.WithDbAsync(null, db => db.Database.ExecuteSqlAsync($"DELETE FROM __switchboard_migrations WHERE id = {marker}"));
        Task<int> StaleAsync() => factory.WithDbAsync(tenant.Id, db => db.Database.ExecuteSqlAsync(
            $"""UPDATE knowledge_chunks SET "SearchText" = {TextFolding.TenantTerm(tenant.Id)} WHERE "TenantId" = {tenant.Id}"""));
        async Task<int?> StartAsync()
        {
            using var scope = factory.Scope();
            return await KnowledgeTermsRefresh.RunOnceAsync(scope.ServiceProvider, CancellationToken.None);
        }

        // The host's own start ran the pass over an empty knowledge base and recorded it.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (await MarkersAsync() == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }
        Assert.Equal(1, await MarkersAsync());

        // With the marker, a start reads nothing else: a chunk made to look as the old tokenizer indexed it stays so.
        Assert.Equal(1, await StaleAsync());
        Assert.Null(await StartAsync());
        Assert.Empty(await KnowledgeFactory.SearchAsync(api, "ביקור טכנאי"));

        // Without it the pass scans, re-indexes the chunk and records itself, once.
        await ForgetAsync();
        Assert.True(await StartAsync() >= 1);
        await AssertTopHitAsync(api, "ביקור טכנאי", he);
        Assert.Equal(1, await MarkersAsync());
        Assert.Null(await StartAsync());
        Assert.Equal(1, await MarkersAsync());
    }

    [Fact]
    public async Task DeleteAndReindexKeepTheIndexInStepAndAreAudited()
    {
        var tenant = await factory.CreateTenantAsync();
        using var api = factory.ApiClient(tenant);
        var created = JsonNode.Parse(await (await KnowledgeFactory.AddAsync(api, new { type = "markdown", content = Markdown })).Content.ReadAsStringAsync())!;
        var id = created["id"]!.GetValue<string>();

        var reindexed = await api.PostAsync($"/api/v1/knowledge/{id}/reindex", null);
        Assert.Equal(HttpStatusCode.OK, reindexed.StatusCode);
        var after = JsonNode.Parse(await reindexed.Content.ReadAsStringAsync())!;
        Assert.Equal(created["chunkCount"]!.GetValue<int>(), after["chunkCount"]!.GetValue<int>());
        var hits = await KnowledgeFactory.SearchAsync(api, "sous-sol inondé");
        Assert.Equal(id, hits[0]!["documentId"]!.GetValue<string>());
        Assert.Equal("Services › Sous-sol inondé", hits[0]!["heading"]!.GetValue<string>()); // headings survive re-indexing

        Assert.Equal(HttpStatusCode.NoContent, (await api.DeleteAsync($"/api/v1/knowledge/{id}")).StatusCode);
        Assert.Empty(await KnowledgeFactory.SearchAsync(api, "sous-sol inondé"));
        Assert.Equal(0, await factory.WithDbAsync(null, db => db.KnowledgeChunks.IgnoreQueryFilters().CountAsync(c => c.TenantId == tenant.Id)));
        Assert.Equal(0, await FtsRowsAsync(tenant.Id));

        var actions = await factory.WithDbAsync(tenant.Id, db => db.AuditLog.Where(e => e.Target == "knowledge:" + id).Select(e => e.Action).ToListAsync());
        Assert.Equal(["knowledge.document.added", "knowledge.document.deleted", "knowledge.document.reindexed"], actions.Order(StringComparer.Ordinal).ToList());
    }

    [Fact]
    public async Task ErasingTheTenantRemovesItsDocumentsChunksAndIndexEntries()
    {
        var tenant = await factory.CreateTenantAsync();
        var other = await factory.CreateTenantAsync("Other");
        using var api = factory.ApiClient(tenant);
        Assert.Equal(HttpStatusCode.Created, (await KnowledgeFactory.AddAsync(api, new { type = "markdown", content = Markdown })).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await KnowledgeFactory.AddAsync(factory.ApiClient(other), new { type = "markdown", content = Markdown })).StatusCode);
        Assert.True(await FtsRowsAsync(tenant.Id) > 0);

        using (var scope = factory.Scope())
        {
            scope.ServiceProvider.GetRequiredService<Switchboard.Tenancy.CurrentTenant>().Set(tenant.Id);
            await scope.ServiceProvider.GetRequiredService<ErasureService>().EraseTenantAsync(tenant.Id, CancellationToken.None);
        }

        Assert.Equal(0, await factory.WithDbAsync(null, db => db.KnowledgeDocuments.IgnoreQueryFilters().CountAsync(d => d.TenantId == tenant.Id)));
        Assert.Equal(0, await factory.WithDbAsync(null, db => db.KnowledgeChunks.IgnoreQueryFilters().CountAsync(c => c.TenantId == tenant.Id)));
        Assert.Equal(0, await FtsRowsAsync(tenant.Id));
        Assert.True(await FtsRowsAsync(other.Id) > 0); // the other tenant keeps its knowledge base
    }

    [Fact]
    public async Task ExportIncludesTheKnowledgeBase()
    {
        var tenant = await factory.CreateTenantAsync();
        using var api = factory.ApiClient(tenant);
        Assert.Equal(HttpStatusCode.Created, (await KnowledgeFactory.AddAsync(api, new { type = "text", title = "Paiement", content = "Paiement par carte ou chèque." })).StatusCode);
        var export = JsonNode.Parse(await api.GetStringAsync("/api/v1/export"))!;
        var doc = export["knowledge"]!.AsArray().Single()!;
        Assert.Equal("Paiement", doc["document"]!["title"]!.GetValue<string>());
        Assert.Equal("Paiement par carte ou chèque.", doc["text"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("Combien coûte un appel d'urgence la fin de semaine?", "Heures, territoire et tarifs", "175 $")]
    [InlineData("How much is an emergency call on a weekend?", "Hours, areas served and pricing", "$175")]
    [InlineData("Desservez-vous Terrebonne?", "Heures, territoire et tarifs", "Terrebonne")]
    [InlineData("Mon sous-sol est inondé, que faire?", "Services — Drain Fortin", "coupez l'eau")]
    [InlineData("my water heater is leaking from the bottom", "Services — Drain Fortin (English)", "leaking from the bottom")]
    public async Task TheDemoKnowledgeBaseAnswersInBothLanguages(string question, string title, string quote)
    {
        var tenant = await factory.CreateTenantAsync();
        using (var scope = factory.Scope())
        {
            Assert.Equal(DemoKnowledge.Documents.Length,
                await DemoKnowledge.SeedAsync(scope.ServiceProvider.GetRequiredService<KnowledgeIngestion>(), tenant.Id, CancellationToken.None));
        }
        using var search = factory.Scope();
        var hits = await search.ServiceProvider.GetRequiredService<KnowledgeSearch>().SearchAsync(tenant.Id, question, 3, CancellationToken.None);
        Assert.True(hits.Count > 0, question);
        Assert.Equal(title, hits[0].DocumentTitle);
        Assert.Contains(quote, hits[0].Text, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Index entries of a tenant: FTS5 rows on SQLite (the external-content index), tsvector rows on PostgreSQL.</summary>
    private Task<int> FtsRowsAsync(Guid tenantId) => factory.WithDbAsync(null, async db =>
    {
        var term = TextFolding.TenantTerm(tenantId);
        if (TestDatabase.IsPostgres)
        {
            return await db.Database.SqlQuery<int>($"SELECT count(*)::int AS \"Value\" FROM knowledge_chunks WHERE \"SearchVector\" @@ to_tsquery('simple', {term})").SingleAsync();
        }
        var match = "\"" + term + "\"";
        return await db.Database.SqlQuery<int>($"SELECT count(*) AS \"Value\" FROM knowledge_fts WHERE knowledge_fts MATCH {match}").SingleAsync();
    });

    private static async Task AssertTopHitAsync(HttpClient api, string query, JsonNode document, string? heading = null)
    {
        var hits = await KnowledgeFactory.SearchAsync(api, query);
        Assert.True(hits.Count > 0, $"'{query}' found nothing");
        var top = hits[0]!;
        Assert.True(top["documentId"]!.GetValue<string>() == document["id"]!.GetValue<string>(),
            $"'{query}': expected '{document["title"]}' first, got '{top["documentTitle"]}' ({top["text"]})");
        Assert.Equal(document["title"]!.GetValue<string>(), top["documentTitle"]!.GetValue<string>());
        Assert.True(top["chunkId"]!.GetValue<long>() > 0);
        Assert.InRange(top["score"]!.GetValue<double>(), 0.0001, 1.0);
        if (heading is not null)
        {
            Assert.Equal(heading, top["heading"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task AUrlWhoseAnswerIsCutShortIsRefusedWithTheEnvelopeAndNothingIsStored()
    {
        // A page server that answers 200 with a Content-Length it never sends in full, then closes the connection.
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var serving = Task.Run(async () =>
        {
            using var socket = await listener.AcceptSocketAsync();
            var buffer = new byte[8192];
            var head = "";
            while (!head.Contains("\r\n\r\n", StringComparison.Ordinal))
            {
                var n = await socket.ReceiveAsync(buffer);
                Assert.NotEqual(0, n);
                head += Encoding.ASCII.GetString(buffer, 0, n);
            }
            await socket.SendAsync(Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5000\r\n\r\nNos tarifs: "));
            socket.Shutdown(System.Net.Sockets.SocketShutdown.Both);
        });
        var tenant = await factory.CreateTenantAsync();
        using var api = factory.ApiClient(tenant);

        var response = await KnowledgeFactory.AddAsync(api, new { type = "url", url = $"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/tarifs.txt" });

        await AssertEnvelopeAsync(response, HttpStatusCode.UnprocessableEntity, "URL_FETCH_FAILED");
        await serving.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, await factory.WithDbAsync(tenant.Id, db => db.KnowledgeDocuments.CountAsync()));
    }

    internal static async Task AssertEnvelopeAsync(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status} {code}, got {(int)response.StatusCode}: {text}");
        Assert.Equal(code, JsonNode.Parse(text)!["error"]!["code"]!.GetValue<string>());
    }
}
