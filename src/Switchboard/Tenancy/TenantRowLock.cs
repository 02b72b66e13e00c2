using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Switchboard.Platform.Database;

namespace Switchboard.Tenancy;

/// <summary>
/// Serialises a tenant's count-then-write changes (the last owner, the endpoint limit): a transaction that starts by taking
/// the tenant's row lock with a no-op <c>UPDATE tenants</c> (a row lock on PostgreSQL until the transaction ends; on SQLite the
/// write lock, one writer), so a count made after it sees every concurrent change that committed first, and the change that
/// would pass a limit is refused instead of two of them passing it together.
/// </summary>
internal static class TenantRowLock
{
    /// <summary>Begins a transaction on <paramref name="db"/> holding <paramref name="tenantId"/>'s row lock; commit or dispose it to release.</summary>
    public static async Task<IDbContextTransaction> BeginAsync(SwitchboardDbContext db, Guid tenantId, CancellationToken ct)
    {
        var tx = await db.Database.BeginTransactionAsync(ct);
        try
        {
            await db.Tenants.Where(t => t.Id == tenantId).ExecuteUpdateAsync(s => s.SetProperty(t => t.Name, t => t.Name), ct);
        }
        catch
        {
            await tx.DisposeAsync();
            throw;
        }
        return tx;
    }
}
