using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Switchboard.Alerts;
using Switchboard.Assistants;
using Switchboard.Billing;
using Switchboard.Compliance;
using Switchboard.Credentials;
using Switchboard.Numbers;
using Switchboard.Platform;
using Switchboard.Platform.Database;
using Switchboard.Platform.Http;
using Switchboard.Platform.Phones;
using Switchboard.Tenancy;

namespace Switchboard.Onboarding;

/// <summary>
/// The onboarding wizard and studio configuration over the real settings: the profile writes the tenant (name,
/// time zone, locale), the caller's user (full name) and the tenant account (industry, opt-in, terms); the voice
/// provider and Twilio steps write credentials; telephony attaches the number and sets the tenant's business hours;
/// the assistant step creates or updates the default assistant; the plan step changes the plan under the same
/// <see cref="PlanChangePolicy"/> as <c>PUT /api/v1/plan</c>. Each PATCH applies only what changed, so a repeated
/// auto-save queues nothing new.
/// </summary>
internal sealed class OnboardingService(
    SwitchboardDbContext db,
    CredentialStore credentials,
    AssistantService assistants,
    NumberService numbers,
    SmsSenderResolver senders,
    PlanCatalog plans,
    PlanChangePolicy planPolicy,
    TenantAccountCache accountCache,
    AuditLog audit,
    TimeProvider clock,
    IOptions<AccountOptions> accountOptions,
    IOptions<CredentialOptions> credentialOptions,
    Templates.AssistantTemplateCatalog templates)
{
    private static readonly Dictionary<string, string[]> KnownIntegrations = new()
    {
        ["calendar"] = ["google-calendar", "outlook-calendar", "calendly", "cal-com"],
        ["crm"] = ["hubspot", "salesforce", "pipedrive", "zoho", "jobber", "housecall-pro"],
        ["workspace"] = ["slack", "microsoft-teams", "google-workspace"],
    };

    private sealed record State(Tenant Tenant, TenantAccount Account, OnboardingState Onboarding, StudioConfig Studio);

    public async Task<OnboardingDto> GetAsync(Caller caller, IReadOnlyList<OnboardingIssue> warnings, CancellationToken ct)
    {
        var state = await LoadAsync(caller.TenantId!.Value, ct);
        var creds = await credentials.ListAsync(ct);
        var number = await db.PhoneNumbers.AsNoTracking().OrderBy(n => n.CreatedAt).FirstOrDefaultAsync(ct);
        var assistant = await DefaultAssistantAsync(ct);
        var fullName = await FullNameAsync(caller, ct);
        var sms = await senders.ResolveAsync(state.Tenant, ct);
        var s = state.Studio;
        var t = state.Tenant;
        var a = state.Account;
        return new OnboardingDto(
            state.Onboarding.CurrentStep,
            OnboardingSteps.All,
            OnboardingSteps.All.ToDictionary(x => x, x => state.Onboarding.Skipped.Contains(x)),
            state.Onboarding.CompletedAt,
            new ProfileStep(fullName, t.Name, a.Industry, t.TimeZone, t.Locale, a.MarketingOptIn,
                a.TermsVersion is null ? null : new AcceptedTerms(a.TermsVersion, a.TermsAcceptedAt), accountOptions.Value.TermsVersion),
            new VoiceProviderStep(a.VoiceProvider, creds.First(c => c.Provider == Providers.Vapi), creds.First(c => c.Provider == Providers.OpenAi)),
            Persona(s),
            new TwilioStep(creds.First(c => c.Provider == Providers.Twilio), new SmsSenderDto(sms.Sender?.Value, sms.Source, sms.Problem, sms.ProblemCode, sms.ProblemDetails)),
            new TelephonyStep(number is null ? null : NumbersApi.ToDto(number), BusinessHoursDto.From(t.BusinessHours), t.TimeZone),
            s.Integrations,
            new AssistantStep(assistant is null ? null : AssistantsApi.ToDto(assistant)),
            new PlanStep(plans.Get(a.PlanId).Id, plans.All),
            warnings,
            OnboardingChecklist.Missing(
                t, a, state.Onboarding, s, plans.Get(a.PlanId), accountOptions.Value.TermsVersion, fullName, creds, number, assistant, sms));
    }

    /// <summary>
    /// Applies a PATCH. Returns 422 (nothing saved) for an invalid profile, and for persona text or an assistant name holding
    /// control characters or bidirectional overrides (<see cref="ValidateDisplayText"/>); everything else becomes warnings.
    /// </summary>
    public async Task<(OnboardingDto? Result, JsonHttpResult<ErrorEnvelope>? Error)> PatchAsync(Caller caller, OnboardingPatch patch, CancellationToken ct)
    {
        if (ValidateDisplayText(patch.Persona, patch.Assistant?.Name) is { IsValid: false } unsafeText)
        {
            return (null, unsafeText.Result("Some fields hold control characters or bidirectional overrides."));
        }
        var tenantId = caller.TenantId!.Value;
        var state = await LoadAsync(tenantId, ct);
        var warnings = new List<OnboardingIssue>();
        var now = clock.GetUtcNow();
        var businessBefore = BusinessFacts(state.Tenant);

        if (patch.Profile is { } profile)
        {
            var v = ValidateProfile(profile, now);
            if (!v.IsValid)
            {
                return (null, v.Result("The profile is invalid."));
            }
            await ApplyProfileAsync(caller, state, profile, now, ct);
            if (profile.FullName is not null && caller.UserId is null)
            {
                warnings.Add(Warning(OnboardingSteps.Profile, "fullName", "FULL_NAME_NEEDS_USER", "an API key has no user to name; not saved (sign in to set it)"));
            }
        }
        if (patch.Plan?.PlanId is { } planId)
        {
            await ApplyPlanAsync(caller, state, planId, warnings, now, ct);
        }
        if (patch.VoiceProvider is { } voice)
        {
            await ApplyVoiceProviderAsync(caller, state, voice, warnings, now, ct);
        }
        if (patch.Persona is { } persona)
        {
            ApplyPersona(state.Studio, persona, warnings, OnboardingSteps.Persona, now);
        }
        if (patch.Twilio is { } twilio)
        {
            await ApplyTwilioAsync(caller, twilio, warnings, now, ct);
        }
        if (patch.Integrations is { } integrations)
        {
            ApplyIntegrations(state.Studio, integrations, warnings, now);
        }
        await db.SaveChangesAsync(ct);
        if (patch.Assistant is { } assistant)
        {
            await ApplyAssistantAsync(caller, state, assistant, warnings, ct);
        }
        if (patch.Telephony is { } telephony)
        {
            await ApplyTelephonyAsync(caller, state, telephony, warnings, ct);
        }
        foreach (var (step, skipped) in patch.Skipped ?? [])
        {
            if (!OnboardingSteps.All.Contains(step) || step is OnboardingSteps.Profile or OnboardingSteps.Done)
            {
                warnings.Add(Warning(step, "skipped", "STEP_NOT_SKIPPABLE", "only steps other than profile and done can be skipped"));
            }
            else if (skipped && !state.Onboarding.Skipped.Contains(step))
            {
                state.Onboarding.Skipped = [.. state.Onboarding.Skipped, step];
            }
            else if (!skipped && state.Onboarding.Skipped.Contains(step))
            {
                state.Onboarding.Skipped = state.Onboarding.Skipped.Where(x => x != step).ToList();
            }
        }
        if (patch.CurrentStep is { } current)
        {
            if (OnboardingSteps.All.Contains(current))
            {
                state.Onboarding.CurrentStep = current;
            }
            else
            {
                warnings.Add(Warning("onboarding", "currentStep", "STEP_UNKNOWN", "unknown step; steps: " + string.Join(", ", OnboardingSteps.All), ("steps", string.Join(", ", OnboardingSteps.All))));
            }
        }
        if (db.ChangeTracker.HasChanges())
        {
            state.Onboarding.UpdatedAt = now;
        }
        await db.SaveChangesAsync(ct);
        // Hours, zone and language decide when a routine lead is texted: a change is traced like the assistant's (an outside
        // probe: the hours changed, a routine text went out at once instead of being held, and the audit log said nothing).
        var businessAfter = BusinessFacts(state.Tenant);
        if (businessAfter.Where(f => businessBefore[f.Key] != f.Value).Select(f => f.Key).ToList() is { Count: > 0 } businessChanged)
        {
            await audit.AppendAsync(caller.TenantId, caller.Actor, "business.updated", null, new { changed = businessChanged }, ct);
        }
        return (await GetAsync(caller, warnings, ct), null);
    }

    /// <summary>Records completion (the first time) when the profile is complete; returns what is still missing.</summary>
    public async Task<(OnboardingCompletion? Result, JsonHttpResult<ErrorEnvelope>? Error)> CompleteAsync(Caller caller, CancellationToken ct)
    {
        var dto = await GetAsync(caller, [], ct);
        var profileGaps = dto.Missing.Where(m => m.Step == OnboardingSteps.Profile).ToList();
        if (profileGaps.Count > 0)
        {
            return (null, ApiError.Unprocessable("PROFILE_INCOMPLETE", "Complete the profile first.", profileGaps.ToDictionary(m => m.Field, m => m.Message)));
        }
        var state = await db.OnboardingStates.FirstAsync(ct);
        var now = clock.GetUtcNow();
        if (state.CompletedAt is null)
        {
            state.CompletedAt = now;
            state.CurrentStep = OnboardingSteps.Done;
            state.UpdatedAt = now;
            await db.SaveChangesAsync(ct);
            await audit.AppendAsync(caller.TenantId, caller.Actor, "onboarding.completed", null, new { missing = dto.Missing.Count }, ct);
        }
        return (new OnboardingCompletion(state.CompletedAt.Value, dto.Missing), null);
    }

    public async Task<StudioDto> GetStudioAsync(Guid tenantId, CancellationToken ct)
    {
        var state = await LoadAsync(tenantId, ct);
        return new StudioDto(Persona(state.Studio), BusinessHoursDto.From(state.Tenant.BusinessHours), state.Tenant.TimeZone, state.Studio.Integrations);
    }

    /// <summary>Applies a studio PATCH; 422 (nothing saved) for persona text holding control characters or bidirectional overrides.</summary>
    public async Task<(StudioResult? Result, JsonHttpResult<ErrorEnvelope>? Error)> PatchStudioAsync(Guid tenantId, StudioPatch patch, CancellationToken ct)
    {
        if (ValidateDisplayText(patch.Persona, null) is { IsValid: false } unsafeText)
        {
            return (null, unsafeText.Result("Some fields hold control characters or bidirectional overrides."));
        }
        var state = await LoadAsync(tenantId, ct);
        var warnings = new List<OnboardingIssue>();
        var now = clock.GetUtcNow();
        if (patch.Persona is { } persona)
        {
            ApplyPersona(state.Studio, persona, warnings, "studio", now);
        }
        if (patch.BusinessHours is { } hours)
        {
            ApplyHours(state.Tenant, hours, warnings, "studio");
        }
        if (patch.Integrations is { } integrations)
        {
            ApplyIntegrations(state.Studio, integrations, warnings, now);
        }
        await db.SaveChangesAsync(ct);
        return (new StudioResult(await GetStudioAsync(tenantId, ct), warnings), null);
    }

    /// <summary>
    /// The text staff read back that must not display as something else, checked before anything is applied: the persona
    /// and its job and guidelines (multi-line, <see cref="Validation.Text"/>), its tone and the assistant's name (one line,
    /// <see cref="Validation.Name"/>). Fields are named by their JSON path (<c>persona.guidelines</c>, <c>assistant.name</c>).
    /// Lengths are not checked here: a text too long stays a warning, as before.
    /// </summary>
    private static Validation ValidateDisplayText(PersonaPatch? persona, string? assistantName)
    {
        var v = new Validation();
        void Check(string field, string? value, bool multiLine)
        {
            if (value is not null && (multiLine ? Validation.HasUnsafeTextCharacter(value) : Validation.HasUnsafeNameCharacter(value)))
            {
                v.Add(field, multiLine ? Validation.TextProblem : Validation.NameProblem);
            }
        }
        Check("persona.persona", persona?.Persona, multiLine: true);
        Check("persona.jobToBeDone", persona?.JobToBeDone, multiLine: true);
        Check("persona.guidelines", persona?.Guidelines, multiLine: true);
        Check("persona.tone", persona?.Tone, multiLine: false);
        Check("assistant.name", assistantName, multiLine: false);
        return v;
    }

    private async Task<State> LoadAsync(Guid tenantId, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var tenant = await db.Tenants.FirstAsync(t => t.Id == tenantId, ct);
        var account = await TenantAccounts.GetOrCreateAsync(db, plans, tenantId, now, ct);
        var onboarding = await db.OnboardingStates.FirstOrDefaultAsync(ct);
        if (onboarding is null)
        {
            onboarding = new OnboardingState { TenantId = tenantId, UpdatedAt = now };
            db.OnboardingStates.Add(onboarding);
        }
        var studio = await db.StudioConfigs.FirstOrDefaultAsync(ct);
        if (studio is null)
        {
            studio = new StudioConfig { TenantId = tenantId, UpdatedAt = now };
            db.StudioConfigs.Add(studio);
        }
        return new State(tenant, account, onboarding, studio);
    }

    private static PersonaStep Persona(StudioConfig s) => new(s.Persona, s.JobToBeDone, s.Languages, s.Tone, s.Guidelines, s.FallbackEmail);

    private Task<Assistants.Assistant?> DefaultAssistantAsync(CancellationToken ct) =>
        db.Assistants.AsNoTracking().OrderByDescending(a => a.IsDefault).ThenBy(a => a.CreatedAt).FirstOrDefaultAsync(ct);

    private async Task<string?> FullNameAsync(Caller caller, CancellationToken ct)
    {
        if (caller.UserId is { } userId)
        {
            return await db.Users.AsNoTracking().Where(u => u.Id == userId).Select(u => u.FullName).FirstOrDefaultAsync(ct);
        }
        return await db.Memberships.AsNoTracking().Where(m => m.Role == Roles.Owner).OrderBy(m => m.CreatedAt)
            .Join(db.Users, m => m.UserId, u => u.Id, (m, u) => u.FullName).FirstOrDefaultAsync(ct);
    }

    /// <summary>
    /// The organisation's time zone (IANA, e.g. <c>America/Toronto</c>; <see cref="IanaTimeZones"/>) and locale (BCP 47 of a
    /// culture this system knows, e.g. <c>fr-CA</c>), where given: the one rule for the profile step and sign-up. Adds each
    /// bad one to <paramref name="v"/> and returns the time zone as it is stored (<c>US/Eastern</c> → <c>America/New_York</c>),
    /// null when none was given or it is refused.
    /// </summary>
    internal static string? ValidateZoneAndLocale(Validation v, string? timeZone, string? locale)
    {
        var zone = IanaTimeZones.Canonicalize(timeZone);
        if (timeZone is not null && zone is null)
        {
            v.Add("timeZone", "must be an IANA time zone such as America/Toronto (not a right/, posix/ or SystemV/ copy, nor a Windows id)");
        }
        if (locale is not null && !Validation.IsLocale(locale))
        {
            v.Add("locale", "must be a BCP 47 locale such as fr-CA");
        }
        return zone;
    }

    private Validation ValidateProfile(ProfilePatch p, DateTimeOffset now)
    {
        var v = new Validation();
        v.Name("fullName", p.FullName, 200).Name("organisation", p.Organisation).Max("industry", p.Industry, 100);
        if (p.Organisation is not null)
        {
            v.Require("organisation", p.Organisation.Trim());
        }
        ValidateZoneAndLocale(v, p.TimeZone, p.Locale);
        if (p.AcceptedTerms is { } terms)
        {
            if (string.IsNullOrWhiteSpace(terms.Version) || terms.Version.Length > 32)
            {
                v.Add("acceptedTerms.version", "is required (at most 32 characters)");
            }
            if (terms.At is not { } at || at > now.AddMinutes(5) || at.Year < 2000)
            {
                v.Add("acceptedTerms.at", "must be the time of acceptance, not in the future");
            }
        }
        return v;
    }

    private async Task ApplyProfileAsync(Caller caller, State state, ProfilePatch p, DateTimeOffset now, CancellationToken ct)
    {
        if (p.FullName is not null && caller.UserId is { } userId)
        {
            var user = await db.Users.FirstAsync(u => u.Id == userId, ct);
            user.FullName = p.FullName.Trim();
        }
        state.Tenant.Name = p.Organisation?.Trim() ?? state.Tenant.Name;
        state.Tenant.TimeZone = IanaTimeZones.Canonicalize(p.TimeZone) ?? state.Tenant.TimeZone; // validated: null only when not given
        state.Tenant.Locale = p.Locale ?? state.Tenant.Locale;
        var a = state.Account;
        var industryBefore = a.Industry;
        a.Industry = p.Industry is null ? a.Industry : (p.Industry.Trim() is { Length: > 0 } i ? i : null);
        if (a.Industry != industryBefore)
        {
            // The trade's urgency cues are what the template gallery shows the owner ("Urgent when: flooded basement…"), so they are
            // what a call or chat is classified with: a new plumber's "my basement is flooded" was routine with the generic cues.
            state.Tenant.UrgencyRules = templates.UrgencyRulesFor(a.Industry);
        }
        a.MarketingOptIn = p.MarketingOptIn ?? a.MarketingOptIn;
        if (p.AcceptedTerms is { } terms && (terms.Version != a.TermsVersion || terms.At != a.TermsAcceptedAt))
        {
            a.TermsVersion = terms.Version;
            a.TermsAcceptedAt = terms.At;
            await audit.AppendAsync(caller.TenantId, caller.Actor, "account.terms_accepted", null, new { version = terms.Version }, ct);
        }
        if (db.Entry(a).State == EntityState.Modified)
        {
            a.UpdatedAt = now;
        }
    }

    private async Task ApplyPlanAsync(Caller caller, State state, string planId, List<OnboardingIssue> warnings, DateTimeOffset now, CancellationToken ct)
    {
        if (plans.Find(planId) is not { } plan)
        {
            warnings.Add(Warning(OnboardingSteps.Plan, "planId", "PLAN_UNKNOWN", "unknown plan: " + string.Join(", ", plans.All.Select(p => p.Id)), ("plans", string.Join(", ", plans.All.Select(p => p.Id)))));
            return;
        }
        if (planId == state.Account.PlanId)
        {
            return;
        }
        if (!caller.Can(Permission.ManagePlan))
        {
            warnings.Add(Warning(OnboardingSteps.Plan, "planId", "PLAN_OWNER_ONLY", "only an owner can change the plan; not saved"));
            return;
        }
        // The same rule as PUT /api/v1/plan: with Stripe a paid plan is bought through Checkout, not picked here.
        if (planPolicy.Refusal(caller, state.Account, plan)?.Value is { } refused)
        {
            warnings.Add(Refused(OnboardingSteps.Plan, "planId", "PLAN_REFUSED", refused));
            return;
        }
        var before = state.Account.PlanId;
        state.Account.PlanId = planId;
        state.Account.PlanChangedAt = now;
        state.Account.UpdatedAt = now;
        await db.SaveChangesAsync(ct);
        accountCache.Invalidate(state.Tenant.Id);
        await audit.AppendAsync(caller.TenantId, caller.Actor, "plan.changed", null, new { from = before, to = planId }, ct);
    }

    private async Task ApplyVoiceProviderAsync(Caller caller, State state, VoiceProviderPatch p, List<OnboardingIssue> warnings, DateTimeOffset now, CancellationToken ct)
    {
        const string step = OnboardingSteps.VoiceProvider;
        if (p.Provider is { } provider)
        {
            if (provider is not ("vapi" or "realtime"))
            {
                warnings.Add(Warning(step, "provider", "VOICE_PROVIDER_INVALID", "must be vapi or realtime; not saved"));
            }
            else if (provider != state.Account.VoiceProvider)
            {
                state.Account.VoiceProvider = provider;
                state.Account.UpdatedAt = now;
                foreach (var assistant in await db.Assistants.ToListAsync(ct))
                {
                    if (provider == "vapi" && assistant.Provider != "vapi")
                    {
                        assistant.Provider = "vapi";
                        assistant.Version++;
                        AssistantSync.EnqueueUpsert(db, assistant, now);
                    }
                    else if (provider == "realtime" && assistant.Provider == "vapi")
                    {
                        assistant.Provider = "realtime";
                        assistant.SyncStatus = "local";
                    }
                }
                await db.SaveChangesAsync(ct);
                accountCache.Invalidate(state.Tenant.Id);
            }
        }
        if (p.VapiApiKey is { } vapiKey)
        {
            if (!CredentialsApi.LooksLikeSecret(vapiKey, 200))
            {
                warnings.Add(Warning(step, "vapiApiKey", "VAPI_KEY_INVALID", "must be 8 to 200 characters without spaces; not saved"));
            }
            else if (await credentials.GetVapiKeyAsync(ct) != vapiKey)
            {
                await credentials.SetVapiAsync(state.Tenant.Id, vapiKey, ct);
                await AssistantSync.RequeueWaitingAsync(db, now, ct);
                await NumberSync.RequeueWaitingAsync(db, now, ct);
                await db.SaveChangesAsync(ct);
                await audit.AppendAsync(caller.TenantId, caller.Actor, "credentials.updated", Providers.Vapi, null, ct);
            }
        }
        if (p.OpenAiApiKey is not null || p.OpenAiBaseUrl is not null)
        {
            var current = await credentials.GetOpenAiAsync(ct);
            var key = p.OpenAiApiKey ?? current?.ApiKey;
            var baseUrl = string.IsNullOrWhiteSpace(p.OpenAiBaseUrl) ? current?.BaseUrl ?? CredentialStore.DefaultOpenAiBaseUrl : p.OpenAiBaseUrl.Trim().TrimEnd('/');
            if (!CredentialsApi.LooksLikeSecret(key))
            {
                warnings.Add(Warning(step, "openAiApiKey", "OPENAI_KEY_INVALID", "must be 8 to 300 characters without spaces; not saved"));
            }
            else if (await BaseUrlGuard.ProblemAsync(baseUrl, credentialOptions.Value.AllowPrivateBaseUrls, ct) is { } problem)
            {
                warnings.Add(Warning(step, "openAiBaseUrl", "OPENAI_BASE_URL_INVALID", problem + "; not saved", ("problem", problem)));
            }
            else if (current is null || current.ApiKey != key || current.BaseUrl != baseUrl)
            {
                await credentials.SetOpenAiAsync(state.Tenant.Id, key!, baseUrl, ct);
                await db.SaveChangesAsync(ct);
                await audit.AppendAsync(caller.TenantId, caller.Actor, "credentials.updated", Providers.OpenAi, new { baseUrl }, ct);
            }
        }
        if (state.Account.VoiceProvider == "vapi" && await credentials.GetVapiKeyAsync(ct) is null)
        {
            warnings.Add(Warning(step, "vapiApiKey", "VAPI_KEY_NEEDED", "Vapi needs its private API key before assistants and numbers can be pushed"));
        }
    }

    private static void ApplyPersona(StudioConfig s, PersonaPatch p, List<OnboardingIssue> warnings, string step, DateTimeOffset now)
    {
        string? Text(string? value, string? current, string field, int max)
        {
            if (value is null)
            {
                return current;
            }
            if (value.Length > max)
            {
                warnings.Add(Warning(step, field, "TEXT_TOO_LONG", $"at most {max} characters; not saved", ("max", max.ToString(System.Globalization.CultureInfo.InvariantCulture))));
                return current;
            }
            return value.Trim() is { Length: > 0 } t ? t : null;
        }
        var before = System.Text.Json.JsonSerializer.Serialize(Persona(s));
        s.Persona = Text(p.Persona, s.Persona, "persona", 2000);
        s.JobToBeDone = Text(p.JobToBeDone, s.JobToBeDone, "jobToBeDone", 2000);
        s.Tone = Text(p.Tone, s.Tone, "tone", 100);
        s.Guidelines = Text(p.Guidelines, s.Guidelines, "guidelines", 8000);
        if (p.FallbackEmail is { } email)
        {
            if (email.Length == 0)
            {
                s.FallbackEmail = null;
            }
            else if (Validation.IsEmail(email.Trim()))
            {
                s.FallbackEmail = email.Trim();
            }
            else
            {
                warnings.Add(Warning(step, "fallbackEmail", "FALLBACK_EMAIL_INVALID", "not a valid email address; not saved"));
            }
        }
        if (p.Languages is { } languages)
        {
            var valid = languages.Where(Validation.IsLocale).Distinct().Take(10).ToList();
            foreach (var bad in languages.Where(l => !Validation.IsLocale(l)))
            {
                warnings.Add(Warning(step, "languages", "LANGUAGE_TAG_INVALID", $"'{bad}' is not a BCP 47 language tag; dropped", ("tag", bad)));
            }
            s.Languages = valid;
        }
        if (System.Text.Json.JsonSerializer.Serialize(Persona(s)) != before)
        {
            s.UpdatedAt = now;
        }
    }

    /// <summary>The business's settings an onboarding change may touch, by API name, as JSON (compared for <c>business.updated</c>).</summary>
    private static Dictionary<string, string> BusinessFacts(Tenant t) => new()
    {
        ["organisation"] = System.Text.Json.JsonSerializer.Serialize(t.Name),
        ["timeZone"] = System.Text.Json.JsonSerializer.Serialize(t.TimeZone),
        ["locale"] = System.Text.Json.JsonSerializer.Serialize(t.Locale),
        ["businessHours"] = System.Text.Json.JsonSerializer.Serialize(t.BusinessHours),
        ["urgencyRules"] = System.Text.Json.JsonSerializer.Serialize(t.UrgencyRules),
    };

    private static void ApplyHours(Tenant tenant, BusinessHoursDto hours, List<OnboardingIssue> warnings, string step)
    {
        var problems = new List<BusinessHoursProblem>();
        var model = hours.ToModel(problems);
        // details: problem (the English phrase, as before), kind (weekday|range|holiday), value, and day (not for a holiday).
        warnings.AddRange(problems.Select(p => p.Day is null
            ? Warning(step, "businessHours", "BUSINESS_HOURS_INVALID", p.Message + "; dropped", ("problem", p.Message), ("kind", p.Kind), ("value", p.Value))
            : Warning(step, "businessHours", "BUSINESS_HOURS_INVALID", p.Message + "; dropped", ("problem", p.Message), ("kind", p.Kind), ("value", p.Value), ("day", p.Day))));
        if (System.Text.Json.JsonSerializer.Serialize(model) != System.Text.Json.JsonSerializer.Serialize(tenant.BusinessHours))
        {
            tenant.BusinessHours = model;
        }
    }

    private static void ApplyIntegrations(StudioConfig s, StudioIntegrations i, List<OnboardingIssue> warnings, DateTimeOffset now)
    {
        string? Pick(string kind, string? value, string? current)
        {
            if (value is null)
            {
                return current;
            }
            if (value.Length == 0)
            {
                return null;
            }
            if (KnownIntegrations[kind].Contains(value))
            {
                return value;
            }
            warnings.Add(Warning(OnboardingSteps.Integrations, kind, "INTEGRATION_UNKNOWN", $"unknown; known: {string.Join(", ", KnownIntegrations[kind])}; not saved", ("known", string.Join(", ", KnownIntegrations[kind]))));
            return current;
        }
        var next = new StudioIntegrations
        {
            Calendar = Pick("calendar", i.Calendar, s.Integrations.Calendar),
            Crm = Pick("crm", i.Crm, s.Integrations.Crm),
            Workspace = Pick("workspace", i.Workspace, s.Integrations.Workspace),
        };
        if (next != s.Integrations)
        {
            s.Integrations = next;
            s.UpdatedAt = now;
        }
    }

    private async Task ApplyTwilioAsync(Caller caller, TwilioPatch p, List<OnboardingIssue> warnings, DateTimeOffset now, CancellationToken ct)
    {
        const string step = OnboardingSteps.Twilio;
        if (p.AccountSid is null && p.AuthToken is null && p.SmsSender is null)
        {
            return;
        }
        var current = await credentials.GetTwilioAsync(caller.TenantId!.Value, ct);
        var sid = p.AccountSid ?? current?.AccountSid;
        var token = p.AuthToken ?? current?.AuthToken;
        if (sid is null || !CredentialsApi.AccountSidPattern().IsMatch(sid))
        {
            warnings.Add(Warning(step, "accountSid", "TWILIO_ACCOUNT_SID_INVALID", "must be AC followed by 32 hexadecimal characters; not saved"));
            return;
        }
        if (!CredentialsApi.LooksLikeSecret(token, 200))
        {
            warnings.Add(Warning(step, "authToken", "TWILIO_AUTH_TOKEN_INVALID", "the auth token is required (8 to 200 characters); not saved"));
            return;
        }
        var sender = p.SmsSender;
        if (sender is { Length: > 0 })
        {
            // Read in the tenant's region and stored in E.164 (Phones), as the credentials endpoint does.
            var region = Phones.RegionOf(await db.Tenants.IgnoreQueryFilters().Where(t => t.Id == caller.TenantId.Value).Select(t => t.Locale).FirstOrDefaultAsync(ct));
            sender = SmsSender.Normalize(sender, region);
            if (sender is null)
            {
                warnings.Add(Warning(step, "smsSender", "SMS_SENDER_REFUSED", "must be a phone number (E.164, or national in the business's country) or a Messaging Service SID (MG followed by 32 hexadecimal characters); not saved"));
            }
        }
        var currentSender = await db.Tenants.IgnoreQueryFilters().Where(t => t.Id == caller.TenantId.Value).Select(t => t.TwilioFromNumber).FirstOrDefaultAsync(ct);
        if (current is not null && current.AccountSid == sid && current.AuthToken == token && (sender is null || (sender.Length == 0 ? null : sender) == currentSender))
        {
            return;
        }
        await credentials.SetTwilioAsync(caller.TenantId.Value, sid, token!, sender, ct);
        await NumberSync.RequeueWaitingAsync(db, now, ct);
        await db.SaveChangesAsync(ct);
        await audit.AppendAsync(caller.TenantId, caller.Actor, "credentials.updated", Providers.Twilio, null, ct);
    }

    private async Task ApplyAssistantAsync(Caller caller, State state, AssistantRequest request, List<OnboardingIssue> warnings, CancellationToken ct)
    {
        var existing = await db.Assistants.OrderByDescending(a => a.IsDefault).ThenBy(a => a.CreatedAt).FirstOrDefaultAsync(ct);
        JsonHttpResult<ErrorEnvelope>? error;
        if (existing is null)
        {
            var s = state.Studio;
            request = request with
            {
                Name = string.IsNullOrWhiteSpace(request.Name) ? "Receptionist" : request.Name,
                Instructions = request.Instructions ?? ComposeInstructions(state.Tenant, s),
                Languages = request.Languages ?? (s.Languages.Count > 0 ? s.Languages : null),
                IsDefault = true,
            };
            (_, error) = await assistants.CreateAsync(caller, request, ct);
        }
        else
        {
            error = await assistants.UpdateAsync(caller, existing, request, ct);
        }
        if (error?.Value is { } envelope)
        {
            warnings.Add(Refused(OnboardingSteps.Assistant, "assistant", "ASSISTANT_REFUSED", envelope));
        }
    }

    private async Task ApplyTelephonyAsync(Caller caller, State state, TelephonyPatch p, List<OnboardingIssue> warnings, CancellationToken ct)
    {
        const string step = OnboardingSteps.Telephony;
        if (p.BusinessHours is { } hours)
        {
            var tenant = await db.Tenants.FirstAsync(t => t.Id == state.Tenant.Id, ct);
            ApplyHours(tenant, hours, warnings, step);
            await db.SaveChangesAsync(ct);
        }
        var existing = await db.PhoneNumbers.OrderBy(n => n.CreatedAt).FirstOrDefaultAsync(ct);
        JsonHttpResult<ErrorEnvelope>? error = null;
        if (p.Number is { } e164 && existing is null)
        {
            (_, error) = await numbers.AttachAsync(caller, new PhoneNumberRequest(e164, p.Mode, null, null, p.AfterHours), ct);
        }
        else if (p.Number is { } other && existing is not null && other != existing.Number)
        {
            warnings.Add(Warning(step, "number", "NUMBER_ALREADY_ATTACHED", $"{existing.Number} is attached: detach it (DELETE /api/v1/numbers/{existing.Id}) to attach another; not saved", ("number", existing.Number)));
        }
        else if (existing is not null && (p.Mode is not null || p.AfterHours is not null))
        {
            error = await numbers.UpdateAsync(caller, existing, new PhoneNumberRequest(null, p.Mode, null, null, p.AfterHours), ct);
        }
        if (error?.Value is { Error.Code: "FEATURE_NOT_IN_PLAN" })
        {
            // The plan step comes after this one: say where to go rather than only that it was refused.
            var withTelephony = plans.All.Where(plan => plan.Has(Billing.Features.Telephony)).Select(plan => plan.Name).ToList();
            warnings.Add(Warning(step, "number", "NUMBER_NOT_IN_PLAN",
                $"the {plans.Get(state.Account.PlanId).Name} plan has no phone numbers: choose {string.Join(" or ", withTelephony)} at the plan step, then attach the number here; not saved",
                ("plan", plans.Get(state.Account.PlanId).Name), ("plans", string.Join(", ", withTelephony))));
        }
        else if (error?.Value is { } envelope)
        {
            warnings.Add(Refused(step, "number", "NUMBER_REFUSED", envelope));
        }
    }

    /// <summary>
    /// A warning with its <c>Code</c> (e.g. <c>VAPI_KEY_NEEDED</c>) and the values its sentence names, for a dashboard to word it
    /// in the owner's language; <paramref name="message"/> is the English sentence.
    /// </summary>
    private static OnboardingIssue Warning(string step, string field, string code, string message, params (string Name, string Value)[] details) =>
        new(step, field, message, Code: code, Details: details.Length == 0 ? null : details.ToDictionary(d => d.Name, d => d.Value));

    /// <summary>
    /// A change another endpoint refused: <paramref name="code"/>, with the refusal's own <c>errorCode</c>, <c>errorMessage</c>
    /// and its string or number details, so a dashboard can word the reason as it words that endpoint's error.
    /// </summary>
    private static OnboardingIssue Refused(string step, string field, string code, ErrorEnvelope e)
    {
        var details = new Dictionary<string, string> { ["errorCode"] = e.Error.Code, ["errorMessage"] = e.Error.Message };
        if (e.Error.Details is not null
            && System.Text.Json.JsonSerializer.SerializeToElement(e.Error.Details, e.Error.Details.GetType()) is { ValueKind: System.Text.Json.JsonValueKind.Object } json)
        {
            foreach (var p in json.EnumerateObject())
            {
                if (p.Value.ValueKind is System.Text.Json.JsonValueKind.String or System.Text.Json.JsonValueKind.Number)
                {
                    details.TryAdd(p.Name, p.Value.ValueKind == System.Text.Json.JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText());
                }
            }
        }
        return new(step, field, Describe(e) + "; not saved", Code: code, Details: details);
    }

    private static string Describe(ErrorEnvelope e) =>
        e.Error.Details is IReadOnlyDictionary<string, string> d && d.Count > 0
            ? $"{e.Error.Code}: {string.Join("; ", d.Select(p => $"{p.Key} {p.Value}"))}"
            : $"{e.Error.Code}: {e.Error.Message}";

    /// <summary>Instructions for a new assistant, written from the studio configuration.</summary>
    internal static string ComposeInstructions(Tenant tenant, StudioConfig s)
    {
        var parts = new List<string>
        {
            $"You are {s.Persona ?? "the receptionist"} for {tenant.Name}.",
        };
        if (s.JobToBeDone is { } job)
        {
            parts.Add($"Your job: {job}.");
        }
        if (s.Languages.Count > 0)
        {
            parts.Add($"Speak {string.Join(" or ", s.Languages.Select(l => CultureInfo.GetCultureInfo(l).EnglishName))}, following the caller's language.");
        }
        if (s.Tone is { } tone)
        {
            parts.Add($"Tone: {tone}.");
        }
        if (s.Guidelines is { } guidelines)
        {
            parts.Add(guidelines);
        }
        parts.Add("Use check_business_hours for opening hours. As soon as you know the caller's need and a callback number, call capture_lead.");
        return string.Join(" ", parts);
    }
}
