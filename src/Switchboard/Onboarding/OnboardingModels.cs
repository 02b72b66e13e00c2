using Switchboard.Assistants;
using Switchboard.Billing;
using Switchboard.Credentials;
using Switchboard.Numbers;
using Switchboard.Tenancy;

namespace Switchboard.Onboarding;

/// <summary>Accepted terms of service: version and time (UTC).</summary>
public sealed record AcceptedTerms(string? Version, DateTimeOffset? At);

/// <summary>
/// Step 1 (mandatory): who is onboarding and the organisation's basics. <c>TimeZone</c> is IANA, <c>Locale</c> BCP 47;
/// <c>TermsVersion</c> is the version of the terms the installation requires (what the wizard asks the user to accept).
/// </summary>
public sealed record ProfileStep(
    string? FullName, string Organisation, string? Industry, string TimeZone, string Locale, bool MarketingOptIn, AcceptedTerms? AcceptedTerms, string TermsVersion);

/// <summary>Step 2: <c>vapi</c> (managed voice) or <c>realtime</c> (native Twilio bridge with an OpenAI-compatible model), and its credentials (previews).</summary>
public sealed record VoiceProviderStep(string? Provider, CredentialDto Vapi, CredentialDto OpenAi);

/// <summary>Step 3: the assistant's persona and studio settings.</summary>
public sealed record PersonaStep(string? Persona, string? JobToBeDone, IReadOnlyList<string> Languages, string? Tone, string? Guidelines, string? FallbackEmail);

/// <summary>Step 4: Twilio credentials (preview only) and who SMS alerts are sent from.</summary>
public sealed record TwilioStep(CredentialDto Credential, SmsSenderDto Sms);

/// <summary>
/// The SMS sender the tenant's alerts go out from: <c>Sender</c> (E.164 or <c>MG…</c>) and its <c>Source</c>
/// (<c>explicit</c>: set with the credentials; <c>number</c>: an attached number that can send SMS), or null with why:
/// <c>Problem</c>, an English sentence for API users, and the same as <c>ProblemCode</c> (<c>SMS_SENDER_INVALID</c> or
/// <c>SMS_SENDER_MISSING</c>, the onboarding checklist's codes) with <c>ProblemDetails</c> (<c>{"sender": "…"}</c> for an
/// invalid sender; for a missing one, each attached number that cannot send, by E.164 number: <c>sms-incapable</c> or its
/// status such as <c>pending</c>, <c>failed</c>), for a client to word in its user's language. All three are null with a sender.
/// </summary>
public sealed record SmsSenderDto(string? Sender, string? Source, string? Problem, string? ProblemCode, IReadOnlyDictionary<string, string>? ProblemDetails);

/// <summary>Step 5: the phone number and business hours (in <c>TimeZone</c>).</summary>
public sealed record TelephonyStep(PhoneNumberDto? Number, BusinessHoursDto BusinessHours, string TimeZone);

/// <summary>Step 7: the assistant (the tenant's default).</summary>
public sealed record AssistantStep(AssistantDto? Assistant);

/// <summary>Step 8: the plan, and the plans on offer.</summary>
public sealed record PlanStep(string PlanId, IReadOnlyList<Plan> Available);

/// <summary>
/// A warning (saved anyway or not saved, as the message says) or a missing item, by step and field. A missing item
/// also carries a <c>Code</c> (e.g. <c>ASSISTANT_WAITING_FOR_VAPI_KEY</c>) and the <c>Details</c> its sentence names
/// (e.g. <c>{"number": "+15145550100", "status": "failed"}</c>), for a dashboard to word it in the owner's language;
/// <c>Message</c> is the English sentence.
/// </summary>
public sealed record OnboardingIssue(
    string Step, string Field, string Message, bool Skipped = false, string? Code = null, IReadOnlyDictionary<string, string>? Details = null);

/// <summary>
/// The onboarding wizard's whole state: current step, each step's data, which steps were skipped, completion, and
/// what is still missing. <c>Warnings</c> are those of the request that produced this response (PATCH).
/// </summary>
public sealed record OnboardingDto(
    string CurrentStep,
    IReadOnlyList<string> Steps,
    IReadOnlyDictionary<string, bool> Skipped,
    DateTimeOffset? CompletedAt,
    ProfileStep Profile,
    VoiceProviderStep VoiceProvider,
    PersonaStep Persona,
    TwilioStep Twilio,
    TelephonyStep Telephony,
    StudioIntegrations Integrations,
    AssistantStep Assistant,
    PlanStep Plan,
    IReadOnlyList<OnboardingIssue> Warnings,
    IReadOnlyList<OnboardingIssue> Missing);

/// <summary>Profile changes; absent (null) fields are left as they are.</summary>
public sealed record ProfilePatch(string? FullName, string? Organisation, string? Industry, string? TimeZone, string? Locale, bool? MarketingOptIn, AcceptedTerms? AcceptedTerms);

/// <summary>Voice provider changes; keys are write-only.</summary>
public sealed record VoiceProviderPatch(string? Provider, string? VapiApiKey, string? OpenAiApiKey, string? OpenAiBaseUrl);

/// <summary>Persona and studio changes. An empty string clears a text field.</summary>
public sealed record PersonaPatch(string? Persona, string? JobToBeDone, List<string>? Languages, string? Tone, string? Guidelines, string? FallbackEmail);

/// <summary>
/// Twilio credentials (both together), and optionally the SMS sender: an E.164 number or a Messaging Service SID
/// (<c>MG</c> + 32 hex); an empty string clears it (SMS then go out from an attached number).
/// </summary>
public sealed record TwilioPatch(string? AccountSid, string? AuthToken, string? SmsSender = null);

/// <summary>Telephony changes: the number to attach (E.164; mode as in <c>/numbers</c>), business hours, after-hours behaviour.</summary>
public sealed record TelephonyPatch(string? Number, string? Mode, BusinessHoursDto? BusinessHours, AfterHoursPolicy? AfterHours);

/// <summary>Plan change (owner only).</summary>
public sealed record PlanPatch(string? PlanId);

/// <summary>
/// A partial, idempotent update of the wizard (the dashboard saves every 10 s): any subset of the steps, the current
/// step, and skipped flags (<c>{"twilio": true}</c>). Only an invalid profile is refused (422); other problems come
/// back as <c>warnings</c> and the rest is saved.
/// </summary>
public sealed record OnboardingPatch(
    string? CurrentStep,
    Dictionary<string, bool>? Skipped,
    ProfilePatch? Profile,
    VoiceProviderPatch? VoiceProvider,
    PersonaPatch? Persona,
    TwilioPatch? Twilio,
    TelephonyPatch? Telephony,
    StudioIntegrations? Integrations,
    AssistantRequest? Assistant,
    PlanPatch? Plan);

/// <summary>The result of completing onboarding: when, and what is still missing (skipped steps included, flagged).</summary>
public sealed record OnboardingCompletion(DateTimeOffset CompletedAt, IReadOnlyList<OnboardingIssue> Missing);

/// <summary>The studio configuration: persona, languages, tone, guidelines, business hours (tenant time zone), fallback email, integrations.</summary>
public sealed record StudioDto(PersonaStep Persona, BusinessHoursDto BusinessHours, string TimeZone, StudioIntegrations Integrations);

/// <summary>Studio changes (partial); problems come back as warnings.</summary>
public sealed record StudioPatch(PersonaPatch? Persona, BusinessHoursDto? BusinessHours, StudioIntegrations? Integrations);

/// <summary>The studio after a change, with the change's warnings.</summary>
public sealed record StudioResult(StudioDto Studio, IReadOnlyList<OnboardingIssue> Warnings);
