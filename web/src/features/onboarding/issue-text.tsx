import { useTranslation } from 'react-i18next';
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

/** {@link issueText} as a component. */
export function IssueText({ issue }: { issue: OnboardingIssue }) {
  const { t } = useTranslation();
  return <>{issueText(issue, t)}</>;
}
