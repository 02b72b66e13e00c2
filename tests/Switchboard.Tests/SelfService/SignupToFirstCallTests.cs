using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Switchboard.Platform;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.SelfService;

/// <summary>
/// The "done when": a new user signs up, completes onboarding through the API with simulators standing in
/// for Vapi and Twilio, and Switchboard answers Vapi's calls for their number with their secret.
/// </summary>
[Trait("Category", "Database")]
public sealed class SignupToFirstCallTests(SelfServiceFactory factory) : IClassFixture<SelfServiceFactory>
{
    [Fact]
    public async Task ANewUserSignsUpOnboardsAndSwitchboardAnswersVapiCallsForTheirNumber()
    {
        const string number = "+14385550142";
        factory.Twilio.Own(number);
        var owner = await factory.SignUpAsync(organisation: "Plomberie Laval");

        // The plan first (owner only), then every step in one auto-save, then the skipped integrations.
        var patched = await (await owner.Client.PatchAsJsonAsync("/api/v1/onboarding", new
        {
            plan = new { planId = "telephony" },
            profile = new
            {
                fullName = "Luc Gagnon",
                organisation = "Plomberie Laval",
                industry = "plumbing",
                timeZone = "America/Toronto",
                locale = "fr-CA",
                marketingOptIn = false,
                acceptedTerms = new { version = "2026-01", at = factory.Clock.GetUtcNow() },
            },
            voiceProvider = new { provider = "vapi", vapiApiKey = VapiSimulator.PrivateKey },
            persona = new { persona = "Léa", jobToBeDone = "take urgent plumbing calls and book call-backs", languages = new[] { "fr-CA", "en-US" }, tone = "warm" },
            twilio = new { accountSid = TwilioNumbersSimulator.AccountSid, authToken = TwilioNumbersSimulator.AuthToken },
            assistant = new { name = "Léa", firstMessage = "Plomberie Laval, bonjour!", alertPolicy = new { onCallNumbers = new[] { "+15145550111" } } },
            telephony = new
            {
                number,
                businessHours = new { weekly = new Dictionary<string, string[]> { ["monday"] = ["08:00-17:00"], ["friday"] = ["08:00-16:00"] }, holidays = new[] { "2026-12-25" } },
            },
            skipped = new Dictionary<string, bool> { ["integrations"] = true },
            currentStep = "plan",
        })).JsonAsync(HttpStatusCode.OK);
        Assert.Empty(patched["warnings"]!.AsArray());

        // The outbox pushes the assistant and imports the number into Vapi.
        await factory.Outbox.DrainAsync(CancellationToken.None);
        var done = await (await owner.Client.PostAsync("/api/v1/onboarding/complete", null)).JsonAsync(HttpStatusCode.OK);
        var missing = done["missing"]!.AsArray();
        var only = Assert.Single(missing);
        Assert.Equal("integrations", only!["step"]!.GetValue<string>());
        Assert.True(only["skipped"]!.GetValue<bool>());

        var assistant = Assert.Single(factory.Vapi.Assistants.Values, a => a["metadata"]?["switchboardTenantId"]?.GetValue<string>() == owner.TenantId.ToString());
        var imported = Assert.Single(factory.Vapi.PhoneNumbers.Values, p => p["number"]!.GetValue<string>() == number);
        var serverUrl = imported["server"]!["url"]!.GetValue<string>();
        var secret = imported["server"]!["headers"]!["x-vapi-secret"]!.GetValue<string>();
        Assert.Equal(assistant["server"]!["url"]!.GetValue<string>(), serverUrl);
        Assert.StartsWith(SelfServiceFactory.PublicBaseUrl, serverUrl);

        // Vapi calls the server URL for an inbound call: Switchboard answers with the tenant's assistant.
        var path = new Uri(serverUrl).AbsolutePath;
        var request = Jsonc.ToStrictJson(Fixtures.ReadText("vapi/assistant-request.doc.jsonc"));
        var reply = await PostAsVapiAsync(path, request, secret);
        Assert.Equal(HttpStatusCode.OK, reply.StatusCode);
        Assert.Equal(assistant["id"]!.GetValue<string>(), (await reply.Content.ReadFromJsonAsync<JsonObject>())!["assistantId"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.Unauthorized, (await PostAsVapiAsync(path, request, secret + "x")).StatusCode);

        // The end-of-call report lands in their calls, visible to their session.
        Assert.Equal(HttpStatusCode.OK, (await PostAsVapiAsync(path, Fixtures.ReadText("vapi/end-of-call-report.2024-07.json"), secret)).StatusCode);
        var calls = await owner.Client.GetFromJsonAsync<JsonObject>("/api/v1/calls?page=1"); // page-number mode carries the total
        Assert.Equal(1, calls!["total"]!.GetValue<int>());
        var usage = await owner.Client.GetFromJsonAsync<JsonObject>("/api/v1/usage?period=2024-07");
        Assert.Equal(34.086, usage!["callSeconds"]!.GetValue<double>(), 3);

        // Through all of it, no secret reached a log line (captured at Trace level).
        Assert.NotEmpty(factory.LogLines);
        foreach (var secretText in new[] { VapiSimulator.PrivateKey, TwilioNumbersSimulator.AuthToken, secret, owner.Password, owner.Csrf })
        {
            Assert.DoesNotContain(factory.LogLines, l => l.Contains(secretText, StringComparison.Ordinal));
        }
    }

    private async Task<HttpResponseMessage> PostAsVapiAsync(string path, string json, string secret)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        message.Headers.Add("x-vapi-secret", secret);
        return await factory.CreateClient().SendAsync(message);
    }
}
