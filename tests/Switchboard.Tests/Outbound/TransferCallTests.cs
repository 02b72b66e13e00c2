using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Calls;
using Switchboard.Outbound;
using Switchboard.Realtime.Bridge;
using Switchboard.Simulators;
using Switchboard.Tenancy;
using Switchboard.Tests.Realtime;
using Switchboard.Tests.Support;
using Switchboard.Twilio;
using Switchboard.Webhooks;

namespace Switchboard.Tests.Outbound;

/// <summary>
/// Live transfer of native calls end to end: the realtime provider simulator calls <c>transfer_call</c>, the host drives
/// Twilio's REST simulator (call update, conference participants), which stops the media stream, runs the new TwiML and
/// calls back about the agent's leg, as Twilio does.
/// </summary>
[Trait("Category", "Database")]
public sealed class TransferCallTests(VoiceFactory factory) : IClassFixture<VoiceFactory>
{
    private const string OfficeNumber = "+15145550100";
    private const string OnCallNumber = "+15145550142";

    private static JsonElement Json(object value) => JsonSerializer.SerializeToElement(value);

    private static ProviderScript Provider(params ScriptedTurn[] turns) => new()
    {
        Greeting = new ScriptedSpeech { Text = "Drain Fortin, bonjour! Ici Paul.", AudioMs = 600 },
        FirstAudioDelayMs = 40,
        DeltaMs = 60,
        Pace = 2,
        Turns = [.. turns],
    };

    private async Task<TestTenant> TenantAsync(bool transfer, BusinessHours? onCallHours = null)
    {
        var tenant = await factory.CreateTenantAsync(withTwilio: true);
        await factory.WithDbAsync(tenant.Id, async db =>
        {
            var paul = await db.Assistants.SingleAsync();
            paul.TransferEnabled = transfer;
            paul.TransferDestinations = transfer
                ?
                [
                    new TransferDestination { Name = "Bureau", Number = OfficeNumber },
                    new TransferDestination { Name = "Plombier de garde", Number = OnCallNumber, Hours = onCallHours },
                ]
                : null;
            db.WebhookEndpoints.Add(new WebhookEndpoint
            {
                Id = Guid.NewGuid(),
                TenantId = tenant.Id,
                Url = "https://hooks.example/transfer",
                SecretProtected = "x",
                Enabled = true,
                CreatedAt = factory.Clock.GetUtcNow(),
                UpdatedAt = factory.Clock.GetUtcNow(),
            });
            return await db.SaveChangesAsync();
        });
        return tenant;
    }

    private static CallerScript Caller(params CallerStep[] steps) => new() { From = "+15145550123", Country = "CA", State = "QC", Steps = [.. steps] };

    private async Task<List<string>> EventTypesAsync(TestTenant tenant, Guid callId) =>
        await factory.WithDbAsync(tenant.Id, db => db.WebhookEvents.Where(e => e.CallId == callId).Select(e => e.Type).ToListAsync());

    /// <summary>The <c>data</c> of each webhook event of <paramref name="type"/> about the call.</summary>
    private async Task<List<JsonObject>> EventDataAsync(TestTenant tenant, Guid callId, string type) =>
        (await factory.WithDbAsync(tenant.Id, db => db.WebhookEvents.Where(e => e.CallId == callId && e.Type == type).Select(e => e.PayloadJson).ToListAsync()))
        .Select(p => JsonNode.Parse(p)!.AsObject()).Select(p => (p["data"] as JsonObject) ?? p).ToList();

    /// <summary>POSTs a form to the listening host signed as Twilio signs webhooks (every test tenant has the simulator's auth token).</summary>
    private static async Task<HttpResponseMessage> PostSignedAsync(string url, Dictionary<string, string> form)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new FormUrlEncodedContent(form) };
        request.Headers.Add("X-Twilio-Signature", TwilioRequestValidator.ComputeSignature(url, form, TwilioSimulator.AuthToken));
        return await http.SendAsync(request);
    }

    private async Task<JsonObject> DetailAsync(TestTenant tenant, Guid callId) =>
        (await factory.ApiClient(tenant).GetFromJsonAsync<JsonObject>($"/api/v1/calls/{callId}"))!;

    [Fact]
    public async Task PaulOffersNoTransferToolUnlessTransferIsEnabled()
    {
        var paul = await TenantAsync(transfer: false);
        var script = new CallScript { Caller = Caller(new() { Listen = true }, new() { Hangup = true }), Provider = Provider() };
        var before = factory.Provider.Sessions.Count;
        await factory.CallAsync(paul, script);
        var session = Assert.Single(factory.Provider.Sessions.Skip(before));
        Assert.NotEmpty(session.ToolNames);
        Assert.DoesNotContain(global::Switchboard.Brain.ToolRegistry.TransferCall, session.ToolNames);

        var enabled = await TenantAsync(transfer: true);
        before = factory.Provider.Sessions.Count;
        await factory.CallAsync(enabled, script);
        Assert.Contains(global::Switchboard.Brain.ToolRegistry.TransferCall, Assert.Single(factory.Provider.Sessions.Skip(before)).ToolNames);
    }

    [Fact]
    public async Task AColdTransferUpdatesTheCallWithADialToTheDestinationNumber()
    {
        var tenant = await TenantAsync(transfer: true);
        factory.TwilioRest.Voice.Agents[OfficeNumber] = SimAgentBehaviour.Answer; // another test leaves the office unanswered
        var script = new CallScript
        {
            Caller = Caller(new() { Listen = true }, new() { Say = "tone:900", Text = "Je veux parler au bureau." }, new() { Listen = true }, new() { PauseMs = 5000 }),
            Provider = Provider(new ScriptedTurn
            {
                Hears = "Je veux parler au bureau.",
                Tool = new ScriptedTool { Name = "transfer_call", Arguments = Json(new { destination = "Bureau", reason = "Client veut une soumission", mode = "cold" }) },
                Says = new ScriptedSpeech { Text = "Je vous transfère.", AudioMs = 600 },
            }),
        };

        var twilio = await factory.CallAsync(tenant, script);

        Assert.True(twilio.Dialled.SequenceEqual([OfficeNumber]), string.Join('\n', twilio.Timeline));
        var update = Assert.Single(factory.TwilioRest.Voice.CallUpdates, u => u.CallSid == twilio.CallSid);
        Assert.Matches($"<Dial action=\"http[^\"]+/webhooks/twilio/transfer/{tenant.Id}/[0-9a-f-]{{36}}/dial-ended\"", update.Form["Twiml"]);
        Assert.Contains($"/dial-ended\" method=\"POST\" answerOnBridge=\"true\" timeout=\"30\" callerId=\"+15145550123\"><Number>{OfficeNumber}</Number></Dial>",
            update.Form["Twiml"]);
        Assert.Contains("<Hangup />", twilio.ActionTwiML); // answered: the <Dial> action only hangs up once the conversation is over
        Assert.Contains("Je vous transfère à Bureau", update.Form["Twiml"]);

        var call = await factory.FinishedCallAsync(tenant, twilio.CallSid);
        Assert.Equal(TransferService.TransferredReason, call.EndedReason);
        var transfer = Assert.Single((await DetailAsync(tenant, call.Id))["transfers"]!.AsArray());
        Assert.Equal(("twilio", "cold", "Bureau", OfficeNumber, "transferred"), (transfer!["provider"]!.GetValue<string>(), transfer["mode"]!.GetValue<string>(),
            transfer["destination"]!.GetValue<string>(), transfer["number"]!.GetValue<string>(), transfer["outcome"]!.GetValue<string>()));
        Assert.Contains(WebhookEventTypes.CallTransferred, await EventTypesAsync(tenant, call.Id));
    }

    [Theory]
    [InlineData("he", "אני מעביר אתכם אל Bureau")]
    [InlineData("ar", "سأحوّلك إلى Bureau")]
    public async Task AColdTransferTellsTheCallerInTheCallsLanguage(string language, string notice)
    {
        var tenant = await TenantAsync(transfer: true);
        await factory.WithDbAsync(tenant.Id, async db =>
        {
            (await db.Assistants.SingleAsync()).Languages = [language];
            (await db.Tenants.SingleAsync(t => t.Id == tenant.Id)).Locale = language;
            return await db.SaveChangesAsync();
        });
        var script = new CallScript
        {
            Caller = Caller(new() { Listen = true }, new() { Say = "tone:900", Text = "Office please." }, new() { Listen = true }, new() { PauseMs = 5000 }),
            Provider = Provider(new ScriptedTurn
            {
                Hears = "Office please.",
                Tool = new ScriptedTool { Name = "transfer_call", Arguments = Json(new { destination = "Bureau", reason = "Quote", mode = "cold" }) },
                Says = new ScriptedSpeech { Text = "One moment.", AudioMs = 600 },
            }),
        };

        var twilio = await factory.CallAsync(tenant, script);

        var update = Assert.Single(factory.TwilioRest.Voice.CallUpdates, u => u.CallSid == twilio.CallSid);
        var say = System.Xml.Linq.XElement.Parse(update.Form["Twiml"]).Element("Say")!;
        Assert.Equal(VoicePrompts.SayFor(language).Language, say.Attribute("language")!.Value);
        Assert.StartsWith(notice, say.Value);
        Assert.DoesNotContain("transferring", say.Value);
    }

    [Theory]
    [InlineData("fr-CA", "busy", "Désolé, personne n'a pu prendre votre appel.")]
    [InlineData("es-MX", "no-answer", "Lo sentimos, nadie pudo atender su llamada.")]
    public async Task AColdTransferNobodyTakesTellsTheCallerTheBusinessWillCallBackAndLeavesALeadToCallBack(
        string language, string status, string apology)
    {
        const string ServiceNumber = "+15145550177";
        var tenant = await TenantAsync(transfer: true);
        await factory.WithDbAsync(tenant.Id, async db =>
        {
            var paul = await db.Assistants.SingleAsync();
            paul.Languages = [language];
            paul.TransferDestinations = [.. paul.TransferDestinations!, new TransferDestination { Name = "Service", Number = ServiceNumber }];
            return await db.SaveChangesAsync();
        });
        factory.TwilioRest.Voice.Agents[ServiceNumber] = status == "busy" ? SimAgentBehaviour.Busy : SimAgentBehaviour.NoAnswer;
        var script = new CallScript
        {
            Caller = Caller(new() { Listen = true }, new() { Say = "tone:900", Text = "Le service, svp." }, new() { Listen = true }, new() { PauseMs = 5000 }) with
            { Country = null, State = null },
            Provider = Provider(new ScriptedTurn
            {
                Hears = "Le service, svp.",
                Tool = new ScriptedTool { Name = "transfer_call", Arguments = Json(new { destination = "Service", reason = "Suivi de la réparation", mode = "cold" }) },
                Says = new ScriptedSpeech { Text = "Un instant.", AudioMs = 400 },
            }),
        };

        var twilio = await factory.CallAsync(tenant, script);

        var timeline = string.Join('\n', twilio.Timeline);
        Assert.Empty(twilio.Dialled);
        // The <Dial> action's answer: the apology in the call's language and voice, then the hang-up (before: silence, then the line went dead).
        var action = System.Xml.Linq.XElement.Parse(twilio.ActionTwiML ?? "<none/>");
        var say = action.Element("Say");
        Assert.True(say is not null, timeline);
        Assert.StartsWith(apology, say!.Value);
        Assert.Contains("Drain", say.Value);
        Assert.Equal(VoicePrompts.SayFor(language).Language, say.Attribute("language")!.Value);
        Assert.NotNull(action.Element("Hangup"));

        var call = await factory.FinishedCallAsync(tenant, twilio.CallSid);
        Assert.Equal($"transfer-{status}", call.EndedReason);
        var transfer = Assert.Single((await DetailAsync(tenant, call.Id))["transfers"]!.AsArray());
        Assert.Equal(("cold", "Service", status), (transfer!["mode"]!.GetValue<string>(), transfer["destination"]!.GetValue<string>(), transfer["outcome"]!.GetValue<string>()));
        Assert.Contains(WebhookEventTypes.CallTransferFailed, await EventTypesAsync(tenant, call.Id));
        var lead = await factory.WithDbAsync(tenant.Id, db => db.Leads.AsNoTracking().SingleOrDefaultAsync(l => l.CallId == call.Id));
        Assert.NotNull(lead);
        Assert.Equal("+15145550123", lead!.Phone);
        Assert.Contains("Suivi de la réparation", lead.Problem);

        // Twilio retries a callback it did not see answered: the repeat answers the same and records nothing more.
        var url = $"{factory.ServerUri.ToString().TrimEnd('/')}/webhooks/twilio/transfer/{tenant.Id}/{transfer["id"]!.GetValue<string>()}/dial-ended";
        var form = new Dictionary<string, string> { ["CallSid"] = twilio.CallSid, ["CallStatus"] = "in-progress", ["DialCallStatus"] = status };
        using var again = await PostSignedAsync(url, form);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Contains(apology, await again.Content.ReadAsStringAsync());
        Assert.Single(await EventDataAsync(tenant, call.Id, WebhookEventTypes.CallTransferFailed));
        Assert.Equal(1, await factory.WithDbAsync(tenant.Id, db => db.Leads.CountAsync(l => l.CallId == call.Id)));
    }

    [Fact]
    public async Task AColdTransferWhoseDialActionComesBeforeTheUpdatesResponseHasTheUnansweredDialAsItsOneOutcome()
    {
        const string ServiceNumber = "+15145550178";
        var tenant = await TenantAsync(transfer: true);
        var callSid = "CA" + Guid.NewGuid().ToString("N");
        var callId = Guid.CreateVersion7();
        var now = factory.Clock.GetUtcNow();
        await factory.WithDbAsync(tenant.Id, async db =>
        {
            var paul = await db.Assistants.SingleAsync();
            paul.TransferDestinations = [.. paul.TransferDestinations!, new TransferDestination { Name = "Service", Number = ServiceNumber }];
            db.Calls.Add(new Call
            {
                Id = callId, TenantId = tenant.Id, Channel = CallChannels.Voice, Provider = NativeCallStatus.Provider, ProviderCallId = callSid, CallSid = callSid,
                Status = "in-progress", CustomerNumber = "+15145550123", Language = "fr-CA", AssistantId = paul.Id, StartedAt = now, CreatedAt = now, UpdatedAt = now,
            });
            return await db.SaveChangesAsync();
        });
        // Twilio runs the new TwiML at once: the number is busy, and the <Dial action> is requested (and answered) before the
        // update's response reaches the host.
        var actions = 0;
        factory.TwilioRest.Voice.BeforeUpdateResponse = async (sid, form) =>
        {
            var action = System.Xml.Linq.XElement.Parse(form["Twiml"]).Descendants("Dial").Single().Attribute("action")!.Value;
            using var response = await PostSignedAsync(action, new Dictionary<string, string> { ["CallSid"] = sid, ["CallStatus"] = "in-progress", ["DialCallStatus"] = "busy" });
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Interlocked.Increment(ref actions);
        };
        try
        {
            using var scope = factory.Services.CreateScope();
            scope.ServiceProvider.GetRequiredService<CurrentTenant>().Set(tenant.Id);
            var db = scope.ServiceProvider.GetRequiredService<global::Switchboard.Platform.Database.SwitchboardDbContext>();
            var context = new global::Switchboard.Brain.ToolContext(await db.Tenants.SingleAsync(t => t.Id == tenant.Id), await db.Assistants.SingleAsync(),
                await db.Calls.SingleAsync(c => c.Id == callId), factory.ServerUri.ToString().TrimEnd('/'));
            var outcome = await scope.ServiceProvider.GetRequiredService<global::Switchboard.Brain.ToolRegistry>().InvokeAsync(global::Switchboard.Brain.ToolRegistry.TransferCall,
                Json(new { destination = "Service", reason = "Suivi de la réparation", mode = "cold" }), context, CancellationToken.None);
            await db.SaveChangesAsync();
            Assert.Null(outcome.Error);
        }
        finally
        {
            factory.TwilioRest.Voice.BeforeUpdateResponse = null;
        }

        Assert.Equal(1, actions);
        Assert.Single(await EventDataAsync(tenant, callId, WebhookEventTypes.CallTransferFailed));
        Assert.Empty(await EventDataAsync(tenant, callId, WebhookEventTypes.CallTransferred)); // before: sent after the failure
        var transfer = await factory.WithDbAsync(tenant.Id, db => db.CallTransfers.SingleAsync(t => t.CallId == callId));
        Assert.Equal(TransferOutcomes.Busy, transfer.Outcome);
        Assert.Equal("transfer-busy", (await factory.WithDbAsync(tenant.Id, db => db.Calls.SingleAsync(c => c.Id == callId))).EndedReason);
    }

    [Fact]
    public async Task AReasonCutAtItsLimitKeepsAnEmojiWholeOrDropsIt()
    {
        // The model's reason is kept to 500 UTF-16 units: a cut between the two halves of "🚿" left a lone surrogate, which
        // PostgreSQL's UTF-8 text refuses (the transfer was lost) and SQLite stores as U+FFFD.
        var tenant = await TenantAsync(transfer: true);
        var callSid = "CA" + Guid.NewGuid().ToString("N");
        var callId = Guid.CreateVersion7();
        var now = factory.Clock.GetUtcNow();
        await factory.WithDbAsync(tenant.Id, async db =>
        {
            var paul = await db.Assistants.SingleAsync();
            db.Calls.Add(new Call
            {
                Id = callId, TenantId = tenant.Id, Channel = CallChannels.Voice, Provider = NativeCallStatus.Provider, ProviderCallId = callSid, CallSid = callSid,
                Status = "in-progress", CustomerNumber = "+15145550123", Language = "fr-CA", AssistantId = paul.Id, StartedAt = now, CreatedAt = now, UpdatedAt = now,
            });
            return await db.SaveChangesAsync();
        });
        var reason = new string('a', 499) + "🚿 douche bouchée";
        using (var scope = factory.Services.CreateScope())
        {
            scope.ServiceProvider.GetRequiredService<CurrentTenant>().Set(tenant.Id);
            var db = scope.ServiceProvider.GetRequiredService<global::Switchboard.Platform.Database.SwitchboardDbContext>();
            var context = new global::Switchboard.Brain.ToolContext(await db.Tenants.SingleAsync(t => t.Id == tenant.Id), await db.Assistants.SingleAsync(),
                await db.Calls.SingleAsync(c => c.Id == callId), factory.ServerUri.ToString().TrimEnd('/'));
            var outcome = await scope.ServiceProvider.GetRequiredService<global::Switchboard.Brain.ToolRegistry>().InvokeAsync(global::Switchboard.Brain.ToolRegistry.TransferCall,
                Json(new { destination = "Bureau", reason, mode = "cold" }), context, CancellationToken.None);
            await db.SaveChangesAsync();
            Assert.Null(outcome.Error);
        }

        var transfer = await factory.WithDbAsync(tenant.Id, db => db.CallTransfers.SingleAsync(t => t.CallId == callId));
        Assert.Equal(new string('a', 499), transfer.Reason);
    }

    [Fact]
    public async Task TheColdTransferDialActionIsRefusedUnsignedAndForAnotherTenant()
    {
        var tenant = await TenantAsync(transfer: true);
        factory.TwilioRest.Voice.Agents[OfficeNumber] = SimAgentBehaviour.Answer;
        var script = new CallScript
        {
            Caller = Caller(new() { Listen = true }, new() { Say = "tone:900", Text = "Le bureau." }, new() { Listen = true }, new() { PauseMs = 5000 }),
            Provider = Provider(new ScriptedTurn
            {
                Hears = "Le bureau.",
                Tool = new ScriptedTool { Name = "transfer_call", Arguments = Json(new { destination = "Bureau", reason = "Soumission", mode = "cold" }) },
                Says = new ScriptedSpeech { Text = "Un instant.", AudioMs = 400 },
            }),
        };
        var twilio = await factory.CallAsync(tenant, script);
        var call = await factory.FinishedCallAsync(tenant, twilio.CallSid);
        var transferId = Assert.Single((await DetailAsync(tenant, call.Id))["transfers"]!.AsArray())!["id"]!.GetValue<string>();
        var form = new Dictionary<string, string> { ["CallSid"] = twilio.CallSid, ["CallStatus"] = "in-progress", ["DialCallStatus"] = "busy" };
        var baseUrl = factory.ServerUri.ToString().TrimEnd('/');

        using var http = new HttpClient();
        using var unsigned = await http.PostAsync($"{baseUrl}/webhooks/twilio/transfer/{tenant.Id}/{transferId}/dial-ended", new FormUrlEncodedContent(form));
        Assert.Equal(HttpStatusCode.Forbidden, unsigned.StatusCode);
        Assert.Contains("\"code\":", await unsigned.Content.ReadAsStringAsync());

        var other = await TenantAsync(transfer: true);
        using var foreign = await PostSignedAsync($"{baseUrl}/webhooks/twilio/transfer/{other.Id}/{transferId}/dial-ended", form);
        Assert.Equal(HttpStatusCode.NotFound, foreign.StatusCode);

        using var missing = await PostSignedAsync($"{baseUrl}/webhooks/twilio/transfer/{tenant.Id}/{transferId}/dial-ended",
            new Dictionary<string, string> { ["CallSid"] = twilio.CallSid });
        Assert.Equal(HttpStatusCode.UnprocessableEntity, missing.StatusCode);

        // None of these changed the transfer that went through.
        var after = Assert.Single((await DetailAsync(tenant, call.Id))["transfers"]!.AsArray());
        Assert.Equal("transferred", after!["outcome"]!.GetValue<string>());
        Assert.Equal(TransferService.TransferredReason, (await factory.FinishedCallAsync(tenant, twilio.CallSid)).EndedReason);
    }

    [Fact]
    public async Task AWarmTransferWhispersTheSummaryToTheAgentAndThenJoinsTheCaller()
    {
        var tenant = await TenantAsync(transfer: true);
        var script = new CallScript
        {
            Caller = Caller(new() { Listen = true }, new() { Say = "tone:900", Text = "Mon sous-sol est inondé, je veux un plombier." }, new() { Listen = true }, new() { PauseMs = 5000 }),
            Provider = Provider(new ScriptedTurn
            {
                Hears = "Mon sous-sol est inondé, je veux un plombier.",
                Tool = new ScriptedTool { Name = "transfer_call", Arguments = Json(new { destination = "Plombier de garde", reason = "Sous-sol inondé au 12 rue Principale" }) },
                Says = new ScriptedSpeech { Text = "Un instant.", AudioMs = 500 },
            }),
        };

        var twilio = await factory.CallAsync(tenant, script);
        await factory.TwilioRest.Voice.IdleAsync(TimeSpan.FromSeconds(10));

        var rest = factory.TwilioRest.Voice;
        var timeline = string.Join('\n', twilio.Timeline) + "\n--\n" + string.Join('\n', rest.Timeline);
        var conference = $"xfer-{twilio.CallSid}";
        Assert.True(twilio.Conferences.SequenceEqual([conference]), timeline);
        var hold = Assert.Single(rest.CallUpdates, u => u.CallSid == twilio.CallSid).Form["Twiml"];
        Assert.Contains($"startConferenceOnEnter=\"false\" endConferenceOnExit=\"true\"", hold);
        var agent = Assert.Single(rest.Participants, p => p.Conference == conference);
        Assert.Equal((OnCallNumber, "true", twilio.CallSid, "agent"), (agent.Form["To"], agent.Form["Coaching"], agent.Form["CallSidToCoach"], agent.Form["Label"]));
        Assert.Contains(rest.Whispers, w => w.AgentCallSid == agent.CallSid && w.Text.Contains("Sous-sol inondé au 12 rue Principale") && w.Text.Contains("Paul"));
        Assert.Contains((conference, agent.CallSid), rest.Joined);
        Assert.Equal(agent.CallSid, twilio.JoinedBy);

        var call = await factory.FinishedCallAsync(tenant, twilio.CallSid);
        var transfer = await factory.WithDbAsync(tenant.Id, db => db.CallTransfers.SingleAsync(t => t.CallId == call.Id));
        Assert.Equal(("warm", TransferOutcomes.Transferred, agent.CallSid), (transfer.Mode, transfer.Outcome, transfer.AgentCallSid));
        Assert.NotNull(transfer.ConnectedAt);
        Assert.Equal(TransferService.TransferredReason, (await factory.WithDbAsync(tenant.Id, db => db.Calls.SingleAsync(c => c.Id == call.Id))).EndedReason);
        Assert.Contains(WebhookEventTypes.CallTransferred, await EventTypesAsync(tenant, call.Id));

        // The post-call pipeline ran once, after the agent joined (not when the hold stopped the stream): its call.ended
        // already says the call was transferred.
        var ended = Assert.Single(await EventDataAsync(tenant, call.Id, WebhookEventTypes.CallEnded));
        Assert.Equal(TransferService.TransferredReason, ended["endedReason"]?.GetValue<string>());
        Assert.True((await factory.WithDbAsync(tenant.Id, db => db.Calls.SingleAsync(c => c.Id == call.Id))).Analyzed);
    }

    [Fact]
    public async Task WhileTheCallerHoldsForAWarmTransferThePostCallPipelineWaitsForTheTransfer()
    {
        var tenant = await TenantAsync(transfer: true);
        var rest = factory.TwilioRest.Voice;
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        rest.AgentGate = gate;
        try
        {
            var script = new CallScript
            {
                Caller = Caller(new() { Listen = true }, new() { Say = "tone:900", Text = "Il y a de l'eau partout, passez-moi le plombier." }, new() { Listen = true }, new() { PauseMs = 5000 }),
                Provider = Provider(new ScriptedTurn
                {
                    Hears = "Il y a de l'eau partout, passez-moi le plombier.",
                    Tool = new ScriptedTool { Name = "transfer_call", Arguments = Json(new { destination = "Plombier de garde", reason = "Dégât d'eau" }) },
                    Says = new ScriptedSpeech { Text = "Un instant.", AudioMs = 500 },
                }),
            };
            var running = factory.CallAsync(tenant, script);

            // The hold stopped the stream and the bridge finished it (its greeting latency is saved then); the agent still rings.
            var deadline = DateTime.UtcNow.AddSeconds(20);
            global::Switchboard.Calls.Call? held = null;
            while (DateTime.UtcNow < deadline && held?.GreetingLatencyMs is null)
            {
                held = await factory.WithDbAsync(tenant.Id, db => db.Calls.AsNoTracking().Where(c => c.TenantId == tenant.Id).FirstOrDefaultAsync());
                await Task.Delay(30);
            }
            Assert.NotNull(held?.GreetingLatencyMs);
            Assert.Equal(TransferOutcomes.Pending, await factory.WithDbAsync(tenant.Id, db => db.CallTransfers.Where(t => t.CallId == held!.Id).Select(t => t.Outcome).SingleAsync()));
            Assert.False(held!.Analyzed);
            Assert.False(held.TranscriptFinal);
            Assert.NotEqual("completed", held.Status);
            Assert.Empty(await EventDataAsync(tenant, held.Id, WebhookEventTypes.CallEnded));

            // The agent answers: the pipeline runs once, now.
            gate.SetResult();
            var twilio = await running;
            await rest.IdleAsync(TimeSpan.FromSeconds(10));
            var call = await factory.FinishedCallAsync(tenant, twilio.CallSid);
            Assert.True(call.Analyzed);
            var ended = Assert.Single(await EventDataAsync(tenant, call.Id, WebhookEventTypes.CallEnded));
            Assert.Equal(TransferService.TransferredReason, ended["endedReason"]?.GetValue<string>());
        }
        finally
        {
            gate.TrySetResult();
            rest.AgentGate = null;
        }
    }

    [Fact]
    public async Task AWarmTransferNobodyAnswersBringsTheCallerBackToTheAssistantWhichTakesAMessage()
    {
        var tenant = await TenantAsync(transfer: true);
        factory.TwilioRest.Voice.Agents[OfficeNumber] = SimAgentBehaviour.NoAnswer;
        var script = new CallScript
        {
            Caller = Caller(
                new() { Listen = true },
                new() { Say = "tone:900", Text = "Passez-moi le bureau." },
                new() { Listen = true },
                new() { Say = "tone:700", Text = "Marc Tremblay, 514 555 0123, pour une soumission." },
                new() { Listen = true },
                new() { Hangup = true }),
            Provider = Provider(
                new ScriptedTurn
                {
                    Hears = "Passez-moi le bureau.",
                    Tool = new ScriptedTool { Name = "transfer_call", Arguments = Json(new { destination = "Bureau", reason = "Demande de soumission", mode = "warm" }) },
                    Says = new ScriptedSpeech { Text = "Un instant.", AudioMs = 400 },
                },
                new ScriptedTurn
                {
                    Hears = "Marc Tremblay, 514 555 0123, pour une soumission.",
                    Tool = new ScriptedTool { Name = "capture_lead", Arguments = Json(new { name = "Marc Tremblay", phone = "+15145550123", problem = "Soumission", urgency = "routine" }) },
                    Says = new ScriptedSpeech { Text = "Merci, le bureau vous rappellera.", AudioMs = 600 },
                }) with
            { StartTurnByInstructions = new() { ["did not go through"] = 1 } },
        };
        var before = factory.Provider.Sessions.Count;

        var twilio = await factory.CallAsync(tenant, script);

        var rest = factory.TwilioRest.Voice;
        var timeline = string.Join('\n', twilio.Timeline) + "\n--\n" + string.Join('\n', rest.Timeline);
        Assert.True(twilio.Streams == 2, timeline); // back to the assistant after the hold
        Assert.Null(twilio.JoinedBy);
        var updates = rest.CallUpdates.Where(u => u.CallSid == twilio.CallSid).Select(u => u.Form["Twiml"]).ToList();
        Assert.Equal(2, updates.Count);
        Assert.Contains("<Conference", updates[0]);
        Assert.Contains("<Connect", updates[1]);
        Assert.Contains("name=\"resume\" value=\"transfer-failed\"", updates[1]);

        // The second session knows why the caller is back, greets accordingly and offers no transfer.
        var resumed = factory.Provider.Sessions.Skip(before).Last();
        Assert.Contains("did not go through", resumed.Instructions);
        Assert.DoesNotContain(global::Switchboard.Brain.ToolRegistry.TransferCall, resumed.ToolNames);

        var call = await factory.FinishedCallAsync(tenant, twilio.CallSid);
        var transfer = await factory.WithDbAsync(tenant.Id, db => db.CallTransfers.SingleAsync(t => t.CallId == call.Id));
        Assert.Equal(("warm", TransferOutcomes.NoAnswer), (transfer.Mode, transfer.Outcome));
        var lead = await factory.WithDbAsync(tenant.Id, db => db.Leads.SingleAsync(l => l.CallId == call.Id));
        Assert.Equal("Marc Tremblay", lead.Name);
        Assert.Contains(WebhookEventTypes.CallTransferFailed, await EventTypesAsync(tenant, call.Id));
        var turns = await factory.WithDbAsync(tenant.Id, db => db.TranscriptTurns.Where(t => t.CallId == call.Id).OrderBy(t => t.Seq).Select(t => t.Seq).ToListAsync());
        Assert.Equal(Enumerable.Range(0, turns.Count), turns); // one transcript across both streams

        // One pipeline run, at the end of the resumed conversation (not when the hold stopped the first stream): call.analyzed
        // knows the message taken after the failed transfer.
        Assert.Single(await EventDataAsync(tenant, call.Id, WebhookEventTypes.CallEnded));
        var analyzed = Assert.Single(await EventDataAsync(tenant, call.Id, WebhookEventTypes.CallAnalyzed));
        Assert.Equal(lead.Id, analyzed["leadId"]?.GetValue<Guid>());
        Assert.Contains("Marc Tremblay", (await factory.WithDbAsync(tenant.Id, db => db.Calls.SingleAsync(c => c.Id == call.Id))).TranscriptText);
    }

    /// <summary>
    /// A native call put on hold by a warm transfer whose agent did not answer, as the store sees it: the call in progress,
    /// the held stream's turns stored, the transfer failed with <paramref name="outcome"/> (its conference named when the
    /// caller reached it).
    /// </summary>
    private async Task<(Call Call, VoiceCallSetup Held)> HeldCallAsync(TestTenant tenant, string outcome, bool reachedConference)
    {
        var now = factory.Clock.GetUtcNow();
        var callSid = "CA" + Guid.NewGuid().ToString("N");
        var assistantId = await factory.WithDbAsync(tenant.Id, db => db.Assistants.Select(a => a.Id).SingleAsync());
        var call = new Call
        {
            Id = Guid.CreateVersion7(), TenantId = tenant.Id, Channel = "voice", Provider = "twilio", ProviderCallId = callSid, CallSid = callSid,
            AssistantId = assistantId, Status = "in-progress", CustomerNumber = "+15145550123", Language = "fr-CA", CreatedAt = now, UpdatedAt = now,
        };
        await factory.WithDbAsync(tenant.Id, db =>
        {
            db.Calls.Add(call);
            db.TranscriptTurns.Add(new TranscriptTurn { Id = Guid.NewGuid(), TenantId = tenant.Id, CallId = call.Id, Seq = 0, Role = "assistant", Text = "Drain Fortin, bonjour! Ici Paul." });
            db.TranscriptTurns.Add(new TranscriptTurn { Id = Guid.NewGuid(), TenantId = tenant.Id, CallId = call.Id, Seq = 1, Role = "user", Text = "Passez-moi le bureau." });
            db.CallTransfers.Add(new CallTransfer
            {
                Id = Guid.CreateVersion7(), TenantId = tenant.Id, CallId = call.Id, Provider = "twilio", Destination = "Bureau", Number = OfficeNumber,
                Mode = "warm", Outcome = outcome, ConferenceName = reachedConference ? $"xfer-{callSid}" : null, CreatedAt = now, EndedAt = now,
            });
            return db.SaveChangesAsync();
        });
        var held = new VoiceCallSetup(tenant.Id, "Drain Fortin", call.Id, callSid, assistantId, "fr-CA", false, "", null, "gpt-realtime", "alloy",
            new Uri("ws://127.0.0.1:9/"), null, "Authorization", 600, false, "", call.CustomerNumber, [], TransferDestinations: ["Bureau", "Plombier de garde"]);
        return (call, held);
    }

    private Task AddTurnAsync(TestTenant tenant, Guid callId, int seq, string role, string text) =>
        factory.WithDbAsync(tenant.Id, db =>
        {
            db.TranscriptTurns.Add(new TranscriptTurn { Id = Guid.NewGuid(), TenantId = tenant.Id, CallId = callId, Seq = seq, Role = role, Text = text });
            return db.SaveChangesAsync();
        });

    private Task<Call> StoredCallAsync(TestTenant tenant, Guid callId) =>
        factory.WithDbAsync(tenant.Id, db => db.Calls.AsNoTracking().SingleAsync(c => c.Id == callId));

    [Fact]
    public async Task AHeldStreamThatClosesAfterItsTransferFailedLeavesTheCallToTheStreamTheCallerIsBackOn()
    {
        // The agent's no-answer came in, and the caller was put back with the assistant, before the held stream's teardown
        // reached the store (a busy host): that stream's end is still not the call's.
        var tenant = await TenantAsync(transfer: true);
        var store = factory.Services.GetRequiredService<VoiceCallStore>();
        var (call, held) = await HeldCallAsync(tenant, TransferOutcomes.NoAnswer, reachedConference: true);

        await store.FinishAsync(held, "caller-hangup", factory.Clock.GetUtcNow().AddSeconds(-20), 640, null, CancellationToken.None);

        var open = await StoredCallAsync(tenant, call.Id);
        Assert.Equal(("in-progress", false, false), (open.Status, open.TranscriptFinal, open.Analyzed));
        Assert.Equal(640, open.GreetingLatencyMs);
        Assert.Empty(await EventTypesAsync(tenant, call.Id));

        // The resumed stream (it offers no transfer) takes the message; its end is the call's, with the whole conversation.
        await AddTurnAsync(tenant, call.Id, 2, "assistant", "Désolé, Bureau n'est pas disponible en ce moment.");
        await AddTurnAsync(tenant, call.Id, 3, "user", "Marc Tremblay, 514 555 0123, pour une soumission.");
        await store.FinishAsync(held with { TransferDestinations = null }, "caller-hangup", null, null, null, CancellationToken.None);

        var done = await StoredCallAsync(tenant, call.Id);
        Assert.Equal(("completed", true, true), (done.Status, done.TranscriptFinal, done.Analyzed));
        Assert.Contains("Marc Tremblay", done.TranscriptText);
        Assert.Single(await EventDataAsync(tenant, call.Id, WebhookEventTypes.CallEnded));
    }

    [Fact]
    public async Task AHeldStreamThatClosesAfterTheCallerLeftTheHoldBringsTheFinishedTranscriptUpToDate()
    {
        // The caller hung up on hold and the transfer's callback finished the call before the held stream had stored its
        // last turn: the late stream only completes the transcript text.
        var tenant = await TenantAsync(transfer: true);
        var store = factory.Services.GetRequiredService<VoiceCallStore>();
        var (call, held) = await HeldCallAsync(tenant, TransferOutcomes.NoAnswer, reachedConference: true);
        await store.FinishAfterTransferAsync(tenant.Id, call.Id, held.AssistantId, TransferService.HungUpOnHoldReason, CancellationToken.None);
        Assert.DoesNotContain("Un instant.", (await StoredCallAsync(tenant, call.Id)).TranscriptText);

        await AddTurnAsync(tenant, call.Id, 2, "assistant", "Un instant.");
        await store.FinishAsync(held, "caller-hangup", null, null, null, CancellationToken.None);

        var done = await StoredCallAsync(tenant, call.Id);
        Assert.Equal(("completed", TransferService.HungUpOnHoldReason), (done.Status, done.EndedReason));
        Assert.EndsWith("assistant: Un instant.", done.TranscriptText);
        Assert.Single(await EventDataAsync(tenant, call.Id, WebhookEventTypes.CallEnded));
    }

    [Fact]
    public async Task AStreamWhoseWarmTransferFailedBeforeTheHoldEndsTheCallWhenItEnds()
    {
        // Moving the caller to the conference failed: the caller never left the assistant, so this stream's end is the call's.
        var tenant = await TenantAsync(transfer: true);
        var store = factory.Services.GetRequiredService<VoiceCallStore>();
        var (call, held) = await HeldCallAsync(tenant, TransferOutcomes.Failed, reachedConference: false);

        await store.FinishAsync(held, "caller-hangup", factory.Clock.GetUtcNow().AddSeconds(-20), null, null, CancellationToken.None);

        var done = await StoredCallAsync(tenant, call.Id);
        Assert.Equal(("completed", "caller-hangup", true), (done.Status, done.EndedReason, done.TranscriptFinal));
        Assert.Single(await EventDataAsync(tenant, call.Id, WebhookEventTypes.CallEnded));
    }

    [Fact]
    public async Task OutsideItsHoursADestinationIsRefusedAndTheModelIsToldToTakeAMessage()
    {
        // The on-call plumber takes transfers on weekends only; the factory's clock is a Wednesday.
        var weekends = new BusinessHours { Weekly = new() { [DayOfWeek.Saturday] = ["00:00-24:00"], [DayOfWeek.Sunday] = ["00:00-24:00"] } };
        var tenant = await TenantAsync(transfer: true, onCallHours: weekends);
        var script = new CallScript
        {
            Caller = Caller(new() { Listen = true }, new() { Say = "tone:900", Text = "Je veux le plombier de garde." }, new() { Listen = true }, new() { Hangup = true }),
            Provider = Provider(new ScriptedTurn
            {
                Hears = "Je veux le plombier de garde.",
                Tool = new ScriptedTool { Name = "transfer_call", Arguments = Json(new { destination = "Plombier de garde", reason = "Fuite", mode = "cold" }) },
                Says = new ScriptedSpeech { Text = "Il n'est pas disponible, je prends un message.", AudioMs = 600 },
            }),
        };
        var before = factory.Provider.Sessions.Count;

        var twilio = await factory.CallAsync(tenant, script);

        Assert.DoesNotContain(factory.TwilioRest.Voice.CallUpdates, u => u.CallSid == twilio.CallSid);
        Assert.Empty(twilio.Dialled);
        var output = Assert.Single(factory.Provider.Sessions.Skip(before).Single().ToolOutputs).Output;
        Assert.Contains("\"reason\":\"outside-hours\"", output);
        Assert.Contains("capture_lead", output);
        var call = await factory.FinishedCallAsync(tenant, twilio.CallSid);
        Assert.False(await factory.WithDbAsync(tenant.Id, db => db.CallTransfers.AnyAsync(t => t.CallId == call.Id)));
    }
}
