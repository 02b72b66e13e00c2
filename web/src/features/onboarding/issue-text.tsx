import { useTranslation } from 'react-i18next';
import { ApiError } from '@/lib/api/client';
import { BASE_URL_PROBLEMS } from '@/lib/base-url-problems';
import { codeText } from '@/lib/error-text';
import type { OnboardingIssue } from './api';

/** i18next's `t`, as much of it as this module uses. */
type Translate = (key: string, options?: Record<string, unknown>) => string;

/**
 * The codes of the server's missing items (src/Switchboard/Onboarding/OnboardingChecklist.cs), each worded in
 * `onboarding.missing.codes.*` with the values of the item's `details` ({{number}}, {{sender}}, {{version}}).
 */
export const MISSING_CODES = [
  'FULL_NAME_MISSING',
  'TERMS_NOT_ACCEPTED',
  'VOICE_PROVIDER_NOT_CHOSEN',
  'VAPI_KEY_MISSING',
  'OPENAI_KEY_MISSING',
  'PERSONA_MISSING',
  'TWILIO_CREDENTIALS_MISSING',
  'SMS_SENDER_INVALID',
  'SMS_SENDER_MISSING',
  'SMS_SENDER_MISSING_CHAT_ONLY',
  'NUMBER_MISSING',
  'NUMBER_FAILED',
  'NUMBER_WAITING_FOR_CREDENTIALS',
  'NUMBER_PENDING',
  'NO_INTEGRATION',
  'ASSISTANT_MISSING',
  'ASSISTANT_WAITING_FOR_VAPI_KEY',
  'ASSISTANT_SYNC_FAILED',
  'ASSISTANT_SYNC_PENDING',
  'ON_CALL_MISSING',
] as const;

/**
 * The codes of the server's warnings (src/Switchboard/Onboarding/OnboardingService.cs: a value not saved or dropped),
 * each worded in `onboarding.warning.codes.*` with the values of the warning's `details`.
 */
export const WARNING_CODES = [
  'FULL_NAME_NEEDS_USER',
  'STEP_NOT_SKIPPABLE',
  'STEP_UNKNOWN',
  'PLAN_UNKNOWN',
  'PLAN_OWNER_ONLY',
  'PLAN_REFUSED',
  'VOICE_PROVIDER_INVALID',
  'VAPI_KEY_INVALID',
  'OPENAI_KEY_INVALID',
  'OPENAI_BASE_URL_INVALID',
  'VAPI_KEY_NEEDED',
  'TEXT_TOO_LONG',
  'FALLBACK_EMAIL_INVALID',
  'LANGUAGE_TAG_INVALID',
  'BUSINESS_HOURS_INVALID',
  'INTEGRATION_UNKNOWN',
  'TWILIO_ACCOUNT_SID_INVALID',
  'TWILIO_AUTH_TOKEN_INVALID',
  'SMS_SENDER_REFUSED',
  'ASSISTANT_REFUSED',
  'NUMBER_ALREADY_ATTACHED',
  'NUMBER_NOT_IN_PLAN',
  'NUMBER_REFUSED',
] as const;

/** The persona fields a TEXT_TOO_LONG warning names, by the label the persona step shows for them. */
const FIELD_LABELS: Readonly<Record<string, string>> = {
  persona: 'onboarding.persona.persona',
  jobToBeDone: 'onboarding.persona.job',
  tone: 'onboarding.persona.tone',
  guidelines: 'onboarding.persona.guidelines',
};

/** The kinds of a BUSINESS_HOURS_INVALID warning (src/Switchboard/Tenancy/BusinessHoursDto.cs, `BusinessHoursProblem`), worded in `onboarding.warning.businessHours.*`. */
const HOURS_PROBLEMS: Readonly<Record<string, true>> = { weekday: true, range: true, holiday: true };

/** The weekday names the API uses, worded in `onboarding.days.*`. */
const DAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] as const;

/**
 * A warning in the reader's language: by its code, with the values its details give. A refusal by another endpoint
 * (`*_REFUSED`) words its reason as that endpoint's error is worded (`errorCode`, `errorMessage` and the error's details),
 * else with its English message; an unknown code gives the server's English sentence.
 */
export function warningText(issue: OnboardingIssue, t: Translate): string {
  if (!issue.code || !(WARNING_CODES as readonly string[]).includes(issue.code)) return issue.message;
  const details: Record<string, string> = { ...(issue.details ?? {}) };
  if (issue.code === 'OPENAI_BASE_URL_INVALID' && details.problem && Object.hasOwn(BASE_URL_PROBLEMS, details.problem)) {
    return t(`onboarding.warning.baseUrl.${BASE_URL_PROBLEMS[details.problem]}`, { defaultValue: issue.message });
  }
  if (issue.code === 'BUSINESS_HOURS_INVALID' && details.kind && Object.hasOwn(HOURS_PROBLEMS, details.kind) && details.value !== undefined) {
    // The weekday under which a range was refused, in the reader's words when it is one (a refused weekday is shown as sent).
    const day = details.day?.toLowerCase();
    const dayText = day && (DAYS as readonly string[]).includes(day) ? t(`onboarding.days.${day}`) : details.day;
    if (details.kind !== 'range' || dayText) {
      return t(`onboarding.warning.businessHours.${details.kind}`, { ...details, day: dayText, defaultValue: issue.message });
    }
  }
  if (issue.code === 'TEXT_TOO_LONG') {
    const label = Object.hasOwn(FIELD_LABELS, issue.field) ? FIELD_LABELS[issue.field] : undefined;
    details.field = label ? t(label) : issue.field;
  }
  if (details.errorCode) {
    const refusal = new ApiError(422, details.errorCode, details.errorMessage ?? '', undefined, issue.details ?? undefined);
    details.reason = codeText(refusal, t) ?? refusal.message;
  }
  details.reason ??= issue.message;
  return t(`onboarding.warning.codes.${issue.code}`, { ...details, defaultValue: issue.message });
}

/**
 * A missing item or warning in the reader's language: by its code when the dashboard knows it (with the values its
 * details give), else by its step and field when that pair has a sentence, else the server's English message.
 */
export function issueText(issue: OnboardingIssue, t: Translate): string {
  if (issue.code && (MISSING_CODES as readonly string[]).includes(issue.code)) {
    return t(`onboarding.missing.codes.${issue.code}`, { ...(issue.details ?? {}), defaultValue: issue.message });
  }
  // telephony/number also reports an attached number's state: only "attach a phone number" has a step/field sentence.
  if (issue.step === 'telephony' && issue.field === 'number' && issue.message !== 'attach a phone number') return issue.message;
  return t(`onboarding.missing.${issue.step}.${issue.field}`, { defaultValue: issue.message });
}

/** {@link warningText} as a component. */
export function WarningText({ issue }: { issue: OnboardingIssue }) {
  const { t } = useTranslation();
  return <>{warningText(issue, t)}</>;
}

/** {@link issueText} as a component. */
export function IssueText({ issue }: { issue: OnboardingIssue }) {
  const { t } = useTranslation();
  return <>{issueText(issue, t)}</>;
}
