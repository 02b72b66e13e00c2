using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.TestHost;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Simulators;
using Switchboard.Tenancy;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Browser;

/// <summary>
/// The host on a real Kestrel listener (127.0.0.1, any port) serving the built dashboard from <c>web/dist</c>, with
/// the realtime provider and Twilio REST simulators beside it (as <c>./switchboard simulate-call</c> uses), a file
/// server for recordings, and the real clock so the browser and the host agree on "today".
/// </summary>
public sealed class DashboardFactory : SwitchboardFactory
{
    internal SimPacer Pacer { get; } = new();

    /// <summary>The dashboard's live stream pings (and re-checks the session) on the host's clock while a person watches.</summary>
    protected override bool RealTimePasses => true;
    internal RealtimeProviderSimulator Provider { get; }
    internal TwilioSimulator TwilioRest { get; }
    internal RecordingServer Recordings { get; }

    public DashboardFactory()
    {
        Provider = RealtimeProviderSimulator.StartAsync(new ProviderScript(), 0, Pacer).GetAwaiter().GetResult();
        TwilioRest = TwilioSimulator.StartAsync().GetAwaiter().GetResult();
        Recordings = RecordingServer.Start();
        TwilioBaseUrl = TwilioRest.BaseUrl;
        UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
    }

    /// <summary>The real clock: the browser's timers, EventSource heartbeats and "today" must agree with the host.</summary>
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.ConfigureTestServices(services => services.AddSingleton(TimeProvider.System));
    }

    /// <summary>web/dist at the repository root.</summary>
    internal static string DistPath => Path.Combine(Fixtures.RepositoryRoot, "web", "dist");

    protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>
    {
        ["Switchboard:Web:DashboardPath"] = DistPath,
        ["Switchboard:Realtime:BaseUrl"] = Provider.Url,
        ["Switchboard:Realtime:ApiKey"] = "sk-test-realtime",
        ["Switchboard:Realtime:ConnectTimeoutMs"] = "2000",
        ["Switchboard:Voice:RequireStreamSignature"] = "true",
        ["Switchboard:Voice:IdleRepromptSeconds"] = "8",
        ["Switchboard:Voice:HangupGraceSeconds"] = "5",
        ["Switchboard:Billing:Plans:pro:ConcurrentCalls"] = "1000",
        ["Switchboard:Vapi:RateLimitPerMinute"] = "100000",
        ["Switchboard:Accounts:AuthRequestsPerMinutePerIp"] = "100000",
        ["Switchboard:Credentials:AllowPrivateBaseUrls"] = "true",
        ["Switchboard:Webhooks:AllowInsecureUrls"] = "true", // recordings are fetched through the webhook SSRF policy
        ["Switchboard:Webhooks:AllowPrivateNetworks"] = "true",
        ["Switchboard:Billing:Plans:free:RequestsPerMinute"] = "100000",
        ["Switchboard:Billing:Plans:pro:RequestsPerMinute"] = "100000",
    };

    /// <summary>The listener's address, e.g. <c>http://127.0.0.1:41234</c>.</summary>
    internal Uri ServerUri
    {
        get
        {
            StartServer();
            return new Uri(Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        }
    }

    internal TwilioCallSimulator Twilio() => new(ServerUri, TwilioSimulator.AuthToken, Pacer);

    /// <summary>Adds a dashboard user (owner) to a tenant, straight in the database; returns the email.</summary>
    internal async Task<string> AddOwnerAsync(Guid tenantId, string password)
    {
        var email = $"owner-{Guid.NewGuid():N}@drainfortin.test";
        using var scope = Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<Switchboard.Platform.Database.SwitchboardDbContext>();
        var user = new User { Id = Guid.CreateVersion7(), Email = email, PasswordHash = "", FullName = "Marie Fortin", CreatedAt = DateTimeOffset.UtcNow };
        user.PasswordHash = new PasswordHasher<User>().HashPassword(user, password);
        db.Users.Add(user);
        db.Memberships.Add(new Membership { Id = Guid.CreateVersion7(), TenantId = tenantId, UserId = user.Id, Role = Roles.Owner, CreatedAt = DateTimeOffset.UtcNow });
        await db.SaveChangesAsync();
        return email;
    }

    internal async Task<T> CountAsync<T>(Guid tenantId, Func<Switchboard.Platform.Database.SwitchboardDbContext, Task<T>> work) => await WithDbAsync(tenantId, work);

    private int disposed;

    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref disposed, 1) == 0)
        {
            Provider.DisposeAsync().AsTask().GetAwaiter().GetResult();
            TwilioRest.DisposeAsync().AsTask().GetAwaiter().GetResult();
            Recordings.Dispose();
        }
        base.Dispose(disposing);
    }
}

/// <summary>A tiny HTTP server on 127.0.0.1 serving <c>samples/audio/*.wav</c>, standing in for the provider's recording storage.</summary>
internal sealed class RecordingServer : IDisposable
{
    private readonly HttpListener listener;
    private readonly CancellationTokenSource stop = new();
    internal string BaseUrl { get; }

    private RecordingServer(HttpListener listener, string baseUrl)
    {
        this.listener = listener;
        BaseUrl = baseUrl;
        _ = Task.Run(LoopAsync);
    }

    internal static RecordingServer Start()
    {
        for (var attempt = 0; ; attempt++)
        {
            var port = Random.Shared.Next(20000, 60000);
            var listener = new HttpListener();
            listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            try
            {
                listener.Start();
                return new RecordingServer(listener, $"http://127.0.0.1:{port}");
            }
            catch (HttpListenerException) when (attempt < 20)
            {
                listener.Close();
            }
        }
    }

    private async Task LoopAsync()
    {
        while (!stop.IsCancellationRequested)
        {
            HttpListenerContext ctx;
            try
            {
                ctx = await listener.GetContextAsync();
            }
            catch (Exception) when (stop.IsCancellationRequested || !listener.IsListening)
            {
                return;
            }
            var name = Path.GetFileName(ctx.Request.Url!.AbsolutePath);
            var file = Path.Combine(Fixtures.RepositoryRoot, "samples", "audio", name);
            if (!File.Exists(file))
            {
                ctx.Response.StatusCode = 404;
                ctx.Response.Close();
                continue;
            }
            var bytes = await File.ReadAllBytesAsync(file);
            var (start, end) = (0L, bytes.Length - 1L);
            if (ctx.Request.Headers["Range"] is { } range && range.StartsWith("bytes=", StringComparison.Ordinal))
            {
                var parts = range[6..].Split('-');
                start = long.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture);
                if (parts.Length > 1 && parts[1].Length > 0)
                {
                    end = Math.Min(end, long.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture));
                }
                ctx.Response.StatusCode = 206;
                ctx.Response.AddHeader("Content-Range", $"bytes {start}-{end}/{bytes.Length}");
            }
            ctx.Response.ContentType = "audio/wav";
            ctx.Response.AddHeader("Accept-Ranges", "bytes");
            ctx.Response.ContentLength64 = end - start + 1;
            try
            {
                await ctx.Response.OutputStream.WriteAsync(bytes.AsMemory((int)start, (int)(end - start + 1)));
                ctx.Response.Close();
            }
            catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException)
            {
                // The browser cancelled a range request: normal for media elements.
            }
        }
    }

    public void Dispose()
    {
        stop.Cancel();
        listener.Close();
    }
}
