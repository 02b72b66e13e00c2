/** E.164: a plus, then 8 to 15 digits not starting with 0 (the server's rule, `Phones.IsE164Shape`). */
export const E164 = /^\+[1-9][0-9]{7,14}$/;

/** True when `value` is a dialable E.164 number (not `anonymous`, a SIP URI, an empty caller ID…). */
export function isE164(value: string | null | undefined): value is string {
  return typeof value === 'string' && E164.test(value);
}

/** Separators people type inside a number: spaces (also no-break), dashes of any kind, dots and parentheses. */
const SEPARATORS = /[\s\u00A0\u202F().\-\u2010-\u2015]/g;

/**
 * A phone number as typed ("+1 514 555 0222", "(514) 555-0222", "514.555.0222") without its separators: E.164 when it
 * starts with a plus (`+15145550222`), the bare digits otherwise (the server reads those in the tenant's region,
 * `Phones.SettingsNumberToE164`); null when it is not a number at all (letters, a plus in the middle, too few digits).
 */
export function normalisePhone(text: string): string | null {
  const compact = text.replace(SEPARATORS, '');
  if (compact.startsWith('+')) return E164.test(compact) ? compact : null;
  return /^[0-9]{7,15}$/.test(compact) ? compact : null;
}

/**
 * Splits a list of phone numbers typed in one field. Commas, semicolons and line breaks separate numbers; spaces do not
 * ("+1 514 555 0222" is one number), except before a plus, so "+15145550111 +15145550100" is still two.
 */
export function splitPhones(value: string): string[] {
  return value
    .split(/[,;\n\r]+/)
    .flatMap((part) => part.split(/\s+(?=\+)/))
    .map((s) => s.trim())
    .filter(Boolean);
}

/** The numbers of a list field, normalised, or the first entry that is not a number as `invalid`. */
export function parsePhoneList(value: string): { numbers: string[]; invalid: string | null } {
  const numbers: string[] = [];
  for (const entry of splitPhones(value)) {
    const n = normalisePhone(entry);
    if (n === null) return { numbers, invalid: entry };
    if (!numbers.includes(n)) numbers.push(n);
  }
  return { numbers, invalid: null };
}
