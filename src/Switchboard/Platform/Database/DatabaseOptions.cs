using System.ComponentModel.DataAnnotations;

namespace Switchboard.Platform.Database;

/// <summary>Configuration section <c>Switchboard:Database</c>.</summary>
internal sealed class DatabaseOptions
{
    public const string Section = "Switchboard:Database";

    /// <summary><c>sqlite</c> (embedded default) or <c>postgres</c>.</summary>
    [Required, RegularExpression("^(sqlite|postgres)$")]
    public string Provider { get; set; } = "sqlite";

    /// <summary>ADO.NET connection string. Defaults to <c>Data Source=data/switchboard.db</c> for SQLite.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>
    /// PostgreSQL: most connections of the outbox's own pool (Npgsql's <c>Maximum Pool Size</c> for it; default two per core of
    /// the node, 4 – 16: <see cref="DatabaseExtensions.DefaultOutboxMaxPoolSize"/>). The outbox
    /// worker's scopes connect with the connection string's <c>Application Name</c> suffixed <c>outbox</c>, which Npgsql pools
    /// apart (a pool per connection string), so a <c>Maximum Pool Size</c> set for the webhook path and the API cannot starve the
    /// outbox, nor the outbox take the webhook path's connections (issue 13). Ignored on SQLite.
    /// </summary>
    [Range(1, 1000)]
    public int? OutboxMaxPoolSize { get; set; }

    /// <summary>
    /// PostgreSQL: seconds between checks for tables written as much as their last <c>ANALYZE</c> counted (from a few hundred rows),
    /// which are then analysed so no statement keeps a plan made for an empty table (<see cref="PostgresPlannerStatistics"/>); 0 turns it off
    /// (autovacuum's own analyses remain). Ignored on SQLite.
    /// </summary>
    [Range(0, 86_400)]
    public int AnalyzeCheckSeconds { get; set; } = 5;

    /// <summary>
    /// PostgreSQL: milliseconds between two folds of the analytics deltas into their rollup (<see cref="Calls.AnalyticsDeltaFolder"/>,
    /// migration 0033). Reads are exact either way (they add the deltas); the interval bounds how many deltas wait. 0 turns the
    /// fold off. Ignored on SQLite.
    /// </summary>
    [Range(0, 3_600_000)]
    public int AnalyticsFoldMs { get; set; } = 1000;

    /// <summary>
    /// SQLite: milliseconds a group-commit batch keeps taking further units before it commits (<see cref="SqliteGroupCommit.MaxBatchSpan"/>);
    /// 0: no limit but the batch's unit count. Ignored on PostgreSQL.
    /// </summary>
    [Range(0, 1000)]
    public int GroupCommitMaxBatchMs { get; set; } = 0;

    /// <summary>Apply pending migrations when the server starts.</summary>
    public bool MigrateOnStartup { get; set; } = true;

    public bool IsPostgres => string.Equals(Provider, "postgres", StringComparison.OrdinalIgnoreCase);

    public string EffectiveConnectionString =>
        ConnectionString ?? (IsPostgres
            ? throw new InvalidOperationException("Switchboard:Database:ConnectionString is required for PostgreSQL.")
            : "Data Source=data/switchboard.db");
}
