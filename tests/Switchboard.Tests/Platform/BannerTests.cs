using Switchboard.Platform;

namespace Switchboard.Tests.Platform;

/// <summary>Findings 2026-11-30 §4: the start-up banner printed the demo secrets even in Production.</summary>
public sealed class BannerTests
{
    private static readonly DemoCredentials Demo = new(Guid.Parse("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"), "Drain Fortin (demo)", "whsec-demo-secret-value-123", "sk_live_demo_api_key_456");

    private static string Banner(bool development)
    {
        using var output = new StringWriter();
        global::Switchboard.Platform.Banner.WriteDemo(output, Demo, "http://127.0.0.1:8080", development);
        return output.ToString();
    }

    [Fact]
    public void OutsideDevelopmentTheBannerPrintsNoSecretOnlyWhereToFindThem()
    {
        var text = Banner(development: false);

        Assert.DoesNotContain(Demo.VapiWebhookSecret, text, StringComparison.Ordinal);
        Assert.DoesNotContain(Demo.ApiKey, text, StringComparison.Ordinal);
        Assert.Contains("data/demo-credentials.json", text, StringComparison.Ordinal);
        Assert.Contains(Demo.TenantId.ToString(), text, StringComparison.Ordinal);
    }

    [Fact]
    public void InDevelopmentTheBannerShowsTheDemoCredentialsAndCommands()
    {
        var text = Banner(development: true);

        Assert.Contains(Demo.VapiWebhookSecret, text, StringComparison.Ordinal);
        Assert.Contains($"Bearer {Demo.ApiKey}", text, StringComparison.Ordinal);
        Assert.Contains("simulate-call", text, StringComparison.Ordinal);
        Assert.Contains("http://localhost:8080/operator/mailbox", text, StringComparison.Ordinal); // account email is not logged: where to read it
    }
}
