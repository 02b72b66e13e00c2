using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.Options;

namespace Switchboard.Platform.Database;

internal static class DatabaseExtensions
{
    private static readonly NonFiniteGuardInterceptor NonFiniteGuard = new();
    private static readonly SqliteStatementCache StatementCache = new();

    /// <summary>Registers <see cref="SwitchboardDbContext"/> on SQLite or PostgreSQL per <see cref="DatabaseOptions"/>, and the migrator.</summary>
    public static IServiceCollection AddSwitchboardDatabase(this IServiceCollection services)
    {
        services.AddOptions<DatabaseOptions>().BindConfiguration(DatabaseOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<EffectiveConnection>();
        // Pooled (issue 13): the options are built once, and a context's internal services outlive its scope. The options'
        // dependencies are all singletons; the scope's tenant is bound when a context is rented.
        services.AddPooledDbContextFactory<SwitchboardDbContext>(poolSize: ContextPoolSize, optionsAction: (sp, options) =>
        {
            var connection = sp.GetRequiredService<EffectiveConnection>();
            if (connection.IsPostgres)
            {
                options.UseNpgsql(connection.Value);
            }
            else
            {
                options.UseSqlite(connection.Value);
                options.AddInterceptors(StatementCache); // statements stay prepared on connections that stay open
                if (sp.GetRequiredService<SqliteCheckpointer>().Enabled)
                {
                    options.AddInterceptors(sp.GetRequiredService<SqliteCheckpointer.Interceptor>()); // checkpoints run in the background, not in a COMMIT
                }
            }
            options.AddInterceptors(NonFiniteGuard); // never NaN/±∞, never a decimal past its column
            options.AddInterceptors(sp.GetRequiredService<SqliteWriteGate.SaveInterceptor>()); // outbox handlers' saves take a writer turn (SQLite)
            // EF Core logs every failed command and save at Error, including expected ones that the caller handles (a
            // SQLite busy retry that then succeeds, a unique-key race answered by a retry or a 409, an outbox dedupe).
            // The code that catches the exception decides its level; whatever nobody handles is logged at Error by the
            // envelope exception handler or the outbox processor. The same for a failed query's iteration and a connection
            // that could not be opened: under overload (a pool with no free connection) EF logged each one at Error with
            // its stack trace, twice per request with the envelope's own entry (issue 13).
            options.ConfigureWarnings(w => w.Log(
                (RelationalEventId.CommandError, LogLevel.Debug),
                (RelationalEventId.ConnectionError, LogLevel.Debug),
                (CoreEventId.QueryIterationFailed, LogLevel.Debug),
                (CoreEventId.SaveChangesFailed, LogLevel.Debug)));
        });
        services.AddScoped(sp =>
        {
            var connection = sp.GetRequiredService<EffectiveConnection>();
            var postgres = connection.IsPostgres ? sp.GetRequiredService<ConnectionPoolChoice>().Outbox ? connection.Outbox : connection.Value : null;
            return sp.GetRequiredService<IDbContextFactory<SwitchboardDbContext>>().CreateDbContext()
                .Rent(sp.GetRequiredService<Tenancy.CurrentTenant>(), sp.GetRequiredService<SqliteSessionPool>(), postgres);
        });
        services.AddScoped<ConnectionPoolChoice>();
        services.AddSingleton<SqliteSessionPool>();
        services.AddHostedService<SqliteSessionPool.Trimmer>(); // connections a burst opened are closed once it is over
        services.AddSingleton<Migrator>();
        services.AddSingleton<SqliteWriteGate>();
        services.AddSingleton<SqliteWriteGate.SaveInterceptor>();
        services.AddSingleton<SqliteCheckpointer>();
        services.AddSingleton<SqliteGroupCommit>();
        services.AddSingleton<SqliteCheckpointer.Interceptor>();
        services.AddHostedService(sp => sp.GetRequiredService<SqliteCheckpointer>());
        services.AddSingleton<PostgresPlannerStatistics>();
        services.AddHostedService(sp => sp.GetRequiredService<PostgresPlannerStatistics>()); // PostgreSQL: no plan made for an empty table outlives its growth
        services.AddSingleton<Calls.AnalyticsDeltaFolder>();
        services.AddHostedService(sp => sp.GetRequiredService<Calls.AnalyticsDeltaFolder>()); // PostgreSQL: the rollup catches up with its deltas
        return services;
    }

    /// <summary>
    /// Contexts kept between scopes. A burst (400 calls set up at once) creates one per concurrent scope, and EF Core's
    /// default (1,024) kept every one of them afterwards: each holds its internal service scope and change-tracking state,
    /// tens of KB (issue 16, RSS per live call). Past this size a context is created and disposed as before pooling.
    /// </summary>
    internal const int ContextPoolSize = 128;

    /// <summary>The connection string actually used, worked out once per process (not per request).</summary>
    internal sealed class EffectiveConnection
    {
        public EffectiveConnection(IOptions<DatabaseOptions> options)
        {
            IsPostgres = options.Value.IsPostgres;
            Value = IsPostgres ? PreparePostgres(options.Value.EffectiveConnectionString) : PrepareSqlite(options.Value.EffectiveConnectionString);
            Outbox = IsPostgres ? OutboxPool(Value, options.Value.OutboxMaxPoolSize ?? DefaultOutboxMaxPoolSize(Environment.ProcessorCount)) : Value;
        }

        public bool IsPostgres { get; }

        /// <summary>The connection string of the webhook path, the API and everything else but the outbox.</summary>
        public string Value { get; }

        /// <summary>The outbox worker's (<see cref="ConnectionPoolChoice"/>): on PostgreSQL a pool of its own; on SQLite <see cref="Value"/>.</summary>
        public string Outbox { get; }
    }

    /// <summary>
    /// Which connection pool a DI scope's <see cref="SwitchboardDbContext"/> uses (PostgreSQL), set before the scope first
    /// resolves the context: the outbox worker sets <see cref="Outbox"/> for its scopes (<see cref="EffectiveConnection.Outbox"/>).
    /// </summary>
    internal sealed class ConnectionPoolChoice
    {
        /// <summary>True in the outbox worker's scopes.</summary>
        public bool Outbox { get; set; }
    }

    /// <summary>
    /// <paramref name="connectionString"/> (PostgreSQL, prepared) for the outbox's own pool: its <c>Application Name</c> suffixed
    /// <c>outbox</c> (<c>switchboard-outbox</c> when none was set; also how its sessions show in <c>pg_stat_activity</c>) and at
    /// most <paramref name="maxPoolSize"/> connections (<c>Min Pool Size</c> lowered to it if above). Npgsql keeps one pool
    /// per distinct connection string (npgsql.org/doc/connection-string-parameters.html, Pooling).
    /// </summary>
    internal static string OutboxPool(string connectionString, int maxPoolSize)
    {
        var builder = new Npgsql.NpgsqlConnectionStringBuilder(connectionString);
        builder.ApplicationName = string.IsNullOrEmpty(builder.ApplicationName) ? "switchboard-outbox" : builder.ApplicationName + "-outbox";
        builder.MaxPoolSize = maxPoolSize;
        builder.MinPoolSize = Math.Min(builder.MinPoolSize, maxPoolSize);
        return builder.ConnectionString;
    }

    /// <summary>
    /// Turns on Npgsql's automatic statement preparation (up to 32 statements per connection) unless the operator set
    /// it: the webhook path repeats the same ~25 statements, and preparing them halved PostgreSQL's CPU per request
    /// in bench/. Behind PgBouncer in transaction mode, set <c>Max Auto Prepare=0</c> or enable its prepared-statement support.
    /// Also skips the session reset on each pooled reuse unless the operator set <c>No Reset On Close</c> (issue 13), and
    /// bounds the pool to <see cref="DefaultMaxPoolSize"/> unless the operator set <c>Maximum Pool Size</c>.
    /// </summary>
    internal static string PreparePostgres(string connectionString)
    {
        var builder = new Npgsql.NpgsqlConnectionStringBuilder(connectionString);
        if (!new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString }.Keys.Cast<string>()
                .Any(k => MaxPoolSizeKeywords.Contains(k.Replace(" ", "", StringComparison.Ordinal))))
        {
            builder.MaxPoolSize = DefaultMaxPoolSize(Environment.ProcessorCount);
        }
        if (!connectionString.Contains("Auto Prepare", StringComparison.OrdinalIgnoreCase) && !connectionString.Contains("AutoPrepare", StringComparison.OrdinalIgnoreCase))
        {
            builder.MaxAutoPrepare = 32;
        }
        if (!connectionString.Contains("Reset On Close", StringComparison.OrdinalIgnoreCase) && !connectionString.Contains("ResetOnClose", StringComparison.OrdinalIgnoreCase))
        {
            // EF opens and closes the connection around every query, and Npgsql resets a pooled connection's session on
            // each reuse (CLOSE ALL, UNLISTEN *, pg_advisory_unlock_all(), DISCARD SEQUENCES/TEMP, RESET ALL: one more
            // statement batch for the server per query). Nothing here leaves session state behind: no SET, no temporary
            // tables, LISTEN only on the live-event listener's unpooled connection, and the two session advisory locks
            // (migrations, key ring) are released in finally blocks (a broken connection is never pooled).
            builder.NoResetOnClose = true;
        }
        return builder.ConnectionString;
    }

    /// <summary><c>Maximum Pool Size</c> (npgsql.org/doc/connection-string-parameters.html, Pooling) and its property name, spaces removed, any case.</summary>
    private static readonly HashSet<string> MaxPoolSizeKeywords = new(["MaximumPoolSize", "MaxPoolSize"], StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// PostgreSQL: <c>Maximum Pool Size</c> of the webhook path and the API when the connection string does not set one:
    /// four sessions per core of this node, at least 8 and at most Npgsql's own default of 100. Why not Npgsql's 100: a
    /// session past the database's cores does not make it faster, it queues on its locks and spends CPU on the contention.
    /// bench ingest on a 2-core host running the server and PostgreSQL together, closed loop at 64 workers, alternating: 8
    /// sessions (outbox 4) gave 415 and 493 msg/s at 1.9 – 2.2 ms of database CPU per message, 100 (outbox 16) 342 and 347
    /// msg/s at 3.3 – 3.4 ms (bench/results/stop56-2026-12-06.md; stop 55 measured the same shape under load). It also keeps
    /// several nodes inside PostgreSQL's default <c>max_connections</c> (100), which two nodes at Npgsql's defaults could overrun under load (2 × 116 sessions).
    /// The cores counted are the node's, the usual proxy for the database's when they are sized alike; set <c>Maximum Pool
    /// Size</c> when they are not.
    /// </summary>
    /// <param name="processorCount">The node's logical processors (<see cref="Environment.ProcessorCount"/>).</param>
    internal static int DefaultMaxPoolSize(int processorCount) => Math.Clamp(4 * processorCount, 8, 100);

    /// <summary>
    /// PostgreSQL: the outbox worker's pool when <see cref="DatabaseOptions.OutboxMaxPoolSize"/> is not set: two sessions per
    /// core, at least 4 and at most 16 (the worker claims in batches and holds no session while it sends; see
    /// <see cref="DefaultMaxPoolSize"/> for why fewer sessions than Npgsql's default).
    /// </summary>
    /// <param name="processorCount">The node's logical processors.</param>
    internal static int DefaultOutboxMaxPoolSize(int processorCount) => Math.Clamp(2 * processorCount, 4, 16);

    /// <summary>Creates the SQLite file's folder and sets a 30 s busy timeout so concurrent writers wait instead of failing (WAL is set by the migrator).</summary>
    internal static string PrepareSqlite(string connectionString)
    {
        var builder = new SqliteConnectionStringBuilder(connectionString);
        if (builder.Mode != SqliteOpenMode.Memory && !string.IsNullOrEmpty(builder.DataSource) && builder.DataSource != ":memory:")
        {
            var dir = Path.GetDirectoryName(Path.GetFullPath(builder.DataSource));
            if (!string.IsNullOrEmpty(dir))
            {
                Directory.CreateDirectory(dir);
            }
        }
        if (builder.DefaultTimeout < 30)
        {
            builder.DefaultTimeout = 30;
        }
        builder.Pooling = true;
        var prepared = builder.ToString();
        EnableWal(prepared, builder);
        return prepared;
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> WalEnabled = new(StringComparer.Ordinal);

    /// <summary>
    /// Puts a file database in WAL mode once per process (the mode is persistent in the file): readers no longer take
    /// locks that make concurrent writers (parallel outbox handlers) fail with "database is locked".
    /// </summary>
    private static void EnableWal(string connectionString, SqliteConnectionStringBuilder builder)
    {
        if (builder.Mode == SqliteOpenMode.Memory || string.IsNullOrEmpty(builder.DataSource) || builder.DataSource == ":memory:"
            || !WalEnabled.TryAdd(connectionString, true))
        {
            return;
        }
        using var connection = new SqliteConnection(connectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode=WAL;";
        command.ExecuteNonQuery();
    }
}
