using System.Net;
using System.Net.Http.Json;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Billing;

/// <summary>
/// Every 403 <c>FEATURE_NOT_IN_PLAN</c>, wherever the feature is checked, carries <c>details {feature, plan}</c> (the feature
/// id and the plan id), so that a client words it in its own language: the message names the plan by its English label.
/// </summary>
[Trait("Category", "Database")]
public sealed class FeatureRefusalTests(SelfServiceFactory factory) : IClassFixture<SelfServiceFactory>
{
    [Fact]
    public async Task EveryFeatureRefusalNamesTheFeatureAndThePlanIdInItsDetails()
    {
        var owner = await factory.SignUpAsync(); // free: the widget only
        await AssertRefusedAsync(await owner.Client.PostAsJsonAsync("/api/v1/numbers", new { number = "+15145557777" }), "telephony", "telephony");
        await AssertRefusedAsync(await owner.Client.PostAsJsonAsync("/api/v1/assistants", new { name = "Rec", recordingEnabled = true }), "recording", "call recording");
        await AssertRefusedAsync(await owner.Client.PostAsJsonAsync("/api/v1/keys", new { name = "server" }), "api_access", "API access");
        await AssertRefusedAsync(await owner.Client.GetAsync("/api/v1/webhooks/endpoints"), "webhooks", "webhooks");

        // A secret key made on a plan with API access, used after the plan lost it (the API guard, before any endpoint).
        await factory.SetPlanAsync(owner.TenantId, "starter");
        var key = (await (await owner.Client.PostAsJsonAsync("/api/v1/keys", new { name = "server" })).JsonAsync(HttpStatusCode.Created))["key"]!.GetValue<string>();
        await factory.SetPlanAsync(owner.TenantId, "free");
        using var server = factory.CreateClient();
        server.DefaultRequestHeaders.Authorization = Http.Bearer(key);
        await AssertRefusedAsync(await server.GetAsync("/api/v1/calls"), "api_access", "API access");
    }

    private static async Task AssertRefusedAsync(HttpResponseMessage response, string feature, string phrase)
    {
        var error = (await response.JsonAsync(HttpStatusCode.Forbidden))["error"]!;
        Assert.Equal("FEATURE_NOT_IN_PLAN", error["code"]!.GetValue<string>());
        Assert.Equal($"The Free plan does not include {phrase}.", error["message"]!.GetValue<string>());
        Assert.Equal(feature, error["details"]?["feature"]?.GetValue<string>());
        Assert.Equal("free", error["details"]?["plan"]?.GetValue<string>());
    }
}
