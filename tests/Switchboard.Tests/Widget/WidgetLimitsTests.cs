using System.Net;
using System.Net.Http.Json;
using Microsoft.EntityFrameworkCore;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Widget;

/// <summary>The host with a tiny chat quota on the Pro plan and a tiny per-visitor rate limit.</summary>
public sealed class LimitedWidgetFactory : WidgetFactory
{
    protected override IDictionary<string, string?> MoreSettings => new Dictionary<string, string?>
    {
        ["Switchboard:Widget:MonthlyMessagesByPlan:pro"] = "2",
        ["Switchboard:Widget:RequestsPerMinutePerVisitor"] = "4",
    };
}

/// <summary>The plan's chat quota (metered per message) and the per-visitor rate limit.</summary>
[Trait("Category", "Database")]
public sealed class WidgetLimitsTests(LimitedWidgetFactory factory) : IClassFixture<LimitedWidgetFactory>
{
    [Fact]
    public async Task MessagesBeyondThePlansMonthlyChatQuotaAreRefusedAndNotStored()
    {
        var t = await factory.CreateWidgetTenantAsync("Quota");
        var visitor = new Visitor(factory.Browser(), t);
        await visitor.StartAsync();
        await visitor.SayAsync("Bonjour");
        await visitor.SayAsync("Avez-vous des disponibilités?");

        var refused = await visitor.PostAsync("Encore une question");
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        var error = (await refused.JsonAsync(HttpStatusCode.TooManyRequests))["error"]!;
        Assert.Equal("CHAT_QUOTA_EXCEEDED", error["code"]!.GetValue<string>());
        Assert.Equal("pro", error["details"]?["plan"]?.GetValue<string>()); // the plan id, for a client to word the refusal
        Assert.Equal(2, error["details"]?["quota"]?.GetValue<int>());
        Assert.Equal(4, await factory.WithDbAsync(t.Id, db => db.TranscriptTurns.CountAsync()));
        Assert.Equal(2, await factory.WithDbAsync(t.Id, db => db.UsageRecords.CountAsync()));
    }

    [Fact]
    public async Task OneVisitorIsRateLimited()
    {
        var t = await factory.CreateWidgetTenantAsync("Débit");
        var client = factory.Browser();
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 5; i++)
        {
            statuses.Add((await client.PostAsJsonAsync("/widget/v1/conversations" + t.Q, new { visitorId = "same-visitor-1", language = "fr" })).StatusCode);
        }
        Assert.Equal([HttpStatusCode.Created, HttpStatusCode.Created, HttpStatusCode.Created, HttpStatusCode.Created, HttpStatusCode.TooManyRequests], statuses);
    }
}
