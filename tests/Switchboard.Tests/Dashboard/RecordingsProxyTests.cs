using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Switchboard.Calls;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Dashboard;

/// <summary>
/// <c>GET /api/v1/calls/{id}/recording</c>: the recording streamed through the host from a provider simulated on
/// 127.0.0.1 (allowed by the development switch <c>Webhooks:AllowPrivateNetworks</c>), with Range, tenant checks, and
/// Twilio's Basic auth.
/// </summary>
[Trait("Category", "Database")]
public sealed class RecordingsProxyTests : IClassFixture<RecordingsProxyTests.Factory>, IAsyncLifetime
{
    public sealed class Factory : SelfServiceFactory;

    private readonly Factory factory;
    private WebApplication? storage;
    private string storageUrl = "";
    private readonly ConcurrentQueue<string?> authorizations = new();
    private static readonly byte[] Wav = MakeWav(8000);

    public RecordingsProxyTests(Factory factory) => this.factory = factory;

    /// <summary>A valid 8 kHz 16-bit mono WAV of <paramref name="samples"/> samples (a ramp, so every range has distinct bytes).</summary>
    private static byte[] MakeWav(int samples)
    {
        using var ms = new MemoryStream();
        using var w = new BinaryWriter(ms);
        w.Write("RIFF"u8); w.Write(36 + samples * 2); w.Write("WAVE"u8);
        w.Write("fmt "u8); w.Write(16); w.Write((short)1); w.Write((short)1); w.Write(8000); w.Write(16000); w.Write((short)2); w.Write((short)16);
        w.Write("data"u8); w.Write(samples * 2);
        for (var i = 0; i < samples; i++)
        {
            w.Write((short)(i * 7));
        }
        w.Flush();
        return ms.ToArray();
    }

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        storage = builder.Build();
        // Vapi-like public storage: honours Range.
        storage.MapGet("/recordings/{name}.wav", (string name) => Results.File(Wav, "audio/wav", enableRangeProcessing: true));
        // A store that ignores Range (always the whole file).
        storage.MapGet("/plain/{name}.wav", (string name) => Results.Bytes(Wav, "audio/wav"));
        // Twilio: Basic auth with the account's AccountSid:AuthToken, media at the recording URL + ".wav".
        storage.MapGet("/2010-04-01/Accounts/{sid}/Recordings/{recording}", (string sid, string recording, HttpContext http) =>
        {
            var auth = http.Request.Headers.Authorization.ToString();
            authorizations.Enqueue(auth);
            var expected = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{TwilioSimulator.AccountSid}:{TwilioSimulator.AuthToken}"));
            return auth != expected ? Results.StatusCode(401)
                : recording.EndsWith(".wav", StringComparison.Ordinal) ? Results.File(Wav, "audio/x-wav", enableRangeProcessing: true)
                : Results.StatusCode(404);
        });
        await storage.StartAsync();
        storageUrl = storage.Urls.First().TrimEnd('/');
    }

    public async Task DisposeAsync()
    {
        if (storage is not null)
        {
            await storage.DisposeAsync();
        }
    }

    private async Task<Guid> AddCallAsync(Guid tenantId, string? recordingUrl, string provider = "vapi") =>
        await factory.WithDbAsync(tenantId, async db =>
        {
            var call = new Call
            {
                Id = Guid.CreateVersion7(), TenantId = tenantId, Channel = "voice", Provider = provider, ProviderCallId = "c-" + Guid.NewGuid(),
                Status = "ended", RecordingUrl = recordingUrl, StereoRecordingUrl = recordingUrl, CreatedAt = factory.Clock.GetUtcNow(), UpdatedAt = factory.Clock.GetUtcNow(),
            };
            db.Calls.Add(call);
            await db.SaveChangesAsync();
            return call.Id;
        });

    [Fact]
    public async Task FullRecordingIsStreamedAndCallDetailHidesTheProviderUrl()
    {
        var owner = await factory.SignUpAsync();
        var callId = await AddCallAsync(owner.TenantId, $"{storageUrl}/recordings/abc.wav");

        var response = await owner.Client.GetAsync($"/api/v1/calls/{callId}/recording");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("audio/wav", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(Wav, await response.Content.ReadAsByteArrayAsync());
        Assert.Contains("bytes", response.Headers.AcceptRanges);
        var detail = await (await owner.Client.GetAsync($"/api/v1/calls/{callId}")).JsonAsync(HttpStatusCode.OK);
        Assert.Equal($"/api/v1/calls/{callId}/recording", detail["recordingUrl"]!.GetValue<string>());
        Assert.DoesNotContain(storageUrl, detail.ToJsonString());
    }

    [Theory]
    [InlineData("recordings")] // the provider answers the range
    [InlineData("plain")]      // the provider ignores Range: the host answers it from a copy
    public async Task RangeRequestGetsPartialContent(string store)
    {
        var owner = await factory.SignUpAsync();
        var callId = await AddCallAsync(owner.TenantId, $"{storageUrl}/{store}/abc.wav");
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/calls/{callId}/recording");
        request.Headers.Range = new RangeHeaderValue(1000, 1999);

        var response = await owner.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal(Wav[1000..2000], await response.Content.ReadAsByteArrayAsync());
        Assert.Equal($"bytes 1000-1999/{Wav.Length}", response.Content.Headers.ContentRange?.ToString());
    }

    [Fact]
    public async Task TwilioRecordingIsFetchedWithTheTenantsCredentials()
    {
        var tenant = await factory.CreateTenantAsync(withTwilio: true);
        var callId = await AddCallAsync(tenant.Id, $"{storageUrl}/2010-04-01/Accounts/{TwilioSimulator.AccountSid}/Recordings/RE0123456789abcdef0123456789abcdef", "twilio");

        var response = await factory.ApiClient(tenant).GetAsync($"/api/v1/calls/{callId}/recording");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Wav, await response.Content.ReadAsByteArrayAsync());
        Assert.StartsWith("Basic ", authorizations.Last());
    }

    [Fact]
    public async Task AnotherTenantsRecordingIsNotFound()
    {
        var owner = await factory.SignUpAsync();
        var other = await factory.SignUpAsync(organisation: "Autre plomberie");
        var theirs = await AddCallAsync(other.TenantId, $"{storageUrl}/recordings/theirs.wav");

        var response = await owner.Client.GetAsync($"/api/v1/calls/{theirs}/recording");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("CALL_NOT_FOUND", await response.ErrorCodeAsync());
        Assert.Equal(HttpStatusCode.Unauthorized, (await factory.CreateClient().GetAsync($"/api/v1/calls/{theirs}/recording")).StatusCode);
    }

    [Fact]
    public async Task MissingOrUnreachableRecordingsAnswerTheEnvelope()
    {
        var owner = await factory.SignUpAsync();
        var none = await AddCallAsync(owner.TenantId, null);
        var gone = await AddCallAsync(owner.TenantId, $"{storageUrl}/nowhere/abc.wav");
        var notHttp = await AddCallAsync(owner.TenantId, "file:///etc/passwd");

        Assert.Equal("RECORDING_NOT_FOUND", await (await owner.Client.GetAsync($"/api/v1/calls/{none}/recording")).ErrorCodeAsync());
        Assert.Equal("RECORDING_NOT_FOUND", await (await owner.Client.GetAsync($"/api/v1/calls/{gone}/recording")).ErrorCodeAsync());
        Assert.Equal("RECORDING_NOT_FOUND", await (await owner.Client.GetAsync($"/api/v1/calls/{notHttp}/recording")).ErrorCodeAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await owner.Client.GetAsync($"/api/v1/calls/{Guid.NewGuid()}/recording")).StatusCode);
    }
}

/// <summary>With the development switches off, the proxy refuses to connect to a private address (SSRF policy at connect time).</summary>
[Trait("Category", "Database")]
public sealed class RecordingsProxySsrfTests : IClassFixture<RecordingsProxySsrfTests.Factory>
{
    public sealed class Factory : SwitchboardFactory
    {
        protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>
        {
            ["Switchboard:Webhooks:AllowInsecureUrls"] = "true",
            ["Switchboard:Webhooks:AllowPrivateNetworks"] = "false",
        };
    }

    private readonly Factory factory;

    public RecordingsProxySsrfTests(Factory factory) => this.factory = factory;

    [Fact]
    public async Task PrivateAddressIsRefused()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        await using var internalService = builder.Build();
        var hits = 0;
        internalService.MapGet("/secret.wav", () =>
        {
            Interlocked.Increment(ref hits);
            return Results.Bytes([1, 2, 3], "audio/wav");
        });
        await internalService.StartAsync();
        var tenant = await factory.CreateTenantAsync();
        var callId = await factory.WithDbAsync(tenant.Id, async db =>
        {
            var call = new Call
            {
                Id = Guid.CreateVersion7(), TenantId = tenant.Id, Channel = "voice", Provider = "vapi", ProviderCallId = "c-" + Guid.NewGuid(),
                Status = "ended", RecordingUrl = internalService.Urls.First().TrimEnd('/') + "/secret.wav", CreatedAt = factory.Clock.GetUtcNow(), UpdatedAt = factory.Clock.GetUtcNow(),
            };
            db.Calls.Add(call);
            await db.SaveChangesAsync();
            return call.Id;
        });

        var response = await factory.ApiClient(tenant).GetAsync($"/api/v1/calls/{callId}/recording");

        Assert.Equal((HttpStatusCode)502, response.StatusCode);
        Assert.Equal("RECORDING_UNAVAILABLE", await response.ErrorCodeAsync());
        Assert.Equal(0, hits);
    }
}
