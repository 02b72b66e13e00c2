using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Npgsql;
using Switchboard.Platform.Database;
using Switchboard.Platform.Http;
using Switchboard.Tests.Support;
using Switchboard.Tests.Vapi;

namespace Switchboard.Tests.Reliability;

/// <summary>The host over PostgreSQL with a pool of 4 connections and a 1 s wait for one (SQLite: the defaults).</summary>
public sealed class TightPoolFactory : SwitchboardFactory
{
    internal const int PoolSize = 4;

    protected override IDictionary<string, string?> ExtraSettings => TestDatabase.IsPostgres
        ? new Dictionary<string, string?>
        {
            ["Switchboard:Database:ConnectionString"] = new NpgsqlConnectionStringBuilder(DatabaseConnectionString) { MaxPoolSize = PoolSize, Timeout = 1 }.ConnectionString,
        }
        : new Dictionary<string, string?>();
}

/// <summary>
/// A saturated database is a 503 <c>DATABASE_BUSY</c> with <c>Retry-After</c>, changes nothing, and is logged once per
/// interval without a stack trace (issue 13: under overload each failure was a 500 and two Error entries with stack
/// traces, 40 % of the process's CPU). The failures are real ones, raised by the database the suite runs on.
/// </summary>
[Trait("Category", "Database")]
public sealed class DatabaseBusyTests(TightPoolFactory factory) : IClassFixture<TightPoolFactory>
{
    [Fact]
    public async Task AVapiMessageWhileThePoolIsExhaustedIsA503ThatStoresNothingAndSucceedsWhenRetried()
    {
        if (!TestDatabase.IsPostgres)
        {
            return; // SQLite has no pool to exhaust; its busy failure is checked below
        }
        var tenant = await factory.CreateTenantAsync("Busy database");
        var callId = Guid.NewGuid().ToString();
        var statusUpdate = VapiIngestTests.CallMessages(callId, 0, "{}").First(b => b.Type == "status-update").Json;

        // Every connection of the host's own pool (same connection string, so the same Npgsql pool) taken elsewhere.
        var connectionString = factory.Services.GetRequiredService<DatabaseExtensions.EffectiveConnection>().Value;
        var held = new List<NpgsqlConnection>();
        try
        {
            for (var i = 0; i < TightPoolFactory.PoolSize; i++)
            {
                var connection = new NpgsqlConnection(connectionString);
                await connection.OpenAsync();
                held.Add(connection);
            }
            var clock = Stopwatch.StartNew();
            using var busy = await factory.PostVapiAsync(tenant, statusUpdate);
            clock.Stop();

            Assert.Equal(HttpStatusCode.ServiceUnavailable, busy.StatusCode);
            Assert.Equal("1", busy.Headers.RetryAfter?.Delta?.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
            using var envelope = JsonDocument.Parse(await busy.Content.ReadAsStringAsync());
            Assert.Equal("DATABASE_BUSY", envelope.RootElement.GetProperty("error").GetProperty("code").GetString());
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"answered after {clock.Elapsed}");
        }
        finally
        {
            foreach (var connection in held)
            {
                await connection.DisposeAsync();
            }
        }

        Assert.Equal(0, await factory.WithDbAsync(tenant.Id, db => db.Calls.CountAsync(c => c.ProviderCallId == callId)));
        using var retried = await factory.PostVapiAsync(tenant, statusUpdate);
        Assert.Equal(HttpStatusCode.OK, retried.StatusCode);
        Assert.Equal(1, await factory.WithDbAsync(tenant.Id, db => db.Calls.CountAsync(c => c.ProviderCallId == callId)));
    }

    [Fact]
    public async Task TheDatabasesOwnBusyFailureIsA503AndOnlyTheFirstOfABurstIsLogged()
    {
        var busy = TestDatabase.IsPostgres ? await PoolExhaustedAsync() : await SqliteBusyAsync();
        Assert.True(DatabaseBusy.Is(busy), busy.ToString());
        Assert.True(DatabaseBusy.Is(new InvalidOperationException("An exception has been raised that is likely due to a transient failure.", busy)));
        Assert.False(DatabaseBusy.Is(new InvalidOperationException("not the database")));

        var logs = new FakeLogCollector();
        var handler = new EnvelopeExceptionHandler(new FakeLogger<EnvelopeExceptionHandler>(logs));
        var bodies = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var http = new DefaultHttpContext();
            http.Request.Method = "POST";
            http.Request.Path = "/webhooks/vapi/x";
            http.Response.Body = new MemoryStream();
            Assert.True(await handler.TryHandleAsync(http, busy, CancellationToken.None));
            Assert.Equal(503, http.Response.StatusCode);
            Assert.Equal("1", http.Response.Headers.RetryAfter.ToString());
            bodies.Add(System.Text.Encoding.UTF8.GetString(((MemoryStream)http.Response.Body).ToArray()));
        }
        Assert.All(bodies, b => Assert.Contains("\"DATABASE_BUSY\"", b));
        var entry = Assert.Single(logs.GetSnapshot());
        Assert.Equal(LogLevel.Warning, entry.Level);
        Assert.Null(entry.Exception); // no stack trace: the message names the limit
        Assert.Contains("Database busy on POST /webhooks/vapi/x", entry.Message);
    }

    /// <summary>A real <c>SQLITE_BUSY</c>: a second connection writes while the first holds the write lock, after a 1 s busy wait (0 would wait forever).</summary>
    private static async Task<Exception> SqliteBusyAsync()
    {
        var path = Path.Combine(Path.GetTempPath(), "switchboard-busy-" + Guid.NewGuid().ToString("N") + ".db");
        try
        {
            await using var holder = new SqliteConnection($"Data Source={path};Pooling=False");
            await holder.OpenAsync();
            await using (var create = holder.CreateCommand())
            {
                create.CommandText = "CREATE TABLE t (x INTEGER); BEGIN IMMEDIATE; INSERT INTO t VALUES (1);";
                await create.ExecuteNonQueryAsync();
            }
            await using var writer = new SqliteConnection($"Data Source={path};Pooling=False;Default Timeout=1");
            await writer.OpenAsync();
            await using var insert = writer.CreateCommand();
            insert.CommandText = "INSERT INTO t VALUES (2)";
            return await Assert.ThrowsAsync<SqliteException>(() => insert.ExecuteNonQueryAsync());
        }
        finally
        {
            foreach (var suffix in new[] { "", "-wal", "-shm", "-journal" })
            {
                File.Delete(path + suffix);
            }
        }
    }

    /// <summary>A real Npgsql pool exhaustion: a pool of 1 with its connection taken, and a 1 s wait for another.</summary>
    private async Task<Exception> PoolExhaustedAsync()
    {
        var connectionString = new NpgsqlConnectionStringBuilder(factory.DatabaseConnectionString)
        {
            MaxPoolSize = 1, Timeout = 1, ApplicationName = "busy-" + Guid.NewGuid().ToString("N"), // a pool of its own
        }.ConnectionString;
        await using var first = new NpgsqlConnection(connectionString);
        await first.OpenAsync();
        await using var second = new NpgsqlConnection(connectionString);
        return await Assert.ThrowsAsync<NpgsqlException>(() => second.OpenAsync());
    }
}
