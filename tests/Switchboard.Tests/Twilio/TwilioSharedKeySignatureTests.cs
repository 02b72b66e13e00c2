using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using Switchboard.Tests.Support;
using Switchboard.Twilio;
using TwilioSdkValidator = Twilio.Security.RequestValidator;

namespace Switchboard.Tests.Twilio;

/// <summary>
/// Webhooks signed with a Twilio shared key (HMAC-SHA256, <c>X-Twilio-Webhooks-Signature-Settings</c>) are accepted
/// alongside Auth Token (HMAC-SHA1) ones. The Twilio SDK's <c>RequestValidator</c> is the oracle: every signature sent
/// here is first accepted (or refused) by the SDK.
/// </summary>
[Trait("Category", "Database")]
public sealed class TwilioSharedKeySignatureTests(SwitchboardFactory factory) : IClassFixture<SwitchboardFactory>
{
    private const string SharedSecret = "whsk_test_0123456789abcdefABCDEF";
    private const string KeyId = "webhooks_sharedkey_0123456789";

    private static string NewCallSid() => ("CA" + Guid.NewGuid().ToString("N") + "00")[..34];

    /// <summary>HMAC-SHA256 over Twilio's signed string (URL, then each sorted key and its value), written here independently of the host's code.</summary>
    private static string Sha256Signature(string url, IDictionary<string, string> form, string secret)
    {
        var data = new StringBuilder(url);
        foreach (var key in form.Keys.OrderBy(k => k, StringComparer.Ordinal))
        {
            data.Append(key).Append(form[key]);
        }
        return Convert.ToBase64String(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(data.ToString())));
    }

    private async Task<HttpResponseMessage> PostAsync(TestTenant tenant, IDictionary<string, string> sent, string signature, string? settings)
    {
        var path = $"/webhooks/twilio/voice/{tenant.Id}";
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new FormUrlEncodedContent(sent) };
        request.Headers.Add("X-Twilio-Signature", signature);
        if (settings is not null)
        {
            request.Headers.Add(TwilioRequestValidator.SignatureSettingsHeader, settings);
        }
        return await factory.CreateClient().SendAsync(request);
    }

    private string UrlOf(TestTenant tenant) => new Uri(factory.CreateClient().BaseAddress!, $"/webhooks/twilio/voice/{tenant.Id}").ToString();

    private async Task<TestTenant> TenantWithSharedKeyAsync(string? keyId = KeyId)
    {
        var tenant = await factory.CreateTenantAsync(withTwilio: true);
        var put = await factory.ApiClient(tenant).PutAsJsonAsync("/api/v1/credentials/twilio/signing-key", new { secret = SharedSecret, keyId });
        var shown = await put.JsonAsync(HttpStatusCode.OK);
        Assert.Equal(keyId, shown["keyId"]?.GetValue<string>());
        Assert.DoesNotContain(SharedSecret, shown.ToJsonString());
        return tenant;
    }

    [Fact]
    public void TheSdkAcceptsTheHostsSha256SignaturesAndRefusesTamperedOnes()
    {
        var url = "https://switchboard.example/webhooks/twilio/voice/t1?x=1";
        var form = TwilioVoiceWebhookTests.IncomingCall("CA0123456789abcdef0123456789abcdef");
        var ours = TwilioRequestValidator.ComputeSignature(url, form, SharedSecret, TwilioSignatureAlgorithm.HmacSha256);
        var sdk = new TwilioSdkValidator(SharedSecret);
        Assert.True(sdk.Validate(url, new Dictionary<string, string>(form), ours, TwilioSdkValidator.HmacSha256));
        Assert.Equal(Sha256Signature(url, form, SharedSecret), ours);
        Assert.True(TwilioRequestValidator.Validate(url, form, ours, SharedSecret, TwilioSignatureAlgorithm.HmacSha256));
        // The same secret under SHA-1, or a changed field, no longer matches: for the SDK and for the host.
        Assert.False(sdk.Validate(url, new Dictionary<string, string>(form), ours, TwilioSdkValidator.HmacSha1));
        Assert.False(TwilioRequestValidator.Validate(url, form, ours, SharedSecret));
        var tampered = new Dictionary<string, string>(form) { ["From"] = "+15145550666" };
        Assert.False(sdk.Validate(url, tampered, ours, TwilioSdkValidator.HmacSha256));
        Assert.False(TwilioRequestValidator.Validate(url, tampered, ours, SharedSecret, TwilioSignatureAlgorithm.HmacSha256));
        // The header's algorithm is read as the SDK reads it.
        Assert.Equal(TwilioSdkValidator.HmacSha256, TwilioSdkValidator.GetSignatureAlgorithm($"key={KeyId},algorithm=HMAC_SHA256"));
        Assert.Equal(TwilioSignatureAlgorithm.HmacSha256, TwilioRequestValidator.ReadSignatureSettings($"key={KeyId},algorithm=HMAC_SHA256")!.Value.Algorithm);
        Assert.Equal(TwilioSignatureAlgorithm.HmacSha1, TwilioRequestValidator.ReadSignatureSettings(null)!.Value.Algorithm);
        Assert.Null(TwilioRequestValidator.ReadSignatureSettings("algorithm=HMAC_MD5"));
    }

    [Fact]
    public async Task AWebhookSignedWithTheSharedKeyIsAcceptedAndATamperedOneRefused()
    {
        var tenant = await TenantWithSharedKeyAsync();
        var url = UrlOf(tenant);
        var form = TwilioVoiceWebhookTests.IncomingCall(NewCallSid());
        var signature = Sha256Signature(url, form, SharedSecret);
        Assert.True(new TwilioSdkValidator(SharedSecret).Validate(url, new Dictionary<string, string>(form), signature, TwilioSdkValidator.HmacSha256));

        var accepted = await PostAsync(tenant, form, signature, $"key={KeyId},algorithm=HMAC_SHA256");
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        Assert.StartsWith("text/xml", accepted.Content.Headers.ContentType!.ToString());

        // Auth Token signatures still work alongside.
        var sha1Form = TwilioVoiceWebhookTests.IncomingCall(NewCallSid());
        var legacy = await PostAsync(tenant, sha1Form, TwilioRequestValidator.ComputeSignature(url, sha1Form, TwilioSimulator.AuthToken), null);
        Assert.Equal(HttpStatusCode.OK, legacy.StatusCode);

        var tamperedForm = TwilioVoiceWebhookTests.IncomingCall(NewCallSid());
        var tamperedSignature = Sha256Signature(url, tamperedForm, SharedSecret);
        tamperedForm["From"] = "+15145550666";
        Assert.False(new TwilioSdkValidator(SharedSecret).Validate(url, new Dictionary<string, string>(tamperedForm), tamperedSignature, TwilioSdkValidator.HmacSha256));
        var refused = await PostAsync(tenant, tamperedForm, tamperedSignature, $"key={KeyId},algorithm=HMAC_SHA256");
        Assert.Equal("INVALID_SIGNATURE", (await refused.JsonAsync(HttpStatusCode.Forbidden))["error"]!["code"]!.GetValue<string>());

        // A SHA-256 signature announced as SHA-1 (no settings header), another key's id, an unknown algorithm: refused.
        var form2 = TwilioVoiceWebhookTests.IncomingCall(NewCallSid());
        var signature2 = Sha256Signature(url, form2, SharedSecret);
        Assert.Equal(HttpStatusCode.Forbidden, (await PostAsync(tenant, form2, signature2, null)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await PostAsync(tenant, form2, signature2, "key=webhooks_sharedkey_other,algorithm=HMAC_SHA256")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await PostAsync(tenant, form2, signature2, $"key={KeyId},algorithm=HMAC_SHA512")).StatusCode);
    }

    [Fact]
    public async Task AnotherTenantsSharedKeyNeitherShowsNorSignsItsWebhooks()
    {
        await TenantWithSharedKeyAsync();
        var other = await factory.CreateTenantAsync(withTwilio: true);
        var shown = await factory.ApiClient(other).GetAsync("/api/v1/credentials/twilio/signing-key");
        Assert.Equal("CREDENTIAL_NOT_FOUND", (await shown.JsonAsync(HttpStatusCode.NotFound))["error"]!["code"]!.GetValue<string>());

        var form = TwilioVoiceWebhookTests.IncomingCall(NewCallSid());
        var response = await PostAsync(other, form, Sha256Signature(UrlOf(other), form, SharedSecret), $"key={KeyId},algorithm=HMAC_SHA256");
        Assert.Equal("TWILIO_NOT_CONFIGURED", (await response.JsonAsync(HttpStatusCode.Forbidden))["error"]!["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task AMalformedSharedKeyIsRejectedWithItsFieldsAndChangesNothing()
    {
        var tenant = await factory.CreateTenantAsync(withTwilio: true);
        var client = factory.ApiClient(tenant);
        var bad = await client.PutAsJsonAsync("/api/v1/credentials/twilio/signing-key", new { secret = "short", keyId = "has spaces" });
        var details = (await bad.JsonAsync(HttpStatusCode.UnprocessableEntity))["error"]!["details"]!.AsObject();
        Assert.True(details.ContainsKey("secret") && details.ContainsKey("keyId"), details.ToJsonString());
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/api/v1/credentials/twilio/signing-key")).StatusCode);

        // Stored, shown as a preview, then deleted: SHA-256 webhooks are refused again.
        (await client.PutAsJsonAsync("/api/v1/credentials/twilio/signing-key", new { secret = SharedSecret })).EnsureSuccessStatusCode();
        var shown = await (await client.GetAsync("/api/v1/credentials/twilio/signing-key")).JsonAsync(HttpStatusCode.OK);
        Assert.DoesNotContain(SharedSecret, shown.ToJsonString());
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync("/api/v1/credentials/twilio/signing-key")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.DeleteAsync("/api/v1/credentials/twilio/signing-key")).StatusCode);
        var form = TwilioVoiceWebhookTests.IncomingCall(NewCallSid());
        var response = await PostAsync(tenant, form, Sha256Signature(UrlOf(tenant), form, SharedSecret), "algorithm=HMAC_SHA256");
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }
}
