using System.Linq.Expressions;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ChangeTracking;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;
using Switchboard.Alerts;
using Switchboard.Assistants;
using Switchboard.Calls;
using Switchboard.Outbox;
using Switchboard.Tenancy;
using Switchboard.Webhooks;

namespace Switchboard.Platform.Database;

/// <summary>
/// The one EF Core context. Tenant isolation lives here: every tenant-owned entity has a query filter on
/// <see cref="CurrentTenant"/>, which fails closed (no tenant set, no rows). Code that must cross tenants
/// (webhook routing, workers) says so with <c>IgnoreQueryFilters()</c>.
/// <para>
/// Contexts are pooled (issue 13: building a context, its options and its internal services was ~10 % of the CPU of a
/// webhook): a scope rents one through <see cref="Rent"/>, which binds the scope's <see cref="CurrentTenant"/> and clears
/// what a previous scope may have left; disposing the scope returns it, and EF Core resets its change tracker,
/// connection and transaction state.
/// </para>
/// </summary>
internal sealed partial class SwitchboardDbContext(DbContextOptions<SwitchboardDbContext> options)
    : DbContext(options)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private CurrentTenant? currentTenant;
    private SqliteSessionPool? sessions;
    private Microsoft.Data.Sqlite.SqliteConnection? lentConnection;

    /// <summary>
    /// Prepares a pooled context for a new scope: binds its tenant (the query filters read <paramref name="tenant"/> at
    /// query time, so a tenant set later in the request still applies), forgets any unit-of-work state, and on a SQLite file
    /// borrows an open connection from <paramref name="sessionPool"/> (its statements stay prepared between scopes) while
    /// fewer than <see cref="SqliteSessionPool.MaxLent"/> are out, else uses a connection of its own. On PostgreSQL it connects
    /// with <paramref name="postgresConnection"/>, the connection string of the scope's pool (the outbox's or the main one's,
    /// <see cref="DatabaseExtensions.ConnectionPoolChoice"/>), whichever pool the context served before.
    /// </summary>
    internal SwitchboardDbContext Rent(CurrentTenant tenant, SqliteSessionPool? sessionPool = null, string? postgresConnection = null)
    {
        currentTenant = tenant;
        if (postgresConnection is not null && !string.Equals(Database.GetConnectionString(), postgresConnection, StringComparison.Ordinal))
        {
            Database.SetConnectionString(postgresConnection); // closed here: the pool's reset closed it
        }
        ResetUnitOfWork(); // deferred writes, pending live events (EF's pool has already emptied the change tracker)
        InGroupCommit = false;
        GatedSaves = null;
        if (sessionPool is { Enabled: true })
        {
            sessions = sessionPool;
            lentConnection = sessionPool.TryTake();
            if (lentConnection is not null)
            {
                Database.SetDbConnection(lentConnection, contextOwnsConnection: false);
            }
            else
            {
                RestoreConnection(sessionPool.ConnectionString); // none to lend: not the one an earlier scope gave back
            }
        }
        return this;
    }

    /// <summary>
    /// Set by <see cref="SqliteWriteGate.GateSavesOf"/>: every save of this context outside an explicit transaction and
    /// outside a group-commit unit takes a writer turn at this priority (SQLite); null for the scope's other contexts.
    /// </summary>
    internal WritePriority? GatedSaves { get; set; }

    /// <summary>
    /// Points the context back at its own connection after a <see cref="SqliteGroupCommit"/> unit ran it on the batch's
    /// (the lent one, or a connection of its own built from <paramref name="connectionString"/>).
    /// </summary>
    internal void RestoreConnection(string connectionString)
    {
        if (lentWhileWaiting)
        {
            lentWhileWaiting = false;
            lentConnection = sessions?.TryTake(); // none when MaxLent are out: a connection of its own, as at Rent
        }
        if (lentConnection is not null)
        {
            Database.SetDbConnection(lentConnection, contextOwnsConnection: false);
            return;
        }
        Database.SetDbConnection(null, contextOwnsConnection: true);
        Database.SetConnectionString(connectionString);
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        currentTenant = null; // a context back in the pool matches no tenant's rows
        base.Dispose(); // resets (rolls back) first, on the lent connection, which EF leaves open
        GiveBackConnection();
    }

    /// <inheritdoc />
    public override async ValueTask DisposeAsync()
    {
        currentTenant = null;
        await base.DisposeAsync();
        GiveBackConnection();
    }

    /// <summary>
    /// Gives the scope's lent connection back to the <see cref="SqliteSessionPool"/> while the context waits for a
    /// <see cref="SqliteGroupCommit"/> turn, which runs it on the batch's connection; <see cref="RestoreConnection"/> then lends it
    /// one again. A scope waiting for the writer reads nothing, yet kept its connection: at 64 concurrent webhooks and the
    /// outbox's deliveries, more than <see cref="SqliteSessionPool.MaxLent"/> scopes were out, and the rest ran their reads on
    /// connections without prepared statements (bench ingest closed loop: <c>sqlite3_prepare_v2</c> under the lookups, ~7 % of
    /// the busy samples). Nothing is given back while the context's own transaction is open on it.
    /// </summary>
    internal void LendBackWhileWaiting()
    {
        if (lentConnection is not { } lent || Database.CurrentTransaction is not null
            || lent.Handle is not { } handle || SQLitePCL.raw.sqlite3_get_autocommit(handle) == 0)
        {
            return;
        }
        lentConnection = null;
        lentWhileWaiting = true;
        Database.SetDbConnection(null, contextOwnsConnection: true);
        Database.SetConnectionString(sessions!.ConnectionString);
        sessions.Return(lent);
    }

    private bool lentWhileWaiting;

    private void GiveBackConnection()
    {
        lentWhileWaiting = false;
        if (lentConnection is { } lent)
        {
            lentConnection = null;
            sessions?.Return(lent);
        }
    }

    public DbSet<Tenant> Tenants => Set<Tenant>();
    public DbSet<ApiKey> ApiKeys => Set<ApiKey>();
    public DbSet<Assistant> Assistants => Set<Assistant>();
    public DbSet<Call> Calls => Set<Call>();
    public DbSet<CallEvent> CallEvents => Set<CallEvent>();
    public DbSet<TranscriptTurn> TranscriptTurns => Set<TranscriptTurn>();
    public DbSet<Lead> Leads => Set<Lead>();
    public DbSet<SmsMessage> SmsMessages => Set<SmsMessage>();
    public DbSet<OutboxMessage> Outbox => Set<OutboxMessage>();
    public DbSet<CallRecording> CallRecordings => Set<CallRecording>();
    public DbSet<WebhookEndpoint> WebhookEndpoints => Set<WebhookEndpoint>();
    public DbSet<WebhookEvent> WebhookEvents => Set<WebhookEvent>();
    public DbSet<WebhookDelivery> WebhookDeliveries => Set<WebhookDelivery>();
    public DbSet<WebhookAttempt> WebhookAttempts => Set<WebhookAttempt>();

    /// <summary>The tenant the query filters compare with; <see cref="Guid.Empty"/> (matches nothing) when unset.</summary>
    internal Guid TenantFilter => currentTenant?.TenantId ?? Guid.Empty;

    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        if (Database.IsSqlite())
        {
            // SQLite has no date type and EF cannot compare or order DateTimeOffset text there:
            // store UTC ticks, which sort and compare as integers.
            configurationBuilder.Properties<DateTimeOffset>().HaveConversion<UtcTicksConverter>();
            configurationBuilder.Properties<DateTimeOffset?>().HaveConversion<UtcTicksConverter>();
            configurationBuilder.Properties<decimal>().HaveConversion<double>();
            configurationBuilder.Properties<decimal?>().HaveConversion<double>();
        }
    }

    protected override void OnModelCreating(ModelBuilder b)
    {
        ConfigureWebChat(b);     // widget conversations and settings (SwitchboardDbContext.WebChat.cs)
        ConfigureSelfService(b); // accounts, onboarding, credentials, numbers, billing, compliance (SwitchboardDbContext.SelfService.cs)
        ConfigureDashboard(b);   // live-event sequences (SwitchboardDbContext.Dashboard.cs)
        ConfigureKnowledge(b);   // knowledge documents and chunks (SwitchboardDbContext.Knowledge.cs)
        ConfigureCluster(b);     // shared key ring, rate-limit counters, leases, used stream tokens (SwitchboardDbContext.Cluster.cs)
        ConfigureEmail(b);       // account emails and single-use account tokens (SwitchboardDbContext.Email.cs)
        ConfigureBilling(b);     // Stripe events, catalog, reconciliation drift (SwitchboardDbContext.Billing.cs)
        ConfigureTransfers(b);   // assistants' transfer settings, call transfers (SwitchboardDbContext.Transfers.cs)
        ConfigureOutbound(b);    // do-not-call list, refused outbound calls (SwitchboardDbContext.Outbound.cs)
        ConfigureCampaigns(b);   // outbound campaigns, their contacts, consent records (SwitchboardDbContext.Campaigns.cs)

        b.Entity<Tenant>(e =>
        {
            e.ToTable("tenants");
            e.Property(x => x.Name).HasMaxLength(200);
            e.Property(x => x.TimeZone).HasMaxLength(64);
            e.Property(x => x.Locale).HasMaxLength(16);
            e.Property(x => x.BusinessHours).HasConversion(JsonConverter<BusinessHours>(), JsonComparer<BusinessHours>());
            e.Property(x => x.AlertPolicy).HasConversion(JsonConverter<AlertPolicy>(), JsonComparer<AlertPolicy>());
            e.Property(x => x.UrgencyRules).HasConversion(JsonConverter<UrgencyRules>(), JsonComparer<UrgencyRules>());
            e.Property(x => x.VapiSignatureHeader).HasMaxLength(100);
            e.Property(x => x.VapiTimestampHeader).HasMaxLength(100);
            e.Property(x => x.TwilioAccountSid).HasMaxLength(64);
            e.Property(x => x.TwilioFromNumber).HasMaxLength(64);
            e.Property(x => x.VoiceAfterHours).HasMaxLength(16).HasDefaultValue(VoiceBehaviour.Answer);
            e.Property(x => x.VoiceOverLimit).HasMaxLength(16).HasDefaultValue(VoiceBehaviour.Message);
            e.Property(x => x.VoiceMaxCallSeconds).HasDefaultValue(900);
            e.Property(x => x.RealtimeBaseUrl).HasMaxLength(500);
        });

        b.Entity<ApiKey>(e =>
        {
            e.ToTable("api_keys");
            e.HasIndex(x => x.Hash).IsUnique();
            e.HasIndex(x => new { x.TenantId, x.CreatedAt });
            e.Property(x => x.Name).HasMaxLength(200);
            e.Property(x => x.Prefix).HasMaxLength(32);
            e.Property(x => x.Hash).HasMaxLength(64);
            e.Property(x => x.PublishableKey).HasMaxLength(100);
            TenantOwned(e);
        });

        b.Entity<Assistant>(e =>
        {
            e.ToTable("assistants");
            e.HasIndex(x => new { x.TenantId, x.Name });
            e.Property(x => x.Name).HasMaxLength(200);
            e.Property(x => x.Provider).HasMaxLength(32);
            e.Property(x => x.VapiAssistantId).HasMaxLength(100);
            e.Property(x => x.Languages).HasConversion(JsonConverter<List<string>>(), JsonComparer<List<string>>());
            e.Property(x => x.AlertPolicy).HasConversion(NullableJsonConverter<AlertPolicy>(), JsonComparer<AlertPolicy?>());
            e.Property(x => x.RealtimeModel).HasMaxLength(100);
            e.Property(x => x.RealtimeVoice).HasMaxLength(64);
            TenantOwned(e);
        });

        b.Entity<Call>(e =>
        {
            // Triggers (0007): the full-text document on SQLite; leads copy their urgency into calls.Urgency.
            e.ToTable("calls", t => t.HasTrigger("calls_search_ai"));
            e.HasIndex(x => new { x.TenantId, x.Provider, x.ProviderCallId }).IsUnique();
            // Keyset list order is (CreatedAt DESC, Id DESC); each list filter has an index ending in it (migration 0007).
            // The unfiltered list walks the first; it also covers the analytics aggregates (no table reads per call).
            e.HasIndex(x => new { x.TenantId, x.CreatedAt, x.Id, x.Status, x.DurationSeconds, x.Urgency, x.EndedReason, x.Cost }).HasDatabaseName("IX_calls_list_analytics");
            e.HasIndex(x => new { x.TenantId, x.Status, x.CreatedAt, x.Id });
            // Live calls only (migration 0029): the plan's concurrent-call count on every new call reads the tenant's calls
            // that have not ended, not all its calls (CallConcurrencyGate; the filter is CallStatuses.Ended, inlined there).
            // Without "UpdatedAt" (0031), so the webhook path's writes of a call's last activity change no indexed column
            // (PostgreSQL: heap-only updates, not one new entry in each of the table's indexes).
            e.HasIndex(x => x.TenantId).HasDatabaseName("IX_calls_live").HasFilter(Switchboard.Calls.CallStatuses.LiveFilterSql);
            // Calls not analyzed yet (migration 0036): Vapi.VapiMissingReportCloser's pass over calls whose report never came.
            e.HasIndex(x => x.Provider, "IX_calls_unanalyzed").HasFilter("NOT \"Analyzed\"");
            // Bridged native calls not analyzed yet (migration 0037): Twilio.NativeCallCloser's pass over calls whose stream's end never came.
            e.HasIndex(x => new { x.Provider, x.Status }, "IX_calls_native_unanalyzed").HasFilter(Switchboard.Twilio.NativeCallCloser.UnanalyzedFilterSql);
            e.HasIndex(x => new { x.TenantId, x.Urgency, x.CreatedAt, x.Id });
            e.HasIndex(x => new { x.TenantId, x.Channel, x.CreatedAt, x.Id });
            e.HasIndex(x => new { x.TenantId, x.Type, x.CreatedAt, x.Id });
            e.HasIndex(x => new { x.TenantId, x.AssistantId, x.CreatedAt, x.Id });
            e.HasIndex(x => new { x.TenantId, x.EndedReason, x.CreatedAt, x.Id });
            e.HasIndex(x => new { x.TenantId, x.DurationSeconds });
            e.HasIndex(x => new { x.TenantId, x.CustomerNumber });
            e.Property(x => x.Urgency).HasMaxLength(16);
            e.Property(x => x.Channel).HasMaxLength(16);
            e.Property(x => x.Provider).HasMaxLength(16);
            e.Property(x => x.ProviderCallId).HasMaxLength(100);
            e.Property(x => x.CallSid).HasMaxLength(64);
            e.Property(x => x.Type).HasMaxLength(64);
            e.Property(x => x.Status).HasMaxLength(32);
            e.Property(x => x.CustomerNumber).HasMaxLength(64);
            e.Property(x => x.BusinessNumber).HasMaxLength(64);
            e.Property(x => x.EndedReason).HasMaxLength(200);
            e.Property(x => x.SuccessEvaluation).HasMaxLength(2000);
            e.Property(x => x.Cost).HasPrecision(12, 4);
            e.Property(x => x.Language).HasMaxLength(16);
            e.Property(x => x.Direction).HasMaxLength(16).HasDefaultValue("inbound");
            e.Property(x => x.Version).HasDefaultValue(0L); // migration 0028
            e.Property(x => x.AnsweredBy).HasMaxLength(32);
            TenantOwned(e);
        });

        b.Entity<CallEvent>(e =>
        {
            e.ToTable("call_events");
            e.HasIndex(x => new { x.TenantId, x.IdempotencyKey }).IsUnique();
            e.HasIndex(x => new { x.TenantId, x.CallId });
            e.Property(x => x.Provider).HasMaxLength(16);
            e.Property(x => x.Type).HasMaxLength(100);
            e.Property(x => x.IdempotencyKey).HasMaxLength(128);
            TenantOwned(e);
        });

        b.Entity<TranscriptTurn>(e =>
        {
            e.ToTable("transcript_turns", t => t.HasTrigger("transcript_turns_analytics")); // 0019: latency histogram
            e.HasIndex(x => new { x.TenantId, x.CallId, x.Seq }).IsUnique();
            e.HasIndex(x => new { x.TenantId, x.At, x.ProviderLatencyMs, x.BridgeLatencyMs }).HasDatabaseName("IX_transcript_turns_latency"); // analytics latency percentiles
            e.Property(x => x.Role).HasMaxLength(32);
            TenantOwned(e);
        });

        b.Entity<Lead>(e =>
        {
            e.ToTable("leads", t => t.HasTrigger("leads_urgency"));
            e.HasIndex(x => new { x.TenantId, x.CallId }).IsUnique();
            e.HasIndex(x => new { x.TenantId, x.Urgency, x.CreatedAt });
            e.HasIndex(x => new { x.TenantId, x.Phone });
            e.Property(x => x.Name).HasMaxLength(200);
            e.Property(x => x.Phone).HasMaxLength(64);
            e.Property(x => x.Address).HasMaxLength(500);
            e.Property(x => x.Urgency).HasMaxLength(16);
            e.Property(x => x.Source).HasMaxLength(32);
            e.Property(x => x.Status).HasMaxLength(16).HasDefaultValue(LeadStatus.New);
            e.Property(x => x.Notes).HasMaxLength(4000);
            e.HasIndex(x => new { x.TenantId, x.CreatedAt, x.Id });
            e.HasIndex(x => new { x.TenantId, x.Status, x.CreatedAt });
            TenantOwned(e);
        });

        // The analytics rollup (migration 0019), written only by triggers; no foreign key to tenants (see AnalyticsQuarter).
        // PostgreSQL adds "Shard" to each key (migration 0030, see AnalyticsQuarter.Shard); SQLite, one writer, keeps 0019's.
        void RollupKey<T>(EntityTypeBuilder<T> e, params string[] key)
            where T : class
        {
            const string shard = nameof(AnalyticsQuarter.Shard);
            if (Database.IsSqlite())
            {
                e.HasKey(key);
                e.Ignore(shard);
            }
            else
            {
                e.HasKey([.. key, shard]);
                e.Property<short>(shard).HasDefaultValue((short)0);
            }
        }
        b.Entity<AnalyticsQuarter>(e =>
        {
            e.ToTable("analytics_quarters");
            RollupKey(e, nameof(AnalyticsQuarter.TenantId), nameof(AnalyticsQuarter.Bucket));
            e.Property(x => x.CostSum).HasPrecision(18, 4);
        });
        b.Entity<AnalyticsHistogramBin>(e =>
        {
            e.ToTable("analytics_histograms");
            RollupKey(e, nameof(AnalyticsHistogramBin.TenantId), nameof(AnalyticsHistogramBin.Metric), nameof(AnalyticsHistogramBin.Day), nameof(AnalyticsHistogramBin.Bin));
            e.Property(x => x.Metric).HasMaxLength(16);
        });
        b.Entity<AnalyticsEndedReason>(e =>
        {
            e.ToTable("analytics_ended_reasons");
            RollupKey(e, nameof(AnalyticsEndedReason.TenantId), nameof(AnalyticsEndedReason.Day), nameof(AnalyticsEndedReason.EndedReason));
            e.Property(x => x.EndedReason).HasMaxLength(200);
        });

        b.Entity<SmsMessage>(e =>
        {
            e.ToTable("sms_messages", t => t.HasTrigger("sms_messages_analytics")); // 0019: SMS sent per quarter
            e.HasIndex(x => new { x.TenantId, x.IdempotencyKey }).IsUnique();
            e.HasIndex(x => new { x.TenantId, x.CreatedAt });
            e.HasIndex(x => new { x.TenantId, x.CallId });
            e.HasIndex(x => new { x.TenantId, x.To });
            e.HasIndex(x => new { x.TenantId, x.MessageSid }); // 0034: status callbacks find the SMS by its sid
            e.Property(x => x.Direction).HasMaxLength(16);
            e.Property(x => x.Purpose).HasMaxLength(32);
            e.Property(x => x.To).HasMaxLength(64);
            e.Property(x => x.From).HasMaxLength(64);
            e.Property(x => x.Body).HasMaxLength(1600);
            e.Property(x => x.Status).HasMaxLength(16);
            e.Property(x => x.MessageSid).HasMaxLength(64);
            e.Property(x => x.ErrorCode).HasMaxLength(32);
            e.Property(x => x.IdempotencyKey).HasMaxLength(200);
            TenantOwned(e);
        });

        b.Entity<CallRecording>(e =>
        {
            e.ToTable("call_recordings");
            e.HasIndex(x => new { x.TenantId, x.RecordingSid }).IsUnique();
            e.HasIndex(x => new { x.TenantId, x.CallId });
            e.Property(x => x.RecordingSid).HasMaxLength(64);
            e.Property(x => x.CallSid).HasMaxLength(64);
            e.Property(x => x.Status).HasMaxLength(16);
            e.Property(x => x.Url).HasMaxLength(500);
            e.Property(x => x.Source).HasMaxLength(64);
            e.Property(x => x.Track).HasMaxLength(16);
            e.Property(x => x.ErrorCode).HasMaxLength(32);
            TenantOwned(e);
        });

        b.Entity<OutboxMessage>(e =>
        {
            e.ToTable("outbox");
            // Workers scan due rows across tenants; dedupe is global per kind.
            e.HasIndex(x => new { x.Status, x.NextAttemptAt });
            e.HasIndex(x => new { x.Status, x.Kind, x.NextAttemptAt }); // alerts claimed first (migration 0029)
            e.HasIndex(x => new { x.Kind, x.DedupeKey }).IsUnique();
            e.HasIndex(x => new { x.TenantId, x.CreatedAt });
            e.Property(x => x.Kind).HasMaxLength(64);
            e.Property(x => x.DedupeKey).HasMaxLength(200);
            e.Property(x => x.Status).HasMaxLength(16);
            e.Property(x => x.LockedBy).HasMaxLength(100);
            e.Property(x => x.LastError).HasMaxLength(2000);
            e.Property(x => x.TraceParent).HasMaxLength(64);
            TenantOwned(e);
        });

        // Webhooks: endpoints, events (one per fact), deliveries (event × endpoint) and their attempts.
        b.Entity<WebhookEndpoint>(e =>
        {
            e.ToTable("webhook_endpoints");
            e.HasIndex(x => new { x.TenantId, x.CreatedAt });
            e.Property(x => x.Url).HasMaxLength(2048);
            e.Property(x => x.Description).HasMaxLength(500);
            e.Property(x => x.EventTypes).HasConversion(JsonConverter<List<string>>(), JsonComparer<List<string>>());
            e.Property(x => x.DisabledReason).HasMaxLength(32);
            TenantOwned(e);
        });

        b.Entity<WebhookEvent>(e =>
        {
            e.ToTable("webhook_events");
            e.HasIndex(x => new { x.TenantId, x.MessageId }).IsUnique();
            e.HasIndex(x => new { x.TenantId, x.CallId });
            e.HasIndex(x => new { x.TenantId, x.CreatedAt });
            e.Property(x => x.MessageId).HasMaxLength(64);
            e.Property(x => x.Type).HasMaxLength(64);
            TenantOwned(e);
        });

        b.Entity<WebhookDelivery>(e =>
        {
            e.ToTable("webhook_deliveries");
            e.HasIndex(x => new { x.TenantId, x.EventId, x.EndpointId }).IsUnique();
            e.HasIndex(x => new { x.TenantId, x.EndpointId, x.CreatedAt });
            e.HasIndex(x => new { x.TenantId, x.EndpointId, x.Status, x.CreatedAt });
            e.Property(x => x.EventType).HasMaxLength(64);
            e.Property(x => x.Status).HasMaxLength(16);
            e.Property(x => x.LastError).HasMaxLength(500);
            TenantOwned(e);
        });

        b.Entity<WebhookAttempt>(e =>
        {
            e.ToTable("webhook_attempts");
            e.HasIndex(x => new { x.TenantId, x.DeliveryId, x.Number });
            e.HasIndex(x => new { x.TenantId, x.EndpointId, x.At });
            // An attempt goes with its delivery (migration 0040): one written while its endpoint was deleted cannot outlive it.
            e.HasOne<WebhookDelivery>().WithMany().HasForeignKey(x => x.DeliveryId).OnDelete(DeleteBehavior.Cascade);
            e.Property(x => x.Error).HasMaxLength(500);
            TenantOwned(e);
        });
    }

    private void TenantOwned<T>(Microsoft.EntityFrameworkCore.Metadata.Builders.EntityTypeBuilder<T> e) where T : class
    {
        // Every tenant-owned table has a TenantId property; the filter references this context instance,
        // so EF re-evaluates TenantFilter per query.
        var parameter = Expression.Parameter(typeof(T), "x");
        var tenantId = Expression.Property(parameter, "TenantId");
        var filterValue = Expression.Property(Expression.Constant(this), nameof(TenantFilter));
        e.HasQueryFilter(Expression.Lambda<Func<T, bool>>(Expression.Equal(tenantId, filterValue), parameter));
        e.HasOne<Tenant>().WithMany().HasForeignKey("TenantId").OnDelete(DeleteBehavior.Cascade);
    }

    private static ValueConverter<T, string> JsonConverter<T>() where T : new() =>
        new(v => JsonSerializer.Serialize(v, Json), v => JsonSerializer.Deserialize<T>(v, Json) ?? new T());

    private static ValueConverter<T?, string?> NullableJsonConverter<T>() where T : class =>
        new(v => v == null ? null : JsonSerializer.Serialize(v, Json), v => v == null ? null : JsonSerializer.Deserialize<T>(v, Json));

    private static ValueComparer<T> JsonComparer<T>() =>
        new((a, b) => JsonSerializer.Serialize(a, Json) == JsonSerializer.Serialize(b, Json),
            v => JsonSerializer.Serialize(v, Json).GetHashCode(StringComparison.Ordinal),
            v => JsonSerializer.Deserialize<T>(JsonSerializer.Serialize(v, Json), Json)!);

    /// <summary>Stores a <see cref="DateTimeOffset"/> as UTC ticks (100 ns since 0001-01-01).</summary>
    private sealed class UtcTicksConverter() : ValueConverter<DateTimeOffset, long>(
        v => v.UtcTicks,
        v => new DateTimeOffset(v, TimeSpan.Zero));
}
