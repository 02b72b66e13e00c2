using System.Net;
using Switchboard.Dashboard;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Dashboard;

/// <summary>The built dashboard served at <c>/</c>: SPA fallback, caching, CSP, and the API left alone.</summary>
public sealed class DashboardHostingTests : IClassFixture<DashboardHostingTests.Factory>
{
    public sealed class Factory : SwitchboardFactory
    {
        public string Dist { get; } = Path.Combine(Path.GetTempPath(), "switchboard-dist-" + Guid.NewGuid().ToString("N"));

        public Factory()
        {
            Directory.CreateDirectory(Path.Combine(Dist, "assets"));
            File.WriteAllText(Path.Combine(Dist, "index.html"), "<!doctype html><title>Switchboard</title><div id=\"root\"></div>");
            File.WriteAllText(Path.Combine(Dist, "assets", "x-Ab12Cd.js"), "console.log('hi');");
        }

        protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?> { [DashboardHosting.PathKey] = Dist };

        protected override void Dispose(bool disposing)
        {
            base.Dispose(disposing);
            try { Directory.Delete(Dist, true); } catch (IOException) { }
        }
    }

    public sealed class MissingFactory : SwitchboardFactory
    {
        protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>
        {
            [DashboardHosting.PathKey] = Path.Combine(Path.GetTempPath(), "switchboard-no-dist-" + Guid.NewGuid().ToString("N")),
        };
    }

    private readonly Factory factory;

    public DashboardHostingTests(Factory factory) => this.factory = factory;

    [Fact]
    public async Task RootServesIndexWithCspAndNoCache()
    {
        var response = await factory.CreateClient().GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("<div id=\"root\">", await response.Content.ReadAsStringAsync());
        Assert.Equal(DashboardHosting.Csp, string.Join(",", response.Headers.GetValues("Content-Security-Policy")));
        Assert.True(response.Headers.CacheControl?.NoCache);
    }

    [Fact]
    public async Task ClientRoutesFallBackToIndex()
    {
        var response = await factory.CreateClient().GetAsync("/calls/123");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("<div id=\"root\">", await response.Content.ReadAsStringAsync());
        Assert.Contains("script-src 'self'", string.Join(",", response.Headers.GetValues("Content-Security-Policy")));
    }

    [Theory]
    [InlineData("/api/v1/nope")]
    [InlineData("/webhooks/nope")]
    [InlineData("/assets/missing.js")]
    public async Task ReservedPathsAndMissingFilesKeepTheJson404(string path)
    {
        var response = await factory.CreateClient().GetAsync(path);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("NOT_FOUND", await response.ErrorCodeAsync());
    }

    [Fact]
    public async Task HashedAssetsAreImmutable()
    {
        var response = await factory.CreateClient().GetAsync("/assets/x-Ab12Cd.js");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("public, max-age=31536000, immutable", response.Headers.CacheControl?.ToString());
        Assert.NotNull(response.Headers.ETag);
    }

    [Fact]
    public async Task OpenApiDocumentIsUnaffected()
    {
        var response = await factory.CreateClient().GetAsync("/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.DoesNotContain("{*path", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task MissingDashboardFolderAnswersAOneLinePage()
    {
        using var missing = new MissingFactory();
        var response = await missing.CreateClient().GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains(DashboardHosting.NotBuiltPage, await response.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await missing.CreateClient().GetAsync("/api/v1/nope")).StatusCode);
    }
}
