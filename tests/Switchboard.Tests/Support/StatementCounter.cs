using System.Collections.Concurrent;
using System.Data.Common;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Platform.Database;

namespace Switchboard.Tests.Support;

/// <summary>
/// Counts the SQL that EF Core runs inside a <see cref="Record"/> block (issue 13: statements per unit of work). Only the
/// block's own async flow counts, so tests running in parallel on the same host, and the host's background work, do not
/// (an HTTP request belongs to the flow of the test that sends it once <c>TestServer.PreserveExecutionContext</c> is on).
/// Commands that bypass EF (the outbox claim, the SQLite group commit's SAVEPOINT/RELEASE/COMMIT) are not counted, but for the
/// multi-row INSERTs SQLite runs on its cached statements (<see cref="SwitchboardDbContext.DirectStatementObserver"/>). The
/// transactions EF commits (its own around a save, or one begun through <c>Database.BeginTransaction</c>) are counted apart:
/// on PostgreSQL each COMMIT is one more round trip (a BEGIN goes with the transaction's first command).
/// </summary>
internal sealed class StatementCounter : DbCommandInterceptor
{
    public static readonly StatementCounter Instance = new();

    private static readonly AsyncLocal<Recording?> Current = new();

    /// <summary>
    /// Adds the counter to the host's <see cref="SwitchboardDbContext"/> options, and runs the test server's requests in the
    /// sending test's async flow so that a request's SQL counts for the test that sent it.
    /// </summary>
    public static void AddTo(IWebHostBuilder builder) => builder.ConfigureTestServices(services =>
    {
        // The multi-row INSERTs SQLite runs on its cached statements bypass EF's interceptors; they are SQL of the unit all the same.
        SwitchboardDbContext.DirectStatementObserver = static sql => Current.Value?.Add(sql);
        services.ConfigureDbContext<SwitchboardDbContext>(options => options.AddInterceptors(Instance, Commits.Instance));
        services.Configure<TestServerOptions>(options => options.PreserveExecutionContext = true);
    });

    /// <summary>Starts counting the SQL run by this async flow until the recording is disposed.</summary>
    public static Recording Record() => Current.Value = new Recording();

    public override InterceptionResult<DbDataReader> ReaderExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result) =>
        Count(command, result);

    public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData,
        InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default) => ValueTask.FromResult(Count(command, result));

    public override InterceptionResult<int> NonQueryExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<int> result) =>
        Count(command, result);

    public override ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(DbCommand command, CommandEventData eventData,
        InterceptionResult<int> result, CancellationToken cancellationToken = default) => ValueTask.FromResult(Count(command, result));

    public override InterceptionResult<object> ScalarExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<object> result) =>
        Count(command, result);

    public override ValueTask<InterceptionResult<object>> ScalarExecutingAsync(DbCommand command, CommandEventData eventData,
        InterceptionResult<object> result, CancellationToken cancellationToken = default) => ValueTask.FromResult(Count(command, result));

    private static T Count<T>(DbCommand command, T result)
    {
        Current.Value?.Add(command.CommandText);
        return result;
    }

    /// <summary>Counts the transactions committed through EF in the recording's flow.</summary>
    private sealed class Commits : DbTransactionInterceptor
    {
        public static readonly Commits Instance = new();

        public override void TransactionCommitted(DbTransaction transaction, TransactionEndEventData eventData) => Current.Value?.AddCommit();

        public override Task TransactionCommittedAsync(DbTransaction transaction, TransactionEndEventData eventData, CancellationToken cancellationToken = default)
        {
            Current.Value?.AddCommit();
            return Task.CompletedTask;
        }
    }

    /// <summary>The SQL one block ran: commands (round trips) and the statements in them (a saved batch holds several).</summary>
    public sealed class Recording : IDisposable
    {
        private readonly ConcurrentQueue<string> commands = new();
        private int commits;

        /// <summary>Transactions committed through EF (PostgreSQL: a round trip each, besides <see cref="Commands"/>).</summary>
        public int Commits => Volatile.Read(ref commits);

        /// <summary>PostgreSQL round trips: the commands and the COMMITs.</summary>
        public int RoundTrips => commands.Count + Commits;

        internal void AddCommit() => Interlocked.Increment(ref commits);

        public IReadOnlyList<string> Commands => commands.ToList();

        /// <summary>Statements: a batch's statements each end a line with <c>;</c>; a query has none.</summary>
        public int Statements => commands.Sum(c => Math.Max(1, c.Split('\n').Count(l => l.TrimEnd().EndsWith(';'))));

        internal void Add(string sql) => commands.Enqueue(sql);

        /// <summary>The commands, one paragraph each, for an assertion message.</summary>
        public override string ToString() => $"{Statements} statements in {commands.Count} commands, {Commits} commits:\n\n" + string.Join("\n\n", commands);

        public void Dispose()
        {
            if (Current.Value == this)
            {
                Current.Value = null;
            }
        }
    }
}
