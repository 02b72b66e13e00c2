namespace Switchboard.Platform.Database;

/// <summary>
/// The log level of a caught database failure, so that expected conditions do not page anyone: a unique-key race
/// (an outbox dedupe, a concurrent first insert) is <see cref="LogLevel.Information"/>, SQLite busy after its retries
/// (the work is retried later) <see cref="LogLevel.Warning"/>, anything else <see cref="LogLevel.Error"/>.
/// </summary>
internal static class ExpectedFailures
{
    public static LogLevel LevelOf(Exception e) =>
        UniqueViolation.Is(e) ? LogLevel.Information : SqliteBusyRetry.IsBusy(e) ? LogLevel.Warning : LogLevel.Error;
}
