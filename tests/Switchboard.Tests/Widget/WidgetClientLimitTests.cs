using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Widget;

/// <summary>
/// The widget host with small windows: 3 requests a minute per client address and 6 per origin. TestServer has no client
/// address, so a request's address is set from <c>X-Test-Client-Ip</c>, as the forwarded-headers middleware would set it
/// behind a configured proxy.
/// </summary>
public sealed class ClientLimitWidgetFactory : WidgetFactory
{
    protected override IDictionary<string, string?> MoreSettings => new Dictionary<string, string?>
    {
        ["Switchboard:Widget:RequestsPerMinutePerClient"] = "3",
        ["Switchboard:Widget:RequestsPerMinutePerOrigin"] = "6",
    };

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.ConfigureServices(services => services.AddSingleton<IStartupFilter, ClientIpFilter>());
    }

    private sealed class ClientIpFilter : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use(async (http, nextMiddleware) =>
            {
                if (IPAddress.TryParse(http.Request.Headers["X-Test-Client-Ip"].ToString(), out var ip))
                {
                    http.Connection.RemoteIpAddress = ip;
                }
                await nextMiddleware(http);
            });
            next(app);
        };
    }
}

/// <summary>The per-client window in front of the per-origin one (probe F7: the Origin header is forgeable outside a browser).</summary>
[Trait("Category", "Database")]
public sealed class WidgetClientLimitTests(ClientLimitWidgetFactory factory) : IClassFixture<ClientLimitWidgetFactory>
{
    private static async Task<HttpResponseMessage> ConfigAsync(HttpClient browser, WidgetTenant t, string ip)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/widget/v1/config" + t.Q);
        request.Headers.Add("X-Test-Client-Ip", ip);
        return await browser.SendAsync(request);
    }

    [Fact]
    public async Task OneClientForgingTheSitesOriginCannotStarveTheOtherVisitors()
    {
        var t = await factory.CreateWidgetTenantAsync("Débit par adresse");
        var browser = factory.Browser(); // Origin: the business's site, as curl can send it too

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await ConfigAsync(browser, t, "203.0.113.7")).StatusCode);
        }
        for (var i = 0; i < 10; i++)
        {
            var refused = await ConfigAsync(browser, t, "203.0.113.7");
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
            Assert.Equal("RATE_LIMITED", await refused.ErrorCodeAsync());
            Assert.InRange(int.Parse(refused.Headers.GetValues("Retry-After").Single()), 1, 60);
        }

        // Another visitor of the same site is still served: the refused requests did not take from the site's window.
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await ConfigAsync(browser, t, "198.51.100.20")).StatusCode);
        }
        // The site's window (6 here) still bounds all its visitors together.
        Assert.Equal(HttpStatusCode.TooManyRequests, (await ConfigAsync(browser, t, "198.51.100.21")).StatusCode);

        // Windows are per tenant: the same address is served by another business's widget.
        var other = await factory.CreateWidgetTenantAsync("Autre commerce");
        Assert.Equal(HttpStatusCode.OK, (await ConfigAsync(browser, other, "203.0.113.7")).StatusCode);
    }
}
