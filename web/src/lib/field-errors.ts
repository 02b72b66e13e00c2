import { ApiError } from './api/client';

/** Field → problem of a failed request (a 422 envelope's `details`); empty for any other failure. */
export function fieldErrors(error: unknown): Readonly<Record<string, string>> {
  return error instanceof ApiError ? error.details : {};
}

type Translate = (key: string, options?: Record<string, unknown>) => string;

/** The server's usual field problems (English, from Platform/Http/Validation.cs and its callers), with their translation. */
const KNOWN: ReadonlyArray<[RegExp, string]> = [
  [/^(?:is )?required$/i, 'errors.field.required'],
  [/^must not be empty$/i, 'errors.field.required'],
  [/^(?:must be )?at most (\d+) characters$/i, 'errors.field.maxLength'],
  [/^must be at least (\d+) characters$/i, 'errors.field.minLength'],
  [/^must be a valid email address$/i, 'errors.field.email'],
  [/^must be an IANA time zone\b/i, 'errors.field.timeZone'],
  [/^must be a BCP 47 locale\b/i, 'errors.field.locale'],
  [/^must be (\d+) to (\d+) characters without spaces$/i, 'errors.field.noSpaces'],
  [/^must be owner, admin or member$/i, 'errors.field.role'],
  [/^(\d+) to (\d+) digits$/i, 'errors.field.digits'],
];

/**
 * A field problem in the reader's language when it is one of the server's usual sentences ("is required", "must be at
 * most 200 characters"), else the server's own text.
 */
export function fieldProblemText(problem: string, t: Translate): string {
  for (const [pattern, key] of KNOWN) {
    const m = pattern.exec(problem.trim());
    if (m) return t(key, { n: m[1], min: m[1], max: m[2] });
  }
  return problem;
}

/** The problems of fields a form does not show next to a control (listed under the summary instead). */
export function otherFieldErrors(error: unknown, shown: readonly string[]): Array<[string, string]> {
  return Object.entries(fieldErrors(error)).filter(([field]) => !shown.includes(field));
}
