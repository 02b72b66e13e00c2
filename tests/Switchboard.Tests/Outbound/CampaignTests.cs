using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Outbound.Campaigns;
using Switchboard.Simulators;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Outbound;

/// <summary>
/// Outbound campaigns end to end (issue 11): the API → the dialer's ticks on a fake clock → the outbox → Twilio's Calls API
/// simulator (calls held ringing on the fake clock, then answered by a person or a voicemail, busy or unanswered) → the
/// call-ended hook → each contact's result. Assertions are on the simulator's timeline, with the calling windows
/// re-derived here from the rules (CRTC: weekdays 9:00–21:30, weekends 10:00–18:00; TCPA: 8:00–21:00; callee's time).
/// </summary>
[Trait("Category", "Database")]
public sealed class CampaignTests
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private static async Task<(Guid Id, JsonElement Body)> CreateAsync(HttpClient api, object body)
    {
        var response = await api.PostAsJsonAsync("/api/v1/campaigns", body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"{(int)response.StatusCode} {text}");
        var json = JsonDocument.Parse(text).RootElement.Clone();
        return (json.GetProperty("campaign").GetProperty("id").GetGuid(), json);
    }

    private static async Task<JsonElement> GetAsync(HttpClient api, string path)
    {
        var response = await api.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private static async Task<string> StatusAsync(HttpClient api, Guid id) => (await GetAsync(api, $"/api/v1/campaigns/{id}")).GetProperty("status").GetString()!;

    private static Task<List<CampaignContact>> ContactsAsync(CampaignRig rig, Guid tenantId, Guid id) =>
        rig.Host.WithDbAsync(tenantId, db => db.CampaignContacts.AsNoTracking().Where(c => c.CampaignId == id).OrderBy(c => c.Ordinal).ToListAsync());

    /// <summary>The law's window and the tenant's hours (07:00–23:59 Montréal), from the area code, written independently of CallingWindows.</summary>
    private static bool Legal(string to, DateTimeOffset at)
    {
        var (zone, country) = to[2..5] switch
        {
            "514" => ("America/Toronto", "CA"),
            "604" => ("America/Vancouver", "CA"),
            "902" => ("America/Halifax", "CA"),
            "212" => ("America/New_York", "US"),
            "213" => ("America/Los_Angeles", "US"),
            _ => throw new ArgumentException(to),
        };
        var local = TimeZoneInfo.ConvertTime(at, TimeZoneInfo.FindSystemTimeZoneById(zone));
        var t = local.TimeOfDay;
        var weekend = local.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday;
        var law = country == "US"
            ? t >= TimeSpan.FromHours(8) && t < TimeSpan.FromHours(21)
            : weekend ? t >= TimeSpan.FromHours(10) && t < TimeSpan.FromHours(18) : t >= TimeSpan.FromHours(9) && t < new TimeSpan(21, 30, 0);
        var montreal = TimeZoneInfo.ConvertTime(at, TimeZoneInfo.FindSystemTimeZoneById("America/Toronto")).TimeOfDay;
        return law && montreal >= TimeSpan.FromHours(7) && montreal < new TimeSpan(23, 59, 0);
    }

    /// <summary>Each call's [create, final status] on the simulator's clock.</summary>
    private static List<(string Sid, string To, DateTimeOffset Start, DateTimeOffset End)> Intervals(CampaignRig rig)
    {
        var timeline = rig.Twilio.State.Timeline.OrderBy(e => e.Seq).ToList();
        return rig.Creates().Select(c => (c.Sid, c.To, c.At,
            timeline.Last(e => e.CallSid == c.Sid && e.Event is "status callback: completed" or "status callback: busy" or "status callback: no-answer").At)).ToList();
    }

    private static int MaxOverlap(IEnumerable<(string Sid, string To, DateTimeOffset Start, DateTimeOffset End)> calls)
    {
        var edges = calls.SelectMany(c => new[] { (At: c.Start, Delta: 1), (At: c.End, Delta: -1) }).OrderBy(e => e.At).ThenBy(e => e.Delta);
        int now = 0, max = 0;
        foreach (var e in edges)
        {
            now += e.Delta;
            max = Math.Max(max, now);
        }
        return max;
    }

    [Fact]
    public async Task ACampaignOf200ContactsAcrossTimeZonesCallsEachInsideItsWindowNeverOnTheDoNotCallListAndWithinThePlanAndPace()
    {
        await using var rig = await CampaignRig.StartAsync(concurrentCalls: 3);
        // Wednesday 19:30 in Montréal (00:30 UTC Thursday): the east closes within two hours, the west later, the rest waits for the morning.
        rig.Host.Clock.Advance(new DateTimeOffset(2026, 11, 19, 0, 30, 0, TimeSpan.Zero) - rig.Host.Clock.GetUtcNow());
        var tenant = await rig.TenantAsync("07:00-23:59");
        var api = rig.Host.Api(tenant);

        var numbers = new[] { ("514", 50), ("604", 35), ("212", 35), ("213", 40), ("902", 40) }
            .SelectMany(a => Enumerable.Range(0, a.Item2).Select(i => $"+1{a.Item1}555{1000 + i:D4}")).ToList();
        Assert.Equal(200, numbers.Count);
        var dnc = numbers.Where((_, i) => i % 20 == 3).ToHashSet();
        var busyFirst = numbers.Where((_, i) => i % 20 == 7).ToHashSet();
        var neverAnswers = numbers.Where((_, i) => i % 40 == 13).ToHashSet();
        foreach (var n in dnc)
        {
            Assert.Equal(HttpStatusCode.Created, (await api.PostAsJsonAsync("/api/v1/dnc", new { number = n, note = "asked in 2025" })).StatusCode);
        }
        var rings = new ConcurrentDictionary<string, int>();
        rig.Twilio.State.Callee = n =>
        {
            var k = rings.AddOrUpdate(n, 1, (_, v) => v + 1);
            return neverAnswers.Contains(n) ? CalleeKind.NoAnswer
                : busyFirst.Contains(n) && k == 1 ? CalleeKind.Busy
                : (n[^1] - '0') % 2 == 0 ? CalleeKind.Human : CalleeKind.Machine;
        };
        rig.Duration = c => TimeSpan.FromSeconds(60 + int.Parse(c.To[^2..], System.Globalization.CultureInfo.InvariantCulture) % 120);

        var csv = new StringBuilder("number,name,appointment\n");
        for (var i = 0; i < numbers.Count; i++)
        {
            var n = numbers[i];
            var written = (i % 3) switch { 0 => n, 1 => $"({n[2..5]}) {n[5..8]}-{n[8..]}", _ => $"{n[2..5]}.{n[5..8]}.{n[8..]}" };
            csv.Append(written).Append(",Client ").Append(i).Append(",\"jeudi, 10 h\"\n");
            if (i == 10)
            {
                csv.Append("not a number,Bob,x\n");
            }

            if (i == 20)
            {
                csv.Append("12345,Short,x\n");
            }

            if (i == 30)
            {
                csv.Append(",Nobody,x\n");
            }

            if (i == 40)
            {
                csv.Append(numbers[5]).Append(",Twice,x\n");
            }

            if (i == 50)
            {
                csv.Append("+1 514 555,Cut,x\n");
            }

            if (i == 60)
            {
                csv.Append("5145559999,A,b,c,d\n");
            }

            if (i == 70)
            {
                csv.Append("5145559998,").Append(new string('x', 201)).Append(",x\n");
            }

            if (i == 80)
            {
                csv.Append("555-0199,Local,x\n");
            }
        }
        var (id, created) = await CreateAsync(api, new
        {
            name = "Rappels jeudi", contactsCsv = csv.ToString(), startAt = rig.Host.Clock.GetUtcNow(), maxAttempts = 3, retryMinutes = 10, callsPerSecond = 1,
        });
        Assert.Equal(200, created.GetProperty("imported").GetInt32());
        var errors = created.GetProperty("errors").EnumerateArray().ToList();
        Assert.Equal(8, errors.Count);
        Assert.Contains(errors, e => e.GetProperty("value").GetString() == "not a number" && e.GetProperty("reason").GetString() == "not a phone number" && e.GetProperty("line").GetInt32() == 13);
        Assert.Contains(errors, e => e.GetProperty("reason").GetString()!.StartsWith("duplicate of line", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.GetProperty("reason").GetString() == "no number");
        Assert.Contains(errors, e => e.GetProperty("reason").GetString()!.Contains("fields for a header of 3", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.GetProperty("reason").GetString() == "name longer than 200 characters");
        Assert.Equal("scheduled", created.GetProperty("campaign").GetProperty("status").GetString());

        var rounds = await rig.RunAsync(tenant.Id, id, async () => await rig.StatusAsync(tenant.Id, id) == "completed", TimeSpan.FromHours(30));
        Assert.Equal("completed", await StatusAsync(api, id));

        var calls = Intervals(rig);
        Assert.All(calls, c => Assert.True(Legal(c.To, c.Start), $"{c.To} called at {c.Start:O}, outside its window (round {rounds})"));
        Assert.DoesNotContain(calls, c => dnc.Contains(c.To));
        var starts = calls.Select(c => c.Start).Order().ToList();
        Assert.All(starts.Zip(starts.Skip(1)), p => Assert.True(p.Second - p.First >= TimeSpan.FromSeconds(1), $"two calls {p.Second - p.First} apart"));
        Assert.Equal(3, MaxOverlap(calls)); // the plan's limit was reached and never passed
        // Calls were made on the evening and, for the zones already closed, the next morning (a wait, never a refusal).
        var montreal = TimeZoneInfo.FindSystemTimeZoneById("America/Toronto");
        Assert.Contains(calls, c => TimeZoneInfo.ConvertTime(c.Start, montreal).Day == 18);
        Assert.Contains(calls, c => TimeZoneInfo.ConvertTime(c.Start, montreal).Day == 19 && c.To.StartsWith("+1902", StringComparison.Ordinal));

        var contacts = await ContactsAsync(rig, tenant.Id, id);
        Assert.Equal(200, contacts.Count);
        foreach (var c in contacts)
        {
            var made = calls.Where(x => x.To == c.Number).OrderBy(x => x.Start).ToList();
            if (dnc.Contains(c.Number))
            {
                Assert.Equal(("refused", "dnc", 0), (c.State, c.Result, made.Count));
            }
            else if (neverAnswers.Contains(c.Number))
            {
                Assert.Equal(("failed", "no-answer", 3, 3), (c.State, c.Result, c.Attempts, made.Count));
                Assert.True(made[1].Start - made[0].End >= TimeSpan.FromMinutes(10), "first retry after 10 min");
                Assert.True(made[2].Start - made[1].End >= TimeSpan.FromMinutes(20), "second retry after 20 min");
            }
            else if (busyFirst.Contains(c.Number))
            {
                Assert.Equal(("done", 2), (c.State, made.Count));
                Assert.True(made[1].Start - made[0].End >= TimeSpan.FromMinutes(10), $"{c.Number} retried {made[1].Start - made[0].End} after busy");
            }
            else
            {
                var expected = (c.Number[^1] - '0') % 2 == 0 ? "answered-human" : "voicemail";
                Assert.Equal(("done", expected, 1), (c.State, c.Result, made.Count));
            }
        }
        var refusals = (await GetAsync(api, "/api/v1/calls/outbound/refusals")).EnumerateArray().ToList();
        Assert.Equal(dnc.Order(), refusals.Where(r => r.GetProperty("reason").GetString() == "do-not-call" && r.GetProperty("source").GetString() == "campaign")
            .Select(r => r.GetProperty("number").GetString()!).Order());
        Assert.DoesNotContain(refusals, r => r.GetProperty("reason").GetString() == "outside-calling-window");
        var summary = await GetAsync(api, $"/api/v1/campaigns/{id}");
        Assert.Equal(10, summary.GetProperty("results").GetProperty("dnc").GetInt32());
        Assert.Equal(5, summary.GetProperty("results").GetProperty("no-answer").GetInt32());
        Assert.Equal(185, summary.GetProperty("counts").GetProperty("done").GetInt32());
    }

    [Fact]
    public async Task AHostRestartMidCampaignCallsNobodyTwice()
    {
        await using var rig = await CampaignRig.StartAsync(concurrentCalls: 3);
        var tenant = await rig.TenantAsync();
        rig.Twilio.State.Callee = _ => CalleeKind.Machine;
        rig.Duration = _ => TimeSpan.FromSeconds(20);
        var numbers = Enumerable.Range(0, 30).Select(i => $"+1514556{2000 + i:D4}").ToList();
        var (id, _) = await CreateAsync(rig.Host.Api(tenant), new { name = "Restart", contactsCsv = "number\n" + string.Join('\n', numbers), startAt = rig.Host.Clock.GetUtcNow() });
        await rig.RunAsync(tenant.Id, id, () => Task.FromResult(rig.Creates().Count >= 10), TimeSpan.FromHours(1));

        // A tick commits a queued call with its contact's state, and the host dies before the outbox places it.
        var dialer = rig.Host.Services.GetRequiredService<CampaignDialer>();
        var queued = 0;
        for (var i = 0; i < 300 && queued == 0; i++)
        {
            rig.Host.Clock.Advance(TimeSpan.FromSeconds(1));
            await rig.ReleaseDueAsync();
            queued = await dialer.TickAsync(CancellationToken.None);
            if (queued == 0)
            {
                await rig.Host.Outbox.DrainAsync(CancellationToken.None);
                await rig.SettleAsync();
            }
        }
        Assert.Equal(1, queued);
        var pending = Assert.Single(await ContactsAsync(rig, tenant.Id, id), c => c.State == ContactStates.Queued);
        var before = rig.Creates().Count;
        Assert.DoesNotContain(rig.Creates(), c => c.To == pending.Number);
        var stoppedAt = rig.StopHost();

        rig.StartHost(stoppedAt.AddSeconds(5));
        var api = rig.Host.Api(tenant);
        await rig.RunAsync(tenant.Id, id, async () => await rig.StatusAsync(tenant.Id, id) == "completed", TimeSpan.FromHours(2));

        Assert.Equal("completed", await StatusAsync(api, id));
        var creates = rig.Creates();
        Assert.True(creates.Count > before);
        Assert.Equal(numbers.Order(), creates.Select(c => c.To).Order()); // each number exactly once
        var after = Assert.Single(await ContactsAsync(rig, tenant.Id, id), c => c.Id == pending.Id);
        Assert.Equal(("done", "voicemail", 1), (after.State, after.Result, after.Attempts));
    }

    [Fact]
    public async Task PauseStopsNewCallsResumeContinuesAndCancelEndsTheCampaign()
    {
        await using var rig = await CampaignRig.StartAsync(concurrentCalls: 3);
        var tenant = await rig.TenantAsync();
        var api = rig.Host.Api(tenant);
        rig.Twilio.State.Callee = _ => CalleeKind.Machine;
        rig.Duration = _ => TimeSpan.FromSeconds(30);
        var numbers = Enumerable.Range(0, 12).Select(i => $"+1514557{3000 + i:D4}").ToList();
        var (id, created) = await CreateAsync(api, new { name = "Pause", contactsCsv = "number,name\n" + string.Join('\n', numbers.Select(n => n + ",X")) });
        Assert.Equal("draft", created.GetProperty("campaign").GetProperty("status").GetString());
        await rig.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Empty(rig.Creates()); // a draft calls nobody

        Assert.Equal(HttpStatusCode.OK, (await api.PostAsync($"/api/v1/campaigns/{id}/start", null)).StatusCode);
        await rig.RunAsync(tenant.Id, id, () => Task.FromResult(rig.Creates().Count >= 3), TimeSpan.FromHours(1));
        var paused = await api.PostAsync($"/api/v1/campaigns/{id}/pause", null);
        Assert.Equal(HttpStatusCode.OK, paused.StatusCode);
        var pausedAt = rig.Host.Clock.GetUtcNow();
        var before = rig.Creates().Count;
        await rig.WaitAsync(TimeSpan.FromMinutes(2));
        Assert.Equal(before, rig.Creates().Count);
        Assert.All(rig.Creates(), c => Assert.True(c.At <= pausedAt));
        Assert.Equal(before, (await ContactsAsync(rig, tenant.Id, id)).Count(c => c.State == "done")); // the calls in progress finished

        Assert.Equal(HttpStatusCode.Conflict, (await api.PostAsync($"/api/v1/campaigns/{id}/pause", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await api.PostAsync($"/api/v1/campaigns/{id}/resume", null)).StatusCode);
        await rig.RunAsync(tenant.Id, id, () => Task.FromResult(rig.Creates().Count >= before + 3), TimeSpan.FromHours(1));
        var canceled = await api.PostAsync($"/api/v1/campaigns/{id}/cancel", null);
        Assert.Equal(HttpStatusCode.OK, canceled.StatusCode);
        var canceledAt = rig.Host.Clock.GetUtcNow();
        var made = rig.Creates().Count;
        await rig.WaitAsync(TimeSpan.FromMinutes(2));
        Assert.Equal(made, rig.Creates().Count);
        Assert.All(rig.Creates(), c => Assert.True(c.At <= canceledAt));

        var summary = await GetAsync(api, $"/api/v1/campaigns/{id}");
        Assert.Equal("canceled", summary.GetProperty("status").GetString());
        var contacts = await ContactsAsync(rig, tenant.Id, id);
        Assert.Equal(made, contacts.Count(c => c.State == "done"));
        Assert.Equal(12 - made, contacts.Count(c => c is { State: "skipped", Result: "canceled" }));
        Assert.Equal(12 - made, summary.GetProperty("counts").GetProperty("skipped").GetInt32());
        Assert.Equal(HttpStatusCode.Conflict, (await api.PostAsync($"/api/v1/campaigns/{id}/resume", null)).StatusCode);
    }

    [Fact]
    public async Task APromotionalCampaignRefusesContactsWithoutConsentAndRecordsWhy()
    {
        await using var rig = await CampaignRig.StartAsync();
        var tenant = await rig.TenantAsync();
        var api = rig.Host.Api(tenant);
        rig.Twilio.State.Callee = _ => CalleeKind.Human;
        var csv = """
            number,name,consent_source,consent_at,offer
            +15145584000,Ana,web form: "call me about offers",2026-10-01T12:00:00Z,printemps
            +15145584001,Ben,signed contract,2026-09-15T09:30:00-04:00,printemps
            +15145584002,Cloé,,,printemps
            +15145584003,Dan,,,printemps
            """;
        var (id, created) = await CreateAsync(api, new { name = "Promo", promotional = true, contactsCsv = csv, startAt = rig.Host.Clock.GetUtcNow() });
        Assert.Equal(2, created.GetProperty("consents").GetInt32());
        await rig.RunAsync(tenant.Id, id, async () => await rig.StatusAsync(tenant.Id, id) == "completed", TimeSpan.FromHours(1));

        Assert.Equal(["+15145584000", "+15145584001"], rig.Creates().Select(c => c.To).Order());
        var contacts = await ContactsAsync(rig, tenant.Id, id);
        Assert.All(contacts.Where(c => c.Number is "+15145584002" or "+15145584003"), c => Assert.Equal(("refused", "no-consent", 0), (c.State, c.Result, c.Attempts)));
        var refusals = (await GetAsync(api, "/api/v1/calls/outbound/refusals")).EnumerateArray()
            .Where(r => r.GetProperty("reason").GetString() == "no-consent" && r.GetProperty("source").GetString() == "campaign").Select(r => r.GetProperty("number").GetString()).Order();
        Assert.Equal(["+15145584002", "+15145584003"], refusals);
        var page = await GetAsync(api, $"/api/v1/campaigns/{id}/contacts?state=refused");
        Assert.Equal(2, page.GetProperty("items").GetArrayLength());
        Assert.Equal("printemps", page.GetProperty("items")[0].GetProperty("variables").GetProperty("offer").GetString());

        // The call knows whom it calls and why: the campaign, the contact's name and the CSV's variables.
        var context = await rig.Host.WithDbAsync(tenant.Id, db => db.Calls.AsNoTracking().Where(c => c.CustomerNumber == "+15145584000").Select(c => c.OutboundContextJson).SingleAsync());
        Assert.Equal(new Dictionary<string, string> { ["campaign"] = "Promo", ["name"] = "Ana", ["offer"] = "printemps" },
            global::Switchboard.Outbound.OutboundContext.Read(context).ToDictionary());

        // Erasing a callee removes their campaign contact and consent record.
        Assert.Equal(HttpStatusCode.OK, (await api.PostAsJsonAsync("/api/v1/erasure/caller", new { phoneNumber = "+15145584000" })).StatusCode);
        Assert.DoesNotContain(await ContactsAsync(rig, tenant.Id, id), c => c.Number == "+15145584000");
        Assert.Equal(["+15145584001"], await rig.Host.WithDbAsync(tenant.Id, db => db.Consents.Select(c => c.Number).ToListAsync()));
    }

    [Fact]
    public async Task ProgressStreamsAsServerSentEventsWithCounts()
    {
        await using var rig = await CampaignRig.StartAsync();
        var tenant = await rig.TenantAsync();
        var api = rig.Host.Api(tenant);
        rig.Twilio.State.Callee = _ => CalleeKind.Machine;
        rig.Duration = _ => TimeSpan.FromSeconds(10);
        var (id, _) = await CreateAsync(api, new { name = "Live", contactsCsv = "number\n+15145595000\n+15145595001" });

        using var response = await api.GetAsync($"/api/v1/campaigns/{id}/events", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var (type, data) = await NextEventAsync(reader);
        Assert.Equal(("campaign.status", "draft", 2), (type, data.GetProperty("status").GetString(), data.GetProperty("counts").GetProperty("total").GetInt32()));

        Assert.Equal(HttpStatusCode.OK, (await api.PostAsync($"/api/v1/campaigns/{id}/start", null)).StatusCode);
        (type, data) = await NextEventAsync(reader);
        Assert.Equal(("campaign.status", "running"), (type, data.GetProperty("status").GetString()));
        await rig.RunAsync(tenant.Id, id, async () => await rig.StatusAsync(tenant.Id, id) == "completed", TimeSpan.FromHours(1));

        var seen = new List<(string Type, JsonElement Data)>();
        while (seen.Count == 0 || seen[^1].Type != "campaign.status")
        {
            seen.Add(await NextEventAsync(reader));
        }
        Assert.Equal(2, seen.Count(e => e.Type == "contact.queued"));
        var results = seen.Where(e => e.Type == "contact.result").Select(e => e.Data).ToList();
        Assert.Equal(2, results.Count);
        Assert.All(results, r => Assert.Equal(("done", "voicemail"), (r.GetProperty("state").GetString(), r.GetProperty("result").GetString())));
        Assert.Equal(2, results[^1].GetProperty("counts").GetProperty("done").GetInt32());
        Assert.Equal(("completed", 2), (seen[^1].Data.GetProperty("status").GetString(), seen[^1].Data.GetProperty("counts").GetProperty("done").GetInt32()));
    }

    private static async Task<(string Type, JsonElement Data)> NextEventAsync(StreamReader reader)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        string? type = null, data = null;
        while (true)
        {
            var line = await reader.ReadLineAsync(cts.Token) ?? throw new InvalidOperationException("the stream ended");
            if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                type = line[7..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                data = line[6..];
            }
            else if (line.Length == 0 && type is not null && data is not null)
            {
                if (type != "ping")
                {
                    return (type, JsonDocument.Parse(data).RootElement.Clone());
                }
                type = data = null;
            }
        }
    }

    [Fact]
    public async Task AnotherTenantCannotSeeOrAlterACampaign()
    {
        await using var rig = await CampaignRig.StartAsync();
        var a = await rig.TenantAsync();
        var b = await rig.TenantAsync();
        var (id, _) = await CreateAsync(rig.Host.Api(a), new { name = "A's", contactsCsv = "number\n+15145596000" });
        var other = rig.Host.Api(b);

        Assert.Empty((await GetAsync(other, "/api/v1/campaigns")).EnumerateArray());
        foreach (var path in new[] { "", "/contacts", "/events" })
        {
            var response = await other.GetAsync($"/api/v1/campaigns/{id}{path}");
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Equal("CAMPAIGN_NOT_FOUND", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("code").GetString());
        }
        foreach (var action in new[] { "start", "pause", "resume", "cancel" })
        {
            Assert.Equal(HttpStatusCode.NotFound, (await other.PostAsync($"/api/v1/campaigns/{id}/{action}", null)).StatusCode);
        }
        Assert.Equal(HttpStatusCode.NotFound, (await other.PostAsJsonAsync($"/api/v1/campaigns/{id}/schedule", new { startAt = rig.Host.Clock.GetUtcNow().AddHours(1) })).StatusCode);
        Assert.Equal("draft", await StatusAsync(rig.Host.Api(a), id));
        Assert.Single((await GetAsync(rig.Host.Api(a), "/api/v1/campaigns")).EnumerateArray());
    }

    [Fact]
    public async Task BadInputIsRefusedInTheErrorEnvelopeAndStoresNothing()
    {
        await using var rig = await CampaignRig.StartAsync();
        var tenant = await rig.TenantAsync();
        var api = rig.Host.Api(tenant);

        async Task Expect(HttpResponseMessage response, HttpStatusCode status, string code)
        {
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == status, $"{(int)response.StatusCode} {text}");
            Assert.Equal(code, JsonDocument.Parse(text).RootElement.GetProperty("error").GetProperty("code").GetString());
        }
        await Expect(await api.PostAsync("/api/v1/campaigns", new StringContent("{\"name\": ", Encoding.UTF8, "application/json")), HttpStatusCode.BadRequest, "BAD_REQUEST");
        await Expect(await api.PostAsync("/api/v1/campaigns", new StringContent("name=x", Encoding.UTF8, "text/plain")), HttpStatusCode.UnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE");
        await Expect(await api.PostAsJsonAsync("/api/v1/campaigns", new { contactsCsv = "number\n+15145597000", maxAttempts = 0, callsPerSecond = 500 }),
            HttpStatusCode.UnprocessableEntity, "VALIDATION_FAILED");
        await Expect(await api.PostAsJsonAsync("/api/v1/campaigns", new { name = "x", contactsCsv = "phone_book,name\nfoo,bar" }), HttpStatusCode.UnprocessableEntity, "INVALID_CSV");
        await Expect(await api.PostAsJsonAsync("/api/v1/campaigns", new { name = "x", contactsCsv = "number,name\nabc,Bob\n12,Ann\n\"unterminated" }),
            HttpStatusCode.UnprocessableEntity, "NO_VALID_CONTACTS");
        await Expect(await api.PostAsJsonAsync("/api/v1/campaigns", new { name = "x", assistantId = Guid.NewGuid(), contactsCsv = "number\n+15145597000" }),
            HttpStatusCode.NotFound, "ASSISTANT_NOT_FOUND");
        await Expect(await api.PostAsJsonAsync("/api/v1/campaigns", new { name = "x", contactsCsv = "number,consent_source,consent_at\n+15145597000,form,next year" }),
            HttpStatusCode.UnprocessableEntity, "NO_VALID_CONTACTS");
        // U+0000 cannot be stored (PostgreSQL text refuses it), in a JSON body or a form's name or file.
        await Expect(await api.PostAsync("/api/v1/campaigns", new StringContent("""{"name":"x","contactsCsv":"number,name\n+15145597000,A\u0000n"}""", Encoding.UTF8, "application/json")),
            HttpStatusCode.UnprocessableEntity, "VALIDATION_FAILED");
        foreach (var (name, csv) in new[] { ("Multi\0part", "number\n5145597001"), ("Multipart", "number,name\n5145597001,A\0nn") })
        {
            using var nul = new MultipartFormDataContent { { new StringContent(name), "name" }, { new ByteArrayContent(Encoding.UTF8.GetBytes(csv)), "contacts", "contacts.csv" } };
            await Expect(await api.PostAsync("/api/v1/campaigns", nul), HttpStatusCode.UnprocessableEntity, "VALIDATION_FAILED");
        }
        // A start time not in ISO 8601 (01/12/2026 was read as January 12, month first) is refused, not guessed.
        foreach (var startAt in new[] { "01/12/2026 10:00", "1 Dec 2026" })
        {
            using var usDate = new MultipartFormDataContent
            {
                { new StringContent("US date"), "name" }, { new StringContent(startAt), "startAt" },
                { new ByteArrayContent(Encoding.UTF8.GetBytes("number\n5145597001")), "contacts", "contacts.csv" },
            };
            await Expect(await api.PostAsync("/api/v1/campaigns", usDate), HttpStatusCode.UnprocessableEntity, "VALIDATION_FAILED");
        }
        Assert.Equal(0, await rig.Host.WithDbAsync(tenant.Id, db => db.Campaigns.CountAsync()));
        Assert.Equal(0, await rig.Host.WithDbAsync(tenant.Id, db => db.CampaignContacts.CountAsync()));

        // multipart: the file 'contacts' with a garbage row; the good rows are kept.
        using var form = new MultipartFormDataContent
        {
            { new StringContent("Multipart"), "name" },
            { new StringContent("2"), "maxAttempts" },
            { new ByteArrayContent(Encoding.UTF8.GetBytes("number,name\n5145597001,Ann\n<script>,Eve\n5145597002,Bo")), "contacts", "contacts.csv" },
        };
        var response = await api.PostAsync("/api/v1/campaigns", form);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(2, body.GetProperty("imported").GetInt32());
        var error = Assert.Single(body.GetProperty("errors").EnumerateArray());
        Assert.Equal((3, "<script>"), (error.GetProperty("line").GetInt32(), error.GetProperty("value").GetString()));
        var id = body.GetProperty("campaign").GetProperty("id").GetGuid();
        Assert.Equal(2, body.GetProperty("campaign").GetProperty("maxAttempts").GetInt32());

        await Expect(await api.GetAsync($"/api/v1/campaigns/{id}/contacts?state=nope"), HttpStatusCode.UnprocessableEntity, "INVALID_STATE");
        await Expect(await api.GetAsync($"/api/v1/campaigns/{id}/contacts?limit=0"), HttpStatusCode.UnprocessableEntity, "INVALID_LIMIT");
        await Expect(await api.PostAsync($"/api/v1/campaigns/{id}/resume", null), HttpStatusCode.Conflict, "INVALID_CAMPAIGN_STATE");
        await Expect(await api.PostAsJsonAsync($"/api/v1/campaigns/{id}/schedule", new { startAt = (DateTimeOffset?)null }), HttpStatusCode.UnprocessableEntity, "VALIDATION_FAILED");
        await Expect(await api.GetAsync($"/api/v1/campaigns/{Guid.NewGuid()}"), HttpStatusCode.NotFound, "CAMPAIGN_NOT_FOUND");
        var page = await GetAsync(api, $"/api/v1/campaigns/{id}/contacts?limit=1");
        Assert.Equal(1, page.GetProperty("nextAfter").GetInt32());
        var last = await GetAsync(api, $"/api/v1/campaigns/{id}/contacts?limit=1&after=1");
        Assert.Equal("+15145597002", last.GetProperty("items")[0].GetProperty("number").GetString());
        Assert.Equal(JsonValueKind.Null, last.GetProperty("nextAfter").ValueKind);
    }
}
