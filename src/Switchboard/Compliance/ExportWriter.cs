using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Switchboard.Assistants;
using Switchboard.Calls;
using Switchboard.Credentials;
using Switchboard.Numbers;
using Switchboard.Onboarding;
using Switchboard.Platform.Database;
using Switchboard.Tenancy;

namespace Switchboard.Compliance;

/// <summary>The tenant in an export.</summary>
public sealed record ExportTenant(Guid Id, string Name, string TimeZone, string Locale, BusinessHoursDto BusinessHours, JsonElement AlertPolicy,
    JsonElement UrgencyRules, string? TwilioAccountSid, string? TwilioFromNumber, DateTimeOffset CreatedAt);

/// <summary>The tenant's account in an export.</summary>
public sealed record ExportAccount(string PlanId, string Status, string? Industry, bool MarketingOptIn, string? TermsVersion, DateTimeOffset? TermsAcceptedAt,
    string? VoiceProvider, IReadOnlyList<string> AllowedOrigins, int? RecordingRetentionDays, int? TranscriptRetentionDays);

/// <summary>A call in an export, with its transcript.</summary>
public sealed record ExportCall(Guid Id, string Channel, string Provider, string ProviderCallId, string? CallSid, string? Type, string Status,
    string? CustomerNumber, string? BusinessNumber, DateTimeOffset? StartedAt, DateTimeOffset? EndedAt, double? DurationSeconds, string? EndedReason,
    decimal? Cost, string? RecordingUrl, string? StereoRecordingUrl, string? Summary, JsonElement? StructuredData, string? SuccessEvaluation,
    string? TranscriptText, IReadOnlyList<TurnDto> Transcript, DateTimeOffset CreatedAt);

/// <summary>A raw provider event in an export (<c>Payload</c> as received).</summary>
public sealed record ExportCallEvent(Guid Id, Guid? CallId, string Provider, string Type, JsonElement Payload, DateTimeOffset ReceivedAt);

/// <summary>A usage record in an export.</summary>
public sealed record ExportUsage(string Kind, double Quantity, string SourceId, string Period, DateTimeOffset OccurredAt);

/// <summary>
/// The document <c>GET /api/v1/export</c> streams: every section of the tenant's data, in this order. Secrets are
/// never included (credentials as previews, API keys as prefixes, invitation tokens not at all).
/// </summary>
public sealed record TenantExport(
    DateTimeOffset ExportedAt, ExportTenant Tenant, ExportAccount? Account, OnboardingStateExport? Onboarding, PersonaStep? Studio,
    IReadOnlyList<MemberDto> Members, IReadOnlyList<InvitationDto> Invitations, IReadOnlyList<ApiKeyDto> ApiKeys, IReadOnlyList<CredentialDto> Credentials,
    IReadOnlyList<AssistantDto> Assistants, IReadOnlyList<PhoneNumberDto> PhoneNumbers, IReadOnlyList<ExportKnowledgeDocument> Knowledge, IReadOnlyList<ExportCall> Calls, IReadOnlyList<LeadDto> Leads,
    IReadOnlyList<SmsDto> Sms, IReadOnlyList<ExportCallEvent> CallEvents, IReadOnlyList<ExportUsage> Usage, IReadOnlyList<AuditEntryDto> AuditLog);

/// <summary>A knowledge-base document in an export: its metadata and extracted text (chunks are derived from it).</summary>
public sealed record ExportKnowledgeDocument(Knowledge.KnowledgeDocumentDto Document, string Text);

/// <summary>Onboarding progress in an export.</summary>
public sealed record OnboardingStateExport(string CurrentStep, IReadOnlyList<string> Skipped, DateTimeOffset? CompletedAt);

/// <summary>Streams <see cref="TenantExport"/> with a <see cref="Utf8JsonWriter"/>, one row at a time for the large tables.</summary>
internal sealed class ExportWriter(SwitchboardDbContext db, CredentialStore credentials, TimeProvider clock)
{
    private static readonly JsonSerializerOptions Json = Platform.Http.FiniteDoubleConverter.AddTo(new(JsonSerializerDefaults.Web));

    /// <summary>Writes the export to <paramref name="output"/> (the response's pipe), flushing after each large row.</summary>
    public async Task WriteAsync(Guid tenantId, System.IO.Pipelines.PipeWriter output, CancellationToken ct)
    {
        await using var w = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = false });
        w.WriteStartObject();
        w.WriteString("exportedAt", clock.GetUtcNow());

        var t = await db.Tenants.AsNoTracking().FirstAsync(x => x.Id == tenantId, ct);
        Write(w, "tenant", new ExportTenant(t.Id, t.Name, t.TimeZone, t.Locale, BusinessHoursDto.From(t.BusinessHours),
            JsonSerializer.SerializeToElement(t.AlertPolicy, Json), JsonSerializer.SerializeToElement(t.UrgencyRules, Json), t.TwilioAccountSid, t.TwilioFromNumber, t.CreatedAt));
        var a = await db.TenantAccounts.AsNoTracking().FirstOrDefaultAsync(ct);
        Write(w, "account", a is null ? null : new ExportAccount(a.PlanId, a.Status, a.Industry, a.MarketingOptIn, a.TermsVersion, a.TermsAcceptedAt,
            a.VoiceProvider, a.AllowedOrigins, a.RecordingRetentionDays, a.TranscriptRetentionDays));
        var o = await db.OnboardingStates.AsNoTracking().FirstOrDefaultAsync(ct);
        Write(w, "onboarding", o is null ? null : new OnboardingStateExport(o.CurrentStep, o.Skipped, o.CompletedAt));
        var s = await db.StudioConfigs.AsNoTracking().FirstOrDefaultAsync(ct);
        Write(w, "studio", s is null ? null : new PersonaStep(s.Persona, s.JobToBeDone, s.Languages, s.Tone, s.Guidelines, s.FallbackEmail));
        Write(w, "members", await db.Memberships.AsNoTracking().OrderBy(m => m.CreatedAt)
            .Join(db.Users, m => m.UserId, u => u.Id, (m, u) => new MemberDto(u.Id, u.Email, u.FullName, m.Role, m.CreatedAt)).ToListAsync(ct));
        Write(w, "invitations", await db.Invitations.AsNoTracking().OrderBy(i => i.CreatedAt)
            .Select(i => new InvitationDto(i.Id, i.Email, i.Role, i.CreatedAt, i.ExpiresAt, i.AcceptedAt, i.RevokedAt)).ToListAsync(ct));
        var now = clock.GetUtcNow();
        Write(w, "apiKeys", (await db.ApiKeys.AsNoTracking().OrderBy(k => k.CreatedAt).ToListAsync(ct)).Select(k => new ApiKeyDto(k.Id, k.Name, k.Kind, k.Prefix,
            k.RevokedAt is not null ? "revoked" : k.ExpiresAt is { } e ? (e > now ? "expiring" : "expired") : "active", k.CreatedAt, k.ExpiresAt, k.RevokedAt)).ToList());
        Write(w, "credentials", await credentials.ListAsync(ct));
        Write(w, "assistants", (await db.Assistants.AsNoTracking().OrderBy(x => x.CreatedAt).ToListAsync(ct)).Select(AssistantsApi.ToDto).ToList());
        Write(w, "phoneNumbers", (await db.PhoneNumbers.AsNoTracking().OrderBy(x => x.CreatedAt).ToListAsync(ct)).Select(NumbersApi.ToDto).ToList());
        w.WriteStartArray("knowledge");
        await foreach (var d in db.KnowledgeDocuments.AsNoTracking().OrderBy(x => x.CreatedAt).AsAsyncEnumerable().WithCancellation(ct))
        {
            JsonSerializer.Serialize(w, new ExportKnowledgeDocument(Knowledge.KnowledgeApi.ToDto(d), d.ContentText), Json);
            await FlushAsync(w, output, ct);
        }
        w.WriteEndArray();

        // Pages of 200 rows (keyset on Id, UUIDv7 so time-ordered): one query at a time, as PostgreSQL requires, and bounded memory.
        w.WriteStartArray("calls");
        Guid? after = null;
        while (true)
        {
            var page = await db.Calls.AsNoTracking().Where(c => after == null || c.Id.CompareTo(after.Value) > 0).OrderBy(c => c.Id).Take(200).ToListAsync(ct);
            if (page.Count == 0)
            {
                break;
            }
            var ids = page.Select(c => c.Id).ToList();
            var turnsByCall = (await db.TranscriptTurns.AsNoTracking().Where(x => ids.Contains(x.CallId)).OrderBy(x => x.Seq).ToListAsync(ct))
                .GroupBy(x => x.CallId).ToDictionary(g => g.Key, g => g.Select(x => new TurnDto(x.Seq, x.Role, x.Text, x.SecondsFromStart, x.At)).ToList());
            foreach (var c in page)
            {
                JsonSerializer.Serialize(w, new ExportCall(c.Id, c.Channel, c.Provider, c.ProviderCallId, c.CallSid, c.Type, c.Status, c.CustomerNumber, c.BusinessNumber,
                    c.StartedAt, c.EndedAt, c.DurationSeconds, c.EndedReason, c.Cost, c.RecordingUrl, c.StereoRecordingUrl, c.Summary,
                    c.StructuredDataJson is null ? null : Platform.Http.TolerantJson.ParseOrString(c.StructuredDataJson), c.SuccessEvaluation, c.TranscriptText,
                    turnsByCall.GetValueOrDefault(c.Id) ?? [], c.CreatedAt), Json);
            }
            await FlushAsync(w, output, ct);
            after = page[^1].Id;
        }
        w.WriteEndArray();
        Write(w, "leads", await db.Leads.AsNoTracking().OrderBy(l => l.CreatedAt)
            .Select(l => new LeadDto(l.Id, l.Name, l.Phone, l.Address, l.Problem, l.Urgency, l.Source, l.CreatedAt, l.Status, l.Notes)).ToListAsync(ct));
        Write(w, "sms", await db.SmsMessages.AsNoTracking().OrderBy(x => x.CreatedAt)
            .Select(x => new SmsDto(x.Id, x.CallId, x.Direction, x.Purpose, x.To, x.From, x.Body, x.Status, x.MessageSid, x.ErrorCode, x.ErrorMessage, x.Attempts,
                x.SendAfter, x.CreatedAt, x.SentAt)).ToListAsync(ct));
        w.WriteStartArray("callEvents");
        after = null;
        while (true)
        {
            var page = await db.CallEvents.AsNoTracking().Where(e => after == null || e.Id.CompareTo(after.Value) > 0).OrderBy(e => e.Id).Take(200).ToListAsync(ct);
            if (page.Count == 0)
            {
                break;
            }
            foreach (var e in page)
            {
                var payload = Platform.Http.TolerantJson.ParseOrString(e.PayloadJson);
                JsonSerializer.Serialize(w, new ExportCallEvent(e.Id, e.CallId, e.Provider, e.Type, payload, e.ReceivedAt), Json);
            }
            await FlushAsync(w, output, ct);
            after = page[^1].Id;
        }
        w.WriteEndArray();
        Write(w, "usage", await db.UsageRecords.AsNoTracking().OrderBy(u => u.OccurredAt)
            .Select(u => new ExportUsage(u.Kind, u.Quantity, u.SourceId, u.Period, u.OccurredAt)).ToListAsync(ct));
        Write(w, "auditLog", (await db.AuditLog.AsNoTracking().OrderBy(x => x.Seq).ToListAsync(ct)).Select(ComplianceApi.ToDto).ToList());
        w.WriteEndObject();
        await FlushAsync(w, output, ct);
    }

    private static async Task FlushAsync(Utf8JsonWriter w, System.IO.Pipelines.PipeWriter output, CancellationToken ct)
    {
        w.Flush(); // commits to the pipe's buffer: no I/O.
        await output.FlushAsync(ct);
    }

    private static void Write<T>(Utf8JsonWriter w, string name, T value)
    {
        w.WritePropertyName(name);
        JsonSerializer.Serialize(w, value, Json);
    }
}
