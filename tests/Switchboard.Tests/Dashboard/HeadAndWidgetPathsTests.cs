using System.Net;
using Switchboard.Dashboard;
using Switchboard.Tests.Support;
using Switchboard.Tests.Widget;

namespace Switchboard.Tests.Dashboard;

/// <summary>
/// <c>HEAD</c> is answered wherever <c>GET</c> is (headers, no content), and the widget's API paths never fall back to the
/// dashboard's <c>index.html</c>: an unknown <c>/widget/v1/…</c> path is the JSON 404, even with a valid publishable key.
/// </summary>
[Trait("Category", "Database")]
public sealed class HeadAndWidgetPathsTests(HeadAndWidgetPathsTests.Factory factory) : IClassFixture<HeadAndWidgetPathsTests.Factory>
{
    /// <summary>The widget host with a built dashboard of its own (a temporary <c>index.html</c>).</summary>
    public sealed class Factory : WidgetFactory
    {
        public string Dist { get; } = Path.Combine(Path.GetTempPath(), "switchboard-dist-" + Guid.NewGuid().ToString("N"));

        public Factory()
        {
            Directory.CreateDirectory(Dist);
            File.WriteAllText(Path.Combine(Dist, "index.html"), "<!doctype html><title>Switchboard</title><div id=\"root\"></div>");
        }

        protected override IDictionary<string, string?> MoreSettings => new Dictionary<string, string?> { [DashboardHosting.PathKey] = Dist };

        protected override void Dispose(bool disposing)
        {
            base.Dispose(disposing);
            try { Directory.Delete(Dist, true); } catch (IOException) { }
        }
    }

    [Theory]
    [InlineData("/healthz")]
    [InlineData("/readyz")]
    [InlineData("/")]
    [InlineData("/calls/123")]
    [InlineData("/openapi/v1.json")]
    public async Task HeadAnswersAsGetWithoutContent(string path)
    {
        var client = factory.CreateClient();
        var get = await client.GetAsync(path);
        var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, path));
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal(get.StatusCode, head.StatusCode);
        Assert.Equal(get.Content.Headers.ContentType?.MediaType, head.Content.Headers.ContentType?.MediaType);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task HeadOnTheApiNeedsTheSameAuthAndFindsTheSameRoutes()
    {
        var tenant = await factory.CreateTenantAsync("Head");
        var api = factory.ApiClient(tenant);
        var head = await api.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/api/v1/calls"));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal("application/json", head.Content.Headers.ContentType?.MediaType);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());
        Assert.Equal(HttpStatusCode.Unauthorized, (await factory.CreateClient().SendAsync(new HttpRequestMessage(HttpMethod.Head, "/api/v1/calls"))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await api.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/api/v1/nothing-here"))).StatusCode);
        // A route without GET answers HEAD as it answers GET (never with what its POST does).
        foreach (var path in new[] { $"/webhooks/vapi/{tenant.Id}", "/api/v1/calls/outbound", "/api/v1/keys" })
        {
            var get = await api.GetAsync(path);
            Assert.Equal(get.StatusCode, (await api.SendAsync(new HttpRequestMessage(HttpMethod.Head, path))).StatusCode);
        }
    }

    [Theory]
    [InlineData("/widget/v1/nope")]
    [InlineData("/widget/v1/conversations/abc")]
    public async Task UnknownWidgetApiPathsAreTheJson404NotTheDashboard(string path)
    {
        var t = await factory.CreateWidgetTenantAsync("Chemins");
        var response = await factory.Browser().GetAsync(path + t.Q);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("NOT_FOUND", await response.ErrorCodeAsync());
        Assert.DoesNotContain("<div id=\"root\">", await response.Content.ReadAsStringAsync());
    }
}
