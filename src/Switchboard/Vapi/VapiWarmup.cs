using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Switchboard.Credentials;
using Switchboard.Platform;
using Switchboard.Platform.Database;
using Switchboard.Platform.Http;
using Switchboard.Platform.Observability;
using Switchboard.Tenancy;

namespace Switchboard.Vapi;

/// <summary>
/// Warms the webhook path before <c>/readyz</c> reports ready (<see cref="StartupReadiness"/>; issue 13: up to 4.8 s of
/// tail in the first seconds after a start). Migrations have run before the host starts (Program.cs). Then, once:
/// <list type="number">
/// <item>a synthetic call (assistant-request, status-update, transcript, conversation-update, tool-calls with an emergency
/// <c>capture_lead</c>, end-of-call-report) goes the webhook's way (<see cref="WarmPipelineAsync"/>) for a throwaway tenant
/// with an assistant, a webhook endpoint and on-call numbers, and is rolled back, so nothing is stored and nothing is sent
/// (the SMS, webhook deliveries and outbox rows it queues roll back with it); this compiles the EF Core queries and JITs
/// the processor, the tools, the alerts, the webhook fan-out and the post-call pipeline;</item>
/// <item>on PostgreSQL, in the same rolled-back transaction, the live events' publishing pool is opened and its publish
/// statement run (<see cref="Dashboard.PostgresLiveEventTransport.WarmUpAsync"/>);</item>
/// <item><see cref="ConnectionsOpened"/> database connections are opened at once and returned to their pool;</item>
/// <item>the credentials of up to <see cref="TenantsCached"/> tenants are loaded into <see cref="VapiTenantCache"/> in one query;</item>
/// <item>when the server listens on an address, one unsigned POST to <c>/webhooks/vapi/{random id}</c> (a 404) warms
/// Kestrel, routing and the endpoint, and one signed POST of a body that is not a Vapi message, for a tenant held only in
/// <see cref="VapiTenantCache"/> for the moment (a 422), warms the body read, the signature check and the rate limiter;</item>
/// <item>the synthetic call and the two requests again, round after round, until the JIT has recompiled what they run
/// (<see cref="WarmTieringAsync"/>, at most <see cref="VapiOptions.WarmUpTieringSeconds"/>); when the server listens on an
/// address, each round also sends <see cref="LiveCallsPerRound"/> real signed calls through the endpoint for a tenant of the
/// reserved range (<see cref="WarmUpTenant"/>), which the outbox worker then runs, and that tenant is erased with all its
/// calls stored before the node is ready (<see cref="WarmLiveRoundAsync"/>).</item>
/// </list>
/// Bounded by <see cref="VapiOptions.WarmUpTimeoutSeconds"/>; a failure is logged and the node becomes ready anyway (its
/// database check still stands). Off with <c>Switchboard:Vapi:WarmUpOnStart=false</c> (the test host's default).
/// </summary>
internal sealed class VapiWarmup(
    IServiceScopeFactory scopes, StartupReadiness readiness, IOptions<VapiOptions> options, VapiTenantCache tenants,
    IServer server, IHostApplicationLifetime lifetime, TimeProvider clock, ILogger<VapiWarmup> logger) : BackgroundService
{
    /// <summary>The HTTP client of <see cref="WarmHttpAsync"/>, shared by its rounds (created at the first, disposed at the warm-up's end).</summary>
    private HttpClient? warmUpHttp;

    /// <summary>The warm-up's client (one pooled connection for all its rounds), created at first use.</summary>
    private HttpClient WarmUpHttp => warmUpHttp ??= new HttpClient { Timeout = TimeSpan.FromSeconds(10) };

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
            await WarmConnectionsAsync(cts.Token);
            await tenants.WarmAsync(TenantsCached, cts.Token);
            await WarmHttpAsync(cts.Token);
            var firstPass = watch.ElapsedMilliseconds;
            // Within the warm-up's own limit, with a second to spare for the round running when the budget ends.
            var left = TimeSpan.FromSeconds(options.Value.WarmUpTimeoutSeconds - 1) - watch.Elapsed;
            var tiering = await WarmTieringAsync(TimeSpan.FromSeconds(Math.Min(options.Value.WarmUpTieringSeconds, Math.Max(0, left.TotalSeconds))), cts.Token);
            logger.LogInformation(
                "Webhook path warmed up in {Ms} ms: the first pass {FirstPassMs} ms, then {Rounds} rounds ({LiveMessages} messages of live calls answered) while the JIT recompiled {Methods} methods ({Ending})",
                watch.ElapsedMilliseconds, firstPass, tiering.Rounds, tiering.LiveMessages, tiering.MethodsCompiled,
                tiering.Settled ? "settled" : tiering.Rounds == 0 ? "no tiering rounds" : "stopped at the tiering limit");
        }
        catch (Exception e) when (!stoppingToken.IsCancellationRequested)
        {
            logger.LogWarning(e, "Warm-up failed after {Ms} ms; ready anyway", watch.ElapsedMilliseconds);
        }
        finally
        {
            warmUpHttp?.Dispose();
            warmUpHttp = null;
            readiness.MarkReady();
        }
    }

    /// <summary>
    /// Runs a synthetic call for a throwaway tenant set up like a working one (a default assistant, a webhook endpoint
    /// subscribed to every event, on-call numbers) the way <see cref="VapiWebhookApi"/> runs a delivery: the record-only
    /// statement where it applies, else the processor, the call-version check and one <c>SaveChanges</c>; the concurrent-call
    /// gate for <c>assistant-request</c>. On SQLite it is one unit of <see cref="SqliteGroupCommit"/> that throws at its end,
    /// so its savepoint is rolled back (the batch path, the savepoint statements and the listeners' rollback are the webhook's
    /// own); on PostgreSQL one transaction that is rolled back. Nothing is stored, nothing is sent, no live event leaves.
    /// </summary>
    /// <returns>What the call wrote before it was rolled back (tests check the warm-up still reaches every path).</returns>
    internal async Task<WarmUpReport> WarmPipelineAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var sp = scope.ServiceProvider;
        var db = sp.GetRequiredService<SwitchboardDbContext>();
        var tenantId = WarmUpTenant.NewId();
        // What the handlers log for the throwaway tenant (a refused delivery attempt, a simulated SMS) says it was the warm-up.
        using var logScope = logger.BeginScope("Start-up warm-up, tenant {WarmUpTenantId} (rolled back)", tenantId);
        SwitchboardMetrics.Muted.Value = true; // …and the metrics do not count them (ends with this method)
        sp.GetRequiredService<CurrentTenant>().Set(tenantId);
        db.Database.AutoSavepointsEnabled = false;
        try
        {
            if (db.Database.IsSqlite())
            {
                var report = default(WarmUpReport);
                try
                {
                    await sp.GetRequiredService<SqliteGroupCommit>().RunAsync<bool>(db, WritePriority.Low, async () =>
                    {
                        report = await SyntheticCallAsync(sp, db, tenantId, groupCommitted: true, ct);
                        throw new RolledBack();
                    }, ct);
                }
                catch (RolledBack)
                {
                }
                return report;
            }
            await using var tx = await db.Database.BeginTransactionAsync(ct);
            var written = await SyntheticCallAsync(sp, db, tenantId, groupCommitted: false, ct);
            // The live events' own pool and publish statement, in this transaction (the throwaway tenant exists only here).
            await sp.GetRequiredService<Dashboard.PostgresLiveEventTransport>().WarmUpAsync((Npgsql.NpgsqlConnection)db.Database.GetDbConnection(),
                Dashboard.LiveEventData.Draft(tenantId, Dashboard.LiveEventTypes.CallUpdated, new { warmUp = true }, null), ct);
            await tx.RollbackAsync(ct);
            return written;
        }
        finally
        {
            db.ChangeTracker.Clear();
            // Read inside the rolled-back work: never let another request see them.
            foreach (var cache in sp.GetServices<ITenantScopedCache>())
            {
                cache.Invalidate(tenantId);
            }
        }
    }

    /// <summary>
    /// Connections the first deliveries after a start would otherwise open themselves, while they wait: each is a TCP
    /// connection, a backend process and a start-up exchange on PostgreSQL (then kept by Npgsql's pool until idle for 300 s),
    /// and a native connection with its pragmas and functions on SQLite (then lent by <see cref="SqliteSessionPool"/>, which
    /// closes the ones no scope takes). SQLite 8: about what the first second of a 100 msg/s start held at once in bench/.
    /// PostgreSQL 32 (at most the pool's <c>Maximum Pool Size</c>): a start straight into 500 msg/s opened the rest in its
    /// first seconds, while the host was busiest: the p99 of those two seconds was 156 – 446 ms with 8 opened here, 39 – 154 ms
    /// with 32 (bench/results/stop46-2026-12-05.md §2).
    /// </summary>
    /// <param name="postgres">Whether the database is PostgreSQL.</param>
    /// <param name="maxPoolSize">PostgreSQL: the connection string's <c>Maximum Pool Size</c> (never more are opened).</param>
    internal static int ConnectionsOpened(bool postgres, int maxPoolSize = int.MaxValue) => postgres ? Math.Min(32, maxPoolSize) : 8;

    /// <summary>Opens <see cref="ConnectionsOpened"/> database connections at once, reads one row through each, and returns them to their pool.</summary>
    internal async Task WarmConnectionsAsync(CancellationToken ct)
    {
        var opened = new List<AsyncServiceScope> { scopes.CreateAsyncScope() };
        try
        {
            var first = opened[0].ServiceProvider.GetRequiredService<SwitchboardDbContext>().Database;
            var count = first.IsNpgsql()
                ? ConnectionsOpened(true, new Npgsql.NpgsqlConnectionStringBuilder(first.GetConnectionString()).MaxPoolSize)
                : ConnectionsOpened(false);
            while (opened.Count < count)
            {
                opened.Add(scopes.CreateAsyncScope());
            }
            await Task.WhenAll(opened.Select(async scope =>
            {
                var db = scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>();
                await db.Database.OpenConnectionAsync(ct);
                await db.Tenants.IgnoreQueryFilters().AnyAsync(ct);
            }));
        }
        finally
        {
            foreach (var scope in opened)
            {
                await scope.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// The JIT has settled when it compiled fewer methods than this in the last second of rounds (<see cref="WarmTieringAsync"/>).
    /// Measured on a 2-core machine: ~22,000 methods are compiled by the end of the first pass, and the rounds then have the
    /// runtime recompile 300 – 1,400 a second for 25 s and more (bench/results/quiet-stop36-2026-12-03.md).
    /// </summary>
    internal const int SettledMethodsPerSecond = 50;

    /// <summary>
    /// Runs the synthetic call (<see cref="WarmPipelineAsync"/>) and the HTTP requests again and again, for at most
    /// <paramref name="budget"/>, stopping sooner once the JIT has settled (<see cref="SettledMethodsPerSecond"/>).
    /// Why: the first pass compiles each method quickly and unoptimized (tier 0); the runtime recompiles a method optimized
    /// only after it has been called ~30 times, and with dynamic PGO first instruments it and recompiles it again ~30 calls
    /// later, one method at a time on a single background thread (learn.microsoft.com/dotnet/core/runtime-config/compilation,
    /// "Tiered compilation", "Profile-guided optimization"). Left to the first real messages, that recompilation shared the
    /// CPU with them: bench ingest at 500 msg/s right after ready, 3 ms of CPU per message in the first 10 s (1.45 ms after)
    /// and a p99 of 0.5 – 3.8 s; after these rounds (settled in 25 – 29 s, ~17,000 methods recompiled), 2 ms and 55 – 141 ms.
    /// Every round is rolled back, as the first pass is.
    /// </summary>
    /// <returns>The rounds run, the methods the JIT compiled meanwhile (this process, every thread), and whether it settled.</returns>
    internal async Task<TieringReport> WarmTieringAsync(TimeSpan budget, CancellationToken ct)
    {
        // Wall time, not the host's clock: what is measured is the runtime's own work.
        var start = Stopwatch.GetTimestamp();
        var compiledAtStart = System.Runtime.JitInfo.GetCompiledMethodCount();
        var (rounds, settled) = (0, false);
        var (windowStart, compiledAtWindow) = (start, compiledAtStart);
        var liveMessages = 0;
        LiveTenant? live = null;
        try
        {
            if (budget > TimeSpan.Zero)
            {
                live = await StartLiveAsync(ct);
            }
            while (Stopwatch.GetElapsedTime(start) < budget)
            {
                await WarmPipelineAsync(ct);
                await WarmHttpAsync(ct);
                if (live is not null)
                {
                    try
                    {
                        liveMessages += await WarmLiveRoundAsync(live, ct);
                    }
                    catch (Exception e) when (!ct.IsCancellationRequested)
                    {
                        // Unreachable (an address this host does not answer on, as in tests) or refused: the rolled-back rounds go on alone.
                        logger.Log(e is HttpRequestException ? LogLevel.Debug : LogLevel.Warning, e, "Live warm-up round failed; the warm-up goes on without them");
                        await EraseLiveAsync(live.TenantId, CancellationToken.None);
                        live = null;
                    }
                }
                rounds++;
                var window = Stopwatch.GetElapsedTime(windowStart);
                if (window >= TimeSpan.FromSeconds(1))
                {
                    var compiled = System.Runtime.JitInfo.GetCompiledMethodCount();
                    if ((compiled - compiledAtWindow) / window.TotalSeconds < SettledMethodsPerSecond)
                    {
                        settled = true;
                        break;
                    }
                    (windowStart, compiledAtWindow) = (Stopwatch.GetTimestamp(), compiled);
                }
            }
        }
        finally
        {
            if (live is not null)
            {
                await EraseLiveAsync(live.TenantId, CancellationToken.None);
            }
        }
        return new TieringReport(rounds, System.Runtime.JitInfo.GetCompiledMethodCount() - compiledAtStart, settled, liveMessages);
    }

    /// <summary>Calls of the live rounds run at once (each its messages in order), so their units share group commits as real traffic's do.</summary>
    internal const int LiveCallsPerRound = 4;

    /// <summary>Tests: the client of the live rounds when the host has no address (an in-memory test server), and its base address.</summary>
    internal (HttpClient Client, Uri BaseAddress)? LiveClient { get; set; }

    /// <summary>The tenant of the live rounds: its id (<see cref="WarmUpTenant"/>), its Vapi secret and signature header.</summary>
    internal sealed record LiveTenant(Guid TenantId, string Secret, string SignatureHeader, HttpClient Http, Uri BaseAddress);

    /// <summary>
    /// Starts the live rounds (<see cref="WarmLiveRoundAsync"/>), or returns null when the host has no HTTP address to call:
    /// erases what an earlier warm-up left (a process killed mid-way), then creates and commits a tenant in the reserved range
    /// (<see cref="WarmUpTenant"/>) with a default assistant, a webhook endpoint on a discard port and an on-call number,
    /// and no Twilio credentials, no users.
    /// </summary>
    internal async Task<LiveTenant?> StartLiveAsync(CancellationToken ct)
    {
        var target = LiveClient ?? (await ServerBaseAsync(ct) is { } baseUri ? (WarmUpHttp, baseUri) : null);
        if (target is not { } t)
        {
            return null;
        }
        await EraseLeftoversAsync(ct);
        var tenantId = WarmUpTenant.NewId();
        var secret = "warm-up-" + Guid.NewGuid().ToString("N");
        await using var scope = scopes.CreateAsyncScope();
        var sp = scope.ServiceProvider;
        sp.GetRequiredService<CurrentTenant>().Set(tenantId);
        var db = sp.GetRequiredService<SwitchboardDbContext>();
        var tenant = AddWarmUpTenant(db, sp.GetRequiredService<SecretProtector>(), tenantId, secret, clock.GetUtcNow());
        await db.SaveChangesAsync(ct);
        return new LiveTenant(tenantId, secret, tenant.VapiSignatureHeader, t.Client, t.BaseAddress);
    }

    /// <summary>
    /// One live round (issue 13): <see cref="LiveCallsPerRound"/> synthetic calls, signed, through this server's own
    /// <c>/webhooks/vapi/{tenant}</c>, so the first real messages find compiled and tiered what the rolled-back pass cannot
    /// reach: the endpoint's processing with its retries, the per-call ordering lock, the group commit's units and their live
    /// events, and then the outbox worker's claims, batch reads, handlers and results for the SMS and deliveries they queue.
    /// Without these, ~650 methods were first compiled and ~3,500 recompiled in the first seconds of real load
    /// (bench/results/stop38-2026-12-04.md). Returns the messages answered; throws on any other answer than 2xx.
    /// </summary>
    internal async Task<int> WarmLiveRoundAsync(LiveTenant live, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var url = new Uri(live.BaseAddress, $"/webhooks/vapi/{live.TenantId}");
        var answered = 0;
        await Task.WhenAll(Enumerable.Range(0, LiveCallsPerRound).Select(async i =>
        {
            // Every other call a routine lead: its alert is scheduled by the business hours, not sent at once.
            foreach (var body in SyntheticCall(Guid.NewGuid().ToString(), now, emergency: i % 2 == 0))
            {
                var bytes = Encoding.UTF8.GetBytes(body);
                using var content = new ByteArrayContent(bytes);
                content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
                content.Headers.Add(live.SignatureHeader, Signature(live.Secret, bytes));
                using var response = await live.Http.PostAsync(url, content, ct);
                if (!response.IsSuccessStatusCode)
                {
                    throw new InvalidOperationException($"A live warm-up message was answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(ct)}");
                }
                Interlocked.Increment(ref answered);
            }
        }));
        return answered;
    }

    /// <summary>Longest <see cref="EraseLiveAsync"/> waits for the outbox to finish the tenant's messages in flight.</summary>
    internal static readonly TimeSpan LiveOutboxWait = TimeSpan.FromSeconds(5);

    /// <summary>Attempts of the erasure itself when PostgreSQL aborts it to break a deadlock (<see cref="VapiWebhookApi.Replayable"/>).</summary>
    private const int EraseAttempts = 3;

    /// <summary>
    /// Erases a live-round tenant and everything its calls left (<see cref="Compliance.ErasureService.EraseTenantAsync"/>: the
    /// cascade, the analytics rollup, the audit log) and drops it from this node's caches. First its outbox rows that no worker
    /// holds are deleted, again every 50 ms, until none is left (at most <see cref="LiveOutboxWait"/>): the worker claims no
    /// more of them, and no handler is cut off mid-way. Waiting only for the leased rows to be released was not enough: on
    /// PostgreSQL, where the live rounds queue deliveries faster than a cold node sends them, the worker kept claiming the
    /// tenant's pending rows, and saving their results deadlocked with the erasure's cascade (bench ingest, 2026-12-04: the
    /// tenant was left with ~2,800 pending rows, delivered after ready). A deadlock is retried (<see cref="EraseAttempts"/>).
    /// Failures are logged; the next start erases what is left.
    /// </summary>
    internal async Task EraseLiveAsync(Guid tenantId, CancellationToken ct)
    {
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var sp = scope.ServiceProvider;
            sp.GetRequiredService<CurrentTenant>().Set(tenantId);
            var db = sp.GetRequiredService<SwitchboardDbContext>();
            var gate = sp.GetRequiredService<SqliteWriteGate>();
            var waited = Stopwatch.StartNew();
            while (true)
            {
                // A claim leases rows by setting LockedBy (PostgreSQL: FOR UPDATE SKIP LOCKED, so a row this DELETE holds is
                // skipped, and one a claim holds is rechecked here once it commits, and left to its handler).
                using (await gate.EnterAsync(db, WritePriority.Low, ct))
                {
                    await db.Outbox.IgnoreQueryFilters().Where(o => o.TenantId == tenantId && o.LockedBy == null).ExecuteDeleteAsync(ct);
                }
                if (waited.Elapsed >= LiveOutboxWait || !await db.Outbox.IgnoreQueryFilters().AnyAsync(o => o.TenantId == tenantId, ct))
                {
                    break;
                }
                await Task.Delay(50, ct);
            }
            var erasure = sp.GetRequiredService<Compliance.ErasureService>();
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await erasure.EraseTenantAsync(tenantId, ct);
                    break;
                }
                catch (Exception e) when (attempt < EraseAttempts && VapiWebhookApi.Replayable(e))
                {
                    db.ChangeTracker.Clear();
                    await Task.Delay(attempt * 20, ct);
                }
            }
            sp.GetRequiredService<Compliance.TenantCaches>().Invalidate(tenantId);
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            logger.LogWarning(e, "The warm-up's tenant {TenantId} could not be erased; the next start erases it", tenantId);
        }
    }

    /// <summary>
    /// Age past which a tenant in <see cref="WarmUpTenant"/>'s range is a leftover: no warm-up lasts longer
    /// (<see cref="VapiOptions.WarmUpTimeoutSeconds"/> is at most 600 s), so a younger one may be another node's, starting now.
    /// </summary>
    internal static readonly TimeSpan LeftoverAge = TimeSpan.FromMinutes(15);

    /// <summary>Erases the tenants of earlier warm-ups (ids in <see cref="WarmUpTenant"/>'s range, older than <see cref="LeftoverAge"/>) still in the database.</summary>
    private async Task EraseLeftoversAsync(CancellationToken ct)
    {
        List<Guid> ids;
        await using (var scope = scopes.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>();
            var before = clock.GetUtcNow() - LeftoverAge;
            ids = (await db.Tenants.IgnoreQueryFilters().AsNoTracking().Select(t => new { t.Id, t.CreatedAt }).ToListAsync(ct))
                .Where(t => WarmUpTenant.Is(t.Id) && t.CreatedAt < before).Select(t => t.Id).ToList();
        }
        foreach (var id in ids)
        {
            logger.LogInformation("Erasing the tenant {TenantId} an earlier warm-up left", id);
            await EraseLiveAsync(id, ct);
        }
    }

    /// <summary>What <see cref="WarmTieringAsync"/> did.</summary>
    /// <param name="Rounds">Synthetic calls (each with its two HTTP requests) run.</param>
    /// <param name="MethodsCompiled">Methods the JIT compiled in the process meanwhile.</param>
    /// <param name="Settled">True when it stopped because the JIT had settled, false at the end of its budget.</param>
    /// <param name="LiveMessages">Messages of the live rounds' calls answered (0 without an address to call).</param>
    internal readonly record struct TieringReport(int Rounds, long MethodsCompiled, bool Settled, int LiveMessages);

    /// <summary>Thrown at the end of the warm-up's group-commit unit so that its savepoint is rolled back.</summary>
    private sealed class RolledBack() : Exception("warm-up rolled back");

    /// <summary>What <see cref="WarmPipelineAsync"/> wrote before rolling it back.</summary>
    /// <param name="Messages">Messages processed.</param>
    /// <param name="RecordedOnly">Of which stored by the record-only statement.</param>
    /// <param name="OutboxHandled">Outbox rows the SMS and webhook-delivery handlers ran for.</param>
    /// <param name="Leads">Leads created.</param>
    /// <param name="Sms">SMS alerts queued.</param>
    /// <param name="WebhookDeliveries">Webhook deliveries queued.</param>
    internal readonly record struct WarmUpReport(int Messages, int RecordedOnly, int OutboxHandled, int Leads, int Sms, int WebhookDeliveries);

    private async Task<WarmUpReport> SyntheticCallAsync(IServiceProvider sp, SwitchboardDbContext db, Guid tenantId, bool groupCommitted, CancellationToken ct)
    {
        var processor = sp.GetRequiredService<VapiEventProcessor>();
        var configs = sp.GetRequiredService<TenantConfigCache>();
        var protector = sp.GetRequiredService<SecretProtector>();
        var secret = "warm-up-" + Guid.NewGuid().ToString("N");
        var now = clock.GetUtcNow();
        AddWarmUpTenant(db, protector, tenantId, secret, now);
        await db.SaveChangesAsync(ct);
        db.ChangeTracker.Clear();
        var tenant = (await configs.GetAsync(db, tenantId, ct)).Tenant;

        var gate = sp.GetRequiredService<Billing.CallConcurrencyGate>();
        int messages = 0, recordedOnly = 0;
        foreach (var body in SyntheticCall(Guid.NewGuid().ToString(), now))
        {
            var bytes = Encoding.UTF8.GetBytes(body);
            var signature = Signature(secret, bytes);
            if (VapiSignatureVerifier.Verify(name => name == tenant.VapiSignatureHeader ? signature : null, bytes, secret,
                    tenant.VapiSignatureHeader, tenant.VapiTimestampHeader, now, TimeSpan.FromMinutes(5)) != VapiAuthResult.Valid)
            {
                throw new InvalidOperationException("The warm-up's own signature did not verify.");
            }
            _ = TolerantJson.Sanitize(bytes, VapiWebhookApi.MaxDepth, out var unusable);
            using var document = JsonDocument.Parse(bytes, new JsonDocumentOptions { MaxDepth = VapiWebhookApi.MaxDepth });
            var message = document.RootElement.GetProperty("message");
            var type = message.GetProperty("type").GetString()!;
            unusable.AddRange(VapiFieldRules.UnusableFields(message));
            var key = VapiEventProcessor.KeyOf(bytes);
            messages++;
            if (type == "assistant-request")
            {
                await gate.CanStartAsync(tenantId, ct);
            }
            db.ResetUnitOfWork();
            if (VapiRecordOnly.Applies(message, type)
                && await VapiRecordOnly.TryRecordAsync(db, null, tenantId, message, type, body, key, unusable, now, ct))
            {
                recordedOnly++;
                continue;
            }
            var config = await configs.GetAsync(db, tenantId, ct);
            await processor.ProcessAsync(config, message, type, body, key, unusable, ct);
            if (groupCommitted && !await db.CallVersionsUnchangedAsync(db.CallVersionsRead()))
            {
                throw new InvalidOperationException("The warm-up's call changed under it.");
            }
            await db.SaveChangesAsync(ct);
            db.ChangeTracker.Clear(); // each delivery starts from fresh state, as in VapiWebhookApi
        }

        // The outbox handlers of what the call queued, on the same rolled-back work: the on-call SMS is recorded as simulated
        // (the tenant has no Twilio credentials), and the first webhook deliveries are attempted against an endpoint on
        // 127.0.0.1:9 (refused by the URL policy where private addresses are not allowed, refused by the host otherwise):
        // the delivery's load, signing, send and attempt bookkeeping. Other kinds (post-call work, provider syncs) could
        // call out, so they are left.
        var handled = 0;
        var deliveriesTried = 0;
        foreach (var row in await db.Outbox.IgnoreQueryFilters().Where(o => o.TenantId == tenantId).OrderBy(o => o.Id).ToListAsync(ct))
        {
            if (row.Kind is not (Alerts.SmsSendHandler.Kind or Webhooks.WebhookDeliveryHandler.Kind)
                || (row.Kind == Webhooks.WebhookDeliveryHandler.Kind && ++deliveriesTried > 2)
                || sp.GetKeyedService<Outbox.IOutboxHandler>(row.Kind) is not { } handler)
            {
                continue;
            }
            await handler.HandleAsync(row, ct);
            await db.SaveChangesAsync(ct);
            handled++;
        }
        return new WarmUpReport(
            messages,
            recordedOnly,
            handled,
            await db.Leads.IgnoreQueryFilters().CountAsync(l => l.TenantId == tenantId, ct),
            await db.SmsMessages.IgnoreQueryFilters().CountAsync(s => s.TenantId == tenantId, ct),
            await db.WebhookDeliveries.IgnoreQueryFilters().CountAsync(d => d.TenantId == tenantId, ct));
    }

    /// <summary>
    /// The warm-up's tenant, set up like a working one: a default assistant, a webhook endpoint subscribed to every event on
    /// 127.0.0.1's discard port (nothing is ever delivered), an on-call number, no Twilio credentials (its SMS are recorded as
    /// simulated), no users. Added to <paramref name="db"/>, not saved; returns the tenant.
    /// </summary>
    private static Tenant AddWarmUpTenant(SwitchboardDbContext db, SecretProtector protector, Guid tenantId, string secret, DateTimeOffset now)
    {
        var tenant = new Tenant
        {
            Id = tenantId,
            Name = "start-up warm-up",
            TimeZone = "America/Toronto",
            Locale = "fr-CA",
            VapiWebhookSecretProtected = protector.Protect(secret),
            AlertPolicy = new AlertPolicy { OnCallNumbers = ["+15145550100"] },
            CreatedAt = now,
        };
        db.Tenants.Add(tenant);
        db.Assistants.Add(new Assistants.Assistant
        {
            Id = Guid.CreateVersion7(),
            TenantId = tenantId,
            Name = "Warm-up",
            Provider = "vapi",
            IsDefault = true,
            CreatedAt = now,
        });
        db.WebhookEndpoints.Add(new Webhooks.WebhookEndpoint
        {
            Id = Guid.CreateVersion7(),
            TenantId = tenantId,
            Url = "https://127.0.0.1:9/warm-up", // discard port: nothing is ever delivered
            SecretProtected = protector.Protect("whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(24))),
            CreatedAt = now,
            UpdatedAt = now,
        });
        return tenant;
    }

    /// <summary>This server's own http:// address once it listens, with 127.0.0.1 for a wildcard host; null when it has none (tests).</summary>
    private async Task<Uri?> ServerBaseAsync(CancellationToken ct)
    {
        if (!lifetime.ApplicationStarted.IsCancellationRequested)
        {
            var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            await using var registration = lifetime.ApplicationStarted.Register(() => started.TrySetResult());
            await started.Task.WaitAsync(ct);
        }
        var address = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault(a => a.StartsWith("http://", StringComparison.Ordinal));
        return address is not null && Uri.TryCreate(address.Replace("://+", "://127.0.0.1").Replace("://*", "://127.0.0.1").Replace("://0.0.0.0", "://127.0.0.1"), UriKind.Absolute, out var baseUri)
            ? baseUri
            : null;
    }

    /// <summary>One unsigned POST to a tenant that does not exist, through the real server (skipped when it has no address, as in tests).</summary>
    private async Task WarmHttpAsync(CancellationToken ct)
    {
        if (await ServerBaseAsync(ct) is not { } baseUri)
        {
            return;
        }
        var http = WarmUpHttp;
        using var content = new StringContent("{\"message\":{\"type\":\"status-update\"}}", Encoding.UTF8, "application/json");
        // A signed delivery whose body is not a Vapi message, for a tenant known only to this node's credential cache: the
        // request runs the signature check, the rate limiter and the JSON parse, and is answered 422 before anything is read
        // from or written to the database.
        var id = Guid.CreateVersion7();
        var secret = "warm-up-" + Guid.NewGuid().ToString("N");
        var body = "{\"message\":{}}"u8.ToArray();
        using var signed = new ByteArrayContent(body);
        signed.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        signed.Headers.Add("x-vapi-signature", Signature(secret, body));
        tenants.Remember(new VapiTenantAuth(id, secret, "x-vapi-signature", null), TimeSpan.FromSeconds(30));
        try
        {
            using var response = await http.PostAsync(new Uri(baseUri, $"/webhooks/vapi/{Guid.NewGuid()}"), content, ct);
            using var invalid = await http.PostAsync(new Uri(baseUri, $"/webhooks/vapi/{id}"), signed, ct);
        }
        catch (HttpRequestException e)
        {
            logger.LogDebug(e, "HTTP warm-up request failed");
        }
        finally
        {
            tenants.Invalidate(id);
        }
    }

    /// <summary>Vapi's HMAC form: lowercase hex of HMAC-SHA256 of the body under the secret (vapi-server-messages.md §7).</summary>
    private static string Signature(string secret, byte[] body) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));

    /// <summary>The messages of a short call, in Vapi's shapes (shared/protocols/vapi-server-messages.md).</summary>
    private static IEnumerable<string> SyntheticCall(string callId, DateTimeOffset now, bool emergency = true)
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
        var lead = emergency
            ? new { name = "Warm Up", phone = "+15145550199", address = "1 rue Test", problem = "Burst pipe, basement flooding", urgency = "emergency" }
            : new { name = "Warm Up", phone = "+15145550199", address = "1 rue Test", problem = "Dripping kitchen faucet", urgency = "routine" };
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
