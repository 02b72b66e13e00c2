using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Switchboard.Tests.Support;
using Switchboard.Vapi;

namespace Switchboard.Tests.Vapi;

[Trait("Category", "Database")]
public sealed class VapiAuthenticationTests(SwitchboardFactory factory) : IClassFixture<SwitchboardFactory>
{
    private const string Hang = """{"message":{"type":"hang","call":{"id":"auth-call"}}}""";

    [Fact]
    public async Task MissingSignatureIsRejectedWithTheExactEnvelope()
    {
        var tenant = await factory.CreateTenantAsync();

        var response = await factory.PostVapiAsync(tenant, Hang, (_, _) => { });

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var error = await VapiWebhookTests.ErrorOf(response);
        Assert.Equal("MISSING_SIGNATURE", error["code"]!.GetValue<string>());
        Assert.Equal("Missing x-vapi-signature header", error["message"]!.GetValue<string>());
        Assert.Equal(0, await factory.WithDbAsync(tenant.Id, db => db.CallEvents.CountAsync()));
    }

    [Theory]
    [InlineData("0000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("sha256=not-hex-at-all")]
    [InlineData("sha256=")]
    [InlineData("md5=abcdef")]
    public async Task WrongOrMalformedSignatureIsInvalid(string signature)
    {
        var tenant = await factory.CreateTenantAsync();

        var response = await factory.PostVapiAsync(tenant, Hang, (r, _) => r.Headers.Add("x-vapi-signature", signature));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("INVALID_SIGNATURE", (await VapiWebhookTests.ErrorOf(response))["code"]!.GetValue<string>());
        Assert.Equal(0, await factory.WithDbAsync(tenant.Id, db => db.CallEvents.CountAsync()));
    }

    [Theory]
    [InlineData("{0}")]
    [InlineData("sha256={0}")]
    [InlineData("hmac-sha256={0}")]
    [InlineData("SHA256={0}")]
    [InlineData("{1}")]
    public async Task EachAcceptedSignatureEncodingIsAccepted(string format)
    {
        var tenant = await factory.CreateTenantAsync();

        var response = await factory.PostVapiAsync(tenant, Hang, (r, body) =>
        {
            var mac = HMACSHA256.HashData(Encoding.UTF8.GetBytes(tenant.WebhookSecret), body);
            r.Headers.Add("x-vapi-signature", string.Format(CultureInfo.InvariantCulture, format, Convert.ToHexStringLower(mac), Convert.ToBase64String(mac)));
        });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task LegacyXVapiSecretAndBearerCredentialAreAccepted()
    {
        var tenant = await factory.CreateTenantAsync();

        var legacy = await factory.PostVapiAsync(tenant, Hang, (r, _) => r.Headers.Add("x-vapi-secret", tenant.WebhookSecret));
        var bearer = await factory.PostVapiAsync(tenant, Hang, (r, _) => r.Headers.Add("Authorization", "Bearer " + tenant.WebhookSecret));
        var wrong = await factory.PostVapiAsync(tenant, Hang, (r, _) => r.Headers.Add("x-vapi-secret", tenant.WebhookSecret + "x"));

        Assert.Equal(HttpStatusCode.OK, legacy.StatusCode);
        Assert.Equal(HttpStatusCode.OK, bearer.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal("INVALID_SIGNATURE", (await VapiWebhookTests.ErrorOf(wrong))["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task AnotherTenantsSecretIsInvalid()
    {
        var mine = await factory.CreateTenantAsync();
        var theirs = await factory.CreateTenantAsync("Other Plumbing");

        var response = await factory.PostVapiAsync(mine with { WebhookSecret = theirs.WebhookSecret }, Hang);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("INVALID_SIGNATURE", (await VapiWebhookTests.ErrorOf(response))["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task TimestampedSignatureIsCheckedAgainstTheReplayWindow()
    {
        var tenant = await factory.CreateTenantAsync(configure: t => { t.VapiTimestampHeader = "x-timestamp"; t.VapiSignatureHeader = "x-signature"; });
        var now = factory.Clock.GetUtcNow();

        HttpResponseMessage Post(long timestamp, bool signTimestamp = true) => factory.PostVapiAsync(tenant, Hang, (r, body) =>
        {
            var ts = timestamp.ToString(CultureInfo.InvariantCulture);
            r.Headers.Add("x-timestamp", ts);
            r.Headers.Add("x-signature", VapiSignatureVerifier.Sign(body, tenant.WebhookSecret, signTimestamp ? ts : null));
        }).GetAwaiter().GetResult();

        var fresh = Post(now.ToUnixTimeSeconds());
        var freshMs = Post(now.ToUnixTimeMilliseconds());
        var stale = Post(now.AddMinutes(-10).ToUnixTimeSeconds());
        var bodyOnly = Post(now.ToUnixTimeSeconds(), signTimestamp: false);
        var missing = await factory.PostVapiAsync(tenant, Hang, (_, _) => { });

        Assert.Equal(HttpStatusCode.OK, fresh.StatusCode);
        Assert.Equal(HttpStatusCode.OK, freshMs.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, stale.StatusCode);
        Assert.Equal("INVALID_SIGNATURE", (await VapiWebhookTests.ErrorOf(stale))["code"]!.GetValue<string>());
        Assert.Contains("replay window", (await VapiWebhookTests.ErrorOf(Post(now.AddHours(1).ToUnixTimeSeconds())))["message"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.Unauthorized, bodyOnly.StatusCode);
        Assert.Equal("Missing x-signature header", (await VapiWebhookTests.ErrorOf(missing))["message"]!.GetValue<string>());
    }

    [Fact]
    public void SignatureOfTheBodyMatchesAnIndependentHmac()
    {
        var body = Encoding.UTF8.GetBytes(Hang);
        var expected = Convert.ToHexStringLower(HMACSHA256.HashData("k"u8.ToArray(), body));
        Assert.Equal(expected, VapiSignatureVerifier.Sign(body, "k"));
        Assert.Equal(VapiAuthResult.Valid, VapiSignatureVerifier.Verify(h => h == "x-vapi-signature" ? expected : null, body, "k", "x-vapi-signature", null, DateTimeOffset.UtcNow, TimeSpan.FromMinutes(5)));
        body[0] ^= 1;
        Assert.Equal(VapiAuthResult.Invalid, VapiSignatureVerifier.Verify(h => h == "x-vapi-signature" ? expected : null, body, "k", "x-vapi-signature", null, DateTimeOffset.UtcNow, TimeSpan.FromMinutes(5)));
    }
}

/// <summary>A host with Paul's contract rate limit lowered so a test can exceed it quickly.</summary>
public sealed class LowRateLimitFactory : SwitchboardFactory
{
    protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>
    {
        ["Switchboard:Vapi:RateLimitPerMinute"] = "5",
        ["Switchboard:Vapi:RateLimitPerLinePerMinute"] = "0",
    };
}

[Trait("Category", "Database")]
public sealed class VapiRateLimitTests(LowRateLimitFactory factory) : IClassFixture<LowRateLimitFactory>
{
    [Fact]
    public async Task RequestsOverThePerTenantLimitGet429WithRetryAfterAndOtherTenantsAreUnaffected()
    {
        var busy = await factory.CreateTenantAsync();
        var quiet = await factory.CreateTenantAsync("Quiet");
        var hang = """{"message":{"type":"hang"}}""";

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 7; i++)
        {
            statuses.Add((await factory.PostVapiAsync(busy, hang.Replace("hang\"", $"hang\",\"n\":{i}"))).StatusCode);
        }
        var limited = await factory.PostVapiAsync(busy, hang);
        var other = await factory.PostVapiAsync(quiet, hang);
        var forged = await factory.PostVapiAsync(quiet with { WebhookSecret = "forged" }, hang);

        Assert.Equal(5, statuses.Count(s => s == HttpStatusCode.OK));
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.Equal("RATE_LIMITED", (await VapiWebhookTests.ErrorOf(limited))["code"]!.GetValue<string>());
        Assert.True(limited.Headers.RetryAfter?.Delta > TimeSpan.Zero);
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, forged.StatusCode); // forged requests neither pass nor use the quota
        var parsed = JsonNode.Parse(await other.Content.ReadAsStringAsync());
        Assert.True(parsed!["ok"]!.GetValue<bool>());
        Assert.Equal(5, (await VapiWebhookTests.ErrorOf(limited))["details"]!["limit"]!.GetValue<int>());
    }

    [Fact]
    public async Task ACallsReportStatusAndRequestsPassAnExhaustedWindow()
    {
        var tenant = await factory.CreateTenantAsync();
        var callId = Guid.NewGuid().ToString();
        for (var i = 0; i < 6; i++)
        {
            await factory.PostVapiAsync(tenant, Dashboard.LiveEventsTests.Transcript(callId, $"Allô {i}"));
        }
        Assert.Equal(HttpStatusCode.TooManyRequests, (await factory.PostVapiAsync(tenant, Dashboard.LiveEventsTests.Transcript(callId, "encore"))).StatusCode);

        // The window is spent on chatter; what the call cannot do without still passes: its status, a tool call, the report.
        Assert.Equal(HttpStatusCode.OK, (await factory.PostVapiAsync(tenant, Dashboard.LiveEventsTests.StatusUpdate(callId, "in-progress"))).StatusCode);
        var report = VapiWebhookTests.EndOfCallReport(callId, "Sous-sol inondé, un tuyau a éclaté.", "Mon sous-sol est inondé, un tuyau a éclaté!");
        Assert.Equal(HttpStatusCode.OK, (await factory.PostVapiAsync(tenant, report)).StatusCode);
        var call = await factory.WithDbAsync(tenant.Id, db => db.Calls.SingleAsync(c => c.ProviderCallId == callId));
        Assert.Equal("ended", call.Status);
    }
}

/// <summary>A host at the default Vapi limits, where the plan sizes the window.</summary>
public sealed class PlanSizedRateLimitFactory : SwitchboardFactory
{
    protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>
    {
        ["Switchboard:Vapi:RateLimitPerMinute"] = "100",
        ["Switchboard:Vapi:RateLimitPerLinePerMinute"] = "600",
    };
}

[Trait("Category", "Database")]
public sealed class VapiPlanRateLimitTests(PlanSizedRateLimitFactory factory) : IClassFixture<PlanSizedRateLimitFactory>
{
    /// <summary>The outside probe's two one-minute calls (default server messages, about six a turn): 108 messages, none refused.</summary>
    [Fact]
    public async Task TwoBusyCallsStayUnderTheWindowThePlanSizes()
    {
        var tenant = await factory.CreateTenantAsync();
        var calls = new[] { Guid.NewGuid().ToString(), Guid.NewGuid().ToString() };
        var statuses = await Task.WhenAll(calls.Select(async callId =>
        {
            var list = new List<HttpStatusCode>();
            for (var i = 0; i < 54; i++)
            {
                list.Add((await factory.PostVapiAsync(tenant, Dashboard.LiveEventsTests.Transcript(callId, $"tour {i}"))).StatusCode);
            }
            return list;
        }));

        Assert.All(statuses.SelectMany(s => s), s => Assert.Equal(HttpStatusCode.OK, s));
    }
}
