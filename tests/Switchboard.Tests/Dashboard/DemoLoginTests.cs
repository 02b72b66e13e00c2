using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Platform;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Dashboard;

/// <summary>The demo seed creates an owner of the demo tenant whose login is saved beside the API key and signs in to the dashboard.</summary>
[Trait("Category", "Database")]
public sealed class DemoLoginTests : IClassFixture<DemoLoginTests.Factory>
{
    public sealed class Factory : SelfServiceFactory
    {
        public string ContentRoot { get; } = Directory.CreateTempSubdirectory("switchboard-demo-").FullName;

        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            base.ConfigureWebHost(builder);
            builder.UseContentRoot(ContentRoot); // data/demo-credentials.json is written here, not in the source tree
        }

        protected override void Dispose(bool disposing)
        {
            base.Dispose(disposing);
            try { Directory.Delete(ContentRoot, true); } catch (IOException) { }
        }
    }

    private readonly Factory factory;

    public DemoLoginTests(Factory factory) => this.factory = factory;

    [Fact]
    public async Task DemoSeedCreatesAnOwnerWhoCanSignInAndSeeTheDemoTenant()
    {
        DemoCredentials? seeded;
        using (var scope = factory.Services.CreateScope())
        {
            seeded = await scope.ServiceProvider.GetRequiredService<DemoSeeder>().SeedAsync(CancellationToken.None);
        }

        Assert.NotNull(seeded);
        Assert.Equal("owner@drainfortin.demo", seeded.DashboardEmail);
        Assert.True(seeded.DashboardPassword!.Length >= 20);
        var saved = JsonDocument.Parse(File.ReadAllText(Path.Combine(factory.ContentRoot, "data", "demo-credentials.json"))).RootElement;
        Assert.Equal(seeded.DashboardPassword, saved.GetProperty("DashboardPassword").GetString());
        Assert.Equal(seeded.DashboardEmail, saved.GetProperty("DashboardEmail").GetString());

        var owner = await factory.LoginAsync(seeded.DashboardEmail!, seeded.DashboardPassword);
        Assert.Equal(DemoSeeder.DemoTenantId, owner.TenantId);
        var session = await (await owner.Client.GetAsync("/api/v1/auth/session")).JsonAsync(HttpStatusCode.OK);
        Assert.Equal("owner", session["tenant"]!["role"]!.GetValue<string>());
        await (await owner.Client.GetAsync("/api/v1/leads")).JsonAsync(HttpStatusCode.OK);

        // Seeding again keeps the same login.
        using (var scope = factory.Services.CreateScope())
        {
            var again = await scope.ServiceProvider.GetRequiredService<DemoSeeder>().SeedAsync(CancellationToken.None);
            Assert.Equal(seeded.DashboardPassword, again!.DashboardPassword);
        }
    }
}
