using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Switchboard.Assistants;
using Switchboard.Credentials;
using Switchboard.Knowledge;
using Switchboard.Platform.Database;
using Switchboard.Tenancy;

namespace Switchboard.Platform;

/// <summary>
/// What a newcomer needs to try the demo tenant. Saved to <c>data/demo-credentials.json</c> (mode 600) because the API key
/// and the password are stored hashed. <c>DashboardEmail</c>/<c>DashboardPassword</c>: the demo tenant's owner, to sign in
/// to the dashboard (null in files written before the dashboard existed, until the next start adds them);
/// <c>PublishableKey</c>: the web chat widget's key (null in files written before the widget existed).
/// </summary>
internal sealed record DemoCredentials(Guid TenantId, string TenantName, string VapiWebhookSecret, string ApiKey,
    string? DashboardEmail = null, string? DashboardPassword = null, string? PublishableKey = null);

/// <summary>
/// Creates the demo tenant, Drain Fortin (plumbing near Montréal: America/Toronto, fr-CA), with its assistant
/// "Paul" (Vapi, Québec French and English, never transfers), on-call numbers and a small bilingual knowledge base
/// (<see cref="DemoKnowledge"/>; added to an existing demo tenant that has none).
/// </summary>
internal sealed class DemoSeeder(
    SwitchboardDbContext db, SecretProtector secrets, TimeProvider clock, IHostEnvironment env,
    Microsoft.AspNetCore.Identity.IPasswordHasher<User> hasher, KnowledgeIngestion knowledge)
{
    /// <summary>The demo tenant owner's email (dashboard contract, issue 8).</summary>
    public const string OwnerEmail = "owner@drainfortin.demo";

    /// <summary>The demo tenant's fixed id, so the README's commands can be copied as they are.</summary>
    public static readonly Guid DemoTenantId = Guid.Parse("6d0a1c8e-2f4b-4c1a-9e57-d1a9f0a7c001");

    public string CredentialsPath => Path.Combine(env.ContentRootPath, "data", "demo-credentials.json");

    public Task<bool> DatabaseIsEmptyAsync(CancellationToken ct) => db.Tenants.AnyAsync(ct).ContinueWith(t => !t.Result, ct);

    /// <summary>Creates the demo tenant unless it exists; returns its credentials (from the saved file when it already existed).</summary>
    public async Task<DemoCredentials?> SeedAsync(CancellationToken ct)
    {
        if (await db.Tenants.AnyAsync(t => t.Id == DemoTenantId, ct))
        {
            if (!await db.KnowledgeDocuments.IgnoreQueryFilters().AnyAsync(d => d.TenantId == DemoTenantId, ct))
            {
                await DemoKnowledge.SeedAsync(knowledge, DemoTenantId, ct);
            }
            return await AddOwnerIfMissingAsync(ReadSaved(), ct);
        }
        var now = clock.GetUtcNow();
        var secret = ApiKeys.GenerateWebhookSecret();
        var key = ApiKeys.Generate();
        db.Tenants.Add(new Tenant
        {
            Id = DemoTenantId,
            Name = "Drain Fortin",
            TimeZone = "America/Toronto",
            Locale = "fr-CA",
            BusinessHours = new BusinessHours
            {
                Weekly = new Dictionary<DayOfWeek, List<string>>
                {
                    [DayOfWeek.Monday] = ["07:30-17:30"],
                    [DayOfWeek.Tuesday] = ["07:30-17:30"],
                    [DayOfWeek.Wednesday] = ["07:30-17:30"],
                    [DayOfWeek.Thursday] = ["07:30-17:30"],
                    [DayOfWeek.Friday] = ["07:30-17:30"],
                    [DayOfWeek.Saturday] = ["09:00-12:00"],
                },
                Holidays = ["2026-12-25", "2027-01-01"],
            },
            AlertPolicy = new AlertPolicy
            {
                OnCallNumbers = ["+15145550111"],
                OfficeNumbers = ["+15145550100"],
                NonUrgentDelivery = "business-hours",
            },
            UrgencyRules = UrgencyRules.Plumbing,
            VapiWebhookSecretProtected = secrets.Protect(secret),
            CreatedAt = now,
            // Native voice against the realtime simulator that `switchboard simulate-call` starts on its well-known port;
            // a random Twilio auth token signs the simulated webhooks (no account sid: SMS and recordings stay simulated).
            TwilioAuthTokenProtected = secrets.Protect(ApiKeys.GenerateWebhookSecret()),
            RealtimeBaseUrl = Realtime.RealtimeOptions.SimulatorUrl,
        });
        db.Assistants.Add(new Assistant
        {
            Id = Guid.CreateVersion7(),
            TenantId = DemoTenantId,
            Name = "Paul",
            Provider = "vapi",
            Languages = ["fr-CA", "en-US"],
            IsDefault = true,
            FirstMessage = "Drain Fortin, bonjour! Ici Paul. Comment puis-je vous aider? / Hello, this is Paul, how can I help?",
            Instructions = "Tu es Paul, le réceptionniste de Drain Fortin, plombier près de Montréal. Réponds en français québécois ou en anglais selon " +
                           "l'appelant. Ne transfère jamais l'appel. Prends le nom, le numéro de rappel, l'adresse et le problème avec capture_lead. " +
                           "En cas d'inondation, de refoulement d'égout, de tuyau éclaté ou gelé ou d'absence d'eau, c'est une urgence: " +
                           "rassure l'appelant, le plombier de garde est texté immédiatement.",
            CreatedAt = now,
        });
        db.ApiKeys.Add(new ApiKey { Id = Guid.CreateVersion7(), TenantId = DemoTenantId, Name = "demo", Prefix = key.Prefix, Hash = key.Hash, CreatedAt = now });
        var password = AddOwner(now);
        var widgetKey = AddPublishableKey(now);
        await db.SaveChangesAsync(ct);
        await DemoKnowledge.SeedAsync(knowledge, DemoTenantId, ct);

        var credentials = new DemoCredentials(DemoTenantId, "Drain Fortin", secret, key.Plaintext, OwnerEmail, password, widgetKey);
        await SaveAsync(credentials, ct);
        return credentials;
    }

    /// <summary>A demo seeded before the dashboard existed has no owner to sign in with: add one, and its login to the saved file.</summary>
    private async Task<DemoCredentials?> AddOwnerIfMissingAsync(DemoCredentials? saved, CancellationToken ct)
    {
        if (saved is null || saved.DashboardEmail is not null || await db.Users.AnyAsync(u => u.Email == OwnerEmail, ct))
        {
            return saved;
        }
        var password = AddOwner(clock.GetUtcNow());
        await db.SaveChangesAsync(ct);
        var credentials = saved with { DashboardEmail = OwnerEmail, DashboardPassword = password };
        await SaveAsync(credentials, ct);
        return credentials;
    }

    /// <summary>Adds the demo tenant's owner (random 20-character password) to the unit of work; returns the password.</summary>
    private string AddOwner(DateTimeOffset now)
    {
        var password = System.Security.Cryptography.RandomNumberGenerator.GetString("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789", 20);
        // The demo address cannot receive mail: the owner is seeded verified, so the dashboard shows no confirmation banner.
        var user = new User { Id = Guid.CreateVersion7(), Email = OwnerEmail, PasswordHash = "", FullName = "Demo Owner", CreatedAt = now, EmailVerifiedAt = now };
        user.PasswordHash = hasher.HashPassword(user, password);
        db.Users.Add(user);
        db.Memberships.Add(new Membership { Id = Guid.CreateVersion7(), TenantId = DemoTenantId, UserId = user.Id, Role = Roles.Owner, CreatedAt = now });
        return password;
    }

    /// <summary>Gives a demo tenant seeded before the widget existed a publishable key (saved with its credentials).</summary>
    public async Task<DemoCredentials?> EnsureWidgetKeyAsync(DemoCredentials? demo, CancellationToken ct)
    {
        if (demo is null || demo.PublishableKey is not null || !await db.Tenants.AnyAsync(t => t.Id == demo.TenantId, ct))
        {
            return demo;
        }
        var widgetKey = AddPublishableKey(clock.GetUtcNow());
        await db.SaveChangesAsync(ct);
        demo = demo with { PublishableKey = widgetKey };
        await SaveAsync(demo, ct);
        return demo;
    }

    private string AddPublishableKey(DateTimeOffset now)
    {
        var (plaintext, prefix, hash) = PublishableKeys.Generate();
        db.ApiKeys.Add(new ApiKey
        {
            Id = Guid.CreateVersion7(), TenantId = DemoTenantId, Name = "widget demo", Kind = ApiKeyKinds.Publishable, Prefix = prefix, Hash = hash, CreatedAt = now,
            PublishableKey = plaintext,
        });
        return plaintext;
    }

    private async Task SaveAsync(DemoCredentials credentials, CancellationToken ct)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(CredentialsPath)!);
        await File.WriteAllTextAsync(CredentialsPath, JsonSerializer.Serialize(credentials, new JsonSerializerOptions { WriteIndented = true }), ct);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(CredentialsPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }

    public DemoCredentials? ReadSaved()
    {
        try
        {
            return File.Exists(CredentialsPath) ? JsonSerializer.Deserialize<DemoCredentials>(File.ReadAllText(CredentialsPath)) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
