/**
 * A `?returnTo=` value a page may honour: a same-origin path (starts with one `/`; never `//`, a backslash or a scheme;
 * at most 500 characters). Anything else is ignored (issue 9, "go to Settings and come back").
 */
export function safeReturnTo(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length > 500) return undefined;
  if (!value.startsWith('/') || value.startsWith('//') || value.includes('\\')) return undefined;
  return value;
}
