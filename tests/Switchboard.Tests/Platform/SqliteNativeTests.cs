using Microsoft.Data.Sqlite;
using Switchboard.Platform.Database;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Platform;

/// <summary>The native SQLite settings the server starts with (<see cref="SqliteNative"/>), which every test runs under too.</summary>
public sealed class SqliteNativeTests
{
    [Fact]
    public void TheTestsRunSqliteInTheServersModeAndALateConfigureChangesNothing()
    {
        // Applied at the assembly's load, before any connection: multi-thread mode and no memory statistics.
        Assert.Equal((0, 0), SqliteNativeSetup.Applied);

        using var connection = new SqliteConnection("Data Source=:memory:");
        connection.Open();
        // Once SQLite is initialized it refuses new settings (misuse) and keeps running as it was: Configure never throws.
        Assert.Equal((SqliteNative.Misuse, SqliteNative.Misuse), SqliteNative.Configure());
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT 1";
        Assert.Equal(1L, command.ExecuteScalar());
    }
}
