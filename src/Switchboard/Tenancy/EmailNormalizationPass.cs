using Microsoft.EntityFrameworkCore;
using Switchboard.Platform.Database;

namespace Switchboard.Tenancy;

/// <summary>
/// Rewrites e-mail addresses stored before <see cref="AccountService.NormalizeEmail"/> applied NFKC, once per database,
/// during the host's start (an <see cref="IHostedService"/> whose <see cref="StartAsync"/> the host awaits before it
/// listens, so no sign-in meets the old form). Until 9a952f7 addresses were only trimmed and lower-cased (a decomposed
/// <c>e</c> + U+0301 stayed so), until 930260b they were NFC (a fullwidth <c>ｏｗｎｅｒ＠example.com</c> stayed so); sign-in,
/// sign-up, invitations and reset now look the NFKC form up, which such a row never equals, so its account could not sign
/// in. SQL has no NFKC, so the rows are found in SQL by what every older form shares, a character outside printable ASCII
/// (each older form was already trimmed and lower-cased, so an all-ASCII address is already in the current form), read in
/// keyset batches of <see cref="Batch"/>, and normalised here.
/// <list type="bullet">
/// <item><c>users.Email</c> (unique): each account is rewritten in its own short transaction together with its
/// <c>account_tokens.Email</c> rows of the same address (a verification link compares the two, ordinally).</item>
/// <item>Collisions never lose an account: an address already held in the normalised form stays with its holder (that is
/// the account sign-in finds today); among older rows that normalise to one free address, the oldest account
/// (<see cref="User.CreatedAt"/>, then id) gets it. Every other one keeps its stored address, is logged as a warning with
/// its user id, and still signs in by typing that stored form (<see cref="AccountService.FindByEmailAsync"/> falls back to
/// the older forms).</item>
/// <item><c>invitations.Email</c> (no uniqueness): normalised, except an address that is exactly a kept account's, so
/// accepting it still joins that account.</item>
/// <item><c>email_messages.To</c> is the record of what was sent and is left as it was.</item>
/// </list>
/// A completed pass is recorded in <c>__switchboard_migrations</c> (id <see cref="Marker"/>, as
/// <see cref="Knowledge.KnowledgeTermsRefresh"/> does), so later starts read one row. The pass is idempotent: nodes that
/// start together reach the same result (each row's update is guarded by its old address; a lost unique-index race is a
/// collision), and a pass cut short runs again at the next start. A failure is logged, never fatal; a database with
/// migrations pending is left for the start after <c>switchboard migrate</c>.
/// </summary>
internal sealed class EmailNormalizationPass(IServiceScopeFactory scopes, Migrator migrator, ILogger<EmailNormalizationPass> logger) : IHostedService
{
    /// <summary>Rows read per batch.</summary>
    internal const int Batch = 200;

    /// <summary>The id recorded in <c>__switchboard_migrations</c> once the pass completes.</summary>
    internal const string Marker = "pass:emails_nfkc";

    /// <summary>What a pass did: accounts and invitations rewritten, and the ids of accounts that kept their address (collisions).</summary>
    internal sealed record Outcome(int UsersRewritten, int InvitationsRewritten, IReadOnlyList<Guid> UsersKept);

    /// <inheritdoc />
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            if (await migrator.PendingAsync(cancellationToken) is { Count: > 0 } pending)
            {
                logger.LogWarning("E-mail normalisation skipped: {Count} migrations pending; it runs at the next start", pending.Count);
                return;
            }
            await using var scope = scopes.CreateAsyncScope();
            if (await RunOnceAsync(scope.ServiceProvider, cancellationToken) is { } done && (done.UsersRewritten + done.InvitationsRewritten + done.UsersKept.Count) > 0)
            {
                logger.LogInformation("E-mail normalisation (NFKC): {Users} accounts and {Invitations} invitations rewritten, {Kept} accounts kept their address",
                    done.UsersRewritten, done.InvitationsRewritten, done.UsersKept.Count);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            logger.LogError(e, "E-mail normalisation (NFKC) failed; accounts stored in an older form cannot sign in until it runs at the next start");
        }
    }

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// The start's pass: null, reading nothing else, when <see cref="Marker"/> is recorded; otherwise
    /// <see cref="NormalizeAsync"/>, then the marker. Errors are the database's.
    /// </summary>
    internal static async Task<Outcome?> RunOnceAsync(IServiceProvider services, CancellationToken ct)
    {
        var db = services.GetRequiredService<SwitchboardDbContext>();
        if (await db.Database.SqlQuery<int>($"""SELECT COUNT(*) AS "Value" FROM __switchboard_migrations WHERE id = {Marker}""").SingleAsync(ct) > 0)
        {
            return null;
        }
        var outcome = await NormalizeAsync(services, ct);
        var at = services.GetRequiredService<TimeProvider>().GetUtcNow().ToString("O");
        using (await services.GetRequiredService<SqliteWriteGate>().EnterAsync(db, ct))
        {
            await db.Database.ExecuteSqlAsync($"INSERT INTO __switchboard_migrations (id, applied_at) VALUES ({Marker}, {at}) ON CONFLICT (id) DO NOTHING", ct);
        }
        return outcome;
    }

    /// <summary>Rewrites every stored address not in its normalised form (see the class). Errors are the database's.</summary>
    internal async static Task<Outcome> NormalizeAsync(IServiceProvider services, CancellationToken ct)
    {
        var db = services.GetRequiredService<SwitchboardDbContext>();
        var gate = services.GetRequiredService<SqliteWriteGate>();
        var logger = services.GetRequiredService<ILogger<EmailNormalizationPass>>();

        var users = new List<(Guid Id, string Email, DateTimeOffset CreatedAt)>();
        await foreach (var batch in NonAsciiAsync(db, db.Users.Select(u => new Row { Id = u.Id, Email = u.Email, CreatedAt = u.CreatedAt }), ct))
        {
            users.AddRange(batch.Select(r => (r.Id, r.Email, r.CreatedAt)));
        }
        var rewritten = 0;
        var kept = new List<Guid>();
        // Oldest first, so of two older rows that normalise alike the older account gets the address.
        foreach (var (id, stored, _) in users.OrderBy(u => u.CreatedAt).ThenBy(u => u.Id))
        {
            var normalized = AccountService.NormalizeEmail(stored);
            if (normalized == stored)
            {
                continue;
            }
            if (await db.Users.AnyAsync(u => u.Email == normalized, ct) || !await RewriteUserAsync(db, gate, id, stored, normalized, ct))
            {
                kept.Add(id);
                logger.LogWarning("E-mail normalisation: account {UserId} keeps its stored address, whose normalised form belongs to another account; it signs in with the address typed as stored", id);
                continue;
            }
            rewritten++;
        }

        var invitations = 0;
        await foreach (var batch in NonAsciiAsync(db, db.Invitations.IgnoreQueryFilters().Select(i => new Row { Id = i.Id, Email = i.Email, CreatedAt = i.CreatedAt }), ct))
        {
            foreach (var invitation in batch)
            {
                var normalized = AccountService.NormalizeEmail(invitation.Email);
                if (normalized == invitation.Email || await db.Users.AnyAsync(u => u.Email == invitation.Email, ct))
                {
                    continue;
                }
                using (await gate.EnterAsync(db, ct))
                {
                    invitations += await db.Invitations.IgnoreQueryFilters().Where(i => i.Id == invitation.Id && i.Email == invitation.Email)
                        .ExecuteUpdateAsync(s => s.SetProperty(i => i.Email, normalized), ct);
                }
            }
        }
        return new Outcome(rewritten, invitations, kept);
    }

    /// <summary>A row's id, stored address and creation time (set by member initialisation, which EF can filter through).</summary>
    private sealed class Row
    {
        public Guid Id { get; init; }
        public required string Email { get; init; }
        public DateTimeOffset CreatedAt { get; init; }
    }

    /// <summary>
    /// The rows of <paramref name="rows"/> whose address holds a character outside printable ASCII, in batches of
    /// <see cref="Batch"/> ordered by id (keyset: each batch starts after the last id of the one before).
    /// </summary>
    private static async IAsyncEnumerable<List<Row>> NonAsciiAsync(
        SwitchboardDbContext db, IQueryable<Row> rows, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        var filtered = db.IsSqlite
            ? rows.Where(r => EF.Functions.Glob(r.Email, "*[^ -~]*"))
            : rows.Where(r => System.Text.RegularExpressions.Regex.IsMatch(r.Email, "[^\\x20-\\x7e]"));
        Guid? after = null;
        while (true)
        {
            var page = after is { } last ? filtered.Where(r => r.Id.CompareTo(last) > 0) : filtered;
            var batch = await page.OrderBy(r => r.Id).Take(Batch).ToListAsync(ct);
            if (batch.Count == 0)
            {
                yield break;
            }
            yield return batch;
            after = batch[^1].Id;
        }
    }

    /// <summary>
    /// Gives account <paramref name="id"/> the address <paramref name="normalized"/> if it still holds <paramref name="stored"/>,
    /// with its tokens of that address, in one transaction. False when another account took the address first (the unique index).
    /// </summary>
    private static async Task<bool> RewriteUserAsync(SwitchboardDbContext db, SqliteWriteGate gate, Guid id, string stored, string normalized, CancellationToken ct)
    {
        using var turn = await gate.EnterAsync(db, ct);
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var user = await db.Users.FirstOrDefaultAsync(u => u.Id == id && u.Email == stored, ct);
        if (user is null)
        {
            return true; // rewritten or removed meanwhile (another node's pass)
        }
        user.Email = normalized;
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException e) when (UniqueViolation.Is(e))
        {
            db.ChangeTracker.Clear();
            return false;
        }
        await db.AccountTokens.Where(t => t.UserId == id && t.Email == stored).ExecuteUpdateAsync(s => s.SetProperty(t => t.Email, normalized), ct);
        await tx.CommitAsync(ct);
        return true;
    }
}
