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

    /// <summary>Apply pending migrations when the server starts.</summary>
    public bool MigrateOnStartup { get; set; } = true;

    public bool IsPostgres => string.Equals(Provider, "postgres", StringComparison.OrdinalIgnoreCase);

    public string EffectiveConnectionString =>
        ConnectionString ?? (IsPostgres
            ? throw new InvalidOperationException("Switchboard:Database:ConnectionString is required for PostgreSQL.")
            : "Data Source=data/switchboard.db");
}
