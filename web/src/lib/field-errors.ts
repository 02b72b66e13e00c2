import { ApiError } from './api/client';

/** Field → problem of a failed request (a 422 envelope's `details`); empty for any other failure. */
export function fieldErrors(error: unknown): Readonly<Record<string, string>> {
  return error instanceof ApiError ? error.details : {};
}

type Translate = (key: string, options?: Record<string, unknown>) => string;

/**
 * The server's usual field problems (English, from Platform/Http/Validation.cs and its callers: the accounts, team,
 * keys, numbers, credentials, privacy and onboarding APIs), with their translation. A pattern's first two numbered
 * groups are `n`/`min` and `max`; named groups (a region such as `CA`) are passed by name. First match wins.
 */
const KNOWN: ReadonlyArray<[RegExp, string]> = [
  [/^(?:is )?required$/i, 'errors.field.required'],
  [/^must not be empty$/i, 'errors.field.required'],
  [/^(?:must be )?at most (\d+) characters$/i, 'errors.field.maxLength'],
  [/^must be at least (\d+) characters$/i, 'errors.field.minLength'],
  [/^must be a valid email address$/i, 'errors.field.email'],
  [/^must be an IANA time zone\b/i, 'errors.field.timeZone'],
  [/^must be a BCP 47 (?:locale|tag)\b/i, 'errors.field.locale'],
  [/^must be up to (\d+) BCP 47 tags\b/i, 'errors.field.languages'],
  [/^must be (\d+) to (\d+) characters without spaces$/i, 'errors.field.noSpaces'],
  [/^must be owner, admin or member$/i, 'errors.field.role'],
  [/^(\d+) to (\d+) digits$/i, 'errors.field.digits'],
  // Passwords (Tenancy/AccountService.cs PasswordProblem)
  [/^is too easy to guess\b/i, 'errors.field.tooEasy'],
  [/^must not be the email$/i, 'errors.field.notEmail'],
  // Phone numbers
  [/^must be a phone number in (?<region>[A-Z0-9]{2,3}) to forward\b/, 'errors.field.phoneForward'],
  [/^must be a phone number in (?<region>[A-Z0-9]{2,3}), e\.g\. /, 'errors.field.phoneIn'],
  [/^must be a phone number such as .+ \(read in (?<region>[A-Z0-9]{2,3})\)$/, 'errors.field.phoneTransfer'],
  [/^must be a phone number: E\.164\b/, 'errors.field.phone'],
  // Alert numbers (Alerts/AlertPolicyInput.cs): a list's first bad entry, or too many numbers; the language of alert texts
  [/^'(?<value>.*)' is not a phone number in (?<region>[A-Z0-9]{2,3}); numbers such as .+ \(at most (?<max>\d+)\)$/, 'errors.field.phoneList'],
  [/^numbers such as .+ \(at most (\d+)\)$/, 'errors.field.phoneListMax'],
  [/^must be a language alert texts are written in\b/, 'errors.field.smsLanguage'],
  [/^must be a phone number \(E\.164, or national in the business's country\) or a Messaging Service SID\b/, 'errors.field.smsSender'],
  // URLs and origins (Credentials/BaseUrlGuard.cs, the widget's allowed origins)
  [/^must be an absolute URL$/i, 'errors.field.url'],
  [/^must use https$/i, 'errors.field.https'],
  [/^must not contain credentials, a query or a fragment$/i, 'errors.field.urlParts'],
  [/^must not point at a private or local address$/i, 'errors.field.urlPrivate'],
  [/^must be an https origin such as .*http:\/\/localhost/, 'errors.field.originLocal'],
  [/^must be an https origin such as /, 'errors.field.origin'],
  [/^at most (\d+) origins$/i, 'errors.field.maxOrigins'],
  [/^at most (\d+) destinations$/i, 'errors.field.maxDestinations'],
  // Credentials, keys, numbers, privacy
  [/^must be AC followed by (\d+) hexadecimal characters$/, 'errors.field.accountSid'],
  [/^must be (\d+) to (\d+) letters, digits, '_', '\.', ':' or '-'$/, 'errors.field.keyId'],
  [/^must be between (-?\d+) and (-?\d+)$/i, 'errors.field.between'],
  [/^must be (\d+) to (\d+), or null to keep$/i, 'errors.field.retentionDays'],
  [/^must be secret or publishable$/i, 'errors.field.keyKind'],
  [/^no such assistant$/i, 'errors.field.assistantUnknown'],
  [/^cannot change: detach it and attach the new number$/i, 'errors.field.numberFixed'],
  // Any field (Platform/Http: StorableTextGuard, ErrorHandling)
  [/^must be text without U\+0000\b/, 'errors.field.storable'],
  [/^must be an ISO 8601 (?:date and )?time\b/i, 'errors.field.dateTime'],
  // A date or an instant in a query string (Platform/Http/IsoDates.cs DateProblem, InstantProblem): ISO 8601 only
  [/^must be an ISO 8601 date: yyyy-MM-dd$/, 'errors.field.isoDate'],
  [/^must be ISO 8601: yyyy-MM-dd or a timestamp\b/, 'errors.field.isoInstant'],
  [/^must be after from$/i, 'errors.field.afterStart'],
  [/^(?:invalid value|malformed or of the wrong type)$/i, 'errors.field.invalid'],
];

/**
 * A field problem in the reader's language when it is one of the server's usual sentences ("is required", "must be at
 * most 200 characters", "is too easy to guess …"), with its numbers kept; else the server's own text.
 */
export function fieldProblemText(problem: string, t: Translate): string {
  for (const [pattern, key] of KNOWN) {
    const m = pattern.exec(problem.trim());
    if (m) return t(key, { n: m[1], min: m[1], max: m[2], ...m.groups, defaultValue: problem });
  }
  return problem;
}

/** The problems of fields a form does not show next to a control (listed under the summary instead). */
export function otherFieldErrors(error: unknown, shown: readonly string[]): Array<[string, string]> {
  return Object.entries(fieldErrors(error)).filter(([field]) => !shown.includes(field));
}
