using Npgsql;
using Switchboard.Platform.Database;

namespace Switchboard.Tests.Platform;

/// <summary>What the server adds to an operator's PostgreSQL connection string, and what it leaves to them.</summary>
public sealed class PostgresConnectionStringTests
{
    [Fact]
    public void StatementsArePreparedAndPooledSessionsAreNotResetUnlessTheOperatorSaidOtherwise()
    {
        var prepared = new NpgsqlConnectionStringBuilder(DatabaseExtensions.PreparePostgres("Host=db;Username=u;Database=d"));
        Assert.Equal(32, prepared.MaxAutoPrepare);
        Assert.True(prepared.NoResetOnClose);

        var explicitOnes = new NpgsqlConnectionStringBuilder(
            DatabaseExtensions.PreparePostgres("Host=db;Username=u;Database=d;Max Auto Prepare=0;No Reset On Close=false"));
        Assert.Equal(0, explicitOnes.MaxAutoPrepare);
        Assert.False(explicitOnes.NoResetOnClose);
    }
}
