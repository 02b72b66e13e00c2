using System.Net.Http.Headers;
using System.Text;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Switchboard.Credentials;
using Switchboard.Outbox;
using Switchboard.Platform.Database;
using Switchboard.Tenancy;
using Switchboard.Vapi;

namespace Switchboard.Tests.Support;

/// <summary>
/// The real host over a real database (<see cref="TestDatabase"/>), with the clock under the test's control,
/// the outbox worker off (tests drive <see cref="OutboxProcessor"/> directly) and Twilio pointed at a simulator.
/// </summary>
public class SwitchboardFactory : WebApplicationFactory<Program>
{
    private readonly TestDatabase database;
    private readonly string ownKeysPath;
    private readonly bool ownsStorage;

    public SwitchboardFactory()
    {
        database = new TestDatabase();
        ownKeysPath = Path.Combine(Path.GetTempPath(), "switchboard-keys-" + Guid.NewGuid().ToString("N"));
        ownsStorage = true;
    }

    /// <summary>
    /// A host over an existing database and Data Protection key ring, as a node restarted after a crash sees them;
    /// the caller owns both (this factory deletes neither).
    /// </summary>
    internal SwitchboardFactory(TestDatabase database, string keysPath)
    {
        this.database = database;
        ownKeysPath = keysPath;
        ownsStorage = false;
    }

    /// <summary>Another factory whose database and key ring this host shares: a second node of the same installation.</summary>
    internal SwitchboardFactory? Twin { get; init; }

    private string DatabaseProvider => Twin?.DatabaseProvider ?? database.Provider;
    internal string DatabaseConnectionString => Twin?.DatabaseConnectionString ?? database.ConnectionString;
    private string KeysPath => Twin?.KeysPath ?? ownKeysPath;

    /// <summary>
    /// The host's clock (Microsoft.Extensions.TimeProvider.Testing): time moves only when a test advances it, and timers and
    /// <c>Task.Delay(…, clock)</c> fire when it passes their due time. Factories whose tests need the host's own
    /// timers to fire as real time passes (SSE pings) turn on <see cref="RealTimePasses"/>.
    /// </summary>
    internal FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 11, 18, 15, 0, 0, TimeSpan.Zero)); // a Wednesday, 10:00 in Montréal

    /// <summary>
    /// When true, <see cref="Clock"/> also advances with real time (every 50 ms by the real time elapsed), on top of what
    /// tests add with <c>Advance</c>: for hosts whose tests wait on timers the host runs on its clock, such as the live
    /// events stream's pings, where driving each ping by hand would race the stream's reader.
    /// </summary>
    protected virtual bool RealTimePasses => false;

    private Timer? pump;

    /// <summary>Settings applied on top of the test defaults (e.g. a lower rate limit).</summary>
    protected virtual IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>();

    /// <summary>Base URL of Twilio's API; a test sets it before the host starts.</summary>
    internal string TwilioBaseUrl { get; set; } = "http://127.0.0.1:9";

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.UseSetting("Switchboard:Database:Provider", DatabaseProvider);
        builder.UseSetting("Switchboard:Database:ConnectionString", DatabaseConnectionString);
        if (Twin is not null)
        {
            // Another node of the same installation: nodes sharing a database have distinct names (README § PostgreSQL), and
            // a node takes back what its earlier runs under its own name held.
            builder.UseSetting("Switchboard:Outbox:NodeId", "twin-" + Guid.NewGuid().ToString("N")[..12]);
        }
        builder.UseSetting("Switchboard:Outbox:WorkerEnabled", "false");
        builder.UseSetting("Switchboard:Campaigns:DialerEnabled", "false"); // tests drive CampaignDialer.TickAsync
        // The retention worker waits on the host's clock: with FakeTimeProvider, a test that advances days would start a purge.
        builder.UseSetting("Switchboard:Retention:WorkerEnabled", "false");
        // Likewise the closer of Vapi calls without a report (its staleness is read on the host's clock): tests drive it.
        builder.UseSetting("Switchboard:Vapi:MissingReportCloserEnabled", "false");
        builder.UseSetting("Switchboard:Voice:StaleCallCloserEnabled", "false"); // and of native calls whose end never came
        // PostgreSQL's planner statistics: an ANALYZE in the background would change the plans tests EXPLAIN (PlannerStatisticsTests turns it on).
        builder.UseSetting("Switchboard:Database:AnalyzeCheckSeconds", "0");
        builder.UseSetting("Switchboard:Twilio:ApiBaseUrl", TwilioBaseUrl);
        builder.UseSetting("Switchboard:Twilio:TimeoutSeconds", "5");
        builder.UseSetting("Switchboard:Vapi:RateLimitPerMinute", "10000");
        builder.UseSetting("Switchboard:Vapi:WarmUpOnStart", "false"); // /readyz at once; VapiWarmupTests turn it on
        builder.UseSetting("Logging:LogLevel:Default", "Warning");
        // The key ring lives in the test database; its master key (and any old file ring to import) in the test's folder.
        builder.UseSetting("Switchboard:DataProtection:MasterKeyFile", Path.Combine(KeysPath, "master.key"));
        builder.UseSetting("Switchboard:DataProtection:KeysPath", KeysPath);
        foreach (var (key, value) in ExtraSettings)
        {
            builder.UseSetting(key, value);
        }
        if (RealTimePasses && pump is null)
        {
            var last = System.Diagnostics.Stopwatch.GetTimestamp();
            var gate = new Lock();
            pump = new Timer(_ =>
            {
                // Timer callbacks overlap when the thread pool runs late: one at a time, and never a negative step
                // (FakeTimeProvider.Advance throws on one, which crashed the test host).
                lock (gate)
                {
                    var now = System.Diagnostics.Stopwatch.GetTimestamp();
                    if (now > last)
                    {
                        Clock.Advance(System.Diagnostics.Stopwatch.GetElapsedTime(last, now));
                        last = now;
                    }
                }
            }, null, TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(50));
        }
        builder.ConfigureTestServices(services =>
        {
            services.AddSingleton<TimeProvider>(Clock);
            services.AddDataProtection().SetApplicationName("switchboard-tests"); // the key ring is in the database
        });
    }

    internal IServiceScope Scope() => Services.CreateScope();

    /// <summary>Runs <paramref name="work"/> with a context scoped to <paramref name="tenantId"/> (or unscoped when null).</summary>
    internal async Task<T> WithDbAsync<T>(Guid? tenantId, Func<SwitchboardDbContext, Task<T>> work)
    {
        using var scope = Services.CreateScope();
        if (tenantId is { } id)
        {
            scope.ServiceProvider.GetRequiredService<CurrentTenant>().Set(id);
        }
        return await work(scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>());
    }

    internal OutboxProcessor Outbox => Services.GetRequiredService<OutboxProcessor>();

    /// <summary>Creates a tenant with a webhook secret and an API key, straight in the database.</summary>
    internal async Task<TestTenant> CreateTenantAsync(
        string name = "Drain Fortin", Action<Tenant>? configure = null, bool withTwilio = false)
    {
        using var scope = Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>();
        var secrets = scope.ServiceProvider.GetRequiredService<SecretProtector>();
        var secret = ApiKeys.GenerateWebhookSecret();
        var key = ApiKeys.Generate();
        var tenant = new Tenant
        {
            Id = Guid.CreateVersion7(),
            Name = name,
            TimeZone = "America/Toronto",
            Locale = "fr-CA",
            VapiWebhookSecretProtected = secrets.Protect(secret),
            UrgencyRules = UrgencyRules.Plumbing,
            AlertPolicy = new AlertPolicy { OnCallNumbers = ["+15145550111"], OfficeNumbers = ["+15145550100"] },
            CreatedAt = Clock.GetUtcNow(),
        };
        if (withTwilio)
        {
            tenant.TwilioAccountSid = TwilioSimulator.AccountSid;
            tenant.TwilioAuthTokenProtected = secrets.Protect(TwilioSimulator.AuthToken);
            tenant.TwilioFromNumber = "+15145550199";
        }
        configure?.Invoke(tenant);
        db.Tenants.Add(tenant);
        db.Assistants.Add(new Assistants.Assistant
        {
            Id = Guid.CreateVersion7(),
            TenantId = tenant.Id,
            Name = "Paul",
            Provider = "vapi",
            Languages = ["fr-CA", "en-US"],
            IsDefault = true,
            FirstMessage = "Drain Fortin, bonjour!",
            Instructions = "Tu es Paul.",
            CreatedAt = Clock.GetUtcNow(),
        });
        db.ApiKeys.Add(new ApiKey { Id = Guid.CreateVersion7(), TenantId = tenant.Id, Name = "test", Prefix = key.Prefix, Hash = key.Hash, CreatedAt = Clock.GetUtcNow() });
        await db.SaveChangesAsync();
        Services.GetRequiredService<VapiTenantCache>().Invalidate(tenant.Id);
        return new TestTenant(tenant.Id, secret, key.Plaintext);
    }

    /// <summary>A client carrying the tenant's secret API key.</summary>
    internal HttpClient ApiClient(TestTenant tenant)
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", tenant.ApiKey);
        return client;
    }

    /// <summary>Posts a Vapi server message signed as Paul's contract does (<c>x-vapi-signature: sha256=&lt;hex&gt;</c>).</summary>
    internal async Task<HttpResponseMessage> PostVapiAsync(TestTenant tenant, string json, Action<HttpRequestMessage, byte[]>? sign = null)
    {
        var body = Encoding.UTF8.GetBytes(json);
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/webhooks/vapi/{tenant.Id}")
        {
            Content = new ByteArrayContent(body) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } },
        };
        if (sign is null)
        {
            request.Headers.Add("x-vapi-signature", "sha256=" + VapiSignatureVerifier.Sign(body, tenant.WebhookSecret));
        }
        else
        {
            sign(request, body);
        }
        return await CreateClient().SendAsync(request);
    }

    protected override void Dispose(bool disposing)
    {
        pump?.Dispose();
        base.Dispose(disposing);
        if (disposing && ownsStorage)
        {
            database.Dispose();
            try { Directory.Delete(ownKeysPath, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}

/// <summary>A tenant made for a test: its id, webhook secret and API key.</summary>
internal sealed record TestTenant(Guid Id, string WebhookSecret, string ApiKey);
