using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Switchboard.Calls;
using Switchboard.Tests.Support;
using Switchboard.Tests.Vapi;
using Switchboard.Webhooks;

namespace Switchboard.Tests.Calls;

/// <summary>
/// The dashboard's read side (issue 8): every list filter, full-text search and its quoting, the number fragment,
/// keyset paging under inserts, the CSV export, the call detail's timing and events, isolation and bad input.
/// Calls are written through EF so the database triggers (search document, lead urgency) run as in production.
/// </summary>
[Trait("Category", "Database")]
public sealed class CallsReadSideTests(SwitchboardFactory factory) : IClassFixture<SwitchboardFactory>
{
    private static readonly DateTimeOffset T0 = new(2026, 10, 1, 14, 0, 0, TimeSpan.Zero);

    internal async Task<Guid> AddCallAsync(TestTenant tenant, DateTimeOffset createdAt, Action<Call>? configure = null, string? urgency = null)
    {
        var id = await factory.WithDbAsync(tenant.Id, async db =>
        {
            var call = new Call
            {
                Id = Guid.CreateVersion7(createdAt), TenantId = tenant.Id, Channel = "voice", Provider = "vapi", ProviderCallId = Guid.NewGuid().ToString(),
                Type = "inboundPhoneCall", Status = "ended", StartedAt = createdAt, EndedAt = createdAt.AddSeconds(60), DurationSeconds = 60,
                CustomerNumber = "+15145550000", CreatedAt = createdAt, UpdatedAt = createdAt,
            };
            configure?.Invoke(call);
            db.Calls.Add(call);
            await db.SaveChangesAsync();
            return call.Id;
        });
        if (urgency is not null)
        {
            await factory.WithDbAsync(tenant.Id, async db =>
            {
                db.Leads.Add(new Lead { Id = Guid.NewGuid(), TenantId = tenant.Id, CallId = id, Urgency = urgency, Source = "transcript", CreatedAt = createdAt, UpdatedAt = createdAt });
                return await db.SaveChangesAsync();
            });
        }
        return id;
    }

    private static List<Guid> Ids(JsonNode? page) => page!["items"]!.AsArray().Select(i => i!["id"]!.GetValue<Guid>()).ToList();

    private static async Task<List<Guid>> ListAsync(HttpClient client, string query)
    {
        var response = await client.GetAsync("/api/v1/calls?pageSize=100&" + query);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{query}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return Ids(await response.Content.ReadFromJsonAsync<JsonObject>());
    }

    [Fact]
    public async Task EveryFilterNarrowsTheListToTheMatchingCalls()
    {
        var tenant = await factory.CreateTenantAsync();
        var assistant = Guid.NewGuid();
        var plain = await AddCallAsync(tenant, T0);
        var emergency = await AddCallAsync(tenant, T0.AddMinutes(1), urgency: Urgency.Emergency);
        var soon = await AddCallAsync(tenant, T0.AddMinutes(2), c => c.DurationSeconds = 400, urgency: Urgency.Soon);
        var web = await AddCallAsync(tenant, T0.AddMinutes(3), c => { c.Channel = "web"; c.Type = "webCall"; c.CustomerNumber = null; });
        var outbound = await AddCallAsync(tenant, T0.AddMinutes(4), c => c.Type = "outboundPhoneCall");
        var native = await AddCallAsync(tenant, T0.AddMinutes(5), c => { c.Provider = "twilio"; c.Type = null; c.AssistantId = assistant; c.Status = "no-answer"; c.DurationSeconds = 0; });
        var recorded = await AddCallAsync(tenant, T0.AddMinutes(6), c => { c.RecordingUrl = "https://storage.example/r.wav"; c.EndedReason = "voicemail"; c.DurationSeconds = 5; });
        var twilioRecorded = await AddCallAsync(tenant, T0.AddDays(3), c => c.CustomerNumber = "+1 (438) 555-0199");
        await factory.WithDbAsync(tenant.Id, async db =>
        {
            db.CallRecordings.Add(new CallRecording { Id = Guid.NewGuid(), TenantId = tenant.Id, CallId = twilioRecorded, RecordingSid = "RE1", Status = "completed", CreatedAt = T0, UpdatedAt = T0 });
            return await db.SaveChangesAsync();
        });
        var client = factory.ApiClient(tenant);

        Assert.Equal([twilioRecorded, recorded, native, outbound, web, soon, emergency, plain], await ListAsync(client, ""));
        Assert.Equal([native], await ListAsync(client, "status=no-answer"));
        Assert.Equal([emergency], await ListAsync(client, "urgency=emergency"));
        Assert.Equal([soon], await ListAsync(client, "urgency=urgent"));
        Assert.Equal([web], await ListAsync(client, "channel=web"));
        Assert.Equal(7, (await ListAsync(client, "channel=phone")).Count);
        Assert.Equal([outbound], await ListAsync(client, "direction=outbound"));
        Assert.DoesNotContain(outbound, await ListAsync(client, "direction=inbound"));
        Assert.Equal([native], await ListAsync(client, $"assistantId={assistant}"));
        Assert.Equal([twilioRecorded, recorded], await ListAsync(client, "hasRecording=true"));
        Assert.Equal(6, (await ListAsync(client, "hasRecording=false")).Count);
        Assert.Equal([soon], await ListAsync(client, "minDuration=300"));
        Assert.Equal([recorded, native], await ListAsync(client, "maxDuration=10"));
        Assert.Equal([recorded], await ListAsync(client, "minDuration=1&maxDuration=10"));
        Assert.Equal([recorded], await ListAsync(client, "endedReason=voicemail"));
        Assert.Equal([twilioRecorded], await ListAsync(client, "from=" + Uri.EscapeDataString(T0.AddDays(1).ToString("O"))));
        Assert.Equal([soon, emergency], await ListAsync(client, $"from={Uri.EscapeDataString(T0.AddMinutes(1).ToString("O"))}&to={Uri.EscapeDataString(T0.AddMinutes(2).ToString("O"))}"));
        Assert.Equal([twilioRecorded], await ListAsync(client, "number=4385550"));
        Assert.Equal([twilioRecorded], await ListAsync(client, "number=" + Uri.EscapeDataString("(438) 555-01")));
        Assert.Equal([emergency], await ListAsync(client, "urgency=emergency&channel=phone&direction=inbound&maxDuration=60"));
    }

    [Fact]
    public async Task UrgencyFollowsTheLeadWhenItChangesOrIsDeleted()
    {
        var tenant = await factory.CreateTenantAsync();
        var call = await AddCallAsync(tenant, T0, urgency: Urgency.Routine);
        var client = factory.ApiClient(tenant);
        Assert.Equal([call], await ListAsync(client, "urgency=routine"));

        await factory.WithDbAsync(tenant.Id, async db =>
        {
            var lead = db.Leads.Single(l => l.CallId == call);
            lead.Urgency = Urgency.Emergency;
            return await db.SaveChangesAsync();
        });
        Assert.Empty(await ListAsync(client, "urgency=routine"));
        Assert.Equal([call], await ListAsync(client, "urgency=emergency"));
        var item = (await client.GetFromJsonAsync<JsonObject>("/api/v1/calls"))!["items"]![0]!;
        Assert.Equal("emergency", item["urgency"]!.GetValue<string>());
    }

    [Fact]
    public async Task SearchIgnoresAccentsCaseAndPunctuationAndNeverFailsOnSyntax()
    {
        var tenant = await factory.CreateTenantAsync();
        var flood = await AddCallAsync(tenant, T0, c => { c.TranscriptText = "User: Mon sous-sol est INONDÉ depuis ce matin."; c.Summary = "Dégât d'eau au sous-sol."; });
        var heater = await AddCallAsync(tenant, T0.AddMinutes(1), c => c.TranscriptText = "User: Il n'y a plus d'eau chaude, le chauffe-eau fuit.");
        var english = await AddCallAsync(tenant, T0.AddMinutes(2), c => { c.TranscriptText = "User: The \"water heater\" is leaking AND it's loud."; c.Summary = "Water heater leak, 50% urgent"; });
        var client = factory.ApiClient(tenant);

        Assert.Equal([flood], await ListAsync(client, "q=inonde"));
        Assert.Equal([flood], await ListAsync(client, "q=" + Uri.EscapeDataString("InOnDé")));
        Assert.Equal([flood], await ListAsync(client, "q=sous-sol"));
        Assert.Equal([flood], await ListAsync(client, "q=" + Uri.EscapeDataString("sous sol")));
        Assert.Equal([flood], await ListAsync(client, "q=degat")); // summary
        Assert.Equal([heater, flood], await ListAsync(client, "q=" + Uri.EscapeDataString("l'eau")));
        Assert.Equal([heater], await ListAsync(client, "q=" + Uri.EscapeDataString("d'eau chaude")));
        Assert.Equal([heater], await ListAsync(client, "q=chauffe-eau"));
        Assert.Equal([english], await ListAsync(client, "q=" + Uri.EscapeDataString("\"water heater\"")));
        Assert.Equal([english], await ListAsync(client, "q=leaking"));
        Assert.Equal([english], await ListAsync(client, "q=" + Uri.EscapeDataString("AND"))); // a word, not an operator
        foreach (var hostile in new[] { "\"unbalanced", "NEAR(", "*", "water*", "OR", "'); DROP TABLE calls; --", "a:b", "^x", "(((", "50%", "-sol", "\\", "NOT water", "col:water" })
        {
            var response = await client.GetAsync("/api/v1/calls?q=" + Uri.EscapeDataString(hostile));
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"q={hostile}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
        Assert.Equal(3, (await ListAsync(client, "q=" + Uri.EscapeDataString("!!! ???"))).Count); // no words: no text filter
        Assert.Empty(await ListAsync(client, "q=zanzibar"));

        // The index follows updates of the transcript (live turns replaced by the end-of-call report).
        await factory.WithDbAsync(tenant.Id, async db =>
        {
            var call = db.Calls.Single(c => c.Id == heater);
            call.TranscriptText = "User: Retour de Zanzibar, tout va bien.";
            return await db.SaveChangesAsync();
        });
        Assert.Equal([heater], await ListAsync(client, "q=zanzibar"));
        Assert.Empty(await ListAsync(client, "q=chauffe-eau"));
    }

    [Fact]
    public async Task KeysetPagesStayExactWhenCallsArriveBetweenPages()
    {
        var tenant = await factory.CreateTenantAsync();
        var original = new List<Guid>();
        for (var i = 0; i < 25; i++)
        {
            // Pairs share a creation time: the Id breaks the tie.
            original.Add(await AddCallAsync(tenant, T0.AddMinutes(i / 2)));
        }
        var client = factory.ApiClient(tenant);
        var expected = (await ListAsync(client, "")).ToList();
        Assert.Equal(original.ToHashSet(), expected.ToHashSet());

        var page1 = await client.GetFromJsonAsync<JsonObject>("/api/v1/calls?pageSize=10");
        for (var i = 0; i < 5; i++)
        {
            await AddCallAsync(tenant, T0.AddHours(1).AddMinutes(i)); // newer calls arrive
        }
        var page2 = await client.GetFromJsonAsync<JsonObject>($"/api/v1/calls?pageSize=10&cursor={page1!["nextCursor"]}");
        var page3 = await client.GetFromJsonAsync<JsonObject>($"/api/v1/calls?pageSize=10&cursor={page2!["nextCursor"]}");

        Assert.Equal(expected, Ids(page1).Concat(Ids(page2)).Concat(Ids(page3)).ToList());
        Assert.Null(page3!["nextCursor"]?.GetValue<string>());
        Assert.Null(page1["total"]?.GetValue<int>());
        var numbered = await client.GetFromJsonAsync<JsonObject>("/api/v1/calls?pageSize=10&page=3");
        Assert.Equal(30, numbered!["total"]!.GetValue<int>());
        Assert.Equal(3, numbered["page"]!.GetValue<int>());
    }

    [Fact]
    public async Task KeysetPagingWorksWithSearchAndFilters()
    {
        var tenant = await factory.CreateTenantAsync();
        var matching = new List<Guid>();
        for (var i = 0; i < 12; i++)
        {
            var id = await AddCallAsync(tenant, T0.AddMinutes(i), c => c.TranscriptText = i % 2 == 0 ? "Le drain est bouché" : "Bonjour");
            if (i % 2 == 0)
            {
                matching.Insert(0, id);
            }
        }
        var client = factory.ApiClient(tenant);
        var seen = new List<Guid>();
        string? cursor = null;
        do
        {
            var page = await client.GetFromJsonAsync<JsonObject>("/api/v1/calls?q=bouche&pageSize=4" + (cursor is null ? "" : "&cursor=" + cursor));
            seen.AddRange(Ids(page));
            cursor = page!["nextCursor"]?.GetValue<string>();
        }
        while (cursor is not null);
        Assert.Equal(matching, seen);
    }

    [Fact]
    public async Task CsvExportHasTheFilteredCallsInTheTenantsTimeZoneAndNeutralisesFormulas()
    {
        var tenant = await factory.CreateTenantAsync(); // America/Toronto
        await AddCallAsync(tenant, new DateTimeOffset(2026, 1, 15, 16, 0, 0, TimeSpan.Zero), c =>
        {
            c.Summary = "=HYPERLINK(\"http://evil\",\"click\")";
            c.CustomerNumber = "+15145550123";
        }, urgency: Urgency.Emergency);
        await AddCallAsync(tenant, new DateTimeOffset(2026, 7, 1, 16, 0, 0, TimeSpan.Zero), c =>
        {
            c.Summary = "Client \"pressé\", rappeler demain\nmerci";
            c.Channel = "web";
            c.Cost = 0.1234m;
        }, urgency: Urgency.Soon);
        await AddCallAsync(tenant, new DateTimeOffset(2026, 7, 2, 16, 0, 0, TimeSpan.Zero), c => c.Summary = "not exported");
        var client = factory.ApiClient(tenant);

        var response = await client.GetAsync("/api/v1/calls/export.csv?to=2026-07-01T23:00:00Z");
        var bytes = await response.Content.ReadAsByteArrayAsync();
        var csv = System.Text.Encoding.UTF8.GetString(bytes.AsSpan(3));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/csv", response.Content.Headers.ContentType!.MediaType);
        Assert.StartsWith("attachment;", response.Content.Headers.ContentDisposition!.ToString());
        Assert.Equal([0xEF, 0xBB, 0xBF], bytes[..3]);
        var lines = csv.Split("\r\n");
        Assert.Equal("id,createdAt,startedAt,endedAt,durationSeconds,channel,direction,provider,status,endedReason,urgency,customerNumber,businessNumber,cost,assistantId,summary,leadStatus,leadNotes,leadName,leadPhone,leadAddress,leadProblem", lines[0]);
        Assert.Contains(",2026-07-01T12:00:00-04:00,2026-07-01T12:00:00-04:00,2026-07-01T12:01:00-04:00,60,web,inbound,vapi,ended,,urgent,'+15145550000,,0.1234,,\"Client \"\"pressé\"\", rappeler demain\nmerci\"", csv);
        Assert.Contains(",2026-01-15T11:00:00-05:00,", csv);
        Assert.Contains(",emergency,'+15145550123,", csv);
        Assert.Contains(",\"'=HYPERLINK(\"\"http://evil\"\",\"\"click\"\")\"", csv);
        Assert.DoesNotContain("not exported", csv);
        Assert.Equal(4, lines.Length); // header, 2 rows (one spans two lines inside quotes), trailing empty
    }

    [Fact]
    public async Task CsvExportDropsBidirectionalOverridesFromCellsButKeepsDirectionMarks()
    {
        var tenant = await factory.CreateTenantAsync();
        await AddCallAsync(tenant, new DateTimeOffset(2026, 1, 15, 16, 0, 0, TimeSpan.Zero), c => c.Summary = "Invoice \u202Efdp.exe\u202C sent \u2067isolated\u2069 \u202Aa\u202B b\u202D");
        await AddCallAsync(tenant, new DateTimeOffset(2026, 1, 15, 17, 0, 0, TimeSpan.Zero), c => c.Summary = "\u2066=HYPERLINK(1)\u2069");
        await AddCallAsync(tenant, new DateTimeOffset(2026, 1, 15, 18, 0, 0, TimeSpan.Zero), c => c.Summary = "\u05E9\u05DC\u05D5\u05DD\u200F (514)\u200E ok");
        var client = factory.ApiClient(tenant);

        var csv = System.Text.Encoding.UTF8.GetString((await client.GetByteArrayAsync("/api/v1/calls/export.csv")).AsSpan(3));

        Assert.Contains(",Invoice fdp.exe sent isolated a b,", csv);
        Assert.Contains(",'=HYPERLINK(1),", csv); // a control in front does not hide the formula from the neutralising quote
        Assert.Contains(",\u05E9\u05DC\u05D5\u05DD\u200F (514)\u200E ok,", csv);
        foreach (var control in "\u202A\u202B\u202C\u202D\u202E\u2066\u2067\u2068\u2069")
        {
            Assert.DoesNotContain(control, csv);
        }
    }

    [Fact]
    public async Task CallDetailHasPerTurnLatencyWebhookEventsAndRawEvents()
    {
        var tenant = await factory.CreateTenantAsync();
        var id = await AddCallAsync(tenant, T0, c => { c.Provider = "twilio"; c.AssistantId = Guid.NewGuid(); c.GreetingLatencyMs = 420; c.Language = "fr-CA"; });
        await factory.WithDbAsync(tenant.Id, async db =>
        {
            db.TranscriptTurns.Add(new TranscriptTurn { Id = Guid.NewGuid(), TenantId = tenant.Id, CallId = id, Seq = 0, Role = "user", Text = "Allô", SecondsFromStart = 1.5, At = T0.AddSeconds(1.5) });
            db.TranscriptTurns.Add(new TranscriptTurn
            {
                Id = Guid.NewGuid(), TenantId = tenant.Id, CallId = id, Seq = 1, Role = "assistant", Text = "Bonjour!", SecondsFromStart = 2.25, At = T0.AddSeconds(2.25),
                ProviderLatencyMs = 640.5, BridgeLatencyMs = 1.25,
            });
            db.CallEvents.Add(new CallEvent { Id = Guid.NewGuid(), TenantId = tenant.Id, CallId = id, Provider = "twilio", Type = "start", IdempotencyKey = "k1", PayloadJson = """{"event":"start","streamSid":"MZ1"}""", ReceivedAt = T0 });
            var evt = new WebhookEvent { Id = Guid.NewGuid(), TenantId = tenant.Id, MessageId = "msg_1", Type = "call.ended", PayloadJson = "{}", CreatedAt = T0.AddMinutes(1), CallId = id };
            db.WebhookEvents.Add(evt);
            db.WebhookEvents.Add(new WebhookEvent { Id = Guid.NewGuid(), TenantId = tenant.Id, MessageId = "msg_2", Type = "call.ended", PayloadJson = "{}", CreatedAt = T0 }); // another call's
            db.WebhookDeliveries.Add(new WebhookDelivery { Id = Guid.NewGuid(), TenantId = tenant.Id, EndpointId = Guid.NewGuid(), EventId = evt.Id, EventType = "call.ended", Status = "succeeded", CreatedAt = T0 });
            return await db.SaveChangesAsync();
        });
        var client = factory.ApiClient(tenant);

        var detail = await client.GetFromJsonAsync<JsonObject>($"/api/v1/calls/{id}");

        var turns = detail!["transcript"]!.AsArray();
        Assert.Equal(1.5, turns[0]!["secondsFromStart"]!.GetValue<double>());
        Assert.Null(turns[0]!["latencyMs"]);
        Assert.Equal(641.75, turns[1]!["latencyMs"]!.GetValue<double>());
        Assert.Equal(640.5, turns[1]!["providerLatencyMs"]!.GetValue<double>());
        Assert.Equal(1.25, turns[1]!["bridgeLatencyMs"]!.GetValue<double>());
        var hook = Assert.Single(detail["webhookEvents"]!.AsArray());
        Assert.Equal("call.ended", hook!["type"]!.GetValue<string>());
        Assert.Equal("succeeded", hook["deliveryStatus"]!.GetValue<string>());
        var raw = Assert.Single(detail["rawEvents"]!.AsArray());
        Assert.Equal("MZ1", raw!["body"]!["streamSid"]!.GetValue<string>());
        Assert.Equal(420, detail["greetingLatencyMs"]!.GetValue<double>());
    }

    [Fact]
    public async Task EndOfCallReportRecordsItsWebhookEventsOnTheCall()
    {
        var tenant = await factory.CreateTenantAsync();
        await factory.WithDbAsync(tenant.Id, async db =>
        {
            db.WebhookEndpoints.Add(new WebhookEndpoint { Id = Guid.NewGuid(), TenantId = tenant.Id, Url = "https://hooks.example/x", SecretProtected = "x", Enabled = true, CreatedAt = T0 });
            return await db.SaveChangesAsync();
        });
        await factory.PostVapiAsync(tenant, VapiWebhookTests.EndOfCallReport("call-hooks", "Basement flooded.", "My basement is flooded!"));
        var client = factory.ApiClient(tenant);
        var id = (await ListAsync(client, ""))[0];

        var detail = await client.GetFromJsonAsync<JsonObject>($"/api/v1/calls/{id}");

        var types = detail!["webhookEvents"]!.AsArray().Select(e => e!["type"]!.GetValue<string>()).ToList();
        Assert.Contains("call.ended", types);
        Assert.Contains("lead.created", types);
        Assert.All(detail["webhookEvents"]!.AsArray(), e => Assert.Equal("pending", e!["deliveryStatus"]!.GetValue<string>()));
        Assert.NotEmpty(detail["rawEvents"]!.AsArray());
    }

    [Fact]
    public async Task AnotherTenantsCallsNeverShowInListsSearchExportOrDetail()
    {
        var mine = await factory.CreateTenantAsync();
        var theirs = await factory.CreateTenantAsync("Other Co");
        await AddCallAsync(mine, T0, c => c.TranscriptText = "rien");
        var theirId = await AddCallAsync(theirs, T0, c => { c.TranscriptText = "secret inondation"; c.CustomerNumber = "+18195559876"; c.EndedReason = "voicemail"; }, urgency: Urgency.Emergency);
        var client = factory.ApiClient(mine);

        Assert.Single(await ListAsync(client, ""));
        Assert.Empty(await ListAsync(client, "q=inondation"));
        Assert.Empty(await ListAsync(client, "number=8195559876"));
        Assert.Empty(await ListAsync(client, "urgency=emergency"));
        Assert.Empty(await ListAsync(client, "endedReason=voicemail"));
        Assert.DoesNotContain(theirId.ToString(), await client.GetStringAsync("/api/v1/calls/export.csv"));
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/api/v1/calls/{theirId}")).StatusCode);
        var analytics = await client.GetFromJsonAsync<JsonObject>("/api/v1/analytics?from=2026-09-30&to=2026-10-02");
        Assert.Equal(1, analytics!["totals"]!["calls"]!.GetValue<int>());
        Assert.Equal(0, analytics["urgencyMix"]!["emergency"]!.GetValue<int>());
        // A cursor made from their call does not reveal it either.
        var cursor = CallCursor.Encode(T0.AddSeconds(1), Guid.Empty);
        Assert.Single(await ListAsync(client, "cursor=" + cursor));
    }

    [Theory]
    [InlineData("/api/v1/calls?urgency=bogus", 422, "INVALID_FILTER")]
    [InlineData("/api/v1/calls?channel=fax", 422, "INVALID_FILTER")]
    [InlineData("/api/v1/calls?direction=sideways", 422, "INVALID_FILTER")]
    [InlineData("/api/v1/calls?from=2026-10-02T00:00:00Z&to=2026-10-01T00:00:00Z", 422, "INVALID_RANGE")]
    [InlineData("/api/v1/calls?minDuration=10&maxDuration=5", 422, "INVALID_RANGE")]
    [InlineData("/api/v1/calls?minDuration=-1", 422, "INVALID_FILTER")]
    [InlineData("/api/v1/calls?number=12", 422, "INVALID_FILTER")]
    [InlineData("/api/v1/calls?cursor=not-a-cursor", 422, "INVALID_CURSOR")]
    [InlineData("/api/v1/calls?cursor=djE6MTIzOnh5eg", 422, "INVALID_CURSOR")]
    [InlineData("/api/v1/calls?cursor=djE6MTIzOnh5eg&page=2", 422, "INVALID_PAGE")]
    [InlineData("/api/v1/calls?pageSize=0", 422, "INVALID_PAGE_SIZE")]
    [InlineData("/api/v1/calls?pageSize=101", 422, "INVALID_PAGE_SIZE")]
    [InlineData("/api/v1/calls?from=yesterday", 400, null)]
    [InlineData("/api/v1/calls?hasRecording=maybe", 400, null)]
    [InlineData("/api/v1/calls?assistantId=xyz", 400, null)]
    [InlineData("/api/v1/calls?minDuration=abc", 400, null)]
    [InlineData("/api/v1/calls/export.csv?urgency=bogus", 422, "INVALID_FILTER")]
    [InlineData("/api/v1/analytics?tz=Mars/Olympus_Mons", 422, "INVALID_TIME_ZONE")]
    [InlineData("/api/v1/analytics?from=2026-10-02&to=2026-10-01", 422, "INVALID_RANGE")]
    [InlineData("/api/v1/analytics?from=2020-01-01&to=2026-10-01", 422, "INVALID_RANGE")]
    [InlineData("/api/v1/analytics?from=2026-13-45", 400, null)]
    public async Task BadInputIsAnEnvelopeAndNeverAServerError(string url, int status, string? code)
    {
        var tenant = await factory.CreateTenantAsync();
        var client = factory.ApiClient(tenant);

        var response = await client.GetAsync(url);

        Assert.Equal(status, (int)response.StatusCode);
        var error = await VapiWebhookTests.ErrorOf(response);
        Assert.False(string.IsNullOrEmpty(error["code"]!.GetValue<string>()));
        if (code is not null)
        {
            Assert.Equal(code, error["code"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task ReadSideEndpointsNeedAuthentication()
    {
        var anonymous = factory.CreateClient();
        foreach (var url in new[] { "/api/v1/calls?q=x", "/api/v1/calls/export.csv", "/api/v1/analytics" })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(url)).StatusCode);
        }
    }
}
