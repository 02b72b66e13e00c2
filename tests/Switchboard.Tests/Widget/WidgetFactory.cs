using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Billing;
using Switchboard.Credentials;
using Switchboard.Tenancy;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Widget;

/// <summary>The host for web chat tests: local http origins allowed, the idle closer driven by tests, SMS simulated.</summary>
public class WidgetFactory : SwitchboardFactory
{
    public const string SiteOrigin = "https://www.drainfortin.example";

    protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>
    {
        ["Switchboard:Widget:CloserEnabled"] = "false",
        ["Switchboard:Widget:AllowLocalHttpOrigins"] = "true",
        ["Switchboard:Retention:WorkerEnabled"] = "false",
        ["Switchboard:Credentials:AllowPrivateBaseUrls"] = "true",
        ["Switchboard:Brain:TimeoutSeconds"] = "20",
    }.Concat(MoreSettings).GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.Last().Value);

    /// <summary>Settings a subclass adds.</summary>
    protected virtual IDictionary<string, string?> MoreSettings => new Dictionary<string, string?>();

    /// <summary>A tenant (Drain Fortin rules, on-call +15145550111) with a publishable key and allowed origins.</summary>
    internal async Task<WidgetTenant> CreateWidgetTenantAsync(string name = "Drain Fortin", params string[] origins)
    {
        var tenant = await CreateTenantAsync(name);
        var (key, _, hash) = PublishableKeys.Generate();
        await WithDbAsync(tenant.Id, async db =>
        {
            db.ApiKeys.Add(new ApiKey
            {
                Id = Guid.CreateVersion7(), TenantId = tenant.Id, Name = "widget", Kind = ApiKeyKinds.Publishable, Prefix = key[..12], Hash = hash, CreatedAt = Clock.GetUtcNow(),
            });
            var account = await TenantAccounts.GetOrCreateAsync(db, Services.GetRequiredService<PlanCatalog>(), tenant.Id, Clock.GetUtcNow(), CancellationToken.None);
            account.AllowedOrigins = origins.Length > 0 ? [.. origins] : [SiteOrigin];
            return await db.SaveChangesAsync();
        });
        Services.GetRequiredService<TenantAccountCache>().Invalidate(tenant.Id);
        return new WidgetTenant(tenant, key);
    }

    /// <summary>Stores an OpenAI-compatible credential (e.g. the chat model simulator) for the tenant.</summary>
    internal async Task UseModelAsync(Guid tenantId, string baseUrl)
    {
        using var scope = Services.CreateScope();
        scope.ServiceProvider.GetRequiredService<CurrentTenant>().Set(tenantId);
        await scope.ServiceProvider.GetRequiredService<CredentialStore>().SetOpenAiAsync(tenantId, "sk-sim-" + tenantId.ToString("N")[..8], baseUrl, CancellationToken.None);
        await scope.ServiceProvider.GetRequiredService<Switchboard.Platform.Database.SwitchboardDbContext>().SaveChangesAsync();
    }

    /// <summary>A client that sends <paramref name="origin"/> as the browser would.</summary>
    internal HttpClient Browser(string? origin = SiteOrigin)
    {
        var client = CreateClient();
        if (origin is not null)
        {
            client.DefaultRequestHeaders.Add("Origin", origin);
        }
        return client;
    }
}

/// <summary>A widget test tenant and its publishable key.</summary>
internal sealed record WidgetTenant(TestTenant Tenant, string Key)
{
    public Guid Id => Tenant.Id;
    public string Q => "?key=" + Uri.EscapeDataString(Key);
}

/// <summary>A visitor's side of a conversation, over the real endpoints.</summary>
internal sealed class Visitor(HttpClient client, WidgetTenant tenant)
{
    public string? Id { get; private set; }
    public string? Token { get; set; }

    public async Task<HttpResponseMessage> StartAsync(string pageUrl = "https://www.drainfortin.example/urgence?utm_source=google&utm_campaign=hiver&gclid=G123", string language = "fr")
    {
        var response = await client.PostAsJsonAsync("/widget/v1/conversations" + tenant.Q, new { visitorId = "visitor-" + Guid.NewGuid().ToString("N")[..10], language, pageUrl, referrer = "https://www.google.com/" });
        if (response.IsSuccessStatusCode)
        {
            var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
            Id = body["id"]!.GetValue<string>();
            Token = body["token"]!.GetValue<string>();
        }
        return response;
    }

    public async Task<HttpResponseMessage> PostAsync(string text, string? id = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/widget/v1/conversations/{id ?? Id}/messages{tenant.Q}")
        {
            Content = new StringContent(System.Text.Json.JsonSerializer.Serialize(new { text }), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new("Bearer", Token);
        return await client.SendAsync(request);
    }

    /// <summary>Sends a message and reads the whole event stream.</summary>
    public async Task<Reply> SayAsync(string text)
    {
        var response = await PostAsync(text);
        var raw = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"message: {(int)response.StatusCode} {raw}");
        Assert.StartsWith("text/event-stream", response.Content.Headers.ContentType?.ToString());
        return Reply.Parse(raw);
    }
}

/// <summary>A parsed SSE reply: its events in order.</summary>
internal sealed record Reply(List<(string Type, JsonNode Data)> Events)
{
    public string Text => string.Concat(Events.Where(e => e.Type == "delta").Select(e => e.Data["text"]!.GetValue<string>()));
    public int Deltas => Events.Count(e => e.Type == "delta");
    public JsonNode? Lead => Events.LastOrDefault(e => e.Type == "lead").Data;
    public JsonNode? Done => Events.LastOrDefault(e => e.Type == "done").Data;

    public static Reply Parse(string raw)
    {
        var events = new List<(string, JsonNode)>();
        foreach (var block in raw.Replace("\r\n", "\n").Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            string type = "message", data = "";
            foreach (var line in block.Split('\n'))
            {
                if (line.StartsWith("event: ", StringComparison.Ordinal)) { type = line[7..]; }
                else if (line.StartsWith("data: ", StringComparison.Ordinal)) { data += line[6..]; }
            }
            if (data.Length > 0)
            {
                events.Add((type, JsonNode.Parse(data)!));
            }
        }
        return new Reply(events);
    }
}
