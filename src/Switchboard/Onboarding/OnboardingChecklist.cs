using Switchboard.Alerts;
using Switchboard.Billing;
using Switchboard.Credentials;
using Switchboard.Numbers;
using Switchboard.Tenancy;

namespace Switchboard.Onboarding;

/// <summary>
/// The wizard's checklist: what a business still has to set up before its assistant answers everything it should. Each
/// item has a code (<c>VAPI_KEY_MISSING</c>, <c>NUMBER_FAILED</c>…) the dashboard words in the owner's language, and an
/// English sentence for anyone else; none names an endpoint or an internal status.
/// </summary>
internal static class OnboardingChecklist
{
    /// <summary>
    /// What is still missing, step by step, each with its code, English sentence and the values the sentence names; an
    /// item of a skipped step is flagged <c>Skipped</c>. <paramref name="plan"/> decides what the business must set up.
    /// </summary>
    public static List<OnboardingIssue> Missing(
        Tenant tenant, TenantAccount account, OnboardingState onboarding, StudioConfig studio, Plan plan, string terms,
        string? fullName, List<CredentialDto> creds, PhoneNumber? number, Assistants.Assistant? assistant, SmsSenderResolution sms)
    {
        var missing = new List<OnboardingIssue>();
        var skipped = onboarding.Skipped;
        void Add(string step, string field, string code, string message, IReadOnlyDictionary<string, string>? details = null) =>
            missing.Add(new OnboardingIssue(step, field, message, skipped.Contains(step), code, details));

        // What the plan lets the business use decides what it must set up: a plan without phone numbers answers through the
        // widget only, so a number and Vapi are not missing; without any voice (no phone numbers, no widget voice) a voice
        // provider is not either. Twilio stays: it is what texts an emergency to the on-call, whatever the channel.
        var phone = plan.Has(Billing.Features.Telephony);
        var voice = phone || plan.Has(Billing.Features.WidgetVoice);

        if (string.IsNullOrWhiteSpace(fullName))
        {
            Add(OnboardingSteps.Profile, "fullName", "FULL_NAME_MISSING", "is required");
        }
        if (account.TermsVersion != terms || account.TermsAcceptedAt is null)
        {
            Add(OnboardingSteps.Profile, "acceptedTerms", "TERMS_NOT_ACCEPTED", $"accept the terms, version {terms}", new Dictionary<string, string> { ["version"] = terms });
        }
        var provider = account.VoiceProvider;
        if (!voice)
        {
            // Chat only: nothing to configure for voice.
        }
        else if (provider is null)
        {
            Add(OnboardingSteps.VoiceProvider, "provider", "VOICE_PROVIDER_NOT_CHOSEN", "Choose how calls are answered: Vapi or the realtime bridge.");
        }
        else if (provider == "vapi" && !creds.Any(c => c.Provider == Providers.Vapi && c.Configured))
        {
            Add(OnboardingSteps.VoiceProvider, "vapiApiKey", "VAPI_KEY_MISSING", "Add the Vapi private API key.");
        }
        else if (provider == "realtime" && !creds.Any(c => c.Provider == Providers.OpenAi && c.Configured))
        {
            Add(OnboardingSteps.VoiceProvider, "openAiApiKey", "OPENAI_KEY_MISSING", "Add an OpenAI-compatible API key.");
        }
        if (studio.Persona is null && studio.JobToBeDone is null)
        {
            Add(OnboardingSteps.Persona, "persona", "PERSONA_MISSING", "Describe the assistant and its job.");
        }
        if (!creds.Any(c => c.Provider == Providers.Twilio && c.Configured) && tenant.TwilioAccountSid is null)
        {
            Add(OnboardingSteps.Twilio, "credentials", "TWILIO_CREDENTIALS_MISSING", "Add the Twilio account SID and auth token, so emergencies can be texted.");
        }
        else if (sms.Sender is null)
        {
            // Credentials without a sender: every SMS alert would fail.
            if (tenant.TwilioFromNumber is { Length: > 0 } configured)
            {
                Add(OnboardingSteps.Twilio, "smsSender", "SMS_SENDER_INVALID",
                    $"The SMS sender {configured} is not a phone number or a Messaging Service SID: enter it again.", new Dictionary<string, string> { ["sender"] = configured });
            }
            else if (phone)
            {
                Add(OnboardingSteps.Twilio, "smsSender", "SMS_SENDER_MISSING",
                    "Texts have no number to go out from: enter the SMS sender, or attach a phone number that can send texts.");
            }
            else
            {
                Add(OnboardingSteps.Twilio, "smsSender", "SMS_SENDER_MISSING_CHAT_ONLY",
                    "Texts have no number to go out from: enter the SMS sender (a Twilio number that can send texts).");
            }
        }
        if (!phone)
        {
            // Chat only: no number to attach.
        }
        else if (number is null)
        {
            Add(OnboardingSteps.Telephony, "number", "NUMBER_MISSING", "Attach a phone number.");
        }
        else if (number.Status == "failed")
        {
            Add(OnboardingSteps.Telephony, "number", "NUMBER_FAILED", $"{number.Number} could not be set up: check it at the phone step, or detach it and attach another.",
                new Dictionary<string, string> { ["number"] = number.Number });
        }
        else if (number.Status == "waiting-for-credentials")
        {
            Add(OnboardingSteps.Telephony, "number", "NUMBER_WAITING_FOR_CREDENTIALS",
                $"{number.Number} starts answering once the Twilio and voice provider keys are added.", new Dictionary<string, string> { ["number"] = number.Number });
        }
        else if (number.Status != "active")
        {
            Add(OnboardingSteps.Telephony, "number", "NUMBER_PENDING", $"{number.Number} is still being set up.", new Dictionary<string, string> { ["number"] = number.Number });
        }
        var integrations = studio.Integrations;
        if (integrations.Calendar is null && integrations.Crm is null && integrations.Workspace is null)
        {
            Add(OnboardingSteps.Integrations, "integrations", "NO_INTEGRATION", "No integration chosen.");
        }
        if (assistant is null)
        {
            Add(OnboardingSteps.Assistant, "assistant", "ASSISTANT_MISSING", "Create the assistant.");
        }
        else if (phone && assistant.Provider == "vapi" && assistant.SyncStatus is not ("synced" or "local"))
        {
            // Vapi answers phone calls only (widget chat and voice go through Switchboard), so a chat-only business never waits for it.
            if (assistant.SyncStatus == "waiting-for-credentials")
            {
                Add(OnboardingSteps.Assistant, "sync", "ASSISTANT_WAITING_FOR_VAPI_KEY", "The assistant answers calls once the Vapi API key is added at the voice provider step.");
            }
            else if (assistant.SyncStatus == "failed")
            {
                Add(OnboardingSteps.Assistant, "sync", "ASSISTANT_SYNC_FAILED", "Vapi refused the assistant: check the Vapi API key, then save the assistant again.");
            }
            else
            {
                Add(OnboardingSteps.Assistant, "sync", "ASSISTANT_SYNC_PENDING", "The assistant is still being set up at Vapi.");
            }
        }
        if (AlertPolicy.For(tenant, assistant).OnCallNumbers.Count == 0)
        {
            // AlertService texts an emergency to these numbers only: without one, an emergency reaches nobody.
            Add(OnboardingSteps.Assistant, "onCall", "ON_CALL_MISSING", "Add the on-call number emergencies are texted to (assistant step, or Assistant studio).");
        }
        return missing;
    }
}
