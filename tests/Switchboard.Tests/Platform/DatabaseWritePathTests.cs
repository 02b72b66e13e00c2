using System.Net;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Platform;

/// <summary>The webhook write path under concurrency (bench/: `vapi` mode), on both databases.</summary>
[Trait("Category", "Database")]
public sealed class DatabaseWritePathTests(SwitchboardFactory factory) : IClassFixture<SwitchboardFactory>
{
    [Fact]
    public async Task MigratedSqliteDatabaseUsesTheWriteAheadLog()
    {
        if (TestDatabase.IsPostgres)
        {
            return;
        }
        var mode = await factory.WithDbAsync(null, async db =>
        {
            var conn = db.Database.GetDbConnection();
            await db.Database.OpenConnectionAsync();
            try
            {
                await using var cmd = conn.CreateCommand();
                cmd.CommandText = "PRAGMA journal_mode";
                return (string?)await cmd.ExecuteScalarAsync();
            }
            finally
            {
                await db.Database.CloseConnectionAsync();
            }
        });
        Assert.Equal("wal", mode);
    }

    [Fact]
    public async Task ConcurrentEndOfCallReportsAreAllStoredWithTheirLeadAndAlert()
    {
        var tenant = await factory.CreateTenantAsync();
        var template = Fixtures.ReadText("vapi/end-of-call-report.2024-07.json");
        var callIds = Enumerable.Range(0, 16).Select(_ => Guid.NewGuid().ToString()).ToList();

        var responses = await Task.WhenAll(callIds.Select(id =>
            factory.PostVapiAsync(tenant, template.Replace("b1223960-1b4d-4585-91b8-a69b0f57ec2f", id, StringComparison.Ordinal))));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        var (calls, leads, sms) = await factory.WithDbAsync(tenant.Id, async db => (
            await db.Calls.CountAsync(c => callIds.Contains(c.ProviderCallId) && c.Status == "ended" && c.TranscriptFinal),
            await db.Leads.CountAsync(),
            await db.SmsMessages.CountAsync()));
        Assert.Equal(16, calls);
        Assert.Equal(16, leads);
        Assert.Equal(16, sms);
    }

    [Fact]
    public async Task WalCheckpointsRunInTheBackgroundNotInsideACommit()
    {
        if (TestDatabase.IsPostgres)
        {
            return;
        }
        var checkpointer = factory.Services.GetRequiredService<Switchboard.Platform.Database.SqliteCheckpointer>();
        Assert.True(checkpointer.Enabled);
        // The application's connections never checkpoint in a COMMIT...
        var autocheckpoint = await factory.WithDbAsync(null, async db =>
        {
            await db.Database.OpenConnectionAsync();
            try
            {
                await using var cmd = db.Database.GetDbConnection().CreateCommand();
                cmd.CommandText = "PRAGMA wal_autocheckpoint";
                return Convert.ToInt64(await cmd.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
            }
            finally
            {
                await db.Database.CloseConnectionAsync();
            }
        });
        Assert.Equal(0, autocheckpoint);

        // ...and the background checkpointer copies what they wrote into the database file.
        var tenant = await factory.CreateTenantAsync();
        var template = Fixtures.ReadText("vapi/end-of-call-report.2024-07.json");
        for (var i = 0; i < 5; i++)
        {
            var response = await factory.PostVapiAsync(tenant, template.Replace("b1223960-1b4d-4585-91b8-a69b0f57ec2f", Guid.NewGuid().ToString(), StringComparison.Ordinal));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        var connection = factory.Services.GetRequiredService<Switchboard.Platform.Database.DatabaseExtensions.EffectiveConnection>();
        await using var conn = new Microsoft.Data.Sqlite.SqliteConnection(connection.Value);
        await conn.OpenAsync();
        var result = await checkpointer.CheckpointAsync(conn, CancellationToken.None);
        Assert.NotNull(result);
        var (busy, log, checkpointed) = result.Value;
        Assert.Equal(0, busy);
        Assert.True(log > 0, "the writes went to the WAL");
        Assert.Equal(log, checkpointed);
        // The hosted service runs on its own (every second): bounded wait on real time, no sleep-to-pass.
        var runs = checkpointer.Runs;
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (checkpointer.Runs <= runs + 1 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }
        Assert.True(checkpointer.Runs > runs + 1, "the background checkpointer runs periodically");
    }

    /// <summary>
    /// Checkpoint starvation (sqlite.org/wal.html): a passive checkpoint copies the WAL, but the next writer starts the file
    /// over only when no reader is still reading from it, and under load one always is; the WAL grew to 1 GB in a minute of
    /// bench ingest. Here each write is followed by a reader that is still reading when the checkpointer ticks (it ends
    /// 30 ms later, as a request's query would): passive checkpoints alone leave every write in the WAL, the restart
    /// inside a writer turn waits for that reader and lets the next write start the WAL over.
    /// </summary>
    [Fact]
    public async Task TheWalStartsOverWhileReadersKeepReading()
    {
        if (TestDatabase.IsPostgres)
        {
            return;
        }
        await using var wal = await WalFixture.OpenAsync();
        var (gate, checkpointer, writer, background) = (wal.Gate, wal.Checkpointer, wal.Writer, wal.Background);
        await using var reader = new Microsoft.Data.Sqlite.SqliteConnection(wal.ConnectionString);
        await reader.OpenAsync();
        await ExecAsync(writer, "PRAGMA journal_mode=WAL; CREATE TABLE t (x BLOB)");

        long walFrames = 0;
        var previousReader = Task.CompletedTask;
        for (var i = 0; i < 12; i++)
        {
            using (await gate.EnterAsync(Switchboard.Platform.Database.WritePriority.Normal, CancellationToken.None))
            {
                await ExecAsync(writer, "INSERT INTO t VALUES (randomblob(200000))"); // ~50 pages
            }
            await previousReader; // ended by now (with restarts) or still reading while that write began (without)
            // A reader inside the WAL: its snapshot holds the frames just written; it reads on while the next write begins.
            var read = reader.BeginTransaction(deferred: true);
            await ExecAsync(reader, "SELECT count(*) FROM t", read);
            previousReader = Task.Run(async () =>
            {
                await Task.Delay(30);
                read.Commit();
                read.Dispose();
            });
            var result = await checkpointer.TickAsync(background, CancellationToken.None);
            Assert.NotNull(result);
            walFrames = result.Value.Log;
        }
        await previousReader;
        // Twelve writes of ~50 pages: without restarts the WAL ends with them all (~600 frames).
        Assert.True(walFrames < 200, $"the WAL kept {walFrames} frames");
        Assert.True(checkpointer.Restarts >= 5, $"{checkpointer.Restarts} restarts");
        Assert.True(new FileInfo(wal.WalPath).Length < 200 * 4096 + 32, "the WAL file stays short");
    }

    /// <summary>
    /// The restart holds the single writer while it copies what was written since the last passive pass and fsyncs the
    /// database file (bench: 13–40 ms at 500 msg/s when it took its turn at the lowest priority, behind up to 32 batches of
    /// webhooks, each adding frames it then copied inside the turn). Here eight writers (200 KB each) queue behind a held
    /// turn while the checkpointer catches up outside it; released, the turn goes to the restart first, which finds
    /// nothing left to copy, and the eight write after it into a WAL started over.
    /// </summary>
    [Fact]
    public async Task TheRestartGoesAheadOfQueuedWritersAndCopiesNothingInsideItsTurn()
    {
        if (TestDatabase.IsPostgres)
        {
            return;
        }
        await using var wal = await WalFixture.OpenAsync();
        var (gate, checkpointer, writer, background) = (wal.Gate, wal.Checkpointer, wal.Writer, wal.Background);
        await ExecAsync(writer, "PRAGMA journal_mode=WAL; CREATE TABLE t (x BLOB); INSERT INTO t VALUES (randomblob(800000))"); // ~200 pages

        var held = await gate.EnterAsync(Switchboard.Platform.Database.WritePriority.Normal, CancellationToken.None);
        var writes = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            using (await gate.EnterAsync(Switchboard.Platform.Database.WritePriority.Normal, CancellationToken.None))
            {
                await ExecAsync(writer, "INSERT INTO t VALUES (randomblob(200000))"); // ~50 pages each
            }
        })).ToArray();
        var tick = checkpointer.TickAsync(background, CancellationToken.None);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (gate.Waiting < 9 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(5); // the eight writers and the checkpointer queued behind the held turn
        }
        Assert.Equal(9, gate.Waiting);
        held.Dispose();
        var result = await tick;
        await Task.WhenAll(writes);

        Assert.Equal(1, checkpointer.Restarts);
        Assert.Equal(0, checkpointer.RestartFrames); // with the turn behind the writers: their ~400 frames, copied and synced inside it
        Assert.NotNull(result);
        Assert.Equal(0, result.Value.Busy);
        // The writers wrote after the restart, from the WAL's start: ~400 frames, not the first ~200 as well.
        var after = await checkpointer.CheckpointAsync(background, CancellationToken.None);
        Assert.NotNull(after);
        Assert.InRange(after.Value.Log, 8 * 48, 8 * 60);
    }

    /// <summary>
    /// Before a restart takes the writer's turn, the checkpointer fsyncs the database file through SQLite's own handle (the
    /// connection's <c>sqlite3_file</c> <c>xSync</c>), so the restart's own sync inside the turn finds only its residue
    /// (bench: the turn held 10–27 ms, most of it that sync, when the passive passes' pages were first flushed there).
    /// The call answers SQLITE_OK on a file and leaves every page as it was; a connection with no file (in memory) is
    /// refused, not crashed. A wrong method slot (xTruncate, xClose, xWrite…) would shrink, close or overwrite the file,
    /// which the read-back and the integrity check catch.
    /// </summary>
    [Fact]
    public async Task TheDatabaseFileIsSyncedThroughSqlitesOwnHandleAndLeftAsItWas()
    {
        if (TestDatabase.IsPostgres)
        {
            return;
        }
        await using var wal = await WalFixture.OpenAsync();
        await ExecAsync(wal.Writer, "PRAGMA journal_mode=WAL; CREATE TABLE t (x INTEGER PRIMARY KEY, y BLOB);" +
                                    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300) INSERT INTO t SELECT i, randomblob(3000) FROM n");
        Assert.NotNull(await wal.Checkpointer.CheckpointAsync(wal.Background, CancellationToken.None)); // pages into the file
        var length = new FileInfo(wal.Background.DataSource).Length;

        Assert.Equal(0, Switchboard.Platform.Database.SqliteNative.SyncMainDatabaseFile(wal.Background));
        Assert.Equal(0, Switchboard.Platform.Database.SqliteNative.SyncMainDatabaseFile(wal.Writer));
        Assert.Equal(0, Switchboard.Platform.Database.SqliteNative.SyncWalFile(wal.Writer)); // the WAL, through the same slot
        Assert.True(new FileInfo(wal.WalPath).Length > 0);

        Assert.Equal(length, new FileInfo(wal.Background.DataSource).Length);
        await using (var check = wal.Background.CreateCommand())
        {
            check.CommandText = "SELECT count(*), sum(length(y)) FROM t";
            await using var reader = await check.ExecuteReaderAsync();
            Assert.True(await reader.ReadAsync());
            Assert.Equal((300L, 900_000L), (reader.GetInt64(0), reader.GetInt64(1)));
        }
        await using (var integrity = wal.Writer.CreateCommand())
        {
            integrity.CommandText = "PRAGMA integrity_check";
            Assert.Equal("ok", (string?)await integrity.ExecuteScalarAsync());
        }
        await ExecAsync(wal.Writer, "INSERT INTO t (y) VALUES (randomblob(10))"); // its descriptor still open and writable

        await using var memory = new Microsoft.Data.Sqlite.SqliteConnection("Data Source=:memory:");
        await memory.OpenAsync();
        Assert.NotEqual(0, Switchboard.Platform.Database.SqliteNative.SyncMainDatabaseFile(memory));
    }

    /// <summary>
    /// A SQLite file in a temporary folder, a write gate, a checkpointer restarting above 64 frames, a writer connection
    /// (automatic checkpoints off) and the checkpointer's own connection (prepared), all open; disposing closes them and
    /// deletes the folder.
    /// </summary>
    private sealed class WalFixture : IAsyncDisposable
    {
        private readonly DirectoryInfo dir = Directory.CreateTempSubdirectory("switchboard-wal-");

        private WalFixture()
        {
            var options = Microsoft.Extensions.Options.Options.Create(new Switchboard.Platform.Database.DatabaseOptions
            {
                Provider = "sqlite",
                ConnectionString = $"Data Source={Path.Combine(dir.FullName, "wal.db")}",
            });
            var connection = new Switchboard.Platform.Database.DatabaseExtensions.EffectiveConnection(options);
            ConnectionString = connection.Value;
            Checkpointer = new Switchboard.Platform.Database.SqliteCheckpointer(connection, Gate,
                Microsoft.Extensions.Logging.Abstractions.NullLogger<Switchboard.Platform.Database.SqliteCheckpointer>.Instance)
            {
                RestartAboveFrames = 64,
            };
            Writer = new Microsoft.Data.Sqlite.SqliteConnection(ConnectionString);
            Background = new Microsoft.Data.Sqlite.SqliteConnection(ConnectionString);
        }

        public string ConnectionString { get; }

        /// <summary>The WAL file of the database.</summary>
        public string WalPath => Path.Combine(dir.FullName, "wal.db-wal");

        public Switchboard.Platform.Database.SqliteWriteGate Gate { get; } = new();

        public Switchboard.Platform.Database.SqliteCheckpointer Checkpointer { get; }

        public Microsoft.Data.Sqlite.SqliteConnection Writer { get; }

        public Microsoft.Data.Sqlite.SqliteConnection Background { get; }

        public static async Task<WalFixture> OpenAsync()
        {
            var wal = new WalFixture();
            await wal.Writer.OpenAsync();
            await wal.Background.OpenAsync();
            Switchboard.Platform.Database.SqliteCheckpointer.ConfigureConnection(wal.Writer);
            await Switchboard.Platform.Database.SqliteCheckpointer.PrepareAsync(wal.Background, CancellationToken.None);
            return wal;
        }

        public async ValueTask DisposeAsync()
        {
            await Writer.DisposeAsync();
            await Background.DisposeAsync();
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            dir.Delete(recursive: true);
        }
    }

    private static async Task ExecAsync(Microsoft.Data.Sqlite.SqliteConnection conn, string sql, Microsoft.Data.Sqlite.SqliteTransaction? tx = null)
    {
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = tx;
        await cmd.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task TheCachedDefaultAssistantIsDroppedAsSoonAsItChanges()
    {
        var tenant = await factory.CreateTenantAsync();
        var configs = factory.Services.GetRequiredService<Switchboard.Tenancy.TenantConfigCache>();
        var first = await factory.WithDbAsync(tenant.Id, db => configs.GetAsync(db, tenant.Id, CancellationToken.None));
        var again = await factory.WithDbAsync(tenant.Id, db => configs.GetAsync(db, tenant.Id, CancellationToken.None));
        Assert.Same(first, again); // cached: no query
        Assert.Equal("Drain Fortin, bonjour!", first.DefaultAssistant!.FirstMessage);

        await factory.WithDbAsync(tenant.Id, async db =>
        {
            var assistant = await db.Assistants.SingleAsync();
            assistant.FirstMessage = "Drain Fortin, salut!";
            return await db.SaveChangesAsync();
        });
        var json = "{\"message\":{\"type\":\"assistant-request\",\"call\":{\"id\":\"" + Guid.NewGuid() + "\",\"type\":\"inboundPhoneCall\"}}}";
        var reply = await factory.PostVapiAsync(tenant, json);
        Assert.Equal(HttpStatusCode.OK, reply.StatusCode);
        Assert.Contains("Drain Fortin, salut!", await reply.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        await factory.WithDbAsync(tenant.Id, async db =>
        {
            var row = await db.Tenants.SingleAsync(t => t.Id == tenant.Id);
            row.Name = "Drain Fortin inc.";
            return await db.SaveChangesAsync();
        });
        var renamed = await factory.WithDbAsync(tenant.Id, db => configs.GetAsync(db, tenant.Id, CancellationToken.None));
        Assert.Equal("Drain Fortin inc.", renamed.Tenant.Name);
    }

    /// <summary>
    /// One interceptor serves every per-tenant cache (<see cref="Switchboard.Platform.Database.TenantScopedCacheInterceptor"/>):
    /// a save that adds an endpoint and changes the assistant drops both caches' entries for that tenant, and no other tenant's.
    /// </summary>
    [Fact]
    public async Task OneSaveThatTouchesAnEndpointAndAnAssistantDropsBothCachedReads()
    {
        var tenant = await factory.CreateTenantAsync();
        var other = await factory.CreateTenantAsync();
        var configs = factory.Services.GetRequiredService<Switchboard.Tenancy.TenantConfigCache>();
        var endpoints = factory.Services.GetRequiredService<Switchboard.Webhooks.WebhookEndpointCache>();
        Task<(Switchboard.Tenancy.TenantConfig, IReadOnlyList<Switchboard.Webhooks.SubscribedEndpoint>)> ReadAsync(Guid id) =>
            factory.WithDbAsync(id, async db => (await configs.GetAsync(db, id, CancellationToken.None), await endpoints.GetAsync(db, id, CancellationToken.None)));
        var (config, subscribed) = await ReadAsync(tenant.Id);
        var (otherConfig, otherSubscribed) = await ReadAsync(other.Id);
        Assert.Empty(subscribed);

        await factory.WithDbAsync(tenant.Id, async db =>
        {
            (await db.Assistants.SingleAsync()).FirstMessage = "Drain Fortin, salut!";
            db.WebhookEndpoints.Add(new Switchboard.Webhooks.WebhookEndpoint
            {
                Id = Guid.NewGuid(), TenantId = tenant.Id, Url = "https://hooks.example/x", SecretProtected = "x", CreatedAt = DateTimeOffset.UtcNow,
            });
            return await db.SaveChangesAsync();
        });

        var (configAfter, subscribedAfter) = await ReadAsync(tenant.Id);
        Assert.NotSame(config, configAfter);
        Assert.Equal("Drain Fortin, salut!", configAfter.DefaultAssistant!.FirstMessage);
        Assert.Single(subscribedAfter);
        var (otherConfigAfter, otherSubscribedAfter) = await ReadAsync(other.Id);
        Assert.Same(otherConfig, otherConfigAfter); // still cached: the save touched only the first tenant's rows
        Assert.Same(otherSubscribed, otherSubscribedAfter);
    }

    /// <summary>
    /// A prepared webhook unit checks, inside the writer, that its call is still stored with the version it read (SQLite: on
    /// the group commit connection's own prepared statement, the Guid bound as EF stores it; PostgreSQL: the compiled query).
    /// A version bound in another form than the stored id would find no call, and every unit would be redone inside the writer.
    /// </summary>
    [Fact]
    public async Task AUnitFindsItsCallsStoredVersionInsideTheWriter()
    {
        var tenant = await factory.CreateTenantAsync();
        var providerCallId = Guid.NewGuid().ToString();
        var report = Fixtures.ReadText("vapi/end-of-call-report.2024-07.json").Replace("b1223960-1b4d-4585-91b8-a69b0f57ec2f", providerCallId, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await factory.PostVapiAsync(tenant, report)).StatusCode);
        var (id, version) = await factory.WithDbAsync(tenant.Id, db => db.Calls.Where(c => c.ProviderCallId == providerCallId).Select(c => new { c.Id, c.Version }).SingleAsync()) switch { var c => (c.Id, c.Version) };

        using var scope = factory.Scope();
        var db = scope.ServiceProvider.GetRequiredService<Switchboard.Platform.Database.SwitchboardDbContext>();
        async Task<bool[]> CheckAsync() =>
        [
            await db.CallVersionsUnchangedAsync([(id, version)]),
            await db.CallVersionsUnchangedAsync([(id, version + 1)]),
            await db.CallVersionsUnchangedAsync([(Guid.NewGuid(), 0)]),
            await db.CallVersionsUnchangedAsync([(id, version), (id, version)]),
        ];
        bool[] answers;
        if (TestDatabase.IsPostgres)
        {
            await using var tx = await db.Database.BeginTransactionAsync();
            answers = await CheckAsync();
        }
        else
        {
            var group = factory.Services.GetRequiredService<Switchboard.Platform.Database.SqliteGroupCommit>();
            var hits = Switchboard.Platform.Database.SqliteStatementCache.Hits;
            answers = await group.RunAsync(db, Switchboard.Platform.Database.WritePriority.Normal, CheckAsync, CancellationToken.None);
            Assert.True(Switchboard.Platform.Database.SqliteStatementCache.Hits - hits >= 5, "the checks ran on cached statements");
        }
        Assert.Equal([true, false, false, true], answers);
    }

    [Fact]
    public async Task UnitsQueuedBehindTheWriterShareOneCommitAndAFailingUnitIsUndoneAlone()
    {
        if (TestDatabase.IsPostgres)
        {
            return;
        }
        var tenant = await factory.CreateTenantAsync();
        var keys = Enumerable.Range(0, 10).Select(i => $"group-commit-{Guid.NewGuid():N}-{i}").ToList();
        // The unit count alone bounds the batch here (a slow host must not split it).
        var (units, batches, committed) = await QueuedBehindTheWriterAsync(tenant.Id, keys, Timeout.InfiniteTimeSpan, i =>
        {
            if (i == 3)
            {
                throw new InvalidOperationException("unit 3 fails after its save");
            }
        });
        var failed = await Assert.ThrowsAsync<InvalidOperationException>(() => units[3]);
        Assert.Equal("unit 3 fails after its save", failed.Message);
        foreach (var i in Enumerable.Range(0, 10).Where(i => i != 3))
        {
            Assert.Equal(i, await units[i]);
        }
        Assert.Equal(1, batches);
        Assert.Equal(9, committed);
        var stored = await factory.WithDbAsync(tenant.Id, db => db.CallEvents.Where(e => keys.Contains(e.IdempotencyKey)).Select(e => e.IdempotencyKey).ToListAsync());
        Assert.Equal(keys.Where((_, i) => i != 3).Order(), stored.Order());
    }

    [Fact]
    public async Task ABatchPastItsSpanCommitsAndTheNextBatchTakesTheRestInOrder()
    {
        if (TestDatabase.IsPostgres)
        {
            return;
        }
        var tenant = await factory.CreateTenantAsync();
        var keys = Enumerable.Range(0, 4).Select(i => $"batch-span-{Guid.NewGuid():N}-{i}").ToList();
        var ran = new System.Collections.Concurrent.ConcurrentQueue<int>();
        // A zero span: every batch is past its span once its first unit is done.
        var (units, batches, committed) = await QueuedBehindTheWriterAsync(tenant.Id, keys, TimeSpan.Zero, ran.Enqueue);
        var answers = await Task.WhenAll(units);
        Assert.Equal([0, 1, 2, 3], answers);
        Assert.Equal(4, batches); // one unit each: the span, not the queue, ended each batch
        Assert.Equal(4, committed);
        Assert.Equal([0, 1, 2, 3], ran.ToArray()); // queued order kept across batches
        var stored = await factory.WithDbAsync(tenant.Id, db => db.CallEvents.Where(e => keys.Contains(e.IdempotencyKey)).CountAsync());
        Assert.Equal(4, stored);
    }

    /// <summary>
    /// Queues one group-commit unit per key while the writer is held (<c>RunAsync</c> queues synchronously, before its first
    /// await), with the group commit's batch span set to <paramref name="span"/> until every unit is done. Unit i saves a
    /// speech-update under key i, then runs <paramref name="afterSave"/>(i) (which may throw), and answers i. Returns the units,
    /// finished, and the batches and units the group commit committed meanwhile.
    /// </summary>
    private async Task<(Task<int>[] Units, long Batches, long Committed)> QueuedBehindTheWriterAsync(
        Guid tenantId, IReadOnlyList<string> keys, TimeSpan span, Action<int> afterSave)
    {
        var gate = factory.Services.GetRequiredService<Switchboard.Platform.Database.SqliteWriteGate>();
        var group = factory.Services.GetRequiredService<Switchboard.Platform.Database.SqliteGroupCommit>();
        var scopes = keys.Select(_ => factory.Scope()).ToList();
        var before = group.MaxBatchSpan;
        group.MaxBatchSpan = span;
        try
        {
            Task<int>[] units;
            long batchesBefore, unitsBefore;
            using (await gate.EnterAsync(Switchboard.Platform.Database.WritePriority.Normal, CancellationToken.None))
            {
                batchesBefore = group.Batches;
                unitsBefore = group.Units;
                units = scopes.Select((scope, i) =>
                {
                    var db = scope.ServiceProvider.GetRequiredService<Switchboard.Platform.Database.SwitchboardDbContext>();
                    return group.RunAsync(db, Switchboard.Platform.Database.WritePriority.Normal, async () =>
                    {
                        db.CallEvents.Add(SpeechUpdate(tenantId, keys[i]));
                        await db.SaveChangesAsync();
                        afterSave(i);
                        return i;
                    }, CancellationToken.None);
                }).ToArray();
            }
            await Task.WhenAll(units).ContinueWith(_ => { }, TaskScheduler.Default); // done, failed or not
            return (units, group.Batches - batchesBefore, group.Units - unitsBefore);
        }
        finally
        {
            group.MaxBatchSpan = before;
            scopes.ForEach(s => s.Dispose());
        }
    }

    [Fact]
    public async Task ALowPriorityUnitThatWaitedTooLongGoesAheadOfItsShare()
    {
        if (TestDatabase.IsPostgres)
        {
            return;
        }
        var group = factory.Services.GetRequiredService<Switchboard.Platform.Database.SqliteGroupCommit>();
        var gate = factory.Services.GetRequiredService<Switchboard.Platform.Database.SqliteWriteGate>();
        var scopes = Enumerable.Range(0, 11).Select(_ => factory.Scope()).ToList();
        var order = new System.Collections.Concurrent.ConcurrentQueue<string>();
        Task<int> Unit(int i, Switchboard.Platform.Database.WritePriority priority, string name)
        {
            var db = scopes[i].ServiceProvider.GetRequiredService<Switchboard.Platform.Database.SwitchboardDbContext>();
            return group.RunAsync(db, priority, () =>
            {
                order.Enqueue(name);
                return Task.FromResult(i);
            }, CancellationToken.None);
        }

        Task<int>[] units;
        // The outbox's unit (low) queues first, then ten webhook units (normal), all behind a held writer; the writer is held
        // past LowestMaxWait, so the low unit has waited too long when the batch starts. On its share alone it would go 8th.
        using (await gate.EnterAsync(Switchboard.Platform.Database.WritePriority.Normal, CancellationToken.None))
        {
            units = [Unit(0, Switchboard.Platform.Database.WritePriority.Low, "low"),
                .. Enumerable.Range(1, 10).Select(i => Unit(i, Switchboard.Platform.Database.WritePriority.Normal, $"normal-{i}"))];
            await Task.Delay(Switchboard.Platform.Database.SqliteGroupCommit.LowestMaxWait + TimeSpan.FromMilliseconds(30));
        }
        await Task.WhenAll(units).WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Equal("low", order.First());
        Assert.Equal(Enumerable.Range(1, 10).Select(i => $"normal-{i}"), order.Skip(1));
        scopes.ForEach(s => s.Dispose());
    }

    [Fact]
    public async Task AUnitThatBreaksItsOwnContextFailsAloneAndTheWriterGoesOn()
    {
        if (TestDatabase.IsPostgres)
        {
            return;
        }
        var tenant = await factory.CreateTenantAsync();
        var group = factory.Services.GetRequiredService<Switchboard.Platform.Database.SqliteGroupCommit>();
        using var brokenScope = factory.Scope();
        using var nextScope = factory.Scope();
        var broken = brokenScope.ServiceProvider.GetRequiredService<Switchboard.Platform.Database.SwitchboardDbContext>();
        var next = nextScope.ServiceProvider.GetRequiredService<Switchboard.Platform.Database.SwitchboardDbContext>();
        var key = $"after-broken-{Guid.NewGuid():N}";

        // The unit disposes its own context: the clean-up after its work then throws. Before the fix the leader waited for
        // that unit for ever and every later write of the node with it.
        var brokenUnit = group.RunAsync(broken, Switchboard.Platform.Database.WritePriority.Normal, async () =>
        {
            await broken.DisposeAsync();
            return 0;
        }, CancellationToken.None);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => brokenUnit.WaitAsync(TimeSpan.FromSeconds(20)));

        var written = await group.RunAsync(next, Switchboard.Platform.Database.WritePriority.Normal, async () =>
        {
            next.CallEvents.Add(SpeechUpdate(tenant.Id, key));
            return await next.SaveChangesAsync();
        }, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(1, written);
        Assert.Equal(1, await factory.WithDbAsync(tenant.Id, db => db.CallEvents.CountAsync(e => e.IdempotencyKey == key)));
    }

    [Fact]
    public async Task UnitsKeepTheirStatementJournalInMemory()
    {
        if (TestDatabase.IsPostgres)
        {
            return;
        }
        var group = factory.Services.GetRequiredService<Switchboard.Platform.Database.SqliteGroupCommit>();
        using var scope = factory.Scope();
        var db = scope.ServiceProvider.GetRequiredService<Switchboard.Platform.Database.SwitchboardDbContext>();

        // Every unit runs inside a SAVEPOINT: the originals of the pages it changes go to a statement journal, which in a
        // file costs one pwrite(2) per page once past 64 KiB. 2 = MEMORY (sqlite.org/pragma.html#pragma_temp_store).
        var tempStore = await group.RunAsync(db, Switchboard.Platform.Database.WritePriority.Normal, async () =>
        {
            await using var command = db.Database.GetDbConnection().CreateCommand();
            command.CommandText = "PRAGMA temp_store";
            return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
        }, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Equal(2, tempStore);
    }

    /// <summary>
    /// The group commit's batches commit without syncing (<c>synchronous=NORMAL</c> on the batch's connection) and a syncer
    /// syncs the WAL after the writer is released: a unit is answered only once a sync that began after its COMMIT has
    /// returned, while the writer already runs the next batch. Here the first sync is held: the first unit's rows are
    /// committed (a reader sees them) but its caller waits; a second unit runs and commits meanwhile, and is answered by the
    /// next sync. Without the deferral the first unit would be answered at its COMMIT (and the second would wait behind no
    /// sync at all); without the writer's release the second could not run while the first's sync is held.
    /// </summary>
    [Fact]
    public async Task UnitsAreAnsweredOnlyOnceTheWalIsSyncedWhileTheWriterGoesOn()
    {
        if (TestDatabase.IsPostgres)
        {
            return;
        }
        var tenant = await factory.CreateTenantAsync();
        var group = factory.Services.GetRequiredService<Switchboard.Platform.Database.SqliteGroupCommit>();
        using var scopeA = factory.Scope();
        using var scopeB = factory.Scope();
        var dbA = scopeA.ServiceProvider.GetRequiredService<Switchboard.Platform.Database.SwitchboardDbContext>();
        var dbB = scopeB.ServiceProvider.GetRequiredService<Switchboard.Platform.Database.SwitchboardDbContext>();
        var synchronous = await group.RunAsync(dbA, Switchboard.Platform.Database.WritePriority.Normal, async () =>
        {
            await using var command = dbA.Database.GetDbConnection().CreateCommand();
            command.CommandText = "PRAGMA synchronous";
            return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
        }, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(20));
        Assert.True(group.DeferredSync);
        Assert.Equal(1, synchronous); // NORMAL (sqlite.org/pragma.html#pragma_synchronous)

        var (keyA, keyB) = ($"deferred-sync-a-{Guid.NewGuid():N}", $"deferred-sync-b-{Guid.NewGuid():N}");
        using var syncing = new SemaphoreSlim(0);
        using var release = new SemaphoreSlim(0);
        var held = 0;
        var syncsBefore = group.Syncs;
        group.SyncOverride = conn =>
        {
            if (Interlocked.Increment(ref held) == 1)
            {
                syncing.Release();
                release.Wait(TimeSpan.FromSeconds(20)); // the syncer's own task: the writer is not held
            }
            return Switchboard.Platform.Database.SqliteNative.SyncWalFile(conn);
        };
        try
        {
            var unitA = group.RunAsync(dbA, Switchboard.Platform.Database.WritePriority.Normal, async () =>
            {
                dbA.CallEvents.Add(SpeechUpdate(tenant.Id, keyA));
                return await dbA.SaveChangesAsync();
            }, CancellationToken.None);
            Assert.True(await syncing.WaitAsync(TimeSpan.FromSeconds(20))); // A committed; its sync is held
            Assert.False(unitA.IsCompleted);
            Assert.Equal(1, await factory.WithDbAsync(tenant.Id, db => db.CallEvents.CountAsync(e => e.IdempotencyKey == keyA)));

            var ranB = false;
            var unitB = group.RunAsync(dbB, Switchboard.Platform.Database.WritePriority.Normal, async () =>
            {
                dbB.CallEvents.Add(SpeechUpdate(tenant.Id, keyB));
                var saved = await dbB.SaveChangesAsync();
                ranB = true;
                return saved;
            }, CancellationToken.None);
            // B gets the writer and commits while A's sync is still held.
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (await factory.WithDbAsync(tenant.Id, db => db.CallEvents.CountAsync(e => e.IdempotencyKey == keyB)) == 0 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(5);
            }
            Assert.True(ranB);
            Assert.False(unitA.IsCompleted);
            Assert.False(unitB.IsCompleted);

            release.Release();
            Assert.Equal(1, await unitA.WaitAsync(TimeSpan.FromSeconds(20)));
            Assert.Equal(1, await unitB.WaitAsync(TimeSpan.FromSeconds(20)));
            Assert.True(group.Syncs - syncsBefore >= 2); // A's, then one covering B

            // A sync that fails fails the units it was to make durable.
            group.SyncOverride = _ => 10; // SQLITE_IOERR
            var failed = await Assert.ThrowsAsync<Microsoft.Data.Sqlite.SqliteException>(() => group.RunAsync(dbA, Switchboard.Platform.Database.WritePriority.Normal,
                () => Task.FromResult(0), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(20)));
            Assert.Equal(10, failed.SqliteErrorCode);
        }
        finally
        {
            group.SyncOverride = null;
            release.Release();
        }
    }

    /// <summary>A raw event row with idempotency key <paramref name="key"/>, as a unit of work of these tests writes it.</summary>
    private static Switchboard.Calls.CallEvent SpeechUpdate(Guid tenantId, string key) => new()
    {
        Id = Guid.CreateVersion7(), TenantId = tenantId, Provider = "vapi", Type = "speech-update",
        IdempotencyKey = key, PayloadJson = "{}", ReceivedAt = DateTimeOffset.UtcNow,
    };
}
