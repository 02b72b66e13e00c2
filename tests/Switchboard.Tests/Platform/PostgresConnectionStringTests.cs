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

    [Fact]
    public void ThePoolIsBoundedByTheNodesCoresUnlessTheOperatorSetIt()
    {
        var prepared = new NpgsqlConnectionStringBuilder(DatabaseExtensions.PreparePostgres("Host=db;Username=u;Database=d"));
        Assert.Equal(DatabaseExtensions.DefaultMaxPoolSize(Environment.ProcessorCount), prepared.MaxPoolSize);
        Assert.NotEqual(new NpgsqlConnectionStringBuilder().MaxPoolSize, DatabaseExtensions.DefaultMaxPoolSize(2)); // not Npgsql's 100

        foreach (var spelling in new[] { "Maximum Pool Size=37", "maximum pool size=37", " Maximum Pool Size = 37 " })
        {
            Assert.Equal(37, new NpgsqlConnectionStringBuilder(DatabaseExtensions.PreparePostgres($"Host=db;Username=u;Database=d;{spelling}")).MaxPoolSize);
        }
    }

    [Theory]
    [InlineData(1, 8, 4)]
    [InlineData(2, 8, 4)]
    [InlineData(4, 16, 8)]
    [InlineData(16, 64, 16)]
    [InlineData(64, 100, 16)]
    public void DefaultPoolsFollowTheCoresWithinBounds(int cores, int main, int outbox)
    {
        Assert.Equal(main, DatabaseExtensions.DefaultMaxPoolSize(cores));
        Assert.Equal(outbox, DatabaseExtensions.DefaultOutboxMaxPoolSize(cores));
    }
}
