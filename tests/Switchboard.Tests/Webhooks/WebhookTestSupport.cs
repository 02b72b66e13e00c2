using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Switchboard.Outbox;
using Switchboard.Platform.Cluster;
using Switchboard.Platform.Database;
using Switchboard.Tenancy;
using Switchboard.Tests.Support;
using Switchboard.Webhooks;

namespace Switchboard.Tests.Webhooks;

/// <summary>The host with webhook receivers on 127.0.0.1 allowed (plain http and private addresses), and a 2 s attempt timeout.</summary>
public class WebhookFactory : SwitchboardFactory
{
    internal static readonly Dictionary<string, string?> Settings = new()
    {
        ["Switchboard:Webhooks:AllowInsecureUrls"] = "true",
        ["Switchboard:Webhooks:AllowPrivateNetworks"] = "true",
        ["Switchboard:Webhooks:TimeoutSeconds"] = "2",
    };

    protected override IDictionary<string, string?> ExtraSettings => Settings;
}

/// <summary>The host as deployed: https only, no private or loopback destinations.</summary>
public sealed class StrictWebhookFactory : SwitchboardFactory
{
    protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>
    {
        ["Switchboard:Webhooks:AllowInsecureUrls"] = "false",
        ["Switchboard:Webhooks:AllowPrivateNetworks"] = "false",
    };
}

/// <summary>
/// A second host over the first one's database and Data Protection key ring: a node restarted after a crash.
/// Its clock starts where the original's is.
/// </summary>
internal sealed class RestartedFactory : SwitchboardFactory
{
    private readonly Dictionary<string, string?> settings;

    public RestartedFactory(SwitchboardFactory original, IDictionary<string, string?> extra)
    {
        var db = original.Services.GetRequiredService<IOptions<DatabaseOptions>>().Value;
        settings = new Dictionary<string, string?>(extra)
        {
            ["Switchboard:Database:Provider"] = db.Provider,
            ["Switchboard:Database:ConnectionString"] = db.ConnectionString,
            // The key ring is in the shared database; the node needs the installation's master key to read it.
            ["Switchboard:DataProtection:MasterKey"] = Convert.ToBase64String(original.Services.GetRequiredService<MasterKeys>().Current),
        };
        Clock.Advance(original.Clock.GetUtcNow() - Clock.GetUtcNow());
    }

    protected override IDictionary<string, string?> ExtraSettings => settings;
}

internal static class WebhookTestExtensions
{
    /// <summary>Registers an endpoint through the API; returns its id and secret.</summary>
    public static async Task<(Guid Id, string Secret)> CreateEndpointAsync(this SwitchboardFactory factory, TestTenant tenant, string url,
        string[]? eventTypes = null, Dictionary<string, string>? headers = null)
    {
        var response = await factory.ApiClient(tenant).PostAsJsonAsync("/api/v1/webhooks/endpoints",
            new { url, description = "test receiver", eventTypes, headers });
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.Created, body);
        var json = JsonNode.Parse(body)!;
        return (json["endpoint"]!["id"]!.GetValue<Guid>(), json["secret"]!.GetValue<string>());
    }

    /// <summary>Publishes an event as application code does: in a unit of work committed with SaveChanges.</summary>
    public static Task<bool> PublishAsync<T>(this SwitchboardFactory factory, Guid tenantId, string type, string key, T data) =>
        factory.WithDbAsync(tenantId, async db =>
        {
            var publisher = new WebhookEventPublisher(db, factory.Services.GetRequiredService<WebhookEndpointCache>(), factory.Services.GetRequiredService<global::Switchboard.Tenancy.TenantAccountCache>(), factory.Clock);
            var published = await publisher.PublishAsync(tenantId, type, key, data, CancellationToken.None);
            await db.SaveChangesAsync();
            return published;
        });

    /// <summary>A thin test event of type <c>lead.created</c> for <paramref name="n"/>.</summary>
    public static LeadEventData Lead(int n) =>
        new(Guid.NewGuid(), Guid.NewGuid(), $"Caller {n}", "+15145550123", null, $"Problem {n}", "routine", "tool", DateTimeOffset.UnixEpoch);

    /// <summary>
    /// Drains the outbox, moving the clock 3 s at a time while deliveries wait for a per-endpoint slot (deferred by
    /// 1–3 s): more than <see cref="WebhookOptions.MaxConcurrencyPerEndpoint"/> deliveries to one endpoint take several rounds.
    /// </summary>
    public static async Task DeliverAllAsync(this SwitchboardFactory factory)
    {
        for (var round = 0; round < 50; round++)
        {
            await factory.Outbox.DrainAsync(CancellationToken.None);
            var soon = factory.Clock.GetUtcNow().AddSeconds(3);
            var waiting = await factory.WithDbAsync(null, db => db.Outbox.IgnoreQueryFilters()
                .AnyAsync(m => m.Status == OutboxStatus.Pending && m.Kind == WebhookDeliveryHandler.Kind && m.NextAttemptAt <= soon));
            if (!waiting)
            {
                return;
            }
            factory.Clock.Advance(TimeSpan.FromSeconds(3));
        }
    }

    public static Task<List<WebhookDelivery>> DeliveriesAsync(this SwitchboardFactory factory, Guid tenantId, Guid endpointId) =>
        factory.WithDbAsync(tenantId, db => db.WebhookDeliveries.Where(d => d.EndpointId == endpointId).OrderBy(d => d.CreatedAt).ToListAsync());

    public static Task<WebhookEndpoint> EndpointAsync(this SwitchboardFactory factory, Guid tenantId, Guid endpointId) =>
        factory.WithDbAsync(tenantId, db => db.WebhookEndpoints.AsNoTracking().SingleAsync(e => e.Id == endpointId));
}
