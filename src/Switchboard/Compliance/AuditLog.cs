using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Switchboard.Platform.Database;
using Switchboard.Platform.Http;

namespace Switchboard.Compliance;

/// <summary>Who did something: <c>user</c>, <c>operator</c>, <c>api_key</c>, <c>system</c> or <c>anonymous</c>, with an id and the client address.</summary>
internal sealed record AuditActor(string Type, string? Id, string? Ip)
{
    public static AuditActor System => new("system", null, null);
}

/// <summary>Result of checking a tenant's audit chain.</summary>
/// <param name="Valid">True when every entry's hash and link are intact and the sequence has no gap.</param>
/// <param name="Entries">Entries checked.</param>
/// <param name="FirstInvalidSeq">Sequence number of the first entry that fails, if any.</param>
/// <param name="Reason">Why it fails: <c>hash-mismatch</c>, <c>broken-link</c> or <c>sequence-gap</c>.</param>
/// <param name="HeadHash">Hash of the last entry: record it elsewhere to detect a truncated tail later.</param>
public sealed record AuditVerification(bool Valid, int Entries, long? FirstInvalidSeq, string? Reason, string? HeadHash);

/// <summary>
/// The append-only, hash-chained audit log. Each tenant has its own chain (<see cref="Guid.Empty"/> is the
/// installation's): entry n stores <c>PrevHash</c> = hash of entry n−1 and <c>Hash</c> = SHA-256 over the canonical
/// JSON array <c>[tenantId, seq, atUnixMs, actorType, actorId, action, target, ip, detailsJson, prevHash]</c>, so
/// changing, removing or reordering any entry breaks verification from that entry on. Appends run in their own
/// unit of work; two concurrent appends to one chain collide on the unique (TenantId, Seq) index and the loser retries.
/// </summary>
internal sealed class AuditLog(IServiceScopeFactory scopes, TimeProvider clock, ILogger<AuditLog> logger)
{
    public const string Genesis = "0000000000000000000000000000000000000000000000000000000000000000";
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Appends an entry to <paramref name="tenantId"/>'s chain (installation chain when null). Never throws for a failed write: it logs it.</summary>
    public async Task AppendAsync(Guid? tenantId, AuditActor actor, string action, string? target = null, object? details = null, CancellationToken ct = default)
    {
        var chain = tenantId ?? Guid.Empty;
        var detailsJson = details is null ? null : JsonSerializer.Serialize(details, Json);
        for (var attempt = 1; attempt <= 8; attempt++)
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>();
            try
            {
                var last = await db.AuditLog.IgnoreQueryFilters().Where(a => a.TenantId == chain)
                    .OrderByDescending(a => a.Seq).Select(a => new { a.Seq, a.Hash }).FirstOrDefaultAsync(ct);
                var now = clock.GetUtcNow();
                var entry = new AuditEntry
                {
                    Id = Guid.CreateVersion7(),
                    TenantId = chain,
                    Seq = (last?.Seq ?? 0) + 1,
                    // Millisecond precision: both providers store it exactly, so the hash recomputes.
                    At = DateTimeOffset.FromUnixTimeMilliseconds(now.ToUnixTimeMilliseconds()),
                    ActorType = Cap(actor.Type, 16)!,
                    ActorId = Cap(actor.Id, 100),
                    Action = Cap(action, 64)!,
                    Target = Cap(target, 300),
                    Ip = Cap(actor.Ip, 64),
                    DetailsJson = detailsJson,
                    PrevHash = last?.Hash ?? Genesis,
                    Hash = "",
                };
                entry.Hash = HashOf(entry);
                db.AuditLog.Add(entry);
                await db.SaveChangesAsync(ct);
                return;
            }
            catch (DbUpdateException) when (attempt < 8)
            {
                await Task.Delay(Random.Shared.Next(1, 10 * attempt), ct);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogError(e, "Could not append audit entry {Action}", action);
                return;
            }
        }
    }

    /// <summary>Recomputes the chain of <paramref name="tenantId"/> in order.</summary>
    public static async Task<AuditVerification> VerifyAsync(SwitchboardDbContext db, Guid tenantId, CancellationToken ct)
    {
        var previous = Genesis;
        long expected = 1;
        var count = 0;
        await foreach (var entry in db.AuditLog.IgnoreQueryFilters().AsNoTracking().Where(a => a.TenantId == tenantId)
                           .OrderBy(a => a.Seq).AsAsyncEnumerable().WithCancellation(ct))
        {
            count++;
            if (entry.Seq != expected)
            {
                return new AuditVerification(false, count, entry.Seq, "sequence-gap", null);
            }
            if (entry.PrevHash != previous)
            {
                return new AuditVerification(false, count, entry.Seq, "broken-link", null);
            }
            if (HashOf(entry) != entry.Hash)
            {
                return new AuditVerification(false, count, entry.Seq, "hash-mismatch", null);
            }
            previous = entry.Hash;
            expected++;
        }
        return new AuditVerification(true, count, null, null, count == 0 ? null : previous);
    }

    /// <summary>Lower-case hex SHA-256 of the entry's canonical JSON (every field but <c>Id</c> and <c>Hash</c>).</summary>
    internal static string HashOf(AuditEntry e)
    {
        var canonical = JsonSerializer.SerializeToUtf8Bytes(new object?[]
        {
            e.TenantId.ToString("D"), e.Seq, e.At.ToUnixTimeMilliseconds(), e.ActorType, e.ActorId, e.Action, e.Target, e.Ip, e.DetailsJson, e.PrevHash,
        });
        return Convert.ToHexStringLower(SHA256.HashData(canonical));
    }

    private static string? Cap(string? s, int max) => TolerantJson.Cap(s, max);
}

/// <summary>Refuses any update or delete of an audit entry through EF (the log is append-only). Bulk erasure of a tenant bypasses EF explicitly.</summary>
internal sealed class AppendOnlyAuditInterceptor : SaveChangesInterceptor
{
    public override InterceptionResult<int> SavingChanges(DbContextEventData eventData, InterceptionResult<int> result)
    {
        Check(eventData.Context);
        return result;
    }

    public override ValueTask<InterceptionResult<int>> SavingChangesAsync(DbContextEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
    {
        Check(eventData.Context);
        return ValueTask.FromResult(result);
    }

    private static void Check(DbContext? context)
    {
        if (context?.ChangeTracker.Entries<AuditEntry>().Any(e => e.State is EntityState.Modified or EntityState.Deleted) == true)
        {
            throw new InvalidOperationException("The audit log is append-only.");
        }
    }
}

/// <summary>Canonical UTF-8 helpers shared by compliance code.</summary>
internal static class ComplianceText
{
    public static string Sha256Hex(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
}
