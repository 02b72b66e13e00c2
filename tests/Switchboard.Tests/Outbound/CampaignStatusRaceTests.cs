using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Outbound;

/// <summary>
/// Probe 9: a campaign's status changes sent at the same moment. Each request checked the status it had read, then saved
/// its own, so a cancel and a resume sent together could both pass: the cancel skipped the contacts, and the resume's save
/// turned the canceled campaign back into a running one (with its end time set). And
/// campaigns created together from CSVs carrying the consent of the same new number answered 409 but for one.
/// </summary>
[Trait("Category", "Database")]
public sealed class CampaignStatusRaceTests
{
    private const int Rounds = 10;

    private static async Task<Guid> CreatePausedAsync(HttpClient api, int round, DateTimeOffset startAt)
    {
        var created = await api.PostAsJsonAsync("/api/v1/campaigns", new { name = $"Race {round}", startAt, contactsCsv = $"number\n+1514558{round:D4}\n+1514559{round:D4}" });
        var text = await created.Content.ReadAsStringAsync();
        Assert.True(created.StatusCode == HttpStatusCode.Created, $"{(int)created.StatusCode} {text}");
        var id = JsonDocument.Parse(text).RootElement.GetProperty("campaign").GetProperty("id").GetGuid();
        Assert.Equal(HttpStatusCode.OK, (await api.PostAsync($"/api/v1/campaigns/{id}/pause", null)).StatusCode);
        return id;
    }

    [Fact]
    public async Task ACanceledCampaignStaysCanceledWhenAResumeRacesTheCancel()
    {
        await using var rig = await CampaignRig.StartAsync();
        var tenant = await rig.TenantAsync();
        var api = rig.Host.Api(tenant);
        var startAt = rig.Host.Clock.GetUtcNow().AddDays(30); // scheduled far ahead: the dialer calls nobody meanwhile

        for (var i = 0; i < Rounds; i++)
        {
            var id = await CreatePausedAsync(api, i, startAt);

            var responses = await Concurrently.PairAsync(
                () => api.PostAsync($"/api/v1/campaigns/{id}/cancel", null),
                () => api.PostAsync($"/api/v1/campaigns/{id}/resume", null));

            // Either order is allowed (resume then cancel: both succeed), but a canceled campaign never runs again.
            var (cancel, resume) = (responses[0], responses[1]);
            Assert.True(cancel.StatusCode is HttpStatusCode.OK or HttpStatusCode.Conflict, $"cancel: {(int)cancel.StatusCode} {await cancel.Content.ReadAsStringAsync()}");
            Assert.True(resume.StatusCode is HttpStatusCode.OK or HttpStatusCode.Conflict, $"resume: {(int)resume.StatusCode} {await resume.Content.ReadAsStringAsync()}");
            var campaign = await rig.Host.WithDbAsync(tenant.Id, db => db.Campaigns.AsNoTracking().SingleAsync(c => c.Id == id));
            if (cancel.StatusCode == HttpStatusCode.OK)
            {
                Assert.Equal("canceled", campaign.Status);
            }
            else
            {
                Assert.Equal(HttpStatusCode.OK, resume.StatusCode);
                Assert.Equal("running", campaign.Status);
            }
            Assert.Equal(campaign.Status == "canceled", campaign.EndedAt is not null);
        }
    }

    [Fact]
    public async Task CampaignsCreatedTogetherWithTheConsentOfTheSameNewNumberAreAllCreated()
    {
        await using var rig = await CampaignRig.StartAsync();
        var tenant = await rig.TenantAsync();
        var api = rig.Host.Api(tenant);
        var consentAt = rig.Host.Clock.GetUtcNow().AddDays(-10).ToString("O");

        for (var round = 0; round < 3; round++)
        {
            var csv = $"number,name,consent_source,consent_at\n+1514556{round:D4},Ann,web form,{consentAt}\n";
            var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var creates = Enumerable.Range(0, 8).Select(i => Task.Run(async () =>
            {
                await gate.Task;
                return await api.PostAsJsonAsync("/api/v1/campaigns", new { name = $"Consent {round}-{i}", promotional = true, contactsCsv = csv });
            })).ToList();
            gate.SetResult();

            foreach (var response in await Task.WhenAll(creates))
            {
                Assert.True(response.StatusCode == HttpStatusCode.Created, $"round {round}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            }
            var number = $"+1514556{round:D4}";
            Assert.Equal(1, await rig.Host.WithDbAsync(tenant.Id, db => db.Consents.CountAsync(c => c.Number == number)));
        }
        Assert.Equal(24, await rig.Host.WithDbAsync(tenant.Id, db => db.Campaigns.CountAsync()));
    }

    [Fact]
    public async Task TenCampaignsCreatedAtOnceWithConsentsOfTheSameNumbersInOtherOrdersAreAllCreated()
    {
        // Each CSV lists the same new numbers in another order. Inserted in each CSV's order (or with v7 ids minted within
        // one millisecond, random among themselves), two creations each held a number the other waited for: PostgreSQL
        // answered one of them 40P01, a 500. In one order (InsertOrder) the later one waits, then retries on the winner's rows.
        await using var rig = await CampaignRig.StartAsync();
        var tenant = await rig.TenantAsync();
        var api = rig.Host.Api(tenant);
        var consentAt = rig.Host.Clock.GetUtcNow().AddDays(-10).ToString("O");
        const int Numbers = 100, Creations = 10;

        for (var round = 0; round < 4; round++)
        {
            var numbers = Enumerable.Range(0, Numbers).Select(n => $"+1514557{round}{n:D3}").ToList();
            var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var creates = Enumerable.Range(0, Creations).Select(i =>
            {
                var order = numbers.Skip(i * 17 % Numbers).Concat(numbers.Take(i * 17 % Numbers)).ToList();
                if (i % 2 == 1)
                {
                    order.Reverse();
                }
                var csv = "number,name,consent_source,consent_at\n" + string.Concat(order.Select(n => $"{n},Ann,web form,{consentAt}\n"));
                return Task.Run(async () =>
                {
                    await gate.Task;
                    return await api.PostAsJsonAsync("/api/v1/campaigns", new { name = $"Order {round}-{i}", promotional = true, contactsCsv = csv });
                });
            }).ToList();
            gate.SetResult();

            foreach (var response in await Task.WhenAll(creates))
            {
                Assert.True(response.StatusCode == HttpStatusCode.Created, $"round {round}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            }
            Assert.Equal(Numbers, await rig.Host.WithDbAsync(tenant.Id, db => db.Consents.CountAsync(c => numbers.Contains(c.Number))));
        }
    }
}
