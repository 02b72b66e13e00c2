using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Switchboard.Calls;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Calls;

/// <summary>
/// The search paths of migration 0016 (issue 8 §4): a number fragment anywhere in the caller's digits (SQLite FTS5
/// trigram table <c>calls_number</c>, PostgreSQL pg_trgm on the stored <c>CustomerDigits</c>) and words through the
/// stored search document. On SQLite every query is run through each <see cref="CallListQuery.SearchPlan"/> (words drive,
/// number drives, walk the list checking each row) and must give the same calls, in time order, as the API and as the
/// expectation computed here from the data; the same expectations run on PostgreSQL, so both databases answer alike.
/// </summary>
[Trait("Category", "Database")]
public sealed class CallsSearchAtScaleTests(SwitchboardFactory factory) : IClassFixture<SwitchboardFactory>
{
    private static readonly DateTimeOffset T0 = new(2026, 10, 1, 14, 0, 0, TimeSpan.Zero);

    private static readonly string[] Phrases =
    [
        "User: Mon sous-sol est inondé depuis ce matin.", "User: Je n'ai plus d'eau chaude.", "User: The water heater is leaking.", "User: Le drain est bouché.",
    ];

    private sealed record Seeded(Guid Id, string? Number, int Phrase, bool Emergency);

    private static string? NumberOf(int i) => (i % 3) switch
    {
        0 => $"+1 (514) 555-01{i:00}",
        1 => $"+1438555{i:0000}",
        _ => null,
    };

    private async Task<List<Seeded>> SeedAsync(TestTenant tenant, int count)
    {
        var reads = new CallsReadSideTests(factory);
        var seeded = new List<Seeded>();
        for (var i = 0; i < count; i++)
        {
            var number = NumberOf(i);
            var emergency = i % 5 == 0;
            var id = await reads.AddCallAsync(tenant, T0.AddMinutes(i), c =>
            {
                c.CustomerNumber = number;
                c.Channel = number is null ? "web" : "voice";
                c.TranscriptText = Phrases[i % Phrases.Length];
            }, urgency: emergency ? Urgency.Emergency : null);
            seeded.Add(new Seeded(id, number, i % Phrases.Length, emergency));
        }
        return seeded;
    }

    private static string Digits(string? s) => new((s ?? "").Where(char.IsAsciiDigit).ToArray());

    /// <summary>Newest first, as the list orders them.</summary>
    private static List<Guid> Expected(IEnumerable<Seeded> calls, Func<Seeded, bool> match) =>
        calls.Where(match).Reverse().Select(c => c.Id).ToList();

    private async Task<List<Guid>> ApiAsync(HttpClient client, string query, int pageSize = 100)
    {
        var all = new List<Guid>();
        string? cursor = null;
        do
        {
            var response = await client.GetAsync($"/api/v1/calls?pageSize={pageSize}&{query}" + (cursor is null ? "" : "&cursor=" + cursor));
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{query}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            var page = await response.Content.ReadFromJsonAsync<JsonObject>();
            all.AddRange(page!["items"]!.AsArray().Select(i => i!["id"]!.GetValue<Guid>()));
            cursor = page["nextCursor"]?.GetValue<string>();
        }
        while (cursor is not null);
        return all;
    }

    /// <summary>The same filter through every SQLite plan (on PostgreSQL the plan is ignored: one answer).</summary>
    private async Task<List<(string Plan, List<Guid> Ids)>> EveryPlanAsync(TestTenant tenant, string? q, string? number, string? urgency = null)
    {
        var (filter, error) = new CallFilter(null, null, null, urgency, null, null, null, number, null, null, null, null, q).Validate();
        Assert.Null(error);
        var words = SearchText.Fts5(filter!.Words);
        var digits = SearchText.Fts5Trigram(filter.NumberDigits);
        var plans = new List<(string, CallListQuery.SearchPlan)> { ("walk", new(words, false, digits, false)) };
        if (words is not null)
        {
            plans.Add(("words drive", new(words, true, digits, false)));
        }
        if (digits is not null)
        {
            plans.Add(("number drives", new(words, false, digits, true)));
        }
        var results = new List<(string, List<Guid>)>();
        foreach (var (name, plan) in plans)
        {
            var keys = await factory.WithDbAsync(tenant.Id, db => new CallListQuery(db).KeysAsync(tenant.Id, filter, null, 0, 1000, CancellationToken.None, plan));
            results.Add((name, keys.Select(k => k.Id).ToList()));
        }
        return results;
    }

    [Fact]
    public async Task NumberFragmentsAndWordsGiveTheSameCallsInTimeOrderThroughEveryPlan()
    {
        var tenant = await factory.CreateTenantAsync();
        var other = await factory.CreateTenantAsync("Other Co");
        var calls = await SeedAsync(tenant, 30);
        await SeedAsync(other, 6); // same numbers and words in another tenant: never listed
        var client = factory.ApiClient(tenant);

        var cases = new (string? Q, string? Number, string? Urgency, Func<Seeded, bool> Match)[]
        {
            (null, "514", null, c => Digits(c.Number).Contains("514")),
            (null, "5550", null, c => Digits(c.Number).Contains("5550")),
            (null, "(438) 555-00", null, c => Digits(c.Number).Contains("438555" + "00")),
            (null, "0112", null, c => Digits(c.Number).Contains("0112")),
            (null, "0013", null, c => Digits(c.Number).Contains("0013")),
            (null, "999", null, _ => false),
            ("eau", null, null, c => c.Phrase == 1),
            ("INONDE", null, null, c => c.Phrase == 0),
            ("water heater", null, null, c => c.Phrase == 2),
            ("eau", "514", null, c => c.Phrase == 1 && Digits(c.Number).Contains("514")),
            ("water", "4385550", null, c => c.Phrase == 2 && Digits(c.Number).Contains("4385550")),
            (null, "514", "emergency", c => c.Emergency && Digits(c.Number).Contains("514")),
            ("sous-sol", null, "emergency", c => c.Emergency && c.Phrase == 0),
        };
        foreach (var (q, number, urgency, match) in cases)
        {
            var label = $"q={q} number={number} urgency={urgency}";
            var expected = Expected(calls, match);
            var query = string.Join('&', new[] { ("q", q), ("number", number), ("urgency", urgency) }
                .Where(p => p.Item2 is not null).Select(p => $"{p.Item1}={Uri.EscapeDataString(p.Item2!)}"));
            Assert.True(expected.SequenceEqual(await ApiAsync(client, query)), label + " (API)");
            Assert.True(expected.SequenceEqual(await ApiAsync(client, query, pageSize: 2)), label + " (API, keyset pages of 2)");
            foreach (var (plan, ids) in await EveryPlanAsync(tenant, q, number, urgency))
            {
                Assert.True(expected.SequenceEqual(ids), $"{label} ({plan}): expected {expected.Count}, got {ids.Count}");
            }
        }
    }

    [Fact]
    public async Task RareTermsBeyondTheNewestRowsAreFoundInOrderAndOnlyInTheirTenant()
    {
        // On PostgreSQL the list first walks the newest CallListQuery.PgWalkBound calls; terms only in older calls are then
        // fetched by their GIN index in one query that probes and answers. The rare word and number are in three old calls
        // of this tenant and in one newer call of another tenant, never listed here.
        var tenant = await factory.CreateTenantAsync();
        var other = await factory.CreateTenantAsync("Other Co");
        var reads = new CallsReadSideTests(factory);
        var rare = new List<Guid>();
        for (var i = 0; i < CallListQuery.PgWalkBound + 30; i++)
        {
            var old = i is 3 or 5 or 9;
            var id = await reads.AddCallAsync(tenant, T0.AddMinutes(i), c =>
            {
                c.CustomerNumber = old ? "+1 819 555 7" + i.ToString("000", System.Globalization.CultureInfo.InvariantCulture) : "+1 514 555 0100";
                c.TranscriptText = old ? "User: Un voyage à Zanzibar, puis le drain." : "User: Le drain est bouché.";
            }, urgency: i == 5 ? Urgency.Emergency : null);
            if (old)
            {
                rare.Insert(0, id);
            }
        }
        await reads.AddCallAsync(other, T0.AddDays(1), c => { c.CustomerNumber = "+1 819 555 7003"; c.TranscriptText = "User: Zanzibar"; });
        var client = factory.ApiClient(tenant);

        Assert.Equal(rare, await ApiAsync(client, "q=zanzibar"));
        Assert.Equal(rare, await ApiAsync(client, "q=zanzibar", pageSize: 1));
        Assert.Equal(rare, await ApiAsync(client, "number=8195557", pageSize: 2));
        Assert.Equal([rare[1]], await ApiAsync(client, "q=zanzibar&urgency=emergency"));
        Assert.Equal([rare[^1]], await ApiAsync(client, "q=zanzibar&number=7003"));
        Assert.Empty(await ApiAsync(client, "q=zanzibar&number=7004"));
    }

    [Fact]
    public async Task TheWalkForAFrequentWordCrossesManyChunksAndReturnsExactlyEachPage()
    {
        var tenant = await factory.CreateTenantAsync();
        var other = await factory.CreateTenantAsync("Other Co");
        var calls = await SeedAsync(tenant, 30);
        await SeedAsync(other, 6);
        var (filter, error) = new CallFilter(null, null, null, null, null, null, null, null, null, null, null, null, "eau").Validate();
        Assert.Null(error);
        var walk = new CallListQuery.SearchPlan(SearchText.Fts5(filter!.Words), false, null, false);
        var expected = Expected(calls, c => c.Phrase == 1); // 7 of 30, one in four rows

        // Chunks of 1 (twelve rounds, then the per-row query for the rest), 2 doubling to 4, 3 doubling to 6, fixed 5:
        // every page of 2 after the previous page's last key, and the whole list in one call, must be exact.
        foreach (var sizes in new CallListQuery.WalkSizes[] { new(1, 1), new(2, 4), new(3, 6), new(5, 5) })
        {
            var all = await factory.WithDbAsync(tenant.Id, db => new CallListQuery(db).KeysAsync(tenant.Id, filter, null, 0, 100, CancellationToken.None, walk, sizes));
            Assert.True(expected.SequenceEqual(all.Select(k => k.Id)), $"{sizes}: whole list");
            var paged = new List<Guid>();
            (DateTimeOffset, Guid)? after = null;
            while (true)
            {
                var page = await factory.WithDbAsync(tenant.Id, db => new CallListQuery(db).KeysAsync(tenant.Id, filter, after, 0, 2, CancellationToken.None, walk, sizes));
                Assert.True(page.Count <= 2);
                paged.AddRange(page.Select(k => k.Id));
                if (page.Count < 2)
                {
                    break;
                }
                after = (page[^1].CreatedAt, page[^1].Id);
            }
            Assert.True(expected.SequenceEqual(paged), $"{sizes}: pages of 2 gave {paged.Count} of {expected.Count}");
        }
    }

    [Fact]
    public async Task PageNumberModeCountsUpToTheCapAndSaysWhenThereAreMore()
    {
        var tenant = await factory.CreateTenantAsync();
        await SeedAsync(tenant, 8);
        var (filter, _) = new CallFilter(null, null, null, null, null, null, null, null, null, null, null, null, null).Validate();
        var (emergency, _) = new CallFilter(null, null, null, "emergency", null, null, null, null, null, null, null, null, null).Validate();

        Assert.Equal(6, await factory.WithDbAsync(tenant.Id, db => new CallListQuery(db).CountAsync(tenant.Id, filter!, 5, CancellationToken.None)));
        Assert.Equal(8, await factory.WithDbAsync(tenant.Id, db => new CallListQuery(db).CountAsync(tenant.Id, filter!, 8, CancellationToken.None)));
        Assert.Equal(2, await factory.WithDbAsync(tenant.Id, db => new CallListQuery(db).CountAsync(tenant.Id, emergency!, 5, CancellationToken.None)));
        var page = await factory.ApiClient(tenant).GetFromJsonAsync<JsonObject>("/api/v1/calls?page=2&pageSize=3");
        Assert.Equal(8, page!["total"]!.GetValue<int>());
        Assert.False(page["totalCapped"]!.GetValue<bool>());
        Assert.Equal(3, page["items"]!.AsArray().Count);
        var keyset = await factory.ApiClient(tenant).GetFromJsonAsync<JsonObject>("/api/v1/calls?pageSize=3");
        Assert.Null(keyset!["totalCapped"]?.GetValue<bool>());
    }

    [Fact]
    public async Task NumberIndexFollowsUpdatesAndDeletesOnEveryPlan()
    {
        var tenant = await factory.CreateTenantAsync();
        var calls = await SeedAsync(tenant, 4);
        var client = factory.ApiClient(tenant);
        Assert.Empty(await ApiAsync(client, "number=8735"));

        await factory.WithDbAsync(tenant.Id, async db =>
        {
            db.Calls.Single(c => c.Id == calls[1].Id).CustomerNumber = "+1 819 873-5000";
            return await db.SaveChangesAsync();
        });
        Assert.Equal([calls[1].Id], await ApiAsync(client, "number=8735"));
        Assert.All(await EveryPlanAsync(tenant, null, "8735"), r => Assert.True(r.Ids.SequenceEqual([calls[1].Id]), r.Plan));
        Assert.All(await EveryPlanAsync(tenant, null, "4385550001"), r => Assert.Empty(r.Ids)); // its old number is gone

        await factory.WithDbAsync(tenant.Id, async db =>
        {
            db.Calls.Remove(db.Calls.Single(c => c.Id == calls[1].Id));
            return await db.SaveChangesAsync();
        });
        Assert.All(await EveryPlanAsync(tenant, "chaude", "8735"), r => Assert.Empty(r.Ids));
        Assert.Empty(await ApiAsync(client, "number=8735"));
    }

    [Fact]
    public async Task CsvExportCarriesTheLeadsStatusAndNotes()
    {
        var tenant = await factory.CreateTenantAsync();
        var reads = new CallsReadSideTests(factory);
        var withLead = await reads.AddCallAsync(tenant, T0, c => c.CustomerNumber = "+15145550199", urgency: Urgency.Emergency);
        var withoutLead = await reads.AddCallAsync(tenant, T0.AddMinutes(1));
        await factory.WithDbAsync(tenant.Id, async db =>
        {
            var lead = db.Leads.Single(l => l.CallId == withLead);
            lead.Status = LeadStatus.Contacted;
            lead.Notes = "Rappeler après 17 h, \"sous-sol\"\n=2+2";
            return await db.SaveChangesAsync();
        });

        var csv = await factory.ApiClient(tenant).GetStringAsync("/api/v1/calls/export.csv");
        var lines = csv.TrimStart('\uFEFF').Split("\r\n");

        Assert.EndsWith(",summary,leadStatus,leadNotes,leadName,leadPhone,leadAddress,leadProblem", lines[0]);
        Assert.StartsWith(withoutLead.ToString(), lines[1]);
        Assert.EndsWith(",,,,,,", lines[1]); // no lead: its six cells empty
        Assert.Contains(withLead + ",", csv);
        Assert.Contains(",contacted,\"Rappeler après 17 h, \"\"sous-sol\"\"\n=2+2\",,,,\r\n", csv);
    }

    [Fact]
    public async Task CsvExportCarriesWhoToCallBackWhereAndWhyWithFormulasNeutralised()
    {
        var tenant = await factory.CreateTenantAsync();
        var reads = new CallsReadSideTests(factory);
        var call = await reads.AddCallAsync(tenant, T0, c => c.CustomerNumber = "+15145550199", urgency: Urgency.Emergency);
        await factory.WithDbAsync(tenant.Id, async db =>
        {
            var lead = db.Leads.Single(l => l.CallId == call);
            lead.Name = "=HYPERLINK(\"http://evil\",\"Marie\")";
            lead.Phone = "+15145550777";
            lead.Address = "1234, rue Principale à Laval";
            lead.Problem = "Sous-sol inondé";
            return await db.SaveChangesAsync();
        });

        var csv = await factory.ApiClient(tenant).GetStringAsync("/api/v1/calls/export.csv");
        var lines = csv.TrimStart('\uFEFF').Split("\r\n");

        Assert.StartsWith(call.ToString(), lines[1]);
        Assert.EndsWith(",new,,\"'=HYPERLINK(\"\"http://evil\"\",\"\"Marie\"\")\",'+15145550777,\"1234, rue Principale à Laval\",Sous-sol inondé", lines[1]);
    }
}
