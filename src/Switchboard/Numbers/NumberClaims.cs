using Microsoft.EntityFrameworkCore;
using Switchboard.Platform.Database;

namespace Switchboard.Numbers;

/// <summary>
/// Who may hold a phone number. Attaching a number is only a claim: the number belongs to a tenant exclusively once it is
/// <c>active</c>, that is once the outbox (<see cref="NumberSyncHandler"/>) found it on the tenant's own Twilio account
/// (<c>IncomingPhoneNumbers.json?PhoneNumber=</c>) and pointed it at Switchboard or imported it into Vapi.
/// <list type="bullet">
/// <item>Unverified rows (<c>pending</c>, <c>waiting-for-credentials</c>, <c>failed</c>) of different tenants may coexist, so a
/// tenant that cannot prove ownership cannot lock the real owner out, and <c>POST /api/v1/numbers</c> never answers 409
/// because of another tenant (it would tell that some tenant holds the number). A tenant's own second attach of the same
/// number is still 409 <c>NUMBER_TAKEN</c>.</item>
/// <item>The database enforces it (migration 0035): a unique index on (<c>TenantId</c>, <c>Number</c>) and a partial unique
/// index on <c>Number</c> where <c>Status = 'active'</c> (<see cref="ActiveFilterSql"/>), so two activations racing for
/// one number cannot both be saved.</item>
/// <item>A number active for one tenant fails verification for any other with <see cref="NotVerified"/>, the same kind of
/// answer as a number missing from the caller's Twilio account; and when a number becomes active, the other tenants'
/// unverified rows for it are released (<see cref="ReleaseOthersAsync"/>: <c>failed</c> with that same reason).</item>
/// <item>Unverified rows that never verify (<c>waiting-for-credentials</c> or <c>failed</c>, never found on a Twilio account)
/// are deleted after <see cref="UnverifiedLifetime"/> by the retention pass (<see cref="ExpireUnverifiedAsync"/>); the tenant
/// can also delete them at any time (<c>DELETE /api/v1/numbers/{id}</c>).</item>
/// </list>
/// Inbound webhooks are addressed per tenant (<c>/webhooks/twilio/voice/{tenantId}</c>, signed with that tenant's auth
/// token) and per-number settings are read only from the tenant's active numbers (<see cref="NumberSchedule"/>), so an
/// unverified row never receives another business's calls.
/// </summary>
internal static class NumberClaims
{
    /// <summary>The status of a number verified on its tenant's Twilio account, and the only one that holds the number exclusively.</summary>
    public const string Active = "active";

    /// <summary>The filter of the partial unique index <c>IX_phone_numbers_Number_active</c> (migration 0035).</summary>
    public const string ActiveFilterSql = "\"Status\" = 'active'";

    /// <summary>How long an unverified attachment is kept: 7 days from its creation.</summary>
    public static readonly TimeSpan UnverifiedLifetime = TimeSpan.FromDays(7);

    /// <summary>
    /// The reason given when a number cannot be verified for this tenant because it is active for another, or was released
    /// when another tenant verified it. Deliberately the same whatever the cause: no answer says another tenant holds it.
    /// </summary>
    public const string NotVerified = "This number is not on your Twilio account, or could not be verified on it. Check the number and the Twilio account, then attach it again.";

    /// <summary>True when a tenant other than <paramref name="number"/>'s holds the same number <c>active</c>.</summary>
    public static Task<bool> HeldElsewhereAsync(SwitchboardDbContext db, PhoneNumber number, CancellationToken ct) =>
        db.PhoneNumbers.IgnoreQueryFilters().AnyAsync(n => n.Number == number.Number && n.TenantId != number.TenantId && n.Status == Active, ct);

    /// <summary>
    /// Marks the other tenants' unverified rows for <paramref name="number"/>'s number <c>failed</c> (<see cref="NotVerified"/>)
    /// and bumps their version, so a sync still queued for them does nothing. Staged on <paramref name="db"/>; the caller saves.
    /// Returns how many rows were released.
    /// </summary>
    public static async Task<int> ReleaseOthersAsync(SwitchboardDbContext db, PhoneNumber number, DateTimeOffset now, CancellationToken ct)
    {
        var others = await db.PhoneNumbers.IgnoreQueryFilters()
            .Where(n => n.Number == number.Number && n.TenantId != number.TenantId && n.Status != Active)
            .ToListAsync(ct);
        foreach (var other in others)
        {
            other.Status = "failed";
            other.LastError = NotVerified;
            other.Version++;
            other.UpdatedAt = now;
        }
        return others.Count;
    }

    /// <summary>
    /// Deletes, across tenants, attachments created more than <see cref="UnverifiedLifetime"/> before <paramref name="now"/>
    /// that never verified: status <c>waiting-for-credentials</c> or <c>failed</c> and no Twilio sid (a number once found on
    /// the tenant's account keeps its row even if a later sync failed). They hold no provider state, so nothing is detached.
    /// Returns the number of rows deleted.
    /// </summary>
    public static Task<int> ExpireUnverifiedAsync(SwitchboardDbContext db, DateTimeOffset now, CancellationToken ct)
    {
        var cutoff = now - UnverifiedLifetime;
        return db.PhoneNumbers.IgnoreQueryFilters()
            .Where(n => (n.Status == "waiting-for-credentials" || n.Status == "failed") && n.TwilioSid == null && n.VapiPhoneNumberId == null && n.CreatedAt < cutoff)
            .ExecuteDeleteAsync(ct);
    }
}
