using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Onboarding;

/// <summary>The wizard learns which terms version to ask for from <c>profile.termsVersion</c> (the installation's required version).</summary>
[Trait("Category", "Database")]
public sealed class OnboardingTermsVersionTests(SelfServiceFactory factory) : IClassFixture<SelfServiceFactory>
{
    [Fact]
    public async Task TheProfileCarriesTheRequiredTermsVersionAndAcceptingItClearsTheMissingItem()
    {
        var owner = await factory.SignUpAsync();
        var state = await owner.Client.GetFromJsonAsync<JsonObject>("/api/v1/onboarding");
        var version = state!["profile"]!["termsVersion"]!.GetValue<string>();
        Assert.Equal("2026-01", version);
        Assert.Contains(state["missing"]!.AsArray(), m => m!["field"]!.GetValue<string>() == "acceptedTerms");

        var patched = await (await owner.Client.PatchAsJsonAsync("/api/v1/onboarding", new
        {
            profile = new { acceptedTerms = new { version, at = factory.Clock.GetUtcNow() } },
        })).JsonAsync(HttpStatusCode.OK);
        Assert.Equal(version, patched["profile"]!["acceptedTerms"]!["version"]!.GetValue<string>());
        Assert.Equal(version, patched["profile"]!["termsVersion"]!.GetValue<string>());
        Assert.DoesNotContain(patched["missing"]!.AsArray(), m => m!["field"]!.GetValue<string>() == "acceptedTerms");
    }
}
