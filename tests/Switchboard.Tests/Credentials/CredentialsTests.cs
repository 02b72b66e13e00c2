using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Credentials;

[Trait("Category", "Database")]
public sealed class CredentialsTests(SelfServiceFactory factory) : IClassFixture<SelfServiceFactory>
{
    private const string OpenAiKey = "sk-test-openai-key-0123456789-ZZq1";

    [Fact]
    public async Task SecretsAreEncryptedShownAsPreviewsAndNeverReturnedOrLogged()
    {
        await using var models = await ModelServer.StartAsync();
        var owner = await factory.SignUpAsync();
        var bodies = new List<string>();

        async Task<JsonObject> Send(Task<HttpResponseMessage> call, HttpStatusCode expected)
        {
            var response = await call;
            var text = await response.Content.ReadAsStringAsync();
            bodies.Add(text);
            return await new HttpResponseMessage(response.StatusCode) { Content = new StringContent(text), RequestMessage = response.RequestMessage }.JsonAsync(expected);
        }

        var vapi = await Send(owner.Client.PutAsJsonAsync("/api/v1/credentials/vapi", new { apiKey = VapiSimulator.PrivateKey }), HttpStatusCode.OK);
        Assert.Equal("vapi-…9fA2", vapi["preview"]!.GetValue<string>());
        Assert.True(vapi["configured"]!.GetValue<bool>());
        var twilio = await Send(owner.Client.PutAsJsonAsync("/api/v1/credentials/twilio",
            new { accountSid = TwilioNumbersSimulator.AccountSid, authToken = TwilioNumbersSimulator.AuthToken }), HttpStatusCode.OK);
        Assert.Equal(TwilioNumbersSimulator.AccountSid, twilio["accountSid"]!.GetValue<string>());
        Assert.Equal("twili…7Qx9", twilio["preview"]!.GetValue<string>());
        var openai = await Send(owner.Client.PutAsJsonAsync("/api/v1/credentials/openai", new { apiKey = OpenAiKey, baseUrl = models.BaseUrl + "/v1" }), HttpStatusCode.OK);
        Assert.Equal(models.BaseUrl + "/v1", openai["baseUrl"]!.GetValue<string>());

        Assert.True((await Send(owner.Client.PostAsync("/api/v1/credentials/vapi/check", null), HttpStatusCode.OK))["ok"]!.GetValue<bool>());
        Assert.True((await Send(owner.Client.PostAsync("/api/v1/credentials/twilio/check", null), HttpStatusCode.OK))["ok"]!.GetValue<bool>());
        Assert.True((await Send(owner.Client.PostAsync("/api/v1/credentials/openai/check", null), HttpStatusCode.OK))["ok"]!.GetValue<bool>());
        bodies.Add(await owner.Client.GetStringAsync("/api/v1/credentials"));

        // At rest: ciphertext only.
        var stored = await factory.WithDbAsync(owner.TenantId, async db => string.Join("|",
            (await db.ProviderCredentials.Select(c => c.SecretProtected + c.Preview + c.PublicValue).ToListAsync())
            .Concat(await db.Tenants.Where(t => t.Id == owner.TenantId).Select(t => t.TwilioAuthTokenProtected!).ToListAsync())));
        foreach (var secret in new[] { VapiSimulator.PrivateKey, TwilioNumbersSimulator.AuthToken, OpenAiKey })
        {
            Assert.DoesNotContain(secret, stored);
            Assert.All(bodies, b => Assert.DoesNotContain(secret, b));
            Assert.DoesNotContain(factory.LogLines, l => l.Contains(secret, StringComparison.Ordinal));
        }
        Assert.NotEmpty(factory.LogLines); // the capture works: the host did log.
        Assert.Contains(models.Authorizations, a => a == "Bearer " + OpenAiKey);
    }

    [Fact]
    public async Task WrongCredentialsFailTheLiveCheckAndDeletingRemovesThem()
    {
        var owner = await factory.SignUpAsync();
        await (await owner.Client.PutAsJsonAsync("/api/v1/credentials/vapi", new { apiKey = "not-the-right-key-1234" })).JsonAsync(HttpStatusCode.OK);
        var check = await (await owner.Client.PostAsync("/api/v1/credentials/vapi/check", null)).JsonAsync(HttpStatusCode.OK);
        Assert.False(check["ok"]!.GetValue<bool>());
        Assert.Equal("VAPI_KEY_REFUSED", check["code"]!.GetValue<string>()); // a code the dashboard words, not only the English sentence
        var listed = await owner.Client.GetFromJsonAsync<JsonArray>("/api/v1/credentials");
        var last = listed!.First(c => c!["provider"]!.GetValue<string>() == "vapi")!["lastCheck"]!;
        Assert.False(last["ok"]!.GetValue<bool>());
        Assert.Equal(("VAPI_KEY_REFUSED", check["message"]!.GetValue<string>()), (last["code"]!.GetValue<string>(), last["message"]!.GetValue<string>()));

        Assert.Equal(HttpStatusCode.NoContent, (await owner.Client.DeleteAsync("/api/v1/credentials/vapi")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await owner.Client.PostAsync("/api/v1/credentials/vapi/check", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await owner.Client.DeleteAsync("/api/v1/credentials/vapi")).StatusCode);
        listed = await owner.Client.GetFromJsonAsync<JsonArray>("/api/v1/credentials");
        Assert.All(listed!, c => Assert.False(c!["configured"]!.GetValue<bool>()));
    }

    [Fact]
    public async Task MalformedCredentialsAndPrivateBaseUrlsAreRejected()
    {
        var owner = await factory.SignUpAsync();
        var sid = await owner.Client.PutAsJsonAsync("/api/v1/credentials/twilio", new { accountSid = "XX123", authToken = "short" });
        Assert.Equal(HttpStatusCode.UnprocessableEntity, sid.StatusCode);
        var details = (await sid.JsonAsync(HttpStatusCode.UnprocessableEntity))["error"]!["details"]!.AsObject();
        Assert.True(details.ContainsKey("accountSid") && details.ContainsKey("authToken"));
        var ftp = await owner.Client.PutAsJsonAsync("/api/v1/credentials/openai", new { apiKey = OpenAiKey, baseUrl = "ftp://models.example/v1" });
        Assert.Equal(HttpStatusCode.UnprocessableEntity, ftp.StatusCode);

        Assert.Equal("must not point at a private or local address",
            await Switchboard.Credentials.BaseUrlGuard.ProblemAsync("https://127.0.0.1/v1", allowPrivate: false, CancellationToken.None));
        Assert.Equal("must not point at a private or local address",
            await Switchboard.Credentials.BaseUrlGuard.ProblemAsync("https://169.254.169.254/latest", allowPrivate: false, CancellationToken.None));
        Assert.Equal("must use https", await Switchboard.Credentials.BaseUrlGuard.ProblemAsync("http://93.184.216.34/v1", allowPrivate: false, CancellationToken.None));
        Assert.Null(await Switchboard.Credentials.BaseUrlGuard.ProblemAsync("https://93.184.216.34/v1", allowPrivate: false, CancellationToken.None));
    }

    [Theory]
    [InlineData("vapi", "{\"apiKey\":\"clé-secrète-1234\"}", "apiKey")]
    [InlineData("vapi", "{\"apiKey\":\"vapi-key-\\u0007-0123\"}", "apiKey")]
    [InlineData("openai", "{\"apiKey\":\"sk-test-ключ-0123456789\"}", "apiKey")]
    [InlineData("twilio", "{\"accountSid\":\"AC0123456789abcdef0123456789abcdef\",\"authToken\":\"jeton-d’accès-0123\"}", "authToken")]
    public async Task AKeyThatCannotGoInAnHttpHeaderIsRefusedInsteadOfStored(string provider, string body, string field)
    {
        var owner = await factory.SignUpAsync();

        // Stored with 200 before; then every call failed in HttpClient ("Request headers must contain only ASCII
        // characters"), and the check reported the provider as unreachable.
        var put = await owner.Client.PutAsync($"/api/v1/credentials/{provider}", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, put.StatusCode);
        Assert.True((await put.JsonAsync(HttpStatusCode.UnprocessableEntity))["error"]!["details"]!.AsObject().ContainsKey(field));
        var listed = await owner.Client.GetFromJsonAsync<JsonArray>("/api/v1/credentials");
        Assert.All(listed!, c => Assert.False(c!["configured"]!.GetValue<bool>()));
    }

    [Fact]
    public async Task AnotherTenantSeesNoneOfTheCredentials()
    {
        var a = await factory.SignUpAsync();
        var b = await factory.SignUpAsync();
        await (await a.Client.PutAsJsonAsync("/api/v1/credentials/vapi", new { apiKey = VapiSimulator.PrivateKey })).JsonAsync(HttpStatusCode.OK);
        var seenByB = await b.Client.GetFromJsonAsync<JsonArray>("/api/v1/credentials");
        Assert.All(seenByB!, c => Assert.False(c!["configured"]!.GetValue<bool>()));
        Assert.Equal(HttpStatusCode.NotFound, (await b.Client.PostAsync("/api/v1/credentials/vapi/check", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await b.Client.DeleteAsync("/api/v1/credentials/vapi")).StatusCode);
        Assert.True((await a.Client.GetFromJsonAsync<JsonArray>("/api/v1/credentials"))!.First(c => c!["provider"]!.GetValue<string>() == "vapi")!["configured"]!.GetValue<bool>());
    }

    /// <summary>An OpenAI-compatible <c>GET /v1/models</c> on 127.0.0.1 that accepts only <see cref="OpenAiKey"/>.</summary>
    private sealed class ModelServer : IAsyncDisposable
    {
        private readonly WebApplication app;
        public string BaseUrl { get; }
        public System.Collections.Concurrent.ConcurrentQueue<string> Authorizations { get; } = new();

        private ModelServer(WebApplication app)
        {
            this.app = app;
            BaseUrl = app.Urls.First();
        }

        public static async Task<ModelServer> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            var app = builder.Build();
            ModelServer? server = null;
            app.MapGet("/v1/models", (HttpContext http) =>
            {
                server!.Authorizations.Enqueue(http.Request.Headers.Authorization.ToString());
                return http.Request.Headers.Authorization.ToString() == "Bearer " + OpenAiKey
                    ? Results.Json(new { @object = "list", data = new[] { new { id = "gpt-4o-mini", @object = "model" } } })
                    : Results.Json(new { error = new { message = "Incorrect API key provided", type = "invalid_request_error" } }, statusCode: 401);
            });
            await app.StartAsync();
            server = new ModelServer(app);
            return server;
        }

        public async ValueTask DisposeAsync()
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
