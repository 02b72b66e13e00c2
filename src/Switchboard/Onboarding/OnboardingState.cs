namespace Switchboard.Onboarding;

/// <summary>Where a tenant is in the nine-step onboarding wizard (one row per tenant).</summary>
internal sealed class OnboardingState
{
    public Guid TenantId { get; set; }

    /// <summary>One of <see cref="OnboardingSteps.All"/>.</summary>
    public string CurrentStep { get; set; } = OnboardingSteps.Profile;

    /// <summary>Steps the user chose to do later.</summary>
    public List<string> Skipped { get; set; } = [];

    public DateTimeOffset? CompletedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>
/// The assistant studio's persisted configuration (one row per tenant): who the assistant is and how it speaks.
/// Business hours live on the tenant (<c>Tenant.BusinessHours</c>, in its time zone).
/// </summary>
internal sealed class StudioConfig
{
    public Guid TenantId { get; set; }

    /// <summary>Who the assistant is, e.g. "Paul, the friendly receptionist of Drain Fortin".</summary>
    public string? Persona { get; set; }

    /// <summary>What the assistant is for, e.g. "take plumbing emergencies and book call-backs".</summary>
    public string? JobToBeDone { get; set; }

    /// <summary>BCP 47 languages, first is the default.</summary>
    public List<string> Languages { get; set; } = [];

    /// <summary>e.g. <c>warm</c>, <c>formal</c>, <c>concise</c>.</summary>
    public string? Tone { get; set; }

    /// <summary>Free-text rules ("never quote prices", "never transfer").</summary>
    public string? Guidelines { get; set; }

    /// <summary>Where to write when SMS cannot be sent.</summary>
    public string? FallbackEmail { get; set; }

    /// <summary>Chosen calendar / CRM / workspace integrations.</summary>
    public StudioIntegrations Integrations { get; set; } = new();

    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>Integration choices, e.g. <c>{"calendar":"google-calendar","crm":"hubspot","workspace":"slack"}</c>; null = none.</summary>
public sealed record StudioIntegrations
{
    public string? Calendar { get; init; }
    public string? Crm { get; init; }
    public string? Workspace { get; init; }
}

/// <summary>The wizard's steps, in order (the Ava onboarding seed).</summary>
internal static class OnboardingSteps
{
    public const string Profile = "profile";
    public const string VoiceProvider = "voiceProvider";
    public const string Persona = "persona";
    public const string Twilio = "twilio";
    public const string Telephony = "telephony";
    public const string Integrations = "integrations";
    public const string Assistant = "assistant";
    public const string Plan = "plan";
    public const string Done = "done";

    public static readonly string[] All = [Profile, VoiceProvider, Persona, Twilio, Telephony, Integrations, Assistant, Plan, Done];
}
