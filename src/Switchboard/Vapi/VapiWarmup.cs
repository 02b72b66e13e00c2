using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Switchboard.Credentials;
using Switchboard.Platform;
using Switchboard.Platform.Database;
using Switchboard.Tenancy;

namespace Switchboard.Vapi;

/// <summary>
/// Warms the webhook path before <c>/readyz</c> reports ready (<see cref="StartupReadiness"/>; issue 13: up to 4.8 s of
/// tail in the first seconds after a start). Migrations have run before the host starts (Program.cs). Then, once:
/// <list type="number">
/// <item>a synthetic call (assistant-request, status-update, transcript, conversation-update, tool-calls with a routine
/// <c>capture_lead</c>, end-of-call-report) goes through <see cref="VapiEventProcessor"/> for a throwaway tenant, inside one
/// transaction that is rolled back, so nothing is stored and nothing is sent (the outbox rows it queues roll back with it);
/// this compiles the EF Core queries and JITs the processor, the tools and the post-call pipeline;</item>
/// <item>the signature check runs once on a synthetic body;</item>
/// <item>the credentials of up to <see cref="TenantsCached"/> tenants are loaded into <see cref="VapiTenantCache"/> in one query;</item>
/// <item>when the server listens on an address, one unsigned POST to <c>/webhooks/vapi/{random id}</c> (a 404) warms
/// Kestrel, routing and the endpoint.</item>
/// </list>
/// Bounded by <see cref="VapiOptions.WarmUpTimeoutSeconds"/>; a failure is logged and the node becomes ready anyway (its
/// database check still stands). Off with <c>Switchboard:Vapi:WarmUpOnStart=false</c> (the test host's default).
/// </summary>
internal sealed class VapiWarmup(
    IServiceScopeFactory scopes, StartupReadiness readiness, IOptions<VapiOptions> options, VapiTenantCache tenants,
    IServer server, IHostApplicationLifetime lifetime, TimeProvider clock, ILogger<VapiWarmup> logger) : BackgroundService
{
    /// <summary>Most tenants whose webhook credentials are cached at start.</summary>
    internal const int TenantsCached = 1000;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.WarmUpOnStart)
        {
            readiness.MarkReady();
            return;
        }
        await Task.Yield(); // never hold up the host's start
        var watch = Stopwatch.StartNew();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        cts.CancelAfter(TimeSpan.FromSeconds(options.Value.WarmUpTimeoutSeconds));
        try
        {
            await WarmPipelineAsync(cts.Token);
            await tenants.WarmAsync(TenantsCached, cts.Token);
            await WarmHttpAsync(cts.Token);
            logger.LogInformation("Webhook path warmed up in {Ms} ms", watch.ElapsedMilliseconds);
        }
        catch (Exception e) when (!stoppingToken.IsCancellationRequested)
        {
            logger.LogWarning(e, "Warm-up failed after {Ms} ms; ready anyway", watch.ElapsedMilliseconds);
        }
        finally
        {
            readiness.MarkReady();
        }
    }

    /// <summary>Runs a synthetic call through the processor in a transaction that is rolled back.</summary>
    internal async Task WarmPipelineAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var sp = scope.ServiceProvider;
        var db = sp.GetRequiredService<SwitchboardDbContext>();
        var processor = sp.GetRequiredService<VapiEventProcessor>();
        var tenantId = Guid.CreateVersion7();
        sp.GetRequiredService<CurrentTenant>().Set(tenantId);
        var secret = "warm-up-" + Guid.NewGuid().ToString("N");
        var now = clock.GetUtcNow();
        db.Database.AutoSavepointsEnabled = false;

        using var turn = await sp.GetRequiredService<SqliteWriteGate>().EnterAsync(db, WritePriority.Low, ct);
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        db.Tenants.Add(new Tenant
        {
            Id = tenantId,
            Name = "warm-up (rolled back)",
            TimeZone = "America/Toronto",
            Locale = "fr-CA",
            VapiWebhookSecretProtected = sp.GetRequiredService<SecretProtector>().Protect(secret),
            CreatedAt = now,
        });
        await db.SaveChangesAsync(ct);
        var tenant = await db.Tenants.AsNoTracking().FirstAsync(t => t.Id == tenantId, ct);
        foreach (var body in SyntheticCall(Guid.NewGuid().ToString(), now))
        {
            var bytes = Encoding.UTF8.GetBytes(body);
            VapiSignatureVerifier.Verify(_ => null, bytes, secret, tenant.VapiSignatureHeader, tenant.VapiTimestampHeader, now, TimeSpan.FromMinutes(5));
            using var document = JsonDocument.Parse(bytes);
            var message = document.RootElement.GetProperty("message");
            var type = message.GetProperty("type").GetString()!;
            await processor.ProcessAsync(new TenantConfig(tenant, null), message, type, body, VapiEventProcessor.KeyOf(bytes), [], ct);
            await db.SaveChangesAsync(ct);
            db.ChangeTracker.Clear(); // each delivery starts from fresh state, as in VapiWebhookApi
        }
        await tx.RollbackAsync(ct);
        db.ChangeTracker.Clear();
    }

    /// <summary>One unsigned POST to a tenant that does not exist, through the real server (skipped when it has no address, as in tests).</summary>
    private async Task WarmHttpAsync(CancellationToken ct)
    {
        if (!lifetime.ApplicationStarted.IsCancellationRequested)
        {
            var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            await using var registration = lifetime.ApplicationStarted.Register(() => started.TrySetResult());
            await started.Task.WaitAsync(ct);
        }
        var address = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault(a => a.StartsWith("http://", StringComparison.Ordinal));
        if (address is null || !Uri.TryCreate(address.Replace("://+", "://127.0.0.1").Replace("://*", "://127.0.0.1").Replace("://0.0.0.0", "://127.0.0.1"), UriKind.Absolute, out var baseUri))
        {
            return;
        }
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        using var content = new StringContent("{\"message\":{\"type\":\"status-update\"}}", Encoding.UTF8, "application/json");
        try
        {
            using var response = await http.PostAsync(new Uri(baseUri, $"/webhooks/vapi/{Guid.NewGuid()}"), content, ct);
        }
        catch (HttpRequestException e)
        {
            logger.LogDebug(e, "HTTP warm-up request failed");
        }
    }

    /// <summary>The messages of a short call, in Vapi's shapes (shared/protocols/vapi-server-messages.md).</summary>
    private static IEnumerable<string> SyntheticCall(string callId, DateTimeOffset now)
    {
        var call = new Dictionary<string, object?>
        {
            ["id"] = callId,
            ["type"] = "inboundPhoneCall",
            ["phoneCallProviderId"] = "CA" + Guid.NewGuid().ToString("N"),
            ["customer"] = new { number = "+15145550199" },
            ["createdAt"] = now.ToString("O"),
        };
        object Message(Dictionary<string, object?> fields)
        {
            fields["call"] = call;
            fields["timestamp"] = now.ToUnixTimeMilliseconds();
            return new { message = fields };
        }
        var messages = new object[]
        {
            new { role = "bot", message = "Bonjour, ici Paul.", time = now.ToUnixTimeMilliseconds() },
            new { role = "user", message = "Mon robinet coule.", time = now.ToUnixTimeMilliseconds() + 2000 },
        };
        var lead = new { name = "Warm Up", phone = "+15145550199", address = "1 rue Test", problem = "Dripping faucet", urgency = "routine" };
        var toolCall = new { id = "call_warmup", type = "function", function = new { name = "capture_lead", arguments = lead } };
        yield return JsonSerializer.Serialize(Message(new() { ["type"] = "assistant-request" }));
        yield return JsonSerializer.Serialize(Message(new() { ["type"] = "status-update", ["status"] = "in-progress" }));
        yield return JsonSerializer.Serialize(Message(new() { ["type"] = "speech-update", ["status"] = "started", ["role"] = "user", ["turn"] = 1 }));
        yield return JsonSerializer.Serialize(Message(new() { ["type"] = "transcript", ["role"] = "user", ["transcriptType"] = "partial", ["transcript"] = "Mon robinet" }));
        yield return JsonSerializer.Serialize(Message(new() { ["type"] = "transcript", ["role"] = "user", ["transcriptType"] = "final", ["transcript"] = "Mon robinet coule." }));
        yield return JsonSerializer.Serialize(Message(new() { ["type"] = "conversation-update", ["messages"] = messages }));
        yield return JsonSerializer.Serialize(Message(new() { ["type"] = "tool-calls", ["toolCallList"] = new[] { toolCall }, ["toolCalls"] = new[] { toolCall } }));
        yield return JsonSerializer.Serialize(Message(new() { ["type"] = "status-update", ["status"] = "ended", ["endedReason"] = "customer-ended-call" }));
        yield return JsonSerializer.Serialize(Message(new()
        {
            ["type"] = "end-of-call-report",
            ["endedReason"] = "customer-ended-call",
            ["transcript"] = "AI: Bonjour, ici Paul.\nUser: Mon robinet coule.",
            ["summary"] = "Dripping faucet.",
            ["artifact"] = new { messages },
        }));
    }
}
