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
}
