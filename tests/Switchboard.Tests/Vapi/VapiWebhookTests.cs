using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Switchboard.Platform;
using Switchboard.Tests.Support;
using Switchboard.Vapi;

namespace Switchboard.Tests.Vapi;

[Trait("Category", "Database")]
public sealed class VapiWebhookTests(SwitchboardFactory factory) : IClassFixture<SwitchboardFactory>
{
    private static readonly string[] RequestResponseTypes = ["assistant-request", "tool-calls", "function-call"];

    public static TheoryData<string> VapiFixtures()
    {
        var data = new TheoryData<string>();
        var dir = Fixtures.PathOf("vapi");
        foreach (var file in Directory.GetFiles(dir).Where(f => f.EndsWith(".json") || f.EndsWith(".jsonc")).Order())
        {
            data.Add(Path.GetFileName(file));
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(VapiFixtures))]
    public async Task EveryVapiFixtureIsAcceptedWithTheRightReply(string file)
    {
        var tenant = await factory.CreateTenantAsync();
        var json = Jsonc.ToStrictJson(Fixtures.ReadText("vapi/" + file));
        var type = JsonNode.Parse(json)!["message"]!["type"]!.GetValue<string>();

        var response = await factory.PostVapiAsync(tenant, json);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var reply = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
        switch (type)
        {
            case "assistant-request":
                Assert.True(reply.ContainsKey("assistant") || reply.ContainsKey("assistantId"), reply.ToJsonString());
                Assert.Equal("Paul", reply["assistant"]?["name"]?.GetValue<string>());
                break;
            case "tool-calls":
                var results = reply["results"]!.AsArray();
                Assert.NotEmpty(results);
                Assert.All(results, r => Assert.False(string.IsNullOrEmpty(r!["toolCallId"]!.GetValue<string>())));
                // The fixtures call tools Switchboard does not have: each gets an error result, not an HTTP error.
                Assert.All(results, r => Assert.Contains("Unknown tool", r!["error"]!.GetValue<string>()));
                break;
            case "function-call":
                Assert.Contains("Unknown tool", reply["result"]!.GetValue<string>());
                break;
            case "transfer-destination-request":
                Assert.NotNull(reply["error"]);
                break;
            case "knowledge-base-request":
                Assert.NotNull(reply["documents"]);
                break;
            case "call.endpointing.request":
                Assert.NotNull(reply["timeoutSeconds"]);
                break;
            default:
                Assert.True(reply["ok"]!.GetValue<bool>());
                break;
        }
        var stored = await factory.WithDbAsync(tenant.Id, db => db.CallEvents.CountAsync(e => e.Type == type));
        Assert.Equal(1, stored);
    }

    [Fact]
    public async Task RealJuly2024EndOfCallReportYieldsCallWithTranscriptRecordingSummaryAndDuration()
    {
        var tenant = await factory.CreateTenantAsync();
        var json = Fixtures.ReadText("vapi/end-of-call-report.2024-07.json");

        var response = await factory.PostVapiAsync(tenant, json);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var client = factory.ApiClient(tenant);
        var list = await client.GetFromJsonAsync<JsonObject>("/api/v1/calls");
        var item = Assert.Single(list!["items"]!.AsArray());
        var detail = await client.GetFromJsonAsync<JsonObject>($"/api/v1/calls/{item!["id"]}");
        Assert.Equal("b1223960-1b4d-4585-91b8-a69b0f57ec2f", detail!["providerCallId"]!.GetValue<string>());
        Assert.Equal("ended", detail["status"]!.GetValue<string>());
        Assert.Equal("customer-ended-call", detail["endedReason"]!.GetValue<string>());
        Assert.Equal("CAddff8dcc320080e68c5f1ecf0c97ab23", detail["callSid"]!.GetValue<string>());
        Assert.Equal("+14566836490", detail["customerNumber"]!.GetValue<string>());
        // The recording is proxied by the host (GET /api/v1/calls/{id}/recording); the provider URL stays server-side.
        Assert.Equal($"/api/v1/calls/{item!["id"]}/recording", detail["recordingUrl"]!.GetValue<string>());
        Assert.Null(detail["stereoRecordingUrl"]);
        var stored = await factory.WithDbAsync(tenant.Id, db => db.Calls.Select(c => c.RecordingUrl).SingleAsync());
        Assert.StartsWith("https://auth.vapi.ai/storage/v1/object/public/recordings/b2d2c06d", stored);
        Assert.StartsWith("The user inquired about the weather", detail["summary"]!.GetValue<string>());
        Assert.Equal("true", detail["successEvaluation"]!.GetValue<string>());
        // First message at 1722115407145 ms, last endTime at 1722115441231 ms.
        Assert.Equal(34.086, detail["durationSeconds"]!.GetValue<double>(), 3);
        var turns = detail["transcript"]!.AsArray();
        Assert.Equal(15, turns.Count); // 17 messages less the 2 system prompts
        Assert.Equal("assistant", turns[0]!["role"]!.GetValue<string>());
        Assert.Equal("Hi there. I'm assistant 1.", turns[0]!["text"]!.GetValue<string>());
        Assert.Equal("user", turns[1]!["role"]!.GetValue<string>());
        Assert.Contains(turns, t => t!["role"]!.GetValue<string>() == "tool_call" && t["text"]!.GetValue<string>().Contains("getWeatherByCity_001"));
        Assert.NotNull(detail["lead"]);
        Assert.Equal("+14566836490", detail["lead"]!["phone"]!.GetValue<string>());

        // The squad hands the call to assistant 2, whose secondsFromStart restart at 0: its turns are placed after the first's
        // (the handoff's system prompt is at 1722115426039 ms, 18.894 s after the first message), never back at 1.12 s.
        var seconds = turns.Select(t => t!["secondsFromStart"]!.GetValue<double>()).ToList();
        Assert.Equal(seconds.Order(), seconds);
        var second = turns.Single(t => t!["text"]!.GetValue<string>() == "Hi there. I'm assistant 2.")!;
        Assert.Equal(18.894 + 1.12, second["secondsFromStart"]!.GetValue<double>(), 3);
        Assert.Equal(1.52, turns[0]!["secondsFromStart"]!.GetValue<double>(), 3);
    }

    [Fact]
    public async Task ReplayingAMessageChangesNothing()
    {
        var tenant = await factory.CreateTenantAsync();
        var json = Fixtures.ReadText("vapi/end-of-call-report.2024-07.json");

        var first = await factory.PostVapiAsync(tenant, json);
        var snapshot = await Counts(tenant.Id);
        var second = await factory.PostVapiAsync(tenant, json);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(snapshot, await Counts(tenant.Id));
        Assert.Equal(1, snapshot.Calls);
        Assert.Equal(1, snapshot.Events);
    }

    [Fact]
    public async Task MessagesOutOfOrderNeverMoveACallBackwards()
    {
        var tenant = await factory.CreateTenantAsync();
        var callId = Guid.NewGuid().ToString();
        await factory.PostVapiAsync(tenant, EndOfCallReport(callId, "The caller asked for a quote.", "Hi, I'd like a quote for a new water heater."));
        var late = await factory.PostVapiAsync(tenant, """{"message":{"type":"status-update","status":"in-progress","timestamp":1749546450909,"call":{"id":"CALLID"}}}""".Replace("CALLID", callId));
        var lateTranscript = await factory.PostVapiAsync(tenant, """{"message":{"type":"transcript","role":"user","transcriptType":"final","transcript":"late words","call":{"id":"CALLID"}}}""".Replace("CALLID", callId));

        Assert.Equal(HttpStatusCode.OK, late.StatusCode);
        Assert.Equal(HttpStatusCode.OK, lateTranscript.StatusCode);
        var call = await factory.WithDbAsync(tenant.Id, db => db.Calls.SingleAsync());
        Assert.Equal("ended", call.Status);
        var texts = await factory.WithDbAsync(tenant.Id, db => db.TranscriptTurns.Select(t => t.Text).ToListAsync());
        Assert.DoesNotContain("late words", texts);
    }

    [Fact]
    public async Task LiveMessagesBuildTheCallBeforeTheReport()
    {
        var tenant = await factory.CreateTenantAsync();
        var callId = Guid.NewGuid().ToString();
        await factory.PostVapiAsync(tenant, """{"message":{"type":"status-update","status":"ringing","timestamp":"2024-07-25T18:53:47.736Z","call":{"id":"CALLID","type":"inboundPhoneCall","customer":{"number":"+15145551234"}}}}""".Replace("CALLID", callId));
        await factory.PostVapiAsync(tenant, """{"message":{"type":"status-update","status":"in-progress","timestamp":1749546450909,"call":{"id":"CALLID"}}}""".Replace("CALLID", callId));
        await factory.PostVapiAsync(tenant, """{"message":{"type":"transcript","role":"assistant","transcriptType":"final","transcript":"Drain Fortin, bonjour!","call":{"id":"CALLID"}}}""".Replace("CALLID", callId));
        await factory.PostVapiAsync(tenant, """{"message":{"type":"transcript","role":"user","transcriptType":"partial","transcript":"J'ai un","call":{"id":"CALLID"}}}""".Replace("CALLID", callId));
        await factory.PostVapiAsync(tenant, """{"message":{"type":"transcript","role":"user","transcriptType":"final","transcript":"J'ai un problème de drain.","call":{"id":"CALLID"}}}""".Replace("CALLID", callId));
        await factory.PostVapiAsync(tenant, """{"message":{"type":"hang","call":{"id":"CALLID"}}}""".Replace("CALLID", callId));

        var call = await factory.WithDbAsync(tenant.Id, db => db.Calls.SingleAsync());
        var turns = await factory.WithDbAsync(tenant.Id, db => db.TranscriptTurns.OrderBy(t => t.Seq).Select(t => t.Role + ":" + t.Text).ToListAsync());
        Assert.Equal("in-progress", call.Status);
        Assert.Equal("+15145551234", call.CustomerNumber);
        Assert.Equal(["assistant:Drain Fortin, bonjour!", "user:J'ai un problème de drain."], turns);
    }

    [Fact]
    public async Task ATranscriptSnapshotKeepsTheTurnsItRepeatsAndRewritesFromTheFirstThatDiffers()
    {
        var tenant = await factory.CreateTenantAsync();
        var callId = Guid.NewGuid().ToString();
        static string Message(string role, string text, int second) =>
            $$"""{"role":"{{role}}","message":"{{text}}","time":{{1749546450000 + second * 1000}},"secondsFromStart":{{second}}.5}""";
        string Snapshot(params string[] messages) =>
            $$$"""{"message":{"type":"conversation-update","call":{"id":"{{{callId}}}"},"messages":[{"role":"system","message":"You are Paul."},{{{string.Join(',', messages)}}}]}}""";
        async Task<List<(int Seq, Guid Id, string Text, double? Seconds)>> TurnsAsync() => (await factory.WithDbAsync(tenant.Id, db => db.TranscriptTurns
            .Where(t => db.Calls.Any(c => c.Id == t.CallId && c.ProviderCallId == callId)).OrderBy(t => t.Seq).Select(t => new { t.Seq, t.Id, t.Text, t.SecondsFromStart }).ToListAsync()))
            .Select(t => (t.Seq, t.Id, t.Text, t.SecondsFromStart)).ToList();
        var hello = Message("bot", "Drain Fortin, bonjour!", 1);
        var problem = Message("user", "J'ai un problème", 3);

        Assert.Equal(HttpStatusCode.OK, (await factory.PostVapiAsync(tenant, Snapshot(hello, problem))).StatusCode);
        var first = await TurnsAsync();
        // Snapshots grow: the next one repeats the first two turns and adds two.
        Assert.Equal(HttpStatusCode.OK, (await factory.PostVapiAsync(tenant, Snapshot(hello, problem, Message("bot", "Quelle est votre adresse?", 5), Message("user", "12 rue des Érables", 7)))).StatusCode);
        var grown = await TurnsAsync();
        // A later one says the second turn differently (the speech-to-text revised it): from there on it is written again.
        Assert.Equal(HttpStatusCode.OK, (await factory.PostVapiAsync(tenant, Snapshot(hello, Message("user", "J'ai un problème de drain", 3), Message("bot", "Quelle est votre adresse?", 5), Message("user", "12 rue des Érables", 7), Message("bot", "Merci!", 9)))).StatusCode);
        var revised = await TurnsAsync();

        Assert.Equal([0, 1], first.Select(t => t.Seq));
        Assert.Equal(["Drain Fortin, bonjour!", "J'ai un problème", "Quelle est votre adresse?", "12 rue des Érables"], grown.Select(t => t.Text));
        Assert.Equal([0, 1, 2, 3], grown.Select(t => t.Seq));
        Assert.Equal(first.Select(t => t.Id), grown.Take(2).Select(t => t.Id)); // the repeated turns were not rewritten
        Assert.Equal(["Drain Fortin, bonjour!", "J'ai un problème de drain", "Quelle est votre adresse?", "12 rue des Érables", "Merci!"], revised.Select(t => t.Text));
        Assert.Equal([0, 1, 2, 3, 4], revised.Select(t => t.Seq));
        Assert.Equal([1.5, 3.5, 5.5, 7.5, 9.5], revised.Select(t => t.Seconds));
        Assert.Equal(grown[0].Id, revised[0].Id);
        Assert.All(revised.Skip(1), t => Assert.DoesNotContain(t.Id, grown.Select(g => g.Id))); // rewritten from the first that differs

        // An older, shorter snapshot arriving late changes nothing.
        Assert.Equal(HttpStatusCode.OK, (await factory.PostVapiAsync(tenant, Snapshot(hello))).StatusCode);
        Assert.Equal(revised, await TurnsAsync());
    }

    [Fact]
    public async Task ToolCallsAreAnsweredWithResultsForBuiltInToolsAndErrorsForUnknownOnes()
    {
        var tenant = await factory.CreateTenantAsync();
        var callId = Guid.NewGuid().ToString();
        var json = """
        {"message":{"type":"tool-calls","call":{"id":"CALLID","customer":{"number":"+15145550000"}},
          "toolCallList":[
            {"id":"call_a","type":"function","function":{"name":"capture_lead","arguments":{"name":"Marie Tremblay","phone":"+15145557777","address":"12 rue des Érables, Laval","problem":"Mon sous-sol est inondé","urgency":"routine"}}},
            {"id":"call_b","type":"function","function":{"name":"check_business_hours","arguments":"{}"}},
            {"id":"call_c","type":"function","function":{"name":"book_flight","arguments":"{\"to\":\"YUL\"}"}}
          ]}}
        """.Replace("CALLID", callId);

        var response = await factory.PostVapiAsync(tenant, json);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var results = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["results"]!.AsArray();
        Assert.Equal(["call_a", "call_b", "call_c"], results.Select(r => r!["toolCallId"]!.GetValue<string>()));
        var captured = JsonNode.Parse(results[0]!["result"]!.GetValue<string>())!;
        Assert.Equal("emergency", captured["urgency"]!.GetValue<string>()); // "inondé" outranks the declared "routine"
        var hours = JsonNode.Parse(results[1]!["result"]!.GetValue<string>())!;
        Assert.True(hours["open"]!.GetValue<bool>()); // Wednesday 10:00 in Montréal
        Assert.Equal("Unknown tool 'book_flight'.", results[2]!["error"]!.GetValue<string>());
        var lead = await factory.WithDbAsync(tenant.Id, db => db.Leads.SingleAsync());
        Assert.Equal("Marie Tremblay", lead.Name);
        Assert.Equal("+15145557777", lead.Phone);
        var sms = await factory.WithDbAsync(tenant.Id, db => db.SmsMessages.SingleAsync());
        Assert.Equal("emergency-alert", sms.Purpose);
        Assert.Equal("+15145550111", sms.To);
    }

    [Fact]
    public async Task RealToolCallsPayloadWithObjectArgumentsIsAnswered()
    {
        var tenant = await factory.CreateTenantAsync();
        var json = Fixtures.ReadText("vapi/tool-calls.json").Replace("getWeatherByCity_001", "check_business_hours");

        var response = await factory.PostVapiAsync(tenant, json);

        var result = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["results"]![0]!;
        Assert.Equal("call_51kj", result["toolCallId"]!.GetValue<string>());
        Assert.Equal("check_business_hours", result["name"]!.GetValue<string>());
        Assert.NotNull(result["result"]);
    }

    /// <summary>
    /// The transient assistant asks Vapi for its call summary in the business's language: with Vapi's default (English) prompt,
    /// a French call's summary became the English "Problème" line of a French SMS to the on-call plumber (an outside probe).
    /// </summary>
    [Fact]
    public async Task AssistantRequestAsksForTheSummaryInTheBusinesssLanguage()
    {
        var tenant = await factory.CreateTenantAsync();
        await factory.WithDbAsync(tenant.Id, async db =>
        {
            var paul = await db.Assistants.SingleAsync();
            paul.Languages = ["fr-CA", "en-US"];
            paul.VapiAssistantId = null;
            return await db.SaveChangesAsync();
        });

        var response = await factory.PostVapiAsync(tenant, """{"message":{"type":"assistant-request","call":{"id":"c-summary"}}}""");

        var plan = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["assistant"]!["analysisPlan"]!["summaryPlan"]!;
        var messages = plan["messages"]!.AsArray();
        Assert.Contains("Write the summary in French (Canada)", messages[0]!["content"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("{{transcript}}", messages[1]!["content"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AssistantRequestAnswersWithTheVapiAssistantIdWhenManagedThere()
    {
        var tenant = await factory.CreateTenantAsync();
        await factory.WithDbAsync(tenant.Id, async db =>
        {
            var paul = await db.Assistants.SingleAsync();
            paul.VapiAssistantId = "asst_paul_123";
            return await db.SaveChangesAsync();
        });
        var watch = System.Diagnostics.Stopwatch.StartNew();

        var response = await factory.PostVapiAsync(tenant, """{"message":{"type":"assistant-request","call":{"id":"c-1"}}}""");

        Assert.Equal("""{"assistantId":"asst_paul_123"}""", await response.Content.ReadAsStringAsync());
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(7.5));
    }

    [Fact]
    public async Task UnknownMessageTypesAreStoredAndAcknowledged()
    {
        var tenant = await factory.CreateTenantAsync();

        var response = await factory.PostVapiAsync(tenant, """{"message":{"type":"something-new-2027","payload":{"x":1}}}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("""{"ok":true}""", await response.Content.ReadAsStringAsync());
        Assert.Equal(1, await factory.WithDbAsync(tenant.Id, db => db.CallEvents.CountAsync(e => e.Type == "something-new-2027")));
    }

    [Fact]
    public async Task AnUnknownMessageTypeOfANewCallIsStoredWithoutCreatingAPhantomCall()
    {
        var tenant = await factory.CreateTenantAsync();
        var callId = Guid.NewGuid().ToString();
        string Message(string type, string extra = "") =>
            """{"message":{"type":"TYPE"EXTRA,"call":{"id":"CALLID","type":"inboundPhoneCall","customer":{"number":"+15145551234"}}}}"""
                .Replace("TYPE", type).Replace("EXTRA", extra).Replace("CALLID", callId);

        // A type Switchboard does not know, and a lifecycle type that is not about a live call, each for a call not stored yet.
        var unknown = await factory.PostVapiAsync(tenant, Message("something-new-2027"));
        var deleted = await factory.PostVapiAsync(tenant, Message("call.deleted"));

        Assert.Equal("""{"ok":true}""", await unknown.Content.ReadAsStringAsync());
        Assert.Equal("""{"ok":true}""", await deleted.Content.ReadAsStringAsync());
        var (calls, orphanEvents) = await factory.WithDbAsync(tenant.Id, async db =>
            (await db.Calls.CountAsync(c => c.ProviderCallId == callId), await db.CallEvents.CountAsync(e => e.CallId == null)));
        Assert.Equal(0, calls); // was 1: a call in "queued" that nothing would ever end
        Assert.Equal(2, orphanEvents);

        // A message that describes the call creates it; an unknown type after that is attached to it.
        await factory.PostVapiAsync(tenant, Message("status-update", ""","status":"ringing" """.Trim()));
        await factory.PostVapiAsync(tenant, Message("something-newer-2027"));

        var (call, attached) = await factory.WithDbAsync(tenant.Id, async db =>
        {
            var c = await db.Calls.SingleAsync(c => c.ProviderCallId == callId);
            return (c, await db.CallEvents.Where(e => e.CallId == c.Id).Select(e => e.Type).OrderBy(t => t).ToListAsync());
        });
        Assert.Equal("ringing", call.Status);
        Assert.Equal(["something-newer-2027", "status-update"], attached);
    }

    [Fact]
    public async Task UnknownTenantAnswersLikeAWrongSignatureSoTenantIdsCannotBeProbed()
    {
        var tenant = await factory.CreateTenantAsync();
        using var client = factory.CreateClient();
        async Task<(HttpStatusCode Status, string Body)> PostAsync(string id, string? secret)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"/webhooks/vapi/{id}")
            {
                Content = new StringContent("{}", System.Text.Encoding.UTF8, "application/json"),
            };
            if (secret is not null)
            {
                request.Headers.Add("X-Vapi-Secret", secret);
            }
            var response = await client.SendAsync(request);
            var error = await ErrorOf(response);
            error.Remove("traceId"); // differs per request
            return (response.StatusCode, error.ToJsonString());
        }

        foreach (var secret in new[] { "x", null })
        {
            var knownId = await PostAsync(tenant.Id.ToString(), secret);
            var unknownId = await PostAsync(Guid.NewGuid().ToString(), secret);
            var notAGuid = await PostAsync("not-a-tenant", secret);
            Assert.Equal(HttpStatusCode.Unauthorized, knownId.Status);
            Assert.Equal(knownId, unknownId);
            Assert.Equal(knownId, notAGuid);
        }
        Assert.Contains("INVALID_SIGNATURE", (await PostAsync(Guid.NewGuid().ToString(), "x")).Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MalformedJsonIsABadRequestAndStoresNothing()
    {
        var tenant = await factory.CreateTenantAsync();

        var response = await factory.PostVapiAsync(tenant, """{"message":{"type":"hang",""");
        var shapeless = await factory.PostVapiAsync(tenant, """{"msg":{}}""");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("MALFORMED_JSON", (await ErrorOf(response))["code"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.UnprocessableEntity, shapeless.StatusCode);
        Assert.Equal("INVALID_PAYLOAD", (await ErrorOf(shapeless))["code"]!.GetValue<string>());
        Assert.Equal(0, await factory.WithDbAsync(tenant.Id, db => db.CallEvents.CountAsync()));
    }

    /// <summary>The webhook's default body limit (<see cref="VapiOptions.MaxBodyBytes"/>).</summary>
    private static readonly int MaxBody = new VapiOptions().MaxBodyBytes;

    /// <summary>
    /// A long call's end-of-call report, past the former 2 MiB limit (an outside probe's 2.6 MB report was refused 413, and
    /// the call, its lead and its emergency text were lost: Vapi does not resend), is stored whole.
    /// </summary>
    [Fact]
    public async Task ALongCallsEndOfCallReportPastTwoMebibytesIsStoredWithItsLead()
    {
        var tenant = await factory.CreateTenantAsync();
        var callId = Guid.NewGuid().ToString();
        var chatter = "Pis là, le gars m'a dit que c'était correct, mais moi je trouvais pas ça normal pantoute, fait que j'ai rappelé. ";
        var turns = new[] { "Bonjour, c'est Marc Tremblay, mon sous-sol est inondé, au 12 rue Principale à Laval." }
            .Concat(Enumerable.Range(0, 1_400).Select(i => $"{i}: " + string.Concat(Enumerable.Repeat(chatter, 16)))).ToArray();
        var json = EndOfCallReport(callId, "Sous-sol inondé chez Marc Tremblay.", turns);
        Assert.InRange(Encoding.UTF8.GetByteCount(json), 2_600_000, MaxBody);

        var response = await factory.PostVapiAsync(tenant, json);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var (calls, leads, turnsStored) = await factory.WithDbAsync(tenant.Id, async db =>
            (await db.Calls.CountAsync(c => c.ProviderCallId == callId), await db.Leads.CountAsync(), await db.TranscriptTurns.CountAsync()));
        Assert.Equal((1, 1), (calls, leads));
        Assert.True(turnsStored > 2_800, $"{turnsStored} transcript turns stored");
    }

    [Fact]
    public async Task BodyOverTheLimitIsRejectedWith413()
    {
        var tenant = await factory.CreateTenantAsync();
        var huge = """{"message":{"type":"transcript","transcript":""" + "\"" + new string('a', MaxBody + 10) + "\"}}";

        var response = await factory.PostVapiAsync(tenant, huge);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("PAYLOAD_TOO_LARGE", (await ErrorOf(response))["code"]!.GetValue<string>());
    }

    /// <summary>
    /// A body sent without <c>Content-Length</c> (chunked) is read to its end like one with it, and refused once past the
    /// limit: the webhook reads a sized body straight into an array of that size, and only an unsized one through a buffer.
    /// </summary>
    [Fact]
    public async Task ABodyWithoutAContentLengthIsReadWholeAndStillLimited()
    {
        var tenant = await factory.CreateTenantAsync();
        async Task<HttpResponseMessage> PostChunkedAsync(string json)
        {
            var body = Encoding.UTF8.GetBytes(json);
            using var request = new HttpRequestMessage(HttpMethod.Post, $"/webhooks/vapi/{tenant.Id}")
            {
                Content = new StreamContent(new ChunkedStream(body)) { Headers = { ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json") } },
            };
            request.Headers.Add("x-vapi-signature", "sha256=" + VapiSignatureVerifier.Sign(body, tenant.WebhookSecret));
            return await factory.CreateClient().SendAsync(request);
        }
        var padding = new string('a', 40_000); // past the 16 KB the buffer starts with

        var stored = await PostChunkedAsync("{\"message\":{\"type\":\"hang\",\"note\":\"" + padding + "\"}}");
        var huge = await PostChunkedAsync("{\"message\":{\"type\":\"hang\",\"note\":\"" + new string('a', MaxBody + 10) + "\"}}");

        Assert.Equal(HttpStatusCode.OK, stored.StatusCode);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, huge.StatusCode);
        var payloads = await factory.WithDbAsync(tenant.Id, db => db.CallEvents.Select(e => e.PayloadJson).ToListAsync());
        Assert.Contains(padding, Assert.Single(payloads));
    }

    /// <summary>A stream of unknown length handing out at most 7,000 bytes per read, so its content goes out chunked.</summary>
    private sealed class ChunkedStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;

        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, 7000));

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(buffer.Length, 7000)], cancellationToken);
    }

    [Fact]
    public async Task CorsPreflightIsAnsweredForConfiguredOrigins()
    {
        var tenant = await factory.CreateTenantAsync();
        using var request = new HttpRequestMessage(HttpMethod.Options, $"/webhooks/vapi/{tenant.Id}");
        request.Headers.Add("Origin", "https://dashboard.vapi.ai");
        request.Headers.Add("Access-Control-Request-Method", "POST");
        request.Headers.Add("Access-Control-Request-Headers", "content-type,x-vapi-signature");

        var response = await factory.CreateClient().SendAsync(request);

        Assert.True(response.IsSuccessStatusCode);
        Assert.Equal("https://dashboard.vapi.ai", response.Headers.GetValues("Access-Control-Allow-Origin").Single());
    }

    internal static async Task<JsonObject> ErrorOf(HttpResponseMessage response)
    {
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
        return body["error"]!.AsObject();
    }

    [Fact]
    public async Task EndOfCallReportLeadCarriesTheNameAndAddressTheCallerSaid()
    {
        var tenant = await factory.CreateTenantAsync();

        await factory.PostVapiAsync(tenant, EndOfCallReport("call-said-details", "Sous-sol inondé à Laval.",
            "Bonjour, c'est Marie Tremblay, j'habite au 1234 rue Principale à Laval, mon sous-sol est inondé", "Oui, c'est ça, merci."));
        await factory.PostVapiAsync(tenant, EndOfCallReport("call-said-details-en", "Leaking water heater.",
            "Hi, my name is John Smith, I'm at 55 King Street West", "The water heater is leaking."));

        var leads = await factory.WithDbAsync(tenant.Id, db => db.Leads.OrderBy(l => l.Name).ToListAsync());
        Assert.Equal([("John Smith", "55 King Street West", "+15145559876"), ("Marie Tremblay", "1234 rue Principale à Laval", "+15145559876")],
            leads.Select(l => (l.Name, l.Address, l.Phone)));
        Assert.All(leads, l => Assert.Equal("transcript", l.Source));
    }

    [Fact]
    public async Task ANameCapturedDuringTheCallIsNotReplacedByTheTranscriptsButItsMissingAddressIsFilled()
    {
        var tenant = await factory.CreateTenantAsync();
        await factory.PostVapiAsync(tenant, """
        {"message":{"type":"tool-calls","call":{"id":"call-captured-name","customer":{"number":"+15145559876"}},
          "toolCallList":[{"id":"call_a","type":"function","function":{"name":"capture_lead","arguments":{"name":"Jean Tremblay","problem":"Chauffe-eau qui coule"}}}]}}
        """);

        await factory.PostVapiAsync(tenant, EndOfCallReport("call-captured-name", "Chauffe-eau qui coule.",
            "Bonjour, c'est Jon Trembley, mon chauffe-eau coule", "C'est au 12 chemin du Lac à Saint-Sauveur."));

        var lead = await factory.WithDbAsync(tenant.Id, db => db.Leads.SingleAsync());
        Assert.Equal(("Jean Tremblay", "12 chemin du Lac à Saint-Sauveur"), (lead.Name, lead.Address));
    }

    internal static string EndOfCallReport(string callId, string summary, params string[] userTurns)
    {
        var messages = new JsonArray { new JsonObject { ["role"] = "bot", ["message"] = "Drain Fortin, bonjour! Ici Paul.", ["time"] = 1763478000000, ["endTime"] = 1763478002000, ["secondsFromStart"] = 0.5 } };
        var t = 1763478003000L;
        foreach (var turn in userTurns)
        {
            messages.Add(new JsonObject { ["role"] = "user", ["message"] = turn, ["time"] = t, ["endTime"] = t + 3000, ["secondsFromStart"] = (t - 1763478000000) / 1000.0 });
            t += 4000;
            messages.Add(new JsonObject { ["role"] = "bot", ["message"] = "D'accord, je note.", ["time"] = t, ["endTime"] = t + 1500 });
            t += 2000;
        }
        var report = new JsonObject
        {
            ["message"] = new JsonObject
            {
                ["type"] = "end-of-call-report",
                ["endedReason"] = "customer-ended-call",
                ["timestamp"] = t + 500,
                ["call"] = new JsonObject { ["id"] = callId, ["type"] = "inboundPhoneCall", ["customer"] = new JsonObject { ["number"] = "+15145559876" } },
                ["analysis"] = new JsonObject { ["summary"] = summary, ["successEvaluation"] = "true" },
                ["artifact"] = new JsonObject { ["messages"] = messages, ["recordingUrl"] = "https://storage.vapi.ai/rec.wav" },
                ["durationSeconds"] = (t - 1763478000000) / 1000.0,
            },
        };
        return report.ToJsonString();
    }

    private async Task<(int Calls, int Events, int Turns, int Leads, int Sms, int Outbox)> Counts(Guid tenantId) =>
        await factory.WithDbAsync(tenantId, async db => (
            await db.Calls.CountAsync(), await db.CallEvents.CountAsync(), await db.TranscriptTurns.CountAsync(),
            await db.Leads.CountAsync(), await db.SmsMessages.CountAsync(), await db.Outbox.CountAsync()));
}
