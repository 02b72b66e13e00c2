using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Outbox;
using Switchboard.Platform.Cluster;
using Switchboard.Tests.Dashboard;
using Switchboard.Tests.Realtime;
using Switchboard.Tests.Support;
using Switchboard.Tests.Webhooks;
using Switchboard.Twilio;
using Switchboard.Webhooks;
using Xunit.Abstractions;

namespace Switchboard.Tests.Platform;

/// <summary>
/// Two hosts on one database as two nodes of one installation: what one node protects (session cookies, stored
/// secrets, media-stream tokens) the other reads, through the key ring in the database; a stream token opens one
/// stream, once, whichever node it reaches; and the key ring in the database is encrypted with the master key.
/// </summary>
[Trait("Category", "Database")]
public sealed class SharedKeyRingTests
{
    [Fact]
    public async Task ASessionCookieFromNodeAWorksOnNodeB()
    {
        using var a = new SelfServiceFactory();
        _ = a.Services; // node A migrates first
        using var b = new SelfServiceFactory { Twin = a };

        var (cookie, csrf, email) = await SignUpWithoutCookieJarAsync(a);
        using var onB = b.CreateClient(new WebApplicationFactoryClientOptions { BaseAddress = new Uri("https://localhost"), HandleCookies = false });
        onB.DefaultRequestHeaders.Add("Cookie", cookie);
        onB.DefaultRequestHeaders.Add("X-CSRF-Token", csrf);

        var onNodeB = await (await onB.GetAsync("/api/v1/auth/session")).JsonAsync(HttpStatusCode.OK);
        Assert.Equal(email, onNodeB["user"]!["email"]!.GetValue<string>());
        using var forged = b.CreateClient(new WebApplicationFactoryClientOptions { BaseAddress = new Uri("https://localhost"), HandleCookies = false });
        var session = cookie.Split("; ").Select(c => c.Split('=', 2)).Single(c => !c[0].Contains("csrf", StringComparison.OrdinalIgnoreCase));
        forged.DefaultRequestHeaders.Add("Cookie", $"{session[0]}={session[1][..^4]}AAAA");
        Assert.Equal(HttpStatusCode.Unauthorized, (await forged.GetAsync("/api/v1/auth/session")).StatusCode);
    }

    [Fact]
    public async Task ASecretStoredThroughNodeAIsUsableOnNodeB()
    {
        using var a = new SwitchboardFactory();
        _ = a.Services;
        using var b = new SwitchboardFactory { Twin = a };
        var tenant = await a.CreateTenantAsync(); // its Vapi webhook secret is protected by node A

        var response = await b.PostVapiAsync(tenant, LiveEventsTests.StatusUpdate("call-" + Guid.NewGuid(), "in-progress"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode); // node B decrypted the secret and verified the signature with it
    }

    [Fact]
    public async Task AStreamTokenMintedByNodeAIsAcceptedOnceClusterWide()
    {
        using var a = new VoiceFactory();
        _ = a.Services;
        using var b = new VoiceFactory { Twin = a };
        var tenant = await a.CreateTenantAsync(withTwilio: true);
        var call = await a.WithDbAsync(tenant.Id, async db =>
        {
            var c = new global::Switchboard.Calls.Call
            {
                Id = Guid.CreateVersion7(),
                TenantId = tenant.Id,
                Channel = "voice",
                Provider = "twilio",
                ProviderCallId = "CA-cluster",
                CallSid = "CA-cluster",
                CreatedAt = a.Clock.GetUtcNow(),
                UpdatedAt = a.Clock.GetUtcNow(),
            };
            db.Calls.Add(c);
            await db.SaveChangesAsync();
            return c;
        });
        var token = a.Services.GetRequiredService<MediaStreamTokens>().Issue(tenant.Id, call.Id, "CA-cluster", null, "fr-CA");

        var first = await UpgradeAsync(b, token);
        Assert.Equal(HttpStatusCode.SwitchingProtocols, first.Status);
        first.Socket!.Abort();
        first.Socket.Dispose();

        Assert.Equal(HttpStatusCode.Conflict, (await UpgradeAsync(a, token)).Status); // replay on the other node
        Assert.Equal(HttpStatusCode.Conflict, (await UpgradeAsync(b, token)).Status); // and on the same one
        Assert.Equal(1, await a.WithDbAsync(null, db => db.StreamTokenUses.CountAsync()));
    }

    [Fact]
    public async Task TheKeyRingInTheDatabaseRevealsNoKeyWithoutTheMasterKey()
    {
        using var a = new SwitchboardFactory();
        await a.CreateTenantAsync(); // protects a secret: the ring gets its first key

        var rows = await a.WithDbAsync(null, db => db.DataProtectionKeys.AsNoTracking().ToListAsync());

        var key = XElement.Parse(Assert.Single(rows).Xml!);
        Assert.Empty(key.Descendants("masterKey")); // the secret is not in the clear…
        var wrapped = Assert.Single(key.Descendants(MasterKeyXmlEncryptor.ElementName)); // …but encrypted with the master key
        Assert.Equal(MasterKeys.IdOf(a.Services.GetRequiredService<MasterKeys>().Current), (string?)wrapped.Attribute("masterKeyId"));
        var otherNode = MasterKeys.From(RandomNumberGenerator.GetBytes(32));
        var decryptor = new MasterKeyXmlDecryptor(new ServiceCollection().AddSingleton(otherNode).BuildServiceProvider());
        Assert.ThrowsAny<CryptographicException>(() => decryptor.Decrypt(wrapped));
    }

    [Fact]
    public async Task AnOldFileKeyRingIsImportedEncryptedOnFirstStart()
    {
        var keys = Path.Combine(Path.GetTempPath(), "switchboard-keys-" + Guid.NewGuid().ToString("N"));
        using var database = new TestDatabase();
        try
        {
            // As an installation before the shared ring: keys in data/keys, in the clear, protecting a tenant's secret.
            var old = DataProtectionProvider.Create(new DirectoryInfo(keys), o => o.SetApplicationName("switchboard-tests"));
            var stored = old.CreateProtector("Switchboard.Credentials.v1").Protect("sk-live-plombier");
            var oldKeyId = (string)XElement.Load(Directory.GetFiles(keys, "key-*.xml").Single()).Attribute("id")!;

            using var host = new SwitchboardFactory(database, keys);
            var read = host.Services.GetRequiredService<IDataProtectionProvider>().CreateProtector("Switchboard.Credentials.v1").Unprotect(stored);

            Assert.Equal("sk-live-plombier", read);
            var rows = await host.WithDbAsync(null, db => db.DataProtectionKeys.AsNoTracking().ToListAsync());
            var imported = XElement.Parse(Assert.Single(rows, r => r.FriendlyName == "key-" + oldKeyId).Xml!);
            Assert.Empty(imported.Descendants("masterKey"));
            Assert.Single(imported.Descendants(MasterKeyXmlEncryptor.ElementName));
        }
        finally
        {
            try { Directory.Delete(keys, true); } catch (IOException) { }
        }
    }

    internal static async Task<(string Cookie, string Csrf, string Email)> SignUpWithoutCookieJarAsync(SelfServiceFactory node)
    {
        using var client = node.CreateClient(new WebApplicationFactoryClientOptions { BaseAddress = new Uri("https://localhost"), HandleCookies = false });
        var email = $"owner-{Guid.NewGuid():N}@example.test";
        var response = await client.PostAsJsonAsync("/api/v1/auth/signup",
            new { email, password = "correct horse battery", organisation = "Plomberie Deux Nœuds", fullName = "Test Owner" });
        var body = await response.JsonAsync(HttpStatusCode.Created);
        var cookie = string.Join("; ", response.Headers.GetValues("Set-Cookie").Select(c => c.Split(';')[0]));
        return (cookie, body["csrfToken"]!.GetValue<string>(), email);
    }

    private static async Task<(HttpStatusCode Status, ClientWebSocket? Socket)> UpgradeAsync(VoiceFactory node, string token)
    {
        var url = $"ws://{node.ServerUri.Authority}/media/twilio/{token}";
        var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        socket.Options.SetRequestHeader("X-Twilio-Signature", TwilioRequestValidator.ComputeSignature(url, null, TwilioSimulator.AuthToken));
        try
        {
            await socket.ConnectAsync(new Uri(url), CancellationToken.None);
            return (HttpStatusCode.SwitchingProtocols, socket);
        }
        catch (WebSocketException)
        {
            var status = socket.HttpStatusCode;
            socket.Dispose();
            return (status, null);
        }
    }
}

/// <summary>
/// Two hosts on one database: a tenant erased through node A while node B still holds it in its caches (Vapi credentials for
/// 30 s, configuration for 5 s).
/// </summary>
[Trait("Category", "Database")]
public sealed class ErasureAcrossNodesTests
{
    /// <summary>
    /// Probe 10: node B answered 500 (a foreign key violation on the erased tenant's row, then a failed configuration read)
    /// to every Vapi message for the erased tenant until its credentials cache expired, and Vapi retried them all.
    /// </summary>
    [Fact]
    public async Task AMessageForATenantErasedOnNodeAIsRefusedOnNodeBAsForAnUnknownTenant()
    {
        using var a = new SwitchboardFactory();
        _ = a.Services;
        using var b = new SwitchboardFactory { Twin = a };
        var tenant = await a.CreateTenantAsync();
        var vapiCall = "call-" + Guid.NewGuid();
        Assert.Equal(HttpStatusCode.OK, (await b.PostVapiAsync(tenant, LiveEventsTests.StatusUpdate(vapiCall, "ringing"))).StatusCode); // B caches the tenant

        // What the erasure does to the rows (ErasureService.EraseTenantAsync): the tenant's, and through the cascade all it owned.
        await a.WithDbAsync(null, db => db.Tenants.Where(t => t.Id == tenant.Id).ExecuteDeleteAsync());

        foreach (var body in new[] { LiveEventsTests.Transcript(vapiCall, "Mon sous-sol est inondé."), LiveEventsTests.StatusUpdate("call-" + Guid.NewGuid(), "ringing") })
        {
            var response = await b.PostVapiAsync(tenant, body);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal("INVALID_SIGNATURE", await response.ErrorCodeAsync());
        }
        Assert.Equal(0, await a.WithDbAsync(null, db => db.Calls.IgnoreQueryFilters().CountAsync(c => c.TenantId == tenant.Id)));
        Assert.Equal(0, await a.WithDbAsync(null, db => db.CallEvents.IgnoreQueryFilters().CountAsync(e => e.TenantId == tenant.Id)));
    }
}

/// <summary>
/// Three hosts on one database. On PostgreSQL the per-tenant webhook and API rate limits and the per-endpoint webhook
/// concurrency bound hold across the three (within 10 % of the configured limit); on SQLite (one node by design) each
/// host counts for itself.
/// </summary>
[Trait("Category", "Database")]
public sealed class ClusterLimitsTests(ITestOutputHelper output)
{
    private const int Limit = 20;

    private sealed class LimitedFactory : SelfServiceFactory
    {
        protected override IDictionary<string, string?> MoreSettings => new Dictionary<string, string?>
        {
            ["Switchboard:Vapi:RateLimitPerMinute"] = Limit.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Switchboard:Vapi:RateLimitPerLinePerMinute"] = "0",
            ["Switchboard:Billing:Plans:free:RequestsPerMinute"] = Limit.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Switchboard:Billing:Plans:free:RequestsPerMinutePerKey"] = Limit.ToString(System.Globalization.CultureInfo.InvariantCulture),
            // A dashboard session has a window of its own (ApiGuardMiddleware): sized like the others here, so the session
            // test below measures the same cluster-wide window.
            ["Switchboard:Accounts:SessionRequestsPerMinute"] = Limit.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Switchboard:Webhooks:TimeoutSeconds"] = "15",
        };
    }

    private static (LimitedFactory A, LimitedFactory B, LimitedFactory C) ThreeNodes()
    {
        var a = new LimitedFactory();
        _ = a.Services;
        return (a, new LimitedFactory { Twin = a }, new LimitedFactory { Twin = a });
    }

    [Fact]
    public async Task TheWebhookRateLimitHoldsAcrossThreeNodes()
    {
        var (a, b, c) = ThreeNodes();
        using var _a = a; using var _b = b; using var _c = c;
        var tenant = await a.CreateTenantAsync();
        LimitedFactory[] nodes = [a, b, c];

        var statuses = await Task.WhenAll(Enumerable.Range(0, 3 * Limit).Select(i =>
            nodes[i % 3].PostVapiAsync(tenant, LiveEventsTests.Transcript($"call-{i}", "Allô?")).ContinueWith(t => t.Result.StatusCode)));

        var accepted = statuses.Count(s => s == HttpStatusCode.OK);
        Assert.Equal(3 * Limit, accepted + statuses.Count(s => s == HttpStatusCode.TooManyRequests));
        if (TestDatabase.IsPostgres)
        {
            Assert.InRange(accepted, Limit * 9 / 10, Limit * 11 / 10);
        }
        else
        {
            Assert.Equal(3 * Limit, accepted); // per node: each of the three takes its own 20
        }
    }

    [Fact]
    public async Task TheApiRateLimitHoldsAcrossThreeNodes()
    {
        var (a, b, c) = ThreeNodes();
        using var _a = a; using var _b = b; using var _c = c;
        var (cookie, _, _) = await SharedKeyRingTests.SignUpWithoutCookieJarAsync(a);
        var clients = new[] { a, b, c }.Select(n =>
        {
            var client = n.CreateClient(new WebApplicationFactoryClientOptions { BaseAddress = new Uri("https://localhost"), HandleCookies = false });
            client.DefaultRequestHeaders.Add("Cookie", cookie);
            return client;
        }).ToArray();

        var statuses = await Task.WhenAll(Enumerable.Range(0, 3 * Limit).Select(i =>
            clients[i % 3].GetAsync("/api/v1/auth/session").ContinueWith(t => t.Result.StatusCode)));

        var accepted = statuses.Count(s => s == HttpStatusCode.OK);
        var refused = statuses.Count(s => s == HttpStatusCode.TooManyRequests);
        Assert.True(accepted + refused == 3 * Limit, string.Join(",", statuses.Distinct()));
        if (TestDatabase.IsPostgres)
        {
            Assert.InRange(accepted, Limit * 9 / 10, Limit * 11 / 10);
        }
        else
        {
            Assert.Equal(3 * Limit, accepted); // per node
        }
    }

    [Fact]
    public async Task TheWebhookConcurrencyBoundHoldsAcrossThreeNodes()
    {
        var (a, b, c) = ThreeNodes();
        using var _a = a; using var _b = b; using var _c = c;
        await using var slow = await WebhookReceiver.StartAsync();
        slow.Hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var tenant = await a.CreateTenantAsync("Slow Co");
        await a.CreateEndpointAsync(tenant, slow.Url);
        for (var i = 0; i < 12; i++)
        {
            await a.PublishAsync(tenant.Id, WebhookEventTypes.LeadCreated, $"cluster-{i}", WebhookTestExtensions.Lead(i));
        }

        var passes = new[] { a, b, c }.Select(n => n.Outbox.ProcessDueAsync(CancellationToken.None)).ToArray();
        // Every delivery is either at the receiver (held) or deferred by its node: no row is due and unclaimed.
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < deadline && await a.WithDbAsync(null, db => db.Outbox.CountAsync(o =>
                   o.Status == OutboxStatus.Pending && o.NextAttemptAt <= a.Clock.GetUtcNow() && (o.LockedUntil == null || o.LockedUntil < a.Clock.GetUtcNow()))) > 0)
        {
            await Task.Delay(20);
        }
        var bound = a.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<WebhookOptions>>().Value.MaxConcurrencyPerEndpoint;
        while (DateTime.UtcNow < deadline && slow.InFlight < bound)
        {
            await Task.Delay(20); // the slots' holders may still be connecting to the receiver
        }
        var heldTogether = slow.InFlight;
        slow.Hold.TrySetResult();
        await Task.WhenAll(passes);

        output.WriteLine($"held together: {heldTogether}, max in flight: {slow.MaxInFlight}, bound: {bound}");
        if (TestDatabase.IsPostgres)
        {
            Assert.Equal(bound, heldTogether);
            Assert.Equal(bound, slow.MaxInFlight);
            // Every slot released: each node keeps its rows idle for its next delivery at most ClusterConcurrency.IdleLinger.
            Assert.Equal(0, await LeasesAfterLingerAsync(a, null));
        }
        else
        {
            Assert.InRange(slow.MaxInFlight, bound, 3 * bound);
        }
    }

    [Fact]
    public async Task ConcurrentRequestsShareCountingStatementsAndTheLimitStaysExact()
    {
        using var node = new SwitchboardFactory();
        var limiter = node.Services.GetRequiredService<ClusterRateLimiter>();
        await limiter.TryAcquireAsync("warm-up", 1000, CancellationToken.None);
        var before = limiter.Statements;

        // 300 requests at once over three keys with limits 50, 100 and 1000: each key grants exactly its limit (or all).
        (string Key, int Limit)[] keys = [("exact:a", 50), ("exact:b", 100), ("exact:c", 1000)];
        var decisions = await Task.WhenAll(Enumerable.Range(0, 300).Select(i => Task.Run(async () =>
        {
            var (key, limit) = keys[i % 3];
            return (key, (await limiter.TryAcquireAsync(key, limit, CancellationToken.None)).Acquired);
        })));

        Assert.Equal(50, decisions.Count(d => d.key == "exact:a" && d.Acquired));
        Assert.Equal(100, decisions.Count(d => d.key == "exact:b" && d.Acquired));
        Assert.Equal(100, decisions.Count(d => d.key == "exact:c" && d.Acquired));
        var sent = limiter.Statements - before;
        output.WriteLine($"300 concurrent permits: {sent} counting statements");
        if (TestDatabase.IsPostgres)
        {
            // Every request counted once, refused ones included: the rows hold what 300 single increments would.
            var counts = await node.WithDbAsync(null, db => db.RateLimitCounters.Where(c => c.Key.StartsWith("exact:"))
                .ToDictionaryAsync(c => c.Key, c => c.Count));
            Assert.Equal(100, counts["exact:a"]);
            Assert.Equal(100, counts["exact:b"]);
            Assert.Equal(100, counts["exact:c"]);
            Assert.InRange(sent, 1, 299); // requests that arrive while a statement is in flight are counted together
        }
        else
        {
            Assert.Equal(0, sent); // one node: in memory
        }
    }

    [Fact]
    public async Task ANodeHoldingEverySlotWaitsOnItsOwnReleasesWithoutAskingTheDatabase()
    {
        using var node = new SwitchboardFactory();
        var concurrency = node.Services.GetRequiredService<ClusterConcurrency>();
        const string key = "gate-test";
        var ttl = TimeSpan.FromMinutes(1);
        var start = concurrency.Statements;
        // Three takes at once: each starts at a slot no other take of this node is taking, so none collides and looks again.
        var held = (await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => Task.Run(async () =>
            await concurrency.TryEnterAsync(key, 3, ttl, CancellationToken.None))))).ToList();
        Assert.All(held, Assert.NotNull);
        var before = concurrency.Statements;
        Assert.Equal(TestDatabase.IsPostgres ? 3 : 0, before - start);

        Assert.Null(await concurrency.TryEnterAsync(key, 3, ttl, CancellationToken.None));
        var waiting = concurrency.EnterAsync(key, 3, ttl, TimeSpan.FromSeconds(10), CancellationToken.None).AsTask();
        Assert.False(waiting.IsCompleted);
        var watch = Stopwatch.StartNew();
        await held[0]!.DisposeAsync();
        var slot = await waiting.WaitAsync(TimeSpan.FromSeconds(5));

        Assert.NotNull(slot);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2), $"woke after {watch.Elapsed}");
        // Refused and waiting at this node: no statement; the freed slot: its row taken over, no statement either.
        Assert.Equal(0, concurrency.Statements - before);
        foreach (var s in held.Skip(1).Append(slot))
        {
            await s!.DisposeAsync();
        }
        if (TestDatabase.IsPostgres)
        {
            Assert.Equal(0, await LeasesAfterLingerAsync(node, key));
        }
        Assert.NotNull(await concurrency.TryEnterAsync(key, 3, ttl, CancellationToken.None)); // every slot free again
    }

    /// <summary>A node of its own name (<c>Switchboard:Outbox:NodeId</c>), as nodes sharing a database are configured.</summary>
    private sealed class NamedNode(string name) : SwitchboardFactory
    {
        protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?> { ["Switchboard:Outbox:NodeId"] = name };
    }

    /// <summary>
    /// Probe 10: a node killed outright left its endpoints' slots taken until they expired (the delivery timeout plus 30 s), and
    /// restarting it under the same name did not give them back, so every node's deliveries to those endpoints waited. Here a
    /// run of node A takes both slots and never releases them (as when killed); node B, another node, still finds them held,
    /// and the next run of node A (same name, and in this test the same process id, as a restarted container's) takes them back
    /// before its first take.
    /// </summary>
    [Fact]
    public async Task ANodeStartedAgainTakesBackTheSlotsItsKilledRunHeldWhileOtherNodesWaitForThem()
    {
        var name = "node-" + Guid.NewGuid().ToString("N")[..8];
        using var killed = new NamedNode(name);
        var key = "killed-" + Guid.NewGuid().ToString("N");
        var ttl = TimeSpan.FromMinutes(5);
        var onKilled = killed.Services.GetRequiredService<ClusterConcurrency>();
        Assert.NotNull(await onKilled.TryEnterAsync(key, 2, ttl, CancellationToken.None));
        Assert.NotNull(await onKilled.TryEnterAsync(key, 2, ttl, CancellationToken.None)); // both held, never released

        using var other = new NamedNode("other-" + Guid.NewGuid().ToString("N")[..8]) { Twin = killed };
        var onOther = other.Services.GetRequiredService<ClusterConcurrency>();
        using var again = new NamedNode(name) { Twin = killed };
        var onAgain = again.Services.GetRequiredService<ClusterConcurrency>();
        if (!TestDatabase.IsPostgres)
        {
            // One node by design: each host's slots are a semaphore of its own, and a new run starts with all of them.
            Assert.NotNull(await onAgain.TryEnterAsync(key, 2, ttl, CancellationToken.None));
            return;
        }
        Assert.Null(await onOther.TryEnterAsync(key, 2, ttl, CancellationToken.None)); // another node's rows: left to expire
        Assert.Equal(2, await killed.WithDbAsync(null, db => db.ConcurrencyLeases.CountAsync(l => l.Key == key)));

        var first = await onAgain.TryEnterAsync(key, 2, ttl, CancellationToken.None);
        var second = await onAgain.TryEnterAsync(key, 2, ttl, CancellationToken.None);
        Assert.NotNull(first);
        Assert.NotNull(second);
        Assert.Null(await onAgain.TryEnterAsync(key, 2, ttl, CancellationToken.None)); // the bound still holds
        Assert.Null(await onOther.TryEnterAsync(key, 2, ttl, CancellationToken.None));
        await first!.DisposeAsync();
        await second!.DisposeAsync();
    }

    [Fact]
    public async Task AReleasedSlotIsTakenOverByTheNodesNextHolderAndFreedForOtherNodesAfterItsLinger()
    {
        using var a = new SwitchboardFactory();
        _ = a.Services; // node A migrates first
        using var b = new SwitchboardFactory { Twin = a };
        var onA = a.Services.GetRequiredService<ClusterConcurrency>();
        var onB = b.Services.GetRequiredService<ClusterConcurrency>();
        var key = "linger-" + Guid.NewGuid().ToString("N");
        var ttl = TimeSpan.FromMinutes(1);

        // A takes both slots and releases them: five holders in a row on A cost no statement (the rows are taken over).
        var first = await onA.TryEnterAsync(key, 2, ttl, CancellationToken.None);
        var second = await onA.TryEnterAsync(key, 2, ttl, CancellationToken.None);
        Assert.NotNull(first);
        Assert.NotNull(second);
        await first!.DisposeAsync();
        await second!.DisposeAsync();
        var before = onA.Statements;
        for (var i = 0; i < 5; i++)
        {
            var again = await onA.TryEnterAsync(key, 2, ttl, CancellationToken.None);
            Assert.NotNull(again);
            await again!.DisposeAsync();
        }
        Assert.Equal(0, onA.Statements - before);
        if (!TestDatabase.IsPostgres)
        {
            Assert.Equal(0, onA.Idle); // one node: a semaphore, no rows
            return;
        }
        Assert.Equal(2, onA.Idle);

        // While A keeps them idle, B finds both slots held; once A's linger has passed, B takes one with one statement.
        Assert.Null(await onB.TryEnterAsync(key, 2, ttl, CancellationToken.None));
        Assert.Equal(0, await LeasesAfterLingerAsync(a, key));
        Assert.Equal(0, onA.Idle);
        var onNodeB = await onB.TryEnterAsync(key, 2, ttl, CancellationToken.None);
        Assert.NotNull(onNodeB);

        // A row whose lease has run a quarter of its ttl is given back and taken afresh, not taken over.
        var held = await onA.TryEnterAsync(key, 2, ttl, CancellationToken.None);
        Assert.NotNull(held);
        var holders = await a.WithDbAsync(null, db => db.ConcurrencyLeases.Where(l => l.Key == key).Select(l => l.Holder).ToListAsync());
        await held!.DisposeAsync();
        a.Clock.Advance(ttl * 0.3);
        before = onA.Statements;
        var renewed = await onA.TryEnterAsync(key, 2, ttl, CancellationToken.None);
        Assert.NotNull(renewed);
        Assert.Equal(2, onA.Statements - before); // the stale row deleted, a new one taken
        var now = await a.WithDbAsync(null, db => db.ConcurrencyLeases.Where(l => l.Key == key).Select(l => l.Holder).ToListAsync());
        Assert.Equal(2, now.Count);
        Assert.Single(now.Intersect(holders)); // B's row; A's is a new holder's
        await renewed!.DisposeAsync();
        await onNodeB!.DisposeAsync();
        Assert.Equal(0, await LeasesAfterLingerAsync(a, key));
    }

    /// <summary>
    /// The rows of <c>concurrency_leases</c> (of <paramref name="key"/>, or all) once no node keeps one idle: polled every
    /// 50 ms for up to 5 s, past <see cref="ClusterConcurrency.IdleLinger"/>; whatever is left then.
    /// </summary>
    private static async Task<int> LeasesAfterLingerAsync(SwitchboardFactory node, string? key)
    {
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (true)
        {
            var rows = await node.WithDbAsync(null, db => db.ConcurrencyLeases.CountAsync(l => key == null || l.Key == key));
            if (rows == 0 || DateTime.UtcNow > deadline)
            {
                return rows;
            }
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task ACountedRequestCostsOneShortRoundTrip()
    {
        using var node = new SwitchboardFactory();
        var limiter = node.Services.GetRequiredService<ClusterRateLimiter>();
        for (var i = 0; i < 20; i++)
        {
            await limiter.TryAcquireAsync("warm-up", 1000, CancellationToken.None);
        }
        const int n = 500;
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < n; i++)
        {
            await limiter.TryAcquireAsync($"bench:{i % 10}", 1000, CancellationToken.None);
        }
        var perCallMs = watch.Elapsed.TotalMilliseconds / n;
        output.WriteLine($"{(TestDatabase.IsPostgres ? "PostgreSQL UPSERT" : "in-memory window")}: {perCallMs:F3} ms per permit ({n} sequential)");
        Assert.True(perCallMs < 100, $"{perCallMs:F3} ms per permit"); // a figure to read, bounded only against the pathological
        Assert.False((await limiter.TryAcquireAsync("tiny", 1, CancellationToken.None) is var first && first.Acquired)
            && (await limiter.TryAcquireAsync("tiny", 1, CancellationToken.None)).Acquired); // a window of 1 grants one
    }
}
