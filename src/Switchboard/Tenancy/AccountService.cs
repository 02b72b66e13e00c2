using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Switchboard.Billing;
using Switchboard.Compliance;
using Switchboard.Credentials;
using Switchboard.Onboarding;
using Switchboard.Platform.Database;

namespace Switchboard.Tenancy;

/// <summary>The signed-in user.</summary>
/// <remarks><c>EmailVerified</c>: the user proved the email is theirs (verification link, invitation or reset); an unverified user may still sign in.</remarks>
public sealed record SessionUser(Guid Id, string Email, string? FullName, bool EmailVerified);

/// <summary>A tenant the caller can act for, with the caller's role there.</summary>
public sealed record SessionTenant(Guid Id, string Name, string Role);

/// <summary>
/// The caller's session: the user (null for an API key), the tenant acted for, every membership, whether the
/// user is an operator, and the CSRF token to send as <c>X-CSRF-Token</c> on unsafe cookie-authenticated requests.
/// <c>AuthenticatedBy</c> is <c>session</c> or <c>api_key</c>.
/// </summary>
public sealed record SessionInfo(SessionUser? User, SessionTenant? Tenant, IReadOnlyList<SessionTenant> Memberships, bool IsOperator, string? CsrfToken, string AuthenticatedBy);

/// <summary>
/// Sign-up, sign-in and sessions. Passwords go through ASP.NET Core Identity's <see cref="PasswordHasher{TUser}"/>;
/// an unknown email costs the same hash work as a wrong password; after <see cref="AccountOptions.MaxFailedLogins"/>
/// failures in a row the account is locked for <see cref="AccountOptions.LockoutMinutes"/>.
/// </summary>
internal sealed class AccountService(
    SwitchboardDbContext db,
    IPasswordHasher<User> hasher,
    SecretProtector secrets,
    PlanCatalog plans,
    AuditLog audit,
    TimeProvider clock,
    IOptions<AccountOptions> options,
    Dashboard.ILiveEventTransport live)
{
    private static readonly Lazy<string> DummyHash = new(() => new PasswordHasher<User>().HashPassword(null!, "switchboard-timing-equaliser"));

    public AccountOptions Options => options.Value;

    /// <summary>
    /// The form an email is stored and looked up in, the one helper for sign-up, sign-in, invitations, password reset and
    /// the operator CLI: trimmed, Unicode NFKC, lower case. NFKC is NFC (RFC 6532 §3.1: one address typed with a
    /// precomposed or a combining accent is one account) plus the compatibility mappings, which fold the width variants
    /// PRECIS maps for identifiers (RFC 8265 §3.3.1, RFC 8264 §9.3): a fullwidth look-alike (<c>ｏｗｎｅｒ＠example.com</c>)
    /// is <c>owner@example.com</c>, not a second account. Text that is not valid UTF-16 (a lone surrogate, refused before
    /// it reaches here) is only trimmed and lower-cased. Addresses stored in an older form are rewritten once at start-up
    /// (<see cref="EmailNormalizationPass"/>).
    /// </summary>
    public static string NormalizeEmail(string email)
    {
        var trimmed = email.Trim();
        try
        {
            trimmed = trimmed.Normalize(NormalizationForm.FormKC).Trim(); // NFKC may turn an ideographic space into one to trim
        }
        catch (ArgumentException)
        {
            // Not normalisable; the validation that follows answers for it.
        }
        return trimmed.ToLowerInvariant();
    }

    /// <summary>
    /// The account a sign-in names: the one stored under <paramref name="typed"/>'s form from before NFKC if there is one
    /// (trimmed and lower-cased, or NFC then lower-cased, as the older <see cref="NormalizeEmail"/> stored it), else the one
    /// stored under <see cref="NormalizeEmail"/>'s form; null when neither exists. An older form is stored only by an
    /// account that <see cref="EmailNormalizationPass"/> left as it was because its normalised address belonged to another
    /// account, and typing its address as stored is how that account still signs in. For any other input the older forms
    /// equal the normalised one and this is one indexed lookup.
    /// </summary>
    public static async Task<User?> FindByEmailAsync(SwitchboardDbContext db, string typed, CancellationToken ct)
    {
        var normalized = NormalizeEmail(typed);
        var trimmed = typed.Trim();
        string older = trimmed.ToLowerInvariant(), olderNfc = older;
        try
        {
            olderNfc = trimmed.Normalize(NormalizationForm.FormC).ToLowerInvariant();
        }
        catch (ArgumentException)
        {
            // Not normalisable: only its trimmed, lower-cased form can be stored.
        }
        if (older == normalized && olderNfc == normalized)
        {
            return await db.Users.FirstOrDefaultAsync(u => u.Email == normalized, ct);
        }
        var found = await db.Users.Where(u => u.Email == normalized || u.Email == older || u.Email == olderNfc).ToListAsync(ct);
        return found.FirstOrDefault(u => u.Email != normalized) ?? found.FirstOrDefault();
    }

    /// <summary>
    /// Password rules (NIST SP 800-63B §3.1.1.2: a length floor, no composition rules, and a check against commonly used,
    /// sequential or repetitive passwords and words of the context): <see cref="AccountOptions.MinPasswordLength"/> to 128
    /// characters, not the email, and not guessable in zxcvbn's estimate (score 0: "password123", "qwertyuiop",
    /// "1234567890", the email's own name or domain followed by digits). Returns the problem, worded after the field name,
    /// or null.
    /// </summary>
    public string? PasswordProblem(string? password, string? email) =>
        string.IsNullOrEmpty(password) ? "is required"
        : password.Length < options.Value.MinPasswordLength ? $"must be at least {options.Value.MinPasswordLength} characters"
        : password.Length > 128 ? "must be at most 128 characters"
        : email is not null && string.Equals(password, email, StringComparison.OrdinalIgnoreCase) ? "must not be the email"
        : Zxcvbn.Zxcvbn.MatchPassword(password, ContextWords(email)).Score == 0
            ? "is too easy to guess (a common password, a keyboard run or a repeated pattern): use a few unrelated words"
        : null;

    /// <summary>Words a guesser would try first for this account: the email and the parts of its name and domain.</summary>
    private static IEnumerable<string> ContextWords(string? email) =>
        email is null ? ["switchboard"]
            : [email, "switchboard", .. email.Split(['@', '.', '-', '_', '+'], StringSplitOptions.RemoveEmptyEntries).Where(w => w.Length >= 3)];

    public string HashPassword(User user, string password) => hasher.HashPassword(user, password);

    /// <summary>The time zone a new organisation starts in when the sign-up gives none.</summary>
    public const string DefaultTimeZone = "UTC";

    /// <summary>The locale a new organisation starts in when the sign-up gives none.</summary>
    public const string DefaultLocale = "en-US";

    /// <summary>
    /// Creates a tenant (with a fresh Vapi webhook secret and its account, onboarding and studio rows) and its owner, in
    /// <paramref name="timeZone"/> and <paramref name="locale"/> (already validated) or <see cref="DefaultTimeZone"/> and
    /// <see cref="DefaultLocale"/>.
    /// </summary>
    public async Task<(User User, Tenant Tenant)> SignUpAsync(
        string email, string password, string organisation, string? fullName, string? timeZone, string? locale, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var user = new User { Id = Guid.CreateVersion7(), Email = email, PasswordHash = "", FullName = fullName, CreatedAt = now };
        user.PasswordHash = hasher.HashPassword(user, password);
        var tenant = new Tenant
        {
            Id = Guid.CreateVersion7(),
            Name = organisation,
            TimeZone = timeZone ?? DefaultTimeZone,
            Locale = locale ?? DefaultLocale,
            UrgencyRules = UrgencyRules.Generic,
            VapiWebhookSecretProtected = secrets.Protect(ApiKeys.GenerateWebhookSecret()),
            CreatedAt = now,
        };
        db.Users.Add(user);
        db.Tenants.Add(tenant);
        db.Memberships.Add(new Membership { Id = Guid.CreateVersion7(), TenantId = tenant.Id, UserId = user.Id, Role = Roles.Owner, CreatedAt = now });
        db.TenantAccounts.Add(new TenantAccount { TenantId = tenant.Id, PlanId = plans.SignupPlanId, PlanChangedAt = now, CreatedAt = now, UpdatedAt = now });
        db.OnboardingStates.Add(new OnboardingState { TenantId = tenant.Id, UpdatedAt = now });
        db.StudioConfigs.Add(new StudioConfig { TenantId = tenant.Id, UpdatedAt = now });
        await db.SaveChangesAsync(ct);
        return (user, tenant);
    }

    /// <summary>Outcome of checking a password.</summary>
    public enum PasswordCheck
    {
        Ok,
        Wrong,
        Locked,
    }

    /// <summary>
    /// Checks <paramref name="password"/> for <paramref name="user"/> (null: unknown email, still hashed for timing),
    /// counting failures and locking the account when they reach the limit. Saves the user's counters.
    /// </summary>
    public async Task<(PasswordCheck Result, TimeSpan RetryAfter)> CheckPasswordAsync(User? user, string password, string? ip, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        if (user is null)
        {
            hasher.VerifyHashedPassword(null!, DummyHash.Value, password);
            return (PasswordCheck.Wrong, TimeSpan.Zero);
        }
        if (user.LockedUntil is { } until && until > now)
        {
            return (PasswordCheck.Locked, until - now);
        }
        var verdict = hasher.VerifyHashedPassword(user, user.PasswordHash, password);
        if (verdict == PasswordVerificationResult.Failed)
        {
            // Counted in the database, not on the row read before hashing: guesses sent in parallel all read the same
            // count, and writing it back plus one would let any number of them through without a lockout.
            var max = options.Value.MaxFailedLogins;
            var lockedUntil = (DateTimeOffset?)now.AddMinutes(options.Value.LockoutMinutes);
            await db.Users.Where(u => u.Id == user.Id).ExecuteUpdateAsync(s => s.SetProperty(u => u.FailedLogins, u => u.FailedLogins + 1), ct);
            var locked = await db.Users.Where(u => u.Id == user.Id && u.FailedLogins >= max)
                .ExecuteUpdateAsync(s => s.SetProperty(u => u.LockedUntil, lockedUntil).SetProperty(u => u.FailedLogins, 0), ct) > 0;
            await audit.AppendAsync(null, new AuditActor("anonymous", null, ip), locked ? "auth.lockout" : "auth.login_failed", "user:" + user.Id, null, ct);
            return locked ? (PasswordCheck.Locked, TimeSpan.FromMinutes(options.Value.LockoutMinutes)) : (PasswordCheck.Wrong, TimeSpan.Zero);
        }
        if (verdict == PasswordVerificationResult.SuccessRehashNeeded)
        {
            user.PasswordHash = hasher.HashPassword(user, password);
        }
        user.FailedLogins = 0;
        user.LockedUntil = null;
        user.LastLoginAt = now;
        await db.SaveChangesAsync(ct);
        return (PasswordCheck.Ok, TimeSpan.Zero);
    }

    /// <summary>The tenant a new session acts for: the requested one if the user may, else the oldest membership (null for an operator with none).</summary>
    public async Task<Guid?> ChooseTenantAsync(User user, Guid? requested, CancellationToken ct)
    {
        var memberships = await db.Memberships.IgnoreQueryFilters().Where(m => m.UserId == user.Id)
            .OrderBy(m => m.CreatedAt).Select(m => m.TenantId).ToListAsync(ct);
        if (requested is { } r)
        {
            if (memberships.Contains(r) || (user.IsOperator && await db.Tenants.AnyAsync(t => t.Id == r, ct)))
            {
                return r;
            }
            return null;
        }
        return memberships.Count > 0 ? memberships[0] : null;
    }

    /// <summary>Starts a session: stores its row, sets the HttpOnly session cookie and the readable CSRF cookie. Returns the CSRF token.</summary>
    public async Task<string> StartSessionAsync(HttpContext http, User user, Guid? tenantId, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var session = new UserSession
        {
            Id = Guid.CreateVersion7(),
            UserId = user.Id,
            TenantId = tenantId,
            CreatedAt = now,
            ExpiresAt = now.AddHours(options.Value.SessionHours),
            Ip = http.Connection.RemoteIpAddress?.ToString(),
            UserAgent = http.Request.Headers.UserAgent.ToString() is { Length: > 0 } ua ? (ua.Length > 300 ? ua[..300] : ua) : null,
        };
        db.UserSessions.Add(session);
        await db.SaveChangesAsync(ct);
        var csrf = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        await http.SignInAsync(SessionAuthentication.CookieScheme, SessionAuthentication.TicketPrincipal(session.Id, csrf),
            new AuthenticationProperties { IsPersistent = false, ExpiresUtc = session.ExpiresAt, AllowRefresh = false });
        var development = http.RequestServices.GetRequiredService<IHostEnvironment>().IsDevelopment();
        http.Response.Cookies.Append(SessionAuthentication.CsrfCookieName, csrf, new CookieOptions
        {
            HttpOnly = false,
            Secure = !development || http.Request.IsHttps,
            SameSite = SameSiteMode.Strict,
            Path = "/",
        });
        return csrf;
    }

    /// <summary>Revokes the session row, ends its live-event streams on every node, and clears both cookies.</summary>
    public async Task EndSessionAsync(HttpContext http, Guid sessionId, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        await db.UserSessions.Where(s => s.Id == sessionId && s.RevokedAt == null).ExecuteUpdateAsync(s => s.SetProperty(x => x.RevokedAt, now), ct);
        await live.RevokeAccessAsync(Dashboard.AccessRevocation.Session(sessionId));
        await http.SignOutAsync(SessionAuthentication.CookieScheme);
        http.Response.Cookies.Delete(SessionAuthentication.CsrfCookieName);
    }

    /// <summary>Describes the session of <paramref name="userId"/> acting for <paramref name="tenantId"/>.</summary>
    public async Task<SessionInfo> DescribeAsync(Guid userId, Guid? tenantId, string? csrf, CancellationToken ct)
    {
        var user = await db.Users.AsNoTracking().FirstAsync(u => u.Id == userId, ct);
        var memberships = await db.Memberships.IgnoreQueryFilters().AsNoTracking().Where(m => m.UserId == userId)
            .Join(db.Tenants, m => m.TenantId, t => t.Id, (m, t) => new { t.Id, t.Name, m.Role, m.CreatedAt })
            .OrderBy(x => x.CreatedAt).ToListAsync(ct);
        var isOperator = user.IsOperator;
        SessionTenant? current = null;
        if (tenantId is { } t)
        {
            var m = memberships.FirstOrDefault(x => x.Id == t);
            if (m is not null)
            {
                current = new SessionTenant(m.Id, m.Name, m.Role);
            }
            else if (isOperator && await db.Tenants.AsNoTracking().Where(x => x.Id == t).Select(x => x.Name).FirstOrDefaultAsync(ct) is { } name)
            {
                current = new SessionTenant(t, name, Roles.Owner);
            }
        }
        return new SessionInfo(new SessionUser(user.Id, user.Email, user.FullName, user.EmailVerifiedAt != null), current,
            memberships.Select(x => new SessionTenant(x.Id, x.Name, x.Role)).ToList(), isOperator, csrf, "session");
    }
}
