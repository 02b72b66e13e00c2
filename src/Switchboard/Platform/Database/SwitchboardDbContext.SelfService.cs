using System.Linq.Expressions;
using Microsoft.EntityFrameworkCore;
using Switchboard.Assistants;
using Switchboard.Billing;
using Switchboard.Compliance;
using Switchboard.Credentials;
using Switchboard.Numbers;
using Switchboard.Onboarding;
using Switchboard.Tenancy;

namespace Switchboard.Platform.Database;

/// <summary>The self-service part of the model: accounts, onboarding, credentials, numbers, billing, compliance (migration 0004).</summary>
internal sealed partial class SwitchboardDbContext
{
    public DbSet<User> Users => Set<User>();
    public DbSet<Membership> Memberships => Set<Membership>();
    public DbSet<UserSession> UserSessions => Set<UserSession>();
    public DbSet<Invitation> Invitations => Set<Invitation>();
    public DbSet<TenantAccount> TenantAccounts => Set<TenantAccount>();
    public DbSet<OnboardingState> OnboardingStates => Set<OnboardingState>();
    public DbSet<StudioConfig> StudioConfigs => Set<StudioConfig>();
    public DbSet<ProviderCredential> ProviderCredentials => Set<ProviderCredential>();
    public DbSet<PhoneNumber> PhoneNumbers => Set<PhoneNumber>();
    public DbSet<UsageRecord> UsageRecords => Set<UsageRecord>();
    public DbSet<AuditEntry> AuditLog => Set<AuditEntry>();
    public DbSet<Http.IdempotencyRecord> IdempotencyKeys => Set<Http.IdempotencyRecord>();

    private void ConfigureSelfService(ModelBuilder b)
    {
        // Users and sessions are installation-wide: no tenant filter. Code reaches them by id or email only.
        b.Entity<User>(e =>
        {
            e.ToTable("users");
            e.HasIndex(x => x.Email).IsUnique();
            e.Property(x => x.Email).HasMaxLength(254);
            e.Property(x => x.PasswordHash).HasMaxLength(200);
            e.Property(x => x.FullName).HasMaxLength(200);
        });

        b.Entity<UserSession>(e =>
        {
            e.ToTable("user_sessions");
            e.HasIndex(x => x.UserId);
            e.Property(x => x.Ip).HasMaxLength(64);
            e.Property(x => x.UserAgent).HasMaxLength(300);
            e.HasOne<User>().WithMany().HasForeignKey(x => x.UserId).OnDelete(DeleteBehavior.Cascade);
        });

        b.Entity<Membership>(e =>
        {
            e.ToTable("memberships");
            e.HasIndex(x => new { x.TenantId, x.UserId }).IsUnique();
            // Sign-in looks a user's memberships up across tenants.
            e.HasIndex(x => x.UserId);
            e.Property(x => x.Role).HasMaxLength(16);
            e.HasOne<User>().WithMany().HasForeignKey(x => x.UserId).OnDelete(DeleteBehavior.Cascade);
            TenantOwned(e);
        });

        b.Entity<Invitation>(e =>
        {
            e.ToTable("invitations");
            e.HasIndex(x => new { x.TenantId, x.Email });
            e.HasIndex(x => x.TokenHash).IsUnique();
            e.Property(x => x.Email).HasMaxLength(254);
            e.Property(x => x.Role).HasMaxLength(16);
            e.Property(x => x.TokenHash).HasMaxLength(64);
            TenantOwned(e);
        });

        b.Entity<TenantAccount>(e =>
        {
            e.ToTable("tenant_accounts");
            e.HasKey(x => x.TenantId);
            e.Property(x => x.PlanId).HasMaxLength(32);
            e.Property(x => x.Status).HasMaxLength(16);
            e.Property(x => x.Industry).HasMaxLength(100);
            e.Property(x => x.TermsVersion).HasMaxLength(32);
            e.Property(x => x.VoiceProvider).HasMaxLength(16);
            e.Property(x => x.StripeCustomerId).HasMaxLength(64);
            e.Property(x => x.StripeSubscriptionId).HasMaxLength(64);
            e.Property(x => x.SubscriptionStatus).HasMaxLength(32);
            e.HasIndex(x => x.StripeCustomerId).IsUnique();
            e.Property(x => x.AllowedOrigins).HasConversion(JsonConverter<List<string>>(), JsonComparer<List<string>>());
            TenantOwned(e);
        });

        b.Entity<OnboardingState>(e =>
        {
            e.ToTable("onboarding_states");
            e.HasKey(x => x.TenantId);
            e.Property(x => x.CurrentStep).HasMaxLength(32);
            e.Property(x => x.Skipped).HasConversion(JsonConverter<List<string>>(), JsonComparer<List<string>>());
            TenantOwned(e);
        });

        b.Entity<StudioConfig>(e =>
        {
            e.ToTable("studio_configs");
            e.HasKey(x => x.TenantId);
            e.Property(x => x.Persona).HasMaxLength(2000);
            e.Property(x => x.JobToBeDone).HasMaxLength(2000);
            e.Property(x => x.Tone).HasMaxLength(100);
            e.Property(x => x.Guidelines).HasMaxLength(8000);
            e.Property(x => x.FallbackEmail).HasMaxLength(254);
            e.Property(x => x.Languages).HasConversion(JsonConverter<List<string>>(), JsonComparer<List<string>>());
            e.Property(x => x.Integrations).HasConversion(JsonConverter<StudioIntegrations>(), JsonComparer<StudioIntegrations>());
            TenantOwned(e);
        });

        b.Entity<ProviderCredential>(e =>
        {
            e.ToTable("provider_credentials");
            e.HasIndex(x => new { x.TenantId, x.Provider }).IsUnique();
            e.Property(x => x.Provider).HasMaxLength(16);
            e.Property(x => x.Preview).HasMaxLength(32);
            e.Property(x => x.PublicValue).HasMaxLength(500);
            e.Property(x => x.CheckMessage).HasMaxLength(500);
            TenantOwned(e);
        });

        b.Entity<PhoneNumber>(e =>
        {
            e.ToTable("phone_numbers");
            e.HasIndex(x => new { x.TenantId, x.CreatedAt });
            // A tenant attaches a number once; a number is held exclusively only once active (NumberClaims, migration 0035).
            e.HasIndex(x => new { x.TenantId, x.Number }).IsUnique();
            e.HasIndex(x => x.Number).IsUnique().HasDatabaseName("IX_phone_numbers_Number_active").HasFilter(Switchboard.Numbers.NumberClaims.ActiveFilterSql);
            e.Property(x => x.Number).HasMaxLength(32);
            e.Property(x => x.Mode).HasMaxLength(16);
            e.Property(x => x.TwilioSid).HasMaxLength(64);
            e.Property(x => x.VapiPhoneNumberId).HasMaxLength(100);
            e.Property(x => x.Status).HasMaxLength(32);
            e.Property(x => x.LastError).HasMaxLength(1000);
            e.Property(x => x.BusinessHours).HasConversion(NullableJsonConverter<BusinessHours>(), JsonComparer<BusinessHours?>());
            e.Property(x => x.AfterHours).HasConversion(JsonConverter<AfterHoursPolicy>(), JsonComparer<AfterHoursPolicy>());
            TenantOwned(e);
        });

        b.Entity<UsageRecord>(e =>
        {
            e.ToTable("usage_records");
            e.HasIndex(x => new { x.TenantId, x.Kind, x.SourceId }).IsUnique();
            e.HasIndex(x => new { x.TenantId, x.Period, x.Kind });
            e.Property(x => x.Kind).HasMaxLength(32);
            e.Property(x => x.SourceId).HasMaxLength(100);
            e.Property(x => x.Period).HasMaxLength(7);
            TenantOwned(e);
        });

        b.Entity<AuditEntry>(e =>
        {
            e.ToTable("audit_log");
            e.HasIndex(x => new { x.TenantId, x.Seq }).IsUnique();
            e.HasIndex(x => new { x.TenantId, x.At });
            e.Property(x => x.ActorType).HasMaxLength(16);
            e.Property(x => x.ActorId).HasMaxLength(100);
            e.Property(x => x.Action).HasMaxLength(64);
            e.Property(x => x.Target).HasMaxLength(300);
            e.Property(x => x.Ip).HasMaxLength(64);
            e.Property(x => x.PrevHash).HasMaxLength(64);
            e.Property(x => x.Hash).HasMaxLength(64);
            // Filtered like tenant-owned rows, but without a foreign key: the installation chain uses Guid.Empty,
            // and an erased tenant's chain is removed explicitly.
            TenantFiltered(e);
        });

        // Idempotency-Key on /api/v1 POSTs (migration 0038): scoped to the tenant and the caller (API key or user).
        b.Entity<Http.IdempotencyRecord>(e =>
        {
            e.ToTable("idempotency_keys");
            e.HasKey(x => new { x.TenantId, x.Principal, x.Key });
            e.Property(x => x.Principal).HasMaxLength(64);
            e.Property(x => x.Key).HasMaxLength(Http.IdempotencyMiddleware.MaxKeyLength);
            e.Property(x => x.RequestHash).HasMaxLength(64);
            e.Property(x => x.ContentType).HasMaxLength(200);
            e.Property(x => x.Location).HasMaxLength(2000);
            TenantOwned(e);
        });

        // Columns added to existing tables by 0004.
        b.Entity<ApiKey>(e =>
        {
            e.Property(x => x.Kind).HasMaxLength(16).HasDefaultValue(ApiKeyKinds.Secret);
        });
        b.Entity<Assistant>(e =>
        {
            e.Property(x => x.Voice).HasConversion(NullableJsonConverter<AssistantVoice>(), JsonComparer<AssistantVoice?>());
            e.Property(x => x.Model).HasConversion(NullableJsonConverter<AssistantModel>(), JsonComparer<AssistantModel?>());
            e.Property(x => x.Tools).HasConversion(NullableJsonConverter<List<string>>(), JsonComparer<List<string>?>());
            e.Property(x => x.RecordingEnabled).HasDefaultValue(false);
            e.Property(x => x.Version).HasDefaultValue(0);
            e.Property(x => x.SyncStatus).HasMaxLength(32);
            e.Property(x => x.SyncError).HasMaxLength(1000);
            e.Property(x => x.VoicemailMessage).HasMaxLength(1000);
        });
    }

    private void TenantFiltered<T>(Microsoft.EntityFrameworkCore.Metadata.Builders.EntityTypeBuilder<T> e) where T : class
    {
        var parameter = Expression.Parameter(typeof(T), "x");
        var tenantId = Expression.Property(parameter, "TenantId");
        var filterValue = Expression.Property(Expression.Constant(this), nameof(TenantFilter));
        e.HasQueryFilter(Expression.Lambda<Func<T, bool>>(Expression.Equal(tenantId, filterValue), parameter));
    }
}
