using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Tests.Support;
using Xunit.Abstractions;

namespace Switchboard.Tests.Platform;

/// <summary>
/// Two nodes that start together on a new PostgreSQL database (an empty key ring) end up with one Data Protection key,
/// not one each: the first key is created under an advisory lock (FirstKeyGate). On SQLite (one node) there is no race.
/// </summary>
[Trait("Category", "Database")]
public sealed class KeyRingRaceTests(ITestOutputHelper output)
{
    [Fact]
    public async Task TwoNodesStartingOnAnEmptyRingShareOneKey()
    {
        if (!TestDatabase.IsPostgres)
        {
            output.WriteLine("PostgreSQL only: on SQLite there is one node.");
            return;
        }
        using var a = new SwitchboardFactory();
        using var b = new SwitchboardFactory { Twin = a };
        // Both nodes start at the same moment on the new database (the migrator serialises itself; each host's start-up
        // is the first use of Data Protection, so each finds the ring empty).
        await Task.WhenAll(Task.Run(() => a.Services), Task.Run(() => b.Services));
        var protectedByA = a.Services.GetRequiredService<IDataProtectionProvider>().CreateProtector("race").Protect("from A");
        var protectedByB = b.Services.GetRequiredService<IDataProtectionProvider>().CreateProtector("race").Protect("from B");

        var keys = await a.WithDbAsync(null, db => db.DataProtectionKeys.AsNoTracking().Where(k => k.FriendlyName!.StartsWith("key-")).CountAsync());
        Assert.Equal(1, keys);
        Assert.Equal("from A", b.Services.GetRequiredService<IDataProtectionProvider>().CreateProtector("race").Unprotect(protectedByA));
        Assert.Equal("from B", a.Services.GetRequiredService<IDataProtectionProvider>().CreateProtector("race").Unprotect(protectedByB));
    }
}
