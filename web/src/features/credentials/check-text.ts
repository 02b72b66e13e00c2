import { BASE_URL_PROBLEMS } from '@/lib/base-url-problems';

/** i18next's `t`, as much of it as this module uses. */
type Translate = (key: string, options?: Record<string, unknown>) => string;

/** A credential check as the API gives it (`CredentialCheckDto`): only what its wording needs. */
export interface CheckOutcome {
  code?: string | null;
  message: string;
  details?: Readonly<Record<string, string>> | null;
}

/**
 * The codes of a credential check (src/Switchboard/Credentials/CredentialChecker.cs, `CredentialCheckCodes`), each worded
 * in `credentials.checkCodes.*`: `{{status}}` for OPENAI_HTTP_STATUS, `{{message}}` (the provider's own words) for the
 * *_UNREACHABLE ones; a refused base URL by its problem (`credentials.checkBaseUrl.*`) when the dashboard knows the phrase.
 * CHECK_PASSED/CHECK_FAILED (checks recorded before codes) keep the server's message.
 */
export const CHECK_CODES = [
  'VAPI_KEY_ACCEPTED',
  'VAPI_KEY_REFUSED',
  'VAPI_UNREACHABLE',
  'TWILIO_CREDENTIALS_ACCEPTED',
  'TWILIO_CREDENTIALS_REFUSED',
  'TWILIO_UNREACHABLE',
  'OPENAI_KEY_ACCEPTED',
  'OPENAI_KEY_REFUSED',
  'OPENAI_HTTP_STATUS',
  'OPENAI_BASE_URL_INVALID',
  'OPENAI_UNREACHABLE',
] as const;

/**
 * A credential check's outcome in the reader's language, by its code; a code the dashboard does not know, a check recorded
 * before codes, or a sentence lacking the value it names gives the server's English message.
 */
export function checkText(check: CheckOutcome, t: Translate): string {
  const code = check.code ?? '';
  if (!(CHECK_CODES as readonly string[]).includes(code)) return check.message;
  const details = check.details ?? {};
  if (code === 'OPENAI_BASE_URL_INVALID') {
    const problem = details.problem;
    if (problem && Object.hasOwn(BASE_URL_PROBLEMS, problem)) {
      return t(`credentials.checkBaseUrl.${BASE_URL_PROBLEMS[problem]}`, { defaultValue: check.message });
    }
  }
  if (code === 'OPENAI_HTTP_STATUS' && !details.status) return check.message;
  return t(`credentials.checkCodes.${code}`, { ...details, message: check.message, defaultValue: check.message });
}
