using System.Net;
using Microsoft.EntityFrameworkCore;
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
}
